"""`grodt backtest --sweep GRID.yaml`: one backtest per combination of a grid, in parallel.

The grid maps setting keys, dotted as in the YAML files (``risk.risk_per_trade``), to lists of
values. Every combination is checked like the configuration before any run starts (a wrong
key or value fails in a second, not after an hour), then the runs share ``--jobs`` processes:
a backtest is CPU-bound and the engine single-threaded, so processes, not threads.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import yaml

from grodtd.adapters.markets.replay import ReplayError
from grodtd.backtest.command import EXIT_CONFIG, EXIT_OK, backtest_from
from grodtd.config import ConfigError, load_config

# More runs than this is a typo in the grid, not a plan.
MAX_COMBINATIONS = 512
type Override = tuple[tuple[str, ...], Any, str]
type Combination = tuple[tuple[str, Any], ...]


class SweepError(ValueError):
    """The grid file is missing or malformed; the message says how to fix it."""


def read_grid(path: Path) -> list[Combination]:
    """Every combination of the grid in ``path``, in the file's key order."""
    try:
        grid = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SweepError(f"--sweep {path}: no such file") from None
    except (OSError, yaml.YAMLError) as exc:
        raise SweepError(f"--sweep {path}: cannot read it as YAML: {exc}") from None
    example = "e.g. risk.risk_per_trade: [0.005, 0.01]"
    if not isinstance(grid, dict) or not grid:
        raise SweepError(f"--sweep {path}: expected a mapping of setting keys to lists, {example}")
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise SweepError(
                f"--sweep {path}: {key}: expected a non-empty list of values, {example}"
            )
    keys = [str(key) for key in grid]
    combinations = [
        tuple(zip(keys, values, strict=True)) for values in itertools.product(*grid.values())
    ]
    if len(combinations) > MAX_COMBINATIONS:
        raise SweepError(
            f"--sweep {path}: {len(combinations)} combinations, more than {MAX_COMBINATIONS}; "
            "narrow the grid"
        )
    return combinations


def _overrides(base: Sequence[Override], combination: Combination, path: Path) -> list[Override]:
    return [*base, *((tuple(k.split(".")), v, f"sweep grid {path} ({k})") for k, v in combination)]


def _run_one(
    overrides: list[Override], args: argparse.Namespace, combination: Combination
) -> dict[str, Any]:
    """One combination in a worker process: the summary, without the report's details."""
    settings = load_config(overrides=overrides).settings
    data = backtest_from(settings, args, show_progress=False).as_dict()
    halts = data.pop("halts")
    data.pop("details")
    data["halts"] = len(halts) if isinstance(halts, list) else 0
    data["params"] = dict(combination)
    return data


def run_sweep_command(base: Sequence[Override], args: argparse.Namespace) -> int:
    path = Path(args.sweep)
    try:
        combinations = read_grid(path)
        runs = [_overrides(base, c, path) for c in combinations]
        for overrides in runs:  # every combination valid before the first run
            load_config(overrides=overrides)
    except SweepError as exc:
        print(f"grodt: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"grodt: {problem}", file=sys.stderr)
        return EXIT_CONFIG
    jobs = args.jobs or min(os.cpu_count() or 1, len(runs))
    try:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            results = list(pool.map(_run_one, runs, itertools.repeat(args), combinations))
    except ReplayError as exc:
        print(f"grodt: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(format_sweep(results))
    return EXIT_OK


def format_sweep(results: Sequence[dict[str, Any]]) -> str:
    """One line per combination, best total return first."""
    keys = list(results[0]["params"]) if results else []
    head = [*keys, "trades", "total return", "max drawdown", "Sharpe", "profit factor", "halts"]
    rows = []
    for r in sorted(results, key=lambda r: r["total_return"], reverse=True):
        pf, sharpe = r["profit_factor"], r["sharpe_ratio"]
        rows.append(
            [
                *(str(r["params"][k]) for k in keys),
                str(r["trades"]),
                f"{r['total_return']:+.2%}",
                f"{r['max_drawdown']:.2%}",
                "n/a" if sharpe is None else f"{sharpe:.2f}",
                "n/a" if pf is None or math.isinf(pf) else f"{pf:.2f}",
                str(r["halts"]),
            ]
        )
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)]
    lines = [head, *rows]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines
    )
