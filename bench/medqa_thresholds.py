#!/usr/bin/env python3
"""How medical.triage's thresholds trade under-triage for over-triage, on the labelled questions.

Runs `medqa --json` once over data/medical/triage/questions.jsonl (default: the dev split, which the
model did not train on) and replays the stage's level rule for a grid of thresholds from the
printed model probabilities and fired red-flag levels (the rule is triage.cc:model_level + combine):

  model level = emergency if P(emergency) >= e; else at least urgent if P(emergency) + P(urgent) >= u;
                else the most probable level (a tie goes to the more urgent one)
  final level = max(model level, the highest fired red flag's level)

For each (e, u) it prints level accuracy, under-triage (final below the label), emergencies missed
(label emergency, final below), over-triage, and how many non-emergencies were sent to emergency.

  /usr/bin/python3 bench/medqa_thresholds.py [--model FILE] [--kb FILE] [--split dev|train|all]

Without --kb a knowledge base is built for the model into a temporary folder (medical_qa.yaml needs one).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LEVELS = ["self_care", "routine", "urgent", "emergency"]  # rank order
RANK = {l: i for i, l in enumerate(LEVELS)}


def model_level(p, e, u):
    best = max(reversed(LEVELS), key=lambda l: p[l])  # reversed: ties keep the more urgent level
    if p["emergency"] >= e:
        return "emergency"
    if RANK[best] < RANK["urgent"] and p["emergency"] + p["urgent"] >= u:
        return "urgent"
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="")
    ap.add_argument("--split", default="dev", choices=["dev", "train", "all"])
    ap.add_argument("--kb", default="")
    ap.add_argument("--medqa", default=os.path.join(ROOT, "build/release/bin/medqa"))
    args = ap.parse_args()
    model = args.model
    if not model:
        for m in ("data/models/medical-small.safetensors", "runs/medical-dev/medical-dev.safetensors"):
            if os.path.exists(os.path.join(ROOT, m)):
                model = os.path.join(ROOT, m)
                break
    items = [json.loads(l) for l in open(os.path.join(ROOT, "data/medical/triage/questions.jsonl"), encoding="utf-8")]
    items = [i for i in items if args.split == "all" or i["split"] == args.split]
    text = "".join(i["text"].replace("\n", " ") + "\n" for i in items)
    with tempfile.TemporaryDirectory() as tmp:
        kb = args.kb
        if not kb:
            kb = os.path.join(tmp, "kb.sqlite")
            subprocess.run([os.path.join(ROOT, "build/release/bin/deepseek"), "kb", "build", "--threads", "1", "--model",
                            model, "--out", kb], capture_output=True, check=True)
        out = subprocess.run([args.medqa, "--json", "--model", model, "--kb", kb], input=text.encode(),
                             capture_output=True, check=True)
    rows = [json.loads(l) for l in out.stdout.decode().splitlines()]
    assert len(rows) == len(items), (len(rows), len(items))

    n = len(items)
    n_emerg = sum(1 for i in items if i["triage"] == "emergency")
    print(f"model {os.path.basename(model)}, split {args.split}: {n} questions, {n_emerg} labelled emergency")
    print()
    print("| e (emergency) | u (urgent) | accuracy | under-triage | emergencies missed | over-triage | "
          "non-emergency -> emergency | emergencies missed by the model alone |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    grid_e = [0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 1.01]
    grid_u = [0.4, 0.5, 0.6, 1.01]
    for e in grid_e:
        for u in grid_u:
            acc = under = missed = over = false_emerg = model_missed = 0
            for item, row in zip(items, rows):
                p = row["model_probs"]
                level = model_level(p, e, u)
                model_missed += item["triage"] == "emergency" and level != "emergency"
                for f in row["red_flags"]:
                    if RANK[f["level"]] > RANK[level]:
                        level = f["level"]
                gold = item["triage"]
                acc += level == gold
                under += RANK[level] < RANK[gold]
                over += RANK[level] > RANK[gold]
                missed += gold == "emergency" and level != "emergency"
                false_emerg += gold != "emergency" and level == "emergency"
            label = lambda x: "off" if x > 1 else f"{x:.2f}"
            print(f"| {label(e)} | {label(u)} | {acc / n:.1%} | {under / n:.1%} ({under}) | {missed} of {n_emerg} | "
                  f"{over / n:.1%} ({over}) | {false_emerg} | {model_missed} |")


if __name__ == "__main__":
    sys.exit(main())
