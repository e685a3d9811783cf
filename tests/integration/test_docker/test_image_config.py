"""IMG items provable from the image's configuration and history, without starting it."""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.integration.test_docker.engine import Docker

pytestmark = pytest.mark.docker

BASE_IMAGE = os.environ.get("GRODT_TEST_BASE", "grodt-base:trixie")
# 100 MB since the PostgreSQL driver joined the image (about 12 MB with its libpq): one image
# for SQLite and for a fleet's PostgreSQL beats a second image per store (bench_image.py).
ADDED_LAYERS_BUDGET_MB = 100.0


@pytest.fixture(scope="module")
def config(engine: Docker, image: str) -> dict[str, Any]:
    cfg: dict[str, Any] = engine.inspect(image)["Config"]
    return cfg


def test_runs_as_numeric_non_root_user_in_group_0(config: dict[str, Any]) -> None:
    # IMG-1: numeric, so Kubernetes' runAsNonRoot can verify it without /etc/passwd.
    assert config["User"] == "10001:0"


def test_healthcheck_calls_the_app_in_exec_form(config: dict[str, Any]) -> None:
    # IMG-2: CMD (exec form), not CMD-SHELL, and no curl.
    health = config["Healthcheck"]
    assert health["Test"] == ["CMD", "grodt", "healthcheck"]
    seconds = 1_000_000_000
    assert 0 < health["Interval"] <= 10 * seconds
    assert 0 < health["Timeout"] <= 5 * seconds
    assert 0 < health["StartPeriod"] <= 30 * seconds
    assert health["Retries"] >= 2


def test_entrypoint_and_cmd_are_exec_form_arrays_with_tini(config: dict[str, Any]) -> None:
    # IMG-3: tini is PID 1 and forwards SIGTERM to the daemon.
    assert config["Entrypoint"] == ["/usr/bin/tini", "--", "/opt/grodt/venv/bin/grodt"]
    assert config["Cmd"] == ["run"]


def test_only_web_and_metrics_ports_are_exposed_and_data_is_a_volume(
    config: dict[str, Any],
) -> None:
    # IMG-10
    assert set(config["ExposedPorts"]) == {"8000/tcp", "9090/tcp"}
    assert set(config["Volumes"]) == {"/data"}


def test_oci_labels_are_complete(config: dict[str, Any]) -> None:
    # IMG-9: version/revision/created come from build arguments, not the defaults.
    labels = config["Labels"]
    prefix = "org.opencontainers.image."
    for key in ("title", "description", "version", "revision", "created", "source", "licenses"):
        assert labels.get(prefix + key), f"label {prefix}{key} missing or empty"
    assert labels[prefix + "title"] == "grodt"
    assert labels[prefix + "licenses"] == "MIT"
    assert labels[prefix + "version"] != "0.0.0"
    assert labels[prefix + "created"] != "1970-01-01T00:00:00Z"


def test_python_runs_unbuffered_and_container_config_is_selected(
    config: dict[str, Any],
) -> None:
    # IMG-7 (unbuffered) and the docker overlay that binds 0.0.0.0 and logs JSON.
    env = dict(item.split("=", 1) for item in config["Env"])
    assert env["PYTHONUNBUFFERED"] == "1"
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert env["GRODT_CONFIG_OVERLAYS"] == "docker"
    assert env["GRODT_CONFIG_DIR"] == "/opt/grodt/configs"
    assert env["PATH"].startswith("/opt/grodt/venv/bin:")


def test_workdir_is_the_read_only_code_directory(config: dict[str, Any]) -> None:
    assert config["WorkingDir"] == "/opt/grodt"


def _build_steps(engine: Docker, image: str) -> list[tuple[str, int]]:
    """(created_by, size in bytes) per history entry, oldest first (history is newest first)."""
    out = engine.run(
        "history", "--no-trunc", "--human=false", "--format", "{{.CreatedBy}}\t{{.Size}}", image
    )
    steps = []
    for line in out.stdout.splitlines():
        created_by, _, size = line.rpartition("\t")
        steps.append((created_by, int(size)))
    return steps[::-1]


def test_dependency_layer_comes_before_the_code_layer(engine: Docker, image: str) -> None:
    # IMG-6
    steps = _build_steps(engine, image)
    commands = [created_by for created_by, _ in steps]
    deps = next(i for i, c in enumerate(commands) if "COPY /opt/grodt/venv /opt/grodt/venv" in c)
    code = next(i for i, c in enumerate(commands) if "COPY /staging/ /" in c)
    assert deps < code
    # The code layer is the small one: a code change must not re-ship the dependencies.
    assert steps[code][1] < steps[deps][1] / 10
    # Nothing after the code layer adds files (only metadata: user, healthcheck, labels).
    assert all(size == 0 for _, size in steps[code + 1 :])


def test_layers_added_over_the_base_fit_the_budget(engine: Docker, image: str) -> None:
    # IMG-13: only meaningful over the base this build used (GRODT_TEST_BASE to change it).
    if engine.run("image", "inspect", BASE_IMAGE, check=False).returncode != 0:
        pytest.fail(f"base image {BASE_IMAGE} is missing; scripts/docker-build.sh builds it")
    image_size = int(engine.inspect(image)["Size"])
    base_size = int(engine.inspect(BASE_IMAGE)["Size"])
    added_mb = (image_size - base_size) / 1e6
    assert 0 < added_mb <= ADDED_LAYERS_BUDGET_MB, f"added layers: {added_mb:.1f} MB"
