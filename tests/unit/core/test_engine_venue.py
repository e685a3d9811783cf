"""The engine and its venue: fills taken when the venue reports them, and nothing hoarded."""

from __future__ import annotations

from core_doubles import NextOpenBroker, random_walk
from engine_rig import ENTRY_BAR, SYM, Rig, after, drive, params, rising

from grodtd.core.engine import Engine
from grodtd.core.events import BarProcessed, OrderFilled, OrderSubmitted
from grodtd.core.models import OrderPurpose, OrderStatus, Trade


def test_fills_reported_between_bars_are_booked_durably_at_once() -> None:
    rig = Rig()
    bars = rising(ENTRY_BAR + 1)
    rig.run(bars)
    (entry,) = rig.broker.submits
    units, events = len(rig.store.units), len(rig.events)
    # A live venue reports the fill on its own clock, before the next bar exists.
    rig.broker.report_fill(entry.client_order_id, 110.0, bars[-1].ts + 30)
    rig.engine.settle_fills()

    snap = rig.engine.snapshot()
    assert snap.positions[0].position.avg_price == 110.0
    assert snap.bars_processed == len(bars) and snap.ts == bars[-1].ts
    (unit,) = rig.store.units[units:]
    stop, target = (f"s1_trend-{SYM}-{bars[-1].ts}-{p}" for p in ("stop", "target"))
    assert {o.client_order_id: o.status for o in unit.orders} == {
        entry.client_order_id: OrderStatus.FILLED,
        stop: OrderStatus.PENDING,
        target: OrderStatus.PENDING,
    }
    assert [f.client_order_id for f in unit.fills] == [entry.client_order_id]
    assert unit.checkpoint.last_ts == {SYM: bars[-1].ts}
    # The protective orders reach the venue only after the commit.
    journal = rig.journal.entries
    assert journal.index(("commit", stop)) < journal.index(("submit", stop))
    assert set(rig.broker.working) == {stop, target}
    told = [type(e) for e in rig.events[events:]]
    assert told == [OrderFilled, OrderSubmitted, OrderSubmitted]

    rig.feed(after(bars[-1], 110.0, 110.2, 109.9, 110.1))  # trading goes on as usual
    assert len(rig.of(OrderFilled)) == 1 and isinstance(rig.events[-1], BarProcessed)


def test_settling_without_fills_changes_nothing() -> None:
    rig = Rig()
    rig.run(rising(ENTRY_BAR + 1))
    units, events = len(rig.store.units), len(rig.events)
    rig.engine.settle_fills()
    assert (len(rig.store.units), len(rig.events)) == (units, events)


def test_the_engine_keeps_no_trade_history_only_the_recorder_does() -> None:
    bars = random_walk(3000, seed=3, drift=0.0004, vol=0.003)
    recorded: list[Trade] = []
    bare = NextOpenBroker()
    engine = Engine(params(), bare, thread_safe=False)  # a backtest without a recorder
    recording = NextOpenBroker()
    reference = Engine(params(), recording, thread_safe=False, record_trade=recorded.append)
    for bar in bars:
        drive(engine, bare, bar)
        drive(reference, recording, bar)
    assert len(recorded) > 10, "the path must trade for this to mean anything"
    assert {t.exit_reason for t in recorded} >= {OrderPurpose.STOP, OrderPurpose.TARGET}
    assert engine.snapshot().realized_pnl == reference.snapshot().realized_pnl
    # What a bar changed is dropped with the bar when there is no store to hand it to.
    desk = engine._desk
    assert (desk.unit_trades(), desk.unit_fills(), desk.unit_positions()) == ([], [], [])
    assert engine._outbox == []
