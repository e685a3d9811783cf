"""The report's figures beyond the summary line, each with the definition it is printed under.

Ratios that need a sample of returns (Sharpe, Sortino) or a year to scale to (annualised
return, Calmar) are ``None`` when the run is too short for them to mean anything: a Sharpe
ratio over two days is noise with a square root of 365 in front of it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from itertools import pairwise

from grodtd.core.models import Trade

DAYS_PER_YEAR = 365
# Fewer daily returns than this and a Sharpe or Sortino ratio is not printed.
MIN_DAILY_RETURNS = 30
# Shorter than this and a return is not annualised (nor a Calmar ratio computed).
MIN_DAYS_TO_ANNUALISE = 30.0


def daily_returns(daily_equity: Sequence[float]) -> list[float]:
    return [b / a - 1.0 for a, b in pairwise(daily_equity) if a > 0]


def sharpe(returns: Sequence[float]) -> float | None:
    """Mean over sample deviation of daily returns, times sqrt(365); risk-free rate 0."""
    if len(returns) < MIN_DAILY_RETURNS:
        return None
    mean = sum(returns) / len(returns)
    variance = sum((r - mean) ** 2 for r in returns) / (len(returns) - 1)
    if variance <= 0:
        return None
    return mean / math.sqrt(variance) * math.sqrt(DAYS_PER_YEAR)


def sortino(returns: Sequence[float]) -> float | None:
    """Mean daily return over the downside deviation (root mean square of the negative
    returns, over all days), times sqrt(365); ``None`` without a losing day."""
    if len(returns) < MIN_DAILY_RETURNS:
        return None
    downside = math.sqrt(sum(min(r, 0.0) ** 2 for r in returns) / len(returns))
    if downside <= 0:
        return None
    return sum(returns) / len(returns) / downside * math.sqrt(DAYS_PER_YEAR)


def annualised_return(total_return: float, days: float) -> float | None:
    """Compound annual growth: (1 + total) ** (365 / days) - 1."""
    if days < MIN_DAYS_TO_ANNUALISE or total_return <= -1.0:
        return None
    return float((1.0 + total_return) ** (DAYS_PER_YEAR / days) - 1.0)


def calmar(annualised: float | None, max_drawdown: float) -> float | None:
    """Annualised return over maximum drawdown."""
    if annualised is None or max_drawdown <= 0:
        return None
    return annualised / max_drawdown


def expectancy(trades: Sequence[Trade]) -> float | None:
    """Mean net PnL per closed trade, in account currency."""
    return sum(t.pnl for t in trades) / len(trades) if trades else None


def max_consecutive_losses(trades: Sequence[Trade]) -> int:
    """Longest run of losing trades in the order they closed."""
    longest = run = 0
    for trade in sorted(trades, key=lambda t: (t.exit_ts, t.exit_order_id)):
        run = run + 1 if trade.pnl < 0 else 0
        longest = max(longest, run)
    return longest


def exposure(trades: Sequence[Trade], start_ts: int, end_ts: int) -> float:
    """Fraction of the run's time with at least one position open (closed trades only)."""
    span = end_ts - start_ts
    if span <= 0 or not trades:
        return 0.0
    covered = 0
    current_start = current_end = None
    for entry, exit_ in sorted((t.entry_ts, t.exit_ts) for t in trades):
        if current_end is None or current_start is None or entry > current_end:
            if current_end is not None and current_start is not None:
                covered += current_end - current_start
            current_start, current_end = entry, exit_
        else:
            current_end = max(current_end, exit_)
    if current_end is not None and current_start is not None:
        covered += current_end - current_start
    return min(covered / span, 1.0)


def group_table(trades: Sequence[Trade], key: Callable[[Trade], str]) -> list[dict[str, object]]:
    """One row per value of ``key``: trades, wins, losses, win rate, net PnL, fees, average
    PnL and profit factor (``None`` when infinite or undefined), sorted by the key."""
    groups: dict[str, list[Trade]] = defaultdict(list)
    for trade in trades:
        groups[key(trade)].append(trade)
    rows: list[dict[str, object]] = []
    for name in sorted(groups):
        group = groups[name]
        wins = sum(1 for t in group if t.pnl > 0)
        gross_profit = sum(t.pnl for t in group if t.pnl > 0)
        gross_loss = -sum(t.pnl for t in group if t.pnl < 0)
        net = sum(t.pnl for t in group)
        rows.append(
            {
                "key": name,
                "trades": len(group),
                "wins": wins,
                "losses": sum(1 for t in group if t.pnl < 0),
                "win_rate": wins / len(group),
                "pnl": net,
                "fees": sum(t.fees for t in group),
                "avg_pnl": net / len(group),
                "profit_factor": gross_profit / gross_loss if gross_loss > 0 else None,
            }
        )
    return rows


def monthly_returns(
    months: Sequence[tuple[str, float, float]], initial: float
) -> list[dict[str, object]]:
    """Each month's return of the strategy and of the benchmark, from month-end values."""
    rows: list[dict[str, object]] = []
    previous = (initial, initial)
    for month, equity, benchmark in months:
        rows.append(
            {
                "month": month,
                "return": equity / previous[0] - 1.0 if previous[0] > 0 else 0.0,
                "benchmark_return": benchmark / previous[1] - 1.0 if previous[1] > 0 else 0.0,
                "equity": equity,
            }
        )
        previous = (equity, benchmark)
    return rows
