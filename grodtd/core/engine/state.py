"""The engine's per-symbol state and the builder of its read-only snapshot.

Kept apart from ``engine.py`` so the bar loop stays readable: this is bookkeeping, the loop is
the decision path.
"""

from __future__ import annotations

from collections.abc import Iterable

from grodtd.core.indicators import IndicatorSet
from grodtd.core.models import Checkpoint, EquitySnapshot, Fill, Order, Position, Regime, Trade
from grodtd.core.params import EngineParams
from grodtd.core.portfolio import Portfolio
from grodtd.core.ports import UnitOfWork
from grodtd.core.regime import RegimeClassifier
from grodtd.core.risk import RiskManager
from grodtd.core.snapshot import EngineSnapshot, PositionView


class SymbolState:
    """Indicators, regime and the ids of the live orders of one symbol."""

    __slots__ = (
        "classifier",
        "entry_id",
        "exit_id",
        "ind",
        "last_ts",
        "regime",
        "reserved",
        "stop_id",
        "symbol",
        "target_id",
    )

    def __init__(self, symbol: str, params: EngineParams, last_ts: int = -1) -> None:
        self.symbol = symbol
        self.ind = IndicatorSet(params.indicators)
        self.classifier = RegimeClassifier(params.regime)
        self.regime = Regime.TRANSITION
        # Open time of the last bar processed; a bar at or before it is a replay and ignored.
        self.last_ts = last_ts
        # Client order ids of the symbol's live orders (at most one of each).
        self.entry_id: str | None = None
        self.stop_id: str | None = None
        self.target_id: str | None = None
        self.exit_id: str | None = None
        # Cash set aside for a pending long entry, so two entries cannot spend it twice.
        self.reserved = 0.0


def build_snapshot(
    ts: int,
    bars_processed: int,
    pf: Portfolio,
    risk: RiskManager,
    symbols: dict[str, SymbolState],
    last_ts: dict[str, int],
    strategies_enabled: dict[str, bool],
) -> EngineSnapshot:
    positions = tuple(
        PositionView(
            position=pos,
            last_price=pf.last_prices.get(sym, pos.avg_price),
            unrealized_pnl=pf.unrealized_of(pos),
        )
        for sym, pos in sorted(pf.positions.items())
    )
    return EngineSnapshot(
        ts=ts,
        bars_processed=bars_processed,
        equity=pf.equity,
        cash=pf.cash,
        realized_pnl=pf.realized_pnl,
        unrealized_pnl=sum(view.unrealized_pnl for view in positions),
        fees=pf.fees,
        peak_equity=pf.peak_equity,
        drawdown=pf.drawdown,
        day_start_equity=risk.day_start_equity,
        positions=positions,
        regimes={sym: st.regime for sym, st in symbols.items()},
        last_prices=dict(pf.last_prices),
        last_bar_ts=dict(last_ts),
        strategies_enabled=dict(strategies_enabled),
        paused=risk.paused,
        halts=risk.halts(ts),
        kill_switches=tuple(risk.kill_switches.items()),
        loss_streak=risk.loss_streak,
        cooldown_until=risk.cooldown_until,
    )


def build_unit(
    ts: int,
    bars_processed: int,
    pf: Portfolio,
    risk: RiskManager,
    last_ts: dict[str, int],
    orders: Iterable[Order],
    fills: Iterable[Fill],
    trades: Iterable[Trade],
    positions: Iterable[Position],
) -> UnitOfWork:
    """Everything the bar at ``ts`` changed, with the checkpoint that makes it resumable."""
    checkpoint = Checkpoint(
        last_ts=dict(last_ts),
        bars_processed=bars_processed,
        cash=pf.cash,
        realized_pnl=pf.realized_pnl,
        fees=pf.fees,
        peak_equity=pf.peak_equity,
        risk=risk.state(),
    )
    equity = EquitySnapshot(
        ts=ts,
        equity=pf.equity,
        cash=pf.cash,
        realized_pnl=pf.realized_pnl,
        unrealized_pnl=pf.unrealized_pnl,
        fees=pf.fees,
        drawdown=pf.drawdown,
    )
    return UnitOfWork(
        checkpoint=checkpoint,
        orders=tuple(orders),
        fills=tuple(fills),
        trades=tuple(trades),
        positions=tuple(positions),
        equity=equity,
    )
