#!/usr/bin/env python3
"""Adds the lexical bag (SPEC.md section 3) to a fine-tuned model's sequence_classes heads (the medical
model's triage and department): the "wide" half of a wide-and-deep question classifier, trained in
about a minute on a CPU. train_lexical.py is its twin for segment_labels heads (legal).

usage: train_lexical_classes.py --model FINETUNED.safetensors --data runs/medical-data --out MODEL.safetensors
           [--mix-from zh=339,en=336] [--heads triage,department] [--buckets 16384] [--dim 32]
           [--max-n 3] [--shrink 4] [--epochs 30] [--folds 4] [--report REPORT.json] [--threads N]

Why: the encoder fine-tuned for 800 steps on a CPU gets 54% of our dev triage levels right, below the
rules + lexicon baseline (78%); the words of a question ("can't breathe", "没有发烧") carry much of the
signal, and a hashed bag of token n-grams learns them from the labelled questions in seconds. The two
are combined, not replaced: each class's logit is a * (encoder logit) + b * (lexical logit) + c.

Which questions may fit the mix: only questions the encoder never trained on, or the mix would trust
the encoder's in-sample logits. By default they are the train questions medical_data.py kept out of
train.jsonl (`--encoder-holdout`, marked `encoder_holdout` in train_questions.jsonl); --mix-from names
them instead by id (train questions whose id number is at least the given one in their language, e.g.
questions written after the encoder was fine-tuned). Mixing questions missing from train.jsonl join the
bag's training examples (GOLD_REPEAT copies, as medical_data.py gives every hand-labelled question).

Steps:
  1. Bag training set: every train.jsonl example with a target for the head (hand-labelled questions,
     weak labels, department-only texts). Softmax cross-entropy, Adam.
  2. Cross-fitting: the mixing questions are split into --folds folds by a hash of their id; for each
     fold a bag is trained without it and scores it after every epoch. The epoch count with the lowest
     out-of-fold cross-entropy (summed over the heads) is kept, with those out-of-fold logits.
  3. Per class (a, b, c) by L2-regularized multinomial logistic regression on the mixing questions'
     out-of-fold bag logits and the encoder's logits (every path), pulled towards one (a, b) shared by
     the head's classes.
  4. The final bag is trained on everything (mixing questions included) for the kept epoch count, and
     (a, b, c) is folded into the weights (W <- a W, bias <- a bias + c, proj <- b proj): the file
     computes exactly the mixed logit. Written in FP16 like the input.

The report gives, on the mixing questions, accuracy and cross-entropy per head for the encoder alone,
the bag alone and the mix, per path.
"""
import argparse
import hashlib
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from deepseek_model import DeepseekEncoder, LexicalBag, lexical_buckets, pad_batch  # noqa: E402
from export import export_like, load_model  # noqa: E402
from finetune import read_jsonl  # noqa: E402
from medical_data import parse_id_cut, written_from  # noqa: E402

PULL = 0.05  # L2 pull of each class's (a, b) towards the head's shared (a0, b0)
GOLD_REPEAT = 3  # medical_data.py's copies of a hand-labelled question


class Bags:
    """Hashed features of a list of token-id sequences, in EmbeddingBag form."""

    def __init__(self, seqs, spec):
        feats = [lexical_buckets(s, 0, len(s), spec["buckets"], spec["max_n"]) for s in seqs]
        self.counts = np.array([len(f) for f in feats], dtype=np.int64)
        self.starts = np.concatenate([[0], np.cumsum(self.counts)[:-1]]).astype(np.int64)
        self.flat = torch.from_numpy(np.concatenate(feats) if feats else np.zeros(0, np.int64))

    def __len__(self):
        return len(self.counts)

    def batch(self, idx):
        idx = np.asarray(idx)
        starts, counts = self.starts[idx], self.counts[idx]
        flat = torch.cat([self.flat[b:b + n] for b, n in zip(starts, counts)])
        offs = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        return flat, torch.from_numpy(offs), torch.from_numpy(counts)


def fold_of(item_id, folds):
    return int.from_bytes(hashlib.sha256(("lexical-fold:" + item_id).encode()).digest()[:8], "big") % folds


class Trainer:
    """One bag per head plus a temporary bias, trained with softmax cross-entropy on (sequence, class)."""

    def __init__(self, heads, spec, args, seed):
        torch.manual_seed(seed)
        self.heads = heads
        self.bags = {h: LexicalBag(spec, n) for h, n in heads.items()}
        self.bias = {h: torch.zeros(n, requires_grad=True) for h, n in heads.items()}
        params = [p for b in self.bags.values() for p in b.parameters()] + list(self.bias.values())
        self.opt = torch.optim.Adam(params, lr=args.lr, weight_decay=0.0)
        self.args = args
        self.rng = np.random.default_rng(seed)

    def logits(self, bags, idx, with_bias=True):
        flat, offs, counts = bags.batch(idx)
        return {h: self.bags[h].proj(self.bags[h].pool(flat, offs, counts)) + (self.bias[h] if with_bias else 0)
                for h in self.heads}

    def epoch(self, bags, targets):
        """targets: head -> int64 array (-1: no target)."""
        perm = self.rng.permutation(len(bags))
        for k in range(0, len(perm), self.args.batch):
            idx = perm[k:k + self.args.batch]
            out = self.logits(bags, idx)
            loss = 0.0
            for h in self.heads:
                y = torch.from_numpy(targets[h][idx])
                m = y >= 0
                if m.any():
                    loss = loss + F.cross_entropy(out[h][m], y[m])
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()

    @torch.no_grad()
    def score(self, bags, with_bias=True):
        return self.logits(bags, np.arange(len(bags)), with_bias)


@torch.no_grad()
def encoder_logits(model, seqs, path, heads, batch=64):
    """The encoder-only logits [N, C] per head (the model has no bags yet)."""
    out = {h: [] for h in heads}
    for k in range(0, len(seqs), batch):
        ids, lengths = pad_batch(seqs[k:k + batch], model.config["pad_id"])
        got = model(ids, lengths, path=path, heads=list(heads))["heads"]
        for h in heads:
            out[h].append(got[h].float())
    return {h: torch.cat(v) for h, v in out.items()}


def fit_mix(deep, lex, y, pull=PULL, steps=300):
    """Per class (a, b, c) for softmax(a * deep + b * lex + c), L2-pulled to a shared (a0, b0)."""
    n = deep.shape[1]
    a, b, c = torch.ones(n, requires_grad=True), torch.ones(n, requires_grad=True), torch.zeros(n, requires_grad=True)
    a0, b0 = torch.ones(1, requires_grad=True), torch.ones(1, requires_grad=True)
    opt = torch.optim.LBFGS([a, b, c, a0, b0], lr=0.5, max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(a * deep + b * lex + c, y)
        loss = loss + pull * (((a - a0) ** 2).sum() + ((b - b0) ** 2).sum() + (c ** 2).sum())
        loss.backward()
        return loss

    opt.step(closure)
    return a.detach(), b.detach(), c.detach()


def quality(logits, y):
    return {"accuracy": float((logits.argmax(-1) == y).float().mean()), "cross_entropy": float(F.cross_entropy(logits, y))}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True, help="medical_data.py output: train.jsonl, train_questions.jsonl")
    ap.add_argument("--out", required=True)
    ap.add_argument("--mix-from", default="",
                    help="LANG=N,...: mixing questions are train questions tq-LANG-NNNN with NNNN >= N "
                         "(default: those marked encoder_holdout)")
    ap.add_argument("--heads", default="triage,department")
    ap.add_argument("--buckets", type=int, default=1 << 14)
    ap.add_argument("--dim", type=int, default=32)
    ap.add_argument("--max-n", type=int, default=3)
    ap.add_argument("--shrink", type=int, default=4)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--folds", type=int, default=4)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--paths", default="", help="paths whose encoder logits fit the mix (default: all)")
    ap.add_argument("--seed", type=int, default=20261129)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--report")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731

    base = load_model(args.model)
    wanted = [h for h in args.heads.split(",") if h]
    spec = {"buckets": args.buckets, "dim": args.dim, "max_n": args.max_n}
    if args.shrink:
        spec["shrink"] = args.shrink
    defs = []
    for d in base.head_defs:
        d = dict(d)
        if d["name"] in wanted:
            if d["type"] != "sequence_classes":
                raise SystemExit(f"[train_lexical_classes] head '{d['name']}' is {d['type']}, not sequence_classes")
            d["lexical"] = dict(spec)
        defs.append(d)
    missing = set(wanted) - {d["name"] for d in defs}
    if missing:
        raise SystemExit(f"[train_lexical_classes] the model has no head {sorted(missing)}")
    heads = {d["name"]: len(d["labels"]) for d in defs if d["name"] in wanted}
    labels = {d["name"]: d["labels"] for d in defs if d["name"] in wanted}
    base.eval()

    mix_from = parse_id_cut(args.mix_from)
    questions = read_jsonl(os.path.join(args.data, "train_questions.jsonl"))
    chosen = (lambda q: written_from(q["id"], mix_from)) if mix_from else (lambda q: q.get("encoder_holdout", False))
    mix_q = [q for q in questions if chosen(q) and q.get("ids")]
    if not mix_q:
        raise SystemExit("[train_lexical_classes] no mixing question: pass --mix-from, or build the data with "
                         "medical_data.py --encoder-holdout")
    # A question's label for head h is its field h (triage, department).
    mix_y = {h: torch.tensor([labels[h].index(q[h]) for q in mix_q]) for h in heads}
    mix_seqs = [q["ids"] for q in mix_q]
    mix_keys = {tuple(s): i for i, s in enumerate(mix_seqs)}
    folds = np.array([fold_of(q["id"], args.folds) for q in mix_q])

    # Bag training examples; a mixing question's copies carry its index so its fold can leave it out.
    examples = [e for e in read_jsonl(os.path.join(args.data, "train.jsonl")) if any(h in e["targets"] for h in heads)]
    present = {tuple(e["ids"]) for e in examples}
    for q in mix_q:
        if tuple(q["ids"]) not in present:
            targets_q = {h: labels[h].index(q[h]) for h in heads}
            examples += [{"ids": q["ids"], "targets": targets_q, "source": "questions"}] * GOLD_REPEAT
    seqs = [e["ids"] for e in examples]
    owner = np.array([mix_keys.get(tuple(s), -1) for s in seqs])
    targets = {h: np.array([e["targets"].get(h, -1) for e in examples], dtype=np.int64) for h in heads}
    all_bags, mix_bags = Bags(seqs, spec), Bags(mix_seqs, spec)
    log(f"[lexical] {len(examples)} bag examples ({int((owner >= 0).sum())} are copies of the {len(mix_q)} "
        f"mixing questions, {args.folds} folds)")

    # 2. Cross-fitted epoch count and out-of-fold bag logits.
    t0 = time.time()
    oof = [{h: torch.zeros(len(mix_q), heads[h]) for h in heads} for _ in range(args.epochs)]
    for k in range(args.folds):
        keep = np.nonzero((owner < 0) | (folds[np.maximum(owner, 0)] != k))[0]
        sub = Bags([seqs[i] for i in keep], spec)
        sub_targets = {h: targets[h][keep] for h in heads}
        held = np.nonzero(folds == k)[0]
        trainer = Trainer(heads, spec, args, args.seed + k)
        for ep in range(args.epochs):
            trainer.epoch(sub, sub_targets)
            got = trainer.score(mix_bags)
            for h in heads:
                oof[ep][h][held] = got[h][held]
    ce = [sum(float(F.cross_entropy(o[h], mix_y[h])) for h in heads) for o in oof]
    best = int(np.argmin(ce))
    log("[lexical] cross-fitting: out-of-fold cross-entropy by epoch " + " ".join(f"{c:.3f}" for c in ce)
        + f"; kept {best + 1} epochs ({time.time() - t0:.0f} s)")
    lex_oof = oof[best]

    # 3. The mix, on every path's encoder logits.
    paths = [p for p in args.paths.split(",") if p] or list(base.paths)
    deep = {p: encoder_logits(base, mix_seqs, p, heads) for p in paths}
    report = {"model": os.path.basename(args.model), "lexical": spec, "epochs_kept": best + 1,
              "mix_questions": len(mix_q), "mix_ids": [q["id"] for q in mix_q], "mix": mix_from or "encoder_holdout", "bag_examples": len(examples), "heads": {}}
    mixes = {}
    for h in heads:
        d_all = torch.cat([deep[p][h] for p in paths])
        l_all = lex_oof[h].repeat(len(paths), 1)
        a, b, c = fit_mix(d_all, l_all, mix_y[h].repeat(len(paths)))
        mixes[h] = (a, b, c)
        rows = {p: {"encoder": quality(deep[p][h], mix_y[h]), "lexical": quality(lex_oof[h], mix_y[h]),
                    "mixed": quality(a * deep[p][h] + b * lex_oof[h] + c, mix_y[h])} for p in paths}
        report["heads"][h] = {"paths": rows, "a": a.tolist(), "b": b.tolist(), "c": c.tolist(),
                              # out-of-fold probabilities per mixing question, for choosing thresholds
                              "mix_probabilities": {p: {"encoder": torch.softmax(deep[p][h], -1).tolist(),
                                                        "mixed": torch.softmax(a * deep[p][h] + b * lex_oof[h] + c, -1).tolist()}
                                                    for p in paths}}
        log(f"[lexical] {h} on the mixing questions: " + "; ".join(
            f"{p} accuracy encoder {r['encoder']['accuracy']:.3f} bag {r['lexical']['accuracy']:.3f} "
            f"mixed {r['mixed']['accuracy']:.3f}" for p, r in rows.items()))

    # 4. The final bag on everything, folded into the weights.
    trainer = Trainer(heads, spec, args, args.seed + 100)
    for _ in range(best + 1):
        trainer.epoch(all_bags, targets)
    model = DeepseekEncoder(base.config, base.paths, defs)
    model.load_state_dict(base.state_dict(), strict=False)
    with torch.no_grad():
        for h in heads:
            a, b, c = mixes[h]
            head = model.heads[h]
            head.lexical.load_state_dict(trainer.bags[h].state_dict())
            head.weight.mul_(a[:, None])
            # The bag's training bias belongs to its logit: b * (proj u + bias_lex).
            head.bias.mul_(a).add_(c + b * trainer.bias[h].detach())
            head.lexical.proj.weight.mul_(b[:, None])

    record = {k: v for k, v in report.items() if k != "heads"}
    export_like(model, args.out, base, "lexical", dict(record, script="model/training/train_lexical_classes.py"))
    log(f"[lexical] wrote {args.out}")
    if args.report:
        with open(args.report, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
