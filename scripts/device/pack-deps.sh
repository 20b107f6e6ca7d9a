#!/usr/bin/env bash
# Packs quantscope's Debian build dependencies for the GPU machine (`device` tool), which has CUDA
# but none of our libraries and no network: downloads the .debs with their library dependencies
# (not libc/libstdc++, which the machine has newer), unpacks them into one prefix, drops what a
# build does not read (docs, manuals) and writes .device/deps.tar.xz (~10 MB; .device/ is
# git-ignored, carried by the run). scripts/device/build.sh unpacks and uses it there.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=.device
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

wanted=(libcurl4-openssl-dev libssl-dev libsqlite3-dev nlohmann-json3-dev libyaml-cpp-dev libcpp-httplib-dev
  libcli11-dev libopenblas-dev libpcre2-dev libgtest-dev libgmock-dev libbenchmark-dev pkgconf)
# The base system of any x86-64 Linux with a compiler, and BLAS variants we do not link.
skip=" gcc-12-base libc-dev-bin libc6 libc6-dev libcrypt-dev libcrypt1 libgcc-s1 libstdc++6 linux-libc-dev
  rpcsvc-proto libnsl-dev libnsl2 libtirpc-common libtirpc-dev libtirpc3 libopenblas-openmp-dev
  libopenblas-serial-dev libopenblas0-openmp libopenblas0-serial libdb5.3 googletest "
packages=()
for p in $(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces \
             --no-enhances "${wanted[@]}" | grep -v '^[ <]' | sort -u); do
  [[ "$skip" == *" $p "* ]] || packages+=("$p")
done
(cd "$work" && apt-get download "${packages[@]}" >/dev/null)
mkdir -p "$work/prefix"
for deb in "$work"/*.deb; do dpkg -x "$deb" "$work/prefix"; done
rm -rf "$work/prefix/usr/share/doc" "$work/prefix/usr/share/man" "$work/prefix/usr/share/lintian" "$work/prefix/etc"
rm -rf "$work/prefix/usr/include/linux" "$work"/prefix/usr/lib/x86_64-linux-gnu/openblas-pthread/liblapack*
# Shared libraries only, but for the test frameworks, which Debian ships as static archives.
find "$work/prefix" -name '*.a' ! -name 'libgtest*' ! -name 'libgmock*' ! -name 'libbenchmark*' -delete
tar -C "$work/prefix" -cJf "$out/deps.tar.xz" .
echo "$out/deps.tar.xz: ${#packages[@]} packages, $(du -h "$out/deps.tar.xz" | cut -f1)"
