"""scripts/docker-dev.sh without an engine: its help, its refusals and its secret files.

The commands that need the stack (up, backup, restore) are exercised against the real stack in
test_compose_stack.py; here COMPOSE is replaced by a recorder so the script's own behaviour is
what is checked.
"""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import pytest

from tests.integration.test_compose.monitoring import REPO

SCRIPT = REPO / "scripts/docker-dev.sh"
COMMANDS = ("build", "up", "down", "logs", "ps", "shell", "backup", "restore", "test", "scan")


def _run(
    *args: str, tmp_path: Path, extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    recorder = tmp_path / "compose-recorder"
    recorder.write_text(f'#!/bin/sh\necho "$@" >> "{tmp_path}/compose-calls"\n')
    recorder.chmod(0o755)
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "COMPOSE": str(recorder),
        "STACK_SECRETS_DIR": str(tmp_path / "secrets"),
        **(extra or {}),
    }
    return subprocess.run(
        [str(SCRIPT), *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _calls(tmp_path: Path) -> list[str]:
    path = tmp_path / "compose-calls"
    return path.read_text().splitlines() if path.exists() else []


def test_help_lists_every_command(tmp_path: Path) -> None:
    result = _run("--help", tmp_path=tmp_path)
    assert result.returncode == 0
    for command in (*COMMANDS, "clean --yes", "--local"):
        assert command in result.stdout, command


@pytest.mark.parametrize("args", [["bogus"], ["up", "production"], []])
def test_wrong_usage_exits_2_and_runs_nothing(args: list[str], tmp_path: Path) -> None:
    result = _run(*args, tmp_path=tmp_path)
    assert result.returncode == 2
    assert _calls(tmp_path) == []


def test_clean_refuses_without_confirmation(tmp_path: Path) -> None:
    result = _run("clean", tmp_path=tmp_path)
    assert result.returncode == 2 and "clean --yes" in result.stderr
    assert _calls(tmp_path) == []


def test_clean_with_confirmation_removes_volumes_of_every_profile(tmp_path: Path) -> None:
    assert _run("clean", "--yes", tmp_path=tmp_path).returncode == 0
    (call,) = _calls(tmp_path)
    assert "--profile grafana down --volumes --remove-orphans" in call


def test_first_use_creates_random_private_secrets_and_keeps_them(tmp_path: Path) -> None:
    assert _run("ps", "staging", tmp_path=tmp_path).returncode == 0
    secrets = tmp_path / "secrets"
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o700
    first = {}
    for name in ("grodt_control_token", "grafana_admin_password"):
        path = secrets / name
        assert stat.S_IMODE(path.stat().st_mode) == 0o644  # readable by the container users
        first[name] = path.read_text()
        assert len(first[name]) == 64 and int(first[name], 16) >= 0
    assert first["grodt_control_token"] != first["grafana_admin_password"]

    assert _run("ps", "staging", tmp_path=tmp_path).returncode == 0
    assert {n: (secrets / n).read_text() for n in first} == first, "secrets were replaced"


@pytest.mark.parametrize(("local", "extra_file"), [(False, None), (True, "compose.local.yml")])
def test_up_uses_the_environment_override_and_waits_for_health(
    local: bool, extra_file: str | None, tmp_path: Path
) -> None:
    args = ["--local", "up", "prod"] if local else ["up", "prod"]
    assert _run(*args, tmp_path=tmp_path, extra={"COMPOSE_PROJECT_NAME": "p1"}).returncode == 0
    up = _calls(tmp_path)[0]
    assert up.startswith("-p p1 -f docker/docker-compose.yml -f docker/compose.prod.yml")
    assert ("-f docker/compose.local.yml" in up) is local
    assert "up -d --wait" in up
