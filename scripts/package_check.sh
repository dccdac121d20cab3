#!/usr/bin/env bash
# Builds the .deb from a build tree (cpack -G DEB) and checks it: its
# dependencies are Debian runtime library packages, it holds the binary, the
# man page and the completions, and the installed binary runs `--version` and
# `info` against a throwaway local server. In CI (CI=true) the package is
# installed with apt as a user would; elsewhere it is unpacked into a
# temporary folder, so that a developer's system is left alone.
set -euo pipefail
build=${1:?usage: package_check.sh BUILD_DIR}
( cd "$build" && cpack -G DEB >/dev/null 2>&1 ) || { echo "package: cpack failed" >&2; exit 1; }
deb=$(realpath "$(ls -t "$build"/migcheck_*.deb | head -1)")
echo "package: $(basename "$deb")"
depends=$(dpkg-deb -f "$deb" Depends)
echo "package: Depends: $depends"
for lib in libhiredis libssl3 libsqlite3 libxxhash libc6 libstdc++6; do
  case "$depends" in *"$lib"*) ;; *) echo "package: Depends lacks $lib" >&2; exit 1 ;; esac
done
contents=$(dpkg-deb -c "$deb")
for f in ./usr/bin/migcheck ./usr/share/man/man1/migcheck.1.gz \
         ./usr/share/bash-completion/completions/migcheck ./usr/share/zsh/vendor-completions/_migcheck; do
  grep -qF "$f" <<<"$contents" || { echo "package: $f missing" >&2; exit 1; }
done

dir=$(mktemp -d)
pid=
trap 'rm -rf "$dir"; [ -n "$pid" ] && kill "$pid" 2>/dev/null; true' EXIT
if [ "${CI:-}" = true ]; then
  apt-get install -y -qq "$deb" >/dev/null
  bin=/usr/bin/migcheck
else
  dpkg-deb -x "$deb" "$dir"
  bin=$dir/usr/bin/migcheck
fi
"$bin" --version | head -1
port=$((20000 + RANDOM % 2000))
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
  >/dev/null 2>&1 &
pid=$!
for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
"$bin" info "redis://127.0.0.1:$port" | head -3
echo "package: ok"
