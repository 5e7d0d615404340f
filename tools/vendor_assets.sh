#!/usr/bin/env bash
# Fetches the console's vendored front-end libraries from the npm registry, each pinned
# to a version and checked against the tarball's sha256, and unpacks the one minified file
# (and its licence) the console serves into src/insiderwatch/web/console/static/vendor/.
# The files are committed, so the demo and CI never go online; run this only to update
# them (change the version and the checksum together, then commit the new files).
set -euo pipefail

DEST="$(cd "$(dirname "$0")/.." && pwd)/src/insiderwatch/web/console/static/vendor"
REGISTRY="${NPM_REGISTRY:-https://registry.npmjs.org}"

# name version sha256-of-tarball files-to-keep (paths inside the tarball, -> vendor name)
PACKAGES=(
  "htmx.org 2.0.11 165a2655073e9e6e55e307a7c74e8ebcdb76afb7701f9c16cfd106a13add408e dist/htmx.min.js:htmx.min.js LICENSE:htmx.LICENSE"
  "uplot 1.6.32 4b8a8191e425658e3ea8c8c1314b0fc679c861ee3a1af2b20c7b16ba50b5133d dist/uPlot.iife.min.js:uPlot.iife.min.js dist/uPlot.min.css:uPlot.min.css LICENSE:uPlot.LICENSE"
)

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$DEST"

for spec in "${PACKAGES[@]}"; do
  read -r name version sum files <<<"$spec"
  tarball="$work/$name-$version.tgz"
  curl --fail --silent --show-error --location \
    "$REGISTRY/$name/-/${name##*/}-$version.tgz" -o "$tarball"
  echo "$sum  $tarball" | sha256sum --check --quiet || {
    echo "vendor_assets: $name $version does not match its pinned sha256" >&2
    exit 1
  }
  tar -xzf "$tarball" -C "$work"
  for pair in $files; do
    cp "$work/package/${pair%%:*}" "$DEST/${pair##*:}"
  done
  rm -rf "$work/package"
  echo "vendored $name $version"
done
