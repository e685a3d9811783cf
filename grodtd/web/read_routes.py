"""The read API: what the bot holds and did, and what the dashboard's charts draw.

Every list that can grow without bound is a page (``items``, ``total``, ``limit``,
``offset``, newest first) with the same limits; the two chart feeds are bounded by what they
keep (the candle ring buffer) or by the points asked for (the downsampled equity history).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BeforeValidator, Field

from grodtd.core.models import OrderStatus
from grodtd.web.chart_schemas import CandlesOut, EquityHistoryOut, candles_json, equity_history_json
from grodtd.web.contracts import DaemonView
from grodtd.web.schemas import (
    EquityPointOut,
    FillPage,
    OrderPage,
    PositionOut,
    StatusOut,
    TradePage,
    equity_out,
    fill_out,
    order_out,
    position_out,
    status_out,
    trade_out,
)

MAX_PAGE = 500
MAX_OFFSET = 1_000_000_000
MAX_EQUITY_POINTS = 10_000
MAX_CANDLES = 5_000
# Upper bound for an epoch ``since``: year 9999, the last instant ISO 8601 can express.
MAX_EPOCH = 253_402_300_799

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page size, 1..500.")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Items to skip, newest first.")]
SymbolFilter = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9._/:-]+$",
        description="Only this symbol, in GRODT's notation (BTC-USDT).",
    ),
]


def _not_a_number(value: object) -> object:
    # pydantic reads "-1" as a datetime (epoch -1 s); a number must go through the int branch
    # and its bounds, so only real ISO strings may become datetimes.
    if isinstance(value, str):
        try:
            float(value)  # "5", "-1", "1e9", "-2.2e-309", "nan": all numbers, none ISO times
        except ValueError:
            return value
        raise ValueError("a numeric since is whole epoch seconds: 0..253402300799")
    return value


Since = Annotated[
    Annotated[int, Field(ge=0, le=MAX_EPOCH)]
    | Annotated[datetime, BeforeValidator(_not_a_number)]
    | None,
    Query(
        description="Only points at or after this time: epoch seconds or an ISO 8601 time "
        "(UTC if no offset is given).",
    ),
]


def _since_ts(since: int | datetime | None) -> int | None:
    if since is None:
        return None
    if isinstance(since, datetime):
        aware = since if since.tzinfo is not None else since.replace(tzinfo=UTC)
        return int(aware.timestamp())
    return since


def read_routes(view: DaemonView) -> APIRouter:
    router = APIRouter(tags=["read"])

    @router.get("/api/v1/status", response_model=StatusOut)
    async def status() -> StatusOut:
        return status_out(view.snapshot(), view.build_info(), view.intent(), view.market_source())

    @router.get("/api/v1/positions", response_model=list[PositionOut])
    async def positions() -> list[PositionOut]:
        return [position_out(p) for p in view.snapshot().positions]

    @router.get("/api/v1/orders", response_model=OrderPage)
    def orders(
        limit: Limit = 50,
        offset: Offset = 0,
        status: Annotated[
            list[OrderStatus] | None,
            Query(description="Only orders in these states (repeatable); pending = open."),
        ] = None,
        symbol: SymbolFilter = None,
    ) -> OrderPage:
        statuses = frozenset(status) if status else None
        page = view.orders(limit, offset, statuses=statuses, symbol=symbol)
        return OrderPage(
            items=[order_out(o) for o in page.items], total=page.total, limit=limit, offset=offset
        )

    @router.get("/api/v1/fills", response_model=FillPage)
    def fills(limit: Limit = 50, offset: Offset = 0) -> FillPage:
        page = view.fills(limit, offset)
        return FillPage(
            items=[fill_out(f) for f in page.items], total=page.total, limit=limit, offset=offset
        )

    @router.get("/api/v1/trades", response_model=TradePage)
    def trades(limit: Limit = 50, offset: Offset = 0, symbol: SymbolFilter = None) -> TradePage:
        page = view.trades(limit, offset, symbol=symbol)
        return TradePage(
            items=[trade_out(t) for t in page.items], total=page.total, limit=limit, offset=offset
        )

    @router.get("/api/v1/equity", response_model=list[EquityPointOut])
    def equity(
        limit: Annotated[int, Query(ge=1, le=MAX_EQUITY_POINTS)] = 500,
        since: Since = None,
    ) -> list[EquityPointOut]:
        """The most recent ``limit`` equity snapshots at or after ``since``, oldest first."""
        return [equity_out(e) for e in view.equity_curve(limit, _since_ts(since))]

    @router.get("/api/v1/equity/history", response_model=EquityHistoryOut)
    def equity_history(
        points: Annotated[
            int, Query(ge=1, le=MAX_EQUITY_POINTS, description="Most points to return.")
        ] = 1000,
        since: Since = None,
    ) -> Response:
        """The whole equity curve (or since ``since``) in at most ``points`` even buckets."""
        return _json(equity_history_json(view.equity_history(points, _since_ts(since)), points))

    @router.get("/api/v1/candles", response_model=CandlesOut)
    def candles(
        symbol: SymbolFilter = None,
        limit: Annotated[
            int, Query(ge=1, le=MAX_CANDLES, description="Newest bars to return.")
        ] = 500,
        since: Since = None,
    ) -> Response:
        """Recent bars with VWAP and EMAs; without ``symbol``, the first symbol's.

        A chart polls with ``since`` = its newest bar's ``ts``: it gets that bar (it may have
        been still forming) and the ones after it, not the whole window again.
        """
        symbols = view.candle_symbols()
        chosen = symbol or (symbols[0] if symbols else "")
        found = view.candles(chosen, limit, _since_ts(since)) if chosen else []
        return _json(candles_json(chosen, symbols, limit, found))

    return router


def _json(body: bytes) -> Response:
    """An answer already in JSON (``chart_schemas``); its schema is the ``response_model``."""
    return Response(content=body, media_type="application/json")
