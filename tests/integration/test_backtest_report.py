"""`grodt backtest` on CSV candles: hourly files trade, halts are reported, short runs say n/a."""

from __future__ import annotations

import csv
import json
from itertools import islice
from pathlib import Path

import pytest

from grodtd.adapters.markets.sim import SimMarket, SimParams
from grodtd.core.models import Bar
from tests.support.daemon import grodt

pytestmark = pytest.mark.slow

HOUR = 3600


def hourly_bars(days: int, seed: int = 7) -> list[Bar]:
    market = SimMarket(SimParams(seed=seed, symbols=("BTC-USD",), bar_seconds=HOUR))
    return list(islice(market.bars(), 24 * days))


def write_csv(path: Path, bars: list[Bar]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["timestamp", "open", "high", "low", "close", "volume"])
        for bar in bars:
            writer.writerow([bar.ts, bar.open, bar.high, bar.low, bar.close, bar.volume])
    return path


def backtest_json(*args: str) -> dict[str, object]:
    result = grodt("backtest", "--json", "--no-progress", *args, timeout=300)
    assert result.returncode == 0, result.stderr
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_hourly_candles_trade_instead_of_tripping_the_stale_data_switch(tmp_path: Path) -> None:
    # The bug: the 300 s stale-data limit of 1-minute bars tripped on every hourly bar.
    path = write_csv(tmp_path / "btc-1h.csv", hourly_bars(90))
    data = backtest_json("--csv", f"BTC-USD={path}")
    assert data["stale_limit_seconds"] == 5 * HOUR
    assert data["trades"] > 0
    halts = data["halts"]
    assert isinstance(halts, list)
    assert not [h for h in halts if h["reason"] == "stale_market_data"]


def test_a_gap_in_the_candles_is_reported_with_its_time_and_reason(tmp_path: Path) -> None:
    bars = hourly_bars(30)
    gapped = bars[:300] + bars[312:]  # twelve hours missing
    path = write_csv(tmp_path / "btc-gap.csv", gapped)
    data = backtest_json("--csv", f"BTC-USD={path}")
    halts = data["halts"]
    assert isinstance(halts, list)
    trips = [h for h in halts if h["event"] == "kill_switch_tripped"]
    assert [h["reason"] for h in trips] == ["stale_market_data"]
    assert trips[0]["ts"] == bars[312].ts
    assert trips[0]["detail"].startswith("BTC-USD: 46800 s between consecutive bars")
    assert any(h["event"] == "entries_halted" and h["reason"] == "kill_switch" for h in halts)
    text = grodt("backtest", "--no-progress", "--csv", f"BTC-USD={path}", timeout=120)
    assert text.returncode == 0, text.stderr
    assert "stale_market_data" in text.stdout
    assert trips[0]["time"] in text.stdout


def test_a_run_too_short_for_ratios_says_n_a(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "btc-short.csv", hourly_bars(1)[:10])
    data = backtest_json("--csv", f"BTC-USD={path}")
    assert data["trades"] == 0
    for key in (
        "win_rate",
        "sharpe_ratio",
        "sortino_ratio",
        "annualised_return",
        "expectancy",
        "profit_factor",
    ):
        assert data[key] is None, key
    text = grodt("backtest", "--no-progress", "--csv", f"BTC-USD={path}", timeout=120)
    assert text.returncode == 0, text.stderr
    lines = {line.split("  ")[0]: line for line in text.stdout.splitlines()}
    assert "n/a (no trades)" in lines["win rate"]
    assert "n/a (needs 30 daily returns)" in lines["Sharpe ratio"]
    assert lines["profit factor"].endswith("n/a")
    assert "halts" in lines and lines["halts"].endswith("none")


def test_report_into_a_missing_directory_fails_before_the_run(tmp_path: Path) -> None:
    target = tmp_path / "no-such-dir" / "out.html"
    result = grodt("backtest", "--days", "1", "--no-progress", "--report", str(target))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "does not exist; create it first" in result.stderr
    assert not target.exists()
