#!/usr/bin/env bash
# Make .venv match uv.lock, using any Python 3.12+ on this machine.
#
# uv finds interpreters on PATH, but pyenv's shims only answer for the pyenv-selected
# version, so a machine whose default python3 is older needs the interpreter named. This
# script looks for one (PATH first, then pyenv's versions) and installs uv if it is missing.
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

find_uv() {
    if command -v uv >/dev/null 2>&1; then echo uv; return 0; fi
    local py
    for py in python3 "$PYTHON"; do
        if "$py" -m uv --version >/dev/null 2>&1; then echo "$py -m uv"; return 0; fi
    done
    return 1
}

PYTHON=$(find_python) || {
    echo "bootstrap: no Python 3.12 or newer found; install one or set GRODT_PYTHON=/path/to/python3.12" >&2
    exit 1
}
UV=$(find_uv) || {
    echo "bootstrap: installing uv with $PYTHON -m pip" >&2
    "$PYTHON" -m pip install --quiet --user uv 2>/dev/null || "$PYTHON" -m pip install --quiet uv
    UV="$PYTHON -m uv"
}
export UV_PYTHON_DOWNLOADS=never
# shellcheck disable=SC2086
$UV sync --frozen --python "$PYTHON" "$@" >&2
