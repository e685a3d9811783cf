"""Session fixtures for the image tests: one engine check, one (reused) build, one app container.

The image is built by scripts/docker-build.sh, exactly as an operator builds it; that script
reuses an image whose inputs hash is unchanged, so a second run costs seconds. Outside CI a
missing engine skips these tests loudly; under CI=true it fails them (.ci/run starts dockerd).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.integration.test_docker.engine import IMAGE_TAG, Docker, DockerError
from tests.support.tools import unavailable

BUILD_TIMEOUT_S = 1200.0
# Durations worth seeing in the report (build, start to healthy, stop), kept on the config.
TIMINGS_KEY = pytest.StashKey[dict[str, float]]()


@pytest.fixture(scope="session")
def timings(request: pytest.FixtureRequest) -> dict[str, float]:
    return request.config.stash.setdefault(TIMINGS_KEY, {})


@pytest.fixture(scope="session")
def engine() -> Docker:
    docker = Docker()
    if docker.answers():
        return docker
    unavailable(
        f"no Docker engine answers to {docker.binary}: start one "
        "(as root: scripts/ci-docker-engine.sh)"
    )


@pytest.fixture(scope="session")
def image(engine: Docker, timings: dict[str, float]) -> str:
    """The id of the GRODT image, built (or reused) by scripts/docker-build.sh."""
    started = time.monotonic()
    try:
        image_id = engine.build(IMAGE_TAG)
    except DockerError as exc:
        pytest.fail(str(exc), pytrace=False)
    finally:
        timings["image build (scripts/docker-build.sh)"] = time.monotonic() - started
    return image_id


@pytest.fixture
def docker(engine: Docker) -> Iterator[Docker]:
    """A Docker handle whose containers and volumes are removed after the test."""
    handle = Docker(binary=engine.binary)
    try:
        yield handle
    finally:
        handle.cleanup()


@pytest.fixture(scope="session")
def app_container(
    engine: Docker, image: str, timings: dict[str, float]
) -> Iterator[tuple[Docker, str]]:
    """One container started with the image's defaults, shared by the read-only checks."""
    handle = Docker(binary=engine.binary)
    try:
        name = handle.start(image, "-p", "127.0.0.1::8000", "-p", "127.0.0.1::9090", prefix="app")
        try:
            timings["docker run -> healthy (default container)"] = handle.wait_healthy(name)
        except DockerError as exc:
            pytest.fail(str(exc), pytrace=False)
        yield handle, name
    finally:
        handle.cleanup()


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    for label, seconds in config.stash.get(TIMINGS_KEY, {}).items():
        terminalreporter.write_line(f"test_docker timing: {label}: {seconds:.1f} s")
