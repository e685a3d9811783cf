"""The monitoring files as files: Prometheus' own tools accept them, the alert rules behave as
their tests say, and Grafana's provisioning and dashboards only name what really exists.

Grafana itself cannot run on a machine without a registry (no Debian package, no image), so
its half is checked here as data; every dashboard query is also run against a real Prometheus
that scraped the real daemon in tests/integration/test_compose/test_compose_stack.py.
"""

from __future__ import annotations

import configparser
import subprocess
from pathlib import Path

import pytest
import yaml

from grodtd.ops.metrics import Metrics
from grodtd.web.contracts import BuildInfo
from tests.integration.test_compose.monitoring import (
    DASHBOARD_DIR,
    DATASOURCE_UID,
    GRAFANA_DIR,
    PROMETHEUS_DIR,
    PROMETHEUS_SYNTHETIC,
    Query,
    alert_queries,
    dashboard_queries,
    exposed_series_names,
    iter_panels,
    load_alert_rules,
    load_dashboards,
    metric_names,
)
from tests.support.tools import require_tool

REQUIRED_ALERTS = {
    "GrodtDown",
    "GrodtNotReady",
    "GrodtMarketDataStale",
    "GrodtKillSwitchTripped",
    "GrodtDailyLossCapReached",
    "GrodtDrawdownHigh",
}

# What each dashboard is for (issue 5): the metrics it must chart.
DASHBOARD_MUST_SHOW = {
    "grodt-trading.json": {
        "grodt_equity_usd",
        "grodt_realized_pnl_usd",
        "grodt_unrealized_pnl_usd",
        "grodt_drawdown_ratio",
        "grodt_open_positions",
        "grodt_trades_closed_total",
        "grodt_orders_total",
    },
    "grodt-system.json": {
        "up",
        "grodt_ready",
        "grodt_decision_latency_seconds_bucket",
        "grodt_market_data_age_seconds",
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
    },
    "grodt-regimes.json": {"grodt_regime", "grodt_strategy_enabled"},
}


def _promtool() -> str:
    return require_tool("promtool", "apt-get install -y prometheus")


def _run_promtool(*args: str, cwd: Path = PROMETHEUS_DIR) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_promtool(), *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture(scope="module")
def daemon_series() -> set[str]:
    """Every series name the real metrics registry renders, with all label sets created."""
    metrics = Metrics(
        BuildInfo(version="0.0.0", revision="test", environment="dev", python="3.12"),
        symbols=["BTC-USD", "ETH-USD"],
        strategies=["s1_trend"],
    )
    return exposed_series_names(metrics.render().decode())


# -- Prometheus ---------------------------------------------------------------------------------


@pytest.mark.prometheus
def test_prometheus_config_is_valid() -> None:
    result = _run_promtool("check", "config", "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 1 rule files found" in result.stdout


@pytest.mark.prometheus
def test_alert_rules_are_valid() -> None:
    result = _run_promtool("check", "rules", "alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.prometheus
def test_alert_rule_unit_tests_pass() -> None:
    result = _run_promtool("test", "rules", "alerts.test.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_required_alerts_exist() -> None:
    names = {rule["alert"] for rule in load_alert_rules()}
    assert names >= REQUIRED_ALERTS, f"missing: {sorted(REQUIRED_ALERTS - names)}"


def test_every_alert_has_a_firing_and_a_quiet_case() -> None:
    """promtool proves each case right; this proves each rule has both kinds of case."""
    doc = yaml.safe_load((PROMETHEUS_DIR / "alerts.test.yml").read_text())
    firing: set[str] = set()
    quiet: set[str] = set()
    for case in doc["tests"]:
        for check in case.get("alert_rule_test", []):
            (firing if check.get("exp_alerts") else quiet).add(check["alertname"])
    names = {rule["alert"] for rule in load_alert_rules()}
    assert names - firing == set(), "alerts without a firing case"
    assert names - quiet == set(), "alerts without a non-firing case"


def test_alerts_carry_severity_and_operator_guidance() -> None:
    for rule in load_alert_rules():
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        assert len(rule["annotations"]["description"]) > 40, rule["alert"]


def test_scrape_config_targets_the_daemon_on_the_stack_network() -> None:
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    targets = [t for sc in jobs["grodt"]["static_configs"] for t in sc["targets"]]
    assert targets == ["grodt:9090"]
    assert config["rule_files"] == ["alerts.yml"]


# -- Grafana provisioning -----------------------------------------------------------------------


def test_datasource_is_provisioned_with_a_fixed_uid() -> None:
    doc = yaml.safe_load((GRAFANA_DIR / "provisioning/datasources/prometheus.yml").read_text())
    (source,) = doc["datasources"]
    assert source["uid"] == DATASOURCE_UID
    assert source["type"] == "prometheus"
    assert source["url"] == "http://prometheus:9090"
    assert source["editable"] is False


def test_dashboard_provider_is_read_only_and_matches_the_mount() -> None:
    doc = yaml.safe_load((GRAFANA_DIR / "provisioning/dashboards/grodt.yml").read_text())
    (provider,) = doc["providers"]
    assert provider["allowUiUpdates"] is False
    assert provider["disableDeletion"] is True
    compose = yaml.safe_load((GRAFANA_DIR.parent / "docker-compose.yml").read_text())
    mounts = compose["services"]["grafana"]["volumes"]
    assert f"./grafana/dashboards:{provider['options']['path']}:ro" in mounts


def test_grafana_ini_disables_anonymous_access_and_sign_up() -> None:
    ini = configparser.ConfigParser()
    ini.read(GRAFANA_DIR / "grafana.ini")
    assert ini.getboolean("auth.anonymous", "enabled") is False
    assert ini.getboolean("users", "allow_sign_up") is False
    assert not ini.has_option("security", "admin_password"), "the password comes from a secret"


def test_dashboards_parse_with_fixed_unique_uids() -> None:
    dashboards = load_dashboards()
    assert set(dashboards) == set(DASHBOARD_MUST_SHOW)
    uids = [d["uid"] for d in dashboards.values()]
    assert all(uids) and len(set(uids)) == len(uids)
    for name, dashboard in dashboards.items():
        assert dashboard["editable"] is False, name
        ids = [p["id"] for p in iter_panels(dashboard)]
        assert len(set(ids)) == len(ids), f"{name}: duplicate panel ids"


def test_every_panel_and_variable_uses_the_provisioned_datasource() -> None:
    for name, dashboard in load_dashboards().items():
        for panel in iter_panels(dashboard):
            assert panel["datasource"]["uid"] == DATASOURCE_UID, f"{name}: {panel['title']}"
            assert panel["targets"], f"{name}: {panel['title']} has no query"
            for target in panel["targets"]:
                assert target["datasource"]["uid"] == DATASOURCE_UID
        for variable in dashboard["templating"]["list"]:
            assert variable["datasource"]["uid"] == DATASOURCE_UID, f"{name}: ${variable['name']}"


def test_dashboards_show_what_they_are_for() -> None:
    for name, dashboard in load_dashboards().items():
        shown = set()
        for panel in iter_panels(dashboard):
            for target in panel["targets"]:
                shown |= metric_names(target["expr"])
        missing = DASHBOARD_MUST_SHOW[name] - shown
        assert not missing, f"{name} does not chart {sorted(missing)}"


def test_metric_name_extraction_ignores_labels_functions_and_keywords() -> None:
    expr = (
        'histogram_quantile(0.99, sum by (le, symbol) (rate(grodt_x_bucket{symbol=~"$symbol"}'
        "[$__rate_interval]))) / clamp_min(sum(grodt_y) or on() vector(1e-9), 1)"
    )
    assert metric_names(expr) == {"grodt_x_bucket", "grodt_y"}


@pytest.mark.parametrize("query", [*dashboard_queries(), *alert_queries()], ids=lambda q: q.source)
def test_every_query_names_only_metrics_the_daemon_exposes(
    query: Query, daemon_series: set[str]
) -> None:
    names = metric_names(query.expr)
    assert names, f"no metric found in {query.expr!r}"
    unknown = names - daemon_series - PROMETHEUS_SYNTHETIC
    assert not unknown, f"{query.source}: {sorted(unknown)} not exposed by grodtd.ops.metrics"


@pytest.mark.prometheus
def test_every_query_is_valid_promql(tmp_path: Path) -> None:
    """promtool parses each expression as a recording rule: a typo fails here, not on a
    dashboard at 3 a.m."""
    queries = [*dashboard_queries(), *alert_queries()]
    rules = [{"record": f"check:query_{i}", "expr": q.promql} for i, q in enumerate(queries)]
    path = tmp_path / "queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "queries", "rules": rules}]}))
    result = _run_promtool("check", "rules", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(queries)} rules found" in result.stdout


def test_dashboard_files_are_the_ones_grafana_loads() -> None:
    assert sorted(p.name for p in DASHBOARD_DIR.iterdir()) == sorted(DASHBOARD_MUST_SHOW)
