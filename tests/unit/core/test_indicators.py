"""Each incremental indicator against a from-scratch reference over a few hundred bars.

The references recompute the whole history for every bar with plain loops, using the seeding
conventions documented in ``grodtd.core.indicators`` (EMA seeded with the SMA of the first N
closes, Wilder ATR seeded with the mean of the first N true ranges, VWAP reset at 00:00 UTC).
"""

from __future__ import annotations

import pytest
from core_doubles import T0, random_walk

from grodtd.core.indicators import IndicatorSet
from grodtd.core.models import Bar
from grodtd.core.params import IndicatorParams


def ema_reference(closes: list[float], n: int) -> float:
    if len(closes) <= n:
        return sum(closes) / len(closes)
    value = sum(closes[:n]) / n
    alpha = 2.0 / (n + 1)
    for close in closes[n:]:
        value = alpha * close + (1 - alpha) * value
    return value


def atr_reference(bars: list[Bar], n: int) -> float:
    trs = []
    for i, b in enumerate(bars):
        if i == 0:
            trs.append(b.high - b.low)
        else:
            pc = bars[i - 1].close
            trs.append(max(b.high - b.low, abs(b.high - pc), abs(b.low - pc)))
    if len(trs) <= n:
        return sum(trs) / len(trs)
    value = sum(trs[:n]) / n
    for tr in trs[n:]:
        value = (value * (n - 1) + tr) / n
    return value


def vwap_reference(bars: list[Bar]) -> float:
    day = bars[-1].ts // 86_400
    todays = [b for b in bars if b.ts // 86_400 == day]
    volume = sum(b.volume for b in todays)
    if volume == 0:
        last = bars[-1]
        return (last.high + last.low + last.close) / 3
    return sum((b.high + b.low + b.close) / 3 * b.volume for b in todays) / volume


@pytest.fixture
def bars() -> list[Bar]:
    # 400 one-minute bars starting 3 hours before midnight: crosses a VWAP anchor.
    return random_walk(400, seed=7, t0=T0 - 3 * 3600, vol=0.004)


def test_ema_atr_vwap_match_reference_every_bar(bars: list[Bar]) -> None:
    params = IndicatorParams(ema_fast=9, ema_slow=21, atr_period=14)
    ind = IndicatorSet(params)
    for i, b in enumerate(bars):
        ind.update(b.ts, b.high, b.low, b.close, b.volume)
        history = bars[: i + 1]
        closes = [x.close for x in history]
        assert ind.ema_fast == pytest.approx(ema_reference(closes, 9), rel=1e-12)
        assert ind.ema_slow == pytest.approx(ema_reference(closes, 21), rel=1e-12)
        assert ind.atr == pytest.approx(atr_reference(history, 14), rel=1e-12)
        assert ind.vwap == pytest.approx(vwap_reference(history), rel=1e-12)
    assert ind.ready and ind.count == 400


def test_vwap_resets_at_midnight_utc() -> None:
    ind = IndicatorSet(IndicatorParams())
    ind.update(T0 - 60, 200.0, 200.0, 200.0, 10.0)
    assert ind.vwap == 200.0
    ind.update(T0, 100.0, 100.0, 100.0, 1.0)  # first bar of the new day: yesterday is gone
    assert ind.vwap == 100.0


def test_vwap_without_volume_is_typical_price_then_ignores_zero_volume_bars() -> None:
    ind = IndicatorSet(IndicatorParams())
    ind.update(T0, 12.0, 6.0, 9.0, 0.0)
    assert ind.vwap == 9.0
    ind.update(T0 + 60, 30.0, 30.0, 30.0, 2.0)
    ind.update(T0 + 120, 90.0, 90.0, 90.0, 0.0)
    assert ind.vwap == 30.0


def test_not_ready_until_the_longest_period() -> None:
    ind = IndicatorSet(IndicatorParams(ema_fast=3, ema_slow=5, atr_period=4))
    for i in range(4):
        ind.update(T0 + 60 * i, 2.0, 1.0, 1.5, 1.0)
        assert not ind.ready
    ind.update(T0 + 240, 2.0, 1.0, 1.5, 1.0)
    assert ind.ready


def test_rejects_nonsense_periods() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        IndicatorSet(IndicatorParams(ema_fast=0))
