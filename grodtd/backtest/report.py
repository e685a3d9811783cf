"""A backtest's result: the summary figures, and the details the HTML report draws.

``as_dict`` is the one serialisation: ``--json`` prints it and the HTML report is rendered
from it, so the two cannot disagree. Kept apart from the runner so the formulas can be tested
on hand-made numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from grodtd.backtest.recorder import HaltRecord, iso
from grodtd.backtest.stats import MIN_DAILY_RETURNS, MIN_DAYS_TO_ANNUALISE
from grodtd.core.models import Trade


@dataclass(frozen=True, slots=True)
class BacktestReport:
    symbols: tuple[str, ...]
    bars: int
    days: float
    trades: int
    wins: int
    losses: int
    win_rate: float | None  # None: no trade, so no rate
    initial_equity: float
    final_equity: float
    total_return: float
    max_drawdown: float
    sharpe_ratio: float | None  # None: fewer daily returns than stats.MIN_DAILY_RETURNS
    profit_factor: float
    fees: float
    seconds: float
    bars_per_second: float
    annualised_return: float | None = None
    sortino_ratio: float | None = None
    calmar_ratio: float | None = None
    expectancy: float | None = None
    exposure: float = 0.0
    max_consecutive_losses: int = 0
    max_drawdown_peak: str | None = None  # "YYYY-MM-DD HH:MM" UTC
    max_drawdown_trough: str | None = None
    max_drawdown_recovery: str | None = None  # None: not recovered by the end
    benchmark_return: float = 0.0
    stale_limit_seconds: int = 0  # the stale-data kill switch's limit this run used
    halts: tuple[HaltRecord, ...] = ()
    # Tables, curves and the trade list: only what the HTML report needs, JSON-ready.
    details: dict[str, object] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["symbols"] = list(self.symbols)
        data["halts"] = [halt.as_dict() for halt in self.halts]
        # JSON has no infinity: a profit factor with no losing trade is reported as null, and
        # so is one without any trade (0 / 0 is not 0).
        if math.isinf(self.profit_factor) or not self.trades:
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


def profit_factor(trades: Sequence[Trade]) -> float:
    """Gross profit over gross loss; infinite with profits and no loss, 0 with no profit."""
    gross_profit = sum(t.pnl for t in trades if t.pnl > 0)
    gross_loss = -sum(t.pnl for t in trades if t.pnl < 0)
    if gross_loss == 0:
        return math.inf if gross_profit > 0 else 0.0
    return gross_profit / gross_loss


def trade_row(trade: Trade, regime: str) -> dict[str, object]:
    """One closed trade as the report lists it."""
    return {
        "symbol": trade.symbol,
        "strategy": trade.strategy,
        "qty": trade.qty,
        "entry_ts": trade.entry_ts,
        "entry_time": iso(trade.entry_ts),
        "entry_price": trade.entry_price,
        "exit_ts": trade.exit_ts,
        "exit_time": iso(trade.exit_ts),
        "exit_price": trade.exit_price,
        "exit_reason": str(trade.exit_reason),
        "regime": regime,
        "fees": trade.fees,
        "pnl": trade.pnl,
    }


def _ratio(value: float | None, suffix: str = "", why: str = "") -> str:
    if value is None:
        return f"n/a ({why})" if why else "n/a"
    return f"{value:.2f}{suffix}"


def _percent(value: float | None, why: str = "") -> str:
    if value is None:
        return f"n/a ({why})" if why else "n/a"
    return f"{value:+.2%}"


def format_halts(halts: Sequence[HaltRecord], limit: int = 5) -> list[str]:
    """The kill-switch trips and halts, first ``limit`` of each kind, for the terminal."""
    started = [h for h in halts if h.event != "entries_resumed"]
    if not started:
        return ["none"]
    counts: dict[str, int] = {}
    for halt in started:
        counts[halt.reason] = counts.get(halt.reason, 0) + 1
    lines = [", ".join(f"{reason} x{n}" for reason, n in counts.items())]
    trips = [h for h in started if h.event == "kill_switch_tripped"] or started
    for halt in trips[:limit]:
        lines.append(f"{iso(halt.ts)} {halt.reason}: {halt.detail or halt.event}")
    if len(trips) > limit:
        lines.append(f"... {len(trips) - limit} more (see --json or --report)")
    return lines


def format_report(report: BacktestReport) -> str:
    pf = "inf" if math.isinf(report.profit_factor) else f"{report.profit_factor:.2f}"
    if not report.trades:
        pf = "n/a"
    win_rate = "n/a (no trades)" if report.win_rate is None else f"{report.win_rate:.1%}"
    drawdown = f"{report.max_drawdown:.2%}"
    if report.max_drawdown_peak and report.max_drawdown > 0:
        recovery = report.max_drawdown_recovery or "not by the end"
        drawdown += (
            f" (peak {report.max_drawdown_peak}, trough {report.max_drawdown_trough}, "
            f"recovered {recovery})"
        )
    expectancy = "n/a" if report.expectancy is None else f"{report.expectancy:,.2f} per trade"
    halts = format_halts(report.halts)
    short = f"fewer than {MIN_DAYS_TO_ANNUALISE:g} days"
    few = f"needs {MIN_DAILY_RETURNS} daily returns"
    rows = [
        ("symbols", ", ".join(report.symbols)),
        ("bars", f"{report.bars:,} over {report.days:g} days"),
        ("trades", f"{report.trades} ({report.wins} won, {report.losses} lost)"),
        ("win rate", win_rate),
        ("total return", f"{report.total_return:+.2%}"),
        ("annualised return", _percent(report.annualised_return, short)),
        ("buy and hold", f"{report.benchmark_return:+.2%}"),
        ("final equity", f"{report.final_equity:,.2f} (from {report.initial_equity:,.2f})"),
        ("max drawdown", drawdown),
        ("Sharpe ratio", _ratio(report.sharpe_ratio, " (daily, annualised)", few)),
        ("Sortino ratio", _ratio(report.sortino_ratio, " (daily, annualised)", few)),
        ("Calmar ratio", _ratio(report.calmar_ratio)),
        ("profit factor", pf),
        ("expectancy", expectancy),
        ("exposure", f"{report.exposure:.1%} of the time in a position"),
        ("max losses in a row", str(report.max_consecutive_losses)),
        ("fees", f"{report.fees:,.2f}"),
        ("halts", halts[0]),
        *(("", line) for line in halts[1:]),
        ("speed", f"{report.bars_per_second:,.0f} bars/s ({report.seconds:.2f} s)"),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)
