#!/usr/bin/python3
"""Check data/medical/red_flags.yaml and urgency_lexicon.tsv, and run a reference matcher.

  check_rules.py                 validate both files, run the rules over triage/questions.jsonl and
                                 print agreement with the labels
  check_rules.py -v              also list every disagreement
  check_rules.py --text "..."    show which rules fire on one message (and the weak label)
  check_rules.py --json [FILE]   batch mode: for each line {"id", "text"} of a JSONL file (default
                                 triage/questions.jsonl) print {"id", "fired": [rule ids, sorted]}
  --rules FILE                   use another rule file (default red_flags.yaml next to this script)

The matcher implements the semantics written in the header of red_flags.yaml (find_keywords-style
terms, clauses, NegEx-style negation with not_cues / adjacent cues / max_gap, history and info
cues, all_of scopes, except, subsumed_by). It is the reference for the C++ matcher (plugins/medical/
red_flag_rules.cc; tests/medical_rules_test.cc holds the two together through --json) and a way to see
the effect of a rule edit on the labelled questions; it is not part of the product. Needs PyYAML
(/usr/bin/python3 has it). Exit 1 on a schema error.
"""
import argparse
import functools
import collections
import csv
import json
import os
import re
import sys
import unicodedata

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
RULES = os.path.join(HERE, "red_flags.yaml")
LEXICON = os.path.join(HERE, "urgency_lexicon.tsv")
DEPARTMENTS = os.path.join(HERE, "departments.tsv")
QUESTIONS = os.path.join(HERE, "triage", "questions.jsonl")

LEVELS = ["emergency", "urgent", "routine", "self_care"]
RANK = {lv: i for i, lv in enumerate(LEVELS)}
LANGS = ("en", "zh")


# ------------------------------------------------------------------------------ loading --------
class StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate mapping keys (PyYAML and yaml-cpp both keep the last one)."""


def _mapping(loader, node, deep=False):
    keys = [loader.construct_object(k, deep=deep) for k, _ in node.value]
    dup = sorted({str(k) for k in keys if keys.count(k) > 1})
    if dup:
        raise yaml.constructor.ConstructorError(None, None, f"duplicate keys {dup}", node.start_mark)
    return yaml.SafeLoader.construct_mapping(loader, node, deep)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                             lambda loader, node: dict(_mapping(loader, node, deep=True)))


def load_rules(path=RULES):
    with open(path, encoding="utf-8") as fh:
        return yaml.load(fh, Loader=StrictLoader)


# ------------------------------------------------------------------------------ terms ----------
def is_alnum(ch):
    return ch.isascii() and ch.isalnum()


def has_han(s):
    return any("CJK" in unicodedata.name(c, "") for c in s)


def ascii_lower(s):
    return "".join(c.lower() if c.isascii() else c for c in s)


def normalize(text):
    """NFKC (as the framework does) plus the typographic apostrophe fold the YAML asks for."""
    return unicodedata.normalize("NFKC", text).replace("\u2019", "'").replace("\u2018", "'")


@functools.lru_cache(maxsize=None)
def parse_term(term):
    """(needle, ascii_term, open_end) of a term; cached: the rules' terms are matched again for every text."""
    open_end = term.endswith("*")
    kw = term[:-1] if open_end else term
    return ascii_lower(kw), kw.isascii(), open_end


def find_term(lowered, term):
    """(begin, end) of every hit of one term, with ds::sdk::text::find_keywords semantics."""
    needle, ascii_term, open_end = parse_term(term)
    if not needle:
        return []
    out, n = [], len(lowered)
    pos = lowered.find(needle)
    while pos >= 0:
        end, ok = pos + len(needle), True
        if ascii_term:
            if pos > 0 and is_alnum(lowered[pos - 1]) and is_alnum(needle[0]):
                ok = False
            elif open_end:
                while end < n and is_alnum(lowered[end]):
                    end += 1
            elif is_alnum(needle[-1]):
                if end < n and lowered[end] == "s" and (end + 1 >= n or not is_alnum(lowered[end + 1])):
                    end += 1
                elif end < n and is_alnum(lowered[end]):
                    ok = False
        if ok:
            out.append((pos, end))
        pos = lowered.find(needle, pos + 1)
    return out


def find_terms(lowered, terms):
    hits = set()
    for t in terms:
        needle = parse_term(t)[0]
        if needle and needle in lowered:  # most terms are absent: skip find_term's work for them
            hits.update(find_term(lowered, t))
    return sorted(hits, key=lambda h: (h[0], -h[1]))


def terms_of(group, lang):
    """Terms of an {en: [...], zh: [...]} group for a stage language ('auto' = both)."""
    if group is None:
        return []
    langs = LANGS if lang == "auto" else (lang,)
    return [t for l in langs for t in (group.get(l) or [])]


# ------------------------------------------------------------------------------ matcher --------
class Matcher:
    def __init__(self, doc, lang="auto"):
        self.doc, self.lang = doc, lang
        m = doc["matching"]
        self.sentence_breaks = m["sentence_breaks"]
        self.clause_breaks = terms_of(m["clause_breaks"], lang)
        neg = m["negation"]
        self.cues = terms_of(neg["cues"], lang)
        self.adjacent_cues = terms_of(neg.get("adjacent_cues"), lang)
        self.not_cues = terms_of(neg.get("not_cues"), lang)
        self.max_words = neg["max_gap"]["en_words"]
        self.max_chars = neg["max_gap"]["zh_chars"]
        self.context_cues = terms_of(m.get("history_cues"), lang) + terms_of(m.get("info_cues"), lang)
        self.rules = doc["rules"]

    def _breaks(self, lowered, breaks):
        ends = set()
        for b, e in find_terms(lowered, breaks):
            if lowered[b] == "." and e < len(lowered) and lowered[e].isdigit():
                continue  # 3.5 is a number
            ends.add((b, e))
        return sorted(ends)

    def analyse(self, text):
        """Returns {rule_id: [matched strings]} after subsumption."""
        s = normalize(text)
        low = ascii_lower(s)
        ctx = {
            "low": low,
            "sent": [e for _, e in self._breaks(low, self.sentence_breaks)],
            "clause": self._breaks(low, self.clause_breaks),
            "not_cues": find_terms(low, self.not_cues),
            "cues": find_terms(low, self.cues),
            "adjacent": find_terms(low, self.adjacent_cues),
            "context": find_terms(low, self.context_cues),
        }
        fired = {}
        for rule in self.rules:
            found = self._rule(rule, ctx)
            if found:
                fired[rule["id"]] = found
        for rule in self.rules:
            if rule["id"] in fired and any(o in fired for o in rule.get("subsumed_by") or []):
                del fired[rule["id"]]
        return fired

    @staticmethod
    def _start(ends, pos):
        best = 0
        for e in ends:
            if e <= pos:
                best = e
            else:
                break
        return best

    def _clause(self, ctx, b, e):
        start = 0
        end = len(ctx["low"])
        for cb, ce in ctx["clause"]:
            if ce <= b:
                start = ce
            elif cb >= e:
                end = cb
                break
        return start, end

    def _negated(self, ctx, b, e):
        low = ctx["low"]
        for cb, ce in ctx["cues"] + ctx["adjacent"]:
            if cb == b and ce <= e:
                return False  # the term itself starts with a cue: "not breathing", 没反应
        start, _ = self._clause(ctx, b, e)
        for cb, ce in ctx["cues"]:
            if cb < start or ce > b:
                continue
            if any(nb < ce and cb < ne for nb, ne in ctx["not_cues"]):
                continue
            gap = low[ce:b]
            if low[cb:ce].isascii():
                size = len(re.findall(r"[a-z0-9']+", gap)) + sum(1 for c in gap if not c.isascii())
                if size <= self.max_words:
                    return True
            elif len(re.sub(r"\s", "", gap)) <= self.max_chars:
                return True
        for cb, ce in ctx["adjacent"]:
            if ce == b and cb >= start and not any(nb < ce and cb < ne for nb, ne in ctx["not_cues"]):
                return True
        return False

    def _suppressed(self, ctx, b, e):
        start, end = self._clause(ctx, b, e)
        return any(cb >= start and ce <= end and (ce <= b or cb >= e) for cb, ce in ctx["context"])

    def live_hits(self, group, ctx, excepts):
        out, covered = [], 0
        for b, e in find_terms(ctx["low"], terms_of(group, self.lang)):
            if b < covered:
                continue
            covered = e
            if any(xb < e and b < xe for xb, xe in excepts):
                continue
            if self._negated(ctx, b, e) or self._suppressed(ctx, b, e):
                continue
            out.append((b, e))
        return out

    def _rule(self, rule, ctx):
        excepts = find_terms(ctx["low"], terms_of(rule.get("except"), self.lang))
        scope = rule.get("scope", "sentence")
        low = ctx["low"]
        for item in rule["match"]:
            if "any_of" in item:
                hits = self.live_hits(item["any_of"], ctx, excepts)
                if hits:
                    return [low[b:e] for b, e in hits]
            else:
                groups = [self.live_hits(g, ctx, excepts) for g in item["all_of"]]
                if not all(groups):
                    continue
                sentence = (lambda b: self._start(ctx["sent"], b)) if scope == "sentence" else (lambda b: 0)
                combo = self._first_combo(groups, [], sentence)
                if combo:
                    return [" + ".join(low[b:e] for b, e in combo)]
        return None

    @staticmethod
    def _first_combo(groups, chosen, sentence):
        """The first pick of one hit per group, in itertools.product order, whose hits do not overlap
        and start in one sentence (scope text: sentence() is constant). Backtracking, so no cap."""
        if len(chosen) == len(groups):
            return list(chosen)
        for b, e in groups[len(chosen)]:
            if chosen and sentence(b) != sentence(chosen[0][0]):
                continue
            if any(cb < e and b < ce for cb, ce in chosen):
                continue
            found = Matcher._first_combo(groups, chosen + [(b, e)], sentence)
            if found:
                return found
        return None


# ------------------------------------------------------------------------------ validation -----
def validate_rules(doc):
    errors = []
    if doc.get("version") != 1:
        errors.append("version must be 1")
    m = doc.get("matching") or {}
    for key in ("sentence_breaks", "clause_breaks", "negation", "history_cues", "info_cues", "hedges"):
        if key not in m:
            errors.append(f"matching.{key} missing")

    def check_terms(where, terms):
        if not isinstance(terms, list) or not terms:
            errors.append(f"{where}: must be a non-empty list")
            return
        for t in terms:
            if not isinstance(t, str) or not t or (t.strip() and t != t.strip()):
                errors.append(f"{where}: bad term {t!r} (quote yes/no/numbers in YAML)")
        dup = [t for t, c in collections.Counter(terms).items() if c > 1]
        if dup:
            errors.append(f"{where}: repeated terms {dup}")

    def check_group(where, group, need_any=True):
        if not isinstance(group, dict) or not set(group) <= set(LANGS) or (need_any and not group):
            errors.append(f"{where}: must be a mapping with en and/or zh lists")
            return
        for lang, terms in group.items():
            if lang == "en" and terms and any(isinstance(t, str) and has_han(t) for t in terms):
                errors.append(f"{where}.en: term with Chinese characters")
            if terms == []:
                continue
            check_terms(f"{where}.{lang}", terms)

    check_terms("matching.sentence_breaks", m.get("sentence_breaks"))
    for key in ("clause_breaks", "history_cues", "info_cues", "hedges"):
        check_group(f"matching.{key}", m.get(key))
    neg = m.get("negation") or {}
    for key in ("cues", "not_cues"):
        check_group(f"matching.negation.{key}", neg.get(key))
    check_group("matching.negation.adjacent_cues", neg.get("adjacent_cues") or {}, need_any=False)
    gap = neg.get("max_gap") or {}
    if not all(isinstance(gap.get(k), int) and gap.get(k) >= 0 for k in ("en_words", "zh_chars")):
        errors.append("matching.negation.max_gap needs integer en_words and zh_chars")

    ids = [r.get("id") for r in doc.get("rules") or []]
    if not ids:
        errors.append("no rules")
    for dup in [i for i, c in collections.Counter(ids).items() if c > 1]:
        errors.append(f"duplicate rule id {dup}")
    allowed = {"id", "level", "source", "rationale", "scope", "match", "except", "subsumed_by"}
    for r in doc.get("rules") or []:
        rid = r.get("id")
        where = f"rule {rid}"
        if not isinstance(rid, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", rid):
            errors.append(f"{where}: id must be snake_case")
        if set(r) - allowed:
            errors.append(f"{where}: unknown keys {sorted(set(r) - allowed)}")
        if r.get("level") not in ("emergency", "urgent"):
            errors.append(f"{where}: level must be emergency or urgent")
        if not isinstance(r.get("source"), str):
            errors.append(f"{where}: source missing")
        rat = r.get("rationale") or {}
        if not all(isinstance(rat.get(l), str) and rat.get(l).strip() for l in LANGS):
            errors.append(f"{where}: rationale needs en and zh")
        if r.get("scope", "sentence") not in ("sentence", "text"):
            errors.append(f"{where}: scope must be sentence or text")
        match = r.get("match")
        if not isinstance(match, list) or not match:
            errors.append(f"{where}: match must be a non-empty list")
            continue
        for i, item in enumerate(match):
            if not isinstance(item, dict) or len(item) != 1 or next(iter(item)) not in ("any_of", "all_of"):
                errors.append(f"{where}.match[{i}]: one key, any_of or all_of")
                continue
            if "any_of" in item:
                check_group(f"{where}.match[{i}].any_of", item["any_of"])
            else:
                groups = item["all_of"]
                if not isinstance(groups, list) or len(groups) < 2:
                    errors.append(f"{where}.match[{i}].all_of: at least two groups")
                    continue
                for j, g in enumerate(groups):
                    check_group(f"{where}.match[{i}].all_of[{j}]", g)
        if "except" in r:
            check_group(f"{where}.except", r["except"])
        for other in r.get("subsumed_by") or []:
            if other not in ids:
                errors.append(f"{where}: subsumed_by unknown rule {other}")
    return errors


def validate_lexicon(departments):
    errors, rows = [], []
    if not os.path.exists(LEXICON):
        return ["urgency_lexicon.tsv missing"], rows
    with open(LEXICON, encoding="utf-8") as fh:
        lines = [l.rstrip("\n") for l in fh if not l.startswith("#") and l.strip()]
    header = lines[0].split("\t")
    if header != ["lang", "term", "level", "department", "weight", "note"]:
        errors.append(f"lexicon header {header}")
        return errors, rows
    seen = {}
    for n, line in enumerate(lines[1:], 2):
        f = line.split("\t")
        if len(f) != 6:
            errors.append(f"lexicon row {n}: {len(f)} columns")
            continue
        lang, term, level, dept, weight, note = f
        if lang not in LANGS:
            errors.append(f"lexicon row {n}: lang {lang}")
        if not term or term != term.strip() or (lang == "en" and has_han(term)):
            errors.append(f"lexicon row {n}: bad term {term!r}")
        if level not in LEVELS:
            errors.append(f"lexicon row {n}: level {level}")
        if dept not in departments and dept != "-":
            errors.append(f"lexicon row {n}: department {dept}")
        try:
            w = float(weight)
            if not 0 < w <= 1:
                raise ValueError
        except ValueError:
            errors.append(f"lexicon row {n}: weight {weight} not in (0, 1]")
            w = 0
        key = (lang, ascii_lower(term))
        if key in seen:
            errors.append(f"lexicon row {n}: duplicate term {term!r} (row {seen[key]})")
        seen[key] = n
        rows.append({"lang": lang, "term": term, "level": level, "department": dept, "weight": w})
    return errors, rows


# ------------------------------------------------------------------------------ weak label -----
def weak_label(matcher, lexicon, text, with_evidence=False):
    """A simple weak labeller: red flags first, else the level and department with most lexicon weight.

    Lexicon terms go through the same negation / history / info handling as rule terms. With
    `with_evidence` a fourth value is returned: the total lexicon weight that matched (0 when the
    level is only the self_care default, which training should not take as a label).
    """
    fired = matcher.analyse(text)
    s = normalize(text)
    low = ascii_lower(s)
    ctx = {
        "low": low,
        "sent": [],
        "clause": matcher._breaks(low, matcher.clause_breaks),
        "not_cues": find_terms(low, matcher.not_cues),
        "cues": find_terms(low, matcher.cues),
        "adjacent": find_terms(low, matcher.adjacent_cues),
        "context": find_terms(low, matcher.context_cues),
    }
    level_w, dept_w = collections.Counter(), collections.Counter()
    taken = []
    for row in sorted(lexicon, key=lambda r: -len(r["term"])):
        for b, e in find_term(low, row["term"]):
            if any(tb < e and b < te for tb, te in taken):
                continue  # a longer term already covers it
            if matcher._negated(ctx, b, e) or matcher._suppressed(ctx, b, e):
                continue
            taken.append((b, e))
            level_w[row["level"]] += row["weight"]
            if row["department"] != "-":
                dept_w[row["department"]] += row["weight"]
    rule_level = min((RANK[r["level"]] for r in matcher.rules if r["id"] in fired), default=None)
    if level_w:
        lex_level = RANK[max(level_w, key=lambda lv: (level_w[lv], -RANK[lv]))]
    else:
        lex_level = RANK["self_care"]
    level = LEVELS[min(lex_level, rule_level) if rule_level is not None else lex_level]
    dept = "emergency" if level == "emergency" else (dept_w.most_common(1)[0][0] if dept_w else "general_practice")
    if with_evidence:
        return level, dept, fired, sum(level_w.values())
    return level, dept, fired


# ------------------------------------------------------------------------------ main -----------
def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--text")
    ap.add_argument("--language", default="auto", choices=["auto", "zh", "en"])
    ap.add_argument("--json", nargs="?", const=QUESTIONS, metavar="FILE")
    ap.add_argument("--rules", default=RULES, metavar="FILE")
    args = ap.parse_args()

    try:
        doc = load_rules(args.rules)
    except (OSError, yaml.YAMLError) as e:
        print(f"ERROR {args.rules}:", e)
        return 1
    errors = validate_rules(doc)
    if args.json:
        if errors:
            for e in errors:
                print("ERROR", e, file=sys.stderr)
            return 1
        matcher = Matcher(doc, args.language)
        with open(args.json, encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    item = json.loads(line)
                    fired = sorted(matcher.analyse(item["text"]))
                    print(json.dumps({"id": item.get("id"), "fired": fired}, ensure_ascii=False))
        return 0
    with open(DEPARTMENTS, encoding="utf-8") as fh:
        departments = [l.split("\t")[0] for l in fh.read().splitlines()[1:] if l.strip()]
    lex_errors, lexicon = validate_lexicon(departments)
    errors += lex_errors
    if errors:
        for e in errors:
            print("ERROR", e)
        return 1
    matcher = Matcher(doc, args.language)

    if args.text:
        level, dept, fired = weak_label(matcher, lexicon, args.text)
        for rid, found in fired.items():
            print(f"{rid}: {found}")
        print(f"weak label: {level} / {dept}")
        return 0

    levels = collections.Counter(r["level"] for r in doc["rules"])
    print(f"red_flags.yaml: {len(doc['rules'])} rules ({levels['emergency']} emergency, {levels['urgent']} urgent)")
    lex_langs = collections.Counter(r["lang"] for r in lexicon)
    lex_levels = collections.Counter(r["level"] for r in lexicon)
    print(f"urgency_lexicon.tsv: {len(lexicon)} terms ({lex_langs['zh']} zh, {lex_langs['en']} en; "
          + ", ".join(f"{lv} {lex_levels[lv]}" for lv in LEVELS) + ")")

    items = [json.loads(l) for l in open(QUESTIONS, encoding="utf-8") if l.strip()]
    per_rule = collections.defaultdict(collections.Counter)
    disagreements = []
    exact = 0
    for it in items:
        fired = matcher.analyse(it["text"])
        want, got = set(it["red_flags"]), set(fired)
        exact += want == got
        for r in want | got:
            per_rule[r]["tp" if r in want and r in got else "fn" if r in want else "fp"] += 1
        if want != got:
            disagreements.append((it, sorted(want - got), sorted(got - want), fired))
    print(f"\nrules vs labels on {len(items)} questions: red_flags exactly equal on {exact} "
          f"({exact / len(items):.1%})")
    print(f"{'rule':<24}{'tp':>5}{'fp':>5}{'fn':>5}")
    for r in sorted(per_rule):
        c = per_rule[r]
        print(f"{r:<24}{c['tp']:>5}{c['fp']:>5}{c['fn']:>5}")

    # Level effect: the rules alone can only raise; how often would they under- or over-triage?
    miss_emergency = [it for it in items if it["triage"] == "emergency"
                      and not any(r["level"] == "emergency" and r["id"] in matcher.analyse(it["text"])
                                  for r in doc["rules"])]
    over = [it for it in items if it["triage"] != "emergency"
            and any(r["level"] == "emergency" and r["id"] in matcher.analyse(it["text"]) for r in doc["rules"])]
    n_em = sum(1 for it in items if it["triage"] == "emergency")
    print(f"emergency items no emergency rule fires on: {len(miss_emergency)} of {n_em}")
    print(f"non-emergency items an emergency rule fires on (over-triage): {len(over)} of {len(items) - n_em}")

    # Weak labels from lexicon + rules, on the labelled questions.
    conf = collections.Counter()
    dept_ok = 0
    for it in items:
        level, dept, _ = weak_label(matcher, lexicon, it["text"])
        conf[(it["triage"], level)] += 1
        dept_ok += dept == it["department"]
    acc = sum(conf[(lv, lv)] for lv in LEVELS) / len(items)
    under = sum(c for (g, p), c in conf.items() if RANK[p] > RANK[g])
    print(f"\nweak labels (rules + lexicon) vs labels: level accuracy {acc:.1%}, under-triage {under}, "
          f"department accuracy {dept_ok / len(items):.1%}")
    print("confusion (rows = label, columns = weak label):")
    print(f"{'':<11}" + "".join(f"{lv:>11}" for lv in LEVELS))
    for g in LEVELS:
        print(f"{g:<11}" + "".join(f"{conf[(g, p)]:>11}" for p in LEVELS))

    if args.verbose:
        print("\ndisagreements (missing = labelled but not fired, extra = fired but not labelled):")
        for it, missing, extra, fired in disagreements:
            print(f"  {it['id']} [{it['triage']}] {it['text']}")
            if missing:
                print(f"      missing {missing}")
            if extra:
                print(f"      extra   {[(r, fired[r]) for r in extra]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
