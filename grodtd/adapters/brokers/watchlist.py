"""The stops and targets the live broker watches itself, and which of them a bar triggers.

The trigger rule is the paper broker's (``triggers``), so paper and live trading exit on the
same bars, and only on bars after the one that placed the order; a triggered exit drops its
siblings.
"""

from __future__ import annotations

from dataclasses import dataclass

from grodtd.adapters.brokers.triggers import EXIT_PURPOSES, crossed, in_turn, rank
from grodtd.core.models import Bar, Order


@dataclass(slots=True)
class Tracked:
    """An order the live broker holds: watched, or sent and not yet settled."""

    order: Order
    xid: str  # the client id on the exchange
    reference: float | None  # the price its slippage is measured against
    owned: bool = False  # the broker re-sends it (a triggered stop); else the engine decides
    doubtful: bool = False  # a send's outcome is unknown: the exchange may have it
    told_failed: bool = False  # submit raised for it: the engine may have given it up
    requested: float = 0.0  # the engine's quantity, before the venue's lot step floored it


class Watchlist:
    """Watched orders per symbol, in submission order; not thread-safe (the broker locks)."""

    def __init__(self) -> None:
        self._books: dict[str, dict[str, Tracked]] = {}
        self._symbol_of: dict[str, str] = {}

    def __contains__(self, client_order_id: object) -> bool:
        return client_order_id in self._symbol_of

    def add(self, track: Tracked) -> None:
        order = track.order
        self._books.setdefault(order.symbol, {})[order.client_order_id] = track
        self._symbol_of[order.client_order_id] = order.symbol

    def get(self, client_order_id: str) -> Tracked | None:
        symbol = self._symbol_of.get(client_order_id)
        return None if symbol is None else self._books[symbol][client_order_id]

    def remove(self, client_order_id: str) -> Tracked | None:
        symbol = self._symbol_of.pop(client_order_id, None)
        if symbol is None:
            return None
        book = self._books[symbol]
        track = book.pop(client_order_id)
        if not book:
            del self._books[symbol]
        return track

    def ids(self) -> list[str]:
        return list(self._symbol_of)

    def orders(self, symbol: str | None = None) -> list[Order]:
        books = [self._books.get(symbol, {})] if symbol else list(self._books.values())
        return [t.order for book in books for t in book.values()]

    def triggered(self, bar: Bar) -> list[Tracked]:
        """Take out and return what ``bar`` triggers; the siblings of a triggered exit are
        taken out too (the engine cancels them once the exit fills)."""
        book = self._books.get(bar.symbol)
        if not book:
            return []
        hits: list[tuple[int, Order, Tracked]] = []
        for track in book.values():
            order = track.order
            if order.created_ts >= bar.ts or order.price is None:
                continue
            opened_beyond = crossed(order, order.price, bar)
            if opened_beyond is not None:
                hits.append((rank(order, opened_beyond), order, track))
        chosen, exit_done = in_turn(hits)
        for track in chosen:
            self.remove(track.order.client_order_id)
        if exit_done:
            for sibling in [t for t in book.values() if t.order.purpose in EXIT_PURPOSES]:
                self.remove(sibling.order.client_order_id)
        return chosen
