"""A fleet of three bots on Docker Swarm, deployed with the documented command (docs/fleet.md).

One module-scoped deployment that every test shares (about four minutes on two CPUs): the
engine joins a swarm only when it was not in one (and leaves it again), the stack has a name
of its own, and everything it made (services, configs, secrets, volumes, images) is removed.
The tests run in file order: the upgrade and the rollback come after the checks of the
running fleet, and the rollback starts from the upgraded image.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.test_compose.monitoring import Query, dashboard_queries
from tests.integration.test_compose.stack import docker_binary, wait_for
from tests.support.swarm import (
    ContainerEvents,
    Fleet,
    build_release,
    new_stack_name,
    run,
    swarm,
)
from tests.support.tools import unavailable

pytestmark = [pytest.mark.docker, pytest.mark.timeout(900)]

BOTS = {"alpha": {"BTC-USD", "ETH-USD"}, "beta": {"SOL-USD"}, "gamma": {"ADA-USD", "XRP-USD"}}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    docker = docker_binary()
    if run([docker, "version", "--format", "{{.Server.Version}}"], check=False).returncode != 0:
        unavailable("no Docker engine answers: start dockerd (scripts/ci-docker-engine.sh)")
    stack = new_stack_name()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("FLEET_")},
        "DOCKER": docker,
        "FLEET_STACK": stack,
        "FLEET_STATE_DIR": str(tmp_path_factory.mktemp("fleet") / "state"),
        "WAIT_TIMEOUT": "240",
    }
    deployed = Fleet(docker=docker, stack=stack, env=env)
    deployed.fleet("build", timeout=1500)
    with swarm(docker):
        try:
            deployed.fleet("deploy")
            yield deployed
        finally:
            _remove(deployed)


def _remove(fleet: Fleet) -> None:
    fleet.fleet("rm", "--yes", check=False)
    label = f"label=com.docker.stack.namespace={fleet.stack}"

    def gone() -> bool:
        return not run([fleet.docker, "ps", "-aq", "--filter", label]).stdout.strip()

    wait_for("the stack's containers to go", gone, timeout=90)
    volumes = run([fleet.docker, "volume", "ls", "-q", "--filter", label]).stdout.split()
    if volumes:
        run([fleet.docker, "volume", "rm", *volumes], check=False)


def test_every_bot_is_a_healthy_singleton(fleet: Fleet) -> None:
    table = fleet.fleet("status").stdout.splitlines()
    assert table[0].split()[:5] == ["BOT", "SERVICE", "IMAGE", "TASKS", "HEALTH"]
    rows = {line.split()[0]: line.split() for line in table[1:]}
    assert set(rows) == set(BOTS)
    for bot, row in rows.items():
        assert row[3:5] == ["1/1", "healthy"], f"{bot}: {row}"
        spec = fleet.service(bot)["Spec"]
        assert spec["Mode"]["Replicated"]["Replicas"] == 1
        assert spec["UpdateConfig"]["Order"] == "stop-first"
        assert spec["UpdateConfig"]["FailureAction"] == "rollback"
        assert spec["RollbackConfig"]["Order"] == "stop-first"
    for infra in ("postgres", "prometheus"):
        state = run(
            [
                fleet.docker,
                "inspect",
                "--format",
                "{{.State.Health.Status}}",
                fleet.container(infra),
            ]
        ).stdout.strip()
        assert state == "healthy", infra


def test_prometheus_scrapes_every_bot_with_its_own_bot_label(fleet: Fleet) -> None:
    def scraped() -> dict[str, str] | None:
        series = fleet.query('up{job="grodt"}')
        found = {s["metric"].get("bot", ""): s["value"][1] for s in series}
        return found if found == {bot: "1" for bot in BOTS} else None

    wait_for("Prometheus to scrape all three bots", scraped, timeout=90)
    # Every series of the daemon carries the label, not only `up`.
    unlabelled = fleet.query('{job="grodt", bot=""}')
    assert unlabelled == [], [s["metric"] for s in unlabelled[:5]]
    market = fleet.query("grodt_market_data_age_seconds")
    by_bot = {
        bot: {s["metric"]["symbol"] for s in market if s["metric"]["bot"] == bot} for bot in BOTS
    }
    assert by_bot == BOTS


def test_each_bot_trades_into_its_own_database(fleet: Fleet) -> None:
    def traded() -> dict[str, set[str]] | None:
        symbols = {
            bot: {row[0] for row in fleet.sql(f"bot_{bot}", "SELECT DISTINCT symbol FROM orders")}
            for bot in BOTS
        }
        return symbols if all(symbols.values()) else None

    symbols = wait_for("an order in every bot's database", traded, timeout=150, interval=5)
    for bot, seen in symbols.items():
        assert seen <= BOTS[bot], f"bot_{bot} holds orders of other bots' symbols: {seen}"
    # Isolation by the server, not by convention: bot alpha's role cannot open beta's database.
    container = fleet.container("alpha")
    denied = run(
        [
            fleet.docker,
            "exec",
            container,
            "python3",
            "-c",
            "import psycopg, pathlib; url = pathlib.Path('/run/secrets/grodt_database_url')"
            ".read_text().replace('postgresql+psycopg', 'postgresql').rsplit('/', 1)[0];"
            " psycopg.connect(url + '/bot_beta')",
        ],
        check=False,
    )
    assert denied.returncode != 0 and "no pg_hba.conf entry" in denied.stderr, denied.stderr


def test_every_dashboard_query_answers_for_each_bot_alone(fleet: Fleet) -> None:
    """The dashboards' bot selector set to one bot: every panel has data, and of that bot."""
    for bot in BOTS:
        empty, foreign = [], []
        for query in dashboard_queries():
            promql = Query(query.source, query.expr.replace("${bot}", bot).replace("$bot", bot))
            result = fleet.query(promql.promql)
            if not result:
                empty.append(query.source)
            foreign += [query.source for s in result if s["metric"].get("bot", bot) != bot]
        assert not empty, f"{bot}: dashboard queries without data: {empty}"
        assert not foreign, f"{bot}: dashboard queries showing other bots: {foreign}"


def test_backup_dumps_every_bot_database_while_it_trades(fleet: Fleet, tmp_path: Path) -> None:
    fleet.fleet("backup", str(tmp_path))
    dumps = {path.name.split("-")[0]: path for path in tmp_path.glob("*.dump")}
    assert set(dumps) == set(BOTS), sorted(p.name for p in tmp_path.iterdir())
    for bot, dump in dumps.items():
        assert dump.stat().st_mode & 0o077 == 0, f"{dump} is readable by others"
        listing = subprocess.run(
            [fleet.docker, "exec", "-i", fleet.container("postgres"), "pg_restore", "--list"],
            stdin=dump.open("rb"),
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert listing.returncode == 0, listing.stderr
        assert b"TABLE DATA public orders" in listing.stdout, bot


def test_a_second_copy_of_a_bot_is_refused_by_its_database_lock(fleet: Fleet) -> None:
    # The same image, secrets and database as the running bot, on other ports: only the
    # PostgreSQL advisory lock stands between it and trading the account twice.
    result = run(
        [
            fleet.docker,
            "exec",
            "-e",
            "GRODT_WEB_PORT=8001",
            "-e",
            "GRODT_METRICS_PORT=9091",
            fleet.container("alpha"),
            "grodt",
            "run",
        ],
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert "bot_alpha" in result.stderr and "is in use by grodtd" in result.stderr
    assert "one daemon per store" in result.stderr


def test_rolling_update_never_runs_two_tasks_of_one_bot(fleet: Fleet) -> None:
    tag = f"grodt-fleet:swarm-next-{uuid.uuid4().hex[:6]}"
    build_release(fleet.docker, "Dockerfile.next", tag, fleet.image_of("alpha"))
    events = ContainerEvents(fleet.docker, fleet.stack)
    started = time.monotonic()
    try:
        fleet.fleet("upgrade", tag)
    finally:
        events.stop()
    print(f"rolling update of {len(BOTS)} bots: {time.monotonic() - started:.0f} s")
    for bot in BOTS:
        assert fleet.image_of(bot) == tag
        label = run(
            [
                fleet.docker,
                "inspect",
                "--format",
                '{{index .Config.Labels "org.grodt.test.release"}}',
                fleet.container(bot),
            ]
        )
        assert label.stdout.strip() == "next", bot
    starts, peaks = events.starts(), events.most_at_once()
    for bot in BOTS:
        service = f"{fleet.stack}_{bot}"
        assert starts.get(service, 0) >= 1, f"{bot} was not restarted: {events.events}"
        assert peaks[service] == 1, f"{bot}: {peaks[service]} tasks ran at once"


def test_an_image_whose_health_check_fails_is_rolled_back(fleet: Fleet) -> None:
    before = fleet.image_of("alpha")
    broken = build_release(
        fleet.docker,
        "Dockerfile.unhealthy",
        f"grodt-fleet:swarm-unhealthy-{uuid.uuid4().hex[:6]}",
        before,
    )
    events = ContainerEvents(fleet.docker, fleet.stack)
    try:
        result = fleet.fleet("upgrade", broken, "alpha", check=False)
    finally:
        events.stop()
    assert result.returncode == 1, result.stderr[-2000:]
    assert "FAILED: alpha did not turn healthy" in result.stderr
    status = fleet.service("alpha")["UpdateStatus"]["State"]
    assert status == "rollback_completed", status
    assert fleet.image_of("alpha") == before
    wait_for(
        "alpha healthy on its previous image",
        lambda: (
            run(
                [
                    fleet.docker,
                    "inspect",
                    "--format",
                    "{{.State.Health.Status}}",
                    fleet.container("alpha"),
                ]
            ).stdout.strip()
            == "healthy"
        ),
        timeout=60,
    )
    assert events.most_at_once()[f"{fleet.stack}_alpha"] == 1
    # The upgrade was for alpha alone: the others never stopped.
    assert set(events.starts()) == {f"{fleet.stack}_alpha"}


@pytest.fixture(scope="module", autouse=True)
def _remove_release_images() -> Iterator[None]:
    yield
    docker = docker_binary()
    tags = run(
        [docker, "images", "--format", "{{.Repository}}:{{.Tag}}", "grodt-fleet"], check=False
    )
    stale = [t for t in tags.stdout.split() if ":swarm-" in t]
    if stale:
        run([docker, "rmi", *stale], check=False)
