"""The engine with its risk rules in play: loss caps, cooldown, slippage, shorts, retries."""

from __future__ import annotations

import threading
import time

import pytest
from core_doubles import NextOpenBroker, RecordingStore
from engine_rig import ENTRY_BAR, SYM, Rig, after, drive, held, open_position, params, rising

from grodtd.core.engine import Engine
from grodtd.core.events import (
    EntriesHalted,
    EntriesResumed,
    Event,
    KillSwitchTripped,
    OrderRejected,
)
from grodtd.core.models import (
    SECONDS_PER_DAY,
    Bar,
    Fill,
    HaltReason,
    KillSwitchReason,
    OrderPurpose,
    Regime,
    Side,
)
from grodtd.core.params import EngineParams, RiskParams, StrategyParams


def test_daily_loss_cap_halts_entries_until_midnight_utc() -> None:
    # A wide stop keeps the position open through the drop, so the loss is mark-to-market.
    wide = StrategyParams(allowed_regimes=frozenset(Regime), stop_atr_multiple=30.0)
    rig = Rig(EngineParams(strategies=(wide,), risk=RiskParams(daily_loss_cap=0.001)))
    bars = open_position(rig)
    pos = held(rig)
    low = pos.avg_price * 0.98  # -2 % on a 10 % position: -0.2 % of equity, cap 0.1 %
    assert low > pos.stop_price
    drop = after(bars[-1], pos.avg_price, pos.avg_price, low, low)
    rig.feed(drop)
    halted = rig.of(EntriesHalted)
    assert halted[0].reason is HaltReason.DAILY_LOSS_CAP
    assert "00:00 UTC" in halted[0].detail
    # The market trends again for the rest of the day: still no new entry.
    midnight = (drop.ts // SECONDS_PER_DAY + 1) * SECONDS_PER_DAY
    same_day = rising((midnight - drop.ts) // 60 - 1, start=low, t0=drop.ts + 60)
    rig.run(same_day)
    assert rig.engine.snapshot().halts[0][0] is HaltReason.DAILY_LOSS_CAP
    assert [o.purpose for o in rig.broker.submits].count(OrderPurpose.ENTRY) == 1
    # The first bar of the next UTC day lifts the cap and resets start-of-day equity.
    rig.run(rising(1, start=same_day[-1].close, t0=midnight))
    snap = rig.engine.snapshot()
    assert not snap.trading_halted
    assert [type(e) for e in rig.events].count(EntriesResumed) == 1
    assert rig.of(EntriesResumed)[0].reason is HaltReason.DAILY_LOSS_CAP
    last_of_yesterday = rig.store.units[-2].equity
    assert last_of_yesterday is not None
    assert snap.day_start_equity == pytest.approx(last_of_yesterday.equity)


def test_a_losing_streak_starts_a_cooldown_in_bar_time() -> None:
    rig = Rig(params(loss_streak_limit=1, cooldown_seconds=3600))
    bars = open_position(rig)
    pos = held(rig)
    stop_bar = after(bars[-1], pos.avg_price, pos.avg_price, pos.stop_price - 1, pos.stop_price)
    rig.feed(stop_bar)
    assert rig.trades[0].pnl < 0
    assert rig.of(EntriesHalted)[-1].reason is HaltReason.COOLDOWN
    assert rig.engine.snapshot().cooldown_until == stop_bar.ts + 3600
    cooling = rising(59, start=pos.stop_price, t0=stop_bar.ts + 60)
    rig.run(cooling)
    assert not rig.broker.working
    rig.run(rising(1, start=cooling[-1].close, t0=stop_bar.ts + 3600))
    assert rig.of(EntriesResumed)[-1].reason is HaltReason.COOLDOWN
    assert rig.broker.submits[-1].purpose is OrderPurpose.ENTRY


def test_abnormal_slippage_on_a_fill_trips_the_kill_switch() -> None:
    rig = Rig()
    rig.broker.slip_rate = 0.008  # 80 bps against a 50 bps limit
    bars = open_position(rig)
    (trip,) = rig.of(KillSwitchTripped)
    assert trip.reason is KillSwitchReason.ABNORMAL_SLIPPAGE and "80.0 bps" in trip.detail
    # The position is protected anyway, and re-anchored on the slipped fill.
    entry = rig.broker.submits[0]
    assert entry.stop_price is not None
    assert held(rig).stop_price == pytest.approx(
        held(rig).avg_price - (bars[ENTRY_BAR].close - entry.stop_price)
    )
    assert {o.purpose for o in rig.broker.working.values()} == {
        OrderPurpose.STOP,
        OrderPurpose.TARGET,
    }


def test_a_short_round_trip_when_shorts_are_allowed() -> None:
    shorts = StrategyParams(allowed_regimes=frozenset(Regime), allow_short=True)
    rig = Rig(EngineParams(strategies=(shorts,)))
    falling = []
    price = 100.0
    for i in range(ENTRY_BAR + 2):
        o, c = price, price * 0.999
        falling.append(Bar(SYM, 1_700_006_400 + 60 * i, o, o * 1.0005, c * 0.9995, c, 2.0))
        price = c
    rig.run(falling)
    pos = held(rig)
    assert pos.qty < 0 and pos.stop_price > pos.avg_price > pos.target_price
    stop = next(o for o in rig.broker.working.values() if o.purpose is OrderPurpose.STOP)
    assert stop.side is Side.BUY
    cash_after_entry = rig.engine.snapshot().cash
    assert cash_after_entry > 100_000.0  # short proceeds
    rig.feed(
        after(falling[-1], pos.avg_price, pos.avg_price, pos.target_price - 0.01, pos.target_price)
    )
    trade = rig.trades[0]
    assert trade.exit_reason is OrderPurpose.TARGET and trade.pnl > 0
    assert rig.engine.snapshot().cash == pytest.approx(100_000.0 + trade.pnl)


def test_a_refused_protective_order_is_retried_until_the_broker_takes_it() -> None:
    rig = Rig()
    bars = rising(ENTRY_BAR + 1)
    rig.run(bars)
    rig.broker.fail_next_submits = 2  # the stop and the target after the entry fill
    fill_bar = after(
        bars[-1], bars[-1].close, bars[-1].close * 1.0005, bars[-1].close, bars[-1].close * 1.0003
    )
    rig.feed(fill_bar)
    assert len(rig.of(OrderRejected)) == 2 and not rig.broker.working
    assert "retrying" in rig.of(OrderRejected)[0].reason
    rig.feed(after(fill_bar, fill_bar.close, fill_bar.close, fill_bar.close, fill_bar.close))
    assert {o.purpose for o in rig.broker.working.values()} == {
        OrderPurpose.STOP,
        OrderPurpose.TARGET,
    }


def test_a_pending_entry_survives_a_restart_and_fills_once() -> None:
    store = RecordingStore()
    bars = rising(ENTRY_BAR + 1)
    first_broker = NextOpenBroker()
    engine = Engine(params(), first_broker, store)
    for b in bars:
        drive(engine, first_broker, b)
    # Crash after the commit of the entry intent, before it filled.
    broker = NextOpenBroker()
    restarted = Engine(params(), broker, store, recovered=store.load())
    assert [o.purpose for o in broker.submits] == [OrderPurpose.ENTRY]
    drive(restarted, broker, bars[-1])  # a replayed bar: ignored
    drive(restarted, broker, after(bars[-1], 103.0, 103.1, 102.9, 103.0))
    snap = restarted.snapshot()
    assert len(snap.positions) == 1 and snap.positions[0].position.avg_price == 103.0
    assert len([o for o in broker.submits if o.purpose is OrderPurpose.ENTRY]) == 1


def test_risk_params_reach_the_engine() -> None:
    rig = Rig(
        EngineParams(
            strategies=(StrategyParams(allowed_regimes=frozenset(Regime)),),
            risk=RiskParams(max_position_notional=0.02),
        )
    )
    bars = rising(ENTRY_BAR + 1)
    rig.run(bars)
    assert rig.broker.submits[0].qty * bars[-1].close == pytest.approx(2_000.0)


class GatedBroker(NextOpenBroker):
    """Holds ``take_fills`` until released: a bar stuck in the engine thread."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()
        self.gate = False

    def take_fills(self) -> list[Fill]:
        if self.gate:
            self.entered.set()
            assert self.release.wait(timeout=10)
        return super().take_fills()


def test_shutdown_from_another_thread_never_waits_for_a_stuck_bar() -> None:
    broker = GatedBroker()
    events: list[Event] = []
    engine = Engine(params(), broker, observers=[events.append])
    bars = rising(ENTRY_BAR + 1)
    for b in bars[:-1]:
        drive(engine, broker, b)
    broker.gate = True
    worker = threading.Thread(target=drive, args=(engine, broker, bars[-1]))
    worker.start()
    assert broker.entered.wait(timeout=10)
    started = time.monotonic()
    engine.begin_shutdown()  # the engine thread is inside process(): must not block
    assert time.monotonic() - started < 1.0
    broker.release.set()
    worker.join(timeout=10)
    assert not worker.is_alive()
    # The bar in progress decided before or after; from the next bar on, nothing new.
    entries_before = len(broker.submits)
    broker.gate = False
    drive(engine, broker, after(bars[-1], 103.0, 103.2, 102.9, 103.2))
    drive(engine, broker, after(bars[-1], 103.2, 103.4, 103.1, 103.4, k=2))
    assert all(o.purpose is not OrderPurpose.ENTRY for o in broker.submits[entries_before:])
    assert engine.snapshot().halts[-1][0] is HaltReason.SHUTTING_DOWN
    assert any(
        isinstance(e, EntriesHalted) and e.reason is HaltReason.SHUTTING_DOWN for e in events
    )


def test_equity_is_available_without_a_snapshot() -> None:
    rig = Rig()
    bars = open_position(rig)
    pos = held(rig)
    mark = (pos.avg_price + pos.target_price) / 2  # inside the stop-target band
    rig.feed(after(bars[-1], pos.avg_price, mark, pos.avg_price, mark))
    snap = rig.engine.snapshot()
    assert rig.engine.equity() == snap.equity
    assert snap.equity == pytest.approx(snap.cash + pos.qty * mark)


def test_an_account_mismatch_halts_entries_until_reconciliation_clears_it() -> None:
    rig = Rig()
    rig.engine.report_account_mismatch("BTC-USDT: the exchange holds 0.5 BTC, positions 0")
    snap = rig.engine.snapshot()
    assert HaltReason.KILL_SWITCH in dict(snap.halts)
    assert dict(snap.kill_switches)[KillSwitchReason.ACCOUNT_MISMATCH].startswith("BTC-USDT")
    # An operator's resume cannot clear it: only the account agreeing again does.
    rig.engine.resume()
    rig.run(rising(60))
    assert not rig.broker.submits
    rig.engine.report_account_mismatch(None)
    assert HaltReason.KILL_SWITCH not in dict(rig.engine.snapshot().halts)
    rig.run(rising(60, start=160.0, t0=rig.engine.snapshot().ts + 60))
    assert rig.broker.submits


def test_flatten_pauses_and_closes_every_position_at_market() -> None:
    rig = Rig()
    bars = open_position(rig)
    assert held(rig)
    sent = rig.engine.flatten("flatten: test")
    assert sent == 1
    flat = [o for o in rig.broker.submits if o.purpose is OrderPurpose.FLATTEN]
    assert len(flat) == 1 and flat[0].side is Side.SELL and flat[0].qty == held(rig).qty
    assert flat[0].client_order_id.endswith("-flatten")
    # Its stop and target are cancelled; entries are paused until a resume.
    assert {o.purpose for o in rig.broker.working.values()} == {OrderPurpose.FLATTEN}
    assert rig.engine.snapshot().paused
    rig.feed(after(bars[-1], 100.0, 101.0, 99.0, 100.0))
    assert not rig.engine.snapshot().positions
    (trade,) = rig.trades
    assert trade.exit_reason is OrderPurpose.FLATTEN
    # A second flatten with nothing open sends nothing.
    assert rig.engine.flatten("flatten: again") == 0
