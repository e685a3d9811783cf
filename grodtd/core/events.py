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
    bar: Bar
    regime: Regime
    # Seconds of CPU wall time from the bar's arrival to the engine's decision being made.
    decision_seconds: float


@dataclass(frozen=True, slots=True)
class OrderSubmitted:
    order: Order


@dataclass(frozen=True, slots=True)
class OrderRejected:
    order: Order
    reason: str


@dataclass(frozen=True, slots=True)
class OrderFilled:
    order: Order
    fill: Fill


@dataclass(frozen=True, slots=True)
class TradeClosed:
    trade: Trade


@dataclass(frozen=True, slots=True)
class RegimeChanged:
    symbol: str
    ts: int
    previous: Regime
    current: Regime


@dataclass(frozen=True, slots=True)
class KillSwitchTripped:
    reason: KillSwitchReason
    detail: str


@dataclass(frozen=True, slots=True)
class EntriesHalted:
    reason: HaltReason
    detail: str


@dataclass(frozen=True, slots=True)
class EntriesResumed:
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
