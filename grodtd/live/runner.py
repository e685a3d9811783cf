"""The live trading loop: paces market data into the engine in real time.

The core engine is synchronous and knows no wall clock; this loop gives it one. It
- rebuilds indicator state after a restart by warming the engine up on the bars just before
  the resume point (the simulator replays the same seeded path, so nothing is invented),
- paces new bars at the configured speed (one timestamp's bars, one per symbol, per tick),
- beats the liveness heartbeat while it works and while it waits, and
- stops between two bars when asked, so every processed bar's unit of work is complete.

Bars are read from the source on a daemon thread: a source that blocks (a stalled feed, a
slow disk) then only makes market data stale, which readiness reports, and never freezes the
event loop that also serves /health and /metrics. Each bar is processed on one dedicated
engine thread, one at a time, for the same reason: a store write that hangs stalls the
engine, which the liveness heartbeat reports, but the daemon still answers. After each bar
the engine thread publishes a fresh immutable snapshot; readers only ever swap a reference.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import structlog

from grodtd.core.engine import Engine
from grodtd.core.models import SECONDS_PER_DAY, Bar
from grodtd.core.ports import LiveMarket, MarketData, SimulatedBroker
from grodtd.core.snapshot import EngineSnapshot
from grodtd.ops.health import Heartbeat, MarketDataClock

# Longest single sleep: the heartbeat must beat well inside its timeout even when bars are slow.
_MAX_NAP_SECONDS = 0.5
# How often the loop looks for a bar when the source has none ready.
_POLL_SECONDS = 0.005
# Bars the reader thread may run ahead of the engine: enough to smooth the hand-over, few
# enough that a stalled source shows up as stale data within a fraction of a second.
_READ_AHEAD = 64
# Warm-up bars processed before yielding to the other tasks on the loop.
_WARMUP_SLICE = 2000

log = structlog.stdlib.get_logger("grodtd.live.runner")


class _End:
    """Marks the end of a bounded source (a CSV replay) in the read-ahead queue."""


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


class BarFeed:
    """Reads a bar iterator on a daemon thread into a bounded queue."""

    def __init__(self, bars: Iterator[Bar]) -> None:
        self._queue: queue.Queue[Bar | _End | _Failure] = queue.Queue(maxsize=_READ_AHEAD)
        self._thread = threading.Thread(
            target=self._read, args=(bars,), daemon=True, name="bar-feed"
        )
        self._thread.start()

    def _read(self, bars: Iterator[Bar]) -> None:
        try:
            for bar in bars:
                self._queue.put(bar)
        except Exception as exc:  # surfaced to the runner, which fails the daemon with it
            self._queue.put(_Failure(exc))
            return
        self._queue.put(_End())

    def poll(self) -> Bar | _End | None:
        """The next bar, ``_End`` after the last one, or None if none is ready yet."""
        try:
            item = self._queue.get_nowait()
        except queue.Empty:
            return None
        if isinstance(item, _Failure):
            raise item.error
        return item


@dataclass(frozen=True, slots=True)
class Pacing:
    bars_per_second: float  # timestamps per second; each brings one bar per symbol
    bar_seconds: int
    warmup_bars: int  # bars per symbol replayed into indicators before trading starts


def warmup_start(
    resume_after: dict[str, int], symbols: list[str], pacing: Pacing
) -> dict[str, int]:
    """Where to start reading so the engine can be warmed up before the resume point.

    It reaches back to the start of the resume day (the VWAP is anchored there) or
    ``warmup_bars`` bars, whichever is earlier, so every indicator is as it was before the stop.
    """
    start: dict[str, int] = {}
    for symbol in symbols:
        last = resume_after.get(symbol)
        if last is None:
            continue
        day_start = last - last % SECONDS_PER_DAY
        back = last - pacing.warmup_bars * pacing.bar_seconds
        start[symbol] = min(day_start, back) - pacing.bar_seconds
    return start


class Chore(Protocol):
    """Work the runner does on the engine's thread between bars, every ``interval_s``."""

    @property
    def interval_s(self) -> float: ...
    def run(self) -> None: ...


class LiveRunner:
    """Paces the market into the engine, warms it up, beats the heartbeat, stops on demand.

    ``venue`` is the simulated venue on paper trading: it is shown each bar just before the
    engine processes it (on the engine thread), so it fills what the bar triggers and the
    engine takes those fills at the start of the same bar. A real venue reports its fills by
    itself and is not shown bars.
    """

    def __init__(
        self,
        engine: Engine,
        market: MarketData,
        pacing: Pacing,
        heartbeat: Heartbeat,
        market_clock: MarketDataClock,
        *,
        venue: SimulatedBroker | None = None,
        live: LiveMarket | None = None,
        chores: Sequence[Chore] = (),
        monotonic: Callable[[], float] = time.monotonic,
        on_bar: Callable[[Bar], None] | None = None,
    ) -> None:
        # Sees every bar the engine sees, warm-up included (the dashboard's candle tape).
        self._on_bar = on_bar
        self._engine = engine
        self._venue = venue
        self._live = live
        self._market = market
        self._pacing = pacing
        self._heartbeat = heartbeat
        self._market_clock = market_clock
        self._monotonic = monotonic
        start = monotonic()
        self._chores = [(chore, start + chore.interval_s) for chore in chores]
        self._stop = asyncio.Event()
        self._engine_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="engine")
        self.running = False
        self.warmed_up = False
        self.snapshot: EngineSnapshot = engine.snapshot()

    def _step(self, bar: Bar) -> None:
        """Process one bar and publish the snapshot; runs on the engine thread."""
        if self._venue is not None:
            self._venue.on_bar(bar)
        if self._live is None or self._live.fresh(bar):
            self._engine.process(bar)
        else:
            self._engine.catch_up(bar)  # history after an outage: no entry on it
        if self._on_bar is not None:
            self._on_bar(bar)
        self.snapshot = self._engine.snapshot()

    def on_engine_thread[T](self, work: Callable[[], T], timeout_s: float = 30.0) -> T:
        """Run ``work`` on the engine's thread, between bars, and wait for its result (from
        any thread but that one and the event loop's: the web's control handlers)."""
        result = self._engine_thread.submit(work).result(timeout=timeout_s)
        self.snapshot = self._engine.snapshot()
        return result

    def stop(self) -> None:
        """Finish the bar in hand, then return from ``run``."""
        self._stop.set()

    async def run(self) -> None:
        self.running = True
        try:
            await self._run()
        finally:
            self.running = False
            # A hung engine thread must not keep the process from exiting; nothing waits.
            self._engine_thread.shutdown(wait=False)

    async def _run(self) -> None:
        symbols = list(self._market.symbols)
        resume_after = dict(self._engine.resume_after)
        fresh_start = not resume_after
        feed = BarFeed(
            self._market.bars(after=warmup_start(resume_after, symbols, self._pacing) or None)
        )
        warmup_left = self._pacing.warmup_bars * len(symbols) if fresh_start else 0
        interval = 1.0 / self._pacing.bars_per_second
        next_tick = self._monotonic()
        current_ts: int | None = None
        warmed = 0
        traded = 0
        while not self._stop.is_set():
            item = feed.poll()
            if item is None:
                self._heartbeat.beat()
                await self._chores_due()
                self._publish_idle()
                await asyncio.sleep(_POLL_SECONDS)
                continue
            if isinstance(item, _End):
                break
            bar = item
            if warmup_left > 0 or bar.ts <= resume_after.get(bar.symbol, -1):
                # Rebuild indicator state only: these bars were traded before (or are the
                # history a first start learns from).
                self._engine.warm_up(bar)
                if self._on_bar is not None:
                    self._on_bar(bar)
                warmup_left -= 1
                warmed += 1
                if warmed % _WARMUP_SLICE == 0:
                    self._heartbeat.beat()
                    await asyncio.sleep(0)
                continue
            self._heartbeat.beat()
            if not self.warmed_up:
                self.warmed_up = True
                next_tick = self._monotonic()
            if bar.ts != current_ts and self._live is None:
                # A new timestamp: wait for its turn, then let every symbol's bar through.
                # (A live market paces itself: its bars come when they close.)
                current_ts = bar.ts
                next_tick += interval
                if await self._wait_until(next_tick):
                    return
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self._engine_thread, self._step, bar)
            self._market_clock.record(bar.symbol)
            traded += 1
            await self._chores_due()
        if self._stop.is_set():
            return
        self._source_ended(traded)
        # Keep the daemon alive (its store and API stay readable); readiness says why it is
        # not ready, and the operator decides what comes next.
        while not self._stop.is_set():
            self._heartbeat.beat()
            self._publish_idle()
            await asyncio.sleep(_MAX_NAP_SECONDS)

    async def _chores_due(self) -> None:
        """Run each chore whose time has come, on the engine's thread."""
        if not self._chores:
            return
        now = self._monotonic()
        loop = asyncio.get_running_loop()
        for i, (chore, due) in enumerate(self._chores):
            if now >= due:
                self._chores[i] = (chore, now + chore.interval_s)
                await loop.run_in_executor(self._engine_thread, self._chore, chore)

    def _chore(self, chore: Chore) -> None:
        try:
            chore.run()
        except Exception:  # a chore must never stop the trading loop
            log.exception("scheduled chore failed; tried again at its next time", chore=repr(chore))
        self.snapshot = self._engine.snapshot()

    def _publish_idle(self) -> None:
        """Publish what changed in the engine between bars.

        The stale-data watchdog trips its kill switch while no bar comes (an exchange that is
        down), and a snapshot published only after each bar would hide it from /api/v1/status
        and the metrics until the next bar, which clears it. Called only while no bar is in
        the engine thread; the engine rebuilds its snapshot only when something invalidated it.
        """
        self.snapshot = self._engine.snapshot()

    def _source_ended(self, traded: int) -> None:
        """A bounded source (a CSV replay) delivered its last bar: say so everywhere."""
        last = self._engine.resume_after
        newest = max(last.values(), default=0)
        at = datetime.fromtimestamp(newest, UTC).isoformat().replace("+00:00", "Z")
        reason = (
            f"the market data source has ended (last bar {at}, {traded} bars this run): "
            "no more market data; point market.source or market.replay_paths at more data "
            "and restart"
        )
        self._market_clock.ended = reason
        log.warning("market data source ended", bars=traded, last_bar=at)

    async def _wait_until(self, deadline: float) -> bool:
        """Sleep until ``deadline`` in short naps, beating the heartbeat; True if stopping."""
        while True:
            if self._stop.is_set():
                return True
            remaining = deadline - self._monotonic()
            if remaining <= 0:
                # Yield anyway: a fast pace must not starve the web servers on the same loop.
                await asyncio.sleep(0)
                return self._stop.is_set()
            await asyncio.sleep(min(remaining, _MAX_NAP_SECONDS))
            self._heartbeat.beat()
