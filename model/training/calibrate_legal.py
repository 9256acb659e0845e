#!/usr/bin/env python3
"""Fits the legal model's confidence calibration on the dev split and prints its reliability table.

usage: calibrate_legal.py --model MODEL.safetensors --dev runs/legal-data/dev-full.jsonl --out CAL.json
                          [--path standard] [--threads N] [--report REPORT.json]

For every label of the `clauses` and `cuad` heads, one Platt scaling p = sigmoid(a * logit + b) is
fitted (L2-regularized logistic regression on the segment logits of the dev examples, Newton steps;
labels with fewer than MIN_POSITIVES positives keep a = 1, b = 0). Only labels the example marks as
known are used (finetune.py's `known`). The reliability table is cross-fitted so it does not grade
the scaling on the data it was fitted on: documents are split in two halves by a hash of their id,
each half is scored with the scaling fitted on the other, and the calibrated probabilities are
binned (10 equal-width bins): mean predicted probability vs observed positive rate, with counts,
and the expected calibration error (ECE). The JSON written is the format plugins/legal/calibration.h
reads.
"""
import argparse
import json
import os
import sys
import zlib

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from deepseek_model import pad_batch  # noqa: E402
from export import load_model  # noqa: E402
from finetune import read_jsonl  # noqa: E402

MIN_POSITIVES = 5
HEADS = ("clauses", "cuad")


@torch.no_grad()
def collect(model, examples, path, batch=8, label_keys=None):
    """{head: (logits [N, C], targets [N, C], known [N, C], doc half [N])} over all dev segments.
    label_keys: head -> the target key holding its positives (default `labels`; `hits` for a head
    trained on train_lexical.py --targets HEAD=hits)."""
    label_keys = label_keys or {}
    out = {h: ([], [], [], []) for h in HEADS}
    labels = {h["name"]: h["labels"] for h in model.head_defs if h["name"] in HEADS}
    for i in range(0, len(examples), batch):
        chunk = examples[i:i + batch]
        ids, lengths = pad_batch([e["ids"] for e in chunk], model.config["pad_id"], torch.device("cpu"))
        segments = [e["targets"]["clauses"]["spans"] for e in chunk]
        # span_starts: the segments' places in the whole document, as the runtime's position bins see them.
        starts = [e.get("span_starts") for e in chunk]
        res = model(ids, lengths, path=path, segments=segments, heads=list(labels), segment_starts=starts)["heads"]
        for h in labels:
            n = len(labels[h])
            for b, e in enumerate(chunk):
                t = e["targets"].get(h)
                if t is None:
                    continue
                logits = res[h][b].float().numpy()
                hot = np.zeros((len(t["spans"]), n), dtype=np.float32)
                for r, pos in enumerate(t[label_keys.get(h, "labels")]):
                    hot[r, pos] = 1.0
                known = np.ones(n, dtype=bool)
                if t.get("known") is not None:
                    known = np.zeros(n, dtype=bool)
                    known[t["known"]] = True
                half = zlib.crc32(e["doc"].encode()) % 2
                out[h][0].append(logits)
                out[h][1].append(hot)
                out[h][2].append(np.broadcast_to(known, hot.shape))
                out[h][3].append(np.full(len(hot), half))
    return {h: tuple(np.concatenate(x) if x else np.zeros((0, len(labels[h]))) for x in v)
            for h, v in out.items() if h in labels}, labels


def platt(z, y, l2=1e-2, steps=50):
    """(a, b) of the L2-regularized logistic regression y ~ sigmoid(a z + b) by Newton's method."""
    a, b = 1.0, 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-np.clip(a * z + b, -60, 60)))
        w = p * (1 - p) + 1e-9
        g = np.array([np.sum((p - y) * z) + l2 * (a - 1.0), np.sum(p - y)])
        h = np.array([[np.sum(w * z * z) + l2, np.sum(w * z)], [np.sum(w * z), np.sum(w) + 1e-9]])
        step = np.linalg.solve(h, g)
        a, b = a - step[0], b - step[1]
        if np.abs(step).max() < 1e-7:
            break
    return float(a), float(b)


def fit(logits, targets, known, rows):
    scales = {}
    for j in range(logits.shape[1]):
        keep = rows & known[:, j]
        z, y = logits[keep, j], targets[keep, j]
        if y.sum() >= MIN_POSITIVES and (1 - y).sum() >= MIN_POSITIVES:
            scales[j] = platt(z.astype(np.float64), y.astype(np.float64))
    return scales


def apply(scales, logits):
    p = np.empty_like(logits, dtype=np.float64)
    for j in range(logits.shape[1]):
        a, b = scales.get(j, (1.0, 0.0))
        p[:, j] = 1.0 / (1.0 + np.exp(-np.clip(a * logits[:, j] + b, -60, 60)))
    return p


def reliability(p, y, bins=10):
    rows, ece = [], 0.0
    edges = np.linspace(0, 1, bins + 1)
    for k in range(bins):
        sel = (p >= edges[k]) & ((p < edges[k + 1]) if k < bins - 1 else (p <= 1))
        n = int(sel.sum())
        if n:
            mean_p, rate = float(p[sel].mean()), float(y[sel].mean())
            ece += n / max(1, len(p)) * abs(mean_p - rate)
            rows.append({"bin": f"{edges[k]:.1f}-{edges[k + 1]:.1f}", "count": n, "mean_confidence": mean_p,
                         "observed_rate": rate})
    return rows, ece


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--dev", required=True)
    parser.add_argument("--out", required=True, help="calibration JSON (plugins/legal/calibration.h format)")
    parser.add_argument("--path", default="standard")
    parser.add_argument("--threads", type=int)
    parser.add_argument("--report", help="also write the reliability tables here as JSON")
    parser.add_argument("--targets", default="", help="HEAD=KEY,...: positives from KEY instead of `labels` "
                                                      "(as the head was trained: cuad=hits)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    model = load_model(args.model)
    examples = read_jsonl(args.dev)
    label_keys = dict(item.split("=", 1) for item in args.targets.split(",") if item)
    data, labels = collect(model, examples, args.path, label_keys=label_keys)
    calibration = {"format": "deepseek-legal-calibration", "version": 1,
                   "fitted_on": {"dev": os.path.basename(args.dev), "path": args.path,
                                 "model": os.path.basename(args.model)}, "heads": {}}
    report = {}
    for h, (logits, targets, known, half) in data.items():
        all_rows = np.ones(len(logits), dtype=bool)
        scales = fit(logits, targets, known, all_rows)
        calibration["heads"][h] = {labels[h][j]: {"a": round(a, 6), "b": round(b, 6)} for j, (a, b) in scales.items()}
        # Cross-fitted reliability: each half scored with the other half's scaling.
        ps, ys, raw = [], [], []
        for part in (0, 1):
            other = fit(logits, targets, known, half != part)
            sel = half == part
            p = apply(other, logits[sel])
            m = known[sel]
            ps.append(p[m])
            ys.append(targets[sel][m])
            raw.append((1.0 / (1.0 + np.exp(-np.clip(logits[sel].astype(np.float64), -60, 60))))[m])
        p, y, r = np.concatenate(ps), np.concatenate(ys), np.concatenate(raw)
        table, ece = reliability(p, y)
        _, ece_raw = reliability(r, y)
        report[h] = {"segments": int(len(logits)), "labels_fitted": len(scales), "ece": ece, "ece_uncalibrated": ece_raw,
                     "table": table}
        print(f"[calibrate] {h}: {len(logits)} dev segments, {len(scales)}/{len(labels[h])} labels fitted, "
              f"ECE {ece:.4f} (uncalibrated {ece_raw:.4f}), cross-fitted")
        for row in table:
            print(f"  {row['bin']}  n={row['count']:7d}  confidence {row['mean_confidence']:.3f}  "
                  f"observed {row['observed_rate']:.3f}")
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(calibration, f, ensure_ascii=False, indent=1)
        f.write("\n")
    if args.report:
        with open(args.report, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=1)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
