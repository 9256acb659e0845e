#!/usr/bin/env python3
"""Builds the mixed bilingual corpus the SentencePiece tokenizer is trained on.

Reads the public data sets under ../shared/data (never copied into the project), takes every
non-empty line, shuffles with a fixed seed, and writes one sentence per line. Holds out the lines of
every 20th document for measuring tokens per character.

usage: make_tokenizer_corpus.py DATA_DIR OUT_TRAIN OUT_HELDOUT_PREFIX
"""
import glob
import gzip
import json
import os
import random
import sys


def lines_of_text(text):
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if len(line) >= 2:
            yield line[:2000]


def documents(data):
    """Yields (domain, lang, text) for every document of every set."""
    for path in sorted(glob.glob(os.path.join(data, "legal/cuad/contracts/*.txt.gz"))):
        with gzip.open(path, "rt", encoding="utf-8", errors="replace") as f:
            yield "legal", "en", f.read()
    for path in sorted(glob.glob(os.path.join(data, "legal/zh-contracts-tongda/contracts/*.txt"))):
        with open(path, encoding="utf-8", errors="replace") as f:
            yield "legal", "zh", f.read()
    with gzip.open(os.path.join(data, "legal/zh-laws-lawrefbook/laws.jsonl.gz"), "rt", encoding="utf-8") as f:
        for line in f:
            yield "law", "zh", json.loads(line)["text"]
    for name in ["cblue_kuake_qic/KUAKE-QIC_train.json.gz", "cblue_kuake_qtr/KUAKE-QTR_train.json.gz",
                 "cblue_kuake_qqr/KUAKE-QQR_train.json.gz", "cblue_chip_sts/CHIP-STS_train.json.gz",
                 "cmid/CMID_train.json.gz"]:
        path = os.path.join(data, "medical", name)
        if not os.path.exists(path):
            continue
        with gzip.open(path, "rt", encoding="utf-8") as f:
            items = json.load(f)
        for item in items:
            parts = [v for k, v in item.items() if isinstance(v, str) and k not in ("id", "label") and len(v) > 1]
            yield "medical", "zh", "\n".join(parts)
    medquad = os.path.join(data, "medical/medquad/medquad_xml.tar.xz")
    if os.path.exists(medquad):
        import re
        import tarfile
        with tarfile.open(medquad) as tar:
            for member in tar:
                if member.isfile() and member.name.endswith(".xml"):
                    xml = tar.extractfile(member).read().decode("utf-8", "replace")
                    text = "\n".join(re.findall(r"<(?:Question|Answer)[^>]*>(.*?)</(?:Question|Answer)>", xml, re.S))
                    yield "medical", "en", text


def main():
    data, out_train, out_heldout = sys.argv[1], sys.argv[2], sys.argv[3]
    rng = random.Random(1234)
    train = []
    heldout = {}
    for i, (domain, lang, text) in enumerate(documents(data)):
        lines = list(lines_of_text(text))
        if i % 20 == 0:
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
