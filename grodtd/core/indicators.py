"""Incremental indicators of one symbol: EMA fast/slow, Wilder ATR and a daily anchored VWAP.

All of them live in one object with one ``update`` because the engine calls it for every bar
of every backtest: a single method call with inlined arithmetic costs a fraction of four
separate indicator objects, and the strategy reads plain float attributes afterwards.

Seeding (the reference tests use exactly the same conventions):

* EMA(N) is seeded with the simple mean of the first N closes. Before the N-th close the value
  is the running mean of the closes seen so far, so it is always defined; from the (N+1)-th
  close on it is ``ema += 2 / (N + 1) * (close - ema)``.
* ATR(N) uses Wilder smoothing. The true range of the very first bar is ``high - low`` (there
  is no previous close); later bars use ``max(high, prev_close) - min(low, prev_close)``. The
  ATR is the running mean of the true ranges up to the N-th bar, then
  ``atr += (tr - atr) / N``.
* VWAP is anchored at 00:00 UTC of each bar's day (``models.day_of``) on the typical price
  ``(high + low + close) / 3`` weighted by volume. While the day has seen no volume at all,
  the VWAP is the current typical price, so it never divides by zero.
"""

from __future__ import annotations

from grodtd.core.models import SECONDS_PER_DAY
from grodtd.core.params import IndicatorParams


class IndicatorSet:
    """The indicator state of one symbol, updated once per bar."""

    __slots__ = (
        "_alpha_fast",
        "_alpha_slow",
        "_atr_period",
        "_cum_pv",
        "_cum_v",
        "_fast",
        "_slow",
        "_sum_fast",
        "_sum_slow",
        "_tr_sum",
        "_vwap_day",
        "atr",
        "count",
        "ema_fast",
        "ema_slow",
        "prev_close",
        "ready_after",
        "vwap",
    )

    def __init__(self, params: IndicatorParams) -> None:
        if params.ema_fast < 1 or params.ema_slow < 1 or params.atr_period < 1:
            raise ValueError(
                "indicator periods must be at least 1: fix ema_fast, ema_slow and atr_period"
            )
        self._fast = params.ema_fast
        self._slow = params.ema_slow
        self._atr_period = params.atr_period
        self._alpha_fast = 2.0 / (params.ema_fast + 1)
        self._alpha_slow = 2.0 / (params.ema_slow + 1)
        # Before this many bars an indicator is still in its seeding phase; strategies wait.
        self.ready_after = max(params.ema_fast, params.ema_slow, params.atr_period)
        self.count = 0
        self.ema_fast = 0.0
        self.ema_slow = 0.0
        self.atr = 0.0
        self.vwap = 0.0
        self.prev_close = 0.0
        self._sum_fast = 0.0
        self._sum_slow = 0.0
        self._tr_sum = 0.0
        self._vwap_day = -1
        self._cum_pv = 0.0
        self._cum_v = 0.0

    @property
    def ready(self) -> bool:
        return self.count >= self.ready_after

    def update(self, ts: int, high: float, low: float, close: float, volume: float) -> None:
        n = self.count + 1
        self.count = n

        if n <= self._fast:
            self._sum_fast += close
            self.ema_fast = self._sum_fast / n
        else:
            self.ema_fast += self._alpha_fast * (close - self.ema_fast)
        if n <= self._slow:
            self._sum_slow += close
            self.ema_slow = self._sum_slow / n
        else:
            self.ema_slow += self._alpha_slow * (close - self.ema_slow)

        if n == 1:
            tr = high - low
        else:
            pc = self.prev_close
            tr = (high if high > pc else pc) - (low if low < pc else pc)
        period = self._atr_period
        if n <= period:
            self._tr_sum += tr
            self.atr = self._tr_sum / n
        else:
            self.atr += (tr - self.atr) / period
        self.prev_close = close

        day = ts // SECONDS_PER_DAY
        if day != self._vwap_day:
            self._vwap_day = day
            self._cum_pv = 0.0
            self._cum_v = 0.0
        typical = (high + low + close) / 3.0
        if volume > 0.0:
            self._cum_pv += typical * volume
            self._cum_v += volume
        cum_v = self._cum_v
        self.vwap = self._cum_pv / cum_v if cum_v > 0.0 else typical
