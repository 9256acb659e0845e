#!/usr/bin/env python3
"""Adds the lexical bag (SPEC.md section 3) to a fine-tuned model's segment_labels heads: the "wide"
half of a wide-and-deep clause classifier, trained in minutes on a CPU.

usage: train_lexical.py --model FINETUNED.safetensors --data runs/legal-data --out MODEL.safetensors
                        [--heads clauses,cuad] [--buckets 65536] [--dim 32] [--max-n 3]
                        [--shrink K] [--length-bins L] [--position-bins P] [--targets cuad=hits]
                        [--epochs 16] [--mix-share 0.08] [--report REPORT.json] [--threads N]

Why: a small encoder fine-tuned for a few thousand steps on a CPU ranks CUAD's 41 clause categories
poorly (segment AP about 0.1), while the words of a clause ("governed by the laws of", "shall not
assign") carry most of the signal; a hashed bag of token n-grams learns them from the whole train
split in about a minute. The two are combined, not replaced: each label's logit is
a * (encoder logit) + b * (lexical logit) + c.

Steps:
  1. The train split's documents are divided by a hash of their id: the mixing slice (--mix-share)
     and the rest. The lexical bags (one per head) are trained on the rest only: binary
     cross-entropy over the segments (only the labels a segment's example marks as known), Adam,
     one epoch at a time, keeping for each head the epoch with its best macro AP on the mixing slice
     (the heads' parameters are disjoint, so this is each head trained and stopped on its own).
  2. On the mixing slice, the encoder's logits (every path of the model, no lexical part) and the
     lexical logits are collected, and per label (a, b, c) is fitted by L2-regularized logistic
     regression, pulled towards one (a, b) shared by the head's labels so rare labels stay sane.
  3. (a, b, c) are folded into the weights (W <- a W, bias <- a bias + c, proj <- b proj): the file
     computes exactly the mixed logit, with no new runtime parameter. Written in FP16 like the input.

The report (--report) gives, on the mixing slice, macro AP per head for the encoder alone, the
lexical bag alone and the mix, per path. Confidence calibration is a separate step
(calibrate_legal.py on the dev split), as for any fine-tuned model.
"""
import argparse
import json
import os
import sys
import time
import zlib

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from deepseek_model import DeepseekEncoder, lexical_buckets, pad_batch  # noqa: E402
from export import export_like, load_model  # noqa: E402
from finetune import read_jsonl  # noqa: E402

MIN_POSITIVES = 5      # labels with fewer positives in a slice are left out of its macro AP
SHRINK = 0.05          # L2 pull of each label's (a, b) towards the head's shared (a, b)


def in_mix_slice(doc, share):
    return zlib.crc32(doc.encode("utf-8")) % 10000 < share * 10000


class Segments:
    """All segments of a set of examples: hashed features (flat + offsets) and per-head targets."""

    def __init__(self, examples, heads, spec, label_keys=None):
        self.heads = heads
        label_keys = label_keys or {}
        feats, self.offsets = [], [0]
        self.lengths, self.starts = [], []   # tokens, and first token in the whole document (bias bins)
        self.y = {h: [] for h in heads}
        self.known = {h: [] for h in heads}
        self.where = []     # (example index, segment index)
        for x, ex in enumerate(examples):
            t = ex["targets"]
            spans = next(t[h]["spans"] for h in heads if h in t)
            starts = ex.get("span_starts") or [b for b, _ in spans]
            for s, (b, e) in enumerate(spans):
                if e <= b:
                    continue
                f = lexical_buckets(ex["ids"], b, e, spec["buckets"], spec["max_n"])
                feats.append(f)
                self.lengths.append(e - b)
                self.starts.append(starts[s])
                self.offsets.append(self.offsets[-1] + len(f))
                self.where.append((x, s))
                for h in heads:
                    n = heads[h]
                    y, k = np.zeros(n, np.float32), np.zeros(n, np.float32)
                    if h in t:
                        y[t[h][label_keys.get(h, "labels")][s]] = 1.0
                        known = t[h].get("known")
                        k[:] = 1.0 if known is None else 0.0
                        if known is not None:
                            k[known] = 1.0
                    self.y[h].append(y)
                    self.known[h].append(k)
        self.flat = torch.from_numpy(np.concatenate(feats) if feats else np.zeros(0, np.int64))
        self.offsets = np.asarray(self.offsets, dtype=np.int64)
        self.y = {h: torch.from_numpy(np.stack(v)) for h, v in self.y.items()}
        self.known = {h: torch.from_numpy(np.stack(v)) for h, v in self.known.items()}

    def __len__(self):
        return len(self.where)

    def batch(self, idx):
        """(features, offsets, counts) of segments idx for LexicalBag.pool."""
        starts, ends = self.offsets[idx], self.offsets[np.asarray(idx) + 1]
        flat = torch.cat([self.flat[b:e] for b, e in zip(starts, ends)])
        offs = torch.from_numpy(np.concatenate([[0], np.cumsum(ends - starts)[:-1]]).astype(np.int64))
        return flat, offs, torch.from_numpy((ends - starts).astype(np.int64))

    def lexical_logits(self, bag, idx):
        """The bag's rows [len(idx), C] for segments idx: proj @ u plus the length/position bias bins."""
        flat, offs, counts = self.batch(idx)
        return bag.proj(bag.pool(flat, offs, counts)) + bag.bin_biases(
            [self.lengths[i] for i in idx], [self.starts[i] for i in idx], flat.device)


def average_precision(scores, y):
    order = np.argsort(-scores, kind="stable")
    y = y[order]
    hits = np.cumsum(y)
    return float((hits / np.arange(1, len(y) + 1) * y).sum() / max(1.0, y.sum()))


def macro_ap(scores, y, known):
    """Mean AP over labels with >= MIN_POSITIVES known positives; scores, y, known: [N, C] arrays."""
    aps = []
    for c in range(y.shape[1]):
        m = known[:, c] > 0
        if y[m, c].sum() >= MIN_POSITIVES:
            aps.append(average_precision(scores[m, c], y[m, c]))
    return float(np.mean(aps)) if aps else float("nan"), len(aps)


def train_bags(model, fit, mix, heads, args, log):
    """Trains each head's lexical bag (with a temporary bias) on `fit`; keeps each head's best epoch on `mix`.
    Returns ({head: bias}, {head: epoch kept})."""
    bags = {h: model.heads[h].lexical for h in heads}
    bias = {h: torch.zeros(n, requires_grad=True) for h, n in heads.items()}
    params = [p for h in heads for p in bags[h].parameters()] + list(bias.values())
    opt = torch.optim.Adam(params, lr=args.lr)
    pos_weight = {h: torch.full((n,), args.pos_weight) for h, n in heads.items()}

    def logits(data, idx):
        return {h: data.lexical_logits(bags[h], idx) + bias[h] for h in heads}

    def score(data):
        with torch.no_grad():
            out = {h: [] for h in heads}
            for k in range(0, len(data), 4096):
                for h, v in logits(data, np.arange(k, min(k + 4096, len(data)))).items():
                    out[h].append(v)
        return {h: torch.cat(v).numpy() for h, v in out.items()}

    best, best_state, rng = {h: -1.0 for h in heads}, {}, np.random.default_rng(args.seed)
    for epoch in range(args.epochs):
        t0 = time.time()
        perm = rng.permutation(len(fit))
        for k in range(0, len(perm), args.batch):
            idx = perm[k:k + args.batch]
            out = logits(fit, idx)
            loss = 0.0
            for h in heads:
                per = F.binary_cross_entropy_with_logits(out[h], fit.y[h][idx], pos_weight=pos_weight[h],
                                                         reduction="none")
                loss = loss + (per * fit.known[h][idx]).sum() / fit.known[h][idx].sum().clamp(min=1.0)
            opt.zero_grad()
            loss.backward()
            opt.step()
        s = score(mix)
        aps = {h: macro_ap(s[h], mix.y[h].numpy(), mix.known[h].numpy())[0] for h in heads}
        log(f"[lexical] epoch {epoch + 1}/{args.epochs}: mixing-slice macro AP "
            + ", ".join(f"{h} {v:.3f}" for h, v in aps.items()) + f" ({time.time() - t0:.0f} s)")
        for h in heads:
            if h not in best_state or aps[h] > best[h]:   # a head with no scorable label keeps epoch 1
                best[h] = aps[h]
                best_state[h] = ({k: v.clone() for k, v in bags[h].state_dict().items()}, bias[h].detach().clone(),
                                 epoch + 1)
    for h in heads:
        bags[h].load_state_dict(best_state[h][0])
    log("[lexical] kept " + ", ".join(f"{h} epoch {best_state[h][2]} (macro AP {best[h]:.3f})" for h in heads))
    return {h: best_state[h][1] for h in heads}, {h: best_state[h][2] for h in heads}


@torch.no_grad()
def encoder_logits(model, examples, mix, heads, path, batch=8):
    """Encoder-only logits [N, C] per head for the mixing slice's segments (lexical bags switched off)."""
    saved = {h: model.heads[h].lexical for h in heads}
    for h in heads:
        model.heads[h].lexical = None
    rows = {h: {} for h in heads}
    try:
        xs = sorted({x for x, _ in mix.where})
        for k in range(0, len(xs), batch):
            chunk = xs[k:k + batch]
            ids, lengths = pad_batch([examples[x]["ids"] for x in chunk], model.config["pad_id"])
            segs = []
            for x in chunk:
                t = examples[x]["targets"]
                segs.append(next(t[h]["spans"] for h in heads if h in t))
            out = model(ids, lengths, path=path, segments=segs, heads=list(heads))["heads"]
            for h in heads:
                for j, x in enumerate(chunk):
                    for s in range(out[h][j].shape[0]):
                        rows[h][(x, s)] = out[h][j][s]
    finally:
        for h in heads:
            model.heads[h].lexical = saved[h]
    return {h: torch.stack([rows[h][w] for w in mix.where]) for h in heads}


def fit_mix(deep, lex, y, known, shrink=SHRINK, steps=200):
    """Per label (a, b, c) for sigmoid(a * deep + b * lex + c), L2-pulled to a shared (a0, b0)."""
    n = y.shape[1]
    a, b, c = torch.ones(n, requires_grad=True), torch.ones(n, requires_grad=True), torch.zeros(n, requires_grad=True)
    a0, b0 = torch.ones(1, requires_grad=True), torch.ones(1, requires_grad=True)
    opt = torch.optim.LBFGS([a, b, c, a0, b0], lr=0.5, max_iter=steps, line_search_fn="strong_wolfe")
    positives = (y * known).sum(0).clamp(min=1.0)

    def closure():
        opt.zero_grad()
        z = a * deep + b * lex + c
        per = F.binary_cross_entropy_with_logits(z, y, reduction="none") * known
        # Each label's loss is a mean over its known segments, so rare labels are not drowned.
        loss = (per.sum(0) / known.sum(0).clamp(min=1.0)).sum()
        loss = loss + shrink * (((a - a0) ** 2 + (b - b0) ** 2) * (10.0 / (positives + 10.0))).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return a.detach(), b.detach(), c.detach()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True, help="folder with train.jsonl (legal_data.py output)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--heads", default="clauses,cuad")
    ap.add_argument("--buckets", type=int, default=1 << 16)
    ap.add_argument("--dim", type=int, default=32)
    ap.add_argument("--max-n", type=int, default=3)
    ap.add_argument("--shrink", type=int, default=0,
                    help="lexical bag: divide the row sum by (features + SHRINK) (0: the mean), SPEC section 3")
    ap.add_argument("--length-bins", type=int, default=0,
                    help="lexical bag: a bias per label by floor(log2(segment tokens)), this many bins (SPEC section 3)")
    ap.add_argument("--position-bins", type=int, default=0,
                    help="lexical bag: a bias per label by floor(log2(first token in the document + 1)), this many bins")
    ap.add_argument("--epochs", type=int, default=16)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--lr", type=float, default=1e-2)
    ap.add_argument("--pos-weight", type=float, default=10.0)
    ap.add_argument("--mix-share", type=float, default=0.08)
    ap.add_argument("--targets", default="",
                    help="HEAD=KEY,...: train HEAD on its examples' KEY lists instead of `labels` "
                         "(cuad=hits: segments that alone match a gold span at Jaccard >= 0.5, "
                         "legal_data.py's `hits`)")
    ap.add_argument("--paths", default="", help="paths whose encoder logits fit the mix (default: all)")
    ap.add_argument("--seed", type=int, default=20261129)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--report")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731

    base = load_model(args.model)
    wanted = [h for h in args.heads.split(",") if h]
    defs = []
    for d in base.head_defs:
        d = dict(d)
        if d["name"] in wanted:
            if d["type"] != "segment_labels":
                raise SystemExit(f"[train_lexical] head '{d['name']}' is {d['type']}, not segment_labels")
            d["lexical"] = {"buckets": args.buckets, "dim": args.dim, "max_n": args.max_n}
            if args.shrink:
                d["lexical"]["shrink"] = args.shrink
            for key in ("length_bins", "position_bins"):
                if getattr(args, key):
                    d["lexical"][key] = getattr(args, key)
        defs.append(d)
    missing = set(wanted) - {d["name"] for d in defs}
    if missing:
        raise SystemExit(f"[train_lexical] the model has no head {sorted(missing)}")
    model = DeepseekEncoder(base.config, base.paths, defs)
    state = {k: v for k, v in base.state_dict().items() if ".lexical." not in k}
    model.load_state_dict(state, strict=False)
    model.eval()
    heads = {d["name"]: len(d["labels"]) for d in defs if d["name"] in wanted}
    spec = {"buckets": args.buckets, "max_n": args.max_n}

    examples = read_jsonl(os.path.join(args.data, "train.jsonl"))
    fit_ex = [e for e in examples if not in_mix_slice(e["doc"], args.mix_share)]
    mix_ex = [e for e in examples if in_mix_slice(e["doc"], args.mix_share)]
    t0 = time.time()
    label_keys = dict(item.split("=", 1) for item in args.targets.split(",") if item)
    fit, mix = Segments(fit_ex, heads, spec, label_keys), Segments(mix_ex, heads, spec, label_keys)
    log(f"[lexical] {len(fit_ex)} fitting examples ({len(fit)} segments), {len(mix_ex)} mixing examples "
        f"({len(mix)} segments, {len({e['doc'] for e in mix_ex})} documents); features in {time.time() - t0:.0f} s")

    bias, epoch = train_bags(model, fit, mix, heads, args, log)
    with torch.no_grad():
        lex = {}
        for h in heads:
            out = []
            for k in range(0, len(mix), 4096):
                out.append(mix.lexical_logits(model.heads[h].lexical, np.arange(k, min(k + 4096, len(mix)))))
            lex[h] = torch.cat(out)

    paths = [p for p in args.paths.split(",") if p] or list(model.paths)
    deep = {h: [] for h in heads}
    for path in paths:
        t0 = time.time()
        out = encoder_logits(model, mix_ex, mix, heads, path)
        for h in heads:
            deep[h].append(out[h])
        log(f"[lexical] encoder logits, path {path}: {time.time() - t0:.0f} s")

    report = {"model": os.path.basename(args.model), "targets": label_keys, "lexical": {"buckets": args.buckets, "dim": args.dim,
              "max_n": args.max_n, "shrink": args.shrink, "length_bins": args.length_bins,
              "position_bins": args.position_bins}, "epoch_kept": epoch, "mix_documents": len({e["doc"] for e in mix_ex}),
              "mix_segments": len(mix), "heads": {}}
    with torch.no_grad():
        for h in heads:
            y, known = mix.y[h], mix.known[h]
            d_all = torch.cat(deep[h])
            l_all = lex[h].repeat(len(paths), 1)
            a, b, c = fit_mix(d_all, l_all, y.repeat(len(paths), 1), known.repeat(len(paths), 1))
            head = model.heads[h]
            head.weight.mul_(a[:, None])
            head.bias.mul_(a).add_(c)
            head.lexical.proj.weight.mul_(b[:, None])
            for table in (head.lexical.length_bias, head.lexical.position_bias):
                if table is not None:
                    table.mul_(b[None, :])
            yn, kn = y.numpy(), known.numpy()
            rows = {}
            for i, path in enumerate(paths):
                dz = deep[h][i]
                rows[path] = {"encoder": macro_ap(dz.numpy(), yn, kn)[0],
                              "lexical": macro_ap((lex[h] + bias[h]).numpy(), yn, kn)[0],
                              "mixed": macro_ap((a * dz + b * lex[h] + c).numpy(), yn, kn)[0]}
            report["heads"][h] = {"labels_scored": macro_ap(lex[h].numpy(), yn, kn)[1], "paths": rows,
                                  "a_median": float(a.median()), "b_median": float(b.median())}
            log(f"[lexical] {h}: mixing-slice macro AP " + "; ".join(
                f"{p} encoder {r['encoder']:.3f} lexical {r['lexical']:.3f} mixed {r['mixed']:.3f}"
                for p, r in rows.items()) + f"; median a {float(a.median()):.2f}, b {float(b.median()):.2f}")

    record = {k: v for k, v in report.items() if k != "heads"}
    export_like(model, args.out, base, "lexical", dict(record, script="model/training/train_lexical.py"))
    log(f"[lexical] wrote {args.out}")
    if args.report:
        with open(args.report, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
