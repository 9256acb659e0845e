#!/usr/bin/env bash
# Scores the legal pipeline (legal-extract with the shipped legal model) on the CUAD dev split and on
# the Chinese sample contracts, per computation path, and times it: the numbers of
# data/models/legal-small.md and bench/RESULTS.md.
#
#   bash bench/legal_eval.sh [OUT]          # default OUT: runs/legal-eval
#   PATHS=standard DS_LEGAL_MODEL=M DS_LEGAL_CALIBRATION=C bash bench/legal_eval.sh OUT   # one path, another model
#
# Needs: a release build (build/release/bin/{legal-extract,deepseek}) and ../shared/data (CUAD).
# CUAD dev contracts are decompressed into OUT/cuad-dev/<id>.txt; each path runs on a fresh
# database with --min-confidence 0.01 (every candidate with its confidence, as AUPR needs), then
# `deepseek eval legal` scores the rows. /usr/bin/time gives wall time and peak memory.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/legal-eval}
CUAD=../shared/data/legal/cuad
BIN=build/release/bin
mkdir -p "$OUT/cuad-dev"

# The dev contracts (index.tsv: id, split, ...).
awk -F'\t' 'NR > 1 && $2 == "dev" {print $1}' "$CUAD/index.tsv" > "$OUT/cuad-dev.ids"
while read -r id; do
  [ -s "$OUT/cuad-dev/$id.txt" ] || zcat "$CUAD/contracts/$id.txt.gz" > "$OUT/cuad-dev/$id.txt"
done < "$OUT/cuad-dev.ids"
bytes=$(cat "$OUT"/cuad-dev/*.txt | wc -c)
echo "CUAD dev: $(wc -l < "$OUT/cuad-dev.ids") contracts, $bytes bytes"

# Chinese dev split: the project's own Chinese sample contracts with gold labels.
/usr/bin/python3 - "$OUT/zh.ids" <<'EOF'
import json, sys
ids = [r["id"] for r in map(json.loads, open("data/samples/legal/labels.jsonl", encoding="utf-8")) if r.get("lang") == "zh"]
open(sys.argv[1], "w", encoding="utf-8").write("\n".join(ids) + "\n")
EOF

for path in ${PATHS:-light standard heavy}; do
  rm -f "$OUT/cuad-$path.db"*
  /usr/bin/time -v "$BIN/legal-extract" --db "$OUT/cuad-$path.db" --path "$path" --min-confidence 0.01 \
      --threads 2 --progress log --jsonl "$OUT/cuad-$path.jsonl" --json "$OUT/cuad-dev" \
      > "$OUT/cuad-$path.summary.json" 2> "$OUT/cuad-$path.time.txt" || true
  "$BIN/deepseek" eval legal --gold "$CUAD/labels.jsonl.gz" --split dev --pred "$OUT/cuad-$path.jsonl" \
      --json > "$OUT/cuad-$path.eval.json"
  "$BIN/deepseek" eval legal --gold "$CUAD/labels.jsonl.gz" --split dev --pred "$OUT/cuad-$path.jsonl" \
      > "$OUT/cuad-$path.eval.txt"
  wall=$(grep "Elapsed (wall" "$OUT/cuad-$path.time.txt" | awk '{print $NF}')
  rss=$(grep "Maximum resident" "$OUT/cuad-$path.time.txt" | awk '{print $NF}')
  echo "== $path: wall $wall, peak RSS ${rss} KiB"
  grep -E "^(macro|micro)" "$OUT/cuad-$path.eval.txt" || tail -3 "$OUT/cuad-$path.eval.txt"

  rm -f "$OUT/zh-$path.db"*
  "$BIN/legal-extract" --db "$OUT/zh-$path.db" --path "$path" --min-confidence 0.01 --threads 2 --progress none \
      --jsonl "$OUT/zh-$path.jsonl" data/samples/legal/zh data/samples/zh > /dev/null || true
  "$BIN/deepseek" eval legal --gold data/samples/legal/labels.jsonl --ids "$OUT/zh.ids" --min-gold 3 \
      --pred "$OUT/zh-$path.jsonl" --json > "$OUT/zh-$path.eval.json"
  "$BIN/deepseek" eval legal --gold data/samples/legal/labels.jsonl --ids "$OUT/zh.ids" --min-gold 3 \
      --pred "$OUT/zh-$path.jsonl" > "$OUT/zh-$path.eval.txt"
  echo "   Chinese samples:"; grep -E "^(macro|micro)" "$OUT/zh-$path.eval.txt" || tail -3 "$OUT/zh-$path.eval.txt"
done
