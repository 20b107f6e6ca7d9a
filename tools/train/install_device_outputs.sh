#!/usr/bin/env bash
# Puts what run_on_device.sh packed into the repository: model.safetensors into models/kjv-llama/
# and outputs.tar (models/, tests/) unpacked at the repository root, overwriting older copies.
#   tools/train/install_device_outputs.sh <folder holding model.safetensors and outputs.tar>
set -euo pipefail
src=${1:?usage: install_device_outputs.sh <folder>}
repo=$(cd "$(dirname "$0")/../.." && pwd)
tar -C "$repo" --no-same-owner -xvf "$src/outputs.tar"
install -m 644 "$src/model.safetensors" "$repo/models/kjv-llama/model.safetensors"
if [ -f "$src/log.txt" ]; then mkdir -p "$repo/tools/train/logs"; install -m 644 "$src/log.txt" "$repo/tools/train/logs/run_on_device.log"; fi
