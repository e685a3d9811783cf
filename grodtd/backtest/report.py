"""Backtest statistics from closed trades and sampled equity.

Kept apart from the runner so the formulas can be tested on hand-made numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from itertools import pairwise

from grodtd.core.models import Trade

# Crypto trades every day of the year.
DAYS_PER_YEAR = 365


@dataclass(frozen=True, slots=True)
class BacktestReport:
    symbols: tuple[str, ...]
    bars: int
    days: float
    trades: int
    wins: int
    losses: int
    win_rate: float
    initial_equity: float
    final_equity: float
    total_return: float
    max_drawdown: float
    sharpe_ratio: float
    profit_factor: float
    fees: float
    seconds: float
    bars_per_second: float

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["symbols"] = list(self.symbols)
        # JSON has no infinity: a profit factor with no losing trade is reported as null.
        if math.isinf(self.profit_factor):
            data["profit_factor"] = None
        return data


def max_drawdown(equity: Sequence[float]) -> float:
    """Largest fall from a running peak, as a fraction of that peak (0 when never below)."""
    peak = -math.inf
    worst = 0.0
    for value in equity:
        if value > peak:
            peak = value
        elif peak > 0:
            worst = max(worst, (peak - value) / peak)
    return worst


def sharpe_ratio(daily_equity: Sequence[float]) -> float:
    """Annualized Sharpe ratio of daily returns, risk-free rate 0; 0 when undefined."""
    returns = [b / a - 1.0 for a, b in pairwise(daily_equity) if a > 0]
    if len(returns) < 2:
        return 0.0
    mean = sum(returns) / len(returns)
    variance = sum((r - mean) ** 2 for r in returns) / (len(returns) - 1)
    if variance <= 0:
        return 0.0
    return mean / math.sqrt(variance) * math.sqrt(DAYS_PER_YEAR)


def profit_factor(trades: Sequence[Trade]) -> float:
    """Gross profit over gross loss; infinite with profits and no loss, 0 with no profit."""
    gross_profit = sum(t.pnl for t in trades if t.pnl > 0)
    gross_loss = -sum(t.pnl for t in trades if t.pnl < 0)
    if gross_loss == 0:
        return math.inf if gross_profit > 0 else 0.0
    return gross_profit / gross_loss


def format_report(report: BacktestReport) -> str:
    pf = "inf" if math.isinf(report.profit_factor) else f"{report.profit_factor:.2f}"
    rows = [
        ("symbols", ", ".join(report.symbols)),
        ("bars", f"{report.bars:,} over {report.days:g} days"),
        ("trades", f"{report.trades} ({report.wins} won, {report.losses} lost)"),
        ("win rate", f"{report.win_rate:.1%}"),
        ("total return", f"{report.total_return:+.2%}"),
        ("final equity", f"{report.final_equity:,.2f} (from {report.initial_equity:,.2f})"),
        ("max drawdown", f"{report.max_drawdown:.2%}"),
        ("Sharpe ratio", f"{report.sharpe_ratio:.2f} (daily, annualized)"),
        ("profit factor", pf),
        ("fees", f"{report.fees:,.2f}"),
        ("speed", f"{report.bars_per_second:,.0f} bars/s ({report.seconds:.2f} s)"),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)
