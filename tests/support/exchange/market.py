"""The market of every symbol: klines as Binance serves them, the current price, the price path.

Only candles whose open time is at or before the clock exist; the last one is still forming.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal

from .candles import Candle, Series, forming
from .clock import MINUTE_MS
from .symbols import SymbolSpec

Span = tuple[int, int]  # [start_ms, end_ms): open times hidden by a ``gap`` fault


class Market:
    """Read-only views of the candle series; the clock is passed in, never read here."""

    def __init__(self, specs: Mapping[str, SymbolSpec], series: Mapping[str, Series]) -> None:
        missing = set(specs) ^ set(series)
        if missing:
            raise ValueError(f"specs and series disagree on {sorted(missing)}")
        self._specs = dict(specs)
        self._series = dict(series)

    @property
    def market_ids(self) -> list[str]:
        return list(self._specs)

    def spec(self, market_id: str) -> SymbolSpec:
        return self._specs[market_id]

    def first_open_ms(self, market_id: str) -> int:
        return self._series[market_id].first_open_ms

    def klines(
        self,
        market_id: str,
        *,
        now_ms: int,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int = 500,
        hidden: Sequence[Span] = (),
        reform: tuple[Decimal, int] | None = None,
    ) -> list[Candle]:
        """Binance's selection: open time >= start and <= end; without a start, the latest.

        Hidden candles are skipped (the answer is shorter, as after an outage on the exchange's
        side); ``reform`` = (factor, depth) moves the close of the ``depth`` latest candles.
        """
        series = self._series[market_id]
        newest = now_ms - now_ms % MINUTE_MS
        hi = newest if end_ms is None else min(newest, end_ms)
        lo = series.first_open_ms if start_ms is None else max(series.first_open_ms, start_ms)
        if hi < lo:
            return []
        times = series.open_times(lo, hi)
        ordered = iter(times) if start_ms is not None else reversed(times)
        picked: list[int] = []
        for open_ms in ordered:
            if any(s <= open_ms < e for s, e in hidden):
                continue
            picked.append(open_ms)
            if len(picked) >= limit:
                break
        picked.sort()
        candles = [forming(series, t, now_ms) for t in picked]
        if reform is not None:
            factor, depth = reform
            reach = newest - (depth - 1) * MINUTE_MS
            spec = self._specs[market_id]
            candles = [c.scaled(factor, spec) if c.open_ms >= reach else c for c in candles]
        return candles

    def price(self, market_id: str, now_ms: int) -> Decimal | None:
        """The last traded price at ``now_ms``: the forming candle's close, or the last close."""
        series = self._series[market_id]
        newest = now_ms - now_ms % MINUTE_MS
        times = series.open_times(series.first_open_ms, newest)
        if not times:
            return None
        return forming(series, times[-1], now_ms).close

    def path(self, market_id: str, after_ms: int, upto_ms: int) -> Iterator[tuple[int, Decimal]]:
        """Every price sample with ``after_ms < t <= upto_ms``, in time order."""
        series = self._series[market_id]
        lo = max(series.first_open_ms, after_ms - after_ms % MINUTE_MS)
        for open_ms in series.open_times(lo, upto_ms):
            for t, price in series.samples(open_ms):
                if after_ms < t <= upto_ms:
                    yield t, price
