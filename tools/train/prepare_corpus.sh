#!/usr/bin/env bash
# Builds the KJV corpus for the shipped model from Debian's bible-kjv package (apt-get install
# bible-kjv): plain verses, one per line, split by chapter into train / eval / calibration.
# Deterministic: the same package version gives byte-identical files (checksums printed).
#   tools/train/prepare_corpus.sh          # run from anywhere; writes inside the repository
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
command -v bible >/dev/null || { echo "prepare_corpus: 'bible' not found (apt-get install bible-kjv)" >&2; exit 2; }
mkdir -p "$repo/tools/train/data" "$repo/models/kjv-llama"
bible "Gen1:1-Rev22:21" | python3 "$repo/tools/train/split_corpus.py" \
    --train "$repo/tools/train/data/train.txt" \
    --eval "$repo/models/kjv-llama/eval.txt" \
    --calibration "$repo/models/kjv-llama/calibration.txt"
cd "$repo" && sha256sum tools/train/data/train.txt models/kjv-llama/eval.txt models/kjv-llama/calibration.txt
