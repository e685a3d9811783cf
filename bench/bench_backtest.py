"""End-to-end backtest speed and peak memory: simulator -> engine -> paper broker, streamed.

Runs `grodt backtest` in a child process (so its peak resident memory is its own) over a year
of 1-minute bars for one symbol (525,600 bars). Target (issue 2): within 150 MB of peak memory.

    .venv/bin/python bench/bench_backtest.py --days 365

It prints one table row, saying which core ran (compiled in the image, interpreted in a
checkout); bench/results/backtest.md collects the rows with the commands for the image runs.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from grodtd.ops.version import core_build  # noqa: E402  (the same grodtd the child process runs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=float, default=365)
    parser.add_argument("--symbols", nargs="+", default=["BTC-USD"])
    args = parser.parse_args()
    argv = [
        sys.executable,
        "-m",
        "grodtd",
        "backtest",
        "--days",
        f"{args.days:g}",
        "--json",
        "--no-progress",
        "--symbols",
        *args.symbols,
    ]
    started = time.perf_counter()
    result = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    report = json.loads(result.stdout)
    table = "\n".join(
        [
            "| core | bars | trades | bars/s (sim + engine + broker) | wall s | peak RSS MB |",
            "|---|---|---|---|---|---|",
            f"| {core_build()} | {report['bars']:,} | {report['trades']} | "
            f"{report['bars_per_second']:,.0f} | {wall:.1f} | {peak_mb:.1f} |",
        ]
    )
    print(table)


if __name__ == "__main__":
    main()
