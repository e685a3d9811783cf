"""Bounded series for the report's charts: a year of 1-minute bars must not become 500,000 points.

A backtest streams, so the run's length is unknown until it ends. Each series keeps points in
buckets of a width that doubles whenever the series grows past twice its budget, merging
neighbouring buckets; it ends with between ``budget`` and ``2 * budget`` points of even width,
whatever the run's length. A price candle keeps the first open, the extremes and the last
close; the equity curve keeps the last equity and benchmark of a bucket and its deepest
drawdown, so the chart's lowest point is the reported maximum drawdown.

``Candles.add`` runs for every bar of a backtest and ``EquityCurve.add`` for every bar time:
the common case (the bar falls in the open bucket) is one comparison and a few assignments.
"""

from __future__ import annotations

from grodtd.core.models import Bar

DEFAULT_BUDGET = 1_500


class Candles:
    """OHLC candles of one symbol, at most ``2 * budget`` of them."""

    __slots__ = ("_end", "budget", "close", "first_close", "high", "low", "open", "ts", "width")

    def __init__(self, width: int, budget: int = DEFAULT_BUDGET) -> None:
        self.width = max(width, 1)
        self.budget = budget
        self.ts: list[int] = []
        self.open: list[float] = []
        self.high: list[float] = []
        self.low: list[float] = []
        self.close: list[float] = []
        self._end = -1  # the open bucket holds times before this
        self.first_close = 0.0  # the close of the first bar: where buy and hold bought

    def add(self, bar: Bar) -> None:
        if bar.ts < self._end:
            if bar.high > self.high[-1]:
                self.high[-1] = bar.high
            if bar.low < self.low[-1]:
                self.low[-1] = bar.low
            self.close[-1] = bar.close
            return
        if not self.ts:
            self.first_close = bar.close
        elif len(self.ts) >= 2 * self.budget:
            self._coarsen()
            if bar.ts < self._end:
                self.add(bar)
                return
        start = bar.ts - bar.ts % self.width
        self._end = start + self.width
        self.ts.append(start)
        self.open.append(bar.open)
        self.high.append(bar.high)
        self.low.append(bar.low)
        self.close.append(bar.close)

    def _coarsen(self) -> None:
        """Double the width, merging each pair of neighbouring buckets."""
        self.width *= 2
        ts: list[int] = []
        opens: list[float] = []
        highs: list[float] = []
        lows: list[float] = []
        closes: list[float] = []
        for i, t in enumerate(self.ts):
            start = t - t % self.width
            if ts and ts[-1] == start:
                highs[-1] = max(highs[-1], self.high[i])
                lows[-1] = min(lows[-1], self.low[i])
                closes[-1] = self.close[i]
            else:
                ts.append(start)
                opens.append(self.open[i])
                highs.append(self.high[i])
                lows.append(self.low[i])
                closes.append(self.close[i])
        self.ts, self.open, self.high, self.low, self.close = ts, opens, highs, lows, closes
        self._end = ts[-1] + self.width if ts else -1

    def as_dict(self) -> dict[str, object]:
        return {
            "width": self.width,
            "ts": self.ts,
            "open": self.open,
            "high": self.high,
            "low": self.low,
            "close": self.close,
        }


class EquityCurve:
    """Equity, buy-and-hold benchmark and drawdown at the same times, bounded like Candles."""

    __slots__ = ("_end", "benchmark", "budget", "drawdown", "equity", "ts", "width")

    def __init__(self, width: int, budget: int = DEFAULT_BUDGET) -> None:
        self.width = max(width, 1)
        self.budget = budget
        self.ts: list[int] = []
        self.equity: list[float] = []
        self.benchmark: list[float] = []
        self.drawdown: list[float] = []  # fraction below the running peak, 0 or negative
        self._end = -1

    def add(self, ts: int, equity: float, benchmark: float, drawdown: float) -> None:
        if ts < self._end:
            self.equity[-1] = equity
            self.benchmark[-1] = benchmark
            if drawdown < self.drawdown[-1]:
                self.drawdown[-1] = drawdown
            return
        if len(self.ts) >= 2 * self.budget:
            self._coarsen()
            if ts < self._end:
                self.add(ts, equity, benchmark, drawdown)
                return
        start = ts - ts % self.width
        self._end = start + self.width
        self.ts.append(start)
        self.equity.append(equity)
        self.benchmark.append(benchmark)
        self.drawdown.append(drawdown)

    def _coarsen(self) -> None:
        self.width *= 2
        ts: list[int] = []
        equity: list[float] = []
        benchmark: list[float] = []
        drawdown: list[float] = []
        for i, t in enumerate(self.ts):
            start = t - t % self.width
            if ts and ts[-1] == start:
                equity[-1] = self.equity[i]
                benchmark[-1] = self.benchmark[i]
                drawdown[-1] = min(drawdown[-1], self.drawdown[i])
            else:
                ts.append(start)
                equity.append(self.equity[i])
                benchmark.append(self.benchmark[i])
                drawdown.append(self.drawdown[i])
        self.ts, self.equity, self.benchmark, self.drawdown = ts, equity, benchmark, drawdown
        self._end = ts[-1] + self.width if ts else -1

    def as_dict(self) -> dict[str, object]:
        return {
            "width": self.width,
            "ts": self.ts,
            "equity": self.equity,
            "benchmark": self.benchmark,
            "drawdown": self.drawdown,
        }
