"""Score the regime classifier against the simulator's true regime.

The simulator knows which regime generated every bar, so the classifier can be graded bar by
bar. The bar to beat is the majority baseline: always answering the most common true regime.
A ``transition`` answer (warm-up or an unconfirmed change) counts as a miss: the classifier
gets no credit for abstaining.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from grodtd.adapters.markets.sim import SimMarket
from grodtd.core.indicators import IndicatorSet
from grodtd.core.models import Regime
from grodtd.core.params import IndicatorParams, RegimeParams
from grodtd.core.regime import RegimeClassifier


@dataclass(frozen=True, slots=True)
class RegimeScore:
    bars: int
    agreement: float  # fraction of bars where the classifier named the true regime
    baseline: float  # fraction of the most common true regime
    baseline_regime: Regime
    confusion: dict[tuple[Regime, Regime], int]  # (true, predicted) -> bars

    def recall(self, regime: Regime) -> float:
        total = sum(n for (true, _), n in self.confusion.items() if true is regime)
        hit = self.confusion.get((regime, regime), 0)
        return hit / total if total else 0.0


def score_classifier(
    market: SimMarket,
    indicator_params: IndicatorParams,
    regime_params: RegimeParams,
    *,
    skip_bars: int = 0,
) -> RegimeScore:
    """Run one classifier per symbol over a bounded ``market``; grade after ``skip_bars``."""
    indicators = {s: IndicatorSet(indicator_params) for s in market.symbols}
    classifiers = {s: RegimeClassifier(regime_params) for s in market.symbols}
    seen: Counter[str] = Counter()
    confusion: Counter[tuple[Regime, Regime]] = Counter()
    truths: Counter[Regime] = Counter()
    for bar in market.bars():
        ind = indicators[bar.symbol]
        ind.update(bar.ts, bar.high, bar.low, bar.close, bar.volume)
        predicted = classifiers[bar.symbol].update(bar.close, ind.atr)
        seen[bar.symbol] += 1
        if seen[bar.symbol] <= skip_bars:
            continue
        true = market.true_regime(bar.symbol, bar.ts)
        truths[true] += 1
        confusion[(true, predicted)] += 1
    total = sum(truths.values())
    if total == 0:
        raise ValueError("no bars were scored: the market is shorter than skip_bars")
    baseline_regime, baseline_count = truths.most_common(1)[0]
    hits = sum(n for (true, predicted), n in confusion.items() if true is predicted)
    return RegimeScore(
        bars=total,
        agreement=hits / total,
        baseline=baseline_count / total,
        baseline_regime=baseline_regime,
        confusion=dict(confusion),
    )
