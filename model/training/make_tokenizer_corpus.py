#!/usr/bin/env python3
"""Builds the mixed bilingual corpus the SentencePiece tokenizer is trained on.

Reads the public data sets under ../shared/data (never copied into the project; the readers are in
corpora.py), takes every non-empty line, shuffles with a fixed seed, and writes one sentence per line.
Holds out the lines of every 20th document (corpora.is_heldout) for measuring tokens per character.

usage: make_tokenizer_corpus.py DATA_DIR OUT_TRAIN OUT_HELDOUT_PREFIX
"""
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from corpora import documents, is_heldout  # noqa: E402


def lines_of_text(text):
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if len(line) >= 2:
            yield line[:2000]


def main():
    data, out_train, out_heldout = sys.argv[1], sys.argv[2], sys.argv[3]
    rng = random.Random(1234)
    train = []
    heldout = {}
    for i, (domain, lang, text) in enumerate(documents(data)):
        lines = list(lines_of_text(text))
        if is_heldout(i):
            heldout.setdefault(f"{domain}-{lang}", []).extend(lines)
        else:
            train.extend(lines)
    rng.shuffle(train)
    with open(out_train, "w", encoding="utf-8") as f:
        f.write("\n".join(train) + "\n")
    for key, lines in heldout.items():
        with open(f"{out_heldout}.{key}.txt", "w", encoding="utf-8") as f:
            f.write("\n".join(lines[:5000]) + "\n")
    print(f"train lines: {len(train)}; held-out sets: " + ", ".join(f"{k}={len(v)}" for k, v in heldout.items()))


if __name__ == "__main__":
    main()
