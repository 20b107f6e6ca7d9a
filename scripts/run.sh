#!/usr/bin/env bash
# The README's main job: builds quantscope and runs it on the shipped model (models/kjv-llama):
# the model's config and tensor table, a plain F16 GGUF of it, its perplexity on held-out text,
# an importance matrix from the calibration text, a Q4_K GGUF compared with the original (KLD),
# then the measurement sweep: every tensor x type, KLD for two probe types per tensor, the rest
# predicted, checked on whole uniform mixes; then `auto`: the strategy at the size of llama.cpp's
# Q4_K_M (the least predicted KLD for those bytes), its GGUF, and the comparison with the stock
# mixes on held-out text, with an HTML report.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

# The web UI first: the binary embeds web/dist (`build/quantscope serve` at the end).
npm --prefix web ci --no-audit --no-fund >/dev/null
npm --prefix web run build >/dev/null
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)"

model=models/kjv-llama
out=${QUANTSCOPE_OUT:-out}
mkdir -p "$out"
db="$out/quantscope.db"  # every job of this run (quantize, measure, auto) in out/'s own job database

build/quantscope types
build/quantscope inspect "$model"
build/quantscope quantize "$model" --type F16 -o "$out/kjv-llama-f16.gguf" --db "$db"
build/quantscope inspect "$out/kjv-llama-f16.gguf"
build/quantscope perplexity "$model" --text "$model/eval.txt" --save-logits "$out/kjv-llama-base.logprobs"
build/quantscope imatrix "$model" --text "$model/calibration.txt" -o "$out/kjv-llama-imatrix.gguf"
build/quantscope quantize "$model" --type Q4_K --imatrix "$out/kjv-llama-imatrix.gguf" -o "$out/kjv-llama-q4_k.gguf" --db "$db"
build/quantscope perplexity "$out/kjv-llama-q4_k.gguf" --kl-base "$out/kjv-llama-base.logprobs"

# The measurement sweep as a job (kill it and run this again: it continues where it stopped), its
# table as CSV, and the KLD predictor checked on whole mixes.
measured=$(build/quantscope measure "$model" --metric kld --probes Q4_K,Q2_K --text "$model/calibration.txt" \
  --imatrix "$out/kjv-llama-imatrix.gguf" --chunks 4 --db "$db" --json)
job=$(printf '%s\n' "$measured" | sed -n 's/^ *"id": \([0-9]*\).*/\1/p')
build/quantscope jobs show "$job" --db "$db"
build/quantscope jobs export "$job" --db "$db" -o "$out/kjv-llama-measurements.csv"
build/quantscope predict "$job" --mixes Q6_K,Q4_K,Q3_K --db "$db"

# From the model to a verified strategy in one resumable job: imatrix, KLD measurement (probes +
# prediction), the least-KLD strategy for the bytes of llama.cpp's Q4_K_M, its GGUF, and the
# comparison with the stock mixes on held-out text, ending with the table and out/auto/report.html.
build/quantscope quantize "$model" --preset Q4_K_M --imatrix "$out/kjv-llama-imatrix.gguf" -o "$out/kjv-llama-Q4_K_M.gguf" --db "$db"
build/quantscope auto "$model" --text "$model/calibration.txt" --eval "$model/eval.txt" \
  --size "$(stat -c %s "$out/kjv-llama-Q4_K_M.gguf")" --chunks 4 -o "$out/auto" --db "$db"
echo "Every step in the browser, with these jobs: build/quantscope serve --root . --db $db  (http://127.0.0.1:8080/)"
