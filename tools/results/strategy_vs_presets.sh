#!/usr/bin/env bash
# The result that matters: at the file size of each of llama.cpp's stock mixes (Q2_K, Q3_K_M,
# Q4_K_M by default), the least-KLD strategy from the per-tensor KLD measurement, both measured on
# held-out text against the BF16 model. Prints a Markdown table (docs/results.md holds its output)
# and writes the compare report. Everything goes to $QUANTSCOPE_OUT (default out/strategy-vs-presets).
# Usage: tools/results/strategy_vs_presets.sh [measure chunks] [presets...]   (after scripts/run.sh built the binary)
set -euo pipefail
cd "$(dirname "$0")/../.."
chunks=${1:-4}
shift || true
presets=("$@")
[ ${#presets[@]} -gt 0 ] || presets=(Q2_K Q3_K_M Q4_K_M)
q=build/quantscope
model=models/kjv-llama
out=${QUANTSCOPE_OUT:-out/strategy-vs-presets}
mkdir -p "$out"
db="$out/quantscope.db"

# The imatrix and the per-tensor KLD of every type come from the calibration split only.
[ -f "$out/imatrix.gguf" ] || $q imatrix "$model" --text "$model/calibration.txt" -o "$out/imatrix.gguf" >/dev/null 2>&1
job=$($q measure "$model" --metric kld --text "$model/calibration.txt" --imatrix "$out/imatrix.gguf" \
        --chunks "$chunks" --db "$db" --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')

strategies=()
for preset in "${presets[@]}"; do
  $q quantize "$model" --preset "$preset" --imatrix "$out/imatrix.gguf" -o "$out/preset-$preset.gguf" --json >/dev/null 2>&1
  size=$(stat -c %s "$out/preset-$preset.gguf")
  $q strategy "$job" --db "$db" --size "$size" -o "$out/size-of-$preset.yaml" >/dev/null
  strategies+=(--strategy "$out/size-of-$preset.yaml")
done

presets_csv=$(IFS=,; echo "${presets[*]}")
$q compare "$model" --text "$model/eval.txt" --presets "$presets_csv" "${strategies[@]}" \
  --imatrix "$out/imatrix.gguf" --out-dir "$out/compare" --report "$out/report.html" --json 2>/dev/null > "$out/compare.json"

python3 - "$out/compare.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
rows = {r["name"]: r for r in d["rows"]}
print("Reference (BF16) PPL %.4f on %d scored tokens of eval.txt.\n" % (d["base_ppl"]["value"], d["scored_tokens"]))
print("| mix | file bytes | bpw | PPL | KLD mean | KLD p99 | same top | strategy's predicted KLD | KLD vs preset |")
print("|---|---|---|---|---|---|---|---|---|")
for r in d["rows"]:
    if r["kind"] != "preset":
        continue
    s = rows["size-of-" + r["name"]]
    for row, change in ((r, ""), (s, "%+.1f %%" % (100 * (s["kld"]["value"] / r["kld"]["value"] - 1)))):
        predicted = "%.5f" % row["predicted"] if row["predicted"] is not None else ""
        print("| %s | %d | %.4f | %.4f ± %.4f | %.6f ± %.6f | %.5f | %.2f %% | %s | %s |" % (
            row["name"], row["file_bytes"], row["bpw"], row["ppl"]["value"], row["ppl"]["error"],
            row["kld"]["value"], row["kld"]["error"], row["kld_p99"], 100 * row["same_top"]["value"], predicted, change))
PY
