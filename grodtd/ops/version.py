"""Build identity: what `grodt version`, grodt_build_info and the API report.

The version comes from the installed distribution's metadata (pyproject.toml is its single
source). The revision is stamped into the image as GRODT_REVISION by the Docker build; from a
checkout it is read from git when available, else "unknown".
"""

from __future__ import annotations

import os
import platform
import subprocess
from dataclasses import dataclass
from importlib import import_module, metadata
from importlib.machinery import ExtensionFileLoader
from pathlib import Path
from pkgutil import walk_packages


@dataclass(frozen=True, slots=True)
class BuildInfo:
    """Which build is running: `grodt version`, grodt_build_info and the status API."""

    version: str
    revision: str
    environment: str
    python: str


_REPO_ROOT = Path(__file__).resolve().parents[2]


def version() -> str:
    try:
        return metadata.version("grodt")
    except metadata.PackageNotFoundError:
        return "0.0.0+unknown"


def revision() -> str:
    stamped = os.environ.get("GRODT_REVISION", "").strip()
    if stamped:
        return stamped
    if (_REPO_ROOT / ".git").exists():
        try:
            out = subprocess.run(
                ["git", "-C", str(_REPO_ROOT), "rev-parse", "--short=12", "HEAD"],
                capture_output=True,
                text=True,
                timeout=2,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return "unknown"
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
    return "unknown"


def core_modules() -> dict[str, bool]:
    """Every module of ``grodtd.core`` and whether it runs compiled (a mypyc C extension)."""
    core = import_module("grodtd.core")
    names = ["grodtd.core", *(m.name for m in walk_packages(core.__path__, "grodtd.core."))]
    return {name: isinstance(import_module(name).__loader__, ExtensionFileLoader) for name in names}


def core_build() -> str:
    """``compiled`` when the trading core runs as the image's mypyc build, else ``interpreted``.

    The image compiles ``grodtd.core`` to C extensions (docker/Dockerfile); a checkout runs the
    same modules as Python source. Both behave the same, the compiled one is faster.
    """
    return "compiled" if all(core_modules().values()) else "interpreted"


def build_info(environment: str) -> BuildInfo:
    return BuildInfo(
        version=version(),
        revision=revision(),
        environment=environment,
        python=platform.python_version(),
    )
