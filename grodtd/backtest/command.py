"""`grodt backtest`: wire a backtest from the settings and the command line, print the report."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from grodtd.adapters.markets.replay import CsvReplay, ReplayError
from grodtd.adapters.markets.sim import SimMarket
from grodtd.backtest.progress import ProgressBar
from grodtd.backtest.report import format_report
from grodtd.backtest.runner import run_backtest
from grodtd.config import Settings
from grodtd.factories import paper_broker, sim_params

EXIT_OK = 0
EXIT_CONFIG = 2
DEFAULT_DAYS = 30.0


def _csv_paths(specs: list[str]) -> dict[str, Path]:
    paths: dict[str, Path] = {}
    for spec in specs:
        symbol, sep, path = spec.partition("=")
        if not sep or not symbol or not path:
            raise ReplayError(
                f"--csv {spec!r}: expected SYMBOL=PATH, e.g. --csv BTC-USD=data/btc.csv"
            )
        paths[symbol] = Path(path)
    return paths


def run_backtest_command(settings: Settings, args: argparse.Namespace) -> int:
    broker = paper_broker(settings)
    bar_seconds = settings.market.bar_seconds
    try:
        if args.csv:
            paths = _csv_paths(args.csv)
            symbols = tuple(paths)
            bars = CsvReplay(paths).bars()
            max_bars = None
            expected = 0
        else:
            # --symbols and --seed arrive as settings (validated like market.symbols/seed).
            params = sim_params(settings)
            symbols = params.symbols
            days = DEFAULT_DAYS if args.days is None else args.days
            expected = int(days * 86_400 / bar_seconds) * len(symbols)
            if expected == 0:
                print(
                    f"grodt: --days {days:g} is shorter than one bar of {bar_seconds} s: "
                    "give more days",
                    file=sys.stderr,
                )
                return EXIT_CONFIG
            bars = SimMarket(params).bars()
            max_bars = expected
        progress = None
        if not args.no_progress and sys.stderr.isatty() and expected:
            progress = ProgressBar(expected)
        report = run_backtest(
            settings.engine_params(),
            bars,
            broker,
            symbols,
            max_bars=max_bars,
            progress=progress,
            bar_seconds=bar_seconds,
        )
    except ReplayError as exc:
        print(f"grodt: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print(format_report(report))
    return EXIT_OK
