"""The life of the engine's orders between a decision and the broker.

It holds the live orders by client order id and the per-bar scratch of the unit of work
(orders changed this bar, orders to submit, ids to cancel), and it owns the rules for talking
to the broker after the commit:

* a ``BrokerError`` on submit or cancel counts towards the broker-errors kill switch;
* a refused ENTRY is simply rejected (an entry may not happen; the engine releases what it
  reserved for it) and the REJECTED status is recorded with the next bar's unit of work;
* a refused exit or protective order stays pending and is retried before the next bar's fills,
  because exits must always go through; a failed cancel is retried the same way.
"""

from __future__ import annotations

from dataclasses import replace

from grodtd.core.events import Event, OrderRejected, OrderSubmitted
from grodtd.core.models import Order, OrderPurpose, OrderStatus
from grodtd.core.ports import Broker, BrokerError
from grodtd.core.risk import RiskManager


class OrderFlow:
    __slots__ = (
        "_broker",
        "_events",
        "_retry_cancel",
        "_retry_submit",
        "_risk",
        "cancels",
        "changed",
        "new",
        "open",
        "retrying",
    )

    def __init__(self, broker: Broker, risk: RiskManager, events: list[Event]) -> None:
        self._broker = broker
        self._risk = risk
        self._events = events
        self.open: dict[str, Order] = {}
        # This bar's unit of work: the latest version of every order it touched.
        self.changed: dict[str, Order] = {}
        # Decided this bar, durable after the commit, then submitted.
        self.new: dict[str, Order] = {}
        self.cancels: list[str] = []
        self._retry_submit: list[Order] = []
        self._retry_cancel: list[str] = []
        self.retrying = False

    def add(self, order: Order) -> None:
        oid = order.client_order_id
        self.open[oid] = order
        self.new[oid] = order
        self.changed[oid] = order

    def adopt(self, order: Order) -> None:
        """A pending order read back from the store: live, and to be re-submitted."""
        self.open[order.client_order_id] = order

    def settle(self, order_id: str, status: OrderStatus) -> Order | None:
        """Take a live order out of the book with its final status; None if it is not live."""
        order = self.open.pop(order_id, None)
        if order is None:
            return None
        settled = replace(order, status=status)
        self.changed[order_id] = settled
        return settled

    def cancel(self, order_id: str | None) -> None:
        if order_id is None or self.settle(order_id, OrderStatus.CANCELLED) is None:
            return
        if self.new.pop(order_id, None) is None:
            self.cancels.append(order_id)  # the broker has it: cancel there after the commit

    def send(self, observing: bool) -> list[Order]:
        """Submit this bar's new orders and cancels; returns the entries the broker refused."""
        orders = list(self.new.values())
        self.new.clear()
        cancels = self.cancels
        self.cancels = []
        rejected = [o for o in orders if not self.submit(o, observing)]
        for order_id in cancels:
            self._cancel_at_broker(order_id)
        return rejected

    def resubmit_all(self) -> list[Order]:
        """After a restart: every live order goes to the broker again (idempotent by id)."""
        return [o for o in list(self.open.values()) if not self.submit(o, observing=False)]

    def retry(self, observing: bool) -> list[Order]:
        orders = [o for o in self._retry_submit if o.client_order_id in self.open]
        cancels = self._retry_cancel
        self._retry_submit = []
        self._retry_cancel = []
        self.retrying = False
        rejected = [o for o in orders if not self.submit(o, observing)]
        for order_id in cancels:
            self._cancel_at_broker(order_id)
        return rejected

    def submit(self, order: Order, observing: bool) -> bool:
        """False only for an entry the broker refused (it is rejected for good)."""
        try:
            self._broker.submit(order)
        except BrokerError as exc:
            return self._refused(order, str(exc) or type(exc).__name__, observing)
        self._risk.broker_ok()
        if observing:
            self._events.append(OrderSubmitted(order))
        return True

    def _refused(self, order: Order, reason: str, observing: bool) -> bool:
        oid = order.client_order_id
        self._risk.broker_error(f"submit {oid}: {reason}")
        if order.purpose is OrderPurpose.ENTRY:
            self.open.pop(oid, None)
            rejected = replace(order, status=OrderStatus.REJECTED, reason=reason)
            self.changed[oid] = rejected
            if observing:
                self._events.append(OrderRejected(rejected, reason))
            return False
        if oid in self.open:
            self._retry_submit.append(order)
            self.retrying = True
        if observing:
            self._events.append(OrderRejected(order, f"{reason}; retrying on the next bar"))
        return True

    def _cancel_at_broker(self, order_id: str) -> None:
        try:
            self._broker.cancel(order_id)
        except BrokerError as exc:
            self._risk.broker_error(f"cancel {order_id}: {exc}")
            self._retry_cancel.append(order_id)
            self.retrying = True
