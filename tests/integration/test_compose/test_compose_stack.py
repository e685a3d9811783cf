"""The local stack on a real engine: healthy, scraped, alerting, locked down, and durable.

One bring-up serves every test here (session fixture `stack`, started with the guide's
`scripts/docker-dev.sh --local up dev`); the restart test runs last because it stops and
starts that stack. Grafana is not part of the local stack (no image can be
pulled or built here), so its dashboards are proved through their queries: each one runs
against this Prometheus after it has scraped the real trading daemon.
"""

from __future__ import annotations

import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_compose.monitoring import (
    Query,
    alert_queries,
    dashboard_queries,
    load_alert_rules,
)
from tests.integration.test_compose.stack import ComposeStack, docker_binary, wait_for

pytestmark = [pytest.mark.docker, pytest.mark.slow]

# Alert conditions that are empty by design while the daemon trades normally, with the
# series that must have data for the empty answer to mean "healthy" rather than "not scraped".
QUIET_BY_DESIGN = {
    "GrodtDown": 'up{job="grodt"}',
    "GrodtNotReady": "grodt_ready",
    "GrodtMarketDataStale": "grodt_market_data_age_seconds",
    "GrodtKillSwitchTripped": "grodt_kill_switch_active",
    "GrodtDailyLossCapReached": "grodt_halt_active",
    "GrodtDrawdownHigh": "grodt_drawdown_ratio",
}


def _target_health(stack: ComposeStack) -> dict[str, str]:
    with stack.prometheus() as client:
        targets = client.get("/api/v1/targets").json()["data"]["activeTargets"]
    return {t["labels"]["job"]: t["health"] for t in targets}


def _scraped_for(stack: ComposeStack, seconds: int) -> bool:
    """True once Prometheus holds enough grodt samples for every rate() window we use."""
    result = stack.query(f'count_over_time(grodt_ready{{job="grodt"}}[{seconds}s])')
    return bool(result) and float(result[0]["value"][1]) >= 4


@pytest.fixture(scope="module")
def scraped(stack: ComposeStack) -> ComposeStack:
    wait_for("the grodt target to be up", lambda: _target_health(stack).get("grodt") == "up", 90)
    wait_for("60 s of grodt samples", lambda: _scraped_for(stack, 60), 150, interval=5)
    return stack


def test_every_service_is_healthy(stack: ComposeStack) -> None:
    states = {s["Service"]: (s["State"], s.get("Health")) for s in stack.services()}
    assert states == {"grodt": ("running", "healthy"), "prometheus": ("running", "healthy")}


def test_prometheus_scrapes_grodt_over_the_stack_network(scraped: ComposeStack) -> None:
    with scraped.prometheus() as client:
        targets = client.get("/api/v1/targets").json()["data"]["activeTargets"]
    grodt = [t for t in targets if t["labels"]["job"] == "grodt"]
    assert [t["scrapeUrl"] for t in grodt] == ["http://grodt:9090/metrics"]
    assert grodt[0]["health"] == "up", grodt[0].get("lastError")


def test_alert_rules_are_loaded(scraped: ComposeStack) -> None:
    with scraped.prometheus() as client:
        groups = client.get("/api/v1/rules").json()["data"]["groups"]
    loaded = {rule["name"]: rule for group in groups for rule in group["rules"]}
    expected = {rule["alert"] for rule in load_alert_rules()}
    assert set(loaded) == expected
    assert all(rule["health"] == "ok" for rule in loaded.values()), loaded


def test_published_ports_are_loopback_only_and_metrics_stay_private(stack: ComposeStack) -> None:
    for service in ("grodt", "prometheus"):
        bindings = stack.inspect(service)["HostConfig"]["PortBindings"] or {}
        for port, hosts in bindings.items():
            assert all(h["HostIp"] == "127.0.0.1" for h in hosts), (service, port, hosts)
    grodt_ports = stack.inspect("grodt")["HostConfig"]["PortBindings"]
    assert set(grodt_ports) == {"8000/tcp"}, "the metrics port 9090 must not be published"
    with stack.web() as client:
        assert client.get("/health").status_code == 200


def test_daemon_container_runs_hardened(stack: ComposeStack) -> None:
    """What compose actually applied, as the engine reports it."""
    host = stack.inspect("grodt")["HostConfig"]
    assert host["ReadonlyRootfs"] is True
    assert host["CapDrop"] == ["ALL"]
    assert "no-new-privileges:true" in host["SecurityOpt"]
    assert host["Memory"] > 0 and host["NanoCpus"] > 0 and host["PidsLimit"] > 0
    assert host["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 5}
    assert "/tmp" in host["Tmpfs"]
    assert not any("docker.sock" in b for b in host.get("Binds") or [])
    assert host["LogConfig"]["Type"] == "json-file"


def test_control_api_takes_the_token_docker_dev_created_and_nothing_else(
    stack: ComposeStack,
) -> None:
    """The secret file docker-dev.sh wrote on first use is the daemon's control token."""
    token = stack.control_token
    assert len(token) == 64, "docker-dev.sh writes 32 random bytes as hex"
    with stack.web() as client:
        assert client.post("/api/v1/control/pause").status_code == 401
        wrong = {"Authorization": f"Bearer {token[::-1]}"}
        assert client.post("/api/v1/control/pause", headers=wrong).status_code == 401
        right = {"Authorization": f"Bearer {token}"}
        paused = client.post("/api/v1/control/pause", headers=right)
        resumed = client.post("/api/v1/control/resume", headers=right)
    assert paused.status_code == 200 and paused.json()["accepted"] is True
    assert resumed.status_code == 200 and resumed.json()["accepted"] is True


def test_prometheus_admin_and_lifecycle_apis_are_refused(stack: ComposeStack) -> None:
    with stack.prometheus() as client:
        snapshot = client.post("/api/v1/admin/tsdb/snapshot")
        delete = client.post("/api/v1/admin/tsdb/delete_series", params={"match[]": "up"})
        reload = client.post("/-/reload")
        quit_ = client.post("/-/quit")
    assert snapshot.status_code >= 400 and snapshot.json()["status"] == "error"
    assert delete.status_code >= 400
    assert reload.status_code == 403 and quit_.status_code == 403
    assert _target_health(stack).get("prometheus") == "up", "Prometheus must still be running"


def _run_query(stack: ComposeStack, query: Query) -> list[dict[str, Any]]:
    return stack.query(query.promql)


def test_every_dashboard_query_returns_data(scraped: ComposeStack) -> None:
    empty = [q.source for q in dashboard_queries() if not _run_query(scraped, q)]
    assert not empty, f"dashboard queries without data: {empty}"


def _active_alerts(stack: ComposeStack) -> set[str]:
    """Alerts Prometheus holds as pending or firing."""
    with stack.prometheus() as client:
        alerts = client.get("/api/v1/alerts").json()["data"]["alerts"]
    return {alert["labels"]["alertname"] for alert in alerts}


# A healthy stack never meets these conditions; the others depend on how the simulated market
# trades (a loss streak can reach the daily loss cap) and are checked for consistency instead.
QUIET_ON_A_HEALTHY_STACK = {"GrodtDown", "GrodtNotReady", "GrodtMarketDataStale"}


def test_alert_queries_match_their_expected_state(scraped: ComposeStack) -> None:
    """Each alert's signal has data; each condition is empty exactly when Prometheus holds the
    alert neither pending nor firing (given one evaluation interval to catch up)."""
    assert set(QUIET_BY_DESIGN) == {q.source.removeprefix("alert ") for q in alert_queries()}
    for query in alert_queries():
        name = query.source.removeprefix("alert ")
        assert scraped.query(QUIET_BY_DESIGN[name]), f"{name}: its signal has no data"
        if name in QUIET_ON_A_HEALTHY_STACK:
            assert _run_query(scraped, query) == [], f"{name} holds on a healthy stack"
            assert name not in _active_alerts(scraped)
            continue
        wait_for(f"{name}: condition and alert state to agree", _agree(scraped, query), 40)


def _agree(stack: ComposeStack, query: Query) -> Callable[[], bool]:
    name = query.source.removeprefix("alert ")

    def probe() -> bool:
        return bool(_run_query(stack, query)) == (name in _active_alerts(stack))

    return probe


def _diagnose(stack: ComposeStack, result: subprocess.CompletedProcess[str]) -> str:
    """What an operator would look at next: the script's output, the services, the logs."""
    state = stack.inspect("grodt")["State"]
    return (
        f"exit {result.returncode}\nstdout: {result.stdout[-2000:]}\n"
        f"stderr: {result.stderr[-2000:]}\nservices: {stack.services()}\n"
        f"grodt state: {state}\nlogs:\n{stack.logs()[-4000:]}"
    )


def _trade_ids(stack: ComposeStack) -> set[str]:
    with stack.web() as client:
        page = client.get("/api/v1/trades", params={"limit": 200}).json()
    return {item["entry_order_id"] for item in page["items"]}


def test_online_backup_and_restore_round_trip(scraped: ComposeStack, tmp_path: Path) -> None:
    """The guide's backup and restore (docker-dev.sh backup/restore) on the live daemon."""
    trades = wait_for("a closed trade", lambda: _trade_ids(scraped), 240, interval=5)
    backup = tmp_path / "grodt.db"
    result = scraped.docker_dev("backup", str(backup))
    assert result.returncode == 0, _diagnose(scraped, result)
    with sqlite3.connect(backup) as db:
        assert db.execute("pragma integrity_check").fetchone()[0] == "ok"
        (saved,) = db.execute("select count(*) from trades").fetchone()
    assert saved >= len(trades)

    result = scraped.docker_dev("restore", str(backup))
    assert result.returncode == 0, _diagnose(scraped, result)
    assert trades <= _trade_ids(scraped), "trades from the backup are missing after restore"
    states = {s["Service"]: s.get("Health") for s in scraped.services()}
    assert states["grodt"] == "healthy"


def test_upgrade_recreates_only_the_daemon_and_keeps_its_trades(scraped: ComposeStack) -> None:
    """The guide's upgrade: a new image, then `docker-dev.sh up` again. Compose must recreate
    the daemon alone, on the same volume, and the new daemon must resume every trade."""
    trades = wait_for("a closed trade", lambda: _trade_ids(scraped), 240, interval=5)
    old_grodt, old_prometheus = scraped.container_id("grodt"), scraped.container_id("prometheus")
    # A new release as far as Docker can tell: another image id, the same application.
    new_image = f"grodt:upgrade-{scraped.project}"
    build = subprocess.run(
        [docker_binary(), "build", "--label", "upgrade-test=1", "--tag", new_image, "-"],
        input=f"FROM {scraped.env['IMAGE_GRODT_LOCAL']}\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert build.returncode == 0, build.stderr
    try:
        result = scraped.docker_dev("up", "dev", extra_env={"IMAGE_GRODT_LOCAL": new_image})
        assert result.returncode == 0, _diagnose(scraped, result)
        assert scraped.container_id("prometheus") == old_prometheus, "Prometheus was recreated"
        assert scraped.container_id("grodt") != old_grodt, "the daemon kept the old container"
        assert scraped.inspect("grodt")["Config"]["Image"] == new_image
        assert trades <= _trade_ids(scraped), "trades were lost in the upgrade"
        with scraped.web() as client:
            assert client.get("/ready").status_code == 200
    finally:
        # Untags only while a container still uses it; the restart test below rolls back.
        subprocess.run(
            [docker_binary(), "image", "rm", "--force", new_image],
            capture_output=True,
            timeout=60,
            check=False,
        )


def test_stop_and_start_keep_trades_prometheus_data_and_volumes(scraped: ComposeStack) -> None:
    """Runs last: the guide's `docker-dev.sh down` then `up` (back on the original image, a
    rollback after the upgrade test) must lose neither trades nor samples."""
    trades = wait_for("a closed trade", lambda: _trade_ids(scraped), 240, interval=5)
    before = time.time()
    old_samples = scraped.query("count_over_time(grodt_equity_usd[5m])", at=before)
    assert old_samples and float(old_samples[0]["value"][1]) > 0

    scraped.down()
    assert {"grodt-data", "prometheus-data"} <= scraped.volumes(), "down removed a volume"
    scraped.up()

    assert trades <= _trade_ids(scraped), "trades were lost across the restart"
    kept = wait_for(
        "Prometheus to answer for the time before the restart",
        lambda: scraped.query("count_over_time(grodt_equity_usd[5m])", at=before),
        60,
    )
    assert float(kept[0]["value"][1]) >= float(old_samples[0]["value"][1])
