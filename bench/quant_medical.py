#!/usr/bin/env python3
"""The medical model at several precisions, side by side: size, latency, throughput, triage accuracy.

For each model file (LABEL=FILE): the file size; ds_encoder_bench --model FILE on one path (median
ms at batch 1 for T = 128 and 512, tokens/s at batch 8 for T = 128 and 512; --rounds rounds with the
models interleaved, the median of the per-round medians); and `medqa --json --model FILE` over the
dev questions of data/medical/triage/questions.jsonl: triage accuracy and emergency recall of the
model alone (argmax of the triage head), of model+thr (medqa's model_level) and of the runtime
(rules + thresholds, medqa's level), and department accuracy (runtime).

  /usr/bin/python3 bench/quant_medical.py fp32=/tmp/q/med-fp32.safetensors fp16=data/models/medical-small.safetensors ...
      [--path standard] [--rounds 3] [--threads 2] [--kb data/kb/medical-kb.sqlite] [--json-out FILE]

The KB only supplies answers, which are not scored: every model uses one KB built without a model
(`deepseek kb build --out FILE`, full-text search), since medical.answer refuses a KB holding another
model's vectors; triage and department come from the model and the rules alone.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PIPELINE = next(p for p in (os.path.join(ROOT, "pipelines/medical_qa.yaml"), os.path.join(ROOT, "pipelines/medqa.yaml"))
                if os.path.exists(p))
LEVELS = ["self_care", "routine", "urgent", "emergency"]


def accuracy(items, rows, path):
    n = len(items)
    emerg = [i for i, it in enumerate(items) if it["triage"] == "emergency"]
    out = {}
    for name, level in (
        ("model", lambda r: max(reversed(LEVELS), key=lambda l: r["model_probs"][l])),
        ("model_thr", lambda r: r["model_level"]),
        ("runtime", lambda r: r["level"]),
    ):
        levels = [level(r) for r in rows]
        out[name] = {
            "accuracy": sum(l == it["triage"] for l, it in zip(levels, items)) / n,
            "emergency_recall": sum(levels[i] == "emergency" for i in emerg) / len(emerg),
        }
    out["department_accuracy"] = sum(r["department"] == it["department"] for r, it in zip(rows, items)) / n
    return out


def run_medqa(model, kb, path, items):
    text = "".join(i["text"].replace("\n", " ") + "\n" for i in items)
    cmd = [os.path.join(ROOT, "build/release/bin/medqa"), "--json", "--model", model, "--kb", kb, "--path", path,
           "--pipeline", PIPELINE]
    out = subprocess.run(cmd, input=text.encode(), capture_output=True, check=True)
    rows = [json.loads(l) for l in out.stdout.decode().splitlines()]
    assert len(rows) == len(items), (model, len(rows), len(items))
    return rows


def run_bench(model, path, threads):
    with tempfile.NamedTemporaryFile(suffix=".json") as tf:
        cmd = [os.path.join(ROOT, "build/release/bench/ds_encoder_bench"), "--model", model, "--paths", path,
               "--T", "128,512", "--batch", "1,8", "--threads", str(threads),
               "--skip", "attention,topk,memory,breakdown", "--json-out", tf.name]
        subprocess.run(cmd, capture_output=True, check=True)
        j = json.load(open(tf.name))
    return {(r["T"], r["batch"]): r for r in j["forward"]}


def comparison_arguments(doc):
    """The options every precision comparison takes (this script and quant_legal.py)."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("models", nargs="+", help="LABEL=FILE")
    ap.add_argument("--path", default="standard")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    return ap


def main():
    ap = comparison_arguments(__doc__)
    ap.add_argument("--kb", default="", help="KB without embeddings (default: built into a temporary folder)")
    ap.add_argument("--json-out", default="")
    args = ap.parse_args()
    models = [m.split("=", 1) for m in args.models]
    items = [json.loads(l) for l in open(os.path.join(ROOT, "data/medical/triage/questions.jsonl"), encoding="utf-8")]
    items = [i for i in items if i["split"] == "dev"]

    tmp = tempfile.TemporaryDirectory()
    if not args.kb:
        args.kb = os.path.join(tmp.name, "kb.sqlite")
        subprocess.run([os.path.join(ROOT, "build/release/bin/deepseek"), "kb", "build", "--out", args.kb],
                       capture_output=True, check=True)
    res = {label: {"file": f, "bytes": os.path.getsize(f)} for label, f in models}
    for label, f in models:
        res[label]["dev"] = accuracy(items, run_medqa(f, args.kb, args.path, items), args.path)
        print(f"{label}: accuracy done", file=sys.stderr)
    samples = {label: [] for label, _ in models}
    for rnd in range(args.rounds):
        for label, f in models:
            samples[label].append(run_bench(f, args.path, args.threads))
        print(f"round {rnd + 1}/{args.rounds} done", file=sys.stderr)
    for label, _ in models:
        s = samples[label]
        res[label]["ms_b1_T128"] = statistics.median(x[(128, 1)]["median_ms"] for x in s)
        res[label]["ms_b1_T512"] = statistics.median(x[(512, 1)]["median_ms"] for x in s)
        res[label]["tok_s_b8_T128"] = statistics.median(x[(128, 8)]["tokens_per_s"] for x in s)
        res[label]["tok_s_b8_T512"] = statistics.median(x[(512, 8)]["tokens_per_s"] for x in s)

    base = res[models[0][0]]
    print(f"dev: {len(items)} questions, path {args.path}, {args.threads} threads, {args.rounds} rounds (median)")
    print()
    print("| model | bytes | vs first | ms b1 T=128 | ms b1 T=512 | tok/s b8 T=128 | tok/s b8 T=512 | triage acc model | "
          "emerg. recall model | triage acc runtime | emerg. recall runtime | dept acc runtime |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, _ in models:
        r = res[label]
        d = r["dev"]
        print(f"| {label} | {r['bytes']:,} | 1/{base['bytes'] / r['bytes']:.2f} | {r['ms_b1_T128']:.2f} | {r['ms_b1_T512']:.2f} | "
              f"{r['tok_s_b8_T128']:,.0f} | {r['tok_s_b8_T512']:,.0f} | {d['model']['accuracy']:.1%} | "
              f"{d['model']['emergency_recall']:.1%} | {d['runtime']['accuracy']:.1%} | {d['runtime']['emergency_recall']:.1%} | "
              f"{d['department_accuracy']:.1%} |")
    if args.json_out:
        json.dump(res, open(args.json_out, "w"), indent=2)


if __name__ == "__main__":
    sys.exit(main())
