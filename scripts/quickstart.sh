#!/usr/bin/env bash
# Quick start, step 1: install what is missing, build (release preset), and run the main job —
# legal batch extraction over the bundled sample contracts in data/samples/ with the bundled models
# (tokenizer; the trained legal model joins the pipeline once it beats the baseline, see bench/RESULTS.md).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --parallel "$(nproc)"

echo
echo "== legal-extract data/samples (pipelines/legal_extraction.yaml) =="
mkdir -p out
build/release/bin/legal-extract data/samples --progress log \
  --jsonl out/legal-extract.jsonl --csv out/legal-extract.csv --report out/legal-extract.html
