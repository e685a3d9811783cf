"""The live broker meets the exchange before the first bar: what happened while we were away.

Fills made while the daemon was down are queued for the engine, which applies them with the
first bar; orders on the exchange under client ids the store never saw are reported. The
broker looks every open order up again when it is next shown a bar, so an exchange that does
not answer here delays nothing.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import structlog

from grodtd.adapters.brokers.live import LiveBroker
from grodtd.core.models import Order
from grodtd.core.ports import BrokerError, StoreReader

log = structlog.stdlib.get_logger(__name__)

# How far back the start-up reconciliation looks when no order was open at the stop.
_RECONCILE_LOOKBACK_MS = 3_600_000


def reconcile_at_start(
    broker: LiveBroker, store: StoreReader, open_orders: Sequence[Order]
) -> None:
    """Compare the exchange with the store before the first bar: fills made while the daemon
    was down are queued for the engine (it takes them with the first bar), orders the store
    never saw are reported. An exchange that does not answer is not fatal: the broker looks
    every open order up again when it is next shown a bar."""
    opened = [o.created_ts * 1000 for o in open_orders]
    since_ms = min(opened) if opened else int(time.time() * 1000) - _RECONCILE_LOOKBACK_MS
    known = _order_ids_since(store, since_ms // 1000)
    try:
        report = broker.reconcile(since_ms, known=known)
    except BrokerError as exc:
        log.warning("reconciliation at start-up failed; open orders are looked up", error=str(exc))
        return
    for fill in report.missed_fills:
        log.warning(
            "fill made while the daemon was down",
            client_order_id=fill.client_order_id,
            symbol=fill.symbol,
            qty=fill.qty,
            price=fill.price,
        )
    for foreign in report.foreign_orders:
        log.warning(
            "order on the exchange that GRODT never sent",
            symbol=foreign.symbol,
            exchange_order_id=foreign.exchange_order_id,
            client_id=foreign.client_id,
            side=foreign.side,
            status=foreign.status,
            qty=foreign.qty,
        )
    log.info(
        "reconciled with the exchange",
        clean=report.clean,
        missed_fills=len(report.missed_fills),
        foreign_orders=len(report.foreign_orders),
        still_open=len(report.still_open),
    )


def _order_ids_since(store: StoreReader, since_ts: int, page: int = 500) -> list[str]:
    """The client ids of the store's orders created at or after ``since_ts`` (newest first)."""
    ids: list[str] = []
    offset = 0
    while True:
        orders = store.list_orders(page, offset).items
        ids += [o.client_order_id for o in orders if o.created_ts >= since_ts]
        if len(orders) < page or orders[-1].created_ts < since_ts:
            return ids
        offset += page
