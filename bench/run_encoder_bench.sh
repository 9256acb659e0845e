#!/usr/bin/env bash
# The whole encoder benchmark of bench/RESULTS.md in one go, on this machine:
#   1. machine facts (lscpu, date, BLAS alternative, git revision);
#   2. the benchmark model: ds_encoder_bench writes its random D=384 model to a file, which every
#      engine then loads (C++ ModelFile; PyTorch via model/training/export.py load_model);
#   3. ONNX export of that model (dense, T=128, batch 1 and 8) with a numerical check;
#   4. --rounds rounds of: ours, ONNX Runtime, PyTorch (openblas-openmp), PyTorch (the system's
#      libblas.so.3), all at T=128, batch 1 and 8, back to back; then the ratios;
#   5. the full ds_encoder_bench (forward grid, top-k vs dense, memory, time breakdown);
#   6. ds_gemm_bench (GEMM GFLOP/s against the FMA peak and OpenBLAS, same run).
# Everything lands in OUT (default build/bench_results/<UTC time>); summary.md collects it.
#
#   bench/run_encoder_bench.sh [--rounds N] [--quick] [--compare-only] [--out DIR]
#     --quick: one round, and the C++ bench at T <= 2048 without memory rows (a smoke test)
#     --compare-only: steps 1-4 only (ours vs ONNX Runtime and PyTorch)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
rounds=3
quick=0
compare_only=0
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --quick) quick=1; rounds=1; shift ;;
    --compare-only) compare_only=1; shift ;;
    --out) out="$2"; shift 2 ;;
    *) echo "usage: $0 [--rounds N] [--quick] [--compare-only] [--out DIR]" >&2; exit 2 ;;
  esac
done
out="${out:-$root/build/bench_results/$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$out/cmp"
py=/usr/bin/python3
bin="$root/build/release/bench"
log() { echo "[run_encoder_bench $(date -u +%H:%M:%S)] $*" >&2; }

# Percent of all CPUs busy over 2 s (from /proc/stat), i.e. what other processes use right now.
busy_percent() {
  local a b
  a=($(head -1 /proc/stat)); sleep 2; b=($(head -1 /proc/stat))
  local idle=$(( (b[4] + b[5]) - (a[4] + a[5]) )) total=0 i
  for i in 1 2 3 4 5 6 7 8; do total=$(( total + b[i] - a[i] )); done
  echo $(( total > 0 ? 100 * (total - idle) / total : 0 ))
}
# The host is shared, and another process at full speed halves every number: wait (up to
# $IDLE_WAIT_S, default 900 s) until the CPUs are idle, and say so in the results.
wait_idle() {
  local waited=0 busy
  while busy=$(busy_percent); [ "$busy" -gt 15 ]; do
    if [ "$waited" -ge "${IDLE_WAIT_S:-900}" ]; then
      log "WARNING: CPUs still ${busy}% busy after ${waited} s; measuring anyway ($1)"
      echo "WARNING: ${busy}% CPU busy from other processes before: $1" >> "$out/contention.txt"
      return
    fi
    [ "$waited" = 0 ] && log "CPUs ${busy}% busy (other processes); waiting for idle before: $1"
    sleep 10; waited=$((waited + 12))
  done
  echo "before $1: other processes used ${busy}% of the CPUs (after waiting ${waited} s)" >> "$out/idle.txt"
}

log "building (release, DS_BUILD_BENCH=ON)"
cmake --preset release -DDS_BUILD_BENCH=ON >/dev/null
cmake --build --preset release --target ds_encoder_bench ds_gemm_bench >/dev/null
bench/setup_ort.sh "$root/build/ort" >&2

{
  echo "date (UTC): $(date -u '+%Y-%m-%d %H:%M:%S')"
  echo "git: $(git rev-parse --short HEAD) $(git status --porcelain | wc -l) files modified/untracked"
  lscpu | grep -E '^(Model name|CPU\(s\)|Thread|Core|Socket|CPU family|Model:|L1d|L2|L3|Hypervisor|BogoMIPS)'
  echo "SIMD flags: $(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx|avx2|fma|f16c|avx512f|avx512bw|avx512vl|avx512_vnni|avx512_bf16|avx_vnni)$' | tr '\n' ' ')"
  echo "memory: $(free -g | awk '/Mem:/ {print $2 " GiB"}')"
  echo "kernel: $(uname -r); gcc: $(gcc -dumpfullversion); torch: $($py -c 'import torch; print(torch.__version__)'); node: $(node --version); onnxruntime-node: $(node -e 'console.log(require(require.resolve("onnxruntime-node/package.json", {paths: [process.argv[1]]})).version)' "$root/build/ort")"
  echo "libblas.so.3 alternative (system default for PyTorch):"
  update-alternatives --display libblas.so.3-x86_64-linux-gnu | sed -n '1,3p'
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$out/machine.txt"
cat "$out/machine.txt" >&2
system_blas="$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 | sed -E 's#.*/(openblas-[a-z]+|blas)/.*#\1#')"

model="$out/model.safetensors"
"$bin/ds_encoder_bench" --write-model "$model"
log "exporting ONNX"
$py bench/encoder_reference.py export --model "$model" --out "$out/onnx" 2> "$out/export.log" ||
  { tail -20 "$out/export.log" >&2; exit 1; }
grep '^\[export\].*plain vs' "$out/export.log" >&2

for r in $(seq 1 "$rounds"); do
  wait_idle "round $r"
  log "round $r/$rounds: ours"
  "$bin/ds_encoder_bench" --model "$model" --T 128 --batch 1,8 --skip attention,topk,memory,breakdown --samples 9 \
    --json > "$out/cmp/ours_$r.json" 2>> "$out/cmp/log.txt"
  log "round $r/$rounds: ONNX Runtime"
  ORT_DIR="$root/build/ort" node bench/ort_bench.js "$out/onnx/manifest.json" --threads 2 --runs 15 \
    > "$out/cmp/ort_$r.json" 2>> "$out/cmp/log.txt"
  log "round $r/$rounds: PyTorch, openblas-openmp"
  LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp \
    $py bench/encoder_reference.py time --model "$model" --samples 9 > "$out/cmp/torch_openblas-openmp_$r.json" \
    2>> "$out/cmp/log.txt"
  log "round $r/$rounds: PyTorch, system libblas.so.3 ($system_blas)"
  $py bench/encoder_reference.py time --model "$model" --samples 9 > "$out/cmp/torch_system-${system_blas}_$r.json" \
    2>> "$out/cmp/log.txt"
done
$py bench/compare_encoder_bench.py "$out" --json "$out/comparison.json" > "$out/comparison.md"
if [ "$compare_only" = 1 ]; then
  cat "$out/idle.txt" "$out/comparison.md"
  log "done: $out/comparison.md"
  exit 0
fi

wait_idle "ds_encoder_bench"
log "full encoder bench (several minutes)"
if [ "$quick" = 1 ]; then
  "$bin/ds_encoder_bench" --model "$model" --T 128,512,2048 --attn-T 2048 --skip memory \
    --breakdown standard:128:1 --json-out "$out/encoder_bench.json" > "$out/encoder_bench.md" 2> "$out/encoder_bench.log"
else
  "$bin/ds_encoder_bench" --model "$model" --json-out "$out/encoder_bench.json" > "$out/encoder_bench.md" \
    2> "$out/encoder_bench.log"
fi
wait_idle "ds_gemm_bench"
log "GEMM bench"
"$bin/ds_gemm_bench" > "$out/gemm_bench.md" 2> "$out/gemm_bench.log"

{
  echo "# Encoder benchmark run"
  echo
  echo '```'
  cat "$out/machine.txt"
  echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
  cat "$out/idle.txt"
  [ -f "$out/contention.txt" ] && cat "$out/contention.txt"
  echo '```'
  echo
  echo "## Ours vs ONNX Runtime and PyTorch (T=128, $rounds rounds)"
  echo
  cat "$out/comparison.md"
  echo
  echo "## ds_encoder_bench"
  echo
  cat "$out/encoder_bench.md"
  echo
  echo "## ds_gemm_bench"
  echo
  cat "$out/gemm_bench.md"
} > "$out/summary.md"
cat "$out/summary.md"
log "done: $out/summary.md"
