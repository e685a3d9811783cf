"""The recent candles of each symbol with the strategy's indicator values, for the dashboard.

A ring buffer per symbol (``collections.deque`` with a ``maxlen``), so a daemon that runs for
months holds the same half a megabyte per symbol as one that started a minute ago. The indicator
values come from the core's own ``IndicatorSet`` with the engine's parameters, fed the same
bars in the same order (warm-up included), so the chart shows the VWAP and EMAs the strategy
decided on without the web reaching into the engine's mutable state.
"""

from __future__ import annotations

import threading
from collections import deque
from itertools import islice

from grodtd.core.indicators import IndicatorSet
from grodtd.core.models import Bar
from grodtd.core.params import IndicatorParams
from grodtd.web.contracts import Candle

# One day of 1-minute bars per symbol: about 480 kB each (measured with tracemalloc), whatever
# the uptime.
DEFAULT_CAPACITY = 1440


class CandleTape:
    """Records bars as the runner hands them over; readers get copies, never the buffer."""

    def __init__(self, params: IndicatorParams, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError(f"the candle buffer needs room for one bar at least, got {capacity}")
        self._params = params
        self._capacity = capacity
        self._indicators: dict[str, IndicatorSet] = {}
        self._candles: dict[str, deque[Candle]] = {}
        # The engine thread writes while web threads read; a deque must not be copied mid-append.
        self._lock = threading.Lock()

    def record(self, bar: Bar) -> None:
        with self._lock:
            ind = self._indicators.get(bar.symbol)
            if ind is None:
                ind = self._indicators[bar.symbol] = IndicatorSet(self._params)
                self._candles[bar.symbol] = deque(maxlen=self._capacity)
            ind.update(bar.ts, bar.high, bar.low, bar.close, bar.volume)
            ready = ind.ready
            self._candles[bar.symbol].append(
                Candle(
                    ts=bar.ts,
                    open=bar.open,
                    high=bar.high,
                    low=bar.low,
                    close=bar.close,
                    volume=bar.volume,
                    vwap=ind.vwap,
                    # Before the slow EMA has seen its period the values are seeds, not signals.
                    ema_fast=ind.ema_fast if ready else None,
                    ema_slow=ind.ema_slow if ready else None,
                )
            )

    def symbols(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(sorted(self._candles))

    def recent(self, symbol: str, limit: int, since_ts: int | None = None) -> list[Candle]:
        """The newest ``limit`` candles of ``symbol`` at or after ``since_ts``, oldest first;
        empty for an unknown symbol. A chart that has the older bars asks with ``since_ts``."""
        with self._lock:
            candles = self._candles.get(symbol)
            if candles is None or limit <= 0:
                return []
            newer = len(candles)
            if since_ts is not None:
                # Newest first from the right end: a poll asks for the last bar or two.
                newer = 0
                for candle in reversed(candles):
                    if candle.ts < since_ts:
                        break
                    newer += 1
            skip = len(candles) - min(limit, newer)
            return list(islice(candles, skip, None))
