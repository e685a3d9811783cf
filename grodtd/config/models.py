"""The settings tree: what ``load_settings`` returns and what the rest of the daemon reads.

Every section forbids unknown keys, so a typo in a YAML file or a ``GRODT_`` variable is an
error at start-up rather than a default silently used in production.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import AfterValidator, Field, SecretStr, ValidationInfo, field_validator

from grodtd.config.domain import (
    IndicatorsConfig,
    RegimeConfig,
    RiskConfig,
    Section,
    StrategiesConfig,
)
from grodtd.core.params import EngineParams

REDACTED = "**********"
ENVIRONMENTS = ("dev", "staging", "prod")

Port = Annotated[int, Field(ge=1, le=65_535)]
Host = Annotated[str, Field(min_length=1, max_length=253)]
Seconds = Annotated[float, Field(gt=0.0, le=3_600.0)]
_SYMBOL = re.compile(r"^[A-Z0-9]{1,20}-[A-Z0-9]{1,20}$")


def _symbol(value: str) -> str:
    if not _SYMBOL.match(value):
        raise ValueError(f"must be BASE-QUOTE in capitals, such as BTC-USD (got {value!r})")
    return value


Symbol = Annotated[str, AfterValidator(_symbol)]
KeyPath = tuple[str, ...]
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://")


class WebConfig(Section):
    host: Host = "127.0.0.1"
    port: Port = 8000
    # Production sets this so that a stack deployed without its token fails at start-up
    # instead of running with control endpoints that refuse everything.
    require_control_token: bool = False


class MetricsConfig(Section):
    host: Host = "127.0.0.1"
    port: Port = 9090


class LogConfig(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    format: Literal["json", "console"] = "json"

    @field_validator("level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


class MarketConfig(Section):
    source: Literal["sim", "replay", "exchange"] = "sim"
    # With source: exchange. A ccxt exchange id; symbols keep GRODT's notation (BTC-USDT) and
    # are asked of the exchange as BTC/USDT.
    exchange: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,39}$")] = "binance"
    # Replaces the scheme and host of the exchange's REST URLs: a proxy or a test server.
    base_url: str | None = None
    # How often the exchange is asked for candles that closed since the last one.
    poll_seconds: Annotated[float, Field(gt=0.0, le=300.0)] = 2.0
    # Seconds of one request before it counts as failed (then retried with backoff).
    request_timeout_seconds: Annotated[float, Field(gt=0.0, le=120.0)] = 10.0
    symbols: Annotated[list[Symbol], Field(min_length=1, max_length=50)] = Field(
        default_factory=lambda: ["BTC-USD", "ETH-USD"]
    )
    seed: Annotated[int, Field(ge=0, le=2**63 - 1)] = 42
    start: datetime = datetime(2025, 1, 1, tzinfo=UTC)
    bar_seconds: Annotated[int, Field(ge=1, le=86_400)] = 60
    # Live pacing per symbol; fast enough by default that a first run shows fills in a minute.
    speed_bars_per_second: Annotated[float, Field(gt=0.0, le=100_000.0)] = 20.0
    # Bars emitted at once before live pacing, so indicators and regimes are warm on start-up.
    history_bars: Annotated[int, Field(ge=0, le=1_000_000)] = 400
    replay_paths: dict[str, Path] = Field(default_factory=dict)

    @field_validator("symbols")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        duplicates = sorted({s for s in value if value.count(s) > 1})
        if duplicates:
            raise ValueError(f"lists {', '.join(duplicates)} more than once")
        return value

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(
                f"must be an http(s) URL with a host, such as http://127.0.0.1:8123 (got {value!r})"
            )
        return value.rstrip("/")

    @field_validator("start")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        # A naive timestamp is read as UTC: every timestamp in GRODT is UTC.
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    @field_validator("replay_paths")
    @classmethod
    def _replay_complete(cls, value: dict[str, Path], info: ValidationInfo) -> dict[str, Path]:
        if info.data.get("source") != "replay":
            return value
        missing = [s for s in info.data.get("symbols", []) if s not in value]
        if missing:
            raise ValueError(
                f"market.source is replay but no CSV file is given for {', '.join(missing)}: "
                "add SYMBOL: path/to/bars.csv under market.replay_paths"
            )
        absent = [f"{s}: {p}" for s, p in value.items() if not p.is_file()]
        if absent:
            raise ValueError(
                f"file not found ({'; '.join(absent)}); relative paths are read from the "
                "working directory"
            )
        return value

    @property
    def start_ts(self) -> int:
        """Epoch seconds, the core's time unit."""
        return int(self.start.timestamp())


class BrokerConfig(Section):
    # paper: simulated fills (the default, always safe). live: real orders on the exchange,
    # only with market.source exchange AND both API key files present (two opt-ins).
    mode: Literal["paper", "live"] = "paper"
    fee_bps: Annotated[float, Field(ge=0.0, le=1_000.0)] = 10.0
    slippage_bps: Annotated[float, Field(ge=0.0, le=1_000.0)] = 5.0
    # Live only. How often the store is reconciled with the exchange (and at start-up).
    reconcile_seconds: Seconds = 60.0
    # Coins the account holds that are not GRODT's (base currency -> amount): subtracted
    # before the balances are compared with the positions.
    held_outside: dict[str, Annotated[float, Field(ge=0.0)]] = Field(default_factory=dict)
    # Safety rails on entries, in the quote currency (None: no rail). Exits always go out.
    max_order_notional: Annotated[float, Field(gt=0.0)] | None = None
    daily_notional_cap: Annotated[float, Field(gt=0.0)] | None = None


class EngineConfig(Section):
    initial_cash: Annotated[float, Field(gt=0.0, le=1e12)] = 100_000.0


class HealthConfig(Section):
    heartbeat_timeout_seconds: Seconds = 10.0
    # Unset: 10 s for the simulator and a replay (bars come many times a second), two bars
    # plus 30 s for an exchange (one candle per symbol per bar_seconds): see
    # Settings.market_data_stale_seconds.
    market_data_stale_seconds: Seconds | None = None


class ShutdownConfig(Section):
    # Docker waits 10 s after SIGTERM before SIGKILL; the drain has to fit well inside that.
    drain_timeout_seconds: Annotated[float, Field(gt=0.0, le=60.0)] = 5.0


class SecretsConfig(Section):
    control_token: SecretStr | None = None
    exchange_api_key: SecretStr | None = None
    exchange_api_secret: SecretStr | None = None


class Settings(Section):
    """The daemon's effective configuration (see docs/configuration.md for every key)."""

    environment: Literal["dev", "staging", "prod"] = "dev"
    config_dir: Path = Path("configs")
    data_dir: Path = Path("data")
    # None means SQLite in data_dir; a secret because a server URL carries a password.
    database_url: SecretStr | None = None
    web: WebConfig = Field(default_factory=WebConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    log: LogConfig = Field(default_factory=LogConfig)
    market: MarketConfig = Field(default_factory=MarketConfig)
    broker: BrokerConfig = Field(default_factory=BrokerConfig)
    engine: EngineConfig = Field(default_factory=EngineConfig)
    health: HealthConfig = Field(default_factory=HealthConfig)
    shutdown: ShutdownConfig = Field(default_factory=ShutdownConfig)
    risk: RiskConfig = Field(default_factory=RiskConfig)
    regime: RegimeConfig = Field(default_factory=RegimeConfig)
    indicators: IndicatorsConfig = Field(default_factory=IndicatorsConfig)
    strategies: StrategiesConfig = Field(default_factory=StrategiesConfig)
    secrets: SecretsConfig = Field(default_factory=SecretsConfig)

    @field_validator("database_url")
    @classmethod
    def _looks_like_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _URL.match(value.get_secret_value()):
            # The value itself may hold a password: never echo it.
            raise ValueError(
                "must be a URL such as sqlite:////data/grodt.db or "
                "postgresql+psycopg://grodt@db/grodt (value not shown: it may hold a password)"
            )
        return value

    @property
    def market_data_stale_seconds(self) -> float:
        """After how long without a bar market data is stale (readiness, the watchdog)."""
        if self.health.market_data_stale_seconds is not None:
            return self.health.market_data_stale_seconds
        if self.market.source == "exchange":
            return 2.0 * self.market.bar_seconds + 30.0
        return 10.0

    @property
    def control_token(self) -> SecretStr | None:
        return self.secrets.control_token

    @property
    def has_exchange_keys(self) -> bool:
        return (
            self.secrets.exchange_api_key is not None
            and self.secrets.exchange_api_secret is not None
        )

    def trading_mode(self) -> tuple[Literal["paper", "live"], str]:
        """What the broker will be, and why: live only when asked for twice (the mode and
        the API key files); anything less trades paper, and the reason says what is missing.
        """
        if self.broker.mode == "paper":
            return "paper", "broker.mode is paper"
        if not self.has_exchange_keys:
            return "paper", (
                "broker.mode is live but no API key files are configured "
                "(GRODT_EXCHANGE_API_KEY_FILE and GRODT_EXCHANGE_API_SECRET_FILE): trading paper"
            )
        return "live", f"broker.mode is live with API keys for {self.market.exchange}"

    def effective_database_url(self) -> str:
        """The URL the store opens: the configured one, else SQLite in the data directory."""
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite:///{(self.data_dir / 'grodt.db').resolve()}"

    def engine_params(self) -> EngineParams:
        return EngineParams(
            initial_cash=self.engine.initial_cash,
            indicators=self.indicators.params(),
            regime=self.regime.params(),
            strategies=self.strategies.params(),
            risk=self.risk.params(),
        )

    def redacted(self) -> dict[str, Any]:
        """The effective configuration with every secret replaced, for ``grodt check-config``."""
        tree: dict[str, Any] = self.model_dump(mode="json")
        tree["database_url"] = _mask_password(self.effective_database_url())
        tree["secrets"] = {
            key: (None if value is None else REDACTED) for key, value in tree["secrets"].items()
        }
        return tree

    def secret_values(self) -> list[str]:
        """Every secret string, for the log redactor. Empty strings are never secrets."""
        values: list[str] = []
        for secret in (
            self.secrets.control_token,
            self.secrets.exchange_api_key,
            self.secrets.exchange_api_secret,
        ):
            if secret is not None:
                values.append(secret.get_secret_value())
        if self.database_url is not None:
            url = self.database_url.get_secret_value()
            password = urlsplit(url).password
            if password:
                values += [url, password]
        return [v for v in dict.fromkeys(values) if v]

    def cross_problems(self) -> list[tuple[tuple[KeyPath, ...], str]]:
        """Rules that span sections: (the keys involved, message), for the loader to attribute
        to whichever of those keys was set by the highest layer."""
        problems: list[tuple[tuple[KeyPath, ...], str]] = []
        web, metrics = self.web, self.metrics
        if web.port == metrics.port and _same_interface(web.host, metrics.host):
            problems.append(
                (
                    (("web", "port"), ("metrics", "port")),
                    f"web.port and metrics.port are both {web.port} on the same interface: "
                    "give one of them another port",
                )
            )
        if web.require_control_token and self.secrets.control_token is None:
            problems.append(
                (
                    (("web", "require_control_token"),),
                    "is true but no control token is configured: set GRODT_CONTROL_TOKEN_FILE "
                    "or mount the secret at /run/secrets/grodt_control_token",
                )
            )
        problems += self._live_trading_problems()
        return problems

    def _live_trading_problems(self) -> list[tuple[tuple[KeyPath, ...], str]]:
        keys = (self.secrets.exchange_api_key, self.secrets.exchange_api_secret)
        if self.broker.mode != "live":
            return []
        mode = (("broker", "mode"),)
        if self.market.source != "exchange":
            return [(mode, "is live but market.source is not exchange: live orders need one")]
        if self.strategies.s1_trend.allow_short:
            return [
                (
                    (("strategies", "s1_trend", "allow_short"),),
                    "is true but live orders go to a spot account, which cannot sell what it "
                    "does not hold: set it to false, or broker.mode: paper",
                )
            ]
        if (keys[0] is None) != (keys[1] is None):
            return [
                (
                    mode,
                    "is live with only one of the API key files: set both "
                    "GRODT_EXCHANGE_API_KEY_FILE and GRODT_EXCHANGE_API_SECRET_FILE",
                )
            ]
        if self.environment == "prod" and keys[0] is None:
            return [
                (
                    mode,
                    "is live in prod but no API key files are configured: set "
                    "GRODT_EXCHANGE_API_KEY_FILE and GRODT_EXCHANGE_API_SECRET_FILE "
                    "(or mount /run/secrets/grodt_exchange_api_key and _secret), "
                    "or set broker.mode: paper",
                )
            ]
        return []


def _same_interface(a: str, b: str) -> bool:
    wildcard = {"0.0.0.0", "::", ""}
    return a == b or a in wildcard or b in wildcard


def _mask_password(url: str) -> str:
    parts = urlsplit(url)
    if not parts.password:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal loses its brackets in urlsplit
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=f"{user}:{REDACTED}@{host}{port}"))
