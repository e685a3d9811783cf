"""The strategy interface: what every strategy answers, and nothing about which exist.

A strategy only decides; it never sizes, never talks to the broker and never sees the
portfolio. The engine asks it two questions per bar and symbol: "open a position now, and how?"
(an ``EntryDecision``, or None) and "does this open position's trend still hold?" (the reason
to close it at market, or None). Sizing and every limit belong to the risk manager, so all
strategies obey the same caps.

A strategy also owns the geometry of the protective levels it chose, because only it knows
how they were built: where to put them again when the entry fills at another price than the
decision's close, and which close an entry was sized at (a restart finds only the levels).
The desk that turns decisions into orders therefore knows no strategy's rules or wording.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from grodtd.core.indicators import IndicatorSet
from grodtd.core.models import Order, Regime
from grodtd.core.params import StrategyParams

LONG = 1
SHORT = -1
FLAT = 0


@dataclass(frozen=True, slots=True)
class EntryDecision:
    """Open a position now: which way, its protective levels at this close, and why.

    ``stop`` is the trade's 1 R away from the close (the risk manager sizes on it); ``reason``
    becomes the entry order's stored reason.
    """

    direction: int  # LONG or SHORT
    stop: float
    target: float
    reason: str


class Strategy(Protocol):
    """One trading strategy: its entries, its exits, and the levels that protect a position."""

    name: str
    params: StrategyParams

    def entry(self, close: float, ind: IndicatorSet, regime: Regime) -> EntryDecision | None:
        """An entry to open at ``close`` now, or None. Regime gating is the strategy's job."""
        ...

    def exit_reason(self, close: float, ind: IndicatorSet, direction: int) -> str | None:
        """Why an open position in ``direction`` should close at market now; None to hold."""
        ...

    def levels_on_fill(
        self, entry: Order, fill_price: float, direction: int, atr: float
    ) -> tuple[float, float]:
        """(stop, target) re-anchored on the price ``entry`` actually filled at.

        ``atr`` is the symbol's ATR now, for an entry that carries no levels to re-anchor.
        """
        ...

    def sizing_price(self, entry: Order) -> float:
        """The close a pending ``entry`` (with both levels) was sized at."""
        ...


def stop_distance_of(stop_price: float, target_price: float, target_r_multiple: float) -> float:
    """The 1 R distance encoded by a (stop, target) pair: |target - stop| = (1 + r) * R.

    For strategies whose target sits ``r`` R beyond the entry: it re-anchors the levels on
    the actual fill price, so a slipped fill keeps the risk of one R it was sized for.
    """
    return abs(target_price - stop_price) / (1.0 + target_r_multiple)
