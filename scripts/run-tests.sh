#!/bin/bash
# run-tests.sh [GROUP...] - run the compiled tests (dist/test/**/*.test.js)
# with node's test runner, in ONE invocation so the last lines printed are a
# node:test summary covering every file (CI reads them).
#
# GROUPs are directories under test/: default unit, golden, e2e (in that
# order: fast failures first), then any other test directory. Build first
# (`make compile`); a compiled test whose test/**/*.test.ts source is gone is
# skipped, so a stale dist/ cannot resurrect deleted tests.
#
# Concurrency is 1, on purpose: e2e files must never overlap (they start
# servers, run snapd's CPU-heavy clients with per-call timeouts, and the
# daemon scenario uses unshare mounts and loop devices), and node:test's
# --test-concurrency is per invocation, not per group. Splitting into two
# invocations would lose the single final summary. The price is small: Node's
# default is availableParallelism()-1, i.e. already 1 on a 2-core CI box, and
# unit/golden files cost ~0.1 s each to start against tens of seconds of e2e.
#
# Env: SNAPSHELF_TEST_TIMEOUT_MS (per test, default 600000), TEST_ONLY (a
# grep -E regex over file paths), plus what the tests read themselves
# (REALCLIENT_DIR, REALCLIENT_MODERN_DIR, SNAPSHELF_TEST_VERBOSE=1, SNAPSHELF_KEEP_WORK=1).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

explicit=1
if [ $# -eq 0 ]; then
    explicit=0
    set -- unit golden e2e
fi

if [ ! -d dist/test ]; then
    echo "run-tests: no dist/test; run 'make compile' first" >&2
    exit 2
fi

files=()
declare -A seen=()
add() { # add FILE: only if its TypeScript source still exists
    local f="$1" src
    src="${f#dist/}"
    src="${src%.js}.ts"
    [ -f "$src" ] || { echo "run-tests: skipping stale $f (no $src)" >&2; return 0; }
    if [ -n "${TEST_ONLY:-}" ] && ! grep -qE -- "$TEST_ONLY" <<<"$f"; then return 0; fi
    [ -z "${seen[$f]:-}" ] || return 0
    seen[$f]=1
    files+=("$f")
}
for g in "$@"; do
    [ -d "dist/test/$g" ] || continue
    while IFS= read -r f; do add "$f"; done < <(find "dist/test/$g" -name '*.test.js' -type f | LC_ALL=C sort)
done
if [ $explicit = 0 ]; then # then everything else, so no test directory is forgotten
    while IFS= read -r f; do add "$f"; done < <(find dist/test -name '*.test.js' -type f | LC_ALL=C sort)
fi

if [ ${#files[@]} -eq 0 ]; then
    echo "run-tests: no test files for: $*" >&2
    [ $explicit = 1 ] && exit 0
    exit 1
fi

mkdir -p .test-work
echo "run-tests: ${#files[@]} file(s), REALCLIENT_DIR=${REALCLIENT_DIR:-/tmp/realclient} REALCLIENT_MODERN_DIR=${REALCLIENT_MODERN_DIR:-/tmp/realclient-modern}"
exec node --test \
    --test-concurrency=1 \
    --test-timeout="${SNAPSHELF_TEST_TIMEOUT_MS:-600000}" \
    --test-reporter=tap --test-reporter-destination=.test-work/test-results.tap \
    --test-reporter=spec --test-reporter-destination=stdout \
    "${files[@]}"
