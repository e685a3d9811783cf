"""Risk: sizing and each cap, the daily reset, the cooldown and every kill switch."""

from __future__ import annotations

import pytest

from grodtd.core.models import HaltReason, KillSwitchReason, RiskState
from grodtd.core.params import RiskParams
from grodtd.core.risk import CASH_USAGE, RiskManager

DAY = 19_676


def test_size_risks_the_configured_fraction_of_equity() -> None:
    risk = RiskManager(RiskParams(risk_per_trade=0.01, max_position_notional=1.0))
    qty = risk.size(
        equity=100_000.0,
        cash=100_000.0,
        committed=0.0,
        price=100.0,
        stop_distance=4.0,
        direction=1,
    )
    assert qty == pytest.approx(250.0)  # 1,000 at risk / 4 per unit


def test_size_is_capped_by_notional_fraction_of_equity() -> None:
    risk = RiskManager(RiskParams(risk_per_trade=0.01, max_position_notional=0.10))
    qty = risk.size(100_000.0, 100_000.0, 0.0, 100.0, 0.5, 1)
    assert qty * 100.0 == pytest.approx(10_000.0)


def test_size_is_capped_by_uncommitted_cash_for_longs_only() -> None:
    risk = RiskManager(RiskParams(risk_per_trade=0.05, max_position_notional=1.0))
    assert risk.size(100_000.0, 1_000.0, 0.0, 100.0, 1.0, 1) * 100.0 == pytest.approx(
        1_000.0 * CASH_USAGE
    )
    # Cash already committed to pending entries is not available twice.
    assert risk.size(100_000.0, 1_000.0, 500.0, 100.0, 1.0, 1) * 100.0 == pytest.approx(
        1_000.0 * CASH_USAGE - 500.0
    )
    assert risk.size(100_000.0, 1_000.0, 980.0, 100.0, 1.0, 1) == 0.0
    assert risk.size(100_000.0, 1_000.0, 0.0, 100.0, 1.0, -1) * 100.0 > 1_000.0


def test_orders_below_minimum_notional_are_dropped() -> None:
    risk = RiskManager(RiskParams(min_order_notional=10.0))
    assert risk.size(99.0, 99.0, 0.0, 100.0, 1.0, 1) == 0.0  # 9.90 of notional
    assert risk.size(100_000.0, 100_000.0, 0.0, 100.0, 0.0, 1) == 0.0


def test_daily_loss_cap_halts_until_the_next_utc_day() -> None:
    risk = RiskManager(RiskParams(daily_loss_cap=0.03))
    risk.start_day(DAY, 10_000.0)
    assert not risk.check_daily_loss(9_701.0)
    assert risk.check_daily_loss(9_700.0)
    ts = DAY * 86_400 + 3600
    assert not risk.entries_allowed(ts)
    assert risk.halts(ts)[0][0] is HaltReason.DAILY_LOSS_CAP
    assert "00:00 UTC" in risk.halts(ts)[0][1]
    risk.start_day(DAY + 1, 9_650.0)
    assert risk.entries_allowed((DAY + 1) * 86_400)
    assert risk.state().day_start_equity == 9_650.0


def test_loss_streak_starts_a_cooldown_in_bar_time() -> None:
    risk = RiskManager(RiskParams(loss_streak_limit=3, cooldown_seconds=3600))
    risk.trade_closed(-1.0, 1_000)
    risk.trade_closed(-1.0, 2_000)
    risk.trade_closed(5.0, 3_000)  # a win breaks the row
    risk.trade_closed(-1.0, 4_000)
    risk.trade_closed(-1.0, 5_000)
    assert risk.entries_allowed(5_000)
    risk.trade_closed(-1.0, 6_000)
    assert not risk.entries_allowed(6_000)
    assert not risk.entries_allowed(9_599)
    assert risk.halts(9_599)[0][0] is HaltReason.COOLDOWN
    assert risk.entries_allowed(9_600)


def test_stale_data_kill_switch_trips_on_a_gap_and_clears_on_fresh_bars() -> None:
    risk = RiskManager(RiskParams(max_bar_gap_seconds=300))
    risk.bar_gap("ETH-USD", 60)
    assert risk.entries_allowed(0)
    risk.bar_gap("ETH-USD", 301)
    assert dict(risk.state().kill_switches)[KillSwitchReason.STALE_MARKET_DATA].startswith(
        "ETH-USD: 301 s"
    )
    assert risk.take_trips()[0][0] is KillSwitchReason.STALE_MARKET_DATA
    risk.bar_gap("BTC-USD", 60)  # another symbol's fresh bar does not clear ETH
    assert not risk.entries_allowed(0)
    risk.bar_gap("ETH-USD", 60)
    assert risk.entries_allowed(0)
    assert not risk.state().kill_switches


def test_a_restored_stale_switch_waits_for_the_symbol_that_tripped_it() -> None:
    risk = RiskManager(RiskParams(max_bar_gap_seconds=300))
    risk.bar_gap("ETH-USD", 900)
    again = RiskManager(RiskParams(max_bar_gap_seconds=300), risk.state())  # a restart
    again.bar_gap("BTC-USD", 60)
    assert not again.entries_allowed(0), "a fresh BTC bar must not clear ETH's stale data"
    again.bar_gap("ETH-USD", 60)
    assert again.entries_allowed(0)


def test_a_stale_switch_from_a_checkpoint_without_causes_clears_on_any_fresh_bar() -> None:
    kill = ((KillSwitchReason.STALE_MARKET_DATA, "ETH-USD: 900 s between consecutive bars"),)
    risk = RiskManager(RiskParams(), RiskState(kill_switches=kill))
    risk.bar_gap("BTC-USD", 60)
    assert risk.entries_allowed(0)


def test_wall_clock_staleness_is_cleared_by_the_next_fresh_bar() -> None:
    risk = RiskManager(RiskParams())
    risk.report_stale_data("no bar for 120 s of wall time")
    assert risk.halts(0) == (
        (HaltReason.KILL_SWITCH, "stale_market_data: no bar for 120 s of wall time"),
    )
    risk.bar_gap("BTC-USD", 60)
    assert risk.entries_allowed(0)


def test_broker_errors_trip_after_consecutive_failures_and_latch_until_resume() -> None:
    risk = RiskManager(RiskParams(max_broker_errors=3))
    risk.broker_error("timeout")
    risk.broker_error("timeout")
    risk.broker_ok()  # a success resets the count
    risk.broker_error("timeout")
    risk.broker_error("timeout")
    assert risk.entries_allowed(0)
    risk.broker_error("HTTP 503")
    detail = dict(risk.state().kill_switches)[KillSwitchReason.BROKER_ERRORS]
    assert "3 consecutive broker errors" in detail and "HTTP 503" in detail
    risk.broker_ok()
    risk.bar_gap("BTC-USD", 60)
    assert not risk.entries_allowed(0)  # latched
    risk.resume()
    assert risk.entries_allowed(0)


def test_abnormal_slippage_trips_and_latches_until_resume() -> None:
    risk = RiskManager(RiskParams(max_slippage_bps=50.0))
    risk.fill_slippage("BTC-USD", price=100.49, slippage=0.49, direction=1)  # 49 bps
    assert risk.entries_allowed(0)
    risk.fill_slippage("BTC-USD", price=99.4, slippage=0.6, direction=-1)  # 60 bps on a sell
    assert "60.0 bps" in dict(risk.state().kill_switches)[KillSwitchReason.ABNORMAL_SLIPPAGE]
    risk.bar_gap("BTC-USD", 60)
    assert not risk.entries_allowed(0)
    risk.resume()
    assert risk.entries_allowed(0)


def test_resume_does_not_lift_loss_rules_and_pause_blocks() -> None:
    risk = RiskManager(RiskParams(loss_streak_limit=1, cooldown_seconds=100))
    risk.pause()
    assert risk.halts(0)[0][0] is HaltReason.PAUSED
    risk.trade_closed(-1.0, 0)
    risk.resume()
    assert not risk.entries_allowed(50)
    assert risk.entries_allowed(100)


def test_state_round_trips() -> None:
    risk = RiskManager(RiskParams(max_broker_errors=1, loss_streak_limit=5))
    risk.start_day(DAY, 1_000.0)
    risk.trade_closed(-1.0, 10)
    risk.broker_error("x")
    state = risk.state()
    again = RiskManager(RiskParams(), state)
    assert again.state() == state
    assert isinstance(state, RiskState) and not again.entries_allowed(0)


def test_review_applies_the_bar_rules_and_answers_for_entries() -> None:
    risk = RiskManager(RiskParams(max_bar_gap_seconds=300, daily_loss_cap=0.03))
    risk.start_day(DAY, 10_000.0)
    ts = DAY * 86_400
    assert risk.review("BTC-USD", ts, -1, 10_000.0)  # a symbol's first bar has no gap
    assert not risk.review("BTC-USD", ts + 900, ts, 10_000.0)  # stale
    assert risk.halted(ts + 900) == frozenset({HaltReason.KILL_SWITCH})
    assert risk.review("BTC-USD", ts + 960, ts + 900, 9_701.0)  # fresh again
    assert not risk.review("BTC-USD", ts + 1020, ts + 960, 9_700.0)  # the daily cap
    assert risk.halted(ts + 1020) == frozenset({HaltReason.DAILY_LOSS_CAP})


def test_halted_names_every_reason_once_and_the_cooldown_by_bar_time() -> None:
    risk = RiskManager(RiskParams(loss_streak_limit=1, cooldown_seconds=100, max_broker_errors=1))
    assert risk.halted(0) == frozenset()
    risk.pause()
    risk.trade_closed(-1.0, 0)
    risk.broker_error("timeout")
    risk.fill_slippage("BTC-USD", price=110.0, slippage=10.0, direction=1)
    assert risk.halted(50) == {HaltReason.PAUSED, HaltReason.COOLDOWN, HaltReason.KILL_SWITCH}
    assert risk.halted(100) == {HaltReason.PAUSED, HaltReason.KILL_SWITCH}
    assert [r for r, _ in risk.halts(50)] == [
        HaltReason.PAUSED,
        HaltReason.COOLDOWN,
        HaltReason.KILL_SWITCH,
        HaltReason.KILL_SWITCH,
    ]


def test_trips_are_taken_once_and_an_untaken_one_is_kept_once_per_reason() -> None:
    risk = RiskManager(RiskParams(max_bar_gap_seconds=300))
    risk.bar_gap("ETH-USD", 900)
    assert [r for r, _ in risk.take_trips()] == [KillSwitchReason.STALE_MARKET_DATA]
    assert risk.take_trips() == []
    for _ in range(3):  # nobody takes them (a backtest): trip, clear, trip, ...
        risk.bar_gap("ETH-USD", 900)
        risk.bar_gap("ETH-USD", 60)
    (trip,) = risk.take_trips()
    assert trip[0] is KillSwitchReason.STALE_MARKET_DATA and "900 s" in trip[1]


def test_a_day_that_is_not_later_changes_nothing() -> None:
    risk = RiskManager(RiskParams(daily_loss_cap=0.03))
    risk.start_day(DAY, 10_000.0)
    risk.start_day(DAY, 5_000.0)
    risk.start_day(DAY - 1, 5_000.0)
    assert risk.state().day == DAY and risk.state().day_start_equity == 10_000.0
