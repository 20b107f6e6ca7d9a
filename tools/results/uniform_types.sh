#!/usr/bin/env bash
# Quality of every quant type applied to the whole shipped model (llama-quantize --pure style),
# with and without an imatrix from the calibration split: perplexity and KLD against the BF16
# model on the held-out split. Prints a Markdown table (docs/results.md holds its output).
# Usage: tools/results/uniform_types.sh [chunks] [types...]   (after building with scripts/run.sh)
set -euo pipefail
cd "$(dirname "$0")/../.."
chunks=${1:-30}
shift || true
types=("$@")
[ ${#types[@]} -gt 0 ] || types=(Q8_0 Q6_K Q5_K Q5_1 Q5_0 Q4_K Q4_1 Q4_0 IQ4_XS IQ4_NL Q3_K IQ3_S IQ3_XXS Q2_K IQ2_S IQ2_XS IQ2_XXS IQ1_M IQ1_S)
q=build/quantscope
model=models/kjv-llama
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

$q imatrix "$model" --text "$model/calibration.txt" --chunks 40 -o "$work/imatrix.gguf" >/dev/null 2>&1
$q perplexity "$model" --text "$model/eval.txt" --chunks "$chunks" --save-logits "$work/base.lp" --json 2>/dev/null \
  | python3 -c 'import json,sys; d=json.load(sys.stdin); print("base (BF16) PPL %.4f over %d scored tokens" % (d["ppl"], d["n_scored"]))' 2>/dev/null \
  || true

echo
echo "| type | bpw | imatrix | PPL | KLD mean | KLD p99 | same top token |"
echo "|---|---|---|---|---|---|---|"
for type in "${types[@]}"; do
  for with_imatrix in no yes; do
    flags=()
    [ "$with_imatrix" = yes ] && flags=(--imatrix "$work/imatrix.gguf")
    if ! $q quantize "$model" --type "$type" "${flags[@]}" -o "$work/m.gguf" --json >"$work/q.json" 2>/dev/null; then
      continue
    fi
    bpw=$(python3 -c 'import json,sys; print("%.3f" % json.load(open(sys.argv[1]))["bpw"])' "$work/q.json")
    $q perplexity "$work/m.gguf" --kl-base "$work/base.lp" --json 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)["kld"]
print("| %s | %s | %s | %.4f | %.5f | %.4f | %.2f%% |" % (sys.argv[1], sys.argv[2], sys.argv[3], d["ppl"]["value"],
      d["mean"]["value"], d["quantiles"]["p99"], 100 * d["same_top"]["value"]))' "$type" "$bpw" "$with_imatrix"
  done
done
