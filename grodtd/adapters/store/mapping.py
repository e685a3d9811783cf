"""Translation between domain values and table rows, kept apart from the SQL.

Pure functions, so the mapping (enum values, JSON of the checkpoint, None handling) can be
tested without a database and reused by every dialect.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from grodtd.core.models import (
    Checkpoint,
    EquitySnapshot,
    Fill,
    KillSwitchReason,
    OperatorIntent,
    Order,
    OrderKind,
    OrderPurpose,
    OrderStatus,
    Position,
    RiskState,
    Side,
    Trade,
)

# Keys are column names; typed loosely because SQLAlchemy's RowMapping also accepts columns.
type Row = Mapping[Any, Any]


def order_to_row(order: Order, now: int) -> dict[str, Any]:
    return {
        "client_order_id": order.client_order_id,
        "symbol": order.symbol,
        "side": order.side.value,
        "kind": order.kind.value,
        "purpose": order.purpose.value,
        "qty": order.qty,
        "price": order.price,
        "stop_price": order.stop_price,
        "target_price": order.target_price,
        "status": order.status.value,
        "created_ts": order.created_ts,
        "strategy": order.strategy,
        "reason": order.reason,
        "updated_at": now,
    }


def order_from_row(row: Row) -> Order:
    return Order(
        client_order_id=row["client_order_id"],
        symbol=row["symbol"],
        side=Side(row["side"]),
        kind=OrderKind(row["kind"]),
        purpose=OrderPurpose(row["purpose"]),
        qty=row["qty"],
        created_ts=row["created_ts"],
        strategy=row["strategy"],
        status=OrderStatus(row["status"]),
        price=row["price"],
        stop_price=row["stop_price"],
        target_price=row["target_price"],
        reason=row["reason"],
    )


def fill_to_row(fill: Fill) -> dict[str, Any]:
    return {
        "client_order_id": fill.client_order_id,
        "symbol": fill.symbol,
        "side": fill.side.value,
        "qty": fill.qty,
        "price": fill.price,
        "fee": fill.fee,
        "slippage": fill.slippage,
        "ts": fill.ts,
    }


def fill_from_row(row: Row) -> Fill:
    return Fill(
        client_order_id=row["client_order_id"],
        symbol=row["symbol"],
        side=Side(row["side"]),
        qty=row["qty"],
        price=row["price"],
        fee=row["fee"],
        ts=row["ts"],
        slippage=row["slippage"],
    )


def position_to_row(position: Position, now: int) -> dict[str, Any]:
    return {
        "symbol": position.symbol,
        "qty": position.qty,
        "avg_price": position.avg_price,
        "opened_ts": position.opened_ts,
        "strategy": position.strategy,
        "stop_price": position.stop_price,
        "target_price": position.target_price,
        "entry_fees": position.entry_fees,
        "entry_order_id": position.entry_order_id,
        "updated_at": now,
    }


def position_from_row(row: Row) -> Position:
    return Position(
        symbol=row["symbol"],
        qty=row["qty"],
        avg_price=row["avg_price"],
        opened_ts=row["opened_ts"],
        strategy=row["strategy"],
        stop_price=row["stop_price"],
        target_price=row["target_price"],
        entry_fees=row["entry_fees"],
        entry_order_id=row["entry_order_id"],
    )


def trade_to_row(trade: Trade) -> dict[str, Any]:
    return {
        "symbol": trade.symbol,
        "strategy": trade.strategy,
        "qty": trade.qty,
        "entry_price": trade.entry_price,
        "exit_price": trade.exit_price,
        "entry_ts": trade.entry_ts,
        "exit_ts": trade.exit_ts,
        "fees": trade.fees,
        "pnl": trade.pnl,
        "exit_reason": trade.exit_reason.value,
        "entry_order_id": trade.entry_order_id,
        "exit_order_id": trade.exit_order_id,
    }


def trade_from_row(row: Row) -> Trade:
    return Trade(
        symbol=row["symbol"],
        strategy=row["strategy"],
        qty=row["qty"],
        entry_price=row["entry_price"],
        exit_price=row["exit_price"],
        entry_ts=row["entry_ts"],
        exit_ts=row["exit_ts"],
        fees=row["fees"],
        pnl=row["pnl"],
        exit_reason=OrderPurpose(row["exit_reason"]),
        entry_order_id=row["entry_order_id"],
        exit_order_id=row["exit_order_id"],
    )


def equity_to_row(snapshot: EquitySnapshot, seq: int) -> dict[str, Any]:
    return {
        "seq": seq,
        "ts": snapshot.ts,
        "equity": snapshot.equity,
        "cash": snapshot.cash,
        "realized_pnl": snapshot.realized_pnl,
        "unrealized_pnl": snapshot.unrealized_pnl,
        "fees": snapshot.fees,
        "drawdown": snapshot.drawdown,
    }


def equity_from_row(row: Row) -> EquitySnapshot:
    return EquitySnapshot(
        ts=row["ts"],
        equity=row["equity"],
        cash=row["cash"],
        realized_pnl=row["realized_pnl"],
        unrealized_pnl=row["unrealized_pnl"],
        fees=row["fees"],
        drawdown=row["drawdown"],
    )


def risk_to_json(risk: RiskState) -> str:
    return json.dumps(
        {
            "day": risk.day,
            "day_start_equity": risk.day_start_equity,
            "loss_streak": risk.loss_streak,
            "cooldown_until": risk.cooldown_until,
            "daily_halted": risk.daily_halted,
            "kill_switches": [[reason.value, why] for reason, why in risk.kill_switches],
            "stale_symbols": [[symbol, why] for symbol, why in risk.stale_symbols],
            "stale_wallclock": risk.stale_wallclock,
        },
        sort_keys=True,
    )


def risk_from_json(text: str) -> RiskState:
    """Unknown keys are ignored and missing ones take the defaults.

    So a checkpoint written by a newer or older build still loads: the risk state gains fields
    over time and a schema migration for each would be churn.
    """
    data = json.loads(text)
    known = {f.name for f in fields(RiskState)}
    values = {key: value for key, value in data.items() if key in known}
    values["kill_switches"] = tuple(
        (KillSwitchReason(reason), why) for reason, why in values.get("kill_switches", ())
    )
    values["stale_symbols"] = tuple(
        (symbol, why) for symbol, why in values.get("stale_symbols", ())
    )
    return RiskState(**values)


def checkpoint_to_row(checkpoint: Checkpoint, checkpoint_id: int, now: int) -> dict[str, Any]:
    return {
        "id": checkpoint_id,
        "bars_processed": checkpoint.bars_processed,
        "cash": checkpoint.cash,
        "realized_pnl": checkpoint.realized_pnl,
        "fees": checkpoint.fees,
        "peak_equity": checkpoint.peak_equity,
        "last_ts": json.dumps(checkpoint.last_ts, sort_keys=True),
        "risk": risk_to_json(checkpoint.risk),
        "updated_at": now,
    }


def checkpoint_from_row(row: Row) -> Checkpoint:
    return Checkpoint(
        last_ts={str(symbol): int(ts) for symbol, ts in json.loads(row["last_ts"]).items()},
        bars_processed=row["bars_processed"],
        cash=row["cash"],
        realized_pnl=row["realized_pnl"],
        fees=row["fees"],
        peak_equity=row["peak_equity"],
        risk=risk_from_json(row["risk"]),
    )


def intent_to_row(intent: OperatorIntent, intent_id: int, now: int) -> dict[str, Any]:
    return {
        "id": intent_id,
        "paused": intent.paused,
        "since": intent.since,
        "actor": intent.by,
        "reason": intent.reason,
        "updated_at": now,
    }


def intent_from_row(row: Row) -> OperatorIntent:
    return OperatorIntent(
        paused=bool(row["paused"]), since=row["since"], by=row["actor"], reason=row["reason"]
    )
