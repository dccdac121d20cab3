#!/usr/bin/env bash
# The main job, end to end, on throwaway local servers: installs what is
# missing, builds, starts a Redis source and a Valkey (or Redis) target on
# free loopback ports, loads a small mixed dataset with deliberate drift,
# then compare -> repair -> compare -> report, and stops the servers.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
"$root/scripts/build.sh"
mig="$root/build/migcheck"
out="$root/demo-output"
rm -rf "$out"; mkdir -p "$out"
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
start() { # binary port dir
  mkdir -p "$3"
  "$1" --port "$2" --bind 127.0.0.1 --save "" --appendonly no --dir "$3" \
       --logfile "$3/server.log" --enable-debug-command yes >/dev/null 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do redis-cli -p "$2" ping >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "demo: $1 did not start on port $2" >&2; exit 2
}
target_bin=valkey-server; command -v valkey-server >/dev/null || target_bin=redis-server
sp=$(free_port); start redis-server "$sp" "$work/source"
tp=$(free_port); start "$target_bin" "$tp" "$work/target"
src="redis://127.0.0.1:$sp"; dst="redis://127.0.0.1:$tp"
echo "demo: source redis-server on $sp, target $target_bin on $tp"

# 5,000 keys of every type, identical on both sides...
python3 "$root/scripts/gen_dataset.py" --keys 5000 --seed 7 > "$work/data.resp"
redis-cli -p "$sp" --pipe < "$work/data.resp" >/dev/null
redis-cli -p "$tp" --pipe < "$work/data.resp" >/dev/null
# ...then drift on the target, as a lossy live migration would leave it.
redis-cli -p "$tp" del "str:00000001" "hash:00000080" >/dev/null      # missing
redis-cli -p "$tp" set "only-on-target" x >/dev/null                  # extra
redis-cli -p "$tp" hset "hash:00000030" f1 changed >/dev/null          # value
redis-cli -p "$tp" zadd "zset:00000042" 99 m1 >/dev/null               # value (score)
redis-cli -p "$tp" expire "str:00000020" 5000 >/dev/null               # ttl
redis-cli -p "$tp" del "list:00000034" >/dev/null
redis-cli -p "$tp" set "list:00000034" "now a string" >/dev/null       # type
redis-cli -p "$tp" xadd "stream:00000046" '*' extra 1 >/dev/null       # stream entry

store="$out/migcheck.db"
echo; echo "== migcheck compare (before repair)"
set +e
"$mig" compare "$src" "$dst" --store "$store" --rounds 2 --interval 200ms; rc=$?
echo "compare exit code: $rc (1 = differences found)"
echo; echo "== migcheck diffs"
"$mig" diffs --store "$store"
echo; echo "== migcheck repair --delete-extra"
"$mig" repair "$src" "$dst" --store "$store" --delete-extra; echo "repair exit code: $?"
echo; echo "== migcheck compare (after repair)"
"$mig" compare "$src" "$dst" --store "$store" --rounds 1 --quiet; rc=$?
echo "compare exit code: $rc (0 = identical)"
echo; echo "== migcheck report"
"$mig" report --store "$store" --run 1 --out "$out"; echo "report exit code: $?"
"$mig" report --store "$store" --out "$out"; echo "report exit code: $?"
set -e
echo
echo "demo: results are in $out"
echo "  store:       $store"
ls "$out"/*report* 2>/dev/null | sed 's/^/  report:      /'
html=$(ls -t "$out"/*report*.html 2>/dev/null | head -1 || true)
[ -n "$html" ] && echo "HTML report: $html"
