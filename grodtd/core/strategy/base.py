"""The strategy interface: what every strategy answers, and nothing about which exist.

A strategy only decides; it never sizes, never talks to the broker and never sees the
portfolio. The engine asks it two questions per bar and symbol: "open a position now, and in
which direction?" and "does this open position's trend still hold?". Sizing and every limit
belong to the risk manager, so all strategies obey the same caps.
"""

from __future__ import annotations

from typing import Protocol

from grodtd.core.indicators import IndicatorSet
from grodtd.core.models import Regime
from grodtd.core.params import StrategyParams

LONG = 1
SHORT = -1
FLAT = 0


class Strategy(Protocol):
    name: str
    params: StrategyParams

    def entry_direction(self, close: float, ind: IndicatorSet, regime: Regime) -> int:
        """``LONG``, ``SHORT`` or ``FLAT`` (no entry). Regime gating is the strategy's job."""
        ...

    def protective_levels(self, entry: float, atr: float, direction: int) -> tuple[float, float]:
        """(stop, target) for an entry at ``entry``; the stop distance is the trade's 1 R."""
        ...

    def trend_broken(self, close: float, ind: IndicatorSet, direction: int) -> bool:
        """True when an open position in ``direction`` should be closed at market now."""
        ...


def stop_distance_of(stop_price: float, target_price: float, target_r_multiple: float) -> float:
    """The 1 R distance encoded by a (stop, target) pair: |target - stop| = (1 + r) * R.

    The engine uses it to re-anchor the protective levels on the actual entry fill price, so
    a slipped fill keeps the risk of one R that the position was sized for.
    """
    return abs(target_price - stop_price) / (1.0 + target_r_multiple)
