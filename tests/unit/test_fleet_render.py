"""The fleet file -> Swarm stack renderer (docker/fleet/render.py), without an engine.

The live fleet (tests/integration/test_swarm_fleet.py) proves the stack runs; these prove what
it promises on paper for any fleet file, and that a bad fleet file gets one clear line.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.tools import require_tool

REPO = Path(__file__).resolve().parents[2]
RENDER = REPO / "docker/fleet/render.py"
FLEET_FILE = REPO / "configs/fleet/fleet.yaml"


def _render(fleet_file: Path, state: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(RENDER), str(fleet_file), "--state-dir", str(state), *extra],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin", "FLEET_STACK": "render-test"},
    )


@pytest.fixture()
def stack(tmp_path: Path) -> dict[str, Any]:
    result = _render(FLEET_FILE, tmp_path)
    assert result.returncode == 0, result.stderr
    return dict(yaml.safe_load(Path(result.stdout.strip()).read_text()))


def test_every_bot_is_one_stop_first_replica_that_rolls_back(stack: dict[str, Any]) -> None:
    bots = {name for name in stack["services"] if name not in {"postgres", "prometheus"}}
    assert bots == {"alpha", "beta", "gamma"}
    for name in bots:
        deploy = stack["services"][name]["deploy"]
        assert deploy["mode"] == "replicated" and deploy["replicas"] == 1
        assert deploy["update_config"]["order"] == "stop-first"
        assert deploy["update_config"]["failure_action"] == "rollback"
        assert deploy["rollback_config"]["order"] == "stop-first"
        assert deploy["restart_policy"]["max_attempts"] > 0  # bounded


def test_each_bot_has_its_own_secrets_overlay_and_volume(
    stack: dict[str, Any], tmp_path: Path
) -> None:
    urls = set()
    for name in ("alpha", "beta", "gamma"):
        service = stack["services"][name]
        assert {s["source"] for s in service["secrets"]} == {
            f"{name}_database_url",
            f"{name}_control_token",
        }
        assert service["configs"][0]["target"] == "/opt/grodt/configs/bot.yaml"
        assert service["volumes"][0]["source"] == f"{name}-data"
        assert service["read_only"] is True and service["cap_drop"] == ["ALL"]
        url = Path(stack["secrets"][f"{name}_database_url"]["file"]).read_text()
        assert url.endswith(f"@postgres:5432/bot_{name}") and f"//bot_{name}:" in url
        urls.add(url)
    assert len(urls) == 3
    # No port is published: Swarm would bind every interface.
    assert all("ports" not in service for service in stack["services"].values())


def test_rendering_again_keeps_the_secrets(tmp_path: Path) -> None:
    first = _render(FLEET_FILE, tmp_path)
    url = (tmp_path / "secrets/alpha/database_url").read_text()
    second = _render(FLEET_FILE, tmp_path)
    assert first.returncode == second.returncode == 0
    assert (tmp_path / "secrets/alpha/database_url").read_text() == url
    assert (tmp_path / "secrets/alpha/db_password").stat().st_mode & 0o077 == 0


def test_the_prometheus_configuration_labels_every_bot(tmp_path: Path) -> None:
    assert _render(FLEET_FILE, tmp_path).returncode == 0
    config = yaml.safe_load((tmp_path / "prometheus.yml").read_text())
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "grodt")
    assert {c["targets"][0]: c["labels"]["bot"] for c in job["static_configs"]} == {
        "alpha:9090": "alpha",
        "beta:9090": "beta",
        "gamma:9090": "gamma",
    }
    # promtool resolves rule_files relative to the configuration: give it the real rules.
    (tmp_path / "alerts.yml").write_text((REPO / "docker/prometheus/alerts.yml").read_text())
    promtool = require_tool("promtool", "apt-get install -y prometheus")
    checked = subprocess.run(
        [promtool, "check", "config", str(tmp_path / "prometheus.yml")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize(
    ("fleet", "message"),
    [
        ({"stack": "x"}, "bots: give at least one bot"),
        ({"bots": {"Alpha": {"overlay": "a.yaml"}}}, "bots.Alpha: a bot name is lower-case"),
        ({"bots": {"alpha": {}}}, "bots.alpha: give its config overlay"),
        ({"bots": {"alpha": {"overlay": "missing.yaml"}}}, "does not exist: create it"),
        ({"bots": {"alpha": {"overlay": "a.yaml", "replicas": 2}}}, "only overlay is allowed"),
        ({"bots": {"alpha": {"overlay": "a.yaml"}}, "replicas": 3}, "unknown key(s) replicas"),
    ],
)
def test_a_bad_fleet_file_gets_one_line_that_names_the_fix(
    tmp_path: Path, fleet: dict[str, Any], message: str
) -> None:
    (tmp_path / "a.yaml").write_text("market: {symbols: [BTC-USD]}\n")
    fleet_file = tmp_path / "fleet.yaml"
    fleet_file.write_text(yaml.safe_dump(fleet))
    result = _render(fleet_file, tmp_path / "state")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fleet: ") and message in lines[0], lines
