"""The regime classifier: which kind of market a symbol is in, from scale-free features.

Features (all independent of the price level, so one set of thresholds serves every symbol):

* the least-squares slope of log(close) per bar over ``slope_window`` bars, kept with running
  sums (O(1) per bar; re-summed from the window now and then so float drift cannot build up);
* ATR / close and its percentile rank among the last ``atr_percentile_window`` values, kept in
  a bisect-sorted list (O(log n) search plus a short memmove per bar);
* the simple return over ``return_window`` bars.

Classification of the raw regime, in priority order: high volatility (rank and ratio both
high), trending up (positive slope above threshold AND a return that agrees), trending down
(the mirror), otherwise ranging. A raw regime different from the confirmed one must repeat
``confirm_bars`` bars in a row before it is adopted; until then, and during warm-up, the
classifier answers ``transition`` so a strategy never trades on a one-bar flicker.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import deque
from math import log

from grodtd.core.models import Regime
from grodtd.core.params import RegimeParams

# Re-sum the slope's running sums from the window every 4096 bars: bounds float drift on
# paths of millions of bars at a negligible cost.
_RESUM_MASK = 4095

_TRANSITION = Regime.TRANSITION
_UP = Regime.TRENDING_UP
_DOWN = Regime.TRENDING_DOWN
_RANGING = Regime.RANGING
_HIGH_VOL = Regime.HIGH_VOLATILITY


class RegimeClassifier:
    """Regime state of one symbol; ``update`` once per bar with the bar's close and ATR."""

    __slots__ = (
        "_candidate",
        "_candidate_count",
        "_closes",
        "_closes_len",
        "_confirm",
        "_confirmed",
        "_hv_pct",
        "_hv_ratio",
        "_logs",
        "_n",
        "_ratio_sorted",
        "_ratios",
        "_ratios_len",
        "_sx_over_n",
        "_sxx_centered",
        "_sxy",
        "_sy",
        "_trend_return",
        "_trend_slope",
        "_warmup",
        "atr_rank",
        "atr_ratio",
        "count",
        "regime",
        "ret",
        "slope",
    )

    def __init__(self, params: RegimeParams) -> None:
        if params.slope_window < 2 or params.return_window < 1:
            raise ValueError("regime slope_window must be >= 2 and return_window >= 1")
        if params.atr_percentile_window < 2 or params.confirm_bars < 1:
            raise ValueError("regime atr_percentile_window must be >= 2 and confirm_bars >= 1")
        n = params.slope_window
        self._n = n
        sx = n * (n - 1) / 2.0
        sxx = (n - 1) * n * (2 * n - 1) / 6.0
        self._sx_over_n = sx / n
        self._sxx_centered = sxx - sx * sx / n
        self._sxy = 0.0
        self._sy = 0.0
        self._logs: deque[float] = deque(maxlen=n)
        self._closes_len = params.return_window + 1
        self._closes: deque[float] = deque(maxlen=self._closes_len)
        self._ratios_len = params.atr_percentile_window
        self._ratios: deque[float] = deque(maxlen=self._ratios_len)
        self._ratio_sorted: list[float] = []
        self._trend_slope = params.trend_slope
        self._trend_return = params.trend_return
        self._hv_pct = params.high_volatility_percentile
        self._hv_ratio = params.high_volatility_atr_ratio
        self._confirm = params.confirm_bars
        # Warm-up covers the feature windows too: a half-filled window would classify noise.
        self._warmup = max(params.warmup_bars, n, params.return_window + 1)
        self._confirmed = _TRANSITION
        self._candidate = _TRANSITION
        self._candidate_count = 0
        self.count = 0
        self.slope = 0.0
        self.ret = 0.0
        self.atr_ratio = 0.0
        self.atr_rank = 0.0
        self.regime = _TRANSITION

    def update(self, close: float, atr: float) -> Regime:
        # Hot path of every backtest: attributes are read into locals once, written once.
        count = self.count + 1
        self.count = count
        if close <= 0.0:
            # A non-positive price has no logarithm; hold the previous answer rather than fail
            # the whole engine on one bad print.
            return self.regime

        # Slope of log price: window y_0..y_{n-1} at x = 0..n-1, Sxy = sum(i * y_i).
        y = log(close)
        logs = self._logs
        n = self._n
        sy = self._sy
        if count > n:
            y0 = logs[0]
            logs.append(y)
            if count & _RESUM_MASK:
                self._sxy = sxy = self._sxy + y0 - sy + (n - 1) * y
                self._sy = sy = sy + y - y0
            else:
                sy, sxy = self._resum()
            slope = (sxy - self._sx_over_n * sy) / self._sxx_centered
            self.slope = slope
        else:
            self._sxy = sxy = self._sxy + (count - 1) * y
            self._sy = sy = sy + y
            logs.append(y)
            if count == n:
                self.slope = (sxy - self._sx_over_n * sy) / self._sxx_centered
            slope = self.slope

        closes = self._closes
        closes.append(close)
        if len(closes) == self._closes_len:
            self.ret = ret = close / closes[0] - 1.0
        else:
            ret = self.ret

        ratio = atr / close
        self.atr_ratio = ratio
        ratios = self._ratios
        ordered = self._ratio_sorted
        if count > self._ratios_len:
            del ordered[bisect_left(ordered, ratios[0])]
        ratios.append(ratio)
        below = bisect_left(ordered, ratio)
        ordered.insert(below, ratio)
        size = len(ordered)
        # Fraction of the other values in the window that lie below the current one.
        rank = below / (size - 1) if size > 1 else 0.0
        self.atr_rank = rank

        if count < self._warmup:
            return _TRANSITION

        if rank >= self._hv_pct and ratio >= self._hv_ratio:
            raw = _HIGH_VOL
        elif slope > self._trend_slope and ret > self._trend_return:
            raw = _UP
        elif slope < -self._trend_slope and ret < -self._trend_return:
            raw = _DOWN
        else:
            raw = _RANGING

        if raw is self._confirmed:
            if self._candidate_count:
                self._candidate_count = 0
            self.regime = raw
            return raw
        if raw is self._candidate:
            self._candidate_count += 1
        else:
            self._candidate = raw
            self._candidate_count = 1
        if self._candidate_count >= self._confirm:
            self._confirmed = raw
            self._candidate_count = 0
            self.regime = raw
            return raw
        self.regime = _TRANSITION
        return _TRANSITION

    def _resum(self) -> tuple[float, float]:
        sy = 0.0
        sxy = 0.0
        for i, value in enumerate(self._logs):
            sy += value
            sxy += i * value
        self._sy = sy
        self._sxy = sxy
        return sy, sxy
