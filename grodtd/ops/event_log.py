"""Domain events as structured log lines: the operator's trading journal on stdout.

Bars are too frequent to log one by one; everything that changes money, risk or regime is
logged with its trading context (symbol, strategy, order_id) so a log search by any of them
finds the whole story.
"""

from __future__ import annotations

import structlog

from grodtd.core.events import (
    BarProcessed,
    EntriesHalted,
    EntriesResumed,
    Event,
    KillSwitchTripped,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
    RegimeChanged,
    TradeClosed,
)


class EventLogger:
    def __init__(self, logger_name: str = "grodtd.engine") -> None:
        self._log = structlog.stdlib.get_logger(logger_name)

    def observe(self, event: Event) -> None:
        log = self._log
        match event:
            case BarProcessed():
                return
            case OrderSubmitted(order=order):
                log.info(
                    "order submitted",
                    symbol=order.symbol,
                    strategy=order.strategy,
                    order_id=order.client_order_id,
                    side=order.side.value,
                    kind=order.kind.value,
                    purpose=order.purpose.value,
                    qty=order.qty,
                    price=order.price,
                )
            case OrderRejected(order=order, reason=reason):
                log.warning(
                    "order rejected",
                    symbol=order.symbol,
                    strategy=order.strategy,
                    order_id=order.client_order_id,
                    reason=reason,
                )
            case OrderFilled(order=order, fill=fill):
                log.info(
                    "order filled",
                    symbol=fill.symbol,
                    strategy=order.strategy,
                    order_id=fill.client_order_id,
                    side=fill.side.value,
                    purpose=order.purpose.value,
                    qty=fill.qty,
                    price=fill.price,
                    fee=round(fill.fee, 6),
                )
            case TradeClosed(trade=trade):
                log.info(
                    "trade closed",
                    symbol=trade.symbol,
                    strategy=trade.strategy,
                    order_id=trade.exit_order_id,
                    entry_order_id=trade.entry_order_id,
                    outcome=trade.outcome.value,
                    exit_reason=trade.exit_reason.value,
                    pnl=round(trade.pnl, 2),
                    fees=round(trade.fees, 2),
                )
            case RegimeChanged(symbol=symbol, previous=previous, current=current):
                log.info(
                    "regime changed", symbol=symbol, previous=previous.value, regime=current.value
                )
            case KillSwitchTripped(reason=reason, detail=detail):
                log.error("kill switch tripped", reason=reason.value, detail=detail)
            case EntriesHalted(reason=reason, detail=detail):
                log.warning("new entries halted", reason=reason.value, detail=detail)
            case EntriesResumed(reason=reason):
                log.info("new entries resumed", reason=reason.value)
