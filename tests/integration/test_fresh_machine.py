"""A new user's first hour, on a machine made fresh for the test.

What CI's machine happens to have must not decide whether set-up works: an earlier CI was
green only because its machines had uv installed by hand. So this test makes the conditions
of a freshly made machine itself, whatever machine it runs on:

- a fresh clone: the files `git clone` would give (tracked plus new, not ignored ones), with
  no .venv, no wheelhouse/ and no build/;
- a PATH of the system directories only, with any uv or uvx hidden, and a new empty HOME
  (no ~/.local/bin, no pip or uv cache);
- no cached image: the base image, the GRODT image and the Prometheus image get names no
  earlier run used, so the base is debootstrapped and everything is built from nothing.

Then it follows the README: `make run` (the daemon becomes ready; only its own dependencies
are installed), `scripts/docker-dev.sh --local build` and `scripts/docker-dev.sh --local up dev`
(every service healthy, /ready 200), and it removes everything it made.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx
import pytest

from tests.integration.test_docker.engine import Docker
from tests.support.daemon import REPO, free_port, wait_for
from tests.support.tools import unavailable

pytestmark = [pytest.mark.docker, pytest.mark.slow]

SYSTEM_PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
HIDDEN_TOOLS = ("uv", "uvx")


def fresh_clone(target: Path) -> Path:
    """What `git clone` of this checkout would give, including changes not yet committed."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for raw in filter(None, listed):
        relative = Path(os.fsdecode(raw))
        source = REPO / relative
        if not source.is_file():
            continue  # deleted in the working tree
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, destination)
    return target


def path_without_tools(shadow: Path) -> str:
    """The system PATH, where a directory holding uv is replaced by a copy of links without it."""
    entries = []
    for directory in map(Path, SYSTEM_PATH):
        if not directory.is_dir():
            continue
        if not any((directory / tool).exists() for tool in HIDDEN_TOOLS):
            entries.append(str(directory))
            continue
        copy = shadow / directory.name
        copy.mkdir(parents=True)
        for item in directory.iterdir():
            if item.name not in HIDDEN_TOOLS:
                (copy / item.name).symlink_to(item)
        entries.append(str(copy))
    return os.pathsep.join(entries)


def fresh_environment(home: Path, path: str, extra: Mapping[str, str]) -> dict[str, str]:
    kept = {
        key: value
        for key, value in os.environ.items()
        # Proxy, CA and pip settings are the machine's, not tools anyone installed.
        if key.startswith(("SSL_", "PIP_", "REQUESTS_", "CURL_", "HTTP", "NO_PROXY", "LANG", "LC_"))
        or key in {"TERM", "TZ", "USER", "LOGNAME", "DEBIAN_FRONTEND"}
    }
    return {
        **kept,
        "HOME": str(home),
        "PATH": path,
        # The machine's interpreters live under pyenv here; bootstrap.sh looks there.
        "PYENV_ROOT": os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv")),
        **extra,
    }


@pytest.fixture
def machine(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str], Docker]]:
    docker = Docker()
    if not docker.answers():
        unavailable("no Docker engine answers: start one (as root: scripts/ci-docker-engine.sh)")
    home = tmp_path / "home"
    home.mkdir()
    path = path_without_tools(tmp_path / "shadow")
    for tool in HIDDEN_TOOLS:
        assert shutil.which(tool, path=path) is None, f"{tool} is still on the fresh PATH"
    run_id = uuid.uuid4().hex[:10]
    names = {
        "STACK_BASE_IMAGE": f"grodt-base:fresh-{run_id}",
        "IMAGE_GRODT_LOCAL": f"grodt-fresh-{run_id}:local",
        "IMAGE_PROMETHEUS_LOCAL": f"grodt-prometheus-fresh-{run_id}:local",
        "COMPOSE_PROJECT_NAME": f"grodt-fresh-{run_id}",
    }
    for image in list(names.values())[:3]:
        assert docker.run("image", "inspect", image, check=False).returncode != 0
    clone = fresh_clone(tmp_path / "clone")
    env = fresh_environment(home, path, {**names, "DOCKER": docker.binary})
    try:
        yield clone, env, docker
    finally:
        subprocess.run(
            ["scripts/docker-dev.sh", "--local", "clean", "--yes"],
            cwd=clone,
            env=env,
            capture_output=True,
            timeout=300,
            check=False,
        )
        tags = docker.run("image", "ls", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
        mine = [tag for tag in tags if run_id in tag]
        if mine:
            docker.run("image", "rm", "-f", *mine, check=False, timeout=300)


def run(
    clone: Path, env: Mapping[str, str], *args: str, timeout: float
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        list(args), cwd=clone, env=dict(env), capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, (
        f"{' '.join(args)} failed ({result.returncode}) on a fresh machine:\n"
        f"{result.stdout[-3000:]}\n{result.stderr[-6000:]}"
    )
    return result


def test_a_fresh_clone_on_a_fresh_machine_runs_the_quick_start(
    machine: tuple[Path, dict[str, str], Docker],
) -> None:
    clone, env, _ = machine
    # 1. `make run`: bootstrap finds no uv, installs its own, and the daemon becomes ready.
    web, metrics = free_port(), free_port()
    daemon_env = {**env, "GRODT_WEB_PORT": str(web), "GRODT_METRICS_PORT": str(metrics)}
    proc = subprocess.Popen(
        ["make", "run"],
        cwd=clone,
        env=daemon_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:

        def ready() -> bool:
            assert proc.poll() is None, f"make run exited {proc.returncode}: {proc.stderr}"
            try:
                return httpx.get(f"http://127.0.0.1:{web}/ready", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(ready, timeout=300, interval=1.0, what="make run to serve /ready 200")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    assert (clone / "build" / "uv" / "bin" / "uv").is_file(), "bootstrap did not install uv"
    venv_python = next((clone / ".venv" / "bin").glob("python3*"))
    probe = "import importlib.util as u; print(u.find_spec('pytest') is None)"
    only_runtime = subprocess.run(
        [str(venv_python), "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert only_runtime == "True", "make run installed the test tools"

    # 2. The registry-less stack, built from nothing and brought up as the README says.
    started = time.monotonic()
    run(clone, env, "scripts/docker-dev.sh", "--local", "build", timeout=1500)
    built = time.monotonic() - started
    ports = {
        "PUBLISH_WEB_PORT": str(free_port()),
        "PUBLISH_PROMETHEUS_PORT": str(free_port()),
        "PUBLISH_GRAFANA_PORT": str(free_port()),
        "STACK_SECRETS_DIR": str(clone.parent / "secrets"),
    }
    stack_env = {**env, **ports}
    run(clone, stack_env, "scripts/docker-dev.sh", "--local", "up", "dev", timeout=600)
    ready = httpx.get(f"http://127.0.0.1:{ports['PUBLISH_WEB_PORT']}/ready", timeout=5)
    assert ready.status_code == 200, ready.text
    print(f"fresh machine: docker-dev.sh --local build took {built:.0f} s")
