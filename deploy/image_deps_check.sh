#!/usr/bin/env bash
# Checks deploy/Dockerfile's runtime stage against a built binary, since no
# docker daemon runs where CI does: every shared library the binary loads
# (ldd) must come from a package that stage installs, or from one that
# debian:12-slim already holds. A library added to the build (a new
# dependency) without its runtime package in the image fails here, not in
# the first pod that starts.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$root/build/migcheck}
dockerfile=$root/deploy/Dockerfile
# In debian:12-slim already: the C and C++ runtimes and zlib (apt and dpkg
# depend on them).
base="libc6 libgcc-s1 libstdc++6 zlib1g"
# The package names of the runtime stage's apt-get install: the lines after
# --no-install-recommends up to the && that ends the list.
installed=$(awk '/^FROM debian:12-slim/ {rt = 1; next}
                 rt && /--no-install-recommends/ {grab = 1; next}
                 grab && /^ *&&/ {grab = 0}
                 grab {for (i = 1; i <= NF; i++) if ($i != "\\") print $i}' "$dockerfile")
[ -n "$installed" ] || { echo "image: no runtime packages found in $dockerfile" >&2; exit 1; }
missing=0
while read -r lib; do
  pkg=
  for path in "$lib" "$(readlink -f "$lib")" "/usr$lib" "${lib#/usr}"; do
    pkg=$(dpkg -S "$path" 2>/dev/null | head -1 | cut -d: -f1) && [ -n "$pkg" ] && break
  done
  if [ -z "$pkg" ]; then
    echo "image: $lib belongs to no Debian package" >&2
    missing=1
  elif ! grep -qx "$pkg" <<<"$installed" && ! grep -qw "$pkg" <<<"$base"; then
    echo "image: $(basename "$lib") needs package $pkg, which deploy/Dockerfile does not install" >&2
    missing=1
  fi
done < <(ldd "$bin" | awk '/=>/ {print $3}')
[ "$missing" = 0 ] || exit 1
echo "image: the runtime stage installs every library $(basename "$bin") loads ($(wc -w <<<"$installed") packages)"
