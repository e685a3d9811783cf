"""Session fixtures for the Compose stack tests: one build and one bring-up per session.

The stack is the registry-less one (base file + dev override + compose.local.yml), built and
started with the guide's own commands, because that is the one this machine and CI can run;
Grafana is left out of it and checked as files.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest

from tests.integration.test_compose.monitoring import REPO
from tests.integration.test_compose.stack import (
    BASE_IMAGE,
    ComposeStack,
    clean_environment,
    docker_binary,
    free_port,
    new_project_name,
)
from tests.support.tools import unavailable

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
    """The images compose.local.yml names, built as the guide says: `docker-dev.sh --local build`.

    It reuses an image whose inputs are unchanged (scripts/docker-build.sh hashes them) and
    the Prometheus build is all cache hits after the first, so a second session costs seconds.
    """
    images = {
        "IMAGE_GRODT_LOCAL": GRODT_TEST_IMAGE,
        "IMAGE_PROMETHEUS_LOCAL": PROMETHEUS_TEST_IMAGE,
    }
    result = subprocess.run(
        [str(REPO / "scripts/docker-dev.sh"), "--local", "build"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,
        env={**os.environ, **images, "DOCKER": docker_engine, "STACK_BASE_IMAGE": BASE_IMAGE},
    )
    assert result.returncode == 0, (
        f"scripts/docker-dev.sh --local build failed:\n{result.stdout[-3000:]}\n"
        f"{result.stderr[-5000:]}"
    )
    return images


@pytest.fixture(scope="session")
def stack(
    local_images: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ComposeStack]:
    """The guide's registry-less quick start, `docker-dev.sh --local up dev`, on this session's
    own project name, secrets directory and loopback ports; removed with its volumes at the end.
    """
    web_port, prometheus_port = free_port(), free_port()
    env = clean_environment(
        {
            **local_images,
            "PUBLISH_WEB_PORT": str(web_port),
            "PUBLISH_PROMETHEUS_PORT": str(prometheus_port),
            "PUBLISH_GRAFANA_PORT": str(free_port()),
        }
    )
    compose_stack = ComposeStack(
        project=new_project_name(),
        environment="dev",
        env=env,
        secrets_dir=tmp_path_factory.mktemp("stack") / "secrets",
        web_port=web_port,
        prometheus_port=prometheus_port,
    )
    try:
        compose_stack.up()
        yield compose_stack
    finally:
        compose_stack.docker_dev("clean", "--yes", timeout=180)
