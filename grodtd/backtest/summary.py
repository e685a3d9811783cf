"""Turn what a run collected (trades, equity, the recorder) into a ``BacktestReport``."""

from __future__ import annotations

from collections.abc import Sequence

from grodtd.backtest import stats
from grodtd.backtest.recorder import RunRecorder, iso
from grodtd.backtest.report import BacktestReport, max_drawdown, profit_factor, trade_row
from grodtd.core.models import SECONDS_PER_DAY, Trade
from grodtd.core.params import EngineParams


def summarise(
    *,
    symbols: tuple[str, ...],
    bars: int,
    first_ts: int | None,
    last_ts: int,
    bar_seconds: int,
    params: EngineParams,
    trades: Sequence[Trade],
    equity_curve: Sequence[float],
    daily_equity: Sequence[float],
    fees: float,
    seconds: float,
    recorder: RunRecorder,
) -> BacktestReport:
    initial = params.initial_cash
    final = equity_curve[-1]
    span = (last_ts - first_ts) if first_ts is not None else 0
    days = round((span + bar_seconds) / SECONDS_PER_DAY, 4)
    total_return = final / initial - 1.0
    deepest = max_drawdown(equity_curve)
    drawdown = recorder.drawdown
    returns = stats.daily_returns(daily_equity)
    annualised = stats.annualised_return(total_return, days)
    wins = sum(1 for t in trades if t.pnl > 0)
    entry_regimes = recorder.entry_regimes

    def regime_of(trade: Trade) -> str:
        regime = entry_regimes.get(trade.entry_order_id)
        return "unknown" if regime is None else str(regime)

    start = first_ts if first_ts is not None else 0
    details: dict[str, object] = {
        "trades": [trade_row(t, regime_of(t)) for t in trades],
        "by_symbol": stats.group_table(trades, lambda t: t.symbol),
        "by_regime": stats.group_table(trades, regime_of),
        "by_exit_reason": stats.group_table(trades, lambda t: str(t.exit_reason)),
        "by_month": stats.group_table(trades, lambda t: iso(t.exit_ts)[:7]),
        "monthly_returns": stats.monthly_returns(
            [(m.month, m.equity, m.benchmark) for m in recorder.months], initial
        ),
        "curve": recorder.curve.as_dict(),
        "candles": {symbol: c.as_dict() for symbol, c in recorder.candles.items()},
    }
    return BacktestReport(
        symbols=symbols,
        bars=bars,
        days=days,
        trades=len(trades),
        wins=wins,
        losses=sum(1 for t in trades if t.pnl < 0),
        win_rate=wins / len(trades) if trades else None,
        initial_equity=initial,
        final_equity=final,
        total_return=total_return,
        max_drawdown=deepest,
        sharpe_ratio=stats.sharpe(returns),
        profit_factor=profit_factor(trades),
        fees=fees,
        seconds=seconds,
        bars_per_second=bars / seconds if seconds > 0 else 0.0,
        annualised_return=annualised,
        sortino_ratio=stats.sortino(returns),
        calmar_ratio=stats.calmar(annualised, deepest),
        expectancy=stats.expectancy(trades),
        exposure=stats.exposure(trades, start, last_ts + bar_seconds),
        max_consecutive_losses=stats.max_consecutive_losses(trades),
        max_drawdown_peak=_time(drawdown.peak_ts) if deepest > 0 else None,
        max_drawdown_trough=_time(drawdown.trough_ts) if deepest > 0 else None,
        max_drawdown_recovery=_time(drawdown.recovery_ts) if deepest > 0 else None,
        benchmark_return=recorder.benchmark_final / initial - 1.0,
        stale_limit_seconds=params.risk.max_bar_gap_seconds,
        halts=tuple(recorder.halts),
        details=details,
    )


def _time(ts: int | None) -> str | None:
    return None if ts is None else iso(ts)
