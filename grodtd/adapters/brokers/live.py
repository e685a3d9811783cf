"""A real venue through ccxt: the engine's orders executed on the exchange, its fills real.

``LiveBroker`` implements the ``Broker`` port and ``on_bar`` (``SimulatedBroker``), so the live
runner drives it exactly like the paper broker: shown each closed bar before the engine
processes it, while the engine takes what filled at the start of each bar.

- MARKET orders (entries, trend-break exits) go to the exchange at once, under the order's
  client id as ``newClientOrderId`` (``exchange_orders.exchange_client_id``: Binance allows 36
  characters), the quantity conformed to the venue's rules first (floored to the lot step,
  refused under the minimum quantity or notional with the reason, as the paper broker does).
  A Binance market order never rests (what it cannot fill expires) and is answered with its
  executions, so its fill is known when ``submit`` returns.
- STOP and TARGET (LIMIT) orders are watched by the daemon (``watchlist``: the paper broker's
  trigger rule, stop first, one exit per symbol): when a bar shown through ``on_bar`` crosses
  the level, a market order goes out under that order's id. Watched on closed bars, a stop
  executes up to a bar late and at the market, not at its level (the trade's exit price
  shows it; slippage is measured against the bar's close, the price the decision saw).
  Exchange-side stops (``STOP_LOSS_LIMIT``, OCO lists) are later work: they protect a position
  while the daemon is down, but lock the balance they sell, must be replaced to follow the
  engine and bring partial fills and expiries of their own.

Never sent twice: an order is never sent without first looking its client id up
(``fetch_order`` by ``origClientOrderId``), because Binance refuses a repeated client id only
while the first order is open: a restarted daemon re-submitting a filled entry, or a retry
after a timeout, would otherwise buy twice. What the lookup finds is adopted; only an id the
exchange does not know is sent, under the same id. A send whose outcome is unknown (timeout,
dropped connection, 5xx, 429) is looked up and, if still unknown to the exchange, sent again,
up to ``send_attempts`` times; then ``submit`` raises ``BrokerError`` (the engine counts it
towards its kill switch, rejects an entry, retries an exit with the next bar) and the order
stays in doubt, looked up with every bar until the exchange answers. A refusal raises
``BrokerError`` with the exchange's reason and leaves nothing behind, so a refused exit can be
sent again; an exchange order that ended unfilled raises on every re-submission (its id is
spent).

Fills: one per order (the engine books one), made of its executions (``exchange_orders``:
quantity net of a base-currency fee, fees in quote), slippage against the last close shown
through ``on_bar``, adverse positive as the paper broker signs it. A market order that filled
partly reports what filled; the rest expired. ``reconcile`` (``live_reconcile``) finds fills
the broker never reported and orders it never sent.

Threads: the engine calls ``submit``, ``cancel``, ``take_fills`` and ``on_bar`` on its driving
thread; ``reconcile`` may run on another. The order book and the conversation with the
exchange are under one lock; the fill list has its own, so ``take_fills`` never waits on the
network. Secrets stay in the ccxt client: no message here formats them, and exchange errors
are redacted before they are logged or raised (``venue_session``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import structlog

from grodtd.adapters.brokers.exchange_orders import (
    FINAL_STATUSES,
    exchange_client_id,
    execution_of,
    fill_of,
)
from grodtd.adapters.brokers.live_reconcile import ReconcileReport, reconcile
from grodtd.adapters.brokers.paper import REMEMBERED_FINISHED_ORDERS
from grodtd.adapters.brokers.rails import NotionalRails
from grodtd.adapters.brokers.rules import VenueRules
from grodtd.adapters.brokers.venue_session import OutcomeUnknown, Refused, VenueSession
from grodtd.adapters.brokers.watchlist import Tracked, Watchlist
from grodtd.adapters.markets.exchange.client import open_exchange
from grodtd.adapters.markets.exchange.edge import EdgeStatus
from grodtd.core.models import Bar, Fill, Order, OrderKind, OrderPurpose, Side
from grodtd.core.ports import BrokerError

if TYPE_CHECKING:
    from grodtd.core.ports import SimulatedBroker

log = structlog.stdlib.get_logger("grodtd.broker")

_NO_FILLS: tuple[Fill, ...] = ()


class LiveBroker:
    """Implements ``SimulatedBroker`` on a real exchange (see the module docstring)."""

    def __init__(
        self,
        exchange: Any,
        symbols: Sequence[str],
        *,
        rules: Mapping[str, VenueRules] | None = None,
        send_attempts: int = 3,
        retry_wait_s: float = 0.5,
        status: EdgeStatus | None = None,
        sleep: Callable[[float], None] = time.sleep,
        remember_finished: int = REMEMBERED_FINISHED_ORDERS,
        rails: NotionalRails | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.venue = VenueSession(exchange, status, sleep=sleep)
        self.symbols = tuple(symbols)
        self._rules = dict(rules or {})
        self._send_attempts = max(1, send_attempts)
        self._retry_wait_s = retry_wait_s
        self._io = threading.RLock()  # the order book and the conversation with the exchange
        self._fills_lock = threading.Lock()
        self._fills: list[Fill] = []
        self._watching = Watchlist()
        self._unsettled: dict[str, Tracked] = {}  # sent (or to send), outcome not yet known
        # Filled ids, oldest first, at most remember_finished, with their exchange order ids.
        self._filled: dict[str, str] = {}
        self._remember = remember_finished
        self._last_close: dict[str, float] = {}
        # Per symbol, what exits left on the account under the venue's lot step: the engine
        # closed those positions whole, the exchange would not take the dust.
        self.leftover: dict[str, float] = {}
        self.rails = rails or NotionalRails()
        self._clock = clock

    # -- setup -------------------------------------------------------------------------------

    def set_rules(self, rules: Mapping[str, VenueRules]) -> None:
        """The venue's rules per symbol (``rules.venue_rules`` of ``markets()``)."""
        with self._io:
            self._rules = dict(rules)

    def markets(self) -> dict[str, Mapping[str, Any]]:
        """ccxt's description of each traded symbol's market, to learn its rules from."""
        with self._io:
            return self.venue.markets(list(self.symbols))

    # -- the Broker port ---------------------------------------------------------------------

    def submit(self, order: Order) -> None:
        """Send a market order (looked up first), watch a stop or a target; an id already
        filled or watched is ignored, one in doubt is looked up before anything is sent."""
        oid = order.client_order_id
        with self._io:
            if oid in self._filled or oid in self._watching:
                return
            track = self._unsettled.get(oid)
            if track is None:
                self.rails.check(order, self._last_close.get(order.symbol), self._clock())
                track = Tracked(self._checked(order), exchange_client_id(oid), None)
                track.reference = self._last_close.get(order.symbol)
                track.requested = order.qty
                if order.kind is not OrderKind.MARKET:
                    self._watching.add(track)
                    return
                self._unsettled[oid] = track
            try:
                self._send(track)
            except BrokerError:
                if not track.doubtful and not track.owned:
                    self._unsettled.pop(oid, None)  # nothing on the exchange: may be sent again
                track.told_failed = True
                raise

    def cancel(self, client_order_id: str) -> None:
        """Stop watching a stop or target; a sent market order cannot be cancelled (it filled
        or expired when the exchange took it), but a triggered one is no longer re-sent."""
        with self._io:
            if self._watching.remove(client_order_id) is not None:
                return
            pending = self._unsettled.get(client_order_id)
            if pending is not None:
                pending.owned = False  # only looked up from now on, never sent again

    def take_fills(self) -> Sequence[Fill]:
        """The fills learnt since the last call, in the order they were learnt."""
        with self._fills_lock:
            if not self._fills:
                return _NO_FILLS
            fills, self._fills = self._fills, []
        return fills

    def on_bar(self, bar: Bar) -> None:
        """Settle orders in doubt, then send what ``bar`` triggers among the watched orders.

        Never raises: a failure is logged and the order tried again with the next bar.
        """
        with self._io:
            self._last_close[bar.symbol] = bar.close
            self._settle_unsettled()
            for track in self._watching.triggered(bar):
                track.owned = True
                track.reference = bar.close
                self._unsettled[track.order.client_order_id] = track
                self._try_send(track)

    def reconcile(self, since_ms: int, known: Iterable[str] = ()) -> ReconcileReport:
        """Compare the exchange's open orders and trades since ``since_ms`` with what this
        broker knows (and the ids in ``known``, e.g. the store's): see ``live_reconcile``."""
        with self._io:
            self._settle_unsettled()
            return reconcile(self, since_ms, known)

    # -- reading -----------------------------------------------------------------------------

    def watched_orders(self, symbol: str | None = None) -> list[Order]:
        with self._io:
            return self._watching.orders(symbol)

    def unsettled(self) -> list[str]:
        """Ids sent (or triggered) whose outcome is not settled yet: in doubt, refused and to
        be sent again with the next bar, or still working on the exchange."""
        with self._io:
            return list(self._unsettled)

    def is_filled(self, client_order_id: str) -> bool:
        with self._io:
            return client_order_id in self._filled

    def balances(self) -> dict[str, float]:
        """The account's total holding of each asset (``fetch_balance``)."""
        with self._io:
            return self.venue.account()[0]

    def exchange_time_ms(self) -> int:
        """The exchange's clock (its trades and our orders' bars are in its time)."""
        with self._io:
            return int(self.venue.read("fetch_time", self.venue.exchange.fetch_time))

    def pending_fills(self) -> tuple[Fill, ...]:
        """Fills learnt but not yet taken by the engine (it takes them with the next bar)."""
        with self._fills_lock:
            return tuple(self._fills)

    def in_flight(self, symbol: str) -> bool:
        """Whether an order of ``symbol`` was sent and its outcome is not settled yet."""
        with self._io:
            return any(t.order.symbol == symbol for t in self._unsettled.values())

    def dust(self, symbol: str, price: float | None) -> float:
        """The largest holding of ``symbol``'s base that the venue would not let us sell (under
        its lot step, minimum quantity or minimum notional): what an exit leaves behind."""
        rules = self._rules.get(symbol)
        if rules is None:
            return 0.0
        by_notional = rules.min_notional / price if price and rules.min_notional else 0.0
        return max(rules.qty_step, rules.min_qty, by_notional)

    def left_behind(self, symbol: str, requested: float, executed: float) -> None:
        """An exit for ``requested`` executed ``executed``: a rest under the venue's minimum is
        dust that stays on the account (a larger rest is a position, not dust)."""
        rest = requested - executed
        if 0.0 < rest <= self.dust(symbol, self._last_close.get(symbol)) + 1e-12:
            self.leftover[symbol] = self.leftover.get(symbol, 0.0) + rest

    def last_close(self, symbol: str) -> float | None:
        with self._io:
            return self._last_close.get(symbol)

    # -- for live_reconcile (called with the conversation lock held) --------------------------

    def known_ids(self) -> dict[str, str]:
        """Exchange client id -> GRODT id of every order this broker holds or filled."""
        ids = [*self._filled, *self._unsettled, *self._watching.ids()]
        return {exchange_client_id(oid): oid for oid in ids}

    def filled_exchange_ids(self) -> set[str]:
        return set(self._filled.values())

    def report_found(self, oid: str, symbol: str, side: Side, found: Mapping[str, Any]) -> Fill:
        """Book an exchange order the broker had not reported (found by reconciliation)."""
        track = self._unsettled.get(oid) or self._watching.get(oid)
        fill = self._book(oid, symbol, side, found, track.reference if track else None)
        self._unsettled.pop(oid, None)
        self._watching.remove(oid)
        return fill

    # -- sending -----------------------------------------------------------------------------

    def _checked(self, order: Order) -> Order:
        oid = order.client_order_id
        if not order.qty > 0:
            raise BrokerError(f"order {oid}: qty must be positive, got {order.qty}")
        if order.kind is not OrderKind.MARKET and (order.price is None or not order.price > 0):
            raise BrokerError(
                f"order {oid}: a {order.kind.value} order needs a positive price, got {order.price}"
            )
        rules = self._rules.get(order.symbol)
        if rules is None:
            return order
        return rules.conform(order, self._last_close.get(order.symbol))

    def _send(self, track: Tracked) -> None:
        """Get ``track`` executed exactly once (``VenueSession.execute``) and adopt the
        exchange's answer; BrokerError if refused or still unknown after the attempts."""
        order = track.order
        try:
            found = self.venue.execute(
                order.client_order_id,
                order.symbol,
                order.side.value,
                order.qty,
                track.xid,
                attempts=self._send_attempts,
                wait_s=self._retry_wait_s,
            )
        except OutcomeUnknown:
            track.doubtful = True  # it may be there: looked up before any re-send
            raise
        except Refused:
            track.doubtful = False
            raise
        self._adopt(track, found)

    def _try_send(self, track: Tracked) -> None:
        try:
            self._send(track)
        except BrokerError as exc:
            oid = track.order.client_order_id
            log.error(
                "triggered order not executed",
                order_id=oid,
                symbol=track.order.symbol,
                error=str(exc),
                retry_next_bar=oid in self._unsettled,
            )

    def _settle_unsettled(self) -> None:
        """Look up every order in doubt: adopt what the exchange has; send again what the
        broker owns; forget what the engine was told failed and the exchange never got."""
        for oid, track in list(self._unsettled.items()):
            if track.owned:
                self._try_send(track)
                continue
            try:
                found = self.venue.find(track.order.symbol, track.xid)
            except Exception as exc:
                log.warning("order still in doubt", order_id=oid, error=self.venue.safe(exc))
                continue
            if found is None:
                self._unsettled.pop(oid, None)
                continue
            try:
                self._adopt(track, found)
            except BrokerError as exc:
                log.error("order ended unfilled", order_id=oid, error=str(exc))
                continue
            if track.told_failed and oid in self._filled:
                log.warning(
                    "an order the engine was told had failed filled on the exchange",
                    order_id=oid,
                    symbol=track.order.symbol,
                    hint="reconcile the store with the exchange: the engine may not hold it",
                )

    def _adopt(self, track: Tracked, found: Mapping[str, Any]) -> None:
        """Take the exchange's word for ``track``: its fill once final, else keep asking."""
        order = track.order
        oid = order.client_order_id
        self._unsettled[oid] = track  # until its fill is booked
        if found.get("status") not in FINAL_STATUSES:
            track.owned = False  # the exchange has it: never send it again
            return
        if not float(found.get("filled") or 0.0) > 0:
            self._unsettled.pop(oid, None)
            raise BrokerError(
                f"order {oid}: the exchange ended it ({found.get('status')}) with nothing "
                "filled; its id is spent, a new decision needs a new order"
            )
        try:
            fill = self._book(oid, order.symbol, order.side, found, track.reference)
        except Exception as exc:  # filled, but its trades could not be read: ask again later
            track.owned, track.doubtful = False, True
            log.warning(
                "order filled, its trades not read yet; looked up with the next bar",
                order_id=oid,
                error=self.venue.safe(exc),
            )
            return
        self._unsettled.pop(oid, None)
        if order.purpose is OrderPurpose.ENTRY:
            self.rails.bought(fill.qty * fill.price, fill.ts)
        else:
            self.left_behind(order.symbol, track.requested, fill.qty)
        filled, amount = float(found["filled"]), float(found.get("amount") or 0.0)
        if amount and filled < amount:
            log.warning(
                "order partly filled, the rest expired",
                order_id=oid,
                symbol=order.symbol,
                filled=filled,
                ordered=amount,
            )

    def _book(
        self,
        oid: str,
        symbol: str,
        side: Side,
        found: Mapping[str, Any],
        reference: float | None,
    ) -> Fill:
        """Record the fill of ``found``, a final exchange order that filled something."""
        exchange_id = str(found["id"])
        trades = [t for t in found.get("trades") or () if t.get("amount")]
        if not trades:
            trades = self.venue.trades_of(symbol, exchange_id)
        base, quote = self.venue.currencies(symbol)
        execution = execution_of(trades, base, quote)
        if not execution.executed > 0:
            raise BrokerError(f"order {oid}: the exchange lists no trade for it yet")
        if execution.other_fees:
            log.warning(
                "fee in another asset not converted", order_id=oid, fees=execution.other_fees
            )
        stamp = execution.last_ms or found.get("lastTradeTimestamp") or found.get("timestamp")
        ts_ms = int(stamp) if stamp is not None else int(time.time() * 1000)
        fill = fill_of(oid, symbol, side, execution, reference=reference, ts_ms=ts_ms)
        self._filled[oid] = exchange_id
        if len(self._filled) > self._remember:
            del self._filled[next(iter(self._filled))]
        with self._fills_lock:
            self._fills.append(fill)
        log.info(
            "order filled",
            order_id=oid,
            symbol=symbol,
            side=side.value,
            qty=fill.qty,
            price=fill.price,
            fee=fill.fee,
        )
        return fill


def open_live_broker(
    exchange_id: str,
    symbols: Sequence[str],
    *,
    api_key: str,
    api_secret: str,
    base_url: str | None = None,
    timeout_s: float = 5.0,
    rails: NotionalRails | None = None,
) -> LiveBroker:
    """A ``LiveBroker`` on a fresh ccxt client with the account's key and secret."""
    exchange = open_exchange(
        exchange_id,
        base_url=base_url,
        timeout_s=timeout_s,
        credentials={"apiKey": api_key, "secret": api_secret},
    )
    return LiveBroker(exchange, symbols, rails=rails)


if TYPE_CHECKING:  # mypy proves the live runner can drive it like the paper broker

    def _is_a_simulated_broker(broker: LiveBroker) -> SimulatedBroker:
        return broker
