#!/usr/bin/env bash
# On the GPU machine (`device` tool, carrying .device/): unpacks the Debian libraries that
# scripts/device/pack-deps.sh packed, configures a Release build with the CUDA backend required
# (QUANTSCOPE_CUDA=ON) and builds the binary, the GPU tests and the GPU benchmarks into build-cuda/.
# Source it (`. scripts/device/build.sh`): it leaves LD_LIBRARY_PATH set for running what it built.
set -euo pipefail
prefix=/opt/quantscope-deps
if [ ! -d "$prefix/usr" ]; then
  mkdir -p "$prefix"
  tar -C "$prefix" -xJf .device/deps.tar.xz
fi
lib=$prefix/usr/lib/x86_64-linux-gnu
export PKG_CONFIG="$prefix/usr/bin/pkgconf"
export PKG_CONFIG_LIBDIR="$lib/pkgconfig:$prefix/usr/share/pkgconfig:$lib/openblas-pthread/pkgconfig"
export PKG_CONFIG_SYSROOT_DIR="$prefix"
export LD_LIBRARY_PATH="$lib:$lib/openblas-pthread:${LD_LIBRARY_PATH:-}"
export PATH="/usr/local/cuda/bin:$PATH"
cmake -S . -B build-cuda -G Ninja -DCMAKE_BUILD_TYPE=Release -DQUANTSCOPE_CUDA=ON \
  -DCMAKE_PREFIX_PATH="$prefix/usr" -DPKG_CONFIG_EXECUTABLE="$PKG_CONFIG" \
  -DCMAKE_CXX_FLAGS="-isystem $prefix/usr/include" \
  -DCMAKE_EXE_LINKER_FLAGS="-L$lib -L$lib/openblas-pthread -Wl,-rpath,$lib:$lib/openblas-pthread" >/dev/null
cmake --build build-cuda -j "$(nproc)" --target quantscope quantscope_cuda_tests ${QUANTSCOPE_DEVICE_TARGETS:-}
set +euo pipefail
