"""The engine: one bar in, orders out (``loop``), with the desk that turns decisions into
orders and fills into positions (``desk``), the life of orders up to the venue (``orders``),
the per-symbol state plus snapshot and unit-of-work builders (``state``) and the halt news
the observers are told (``news``)."""

from grodtd.core.engine.loop import Engine

__all__ = ["Engine"]
