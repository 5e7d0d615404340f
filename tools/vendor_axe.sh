#!/usr/bin/env bash
# Fetches axe-core (the accessibility engine the browser tests inject into every console
# page) from the npm registry, pinned to a version and checked against the tarball's
# sha256, and keeps its one minified file and its licence in tests/browser_assets/.
# The files are committed, so the tests never go online; run this only to update axe
# (change the version and the checksum together, then commit the new files).
set -euo pipefail

DEST="$(cd "$(dirname "$0")/.." && pwd)/tests/browser_assets"
REGISTRY="${NPM_REGISTRY:-https://registry.npmjs.org}"
VERSION=4.14.1
SHA256=e6b0ce02b84d892e2e33e403485e7f3d6c29e2be6df65daf44d89ba564139745

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
curl --fail --silent --show-error --location \
    "$REGISTRY/axe-core/-/axe-core-$VERSION.tgz" -o "$work/axe.tgz"
echo "$SHA256  $work/axe.tgz" | sha256sum --check --quiet || {
    echo "vendor_axe: axe-core $VERSION does not match its pinned sha256" >&2
    exit 1
}
tar -xzf "$work/axe.tgz" -C "$work"
mkdir -p "$DEST"
cp "$work/package/axe.min.js" "$DEST/axe.min.js"
cp "$work/package/LICENSE" "$DEST/axe.LICENSE"
echo "$VERSION" >"$DEST/axe.VERSION"
echo "vendored axe-core $VERSION into $DEST"
