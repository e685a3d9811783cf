"""A thin, typed wrapper over the docker CLI for the image tests.

The tests drive the real engine through the same client an operator uses, so what they prove
is what `docker run` does. Every container and volume made here is named uniquely and removed
by the owner (see conftest.py), so parallel or aborted runs never collide.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
IMAGE_TAG = os.environ.get("GRODT_TEST_IMAGE", "grodt:local")


def docker_binary() -> str:
    """Debian's client has BuildKit built in; a client without buildx cannot build."""
    if os.environ.get("DOCKER"):
        return os.environ["DOCKER"]
    if Path("/usr/bin/docker").exists():
        return "/usr/bin/docker"
    return shutil.which("docker") or "docker"


def unique(prefix: str) -> str:
    return f"grodt-test-{prefix}-{uuid.uuid4().hex[:10]}"


class DockerError(RuntimeError):
    pass


@dataclass
class Docker:
    """Runs docker commands and remembers what it created, so cleanup() can remove it all."""

    binary: str = field(default_factory=docker_binary)
    containers: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)

    def run(
        self, *args: str, check: bool = True, timeout: float = 120.0
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [self.binary, *args], capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and result.returncode != 0:
            raise DockerError(
                f"docker {' '.join(args)} exited {result.returncode}: {result.stderr.strip()}"
            )
        return result

    def build(self, tag: str, *options: str, timeout: float = 1200.0) -> str:
        """scripts/docker-build.sh as an operator runs it (it reuses unchanged builds); the id."""
        result = subprocess.run(
            [str(REPO / "scripts" / "docker-build.sh"), "--tag", tag, *options],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "DOCKER": self.binary},
            check=False,
        )
        if result.returncode != 0:
            raise DockerError(
                f"scripts/docker-build.sh failed ({result.returncode}):\n{result.stderr[-4000:]}"
            )
        return result.stdout.strip().splitlines()[-1]

    def answers(self) -> bool:
        try:
            return self.run("info", "--format", "{{.ServerVersion}}", check=False).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            return False

    def volume(self, prefix: str) -> str:
        name = unique(prefix)
        self.run("volume", "create", name)
        self.volumes.append(name)
        return name

    def start(self, image: str, *options: str, command: Sequence[str] = (), prefix: str) -> str:
        """`docker run -d` with a unique name; the name is returned and remembered."""
        name = unique(prefix)
        self.containers.append(name)
        self.run("run", "-d", "--name", name, *options, image, *command)
        return name

    def remove(self, name: str) -> None:
        # -v also removes the anonymous /data volume the image's VOLUME line creates.
        self.run("rm", "-f", "-v", name, check=False)

    def cleanup(self) -> None:
        for name in reversed(self.containers):
            self.remove(name)
        for volume in reversed(self.volumes):
            self.run("volume", "rm", "-f", volume, check=False)
        self.containers.clear()
        self.volumes.clear()

    def inspect(self, name: str) -> dict[str, Any]:
        data: list[dict[str, Any]] = json.loads(self.run("inspect", name).stdout)
        return data[0]

    def state(self, name: str) -> dict[str, Any]:
        state: dict[str, Any] = self.inspect(name)["State"]
        return state

    def wait_healthy(self, name: str, timeout: float = 60.0) -> float:
        """Seconds until Docker itself reports the container healthy; fails on exit or timeout."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            state = self.state(name)
            health = (state.get("Health") or {}).get("Status")
            if health == "healthy":
                return time.monotonic() - started
            if not state.get("Running"):
                raise DockerError(
                    f"{name} stopped (exit {state.get('ExitCode')}) before becoming healthy:\n"
                    + self.logs(name)
                )
            time.sleep(0.2)
        raise DockerError(f"{name} not healthy after {timeout:.0f} s:\n{self.logs(name)[-3000:]}")

    def wait_exit(self, name: str, timeout: float = 60.0) -> int:
        result = self.run("wait", name, timeout=timeout)
        return int(result.stdout.strip())

    def logs(self, name: str) -> str:
        result = self.run("logs", name, check=False)
        return result.stdout + result.stderr

    def exec(
        self, name: str, *command: str, user: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        options = ["--user", user] if user else []
        return self.run("exec", *options, name, *command, check=False)

    def host_port(self, name: str, container_port: int) -> int:
        mapping = self.run("port", name, f"{container_port}/tcp").stdout.strip().splitlines()[0]
        return int(mapping.rsplit(":", 1)[1])


def http_get_json(port: int, path: str, timeout: float = 5.0) -> tuple[int, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as response:
        return response.status, json.loads(response.read() or b"null")
