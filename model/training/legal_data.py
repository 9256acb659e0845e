#!/usr/bin/env python3
"""Fine-tuning examples for the legal model, segmented and tokenized by the C++ pipeline itself.

usage (from the repository root):
  legal_data.py --out runs/legal-data [--deepseek build/release/bin/deepseek] [--limit N] [--max-tokens 512]

Sources (read from ../shared/data, never copied into the project):
  * CUAD (English): gold clause spans of the 41 CUAD categories (labels.jsonl.gz), train/dev split of
    its README. Dev documents become the dev examples.
  * Tongda (Chinese): weak clause labels from the clause headings (第八条 违约责任, 七、争议的解决 ...),
    propagated from a heading to the text under it. Every 10th document is dev.

Steps: (1) the contracts are written as UTF-8 files under OUT/docs; (2) `deepseek run` with the
pipeline OUT/export.yaml (decode, normalize, segment, tokenize — the stages the legal pipeline runs
before model.encode) writes OUT/analysis.jsonl with every segment and token and their source offsets
(JSONL sink options segment_spans and token_ids); (3) each document is cut into windows of whole
segments of at most --max-tokens tokens and labelled:

  clauses  (segment_labels, the unified taxonomy of plugins/legal/taxonomy.tsv): a segment is
           positive for an id when a CUAD category mapped to it (plugins/legal/cuad_map.tsv) is, or when
           the heading of the section it lies in names the id (HEADING_RULES). Only ids this document
           gives evidence about are `known` (the CUAD-covered ids for CUAD documents, plus every id some
           heading of the document names); the others get no loss, so a confidentiality clause in a
           section called "Miscellaneous" is not taught as a negative.
  cuad     (segment_labels, the 41 CUAD categories; CUAD documents only): a segment is positive when at
           least half of it lies inside a gold span, or at least half of a gold span lies inside it.
  tags     (token_tags, BIO: PARTY, DATE, AMOUNT, DURATION): CUAD's Parties spans, and pattern matches for
           dates, amounts and durations (weak; both languages) and 甲方/乙方 party lines.

Heading text must not be the only cue: in half of the windows (seeded) the tokens of heading
segments and of clause numbering/title lines are dropped, so the model learns the clause bodies.

Writes OUT/train.jsonl, OUT/dev.jsonl (every --dev-every-th dev example, for the fine-tuner's own
dev loss), OUT/dev-full.jsonl (all dev examples, for calibration: calibrate_legal.py) in finetune.py's
example format plus a "doc" field, and OUT/stats.json (counts per label and split).
"""
import argparse
import bisect
import collections
import csv
import gzip
import json
import os
import random
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from recipes import REPO_ROOT, resolve_path  # noqa: E402

TAG_LABELS = ["O", "B-PARTY", "I-PARTY", "B-DATE", "I-DATE", "B-AMOUNT", "I-AMOUNT", "B-DURATION", "I-DURATION"]

# Heading keywords -> unified ids (weak labels). The first matching rule wins, so specific rules
# (违约金 liquidated) come before general ones (违约 breach). Patterns are searched in the heading title.
HEADING_RULES = [
    ("liquidated", r"违约金|滞纳金|liquidated damages|late (?:payment )?(?:fee|charge|interest)"),
    ("deposit", r"定金|押金|保证金|deposit"),
    ("compensation", r"赔偿|indemnif|compensation"),
    ("liability_cap", r"责任限制|免责|责任的限制|limitation of liability|limitations? on liability|exclusion of"),
    ("breach", r"违约|default|breach"),
    ("force_majeure", r"不可抗力|force majeure"),
    ("dispute", r"争议|纠纷|仲裁|诉讼|管辖|dispute|arbitration|jurisdiction"),
    ("governing_law", r"适用法律|法律适用|准据法|governing law|applicable law|choice of law"),
    ("confidentiality", r"保密|秘密|confidential|non-disclosure"),
    ("non_compete", r"竞业|排他|独家|non-?compet|exclusivity|non-?solicit"),
    ("ip", r"知识产权|专利|商标|著作权|版权|intellectual property|patent|trademark|copyright|licen[cs]e grant|"
           r"grant of (?:the )?licen[cs]e|licen[cs]ed? rights"),
    ("termination", r"解除|终止|terminat|rescission"),
    ("renewal", r"续期|续签|续约|renewal"),
    ("term", r"有效期|合同期限|期限|term of|duration|\bterm\b"),
    ("effective", r"生效|effective date|effectiveness"),
    ("payment", r"付款|支付|结算|发票|payment|invoice|billing"),
    ("price", r"价款|价格|报酬|费用|租金|价金|price|fees?\b|compensation of|remuneration|rent\b"),
    ("warranty", r"质保|保修|质量保证|warrant"),
    ("quality", r"质量|验收|标准|quality|acceptance|inspection|specification"),
    ("performance", r"交货|交付|履行|运输|地点|方式|delivery|shipment|performance|shipping"),
    ("quantity", r"数量|quantity|minimum purchase|volume"),
    ("subject", r"标的|货物名称|产品名称|服务内容|项目内容|工作内容|scope of (?:work|services)|subject matter"),
    ("assignment", r"转让|变更|assignment|change of control|successors"),
    ("notice", r"通知|送达|notice"),
    ("insurance", r"保险|insurance"),
    ("audit", r"审计|检查账|audit|records and"),
    ("parties", r"^(?:合同)?当事人|^(?:合同)?双方(?:基本)?信息|^(?:the )?parties$"),
    ("signature", r"签字|签章|盖章|signature|in witness"),
]
HEADING_RES = [(cid, re.compile(p, re.I)) for cid, p in HEADING_RULES]

NUMBERING = re.compile(r"^\s*(?:第[一二三四五六七八九十百零〇\d]+[条章节款项]|[一二三四五六七八九十]+[、.．]|[（(][一二三四五六七八九十\d]+[)）]|"
                       r"(?:article|section)\s+[\dIVXivx]+[.:]?|\d+(?:\.\d+)*[.．、)]?|[a-zA-Z][.)]|\([a-zA-Z0-9]+\))\s*")

# Weak token-tag patterns (both languages).
MONTHS = r"(?:January|February|March|April|May|June|July|August|September|October|November|December|Jan\.?|Feb\.?|Mar\.?|Apr\.?|Jun\.?|Jul\.?|Aug\.?|Sept?\.?|Oct\.?|Nov\.?|Dec\.?)"
ZH_NUM = r"[\d０-９一二三四五六七八九十百千万零〇两壹贰叁肆伍陆柒捌玖拾佰仟]"
TAG_PATTERNS = [
    ("DATE", re.compile(rf"\b{MONTHS}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}\b|\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:day\s+of\s+)?{MONTHS},?\s+\d{{4}}\b"
                        rf"|\b\d{{1,2}}/\d{{1,2}}/\d{{2,4}}\b|\b\d{{4}}-\d{{2}}-\d{{2}}\b"
                        rf"|[\d０-９一二三四五六七八九〇零]{{4}}\s*年\s*{ZH_NUM}{{1,3}}\s*月(?:\s*{ZH_NUM}{{1,3}}\s*[日号])?")),
    ("AMOUNT", re.compile(r"(?:US\s?\$|\$|USD|RMB|CNY|EUR|€|£|¥|￥)\s?\d[\d,]*(?:\.\d+)?(?:\s?(?:million|billion|thousand))?"
                          r"|\b\d[\d,]*(?:\.\d+)?\s?(?:dollars|USD|euros)\b"
                          rf"|人民币\s*{ZH_NUM}[{ZH_NUM[1:-1]},.．]*\s*[万亿]?\s*元(?:整)?|{ZH_NUM}[\d,.．]*\s*[万亿]?元(?:整)?")),
    ("DURATION", re.compile(r"\b(?:\w+\s)?\(\d+\)\s+(?:calendar\s+|business\s+|working\s+)?(?:days?|weeks?|months?|years?)\b"
                            r"|\b\d+\s+(?:calendar\s+|business\s+|working\s+)?(?:days?|weeks?|months?|years?)\b"
                            rf"|{ZH_NUM}{{1,4}}\s*(?:个)?(?:工作日|日|天|周|星期|个月|月|年)(?=内|以内|之内|期限|后|以后|届满|为|的|，|。|；)")),
    ("PARTY", re.compile(r"(?<=甲方[：:])\s*[^\s，。；,;（(＿_]{2,40}|(?<=乙方[：:])\s*[^\s，。；,;（(＿_]{2,40}")),
]


# ----------------------------------------------------------------------------------------------
# Taxonomy

def read_tsv(path):
    with open(path, encoding="utf-8", newline="") as f:
        rows = [r for r in csv.reader(f, delimiter="\t") if r and not r[0].startswith("#")]
    return rows[0], rows[1:]


def load_taxonomy():
    """(unified ids in taxonomy order, {CUAD name: unified id} in CUAD order)."""
    head, rows = read_tsv(os.path.join(REPO_ROOT, "plugins", "legal", "taxonomy.tsv"))
    ids = [r[head.index("id")] for r in rows]
    head, rows = read_tsv(os.path.join(REPO_ROOT, "plugins", "legal", "cuad_map.tsv"))
    cuad_col = next(i for i, h in enumerate(head) if h.lower().startswith("cuad"))
    id_col = next(i for i, h in enumerate(head) if h.lower() in ("id", "unified_id", "category"))
    cuad = {r[cuad_col]: r[id_col] for r in rows}
    unknown = sorted(set(cuad.values()) - set(ids))
    if unknown:
        raise SystemExit(f"[legal_data] cuad_map.tsv names ids missing from taxonomy.tsv: {unknown}")
    return ids, cuad


# ----------------------------------------------------------------------------------------------
# Step 1-2: documents and the C++ analysis

def write_documents(data_dir, out, limit):
    """Writes the contracts as UTF-8 files; returns {doc id: {"path", "source", "split", "gold"}}."""
    docs = {}
    cuad_dir = os.path.join(data_dir, "legal", "cuad")
    with gzip.open(os.path.join(cuad_dir, "labels.jsonl.gz"), "rt", encoding="utf-8") as f:
        records = [json.loads(line) for line in f]
    os.makedirs(os.path.join(out, "docs", "cuad"), exist_ok=True)
    for rec in records[:limit] if limit else records:
        with gzip.open(os.path.join(cuad_dir, "contracts", rec["id"] + ".txt.gz"), "rb") as f:
            raw = f.read()
        path = os.path.join(out, "docs", "cuad", rec["id"] + ".txt")
        _write_if_changed(path, raw)
        docs[rec["id"]] = {"path": path, "source": "cuad", "split": "dev" if rec["split"] == "dev" else "train",
                           "gold": rec["labels"], "lang": "en"}
    td_dir = os.path.join(data_dir, "legal", "zh-contracts-tongda", "contracts")
    os.makedirs(os.path.join(out, "docs", "tongda"), exist_ok=True)
    names = sorted(os.listdir(td_dir))
    for i, name in enumerate(names[:limit] if limit else names):
        with open(os.path.join(td_dir, name), "rb") as f:
            raw = f.read()
        doc_id = os.path.splitext(name)[0]
        path = os.path.join(out, "docs", "tongda", name)
        _write_if_changed(path, raw)
        docs[doc_id] = {"path": path, "source": "tongda", "split": "dev" if i % 10 == 9 else "train", "gold": None,
                        "lang": "zh"}
    return docs


def _write_if_changed(path, data):
    if os.path.exists(path) and os.path.getsize(path) == len(data):
        with open(path, "rb") as f:
            if f.read() == data:
                return
    with open(path, "wb") as f:
        f.write(data)


EXPORT_PIPELINE = """# Written by model/training/legal_data.py: the legal pipeline's text stages, with segments and
# tokens exported for building fine-tuning examples.
version: 1
name: legal-training-export
input:
  paths: [docs]
  include: ["*.txt"]
  recursive: true
stages:
  - decode: {{encoding: auto, on_error: replace}}
  - normalize: {{form: nfkc}}
  - segment: {{language: auto, clauses: true}}
  - tokenize: {{model: {tokenizer}}}
sinks:
  - jsonl: {{path: analysis.jsonl, segment_spans: true, token_ids: true, fsync: false}}
run:
  threads: {threads}
"""


def run_analysis(out, deepseek, tokenizer, threads):
    pipeline = os.path.join(out, "export.yaml")
    with open(pipeline, "w", encoding="utf-8") as f:
        f.write(EXPORT_PIPELINE.format(tokenizer=os.path.abspath(tokenizer), threads=threads))
    subprocess.run([deepseek, "run", pipeline], check=True)
    analysis = {}
    with open(os.path.join(out, "analysis.jsonl"), encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            if rec["status"] != "done":
                print(f"[legal_data] skipped {rec['path']}: {rec['status']} {rec['error']}", file=sys.stderr)
                continue
            analysis[os.path.splitext(os.path.basename(rec["path"]))[0]] = rec
    return analysis


# ----------------------------------------------------------------------------------------------
# Step 3: labelling

class CodePoints:
    """Byte offset -> code-point offset for one UTF-8 text."""

    def __init__(self, raw):
        self.text = raw.decode("utf-8", errors="replace")
        starts, pos = [], 0
        for ch in self.text:
            starts.append(pos)
            pos += len(ch.encode("utf-8"))
        starts.append(pos)
        self.starts = starts

    def cp(self, byte):
        return bisect.bisect_left(self.starts, byte)


def number_rank(number):
    """Depth of a numbering style, shallow to deep (the C++ segmenter's `level` mixes styles: 一、 and
    第一条 and 1. all come out as level 1), or None for an unnumbered segment."""
    n = number.strip()
    if not n:
        return None
    if re.match(r"^第.+[编章]$", n):
        return 0
    if re.match(r"^第.+节$", n) or re.match(r"^(?:article|ARTICLE|Article)\b", n):
        return 1
    if re.match(r"^[一二三四五六七八九十百]+[、.．]?$", n):
        return 1
    if re.match(r"^第.+条$", n) or re.match(r"^(?:section|SECTION|Section)\b", n):
        return 2
    if re.match(r"^[（(][一二三四五六七八九十]+[)）]$", n):
        return 3
    if re.match(r"^[\d０-９]+[.．、)]?$", n):
        return 3
    if re.match(r"^[\d０-９]+(?:[.．][\d０-９]+)+[.．]?$", n):
        return 3 + len(re.findall(r"[.．][\d０-９]", n))
    if re.match(r"^[（(]?[a-z][).]?$", n) or re.match(r"^[（(][\d０-９]+[)）]$", n):
        return 7
    return 8


def title_of(text):
    """The heading title of a segment's first line (numbering removed), or None when it is a sentence."""
    first = text.strip().split("\n", 1)[0].strip()
    first = NUMBERING.sub("", first, count=1).strip()
    if not first:
        return None
    # "8. Confidentiality. The parties shall ..." -> "Confidentiality"
    m = re.match(r"^([A-Z][A-Za-z ,&/-]{2,60}?)[.:](?:\s|$)", first)
    if m and is_title_case(m.group(1)):
        return m.group(1)
    cjk = sum(1 for c in first if "\u4e00" <= c <= "\u9fff")
    if cjk and len(first) <= 16 and not re.search(r"[。；;，,]", first):
        return first
    if not cjk and len(first.split()) <= 8 and is_title_case(first.rstrip(".:")) and not re.search(r"[;,]", first):
        return first.rstrip(".:")
    return None


def heading_id(title):
    for cid, rx in HEADING_RES:
        if rx.search(title):
            return cid
    return None


def is_title_case(text):
    words = [w for w in re.findall(r"[A-Za-z]+", text) if len(w) > 3]
    return bool(words) and sum(w[0].isupper() for w in words) >= 0.6 * len(words)


def section_labels(segments, texts):
    """Per segment: (the unified id named by the heading of the section it lies in, or None;
    whether the segment is only a title line).

    Numbered titles open a section that the next numbered segment of the same or a shallower style
    closes (number_rank); unnumbered titles ("Grant of Rights.", a heading line) open a section that
    the next title of any kind closes."""
    out, stack, floating = [], [], None      # stack: (rank, id) of numbered sections
    for seg, text in zip(segments, texts):
        rank = number_rank(seg["number"])
        title = title_of(text)
        if rank is None and seg["kind"] == "heading" and title is None:
            title = text.strip()[:40] or None
        if rank is not None:
            while stack and stack[-1][0] >= rank:
                stack.pop()
            stack.append((rank, heading_id(title) if title else None))
            floating = None
        elif title is not None:
            floating = heading_id(title) or ""
        label = floating or next((cid for _, cid in reversed(stack) if cid), None)
        only_title = title is not None and len(text.strip()) <= len(title) + len(seg["number"]) + 4
        out.append((label, only_title))
    return out


def overlaps(seg, gold):
    """CUAD positive: at least half of the segment lies inside the gold span (a clause of several
    segments), or the two are alike (Jaccard >= 0.3; a party name inside a long sentence is not a
    positive segment: the PARTY tags carry it)."""
    inter = min(seg[1], gold[1]) - max(seg[0], gold[0])
    if inter <= 0:
        return False
    union = max(seg[1], gold[1]) - min(seg[0], gold[0])
    return inter >= 0.5 * (seg[1] - seg[0]) or inter >= 0.3 * union


def gold_pieces(clause):
    if clause.get("start", -1) < 0:
        return []
    return [tuple(p) for p in clause["segments"]] if clause.get("segments") else [(clause["start"], clause["end"])]


def on_word_boundaries(text, b, e):
    return (b == 0 or not text[b - 1].isalnum()) and (e >= len(text) or not text[e].isalnum())


def token_tags(token_cps, text, doc, seg_cp):
    """BIO tags per token from CUAD Parties spans and the weak patterns."""
    entities = []
    if doc["gold"]:
        for clause in doc["gold"].get("Parties", {}).get("clauses", []):
            # CUAD's spans are the first exact occurrence of each string: "MA" may land inside
            # "MARKETING". Keep spans on word boundaries only.
            entities += [("PARTY", b, e) for b, e in gold_pieces(clause)
                         if e - b <= 120 and on_word_boundaries(text, b, e)]
    for kind, rx in TAG_PATTERNS:
        entities += [(kind, m.start(), m.end()) for m in rx.finditer(text)]
    tags = [0] * len(token_cps)
    starts = [b for b, _ in token_cps]
    for kind, b, e in sorted(entities, key=lambda x: (x[1], -(x[2] - x[1]))):
        i = max(0, bisect.bisect_right(starts, b) - 1)    # the token holding b (it may start before b)
        if i < len(token_cps) and token_cps[i][1] <= b:
            i += 1
        first = True
        while i < len(token_cps) and token_cps[i][0] < e:
            if tags[i] == 0:
                tags[i] = TAG_LABELS.index(("B-" if first else "I-") + kind)
            first = False
            i += 1
    return tags


def label_document(doc_id, doc, rec, ids_order, cuad_map, cuad_names):
    """Per-segment (clause positives, cuad positives), the document's known clause ids, token tags."""
    with open(doc["path"], "rb") as f:
        cps = CodePoints(f.read())
    segments = rec["segment_spans"]
    seg_cp = [(cps.cp(s["source_begin"]), cps.cp(s["source_end"])) for s in segments]
    texts = [cps.text[b:e] for b, e in seg_cp]
    sections = section_labels(segments, texts)
    id_index = {cid: i for i, cid in enumerate(ids_order)}
    clause_pos = [set() for _ in segments]
    cuad_pos = [set() for _ in segments]
    known = set()
    for i, (label, _) in enumerate(sections):
        if label:
            clause_pos[i].add(id_index[label])
            known.add(id_index[label])
    if doc["gold"]:
        known |= {id_index[cuad_map[n]] for n in cuad_names}
        for ci, name in enumerate(cuad_names):
            for clause in doc["gold"].get(name, {}).get("clauses", []):
                for piece in gold_pieces(clause):
                    for i, seg in enumerate(seg_cp):
                        if overlaps(seg, piece):
                            cuad_pos[i].add(ci)
                            clause_pos[i].add(id_index[cuad_map[name]])
    token_cps = [(cps.cp(t[2]), cps.cp(t[3])) for t in rec["token_spans"]]
    tags = token_tags(token_cps, cps.text, doc, seg_cp)
    return sections, clause_pos, cuad_pos, sorted(known), tags, cuad_hits(doc, seg_cp, cps.text, cuad_names)


def cuad_hits(doc, seg_cp, text, cuad_names):
    """Per segment, the CUAD categories for which the segment alone would be a hit under the
    scorer's rule: its whitespace-trimmed span has Jaccard >= 0.5 with a gold span (EVAL.md).
    Unlike `overlaps`, one sentence of a three-sentence gold clause is not a hit."""
    hits = [set() for _ in seg_cp]
    if not doc["gold"]:
        return hits
    trimmed = []
    for b, e in seg_cp:
        piece = text[b:e]
        lead = len(piece) - len(piece.lstrip())
        trimmed.append((b + lead, b + lead + len(piece.strip())))
    for ci, name in enumerate(cuad_names):
        for clause in doc["gold"].get(name, {}).get("clauses", []):
            g0, g1 = clause.get("start", -1), clause.get("end", -1)
            if g0 < 0 or g1 <= g0:
                continue
            for i, (b, e) in enumerate(trimmed):
                inter = min(e, g1) - max(b, g0)
                if inter > 0 and inter >= 0.5 * (max(e, g1) - min(b, g0)):
                    hits[i].add(ci)
    return hits


def seg_token_ranges(rec):
    """As the C++ model.encode stage: [first token at/after begin, first token at/after end)."""
    begins = [t[0] for t in rec["token_spans"]]
    return [(bisect.bisect_left(begins, s["begin"]), max(bisect.bisect_left(begins, s["begin"]),
                                                         bisect.bisect_left(begins, s["end"])))
            for s in rec["segment_spans"]]


def windows(doc_id, doc, rec, labelled, max_tokens, rng, with_cuad):
    """Examples of whole segments (a longer segment is cut), half of them without title tokens."""
    sections, clause_pos, cuad_pos, known, tags, hits = labelled
    ids = rec["token_ids"]
    ranges = seg_token_ranges(rec)
    out = []
    i = 0
    while i < len(ranges):
        j, start = i, ranges[i][0]
        while j < len(ranges) and ranges[j][1] - start <= max_tokens:
            j += 1
        j = max(j, i + 1)
        strip_titles = rng.random() < 0.5
        keep = []           # token indices kept
        spans, cl, cu, hit, starts = [], [], [], [], []
        for s in range(i, j):
            b, e = ranges[s]
            e = min(e, start + max_tokens)
            if b >= e:
                continue
            if strip_titles and sections[s][1]:
                continue            # a title line: dropped in this window
            nb = len(keep)
            keep.extend(range(b, e))
            spans.append([nb, len(keep)])
            starts.append(b)
            cl.append(sorted(clause_pos[s]))
            cu.append(sorted(cuad_pos[s]))
            hit.append(sorted(hits[s]))
        i = j
        if not keep:
            continue
        # span_starts: each segment's first token in the whole document, the position the runtime's
        # lexical bags see (SPEC section 3, position_bins); the window's spans are window-relative.
        example = {"doc": doc_id, "ids": [ids[k] for k in keep], "span_starts": starts,
                   "targets": {"clauses": {"spans": spans, "labels": cl, "known": known},
                               "tags": [tags[k] for k in keep]}}
        if with_cuad:
            # `hits`: the scorer's notion of a positive segment (cuad_hits); train_lexical.py can
            # train on it instead of `labels` (finetune.py reads spans/labels/known only).
            example["targets"]["cuad"] = {"spans": spans, "labels": cu, "hits": hit}
        out.append(example)
    return out


def check_recipe(path, ids_order, cuad_names):
    import finetune
    heads = {h["name"]: h for h in finetune.load_ft_recipe(path)["heads"]}
    expected = {"clauses": ids_order, "cuad": cuad_names, "tags": TAG_LABELS}
    bad = [name for name, labels in expected.items() if heads.get(name, {}).get("labels") != labels]
    if bad:
        print(f"error: {path}: the label lists of heads {bad} differ from plugins/legal/taxonomy.tsv, "
              f"cuad_map.tsv and legal_data.TAG_LABELS", file=sys.stderr)
        return 1
    print(f"{path}: label lists match the taxonomy")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--data", default=resolve_path("../shared/data"))
    parser.add_argument("--deepseek", default=os.path.join(REPO_ROOT, "build", "release", "bin", "deepseek"))
    parser.add_argument("--tokenizer", default=os.path.join(REPO_ROOT, "data", "models", "tokenizer.model"))
    parser.add_argument("--limit", type=int, help="at most N documents per source (tests)")
    parser.add_argument("--max-tokens", type=int, default=512)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=20261129)
    parser.add_argument("--dev-every", type=int, default=4,
                        help="keep every Nth dev example for the fine-tuner's own dev loss (default 4); the "
                             "real evaluation runs the C++ pipeline (deepseek eval legal)")
    parser.add_argument("--check-recipe", help="only check that a fine-tuning recipe's label lists match the taxonomy")
    args = parser.parse_args(argv)

    ids_order, cuad_map = load_taxonomy()
    cuad_names = list(cuad_map)
    if args.check_recipe:
        return check_recipe(args.check_recipe, ids_order, cuad_names)
    os.makedirs(args.out, exist_ok=True)
    docs = write_documents(args.data, args.out, args.limit)
    analysis = run_analysis(args.out, args.deepseek, args.tokenizer, args.threads)
    rng = random.Random(args.seed)
    stats = {"labels": {"clauses": ids_order, "cuad": cuad_names, "tags": TAG_LABELS},
             "splits": collections.defaultdict(lambda: collections.Counter())}
    files = {split: open(os.path.join(args.out, f"{split}.jsonl"), "w", encoding="utf-8")
             for split in ("train", "dev", "dev-full")}
    dev_seen = 0
    for doc_id in sorted(docs):
        doc, rec = docs[doc_id], analysis.get(doc_id)
        if rec is None:
            continue
        labelled = label_document(doc_id, doc, rec, ids_order, cuad_map, cuad_names)
        examples = windows(doc_id, doc, rec, labelled, args.max_tokens, rng, doc["source"] == "cuad")
        c = stats["splits"][f"{doc['source']}-{doc['split']}"]
        c["documents"] += 1
        for ex in examples:
            if doc["split"] == "dev":
                files["dev-full"].write(json.dumps(ex, ensure_ascii=False, separators=(",", ":")) + "\n")
                dev_seen += 1
                if dev_seen % args.dev_every:
                    continue
            files[doc["split"]].write(json.dumps(ex, ensure_ascii=False, separators=(",", ":")) + "\n")
            c["examples"] += 1
            c["tokens"] += len(ex["ids"])
            c["segments"] += len(ex["targets"]["clauses"]["spans"])
            for labels in ex["targets"]["clauses"]["labels"]:
                for l in labels:
                    c["clauses:" + ids_order[l]] += 1
            for labels in ex["targets"].get("cuad", {}).get("labels", []):
                for l in labels:
                    c["cuad:" + cuad_names[l]] += 1
            for t in ex["targets"]["tags"]:
                if TAG_LABELS[t].startswith("B-"):
                    c["tags:" + TAG_LABELS[t][2:]] += 1
    for f in files.values():
        f.close()
    with open(os.path.join(args.out, "stats.json"), "w", encoding="utf-8") as f:
        json.dump(stats, f, ensure_ascii=False, indent=1)
    for split, c in sorted(stats["splits"].items()):
        print(f"{split}: {c['documents']} documents, {c['examples']} examples, {c['tokens']:,} tokens, "
              f"{c['segments']:,} segments")
    return 0


if __name__ == "__main__":
    sys.exit(main())
