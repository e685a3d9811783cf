"""S1 entry, protective levels and trend-break rules, on indicator states set by hand."""

from __future__ import annotations

import pytest

from grodtd.core.indicators import IndicatorSet
from grodtd.core.models import Regime
from grodtd.core.params import IndicatorParams, StrategyParams
from grodtd.core.strategy import FLAT, LONG, SHORT, build_strategy, stop_distance_of
from grodtd.core.strategy.s1_trend import S1Trend


def state(vwap: float, fast: float, slow: float, atr: float = 1.0) -> IndicatorSet:
    ind = IndicatorSet(IndicatorParams())
    ind.count = ind.ready_after
    ind.vwap, ind.ema_fast, ind.ema_slow, ind.atr = vwap, fast, slow, atr
    return ind


UP = Regime.TRENDING_UP


def test_long_entry_needs_every_condition() -> None:
    s1 = S1Trend(StrategyParams())
    assert s1.entry_direction(101.0, state(100.0, 100.5, 100.0), UP) == LONG
    assert s1.entry_direction(99.9, state(100.0, 99.5, 99.0), UP) == FLAT  # close < VWAP
    assert s1.entry_direction(100.4, state(100.0, 100.5, 100.0), UP) == FLAT  # close < EMA9
    assert s1.entry_direction(101.0, state(100.0, 100.0, 100.5), UP) == FLAT  # EMA9 < EMA21


@pytest.mark.parametrize(
    "regime", [Regime.TRENDING_DOWN, Regime.RANGING, Regime.HIGH_VOLATILITY, Regime.TRANSITION]
)
def test_regime_gating_blocks_entries_outside_allowed_regimes(regime: Regime) -> None:
    s1 = S1Trend(StrategyParams())
    assert s1.entry_direction(101.0, state(100.0, 100.5, 100.0), regime) == FLAT


def test_gating_follows_configuration() -> None:
    s1 = S1Trend(StrategyParams(allowed_regimes=frozenset({Regime.RANGING})))
    assert s1.entry_direction(101.0, state(100.0, 100.5, 100.0), Regime.RANGING) == LONG
    assert s1.entry_direction(101.0, state(100.0, 100.5, 100.0), UP) == FLAT


def test_no_entry_before_indicators_are_ready() -> None:
    s1 = S1Trend(StrategyParams())
    ind = state(100.0, 100.5, 100.0)
    ind.count = ind.ready_after - 1
    assert s1.entry_direction(101.0, ind, UP) == FLAT


def test_short_only_when_allowed() -> None:
    bearish = state(100.0, 99.5, 100.0)
    down = Regime.TRENDING_DOWN
    both = frozenset({UP, down})
    assert S1Trend(StrategyParams(allowed_regimes=both)).entry_direction(99.0, bearish, down) == 0
    shorts = S1Trend(StrategyParams(allowed_regimes=both, allow_short=True))
    assert shorts.entry_direction(99.0, bearish, down) == SHORT


def test_protective_levels_are_two_atr_and_one_and_a_half_r() -> None:
    s1 = S1Trend(StrategyParams())
    stop, target = s1.protective_levels(100.0, 1.5, LONG)
    assert stop == pytest.approx(97.0)
    assert target == pytest.approx(104.5)
    stop, target = s1.protective_levels(100.0, 1.5, SHORT)
    assert stop == pytest.approx(103.0)
    assert target == pytest.approx(95.5)
    assert stop_distance_of(97.0, 104.5, 1.5) == pytest.approx(3.0)


def test_trend_break_is_close_below_both_ema_fast_and_vwap() -> None:
    s1 = S1Trend(StrategyParams())
    ind = state(100.0, 101.0, 100.0)
    assert s1.trend_broken(99.0, ind, LONG)
    assert not s1.trend_broken(100.5, ind, LONG)  # below EMA9 but above VWAP
    assert not s1.trend_broken(102.0, ind, LONG)
    assert s1.trend_broken(102.0, ind, SHORT)


def test_registry_names_unknown_strategies() -> None:
    assert isinstance(build_strategy(StrategyParams()), S1Trend)
    with pytest.raises(ValueError, match="s1_trend"):
        build_strategy(StrategyParams(name="s9_magic"))
