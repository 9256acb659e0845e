#!/usr/bin/env bash
# Installs ONNX Runtime for Node.js (the reference of bench/run_encoder_bench.sh) into a scratch
# directory that is not committed: build/ort by default, or $1.
#
# --ignore-scripts: the package's install script tries to fetch CUDA provider files from
# api.nuget.org, which is unreachable here; the CPU runtime (bin/napi-v6/linux/x64) is in the
# package itself (docs/PERF-ANCHORS.md section 4).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${1:-$root/build/ort}"
mkdir -p "$dir"
cd "$dir"
[ -f package.json ] || npm init -y >/dev/null
if [ ! -d node_modules/onnxruntime-node ]; then
  npm install --ignore-scripts --no-audit --no-fund onnxruntime-node
fi
node -e 'const ort = require("onnxruntime-node"); console.log("onnxruntime-node", require("onnxruntime-node/package.json").version, "in", process.cwd());'
