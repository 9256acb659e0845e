#!/usr/bin/python3
"""Validate data/medical/triage/questions.jsonl and print its counts (level x language x split).

Standard library only. Checks: one JSON object per line with the documented fields; ids unique and
shaped tq-<lang>-NNNN; lang matches the id and the text's script; triage level, department and
red-flag ids from the fixed vocabularies (departments.tsv, red_flags.yaml); label consistency (an
emergency red flag implies triage emergency, an urgent one at least urgent; department emergency
exactly when triage is emergency); no duplicate texts; split equal to the stable hash of the id.

  check_questions.py                  validate, print tables; exit 1 on any error
  check_questions.py --assign-split   (re)write every item's split from its id, then validate

The split never changes for an id: dev when sha256("triage-split-v161:" + id) mod 4 == 0, else train
(about 25% dev in every level x language stratum; the tables show how close each stratum is). The
salt was chosen once, when the file had 613 items, as the one among v1..v199 that put every level x
language stratum closest to 25% dev (all within 21-29%); it must not change again, or every split
moves. Items added later get the same hash rule, so strata stay near 25% in expectation.
"""
import argparse
import collections
import hashlib
import json
import os
import re
import sys
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
MEDICAL = os.path.dirname(HERE)
QUESTIONS = os.path.join(HERE, "questions.jsonl")
DEPARTMENTS = os.path.join(MEDICAL, "departments.tsv")
RED_FLAGS = os.path.join(MEDICAL, "red_flags.yaml")

LEVELS = ["emergency", "urgent", "routine", "self_care"]
LANGS = ["zh", "en"]
SPLITS = ["train", "dev"]
REQUIRED = ["id", "lang", "text", "triage", "department", "red_flags", "split"]
OPTIONAL = ["note"]
SPLIT_SALT = "triage-split-v161:"
ID_RE = re.compile(r"^tq-(zh|en)-\d{4}$")


def split_of(item_id):
    """The stable split of an id: 'dev' for about a quarter of ids, else 'train'."""
    digest = hashlib.sha256((SPLIT_SALT + item_id).encode("utf-8")).digest()
    return "dev" if int.from_bytes(digest[:8], "big") % 4 == 0 else "train"


def load_departments():
    with open(DEPARTMENTS, encoding="utf-8") as fh:
        rows = [line.rstrip("\n").split("\t") for line in fh if line.strip()]
    return [r[0] for r in rows[1:]]


def load_rule_levels():
    """Rule id -> level from red_flags.yaml, read with a regex (no YAML library needed)."""
    levels, current = {}, None
    with open(RED_FLAGS, encoding="utf-8") as fh:
        for line in fh:
            m = re.match(r"^  - id: (\S+)\s*$", line)
            if m:
                current = m.group(1)
                continue
            m = re.match(r"^    level: (emergency|urgent)\s*$", line)
            if m and current:
                levels[current] = m.group(1)
                current = None
    return levels


def is_han(ch):
    return "CJK UNIFIED" in unicodedata.name(ch, "")


def norm_text(text):
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", text).lower())


def read_items(path):
    items, errors = [], []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                errors.append(f"line {n}: empty line")
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as e:
                errors.append(f"line {n}: bad JSON ({e})")
                continue
            if not isinstance(item, dict):
                errors.append(f"line {n}: not a JSON object")
                continue
            items.append((n, item))
    return items, errors


def validate(items, departments, rule_levels):
    errors = []
    seen_ids, seen_texts = {}, {}
    rank = {lv: i for i, lv in enumerate(LEVELS)}
    for n, it in items:
        where = f"line {n} ({it.get('id', '?')})"
        missing = [k for k in REQUIRED if k not in it]
        extra = [k for k in it if k not in REQUIRED + OPTIONAL]
        if missing:
            errors.append(f"{where}: missing {missing}")
            continue
        if extra:
            errors.append(f"{where}: unknown fields {extra}")
        iid, lang, text = it["id"], it["lang"], it["text"]
        m = ID_RE.match(iid) if isinstance(iid, str) else None
        if not m:
            errors.append(f"{where}: id must look like tq-zh-0001")
        elif m.group(1) != lang:
            errors.append(f"{where}: id language {m.group(1)} != lang {lang}")
        if iid in seen_ids:
            errors.append(f"{where}: duplicate id (first on line {seen_ids[iid]})")
        seen_ids.setdefault(iid, n)
        if lang not in LANGS:
            errors.append(f"{where}: lang {lang!r} not in {LANGS}")
        if not isinstance(text, str) or not text.strip() or text != text.strip() or "\n" in text:
            errors.append(f"{where}: text must be one non-empty line without outer spaces")
            continue
        han = sum(1 for c in text if is_han(c))
        latin = sum(1 for c in text if c.isascii() and c.isalpha())
        if lang == "zh" and han == 0:
            errors.append(f"{where}: zh text has no Chinese characters")
        if lang == "en" and (latin == 0 or han > latin):
            errors.append(f"{where}: en text is not mainly Latin script")
        key = norm_text(text)
        if key in seen_texts:
            errors.append(f"{where}: duplicate text (first on line {seen_texts[key]})")
        seen_texts.setdefault(key, n)
        level, dept, flags = it["triage"], it["department"], it["red_flags"]
        if level not in LEVELS:
            errors.append(f"{where}: triage {level!r} not in {LEVELS}")
            continue
        if dept not in departments:
            errors.append(f"{where}: department {dept!r} not in departments.tsv")
        if (dept == "emergency") != (level == "emergency"):
            errors.append(f"{where}: department emergency is used exactly for triage emergency")
        if not isinstance(flags, list) or len(set(flags)) != len(flags):
            errors.append(f"{where}: red_flags must be a list without repeats")
            continue
        for flag in flags:
            if flag not in rule_levels:
                errors.append(f"{where}: red flag {flag!r} is not a rule in red_flags.yaml")
            elif rank[level] > rank[rule_levels[flag]]:
                errors.append(f"{where}: red flag {flag} ({rule_levels[flag]}) but triage {level}: rules only raise")
        if "note" in it and (not isinstance(it["note"], str) or not it["note"].strip()):
            errors.append(f"{where}: note must be a non-empty string when present")
        if it["split"] not in SPLITS:
            errors.append(f"{where}: split {it['split']!r} not in {SPLITS}")
        elif isinstance(iid, str) and it["split"] != split_of(iid):
            errors.append(f"{where}: split {it['split']} != {split_of(iid)} from the id hash (run --assign-split)")
    return errors


def print_tables(items, rule_levels):
    counts = collections.Counter((it["triage"], it["lang"], it["split"]) for _, it in items)
    total = len(items)
    print(f"questions: {total}")
    header = f"{'level':<11}" + "".join(f"{l + '/' + s:>10}" for l in LANGS for s in SPLITS) + \
        "".join(f"{l + ' all':>9}" for l in LANGS) + f"{'total':>8}{'share':>8}{'dev %':>7}"
    print(header)
    print("-" * len(header))
    col_tot = collections.Counter()
    warnings = []
    for lv in LEVELS:
        row = f"{lv:<11}"
        for lang in LANGS:
            for sp in SPLITS:
                row += f"{counts[(lv, lang, sp)]:>10}"
                col_tot[(lang, sp)] += counts[(lv, lang, sp)]
        lv_total = 0
        for lang in LANGS:
            n = counts[(lv, lang, "train")] + counts[(lv, lang, "dev")]
            lv_total += n
            row += f"{n:>9}"
            if n and not 0.15 <= counts[(lv, lang, "dev")] / n <= 0.35:
                warnings.append(f"{lv}/{lang}: dev share {counts[(lv, lang, 'dev')] / n:.0%} outside 15-35%")
        dev = sum(counts[(lv, lang, "dev")] for lang in LANGS)
        row += f"{lv_total:>8}{lv_total / max(total, 1):>8.0%}{dev / max(lv_total, 1):>7.0%}"
        print(row)
    print("-" * len(header))
    row = f"{'total':<11}" + "".join(f"{col_tot[(l, s)]:>10}" for l in LANGS for s in SPLITS)
    row += "".join(f"{col_tot[(l, 'train')] + col_tot[(l, 'dev')]:>9}" for l in LANGS)
    dev_all = sum(col_tot[(l, 'dev')] for l in LANGS)
    row += f"{total:>8}{'':>8}{dev_all / max(total, 1):>7.0%}"
    print(row)

    flag_counts = collections.Counter(f for _, it in items for f in it["red_flags"])
    print("\nred-flag labels (items per rule; rules with no item are listed too):")
    for rule in sorted(rule_levels, key=lambda r: (rule_levels[r], r)):
        print(f"  {rule:<24}{rule_levels[rule]:<11}{flag_counts[rule]:>4}")
    no_flag_emergency = sum(1 for _, it in items if it["triage"] == "emergency" and not it["red_flags"])
    print(f"emergency items without a red-flag label (clinical judgement only): {no_flag_emergency}")

    dept_counts = collections.Counter(it["department"] for _, it in items)
    print("\ndepartments: " + ", ".join(f"{d} {c}" for d, c in dept_counts.most_common()))

    short = sum(1 for _, it in items if (len(it["text"]) <= 8 if it["lang"] == "zh" else len(it["text"].split()) <= 4))
    long_ = sum(1 for _, it in items if (len(it["text"]) >= 60 if it["lang"] == "zh" else len(it["text"].split()) >= 30))
    noted = sum(1 for _, it in items if "note" in it)
    print(f"short texts: {short}, long texts: {long_}, items with a note: {noted}")
    return warnings


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--file", default=QUESTIONS)
    ap.add_argument("--assign-split", action="store_true", help="rewrite split fields from the id hash")
    args = ap.parse_args()

    items, errors = read_items(args.file)
    if args.assign_split and not errors:
        order = REQUIRED[:-1] + OPTIONAL + ["split"]
        with open(args.file, "w", encoding="utf-8") as fh:
            for _, it in items:
                it["split"] = split_of(it["id"])
                fh.write(json.dumps({k: it[k] for k in order if k in it}, ensure_ascii=False) + "\n")
        items, errors = read_items(args.file)

    departments, rule_levels = load_departments(), load_rule_levels()
    if len(departments) != 18:
        errors.append(f"departments.tsv: expected 18 departments, found {len(departments)}")
    if not rule_levels:
        errors.append("red_flags.yaml: no rules found")
    errors += validate(items, departments, rule_levels)
    if errors:
        for e in errors:
            print("ERROR", e)
        print(f"{len(errors)} error(s)")
        return 1
    warnings = print_tables(items, rule_levels)
    total = len(items)
    emergency = sum(1 for _, it in items if it["triage"] == "emergency")
    if emergency / max(total, 1) < 0.20:
        warnings.append(f"emergency share {emergency / total:.0%} below 20%")
    for w in warnings:
        print("WARNING", w)
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
