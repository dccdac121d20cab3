#!/usr/bin/env bash
# Builds migcheck and its tests with ThreadSanitizer into build-tsan/ and
# runs the end-to-end tests of the threaded engines (compare, repair,
# replicate and its copier) against real servers. The migcheck processes the
# tests start are TSan builds too; their reports go to build-tsan/tsan/ and
# any data race fails the script, as does a failing test.
#   scripts/tsan.sh [CTEST_REGEX]   (default: the threaded engines' tests)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build-tsan}
regex=${1:-'^(compare|repair|replicate|copier): '}
BUILD_DIR="$build" BUILD_TYPE=RelWithDebInfo "$root/scripts/build.sh" -DMIGCHECK_TSAN=ON
logs="$build/tsan"
rm -rf "$logs" && mkdir -p "$logs"
# exitcode=0: a race is counted from the logs below, so a test does not fail
# for it at a random point (a migcheck exit code the test checks).
export TSAN_OPTIONS="log_path=$logs/race exitcode=0 second_deadlock_stack=1 history_size=4"
status=0
( cd "$build" && ctest --output-on-failure -j "${TEST_JOBS:-2}" --timeout 1200 -R "$regex" ) || status=1
if grep -l "WARNING: ThreadSanitizer" "$logs"/race.* >/dev/null 2>&1; then
  echo "== ThreadSanitizer reports (full text in $logs):"
  grep -h -A1 "SUMMARY: ThreadSanitizer" "$logs"/race.* | grep SUMMARY | sort | uniq -c | sort -rn
  status=1
fi
exit $status
