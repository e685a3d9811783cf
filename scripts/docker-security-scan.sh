#!/usr/bin/env bash
# Security checks of the GRODT image and its build files, with an honest summary:
#   hadolint                  docker/Dockerfile, no finding at any level
#   container-structure-test  tests/integration/test_docker/structure.yaml against the image
#   checkov                   docker/Dockerfile and the Compose files under docker/
#   sbom                      CycloneDX SBOM of the image's Python environment -> build/sbom.cdx.json
#   trivy, pip-audit          only where installed AND their vulnerability database answers
# A check that could not run is NOT RUN, never PASS, and makes the script exit non-zero (3)
# unless --allow-missing is given. A FAIL always makes it exit non-zero (1).
#
# Usage: scripts/docker-security-scan.sh [--image IMAGE] [--allow-missing]
# (build the image first: scripts/docker-build.sh)
#
# The checks and their verdicts are scripts/security_scan.py (standard library only): each
# verdict comes from the tool's exit status and its own JSON report, never from its error text.
set -euo pipefail
cd "$(dirname "$0")/.."

python=.venv/bin/python
if [ ! -x "$python" ]; then
    python=$(command -v python3 || true)
    [ -n "$python" ] || { echo "docker-security-scan: no Python 3 (run scripts/bootstrap.sh)" >&2; exit 2; }
fi
exec "$python" scripts/security_scan.py "$@"
