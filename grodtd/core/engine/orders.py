"""The life of the engine's orders between a decision and the venue.

It holds the live orders by client order id and the per-bar scratch of the unit of work
(orders changed this bar, orders to submit, ids to cancel), and it owns the rules for talking
to the venue after the commit:

* a ``BrokerError`` on submit or cancel counts towards the broker-errors kill switch;
* a refused ENTRY is simply rejected (an entry may not happen; the desk releases what it
  reserved for it) and the REJECTED status is recorded with the next bar's unit of work;
* a refused exit or protective order stays pending and is retried before the next bar's fills,
  because exits must always go through; a failed cancel is retried the same way.

Every call that talks to the venue returns what it has to tell (``Dispatch``); nothing here
holds on to events.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from grodtd.core.events import Event, OrderRejected, OrderSubmitted
from grodtd.core.models import Order, OrderPurpose, OrderStatus
from grodtd.core.ports import Broker, BrokerError
from grodtd.core.risk import RiskManager


@dataclass(frozen=True, slots=True)
class Dispatch:
    """What handing orders to the venue produced: events, and entries that will never fill."""

    events: list[Event]
    refused_entries: list[Order]


class OrderFlow:
    """The engine's live orders, this bar's changes to them, and their way to the venue.

    Two flags are read by the engine on every bar, so they are plain attributes, written only
    here: ``busy`` (this bar changed an order or has one to send) and ``retrying`` (a refused
    exit or a failed cancel waits for the next bar).
    """

    __slots__ = (
        "_broker",
        "_cancels",
        "_changed",
        "_live",
        "_new",
        "_retry_cancel",
        "_retry_submit",
        "_risk",
        "busy",
        "retrying",
    )

    def __init__(self, broker: Broker, risk: RiskManager) -> None:
        self._broker = broker
        self._risk = risk
        self._live: dict[str, Order] = {}
        # This bar's unit of work: the latest version of every order it touched.
        self._changed: dict[str, Order] = {}
        # Decided this bar, durable after the commit, then submitted.
        self._new: dict[str, Order] = {}
        self._cancels: list[str] = []
        self._retry_submit: list[Order] = []
        self._retry_cancel: list[str] = []
        self.busy = False
        self.retrying = False

    # -- the bar's orders -----------------------------------------------------------------

    def add(self, order: Order) -> None:
        oid = order.client_order_id
        self._live[oid] = order
        self._new[oid] = order
        self._changed[oid] = order
        self.busy = True

    def adopt(self, order: Order) -> None:
        """A pending order read back from the store: live, and to be re-submitted."""
        self._live[order.client_order_id] = order

    def settle(self, order_id: str, status: OrderStatus) -> Order | None:
        """Take a live order out of the book with its final status; None if it is not live."""
        order = self._live.pop(order_id, None)
        if order is None:
            return None
        settled = order.with_status(status)
        self._changed[order_id] = settled
        self.busy = True
        return settled

    def cancel(self, order_id: str | None) -> None:
        if order_id is None or self.settle(order_id, OrderStatus.CANCELLED) is None:
            return
        if self._new.pop(order_id, None) is None:
            self._cancels.append(order_id)  # the venue has it: cancel there after the commit

    def live_orders(self) -> tuple[Order, ...]:
        return tuple(self._live.values())

    def changed(self) -> Iterable[Order]:
        """The orders this unit of work changed, latest version of each."""
        return self._changed.values()

    def clear_unit(self) -> None:
        """The unit is committed (or there is no store): start the next one."""
        self._changed.clear()
        self.busy = bool(self._new or self._cancels)

    # -- talking to the venue -------------------------------------------------------------

    def send(self) -> Dispatch:
        """Submit this bar's new orders and cancels (after the commit)."""
        orders = list(self._new.values())
        self._new.clear()
        cancels = self._cancels
        self._cancels = []
        self.busy = bool(self._changed)
        return self._dispatch(orders, cancels)

    def retry(self) -> Dispatch:
        """Submit again the exits the venue refused and cancel what it failed to cancel."""
        orders = [o for o in self._retry_submit if o.client_order_id in self._live]
        cancels = self._retry_cancel
        self._retry_submit = []
        self._retry_cancel = []
        self.retrying = False
        return self._dispatch(orders, cancels)

    def resubmit_all(self) -> Dispatch:
        """After a restart: every live order goes to the venue again (idempotent by id)."""
        return self._dispatch(list(self._live.values()), [])

    def _dispatch(self, orders: list[Order], cancels: list[str]) -> Dispatch:
        events: list[Event] = []
        refused = [o for o in orders if not self._submit(o, events)]
        for order_id in cancels:
            self._cancel_at_venue(order_id)
        return Dispatch(events, refused)

    def _submit(self, order: Order, events: list[Event]) -> bool:
        """False only for an entry the venue refused (it is rejected for good)."""
        try:
            self._broker.submit(order)
        except BrokerError as exc:
            return self._refused(order, str(exc) or type(exc).__name__, events)
        self._risk.broker_ok()
        events.append(OrderSubmitted(order))
        return True

    def _refused(self, order: Order, reason: str, events: list[Event]) -> bool:
        oid = order.client_order_id
        self._risk.broker_error(f"submit {oid}: {reason}")
        if order.purpose is OrderPurpose.ENTRY:
            self._live.pop(oid, None)
            rejected = order.with_status(OrderStatus.REJECTED, reason)
            self._changed[oid] = rejected
            self.busy = True
            events.append(OrderRejected(rejected, reason))
            return False
        if oid in self._live:
            self._retry_submit.append(order)
            self.retrying = True
        events.append(OrderRejected(order, f"{reason}; retrying on the next bar"))
        return True

    def _cancel_at_venue(self, order_id: str) -> None:
        try:
            self._broker.cancel(order_id)
        except BrokerError as exc:
            self._risk.broker_error(f"cancel {order_id}: {exc}")
            self._retry_cancel.append(order_id)
            self.retrying = True
