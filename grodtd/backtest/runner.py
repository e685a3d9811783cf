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

from grodtd.backtest.report import BacktestReport, max_drawdown, profit_factor, sharpe_ratio
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
    # No observers and no lock: a backtest is single-threaded and must not pay for events.
    # The engine keeps no trades (a daemon's would pile up for months); the report needs
    # every trade of the run, so the runner records them itself.
    trades: list[Trade] = []
    engine = Engine(
        params, broker, store=None, observers=(), thread_safe=False, record_trade=trades.append
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
    for bar in source:
        ts = bar.ts
        if ts != last_ts:
            if count:
                equity_curve.append(engine.equity())
            day = ts // SECONDS_PER_DAY
            if current_day is not None and day != current_day:
                daily_equity.append(equity_curve[-1])
            current_day = day
            if first_ts is None:
                first_ts = ts
            last_ts = ts
        show(bar)
        process(bar)
        count += 1
        if progress is not None and count % progress_every == 0:
            progress(count)
    seconds = time.perf_counter() - started
    final_equity = engine.equity()
    equity_curve.append(final_equity)
    daily_equity.append(final_equity)
    if progress is not None:
        progress(count)
    wins = sum(1 for t in trades if t.pnl > 0)
    losses = sum(1 for t in trades if t.pnl < 0)
    snapshot = engine.snapshot()
    span = (last_ts - first_ts) if first_ts is not None else 0
    return BacktestReport(
        symbols=symbols,
        bars=count,
        days=round((span + bar_seconds) / SECONDS_PER_DAY, 4),
        trades=len(trades),
        wins=wins,
        losses=losses,
        win_rate=wins / len(trades) if trades else 0.0,
        initial_equity=params.initial_cash,
        final_equity=final_equity,
        total_return=final_equity / params.initial_cash - 1.0,
        max_drawdown=max_drawdown(equity_curve),
        sharpe_ratio=sharpe_ratio(daily_equity),
        profit_factor=profit_factor(trades),
        fees=snapshot.fees,
        seconds=seconds,
        bars_per_second=count / seconds if seconds > 0 else 0.0,
    )
