"""Simulated execution: fills orders against the next bar with slippage and taker fees.

Fill rules, per bar of the order's symbol, only for orders created before that bar (the engine
submits after processing bar t, so bar t itself must never fill them):

- market orders fill at the open, the buyer paying ``slippage_bps`` more, the seller getting
  that much less;
- a stop triggers when the bar trades through its price (sell: low <= price, buy: high >=
  price) and fills at the price or at the open if the bar opened beyond it, minus slippage:
  a gap through a stop costs the gap;
- a limit triggers when the bar reaches its price (sell: high >= price, buy: low <= price) and
  fills at the price or at the better open, without slippage;
- every fill pays ``fee_bps`` of its notional.

It is a venue that simulates its own market: a driver shows it each bar (``on_bar``) before
the engine processes that bar, and the engine takes the fills the bar triggered
(``take_fills``) at the start of processing it. Everything runs on the engine's thread.

Exit orders of one symbol (stop, target, trend break) close the same position, so they are
one-cancels-other here: the first to fill cancels the rest, and a bar can never fill two of
them. When the open already satisfies an order, it filled at the open, first; otherwise the
path inside the bar is unknown and the stop is assumed to come first (the conservative choice).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from grodtd.adapters.brokers.rules import VenueRules
from grodtd.adapters.brokers.triggers import EXIT_PURPOSES, crossed, in_turn, rank
from grodtd.core.models import Bar, Fill, Order, OrderKind, Side
from grodtd.core.ports import BrokerError

# Tie-break among orders triggered inside a bar: stops first, then everything else.


@dataclass(frozen=True, slots=True)
class PaperBrokerParams:
    fee_bps: float = 10.0
    slippage_bps: float = 5.0

    def __post_init__(self) -> None:
        if self.fee_bps < 0 or self.slippage_bps < 0:
            raise ValueError(
                f"paper broker fee_bps ({self.fee_bps}) and slippage_bps "
                f"({self.slippage_bps}) must not be negative"
            )


_NO_FILLS: tuple[Fill, ...] = ()

# How many finished (filled or cancelled) order ids the broker remembers, see PaperBroker.
REMEMBERED_FINISHED_ORDERS = 10_000


class PaperBroker:
    """Implements ``SimulatedBroker``; open orders are kept per symbol so a bar looks at its
    own only.

    Re-submitting an open or recently finished order id is ignored. The engine re-submits only
    the orders its store still holds as pending: live ones, or ones from before a restart, which
    a new broker never saw. So only the newest ``remember_finished`` finished ids are kept:
    remembering every id would grow without end in a daemon that trades for months.
    """

    def __init__(
        self,
        params: PaperBrokerParams | None = None,
        *,
        remember_finished: int = REMEMBERED_FINISHED_ORDERS,
    ) -> None:
        self.params = params if params is not None else PaperBrokerParams()
        self._fee = self.params.fee_bps / 10_000.0
        self._slip = self.params.slippage_bps / 10_000.0
        # symbol -> {client order id -> order}, in submission order.
        self._open: dict[str, dict[str, Order]] = {}
        self._open_symbol: dict[str, str] = {}
        # Finished id -> filled?, oldest first (dicts keep insertion order), at most this many.
        self._finished: dict[str, bool] = {}
        self._remember_finished = remember_finished
        # Fills of the bars shown since the engine last took them, oldest first.
        self._reported: list[Fill] = []
        # A real market's order rules per symbol (none for the simulator), and the last close
        # seen, which prices a market order's notional.
        self._rules: dict[str, VenueRules] = {}
        self._last_close: dict[str, float] = {}

    def set_rules(self, rules: Mapping[str, VenueRules]) -> None:
        """The venue's rules per symbol; may arrive late (once the exchange answers)."""
        self._rules = dict(rules)

    def submit(self, order: Order) -> None:
        """Accept ``order``; an id open or recently finished is ignored (idempotent re-submit)."""
        oid = order.client_order_id
        if oid in self._open_symbol or oid in self._finished:
            return
        if not order.qty > 0:
            raise BrokerError(
                f"order {order.client_order_id}: qty must be positive, got {order.qty}"
            )
        if order.kind is not OrderKind.MARKET and (order.price is None or not order.price > 0):
            raise BrokerError(
                f"order {order.client_order_id}: a {order.kind.value} order needs a positive "
                f"price, got {order.price}"
            )
        rules = self._rules.get(order.symbol)
        if rules is not None:
            order = rules.conform(order, self._last_close.get(order.symbol))
        self._open.setdefault(order.symbol, {})[oid] = order
        self._open_symbol[oid] = order.symbol

    def cancel(self, client_order_id: str) -> None:
        """Remove an open order; unknown, filled or already cancelled ids are a no-op.

        Cancelling siblings after an OCO fill is routine for the engine and must not count
        as a broker error.
        """
        symbol = self._open_symbol.pop(client_order_id, None)
        if symbol is None:
            return
        book = self._open[symbol]
        del book[client_order_id]
        if not book:
            del self._open[symbol]
        self._finish(client_order_id, filled=False)

    def _finish(self, client_order_id: str, *, filled: bool) -> None:
        self._finished[client_order_id] = filled
        if len(self._finished) > self._remember_finished:
            del self._finished[next(iter(self._finished))]

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        """The orders still working, in submission order."""
        if symbol is not None:
            return list(self._open.get(symbol, {}).values())
        return [o for book in self._open.values() for o in book.values()]

    def is_filled(self, client_order_id: str) -> bool:
        """True for a filled order among the open and the remembered finished ones."""
        return self._finished.get(client_order_id, False)

    def take_fills(self) -> Sequence[Fill]:
        """The fills of the bars shown since the last call, in the order they happened."""
        reported = self._reported
        if not reported:
            return _NO_FILLS
        self._reported = []
        return reported

    def on_bar(self, bar: Bar) -> None:
        """Fill what ``bar`` triggers among its symbol's older orders, in the order it happened."""
        if self._rules:
            self._last_close[bar.symbol] = bar.close
        book = self._open.get(bar.symbol)
        if not book:
            return
        # (rank, order, (order, price before slippage, reference price)) of each order the
        # bar fills, ranked and chosen by the rule of ``triggers``.
        hits: list[tuple[int, Order, tuple[Order, float, float]]] | None = None
        for order in book.values():
            if order.created_ts >= bar.ts:
                continue
            triggered = self._trigger(order, bar)
            if triggered is None:
                continue
            price, reference, opened_beyond = triggered
            if hits is None:
                hits = []
            hits.append((rank(order, opened_beyond), order, (order, price, reference)))
        if hits is not None:
            self._fill_hits(book, hits, bar.ts)

    def _fill_hits(
        self,
        book: dict[str, Order],
        hits: list[tuple[int, Order, tuple[Order, float, float]]],
        ts: int,
    ) -> None:
        chosen, exit_done = in_turn(hits)
        fills = self._reported
        for order, price, reference in chosen:
            fills.append(self._fill(order, price, reference, ts))
            self.cancel(order.client_order_id)
            self._finish(order.client_order_id, filled=True)
        if exit_done:
            for sibling in [o for o in book.values() if o.purpose in EXIT_PURPOSES]:
                self.cancel(sibling.client_order_id)

    def _trigger(self, order: Order, bar: Bar) -> tuple[float, float, bool] | None:
        """(price before slippage, reference price, filled at the open) if ``bar`` fills it."""
        open_ = bar.open
        if order.kind is OrderKind.MARKET:
            return open_, open_, True
        level = order.price
        if level is None:  # submit() refuses these; kept for the type checker
            return None
        opened_beyond = crossed(order, level, bar)
        if opened_beyond is None:
            return None
        # Beyond its level at the open, an order fills at the open; else at its level.
        return (open_ if opened_beyond else level), level, opened_beyond

    def _fill(self, order: Order, price: float, reference: float, ts: int) -> Fill:
        # Limits rest on the book and get their price; market and stop orders take liquidity.
        slip = 0.0 if order.kind is OrderKind.LIMIT else self._slip
        if order.side is Side.BUY:
            fill_price = price * (1.0 + slip)
            adverse = fill_price - reference
        else:
            fill_price = price * (1.0 - slip)
            adverse = reference - fill_price
        return Fill(
            client_order_id=order.client_order_id,
            symbol=order.symbol,
            side=order.side,
            qty=order.qty,
            price=fill_price,
            fee=fill_price * order.qty * self._fee,
            ts=ts,
            slippage=adverse,
        )
