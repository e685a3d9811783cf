#!/usr/bin/env bash
# Build the GRODT image with one command, with or without a container registry.
#
#   scripts/docker-build.sh                       # registry-less: Debian-built base + wheelhouse
#   scripts/docker-build.sh --base python:3.12-slim --no-wheelhouse   # with a registry and PyPI
#   ... --ca-bundle FILE     hand a CA bundle to the dependency step (TLS-inspecting proxies)
#   ... --interpreted-core   skip compiling grodtd/core with mypyc (that step installs a C
#                            compiler from the Debian mirror; without one, the core runs as
#                            Python: same results, about 2.4 times fewer bars per second)
#
# Reuse: the inputs (base image id, Dockerfile, .dockerignore, context files, build args except
# the creation time) are hashed; an image already labelled with that hash is reused instead of
# rebuilt. The image is tagged IMAGE (default grodt:local) and IMAGE-inputs-<hash>.
# Prints the image id on stdout (progress goes to stderr).
set -euo pipefail
cd "$(dirname "$0")/.."

base="grodt-base:trixie"
image="grodt:local"
wheelhouse=1
compile_core=1
force=0
ca_bundle=""
while [ $# -gt 0 ]; do
    case "$1" in
        --base) base="$2"; shift ;;
        --tag) image="$2"; shift ;;
        --no-wheelhouse) wheelhouse=0 ;;
        --force) force=1 ;;
        --ca-bundle) ca_bundle="$2"; shift ;;
        --interpreted-core) compile_core=0 ;;
        -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
        *) echo "docker-build: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

# Debian's client has BuildKit built in; a client without the buildx plugin cannot build.
docker=${DOCKER:-docker}
[ -z "${DOCKER:-}" ] && [ -x /usr/bin/docker ] && docker=/usr/bin/docker
export DOCKER="$docker" DOCKER_BUILDKIT=1
started=$(date +%s)

# One build at a time per checkout: concurrent runs (tests, docker-dev.sh) would otherwise race
# on wheelhouse/ and on the base image. The second run then finds everything reusable.
if command -v flock >/dev/null; then
    mkdir -p build
    exec 9>build/.docker-build.lock
    flock 9
fi

# The image serves the dashboard's chart library: without it the build stops here.
scripts/fetch-web-assets.sh

if [ "$base" = "grodt-base:trixie" ]; then
    scripts/build-base-image.sh --name "$base" >/dev/null
fi
if ! "$docker" image inspect "$base" >/dev/null 2>&1; then
    echo "docker-build: pulling $base" >&2
    "$docker" pull --quiet "$base" >&2 || true
fi
base_id=$("$docker" image inspect --format '{{.Id}}' "$base" 2>/dev/null) || {
    echo "docker-build: base image $base is not available and could not be pulled;" \
        "without a registry omit --base (a Debian-built base is made)" >&2; exit 2; }
extra=()
if [ "$wheelhouse" = 1 ]; then
    scripts/build-wheelhouse.sh --base "$base"
else
    extra+=(--build-arg USE_WHEELHOUSE=0)
fi
[ -z "$ca_bundle" ] || extra+=(--secret "id=ca_bundle,src=$ca_bundle")
extra+=(--build-arg "COMPILE_CORE=$compile_core")

version=$(sed -nE 's/^version = "([^"]+)"/\1/p' pyproject.toml | head -n 1)
revision=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
if [ "$revision" != unknown ] && [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
    revision="$revision-dirty"
fi
source_url=$(git remote get-url origin 2>/dev/null || echo unknown)

# The same files .dockerignore lets in (the Dockerfile copies nothing else).
inputs_hash=$(
    {
        echo "base=$base_id version=$version revision=$revision source=$source_url"
        echo "wheelhouse=$wheelhouse compile_core=$compile_core"
        sha256sum docker/Dockerfile .dockerignore docker/not-in-image.txt docker/prune_ccxt.py
        find pyproject.toml uv.lock README.md grodtd configs wheelhouse -type f \
            ! -path '*/__pycache__/*' ! -name '*.pyc' ! -name '.env*' ! -name '*.pem' \
            ! -name '*.key' ! -path '*/secrets/*' ! -name '.stamp' 2>/dev/null \
            | LC_ALL=C sort | xargs -d '\n' sha256sum
    } | sha256sum | cut -c1-16
)
hash_tag="${image}-inputs-${inputs_hash}"
[[ "$image" == *:* ]] || hash_tag="${image}:inputs-${inputs_hash}"

if [ "$force" = 0 ] && existing=$("$docker" image inspect --format '{{.Id}}' "$hash_tag" 2>/dev/null); then
    "$docker" tag "$existing" "$image"
    echo "docker-build: inputs unchanged ($inputs_hash), reusing $existing as $image" >&2
    echo "$existing"
    exit 0
fi

echo "docker-build: building $image from $base (inputs $inputs_hash)" >&2
"$docker" build --file docker/Dockerfile \
    --build-arg "BASE_IMAGE=$base" \
    --build-arg "VERSION=$version" \
    --build-arg "REVISION=$revision" \
    --build-arg "CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    --build-arg "SOURCE=$source_url" \
    --label "org.grodt.inputs-hash=$inputs_hash" \
    "${extra[@]}" \
    --tag "$image" --tag "$hash_tag" \
    . >&2
# Drop the hash tags of earlier builds of this image so they do not pile up (an image still
# used by a container or another tag stays).
"$docker" image ls --format '{{.Repository}}:{{.Tag}}' \
    | grep -F "${hash_tag%"$inputs_hash"}" | grep -vF "$hash_tag" \
    | xargs -r "$docker" image rm >/dev/null 2>&1 || true
echo "docker-build: built $image in $(( $(date +%s) - started )) s" >&2
"$docker" image inspect --format '{{.Id}}' "$image"
