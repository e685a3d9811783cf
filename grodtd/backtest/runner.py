"""Run the live daemon's engine over a finite stream of bars as fast as it can go.

The runner streams: bars flow from the source through the engine one at a time and only
closed trades and one equity sample per timestamp are kept, so a year of 1-minute bars fits in
a few tens of megabytes. Each bar is shown to the simulated venue before the engine processes
it, as the live runner does, so the fills a bar triggers are applied with that bar.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from itertools import islice

from grodtd.backtest.recorder import RunRecorder
from grodtd.backtest.report import BacktestReport
from grodtd.backtest.summary import summarise
from grodtd.core.engine import Engine
from grodtd.core.models import SECONDS_PER_DAY, Bar, Trade
from grodtd.core.params import EngineParams
from grodtd.core.ports import SimulatedBroker


def run_backtest(
    params: EngineParams,
    bars: Iterator[Bar],
    broker: SimulatedBroker,
    symbols: tuple[str, ...],
    *,
    max_bars: int | None = None,
    progress: Callable[[int], None] | None = None,
    progress_every: int = 50_000,
    bar_seconds: int = 60,
) -> BacktestReport:
    """Feed ``bars`` (at most ``max_bars``) through a fresh engine and measure the result."""
    # No lock: a backtest is single-threaded. One observer, the recorder, keeps the halts and
    # the regime each entry was taken in. The engine keeps no trades (a daemon's would pile
    # up for months); the report needs every trade of the run, so the runner records them.
    trades: list[Trade] = []
    recorder = RunRecorder(symbols, params.initial_cash, bar_seconds)
    engine = Engine(
        params,
        broker,
        store=None,
        observers=(recorder.observe,),
        thread_safe=False,
        record_trade=trades.append,
        bar_events=False,  # the recorder has no use for a timed event per bar
    )
    source = islice(bars, max_bars) if max_bars is not None else bars
    equity_curve: list[float] = [params.initial_cash]
    daily_equity: list[float] = [params.initial_cash]
    first_ts: int | None = None
    last_ts = 0
    current_day: int | None = None
    count = 0
    started = time.perf_counter()
    show = broker.on_bar
    process = engine.process
    candles = recorder.candles
    sample = recorder.sample
    for bar in source:
        ts = bar.ts
        if ts != last_ts:
            if count:
                equity_curve.append(engine.equity())
                sample(last_ts, equity_curve[-1])
            recorder.now = ts
            day = ts // SECONDS_PER_DAY
            if current_day is not None and day != current_day:
                daily_equity.append(equity_curve[-1])
            current_day = day
            if first_ts is None:
                first_ts = ts
            last_ts = ts
        candles[bar.symbol].add(bar)
        show(bar)
        process(bar)
        count += 1
        if progress is not None and count % progress_every == 0:
            progress(count)
    seconds = time.perf_counter() - started
    final_equity = engine.equity()
    equity_curve.append(final_equity)
    daily_equity.append(final_equity)
    if count:
        sample(last_ts, final_equity)
    recorder.finish()
    if progress is not None:
        progress(count)
    return summarise(
        symbols=symbols,
        bars=count,
        first_ts=first_ts,
        last_ts=last_ts,
        bar_seconds=bar_seconds,
        params=params,
        trades=trades,
        equity_curve=equity_curve,
        daily_equity=daily_equity,
        fees=engine.snapshot().fees,
        seconds=seconds,
        recorder=recorder,
    )
