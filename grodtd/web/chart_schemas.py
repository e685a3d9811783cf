"""The JSON shapes of the dashboard's charts: candles with indicators, the equity history.

Apart from ``schemas.py`` because they have their own reader (the charts) and their own
sources (the in-memory candle tape, the downsampled equity query).
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import Field
from pydantic_core import to_json

from grodtd.web.contracts import Candle, EquityHistory
from grodtd.web.schemas import EquityPointOut, Out, to_datetime


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


# The chart series are the API's largest answers (1000 points, 160-230 kB). They are built
# from GRODT's own typed values, so they are written straight to JSON in the models' shape
# instead of through 1000 model constructions and FastAPI's second validation: about 10 ms
# less of holding the GIL per answer, time the metrics port would otherwise wait (its p99
# budget is 10 ms while a dashboard polls). tests/unit/test_web_app.py checks each against
# its model.


def equity_history_json(history: EquityHistory, points: int) -> bytes:
    return _dumps(
        {
            "initial_cash": history.initial_cash,
            "points": points,
            "items": [
                {
                    "at": to_datetime(e.ts),
                    "ts": e.ts,
                    "equity": e.equity,
                    "cash": e.cash,
                    "realized_pnl": e.realized_pnl,
                    "unrealized_pnl": e.unrealized_pnl,
                    "fees": e.fees,
                    "drawdown": e.drawdown,
                }
                for e in history.points
            ],
        }
    )


def candles_json(
    symbol: str, symbols: Sequence[str], limit: int, candles: Sequence[Candle]
) -> bytes:
    return _dumps(
        {
            "symbol": symbol,
            "symbols": list(symbols),
            "limit": limit,
            "items": [
                {
                    "ts": c.ts,
                    "open": c.open,
                    "high": c.high,
                    "low": c.low,
                    "close": c.close,
                    "volume": c.volume,
                    "vwap": c.vwap,
                    "ema_fast": c.ema_fast,
                    "ema_slow": c.ema_slow,
                }
                for c in candles
            ],
        }
    )


def _dumps(payload: dict[str, object]) -> bytes:
    # pydantic-core's serializer (the one the models use), without validating first; a NaN
    # becomes null, as the models' serializer writes it.
    return to_json(payload, inf_nan_mode="null")
