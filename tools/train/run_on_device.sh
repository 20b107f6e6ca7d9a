#!/usr/bin/env bash
# The one command to run on the GPU machine (from the repository root): trains models/kjv-llama,
# builds models/tiny/*, computes tests/data/reference/*, and packs everything into $OUT as
#   $OUT/model.safetensors   the trained model (alone: it is close to the 16 MiB a file may be)
#   $OUT/outputs.tar         every other output, paths relative to the repository root
#   $OUT/log.txt             the full log
# Bring the files back and run tools/train/install_device_outputs.sh <folder> here to put them
# in place. Extra arguments go to train_on_device.py (e.g. --max-steps 20 for a smoke run).
set -euo pipefail
: "${OUT:?run_on_device.sh: OUT must name the folder that comes back}"
export PYTHONUNBUFFERED=1 CUBLAS_WORKSPACE_CONFIG=:4096:8
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=${WORK:-/tmp/quantscope-train}
rm -rf "$work" && mkdir -p "$work"
cd "$repo/tools/train"
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
  python3 -c 'import sys, torch, transformers, tokenizers, safetensors; print(sys.version.split()[0], "torch", torch.__version__, "transformers", transformers.__version__, "tokenizers", tokenizers.__version__, "safetensors", safetensors.__version__)'
  time python3 train_on_device.py --repo "$repo" --work "$work" "$@"
  time python3 make_tiny_models.py --work "$work"
  time python3 make_reference.py --repo "$repo" --work "$work"
} 2>&1 | tee "$OUT/log.txt"

cp "$work/models/kjv-llama/model.safetensors" "$OUT/model.safetensors"
tar -C "$work" --exclude=models/kjv-llama/model.safetensors -cf "$OUT/outputs.tar" models tests
tar -tvf "$OUT/outputs.tar"
for f in "$OUT"/*; do
  size=$(stat -c %s "$f")
  if [ "$size" -ge $((16 * 1024 * 1024)) ]; then
    echo "run_on_device: $f is $size bytes, over the 16 MiB a returned file may be" >&2
    exit 1
  fi
done
ls -l "$OUT"
