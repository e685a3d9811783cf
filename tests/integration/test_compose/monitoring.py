"""The queries the monitoring files make, read from the files themselves.

Both the file checks (tests/unit/test_monitoring_files.py) and the live stack test use this, so
"every dashboard panel and every alert rule" means the same list in both places: a panel added
to a dashboard is checked without touching a test.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[3]
DOCKER = REPO / "docker"
PROMETHEUS_DIR = DOCKER / "prometheus"
GRAFANA_DIR = DOCKER / "grafana"
DASHBOARD_DIR = GRAFANA_DIR / "dashboards"
DATASOURCE_UID = "grodt-prometheus"

# What Grafana substitutes before a query reaches Prometheus. The rate window must hold at
# least two scrapes (10 s interval); "All" symbols and "All" bots are the variables' allValue
# (".*" for bots, so a single Compose stack, whose series have no bot label, still matches).
GRAFANA_SUBSTITUTIONS = {
    "${bot}": ".*",
    "$bot": ".*",
    "$__rate_interval": "1m",
    "$__interval": "30s",
    "${symbol}": ".+",
    "$symbol": ".+",
}

# Series Prometheus writes itself for every target (not exposed by the daemon).
PROMETHEUS_SYNTHETIC = frozenset(
    {"up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_series_added", "ALERTS"}
)

_PROMQL_WORDS = frozenset(
    {
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "bool",
        "and",
        "or",
        "unless",
        "offset",
        "inf",
        "nan",
    }
)
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGE = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(
    r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)", re.IGNORECASE
)
_IDENT = re.compile(r"(?<![\w.])([a-zA-Z_:][\w:]*)\b(?!\s*\()")


@dataclass(frozen=True)
class Query:
    """One PromQL expression and where it came from (for a readable failure message)."""

    source: str
    expr: str

    @property
    def promql(self) -> str:
        """The expression as Prometheus receives it after Grafana's substitutions."""
        return substitute_grafana_variables(self.expr)


def substitute_grafana_variables(expr: str) -> str:
    for variable, value in GRAFANA_SUBSTITUTIONS.items():
        expr = expr.replace(variable, value)
    if "$" in expr:
        raise ValueError(f"unknown Grafana variable left in {expr!r}")
    return expr


def load_dashboards() -> dict[str, dict[str, Any]]:
    """File name -> parsed dashboard JSON, for every dashboard Grafana provisions."""
    return {p.name: json.loads(p.read_text()) for p in sorted(DASHBOARD_DIR.glob("*.json"))}


def iter_panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Top-level panels and the panels inside rows."""
    panels: list[dict[str, Any]] = []
    for panel in dashboard.get("panels", []):
        panels.append(panel)
        panels.extend(panel.get("panels", []))
    return panels


def dashboard_queries() -> list[Query]:
    queries = []
    for name, dashboard in load_dashboards().items():
        for panel in iter_panels(dashboard):
            for target in panel.get("targets", []):
                source = f"{name} / {panel.get('title')} / {target.get('refId')}"
                queries.append(Query(source, target["expr"]))
    return queries


def load_alert_rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text())
    return [rule for group in doc["groups"] for rule in group["rules"] if "alert" in rule]


def alert_queries() -> list[Query]:
    return [Query(f"alert {rule['alert']}", str(rule["expr"])) for rule in load_alert_rules()]


def metric_names(expr: str) -> set[str]:
    """Metric names an expression selects: identifiers that are not functions, keywords,
    label names inside matchers or grouping clauses, durations or strings."""
    text = _STRING.sub('""', substitute_grafana_variables(expr))
    text = _MATCHERS.sub("", text)
    text = _RANGE.sub("", text)
    text = _GROUPING.sub("", text)
    names = set()
    for match in _IDENT.finditer(text):
        word = match.group(1)
        if word.lower() in _PROMQL_WORDS or re.fullmatch(r"\d+[smhdwy]?", word):
            continue
        names.add(word)
    return names


def exposed_series_names(exposition: str) -> set[str]:
    """Sample names in a Prometheus text exposition (histogram suffixes included)."""
    names = set()
    for line in exposition.splitlines():
        if line and not line.startswith("#"):
            names.add(re.split(r"[{\s]", line, maxsplit=1)[0])
    return names
