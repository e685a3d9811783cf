"""grodtd.config: layering, the GRODT_* mapping, secrets, validation messages, data dir check.

Each test writes real YAML files into a temporary configs/ directory and runs from its parent,
so messages read exactly as an operator would see them ("configs/risk.yaml: ...").
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
import textwrap
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import BaseModel

from grodtd.config import ConfigError, Settings, check_data_dir, load_settings
from grodtd.config.domain import IndicatorsConfig, RegimeConfig, RiskConfig, S1TrendConfig
from grodtd.config.envvars import FLAT
from grodtd.core.models import Regime
from grodtd.core.params import EngineParams, IndicatorParams, RegimeParams, RiskParams

REPO_CONFIGS = Path(__file__).resolve().parents[2] / "configs"
TOKEN = "tok-7f3a9c1e5b2d"

Write = Callable[..., Path]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty configs/ (and secrets/) under a fresh working directory."""
    (tmp_path / "configs" / "environments").mkdir(parents=True)
    (tmp_path / "secrets").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def write(workdir: Path) -> Write:
    def _write(name: str, text: str) -> Path:
        path = workdir / "configs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return _write


def load(workdir: Path, **env: str) -> Settings:
    return load_settings(env, secrets_dir=workdir / "secrets")


def problems(workdir: Path, **env: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(workdir, **env)
    return caught.value.problems


# --- the repository's own files --------------------------------------------------------------


@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
@pytest.mark.parametrize("overlays", ["", "docker"])
def test_repository_configs_are_valid_in_every_environment(
    environment: str, overlays: str, tmp_path: Path
) -> None:
    token = tmp_path / "token"
    token.write_text(TOKEN + "\n")
    env = {
        "GRODT_CONFIG_DIR": str(REPO_CONFIGS),
        "GRODT_ENV": environment,
        "GRODT_CONFIG_OVERLAYS": overlays,
        "GRODT_CONTROL_TOKEN_FILE": str(token),
    }
    settings = load_settings(env, secrets_dir=tmp_path)
    assert settings.environment == environment
    assert settings.control_token is not None
    assert settings.control_token.get_secret_value() == TOKEN
    if overlays == "docker":
        assert (settings.web.host, settings.metrics.host) == ("0.0.0.0", "0.0.0.0")
        assert settings.data_dir == Path("/data")
        assert settings.log.format == "json"
    else:
        assert (settings.web.host, settings.web.port) == ("127.0.0.1", 8000)
        assert (settings.metrics.host, settings.metrics.port) == ("127.0.0.1", 9090)
    assert settings.log.level == ("DEBUG" if environment == "dev" else "INFO")


def test_repository_configs_hold_the_product_defaults(tmp_path: Path) -> None:
    settings = load_settings(
        {"GRODT_CONFIG_DIR": str(REPO_CONFIGS), "GRODT_ENV": "staging"}, secrets_dir=tmp_path
    )
    assert settings.engine_params() == EngineParams()
    assert settings.market.symbols == ["BTC-USD", "ETH-USD"]
    assert settings.market.speed_bars_per_second == 20
    assert (settings.broker.fee_bps, settings.broker.slippage_bps) == (10, 5)


def test_production_refuses_to_start_without_the_control_token(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(
            {"GRODT_CONFIG_DIR": str(REPO_CONFIGS), "GRODT_ENV": "prod"}, secrets_dir=tmp_path
        )
    (line,) = caught.value.problems
    assert line.startswith(f"{REPO_CONFIGS}/environments/prod.yaml: web.require_control_token:")
    assert "GRODT_CONTROL_TOKEN_FILE" in line


@pytest.mark.parametrize(
    ("model", "params"),
    [
        (RiskConfig, RiskParams),
        (RegimeConfig, RegimeParams),
        (IndicatorsConfig, IndicatorParams),
    ],
)
def test_every_domain_parameter_is_configurable(model: type, params: type) -> None:
    assert list(model.model_fields) == [f.name for f in dataclasses.fields(params)]


def test_strategy_keys_match_the_strategy_parameters() -> None:
    from grodtd.core.params import StrategyParams

    names = {f.name for f in dataclasses.fields(StrategyParams)} - {"name"}
    assert set(S1TrendConfig.model_fields) == names


# --- layering --------------------------------------------------------------------------------


def test_each_layer_overrides_the_one_below(workdir: Path, write: Write) -> None:
    write("settings.yaml", "web: {port: 8001, host: 10.0.0.1}\n")
    write("environments/staging.yaml", "web: {port: 8002}\n")
    write("docker.yaml", "web: {port: 8003}\n")
    write("local.yaml", "web: {port: 8004}\n")
    base = {"GRODT_ENV": "staging"}

    assert load(workdir).web.port == 8001  # dev has no overlay file here
    assert load(workdir, **base).web.port == 8002
    assert load(workdir, **base, GRODT_CONFIG_OVERLAYS="docker").web.port == 8003
    # Named overlays apply in the order given.
    assert load(workdir, **base, GRODT_CONFIG_OVERLAYS="local,docker").web.port == 8003
    assert load(workdir, **base, GRODT_CONFIG_OVERLAYS="docker,local").web.port == 8004
    top = load(workdir, **base, GRODT_CONFIG_OVERLAYS="docker", GRODT_WEB_PORT="8005")
    assert top.web.port == 8005
    # Merging is per key: the host from settings.yaml survived every overlay.
    assert top.web.host == "10.0.0.1"


def test_secret_files_override_environment_variables(workdir: Path) -> None:
    assert load(workdir, GRODT_CONTROL_TOKEN="from-env").control_token.get_secret_value() == (
        "from-env"
    )
    (workdir / "secrets" / "grodt_control_token").write_text("from-secrets-dir\n")
    settings = load(workdir, GRODT_CONTROL_TOKEN="from-env")
    assert settings.control_token.get_secret_value() == "from-secrets-dir"
    explicit = workdir / "token.txt"
    explicit.write_text("from-file\n")
    settings = load(workdir, GRODT_CONTROL_TOKEN="from-env", GRODT_CONTROL_TOKEN_FILE=str(explicit))
    assert settings.control_token.get_secret_value() == "from-file"


def test_domain_files_are_their_own_layers(workdir: Path, write: Write) -> None:
    write("risk.yaml", "risk: {max_open_positions: 5}\n")
    write("regime.yaml", "regime: {confirm_bars: 4}\n")
    write(
        "strategies.yaml", "indicators: {ema_fast: 5}\nstrategies: {s1_trend: {enabled: false}}\n"
    )
    write("environments/dev.yaml", "risk: {daily_loss_cap: 0.05}\n")
    params = load(workdir).engine_params()
    assert params.risk.max_open_positions == 5
    assert params.risk.daily_loss_cap == 0.05
    assert params.regime.confirm_bars == 4
    assert params.indicators.ema_fast == 5
    assert params.strategies[0].enabled is False


# --- the GRODT_* mapping ---------------------------------------------------------------------


def test_nested_variables_reach_every_level(workdir: Path) -> None:
    settings = load(
        workdir,
        GRODT_RISK__MAX_OPEN_POSITIONS="2",
        GRODT_STRATEGIES__S1_TREND__ENABLED="false",
        GRODT_STRATEGIES__S1_TREND__ALLOWED_REGIMES="trending_up, ranging",
        GRODT_MARKET__SYMBOLS="SOL-USD,BTC-USD",
        GRODT_MARKET__START="2024-03-01T12:00:00+02:00",
        GRODT_LOG__LEVEL="warning",
        GRODT_HEALTH__MARKET_DATA_STALE_SECONDS="2.5",
    )
    assert settings.risk.max_open_positions == 2
    strategy = settings.engine_params().strategies[0]
    assert strategy.enabled is False
    assert strategy.allowed_regimes == {Regime.TRENDING_UP, Regime.RANGING}
    assert settings.market.symbols == ["SOL-USD", "BTC-USD"]
    assert settings.market.start_ts == 1_709_287_200  # 10:00 UTC
    assert settings.log.level == "WARNING"
    assert settings.health.market_data_stale_seconds == 2.5


def test_json_values_for_mappings(workdir: Path) -> None:
    csv = workdir / "btc.csv"
    csv.write_text("ts,open,high,low,close,volume\n")
    settings = load(
        workdir,
        GRODT_MARKET__SOURCE="replay",
        GRODT_MARKET__SYMBOLS='["BTC-USD"]',
        GRODT_MARKET__REPLAY_PATHS=json.dumps({"BTC-USD": str(csv)}),
    )
    assert settings.market.replay_paths == {"BTC-USD": csv}


@pytest.mark.parametrize(
    ("variable", "value", "read"),
    [
        ("GRODT_WEB_HOST", "0.0.0.0", lambda s: s.web.host),
        ("GRODT_WEB_PORT", "18000", lambda s: s.web.port),
        ("GRODT_METRICS_HOST", "::1", lambda s: s.metrics.host),
        ("GRODT_METRICS_PORT", "19090", lambda s: s.metrics.port),
        ("GRODT_LOG_LEVEL", "ERROR", lambda s: s.log.level),
        ("GRODT_LOG_FORMAT", "console", lambda s: s.log.format),
        ("GRODT_DATA_DIR", "/srv/grodt", lambda s: str(s.data_dir)),
        (
            "GRODT_DATABASE_URL",
            "sqlite:////srv/x.db",
            lambda s: s.database_url.get_secret_value(),
        ),
        ("GRODT_CONTROL_TOKEN", TOKEN, lambda s: s.control_token.get_secret_value()),
    ],
)
def test_flat_contract_names(
    workdir: Path, variable: str, value: str, read: Callable[[Settings], object]
) -> None:
    assert read(load(workdir, **{variable: value})) == (int(value) if value.isdigit() else value)


def test_every_flat_name_is_tested() -> None:
    tested = {
        "WEB_HOST", "WEB_PORT", "METRICS_HOST", "METRICS_PORT", "LOG_LEVEL", "LOG_FORMAT",
        "DATA_DIR", "DATABASE_URL", "CONTROL_TOKEN",
    }  # fmt: skip
    assert set(FLAT) == tested


def test_config_dir_and_env_come_from_the_environment(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "environments").mkdir(parents=True)
    (elsewhere / "environments" / "prod.yaml").write_text("web: {port: 8100}\n")
    settings = load_settings(
        {"GRODT_CONFIG_DIR": str(elsewhere), "GRODT_ENV": "prod"}, secrets_dir=tmp_path
    )
    assert (settings.config_dir, settings.environment, settings.web.port) == (
        elsewhere,
        "prod",
        8100,
    )


def test_default_database_is_sqlite_in_the_data_dir(workdir: Path) -> None:
    settings = load(workdir, GRODT_DATA_DIR=str(workdir / "d"))
    assert settings.database_url is None
    assert settings.effective_database_url() == f"sqlite:///{workdir / 'd' / 'grodt.db'}"


def test_empty_variables_count_as_unset(workdir: Path) -> None:
    # Compose passes GRODT_X=${X:-} when the operator did not set X.
    assert load(workdir, GRODT_WEB_PORT="", GRODT_CONTROL_TOKEN="").web.port == 8000


# --- validation messages ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        (
            "risk.yaml",
            "risk:\n  max_open_positions: 0\n",
            "configs/risk.yaml: risk.max_open_positions: must be >= 1 (got 0)",
        ),
        (
            "risk.yaml",
            "risk:\n  risk_per_trade: 1.5\n",
            "configs/risk.yaml: risk.risk_per_trade: must be <= 1.0 (got 1.5)",
        ),
        (
            "settings.yaml",
            "web:\n  port: 70000\n",
            "configs/settings.yaml: web.port: must be <= 65535 (got 70000)",
        ),
        (
            "settings.yaml",
            "metrics:\n  port: zero\n",
            "configs/settings.yaml: metrics.port: must be a whole number (got 'zero')",
        ),
        (
            "strategies.yaml",
            "indicators:\n  ema_fast: 30\n  ema_slow: 21\n",
            "configs/strategies.yaml: indicators.ema_slow: "
            "must be greater than indicators.ema_fast (30) (got 21)",
        ),
        (
            "strategies.yaml",
            "strategies:\n  s1_trend:\n    allowed_regimes: [trending_up, sideways]\n",
            "configs/strategies.yaml: strategies.s1_trend.allowed_regimes.1: must be one of "
            "'trending_up', 'trending_down', 'ranging', 'high_volatility' or 'transition' "
            "(got 'sideways')",
        ),
        (
            "regime.yaml",
            "regime:\n  high_volatility_percentile: 0\n",
            "configs/regime.yaml: regime.high_volatility_percentile: must be > 0.0 (got 0)",
        ),
        (
            "environments/dev.yaml",
            "log:\n  format: xml\n",
            "configs/environments/dev.yaml: log.format: must be one of 'json' or 'console' "
            "(got 'xml')",
        ),
        (
            "settings.yaml",
            "market:\n  symbols: [BTC-USD, btc]\n",
            "configs/settings.yaml: market.symbols.1: must be BASE-QUOTE in capitals, such as "
            "BTC-USD (got 'btc')",
        ),
    ],
)
def test_a_bad_value_names_file_and_key(
    workdir: Path, write: Write, name: str, text: str, expected: str
) -> None:
    write(name, text)
    assert problems(workdir) == [expected]


def test_a_bad_variable_names_the_variable(workdir: Path) -> None:
    assert problems(workdir, GRODT_RISK__MAX_OPEN_POSITIONS="0") == [
        "environment variable GRODT_RISK__MAX_OPEN_POSITIONS: risk.max_open_positions: "
        "must be >= 1 (got '0')"
    ]


def test_a_conflict_blames_the_layer_that_changed_last(workdir: Path, write: Write) -> None:
    write("strategies.yaml", "indicators:\n  ema_fast: 9\n  ema_slow: 21\n")
    assert problems(workdir, GRODT_INDICATORS__EMA_FAST="30") == [
        "environment variable GRODT_INDICATORS__EMA_FAST: indicators.ema_slow: "
        "must be greater than indicators.ema_fast (30) (got 21)"
    ]
    write("environments/dev.yaml", "risk: {daily_loss_cap: 0.001}\n")
    assert problems(workdir) == [
        "configs/environments/dev.yaml: risk.daily_loss_cap: "
        "must be at least risk.risk_per_trade (0.0075) (got 0.001)"
    ]


def test_unknown_keys_are_rejected_with_a_suggestion(workdir: Path, write: Write) -> None:
    write("risk.yaml", "risk:\n  max_open_positons: 2\n")
    write("settings.yaml", "webb: {port: 1}\n")
    found = problems(workdir, GRODT_WEB_PROT="8001", GRODT_RISK__DAILY_LOSS=".1")
    assert found == [
        "environment variable GRODT_WEB_PROT: not a GRODT setting: did you mean GRODT_WEB_PORT? "
        "unset it, or see the table in docs/configuration.md",
        "configs/risk.yaml: risk.max_open_positons: unknown key: "
        "did you mean 'max_open_positions'? fix the spelling or remove it",
        "environment variable GRODT_RISK__DAILY_LOSS: risk.daily_loss: unknown key: "
        "did you mean 'daily_loss_cap'? fix the spelling or remove it",
        "configs/settings.yaml: webb: unknown key: did you mean 'web'? fix the spelling or "
        "remove it",
    ]


def test_sections_live_in_their_own_file(workdir: Path, write: Write) -> None:
    write("settings.yaml", "risk: {max_open_positions: 2}\n")
    write("risk.yaml", "regime: {confirm_bars: 2}\n")
    assert problems(workdir) == [
        "configs/settings.yaml: risk: belongs in configs/risk.yaml: move the section there",
        "configs/risk.yaml: regime: this file holds only risk: "
        "move the section to configs/regime.yaml or fix the spelling",
    ]


def test_yaml_syntax_error_names_file_and_line(workdir: Path, write: Write) -> None:
    write("risk.yaml", "risk:\n  max_open_positions: 2\n  daily_loss_cap: [0.03\n")
    (line,) = problems(workdir)
    assert line.startswith("configs/risk.yaml: line 4, column 1: invalid YAML: ")


def test_a_key_given_twice_is_an_error(workdir: Path, write: Write) -> None:
    write(
        "risk.yaml",
        "risk:\n  max_open_positions: 2\n  daily_loss_cap: 0.03\n  max_open_positions: 4\n",
    )
    assert problems(workdir) == [
        "configs/risk.yaml: line 4, column 3: invalid YAML: duplicate key 'max_open_positions'"
    ]


def test_a_file_that_is_not_a_mapping(workdir: Path, write: Write) -> None:
    write("regime.yaml", "- slope_window\n")
    (line,) = problems(workdir)
    assert line.startswith("configs/regime.yaml: must hold a mapping of keys (got a list)")


def test_all_problems_are_reported_at_once(workdir: Path, write: Write) -> None:
    write("risk.yaml", "risk: {max_open_positions: 0, loss_streak_limit: 0}\n")
    found = problems(workdir, GRODT_WEB_PORT="0")
    assert [line.split(": ")[1] for line in found] == [
        "web.port",
        "risk.max_open_positions",
        "risk.loss_streak_limit",
    ]


def test_clashing_ports_blame_the_last_layer_that_set_one(workdir: Path) -> None:
    assert problems(workdir, GRODT_METRICS_PORT="8000") == [
        "environment variable GRODT_METRICS_PORT: metrics.port: web.port and metrics.port are "
        "both 8000 on the same interface: give one of them another port"
    ]


def test_replay_without_files_is_explained(workdir: Path) -> None:
    (line,) = problems(workdir, GRODT_MARKET__SOURCE="replay")
    assert line.startswith(
        "environment variable GRODT_MARKET__SOURCE: market.replay_paths: market.source is replay"
    )
    assert "BTC-USD, ETH-USD" in line


def test_missing_config_dir_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as caught:
        load_settings({"GRODT_CONFIG_DIR": str(tmp_path / "nope")}, secrets_dir=tmp_path)
    assert caught.value.problems == [
        f"environment variable GRODT_CONFIG_DIR: configuration directory {tmp_path / 'nope'} "
        "does not exist or is not a directory: set GRODT_CONFIG_DIR to the directory holding "
        "settings.yaml"
    ]
    with pytest.raises(ConfigError) as caught:
        load_settings({}, secrets_dir=tmp_path)
    assert "configuration directory configs does not exist" in caught.value.problems[0]


def test_unknown_environment_and_overlay(workdir: Path) -> None:
    assert problems(workdir, GRODT_ENV="production") == [
        "environment variable GRODT_ENV: must be one of dev, staging, prod (got 'production')"
    ]
    assert problems(workdir, GRODT_CONFIG_OVERLAYS="docker") == [
        "environment variable GRODT_CONFIG_OVERLAYS: overlay 'docker' needs configs/docker.yaml, "
        "which does not exist: create it or remove the name"
    ]


# --- secrets ---------------------------------------------------------------------------------


def test_file_secret_strips_one_trailing_newline(workdir: Path) -> None:
    secret = workdir / "db_url"
    secret.write_text("postgresql+psycopg://grodt:pa55@db:5432/grodt\n\n")
    settings = load(workdir, GRODT_DATABASE_URL_FILE=str(secret))
    assert (
        settings.database_url.get_secret_value()
        == "postgresql+psycopg://grodt:pa55@db:5432/grodt\n"
    )
    secret.write_text("postgresql+psycopg://grodt:pa55@db:5432/grodt\r\n")
    settings = load(workdir, GRODT_DATABASE_URL_FILE=str(secret))
    assert settings.effective_database_url() == "postgresql+psycopg://grodt:pa55@db:5432/grodt"


def test_missing_secret_file_names_variable_and_path(workdir: Path) -> None:
    missing = workdir / "no-such-token"
    assert problems(workdir, GRODT_CONTROL_TOKEN_FILE=str(missing)) == [
        f"environment variable GRODT_CONTROL_TOKEN_FILE: secret file {missing}: does not exist: "
        "create it or fix the path"
    ]


def test_empty_or_unreadable_secret_file(workdir: Path) -> None:
    (workdir / "secrets" / "grodt_control_token").write_text("\n")
    assert problems(workdir) == [
        f"secret file {workdir / 'secrets' / 'grodt_control_token'}: is empty: write the secret "
        "into it"
    ]
    directory = workdir / "a-directory"
    directory.mkdir()
    (line,) = problems(workdir, GRODT_CONTROL_TOKEN_FILE=str(directory))
    assert line.startswith(
        f"environment variable GRODT_CONTROL_TOKEN_FILE: secret file {directory}: cannot be read"
    )


def test_secrets_are_refused_in_config_files(workdir: Path, write: Write) -> None:
    write("settings.yaml", "secrets: {control_token: hunter2}\n")
    write("environments/dev.yaml", "database_url: postgresql://grodt:hunter2@db/grodt\n")
    found = problems(workdir)
    assert len(found) == 2
    assert all("hunter2" not in line for line in found)
    assert found[0].startswith("configs/settings.yaml: secrets: secrets are never read from")
    assert found[1].startswith("configs/environments/dev.yaml: database_url: holds a password")


def test_a_bad_secret_is_never_echoed(workdir: Path) -> None:
    (line,) = problems(workdir, GRODT_DATABASE_URL="hunter2-not-a-url")
    assert "hunter2" not in line
    assert line.startswith("environment variable GRODT_DATABASE_URL: database_url: must be a URL")


def test_redacted_hides_every_secret(workdir: Path) -> None:
    settings = load(
        workdir,
        GRODT_CONTROL_TOKEN=TOKEN,
        GRODT_DATABASE_URL="postgresql+psycopg://grodt:pa55word@db:5432/grodt",
    )
    effective = settings.redacted()
    text = json.dumps(effective)
    assert TOKEN not in text
    assert "pa55word" not in text
    assert effective["secrets"] == {
        "control_token": "**********",
        "exchange_api_key": None,
        "exchange_api_secret": None,
    }
    assert effective["database_url"] == "postgresql+psycopg://grodt:**********@db:5432/grodt"
    assert effective["risk"]["max_open_positions"] == 3
    assert set(settings.secret_values()) == {
        TOKEN,
        "pa55word",
        "postgresql+psycopg://grodt:pa55word@db:5432/grodt",
    }


def test_without_secrets_nothing_is_secret(workdir: Path) -> None:
    settings = load(workdir)
    assert settings.control_token is None
    assert settings.secret_values() == []
    assert settings.redacted()["secrets"] == dict.fromkeys(
        ("control_token", "exchange_api_key", "exchange_api_secret")
    )


# --- data directory --------------------------------------------------------------------------


def test_data_dir_is_created_and_left_clean(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b"
    check_data_dir(target)
    assert target.is_dir()
    assert list(target.iterdir()) == []


def test_unwritable_data_dir_says_which_chown_fixes_it(tmp_path: Path) -> None:
    # A path below a regular file cannot be created even by root, who ignores permission bits.
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigError) as caught:
        check_data_dir(blocker / "data")
    uid, gid = os.getuid(), os.getgid()
    (line,) = caught.value.problems
    assert line.startswith(
        f"data directory {blocker / 'data'} is not writable by uid {uid} gid {gid}: run "
        f"`sudo chown -R {uid}:{gid} <the host directory or volume>` (or mount a writable volume)"
    )


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to become another uid")
def test_unwritable_data_dir_as_the_container_user() -> None:
    # The container's case: a root-owned volume, the daemon running as uid 10001 gid 0. A
    # forked child switches uid (a fresh interpreter might not be able to load its own
    # libraries as that uid); the directory sits outside pytest's root-only tmp tree.
    volume = Path(tempfile.mkdtemp(prefix="grodt-volume-"))
    try:
        volume.chmod(0o755)
        read_end, write_end = os.pipe()
        # Earlier tests leave threads behind, so Python warns that fork() may deadlock: a lock
        # another thread held is copied held. The child below takes no such lock (setuid,
        # mkdir, a temporary file, one write, os._exit), so the warning does not apply here.
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", "This process .* is multi-threaded", DeprecationWarning
            )
            pid = os.fork()
        if pid == 0:  # child: report the problem line through the pipe, never return
            os.close(read_end)
            try:
                os.setgroups([])
                os.setgid(0)
                os.setuid(10001)
                check_data_dir(volume)
                message = "no error"
            except ConfigError as exc:
                message = exc.problems[0]
            except BaseException as exc:  # pragma: no cover - diagnostic only
                message = repr(exc)
            os.write(write_end, message.encode())
            os._exit(0)
        os.close(write_end)
        with os.fdopen(read_end, "rb") as pipe:
            message = pipe.read().decode()
        os.waitpid(pid, 0)
    finally:
        shutil.rmtree(volume)
    assert message == (
        f"data directory {volume} is not writable by uid 10001 gid 0: run "
        "`sudo chown -R 10001:0 <the host directory or volume>` (or mount a writable volume); "
        "the system said: Permission denied"
    )


# --- documentation ---------------------------------------------------------------------------


def _leaf_paths(model: type, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            paths += _leaf_paths(annotation, (*prefix, name))
        else:
            paths.append((*prefix, name))
    return paths


def test_the_documented_table_covers_every_key() -> None:
    doc = (REPO_CONFIGS.parent / "docs" / "configuration.md").read_text(encoding="utf-8")
    loader_owned = {("environment",), ("config_dir",), ("database_url",), ("secrets",)}
    for path in _leaf_paths(Settings):
        if path[:1] in loader_owned:
            continue
        variable = "GRODT_" + "__".join(part.upper() for part in path)
        if len(path) == 1:
            variable = "GRODT_" + path[0].upper()
        assert f"| `{'.'.join(path)}` |" in doc, path
        assert f"`{variable}`" in doc, variable
    for flat in FLAT:
        assert f"`GRODT_{flat}`" in doc


# --- live trading takes two opt-ins ----------------------------------------------------------


def _exchange_keys(workdir: Path, *, secret: bool = True) -> dict[str, str]:
    key = workdir / "api_key"
    key.write_text("planted-api-key\n")
    key.chmod(0o600)
    env = {"GRODT_EXCHANGE_API_KEY_FILE": str(key)}
    if secret:
        value = workdir / "api_secret"
        value.write_text("planted-api-secret\n")
        value.chmod(0o600)
        env["GRODT_EXCHANGE_API_SECRET_FILE"] = str(value)
    return env


def test_paper_unless_the_mode_and_both_key_files_say_live(workdir: Path) -> None:
    exchange = {"GRODT_MARKET__SOURCE": "exchange"}
    assert load(workdir).trading_mode() == ("paper", "broker.mode is paper")
    # Keys alone never make it live: the mode is the operator's second word.
    assert load(workdir, **exchange, **_exchange_keys(workdir)).trading_mode()[0] == "paper"
    mode, why = load(workdir, **exchange, GRODT_BROKER__MODE="live").trading_mode()
    assert mode == "paper"
    assert "no API key files" in why and "GRODT_EXCHANGE_API_KEY_FILE" in why
    settings = load(workdir, **exchange, GRODT_BROKER__MODE="live", **_exchange_keys(workdir))
    assert settings.trading_mode() == ("live", "broker.mode is live with API keys for binance")
    assert {"planted-api-key", "planted-api-secret"} <= set(settings.secret_values())
    assert settings.redacted()["secrets"]["exchange_api_key"] == "**********"


def test_live_without_keys_in_prod_or_without_an_exchange_is_a_config_error(
    workdir: Path,
) -> None:
    (found,) = problems(
        workdir, GRODT_ENV="prod", GRODT_BROKER__MODE="live", GRODT_MARKET__SOURCE="exchange"
    )
    assert found.startswith("environment variable GRODT_BROKER__MODE: broker.mode: is live in prod")
    assert "GRODT_EXCHANGE_API_SECRET_FILE" in found
    (found,) = problems(workdir, GRODT_BROKER__MODE="live")
    assert "market.source is not exchange" in found
    (found,) = problems(
        workdir,
        GRODT_BROKER__MODE="live",
        GRODT_MARKET__SOURCE="exchange",
        **_exchange_keys(workdir, secret=False),
    )
    assert "only one of the API key files" in found


def test_live_with_shorts_allowed_is_a_config_error_naming_the_strategy_key(
    workdir: Path,
) -> None:
    (found,) = problems(
        workdir,
        GRODT_BROKER__MODE="live",
        GRODT_MARKET__SOURCE="exchange",
        GRODT_STRATEGIES__S1_TREND__ALLOW_SHORT="true",
        **_exchange_keys(workdir),
    )
    assert "strategies.s1_trend.allow_short: is true but live orders go to a spot account" in found
    assert found.startswith("environment variable GRODT_STRATEGIES__S1_TREND__ALLOW_SHORT")
