"""Tiers that need an outside tool skip loudly on a developer machine and fail in CI.

CI (`CI=true`, set by .ci/run) installs every tool first, so a missing one there is a broken
pipeline, never a reason to pass quietly.
"""

from __future__ import annotations

import os
import shutil
from typing import NoReturn

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def unavailable(message: str) -> NoReturn:
    """Skip loudly on a developer machine; fail in CI, which must have provided it."""
    if in_ci():
        pytest.fail(f"CI must provide this: {message}", pytrace=False)
    pytest.skip(f"SKIPPED LOUDLY: {message}")


def require_tool(name: str, install_hint: str) -> str:
    path = shutil.which(name)
    if path is None:
        unavailable(f"{name} is not installed: {install_hint}")
    return path
