"""`grodt backtest`: wire a backtest from the settings and the command line, print the report."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path

from grodtd.adapters.markets.replay import CsvReplay, ReplayError
from grodtd.adapters.markets.sim import SimMarket
from grodtd.backtest.candle_interval import detect_interval, fit_stale_limit
from grodtd.backtest.html_report import ReportError, chart_library, write_report
from grodtd.backtest.progress import ProgressBar
from grodtd.backtest.report import BacktestReport, format_report
from grodtd.backtest.runner import run_backtest
from grodtd.config import Settings
from grodtd.core.models import Bar
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


def _check_report_path(report: Path | None) -> None:
    """Fail before a long run, not after it, when the report could not be written."""
    if report is None:
        return
    chart_library()
    if not report.parent.is_dir():
        raise ReportError(
            f"--report {report}: the directory {report.parent} does not exist; create it first"
        )


def backtest_from(
    settings: Settings, args: argparse.Namespace, *, show_progress: bool = True
) -> BacktestReport:
    """One backtest as the options say; ``ReplayError`` for bad files or a too-short run."""
    broker = paper_broker(settings)
    bar_seconds = settings.market.bar_seconds
    params = settings.engine_params()
    bars: Iterator[Bar]
    if args.csv:
        paths = _csv_paths(args.csv)
        symbols = tuple(paths)
        bars, bar_seconds = detect_interval(CsvReplay(paths).bars(), symbols, bar_seconds)
        # Hourly files with the 1-minute limit tripped the stale-data switch on every bar.
        params = fit_stale_limit(params, settings.market.bar_seconds, bar_seconds)
        max_bars = None
        expected = 0
    else:
        # --symbols and --seed arrive as settings (validated like market.symbols/seed).
        sim = sim_params(settings)
        symbols = sim.symbols
        days = DEFAULT_DAYS if args.days is None else args.days
        expected = int(days * 86_400 / bar_seconds) * len(symbols)
        if expected == 0:
            raise ReplayError(
                f"--days {days:g} is shorter than one bar of {bar_seconds} s: give more days"
            )
        bars = SimMarket(sim).bars()
        max_bars = expected
    progress = None
    if show_progress and not args.no_progress and sys.stderr.isatty() and expected:
        progress = ProgressBar(expected)
    return run_backtest(
        params,
        bars,
        broker,
        symbols,
        max_bars=max_bars,
        progress=progress,
        bar_seconds=bar_seconds,
    )


def run_backtest_command(settings: Settings, args: argparse.Namespace) -> int:
    report_path: Path | None = args.report
    try:
        _check_report_path(report_path)
        report = backtest_from(settings, args)
        data = report.as_dict()
        if report_path is not None:
            write_report(data, report_path)
    except (ReplayError, ReportError) as exc:
        print(f"grodt: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        print(format_report(report))
        if report_path is not None:
            print(f"report written to {report_path}")
    return EXIT_OK
