"""The boundaries of the domain: what the engine needs from the world, as protocols.

Adapters implement these; the engine and the backtest runner depend only on them, so the same
strategy and risk code runs against the simulator, a CSV replay, the paper broker or a future
exchange adapter.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from grodtd.core.models import (
    Bar,
    Checkpoint,
    EquitySnapshot,
    Fill,
    OperatorIntent,
    Order,
    Position,
    Regime,
    Trade,
)


class MarketData(Protocol):
    """A stream of bars in time order, interleaved across symbols.

    ``bars(after)`` resumes strictly after the given per-symbol open times, so a restarted
    daemon continues the same path where it stopped (the simulator is seeded; a replay skips).
    """

    symbols: Sequence[str]

    def bars(self, after: dict[str, int] | None = None) -> Iterator[Bar]: ...


class LiveMarket(MarketData, Protocol):
    """A market in real time (an exchange): bars come when they close, and after an outage
    the missed ones come late, from history. Such bars must not open positions."""

    def fresh(self, bar: Bar) -> bool:
        """True if ``bar`` arrived while it was recent: the engine may enter on it."""
        ...

    def problem(self) -> str | None:
        """Why the market cannot be relied on right now (for readiness); None if it can."""
        ...


class RegimeOracle(Protocol):
    """A data source that knows the regime it generated (the simulator); used for scoring."""

    def true_regime(self, symbol: str, ts: int) -> Regime: ...


class BrokerError(Exception):
    """The broker refused or failed an operation; repeated errors trip a kill switch."""


class Broker(Protocol):
    """The venue that executes the engine's orders and reports what filled.

    The engine hands orders over with ``submit`` and ``cancel`` and asks for executions with
    ``take_fills``: the venue reports fills when they happen, the engine applies them when it
    asks, so no venue has to know the engine's clock. A simulated venue (the paper broker)
    fills while it is shown the market; a live one learns of fills from the exchange.

    Threading rule: the engine calls ``submit``, ``cancel`` and ``take_fills`` under its lock
    and only on the one thread that drives it (the thread that calls ``Engine.process`` and
    ``Engine.settle_fills``; a simulated venue's ``on_bar`` runs there too), so these calls
    never overlap. A live venue may record fills from a thread of its own (its websocket
    reader) at any time; ``take_fills`` must then be safe against that thread (a lock or a
    queue) and hand every fill over exactly once, oldest first: one recorded while it runs
    comes with this call or the next, never with neither. The engine takes fills at the start
    of every bar and, between bars, whenever the driver calls ``Engine.settle_fills`` (on the
    driving thread, never on the venue's: the reader signals, the driver settles).

    ``submit`` must be idempotent by client order id: after a crash the engine re-submits the
    pending intents it finds in the store and must never get a second fill for one of them.
    """

    def submit(self, order: Order) -> None: ...

    def cancel(self, client_order_id: str) -> None: ...

    def take_fills(self) -> Sequence[Fill]:
        """The fills reported since the last call, oldest first (the venue keeps none of
        them and never changes what it returned)."""
        ...


class SimulatedBroker(Broker, Protocol):
    """A venue that is its own market simulator: it fills against the bars it is shown.

    Drivers (the backtest runner, the live runner on paper, test rigs) show it each bar
    BEFORE the engine processes that bar, so the fills that bar triggers are taken at the
    start of its processing, as a live venue's fills are taken at the start of the next bar.
    """

    def on_bar(self, bar: Bar) -> None:
        """Record what ``bar`` fills among its symbol's older orders (stop before target)."""
        ...


@dataclass(frozen=True, slots=True)
class UnitOfWork:
    """Everything one processed bar changed, written by the store in one transaction.

    Orders are upserted by client order id; a position with qty 0 is a closed one to delete.
    """

    checkpoint: Checkpoint
    orders: tuple[Order, ...] = ()
    fills: tuple[Fill, ...] = ()
    trades: tuple[Trade, ...] = ()
    positions: tuple[Position, ...] = ()
    equity: EquitySnapshot | None = None


@dataclass(frozen=True, slots=True)
class RecoveredState:
    """What a restarting engine reads back from the store."""

    checkpoint: Checkpoint | None = None
    positions: tuple[Position, ...] = ()
    open_orders: tuple[Order, ...] = ()
    recent_trades: tuple[Trade, ...] = field(default_factory=tuple)
    intent: OperatorIntent = field(default_factory=OperatorIntent)


class Store(Protocol):
    """Where the engine's durable state lives: one transaction per processed bar."""

    def load(self) -> RecoveredState: ...

    def commit(self, unit: UnitOfWork) -> None:
        """Persist ``unit`` atomically: after a crash either all of it is there or none."""
        ...


@dataclass(frozen=True, slots=True)
class Page[T]:
    """One page of a newest-first listing from the store."""

    items: tuple[T, ...]
    total: int
    limit: int
    offset: int


class StoreReader(Protocol):
    """The store's read side, used by the web interface through the daemon view."""

    def list_orders(self, limit: int, offset: int) -> Page[Order]: ...

    def list_fills(self, limit: int, offset: int) -> Page[Fill]: ...

    def list_trades(self, limit: int, offset: int) -> Page[Trade]: ...

    def list_equity(self, limit: int, since_ts: int | None = None) -> list[EquitySnapshot]:
        """The most recent ``limit`` snapshots at or after ``since_ts``, oldest first."""
        ...

    def check_writable(self) -> None:
        """Raise ``OSError`` or the driver's error if a write cannot be committed now."""
        ...
