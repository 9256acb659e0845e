#!/usr/bin/env bash
# Quick start, step 1: install what is missing, build (release preset), and run the main job —
# legal batch extraction over the bundled sample contracts in data/samples/.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --parallel "$(nproc)"

echo
echo "== deepseek run pipelines/legal-batch.yaml =="
build/release/bin/deepseek run pipelines/legal-batch.yaml --progress log
