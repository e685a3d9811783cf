"""Validated mirrors of the domain parameters in ``grodtd.core.params``.

The core takes plain frozen dataclasses and never validates; these models are where bounds are
enforced. Defaults are read from the dataclasses so there is one source of truth for them, and
a unit test checks that every dataclass field has a matching key here (and nothing more).
Cross-field rules are field validators on the later field so that an error points at a key the
operator can change, not at the whole section.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from grodtd.core.models import Regime
from grodtd.core.params import IndicatorParams, RegimeParams, RiskParams, StrategyParams

_RISK = RiskParams()
_REGIME = RegimeParams()
_IND = IndicatorParams()
_S1 = StrategyParams()

# A share of equity or of a distribution: zero would disable the rule silently, so it is
# excluded; more than the whole makes no sense for spot trading.
Fraction = Annotated[float, Field(gt=0.0, le=1.0)]
Bars = Annotated[int, Field(ge=1, le=100_000)]


def conflict(message: str, *siblings: str) -> PydanticCustomError:
    """An error that involves sibling keys too: the loader blames whichever of them was set by
    the highest layer (the value that just changed), not always the key the check sits on."""
    # Braces would be read as template fields by pydantic.
    text = message.replace("{", "{{").replace("}", "}}")
    return PydanticCustomError("conflict", text, {"siblings": siblings})


class Section(BaseModel):
    """Every configuration section: immutable, and typos are errors rather than ignored keys."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class IndicatorsConfig(Section):
    ema_fast: Bars = _IND.ema_fast
    ema_slow: Annotated[int, Field(ge=2, le=100_000)] = _IND.ema_slow
    atr_period: Bars = _IND.atr_period

    @field_validator("ema_slow")
    @classmethod
    def _slow_after_fast(cls, value: int, info: ValidationInfo) -> int:
        fast = info.data.get("ema_fast")
        if fast is not None and fast >= value:
            raise conflict(
                f"must be greater than indicators.ema_fast ({fast}) (got {value})", "ema_fast"
            )
        return value

    def params(self) -> IndicatorParams:
        return IndicatorParams(**self.model_dump())


class RegimeConfig(Section):
    slope_window: Annotated[int, Field(ge=2, le=100_000)] = _REGIME.slope_window
    return_window: Bars = _REGIME.return_window
    atr_percentile_window: Annotated[int, Field(ge=2, le=100_000)] = _REGIME.atr_percentile_window
    trend_slope: Annotated[float, Field(gt=0.0, lt=1.0)] = _REGIME.trend_slope
    trend_return: Annotated[float, Field(gt=0.0, lt=1.0)] = _REGIME.trend_return
    high_volatility_percentile: Fraction = _REGIME.high_volatility_percentile
    high_volatility_atr_ratio: Annotated[float, Field(gt=0.0, lt=1.0)] = (
        _REGIME.high_volatility_atr_ratio
    )
    confirm_bars: Bars = _REGIME.confirm_bars
    warmup_bars: Bars = _REGIME.warmup_bars

    @field_validator("warmup_bars")
    @classmethod
    def _warm_enough(cls, value: int, info: ValidationInfo) -> int:
        # Before warm-up ends a symbol is "transition"; classifying earlier would fit a slope or
        # a return over fewer bars than configured.
        needed = max(info.data.get("slope_window", 0), info.data.get("return_window", 0))
        if value < needed:
            raise conflict(
                f"must be at least regime.slope_window and regime.return_window ({needed}) "
                f"(got {value})",
                "slope_window",
                "return_window",
            )
        return value

    def params(self) -> RegimeParams:
        return RegimeParams(**self.model_dump())


class RiskConfig(Section):
    risk_per_trade: Fraction = _RISK.risk_per_trade
    max_position_notional: Fraction = _RISK.max_position_notional
    max_open_positions: Annotated[int, Field(ge=1, le=1_000)] = _RISK.max_open_positions
    daily_loss_cap: Fraction = _RISK.daily_loss_cap
    loss_streak_limit: Annotated[int, Field(ge=1, le=1_000)] = _RISK.loss_streak_limit
    cooldown_seconds: Annotated[int, Field(ge=0, le=30 * 86_400)] = _RISK.cooldown_seconds
    max_bar_gap_seconds: Annotated[int, Field(ge=1, le=7 * 86_400)] = _RISK.max_bar_gap_seconds
    max_broker_errors: Annotated[int, Field(ge=1, le=1_000)] = _RISK.max_broker_errors
    max_slippage_bps: Annotated[float, Field(gt=0.0, le=10_000.0)] = _RISK.max_slippage_bps
    min_order_notional: Annotated[float, Field(ge=0.0)] = _RISK.min_order_notional

    @field_validator("daily_loss_cap")
    @classmethod
    def _cap_covers_one_trade(cls, value: float, info: ValidationInfo) -> float:
        # A cap below one trade's risk would halt trading after the first stopped-out trade,
        # which is never what someone tuning these two numbers means.
        per_trade = info.data.get("risk_per_trade")
        if per_trade is not None and value < per_trade:
            raise conflict(
                f"must be at least risk.risk_per_trade ({per_trade}) (got {value})",
                "risk_per_trade",
            )
        return value

    def params(self) -> RiskParams:
        return RiskParams(**self.model_dump())


class S1TrendConfig(Section):
    enabled: bool = _S1.enabled
    stop_atr_multiple: Annotated[float, Field(gt=0.0, le=100.0)] = _S1.stop_atr_multiple
    target_r_multiple: Annotated[float, Field(gt=0.0, le=100.0)] = _S1.target_r_multiple
    allowed_regimes: list[Regime] = Field(default_factory=lambda: sorted(_S1.allowed_regimes))
    allow_short: bool = _S1.allow_short

    @field_validator("allowed_regimes")
    @classmethod
    def _some_regime(cls, value: list[Regime]) -> list[Regime]:
        if not value:
            raise ValueError(
                "must list at least one regime (to switch the strategy off, set enabled: false)"
            )
        return list(dict.fromkeys(value))

    def params(self, name: str) -> StrategyParams:
        return StrategyParams(
            name=name,
            enabled=self.enabled,
            stop_atr_multiple=self.stop_atr_multiple,
            target_r_multiple=self.target_r_multiple,
            allowed_regimes=frozenset(self.allowed_regimes),
            allow_short=self.allow_short,
        )


class StrategiesConfig(Section):
    """One key per strategy the code knows; an unknown name is a typo, not a new strategy."""

    s1_trend: S1TrendConfig = Field(default_factory=S1TrendConfig)

    def params(self) -> tuple[StrategyParams, ...]:
        return (self.s1_trend.params("s1_trend"),)
