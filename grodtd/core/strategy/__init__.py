"""Strategies and the registry that turns ``StrategyParams`` into them.

The interface lives in ``base`` and each strategy in a module of its own that imports only
``base``; this package imports the strategies to register them, so nothing imports upward.
"""

from __future__ import annotations

from collections.abc import Callable

from grodtd.core.params import StrategyParams
from grodtd.core.strategy.base import FLAT, LONG, SHORT, Strategy, stop_distance_of
from grodtd.core.strategy.s1_trend import S1Trend

_FACTORIES: dict[str, Callable[[StrategyParams], Strategy]] = {"s1_trend": S1Trend}


def known_strategies() -> tuple[str, ...]:
    return tuple(sorted(_FACTORIES))


def build_strategy(params: StrategyParams) -> Strategy:
    """The strategy named by ``params.name``; unknown names fail with the list of known ones."""
    factory = _FACTORIES.get(params.name)
    if factory is None:
        raise ValueError(
            f"unknown strategy {params.name!r}: use one of {', '.join(known_strategies())} "
            "in configs/strategies.yaml"
        )
    return factory(params)


__all__ = [
    "FLAT",
    "LONG",
    "SHORT",
    "Strategy",
    "build_strategy",
    "known_strategies",
    "stop_distance_of",
]
