#!/usr/bin/env python3
"""The medical model's card numbers: triage, department and retrieval on held-out data, per path.

usage (from the repository root, after medical_data.py):
  /usr/bin/python3 model/training/eval_medical.py --model data/models/medical-small.safetensors \
      [--data runs/medical-data] [--emergency-threshold 0.35] [--json OUT.json] [--markdown]

Triage on the hand-labelled dev split (data/medical/triage/questions.jsonl, split dev; runs/medical-data/
dev_questions.jsonl holds them with the C++ pipeline's token ids), three policies:
  model         argmax of the triage head
  model+thr     emergency when P(emergency) >= 0.35, else at least urgent when P(emergency) + P(urgent) >= 0.5,
                else argmax (medical.triage's defaults)
  runtime       model+thr, then raised by the red-flag rules (rules only raise; medical.triage)
and the rules + lexicon weak labeller alone (check_rules.weak_label) as the baseline.
Reported: accuracy, under-triage rate (predicted less urgent than the label), emergency recall and
precision, department accuracy (label `emergency` for emergencies, as the runtime does).

Retrieval on the held-out 10% of KUAKE-QQR and CHIP-STS (retrieval_dev.jsonl): every query ranks all
distinct partners of its source by cosine of the embed head; recall@1 and @5. Baseline: character-bigram
BM25 over the same partners.
"""
import argparse
import collections
import json
import math
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "data", "medical"))
import check_rules  # noqa: E402
from deepseek_model import pad_batch  # noqa: E402
from export import load_model  # noqa: E402
from medical_data import parse_id_cut, written_from  # noqa: E402

LEVELS = ["emergency", "urgent", "routine", "self_care"]
RANK = {lv: i for i, lv in enumerate(LEVELS)}  # 0 = most urgent
PATHS = ["heavy", "standard", "light"]


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


@torch.no_grad()
def run_heads(model, seqs, path, heads, batch=64):
    out = collections.defaultdict(list)
    for i in range(0, len(seqs), batch):
        ids, lengths = pad_batch(seqs[i:i + batch], model.config["pad_id"])
        h = model(ids, lengths, path=path, heads=heads)["heads"]
        for name in heads:
            out[name].append(h[name].float())
    return {k: torch.cat(v) for k, v in out.items()}


def triage_scores(pred, gold):
    n = len(gold)
    acc = sum(p == g for p, g in zip(pred, gold)) / n
    under = sum(RANK[p] > RANK[g] for p, g in zip(pred, gold)) / n
    em_gold = [i for i, g in enumerate(gold) if g == "emergency"]
    em_pred = [i for i, p in enumerate(pred) if p == "emergency"]
    recall = sum(pred[i] == "emergency" for i in em_gold) / max(1, len(em_gold))
    precision = sum(gold[i] == "emergency" for i in em_pred) / max(1, len(em_pred))
    missed = [i for i in em_gold if pred[i] != "emergency"]
    return {"accuracy": acc, "under_triage": under, "emergency_recall": recall, "emergency_precision": precision,
            "emergencies_missed": len(missed)}, missed


def lean_up(p, level, emergency_threshold, urgent_threshold):
    """medical.triage's model level: emergency at P(emergency) >= its threshold, else at least urgent when
    P(emergency) + P(urgent) >= the urgent threshold (plugins/medical/README.md)."""
    if p[0] >= emergency_threshold:
        return "emergency"
    if p[0] + p[1] >= urgent_threshold and RANK[level] > RANK["urgent"]:
        return "urgent"
    return level


def eval_triage(model, questions, matcher, lexicon, threshold, urgent_threshold):
    gold = [q["triage"] for q in questions]
    gold_dept = [q["department"] for q in questions]
    fired = [matcher.analyse(q["text"]) for q in questions]
    rule_level = [min((RANK[r["level"]] for r in matcher.rules if r["id"] in f), default=None) for f in fired]
    dept_labels = [h for h in model.head_defs if h["name"] == "department"][0]["labels"]
    results, missed_texts = {}, {}
    for path in PATHS:
        out = run_heads(model, [q["ids"] for q in questions], path, ["triage", "department"])
        probs = torch.softmax(out["triage"], -1)
        arg = [LEVELS[i] for i in probs.argmax(-1).tolist()]
        thr = [lean_up(p, a, threshold, urgent_threshold) for p, a in zip(probs.tolist(), arg)]
        runtime = [LEVELS[min(RANK[t], r)] if r is not None else t for t, r in zip(thr, rule_level)]
        dept = [dept_labels[i] for i in out["department"].argmax(-1).tolist()]
        dept_rt = ["emergency" if lv == "emergency" else d for lv, d in zip(runtime, dept)]
        row = {}
        for name, pred in (("model", arg), ("model+thr", thr), ("runtime", runtime)):
            row[name], missed = triage_scores(pred, gold)
            if name == "runtime":
                missed_texts[path] = [questions[i]["id"] for i in missed]
        row["department_accuracy"] = sum(d == g for d, g in zip(dept_rt, gold_dept)) / len(gold)
        row["department_accuracy_model"] = sum(d == g for d, g in zip(dept, gold_dept)) / len(gold)
        row["per_language"] = {}
        for lang in ("zh", "en"):
            idx = [i for i, q in enumerate(questions) if q["lang"] == lang]
            row["per_language"][lang] = triage_scores([runtime[i] for i in idx], [gold[i] for i in idx])[0]
        results[path] = row
    weak = [check_rules.weak_label(matcher, lexicon, q["text"]) for q in questions]
    base = triage_scores([w[0] for w in weak], gold)[0]
    base["department_accuracy"] = sum(w[1] == g for w, g in zip(weak, gold_dept)) / len(gold)
    return results, base, missed_texts


def bigrams(text):
    t = "".join(text.lower().split())
    return [t[i:i + 2] for i in range(len(t) - 1)] or [t]


def bm25_rank(queries, docs, k1=1.2, b=0.75):
    toks = [collections.Counter(bigrams(d)) for d in docs]
    df = collections.Counter(g for t in toks for g in t)
    avg = sum(sum(t.values()) for t in toks) / len(toks)
    n = len(docs)
    ranks = []
    for q in queries:
        qg = set(bigrams(q))
        scores = []
        for t in toks:
            dl = sum(t.values())
            s = 0.0
            for g in qg:
                if g in t:
                    idf = math.log(1 + (n - df[g] + 0.5) / (df[g] + 0.5))
                    s += idf * t[g] * (k1 + 1) / (t[g] + k1 * (1 - b + b * dl / avg))
            scores.append(s)
        ranks.append(sorted(range(n), key=lambda j: -scores[j]))
    return ranks


def recall_at(ranks, targets, ks=(1, 5)):
    return {f"recall@{k}": sum(t in r[:k] for r, t in zip(ranks, targets)) / len(targets) for k in ks}


def eval_retrieval(model, pairs):
    results = {}
    by_source = collections.defaultdict(list)
    for p in pairs:
        by_source[p["source"]].append(p)
    for source, items in sorted(by_source.items()):
        docs, doc_ids, index = [], [], {}
        for p in items:
            if p["partner"] not in index:
                index[p["partner"]] = len(docs)
                docs.append(p["partner"])
                doc_ids.append(p["partner_ids"])
        targets = [index[p["partner"]] for p in items]
        row = {"queries": len(items), "corpus": len(docs)}
        for path in PATHS:
            q = run_heads(model, [p["query_ids"] for p in items], path, ["embed"])["embed"]
            d = run_heads(model, doc_ids, path, ["embed"])["embed"]
            ranks = (q @ d.T).argsort(dim=-1, descending=True)[:, :5].tolist()
            row[path] = recall_at(ranks, targets)
        row["bm25_bigram"] = recall_at([r[:5] for r in bm25_rank([p["query"] for p in items], docs)], targets)
        results[source] = row
    return results


def markdown(report):
    lines = triage_table(report["triage"], report["baseline_rules_lexicon"])
    for name, sub in report.get("subsets", {}).items():
        lines += ["", f"**{name}** ({sub['questions']} questions: {sub['what']})", ""]
        lines += triage_table(sub["triage"], sub["baseline_rules_lexicon"])
    lines += ["", "| held-out pairs | queries / corpus | " + " | ".join(f"{p} R@1 / R@5" for p in PATHS)
              + " | bigram BM25 R@1 / R@5 |", "|---|---|" + "---|" * (len(PATHS) + 1)]
    for source, r in report["retrieval"].items():
        cells = [f"{r[p]['recall@1']:.3f} / {r[p]['recall@5']:.3f}" for p in PATHS + ["bm25_bigram"]]
        lines.append(f"| {source} | {r['queries']} / {r['corpus']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def triage_table(triage, b):
    lines = ["| path | policy | accuracy | under-triage | emergency recall | emergency precision | department accuracy |",
             "|---|---|---|---|---|---|---|"]
    for path in PATHS:
        r = triage[path]
        for policy in ("model", "model+thr", "runtime"):
            s = r[policy]
            dept = f"{r['department_accuracy']:.3f}" if policy == "runtime" else ""
            lines.append(f"| {path} | {policy} | {s['accuracy']:.3f} | {s['under_triage']:.3f} | "
                         f"{s['emergency_recall']:.3f} | {s['emergency_precision']:.3f} | {dept} |")
    lines.append(f"| - | rules + lexicon (baseline) | {b['accuracy']:.3f} | {b['under_triage']:.3f} | "
                 f"{b['emergency_recall']:.3f} | {b['emergency_precision']:.3f} | {b['department_accuracy']:.3f} |")
    return lines


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", default=os.path.join(REPO, "runs", "medical-data"))
    ap.add_argument("--emergency-threshold", type=float, default=0.35)
    ap.add_argument("--urgent-threshold", type=float, default=0.5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--fresh-from", default="",
                    help="LANG=N,...: also score the dev questions tq-LANG-NNNN with NNNN >= N on their own "
                         "(written after the rules and the lexicon, so neither was fitted to them) and the rest")
    ap.add_argument("--json", help="also write the report here")
    ap.add_argument("--markdown", action="store_true", help="print tables for the model card")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    model = load_model(args.model)
    questions = read_jsonl(os.path.join(args.data, "dev_questions.jsonl"))
    if any(q.get("ids") is None for q in questions):
        print("[eval_medical] some dev questions have no token ids; rerun medical_data.py", file=sys.stderr)
        return 1
    with open(check_rules.DEPARTMENTS, encoding="utf-8") as f:
        departments = [l.split("\t")[0] for l in f.read().splitlines()[1:] if l.strip()]
    matcher = check_rules.Matcher(check_rules.load_rules())
    _, lexicon = check_rules.validate_lexicon(departments)
    triage, base, missed = eval_triage(model, questions, matcher, lexicon, args.emergency_threshold,
                                       args.urgent_threshold)
    report = {"model": os.path.basename(args.model), "emergency_threshold": args.emergency_threshold,
              "urgent_threshold": args.urgent_threshold,
              "dev_questions": len(questions), "triage": triage, "baseline_rules_lexicon": base,
              "emergencies_missed_runtime": missed,
              "retrieval": eval_retrieval(model, read_jsonl(os.path.join(args.data, "retrieval_dev.jsonl")))}
    if args.fresh_from:
        cut = parse_id_cut(args.fresh_from)
        report["subsets"] = {}
        for name, what, keep in (("fresh", "written after the rules and the lexicon", True),
                                 ("original", "the rules and the lexicon were written looking at them", False)):
            sub = [q for q in questions if written_from(q["id"], cut) == keep]
            t, b, m = eval_triage(model, sub, matcher, lexicon, args.emergency_threshold, args.urgent_threshold)
            report["subsets"][name] = {"what": what, "questions": len(sub), "triage": t, "baseline_rules_lexicon": b,
                                       "emergencies_missed_runtime": m}
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=1)
    print(markdown(report) if args.markdown else json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
