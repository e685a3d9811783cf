"""Domain events: what the engine tells whoever watches it.

The engine does not know its observers. ``app.py`` registers the metrics, the logs and the
web snapshot; a test registers ``list.append``. Events are frozen so an observer cannot change
what the next one sees.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from grodtd.core.models import (
    Bar,
    Fill,
    HaltReason,
    KillSwitchReason,
    Order,
    Regime,
    Trade,
)


@dataclass(frozen=True, slots=True)
class BarProcessed:
    """The engine finished one bar: its decision is made and durable."""

    bar: Bar
    regime: Regime
    # Seconds of CPU wall time from the bar's arrival to the engine's decision being made.
    decision_seconds: float


@dataclass(frozen=True, slots=True)
class OrderSubmitted:
    """The venue accepted an order (or ignored it as a known re-submission)."""

    order: Order


@dataclass(frozen=True, slots=True)
class OrderRejected:
    """The venue refused an order; an entry is rejected for good, an exit retried."""

    order: Order
    reason: str


@dataclass(frozen=True, slots=True)
class OrderFilled:
    """An order filled; ``order`` carries the FILLED status."""

    order: Order
    fill: Fill


@dataclass(frozen=True, slots=True)
class TradeClosed:
    """A position closed: one round trip, net of both fees."""

    trade: Trade


@dataclass(frozen=True, slots=True)
class RegimeChanged:
    """A symbol's regime changed on the bar at ``ts``."""

    symbol: str
    ts: int
    previous: Regime
    current: Regime


@dataclass(frozen=True, slots=True)
class KillSwitchTripped:
    """A kill switch started holding; entries halt until it clears."""

    reason: KillSwitchReason
    detail: str


@dataclass(frozen=True, slots=True)
class EntriesHalted:
    """A reason to refuse new entries started holding."""

    reason: HaltReason
    detail: str


@dataclass(frozen=True, slots=True)
class EntriesResumed:
    """A reason to refuse new entries stopped holding."""

    reason: HaltReason


Event = (
    BarProcessed
    | OrderSubmitted
    | OrderRejected
    | OrderFilled
    | TradeClosed
    | RegimeChanged
    | KillSwitchTripped
    | EntriesHalted
    | EntriesResumed
)

Observer = Callable[[Event], None]
