"""The read-only picture of the engine that the web interface and metrics look at.

The engine builds a new ``EngineSnapshot`` after each processed bar and swaps it in whole;
readers never see a half-updated state and never touch the engine's mutable internals.
Commands go the other way through ``Control``, applied by the engine between bars.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from grodtd.core.models import HaltReason, KillSwitchReason, Position, Regime


@dataclass(frozen=True, slots=True)
class PositionView:
    """An open position with the price it is marked at and its unrealized PnL."""

    position: Position
    last_price: float
    unrealized_pnl: float


@dataclass(frozen=True, slots=True)
class EngineSnapshot:
    """The engine after one bar, frozen: what the web view and the metrics read."""

    ts: int = 0  # open time of the last processed bar, epoch seconds
    bars_processed: int = 0
    equity: float = 0.0
    cash: float = 0.0
    realized_pnl: float = 0.0
    unrealized_pnl: float = 0.0
    fees: float = 0.0
    peak_equity: float = 0.0
    drawdown: float = 0.0  # fraction below the peak, 0..1
    day_start_equity: float = 0.0
    positions: tuple[PositionView, ...] = ()
    regimes: dict[str, Regime] = field(default_factory=dict)
    last_prices: dict[str, float] = field(default_factory=dict)
    last_bar_ts: dict[str, int] = field(default_factory=dict)
    strategies_enabled: dict[str, bool] = field(default_factory=dict)
    paused: bool = False
    halts: tuple[tuple[HaltReason, str], ...] = ()  # why new entries are refused, if they are
    kill_switches: tuple[tuple[KillSwitchReason, str], ...] = ()
    loss_streak: int = 0
    cooldown_until: int = 0

    @property
    def trading_halted(self) -> bool:
        return bool(self.halts)


class Control(Protocol):
    """The one narrow way to steer a running engine; applied between bars."""

    def pause(self) -> None:
        """Stop opening positions; exits, stops and targets keep working."""
        ...

    def resume(self) -> None:
        """Allow entries again and clear latched kill switches (the operator has looked)."""
        ...
