"""Property-based API tests: schemathesis fuzzes the live server from its own /openapi.json.

The CLI runs in a subprocess against a real uvicorn server on an ephemeral port, so what is
checked is exactly what an HTTP client sees: no 5xx, every status and body as documented, bad
input rejected, and the control endpoints refusing requests without the bearer token.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from grodtd.web_app import create_app
from tests.support.fake_daemon import FakeDaemon, populated_daemon
from tests.support.servers import serve

TOKEN = "schemathesis-control-token"
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def daemon() -> FakeDaemon:
    return populated_daemon()


@pytest.fixture(scope="module")
def base_url(daemon: FakeDaemon) -> Iterator[str]:
    with serve(create_app(daemon, daemon, control_token=TOKEN)) as url:
        yield url


def run_schemathesis(base_url: str, workdir: Path, *extra: str) -> dict:
    report = workdir / "report.json"
    command = [
        str(SCHEMATHESIS),
        "run",
        f"{base_url}/openapi.json",
        "--checks",
        "all",
        "--seed",
        "20261127",
        "--no-color",
        "--generation-database",
        "none",
        "--request-timeout",
        "10",
        "--report",
        "json",
        "--report-json-path",
        str(report),
        *extra,
    ]
    done = subprocess.run(
        command, cwd=workdir, capture_output=True, text=True, timeout=480, check=False
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    return json.loads(report.read_text())


def test_fuzzing_whole_api_without_token_finds_nothing(base_url: str, tmp_path: Path) -> None:
    result = run_schemathesis(base_url, tmp_path, "--max-examples", "60")

    assert result["exit_code"] == 0
    assert result["test_cases"]["generated"] >= 500
    assert result["test_cases"]["with_failures"] == 0
    assert result["errors"] == []
    # Without a token every control call was refused, which schemathesis reports as such.
    assert sorted(result["warnings"]["missing_auth"]) == [
        "POST /api/v1/control/flatten",
        "POST /api/v1/control/pause",
        "POST /api/v1/control/resume",
    ]


def test_fuzzing_control_with_token_conforms(
    base_url: str, daemon: FakeDaemon, tmp_path: Path
) -> None:
    calls_before = len(daemon.calls)
    result = run_schemathesis(
        base_url,
        tmp_path,
        "--max-examples",
        "10",
        "--include-path-regex",
        "^/api/v1/control/",
        "--header",
        f"Authorization: Bearer {TOKEN}",
    )

    assert result["test_cases"]["with_failures"] == 0
    assert result["warnings"]["missing_auth"] == []
    assert len(daemon.calls) > calls_before


@pytest.mark.parametrize(
    "path", ["/api/v1/control/pause", "/api/v1/control/resume", "/api/v1/control/flatten"]
)
@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}],
    ids=["none", "wrong", "basic"],
)
def test_control_answers_401_without_the_token(
    base_url: str, path: str, headers: dict[str, str]
) -> None:
    response = httpx.post(base_url + path, headers=headers)

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    spec = httpx.get(base_url + "/openapi.json").json()
    assert spec["paths"][path]["post"]["security"] == [{"controlToken": []}]
    assert "401" in spec["paths"][path]["post"]["responses"]
