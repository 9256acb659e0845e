#!/usr/bin/python3
"""Builds data/samples/legal/labels.jsonl (gold clause spans, CUAD gold format) from labels.src.yaml.

    /usr/bin/python3 data/samples/legal/make_labels.py            # write labels.jsonl
    /usr/bin/python3 data/samples/legal/make_labels.py --check    # exit 1 if labels.jsonl is stale
    /usr/bin/python3 data/samples/legal/make_labels.py --show ID  # print every span of one document

The source file lists, per document, category key -> quoted substrings and an optional normalised
answer. This script decodes each document the way the framework does (byte order mark first, then
strict UTF-8, else the `encoding` named in the source, else GB18030; the BOM is not part of the text),
finds every quoted substring by exact search and writes Unicode code-point offsets. It fails loudly
(exit 2, every problem listed) when a substring is not found, is found more than once without an
`occurrence`, or when a key, an answer or a file is wrong. See README.md in this folder for the rules.

Clause forms in the source (`occurrence` is 1-based and counts every match, overlapping ones too):
    - "exact text"                          exact substring, must occur exactly once
    - {text: "exact text", occurrence: 2}   the 2nd occurrence
    - {line: "start of a line"}             from this substring to the end of its line (trailing
                                            spaces excluded); `occurrence` applies to the substring
    - {from: "first words", to: "last words"}  from the start of `from` to the end of the first
                                            `to` found at or after that start (`to_occurrence: 2`:
                                            the second one)
  any form may add `value:` (a normalised value for this span, copied to the output) and `note:`
  (ignored).
"""
import argparse
import datetime
import hashlib
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
TAXONOMY = os.path.join(REPO, "plugins", "legal", "taxonomy.tsv")
CUAD_MAP = os.path.join(REPO, "plugins", "legal", "cuad_map.tsv")

# Unified ids that are plain aliases of one CUAD category (the CUAD name must be used instead), and
# the catch-all bucket that is never a label of its own.
ALIAS_IDS = {"doc_title", "parties", "sign_date", "effective", "governing_law", "liquidated", "audit", "misc_cuad"}
DATE_KEYS = {"Agreement Date", "Effective Date", "Expiration Date"}
DURATION_UNITS = {"day", "business_day", "week", "month", "year", "hour"}


class Problems(Exception):
    pass


def read_tsv(path):
    with open(path, encoding="utf-8") as f:
        lines = [l for l in f.read().split("\n") if l.strip() and not l.startswith("#")]
    header = lines[0].split("\t")
    return [dict(zip(header, l.split("\t"))) for l in lines[1:]]


def load_keys():
    tax = read_tsv(TAXONOMY)
    cmap = read_tsv(CUAD_MAP)
    cuad = [r["cuad"] for r in cmap]  # CUAD order
    cuad_answer = {r["cuad"]: r["cuad_answer"] for r in cmap}
    unified = [r["id"] for r in tax]  # taxonomy order
    return cuad, cuad_answer, unified


def decode(raw, declared):
    """Returns (text, charset). Mirrors framework/text/decode.h: BOM, strict UTF-8, then detection."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8"), "UTF-8"
    if raw.startswith(b"\xff\xfe"):
        return raw[2:].decode("utf-16-le"), "UTF-16LE"
    if raw.startswith(b"\xfe\xff"):
        return raw[2:].decode("utf-16-be"), "UTF-16BE"
    if declared:
        return raw.decode(declared), declared.upper()
    try:
        return raw.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        return raw.decode("gb18030"), "GB18030"


def find_all(text, sub):
    out, i = [], text.find(sub)
    while i >= 0:
        out.append(i)
        i = text.find(sub, i + 1)
    return out


def locate(text, sub, occurrence, where, errs):
    hits = find_all(text, sub)
    if not hits:
        errs.append(f"{where}: not found: {sub!r}")
        return None
    if occurrence is None:
        if len(hits) > 1:
            errs.append(f"{where}: found {len(hits)} times, add occurrence: {sub!r}")
            return None
        return hits[0]
    if not (1 <= occurrence <= len(hits)):
        errs.append(f"{where}: occurrence {occurrence} asked, {len(hits)} found: {sub!r}")
        return None
    return hits[occurrence - 1]


def resolve_clause(text, spec, where, errs):
    if isinstance(spec, str):
        spec = {"text": spec}
    if not isinstance(spec, dict):
        errs.append(f"{where}: a clause must be a string or a mapping, got {type(spec).__name__}")
        return None
    unknown = set(spec) - {"text", "line", "from", "to", "to_occurrence", "occurrence", "value", "note"}
    if unknown:
        errs.append(f"{where}: unknown clause field(s) {sorted(unknown)}")
        return None
    forms = [k for k in ("text", "line", "from") if k in spec]
    if len(forms) != 1:
        errs.append(f"{where}: a clause needs exactly one of text / line / from, got {forms}")
        return None
    form = forms[0]
    anchor = spec[form]
    if not isinstance(anchor, str) or not anchor:
        errs.append(f"{where}: {form} must be a non-empty string")
        return None
    occ = spec.get("occurrence")
    start = locate(text, anchor, occ, where, errs)
    if start is None:
        return None
    if form == "text":
        end = start + len(anchor)
        if "to" in spec or "to_occurrence" in spec:
            errs.append(f"{where}: `to` only goes with `from`")
            return None
    elif form == "line":
        nl = text.find("\n", start)
        end = len(text) if nl < 0 else nl
        while end > start and text[end - 1] in " \t\r\u3000":
            end -= 1
    else:
        to = spec.get("to")
        if not isinstance(to, str) or not to:
            errs.append(f"{where}: `from` needs a non-empty `to`")
            return None
        k = spec.get("to_occurrence", 1)
        hits = [h for h in find_all(text, to) if h >= start]
        if len(hits) < k:
            errs.append(f"{where}: `to` {to!r} (occurrence {k}) not found after `from` {anchor!r}")
            return None
        j = hits[k - 1]
        end = j + len(to)
    span = text[start:end]
    if span != span.strip():
        errs.append(f"{where}: span starts or ends with white space: {span[:40]!r}")
    clause = {"text": span, "start": start, "end": end}
    if "value" in spec:
        clause["value"] = normalise(spec["value"])
    return clause


def normalise(v):
    """Dates parsed by a JSON source or another YAML loader: back to ISO strings."""
    if isinstance(v, (datetime.date, datetime.datetime)):
        return v.isoformat()
    if isinstance(v, dict):
        return {str(k): normalise(x) for k, x in v.items()}
    if isinstance(v, list):
        return [normalise(x) for x in v]
    return v


def check_answer(key, ans, where, errs):
    def walk(v):
        if isinstance(v, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", v):
            try:
                datetime.date.fromisoformat(v)
            except ValueError:
                errs.append(f"{where}: {v!r} is not a valid date")
        elif isinstance(v, dict):
            if "currency" in v and not (isinstance(v.get("value"), (int, float)) or "value" not in v):
                errs.append(f"{where}: amount value must be a number: {v}")
            if "currency" in v and not re.fullmatch(r"[A-Z]{3}", str(v["currency"])):
                errs.append(f"{where}: currency must be ISO 4217: {v}")
            if (key not in ("quantity", "subject") and "unit" in v and "currency" not in v
                    and v["unit"] not in DURATION_UNITS):
                errs.append(f"{where}: duration unit {v['unit']!r} not in {sorted(DURATION_UNITS)}")
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
    walk(ans)
    if key in DATE_KEYS and isinstance(ans, str) and re.match(r"\d", ans) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", ans):
        errs.append(f"{where}: dates must be ISO (yyyy-mm-dd), got {ans!r}")


def resolve_path(rel, notes):
    p = os.path.join(REPO, rel)
    if os.path.exists(p):
        return rel
    # The sample may have been moved: look for the same file name under data/samples.
    base = os.path.basename(rel)
    found = []
    for root, _, files in os.walk(os.path.join(REPO, "data", "samples")):
        if base in files:
            found.append(os.path.relpath(os.path.join(root, base), REPO))
    if len(found) == 1:
        notes.append(f"note: {rel} not found, using {found[0]} (update labels.src.yaml)")
        return found[0]
    return None


def _strict_loader(yaml):
    """SafeLoader that keeps dates as strings (checked later) and rejects repeated mapping keys."""

    class Loader(yaml.SafeLoader):
        pass

    Loader.yaml_implicit_resolvers = {
        ch: [(tag, rx) for tag, rx in res if tag != "tag:yaml.org,2002:timestamp"]
        for ch, res in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def mapping(loader, node):
        keys = set()
        for k, _ in node.value:
            key = loader.construct_object(k)
            if key in keys:
                raise ValueError(f"repeated key {key!r} at line {k.start_mark.line + 1}")
            keys.add(key)
        return loader.construct_mapping(node)

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    return Loader


def build(src_path):
    try:
        import yaml
    except ImportError:
        yaml = None
    with open(src_path, encoding="utf-8") as f:
        if src_path.endswith(".json"):
            src = json.load(f)
        elif yaml is None:
            raise SystemExit("make_labels: PyYAML is needed for a .yaml source (or give a .json one)")
        else:
            try:
                src = yaml.load(f, Loader=_strict_loader(yaml))
            except (yaml.YAMLError, ValueError) as e:
                raise Problems([f"{src_path}: YAML: {e}"])
    cuad, cuad_answer, unified = load_keys()
    allowed = set(cuad) | (set(unified) - ALIAS_IDS)
    errs, notes, records, seen = [], [], [], set()
    docs = src.get("documents") if isinstance(src, dict) else None
    if not isinstance(docs, list) or not docs:
        raise Problems([f"{src_path}: needs a non-empty `documents:` list"])
    for n, d in enumerate(docs, 1):
        rel = d.get("file")
        where0 = f"document {n} ({rel})"
        if not rel:
            errs.append(f"{where0}: missing `file`")
            continue
        path = resolve_path(rel, notes)
        if path is None:
            errs.append(f"{where0}: file not found")
            continue
        doc_id = os.path.basename(path).split(".")[0]
        if doc_id in seen:
            errs.append(f"{where0}: id {doc_id!r} used twice")
        seen.add(doc_id)
        with open(os.path.join(REPO, path), "rb") as f:
            raw = f.read()
        try:
            text, charset = decode(raw, d.get("encoding"))
        except UnicodeDecodeError as e:
            errs.append(f"{where0}: cannot decode: {e}")
            continue
        if d.get("lang") not in ("zh", "en"):
            errs.append(f"{where0}: lang must be zh or en")
        labels_src = d.get("labels") or {}
        out = {}
        for key in labels_src:
            if key not in allowed:
                hint = " (use the CUAD category name)" if key in ALIAS_IDS else ""
                errs.append(f"{where0}: unknown label key {key!r}{hint}")
        ordered = list(cuad) + [k for k in unified if k in labels_src and k in allowed]
        for key in ordered:
            entry = labels_src.get(key)
            where = f"{doc_id} / {key}"
            if entry is None:
                entry = {}
            if isinstance(entry, list):
                entry = {"clauses": entry}
            unknown = set(entry) - {"clauses", "answer", "note"}
            if unknown:
                errs.append(f"{where}: unknown field(s) {sorted(unknown)}")
            clauses = []
            for i, spec in enumerate(entry.get("clauses") or [], 1):
                c = resolve_clause(text, spec, f"{where} #{i}", errs)
                if c is None:
                    continue
                if "value" in c:
                    check_answer(key, c["value"], f"{where} #{i}", errs)
                if any(c["start"] == o["start"] and c["end"] == o["end"] for o in clauses):
                    errs.append(f"{where} #{i}: same span listed twice")
                clauses.append(c)
            if "answer" in entry:
                answer = normalise(entry["answer"])
                check_answer(key, answer, where, errs)
            elif key in cuad and cuad_answer[key] == "yes_no":
                answer = bool(clauses)
            elif key in cuad and clauses:
                errs.append(f"{where}: CUAD category {key!r} has clauses but no answer")
                answer = None
            else:
                answer = None
            if not clauses and answer not in (None, False):
                errs.append(f"{where}: an answer without any clause")
            elif key in cuad and cuad_answer[key] == "yes_no" and answer is not bool(clauses):
                errs.append(f"{where}: yes/no answer {answer!r} disagrees with {len(clauses)} clause(s)")
            out[key] = {"clauses": clauses, "answer": answer}
        rec = {
            "id": doc_id,
            "path": path,
            "lang": d.get("lang"),
            "type": d.get("type"),
            "encoding": charset,
            "n_chars": len(text),
            "sha1_text": hashlib.sha1(text.encode("utf-8")).hexdigest(),
            "labels": out,
        }
        records.append(rec)

    # Samples on disk without labels.
    labelled = {r["path"] for r in records}
    for sub in ("data/samples/en", "data/samples/zh", "data/samples/legal/en", "data/samples/legal/zh"):
        full = os.path.join(REPO, sub)
        if os.path.isdir(full):
            for name in sorted(os.listdir(full)):
                rel = f"{sub}/{name}"
                if rel not in labelled and name.endswith((".txt", ".md")):
                    notes.append(f"note: {rel} has no labels")
    if errs:
        raise Problems(errs)
    return records, notes


def dumps(records):
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def main():
    ap = argparse.ArgumentParser(description="Gold labels for the sample contracts")
    ap.add_argument("--src", default=os.path.join(HERE, "labels.src.yaml"))
    ap.add_argument("--out", default=os.path.join(HERE, "labels.jsonl"))
    ap.add_argument("--check", action="store_true", help="compare with --out instead of writing it")
    ap.add_argument("--show", metavar="ID", help="print the spans of one document")
    ap.add_argument("--stats", action="store_true", help="print span counts per category")
    args = ap.parse_args()
    try:
        records, notes = build(args.src)
    except Problems as p:
        for e in p.args[0]:
            print("make_labels: ERROR " + e, file=sys.stderr)
        print(f"make_labels: FAILED ({len(p.args[0])} problem(s)); nothing written", file=sys.stderr)
        return 2
    for n in notes:
        print("make_labels: " + n, file=sys.stderr)
    if args.show:
        for r in records:
            if r["id"] == args.show:
                for k, v in r["labels"].items():
                    for c in v["clauses"]:
                        print(f"{k}\t[{c['start']},{c['end']})\t{c['text']}")
                    if v["clauses"] or v["answer"] not in (None, False):
                        print(f"{k}\tanswer\t{json.dumps(v['answer'], ensure_ascii=False)}")
        return 0
    if args.stats:
        from collections import Counter
        spans, docs = Counter(), Counter()
        for r in records:
            for k, v in r["labels"].items():
                if v["clauses"]:
                    spans[k] += len(v["clauses"])
                    docs[k] += 1
        for k in sorted(spans, key=lambda k: (-spans[k], k)):
            print(f"{spans[k]:4d} spans {docs[k]:3d} docs  {k}")
        print(f"{sum(spans.values()):4d} spans in {len(records)} documents")
        return 0
    text = dumps(records)
    if args.check:
        old = open(args.out, encoding="utf-8").read() if os.path.exists(args.out) else ""
        if old != text:
            print(f"make_labels: {args.out} is stale; run make_labels.py", file=sys.stderr)
            return 1
        print(f"make_labels: {args.out} is up to date ({len(records)} documents)")
        return 0
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(text)
    n_spans = sum(len(v["clauses"]) for r in records for v in r["labels"].values())
    print(f"make_labels: wrote {args.out}: {len(records)} documents, {n_spans} spans")
    return 0


if __name__ == "__main__":
    sys.exit(main())
