"""The report's formulas on hand-made numbers: each definition printed in the report holds."""

from __future__ import annotations

import math

import pytest

from grodtd.backtest import stats
from grodtd.core.models import OrderPurpose, Trade

DAY = 86_400


def trade(pnl: float, entry_ts: int = 0, exit_ts: int = 60, symbol: str = "BTC-USD") -> Trade:
    return Trade(
        symbol=symbol,
        strategy="s1",
        qty=1.0,
        entry_price=100.0,
        exit_price=100.0 + pnl,
        entry_ts=entry_ts,
        exit_ts=exit_ts,
        fees=0.5,
        pnl=pnl,
        exit_reason=OrderPurpose.STOP if pnl < 0 else OrderPurpose.TARGET,
        entry_order_id=f"s1-{symbol}-{entry_ts}-entry",
        exit_order_id=f"s1-{symbol}-{exit_ts}-exit",
    )


def test_sharpe_and_sortino_need_thirty_daily_returns() -> None:
    returns = [0.01, -0.005] * 14  # 28 returns: too few to mean anything
    assert stats.sharpe(returns) is None
    assert stats.sortino(returns) is None
    returns = [0.01, -0.005] * 15
    mean = sum(returns) / 30
    deviation = math.sqrt(sum((r - mean) ** 2 for r in returns) / 29)
    assert stats.sharpe(returns) == pytest.approx(mean / deviation * math.sqrt(365))
    downside = math.sqrt(15 * 0.005**2 / 30)
    assert stats.sortino(returns) == pytest.approx(mean / downside * math.sqrt(365))


def test_sortino_is_undefined_without_a_losing_day() -> None:
    assert stats.sortino([0.01] * 40) is None
    assert stats.sharpe([0.01] * 40) is None  # no deviation at all


def test_daily_returns_from_equity() -> None:
    assert stats.daily_returns([100.0, 110.0, 99.0]) == pytest.approx([0.1, -0.1])


def test_annualised_return_and_calmar() -> None:
    assert stats.annualised_return(0.10, 10) is None  # ten days are not a year's evidence
    assert stats.annualised_return(0.21, 730) == pytest.approx(0.10)
    assert stats.annualised_return(-1.0, 365) is None
    assert stats.calmar(0.10, 0.05) == pytest.approx(2.0)
    assert stats.calmar(0.10, 0.0) is None
    assert stats.calmar(None, 0.05) is None


def test_expectancy_and_losing_streaks() -> None:
    assert stats.expectancy([]) is None
    trades = [trade(-1, exit_ts=t) for t in (10, 20)] + [trade(5, exit_ts=30)]
    trades += [trade(-2, exit_ts=t) for t in (40, 50, 60)]
    assert stats.expectancy(trades) == pytest.approx(-3 / 6)
    # Sorted by exit time, whatever the input order.
    assert stats.max_consecutive_losses(list(reversed(trades))) == 3
    assert stats.max_consecutive_losses([]) == 0


def test_exposure_counts_overlapping_positions_once() -> None:
    trades = [
        trade(1, entry_ts=0, exit_ts=100),
        trade(1, entry_ts=50, exit_ts=150, symbol="ETH-USD"),  # overlaps the first
        trade(1, entry_ts=300, exit_ts=400),
    ]
    assert stats.exposure(trades, 0, 1000) == pytest.approx(0.25)
    assert stats.exposure([], 0, 1000) == 0.0


def test_group_table_rows() -> None:
    trades = [trade(10), trade(-5), trade(2, symbol="ETH-USD")]
    rows = {row["key"]: row for row in stats.group_table(trades, lambda t: t.symbol)}
    btc = rows["BTC-USD"]
    assert (btc["trades"], btc["wins"], btc["losses"]) == (2, 1, 1)
    assert btc["win_rate"] == 0.5
    assert btc["pnl"] == pytest.approx(5.0)
    assert btc["avg_pnl"] == pytest.approx(2.5)
    assert btc["fees"] == pytest.approx(1.0)
    assert btc["profit_factor"] == pytest.approx(2.0)
    assert rows["ETH-USD"]["profit_factor"] is None  # no loss: infinite, shown as n/a


def test_monthly_returns_chain_month_ends() -> None:
    rows = stats.monthly_returns([("2026-01", 110.0, 105.0), ("2026-02", 99.0, 105.0)], 100.0)
    assert [r["month"] for r in rows] == ["2026-01", "2026-02"]
    assert rows[0]["return"] == pytest.approx(0.10)
    assert rows[1]["return"] == pytest.approx(-0.10)
    assert rows[0]["benchmark_return"] == pytest.approx(0.05)
    assert rows[1]["benchmark_return"] == pytest.approx(0.0)
