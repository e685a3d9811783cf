"""S1 entry, protective levels and trend-break rules, on indicator states set by hand."""

from __future__ import annotations

import pytest

from grodtd.core.indicators import IndicatorSet
from grodtd.core.models import Order, OrderKind, OrderPurpose, Regime, Side
from grodtd.core.params import IndicatorParams, StrategyParams
from grodtd.core.strategy import FLAT, LONG, SHORT, build_strategy, stop_distance_of
from grodtd.core.strategy.s1_trend import S1Trend


def state(vwap: float, fast: float, slow: float, atr: float = 1.0) -> IndicatorSet:
    ind = IndicatorSet(IndicatorParams())
    ind.count = ind.ready_after
    ind.vwap, ind.ema_fast, ind.ema_slow, ind.atr = vwap, fast, slow, atr
    return ind


UP = Regime.TRENDING_UP


def direction(s1: S1Trend, close: float, ind: IndicatorSet, regime: Regime) -> int:
    """The direction of the strategy's entry decision, FLAT when it decides none."""
    decision = s1.entry(close, ind, regime)
    return FLAT if decision is None else decision.direction


def test_long_entry_needs_every_condition() -> None:
    s1 = S1Trend(StrategyParams())
    assert direction(s1, 101.0, state(100.0, 100.5, 100.0), UP) == LONG
    assert direction(s1, 99.9, state(100.0, 99.5, 99.0), UP) == FLAT  # close < VWAP
    assert direction(s1, 100.4, state(100.0, 100.5, 100.0), UP) == FLAT  # close < EMA9
    assert direction(s1, 101.0, state(100.0, 100.0, 100.5), UP) == FLAT  # EMA9 < EMA21


@pytest.mark.parametrize(
    "regime", [Regime.TRENDING_DOWN, Regime.RANGING, Regime.HIGH_VOLATILITY, Regime.TRANSITION]
)
def test_regime_gating_blocks_entries_outside_allowed_regimes(regime: Regime) -> None:
    s1 = S1Trend(StrategyParams())
    assert direction(s1, 101.0, state(100.0, 100.5, 100.0), regime) == FLAT


def test_gating_follows_configuration() -> None:
    s1 = S1Trend(StrategyParams(allowed_regimes=frozenset({Regime.RANGING})))
    assert direction(s1, 101.0, state(100.0, 100.5, 100.0), Regime.RANGING) == LONG
    assert direction(s1, 101.0, state(100.0, 100.5, 100.0), UP) == FLAT


def test_no_entry_before_indicators_are_ready() -> None:
    s1 = S1Trend(StrategyParams())
    ind = state(100.0, 100.5, 100.0)
    ind.count = ind.ready_after - 1
    assert direction(s1, 101.0, ind, UP) == FLAT


def test_short_only_when_allowed() -> None:
    bearish = state(100.0, 99.5, 100.0)
    down = Regime.TRENDING_DOWN
    both = frozenset({UP, down})
    assert direction(S1Trend(StrategyParams(allowed_regimes=both)), 99.0, bearish, down) == 0
    shorts = S1Trend(StrategyParams(allowed_regimes=both, allow_short=True))
    assert direction(shorts, 99.0, bearish, down) == SHORT


def test_protective_levels_are_two_atr_and_one_and_a_half_r() -> None:
    s1 = S1Trend(StrategyParams(allow_short=True, allowed_regimes=frozenset(Regime)))
    decision = s1.entry(100.0, state(99.0, 99.5, 99.0, atr=1.5), UP)
    assert decision is not None and decision.direction == LONG
    assert decision.stop == pytest.approx(97.0)
    assert decision.target == pytest.approx(104.5)
    decision = s1.entry(100.0, state(101.0, 100.5, 101.0, atr=1.5), Regime.TRENDING_DOWN)
    assert decision is not None and decision.direction == SHORT
    assert decision.stop == pytest.approx(103.0)
    assert decision.target == pytest.approx(95.5)
    assert stop_distance_of(97.0, 104.5, 1.5) == pytest.approx(3.0)


def test_the_entry_decision_says_why_in_the_words_the_store_keeps() -> None:
    s1 = S1Trend(StrategyParams())
    decision = s1.entry(101.0, state(100.0, 100.5, 100.0), UP)
    assert decision is not None and decision.reason == "trend entry in trending_up"


def entry_order(side: Side, stop: float | None, target: float | None) -> Order:
    return Order(
        client_order_id="s1_trend-BTC-USD-60-entry",
        symbol="BTC-USD",
        side=side,
        kind=OrderKind.MARKET,
        purpose=OrderPurpose.ENTRY,
        qty=1.0,
        created_ts=60,
        strategy="s1_trend",
        stop_price=stop,
        target_price=target,
    )


def test_levels_are_re_anchored_on_the_fill_with_the_same_one_r() -> None:
    s1 = S1Trend(StrategyParams())
    stop, target = s1.levels_on_fill(entry_order(Side.BUY, 97.0, 104.5), 101.0, LONG, 9.9)
    assert (stop, target) == (pytest.approx(98.0), pytest.approx(105.5))
    stop, target = s1.levels_on_fill(entry_order(Side.SELL, 103.0, 95.5), 99.0, SHORT, 9.9)
    assert (stop, target) == (pytest.approx(102.0), pytest.approx(94.5))
    # An entry without levels to re-anchor gets them from the ATR it is given.
    stop, target = s1.levels_on_fill(entry_order(Side.BUY, None, None), 100.0, LONG, 1.5)
    assert (stop, target) == (pytest.approx(97.0), pytest.approx(104.5))


def test_the_sizing_price_is_read_back_from_the_levels() -> None:
    s1 = S1Trend(StrategyParams())
    assert s1.sizing_price(entry_order(Side.BUY, 97.0, 104.5)) == pytest.approx(100.0)
    assert s1.sizing_price(entry_order(Side.SELL, 103.0, 95.5)) == pytest.approx(100.0)


def test_trend_break_is_close_below_both_ema_fast_and_vwap() -> None:
    s1 = S1Trend(StrategyParams())
    ind = state(100.0, 101.0, 100.0)
    assert s1.exit_reason(99.0, ind, LONG) == "trend break: close beyond EMA fast and VWAP"
    assert s1.exit_reason(100.5, ind, LONG) is None  # below EMA9 but above VWAP
    assert s1.exit_reason(102.0, ind, LONG) is None
    assert s1.exit_reason(102.0, ind, SHORT) == "trend break: close beyond EMA fast and VWAP"


def test_registry_names_unknown_strategies() -> None:
    assert isinstance(build_strategy(StrategyParams()), S1Trend)
    with pytest.raises(ValueError, match="s1_trend"):
        build_strategy(StrategyParams(name="s9_magic"))
