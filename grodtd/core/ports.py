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


class RegimeOracle(Protocol):
    """A data source that knows the regime it generated (the simulator); used for scoring."""

    def true_regime(self, symbol: str, ts: int) -> Regime: ...


class BrokerError(Exception):
    """The broker refused or failed an operation; repeated errors trip a kill switch."""


class Broker(Protocol):
    """Executes orders. The paper broker fills against the next bar.

    ``submit`` must be idempotent by client order id: after a crash the engine re-submits the
    pending intents it finds in the store and must never get a second fill for one of them.
    """

    def submit(self, order: Order) -> None: ...

    def cancel(self, client_order_id: str) -> None: ...

    def on_bar(self, bar: Bar) -> list[Fill]:
        """Advance to ``bar``: fill what it triggers, in order (stop before target)."""
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
