"""The registry-less guide's "Build and run" (docs/registry-less-build.md), run as written.

A new user on a machine without a registry copies those blocks; this test reads them from the
guide and runs the same commands in the same order. It changes only what would collide with
another run on this machine: the container name `grodt`, the volume `grodt-data` and the host
ports (each becomes an ephemeral one). A guide edit that breaks a command breaks this test.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess

import pytest

from tests.integration.test_docker.engine import IMAGE_TAG, REPO, Docker, unique

pytestmark = [pytest.mark.docker, pytest.mark.slow]

GUIDE = REPO / "docs" / "registry-less-build.md"
SECTION = "Build and run"
HOST_PORT = re.compile(r"127\.0\.0\.1:\d+:(\d+)")


def documented_commands(section: str = SECTION) -> list[list[str]]:
    """Every command of the section's sh blocks, continuation lines joined, comments dropped."""
    text = GUIDE.read_text()
    assert f"\n## {section}\n" in text, f"{GUIDE.name} has no '## {section}' section"
    body = text.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", body, re.DOTALL):
        for line in block.replace("\\\n", " ").splitlines():
            argv = shlex.split(line, comments=True)
            if argv:
                commands.append(argv)
    return commands


def localised(argv: list[str], renames: dict[str, str]) -> list[str]:
    """The command with this run's names and ephemeral host ports; nothing else changes."""
    out = []
    for token in argv:
        name, colon, rest = token.partition(":")
        if token in renames:
            token = renames[token]
        elif HOST_PORT.fullmatch(token):
            token = HOST_PORT.sub(r"127.0.0.1::\1", token)
        elif colon and name in renames and rest.startswith("/"):  # -v grodt-data:/data
            token = f"{renames[name]}:{rest}"
        out.append(token)
    return out


def test_the_guide_names_the_commands_a_new_user_needs() -> None:
    verbs = [
        argv[0] if argv[0] != "docker" else f"docker {argv[1]}" for argv in documented_commands()
    ]
    assert verbs[0] == "scripts/docker-build.sh", "the guide must start by building the image"
    for needed in ("docker run", "docker inspect", "docker logs", "docker stop", "docker rm"):
        assert needed in verbs, f"the guide's '{SECTION}' lost its '{needed}' step"


def test_build_and_run_as_the_guide_says(image: str, docker: Docker) -> None:
    container, volume = unique("guide"), unique("guide-data")
    renames = {"grodt": container, "grodt-data": volume}
    # Registered first, so the fixture removes them whatever step fails.
    docker.containers.append(container)
    docker.volumes.append(volume)
    ran: list[str] = []
    for documented in documented_commands():
        argv = localised(documented, renames)
        step = shlex.join(documented)
        ran.append(step)
        if argv[0] != "docker":
            result = subprocess.run(
                argv, cwd=REPO, capture_output=True, text=True, timeout=1200, check=False
            )
            assert result.returncode == 0, f"{step}: {result.stderr[-3000:]}"
            continue
        result = docker.run(*argv[1:], check=False, timeout=120)
        assert result.returncode == 0, f"{step} exited {result.returncode}: {result.stderr}"
        verb = argv[1]
        if verb == "run":
            # The user waits for "healthy" before going on; the guide's inspect line says so.
            docker.wait_healthy(container)
        elif verb == "inspect":
            assert result.stdout.strip() == "healthy", f"{step} printed {result.stdout!r}"
        elif verb == "logs":
            lines = [line for line in result.stdout.splitlines() if line.strip()]
            assert lines, "the container logged nothing"
            assert all(isinstance(json.loads(line), dict) for line in lines)
        elif verb == "stop":
            assert docker.state(container)["ExitCode"] == 0, docker.logs(container)

    assert ran[0] == "scripts/docker-build.sh"
    host = docker.inspect(container)["HostConfig"]
    assert host["ReadonlyRootfs"] is True and host["CapDrop"] == ["ALL"], (
        "the guide's last run is the hardened one"
    )
    if IMAGE_TAG == "grodt:local":  # the tag the guide builds and runs
        assert docker.inspect(container)["Image"] == image, "the guide ran another image"
