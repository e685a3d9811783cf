"""The JSON shapes of the dashboard's charts: candles with indicators, the equity history.

Apart from ``schemas.py`` because they have their own reader (the charts) and their own
sources (the in-memory candle tape, the downsampled equity query).
"""

from __future__ import annotations

from pydantic import Field

from grodtd.web.contracts import Candle, EquityHistory
from grodtd.web.schemas import EquityPointOut, Out, equity_out


class EquityHistoryOut(Out):
    """The equity curve since the first bar, at most ``points`` points, and its baseline."""

    initial_cash: float = Field(description="The capital the account started with.")
    points: int = Field(ge=1, description="The most points asked for.")
    items: list[EquityPointOut] = Field(
        description="Oldest first; each point ends one equal time bucket and carries the "
        "bucket's deepest drawdown."
    )


class CandleOut(Out):
    ts: int = Field(description="Open time of the bar, epoch seconds, market time.")
    open: float
    high: float
    low: float
    close: float
    volume: float
    vwap: float = Field(description="VWAP anchored at 00:00 UTC, as the strategy saw it.")
    ema_fast: float | None = Field(description="Fast EMA; null while it is still seeding.")
    ema_slow: float | None = Field(description="Slow EMA; null while it is still seeding.")


class CandlesOut(Out):
    symbol: str
    symbols: list[str] = Field(description="Every symbol with candles in memory.")
    limit: int = Field(ge=1)
    items: list[CandleOut] = Field(description="Oldest first; only recent bars are kept.")


def equity_history_out(history: EquityHistory, points: int) -> EquityHistoryOut:
    return EquityHistoryOut(
        initial_cash=history.initial_cash,
        points=points,
        items=[equity_out(e) for e in history.points],
    )


def candle_out(c: Candle) -> CandleOut:
    return CandleOut(
        ts=c.ts,
        open=c.open,
        high=c.high,
        low=c.low,
        close=c.close,
        volume=c.volume,
        vwap=c.vwap,
        ema_fast=c.ema_fast,
        ema_slow=c.ema_slow,
    )
