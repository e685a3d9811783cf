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
import os
import subprocess
import sys
from typing import Any

import pytest

from tests.integration.test_docker.engine import IMAGE_TAG, Docker
from tests.support.daemon import REPO

pytestmark = pytest.mark.docker

# Prints the core modules that are NOT loaded from a C extension (none expected).
_NOT_COMPILED = """
import importlib, pkgutil
from importlib.machinery import ExtensionFileLoader
import grodtd.core as core
names = ["grodtd.core"] + [m.name for m in pkgutil.walk_packages(core.__path__, "grodtd.core.")]
print(len(names), *[n for n in names if not isinstance(
    importlib.import_module(n).__loader__, ExtensionFileLoader)])
"""
# Timing fields differ between any two runs; everything else must be identical.
_TIMING_KEYS = {"seconds", "bars_per_second"}
BACKTEST = ("backtest", "--days", "4", "--seed", "11", "--json", "--no-progress")


def test_every_core_module_loads_compiled(app_container: tuple[Docker, str]) -> None:
    docker, name = app_container
    result = docker.exec(name, "python", "-c", _NOT_COMPILED)
    assert result.returncode == 0, result.stderr
    count, *interpreted = result.stdout.split()
    assert int(count) >= 10, result.stdout  # the walk really found the core's modules
    assert interpreted == [], f"core modules running interpreted in the image: {interpreted}"
    version = docker.exec(name, "grodt", "version", "--json")
    assert json.loads(version.stdout)["core"] == "compiled", version.stdout


def _report(stdout: str) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(stdout)
    return {k: v for k, v in report.items() if k not in _TIMING_KEYS}


def test_compiled_backtest_matches_the_interpreted_source(engine: Docker, image: str) -> None:
    in_image = engine.run("run", "--rm", "--network", "none", image, *BACKTEST, timeout=300)
    # The same configuration as the image: the repository's configs with its `docker` overlay.
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRODT_")}
    env |= {"GRODT_CONFIG_DIR": str(REPO / "configs"), "GRODT_CONFIG_OVERLAYS": "docker"}
    here = subprocess.run(
        [sys.executable, "-m", "grodtd", *BACKTEST],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert here.returncode == 0, here.stderr
    source_report = _report(here.stdout)
    assert source_report["trades"] > 10, "too few trades for the comparison to mean anything"
    assert _report(in_image.stdout) == source_report


def test_the_interpreted_core_build_works_and_trades_the_same(engine: Docker, image: str) -> None:
    tag = f"{IMAGE_TAG}-interpreted-core"
    built = subprocess.run(
        [str(REPO / "scripts" / "docker-build.sh"), "--interpreted-core", "--tag", tag],
        cwd=REPO,
        env={**os.environ, "DOCKER": engine.binary},
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert built.returncode == 0, built.stderr[-4000:]
    version = engine.run("run", "--rm", "--network", "none", tag, "version", "--json")
    assert json.loads(version.stdout)["core"] == "interpreted"
    interpreted = engine.run("run", "--rm", "--network", "none", tag, *BACKTEST, timeout=300)
    compiled = engine.run("run", "--rm", "--network", "none", image, *BACKTEST, timeout=300)
    assert _report(interpreted.stdout) == _report(compiled.stdout)
