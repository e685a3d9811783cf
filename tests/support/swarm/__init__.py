"""Drive a GRODT fleet on Docker Swarm from tests (tests/integration/test_swarm_fleet.py).

The fleet is deployed with the operator's own command, scripts/fleet.sh, on a stack name of
its own; the swarm is initialised only when the engine was not in one, and left again then.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
import urllib.parse
import uuid
from collections import defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
FLEET_FILE = REPO / "configs/fleet/fleet.yaml"
IMAGES = Path(__file__).resolve().parent


def run(
    args: list[str], timeout: float = 120, env: Mapping[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        args,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=dict(env) if env is not None else None,
        cwd=REPO,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} failed ({result.returncode}):\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result


def swarm_state(docker: str) -> str:
    return run([docker, "info", "--format", "{{.Swarm.LocalNodeState}}"]).stdout.strip()


@contextmanager
def swarm(docker: str) -> Iterator[None]:
    """A swarm for the block; one we made is left again, one we found is left alone."""
    made = swarm_state(docker) == "inactive"
    if made:
        run([docker, "swarm", "init", "--advertise-addr", "127.0.0.1"])
    try:
        yield
    finally:
        if made:
            run([docker, "swarm", "leave", "--force"], check=False)


@dataclass
class Fleet:
    """One deployed fleet: its stack name, state directory and the fleet.sh environment."""

    docker: str
    stack: str
    env: dict[str, str]

    def fleet(
        self, *args: str, timeout: float = 420, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        return run(
            [str(REPO / "scripts/fleet.sh"), *args], timeout=timeout, env=self.env, check=check
        )

    def container(self, service: str) -> str:
        out = run(
            [
                self.docker,
                "ps",
                "-q",
                "--filter",
                f"label=com.docker.swarm.service.name={self.stack}_{service}",
                "--filter",
                "status=running",
            ]
        ).stdout.split()
        assert len(out) == 1, f"{service}: expected one running container, found {out}"
        return out[0]

    def service(self, name: str) -> dict[str, Any]:
        out = run([self.docker, "service", "inspect", f"{self.stack}_{name}"]).stdout
        return dict(json.loads(out)[0])

    def image_of(self, name: str) -> str:
        return str(self.service(name)["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"])

    def query(self, promql: str) -> list[dict[str, Any]]:
        """PromQL through Prometheus' own loopback, inside its container: nothing is published."""
        url = "http://127.0.0.1:9090/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        out = run([self.docker, "exec", self.container("prometheus"), "wget", "-qO-", url]).stdout
        body = json.loads(out)
        assert body["status"] == "success", body
        return list(body["data"]["result"])

    def sql(self, database: str, statement: str) -> list[list[str]]:
        out = run(
            [
                self.docker,
                "exec",
                "-u",
                "postgres",
                self.container("postgres"),
                "psql",
                "-h",
                "/tmp",
                "-X",
                "-tA",
                "-F",
                "\t",
                "-d",
                database,
                "-c",
                statement,
            ]
        ).stdout
        return [line.split("\t") for line in out.splitlines() if line]


def new_stack_name() -> str:
    return f"grodt-swarm-{uuid.uuid4().hex[:6]}"


def build_release(docker: str, dockerfile: str, tag: str, base: str) -> str:
    run(
        [
            docker,
            "build",
            "-q",
            "-f",
            str(IMAGES / dockerfile),
            "--build-arg",
            f"FROM_IMAGE={base}",
            "-t",
            tag,
            str(IMAGES),
        ],
        timeout=300,
        env={"DOCKER_BUILDKIT": "1", "PATH": "/usr/bin:/bin"},
    )
    return tag


class ContainerEvents:
    """`docker events` for one stack's containers while a block runs, so a test can replay
    every start and death in order and see how many tasks of one service ran at once."""

    def __init__(self, docker: str, stack: str) -> None:
        self._process = subprocess.Popen(
            [
                docker,
                "events",
                "--format",
                "{{json .}}",
                "--filter",
                "type=container",
                "--filter",
                "event=start",
                "--filter",
                "event=die",
                "--filter",
                f"label=com.docker.stack.namespace={stack}",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        self.events: list[dict[str, Any]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        time.sleep(1)  # `docker events` subscribes asynchronously; miss nothing that follows

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self.events.append(json.loads(line))

    def stop(self) -> None:
        self._process.terminate()
        self._process.wait(timeout=10)
        self._reader.join(timeout=10)

    def most_at_once(self) -> dict[str, int]:
        """Service name -> the most of its containers that were running at the same time."""
        running: dict[str, set[str]] = defaultdict(set)
        peak: dict[str, int] = defaultdict(int)
        for event in sorted(self.events, key=lambda e: e["timeNano"]):
            service = event["Actor"]["Attributes"].get("com.docker.swarm.service.name", "?")
            if event["Action"] == "start":
                running[service].add(event["id"])
            else:
                running[service].discard(event["id"])
            peak[service] = max(peak[service], len(running[service]))
        return dict(peak)

    def starts(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for event in self.events:
            if event["Action"] == "start":
                counts[event["Actor"]["Attributes"].get("com.docker.swarm.service.name", "?")] += 1
        return dict(counts)
