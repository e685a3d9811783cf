"""The verdicts of scripts/security_scan.py: what each tool's exit status and JSON report say.

A PASS needs both a clean status and a report that proves the check ran; a tool that is
missing, or that could not reach its vulnerability database, is NOT RUN, which is never a
pass. Pure functions over what a tool returned (``Ran``), so
``tests/unit/test_security_scan.py`` proves them on the tools' recorded report formats.
Standard library only, like the scan.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PASS, FAIL, NOT_RUN = "PASS", "FAIL", "NOT RUN"
# Exit statuses of the scan: a FAIL beats a NOT RUN, which is never a pass.
EXIT_PASSED, EXIT_FAILED, EXIT_NOT_RUN = 0, 1, 3
# Trivy exits with this status when it found what --severity asks about; 1 means it failed.
TRIVY_FINDINGS_STATUS = 5


@dataclass(frozen=True)
class Verdict:
    check: str
    result: str
    detail: str


@dataclass(frozen=True)
class Ran:
    """What a tool did: its status, its report (if it wrote one) and what it printed."""

    status: int
    report: str
    output: str

    def parsed(self) -> Any:
        """The JSON report, or None when there is none: a crash is not a clean report."""
        try:
            return json.loads(self.report) if self.report.strip() else None
        except json.JSONDecodeError:
            return None

    def last_line(self) -> str:
        lines = [line.strip() for line in self.output.splitlines() if line.strip()]
        return lines[-1][:160] if lines else "no output"


# -- verdicts: pure functions of what the tools reported --------------------------------------


def hadolint_verdict(ran: Ran) -> Verdict:
    findings = ran.parsed()
    if not isinstance(findings, list):
        return Verdict("hadolint", FAIL, f"no report from hadolint (exit {ran.status})")
    if ran.status == 0 and not findings:
        return Verdict("hadolint", PASS, "docker/Dockerfile: no finding")
    return Verdict("hadolint", FAIL, f"{len(findings)} finding(s) in docker/Dockerfile")


def structure_verdict(ran: Ran, image: str) -> Verdict:
    name = "container-structure-test"
    report = ran.parsed()
    if not isinstance(report, dict) or "Pass" not in report:
        return Verdict(name, FAIL, f"no report from the tests (exit {ran.status})")
    passed, failed = int(report.get("Pass", 0)), int(report.get("Fail", 0))
    if ran.status == 0 and failed == 0 and passed > 0:
        return Verdict(name, PASS, f"Passes: {passed} on {image}")
    return Verdict(name, FAIL, f"Failures: {failed} of {report.get('Total', '?')} on {image}")


def checkov_verdicts(ran: Ran, compose_files: int) -> list[Verdict]:
    data = ran.parsed()
    if data is None:
        reason = f"checkov wrote no JSON report (exit {ran.status})"
        return [
            Verdict("checkov-dockerfile", FAIL, reason),
            Verdict("checkov-compose", FAIL, reason),
        ]
    reports = [r for r in (data if isinstance(data, list) else [data]) if isinstance(r, dict)]
    verdicts = [_checkov_dockerfile([r for r in reports if r.get("check_type") == "dockerfile"])]
    # checkov has no Compose framework: the YAML parses into zero resources. Say so.
    other = [r for r in reports if r.get("check_type") not in (None, "dockerfile")]
    evaluated = sum(_summary(r, "passed") + _summary(r, "failed") for r in other)
    if compose_files == 0:
        verdicts.append(Verdict("checkov-compose", NOT_RUN, "no Compose file under docker/"))
    elif evaluated == 0:
        verdicts.append(
            Verdict(
                "checkov-compose",
                NOT_RUN,
                f"checkov has no checks for Compose: 0 checks evaluated on {compose_files} file(s)",
            )
        )
    else:
        failed = sum(_summary(r, "failed") for r in other)
        result = PASS if failed == 0 else FAIL
        verdicts.append(Verdict("checkov-compose", result, f"{evaluated} checks, {failed} failed"))
    return verdicts


def _checkov_dockerfile(reports: list[dict[str, Any]]) -> Verdict:
    if not reports:
        return Verdict("checkov-dockerfile", FAIL, "checkov produced no Dockerfile report")
    report = reports[0]
    passed, failed = _summary(report, "passed"), _summary(report, "failed")
    ids = [c.get("check_id", "?") for c in report.get("results", {}).get("failed_checks", [])]
    result = PASS if failed == 0 and passed > 0 else FAIL
    listed = f" ({' '.join(ids)})" if ids else ""
    return Verdict(
        "checkov-dockerfile",
        result,
        f"passed {passed}, failed {failed}{listed}, skipped {_summary(report, 'skipped')} "
        "(justified in the Dockerfile)",
    )


def _summary(report: dict[str, Any], key: str) -> int:
    summary = report.get("summary")
    return int(summary.get(key, 0)) if isinstance(summary, dict) else 0


def sbom_verdict(sbom: Path, image: str) -> Verdict:
    try:
        components = json.loads(sbom.read_text()).get("components", [])
    except (OSError, ValueError, AttributeError):
        return Verdict("sbom", FAIL, f"{shown(sbom)} is missing or not CycloneDX JSON")
    if not components:
        return Verdict("sbom", FAIL, f"{shown(sbom)} has no components")
    return Verdict("sbom", PASS, f"{shown(sbom)}: {len(components)} components from {image}")


def trivy_verdict(ran: Ran) -> Verdict:
    report = ran.parsed()
    if ran.status == TRIVY_FINDINGS_STATUS:
        found = _trivy_findings(report)
        counted = f"{found} " if found else ""
        return Verdict("trivy", FAIL, f"{counted}HIGH/CRITICAL finding(s) (above)")
    if ran.status == 0 and isinstance(report, dict) and "Results" in report:
        return Verdict("trivy", PASS, "no HIGH/CRITICAL finding")
    # Anything else is Trivy failing to scan (most often: no vulnerability database).
    return Verdict(
        "trivy",
        NOT_RUN,
        f"trivy could not scan (exit {ran.status}: {ran.last_line()}); image NOT AUDITED",
    )


def _trivy_findings(report: Any) -> int:
    if not isinstance(report, dict):
        return 0
    results = report.get("Results") or []
    return sum(len(r.get("Vulnerabilities") or []) for r in results if isinstance(r, dict))


def pip_audit_verdict(ran: Ran, packages: int) -> Verdict:
    report = ran.parsed()
    if not isinstance(report, dict) or not isinstance(report.get("dependencies"), list):
        return Verdict(
            "pip-audit",
            NOT_RUN,
            f"pip-audit could not audit (exit {ran.status}: {ran.last_line()}); Python "
            "dependencies NOT AUDITED",
        )
    dependencies = [d for d in report["dependencies"] if isinstance(d, dict)]
    vulnerable = {d.get("name", "?"): len(d.get("vulns") or []) for d in dependencies}
    vulnerable = {name: n for name, n in vulnerable.items() if n}
    if vulnerable:
        listed = ", ".join(f"{name} ({n})" for name, n in sorted(vulnerable.items()))
        return Verdict("pip-audit", FAIL, f"known vulnerabilities: {listed}")
    skipped = sorted(d.get("name", "?") for d in dependencies if d.get("skip_reason"))
    if skipped:
        return Verdict(
            "pip-audit",
            NOT_RUN,
            f"{len(skipped)} package(s) not audited ({', '.join(skipped[:5])}); Python "
            "dependencies NOT fully AUDITED",
        )
    if ran.status != 0:
        return Verdict("pip-audit", NOT_RUN, f"pip-audit exited {ran.status} without a finding")
    return Verdict("pip-audit", PASS, f"no known vulnerability in {packages} packages")


@dataclass(frozen=True)
class Outcome:
    table: str
    status: int
    message: str

    @property
    def clean(self) -> bool:
        """Every check ran and passed: the only outcome said on standard output."""
        return self.status == EXIT_PASSED and self.message == ALL_PASSED


ALL_PASSED = "every check ran and passed"


def summary(verdicts: Sequence[Verdict], allow_missing: bool) -> Outcome:
    """The table, the exit status and the closing line: earned passes only."""
    rows = [f"{'CHECK':<26} {'RESULT':<8} DETAIL", f"{'-' * 26} {'-' * 8} ------"]
    rows += [f"{v.check:<26} {v.result:<8} {v.detail}" for v in verdicts]
    table = "\n".join(rows)
    failed = sum(v.result == FAIL for v in verdicts)
    missing = sum(v.result == NOT_RUN for v in verdicts)
    if failed:
        return Outcome(table, EXIT_FAILED, f"{failed} check(s) FAILED")
    if missing and allow_missing:
        allowed = f"{missing} check(s) NOT RUN (allowed by --allow-missing; not audited)"
        return Outcome(table, EXIT_PASSED, allowed)
    if missing:
        refused = f"{missing} check(s) NOT RUN: not a pass (use --allow-missing to accept)"
        return Outcome(table, EXIT_NOT_RUN, refused)
    return Outcome(table, EXIT_PASSED, ALL_PASSED)


def shown(path: Path) -> str:
    """A path as the operator reads it: relative to the repository when inside it."""
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)
