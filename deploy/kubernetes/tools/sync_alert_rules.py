"""Write base/shared/prometheusrule.yaml from docker/prometheus/alerts.yml, the one source of the
alert rules, so that Compose's Prometheus and the Prometheus Operator never alert differently.

    python deploy/kubernetes/tools/sync_alert_rules.py          rewrite the PrometheusRule
    python deploy/kubernetes/tools/sync_alert_rules.py --check  exit 1 when it is out of date

tests/integration/test_kubernetes_manifests.py also compares the rendered rules with the file.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[3]
SOURCE = ROOT / "docker" / "prometheus" / "alerts.yml"
TARGET = ROOT / "deploy" / "kubernetes" / "base" / "shared" / "prometheusrule.yaml"
HEADER = (
    "# GENERATED from docker/prometheus/alerts.yml by\n"
    "# deploy/kubernetes/tools/sync_alert_rules.py:\n"
    "# edit that file (and alerts.test.yml), then run the script. Do not edit this one.\n"
)


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (rule expressions) as literal blocks, readable in a diff."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def render() -> str:
    rules = yaml.safe_load(SOURCE.read_text(encoding="utf-8"))
    document: dict[str, Any] = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "grodt", "labels": {"app.kubernetes.io/name": "grodt"}},
        "spec": {"groups": rules["groups"]},
    }
    body = yaml.dump(document, Dumper=_Dumper, sort_keys=False, width=100, allow_unicode=True)
    return HEADER + body


def main(argv: list[str]) -> int:
    text = render()
    if argv[1:] == ["--check"]:
        if TARGET.read_text(encoding="utf-8") != text:
            print(
                f"{TARGET.relative_to(ROOT)} is out of date with {SOURCE.relative_to(ROOT)}: "
                "run python deploy/kubernetes/tools/sync_alert_rules.py",
                file=sys.stderr,
            )
            return 1
        return 0
    if argv[1:]:
        print("usage: sync_alert_rules.py [--check]", file=sys.stderr)
        return 2
    TARGET.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
