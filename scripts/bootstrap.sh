#!/usr/bin/env bash
# Make .venv match uv.lock, using any Python 3.12+ on this machine; or, with --uv, print the
# uv command that every other script uses.
#
#   scripts/bootstrap.sh [UV SYNC OPTIONS]   e.g. --no-dev --inexact (make run), --all-groups
#   scripts/bootstrap.sh --uv                print the uv command (found or installed) and exit
#
# uv is looked for on PATH, then as a module of the chosen Python, then in build/uv/ (where
# this script installs it when there is none: a private venv, pinned to the Dockerfile's
# UV_VERSION, so nothing is written to the user's or the system's site-packages and a machine
# with an externally managed Python works too). Scripts that need uv (build-wheelhouse.sh)
# ask `scripts/bootstrap.sh --uv`, so a machine with no uv on PATH needs nothing by hand.
#
# uv finds interpreters on PATH, but pyenv's shims only answer for the pyenv-selected version,
# so a machine whose default python3 is older needs the interpreter named: this script looks
# on PATH first, then in pyenv's versions. GRODT_PYTHON=/path/to/python3.12 overrides.
set -euo pipefail
cd "$(dirname "$0")/.."

find_python() {
    local candidate
    for candidate in "${GRODT_PYTHON:-}" python3.13 python3.12 python3 \
        "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[2-9]*/bin/python3; do
        [ -n "$candidate" ] || continue
        if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then
            command -v "$candidate" 2>/dev/null || echo "$candidate"
            return 0
        fi
    done
    return 1
}

private_uv=build/uv/bin/uv

find_uv() {
    if command -v uv >/dev/null 2>&1; then command -v uv; return 0; fi
    if "$PYTHON" -m uv --version >/dev/null 2>&1; then echo "$PYTHON -m uv"; return 0; fi
    if [ -x "$private_uv" ] && "$private_uv" --version >/dev/null 2>&1; then
        echo "$PWD/$private_uv"; return 0
    fi
    return 1
}

install_uv() {
    local pin
    pin=$(sed -nE 's/^ARG UV_VERSION=([0-9][0-9.]*).*/\1/p' docker/Dockerfile | head -n 1)
    echo "bootstrap: no uv found; installing uv${pin:+ $pin} into build/uv/ with $PYTHON" >&2
    rm -rf build/uv
    "$PYTHON" -m venv build/uv >&2 || {
        echo "bootstrap: $PYTHON cannot create a venv (Debian: apt-get install python3-venv)" >&2
        exit 1
    }
    build/uv/bin/python -m pip install --quiet --disable-pip-version-check "uv${pin:+==$pin}" >&2 || {
        echo "bootstrap: pip could not install uv; install it yourself (https://docs.astral.sh/uv/)" >&2
        exit 1
    }
    echo "$PWD/$private_uv"
}

PYTHON=$(find_python) || {
    echo "bootstrap: no Python 3.12 or newer found; install one or set GRODT_PYTHON=/path/to/python3.12" >&2
    exit 1
}
UV=$(find_uv) || UV=$(install_uv)

if [ "${1:-}" = "--uv" ]; then
    echo "$UV"
    exit 0
fi
export UV_PYTHON_DOWNLOADS=never
# shellcheck disable=SC2086  # "$PYTHON -m uv" is two words on purpose.
$UV sync --frozen --python "$PYTHON" "$@" >&2
# The chart library is a front-end dependency (npm, pinned); a machine without npm still runs,
# with a dashboard that says its charts are missing.
scripts/fetch-web-assets.sh || echo "bootstrap: WARNING: no chart library; the dashboard and reports draw no charts" >&2
