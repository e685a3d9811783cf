"""The image runs the trading core compiled with mypyc, and it trades exactly like the source.

The Dockerfile's `core` stage compiles every module of grodtd/core to a C extension. These
tests prove that each one really loads as an extension in the image, and that a backtest run
by the image gives the very same report (every trade, fee and equity figure) as the same
backtest run here by the interpreted source, so compiling changed the speed and nothing else.
The build without a compiler (`--interpreted-core`, for machines without a Debian mirror) is
built too and must say so and give that same report.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.integration.test_docker.engine import IMAGE_TAG, Docker
from tests.support.daemon import grodt

pytestmark = pytest.mark.docker

# Timing fields differ between any two runs; everything else must be identical.
_TIMING_KEYS = {"seconds", "bars_per_second"}
BACKTEST = ("backtest", "--days", "4", "--seed", "11", "--json", "--no-progress")


def test_every_core_module_loads_compiled(app_container: tuple[Docker, str]) -> None:
    docker, name = app_container
    script = (
        "import json; from grodtd.ops.version import core_modules; "
        "print(json.dumps(core_modules()))"
    )
    result = docker.exec(name, "python", "-c", script)
    assert result.returncode == 0, result.stderr
    modules = json.loads(result.stdout)
    assert len(modules) >= 10, modules  # the walk really found the core's modules
    interpreted = [module for module, compiled in modules.items() if not compiled]
    assert interpreted == [], f"core modules running interpreted in the image: {interpreted}"
    version = docker.exec(name, "grodt", "version", "--json")
    assert json.loads(version.stdout)["core"] == "compiled", version.stdout


def _report(stdout: str) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(stdout)
    return {k: v for k, v in report.items() if k not in _TIMING_KEYS}


def test_compiled_backtest_matches_the_interpreted_source(engine: Docker, image: str) -> None:
    in_image = engine.run("run", "--rm", "--network", "none", image, *BACKTEST, timeout=300)
    # The same configuration as the image: the repository's configs with its `docker` overlay.
    here = grodt(*BACKTEST, env={"GRODT_CONFIG_OVERLAYS": "docker"}, timeout=300)
    assert here.returncode == 0, here.stderr
    source_report = _report(here.stdout)
    assert source_report["trades"] > 10, "too few trades for the comparison to mean anything"
    assert _report(in_image.stdout) == source_report


def test_the_interpreted_core_build_works_and_trades_the_same(engine: Docker, image: str) -> None:
    tag = f"{IMAGE_TAG}-interpreted-core"
    engine.build(tag, "--interpreted-core")
    version = engine.run("run", "--rm", "--network", "none", tag, "version", "--json")
    assert json.loads(version.stdout)["core"] == "interpreted"
    interpreted = engine.run("run", "--rm", "--network", "none", tag, *BACKTEST, timeout=300)
    compiled = engine.run("run", "--rm", "--network", "none", image, *BACKTEST, timeout=300)
    assert _report(interpreted.stdout) == _report(compiled.stdout)
