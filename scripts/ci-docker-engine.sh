#!/usr/bin/env bash
# Make sure a Docker engine answers, for CI (.ci/run) on a fresh machine, as root:
# install Debian's docker.io when dockerd is missing, start dockerd in the background when
# `docker info` fails, wait up to 60 s, and fail loudly when the engine does not come up.
# The container tests must fail, never skip, when this cannot be done.
set -euo pipefail

docker=docker
[ -x /usr/bin/docker ] && docker=/usr/bin/docker
log=${DOCKERD_LOG:-/tmp/dockerd.log}

if "$docker" info >/dev/null 2>&1; then
    echo "ci-docker-engine: engine already answers ($("$docker" version --format '{{.Server.Version}}'))"
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "ci-docker-engine: FAIL: no Docker engine answers and this is not root; cannot start one" >&2
    exit 1
fi
if ! command -v dockerd >/dev/null; then
    echo "ci-docker-engine: installing docker.io"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends docker.io >/dev/null
fi
[ -x /usr/bin/docker ] && docker=/usr/bin/docker

echo "ci-docker-engine: starting dockerd (log: $log)"
nohup dockerd >"$log" 2>&1 &
for _ in $(seq 1 60); do
    if "$docker" info >/dev/null 2>&1; then
        echo "ci-docker-engine: engine up ($("$docker" version --format '{{.Server.Version}}'))"
        exit 0
    fi
    sleep 1
done
echo "ci-docker-engine: FAIL: dockerd did not answer within 60 s; last lines of $log:" >&2
tail -n 40 "$log" >&2 || true
exit 1
