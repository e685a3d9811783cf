"""The engine end to end: a bar path through strategy, risk, a broker double and a store."""

from __future__ import annotations

import pytest
from core_doubles import NextOpenBroker, RecordingStore
from engine_rig import ENTRY_BAR, SYM, Rig, after, drive, held, open_position, params, rising

from grodtd.core.engine import Engine
from grodtd.core.events import (
    BarProcessed,
    EntriesHalted,
    EntriesResumed,
    KillSwitchTripped,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
    RegimeChanged,
    TradeClosed,
)
from grodtd.core.models import (
    HaltReason,
    KillSwitchReason,
    OrderKind,
    OrderPurpose,
    OrderStatus,
    Regime,
    Side,
    Trade,
)
from grodtd.core.params import EngineParams, StrategyParams
from grodtd.core.ports import UnitOfWork


def test_entry_is_a_market_buy_that_fills_next_open_and_arms_stop_and_target() -> None:
    rig = Rig()
    bars = rising(ENTRY_BAR + 1)
    rig.run(bars)
    (entry,) = rig.broker.submits
    assert entry.client_order_id == f"s1_trend-{SYM}-{bars[ENTRY_BAR].ts}-entry"
    assert (entry.side, entry.kind, entry.purpose) == (
        Side.BUY,
        OrderKind.MARKET,
        OrderPurpose.ENTRY,
    )
    assert entry.stop_price is not None and entry.target_price is not None
    close = bars[ENTRY_BAR].close
    assert entry.qty * close == pytest.approx(10_000.0, rel=1e-9)  # the 10 % notional cap binds

    nxt = after(bars[-1], 110.0, 110.2, 109.9, 110.1)
    rig.feed(nxt)
    position = rig.engine.snapshot().positions[0].position
    assert position.avg_price == 110.0 and position.qty == entry.qty
    # Protective levels are re-anchored on the fill price: same 1 R distance.
    r = close - entry.stop_price
    assert position.stop_price == pytest.approx(110.0 - r)
    assert position.target_price == pytest.approx(110.0 + 1.5 * r)
    kinds = {o.purpose: o for o in rig.broker.working.values()}
    assert kinds[OrderPurpose.STOP].price == pytest.approx(position.stop_price)
    assert kinds[OrderPurpose.STOP].client_order_id == f"s1_trend-{SYM}-{nxt.ts}-stop"
    assert kinds[OrderPurpose.TARGET].kind is OrderKind.LIMIT
    assert kinds[OrderPurpose.TARGET].price == pytest.approx(position.target_price)


def test_stop_exit_closes_the_trade_net_of_fees_and_cancels_the_target() -> None:
    rig = Rig()
    bars = open_position(rig)
    pos = held(rig)
    # Both stop and target inside the bar's range: the stop wins.
    rig.feed(
        after(bars[-1], pos.avg_price, pos.target_price + 1, pos.stop_price - 1, pos.stop_price)
    )
    (trade,) = rig.trades
    assert trade.exit_reason is OrderPurpose.STOP and trade.exit_price == pos.stop_price
    fees = pos.entry_fees + trade.qty * trade.exit_price * 0.001
    assert trade.pnl == pytest.approx((pos.stop_price - pos.avg_price) * pos.qty - fees)
    assert not rig.broker.working  # the target was cancelled at the broker, no re-entry
    snap = rig.engine.snapshot()
    assert snap.realized_pnl == pytest.approx(trade.pnl) and snap.loss_streak == 1
    assert snap.cash == pytest.approx(100_000.0 + trade.pnl)
    assert rig.store.units[-1].positions[-1].qty == 0.0


def test_target_exit_is_a_win() -> None:
    rig = Rig()
    bars = open_position(rig)
    pos = held(rig)
    rig.feed(
        after(bars[-1], pos.avg_price, pos.target_price + 0.01, pos.avg_price, pos.target_price)
    )
    (trade,) = rig.trades
    assert trade.exit_reason is OrderPurpose.TARGET and trade.pnl > 0
    kinds = [type(e) for e in rig.events]
    assert kinds.index(TradeClosed) == kinds.index(OrderFilled, kinds.index(TradeClosed) - 1) + 1
    assert kinds[-1] is BarProcessed


def test_trend_break_sells_at_market_and_cancels_protection() -> None:
    # A wide stop, so a close below EMA9 and VWAP does not touch it first.
    wide = StrategyParams(allowed_regimes=frozenset(Regime), stop_atr_multiple=30.0)
    rig = Rig(EngineParams(strategies=(wide,)))
    bars = open_position(rig)
    pos = held(rig)
    drop = pos.avg_price * 0.985  # above the stop, below EMA9 and VWAP
    assert drop > pos.stop_price
    brk = after(bars[-1], pos.avg_price, pos.avg_price, drop, drop)
    rig.feed(brk)
    sell = rig.broker.submits[-1]
    assert sell.client_order_id == f"s1_trend-{SYM}-{brk.ts}-trend_break"
    assert (sell.side, sell.kind, sell.qty) == (Side.SELL, OrderKind.MARKET, pos.qty)
    armed_at = bars[-1].ts  # the entry filled on the last bar of open_position
    assert sorted(rig.broker.cancels) == [
        f"s1_trend-{SYM}-{armed_at}-stop",
        f"s1_trend-{SYM}-{armed_at}-target",
    ]
    assert set(rig.broker.working) == {sell.client_order_id}
    rig.feed(after(brk, drop, drop, drop, drop))
    assert rig.trades[-1].exit_reason is OrderPurpose.TREND_BREAK
    assert not rig.engine.snapshot().positions


def test_every_order_is_committed_before_the_broker_sees_it() -> None:
    rig = Rig()
    bars = open_position(rig)
    pos = held(rig)
    rig.feed(after(bars[-1], pos.avg_price, pos.avg_price, pos.stop_price - 1, pos.stop_price))
    submitted = [oid for what, oid in rig.journal.entries if what == "submit"]
    assert len(submitted) == 3  # entry, stop, target
    for oid in submitted:
        first_commit = rig.journal.entries.index(("commit", oid))
        assert first_commit < rig.journal.entries.index(("submit", oid))
    # One unit per bar, each carrying the checkpoint of that bar.
    assert len(rig.store.units) == len(bars) + 1
    assert rig.store.units[-1].checkpoint.last_ts == {SYM: bars[-1].ts + 60}


def test_a_replayed_bar_is_ignored() -> None:
    rig = Rig()
    bars = rising(ENTRY_BAR + 1)
    rig.run(bars)
    units, submits = len(rig.store.units), len(rig.broker.submits)
    rig.run(bars[-3:])
    assert (len(rig.store.units), len(rig.broker.submits)) == (units, submits)
    assert rig.engine.snapshot().bars_processed == len(bars)


def test_recovery_restores_the_portfolio_and_resubmits_open_orders() -> None:
    rig = Rig()
    bars = open_position(rig)
    before = rig.engine.snapshot()
    fresh_broker = NextOpenBroker()
    trades: list[Trade] = []
    engine = Engine(
        params(), fresh_broker, rig.store, recovered=rig.store.load(), record_trade=trades.append
    )
    assert {o.purpose for o in fresh_broker.submits} == {OrderPurpose.STOP, OrderPurpose.TARGET}
    assert engine.resume_after == {SYM: bars[-1].ts}
    for b in bars:  # indicator state comes back from bars before the resume point
        engine.warm_up(b)
    snap = engine.snapshot()
    assert (snap.cash, snap.realized_pnl, snap.fees) == (
        before.cash,
        before.realized_pnl,
        before.fees,
    )
    assert snap.equity == pytest.approx(before.equity)
    assert snap.positions[0].position == before.positions[0].position
    pos = before.positions[0].position
    drive(
        engine,
        fresh_broker,
        after(bars[-1], pos.avg_price, pos.avg_price, pos.stop_price - 1, pos.stop_price),
    )
    assert trades[0].exit_reason is OrderPurpose.STOP


def test_a_lost_unit_of_work_is_redone_with_the_same_order_ids() -> None:
    bars = rising(ENTRY_BAR + 1)
    reference = Rig()
    reference.run(bars)

    class CrashingStore(RecordingStore):
        crashed = False

        def commit(self, unit: UnitOfWork) -> None:
            if unit.checkpoint.last_ts[SYM] == bars[ENTRY_BAR].ts and not self.crashed:
                self.crashed = True
                raise OSError("power cut")
            super().commit(unit)

    store = CrashingStore()
    first_broker = NextOpenBroker()
    engine = Engine(params(), first_broker, store)
    with pytest.raises(OSError):
        for b in bars:
            drive(engine, first_broker, b)
    broker = NextOpenBroker()
    restarted = Engine(params(), broker, store, recovered=store.load())
    for b in bars[:ENTRY_BAR]:
        restarted.warm_up(b)
    drive(restarted, broker, bars[ENTRY_BAR])
    assert [o.client_order_id for o in broker.submits] == [
        o.client_order_id for o in reference.broker.submits
    ]


def test_events_report_decisions_with_the_injected_clock() -> None:
    rig = Rig()
    bars = open_position(rig)
    processed = rig.of(BarProcessed)
    assert len(processed) == len(bars)
    assert all(e.decision_seconds == pytest.approx(0.001) for e in processed)
    assert processed[-1].bar == bars[-1]
    assert [e.order.purpose for e in rig.of(OrderSubmitted)] == [
        OrderPurpose.ENTRY,
        OrderPurpose.STOP,
        OrderPurpose.TARGET,
    ]
    assert rig.of(OrderFilled)[0].order.status is OrderStatus.FILLED
    rig.run(rising(60, start=bars[-1].close, t0=bars[-1].ts + 60))
    changed = rig.of(RegimeChanged)[0]
    assert (changed.previous, changed.current) == (Regime.TRANSITION, Regime.TRENDING_UP)


def test_no_events_are_built_without_observers() -> None:
    rig = Rig(observe=False)
    open_position(rig)
    assert rig.engine._outbox == []


def test_pause_takes_effect_on_the_next_bar_and_exits_still_work() -> None:
    rig = Rig()
    bars = open_position(rig)
    rig.engine.pause()
    assert not rig.engine.snapshot().paused  # applied between bars
    pos = held(rig)
    stop_bar = after(bars[-1], pos.avg_price, pos.avg_price, pos.stop_price - 1, pos.stop_price)
    rig.feed(stop_bar)
    assert rig.engine.snapshot().paused
    assert rig.trades  # the stop went through
    halted = rig.of(EntriesHalted)
    assert halted[0].reason is HaltReason.PAUSED
    more = rising(30, start=pos.stop_price * 1.01, t0=stop_bar.ts + 60)
    rig.run(more)
    assert not rig.engine.snapshot().positions and rig.broker.working == {}
    submitted = len(rig.broker.submits)
    rig.engine.resume()
    rig.run(rising(3, start=more[-1].close, t0=more[-1].ts + 60))
    assert rig.of(EntriesResumed)[0].reason is HaltReason.PAUSED
    assert rig.broker.submits[submitted].purpose is OrderPurpose.ENTRY


def test_repeated_broker_errors_reject_entries_and_trip_the_kill_switch() -> None:
    rig = Rig(params(max_broker_errors=2))
    rig.broker.fail_next_submits = 2
    bars = rising(ENTRY_BAR + 3)
    rig.run(bars)
    rejected = rig.of(OrderRejected)
    assert len(rejected) == 2 and rejected[0].order.status is OrderStatus.REJECTED
    (trip,) = rig.of(KillSwitchTripped)
    assert trip.reason is KillSwitchReason.BROKER_ERRORS and "venue unavailable" in trip.detail
    assert rig.of(EntriesHalted)[0].reason is HaltReason.KILL_SWITCH
    assert not rig.broker.submits  # no more entries while the switch is latched
    statuses = [o.status for u in rig.store.units for o in u.orders]
    assert statuses.count(OrderStatus.REJECTED) == 2  # recorded with the following units
    rig.engine.resume()
    rig.run(rising(2, start=bars[-1].close, t0=bars[-1].ts + 60))
    assert rig.broker.submits and not rig.engine.snapshot().kill_switches


def test_a_bar_gap_trips_stale_data_until_consecutive_bars_return() -> None:
    rig = Rig()
    bars = rising(ENTRY_BAR - 5)
    rig.run(bars)
    late = rising(2, start=bars[-1].close, t0=bars[-1].ts + 600)
    rig.feed(late[0])
    assert rig.engine.snapshot().kill_switches[0][0] is KillSwitchReason.STALE_MARKET_DATA
    assert "600 s" in rig.of(KillSwitchTripped)[0].detail
    rig.feed(late[1])
    assert not rig.engine.snapshot().trading_halted
    assert rig.of(EntriesResumed)[0].reason is HaltReason.KILL_SWITCH


def test_report_stale_data_halts_at_once() -> None:
    rig = Rig()
    rig.run(rising(3))
    rig.engine.report_stale_data("no bar for 90 s")
    assert rig.engine.snapshot().halts == (
        (HaltReason.KILL_SWITCH, "stale_market_data: no bar for 90 s"),
    )
    assert isinstance(rig.events[-1], EntriesHalted)


def test_shutdown_stops_new_entries() -> None:
    rig = Rig()
    rig.engine.begin_shutdown()
    rig.run(rising(ENTRY_BAR + 5))
    assert not rig.broker.submits
    assert rig.engine.snapshot().halts[0][0] is HaltReason.SHUTTING_DOWN


def test_max_open_positions_holds_across_symbols() -> None:
    rig = Rig(params(max_open_positions=2))
    streams = [rising(ENTRY_BAR + 3, symbol=s) for s in ("A-USD", "B-USD", "C-USD")]
    for row in zip(*streams, strict=True):
        for b in row:
            rig.feed(b)
    assert len(rig.engine.snapshot().positions) == 2
    assert len([o for o in rig.broker.submits if o.purpose is OrderPurpose.ENTRY]) == 2


def test_snapshot_is_cached_until_the_next_bar() -> None:
    rig = Rig()
    bars = rising(5)
    rig.run(bars)
    first = rig.engine.snapshot()
    assert rig.engine.snapshot() is first
    rig.feed(after(bars[-1], 100, 101, 99, 100))
    assert rig.engine.snapshot() is not first
    assert rig.engine.snapshot().regimes == {SYM: Regime.TRANSITION}
    assert rig.engine.snapshot().strategies_enabled == {"s1_trend": True}
