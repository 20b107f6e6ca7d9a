#!/usr/bin/env bash
# Builds and runs every test: the fuzz targets for a fixed short time and the suite under
# AddressSanitizer + UndefinedBehaviorSanitizer (one clang build), the suite in the Release build
# (GCC), then the browser tests of the web UI (Debian's chromium) against the Release binary's
# `quantscope serve`.
# This is the README's test command; .ci/run runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

jobs=$(nproc)
fuzz_seconds=${QUANTSCOPE_FUZZ_SECONDS:-15}

echo "== web UI (npm; the build embeds web/dist)"
npm --prefix web ci --no-audit --no-fund
npm --prefix web run build

# Both builds are unity builds (batches of 16 files): on CI's two cores, compiling the headers every
# file shares (nlohmann/json, CLI11, httplib, GoogleTest) once per batch instead of once per file
# took the Release build from about 13 to 5.5 minutes. Each file still compiles alone (the GPU
# machine's build, scripts/device/build.sh, and any developer's default build do so).
unity="-DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=16"

echo "== build (Release)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release $unity >/dev/null
cmake --build build -j "$jobs"

echo "== build (clang: AddressSanitizer + UndefinedBehaviorSanitizer, and the libFuzzer targets)"
# One instrumented build serves the suite and the fuzz targets (a third build cost CI ~9 min on two
# cores); clang compiles it in about half of GCC's time with the same sanitizers. -O1 -g1:
# sanitizer reports keep file:line.
CC=clang CXX=clang++ cmake -S . -B build-sanitizers -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DQUANTSCOPE_SANITIZE=ON -DQUANTSCOPE_FUZZ=ON \
  -DQUANTSCOPE_BENCH=OFF -DQUANTSCOPE_CUDA=OFF $unity >/dev/null
cmake --build build-sanitizers -j "$jobs"

echo "== fuzz (libFuzzer, ${fuzz_seconds}s per parser)"
for target in build-sanitizers/fuzz_*; do
  [ -x "$target" ] || continue
  name=$(basename "$target")
  corpus=$(mktemp -d)
  cp -r "fuzz/corpus/${name#fuzz_}/." "$corpus/" 2>/dev/null || true
  echo "-- $name"
  "$target" -max_total_time="$fuzz_seconds" -rss_limit_mb=2048 -print_final_stats=0 "$corpus" 2>&1 | tail -n 2
  rm -rf "$corpus"
done

echo "== tests (sanitizers)"
ASAN_OPTIONS=detect_leaks=1 ctest --test-dir build-sanitizers --output-on-failure -j "$jobs"

echo "== tests (Release)"
# The GPU's tests (label cuda, built when nvcc is found) need a GPU: they run on one through
# scripts/device/ (docs/gpu.md), not here.
ctest --test-dir build --output-on-failure -j "$jobs" -LE cuda

echo "== browser tests (web UI against build/quantscope serve)"
QUANTSCOPE_BIN=build/quantscope npm --prefix web run test:browser
