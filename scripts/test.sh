#!/usr/bin/env bash
# The whole test suite: static contracts first (cheap), then every pytest tier with coverage.
#
# Tiers that need a Docker engine, Chromium or Prometheus skip with a loud reason on a
# developer machine that lacks them; under CI=true they fail instead (.ci/run installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh --all-groups --all-extras  # extras: psycopg, for the PostgreSQL store tests
bin=.venv/bin

echo "== ruff"
$bin/ruff check grodtd tests bench
echo "== import contracts"
$bin/lint-imports
echo "== mypy --strict"
$bin/mypy grodtd
echo "== pytest"
$bin/python -m pytest --cov=grodtd --cov-report=term --cov-fail-under=85 --durations=15 "$@"
