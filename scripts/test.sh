#!/usr/bin/env bash
# Runs every test of the project: the browser SDK's (Vitest, then its npm package installed into a fresh project), then
# all .NET tests (unit, property, integration against a real Kestrel, PostgreSQL, end-to-end in headless Chromium, and
# the .NET SDK's NuGet package installed into fresh net8.0 and net10.0 apps: PackageInstallTests).
#
# Needs: the .NET 10 SDK and Node.js 20+ with npm. PostgreSQL and Chromium come from Debian's packages: when they are
# missing and this runs as root, they are installed (apt-get). Set UID2_TEST_POSTGRES to use an existing PostgreSQL
# server instead of the throwaway one started here.
set -euo pipefail
cd "$(dirname "$0")/.."

# Every test must run in CI: the variables that skip tests are refused there (see the end of this script).
if [ "${CI:-}" = true ] && { [ -n "${UID2_SKIP_POSTGRES:-}" ] || [ -n "${UID2_SKIP_BROWSER:-}" ] || [ -n "${UID2_ALLOW_SKIPS:-}" ]; }; then
  echo "test.sh: UID2_SKIP_POSTGRES, UID2_SKIP_BROWSER and UID2_ALLOW_SKIPS are not allowed in CI" >&2
  exit 1
fi

need_packages=()
[ -x /usr/bin/chromium ] || [ "${UID2_SKIP_BROWSER:-}" = 1 ] || need_packages+=(chromium)
command -v curl >/dev/null 2>&1 || need_packages+=(curl)   # the README snippet test runs its curl commands
if [ -z "${UID2_TEST_POSTGRES:-}" ] && [ "${UID2_SKIP_POSTGRES:-}" != 1 ] \
   && ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  need_packages+=(postgresql)
fi
if [ ${#need_packages[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "test.sh: installing ${need_packages[*]}" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_packages[@]}" >/dev/null
  else
    echo "test.sh: please install ${need_packages[*]} (Debian: sudo apt-get install -y ${need_packages[*]})" >&2
    exit 1
  fi
fi

if [ -z "${UID2_TEST_POSTGRES:-}" ] && [ "${UID2_SKIP_POSTGRES:-}" != 1 ]; then
  eval "$(bash scripts/start-test-postgres.sh)"
  export UID2_TEST_POSTGRES
fi

# The browser SDK: unit tests, then its npm package installed into a fresh project (web/sdk/package-test/run.mjs).
(cd web/sdk && npm ci --no-audit --no-fund --loglevel=error && npm run build && npm test && node --test package-test/run.mjs)

# A skipped test is a test that did not run: the run fails on any skip, unless UID2_ALLOW_SKIPS=1 (a developer's choice,
# refused in CI, like the UID2_SKIP_* variables that cause skips).
log=$(mktemp)
trap 'rm -f "$log"' EXIT
dotnet test Uid2.slnx 2>&1 | tee "$log"
if grep -Eq 'Skipped: *[1-9]' "$log" && [ "${UID2_ALLOW_SKIPS:-}" != 1 ]; then
  echo "test.sh: some tests were skipped (see 'Skipped:' above); every test must run (UID2_ALLOW_SKIPS=1 to accept locally)" >&2
  exit 1
fi
