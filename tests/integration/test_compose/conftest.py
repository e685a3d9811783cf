"""Session fixtures for the Compose stack tests: one build and one bring-up per session.

The stack is the registry-less one (base file + dev override + compose.local.yml), because
that is the one this machine and CI can run; Grafana is left out of it and checked as files.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.test_compose.monitoring import DOCKER, REPO
from tests.integration.test_compose.stack import (
    BASE_IMAGE,
    ComposeStack,
    clean_environment,
    compose_files,
    docker_binary,
    free_port,
    new_project_name,
    unavailable,
    write_secrets,
)

# The tags scripts/docker-dev.sh --local uses: the build reuses an image whose inputs are
# unchanged, so sharing them with a developer's stack costs nothing and rebuilds nothing.
GRODT_TEST_IMAGE = "grodt:local"
PROMETHEUS_TEST_IMAGE = "grodt-prometheus:local"


def _run(args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="session")
def docker_engine() -> str:
    """The docker client, once the engine answers; fails in CI, skips elsewhere."""
    docker = docker_binary()
    result = _run([docker, "version", "--format", "{{.Server.Version}}"], timeout=30)
    if result.returncode != 0 or not result.stdout.strip():
        reason = (result.stderr.strip().splitlines() or ["no answer"])[-1]
        unavailable(f"no Docker engine answers ({reason}): start dockerd")
    return docker


@pytest.fixture(scope="session")
def local_images(docker_engine: str) -> dict[str, str]:
    """The images compose.local.yml names, built the documented way.

    scripts/docker-build.sh reuses an image whose inputs are unchanged, and the Prometheus
    build is all cache hits after the first, so a second session costs seconds.
    """
    env_docker = {"DOCKER": docker_engine, "DOCKER_BUILDKIT": "1"}
    steps = [
        (["scripts/build-base-image.sh", "--name", BASE_IMAGE], 600),
        (
            ["scripts/docker-build.sh", "--base", BASE_IMAGE, "--tag", GRODT_TEST_IMAGE],
            900,
        ),
        (
            [
                docker_engine,
                "build",
                "--file",
                str(DOCKER / "prometheus/Dockerfile.local"),
                "--build-arg",
                f"BASE_IMAGE={BASE_IMAGE}",
                "--tag",
                PROMETHEUS_TEST_IMAGE,
                str(DOCKER / "prometheus"),
            ],
            600,
        ),
    ]
    for args, timeout in steps:
        result = subprocess.run(
            args,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={**os.environ, **env_docker},
        )
        assert result.returncode == 0, (
            f"{' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
        )
    return {"IMAGE_GRODT_LOCAL": GRODT_TEST_IMAGE, "IMAGE_PROMETHEUS_LOCAL": PROMETHEUS_TEST_IMAGE}


@pytest.fixture(scope="session")
def stack(
    local_images: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ComposeStack]:
    """The local stack, up and healthy; removed with its volumes at the end of the session."""
    secrets_dir: Path = tmp_path_factory.mktemp("secrets")
    token = f"compose-test-token-{uuid.uuid4().hex}"
    secret_env = write_secrets(
        secrets_dir,
        {"grodt_control_token": token, "grafana_admin_password": uuid.uuid4().hex},
    )
    web_port, prometheus_port = free_port(), free_port()
    env = clean_environment(
        {
            **secret_env,
            **local_images,
            "PUBLISH_WEB_PORT": str(web_port),
            "PUBLISH_PROMETHEUS_PORT": str(prometheus_port),
            "PUBLISH_GRAFANA_PORT": str(free_port()),
        }
    )
    compose_stack = ComposeStack(
        project=new_project_name(),
        files=compose_files("dev", local=True),
        env=env,
        web_port=web_port,
        prometheus_port=prometheus_port,
        control_token=token,
    )
    try:
        compose_stack.up()
        yield compose_stack
    finally:
        compose_stack.compose(
            "--profile", "grafana", "down", "--volumes", "--remove-orphans", check=False
        )
