"""The security scan's verdicts: a PASS only when the tool's own status and report earn it.

The reports are the tools' JSON formats (recorded from hadolint 2.15, container-structure-test
1.19, checkov 3.3, Trivy's and pip-audit's documented schemas); Trivy and pip-audit are not
installed on the development machine, so their verdicts are proved here on those formats.
The real run of the script is tests/integration/test_docker/test_static_tools.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from scripts.security_verdicts import (
    EXIT_FAILED,
    EXIT_NOT_RUN,
    EXIT_PASSED,
    FAIL,
    NOT_RUN,
    PASS,
    TRIVY_FINDINGS_STATUS,
    Ran,
    Verdict,
    checkov_verdicts,
    hadolint_verdict,
    pip_audit_verdict,
    sbom_verdict,
    structure_verdict,
    summary,
    trivy_verdict,
)


def ran(status: int, report: Any = None, output: str = "") -> Ran:
    text = report if isinstance(report, str) else ("" if report is None else json.dumps(report))
    return Ran(status, text, output)


def test_hadolint_passes_only_on_an_empty_report_and_status_0() -> None:
    assert hadolint_verdict(ran(0, [])).result == PASS
    finding = {"code": "DL3008", "level": "warning", "line": 4, "message": "pin versions"}
    assert hadolint_verdict(ran(1, [finding])).result == FAIL
    assert hadolint_verdict(ran(0, [finding])).result == FAIL
    crashed = hadolint_verdict(ran(1, "", "hadolint: openFile: does not exist"))
    assert crashed.result == FAIL and "no report" in crashed.detail


def test_structure_tests_need_passes_and_no_failure() -> None:
    report = {"Pass": 14, "Fail": 0, "Total": 14, "Results": []}
    assert structure_verdict(ran(0, report), "img").detail == "Passes: 14 on img"
    assert structure_verdict(ran(1, {**report, "Pass": 13, "Fail": 1}), "img").result == FAIL
    assert structure_verdict(ran(0, {**report, "Pass": 0, "Total": 0}), "img").result == FAIL
    assert structure_verdict(ran(1, "", "cannot pull img"), "img").result == FAIL


def checkov_report(passed: int, failed: int, check_type: str = "dockerfile") -> dict[str, Any]:
    return {
        "check_type": check_type,
        "results": {"failed_checks": [{"check_id": f"CKV_DOCKER_{i}"} for i in range(failed)]},
        "summary": {"passed": passed, "failed": failed, "skipped": 1, "parsing_errors": 0},
    }


def by_check(verdicts: list[Verdict]) -> dict[str, Verdict]:
    return {v.check: v for v in verdicts}


def test_checkov_dockerfile_and_the_compose_files_it_cannot_check() -> None:
    # What checkov 3.3 answers for the Dockerfile plus five Compose files: one report.
    found = by_check(checkov_verdicts(ran(0, checkov_report(168, 0)), compose_files=5))
    assert found["checkov-dockerfile"].result == PASS
    assert found["checkov-compose"].result == NOT_RUN
    assert "0 checks evaluated on 5 file(s)" in found["checkov-compose"].detail

    failing = by_check(checkov_verdicts(ran(1, [checkov_report(160, 2)]), compose_files=0))
    assert failing["checkov-dockerfile"].result == FAIL
    assert "CKV_DOCKER_0 CKV_DOCKER_1" in failing["checkov-dockerfile"].detail
    assert failing["checkov-compose"].result == NOT_RUN

    reports = [checkov_report(168, 0), checkov_report(7, 0, "yaml")]
    assert by_check(checkov_verdicts(ran(0, reports), 5))["checkov-compose"].result == PASS


@pytest.mark.parametrize(
    "report",
    ["", "Traceback (most recent call last):", {"passed": 0, "failed": 0}, [], {"check_type": "x"}],
)
def test_checkov_without_a_dockerfile_report_never_passes(report: Any) -> None:
    found = by_check(checkov_verdicts(ran(0, report), compose_files=5))
    assert found["checkov-dockerfile"].result == FAIL
    assert found["checkov-compose"].result != PASS


def test_the_sbom_needs_components(tmp_path: Path) -> None:
    sbom = tmp_path / "sbom.cdx.json"
    assert sbom_verdict(sbom, "img").result == FAIL
    sbom.write_text(json.dumps({"bomFormat": "CycloneDX", "components": []}))
    assert sbom_verdict(sbom, "img").result == FAIL
    sbom.write_text(json.dumps({"components": [{"name": "fastapi"}, {"name": "grodt"}]}))
    assert sbom_verdict(sbom, "img") == Verdict("sbom", PASS, f"{sbom}: 2 components from img")


def test_trivy_is_judged_by_its_exit_codes_and_report() -> None:
    clean = {"SchemaVersion": 2, "Results": [{"Target": "img (debian 13)", "Class": "os-pkgs"}]}
    assert trivy_verdict(ran(0, clean)).result == PASS
    vulnerable = {
        "Results": [
            {"Vulnerabilities": [{"VulnerabilityID": "CVE-1"}, {"VulnerabilityID": "CVE-2"}]}
        ]
    }
    found = trivy_verdict(ran(TRIVY_FINDINGS_STATUS, vulnerable))
    assert found.result == FAIL and found.detail.startswith("2 HIGH/CRITICAL")
    # No database, no network, a crash: Trivy exits 1 with no report. Not audited, not a pass.
    offline = trivy_verdict(
        ran(1, "", "FATAL init error: DB error: failed to download vulnerability DB")
    )
    assert offline.result == NOT_RUN and "NOT AUDITED" in offline.detail
    assert trivy_verdict(ran(0, "")).result == NOT_RUN, "status 0 without a report is not earned"


def test_pip_audit_is_judged_by_its_report() -> None:
    clean = {"dependencies": [{"name": "fastapi", "version": "0.115.0", "vulns": []}], "fixes": []}
    assert pip_audit_verdict(ran(0, clean), 1).result == PASS
    vuln = {"id": "PYSEC-1", "fix_versions": ["2.0"], "aliases": [], "description": "x"}
    vulnerable = {"dependencies": [{"name": "jinja2", "version": "1.0", "vulns": [vuln]}]}
    found = pip_audit_verdict(ran(1, vulnerable), 1)
    assert found.result == FAIL and "jinja2 (1)" in found.detail
    skipped = {
        "dependencies": [
            {"name": "fastapi", "version": "0.115.0", "vulns": []},
            {"name": "private-pkg", "skip_reason": "Dependency not found on PyPI"},
        ]
    }
    assert pip_audit_verdict(ran(0, skipped), 2).result == NOT_RUN
    offline = pip_audit_verdict(ran(1, "", "ConnectionError: pypi.org unreachable"), 30)
    assert offline.result == NOT_RUN and "unreachable" in offline.detail
    assert pip_audit_verdict(ran(1, clean), 1).result == NOT_RUN


def test_the_summary_never_passes_what_did_not_run() -> None:
    passed = Verdict("hadolint", PASS, "ok")
    missing = Verdict("trivy", NOT_RUN, "not installed")
    failed = Verdict("sbom", FAIL, "empty")

    assert summary([passed], allow_missing=False).status == EXIT_PASSED
    assert summary([passed], allow_missing=False).clean
    assert summary([passed, missing], allow_missing=False).status == EXIT_NOT_RUN
    allowed = summary([passed, missing], allow_missing=True)
    assert allowed.status == EXIT_PASSED and not allowed.clean
    assert "NOT RUN" in allowed.message
    assert summary([passed, missing, failed], allow_missing=True).status == EXIT_FAILED

    table = summary([passed, missing], allow_missing=False).table.splitlines()
    assert table[0].split() == ["CHECK", "RESULT", "DETAIL"]
    assert table[3].split()[:3] == ["trivy", "NOT", "RUN"]
