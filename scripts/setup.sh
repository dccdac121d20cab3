#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks to build, demo and test migcheck.
# Idempotent: enables bookworm-backports only if missing, installs only absent
# packages, and never starts or enables system services.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git ca-certificates openssl
  libhiredis-dev libxxhash-dev libcli11-dev libsqlite3-dev nlohmann-json3-dev
  libssl-dev libcatch2-dev
  redis-server redis-tools valkey-server valkey-tools
  python3 python3-redis chromium clang-format
  help2man zsh ccache prometheus-cpp-dev prometheus
)

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# Catch2 must be v3 (bookworm's own libcatch2-dev is 2.x).
if dpkg-query -W -f='${Version}' libcatch2-dev 2>/dev/null | grep -q '^2\.'; then
  missing+=("libcatch2-dev")
fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all packages present"
  # Redis 8.0 and Valkey 8.1 for the test matrix, unpacked beside the system.
  "$(dirname "$0")/test_engines.sh"
  exit 0
fi

codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
if [ "$codename" = "bookworm" ] &&
   ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
  echo "setup: enabling bookworm-backports"
  printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' |
    "${sudo_cmd[@]}" tee /etc/apt/sources.list.d/bookworm-backports.sources >/dev/null
fi

echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# policy-rc.d 101 keeps dpkg from starting the redis/valkey services it installs.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | "${sudo_cmd[@]}" tee "$policy" >/dev/null
  "${sudo_cmd[@]}" chmod +x "$policy"
  created_policy=1
fi
cleanup() { if [ "$created_policy" = 1 ]; then "${sudo_cmd[@]}" rm -f "$policy"; fi; }
trap cleanup EXIT

"${sudo_cmd[@]}" apt-get update -qq
bp=()
[ "$codename" = "bookworm" ] && bp=(-t bookworm-backports)
# Only Catch2 v3 and valkey need backports; pin just those.
regular=(); backported=()
for p in "${missing[@]}"; do
  case "$p" in
    libcatch2-dev|valkey-server|valkey-tools) backported+=("$p") ;;
    *) regular+=("$p") ;;
  esac
done
if [ ${#regular[@]} -gt 0 ]; then
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${regular[@]}"
fi
if [ ${#backported[@]} -gt 0 ]; then
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${bp[@]}" "${backported[@]}"
fi
# Packaged services must not keep running: tests and the demo start their own.
for svc in redis-server valkey-server prometheus prometheus-node-exporter; do
  "${sudo_cmd[@]}" service "$svc" stop >/dev/null 2>&1 || true
done
# Redis 8.0 and Valkey 8.1 for the test matrix, unpacked beside the system.
"$(dirname "$0")/test_engines.sh"
echo "setup: done"
