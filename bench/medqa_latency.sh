#!/usr/bin/env bash
# medqa latency per question, per computation path: every text of data/medical/triage/questions.jsonl
# piped through `medqa --json --path P` (one process per path: the model loads once, then 673
# questions, one at a time, as a console user would ask them). latency_ms is medqa's own clock
# around the pipeline's stages for one question (decode .. medical.triage / medical.answer), without
# reading the line and printing the answer; "wall" is the whole process, model loading included.
#
#   bench/medqa_latency.sh [--model FILE] [--kb FILE] [--rounds N] [--paths "light standard heavy"]
#
# Needs build/release/bin/medqa and deepseek, and the medical model (default:
# data/models/medical-small.safetensors, else runs/medical-dev/medical-dev.safetensors, else
# $DS_MEDICAL_MODEL). Without --kb a knowledge base is built for the model into a temporary folder
# (`deepseek kb build --model`, about 2 s). Prints a Markdown table;
# with --rounds N each path runs N times and the table shows each round (the machine is shared:
# compare paths within a round).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
medqa=${MEDQA:-$root/build/release/bin/medqa}
questions=$root/data/medical/triage/questions.jsonl
model=""
kb=""
rounds=1
paths="light standard heavy"
while [[ $# -gt 0 ]]; do
  case $1 in
    --model) model=$2; shift 2 ;;
    --kb) kb=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --paths) paths=$2; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "medqa_latency.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [[ -z $model ]]; then
  for m in "$root/data/models/medical-small.safetensors" "$root/runs/medical-dev/medical-dev.safetensors" "${DS_MEDICAL_MODEL:-}"; do
    if [[ -n $m && -f $m ]]; then model=$m; break; fi
  done
fi
[[ -x $medqa ]] || { echo "medqa_latency.sh: no $medqa (cmake --build build/release --target medqa)" >&2; exit 1; }
[[ -f $model ]] || { echo "medqa_latency.sh: no medical model (give --model FILE)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 -c 'import json,sys
for line in open(sys.argv[1], encoding="utf-8"): print(json.loads(line)["text"])' "$questions" > "$tmp/questions.txt"
n=$(wc -l < "$tmp/questions.txt")
if [[ -z $kb ]]; then
  kb=$tmp/kb.sqlite
  "$root/build/release/bin/deepseek" kb build --threads 1 --model "$model" --out "$kb" > /dev/null 2> "$tmp/kb.err" || {
    echo "medqa_latency.sh: deepseek kb build failed:" >&2; cat "$tmp/kb.err" >&2; exit 1; }
fi

echo "medqa latency: $n questions ($(basename "$questions")), model $(basename "$model"), $(nproc) CPUs, $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "| round | path | questions | mean ms | p50 ms | p99 ms | max ms | model.encode mean ms | medical.answer mean ms | wall s (model load included) |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for ((r = 1; r <= rounds; r++)); do
  for p in $paths; do
    start=$(date +%s.%N)
    "$medqa" --json --path "$p" --model "$model" --kb "$kb" < "$tmp/questions.txt" > "$tmp/out.jsonl" 2> "$tmp/err.txt" || {
      echo "medqa failed on path $p:" >&2; cat "$tmp/err.txt" >&2; exit 1; }
    end=$(date +%s.%N)
    /usr/bin/python3 - "$tmp/out.jsonl" "$r" "$p" "$start" "$end" <<'PY'
import json, math, sys
rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
ms = sorted(r["latency_ms"] for r in rows if "latency_ms" in r and "error" not in r)
def pct(q):  # nearest rank
    return ms[max(0, math.ceil(q * len(ms)) - 1)]
wall = float(sys.argv[5]) - float(sys.argv[4])
def stage_mean(name):
    v = [r["stage_ms"][name] for r in rows if name in r.get("stage_ms", {})]
    return f"{sum(v)/len(v):.2f}" if v else "-"
print(f"| {sys.argv[2]} | {sys.argv[3]} | {len(ms)} | {sum(ms)/len(ms):.2f} | {pct(0.5):.2f} | {pct(0.99):.2f} | "
      f"{ms[-1]:.2f} | {stage_mean('model.encode')} | {stage_mean('medical.answer')} | {wall:.1f} |")
PY
  done
done
