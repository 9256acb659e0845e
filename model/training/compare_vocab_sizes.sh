#!/usr/bin/env bash
# Trains the tokenizer at several vocabulary sizes and prints a markdown table of tokens per character
# on every held-out set, so the shipped size is chosen by measurement (data/models/TOKENIZER.md).
# usage: model/training/compare_vocab_sizes.sh [DATA_DIR] [SIZE...]   (default sizes 8000 16000 24000 32000)
set -euo pipefail
cd "$(dirname "$0")/../.."
data="${1:-../shared/data}"
shift || true
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(8000 16000 24000 32000)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for v in "${sizes[@]}"; do
  echo "[vocab] training $v" >&2
  bash model/training/train_tokenizer.sh "$data" "$v" "$work/tok-$v.model" | grep -E "^[a-z-]+ [0-9]+ [0-9]+ " > "$work/tok-$v.txt"
done
printf '| held-out set |'; for v in "${sizes[@]}"; do printf ' %s |' "$v"; done; echo
printf '| --- |'; for v in "${sizes[@]}"; do printf ' ---: |'; done; echo
for set in $(cut -d' ' -f1 "$work/tok-${sizes[0]}.txt"); do
  printf '| %s |' "$set"
  for v in "${sizes[@]}"; do
    printf ' %s (unk %s) |' "$(grep "^$set " "$work/tok-$v.txt" | cut -d' ' -f4)" "$(grep "^$set " "$work/tok-$v.txt" | cut -d' ' -f5)"
  done
  echo
done
