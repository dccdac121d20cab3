#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test (CTest over the
# Catch2 binary, real redis-server/valkey-server started by the tests), then
# the fuzz and unit tests under AddressSanitizer + UndefinedBehaviorSanitizer,
# and a smoke run of the benchmark harness.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# Each phase names itself with the seconds since the start, so a CI log shows
# where the time goes (CI must stay under 30 minutes on 2 cores).
phase() { echo "== $1 (at ${SECONDS}s)"; }
phase "setup"
"$root/scripts/setup.sh"
phase "build"
# CI builds with warnings as errors (a plain build only shows them).
"$root/scripts/build.sh" -DMIGCHECK_WERROR=ON
# The tree stays clang-formatted (.clang-format at the root).
phase "clang-format check"
( cd "$root" && git ls-files -z '*.cc' '*.h' | xargs -0 clang-format --dry-run --Werror )
jobs=${TEST_JOBS:-2}
phase "ctest"
( cd "$root/build" && ctest --output-on-failure -j "$jobs" --timeout 600 )

if [ "${SKIP_SANITIZE:-0}" != 1 ]; then
  phase "ASan+UBSan build"
  BUILD_DIR="$root/build-asan" BUILD_TYPE=Debug "$root/scripts/build.sh" -DMIGCHECK_SANITIZE=ON
  phase "fuzz and unit tests under ASan+UBSan"
  # [memory] tests measure peak RSS: ASan's quarantine keeps freed memory
  # (up to 256 MiB), so they run in ctest's plain build only.
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    "$root/build-asan/migcheck_tests" "~[integration]~[memory]"
fi
phase "package: cpack -G DEB, installed and run"
"$root/scripts/package_check.sh" "$root/build"
if [ -x "$root/bench/run.sh" ] && [ "${SKIP_BENCH:-0}" != 1 ]; then
  phase "benchmark harness smoke run"
  "$root/bench/run.sh" --keys 2000 --smoke
fi
phase "done"
