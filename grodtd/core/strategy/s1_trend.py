"""S1: trend following on 1-minute bars, gated by the regime.

Long entry when close > VWAP, close > EMA fast and EMA fast > EMA slow in an allowed regime.
Short entry (only with ``allow_short``) is the mirror image. Protective levels: the stop sits
``stop_atr_multiple`` ATRs from the entry (that distance is 1 R), the target
``target_r_multiple`` R on the other side. A trend break (close below both EMA fast and VWAP
for a long, above both for a short) closes the position at market.
"""

from __future__ import annotations

from grodtd.core.indicators import IndicatorSet
from grodtd.core.models import Regime
from grodtd.core.params import StrategyParams
from grodtd.core.strategy.base import FLAT, LONG, SHORT


class S1Trend:
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

    def entry_direction(self, close: float, ind: IndicatorSet, regime: Regime) -> int:
        if regime not in self._allowed or ind.count < ind.ready_after or ind.atr <= 0.0:
            return FLAT
        fast = ind.ema_fast
        vwap = ind.vwap
        if close > vwap and close > fast and fast > ind.ema_slow:
            return LONG
        if self._allow_short and close < vwap and close < fast and fast < ind.ema_slow:
            return SHORT
        return FLAT

    def protective_levels(self, entry: float, atr: float, direction: int) -> tuple[float, float]:
        distance = self._stop_k * atr
        return entry - direction * distance, entry + direction * self._target_r * distance

    def trend_broken(self, close: float, ind: IndicatorSet, direction: int) -> bool:
        if direction > 0:
            return close < ind.ema_fast and close < ind.vwap
        return close > ind.ema_fast and close > ind.vwap
