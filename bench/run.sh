#!/usr/bin/env bash
# The migcheck benchmark, one command: bench/run.sh [--keys N] [--valkey]
# [--smoke] [--memory-scaling] [--json PATH] [--migcheck PATH] ... (--help).
# Starts two throwaway servers on free loopback ports, loads a reproducible
# dataset, measures migcheck next to the floors of this machine, prints the
# table, ratios and goals, and writes bench/results/<timestamp>.json.
# See bench/README.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

# An interpreter that has redis-py (Debian's python3-redis lives in the
# system python; a pyenv/venv python3 first on PATH may not see it).
py=""
for cand in "${BENCH_PYTHON:-}" python3 /usr/bin/python3; do
  [ -n "$cand" ] || continue
  if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import redis' >/dev/null 2>&1; then
    py=$cand
    break
  fi
done
if [ -z "$py" ]; then
  echo "bench: no python3 with the redis module (apt-get install python3-redis)" >&2
  exit 1
fi

# The driver writes "<pid> <port>" of each server it starts into $pid_dir;
# whatever way this script ends, the trap stops those servers (the driver
# also stops them itself, and they get SIGTERM if the driver dies).
pid_dir=$(mktemp -d "${TMPDIR:-/tmp}/migcheck-bench-run.XXXXXX")
child=""
cleanup() {
  if [ -n "$child" ] && kill -0 "$child" 2>/dev/null; then
    kill -TERM "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  for f in "$pid_dir"/*.pid; do
    [ -e "$f" ] || continue
    read -r pid port <"$f" || continue
    # Only a process that is still our server on that port.
    if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q ":$port\b"; then
      kill -TERM "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$pid_dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# In the background and waited for, so a signal to this script runs the trap at once.
"$py" "$here/bench.py" --pid-dir "$pid_dir" "$@" &
child=$!
set +e
wait "$child"
rc=$?
set -e
child=""
exit "$rc"
