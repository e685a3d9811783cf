"""The regime classifier beats always-guessing the most common regime on the simulator."""

from __future__ import annotations

from dataclasses import replace

from grodtd.adapters.markets.sim import SimMarket, SimParams
from grodtd.backtest.regime_score import score_classifier
from grodtd.core.models import Regime
from grodtd.core.params import IndicatorParams, RegimeParams


def test_classifier_beats_the_majority_baseline_on_several_seeds() -> None:
    for seed in (1, 2, 3):
        market = SimMarket(replace(SimParams(), seed=seed), n_bars=7 * 1440)
        score = score_classifier(market, IndicatorParams(), RegimeParams(), skip_bars=300)
        assert score.bars > 10_000
        assert score.agreement > score.baseline, (seed, score.agreement, score.baseline)
        # Trend detection is what gates S1: it must find most trending-up bars it could.
        assert score.recall(Regime.TRENDING_UP) > 0.3, seed
