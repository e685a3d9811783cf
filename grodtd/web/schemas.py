"""The JSON shapes of the HTTP API, and their conversion from domain values.

Pydantic models rather than raw dicts so that ``/openapi.json`` states every field and type
exactly: schemathesis, the dashboard and operators' scripts all rely on that document. Times
are ISO 8601 UTC strings on the wire; the domain keeps epoch seconds for speed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

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
    Regime,
    Side,
    Trade,
    TradeOutcome,
)
from grodtd.core.snapshot import EngineSnapshot, PositionView
from grodtd.web.contracts import BuildInfo, HealthReport, MarketSource


def to_datetime(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


class Out(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CheckOut(Out):
    name: str
    ok: bool
    reason: str


class HealthOut(Out):
    status: Literal["ok", "fail"]
    checks: list[CheckOut]


class ChecksOut(Out):
    """Both reports in one 200 answer, for the dashboard (a 503 would log a browser error)."""

    liveness: HealthOut
    readiness: HealthOut


class ErrorOut(Out):
    detail: str


class BuildOut(Out):
    version: str
    revision: str
    environment: str
    python: str


class MarketSourceOut(Out):
    source: Literal["sim", "replay", "exchange"] = Field(
        description="Where bars come from: the simulator, a CSV replay or an exchange."
    )
    venue: str | None = Field(description="The ccxt exchange id when the source is exchange.")
    trading: Literal["paper", "live"] = Field(
        description="paper: simulated fills; live: real orders on the venue."
    )


class HaltOut(Out):
    reason: HaltReason
    detail: str


class KillSwitchOut(Out):
    reason: KillSwitchReason
    detail: str


class PauseOut(Out):
    since: datetime = Field(description="Wall-clock time of the operator's pause.")
    by: str
    reason: str


class StatusOut(Out):
    last_bar_at: datetime | None = Field(description="Open time of the last processed bar.")
    bars_processed: int
    equity: float
    cash: float
    realized_pnl: float
    unrealized_pnl: float
    fees: float
    peak_equity: float
    drawdown: float = Field(description="Fraction of equity below its peak, 0..1.")
    day_start_equity: float
    daily_loss: float = Field(description="Loss since 00:00 UTC as a fraction, 0 when up.")
    open_positions: int
    regimes: dict[str, Regime]
    last_prices: dict[str, float]
    last_bar_times: dict[str, datetime]
    strategies_enabled: dict[str, bool]
    paused: bool = Field(
        description="The operator paused new entries; this survives restarts (see pause)."
    )
    pause: PauseOut | None = Field(description="Since when, by whom and why; null if not paused.")
    trading_halted: bool
    halts: list[HaltOut]
    kill_switches: list[KillSwitchOut]
    loss_streak: int
    cooldown_until: datetime | None
    build: BuildOut
    market: MarketSourceOut


class PositionOut(Out):
    symbol: str
    qty: float
    avg_price: float
    opened_at: datetime
    strategy: str
    stop_price: float
    target_price: float
    entry_fees: float
    entry_order_id: str
    last_price: float
    unrealized_pnl: float


class OrderOut(Out):
    client_order_id: str
    symbol: str
    side: Side
    kind: OrderKind
    purpose: OrderPurpose
    qty: float
    created_at: datetime
    strategy: str
    status: OrderStatus
    price: float | None
    stop_price: float | None
    target_price: float | None
    reason: str


class FillOut(Out):
    client_order_id: str
    symbol: str
    side: Side
    qty: float
    price: float
    fee: float
    at: datetime
    slippage: float


class TradeOut(Out):
    symbol: str
    strategy: str
    qty: float
    entry_price: float
    exit_price: float
    entry_at: datetime
    exit_at: datetime
    fees: float
    pnl: float
    outcome: TradeOutcome
    exit_reason: OrderPurpose
    entry_order_id: str
    exit_order_id: str
    duration_s: int = Field(ge=0, description="Seconds from entry to exit, market time.")


class EquityPointOut(Out):
    at: datetime
    ts: int = Field(description="Epoch seconds of ``at``, handy for charts.")
    equity: float
    cash: float
    realized_pnl: float
    unrealized_pnl: float
    fees: float
    drawdown: float


class _PageOut(Out):
    total: int = Field(ge=0)
    limit: int = Field(ge=1)
    offset: int = Field(ge=0)


class OrderPage(_PageOut):
    items: list[OrderOut]


class FillPage(_PageOut):
    items: list[FillOut]


class TradePage(_PageOut):
    items: list[TradeOut]


class ControlIn(Out):
    """Optional body of pause and resume: who acts and why, shown in the status and the log."""

    by: str | None = Field(default=None, min_length=1, max_length=100)
    reason: str = Field(default="", max_length=500)


class ControlOut(Out):
    action: Literal["pause", "resume", "flatten"]
    accepted: bool = Field(description="Applied by the engine between bars, not instantly.")
    paused: bool
    durable: bool = Field(
        description="Recorded in the store, so it survives a restart; false only while the "
        "store cannot be written (see detail)."
    )
    detail: str


def health_out(report: HealthReport) -> HealthOut:
    return HealthOut(
        status="ok" if report.ok else "fail",
        checks=[CheckOut(name=c.name, ok=c.ok, reason=c.reason) for c in report.checks],
    )


def build_out(build: BuildInfo) -> BuildOut:
    return BuildOut(
        version=build.version,
        revision=build.revision,
        environment=build.environment,
        python=build.python,
    )


def pause_out(intent: OperatorIntent) -> PauseOut | None:
    if not intent.paused:
        return None
    return PauseOut(since=to_datetime(intent.since), by=intent.by, reason=intent.reason)


def status_out(
    snapshot: EngineSnapshot, build: BuildInfo, intent: OperatorIntent, market: MarketSource
) -> StatusOut:
    daily_loss = 0.0
    if snapshot.day_start_equity > 0:
        daily_loss = max(
            0.0, (snapshot.day_start_equity - snapshot.equity) / snapshot.day_start_equity
        )
    return StatusOut(
        last_bar_at=to_datetime(snapshot.ts) if snapshot.ts else None,
        bars_processed=snapshot.bars_processed,
        equity=snapshot.equity,
        cash=snapshot.cash,
        realized_pnl=snapshot.realized_pnl,
        unrealized_pnl=snapshot.unrealized_pnl,
        fees=snapshot.fees,
        peak_equity=snapshot.peak_equity,
        drawdown=snapshot.drawdown,
        day_start_equity=snapshot.day_start_equity,
        daily_loss=daily_loss,
        open_positions=len(snapshot.positions),
        regimes=dict(snapshot.regimes),
        last_prices=dict(snapshot.last_prices),
        last_bar_times={s: to_datetime(ts) for s, ts in snapshot.last_bar_ts.items()},
        strategies_enabled=dict(snapshot.strategies_enabled),
        paused=intent.paused,
        pause=pause_out(intent),
        trading_halted=snapshot.trading_halted or intent.paused,
        halts=[HaltOut(reason=r, detail=d) for r, d in snapshot.halts],
        kill_switches=[KillSwitchOut(reason=r, detail=d) for r, d in snapshot.kill_switches],
        loss_streak=snapshot.loss_streak,
        cooldown_until=to_datetime(snapshot.cooldown_until) if snapshot.cooldown_until else None,
        build=build_out(build),
        market=MarketSourceOut(source=market.source, venue=market.venue, trading=market.trading),
    )


def position_out(view: PositionView) -> PositionOut:
    p = view.position
    return PositionOut(
        symbol=p.symbol,
        qty=p.qty,
        avg_price=p.avg_price,
        opened_at=to_datetime(p.opened_ts),
        strategy=p.strategy,
        stop_price=p.stop_price,
        target_price=p.target_price,
        entry_fees=p.entry_fees,
        entry_order_id=p.entry_order_id,
        last_price=view.last_price,
        unrealized_pnl=view.unrealized_pnl,
    )


def order_out(o: Order) -> OrderOut:
    return OrderOut(
        client_order_id=o.client_order_id,
        symbol=o.symbol,
        side=o.side,
        kind=o.kind,
        purpose=o.purpose,
        qty=o.qty,
        created_at=to_datetime(o.created_ts),
        strategy=o.strategy,
        status=o.status,
        price=o.price,
        stop_price=o.stop_price,
        target_price=o.target_price,
        reason=o.reason,
    )


def fill_out(f: Fill) -> FillOut:
    return FillOut(
        client_order_id=f.client_order_id,
        symbol=f.symbol,
        side=f.side,
        qty=f.qty,
        price=f.price,
        fee=f.fee,
        at=to_datetime(f.ts),
        slippage=f.slippage,
    )


def trade_out(t: Trade) -> TradeOut:
    return TradeOut(
        symbol=t.symbol,
        strategy=t.strategy,
        qty=t.qty,
        entry_price=t.entry_price,
        exit_price=t.exit_price,
        entry_at=to_datetime(t.entry_ts),
        exit_at=to_datetime(t.exit_ts),
        fees=t.fees,
        pnl=t.pnl,
        outcome=t.outcome,
        exit_reason=t.exit_reason,
        entry_order_id=t.entry_order_id,
        exit_order_id=t.exit_order_id,
        duration_s=max(0, t.exit_ts - t.entry_ts),
    )


def equity_out(e: EquitySnapshot) -> EquityPointOut:
    return EquityPointOut(
        at=to_datetime(e.ts),
        ts=e.ts,
        equity=e.equity,
        cash=e.cash,
        realized_pnl=e.realized_pnl,
        unrealized_pnl=e.unrealized_pnl,
        fees=e.fees,
        drawdown=e.drawdown,
    )
