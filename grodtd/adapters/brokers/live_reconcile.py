"""Reconciliation, a first version: what the exchange did that the live broker did not report.

For each traded symbol it reads the account's open orders and its trades since ``since_ms``
and sorts every exchange order it finds into one of three:

- ours and reported: nothing to do;
- ours and not reported (a fill that happened while the daemon was down, an order whose
  response was lost and that nobody looked up yet, a watched stop a previous process had sent
  before it died): its fill is built from the exchange's trades, queued for ``take_fills``
  like any other, and listed in ``missed_fills``;
- not ours (placed by hand, by another program, or by an older daemon whose ids were not
  passed in ``known``): listed in ``foreign_orders``, never touched.

"Ours" means an id this broker holds (watched, in doubt or filled) or one of ``known``: the
daemon passes the ids of its store's orders, so a restarted broker recognises what its
predecessor sent (exchange client ids are a pure function of GRODT's ids). Comparing the
exchange's balances with the store's positions, halting entries on a mismatch and running
this on a schedule belong to the daemon (issue 12), not to the broker.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from grodtd.adapters.brokers.exchange_orders import FINAL_STATUSES, exchange_client_id
from grodtd.core.models import Fill, Side
from grodtd.core.ports import BrokerError

if TYPE_CHECKING:
    from grodtd.adapters.brokers.live import LiveBroker


@dataclass(frozen=True, slots=True)
class ForeignOrder:
    """An exchange order under a client id the broker never sent and was not told of."""

    symbol: str
    exchange_order_id: str
    client_id: str
    side: str
    status: str
    qty: float
    filled: float


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    """What one reconciliation found; ``missed_fills`` are also queued for ``take_fills``."""

    since_ms: int
    missed_fills: tuple[Fill, ...] = ()
    foreign_orders: tuple[ForeignOrder, ...] = ()
    # Our orders still working on the exchange (reported once they end), and the broker's
    # orders whose outcome is not settled yet (``LiveBroker.unsettled``).
    still_open: tuple[str, ...] = ()
    unsettled: tuple[str, ...] = ()

    @property
    def clean(self) -> bool:
        """Nothing the broker had not known: no missed fill, no foreign order."""
        return not self.missed_fills and not self.foreign_orders


def _foreign(symbol: str, order: dict[str, Any]) -> ForeignOrder:
    return ForeignOrder(
        symbol=symbol,
        exchange_order_id=str(order.get("id")),
        client_id=str(order.get("clientOrderId") or ""),
        side=str(order.get("side") or ""),
        status=str(order.get("status") or ""),
        qty=float(order.get("amount") or 0.0),
        filled=float(order.get("filled") or 0.0),
    )


class _Walk:
    """One reconciliation's findings, symbol by symbol."""

    def __init__(self, broker: LiveBroker, known: Iterable[str]) -> None:
        self.broker = broker
        self.ours = broker.known_ids()
        self.ours.update({exchange_client_id(oid): oid for oid in known})
        self.reported = broker.filled_exchange_ids()
        self.foreign: dict[str, ForeignOrder] = {}
        self.missed: list[Fill] = []
        self.still_open: list[str] = []

    def symbol(self, symbol: str, since_ms: int) -> None:
        venue = self.broker.venue
        for order in venue.open_orders(symbol):
            oid = self.ours.get(str(order.get("clientOrderId")))
            if oid is None:
                self.foreign[str(order["id"])] = _foreign(symbol, order)
            elif not self.broker.is_filled(oid):
                self.still_open.append(oid)
        order_ids = dict.fromkeys(str(t["order"]) for t in venue.trades_since(symbol, since_ms))
        for exchange_id in order_ids:
            if exchange_id not in self.reported and exchange_id not in self.foreign:
                self._traded(symbol, venue.order(symbol, exchange_id))

    def _traded(self, symbol: str, found: dict[str, Any]) -> None:
        oid = self.ours.get(str(found.get("clientOrderId")))
        if oid is None:
            self.foreign[str(found["id"])] = _foreign(symbol, found)
        elif self.broker.is_filled(oid) or oid in self.still_open:
            return
        elif found.get("status") not in FINAL_STATUSES:
            self.still_open.append(oid)
        else:
            side = Side(str(found["side"]))
            self.missed.append(self.broker.report_found(oid, symbol, side, found))


def reconcile(broker: LiveBroker, since_ms: int, known: Iterable[str] = ()) -> ReconcileReport:
    """Reconcile ``broker`` with its exchange (call it with the broker's lock held)."""
    walk = _Walk(broker, known)
    for symbol in broker.symbols:
        try:
            walk.symbol(symbol, since_ms)
        except BrokerError:
            raise
        except Exception as exc:
            raise BrokerError(
                f"reconcile {symbol}: the exchange did not answer ({broker.venue.safe(exc)}); "
                "fills found before were reported, run it again"
            ) from None
    return ReconcileReport(
        since_ms=since_ms,
        missed_fills=tuple(sorted(walk.missed, key=lambda f: f.ts)),
        foreign_orders=tuple(walk.foreign.values()),
        still_open=tuple(walk.still_open),
        unsettled=tuple(broker.unsettled()),
    )
