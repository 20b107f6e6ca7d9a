#!/usr/bin/env bash
# The README's main job: builds quantscope and runs it on the shipped model (models/kjv-llama):
# the model's config and tensor table, a plain F16 GGUF of it, its perplexity on held-out text,
# an importance matrix from the calibration text, and a Q4_K GGUF compared with the original (KLD).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)"

model=models/kjv-llama
out=${QUANTSCOPE_OUT:-out}
mkdir -p "$out"

build/quantscope types
build/quantscope inspect "$model"
build/quantscope quantize "$model" --type F16 -o "$out/kjv-llama-f16.gguf"
build/quantscope inspect "$out/kjv-llama-f16.gguf"
build/quantscope perplexity "$model" --text "$model/eval.txt" --save-logits "$out/kjv-llama-base.logprobs"
build/quantscope imatrix "$model" --text "$model/calibration.txt" -o "$out/kjv-llama-imatrix.gguf"
build/quantscope quantize "$model" --type Q4_K --imatrix "$out/kjv-llama-imatrix.gguf" -o "$out/kjv-llama-q4_k.gguf"
build/quantscope perplexity "$out/kjv-llama-q4_k.gguf" --kl-base "$out/kjv-llama-base.logprobs"
