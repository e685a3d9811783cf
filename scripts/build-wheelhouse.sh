#!/usr/bin/env bash
# Download the locked runtime dependencies as wheels into wheelhouse/, so that `docker build`
# installs them with `pip --no-index` and never reaches PyPI (docs/registry-less-build.md).
#
# The wheels must fit the BASE image's Python, not the host's: the target interpreter version,
# machine and glibc are asked from the base image itself, then pip downloads wheels for exactly
# those tags. The host's pip does the downloading, so it goes through the host's network and CA.
#
# Contents written:
#   requirements.txt        `uv export` of uv.lock (runtime group only, with hashes)
#   build-requirements.txt  hatchling, mypy and setuptools, pinned from docker/Dockerfile: they
#                           build the project wheel and compile its core
#   uv.lock.sha256          which lock the wheels belong to; the Dockerfile refuses a stale set
#   *.whl                   the wheels
#
# Usage: scripts/build-wheelhouse.sh [--base IMAGE] [--force] [--dir DIR]
# Idempotent: reuses the wheelhouse when the lock, the target tags and build tools are unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."

base="grodt-base:trixie"
dir="wheelhouse"
force=0
while [ $# -gt 0 ]; do
    case "$1" in
        --base) base="$2"; shift ;;
        --dir) dir="$2"; shift ;;
        --force) force=1 ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "build-wheelhouse: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

docker=${DOCKER:-docker}
[ -x /usr/bin/docker ] && [ -z "${DOCKER:-}" ] && docker=/usr/bin/docker

# The build tools' pins, read from the Dockerfile's ARGs so that they are written in one place.
build_tools=""
for tool in HATCHLING MYPY SETUPTOOLS; do
    pin=$(sed -nE "s/^ARG ${tool}_VERSION=([0-9][0-9.]*).*/\\1/p" docker/Dockerfile | head -n 1)
    [ -n "$pin" ] || { echo "build-wheelhouse: ARG ${tool}_VERSION not found in docker/Dockerfile" >&2; exit 1; }
    build_tools="$build_tools $(echo "$tool" | tr '[:upper:]' '[:lower:]')==$pin"
done
build_tools=${build_tools# }

# Target interpreter: "313 x86_64 2.41" for Debian trixie. --network none: the probe needs nothing.
read -r pyver machine glibc < <("$docker" run --rm --network none --entrypoint python3 "$base" -c \
    'import platform, sys; print("%d%d" % sys.version_info[:2], platform.machine(), platform.libc_ver()[1])')
glibc_minor=${glibc#2.}
stamp="lock=$(cat uv.lock docker/not-in-image.txt | sha256sum | cut -d' ' -f1) extras=postgres target=cp$pyver-$machine-glibc$glibc tools=${build_tools// /,}"

if [ "$force" = 0 ] && [ -f "$dir/.stamp" ] && [ "$(cat "$dir/.stamp")" = "$stamp" ]; then
    echo "build-wheelhouse: $dir is up to date ($stamp)" >&2
    exit 0
fi

# Any pip will do for downloading (the target is given by flags); prefer one that has pip.
pip=""
for candidate in "${PIP_PYTHON:-}" python3.13 python3.12 python3 /root/.pyenv/versions/3.13.0/bin/python; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null && "$candidate" -m pip --version >/dev/null 2>&1; then
        pip="$candidate -m pip"; break
    fi
done
[ -n "$pip" ] || { echo "build-wheelhouse: no Python with pip found on the host; set PIP_PYTHON" >&2; exit 2; }
# uv exports uv.lock; bootstrap.sh finds it or installs it (no uv on PATH is fine).
uv=$(scripts/bootstrap.sh --uv)

# Every manylinux tag the base's glibc accepts, newest first, plus the legacy aliases.
platforms=()
for ((minor = glibc_minor; minor >= 17; minor--)); do platforms+=(--platform "manylinux_2_${minor}_${machine}"); done
platforms+=(--platform "manylinux2014_${machine}" --platform "linux_${machine}")
target=(--only-binary=:all: --implementation cp --python-version "$pyver"
        --abi "cp$pyver" --abi abi3 --abi none "${platforms[@]}")

tmp=$(mktemp -d "${dir%/}.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# shellcheck disable=SC2086  # "python -m uv" is two words on purpose.
excluded=()
while read -r package; do
    case "$package" in ''|'#'*) ;; *) excluded+=(--no-emit-package "$package") ;; esac
done <docker/not-in-image.txt
# --extra postgres: the one image runs on SQLite or on a PostgreSQL server (a fleet's store).
$uv export --frozen --no-dev --extra postgres --no-emit-project "${excluded[@]}" --format requirements-txt \
    --quiet -o "$tmp/requirements.txt"
tr ' ' '\n' <<<"$build_tools" >"$tmp/build-requirements.txt"
echo "build-wheelhouse: downloading wheels for cp$pyver $machine glibc $glibc" >&2
# --no-deps: the export is the complete, hashed closure; pip verifies every wheel's hash.
$pip download --quiet --disable-pip-version-check --no-deps --require-hashes "${target[@]}" \
    -r "$tmp/requirements.txt" -d "$tmp"
$pip download --quiet --disable-pip-version-check "${target[@]}" \
    -r "$tmp/build-requirements.txt" -d "$tmp"
sha256sum uv.lock | sed 's#  .*#  uv.lock#' >"$tmp/uv.lock.sha256"
echo "$stamp" >"$tmp/.stamp"
rm -rf "$dir"
mv "$tmp" "$dir"
chmod 755 "$dir"
trap - EXIT
echo "build-wheelhouse: $(ls "$dir"/*.whl | wc -l) wheels in $dir" >&2
