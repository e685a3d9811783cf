"""Accounting and risk invariants over random bar paths (Hypothesis).

Short indicator and regime windows and gating open to every regime make the engine trade a
lot on short paths, so the invariants are exercised through many entries, stops, targets,
trend breaks, daily resets and halts.
"""

from __future__ import annotations

import pytest
from core_doubles import T0, NextOpenBroker, RecordingStore
from engine_rig import drive
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grodtd.core.engine import Engine
from grodtd.core.models import Bar, OrderPurpose, Regime, Trade
from grodtd.core.params import (
    EngineParams,
    IndicatorParams,
    RegimeParams,
    RiskParams,
    StrategyParams,
)

SYMBOLS = ("AAA-USD", "BBB-USD", "CCC-USD")


@st.composite
def scenarios(draw: st.DrawFn, gaps: bool = True) -> tuple[EngineParams, list[Bar], float]:
    n_symbols = draw(st.integers(1, 3))
    n_bars = draw(st.integers(20, 220))
    risk = RiskParams(
        risk_per_trade=draw(st.floats(0.001, 0.05)),
        max_position_notional=draw(st.floats(0.05, 1.0)),
        max_open_positions=draw(st.integers(1, 3)),
        daily_loss_cap=draw(st.floats(0.002, 0.05)),
        loss_streak_limit=draw(st.integers(1, 4)),
        cooldown_seconds=draw(st.integers(60, 7200)),
        max_slippage_bps=draw(st.sampled_from([5.0, 50.0])),
        min_order_notional=10.0,
    )
    params = EngineParams(
        initial_cash=draw(st.sampled_from([1_000.0, 100_000.0])),
        indicators=IndicatorParams(ema_fast=3, ema_slow=5, atr_period=4),
        regime=RegimeParams(
            slope_window=5,
            return_window=3,
            atr_percentile_window=10,
            warmup_bars=6,
            confirm_bars=1,
        ),
        strategies=(
            StrategyParams(
                allowed_regimes=frozenset(Regime),
                stop_atr_multiple=draw(st.floats(0.5, 3.0)),
                target_r_multiple=draw(st.floats(0.5, 3.0)),
                allow_short=draw(st.booleans()),
            ),
        ),
        risk=risk,
    )
    moves = st.lists(st.floats(-0.02, 0.02), min_size=n_bars, max_size=n_bars)
    # Occasional 15-minute holes trip the stale-data kill switch.
    steps = st.sampled_from([60] * 30 + [900]) if gaps else st.just(60)
    gap_lists = st.lists(steps, min_size=n_bars, max_size=n_bars)
    bars: list[Bar] = []
    t0 = T0 - 3600  # crosses 00:00 UTC: daily reset and VWAP anchor
    for k in range(n_symbols):
        price = 100.0 * (k + 1)
        ts = t0
        for move, gap in zip(draw(moves), draw(gap_lists), strict=True):
            o = price
            c = max(o * (1.0 + move), 0.01)
            spread = abs(move) / 2 + 0.001
            bars.append(
                Bar(
                    SYMBOLS[k],
                    ts,
                    o,
                    max(o, c) * (1 + spread),
                    min(o, c) * (1 - spread),
                    c,
                    1.0 + abs(move) * 100,
                )
            )
            price = c
            ts += gap
    bars.sort(key=lambda b: (b.ts, b.symbol))
    return params, bars, draw(st.sampled_from([0.0, 2.0, 80.0]))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_accounting_and_risk_limits_hold_on_every_bar(
    scenario: tuple[EngineParams, list[Bar], float],
) -> None:
    params, bars, slippage_bps = scenario
    risk = params.risk
    broker = NextOpenBroker(fee_bps=10.0, slippage_bps=slippage_bps)
    closed: list[Trade] = []
    engine = Engine(params, broker, RecordingStore(), record_trade=closed.append)
    for bar in bars:
        submitted = len(broker.submits)
        drive(engine, broker, bar)
        snap = engine.snapshot()

        marked = snap.cash + sum(
            v.position.qty * snap.last_prices[v.position.symbol] for v in snap.positions
        )
        assert snap.equity == pytest.approx(marked, rel=1e-9, abs=1e-6)
        assert snap.equity == pytest.approx(
            params.initial_cash + snap.realized_pnl + snap.unrealized_pnl, rel=1e-9, abs=1e-6
        )
        assert snap.realized_pnl == pytest.approx(sum(t.pnl for t in closed), rel=1e-9, abs=1e-6)
        assert snap.cash >= -1e-6  # never more cash spent than held

        pending = [o for o in broker.working.values() if o.purpose is OrderPurpose.ENTRY]
        assert len(snap.positions) + len(pending) <= risk.max_open_positions
        for order in broker.submits[submitted:]:
            if order.purpose is not OrderPurpose.ENTRY:
                continue
            assert not snap.trading_halted, snap.halts
            notional = order.qty * bar.close
            assert notional <= risk.max_position_notional * snap.equity * (1 + 1e-9)
            assert notional >= risk.min_order_notional
        long_pending = sum(
            o.qty * engine.snapshot().last_prices[o.symbol]
            for o in pending
            if o.side.value == "buy"
        )
        assert long_pending <= snap.cash * (1 + 1e-9) + 1e-6


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(gaps=False), st.floats(0.05, 0.95))
def test_a_restart_after_any_bar_trades_exactly_like_an_uninterrupted_run(
    scenario: tuple[EngineParams, list[Bar], float], cut_at: float
) -> None:
    params, bars, slippage_bps = scenario
    reference_broker = NextOpenBroker(slippage_bps=slippage_bps)
    reference_trades: list[Trade] = []
    reference = Engine(
        params, reference_broker, RecordingStore(), record_trade=reference_trades.append
    )
    for bar in bars:
        drive(reference, reference_broker, bar)

    cut = int(len(bars) * cut_at)
    store = RecordingStore()
    first_broker = NextOpenBroker(slippage_bps=slippage_bps)
    trades: list[Trade] = []
    first_life = Engine(params, first_broker, store, record_trade=trades.append)
    for bar in bars[:cut]:
        drive(first_life, first_broker, bar)
    # The process dies; a new one starts from what the store holds, with a fresh broker.
    recovered = store.load()
    broker = NextOpenBroker(slippage_bps=slippage_bps)
    restarted = Engine(params, broker, store, recovered=recovered, record_trade=trades.append)
    resume_after = restarted.resume_after
    for bar in bars:
        if bar.ts <= resume_after.get(bar.symbol, -1):
            restarted.warm_up(bar)
        else:
            drive(restarted, broker, bar)

    assert [t.exit_order_id for t in trades] == [t.exit_order_id for t in reference_trades]
    assert [t.pnl for t in trades] == pytest.approx([t.pnl for t in reference_trades], rel=1e-9)
    assert restarted.snapshot().equity == pytest.approx(reference.snapshot().equity, rel=1e-9)
    # Every order reached a broker once, except the open ones the restart re-submitted.
    reopened = [o.client_order_id for o in recovered.open_orders]
    submitted = [o.client_order_id for o in first_broker.submits + broker.submits]
    expected = [o.client_order_id for o in reference_broker.submits]
    assert sorted(submitted) == sorted(expected + reopened)
