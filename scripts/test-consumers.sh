#!/usr/bin/env bash
# Runs the consumer projects of test-consumers/ against a packed tarball, each in a copy OUTSIDE
# this repository (so nothing resolves from the repository's own node_modules: the vitest-strict
# project must compile without the optional peers):
#   jest-esm       tsc --noEmit (with the peer: EventsClient keeps ClientProxy's types), then Jest in
#                  ESM mode (node --experimental-vm-modules, ts-jest), a Redis app first
#   vitest-strict  tsc --noEmit with skipLibCheck: false, then Vitest; no @nestjs/microservices, no pg
# and scripts/check-tarball.mjs (LICENSE, source maps, package.json links).
# Each writes its counts as Jest-shaped JSON into <report-dir> for .ci/run's final line.
#
#   scripts/test-consumers.sh <tarball> <report-dir>
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tarball="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
reports="$2"
mkdir -p "$reports"
work="$(mktemp -d "${TMPDIR:-/tmp}/nestjs-events-consumers-XXXXXX")"
trap 'rm -rf "$work"' EXIT
status=0
# Each runner is bounded (timeout 600): a leaked handle must fail the step, not hang CI.

# A check that is not a test runner (a type check) counts as one test.
single() { # <name> <exit code>
  if [ "$2" -eq 0 ]; then echo '{"numPassedTests":1,"numFailedTests":0}' > "$reports/$1.json"
  else echo '{"numPassedTests":0,"numFailedTests":1}' > "$reports/$1.json"; status=1; fi
}

install() { # <consumer>: a dereferenced copy (test/support links to ../shared), its lock, the tarball
  cp -rL "$root/test-consumers/$1" "$work/$1" && cd "$work/$1" &&
    npm ci --no-audit --no-fund --loglevel=error &&
    npm install "$tarball" --no-save --no-audit --no-fund --loglevel=error
}

echo "-- tarball"
node "$root/scripts/check-tarball.mjs" "$tarball" "$reports/tarball.json" || status=1

echo "-- jest-esm"
if (install jest-esm); then
  (cd "$work/jest-esm" && npx tsc --noEmit -p tsconfig.json)
  single jest-esm-tsc $?
  (cd "$work/jest-esm" && timeout 600 npm test --silent -- --json --outputFile="$reports/jest-esm.json") || status=1
else
  single jest-esm-install 1
fi

echo "-- vitest-strict"
if (install vitest-strict); then
  (cd "$work/vitest-strict" && npx tsc --noEmit -p tsconfig.json)
  single vitest-strict-tsc $?
  (cd "$work/vitest-strict" && timeout 600 npx vitest run --reporter=default --reporter=json \
    --outputFile.json="$reports/vitest-strict.json") || status=1
else
  single vitest-strict-install 1
fi
# A runner that died before writing its report still counts as a failure.
for name in jest-esm vitest-strict; do
  [ -f "$reports/$name.json" ] || [ -f "$reports/$name-install.json" ] || single "$name" 1
done
exit $status
