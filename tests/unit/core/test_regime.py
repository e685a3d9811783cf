"""The regime classifier: features against from-scratch references, and its behaviour on
synthetic up, down, flat and volatile paths."""

from __future__ import annotations

import math
import random

import pytest
from core_doubles import random_walk

from grodtd.core.indicators import IndicatorSet
from grodtd.core.models import Bar, Regime
from grodtd.core.params import IndicatorParams, RegimeParams
from grodtd.core.regime import RegimeClassifier


def slope_reference(closes: list[float]) -> float:
    ys = [math.log(c) for c in closes]
    n = len(ys)
    mx = (n - 1) / 2
    my = sum(ys) / n
    num = sum((i - mx) * (y - my) for i, y in enumerate(ys))
    den = sum((i - mx) ** 2 for i in range(n))
    return num / den


def rank_reference(window: list[float]) -> float:
    current = window[-1]
    below = sum(1 for v in window[:-1] if v < current)
    return below / (len(window) - 1)


def classify(bars: list[Bar], params: RegimeParams | None = None) -> list[Regime]:
    ind = IndicatorSet(IndicatorParams())
    clf = RegimeClassifier(params or RegimeParams())
    out = []
    for b in bars:
        ind.update(b.ts, b.high, b.low, b.close, b.volume)
        out.append(clf.update(b.close, ind.atr))
    return out


def test_features_match_from_scratch_references() -> None:
    params = RegimeParams(slope_window=30, return_window=20, atr_percentile_window=50)
    bars = random_walk(300, seed=3, vol=0.003)
    ind = IndicatorSet(IndicatorParams())
    clf = RegimeClassifier(params)
    ratios: list[float] = []
    for i, b in enumerate(bars):
        ind.update(b.ts, b.high, b.low, b.close, b.volume)
        clf.update(b.close, ind.atr)
        ratios.append(ind.atr / b.close)
        closes = [x.close for x in bars[: i + 1]]
        if i + 1 >= 30:
            assert clf.slope == pytest.approx(slope_reference(closes[-30:]), abs=1e-12)
        if i + 1 >= 21:
            assert clf.ret == pytest.approx(closes[-1] / closes[-21] - 1, rel=1e-12)
        window = ratios[-50:]
        if len(window) > 1:
            assert clf.atr_rank == pytest.approx(rank_reference(window), abs=1e-12)


def test_slope_running_sums_stay_exact_over_a_long_path() -> None:
    # Past several re-summing periods, the O(1) slope still equals the direct fit.
    bars = random_walk(10_000, seed=11, vol=0.003, start=60_000.0)
    clf = RegimeClassifier(RegimeParams())
    for b in bars:
        clf.update(b.close, 0.0)
    expected = slope_reference([b.close for b in bars[-30:]])
    assert clf.slope == pytest.approx(expected, abs=1e-11)


def test_warm_up_is_transition() -> None:
    regimes = classify(random_walk(59, seed=1, drift=0.001, vol=0.0005))
    assert set(regimes) == {Regime.TRANSITION}


def test_steady_uptrend_is_trending_up_and_downtrend_trending_down() -> None:
    up = classify(random_walk(400, seed=2, drift=0.0008, vol=0.0005))
    down = classify(random_walk(400, seed=2, drift=-0.0008, vol=0.0005))
    assert up[-200:].count(Regime.TRENDING_UP) > 190
    assert down[-200:].count(Regime.TRENDING_DOWN) > 190


def test_flat_noise_is_ranging() -> None:
    regimes = classify(random_walk(600, seed=4, drift=0.0, vol=0.0002))
    assert regimes[-300:].count(Regime.RANGING) > 250


def test_volatility_burst_is_high_volatility() -> None:
    calm = random_walk(300, seed=5, vol=0.0005)
    rng = random.Random(5)
    burst: list[Bar] = []
    price = calm[-1].close
    for i in range(30):
        o = price
        c = o * (1 + rng.choice([-1, 1]) * 0.01)
        burst.append(
            Bar(
                "BTC-USD", calm[-1].ts + 60 * (i + 1), o, max(o, c) * 1.01, min(o, c) * 0.99, c, 1.0
            )
        )
        price = c
    regimes = classify(calm + burst)
    assert Regime.HIGH_VOLATILITY in regimes[-25:]
    assert Regime.HIGH_VOLATILITY not in regimes[:300]


def test_a_change_must_be_confirmed_before_it_is_adopted() -> None:
    params = RegimeParams(confirm_bars=3)
    bars = random_walk(300, seed=2, drift=0.0008, vol=0.0005)
    last = bars[-1]
    regimes = classify(bars, params)
    assert regimes[-1] is Regime.TRENDING_UP
    # A violent drop: the raw regime flips at once, the answer goes through transition.
    crash = []
    price = last.close
    for i in range(40):
        price *= 0.99
        crash.append(
            Bar("BTC-USD", last.ts + 60 * (i + 1), price / 0.99, price / 0.99, price, price, 1.0)
        )
    after = classify(bars + crash, params)[300:]
    first_change = next(i for i, r in enumerate(after) if r is not Regime.TRENDING_UP)
    assert after[first_change] is Regime.TRANSITION
    assert after[first_change + 1] is Regime.TRANSITION
    assert Regime.TRENDING_DOWN in after or Regime.HIGH_VOLATILITY in after


def test_rejects_degenerate_windows() -> None:
    with pytest.raises(ValueError, match="slope_window"):
        RegimeClassifier(RegimeParams(slope_window=1))
