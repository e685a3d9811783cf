"""`grodt backtest --sweep`: every combination of a grid, in parallel, each the run it names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.daemon import grodt

pytestmark = pytest.mark.slow

TIMING = {"seconds", "bars_per_second"}


def test_a_grid_runs_every_combination_as_a_single_run_would(tmp_path: Path) -> None:
    grid = tmp_path / "grid.yaml"
    grid.write_text("risk.loss_streak_limit: [3, 5]\nrisk.max_open_positions: [1, 3]\n")
    result = grodt(
        "backtest", "--days", "3", "--sweep", str(grid), "--jobs", "2", "--json", timeout=300
    )
    assert result.returncode == 0, result.stderr
    runs = json.loads(result.stdout)
    assert [r["params"] for r in runs] == [
        {"risk.loss_streak_limit": 3, "risk.max_open_positions": 1},
        {"risk.loss_streak_limit": 3, "risk.max_open_positions": 3},
        {"risk.loss_streak_limit": 5, "risk.max_open_positions": 1},
        {"risk.loss_streak_limit": 5, "risk.max_open_positions": 3},
    ]
    assert len({r["trades"] for r in runs}) > 1, "the grid changed nothing"
    # The last combination is exactly the backtest of the same settings given another way.
    single = grodt(
        "backtest",
        "--days",
        "3",
        "--json",
        "--no-progress",
        env={"GRODT_RISK__LOSS_STREAK_LIMIT": "5"},
        timeout=300,
    )
    assert single.returncode == 0, single.stderr
    expected = json.loads(single.stdout)
    expected["halts"] = len(expected["halts"])
    del expected["details"]
    swept = dict(runs[3])
    del swept["params"]
    strip = lambda r: {k: v for k, v in r.items() if k not in TIMING}  # noqa: E731
    assert strip(swept) == strip(expected)
    text = grodt("backtest", "--days", "3", "--sweep", str(grid), "--jobs", "2", timeout=300)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0].split()[:3] == ["risk.loss_streak_limit", "risk.max_open_positions", "trades"]
    assert len(lines) == 5


@pytest.mark.parametrize(
    ("grid", "needle"),
    [
        ("risk.no_such_key: [1, 2]\n", "risk.no_such_key: unknown key"),
        ("risk.risk_per_trade: 0.01\n", "expected a non-empty list of values"),
        ("risk.risk_per_trade: [2.0]\n", "risk.risk_per_trade"),
        ("- just a list\n", "expected a mapping of setting keys to lists"),
    ],
)
def test_a_bad_grid_exits_2_before_any_run(tmp_path: Path, grid: str, needle: str) -> None:
    path = tmp_path / "grid.yaml"
    path.write_text(grid)
    result = grodt("backtest", "--days", "3650", "--sweep", str(path))
    assert result.returncode == 2
    assert needle in result.stderr
    assert result.stderr.strip().count("\n") == 0
    assert result.stdout == ""
