#!/usr/bin/env bash
# Trains the bilingual SentencePiece tokenizer and measures it on held-out text from every domain.
# usage: model/training/train_tokenizer.sh [DATA_DIR] [VOCAB_SIZE] [OUT_MODEL]
#   defaults: ../shared/data, 16000, data/models/tokenizer.model
# Prints one line per held-out set: name, characters, tokens, tokens/char, unknown tokens.
# Normalization is left to the ICU stage (identity rules here), so token offsets stay exact.
set -euo pipefail
cd "$(dirname "$0")/../.."
data="${1:-../shared/data}"
vocab="${2:-16000}"
out="${3:-data/models/tokenizer.model}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 model/training/make_tokenizer_corpus.py "$data" "$work/train.txt" "$work/heldout"
spm_train --input="$work/train.txt" --model_prefix="$work/tokenizer" --vocab_size="$vocab" \
  --model_type=unigram --character_coverage=0.9995 --byte_fallback=true \
  --normalization_rule_name=identity --remove_extra_whitespaces=false --split_digits=true \
  --pad_id=0 --unk_id=1 --bos_id=2 --eos_id=3 --control_symbols='<mask>,<cls>,<sep>' \
  --input_sentence_size=400000 --shuffle_input_sentence=true --max_sentence_length=8192 \
  --num_threads="$(nproc)" --minloglevel=1
cp "$work/tokenizer.model" "$out"
for f in "$work"/heldout.*.txt; do
  chars=$(/usr/bin/python3 -c "import sys; print(sum(len(l.rstrip('\n')) for l in open(sys.argv[1], encoding='utf-8')))" "$f")
  ids=$(spm_encode --model="$out" --output_format=id < "$f")
  toks=$(echo "$ids" | wc -w)
  unk=$(echo "$ids" | tr ' ' '\n' | grep -cx 1 || true)
  echo "$(basename "$f" .txt | sed 's/heldout.//') $chars $toks $(/usr/bin/python3 -c "print(round($toks/$chars, 3))") $unk"
done
