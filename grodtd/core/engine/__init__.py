"""The engine: one bar in, orders out (``loop``), with the desk that turns decisions into
orders and fills into positions (``desk``), the life of orders up to the broker (``orders``)
and the per-symbol state plus snapshot and unit-of-work builders (``state``)."""

from grodtd.core.engine.loop import Engine

__all__ = ["Engine"]
