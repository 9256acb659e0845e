#!/usr/bin/env python3
"""Fine-tuning examples for the medical model: triage and department classes, retrieval embeddings.

usage (from the repository root):
  /usr/bin/python3 model/training/medical_data.py --out runs/medical-data [--data ../shared/data]
      [--deepseek build/release/bin/deepseek] [--threads 2]

Every text is tokenized by the C++ pipeline itself (decode -> normalize NFKC -> tokenize, exported with
`token_ids` by the JSONL sink), so training sees exactly the ids `medqa` will feed the model.

Sources and what they label (see the model card data/models/medical-small.md):
  triage + department   data/medical/triage/questions.jsonl (written by us; split train/dev kept)
  weak triage + dept    the red-flag rules + urgency lexicon (data/medical/check_rules.py weak_label) over
                        patient questions of KUAKE-QIC, CMID and the Chinese dialogue sample; only texts
                        where a rule fired or lexicon terms matched (no "self_care by default" labels)
  department            the Chinese dialogue sample's sub-departments mapped to ours (TOYHOM_DEPARTMENTS);
                        our knowledge-base entries: title, aliases and symptoms -> the entry's department
  embed (pairs)         KUAKE-QQR (label 2) and CHIP-STS (label 1) paraphrase pairs, KUAKE-QTR query ->
                        title (label 3), MedQuAD question -> answer, our KB aliases/symptoms -> the entry's
                        passage (kb_passage: the text `deepseek kb build` embeds)
Held out: 10% of the QQR and STS items (random.Random(20240611), as their READMEs suggest) never reach
training; their positive pairs are retrieval_dev.jsonl (recall@k in eval_medical.py), and the
questions' dev split is dev_questions.jsonl.

Outputs in --out: train.jsonl, dev.jsonl (finetune.py examples), dev_questions.jsonl and
train_questions.jsonl (the hand-labelled questions of each split, with their token ids),
retrieval_dev.jsonl (texts with ids), stats.json.
"""
import argparse
import collections
import csv
import glob
import gzip
import hashlib
import io
import json
import os
import random
import subprocess
import sys
import tarfile
import xml.etree.ElementTree as ET

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "data", "medical"))
import check_rules  # noqa: E402  (the weak labeller and the reference red-flag matcher)

LEVELS = ["emergency", "urgent", "routine", "self_care"]
SPLIT_SEED = 20240611
MAX_TOKENS = 128

# The dialogue sample's internal-medicine sub-departments -> data/medical/departments.tsv ids.
# 血液科 and 风湿免疫科 have no department of ours and are left out.
TOYHOM_DEPARTMENTS = {
    "肝病科": "gastroenterology", "消化科": "gastroenterology", "神经科": "neurology",
    "心血管科": "cardiology", "内分泌科": "endocrinology", "呼吸科": "respiratory",
    "肾内科": "urology", "感染科": "infectious_disease", "普通内科": "general_practice",
}

# Caps keep one large source from drowning the small hand-labelled set (counts per epoch).
CAPS = {"weak_per_level": 500, "toyhom_per_department": 250, "qtr": 4000, "sts": 4000, "medquad": 3000}
GOLD_REPEAT = 3  # the hand-labelled training questions are seen three times per epoch

EXPORT_PIPELINE = """# Written by model/training/medical_data.py: the medqa pipeline's text stages, tokens exported.
version: 1
name: medical-training-export
input:
  paths: [texts]
  include: ["*.txt"]
stages:
  - decode: {{encoding: UTF-8, on_error: replace}}
  - normalize: {{form: nfkc}}
  - tokenize: {{model: {tokenizer}, max_tokens: {max_tokens}}}
sinks:
  - jsonl: {{path: tokens.jsonl, token_ids: true, fsync: false}}
run:
  threads: {threads}
"""


def kb_passage(entry):
    """The text of a knowledge-base entry that is embedded (must equal the C++ KB builder's)."""
    return entry["title"] + "\n" + "; ".join(entry["aliases"]) + "\n" + "; ".join(entry["symptoms"])


def read_json_gz(path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return json.load(f)


def holdout(items, fraction=0.1):
    """(train, held) of a list by a seeded shuffle of indices (the READMEs' suggested own split)."""
    idx = list(range(len(items)))
    random.Random(SPLIT_SEED).shuffle(idx)
    n = int(len(items) * fraction)
    held = set(idx[:n])
    return [x for i, x in enumerate(items) if i not in held], [x for i, x in enumerate(items) if i in held]


def load_kb():
    entries = []
    for path in sorted(glob.glob(os.path.join(REPO, "data", "kb", "entries", "*.yaml"))):
        with open(path, encoding="utf-8") as f:
            entries.extend(yaml.safe_load(f) or [])
    return entries


def medquad_pairs(path, limit, rng):
    """(question, answer) pairs with answers from the MedQuAD archive, a seeded sample of `limit`."""
    pairs = []
    with tarfile.open(path, "r:xz") as tar:
        for member in tar:
            if not member.isfile() or not member.name.endswith(".xml"):
                continue
            try:
                root = ET.parse(io.BytesIO(tar.extractfile(member).read())).getroot()
            except ET.ParseError:
                continue
            for qa in root.iter("QAPair"):
                q, a = qa.findtext("Question") or "", qa.findtext("Answer") or ""
                q, a = " ".join(q.split()), " ".join(a.split())
                if q and len(a) > 40:
                    pairs.append((q, a[:1200]))
    rng.shuffle(pairs)
    return pairs[:limit]


class Collector:
    """Texts to tokenize (deduplicated) and examples that refer to them by text."""

    def __init__(self):
        self.texts = {}
        self.examples = {"train": [], "dev": []}
        self.counts = collections.Counter()

    def text(self, s):
        s = s.strip()
        if s:
            self.texts.setdefault(s, None)
        return s

    def add(self, split, source, text, targets, repeat=1):
        text = self.text(text)
        if not text or not targets:
            return
        for name in ("embed",):
            if name in targets:
                targets[name] = self.text(targets[name])
                if not targets[name]:
                    return
        for _ in range(repeat):
            self.examples[split].append({"source": source, "text": text, "targets": targets})
        self.counts[f"{split}/{source}"] += repeat


def parse_id_cut(text):
    """"zh=339,en=336" -> {"zh": 339, "en": 336}: per language, the first question id number of a
    generation of questions (data/medical/triage/README.md); "" -> {}."""
    return {k: int(v) for k, v in (item.split("=", 1) for item in text.split(",") if item)}


def written_from(item_id, cut):
    """True when question tq-<lang>-NNNN has NNNN >= cut[lang] (a language not in `cut`: False)."""
    lang, number = item_id.split("-")[1:]
    return lang in cut and int(number) >= cut[lang]


def encoder_holdout(item_id, spec):
    """True when a train question is kept from the encoder for train_lexical_classes.py's mix: spec is
    (parse_id_cut's dict, share); the share is taken by a hash of the id."""
    if not spec or not written_from(item_id, spec[0]):
        return False
    share = spec[1]
    digest = hashlib.sha256(("encoder-holdout:" + item_id).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % 10000 < share * 10000


def collect(data_dir, departments, holdout_spec=None):
    rng = random.Random(20261129)
    c = Collector()
    dept_index = {d: i for i, d in enumerate(departments)}
    level_index = {lv: i for i, lv in enumerate(LEVELS)}

    # 1. Hand-labelled questions.
    dev_questions, train_questions = [], []
    with open(os.path.join(REPO, "data", "medical", "triage", "questions.jsonl"), encoding="utf-8") as f:
        for line in f:
            q = json.loads(line)
            t = {"triage": level_index[q["triage"]], "department": dept_index[q["department"]]}
            if q["split"] == "dev":
                dev_questions.append(q)
                c.add("dev", "questions", q["text"], t)
            elif encoder_holdout(q["id"], holdout_spec):
                train_questions.append(dict(q, encoder_holdout=True))  # kept out of train.jsonl
                c.text(q["text"])
            else:
                train_questions.append(q)
                c.add("train", "questions", q["text"], t, repeat=GOLD_REPEAT)
    gold_texts = {q for q in c.texts}

    med = os.path.join(data_dir, "medical")
    # 2. Held-out paraphrase pairs (never trained on, not even their texts as weak-label questions).
    qqr = read_json_gz(os.path.join(med, "cblue_kuake_qqr", "KUAKE-QQR_train.json.gz"))
    sts = read_json_gz(os.path.join(med, "cblue_chip_sts", "CHIP-STS_train.json.gz"))
    qqr_train, qqr_held = holdout(qqr)
    sts_train, sts_held = holdout(sts)
    held_texts = set()
    retrieval_dev = []
    for source, items, k1, k2, pos in (("qqr", qqr_held, "query1", "query2", "2"),
                                       ("sts", sts_held, "text1", "text2", "1")):
        for it in items:
            held_texts.update((it[k1].strip(), it[k2].strip()))
            if str(it["label"]) == pos:
                retrieval_dev.append({"source": source, "query": c.text(it[k1]), "partner": c.text(it[k2])})

    # 3. Weak triage + department labels on patient questions (rules + lexicon).
    doc = check_rules.load_rules()
    matcher = check_rules.Matcher(doc)
    _, lexicon = check_rules.validate_lexicon(departments)
    pool = []
    for it in read_json_gz(os.path.join(med, "cblue_kuake_qic", "KUAKE-QIC_train.json.gz")):
        pool.append(("qic", it["query"]))
    for it in read_json_gz(os.path.join(med, "cmid", "CMID_train.json.gz")):
        pool.append(("cmid", it["text"]))
    with gzip.open(os.path.join(med, "toyhom_cmdd_im_sample", "im_sample_train.csv.gz"), "rt", encoding="utf-8") as f:
        toyhom = list(csv.DictReader(f))
    for row in toyhom:
        pool.append(("dialogue", row["ask"][:300]))
    rng.shuffle(pool)
    by_level = collections.defaultdict(list)
    seen = set()
    for source, text in pool:
        text = text.strip()
        if not text or text in seen or text in held_texts or text in gold_texts:
            continue
        seen.add(text)
        level, dept, fired, weight = check_rules.weak_label(matcher, lexicon, text, with_evidence=True)
        if not fired and weight < 0.5:
            continue
        by_level[level].append((source, text, level, dept))
    for level in LEVELS:
        for source, text, lv, dept in by_level[level][:CAPS["weak_per_level"]]:
            c.add("train", "weak_" + source, text, {"triage": level_index[lv], "department": dept_index[dept]})

    # 4. Department from the dialogue sample's sub-departments (title + question).
    per_dept = collections.defaultdict(list)
    for row in toyhom:
        dept = TOYHOM_DEPARTMENTS.get(row["department"])
        if dept:
            per_dept[dept].append(row["title"].strip() + "\n" + row["ask"].strip()[:300])
    for dept, texts in sorted(per_dept.items()):
        rng.shuffle(texts)
        for text in texts[:CAPS["toyhom_per_department"]]:
            c.add("train", "dialogue_department", text, {"department": dept_index[dept]})

    # 5. Our knowledge base: every way a person names a topic -> its passage and department.
    for e in load_kb():
        passage = kb_passage(e)
        for q in [e["title"]] + list(e["aliases"]) + list(e["symptoms"]):
            c.add("train", "kb", q, {"department": dept_index[e["department"]], "embed": passage})

    # 6. Retrieval pairs.
    for it in qqr_train:
        if str(it["label"]) == "2":
            c.add("train", "qqr", it["query1"], {"embed": it["query2"]})
    sts_pos = [it for it in sts_train if str(it["label"]) == "1"]
    rng.shuffle(sts_pos)
    for it in sts_pos[:CAPS["sts"]]:
        c.add("train", "sts", it["text1"], {"embed": it["text2"]})
    qtr = [it for it in read_json_gz(os.path.join(med, "cblue_kuake_qtr", "KUAKE-QTR_train.json.gz"))
           if str(it["label"]) == "3" and it["query"].strip() not in held_texts]
    rng.shuffle(qtr)
    for it in qtr[:CAPS["qtr"]]:
        c.add("train", "qtr", it["query"], {"embed": it["title"]})
    for q, a in medquad_pairs(os.path.join(med, "medquad", "medquad_xml.tar.xz"), CAPS["medquad"], rng):
        c.add("train", "medquad", q, {"embed": a})

    # In-training dev for the embedding head: a slice of the held-out pairs (recall@1 in finetune.py).
    dev_pairs = list(retrieval_dev)
    random.Random(7).shuffle(dev_pairs)
    for p in dev_pairs[:300]:
        c.add("dev", "retrieval", p["query"], {"embed": p["partner"]})
    return c, dev_questions, train_questions, retrieval_dev


def tokenize_all(texts, out, deepseek, tokenizer, threads):
    """{text: token ids} through the C++ pipeline (one file per distinct text, named by its hash)."""
    tdir = os.path.join(out, "texts")
    os.makedirs(tdir, exist_ok=True)
    names = {}
    for text in texts:
        name = hashlib.sha1(text.encode("utf-8")).hexdigest()[:20] + ".txt"
        names[name] = text
        path = os.path.join(tdir, name)
        if not os.path.exists(path):
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
    pipeline = os.path.join(out, "export.yaml")
    with open(pipeline, "w", encoding="utf-8") as f:
        f.write(EXPORT_PIPELINE.format(tokenizer=os.path.abspath(tokenizer), threads=threads, max_tokens=MAX_TOKENS))
    tokens_path = os.path.join(out, "tokens.jsonl")
    if os.path.exists(tokens_path):
        os.remove(tokens_path)
    subprocess.run([deepseek, "run", pipeline], check=True, stdout=subprocess.DEVNULL)
    ids = {}
    with open(tokens_path, encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            name = os.path.basename(rec["path"])
            if rec["status"] == "done" and name in names:
                ids[names[name]] = rec["token_ids"]
    missing = [t for t in texts if t not in ids]
    if missing:
        print(f"[medical_data] {len(missing)} texts were not tokenized (first: {missing[0][:60]!r})", file=sys.stderr)
    return ids


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="runs/medical-data")
    ap.add_argument("--data", default=os.path.join(REPO, "..", "shared", "data"))
    ap.add_argument("--deepseek", default=os.path.join(REPO, "build", "release", "bin", "deepseek"))
    ap.add_argument("--tokenizer", default=os.path.join(REPO, "data", "models", "tokenizer.model"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--encoder-holdout", default="",
                    help="LANG=N,...:SHARE: keep SHARE of the train questions tq-LANG-NNNN with NNNN >= N out of "
                         "train.jsonl (marked encoder_holdout in train_questions.jsonl), so train_lexical_classes.py "
                         "can fit its mix on questions the encoder never saw")
    args = ap.parse_args(argv)
    holdout_spec = None
    if args.encoder_holdout:
        langs, share = args.encoder_holdout.rsplit(":", 1)
        holdout_spec = (parse_id_cut(langs), float(share))
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(REPO, "data", "medical", "departments.tsv"), encoding="utf-8") as f:
        departments = [l.split("\t")[0] for l in f.read().splitlines()[1:] if l.strip()]

    c, dev_questions, train_questions, retrieval_dev = collect(args.data, departments, holdout_spec)
    print(f"[medical_data] {len(c.texts)} distinct texts; tokenizing with {args.deepseek}", file=sys.stderr)
    ids = tokenize_all(list(c.texts), args.out, args.deepseek, args.tokenizer, args.threads)

    stats = {"counts": dict(sorted(c.counts.items())), "departments": departments, "levels": LEVELS}
    for split in ("train", "dev"):
        n = 0
        with open(os.path.join(args.out, f"{split}.jsonl"), "w", encoding="utf-8") as f:
            for ex in c.examples[split]:
                if ex["text"] not in ids:
                    continue
                targets = dict(ex["targets"])
                if "embed" in targets:
                    if targets["embed"] not in ids:
                        continue
                    targets["embed"] = ids[targets["embed"]]
                f.write(json.dumps({"ids": ids[ex["text"]], "targets": targets, "source": ex["source"]}) + "\n")
                n += 1
        stats[f"{split}_examples"] = n
    for name, questions in (("dev_questions", dev_questions), ("train_questions", train_questions)):
        with open(os.path.join(args.out, name + ".jsonl"), "w", encoding="utf-8") as f:
            for q in questions:
                f.write(json.dumps(dict(q, ids=ids.get(q["text"].strip())), ensure_ascii=False) + "\n")
    with open(os.path.join(args.out, "retrieval_dev.jsonl"), "w", encoding="utf-8") as f:
        for p in retrieval_dev:
            if p["query"] in ids and p["partner"] in ids:
                f.write(json.dumps(dict(p, query_ids=ids[p["query"]], partner_ids=ids[p["partner"]]),
                                   ensure_ascii=False) + "\n")
    stats["retrieval_dev_pairs"] = len(retrieval_dev)
    with open(os.path.join(args.out, "stats.json"), "w", encoding="utf-8") as f:
        json.dump(stats, f, indent=1, ensure_ascii=False)
    print(json.dumps(stats["counts"], indent=1), file=sys.stderr)
    print(f"[medical_data] train {stats['train_examples']}, dev {stats['dev_examples']} examples in {args.out}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
