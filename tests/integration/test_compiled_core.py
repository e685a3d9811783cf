"""The core's unit tests, run once more against the core compiled with mypyc.

The image ships `grodtd/core` compiled (docker/Dockerfile, stage `core`); everything else in
this suite, coverage included, runs the same modules interpreted. Compiled classes are stricter
at run time (attribute types are checked, classes cannot be patched), so this test compiles the
core here exactly as the image build does and runs tests/unit/core against it, property tests
included. The image tests then prove that the image's own build is the compiled one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.daemon import REPO
from tests.support.tools import require_tool

pytestmark = pytest.mark.slow

# Runs in the build directory, so `grodtd` is the compiled copy. Importing the package before
# pytest starts pins it: pytest may put the repository on sys.path later, but submodules are
# looked up through the package's own __path__, never sys.path again.
_RUN_CORE_TESTS = """
import sys
import grodtd.core as core
from grodtd.ops.version import core_modules
import pytest
modules = core_modules()
interpreted = [name for name, compiled in modules.items() if not compiled]
if len(modules) < 10 or interpreted:
    sys.exit(f"not a compiled core: {len(modules)} modules, interpreted: {interpreted}")
print(f"compiled core: {len(modules)} modules from {core.__path__[0]}", flush=True)
code = pytest.main(sys.argv[1:])
# And the tests really used them: no interpreted core module crept in during the run.
crept = [n for n, m in sys.modules.items() if n.startswith("grodtd.core.")
         and (getattr(m, "__file__", None) or "").endswith(".py")]
sys.exit(f"interpreted core modules used by the tests: {crept}" if crept else code)
"""


def test_core_unit_tests_pass_against_the_compiled_core(tmp_path: Path) -> None:
    require_tool("gcc", "apt-get install -y gcc (mypyc compiles C)")
    build = tmp_path / "build"
    shutil.copytree(
        REPO / "grodtd", build / "grodtd", ignore=shutil.ignore_patterns("__pycache__", "*.so")
    )
    compiled = subprocess.run(
        [sys.executable, "-m", "mypyc", "grodtd/core"],
        cwd=build,
        env={**os.environ, "MYPYC_OPT_LEVEL": "3", "MYPYC_DEBUG_LEVEL": "0"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert compiled.returncode == 0, compiled.stdout[-3000:] + compiled.stderr[-3000:]

    result = subprocess.run(
        [
            sys.executable,
            "-c",
            _RUN_CORE_TESTS,
            *("-q", "-p", "no:cacheprovider", "--no-cov", "--import-mode=append"),
            *("-o", "pythonpath=", "--rootdir", str(REPO)),
            str(REPO / "tests" / "unit" / "core"),
        ],
        cwd=build,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "compiled core:" in output and " passed" in output, output[-2000:]
