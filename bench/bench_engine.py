"""Throughput of the trading core: bars per second through strategy, risk and a broker.

Bars are generated in memory BEFORE the clock starts (a seeded random walk whose drift switches
every few hundred bars, so the strategy really trades), then fed to ``Engine.process`` one by
one, as a backtest should run: each bar shown to the simulated venue, then processed, with no
store, no observers and ``thread_safe=False`` (``--locked`` measures the live default with its
per-bar lock).

The broker is the product's ``grodtd.adapters.brokers.paper.PaperBroker`` when it can be
imported (the default, ``--broker paper``); ``--broker minimal`` uses a tiny in-bench broker
that fills market orders at the next open, which isolates the engine's own cost.

Speed is reported twice: wall clock (what the target is about) and CPU time of the process,
which stays meaningful when other jobs share the machine (compare the load average printed).

Peak memory: the process's maximum resident set size (``resource.getrusage``), which includes
the pre-generated bars; ``--tracemalloc`` reports the Python heap peak of the run itself
instead (it slows the run several-fold, so it is a separate pass and never used for speed).

    .venv/bin/python bench/bench_engine.py --bars 1000000 --symbols 4

That runs the checkout's core interpreted. The image ships it compiled (mypyc); measure that
build where it runs (bench/results/engine.md has both):

    docker run --rm --network none -v "$PWD/bench:/bench:ro" --entrypoint python grodt:local \
        /bench/bench_engine.py --bars 1000000 --symbols 4
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import resource
import sys
import time
import tracemalloc

from grodtd.core.engine import Engine
from grodtd.core.models import Bar, Fill, Order, OrderKind, Side, Trade
from grodtd.core.params import EngineParams
from grodtd.core.ports import SimulatedBroker
from grodtd.ops.version import core_build

T0 = 1_700_006_400  # a UTC midnight


class MinimalBroker:
    """Market orders at the next open, stops and targets on high/low (stop first), no fees."""

    def __init__(self) -> None:
        self._open: dict[str, dict[str, Order]] = {}
        self._fills: list[Fill] = []

    def submit(self, order: Order) -> None:
        self._open.setdefault(order.symbol, {})[order.client_order_id] = order

    def cancel(self, client_order_id: str) -> None:
        for book in self._open.values():
            book.pop(client_order_id, None)

    def take_fills(self) -> list[Fill]:
        fills, self._fills = self._fills, []
        return fills

    def on_bar(self, bar: Bar) -> None:
        book = self._open.get(bar.symbol)
        if not book:
            return
        fills = self._fills
        for order in list(book.values()):
            if order.created_ts >= bar.ts:
                continue
            sell = order.side is Side.SELL
            if order.kind is OrderKind.MARKET:
                price = bar.open
            elif order.kind is OrderKind.STOP:
                assert order.price is not None
                if not (bar.low <= order.price if sell else bar.high >= order.price):
                    continue
                price = order.price
            else:
                assert order.price is not None
                if not (bar.high >= order.price if sell else bar.low <= order.price):
                    continue
                price = order.price
            del book[order.client_order_id]
            fills.append(
                Fill(order.client_order_id, order.symbol, order.side, order.qty, price, 0.0, bar.ts)
            )


def make_broker(kind: str) -> tuple[SimulatedBroker, str]:
    if kind == "paper":
        try:
            from grodtd.adapters.brokers.paper import PaperBroker
        except ImportError as exc:  # the adapter is written in parallel; say so, then fall back
            print(
                f"paper broker unavailable ({exc}); using the minimal in-bench broker",
                file=sys.stderr,
            )
        else:
            return PaperBroker(), "grodtd.adapters.brokers.paper.PaperBroker (defaults)"
    return MinimalBroker(), "bench MinimalBroker"


def generate(n: int, symbols: int, seed: int) -> list[Bar]:
    rng = random.Random(seed)
    names = [f"SYM{k}-USD" for k in range(symbols)]
    prices = [100.0 * (k + 1) for k in range(symbols)]
    drifts = [0.0] * symbols
    bars: list[Bar] = []
    gauss = rng.gauss
    for i in range(n):
        k = i % symbols
        if rng.random() < 0.003:
            drifts[k] = rng.choice((-0.0006, 0.0, 0.0, 0.0008))
        o = prices[k]
        c = o * (1.0 + drifts[k] + gauss(0.0, 0.0015))
        hi = (o if o > c else c) * (1.0 + abs(gauss(0.0, 0.0006)))
        lo = (o if o < c else c) * (1.0 - abs(gauss(0.0, 0.0006)))
        bars.append(Bar(names[k], T0 + (i // symbols) * 60, o, hi, lo, c, rng.uniform(1.0, 20.0)))
        prices[k] = c
    return bars


def run(
    bars: list[Bar], broker_kind: str, locked: bool = False
) -> tuple[float, float, Engine, list[Trade], str]:
    """(wall seconds, CPU seconds of this process, engine, its trades, broker label) of a pass."""
    broker, label = make_broker(broker_kind)
    trades: list[Trade] = []
    engine = Engine(EngineParams(), broker, thread_safe=locked, record_trade=trades.append)
    show = broker.on_bar
    process = engine.process
    gc.collect()
    cpu = time.process_time()
    started = time.perf_counter()
    for bar in bars:
        show(bar)
        process(bar)
    return time.perf_counter() - started, time.process_time() - cpu, engine, trades, label


def calibration_seconds() -> float:
    """CPU seconds of a fixed pure-Python loop: puts the figures of two machines side by side."""
    started = time.process_time()
    total = 0
    for i in range(10_000_000):
        total += i
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--symbols", type=int, default=4)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--broker", choices=("paper", "minimal"), default="paper")
    parser.add_argument(
        "--locked",
        action="store_true",
        help="keep the engine's per-bar lock (the live default); backtests run without it",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs; the best one is reported")
    parser.add_argument(
        "--tracemalloc",
        action="store_true",
        help="one extra run measuring the Python heap peak of the run",
    )
    args = parser.parse_args()

    bars = generate(args.bars, args.symbols, args.seed)
    timings = []
    cpu_timings = []
    engine = None
    trades: list[Trade] = []
    label = ""
    for _ in range(args.repeat):
        seconds, cpu_seconds, engine, trades, label = run(bars, args.broker, args.locked)
        timings.append(seconds)
        cpu_timings.append(cpu_seconds)
    assert engine is not None
    best = min(timings)
    best_cpu = min(cpu_timings)
    load = os.getloadavg()[0]
    snap = engine.snapshot()
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"python        {platform.python_implementation()} {platform.python_version()}")
    core_dir = os.path.dirname(sys.modules[Engine.__module__].__file__ or "?")
    print(f"core          {core_build()}, from {core_dir}")
    print(f"broker        {label}")
    print(f"engine        thread_safe={args.locked}, no store, no observers")
    print(f"bars          {args.bars:,} ({args.symbols} symbols, seed {args.seed})")
    print(f"cpus / load   {os.cpu_count()} / {load:.2f} (1-minute load average at the end)")
    print(f"calibration   {calibration_seconds():.3f} CPU s for 10M pure-Python additions")
    print(f"runs wall (s) {', '.join(f'{t:.3f}' for t in timings)}")
    print(f"runs CPU (s)  {', '.join(f'{t:.3f}' for t in cpu_timings)}")
    print(f"best wall     {args.bars / best:,.0f} bars/s ({best / args.bars * 1e6:.2f} us/bar)")
    print(
        f"best CPU      {args.bars / best_cpu:,.0f} bars per CPU second "
        f"({best_cpu / args.bars * 1e6:.2f} us/bar)"
    )
    print(
        f"trades        {len(trades):,}; final equity {snap.equity:,.2f}; "
        f"halts {[h.value for h, _ in snap.halts]}"
    )
    print(f"peak RSS      {rss_mib:,.1f} MiB (includes the pre-generated bars)")
    if args.tracemalloc:
        tracemalloc.start()
        run(bars, args.broker, args.locked)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"heap peak     {peak / 2**20:,.1f} MiB during one run (tracemalloc)")
    target = 250_000
    verdict = "MET" if args.bars / best >= target else "NOT met"
    print(f"target        {target:,} bars/s on one core (wall clock): {verdict}")


if __name__ == "__main__":
    main()
