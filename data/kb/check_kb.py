#!/usr/bin/python3
"""Validate the medical knowledge base in data/kb/entries/ and print its counts.

Usage:
    /usr/bin/python3 data/kb/check_kb.py [--entries DIR] [--quiet] [--markdown]

Loads every *.yaml file under the entries folder (each file is a YAML list of entries),
checks the fields described in data/kb/schema.md, and prints a table of counts per
language, department and usual urgency. Exit status: 0 when the KB is valid, 1 when
any error was found, 2 when the files cannot be read at all.
"""

import argparse
import datetime
import os
import re
import sys
from collections import Counter, defaultdict

try:
    import yaml
except ImportError:  # the KB is YAML; without PyYAML there is nothing to check
    sys.stderr.write("[kb.check] PyYAML is not installed for this Python; install python3-yaml\n")
    sys.exit(2)

LANGS = ("zh", "en")
DEPARTMENTS = (
    "emergency", "cardiology", "respiratory", "gastroenterology", "neurology",
    "endocrinology", "general_surgery", "orthopedics", "obgyn", "pediatrics",
    "dermatology", "ent", "ophthalmology", "stomatology", "psychiatry", "urology",
    "infectious_disease", "general_practice",
)
URGENCIES = ("emergency", "urgent", "routine", "self_care")  # most to least urgent
DOCTOR_LEVELS = ("emergency", "urgent", "routine")

REQUIRED = {
    "id": str, "lang": str, "title": str, "aliases": list, "symptoms": list,
    "self_care": list, "see_doctor_when": list, "department": str,
    "usual_urgency": str, "red_flags": list, "source": str, "reviewer": str,
    "updated": str,
}
OPTIONAL = {"translation_of": str}
STRING_LISTS = ("aliases", "symptoms", "self_care", "red_flags")

ID_RE = re.compile(r"^kb-[a-z]+-[0-9]{3}$")
DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
CJK_RE = re.compile(r"[\u3400-\u9fff]")
# 120 / 911 as phone numbers, not as part of "180/120", "100 to 120 times" or "120 小时".
PHONE_120_RE = re.compile(r"(?<![\d/.])120(?![\d/]|\.\d|\s*(?:小时|次|hours?|times))")
PHONE_911_RE = re.compile(r"(?<![\d/.])911(?![\d/]|\.\d)")
# Lines an entry in psychiatry must point to, so no mental-health answer lacks a crisis line.
CRISIS_LINES = ("988", "400-161-9995", "010-82951332", "12356")


def load_entries(entries_dir, errors):
    """Returns [(file name, index in file, entry dict)] for every entry in every file."""
    loaded = []
    files = sorted(f for f in os.listdir(entries_dir) if f.endswith((".yaml", ".yml")))
    if not files:
        errors.append(f"{entries_dir}: no .yaml files")
    for name in files:
        path = os.path.join(entries_dir, name)
        try:
            with open(path, encoding="utf-8") as f:
                data = yaml.safe_load(f)
        except (yaml.YAMLError, UnicodeDecodeError) as e:
            errors.append(f"{name}: cannot parse: {e}")
            continue
        if not isinstance(data, list):
            errors.append(f"{name}: top level must be a list of entries")
            continue
        for i, entry in enumerate(data):
            loaded.append((name, i, entry))
    return loaded


def check_entry(where, e, errors):
    if not isinstance(e, dict):
        errors.append(f"{where}: entry is not a mapping")
        return False
    for key in e:
        if key not in REQUIRED and key not in OPTIONAL:
            errors.append(f"{where}: unknown field '{key}'")
    ok = True
    for key, typ in REQUIRED.items():
        if key not in e:
            errors.append(f"{where}: missing field '{key}'")
            ok = False
            continue
        value = e[key]
        if key == "updated" and isinstance(value, datetime.date):
            value = e[key] = value.isoformat()  # unquoted dates parse as date objects
        if not isinstance(value, typ):
            errors.append(f"{where}: '{key}' must be a {typ.__name__}")
            ok = False
        elif typ is str and not value.strip():
            errors.append(f"{where}: '{key}' is empty")
        elif typ is list and not value:
            errors.append(f"{where}: '{key}' is an empty list")
    if not ok:
        return False

    if not ID_RE.match(e["id"]):
        errors.append(f"{where}: id '{e['id']}' does not match kb-<area>-<nnn>")
    if e["lang"] not in LANGS:
        errors.append(f"{where}: lang '{e['lang']}' not in {LANGS}")
    if e["department"] not in DEPARTMENTS:
        errors.append(f"{where}: department '{e['department']}' not allowed")
    if e["usual_urgency"] not in URGENCIES:
        errors.append(f"{where}: usual_urgency '{e['usual_urgency']}' not in {URGENCIES}")
    if not DATE_RE.match(e["updated"]):
        errors.append(f"{where}: updated '{e['updated']}' is not YYYY-MM-DD")
    if "translation_of" in e and not isinstance(e["translation_of"], str):
        errors.append(f"{where}: translation_of must be a string id")

    for key in STRING_LISTS:
        for j, item in enumerate(e[key]):
            if not isinstance(item, str) or not item.strip():
                errors.append(f"{where}: {key}[{j}] must be a non-empty string")
    if len(set(map(str, e["aliases"]))) != len(e["aliases"]):
        errors.append(f"{where}: duplicate alias")

    levels = []
    for j, item in enumerate(e["see_doctor_when"]):
        if (not isinstance(item, dict) or set(item) != {"level", "when"}
                or not isinstance(item.get("when"), str) or not item["when"].strip()):
            errors.append(f"{where}: see_doctor_when[{j}] must be a mapping with 'level' and 'when'")
            continue
        if item["level"] not in DOCTOR_LEVELS:
            errors.append(f"{where}: see_doctor_when[{j}].level '{item['level']}' not in {DOCTOR_LEVELS}")
        levels.append(item["level"])

    # The language field must match the text, so a retriever filtering by lang gets the right text.
    text = " ".join(str(x) for x in [e["title"]] + e["symptoms"] + e["self_care"])
    has_cjk = bool(CJK_RE.search(text))
    if e["lang"] == "zh" and not has_cjk:
        errors.append(f"{where}: lang is zh but title/symptoms/self_care have no Chinese text")
    if e["lang"] == "en" and CJK_RE.search(e["title"]):
        errors.append(f"{where}: lang is en but the title is Chinese")

    if e["usual_urgency"] == "emergency":
        first = e["self_care"][0] if e["self_care"] else ""
        if not isinstance(first, str) or not PHONE_120_RE.search(first) or not PHONE_911_RE.search(first):
            errors.append(f"{where}: emergency entry must start self_care with calling 120 and 911")
        if "emergency" not in levels:
            errors.append(f"{where}: emergency entry has no see_doctor_when item at level emergency")
    if e["department"] == "psychiatry":
        blob = " ".join(str(x) for x in e["self_care"] + [i.get("when") for i in e["see_doctor_when"]
                                                          if isinstance(i, dict)])
        if not any(line in blob for line in CRISIS_LINES):
            errors.append(f"{where}: psychiatry entry must name a crisis line ({', '.join(CRISIS_LINES)})")
    return True


def check_links(entries, errors):
    by_id = {}
    for where, e in entries:
        if e["id"] in by_id:
            errors.append(f"{where}: duplicate id '{e['id']}' (first in {by_id[e['id']][0]})")
        else:
            by_id[e["id"]] = (where, e)
    seen_pairs = set()
    for where, e in entries:
        target_id = e.get("translation_of")
        if target_id is None:
            continue
        if target_id not in by_id:
            errors.append(f"{where}: translation_of '{target_id}' does not exist")
            continue
        _, t = by_id[target_id]
        if t["lang"] == e["lang"]:
            errors.append(f"{where}: translation_of '{target_id}' has the same language")
        if "translation_of" in t:
            errors.append(f"{where}: translation_of '{target_id}' is itself a translation; link to the original")
        if (target_id, e["lang"]) in seen_pairs:
            errors.append(f"{where}: '{target_id}' already has a {e['lang']} translation")
        seen_pairs.add((target_id, e["lang"]))
        # A topic must triage the same way in both languages.
        for key in ("department", "usual_urgency"):
            if t[key] != e[key]:
                errors.append(f"{where}: {key} '{e[key]}' differs from '{t[key]}' in {target_id}")
        if sorted(levels_of(e)) != sorted(levels_of(t)):
            errors.append(f"{where}: see_doctor_when levels {sorted(levels_of(e))} differ from "
                          f"{sorted(levels_of(t))} in {target_id}")
    return by_id


def levels_of(e):
    return [i.get("level") for i in e["see_doctor_when"] if isinstance(i, dict)]


def department_warnings(here):
    """The department keys must match data/medical/departments.tsv when that file exists."""
    path = os.path.join(here, "..", "medical", "departments.tsv")
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        ids = [line.split("\t", 1)[0] for line in f.read().splitlines()[1:] if line.strip()]
    if sorted(ids) == sorted(DEPARTMENTS):
        return []
    return [f"department keys differ from {os.path.normpath(path)}: only here "
            f"{sorted(set(DEPARTMENTS) - set(ids))}, only there {sorted(set(ids) - set(DEPARTMENTS))}"]


def alias_warnings(entries):
    """The same alias on two entries of one language makes retrieval ambiguous; warn, do not fail."""
    owners = defaultdict(list)
    for _, e in entries:
        for a in e["aliases"]:
            if isinstance(a, str):
                owners[(e["lang"], a.strip().lower())].append(e["id"])
    return [f"alias '{a}' ({lang}) is on {', '.join(ids)}"
            for (lang, a), ids in sorted(owners.items()) if len(ids) > 1]


def print_counts(entries, markdown=False):
    langs = list(LANGS)
    by_lang = Counter(e["lang"] for _, e in entries)
    dept = defaultdict(Counter)
    urg = defaultdict(Counter)
    files = defaultdict(Counter)
    for where, e in entries:
        dept[e["department"]][e["lang"]] += 1
        urg[e["usual_urgency"]][e["lang"]] += 1
        files[where.split(":")[0]][e["lang"]] += 1
    translated = sum(1 for _, e in entries if "translation_of" in e)
    reviewed = sum(1 for _, e in entries if e["reviewer"] != "unreviewed")

    def table(title, rows, order):
        if markdown:
            print(f"\n| {title} | " + " | ".join(langs) + " | total |")
            print("| --- |" + " ---: |" * (len(langs) + 1))
            for key in order:
                if key in rows:
                    c = rows[key]
                    print(f"| `{key}` | " + " | ".join(str(c[l]) for l in langs) + f" | {sum(c.values())} |")
            total = [sum(rows[k][l] for k in rows) for l in langs]
            print("| **all** | " + " | ".join(map(str, total)) + f" | {sum(total)} |")
            return
        print(f"\n{title:<22}" + "".join(f"{l:>6}" for l in langs) + f"{'total':>7}")
        for key in order:
            if key in rows:
                c = rows[key]
                print(f"  {key:<20}" + "".join(f"{c[l]:>6}" for l in langs) + f"{sum(c.values()):>7}")

    print(f"entries: {len(entries)}  " + "  ".join(f"{l}: {by_lang[l]}" for l in langs)
          + f"  linked translations: {translated}  clinically reviewed: {reviewed}")
    table("file", files, sorted(files))
    table("department", dept, DEPARTMENTS)
    table("usual_urgency", urg, URGENCIES)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entries", default=os.path.join(here, "entries"))
    ap.add_argument("--quiet", action="store_true", help="print errors only")
    ap.add_argument("--markdown", action="store_true", help="print the counts as Markdown tables")
    args = ap.parse_args()

    errors = []
    if not os.path.isdir(args.entries):
        sys.stderr.write(f"[kb.check] {args.entries}: not a folder\n")
        return 2
    loaded = load_entries(args.entries, errors)
    entries = []
    for name, i, e in loaded:
        label = e.get("id", f"#{i}") if isinstance(e, dict) else f"#{i}"
        where = f"{name}:{label}"
        if check_entry(where, e, errors):
            entries.append((where, e))
    check_links(entries, errors)
    warnings = alias_warnings(entries) + department_warnings(here)

    if not args.quiet:
        print_counts(entries, markdown=args.markdown)
    for msg in warnings:
        sys.stderr.write(f"[kb.check] warning: {msg}\n")
    for msg in errors:
        sys.stderr.write(f"[kb.check] {msg}\n")
    if errors:
        sys.stderr.write(f"[kb.check] {len(errors)} error(s)\n")
        return 1
    if not args.quiet and not args.markdown:
        print("\nOK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
