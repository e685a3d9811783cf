"""What the web interface may see of the daemon and how it may steer it.

``web_app`` depends on these protocols only; ``app.py`` implements them over the engine's
snapshot, the store's read side and the health checks. So the web layer never imports an
adapter, and a test can serve it any object with these methods.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from grodtd.core.models import EquitySnapshot, Fill, OperatorIntent, Order, OrderStatus, Trade
from grodtd.core.ports import Page
from grodtd.core.snapshot import EngineSnapshot
from grodtd.ops.health import CheckResult, HealthReport
from grodtd.ops.version import BuildInfo


@dataclass(frozen=True, slots=True)
class ControlOutcome:
    """What became of an operator command: obeyed at once, and durable if the store took it."""

    intent: OperatorIntent
    durable: bool
    detail: str = ""


@dataclass(frozen=True, slots=True)
class MarketSource:
    """Where the bars come from: ``sim``, ``replay`` or ``exchange`` (then ``venue`` is the
    ccxt exchange id), for the status API and the dashboard."""

    source: Literal["sim", "replay", "exchange"]
    venue: str | None = None
    # Whether orders are real: paper (simulated fills) or live (on the venue).
    trading: Literal["paper", "live"] = "paper"


@dataclass(frozen=True, slots=True)
class Candle:
    """One bar with the indicator values the strategy saw at its close (None while seeding)."""

    ts: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    vwap: float
    ema_fast: float | None
    ema_slow: float | None


@dataclass(frozen=True, slots=True)
class EquityHistory:
    """The equity curve since the first bar, downsampled, and the capital it started from."""

    initial_cash: float
    points: list[EquitySnapshot]


class OperatorControl(Protocol):
    """The one narrow way the web interface steers the daemon.

    The engine obeys from its next bar; the intent is written to the store first, so a pause
    outlives a restart (``durable`` says whether that write succeeded).
    """

    def pause(self, by: str, reason: str) -> ControlOutcome:
        """Stop opening positions; exits, stops and targets keep working."""
        ...

    def resume(self, by: str, reason: str) -> ControlOutcome:
        """Allow entries again and clear latched kill switches (the operator has looked)."""
        ...

    def flatten(self, by: str, reason: str) -> ControlOutcome:
        """Pause entries, then close every open position at market now."""
        ...


class DaemonView(Protocol):
    def build_info(self) -> BuildInfo: ...

    def market_source(self) -> MarketSource: ...

    def snapshot(self) -> EngineSnapshot: ...

    def intent(self) -> OperatorIntent:
        """The operator's standing intent (paused since when, by whom, why)."""
        ...

    def liveness(self) -> HealthReport: ...

    def readiness(self) -> HealthReport: ...

    def orders(
        self,
        limit: int,
        offset: int,
        *,
        statuses: frozenset[OrderStatus] | None = None,
        symbol: str | None = None,
    ) -> Page[Order]: ...

    def fills(self, limit: int, offset: int) -> Page[Fill]: ...

    def trades(self, limit: int, offset: int, *, symbol: str | None = None) -> Page[Trade]: ...

    def equity_curve(self, limit: int, since_ts: int | None = None) -> list[EquitySnapshot]: ...

    def equity_history(self, points: int, since_ts: int | None = None) -> EquityHistory:
        """At most ``points`` snapshots spanning the whole history, oldest first."""
        ...

    def candle_symbols(self) -> tuple[str, ...]:
        """The symbols that have candles in memory."""
        ...

    def candles(self, symbol: str, limit: int, since_ts: int | None = None) -> list[Candle]:
        """The newest ``limit`` candles of ``symbol`` at or after ``since_ts`` kept in memory,
        oldest first."""
        ...


__all__ = [
    "BuildInfo",
    "Candle",
    "CheckResult",
    "ControlOutcome",
    "DaemonView",
    "EquityHistory",
    "HealthReport",
    "OperatorControl",
]
