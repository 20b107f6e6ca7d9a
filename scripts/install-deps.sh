#!/usr/bin/env bash
# Installs every system package quantscope needs on Debian 12 (idempotent; quiet when all present).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev
  libcurl4-openssl-dev libssl-dev libsqlite3-dev nlohmann-json3-dev libyaml-cpp-dev libcpp-httplib-dev
  libcli11-dev libopenblas-dev libpcre2-dev libgtest-dev libgmock-dev libbenchmark-dev
  bible-kjv
  chromium
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
