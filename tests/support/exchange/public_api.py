"""Public market-data endpoints: what ccxt's load_markets, fetch_time and fetch_ohlcv call."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from .context import ApiRequest, ExchangeState, Route
from .errors import ApiError, invalid_symbol
from .symbols import fmt

KLINES_DEFAULT_LIMIT = 500
KLINES_MAX_LIMIT = 1000
RATE_LIMITS = [
    {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
    {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
    {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
    {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000},
]


def ping(state: ExchangeState, req: ApiRequest) -> dict[str, Any]:
    return {}


def server_time(state: ExchangeState, req: ApiRequest) -> dict[str, Any]:
    return {"serverTime": state.server_ms(req)}


def _requested_ids(state: ExchangeState, req: ApiRequest) -> list[str]:
    """``symbol=X`` or ``symbols=["X","Y"]``; an unknown one fails the whole request."""
    if req.params.get("symbol"):
        wanted = [req.params["symbol"]]
    elif req.params.get("symbols"):
        try:
            wanted = [str(s) for s in json.loads(req.params["symbols"])]
        except (ValueError, TypeError):
            raise ApiError(-1100, "Illegal characters found in parameter 'symbols'.") from None
    else:
        return state.market.market_ids
    if any(s not in state.market.market_ids for s in wanted):
        raise invalid_symbol()
    return wanted


def exchange_info(state: ExchangeState, req: ApiRequest) -> dict[str, Any]:
    return {
        "timezone": "UTC",
        "serverTime": state.server_ms(req),
        "rateLimits": RATE_LIMITS,
        "exchangeFilters": [],
        "symbols": [state.market.spec(i).exchange_info() for i in _requested_ids(state, req)],
    }


def klines(state: ExchangeState, req: ApiRequest) -> list[list[int | str]]:
    symbol = state.symbol(req)
    interval = req.text("interval")
    if interval != "1m":  # the emulator keeps only 1-minute candles
        raise ApiError(-1120, "Invalid interval.")
    start, end = req.optional_int("startTime"), req.optional_int("endTime")
    if start is not None and end is not None and start > end:
        raise ApiError(-1023, "Start time is greater than end time.")
    limit = req.limit(KLINES_DEFAULT_LIMIT, KLINES_MAX_LIMIT)
    gaps = state.faults.take_all({"gap"}, req.path, req.method, symbol)
    reform = state.faults.take({"reform"}, req.path, req.method, symbol)
    if gaps or reform:
        req.fault = "gap" if gaps else "reform"
    candles = state.market.klines(
        symbol,
        now_ms=req.now_ms,
        start_ms=start,
        end_ms=end,
        limit=limit,
        hidden=[(g.start_ms, g.end_ms) for g in gaps],
        reform=None
        if reform is None
        else (Decimal(1) + Decimal(str(reform.percent)) / 100, max(1, reform.depth)),
    )
    return [c.row() for c in candles]


def ticker_price(state: ExchangeState, req: ApiRequest) -> Any:
    """The last price; without ``symbol``, every symbol's (a cheap liveness probe for clients)."""
    symbol = state.optional_symbol(req)
    ids = [symbol] if symbol else state.market.market_ids
    rows = []
    for market_id in ids:
        price = state.market.price(market_id, req.now_ms)
        rows.append({"symbol": market_id, "price": fmt(price or Decimal(0))})
    return rows[0] if symbol else rows


ROUTES: dict[tuple[str, str], Route] = {
    ("GET", "/api/v3/ping"): Route(ping, 1),
    ("GET", "/api/v3/time"): Route(server_time, 1),
    ("GET", "/api/v3/exchangeInfo"): Route(exchange_info, 20),
    ("GET", "/api/v3/klines"): Route(klines, 2),
    ("GET", "/api/v3/ticker/price"): Route(ticker_price, 2),
}
