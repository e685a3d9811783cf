"""The report's summary figures: label, format and the honest definition printed beside each.

Also the one cell formatter of the HTML tables, so every number is shown the same way and
carries its exact value for machines (``data-value``, the JSON value itself).
"""

from __future__ import annotations

import html
import json
from typing import Any

from grodtd.backtest.stats import MIN_DAILY_RETURNS, MIN_DAYS_TO_ANNUALISE

# (key in as_dict(), label, format, definition)
METRICS: tuple[tuple[str, str, str, str], ...] = (
    ("bars", "bars", "int", "bars processed, all symbols together"),
    ("days", "days", "float", "time from the first bar's open to the last bar's close"),
    ("initial_equity", "initial equity", "money", "cash at the start"),
    ("final_equity", "final equity", "money", "cash plus open positions at the last close"),
    ("total_return", "total return", "signed_pct", "final equity / initial equity - 1"),
    (
        "annualised_return",
        "annualised return",
        "signed_pct",
        f"(1 + total return) ^ (365 / days) - 1; n/a under {MIN_DAYS_TO_ANNUALISE:g} days",
    ),
    (
        "benchmark_return",
        "buy and hold",
        "signed_pct",
        "equal cash in every symbol at its first close, held to the end, no fees",
    ),
    (
        "max_drawdown",
        "max drawdown",
        "pct",
        "largest fall of equity from its running peak, as a fraction of that peak",
    ),
    ("max_drawdown_peak", "drawdown peak", "text", "when that peak was (UTC)"),
    ("max_drawdown_trough", "drawdown trough", "text", "when the bottom of that fall was"),
    (
        "max_drawdown_recovery",
        "drawdown recovered",
        "text",
        "when equity first regained that peak; n/a: not by the end",
    ),
    (
        "sharpe_ratio",
        "Sharpe ratio",
        "ratio",
        "mean / sample deviation of daily returns x sqrt(365), risk-free rate 0; "
        f"n/a under {MIN_DAILY_RETURNS} daily returns",
    ),
    (
        "sortino_ratio",
        "Sortino ratio",
        "ratio",
        "mean daily return / downside deviation x sqrt(365); "
        f"n/a under {MIN_DAILY_RETURNS} daily returns or without a losing day",
    ),
    (
        "calmar_ratio",
        "Calmar ratio",
        "ratio",
        "annualised return / max drawdown; n/a when either is",
    ),
    ("trades", "trades", "int", "closed round trips; a position open at the end is not one"),
    ("wins", "won", "int", "trades with a positive net PnL"),
    ("losses", "lost", "int", "trades with a negative net PnL"),
    ("win_rate", "win rate", "pct", "won / trades; n/a without trades"),
    (
        "profit_factor",
        "profit factor",
        "ratio",
        "gross profit / gross loss of the trades; n/a without trades or without a losing trade",
    ),
    ("expectancy", "expectancy", "pnl", "mean net PnL per trade; n/a without trades"),
    (
        "max_consecutive_losses",
        "max losses in a row",
        "int",
        "longest run of losing trades, in the order they closed",
    ),
    (
        "exposure",
        "exposure",
        "pct",
        "fraction of the run's time with at least one position open",
    ),
    ("fees", "fees", "money", "every fee paid, open positions included"),
    (
        "stale_limit_seconds",
        "stale-data limit",
        "int",
        "seconds between a symbol's bars beyond which the stale-data kill switch trips",
    ),
)


def show(value: Any, kind: str) -> str:
    """``value`` for a human; ``None`` is "n/a"."""
    if value is None:
        return "n/a"
    if kind == "int":
        return f"{value:,}"
    if kind == "float":
        return f"{value:g}"
    if kind in {"money", "pnl"}:
        return f"{value:,.2f}"
    if kind == "price":
        return f"{value:,.4f}" if abs(value) < 100 else f"{value:,.2f}"
    if kind == "qty":
        return f"{value:.6g}"
    if kind == "pct":
        return f"{value:.2%}"
    if kind == "signed_pct":
        return f"{value:+.2%}"
    if kind == "ratio":
        return f"{value:.2f}"
    return str(value)


def cell(value: Any, kind: str) -> str:
    """One <td>: text as is, numbers right-aligned with their exact value in data-value."""
    text = html.escape(show(value, kind))
    if kind == "text":
        return f"<td>{text}</td>"
    exact = html.escape(json.dumps(value), quote=True)
    sign = ""
    if isinstance(value, int | float) and kind in {"pnl", "signed_pct"} and value:
        sign = " neg" if value < 0 else " pos"
    return f'<td class="num{sign}" data-value="{exact}">{text}</td>'
