"""Test doubles of the core's PORTS (not of our own collaborators) and bar builders.

``NextOpenBroker`` implements the ``SimulatedBroker`` protocol the way the product's paper
broker is specified: market orders fill at the next bar's open (plus slippage), stops and
targets are checked against the bar's low and high, the stop first when both are touched. It
is an independent, deliberately simple implementation so the engine tests do not depend on the
paper broker. Like any venue it reports fills when they happen (``on_bar``, or ``report`` for
a fill between bars) and hands them over when the engine takes them (``take_fills``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from grodtd.core.models import Bar, Fill, Order, OrderKind, OrderStatus, Position, Side
from grodtd.core.ports import BrokerError, RecoveredState, UnitOfWork

T0 = 1_700_006_400  # 2023-11-15 00:00:00 UTC, a day boundary


@dataclass
class Journal:
    """One ordered log shared by the store and the broker: proves what happened first."""

    entries: list[tuple[str, str]] = field(default_factory=list)


class NextOpenBroker:
    def __init__(
        self,
        journal: Journal | None = None,
        fee_bps: float = 10.0,
        slippage_bps: float = 0.0,
    ) -> None:
        self.journal = journal or Journal()
        self.fee_rate = fee_bps / 10_000.0
        self.slip_rate = slippage_bps / 10_000.0
        self.working: dict[str, Order] = {}
        self.seen: set[str] = set()
        self.submits: list[Order] = []
        self.cancels: list[str] = []
        self.fail_next_submits = 0
        self.reported: list[Fill] = []

    def submit(self, order: Order) -> None:
        if self.fail_next_submits > 0:
            self.fail_next_submits -= 1
            raise BrokerError("venue unavailable")
        self.submits.append(order)
        self.journal.entries.append(("submit", order.client_order_id))
        if order.client_order_id in self.seen:
            return  # idempotent by client order id
        self.seen.add(order.client_order_id)
        self.working[order.client_order_id] = order

    def cancel(self, client_order_id: str) -> None:
        self.cancels.append(client_order_id)
        self.working.pop(client_order_id, None)

    def _fill(self, order: Order, reference: float, bar: Bar, slip: float) -> Fill:
        buy = order.side is Side.BUY
        price = reference + slip if buy else reference - slip
        del self.working[order.client_order_id]
        return Fill(
            client_order_id=order.client_order_id,
            symbol=order.symbol,
            side=order.side,
            qty=order.qty,
            price=price,
            fee=order.qty * price * self.fee_rate,
            ts=bar.ts,
            slippage=slip,
        )

    def take_fills(self) -> list[Fill]:
        taken, self.reported = self.reported, []
        return taken

    def on_bar(self, bar: Bar) -> None:
        self.reported.extend(self._fills_of(bar))

    def report_fill(self, client_order_id: str, price: float, ts: int) -> None:
        """A working order fills at ``price`` at ``ts`` between bars, as a live venue's would."""
        order = self.working[client_order_id]
        at = Bar(order.symbol, ts, price, price, price, price, 0.0)
        self.reported.append(self._fill(order, price, at, 0.0))

    def _fills_of(self, bar: Bar) -> list[Fill]:
        mine = [o for o in self.working.values() if o.symbol == bar.symbol]
        fills = [
            self._fill(o, bar.open, bar, bar.open * self.slip_rate)
            for o in mine
            if o.kind is OrderKind.MARKET
        ]
        stops = [o for o in mine if o.kind is OrderKind.STOP]
        for order in stops:
            assert order.price is not None
            sell = order.side is Side.SELL
            if (sell and bar.low <= order.price) or (not sell and bar.high >= order.price):
                # A gap through the stop fills at the open, the worse price.
                ref = min(order.price, bar.open) if sell else max(order.price, bar.open)
                fills.append(self._fill(order, ref, bar, 0.0))
                return fills  # stop first: the target of the same bar is not touched
        for order in (o for o in mine if o.kind is OrderKind.LIMIT):
            assert order.price is not None
            sell = order.side is Side.SELL
            if (sell and bar.high >= order.price) or (not sell and bar.low <= order.price):
                ref = max(order.price, bar.open) if sell else min(order.price, bar.open)
                fills.append(self._fill(order, ref, bar, 0.0))
        return fills


class RecordingStore:
    def __init__(self, journal: Journal | None = None) -> None:
        self.journal = journal or Journal()
        self.units: list[UnitOfWork] = []

    def load(self) -> RecoveredState:
        """What a real store would read back: latest checkpoint, open positions and orders."""
        if not self.units:
            return RecoveredState()
        orders: dict[str, Order] = {}
        positions: dict[str, Position] = {}
        for unit in self.units:
            for order in unit.orders:
                orders[order.client_order_id] = order
            for position in unit.positions:
                if position.qty == 0:
                    positions.pop(position.symbol, None)
                else:
                    positions[position.symbol] = position
        return RecoveredState(
            checkpoint=self.units[-1].checkpoint,
            positions=tuple(positions.values()),
            open_orders=tuple(o for o in orders.values() if o.status is OrderStatus.PENDING),
        )

    def commit(self, unit: UnitOfWork) -> None:
        self.units.append(unit)
        for order in unit.orders:
            self.journal.entries.append(("commit", order.client_order_id))


def bar(symbol: str, ts: int, o: float, h: float, lo: float, c: float, v: float = 1.0) -> Bar:
    return Bar(symbol, ts, o, h, lo, c, v)


def random_walk(
    n: int,
    seed: int,
    symbol: str = "BTC-USD",
    start: float = 100.0,
    drift: float = 0.0,
    vol: float = 0.002,
    t0: int = T0,
    step: int = 60,
) -> list[Bar]:
    """A seeded geometric random walk of 1-minute bars (consistent OHLC)."""
    rng = random.Random(seed)
    bars: list[Bar] = []
    price = start
    for i in range(n):
        o = price
        c = o * (1.0 + drift + rng.gauss(0.0, vol))
        h = max(o, c) * (1.0 + abs(rng.gauss(0.0, vol / 2)))
        lo = min(o, c) * (1.0 - abs(rng.gauss(0.0, vol / 2)))
        bars.append(Bar(symbol, t0 + i * step, o, h, lo, c, rng.uniform(0.5, 5.0)))
        price = c
    return bars
