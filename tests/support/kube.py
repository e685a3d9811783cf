"""Render the Kubernetes overlays with kubectl's own kustomize, and read the rendered objects.

kubectl comes from scripts/ci-kube-tools.sh; without one (or with a kustomize older than v5,
which the overlays need) the tests skip loudly here and fail in CI.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.support.tools import require_tool, unavailable

ROOT = Path(__file__).resolve().parents[2]
KUBE = ROOT / "deploy" / "kubernetes"
OVERLAYS = ("dev", "staging", "prod")
INSTALL = "run scripts/ci-kube-tools.sh (as root where kubectl is missing)"

Doc = dict[str, Any]


def kubectl() -> str:
    binary = require_tool("kubectl", INSTALL)
    out = subprocess.run([binary, "version", "--client"], capture_output=True, text=True).stdout
    found = re.search(r"Kustomize Version: v(\d+)", out)
    if found is None or int(found.group(1)) < 5:
        unavailable(
            f"kubectl's kustomize is older than v5 ({out.strip()!r}): install kubectl 1.27+"
        )
    return binary


def render(overlay: str) -> str:
    """`kubectl kustomize` of one overlay; a kustomize warning is a failure too."""
    done = subprocess.run(
        [kubectl(), "kustomize", str(KUBE / "overlays" / overlay)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "", f"kustomize warned: {done.stderr}"
    return done.stdout


def documents(text: str) -> list[Doc]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def of_kind(docs: list[Doc], kind: str) -> list[Doc]:
    return [doc for doc in docs if doc["kind"] == kind]


def bots(docs: list[Doc]) -> list[Doc]:
    found = of_kind(docs, "StatefulSet")
    assert found, "an overlay without a bot"
    return found


def container(bot: Doc) -> Doc:
    (only,) = bot["spec"]["template"]["spec"]["containers"]
    return only
