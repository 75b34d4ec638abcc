#!/usr/bin/env bash
# Builds dist/prebid-uid2.js: Prebid.js (from npm, the version pinned in package-lock.json) with only the userId core and the
# uid2IdSystem module, bundled with esbuild as Prebid documents for using it as an npm dependency. Skips the build when the
# bundle is newer than its inputs; installs node_modules with `npm ci` when they are missing or older than the lock file.
# Called by tests/Uid2.E2E.Tests (PrebidTests) and usable on its own. Needs Node.js 20+ and npm.
set -euo pipefail
cd "$(dirname "$0")"

bundle=dist/prebid-uid2.js
if [ -f "$bundle" ] && [ -f node_modules/.package-lock.json ] \
   && [ "$bundle" -nt package-lock.json ] && [ "$bundle" -nt entry.js ] && [ "$bundle" -nt build.mjs ] \
   && [ "$bundle" -nt node_modules/.package-lock.json ]; then
  echo "prebid-test: $bundle is up to date"
  exit 0
fi
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
node build.mjs
