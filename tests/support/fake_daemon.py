"""An in-memory ``DaemonView`` and ``OperatorControl`` over real domain values.

A test double of a port (the web app's view of the daemon), not of our own logic: it holds
real ``EngineSnapshot``, ``Page`` and model objects, and tests change them while a real server
answers from them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace

from grodtd.core.models import (
    EquitySnapshot,
    Fill,
    HaltReason,
    KillSwitchReason,
    OperatorIntent,
    Order,
    OrderKind,
    OrderPurpose,
    OrderStatus,
    Position,
    Regime,
    Side,
    Trade,
)
from grodtd.core.ports import Page
from grodtd.core.snapshot import EngineSnapshot, PositionView
from grodtd.web.contracts import (
    BuildInfo,
    Candle,
    CheckResult,
    ControlOutcome,
    EquityHistory,
    HealthReport,
    MarketSource,
)

T0 = 1_780_000_000  # a fixed epoch second, 2026-05-28


def ok_report(*names: str) -> HealthReport:
    return HealthReport(tuple(CheckResult(n, True, f"{n} fine") for n in names))


def sample_order(i: int, side: Side = Side.BUY) -> Order:
    return Order(
        client_order_id=f"s1-BTC-USD-{T0 + i}",
        symbol="BTC-USD",
        side=side,
        kind=OrderKind.MARKET,
        purpose=OrderPurpose.ENTRY,
        qty=0.01 * (i + 1),
        created_ts=T0 + 60 * i,
        strategy="s1_trend",
        status=OrderStatus.FILLED,
        stop_price=49_000.0,
        target_price=51_500.0,
        reason="close above vwap and ema9",
    )


def sample_fill(i: int) -> Fill:
    return Fill(f"s1-BTC-USD-{T0 + i}", "BTC-USD", Side.BUY, 0.01, 50_000.0 + i, 0.25, T0 + 60 * i)


def sample_trade(i: int, pnl: float = 12.5) -> Trade:
    return Trade(
        symbol="ETH-USD",
        strategy="s1_trend",
        qty=0.5,
        entry_price=3_000.0,
        exit_price=3_000.0 + pnl / 0.5,
        entry_ts=T0 + 60 * i,
        exit_ts=T0 + 60 * i + 600,
        fees=1.5,
        pnl=pnl,
        exit_reason=OrderPurpose.TARGET,
        entry_order_id=f"entry-{i}",
        exit_order_id=f"exit-{i}",
    )


def sample_equity(i: int, equity: float) -> EquitySnapshot:
    return EquitySnapshot(T0 + 60 * i, equity, equity - 100.0, equity - 10_000.0, 0.0, 1.0, 0.0)


def sample_snapshot() -> EngineSnapshot:
    position = Position("BTC-USD", 0.02, 50_000.0, T0, "s1_trend", 49_000.0, 51_500.0, 0.5, "e-1")
    return EngineSnapshot(
        ts=T0 + 600,
        bars_processed=42,
        equity=10_050.0,
        cash=9_050.0,
        realized_pnl=40.0,
        unrealized_pnl=10.0,
        fees=3.0,
        peak_equity=10_100.0,
        drawdown=0.005,
        day_start_equity=10_000.0,
        positions=(PositionView(position, 50_500.0, 10.0),),
        regimes={"BTC-USD": Regime.TRENDING_UP, "ETH-USD": Regime.RANGING},
        last_prices={"BTC-USD": 50_500.0, "ETH-USD": 3_010.0},
        last_bar_ts={"BTC-USD": T0 + 600, "ETH-USD": T0 + 600},
        strategies_enabled={"s1_trend": True},
        paused=False,
        halts=((HaltReason.COOLDOWN, "3 losses in a row"),),
        kill_switches=((KillSwitchReason.ABNORMAL_SLIPPAGE, "slippage 4x normal"),),
        loss_streak=1,
    )


def sample_candles(symbol: str, count: int, start: float = 50_000.0) -> list[Candle]:
    """A gently rising series of 1-minute candles ending at the sample snapshot's last bar."""
    first = T0 + 600 - 60 * (count - 1)
    out = []
    for i in range(count):
        close = start + 5.0 * i
        seeded = i >= 20
        out.append(
            Candle(
                ts=first + 60 * i,
                open=close - 3.0,
                high=close + 8.0,
                low=close - 9.0,
                close=close,
                volume=1.0 + i % 5,
                vwap=start + 2.5 * i,
                ema_fast=close - 10.0 if seeded else None,
                ema_slow=close - 25.0 if seeded else None,
            )
        )
    return out


def _page[T](items: list[T], limit: int, offset: int) -> Page[T]:
    newest_first = list(reversed(items))
    return Page(tuple(newest_first[offset : offset + limit]), len(items), limit, offset)


@dataclass
class FakeDaemon:
    """Implements ``DaemonView`` and ``OperatorControl``; lists are kept oldest first."""

    build: BuildInfo = field(default_factory=lambda: BuildInfo("0.1.0", "abc1234", "test", "3.12"))
    market: MarketSource = field(default_factory=lambda: MarketSource("exchange", "binance"))
    state: EngineSnapshot = field(default_factory=sample_snapshot)
    live: HealthReport = field(default_factory=lambda: ok_report("process", "engine_heartbeat"))
    ready: HealthReport = field(
        default_factory=lambda: ok_report(
            "config", "store", "market_data", "engine", "not_draining"
        )
    )
    order_log: list[Order] = field(default_factory=list)
    fill_log: list[Fill] = field(default_factory=list)
    trade_log: list[Trade] = field(default_factory=list)
    equity_log: list[EquitySnapshot] = field(default_factory=list)
    candle_log: dict[str, list[Candle]] = field(default_factory=dict)
    initial_cash: float = 10_000.0
    calls: list[str] = field(default_factory=list)
    operator: OperatorIntent = field(default_factory=OperatorIntent)
    lock: threading.Lock = field(default_factory=threading.Lock)

    # DaemonView
    def build_info(self) -> BuildInfo:
        return self.build

    def market_source(self) -> MarketSource:
        return self.market

    def snapshot(self) -> EngineSnapshot:
        return self.state

    def intent(self) -> OperatorIntent:
        return self.operator

    def liveness(self) -> HealthReport:
        return self.live

    def readiness(self) -> HealthReport:
        return self.ready

    def orders(
        self,
        limit: int,
        offset: int,
        *,
        statuses: frozenset[OrderStatus] | None = None,
        symbol: str | None = None,
    ) -> Page[Order]:
        with self.lock:
            chosen = [
                o
                for o in self.order_log
                if (not statuses or o.status in statuses) and (not symbol or o.symbol == symbol)
            ]
            return _page(chosen, limit, offset)

    def fills(self, limit: int, offset: int) -> Page[Fill]:
        with self.lock:
            return _page(self.fill_log, limit, offset)

    def trades(self, limit: int, offset: int, *, symbol: str | None = None) -> Page[Trade]:
        with self.lock:
            chosen = [t for t in self.trade_log if not symbol or t.symbol == symbol]
            return _page(chosen, limit, offset)

    def equity_curve(self, limit: int, since_ts: int | None = None) -> list[EquitySnapshot]:
        with self.lock:
            points = [e for e in self.equity_log if since_ts is None or e.ts >= since_ts]
            return points[-limit:]

    def equity_history(self, points: int, since_ts: int | None = None) -> EquityHistory:
        with self.lock:
            chosen = [e for e in self.equity_log if since_ts is None or e.ts >= since_ts]
        step = max(1, -(-len(chosen) // points))  # every step-th point, always the last one
        return EquityHistory(self.initial_cash, chosen[::-1][::step][::-1])

    def candle_symbols(self) -> tuple[str, ...]:
        with self.lock:
            return tuple(sorted(self.candle_log))

    def candles(self, symbol: str, limit: int, since_ts: int | None = None) -> list[Candle]:
        with self.lock:
            chosen = [
                c for c in self.candle_log.get(symbol, []) if since_ts is None or c.ts >= since_ts
            ]
            return chosen[-limit:]

    # OperatorControl
    def pause(self, by: str, reason: str) -> ControlOutcome:
        self.calls.append("pause")
        self.operator = OperatorIntent(True, T0 + 900, by, reason)
        self.state = replace(
            self.state, paused=True, halts=(*self.state.halts, (HaltReason.PAUSED, "operator"))
        )
        return ControlOutcome(self.operator, durable=True)

    def resume(self, by: str, reason: str) -> ControlOutcome:
        self.calls.append("resume")
        self.operator = OperatorIntent(False, T0 + 960, by, reason)
        self.state = replace(self.state, paused=False, halts=(), kill_switches=())
        return ControlOutcome(self.operator, durable=True)

    def flatten(self, by: str, reason: str) -> ControlOutcome:
        outcome = self.pause(by, f"flatten: {reason}" if reason else "flatten")
        self.calls[-1] = "flatten"
        return replace(outcome, detail="0 position(s) closing at market")


def populated_daemon() -> FakeDaemon:
    daemon = FakeDaemon()
    daemon.order_log = [sample_order(i, Side.BUY if i % 2 else Side.SELL) for i in range(7)]
    daemon.fill_log = [sample_fill(i) for i in range(5)]
    daemon.trade_log = [sample_trade(i, pnl=(-1) ** i * 5.0 * (i + 1)) for i in range(3)]
    daemon.equity_log = [sample_equity(i, 10_000.0 + 7.0 * i) for i in range(30)]
    daemon.candle_log = {
        "BTC-USD": sample_candles("BTC-USD", 50),
        "ETH-USD": sample_candles("ETH-USD", 10, 3_000.0),
    }
    return daemon
