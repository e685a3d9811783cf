"""The matching engine: places orders, fills them against the market's price path, moves funds.

There is no order book: the emulated account trades against the candles. A market order, and a
limit order that is marketable when placed, fill at once at the current price (taker). A resting
limit order fills at its own price (maker) the first time the path reaches it; a stop order
triggers when the path crosses its stop price, then behaves as a market or a limit order.
``sync`` replays the path from where each order was last checked, so a fill that happened
while no client was connected is found afterwards, stamped with the time it happened.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from .clock import MINUTE_MS
from .errors import (
    DUPLICATE_ORDER,
    INSUFFICIENT_BALANCE,
    STOP_WOULD_TRIGGER,
    WOULD_TAKE,
    ApiError,
    rejected,
)
from .ledger import InsufficientBalance, Ledger
from .market import Market
from .orders import FEE_RATE, LIMIT_TYPES, MARKET_STOP_TYPES, STOP_TYPES, Order, Trade

_FEE_QUANTUM = Decimal("1e-8")


@dataclass(frozen=True)
class OrderRequest:
    """A validated ``POST /api/v3/order``: quantities and prices already checked for format."""

    symbol: str
    side: str
    type: str
    time_in_force: str | None
    quantity: Decimal | None
    quote_qty: Decimal | None
    price: Decimal | None
    stop_price: Decimal | None
    client_id: str | None


def _triggers(order: Order, price: Decimal) -> bool:
    """A stop-loss triggers when the price moves against the position; a take-profit, with it."""
    falling = (order.type.startswith("STOP_LOSS")) == (order.side == "SELL")
    return price <= order.stop_price if falling else price >= order.stop_price


def _marketable(order: Order, price: Decimal) -> bool:
    return price <= order.price if order.side == "BUY" else price >= order.price


class Engine:
    """All orders and trades of the one emulated account; callers hold the state lock."""

    def __init__(
        self, market: Market, ledger: Ledger, *, client_id_memory_ms: int = 86_400_000
    ) -> None:
        self._market = market
        self._ledger = ledger
        self._memory_ms = client_id_memory_ms
        self._orders: dict[int, Order] = {}
        self._trades: list[Trade] = []
        self._next_order_id = 1
        self._next_trade_id = 1

    def orders(self, symbol: str | None = None) -> list[Order]:
        return [o for o in self._orders.values() if symbol is None or o.symbol == symbol]

    def trades(self, symbol: str | None = None) -> list[Trade]:
        return [t for t in self._trades if symbol is None or t.symbol == symbol]

    def find(
        self, symbol: str, order_id: int | None, client_id: str | None, *, unknown: ApiError
    ) -> Order:
        """By orderId, else by client id (the latest order that used it)."""
        if order_id is not None:
            order = self._orders.get(order_id)
            if order is not None and order.symbol == symbol:
                return order
            raise unknown
        for order in reversed(self._orders.values()):
            if order.symbol == symbol and order.client_id == client_id:
                return order
        raise unknown

    def place(self, req: OrderRequest, now_ms: int, *, partial: Decimal | None = None) -> Order:
        spec = self._market.spec(req.symbol)
        if req.client_id is not None and self._is_duplicate(req.client_id, now_ms):
            raise rejected(DUPLICATE_ORDER)
        current = self._market.price(req.symbol, now_ms)
        if current is None:
            raise ApiError(-1013, "Market is closed.")
        limit_price = req.price if req.type in LIMIT_TYPES else None
        for value in (limit_price, req.stop_price if req.type in STOP_TYPES else None):
            if value is not None:
                spec.check_price(value)
        if req.type == "MARKET" and req.quote_qty is not None:
            qty = spec.floor_qty(req.quote_qty / current)
        else:
            qty = req.quantity if req.quantity is not None else Decimal(0)
        spec.check_qty(qty)
        spec.check_notional(qty * (limit_price or req.stop_price or current))
        order = Order(
            order_id=self._next_order_id,
            client_id=req.client_id or f"emu-{self._next_order_id:018d}",
            symbol=req.symbol,
            side=req.side,
            type=req.type,
            time_in_force=req.time_in_force if req.type in LIMIT_TYPES else None,
            orig_qty=qty,
            price=limit_price or Decimal(0),
            stop_price=req.stop_price if req.type in STOP_TYPES and req.stop_price else Decimal(0),
            orig_quote_qty=req.quote_qty or Decimal(0),
            time_ms=now_ms,
            update_ms=now_ms,
            working_ms=-1 if req.type in STOP_TYPES else now_ms,
            checked_ms=now_ms,
            partial_fraction=partial,
        )
        if order.type in STOP_TYPES and _triggers(order, current):
            raise rejected(STOP_WOULD_TRIGGER)
        if order.type == "LIMIT_MAKER" and _marketable(order, current):
            raise rejected(WOULD_TAKE)
        self._lock_funds(order, current)
        self._orders[order.order_id] = order
        self._next_order_id += 1
        if order.type == "MARKET":
            self._execute(order, current, now_ms, maker=False)
        elif order.type in ("LIMIT", "LIMIT_MAKER"):
            if _marketable(order, current):
                self._execute(order, current, now_ms, maker=False)
            elif order.time_in_force in ("IOC", "FOK"):
                self._finish(order, "EXPIRED", now_ms)
        return order

    def cancel(self, order: Order, now_ms: int) -> None:
        if not order.is_open:
            raise ApiError(-2011, "Unknown order sent.")
        self._finish(order, "CANCELED", now_ms)

    def sync(self, now_ms: int) -> None:
        """Match every resting order against the price path up to ``now_ms``."""
        by_symbol: dict[str, list[Order]] = defaultdict(list)
        for order in self._orders.values():
            if order.is_open and order.checked_ms < now_ms:
                by_symbol[order.symbol].append(order)
        for symbol, group in by_symbol.items():
            after = min(o.checked_ms for o in group)
            for t, price in self._market.path(symbol, after, now_ms):
                for order in group:
                    if order.is_open and t > order.checked_ms and t >= order.hold_until_ms:
                        self._on_price(order, t, price)
            for order in group:
                order.checked_ms = max(order.checked_ms, now_ms)

    def _is_duplicate(self, client_id: str, now_ms: int) -> bool:
        return any(
            o.client_id == client_id and (o.is_open or now_ms - o.update_ms <= self._memory_ms)
            for o in self._orders.values()
        )

    def _lock_funds(self, order: Order, current: Decimal) -> None:
        spec = self._market.spec(order.symbol)
        if order.side == "SELL":
            order.lock_asset, order.lock_unit = spec.base, Decimal(1)
        else:
            order.lock_asset = spec.quote
            order.lock_unit = order.price or order.stop_price or current
        amount = order.orig_qty * order.lock_unit
        try:
            self._ledger.lock(order.lock_asset, amount)
        except InsufficientBalance:
            raise rejected(INSUFFICIENT_BALANCE) from None
        order.locked = amount

    def _on_price(self, order: Order, t: int, price: Decimal) -> None:
        if order.waiting_for_trigger:
            if not _triggers(order, price):
                return
            order.working_ms = t
            order.update_ms = t
            if order.type in MARKET_STOP_TYPES or _marketable(order, price):
                self._execute(order, price, t, maker=False)
            return
        if _marketable(order, price):
            self._execute(order, order.price, t, maker=True)

    def _execute(self, order: Order, price: Decimal, t: int, *, maker: bool) -> None:
        spec = self._market.spec(order.symbol)
        qty = order.remaining
        if order.partial_fraction is not None and order.time_in_force != "FOK":
            qty = min(qty, max(spec.step_size, spec.floor_qty(qty * order.partial_fraction)))
            order.partial_fraction = None
        try:
            self._fill(order, qty, price, t, maker)
        except InsufficientBalance:
            self._finish(order, "EXPIRED", t)
            return
        if order.remaining <= 0:
            self._finish(order, "FILLED", t)
        elif order.type == "MARKET" or order.type in MARKET_STOP_TYPES:
            self._finish(order, "EXPIRED", t)  # what a market order cannot fill expires
        elif order.time_in_force in ("IOC", "FOK"):  # so does the unfilled rest of IOC and FOK
            self._finish(order, "EXPIRED", t)
        else:
            order.hold_until_ms = t + MINUTE_MS

    def _fill(self, order: Order, qty: Decimal, price: Decimal, t: int, maker: bool) -> None:
        spec = self._market.spec(order.symbol)
        quote_amount = qty * price
        release = min(order.locked, qty * order.lock_unit)
        order.locked -= release
        self._ledger.unlock(order.lock_asset, release)
        if order.side == "BUY":
            self._ledger.spend(spec.quote, quote_amount)
            fee, fee_asset = (qty * FEE_RATE).quantize(_FEE_QUANTUM), spec.base
            self._ledger.credit(spec.base, qty - fee)
        else:
            self._ledger.spend(spec.base, qty)
            fee, fee_asset = (quote_amount * FEE_RATE).quantize(_FEE_QUANTUM), spec.quote
            self._ledger.credit(spec.quote, quote_amount - fee)
        trade = Trade(
            trade_id=self._next_trade_id,
            order_id=order.order_id,
            symbol=order.symbol,
            side=order.side,
            price=price,
            qty=qty,
            quote_qty=quote_amount,
            commission=fee,
            commission_asset=fee_asset,
            time_ms=t,
            is_maker=maker,
        )
        self._next_trade_id += 1
        self._trades.append(trade)
        order.fills.append(trade)
        order.executed_qty += qty
        order.cum_quote += quote_amount
        order.status = "PARTIALLY_FILLED"
        order.update_ms = t

    def _finish(self, order: Order, status: str, t: int) -> None:
        order.status = status
        order.update_ms = t
        self._ledger.unlock(order.lock_asset, order.locked)
        order.locked = Decimal(0)
