"""Record the regime classifier's agreement with the simulator's true regime.

.venv/bin/python bench/bench_regime.py --days 30 --seeds 1 2 3 --write bench/results/regime.md
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from grodtd.adapters.markets.sim import SimMarket, SimParams
from grodtd.backtest.regime_score import score_classifier
from grodtd.core.models import Regime
from grodtd.core.params import IndicatorParams, RegimeParams


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    rows = []
    for seed in args.seeds:
        market = SimMarket(replace(SimParams(), seed=seed), n_bars=args.days * 1440)
        score = score_classifier(market, IndicatorParams(), RegimeParams(), skip_bars=300)
        recalls = " | ".join(f"{score.recall(r):.1%}" for r in Regime if r is not Regime.TRANSITION)
        rows.append(
            f"| {seed} | {score.bars:,} | {score.agreement:.1%} | {score.baseline:.1%} "
            f"({score.baseline_regime.value}) | {recalls} |"
        )
    header = " | ".join(f"recall {r.value}" for r in Regime if r is not Regime.TRANSITION)
    table = "\n".join(
        [
            f"| seed | bars | agreement | majority baseline | {header} |",
            "|" + "---|" * (5 + 3),
            *rows,
        ]
    )
    print(table)
    if args.write:
        command = "    .venv/bin/python bench/bench_regime.py " + " ".join(sys.argv[1:])
        args.write.write_text(
            "# Regime classifier against the simulator's true regime\n\n"
            f"Measured {time.strftime('%Y-%m-%d', time.gmtime())}; {args.days} simulated days of "
            "1-minute bars per seed for BTC-USD and ETH-USD, the first 300 bars of each symbol "
            "left out (warm-up). `transition` answers count as misses.\n\n"
            f"Command:\n\n{command}\n\n{table}\n"
        )


if __name__ == "__main__":
    main()
