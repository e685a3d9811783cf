"""Strategies, the registry that turns ``StrategyParams`` into them, and the configured set.

The interface lives in ``base`` and each strategy in a module of its own that imports only
``base``; this package imports the strategies to register them, so nothing imports upward.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from grodtd.core.params import StrategyParams
from grodtd.core.strategy.base import (
    FLAT,
    LONG,
    SHORT,
    EntryDecision,
    Strategy,
    stop_distance_of,
)
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


class StrategyBook:
    """The configured strategies: the enabled ones in their order, and any one by name.

    ``active`` and ``shorts_allowed`` are fixed at construction, like the configuration.
    """

    __slots__ = ("_by_name", "_default", "active", "all", "shorts_allowed")

    def __init__(self, params: Sequence[StrategyParams]) -> None:
        if not params:
            raise ValueError("no strategy configured: add one to configs/strategies.yaml")
        self.all: tuple[Strategy, ...] = tuple(build_strategy(p) for p in params)
        self._by_name = {s.name: s for s in self.all}
        # Orders of a strategy no longer configured are still managed, with the first one's
        # rules, rather than dropped.
        self._default = self.all[0]
        self.active: tuple[Strategy, ...] = tuple(s for s in self.all if s.params.enabled)
        self.shorts_allowed = any(s.params.allow_short for s in self.all)

    def of(self, name: str) -> Strategy:
        """The strategy that placed an order or opened a position named ``name``."""
        return self._by_name.get(name, self._default)

    def enabled(self) -> dict[str, bool]:
        return {s.name: s.params.enabled for s in self.all}


__all__ = [
    "FLAT",
    "LONG",
    "SHORT",
    "EntryDecision",
    "Strategy",
    "StrategyBook",
    "build_strategy",
    "known_strategies",
    "stop_distance_of",
]
