#!/usr/bin/env bash
# Build a Python base image from Debian packages, for machines that cannot pull from a container
# registry (see docs/registry-less-build.md). The result replaces python:3.12-slim as the
# Dockerfile's BASE_IMAGE: Debian trixie ships Python 3.13, which meets the project's 3.12+.
#
# The Debian mirror is read from this machine's apt sources, never written into a file: the same
# script then works behind whatever mirror or proxy the machine is configured for.
#
# Usage: scripts/build-base-image.sh [--force] [--name IMAGE] [--suite SUITE] [--mirror URL]
# Idempotent: does nothing when IMAGE already exists, unless --force.
set -euo pipefail

name="grodt-base:trixie"
suite="trixie"
mirror=""
force=0
while [ $# -gt 0 ]; do
    case "$1" in
        --force) force=1 ;;
        --name) name="$2"; shift ;;
        --suite) suite="$2"; shift ;;
        --mirror) mirror="$2"; shift ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
        *) echo "build-base-image: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

docker=${DOCKER:-docker}
if [ "$force" = 0 ] && "$docker" image inspect "$name" >/dev/null 2>&1; then
    echo "build-base-image: $name exists, reusing it (--force rebuilds)" >&2
    exit 0
fi

# The first Debian archive (not the security archive) in the apt sources, in deb822 files or
# one-line format. GRODT_DEBIAN_MIRROR overrides for machines without apt sources.
find_mirror() {
    local files=() f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [ -r "$f" ] && files+=("$f")
    done
    [ ${#files[@]} -gt 0 ] || return 0
    { grep -hE '^\s*URIs:' "${files[@]}" | sed -E 's/^\s*URIs:\s*//' | tr ' ' '\n' || true
      grep -hE '^\s*deb\s' "${files[@]}" | sed -E 's/^\s*deb\s+(\[[^]]*\]\s+)?//' | awk '{print $1}' || true
    } | grep -E '^https?://' | grep -E '/debian/?$' | head -n 1 || true
}
[ -n "$mirror" ] || mirror="${GRODT_DEBIAN_MIRROR:-$(find_mirror)}"
if [ -z "$mirror" ]; then
    echo "build-base-image: no Debian mirror found in /etc/apt/sources.list*; pass --mirror URL" >&2
    exit 2
fi
if [ "$(id -u)" != 0 ]; then
    echo "build-base-image: debootstrap needs root; run as root (or with sudo)" >&2
    exit 2
fi
command -v debootstrap >/dev/null || {
    echo "build-base-image: debootstrap is missing; apt-get install -y debootstrap" >&2; exit 2; }

work=$(mktemp -d /tmp/grodt-base.XXXXXX)
rootfs="$work/rootfs"
cleanup() {
    # debootstrap mounts /proc and /sys inside the rootfs; never delete through a live mount.
    awk -v r="$rootfs" 'index($2, r) == 1 {print $2}' /proc/mounts | sort -r | while read -r m; do
        umount -l "$m" || true
    done
    rm -rf "$work"
}
trap cleanup EXIT
echo "build-base-image: debootstrap $suite from the machine's mirror into $rootfs" >&2
# tini is PID 1 in the image (signal forwarding, zombie reaping); the rest is Python itself.
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates,tini \
    "$suite" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
    tail -n 30 "$work/debootstrap.log" >&2
    echo "build-base-image: debootstrap failed (log above)" >&2
    exit 1
}

# Trim what a runtime never needs: package caches and lists, docs, man pages, locales.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
    "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
    "$rootfs"/var/log/*.log "$rootfs"/var/cache/debconf/*-old
find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name 'locale.alias' -exec rm -rf {} + 2>/dev/null || true
# Apt inside the image should use the same mirror the host uses; debootstrap wrote it already.

python_version=$(chroot "$rootfs" python3 -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')
tar --numeric-owner --exclude='./proc/*' --exclude='./sys/*' --exclude='./dev/*' -C "$rootfs" -c . | "$docker" import \
    --change 'ENV LANG=C.UTF-8' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["python3"]' \
    --message "Debian $suite minbase with Python $python_version (scripts/build-base-image.sh)" \
    - "$name" >/dev/null
echo "build-base-image: built $name (Debian $suite, Python $python_version)" >&2
"$docker" image inspect --format '{{.Id}}' "$name"
