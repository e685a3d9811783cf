"""`grodt backtest`: its options are checked like the configuration, then the runner runs."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from grodtd.cli.common import EXIT_CONFIG, MAX_BACKTEST_DAYS, Commands, load, print_problems


def cmd_backtest(args: argparse.Namespace) -> int:
    from grodtd.backtest.command import run_backtest_command

    if args.csv and (args.days is not None or args.symbols or args.seed is not None):
        given = [
            name for name, value in (("--days", args.days), ("--symbols", args.symbols)) if value
        ] + (["--seed"] if args.seed is not None else [])
        print_problems(
            [
                f"{', '.join(given)} cannot be combined with --csv: a CSV backtest replays "
                "every bar of each file for the symbol named in SYMBOL=PATH; trim the files "
                "to choose a window"
            ]
        )
        return EXIT_CONFIG
    # The same rules as the configuration: `--symbols FOO` fails as market.symbols would.
    overrides: list[tuple[tuple[str, ...], Any, str]] = []
    if args.symbols:
        overrides.append((("market", "symbols"), args.symbols, "command-line option --symbols"))
    if args.seed is not None:
        overrides.append((("market", "seed"), args.seed, "command-line option --seed"))
    if args.sweep:
        from grodtd.backtest.sweep import run_sweep_command

        if args.report:
            print_problems(["--report cannot be combined with --sweep: report one run at a time"])
            return EXIT_CONFIG
        return run_sweep_command(overrides, args)
    settings = load(overrides).settings
    return run_backtest_command(settings, args)


def days(text: str) -> float:
    try:
        days = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of days (got {text!r})") from None
    if not 0 < days <= MAX_BACKTEST_DAYS:  # also false for nan
        raise argparse.ArgumentTypeError(
            f"must be more than 0 and at most {MAX_BACKTEST_DAYS:g} days (got {text})"
        )
    return days


def jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number (got {text!r})") from None
    if not 1 <= value <= 64:
        raise argparse.ArgumentTypeError(f"must be from 1 to 64 (got {text})")
    return value


def register(commands: Commands) -> None:
    backtest = commands.add_parser(
        "backtest", help="run the same engine over simulated days or CSV files, as fast as possible"
    )
    backtest.add_argument(
        "--days", type=days, help="simulated days, more than 0 (default 30; not with --csv)"
    )
    backtest.add_argument(
        "--symbols",
        nargs="+",
        help="simulated symbols such as BTC-USD (default: market.symbols; not with --csv)",
    )
    backtest.add_argument(
        "--seed", type=int, help="simulator seed, 0 or more (default: market.seed; not with --csv)"
    )
    backtest.add_argument(
        "--csv",
        action="append",
        default=[],
        metavar="SYMBOL=PATH",
        help="replay a CSV file for SYMBOL instead of simulating (repeatable)",
    )
    backtest.add_argument("--json", action="store_true", help="print the report as JSON")
    backtest.add_argument(
        "--report",
        type=Path,
        metavar="FILE.html",
        help="also write a self-contained HTML report (charts, tables, every trade and halt)",
    )
    backtest.add_argument(
        "--sweep",
        metavar="GRID.yaml",
        help="one run per combination of a YAML grid of settings, e.g. "
        "'risk.risk_per_trade: [0.005, 0.01]', in parallel processes",
    )
    backtest.add_argument("--jobs", type=jobs, help="processes for --sweep (default: one per CPU)")
    backtest.add_argument("--no-progress", action="store_true", help="no progress bar")
    backtest.set_defaults(handler=cmd_backtest)
