"""The candle interval of CSV files, and the stale-data limit that fits it.

``risk.max_bar_gap_seconds`` (default 300 s) is set for the daemon's own candles
(``market.bar_seconds``, default 60 s): five missing bars. A CSV of hourly candles has 3600 s
between every two bars, so with the configured limit the stale-data kill switch tripped on
every bar and an hourly backtest never traded. The limit is kept in bars instead: the same
number of candles of the files' interval.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from itertools import chain

from grodtd.core.models import Bar
from grodtd.core.params import EngineParams

# Enough bars to see two of every symbol in any sane set of files.
_PEEK_LIMIT = 10_000


def detect_interval(
    bars: Iterator[Bar], symbols: tuple[str, ...], default: int
) -> tuple[Iterator[Bar], int]:
    """The smallest step between the first two bars of each of ``symbols``, and the same
    bars (the peeked ones put back); ``default`` when no symbol has two bars."""
    seen: dict[str, int] = {}
    peeked: list[Bar] = []
    steps: dict[str, int] = {}
    for bar in bars:
        peeked.append(bar)
        previous = seen.get(bar.symbol)
        if previous is not None and bar.symbol not in steps and bar.ts > previous:
            steps[bar.symbol] = bar.ts - previous
        seen[bar.symbol] = bar.ts
        if len(steps) == len(symbols) or len(peeked) >= _PEEK_LIMIT:
            break
    interval = min(steps.values(), default=default)
    return chain(peeked, bars), interval


def fit_stale_limit(
    params: EngineParams, configured_bar_seconds: int, interval: int
) -> EngineParams:
    """``params`` with the stale-data limit scaled to candles of ``interval`` seconds, when
    they are longer than the configured ones; unchanged otherwise."""
    if interval <= configured_bar_seconds:
        return params
    limit = params.risk.max_bar_gap_seconds * interval // configured_bar_seconds
    return replace(params, risk=replace(params.risk, max_bar_gap_seconds=limit))
