"""The embedded simulated market: the default data source of the daemon and of backtests.

A seeded, regime-switching price process per symbol, emitted as 1-minute OHLCV bars. Three
independent random streams per symbol keep the pieces separable:

- the *regime* stream draws the regime schedule (a semi-Markov chain: which regime, for how
  many bars), so ``true_regime`` can answer for any time without generating a single bar;
- the *returns* stream draws one log return per bar; it is the only thing a resume has to
  replay, which keeps fast-forwarding cheap;
- the *shape* stream (wicks, volume) is re-seeded every ``_BLOCK_BARS`` bars from the block
  number, so a resume never replays it for more than one block.

Every stream is seeded from (seed, symbol, purpose) through BLAKE2b, never ``hash()`` (salted
per process): the same seed gives the same bars in every process, and adding a symbol does not
change another symbol's path. Pacing is not here: this is a pure generator.
"""

from __future__ import annotations

import hashlib
import math
import random
from bisect import bisect_right
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain, islice
from statistics import NormalDist
from types import MappingProxyType

from grodtd.core.models import Bar, Regime

_DEFAULT_START_TS = 1_767_225_600  # 2026-01-01T00:00:00Z

# Random variates come from quantile tables indexed by random bits: one ``getrandbits`` call
# per bar is several times cheaper than ``random.gauss`` and the 4096-level discretisation is
# invisible in 1-minute returns.
_TABLE_BITS = 12
_TABLE_SIZE = 1 << _TABLE_BITS
_TABLE_MASK = _TABLE_SIZE - 1
# The shape stream is re-seeded per block so that a resume replays at most one block of it.
_BLOCK_BARS = 1024


@dataclass(frozen=True, slots=True)
class RegimeDynamics:
    """How prices behave while a regime lasts; per-bar figures are log returns."""

    drift: float
    volatility: float
    mean_bars: float
    volume_multiplier: float = 1.0
    # Pull towards the log price at which the regime began: what makes a range a range.
    mean_reversion: float = 0.0


def _default_dynamics() -> Mapping[Regime, RegimeDynamics]:
    return MappingProxyType(
        {
            # Up and down mirror each other in drift, duration and transitions so that
            # the long-run drift is zero: a multi-year run wanders instead of exploding.
            Regime.TRENDING_UP: RegimeDynamics(0.0002, 0.0007, 160.0, 1.1),
            Regime.TRENDING_DOWN: RegimeDynamics(-0.0002, 0.0008, 160.0, 1.25),
            Regime.RANGING: RegimeDynamics(0.0, 0.0005, 240.0, 0.8, mean_reversion=0.02),
            Regime.HIGH_VOLATILITY: RegimeDynamics(0.0, 0.0028, 60.0, 2.2),
        }
    )


def _default_transitions() -> Mapping[Regime, Mapping[Regime, float]]:
    # Weights of the next regime (never the same one: durations are drawn explicitly).
    up, down = Regime.TRENDING_UP, Regime.TRENDING_DOWN
    rng, hv = Regime.RANGING, Regime.HIGH_VOLATILITY
    return MappingProxyType(
        {
            up: MappingProxyType({rng: 0.45, hv: 0.20, down: 0.35}),
            down: MappingProxyType({rng: 0.45, hv: 0.20, up: 0.35}),
            rng: MappingProxyType({up: 0.35, down: 0.35, hv: 0.30}),
            hv: MappingProxyType({rng: 0.50, up: 0.25, down: 0.25}),
        }
    )


def _default_prices() -> Mapping[str, float]:
    return MappingProxyType({"BTC-USD": 60_000.0, "ETH-USD": 3_000.0, "SOL-USD": 150.0})


@dataclass(frozen=True)
class SimParams:
    """Everything that shapes the simulated market; same params and seed, same bars."""

    seed: int = 42
    symbols: tuple[str, ...] = ("BTC-USD", "ETH-USD")
    start_ts: int = _DEFAULT_START_TS
    bar_seconds: int = 60
    initial_prices: Mapping[str, float] = field(default_factory=_default_prices)
    # A symbol missing from ``initial_prices`` starts here.
    default_initial_price: float = 100.0
    regimes: Mapping[Regime, RegimeDynamics] = field(default_factory=_default_dynamics)
    transitions: Mapping[Regime, Mapping[Regime, float]] = field(
        default_factory=_default_transitions
    )
    min_regime_bars: int = 15
    # A weak pull per bar towards the initial price, in every regime. Trends add up to a
    # random walk of trends; without this a simulated year wanders over two orders of
    # magnitude. 3e-5 (a half-life of about 16 days at 1-minute bars) gives BTC a year's
    # range like 2024's (roughly 40k to 130k) and is invisible within a trend.
    long_run_reversion: float = 3e-5
    # Wick length as a multiple of the regime's volatility (times an Exp(1) draw).
    wick_scale: float = 0.6
    # Average traded notional per bar in quote currency; volume is this over the start price,
    # so a new symbol gets a plausible volume without configuration.
    base_notional_per_bar: float = 1_500_000.0
    volume_noise: float = 0.45  # sigma of the log-normal noise on volume
    # Extra volume per standard deviation of the bar's return; below 1.25 keeps volume > 0.
    volume_shock: float = 0.5
    # Hour-of-day seasonality: volume peaks around 15:00 UTC, quietest around 03:00 UTC.
    intraday_amplitude: float = 0.35
    weekend_factor: float = 0.7

    def __post_init__(self) -> None:
        problems: list[str] = []
        if not self.symbols:
            problems.append("symbols is empty; list at least one symbol")
        if len(set(self.symbols)) != len(self.symbols):
            problems.append(f"symbols has duplicates: {list(self.symbols)}")
        if self.bar_seconds <= 0:
            problems.append(f"bar_seconds must be positive, got {self.bar_seconds}")
        if not 0 <= self.long_run_reversion < 1:
            problems.append(f"long_run_reversion must be in [0, 1), got {self.long_run_reversion}")
        if self.min_regime_bars < 1:
            problems.append(f"min_regime_bars must be at least 1, got {self.min_regime_bars}")
        for symbol in self.symbols:
            if self.initial_price(symbol) <= 0:
                problems.append(f"initial price of {symbol} must be positive")
        if not 0 <= self.volume_shock < 1.25:
            problems.append(f"volume_shock must be in [0, 1.25), got {self.volume_shock}")
        missing = [r.value for r in _SIM_REGIMES if r not in self.regimes]
        if missing:
            problems.append(f"regimes lacks dynamics for {missing}")
        for regime, dyn in self.regimes.items():
            if dyn.volatility <= 0 or dyn.mean_bars < self.min_regime_bars:
                problems.append(
                    f"regime {regime.value}: volatility must be positive and mean_bars at "
                    f"least min_regime_bars ({self.min_regime_bars})"
                )
        for regime in _SIM_REGIMES:
            weights = self.transitions.get(regime, {})
            if not any(w > 0 for r, w in weights.items() if r != regime and r in _SIM_REGIMES):
                problems.append(f"transitions from {regime.value} need a positive weight")
        if problems:
            raise ValueError("invalid simulator parameters: " + "; ".join(problems))

    def initial_price(self, symbol: str) -> float:
        return self.initial_prices.get(symbol, self.default_initial_price)


# The simulator generates these four; TRANSITION is the classifier's "not sure yet".
_SIM_REGIMES = (Regime.TRENDING_UP, Regime.TRENDING_DOWN, Regime.RANGING, Regime.HIGH_VOLATILITY)


def derive_seed(seed: int, *parts: object) -> int:
    """A stable 64-bit seed from ``seed`` and labels, identical in every process."""
    text = "/".join([str(seed), *(str(p) for p in parts)])
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


class _RegimeSchedule:
    """The regime segments of one symbol, drawn lazily and kept (a few thousand a year)."""

    def __init__(self, params: SimParams, symbol: str) -> None:
        self._params = params
        self._rng = random.Random(derive_seed(params.seed, symbol, "regime"))
        self.starts: list[int] = []
        self.regimes: list[Regime] = []
        self._end = 0  # bar index at which the last drawn segment ends
        self._append(self._rng.choice(_SIM_REGIMES))

    def _append(self, regime: Regime) -> None:
        dyn = self._params.regimes[regime]
        min_bars = self._params.min_regime_bars
        extra = self._rng.expovariate(1.0 / max(dyn.mean_bars - min_bars, 1e-9))
        self.starts.append(self._end)
        self.regimes.append(regime)
        self._end += min_bars + int(extra)

    def _next_regime(self) -> Regime:
        weights = self._params.transitions[self.regimes[-1]]
        choices = [r for r in _SIM_REGIMES if r != self.regimes[-1] and weights.get(r, 0) > 0]
        return self._rng.choices(choices, weights=[weights[r] for r in choices])[0]

    def segment(self, k: int) -> tuple[int, int, Regime]:
        """Segment number ``k``: (first bar index, end bar index exclusive, regime)."""
        while len(self.starts) <= k + 1:
            self._append(self._next_regime())
        return self.starts[k], self.starts[k + 1], self.regimes[k]

    def at(self, index: int) -> Regime:
        while self._end <= index:
            self._append(self._next_regime())
        return self.regimes[bisect_right(self.starts, index) - 1]


def _normal_table() -> list[float]:
    unit = NormalDist()
    return [unit.inv_cdf((k + 0.5) / _TABLE_SIZE) for k in range(_TABLE_SIZE)]


def _exponential_table() -> list[float]:
    return [-math.log(1.0 - (k + 0.5) / _TABLE_SIZE) for k in range(_TABLE_SIZE)]


def _hour_of_week_volume(params: SimParams) -> list[float]:
    """Volume factor by hour of the week, Monday 00:00 UTC first."""
    table = []
    for hour in range(168):
        daily = 1.0 + params.intraday_amplitude * math.cos(2 * math.pi * (hour % 24 - 15) / 24)
        weekend = params.weekend_factor if hour >= 5 * 24 else 1.0
        table.append(daily * weekend)
    return table


class SimMarket:
    """Implements ``MarketData`` and ``RegimeOracle`` for the seeded simulated market.

    ``end_ts`` (exclusive, a bar open time) and ``n_bars`` (bars per symbol) bound the stream;
    without them it never ends.
    """

    def __init__(
        self,
        params: SimParams | None = None,
        *,
        end_ts: int | None = None,
        n_bars: int | None = None,
    ) -> None:
        self.params = params if params is not None else SimParams()
        self.symbols: Sequence[str] = self.params.symbols
        p = self.params
        limit: int | None = n_bars
        if end_ts is not None:
            by_time = max(0, -(-(end_ts - p.start_ts) // p.bar_seconds))
            limit = by_time if limit is None else min(limit, by_time)
        self._limit = limit
        self._schedules = {s: _RegimeSchedule(p, s) for s in self.symbols}
        self._normal = _normal_table()
        self._season = _hour_of_week_volume(p)
        # Lookup tables indexed by random bits: per regime the return step (volatility x z) and
        # the wick factor (1 + volatility x wick_scale x Exp(1)); the log-normal volume noise;
        # the volume boost of a large return (indexed by the same bits as the return).
        expo = _exponential_table()
        self._steps = {
            regime: [dyn.volatility * z for z in self._normal] for regime, dyn in p.regimes.items()
        }
        self._wicks = {
            regime: [1.0 + dyn.volatility * p.wick_scale * e for e in expo]
            for regime, dyn in p.regimes.items()
        }
        self._lognormal = [math.exp(p.volume_noise * z) for z in self._normal]
        mean_abs = math.sqrt(2 / math.pi)
        self._shock = [1.0 + p.volume_shock * (abs(z) - mean_abs) for z in self._normal]

    # -- RegimeOracle -----------------------------------------------------------------------

    def true_regime(self, symbol: str, ts: int) -> Regime:
        """The regime that generated ``symbol``'s bar covering ``ts``."""
        schedule = self._schedules.get(symbol)
        if schedule is None:
            raise KeyError(f"{symbol!r} is not simulated; simulated symbols: {self.symbols}")
        if ts < self.params.start_ts:
            raise ValueError(f"ts {ts} is before the simulation start {self.params.start_ts}")
        return schedule.at((ts - self.params.start_ts) // self.params.bar_seconds)

    # -- MarketData -------------------------------------------------------------------------

    def bars(self, after: dict[str, int] | None = None) -> Iterator[Bar]:
        """Bars in time order, one per symbol per bar time, strictly after ``after[symbol]``.

        A symbol absent from ``after`` starts at the beginning, so the output is exactly the
        tail of an uninterrupted run. Once every symbol has joined, the interleaving is done
        by ``zip`` and ``chain`` in C: a Python-level loop here costs a tenth of a bar's budget.
        """
        p = self.params
        after = after or {}
        firsts = []
        for symbol in self.symbols:
            last = after.get(symbol)
            firsts.append(0 if last is None else max(0, (last - p.start_ts) // p.bar_seconds + 1))
        streams = [
            self._symbol_bars(s, first) for s, first in zip(self.symbols, firsts, strict=True)
        ]
        joined = max(firsts) if self._limit is None else min(max(firsts), self._limit)
        steady: Iterator[tuple[Bar, ...]] = zip(*streams, strict=True)
        if self._limit is not None:
            steady = islice(steady, max(0, self._limit - joined))
        staggered = _stagger(streams, firsts, min(firsts), joined)
        return chain(staggered, chain.from_iterable(steady))

    def _symbol_bars(self, symbol: str, first: int) -> Iterator[Bar]:
        """One symbol's infinite bar stream, starting at bar index ``first``.

        The returns update exists twice (skip and emit) on purpose: both must perform the same
        floating-point operations in the same order so that a resumed path is bit-identical.
        Per-regime tables turn wicks and volume noise into lookups.
        """
        p = self.params
        schedule = self._schedules[symbol]
        season, lognormal = self._season, self._lognormal
        bar_type = Bar
        returns_bits = random.Random(derive_seed(p.seed, symbol, "returns")).getrandbits
        price0 = p.initial_price(symbol)
        x = home = math.log(price0)  # log price: the process state
        pull = p.long_run_reversion
        base_volume = p.base_notional_per_bar / price0
        bar_seconds, start_ts = p.bar_seconds, p.start_ts
        bits, mask = _TABLE_BITS, _TABLE_MASK
        exp = math.exp

        shape_block, shape_bits = -1, random.Random(0).getrandbits
        k = 0
        while True:
            seg_start, seg_end, regime = schedule.segment(k)
            k += 1
            dyn = p.regimes[regime]
            # x' = x + kappa (anchor - x) + pull (home - x) + drift + volatility z, with the
            # regime's anchor being the log price at which it began, rearranged to one
            # multiply and two additions per bar.
            kappa = dyn.mean_reversion
            decay = 1.0 - kappa - pull
            level = kappa * x + pull * home + dyn.drift
            step = self._steps[regime]
            # Fast-forward the part of this segment that lies before ``first``.
            skip_end = min(seg_end, first)
            for _ in range(seg_start, skip_end):
                x = x * decay + level + step[returns_bits(bits)]
            if skip_end == seg_end:
                continue
            wick = self._wicks[regime]
            shock = self._shock
            vol_regime = base_volume * dyn.volume_multiplier
            i = max(seg_start, first)
            o = exp(x)
            while i < seg_end:
                block = i // _BLOCK_BARS
                if block != shape_block:
                    shape_block = block
                    seed = derive_seed(p.seed, symbol, "shape", block)
                    shape_bits = random.Random(seed).getrandbits
                    for _ in range(block * _BLOCK_BARS, i):
                        shape_bits(36)  # after a resume: replay the block's skipped bars
                chunk_end = min(seg_end, (block + 1) * _BLOCK_BARS)
                ts = start_ts + i * bar_seconds
                for _ in range(i, chunk_end):
                    r = returns_bits(bits)
                    x = x * decay + level + step[r]
                    c = exp(x)
                    b = shape_bits(36)
                    if c >= o:
                        high = c * wick[b & mask]
                        low = o / wick[(b >> 12) & mask]
                    else:
                        high = o * wick[b & mask]
                        low = c / wick[(b >> 12) & mask]
                    # Epoch day 0 was a Thursday: +72 h makes the hour of week Monday-based.
                    volume = (
                        vol_regime * season[(ts // 3600 + 72) % 168] * lognormal[b >> 24] * shock[r]
                    )
                    yield bar_type(symbol, ts, o, high, low, c, volume)
                    o = c
                    ts += bar_seconds
                i = chunk_end


def _stagger(
    streams: list[Iterator[Bar]], firsts: list[int], start: int, joined: int
) -> Iterator[Bar]:
    """Bar indexes ``start``..``joined``: symbols resumed at different times join in turn."""
    for index in range(start, joined):
        for stream, first in zip(streams, firsts, strict=True):
            if first <= index:
                yield next(stream)
