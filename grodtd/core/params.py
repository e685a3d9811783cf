"""Tunable parameters of the domain, as plain frozen values.

``grodtd.config`` validates the YAML files and builds these; the core never reads files or
the environment. Defaults here are the product defaults and match ``configs/``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from grodtd.core.models import Regime


@dataclass(frozen=True, slots=True)
class IndicatorParams:
    """Periods of the indicators every strategy reads (configs/strategies.yaml)."""

    ema_fast: int = 9
    ema_slow: int = 21
    atr_period: int = 14


@dataclass(frozen=True, slots=True)
class RegimeParams:
    """Thresholds of the regime classifier (configs/regime.yaml).

    Every feature is scale-free so the same thresholds serve BTC at 60,000 and a token at 0.3.
    """

    slope_window: int = 30  # bars in the least-squares fit of log price
    return_window: int = 20  # bars of the trailing return
    atr_percentile_window: int = 240  # bars over which ATR/price is ranked
    trend_slope: float = 0.00008  # |log-price slope per bar| above this is a trend
    trend_return: float = 0.002  # |20-bar return| that must agree with the slope's sign
    high_volatility_percentile: float = 0.90  # ATR/price rank above this is high volatility
    high_volatility_atr_ratio: float = 0.004  # and ATR/price at least this
    confirm_bars: int = 3  # a new regime must persist this long; until then: transition
    warmup_bars: int = 60  # before this many bars a symbol is in transition


@dataclass(frozen=True, slots=True)
class StrategyParams:
    """The S1 trend strategy (configs/strategies.yaml)."""

    name: str = "s1_trend"
    enabled: bool = True
    stop_atr_multiple: float = 2.0
    target_r_multiple: float = 1.5
    # Gating: the regimes in which this strategy may open positions.
    allowed_regimes: frozenset[Regime] = field(
        default_factory=lambda: frozenset({Regime.TRENDING_UP})
    )
    allow_short: bool = False


@dataclass(frozen=True, slots=True)
class RiskParams:
    """Position sizing, caps, cooldowns and kill switches (configs/risk.yaml)."""

    risk_per_trade: float = 0.0075  # fraction of equity lost if the stop is hit
    max_position_notional: float = 0.10  # fraction of equity in one position
    max_open_positions: int = 3
    daily_loss_cap: float = 0.03  # fraction of start-of-day equity; reset at 00:00 UTC
    loss_streak_limit: int = 3
    cooldown_seconds: int = 86_400
    # Kill switches.
    max_bar_gap_seconds: int = 300  # a larger gap between a symbol's bars is stale data
    max_broker_errors: int = 5  # consecutive broker errors
    max_slippage_bps: float = 50.0  # a fill this far from its reference price is abnormal
    min_order_notional: float = 10.0


@dataclass(frozen=True, slots=True)
class EngineParams:
    """Everything the engine is built from: cash, indicators, regime, strategies, risk."""

    initial_cash: float = 100_000.0
    indicators: IndicatorParams = field(default_factory=IndicatorParams)
    regime: RegimeParams = field(default_factory=RegimeParams)
    strategies: tuple[StrategyParams, ...] = field(default_factory=lambda: (StrategyParams(),))
    risk: RiskParams = field(default_factory=RiskParams)
