"""Signed account and order endpoints (the server checks the signature before these run)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from .clock import MINUTE_MS
from .context import ApiRequest, ExchangeState, Route
from .errors import INSUFFICIENT_BALANCE, ApiError, illegal, missing, rejected
from .matching import OrderRequest
from .orders import FEE_RATE, LIMIT_TYPES, STOP_TYPES, Order, trade_view
from .symbols import ORDER_TYPES, fmt

_CLIENT_ID = re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$")
_CLIENT_ID_PATTERN = r"^[\.A-Z\:/a-z0-9_-]{1,36}$"
_DAY_MS = 24 * 60 * MINUTE_MS
LIST_DEFAULT_LIMIT = 500
LIST_MAX_LIMIT = 1000


def _client_id(req: ApiRequest, name: str) -> str | None:
    value = req.params.get(name, "")
    if value == "":
        return None
    if not _CLIENT_ID.match(value):
        raise illegal(name, _CLIENT_ID_PATTERN)
    return value


def _order_request(state: ExchangeState, req: ApiRequest) -> OrderRequest:
    symbol = state.symbol(req)
    side = req.text("side")
    if side not in ("BUY", "SELL"):
        raise ApiError(-1117, "Invalid side.")
    kind = req.text("type")
    if kind not in ORDER_TYPES:
        raise ApiError(-1116, "Invalid orderType.")
    tif = req.params.get("timeInForce") or None
    if kind in LIMIT_TYPES and kind != "LIMIT_MAKER":
        if tif is None:
            raise missing("timeInForce")
        if tif not in ("GTC", "IOC", "FOK"):
            raise ApiError(-1115, "Invalid timeInForce.")
    quantity, quote_qty = req.optional_decimal("quantity"), req.optional_decimal("quoteOrderQty")
    if kind == "MARKET":
        if quantity is None and quote_qty is None:
            raise ApiError(
                -1102, "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!"
            )
    elif quantity is None:
        raise missing("quantity")
    price, stop = req.optional_decimal("price"), req.optional_decimal("stopPrice")
    if kind in LIMIT_TYPES and price is None:
        raise missing("price")
    if kind in STOP_TYPES and stop is None:
        raise missing("stopPrice")
    return OrderRequest(
        symbol=symbol,
        side=side,
        type=kind,
        time_in_force=tif,
        quantity=quantity,
        quote_qty=quote_qty,
        price=price,
        stop_price=stop,
        client_id=_client_id(req, "newClientOrderId"),
    )


def new_order(state: ExchangeState, req: ApiRequest) -> dict[str, Any]:
    order_req = _order_request(state, req)
    path, method, symbol = req.path, req.method, order_req.symbol
    if state.faults.take({"reject"}, path, method, symbol):
        req.fault = "reject"
        raise rejected(INSUFFICIENT_BALANCE)
    partial = state.faults.find({"partial"}, path, method, symbol)
    fraction = Decimal(str(partial[0].fraction)) if partial else None
    order = state.engine.place(order_req, req.now_ms, partial=fraction)
    if partial:
        state.faults.consume(partial[0])
        req.fault = "partial"
    if state.faults.take({"lost_response"}, path, method, symbol):
        req.fault = "lost_response"
        req.drop_response = True
    resp_type = req.params.get("newOrderRespType") or (
        "FULL" if order.type in ("MARKET", "LIMIT") else "ACK"
    )
    return order.placed(resp_type, req.now_ms)


def _find(state: ExchangeState, req: ApiRequest, unknown: ApiError) -> Order:
    symbol = state.symbol(req)
    order_id = req.optional_int("orderId")
    client_id = req.params.get("origClientOrderId") or None
    if order_id is None and client_id is None:
        raise ApiError(
            -1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!"
        )
    return state.engine.find(symbol, order_id, client_id, unknown=unknown)


def query_order(state: ExchangeState, req: ApiRequest) -> dict[str, Any]:
    return _find(state, req, ApiError(-2013, "Order does not exist.")).view()


def cancel_order(state: ExchangeState, req: ApiRequest) -> dict[str, Any]:
    order = _find(state, req, ApiError(-2011, "Unknown order sent."))
    state.engine.cancel(order, req.now_ms)
    cancel_id = _client_id(req, "newClientOrderId") or f"emu-cancel-{order.order_id}"
    return order.canceled(cancel_id, req.now_ms)


def cancel_open_orders(state: ExchangeState, req: ApiRequest) -> list[dict[str, Any]]:
    symbol = state.symbol(req)
    open_orders = [o for o in state.engine.orders(symbol) if o.is_open]
    if not open_orders:
        raise ApiError(-2011, "Unknown order sent.")
    for order in open_orders:
        state.engine.cancel(order, req.now_ms)
    return [o.canceled(f"emu-cancel-{o.order_id}", req.now_ms) for o in open_orders]


def open_orders(state: ExchangeState, req: ApiRequest) -> list[dict[str, Any]]:
    symbol = state.optional_symbol(req)
    return [o.view() for o in state.engine.orders(symbol) if o.is_open]


def _window(req: ApiRequest) -> tuple[int | None, int | None]:
    start, end = req.optional_int("startTime"), req.optional_int("endTime")
    if start is not None and end is not None and end - start > _DAY_MS:
        raise ApiError(-1127, "More than 24 hours between startTime and endTime.")
    return start, end


def all_orders(state: ExchangeState, req: ApiRequest) -> list[dict[str, Any]]:
    symbol = state.symbol(req)
    from_id = req.optional_int("orderId")
    start, end = _window(req)
    limit = req.limit(LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT)
    rows = [
        o
        for o in state.engine.orders(symbol)
        if (from_id is None or o.order_id >= from_id)
        and (start is None or o.time_ms >= start)
        and (end is None or o.time_ms <= end)
    ]
    # From an id or a start time: the oldest first; otherwise the most recent ones.
    picked = rows[:limit] if from_id is not None or start is not None else rows[-limit:]
    return [o.view() for o in picked]


def my_trades(state: ExchangeState, req: ApiRequest) -> list[dict[str, Any]]:
    symbol = state.symbol(req)
    order_id, from_id = req.optional_int("orderId"), req.optional_int("fromId")
    start, end = _window(req)
    if from_id is not None and (start is not None or end is not None):
        raise ApiError(-1128, "Combination of optional parameters invalid.")
    limit = req.limit(LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT)
    rows = [
        t
        for t in state.engine.trades(symbol)
        if (order_id is None or t.order_id == order_id)
        and (from_id is None or t.trade_id >= from_id)
        and (start is None or t.time_ms >= start)
        and (end is None or t.time_ms <= end)
    ]
    picked = rows[:limit] if from_id is not None or start is not None else rows[-limit:]
    return [trade_view(t) for t in picked]


def account(state: ExchangeState, req: ApiRequest) -> dict[str, Any]:
    omit_zero = req.params.get("omitZeroBalances", "").lower() == "true"
    balances = [
        {"asset": asset, "free": fmt(free), "locked": fmt(locked)}
        for asset, (free, locked) in state.ledger.snapshot().items()
        if not (omit_zero and free == 0 and locked == 0)
    ]
    bps = int(FEE_RATE * 10_000)
    rate = fmt(FEE_RATE)
    return {
        "makerCommission": bps,
        "takerCommission": bps,
        "buyerCommission": 0,
        "sellerCommission": 0,
        "commissionRates": {
            "maker": rate,
            "taker": rate,
            "buyer": fmt(Decimal(0)),
            "seller": fmt(Decimal(0)),
        },
        "canTrade": True,
        "canWithdraw": False,
        "canDeposit": False,
        "brokered": False,
        "requireSelfTradePrevention": False,
        "preventSor": False,
        "updateTime": req.now_ms,
        "accountType": "SPOT",
        "balances": balances,
        "permissions": ["SPOT"],
        "uid": 1,
    }


ROUTES: dict[tuple[str, str], Route] = {
    ("POST", "/api/v3/order"): Route(new_order, 1, signed=True),
    ("GET", "/api/v3/order"): Route(query_order, 4, signed=True),
    ("DELETE", "/api/v3/order"): Route(cancel_order, 1, signed=True),
    ("GET", "/api/v3/openOrders"): Route(open_orders, 6, signed=True),
    ("DELETE", "/api/v3/openOrders"): Route(cancel_open_orders, 1, signed=True),
    ("GET", "/api/v3/allOrders"): Route(all_orders, 20, signed=True),
    ("GET", "/api/v3/myTrades"): Route(my_trades, 20, signed=True),
    ("GET", "/api/v3/account"): Route(account, 20, signed=True),
}
