"""The image proved by running it: health, user, hardening flags, logs, stop, data, errors.

Container starts are kept few (CI time): one shared default container (conftest), one hardened,
one under an arbitrary UID, two for the stop-and-recreate cycle, one with an unwritable volume.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_docker.engine import Docker, http_get_json
from tests.support.tools import unavailable

pytestmark = pytest.mark.docker

HARDENED = (
    "--read-only",
    "--tmpfs",
    "/tmp",
    "--cap-drop",
    "ALL",
    "--security-opt",
    "no-new-privileges",
)
STOP_GRACE_S = 10
EXIT_CONFIG = 2


def _process_uids(docker: Docker, name: str) -> set[str]:
    # docker top needs the pid column; every process in the container counts (tini, the
    # daemon, and any health probe that happens to be running).
    out = docker.run("top", name, "-eo", "pid,uid,comm").stdout.splitlines()[1:]
    return {line.split()[1] for line in out if line.strip()}


def _orders(docker: Docker, name: str) -> dict[str, Any]:
    status, body = http_get_json(docker.host_port(name, 8000), "/api/v1/orders?limit=20")
    assert status == 200
    assert isinstance(body, dict)
    return body


def test_docker_reports_the_default_container_healthy(app_container: tuple[Docker, str]) -> None:
    docker, name = app_container
    assert docker.state(name)["Health"]["Status"] == "healthy"
    status, body = http_get_json(docker.host_port(name, 8000), "/health")
    assert status == 200, body


def test_the_process_runs_as_uid_10001(app_container: tuple[Docker, str]) -> None:
    docker, name = app_container
    assert _process_uids(docker, name) == {"10001"}
    assert docker.inspect(name)["Config"]["User"] == "10001:0"


def test_every_log_line_is_json(app_container: tuple[Docker, str]) -> None:
    docker, name = app_container
    result = docker.run("logs", name)
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert len(lines) >= 3, "the daemon logged (almost) nothing"
    for line in lines:
        record = json.loads(line)  # raises, with the line, if it is not JSON
        assert isinstance(record, dict) and "event" in record, line
    assert any(json.loads(line).get("event") == "grodtd started" for line in lines)


def test_runs_read_only_without_capabilities_or_privilege_escalation(
    docker: Docker, image: str
) -> None:
    # IMG-12: exactly these flags, nothing else changed.
    name = docker.start(image, *HARDENED, "-p", "127.0.0.1::8000", prefix="hardened")
    docker.wait_healthy(name)
    status, body = http_get_json(docker.host_port(name, 8000), "/health")
    assert status == 200, body
    host_config = docker.inspect(name)["HostConfig"]
    assert host_config["ReadonlyRootfs"] is True
    assert host_config["CapDrop"] == ["ALL"]


def test_runs_under_an_arbitrary_uid_in_group_0(docker: Docker, image: str) -> None:
    # IMG-12, OpenShift style: the data directory is group-writable for group 0.
    name = docker.start(image, "--user", "4242:0", "-p", "127.0.0.1::8000", prefix="anyuid")
    docker.wait_healthy(name)
    assert _process_uids(docker, name) == {"4242"}
    status, _ = http_get_json(docker.host_port(name, 8000), "/health")
    assert status == 200


def test_stop_is_clean_and_data_survives_recreating_the_container(
    docker: Docker, image: str, timings: dict[str, float]
) -> None:
    volume = docker.volume("data")
    options = ("-v", f"{volume}:/data", "-p", "127.0.0.1::8000")
    first = docker.start(image, *options, prefix="first")
    docker.wait_healthy(first)
    deadline = time.monotonic() + 60
    while (before := _orders(docker, first))["total"] == 0:
        assert time.monotonic() < deadline, "no order was placed within 60 s"
        time.sleep(0.5)
    inode = docker.exec(first, "stat", "-c", "%i", "/data/grodt.db").stdout.strip()
    assert inode

    started = time.monotonic()
    docker.run("stop", "--time", str(STOP_GRACE_S), first, timeout=STOP_GRACE_S + 30)
    stop_seconds = time.monotonic() - started
    timings["docker stop (SIGTERM -> exit)"] = stop_seconds
    state = docker.state(first)
    assert state["ExitCode"] == 0, docker.logs(first)[-2000:]
    assert not state["OOMKilled"]
    # SIGKILL would come at 10 s; a clean SIGTERM stop takes a fraction of that.
    assert stop_seconds < STOP_GRACE_S / 2, f"docker stop took {stop_seconds:.1f} s"
    docker.remove(first)

    second = docker.start(image, *options, prefix="second")
    docker.wait_healthy(second)
    after = _orders(docker, second)
    # Same database file (not a new one that happened to replay the same seed) ...
    assert docker.exec(second, "stat", "-c", "%i", "/data/grodt.db").stdout.strip() == inode
    # ... holding every order the first container wrote.
    assert after["total"] >= before["total"]
    first_ids = {o["client_order_id"] for o in before["items"]}
    assert first_ids <= {o["client_order_id"] for o in _all_orders(docker, second)}


def _all_orders(docker: Docker, name: str) -> list[dict[str, Any]]:
    port = docker.host_port(name, 8000)
    items: list[dict[str, Any]] = []
    while True:
        _, page = http_get_json(port, f"/api/v1/orders?limit=200&offset={len(items)}")
        items.extend(page["items"])
        if not page["items"] or len(items) >= page["total"]:
            return items


@pytest.fixture
def root_owned_dir() -> Iterator[Path]:
    """A host directory owned by root with mode 0755: the runtime user cannot write it."""
    if os.geteuid() != 0:
        unavailable("needs root on the host to make a root-owned directory (CI runs as root)")
    path = Path(tempfile.mkdtemp(prefix="grodt-test-ro-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        for child in path.iterdir():
            child.unlink()
        path.rmdir()


def test_unwritable_data_volume_exits_2_naming_the_chown(
    docker: Docker, image: str, root_owned_dir: Path
) -> None:
    name = docker.start(image, "-v", f"{root_owned_dir}:/data", prefix="unwritable")
    assert docker.wait_exit(name, timeout=60) == EXIT_CONFIG
    output = docker.logs(name)
    lines = [line for line in output.splitlines() if "chown" in line]
    assert lines, f"no line names the chown to run:\n{output[-2000:]}"
    assert "10001" in lines[0], lines[0]
    assert docker.state(name)["Health"]["Status"] != "healthy"
