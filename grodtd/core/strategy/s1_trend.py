"""S1: trend following on 1-minute bars, gated by the regime.

Long entry when close > VWAP, close > EMA fast and EMA fast > EMA slow in an allowed regime.
Short entry (only with ``allow_short``) is the mirror image. Protective levels: the stop sits
``stop_atr_multiple`` ATRs from the entry (that distance is 1 R), the target
``target_r_multiple`` R on the other side. A trend break (close below both EMA fast and VWAP
for a long, above both for a short) closes the position at market.

The reasons below are stored with the orders and read by operators and tests: keep them.
"""

from __future__ import annotations

from grodtd.core.indicators import IndicatorSet
from grodtd.core.models import Order, Regime, Side
from grodtd.core.params import StrategyParams
from grodtd.core.strategy.base import LONG, SHORT, EntryDecision, stop_distance_of

TREND_BREAK_REASON = "trend break: close beyond EMA fast and VWAP"


class S1Trend:
    """The S1 VWAP + EMA trend strategy (implements ``Strategy``)."""

    __slots__ = ("_allow_short", "_allowed", "_stop_k", "_target_r", "name", "params")

    def __init__(self, params: StrategyParams) -> None:
        if params.stop_atr_multiple <= 0 or params.target_r_multiple <= 0:
            raise ValueError(
                f"strategy {params.name}: stop_atr_multiple and target_r_multiple must be > 0"
            )
        self.name = params.name
        self.params = params
        self._allowed = params.allowed_regimes
        self._allow_short = params.allow_short
        self._stop_k = params.stop_atr_multiple
        self._target_r = params.target_r_multiple

    def entry(self, close: float, ind: IndicatorSet, regime: Regime) -> EntryDecision | None:
        if regime not in self._allowed or ind.count < ind.ready_after or ind.atr <= 0.0:
            return None
        fast = ind.ema_fast
        vwap = ind.vwap
        if close > vwap and close > fast and fast > ind.ema_slow:
            direction = LONG
        elif self._allow_short and close < vwap and close < fast and fast < ind.ema_slow:
            direction = SHORT
        else:
            return None
        distance = self._stop_k * ind.atr
        return EntryDecision(
            direction,
            close - direction * distance,
            close + direction * self._target_r * distance,
            f"trend entry in {regime.value}",
        )

    def exit_reason(self, close: float, ind: IndicatorSet, direction: int) -> str | None:
        if direction > 0:
            broken = close < ind.ema_fast and close < ind.vwap
        else:
            broken = close > ind.ema_fast and close > ind.vwap
        return TREND_BREAK_REASON if broken else None

    def levels_on_fill(
        self, entry: Order, fill_price: float, direction: int, atr: float
    ) -> tuple[float, float]:
        # The distance is read back from the levels rather than recomputed from the ATR, so a
        # slipped fill keeps exactly the 1 R the position was sized for.
        if entry.stop_price is not None and entry.target_price is not None:
            distance = stop_distance_of(entry.stop_price, entry.target_price, self._target_r)
        else:
            distance = self._stop_k * atr
        return (
            fill_price - direction * distance,
            fill_price + direction * self._target_r * distance,
        )

    def sizing_price(self, entry: Order) -> float:
        assert entry.stop_price is not None and entry.target_price is not None
        distance = stop_distance_of(entry.stop_price, entry.target_price, self._target_r)
        return entry.stop_price + (distance if entry.side is Side.BUY else -distance)
