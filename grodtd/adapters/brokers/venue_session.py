"""The live broker's conversation with one ccxt exchange: what it asks, and how safely.

Reads (look an order up, list trades or open orders, load the markets) go through the
exchange edge (``Edge.call``): retried with backoff on timeouts, 429s, 5xx and dropped
connections, counted in an ``EdgeStatus``. Placing an order is never retried here: after a
timeout or a dropped connection nobody knows whether the exchange took the order, and only
the broker, which looks it up first, may decide to send it again.

"The exchange does not know this order" (Binance -2013, ccxt ``OrderNotFound``) is an answer,
not a failure: a lookup returns None for it and the edge counts a success, so a few lookups of
orders never sent cannot mark the exchange down.

Every exception leaving this module carries a redacted message (``exchange_orders.redact``):
no URL query, so no signature, and never the key or the secret.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import structlog

from grodtd.adapters.brokers.exchange_orders import redact
from grodtd.adapters.markets.exchange.client import ccxt_errors, to_market_symbol
from grodtd.adapters.markets.exchange.edge import Edge, EdgeStatus
from grodtd.core.ports import BrokerError

log = structlog.stdlib.get_logger("grodtd.broker")

DAY_MS = 86_400_000
TRADES_PAGE = 1000  # Binance's largest myTrades page


class Refused(BrokerError):
    """The exchange answered and refused the order: nothing of it is on the exchange."""


class OutcomeUnknown(BrokerError):
    """Sent, but nobody knows whether the exchange has it: look it up before any re-send."""


class VenueSession:
    """One exchange, as the live broker talks to it; symbols in GRODT's notation."""

    def __init__(
        self,
        exchange: Any,
        status: EdgeStatus | None = None,
        *,
        attempts: int = 3,
        max_wait_s: float = 1.0,
        budget_s: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.exchange = exchange
        self.status = status if status is not None else EdgeStatus(str(exchange.id))
        self._secrets = tuple(
            s for s in (getattr(exchange, "apiKey", ""), getattr(exchange, "secret", "")) if s
        )
        self._reads = Edge(
            exchange,
            self.status,
            attempts=attempts,
            max_wait_s=max_wait_s,
            budget_s=budget_s,
            sleep=sleep,
            clock=clock,
        )
        self._once = Edge(exchange, self.status, attempts=1, sleep=sleep, clock=clock)
        self._errors = ccxt_errors()
        self._sleep = sleep

    # -- safety ----------------------------------------------------------------------------

    def safe(self, exc: BaseException) -> str:
        """``exc`` as one line an operator may read: its class and its redacted message."""
        return f"{type(exc).__name__}: {redact(str(exc), self._secrets)}"

    def _redacting[T](self, fn: Callable[..., T]) -> Callable[..., T]:
        def call(*args: Any, **kwargs: Any) -> T:
            try:
                return fn(*args, **kwargs)
            except Exception as exc:
                message = redact(str(exc), self._secrets)
                try:
                    clean = type(exc)(message)
                except Exception:  # an exception class that takes no message: keep its kind
                    clean = self._errors.ExchangeError(message)
                raise clean from None  # the original, with its URL, is not chained

        return call

    def read[T](self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return self._reads.call(what, self._redacting(fn), *args, **kwargs)

    # -- markets -----------------------------------------------------------------------------

    def markets(self, symbols: list[str]) -> dict[str, Mapping[str, Any]]:
        """ccxt's market description of each of ``symbols`` the exchange lists."""
        loaded = self.read("load_markets", self.exchange.load_markets)
        return {s: loaded[to_market_symbol(s)] for s in symbols if to_market_symbol(s) in loaded}

    def currencies(self, symbol: str) -> tuple[str, str]:
        """(base, quote) of ``symbol``, from the loaded markets when there are any."""
        market = (getattr(self.exchange, "markets", None) or {}).get(to_market_symbol(symbol))
        if market:
            return str(market["base"]), str(market["quote"])
        base, _, quote = symbol.partition("-")
        return base, quote

    # -- orders ------------------------------------------------------------------------------

    def find(self, symbol: str, client_id: str) -> dict[str, Any] | None:
        """The exchange's order sent under ``client_id``; None if the exchange has none."""

        def fetch() -> dict[str, Any] | None:
            try:
                found: dict[str, Any] = self.exchange.fetch_order(
                    None, to_market_symbol(symbol), {"clientOrderId": client_id}
                )
            except self._errors.OrderNotFound:
                return None
            return found

        return self.read("fetch_order", fetch)

    def order(self, symbol: str, exchange_id: str) -> dict[str, Any]:
        found: dict[str, Any] = self.read(
            "fetch_order", self.exchange.fetch_order, exchange_id, to_market_symbol(symbol)
        )
        return found

    def place_market(self, symbol: str, side: str, qty: float, client_id: str) -> dict[str, Any]:
        """One attempt at a market order; raises the (redacted) ccxt error on any failure."""
        placed: dict[str, Any] = self._once.call(
            "create_order",
            self._redacting(self.exchange.create_order),
            to_market_symbol(symbol),
            "market",
            side,
            qty,
            None,
            {"clientOrderId": client_id, "newOrderRespType": "FULL"},
        )
        return placed

    def execute(
        self,
        oid: str,
        symbol: str,
        side: str,
        qty: float,
        client_id: str,
        *,
        attempts: int,
        wait_s: float,
    ) -> dict[str, Any]:
        """The exchange's order under ``client_id``: the one it has, else a market order sent
        now; never a second one. Raises ``Refused`` with the exchange's reason,
        ``OutcomeUnknown`` when a send's outcome stays unknown (after ``attempts`` sends, or
        when the lookup after one fails), ``BrokerError`` when the order cannot be looked up
        before anything was sent."""
        last = ""
        for attempt in range(attempts):
            if attempt:
                self._sleep(wait_s * attempt)
            try:
                found = self.find(symbol, client_id)
            except Exception as exc:
                error = OutcomeUnknown if last else BrokerError  # after a send, or before any
                raise error(
                    f"order {oid}: cannot look it up on the exchange ({self.safe(exc)}); "
                    "nothing is sent until it can be"
                ) from None
            if found is not None:
                return found
            try:
                return self.place_market(symbol, side, qty, client_id)
            except Exception as exc:
                last = self.safe(exc)
                if self.is_rejection(exc) and "Duplicate order" not in last:
                    raise Refused(f"order {oid}: the exchange refused it: {last}") from None
                log.warning(
                    "order outcome unknown, looking it up",
                    order_id=oid,
                    symbol=symbol,
                    attempt=attempt + 1,
                    error=last,
                )
        raise OutcomeUnknown(
            f"order {oid}: the exchange did not confirm it after {attempts} attempts "
            f"(last: {last}); it is looked up with every bar and never sent twice"
        )

    def is_rejection(self, exc: BaseException) -> bool:
        """True when the exchange answered and refused (retrying the same request cannot help);
        False when the outcome is unknown (timeout, dropped connection, 5xx, 429)."""
        return not isinstance(exc, self._errors.NetworkError | self._errors.OperationFailed)

    def account(self) -> tuple[dict[str, float], dict[str, Any]]:
        """One read of the account endpoint: the total holding (free and locked) of every
        asset, and what the key may do (Binance: ``canTrade``, ``permissions``; empty when the
        exchange does not say)."""
        found: Mapping[str, Any] = self.read("fetch_balance", self.exchange.fetch_balance)
        totals = found.get("total") or {}
        info = found.get("info") or {}
        return (
            {str(asset): float(amount or 0.0) for asset, amount in totals.items()},
            {k: info[k] for k in ("canTrade", "permissions", "accountType") if k in info},
        )

    def open_orders(self, symbol: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.read(
            "fetch_open_orders", self.exchange.fetch_open_orders, to_market_symbol(symbol)
        )
        return found

    # -- trades ------------------------------------------------------------------------------

    def trades_of(self, symbol: str, exchange_id: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.read(
            "fetch_my_trades",
            self.exchange.fetch_my_trades,
            to_market_symbol(symbol),
            None,
            None,
            {"orderId": exchange_id},
        )
        return found

    def trades_since(self, symbol: str, since_ms: int) -> list[dict[str, Any]]:
        """Every trade of the account in ``symbol`` from ``since_ms`` to the exchange's now,
        oldest first: Binance answers at most 24 hours and 1000 trades per request."""
        now_ms = int(self.read("fetch_time", self.exchange.fetch_time))
        market_symbol = to_market_symbol(symbol)
        seen: dict[str, dict[str, Any]] = {}
        start = since_ms
        while start <= now_ms:
            end = min(start + DAY_MS - 1, now_ms)
            cursor = start
            while True:
                page: list[dict[str, Any]] = self.read(
                    "fetch_my_trades",
                    self.exchange.fetch_my_trades,
                    market_symbol,
                    cursor,
                    TRADES_PAGE,
                    {"endTime": end},
                )
                for trade in page:
                    seen[str(trade["id"])] = trade
                if len(page) < TRADES_PAGE:
                    break
                # Trades of one millisecond may straddle pages: restart from that millisecond
                # (seen ids are kept once), or after it if a whole page shares it.
                last = int(page[-1]["timestamp"])
                cursor = last if last > cursor else last + 1
            start = end + 1
        return sorted(seen.values(), key=lambda t: (int(t["timestamp"]), str(t["id"])))
