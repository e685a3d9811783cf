"""`grodt backtest`: the live engine over 30 simulated days, deterministic to the last digit."""

from __future__ import annotations

import json

import pytest

from tests.integration.test_cli import grodt

pytestmark = pytest.mark.slow

TIMING_FIELDS = {"seconds", "bars_per_second"}


def run_json(*args: str) -> dict[str, object]:
    result = grodt("backtest", "--days", "30", "--json", "--no-progress", *args, timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_thirty_days_two_symbols_trade_and_repeat_exactly() -> None:
    first = run_json("--symbols", "BTC-USD", "ETH-USD", "--seed", "7")
    second = run_json("--symbols", "BTC-USD", "ETH-USD", "--seed", "7")
    assert first["bars"] == 30 * 1440 * 2
    assert first["trades"] > 0
    for key in (
        "win_rate",
        "total_return",
        "max_drawdown",
        "sharpe_ratio",
        "profit_factor",
        "fees",
    ):
        assert key in first
    strip = lambda r: {k: v for k, v in r.items() if k not in TIMING_FIELDS}  # noqa: E731
    assert strip(first) == strip(second)
    other = run_json("--symbols", "BTC-USD", "ETH-USD", "--seed", "8")
    assert strip(other) != strip(first)


def test_text_report_names_every_figure() -> None:
    result = grodt("backtest", "--days", "3", "--no-progress", timeout=120)
    assert result.returncode == 0, result.stderr
    for label in (
        "trades",
        "win rate",
        "total return",
        "max drawdown",
        "Sharpe ratio",
        "profit factor",
        "fees",
    ):
        assert label in result.stdout
