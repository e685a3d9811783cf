"""One symbol's 1-minute candles and the price path inside them.

A candle is a pure function of (seed, symbol, open time), so any range can be served without
storing history, two emulators with the same seed agree, and a candle never changes once closed.
Inside a minute the price moves along a few samples; the forming candle shows the samples up to
the current time, which is why it changes between polls, and resting orders fill against the
same samples, so what the klines show and what the matching engine saw always agree.
"""

from __future__ import annotations

import math
import zlib
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Protocol

from .clock import MINUTE_MS
from .symbols import SymbolSpec, fmt

# (open_ms, open, high, low, close, volume), as a test or a CSV file gives them.
CandleRow = tuple[
    int,
    float | str | Decimal,
    float | str | Decimal,
    float | str | Decimal,
    float | str | Decimal,
    float | str | Decimal,
]

STEPS = 12  # samples per generated minute: one every 5 emulated seconds
STEP_MS = MINUTE_MS // STEPS
_MASK = (1 << 64) - 1


@dataclass(frozen=True)
class Candle:
    open_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    trades: int

    def row(self) -> list[int | str]:
        """Binance's kline array: prices and volumes as strings, times as integers."""
        quote_volume = self.volume * (self.open + self.high + self.low + self.close) / 4
        return [
            self.open_ms,
            fmt(self.open),
            fmt(self.high),
            fmt(self.low),
            fmt(self.close),
            fmt(self.volume),
            self.open_ms + MINUTE_MS - 1,
            fmt(quote_volume),
            self.trades,
            fmt(self.volume / 2),
            fmt(quote_volume / 2),
            "0",
        ]

    def scaled(self, factor: Decimal, spec: SymbolSpec) -> Candle:
        """The same candle with its close moved by ``factor`` (the ``reform`` fault)."""
        close = spec.round_price(float(self.close * factor))
        return Candle(
            self.open_ms,
            self.open,
            max(self.high, close),
            min(self.low, close),
            close,
            self.volume,
            self.trades,
        )


class Series(Protocol):
    """What the market needs from one symbol's candles."""

    first_open_ms: int

    def open_times(self, lo_ms: int, hi_ms: int) -> Sequence[int]:
        """Open times of the candles that exist in [lo_ms, hi_ms], ascending."""
        ...

    def samples(self, open_ms: int) -> Sequence[tuple[int, Decimal]]:
        """The price path inside one candle: (time, price), ascending, from its open."""
        ...

    def closed(self, open_ms: int) -> Candle:
        """The final candle, once its minute is over."""
        ...


def forming(series: Series, open_ms: int, now_ms: int) -> Candle:
    """The candle as it looks at ``now_ms``: closed if its minute is over, else partial."""
    final = series.closed(open_ms)
    if now_ms >= open_ms + MINUTE_MS:
        return final
    seen = [price for t, price in series.samples(open_ms) if t <= now_ms]
    elapsed = (now_ms - open_ms + 1) / MINUTE_MS
    volume = (final.volume * Decimal(str(round(elapsed, 6)))).quantize(Decimal("1e-8"))
    return Candle(
        open_ms,
        seen[0],
        max(seen),
        min(seen),
        seen[-1],
        max(volume, Decimal("1e-8")),
        max(1, int(final.trades * elapsed)),
    )


def _mix(x: int) -> int:
    """splitmix64's finaliser: a fast, well-spread integer hash."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


class GeneratedSeries:
    """A seeded market: trends, ranges and calm or wild spells, one candle every minute.

    The log price is a sum of value noise at several time scales (minutes to a week): the slow
    scales make trends and ranges, a slow volatility factor makes calm and wild spells, and a
    Brownian bridge between two minute closes makes the path inside a minute.
    """

    # (time scale in minutes, amplitude of the log price)
    OCTAVES = ((8, 0.0015), (45, 0.004), (240, 0.01), (1440, 0.025), (10_080, 0.06))
    FAST_SCALE = 240  # octaves at or below this scale follow the volatility regime

    def __init__(self, spec: SymbolSpec, *, seed: int, first_open_ms: int) -> None:
        self.spec = spec
        self.first_open_ms = first_open_ms - first_open_ms % MINUTE_MS
        self._key = _mix((seed & _MASK) ^ (zlib.crc32(spec.market_id.encode()) << 17))
        self._base_log = math.log(spec.base_price)
        self._base_volume = 1_000_000.0 / max(spec.base_price, 1e-9)  # ~1M quote a minute
        self._minute = lru_cache(maxsize=65_536)(self._compute_minute)
        # Neighbouring minutes share lattice points and minute closes: cache both.
        self._lattice = lru_cache(maxsize=4_096)(self._unit)
        self._log_price = lru_cache(maxsize=4_096)(self._compute_log_price)

    def open_times(self, lo_ms: int, hi_ms: int) -> Sequence[int]:
        lo = max(lo_ms, self.first_open_ms)
        lo += -lo % MINUTE_MS
        return range(lo, hi_ms + 1, MINUTE_MS)

    def samples(self, open_ms: int) -> Sequence[tuple[int, Decimal]]:
        return self._minute(open_ms // MINUTE_MS)[0]

    def closed(self, open_ms: int) -> Candle:
        return self._minute(open_ms // MINUTE_MS)[1]

    def _unit(self, channel: int, index: int) -> float:
        """A uniform number in [-1, 1) for (channel, index)."""
        h = _mix(self._key ^ (channel << 56) ^ ((index * 0x9E3779B97F4A7C15) & _MASK))
        return (h >> 11) * (2.0 / (1 << 53)) - 1.0

    def _noise(self, channel: int, x: float) -> float:
        i = math.floor(x)
        f = x - i
        a, b = self._lattice(channel, i), self._lattice(channel, i + 1)
        return a + (b - a) * f * f * (3.0 - 2.0 * f)

    def _volatility(self, minute: int) -> float:
        return math.exp(0.6 * self._noise(90, minute / 2880))

    def _compute_log_price(self, minute: int) -> float:
        vol = self._volatility(minute)
        level = self._base_log
        for channel, (scale, amplitude) in enumerate(self.OCTAVES):
            weight = vol if scale <= self.FAST_SCALE else 1.0
            level += amplitude * weight * self._noise(channel, minute / scale)
        return level + 0.0005 * vol * self._unit(50, minute)

    def _compute_minute(self, minute: int) -> tuple[tuple[tuple[int, Decimal], ...], Candle]:
        start, end = self._log_price(minute), self._log_price(minute + 1)
        vol = self._volatility(minute)
        walk = [0.0]
        for k in range(1, STEPS + 1):
            walk.append(walk[-1] + self._unit(60, minute * 16 + k))
        sigma = 0.0005 * vol
        open_ms = minute * MINUTE_MS
        samples = tuple(
            (
                open_ms + k * STEP_MS,
                self.spec.round_price(
                    math.exp(
                        start
                        + (end - start) * k / STEPS
                        + sigma * (walk[k] - walk[STEPS] * k / STEPS)
                    )
                ),
            )
            for k in range(STEPS)
        )
        close = self.spec.round_price(math.exp(end))
        prices = [p for _, p in samples] + [close]
        activity = (1.4 + self._unit(70, minute)) * vol * (1.0 + 150.0 * abs(end - start))
        volume = max(
            self.spec.step_size,
            self.spec.floor_qty(Decimal(str(round(self._base_volume * activity, 8)))),
        )
        trades = int(20 + 200 * activity)
        candle = Candle(open_ms, prices[0], max(prices), min(prices), close, volume, trades)
        return samples, candle


class ExplicitSeries:
    """Candles given by a test (parity with a CSV replay): served exactly as given once closed.

    The path inside a candle visits open, then low and high (high first on a down candle), then
    close, the usual reading of an OHLC bar.
    """

    def __init__(self, rows: Iterable[CandleRow]) -> None:
        self._by_open: dict[int, Candle] = {}
        for open_ms, o, h, low, c, v in rows:
            if open_ms % MINUTE_MS:
                raise ValueError(f"candle open time {open_ms} is not on a minute")
            o_, h_, l_, c_, v_ = (Decimal(str(x)) for x in (o, h, low, c, v))
            if not (0 < l_ <= min(o_, c_) and max(o_, c_) <= h_ and v_ >= 0):
                raise ValueError(f"candle at {open_ms} is not a valid OHLCV bar")
            self._by_open[int(open_ms)] = Candle(int(open_ms), o_, h_, l_, c_, v_, trades=1)
        if not self._by_open:
            raise ValueError("explicit candles need at least one row")
        self._opens = sorted(self._by_open)
        self.first_open_ms = self._opens[0]

    def open_times(self, lo_ms: int, hi_ms: int) -> Sequence[int]:
        return self._opens[bisect_left(self._opens, lo_ms) : bisect_right(self._opens, hi_ms)]

    def samples(self, open_ms: int) -> Sequence[tuple[int, Decimal]]:
        c = self._by_open[open_ms]
        first, second = (c.high, c.low) if c.close < c.open else (c.low, c.high)
        quarter = MINUTE_MS // 4
        return (
            (open_ms, c.open),
            (open_ms + quarter, first),
            (open_ms + 2 * quarter, second),
            (open_ms + 3 * quarter, c.close),
        )

    def closed(self, open_ms: int) -> Candle:
        return self._by_open[open_ms]


def explicit_by_symbol(candles: Mapping[str, Iterable[CandleRow]]) -> dict[str, ExplicitSeries]:
    return {symbol: ExplicitSeries(rows) for symbol, rows in candles.items()}
