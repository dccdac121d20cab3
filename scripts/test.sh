#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test (CTest over the
# Catch2 binary, real redis-server/valkey-server started by the tests), then
# the fuzz and unit tests under AddressSanitizer + UndefinedBehaviorSanitizer,
# and a smoke run of the benchmark harness.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
# CI builds with warnings as errors (a plain build only shows them).
"$root/scripts/build.sh" -DMIGCHECK_WERROR=ON
# The tree stays clang-formatted (.clang-format at the root).
echo "== clang-format check"
( cd "$root" && git ls-files -z '*.cc' '*.h' | xargs -0 clang-format --dry-run --Werror )
jobs=${TEST_JOBS:-2}
( cd "$root/build" && ctest --output-on-failure -j "$jobs" --timeout 600 )

if [ "${SKIP_SANITIZE:-0}" != 1 ]; then
  echo "== fuzz and unit tests under ASan+UBSan"
  BUILD_DIR="$root/build-asan" BUILD_TYPE=Debug "$root/scripts/build.sh" -DMIGCHECK_SANITIZE=ON
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    "$root/build-asan/migcheck_tests" "~[integration]"
fi
echo "== package: cpack -G DEB, installed and run"
"$root/scripts/package_check.sh" "$root/build"
if [ -x "$root/bench/run.sh" ] && [ "${SKIP_BENCH:-0}" != 1 ]; then
  echo "== benchmark harness smoke run"
  "$root/bench/run.sh" --keys 2000 --smoke
fi
