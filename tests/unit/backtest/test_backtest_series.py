"""Bounded chart series, the recorder's drawdown and benchmark, and the candle interval."""

from __future__ import annotations

import random
from itertools import islice

import pytest

from grodtd.backtest.candle_interval import detect_interval, fit_stale_limit
from grodtd.backtest.recorder import RunRecorder
from grodtd.backtest.report import max_drawdown
from grodtd.backtest.series import Candles, EquityCurve
from grodtd.core.models import Bar
from grodtd.core.params import EngineParams

T0 = 1_767_225_600  # 2026-01-01 00:00 UTC


def test_candles_stay_within_budget_and_keep_the_extremes() -> None:
    candles = Candles(60, budget=50)
    rng = random.Random(3)
    highs, lows = [], []
    for i in range(10_000):
        high, low = 100 + rng.random(), 99 - rng.random()
        highs.append(high)
        lows.append(low)
        candles.add(Bar("A", T0 + 60 * i, 99.5, high, low, 99.7, 1.0))
    assert 50 <= len(candles.ts) <= 100
    assert max(candles.high) == max(highs)
    assert min(candles.low) == min(lows)
    assert candles.ts == sorted(set(candles.ts))
    assert all(t % candles.width == 0 for t in candles.ts)
    assert candles.open[0] == 99.5


def test_equity_curve_keeps_the_deepest_drawdown_and_the_last_equity() -> None:
    curve = EquityCurve(60, budget=20)
    values = [-(i % 97) / 1000 for i in range(5_000)]
    for i, value in enumerate(values):
        curve.add(T0 + 60 * i, 1000.0 + i, 1000.0, value)
    assert len(curve.ts) <= 40
    assert min(curve.drawdown) == min(values)
    assert curve.equity[-1] == 1000.0 + 4_999


def test_recorder_drawdown_matches_the_summary_and_names_its_dates() -> None:
    recorder = RunRecorder(("BTC-USD",), 100.0, 60)
    equity = [100.0, 120.0, 90.0, 110.0, 125.0, 100.0]
    for i, value in enumerate(equity):
        recorder.sample(T0 + 60 * i, value)
    drawdown = recorder.drawdown
    assert drawdown.depth == max_drawdown([100.0, *equity]) == pytest.approx(0.25)
    assert (drawdown.peak_ts, drawdown.trough_ts) == (T0 + 60, T0 + 120)
    assert drawdown.recovery_ts == T0 + 240  # 125 regains the 120 peak
    assert min(recorder.curve.drawdown) == -drawdown.depth


def test_benchmark_holds_equal_cash_in_every_symbol() -> None:
    recorder = RunRecorder(("A", "B"), 1000.0, 60)
    recorder.candles["A"].add(Bar("A", T0, 10, 10, 10, 10, 1))
    recorder.sample(T0, 1000.0)
    assert recorder.benchmark_final == pytest.approx(1000.0)  # B not seen yet: still cash
    recorder.candles["B"].add(Bar("B", T0 + 60, 50, 50, 50, 50, 1))
    recorder.sample(T0 + 60, 1000.0)
    recorder.candles["A"].add(Bar("A", T0 + 120, 10, 20, 10, 20, 1))  # A doubles: 500 -> 1000
    recorder.candles["B"].add(Bar("B", T0 + 120, 50, 50, 25, 25, 1))  # B halves: 500 -> 250
    recorder.sample(T0 + 120, 1000.0)
    assert recorder.benchmark_final == pytest.approx(1250.0)


def test_month_ends_are_recorded() -> None:
    recorder = RunRecorder(("A",), 100.0, 86_400)
    for day in range(45):
        recorder.sample(T0 + day * 86_400, 100.0 + day)
    recorder.finish()
    assert [m.month for m in recorder.months] == ["2026-01", "2026-02"]
    assert recorder.months[0].equity == 130.0  # 31 January


def bars(symbol: str, step: int, n: int, start: int = T0) -> list[Bar]:
    return [Bar(symbol, start + step * i, 1, 1, 1, 1, 1) for i in range(n)]


def test_detect_interval_puts_every_bar_back() -> None:
    source = sorted(bars("A", 3600, 50) + bars("B", 3600, 50), key=lambda b: b.ts)
    stream, interval = detect_interval(iter(source), ("A", "B"), 60)
    assert interval == 3600
    assert list(stream) == source
    stream, interval = detect_interval(iter(bars("A", 60, 1)), ("A",), 60)
    assert interval == 60  # one bar: the configured interval
    assert len(list(islice(stream, 5))) == 1


def test_stale_limit_keeps_its_number_of_bars() -> None:
    params = EngineParams()
    assert params.risk.max_bar_gap_seconds == 300  # five 1-minute bars
    hourly = fit_stale_limit(params, 60, 3600)
    assert hourly.risk.max_bar_gap_seconds == 5 * 3600
    assert hourly.risk.max_open_positions == params.risk.max_open_positions
    assert fit_stale_limit(params, 60, 60) is params
    assert fit_stale_limit(params, 60, 30) is params
