"""The trading domain's value types.

Everything here is a small frozen value so that events, snapshots and the store can hand them
around without defensive copies. Timestamps are integer seconds since the Unix epoch (UTC):
the hot path of a backtest touches millions of bars and datetime objects would dominate it;
conversion to datetime happens at the edges (API, logs, store).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

SECONDS_PER_DAY = 86_400


def day_of(ts: int) -> int:
    """The UTC day number of an epoch timestamp: daily VWAP and daily loss caps reset on it."""
    return ts // SECONDS_PER_DAY


class Side(StrEnum):
    """Which way an order or a fill goes."""

    BUY = "buy"
    SELL = "sell"


class OrderKind(StrEnum):
    """How an order executes: at market, when a stop is crossed, or at a limit price."""

    MARKET = "market"
    STOP = "stop"
    LIMIT = "limit"


class OrderStatus(StrEnum):
    """Where an order is in its life; only PENDING orders are live."""

    # The intent is durable in the store but the broker has not acknowledged it yet: after a
    # crash such an order is re-submitted under the same client order id, never re-created.
    PENDING = "pending"
    FILLED = "filled"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class OrderPurpose(StrEnum):
    """Why the engine placed an order; it names the client order id's last part."""

    ENTRY = "entry"
    STOP = "stop"
    TARGET = "target"
    TREND_BREAK = "trend_break"
    FLATTEN = "flatten"  # the operator closed every position (``grodt flatten``)


class Regime(StrEnum):
    """The kind of market a symbol is in, as the regime classifier sees it."""

    TRENDING_UP = "trending_up"
    TRENDING_DOWN = "trending_down"
    RANGING = "ranging"
    HIGH_VOLATILITY = "high_volatility"
    TRANSITION = "transition"


class TradeOutcome(StrEnum):
    """How a closed trade ended, by the sign of its net PnL."""

    WIN = "win"
    LOSS = "loss"
    BREAKEVEN = "breakeven"


class KillSwitchReason(StrEnum):
    """What tripped a kill switch; each one halts new entries until it clears."""

    STALE_MARKET_DATA = "stale_market_data"
    BROKER_ERRORS = "broker_errors"
    ABNORMAL_SLIPPAGE = "abnormal_slippage"
    # Live trading: the exchange's balances disagree with the positions the store holds.
    ACCOUNT_MISMATCH = "account_mismatch"


class HaltReason(StrEnum):
    """Why new entries are refused (exits always go through): the one encoding of a halt.

    The risk manager answers "which halts hold" as a ``frozenset`` of these and "why" as
    (reason, detail) pairs; there are no bit masks beside it. It stays a ``StrEnum`` rather
    than an ``enum.Flag`` because its value IS the contract outside the core: the API
    serialises ``reason.value`` ("paused", "daily_loss_cap", ...), the metrics label
    ``grodt_halt_active`` with it and the JSON logs write it, while a Flag's value is its bit.
    """

    PAUSED = "paused"
    DAILY_LOSS_CAP = "daily_loss_cap"
    COOLDOWN = "cooldown"
    KILL_SWITCH = "kill_switch"
    SHUTTING_DOWN = "shutting_down"


@dataclass(frozen=True, slots=True)
class Bar:
    """One OHLCV bar; ``ts`` is the bar's open time in epoch seconds (UTC)."""

    symbol: str
    ts: int
    open: float
    high: float
    low: float
    close: float
    volume: float


@dataclass(frozen=True, slots=True)
class Order:
    """One order as the engine decided it; a settled copy carries its final status."""

    client_order_id: str
    symbol: str
    side: Side
    kind: OrderKind
    purpose: OrderPurpose
    qty: float
    created_ts: int
    strategy: str
    status: OrderStatus = OrderStatus.PENDING
    # Trigger price of a stop or limit order; None for market orders.
    price: float | None = None
    # Protective levels chosen at entry; the engine arms them once the entry fills.
    stop_price: float | None = None
    target_price: float | None = None
    reason: str = ""

    def with_status(self, status: OrderStatus, reason: str | None = None) -> Order:
        """This order with a new status (and reason): what the store and events record.

        Spelled out instead of ``dataclasses.replace``, which costs twice as much and runs
        for every fill and cancel of a backtest; ``test_models`` proves it copies every field.
        """
        return Order(
            client_order_id=self.client_order_id,
            symbol=self.symbol,
            side=self.side,
            kind=self.kind,
            purpose=self.purpose,
            qty=self.qty,
            created_ts=self.created_ts,
            strategy=self.strategy,
            status=status,
            price=self.price,
            stop_price=self.stop_price,
            target_price=self.target_price,
            reason=self.reason if reason is None else reason,
        )


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution reported by the venue; the broker fills whole orders."""

    client_order_id: str
    symbol: str
    side: Side
    qty: float
    price: float
    fee: float
    ts: int
    # Signed price difference against the reference (the price the order expected), in quote
    # currency per unit, adverse is positive: the abnormal-slippage kill switch watches it.
    slippage: float = 0.0


@dataclass(frozen=True, slots=True)
class Position:
    """An open position; ``qty`` is signed (negative for a short)."""

    symbol: str
    qty: float
    avg_price: float
    opened_ts: int
    strategy: str
    stop_price: float
    target_price: float
    # Fees paid on the entry, carried so that a closed trade reports its PnL net of all fees.
    entry_fees: float = 0.0
    entry_order_id: str = ""

    def flattened(self) -> Position:
        """This position with qty 0: the record that tells the store to delete it."""
        return Position(
            symbol=self.symbol,
            qty=0.0,
            avg_price=self.avg_price,
            opened_ts=self.opened_ts,
            strategy=self.strategy,
            stop_price=self.stop_price,
            target_price=self.target_price,
            entry_fees=self.entry_fees,
            entry_order_id=self.entry_order_id,
        )


@dataclass(frozen=True, slots=True)
class Trade:
    """A closed round trip: entry and exit, with PnL net of both fees."""

    symbol: str
    strategy: str
    qty: float
    entry_price: float
    exit_price: float
    entry_ts: int
    exit_ts: int
    fees: float
    pnl: float
    exit_reason: OrderPurpose
    entry_order_id: str
    exit_order_id: str

    @property
    def outcome(self) -> TradeOutcome:
        if self.pnl > 0:
            return TradeOutcome.WIN
        if self.pnl < 0:
            return TradeOutcome.LOSS
        return TradeOutcome.BREAKEVEN


@dataclass(frozen=True, slots=True)
class EquitySnapshot:
    """The account's value after one processed bar."""

    ts: int
    equity: float
    cash: float
    realized_pnl: float
    unrealized_pnl: float
    fees: float
    drawdown: float


@dataclass(frozen=True, slots=True)
class RiskState:
    """What the risk manager must remember across restarts."""

    day: int = -1
    day_start_equity: float = 0.0
    loss_streak: int = 0
    cooldown_until: int = 0
    daily_halted: bool = False
    kill_switches: tuple[tuple[KillSwitchReason, str], ...] = ()
    # Why the stale-data switch holds: symbols whose own fresh bar clears it, and wall-clock
    # staleness that any symbol's fresh bar clears.
    stale_symbols: tuple[tuple[str, str], ...] = ()
    stale_wallclock: bool = False


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The engine's durable progress, written atomically with each bar's effects.

    ``last_ts`` maps symbol to the open time of the last bar fully processed, so a restart
    resumes with the next bar and re-processing a bar whose unit of work was lost is safe:
    client order ids are derived from (symbol, bar time), so the same decision gets the same id.
    """

    last_ts: dict[str, int] = field(default_factory=dict)
    bars_processed: int = 0
    cash: float = 0.0
    realized_pnl: float = 0.0
    fees: float = 0.0
    peak_equity: float = 0.0
    risk: RiskState = field(default_factory=RiskState)


@dataclass(frozen=True, slots=True)
class OperatorIntent:
    """What the operator asked for through the control interface; it survives restarts.

    A paused daemon that came back unpaused after an upgrade or a crash would trade again
    behind the operator's back, so the store keeps this and the engine starts from it.
    ``since`` is wall-clock epoch seconds (when the operator acted), not bar time.
    """

    paused: bool = False
    since: int = 0
    by: str = ""
    reason: str = ""
