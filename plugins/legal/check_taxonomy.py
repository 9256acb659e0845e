#!/usr/bin/python3
"""Checks plugins/legal/taxonomy.tsv and plugins/legal/cuad_map.tsv (stdlib only).

    /usr/bin/python3 plugins/legal/check_taxonomy.py [--cuad-labels PATH] [--dir DIR]

Checks:
  * both files have the expected header and the same number of fields on every row;
  * taxonomy ids are unique, lower_snake_case, art470 is empty or 1..8, and every Art. 470 item 1..8
    is covered by at least one id;
  * all 41 CUAD category names appear in cuad_map.tsv exactly once, spelled exactly as in CUAD, and no
    other name appears. The names are read from the CUAD gold file (first record of labels.jsonl.gz)
    when it is found, otherwise from CUAD_CATEGORIES below; when both exist they must agree;
  * every id in cuad_map.tsv exists in taxonomy.tsv;
  * the `cuad` column of taxonomy.tsv is exactly the inverse of cuad_map.tsv (a CUAD name is listed
    under the id it maps to, and nowhere else).
Exit status 0 when everything holds, 1 otherwise (each problem is printed on stderr).
"""
import argparse
import gzip
import json
import os
import re
import sys

# CUAD v1 category names as spelled in master_clauses.csv and in the project's labels.jsonl.gz.
# (category_descriptions.csv spells some of them differently, e.g. "IP Ownership Assignment",
# "Notice Period to Terminate Renewal"; the master CSV spelling is the one used in gold files.)
CUAD_CATEGORIES = [
    "Document Name", "Parties", "Agreement Date", "Effective Date", "Expiration Date", "Renewal Term",
    "Notice Period To Terminate Renewal", "Governing Law", "Most Favored Nation",
    "Competitive Restriction Exception", "Non-Compete", "Exclusivity", "No-Solicit Of Customers",
    "No-Solicit Of Employees", "Non-Disparagement", "Termination For Convenience", "Rofr/Rofo/Rofn",
    "Change Of Control", "Anti-Assignment", "Revenue/Profit Sharing", "Price Restrictions",
    "Minimum Commitment", "Volume Restriction", "Ip Ownership Assignment", "Joint Ip Ownership",
    "License Grant", "Non-Transferable License", "Affiliate License-Licensor", "Affiliate License-Licensee",
    "Unlimited/All-You-Can-Eat-License", "Irrevocable Or Perpetual License", "Source Code Escrow",
    "Post-Termination Services", "Audit Rights", "Uncapped Liability", "Cap On Liability",
    "Liquidated Damages", "Warranty Duration", "Insurance", "Covenant Not To Sue", "Third Party Beneficiary",
]

TAXONOMY_HEADER = ["id", "label", "label_zh", "art470", "cuad", "value_type"]
CUAD_MAP_HEADER = ["cuad", "id", "cuad_answer", "note"]
DEFAULT_CUAD_LABELS = [
    "shared/data/legal/cuad/labels.jsonl.gz",  # relative to the repository root
    "/work/shared/data/legal/cuad/labels.jsonl.gz",
]

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def read_tsv(path, header, errors):
    """Rows after the header line; blank and '#' comment lines are skipped, as the plug-in's
    reader (taxonomy.cc) does."""
    rows = []
    with open(path, encoding="utf-8") as f:
        numbered = [(n, l) for n, l in enumerate(f.read().split("\n"), start=1)
                    if l.strip() and not l.startswith("#")]
    if not numbered or numbered[0][1].split("\t") != header:
        errors.append(f"{path}: header must be {'<TAB>'.join(header)}")
        return rows
    for n, line in numbered[1:]:
        fields = line.split("\t")
        if len(fields) != len(header):
            errors.append(f"{path}:{n}: {len(fields)} fields, expected {len(header)}")
            continue
        if any(x != x.strip() for x in fields):
            errors.append(f"{path}:{n}: a field has leading or trailing spaces")
        rows.append((n, dict(zip(header, fields))))
    return rows


def cuad_names_from_labels(path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        first = json.loads(f.readline())
    return list(first["labels"].keys())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", default=HERE, help="folder holding taxonomy.tsv and cuad_map.tsv")
    ap.add_argument("--cuad-labels", default=os.environ.get("CUAD_LABELS"),
                    help="CUAD labels.jsonl.gz to read the 41 names from (default: the shared data, if present)")
    args = ap.parse_args()
    errors = []

    # The 41 names.
    names = list(CUAD_CATEGORIES)
    source = "the list in this script"
    candidates = [args.cuad_labels] if args.cuad_labels else [
        p if os.path.isabs(p) else os.path.join(REPO, p) for p in DEFAULT_CUAD_LABELS]
    for p in candidates:
        if p and os.path.exists(p):
            from_file = cuad_names_from_labels(p)
            if sorted(from_file) != sorted(CUAD_CATEGORIES):
                errors.append(f"{p}: its category names differ from CUAD_CATEGORIES in this script: "
                              f"only in file {sorted(set(from_file) - set(CUAD_CATEGORIES))}, "
                              f"only in script {sorted(set(CUAD_CATEGORIES) - set(from_file))}")
            names, source = from_file, p
            break
        elif args.cuad_labels:
            errors.append(f"{p}: not found")
    if len(names) != 41 or len(set(names)) != 41:
        errors.append(f"expected 41 distinct CUAD names, got {len(set(names))} from {source}")

    tax_path = os.path.join(args.dir, "taxonomy.tsv")
    map_path = os.path.join(args.dir, "cuad_map.tsv")
    tax = read_tsv(tax_path, TAXONOMY_HEADER, errors)
    cmap = read_tsv(map_path, CUAD_MAP_HEADER, errors)

    # taxonomy.tsv
    ids = {}
    art470 = set()
    listed = {}  # CUAD name -> id, from the taxonomy's cuad column
    for n, r in tax:
        i = r["id"]
        if not re.fullmatch(r"[a-z][a-z0-9_]*", i):
            errors.append(f"{tax_path}:{n}: id {i!r} is not lower_snake_case")
        if i in ids:
            errors.append(f"{tax_path}:{n}: id {i!r} repeats line {ids[i]}")
        ids.setdefault(i, n)
        if not r["label"] or not r["label_zh"] or not r["value_type"]:
            errors.append(f"{tax_path}:{n}: label, label_zh and value_type must not be empty")
        if r["art470"]:
            if r["art470"] not in [str(k) for k in range(1, 9)]:
                errors.append(f"{tax_path}:{n}: art470 {r['art470']!r} is not empty or 1..8")
            art470.add(r["art470"])
        for c in filter(None, r["cuad"].split("|")):
            if c in listed:
                errors.append(f"{tax_path}:{n}: CUAD name {c!r} also listed under {listed[c]!r}")
            listed[c] = i
    missing470 = [k for k in range(1, 9) if str(k) not in art470]
    if missing470:
        errors.append(f"{tax_path}: no id for Civil Code Art. 470 item(s) {missing470}")

    # cuad_map.tsv
    mapped = {}
    for n, r in cmap:
        c, i = r["cuad"], r["id"]
        if c in mapped:
            errors.append(f"{map_path}:{n}: CUAD name {c!r} appears more than once")
        mapped[c] = i
        if c not in names:
            errors.append(f"{map_path}:{n}: {c!r} is not a CUAD category name (exact spelling)")
        if i not in ids:
            errors.append(f"{map_path}:{n}: id {i!r} does not exist in taxonomy.tsv")
    for c in names:
        if c not in mapped:
            errors.append(f"{map_path}: CUAD name {c!r} is missing")

    # consistency of the two files
    for c, i in mapped.items():
        if listed.get(c) != i:
            errors.append(f"taxonomy.tsv lists {c!r} under {listed.get(c)!r} but cuad_map.tsv maps it to {i!r}")
    for c, i in listed.items():
        if c not in mapped:
            errors.append(f"taxonomy.tsv lists {c!r} under {i!r} but cuad_map.tsv does not map it")

    for e in errors:
        print("check_taxonomy: " + e, file=sys.stderr)
    if errors:
        print(f"check_taxonomy: FAILED ({len(errors)} problem(s))", file=sys.stderr)
        return 1
    print(f"check_taxonomy: OK: {len(ids)} ids, {len(mapped)} CUAD names (from {source}), "
          f"Art. 470 items 1-8 covered")
    return 0


if __name__ == "__main__":
    sys.exit(main())
