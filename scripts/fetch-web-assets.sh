#!/usr/bin/env bash
# Put the dashboard's and the backtest report's chart library into grodtd/web/static/vendor/.
#
#   scripts/fetch-web-assets.sh          fetch it unless the pinned file is already there
#   scripts/fetch-web-assets.sh --check  exit 1 (and say so) when it is missing or altered
#
# The library (TradingView Lightweight Charts, Apache-2.0) comes from the npm registry with the
# machine's own npm client, exactly as Python packages come from the package index with uv:
# pinned to one version and checked against the tarball's sha512, so a changed upload can
# never reach the image. The file is served by the daemon itself (no CDN, so the CSP stays
# 'self') and inlined into backtest reports (so they open without a network). It is not kept in
# git: it is someone else's code, fetched like any other dependency. bootstrap.sh and
# docker-build.sh call this script, so `make run`, the tests and the image all have it.
set -euo pipefail
cd "$(dirname "$0")/.."

package=lightweight-charts
version=5.2.1
integrity="sha512-IVwoK1RLFiLPubaKIjNbtjWLnpPMqiABSrTay6whmNa8L1+19292VtHJ+BWyPUuLCwF0tcQlhEWd1CLB2a1nsQ=="
file=lightweight-charts.standalone.production.js
# sha256 of $file inside that tarball: lets a run with the file in place skip npm entirely.
file_sha256=e21cc5caa0226ef30bd8549c50b9ef926615f2a4ee6b4e486353477a55f598cf
vendor=grodtd/web/static/vendor

present() {
    [ -f "$vendor/$file" ] && [ -f "$vendor/LICENSE.$package" ] &&
        echo "$file_sha256  $vendor/$file" | sha256sum -c --status 2>/dev/null
}

if [ "${1:-}" = "--check" ]; then
    present && exit 0
    echo "fetch-web-assets: $vendor/$file is missing or altered; run scripts/fetch-web-assets.sh" >&2
    exit 1
fi
present && exit 0

command -v npm >/dev/null || {
    echo "fetch-web-assets: npm is not on PATH; install Node.js and npm (Debian: apt-get install -y npm)," \
        "then run scripts/fetch-web-assets.sh: without $package the dashboard draws no charts" >&2
    exit 1
}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "fetch-web-assets: fetching $package@$version with npm" >&2
npm pack --silent --json --pack-destination "$work" "$package@$version" >"$work/pack.json" </dev/null
got=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["integrity"])' "$work/pack.json")
if [ "$got" != "$integrity" ]; then
    echo "fetch-web-assets: $package@$version has integrity $got, not the pinned $integrity; refusing it" >&2
    exit 1
fi
tar -xzf "$work/$package-$version.tgz" -C "$work" package/LICENSE "package/dist/$file"
echo "$file_sha256  $work/package/dist/$file" | sha256sum -c --status || {
    echo "fetch-web-assets: $file in $package@$version does not have the pinned sha256; refusing it" >&2
    exit 1
}
mkdir -p "$vendor"
cp "$work/package/dist/$file" "$vendor/$file"
cp "$work/package/LICENSE" "$vendor/LICENSE.$package"
echo "fetch-web-assets: $vendor/$file ($package $version, Apache-2.0)" >&2
