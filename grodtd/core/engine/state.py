"""The engine's per-symbol state and the builders of its snapshot and unit of work.

Kept apart from ``loop.py`` so the bar loop stays readable: this is bookkeeping, the loop is
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
    """One symbol's market state and the ids of its live orders.

    The engine updates the indicators and the regime; the desk writes the order links (at
    most one live order of each kind) and the engine reads them to know whether an entry or
    an exit is already under way. The time of the symbol's last bar is not here: the
    engine's ``last_ts`` is its one owner (and the checkpoint's source).
    """

    __slots__ = (
        "classifier",
        "entry_id",
        "exit_id",
        "ind",
        "regime",
        "reserved",
        "stop_id",
        "symbol",
        "target_id",
    )

    def __init__(self, symbol: str, params: EngineParams) -> None:
        self.symbol = symbol
        self.ind = IndicatorSet(params.indicators)
        self.classifier = RegimeClassifier(params.regime)
        self.regime = Regime.TRANSITION
        self.entry_id: str | None = None
        self.stop_id: str | None = None
        self.target_id: str | None = None
        self.exit_id: str | None = None
        # Cash set aside for a pending long entry, so two entries cannot spend it twice.
        self.reserved = 0.0


def build_snapshot(
    bars_processed: int,
    pf: Portfolio,
    risk: RiskManager,
    symbols: dict[str, SymbolState],
    last_ts: dict[str, int],
    strategies_enabled: dict[str, bool],
) -> EngineSnapshot:
    ts = max(last_ts.values(), default=0)
    positions = tuple(
        PositionView(
            position=pos,
            last_price=pf.last_price(pos),
            unrealized_pnl=pf.unrealized_of(pos),
        )
        for pos in pf.positions()
    )
    state = risk.state()
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
        day_start_equity=state.day_start_equity,
        positions=positions,
        regimes={sym: st.regime for sym, st in symbols.items()},
        last_prices=pf.last_prices(),
        last_bar_ts=dict(last_ts),
        strategies_enabled=strategies_enabled,
        paused=risk.paused,
        halts=risk.halts(ts),
        kill_switches=state.kill_switches,
        loss_streak=state.loss_streak,
        cooldown_until=state.cooldown_until,
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
