#!/usr/bin/env bash
# The tools the Kubernetes manifest tests need (tests/integration/test_kubernetes_manifests.py):
#   * kubectl, whose built-in kustomize renders deploy/kubernetes/overlays/*: kept when one is
#     on PATH, else Debian's kubernetes-client (needs root, like the other ci-*.sh scripts);
#   * kubernetes-validate, which carries the Kubernetes JSON schemas inside its wheel, so
#     validation needs no network: pinned with hashes in deploy/kubernetes/tools/requirements.txt
#     and installed into a private venv, build/kube-tools/, never into the project's uv.lock.
# checkov is not installed here: the project's `scan` dependency group already locks it, and the
# tests run the one in .venv/.
#
#   scripts/ci-kube-tools.sh          install what is missing (.ci/run calls this)
#   scripts/ci-kube-tools.sh --lock   re-pin requirements.txt from requirements.in
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "ci-kube-tools: $*" >&2; }

# Any Python 3.12+, as bootstrap.sh looks for one: pyenv's shims answer only for the selected
# version, so its versions directory is searched too.
find_python() {
    local candidate
    for candidate in "${GRODT_PYTHON:-}" python3.13 python3.12 python3 \
        "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[2-9]*/bin/python3; do
        [ -n "$candidate" ] || continue
        if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then
            echo "$candidate"
            return 0
        fi
    done
    say "FAIL: no Python 3.12 or newer found; set GRODT_PYTHON=/path/to/python3.12"
    exit 1
}
tools=deploy/kubernetes/tools
venv=build/kube-tools
UV=$(scripts/bootstrap.sh --uv)
export UV_PYTHON_DOWNLOADS=never

if [ "${1:-}" = "--lock" ]; then
    # shellcheck disable=SC2086  # "$PYTHON -m uv" may be two words on purpose.
    $UV pip compile --quiet --generate-hashes --python-version 3.12 \
        --custom-compile-command "scripts/ci-kube-tools.sh --lock" \
        "$tools/requirements.in" -o "$tools/requirements.txt"
    exit 0
fi

if ! kubectl kustomize --help >/dev/null 2>&1; then
    [ "$(id -u)" = 0 ] || { say "FAIL: no kubectl with kustomize; as root: apt-get install kubernetes-client"; exit 1; }
    say "installing Debian's kubernetes-client (kubectl)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends kubernetes-client >/dev/null
fi
# The overlays use kustomize v5 (labels with includeTemplates); Debian bookworm's
# kubernetes-client is 1.20 (kustomize v2) and cannot render them.
version=$(kubectl version --client 2>/dev/null | tr '\n' ' ')
say "$version"
kustomize=$(echo "$version" | sed -nE 's/.*Kustomize Version: v([0-9]+).*/\1/p')
if [ "${kustomize:-0}" -lt 5 ]; then
    say "FAIL: kubectl's kustomize is older than v5: install kubectl 1.27 or newer"
    exit 1
fi

# A venv of its own: reinstalled only when the pins changed.
stamp=$venv/.requirements.sha256
want=$(sha256sum "$tools/requirements.txt" | cut -d' ' -f1)
if [ ! -x "$venv/bin/kubernetes-validate" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    say "installing kubernetes-validate into $venv"
    rm -rf "$venv"
    # shellcheck disable=SC2086
    $UV venv --quiet --python "$(find_python)" "$venv"
    # shellcheck disable=SC2086
    $UV pip install --quiet --python "$venv/bin/python" --require-hashes -r "$tools/requirements.txt"
    echo "$want" >"$stamp"
fi
say "$("$venv/bin/kubernetes-validate" --version 2>&1 | head -n 1)"
