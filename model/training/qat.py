#!/usr/bin/env python3
"""Quantization-aware training (QAT) for the INT4 layout of SPEC.md section 6, by self-distillation.

usage: qat.py --model MODEL.safetensors --data runs/medical-data/train.jsonl --out QAT.safetensors
              [--matrices rules|rules+embed] [--group 64] [--steps 150] [--batch 32] [--lr 2e-5]
              [--clip-lr 1e-3] [--max-tokens 64] [--threads N] [--device cpu|cuda] [--report R.json]

then, through the same quantizer as any model:
  deepseek quantize --model QAT.safetensors --out QAT.int4.safetensors --uniform int4 [--quantize-embedding] ...
  deepseek quantize --model QAT.safetensors --out QAT.dmpq.safetensors --kl-budget 0.001 ...

What it simulates: every matrix `deepseek quantize` may put in INT4 (--matrices rules: all but the
attention Q/K projections and the embedding; rules+embed: the embedding too) is used in the forward
pass as its INT4 reconstruction, exactly the runtime's: per group of G inputs of a row, scale s =
fp16(alpha * max|w| / 7) and w_q = s * clamp(round(w / s), -7, 7). Rounding passes gradients straight
through (STE); alpha in (0, 1] is a learned clipping threshold per group (LSQ-style gradient), so
a group with an outlier can trade the outlier's error for a finer grid for the rest.

Why the export reproduces the simulation exactly: the QAT matrices are written as their reconstruction
w_q in F32. Each group's largest |w_q| is 7 s (the clipped maximum maps to code 7), so the C++
quantizer's max-abs scale is s again (s is FP16-representable) and its codes are the QAT codes.
tests: model/training/test_reference.py QatTest holds fake_quant_int4 to the runtime's layout.

The objective is the model's own FP outputs (self-distillation; no labels needed): on training
inputs, on every path, KL of the student's class distributions from the FP teacher's, plus the KL
of the in-batch similarity softmax (tau 0.05) for embedding heads, the Bernoulli KL per label for
segment heads: what DMPQ measures.
Every head but mlm is distilled: token tags per real token, segment labels with the Bernoulli KL per
label over the example's spans (`targets.<head>.spans`, the legal data), cut to --max-tokens.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.nn.utils.parametrize as parametrize

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from deepseek_model import pad_batch  # noqa: E402
from export import export_like, load_model, quantizable_matrices  # noqa: E402
from finetune import read_jsonl  # noqa: E402

FP16_MIN_NORMAL = 6.103515625e-05  # the runtime's scale for an all-zero group
EMBED_TAU = 0.05


def round_ste(x):
    return (x.round() - x).detach() + x


def fp16_ste(x):
    return (x.half().float() - x).detach() + x


def fake_quant_int4(w, group, alpha=None):
    """The INT4 reconstruction of w [N, K] (groups of `group` along K) with clipping alpha [N, K/G]."""
    n, k = w.shape
    g = w.reshape(n, k // group, group)
    mx = g.abs().amax(-1)
    if alpha is not None:
        mx = mx * alpha
    s = fp16_ste(mx / 7.0)
    s = torch.where(s > 0, s, torch.full_like(s, FP16_MIN_NORMAL))
    q = torch.clamp(round_ste(g / s[..., None]), -7, 7)
    return (q * s[..., None]).reshape(n, k)


class FakeQuantInt4(nn.Module):
    """A parametrization: weight -> its INT4 reconstruction, with a learned clip per group."""

    def __init__(self, shape, group):
        super().__init__()
        n, k = shape
        if k % group or group % 2:
            raise ValueError(f"[qat] group {group} must be even and divide the input size {k}")
        self.group = group
        self.alpha = nn.Parameter(torch.ones(n, k // group))

    def forward(self, w):
        return fake_quant_int4(w, self.group, self.alpha.clamp(0.5, 1.0))


def qat_matrices(config, which):
    names = [m for m in quantizable_matrices(config) if not m.endswith((".q", ".k")) and m != "embed"]
    return names + (["embed"] if which == "rules+embed" else [])


def enable(model, names, group):
    for name in names:
        module = model.get_submodule(name)
        parametrize.register_parametrization(module, "weight", FakeQuantInt4(tuple(module.weight.shape), group))


def bake(model, names):
    """Replaces each parametrized weight by its reconstruction (what the export writes)."""
    for name in names:
        parametrize.remove_parametrizations(model.get_submodule(name), "weight", leave_parametrized=True)


def bernoulli_kl(student_logits, teacher_logits):
    """Mean over labels and rows of KL(Bernoulli(sigmoid(t)) || Bernoulli(sigmoid(s)))."""
    pt = torch.sigmoid(teacher_logits)
    return (pt * (F.logsigmoid(teacher_logits) - F.logsigmoid(student_logits))
            + (1 - pt) * (F.logsigmoid(-teacher_logits) - F.logsigmoid(-student_logits))).mean()


def distill_loss(student, teacher, defs, mask=None):
    """Summed over heads: class KL (sequence_classes; token_tags per real token, `mask` [B, T]), Bernoulli
    KL per label (segment_labels), in-batch similarity KL (embedding)."""
    loss = 0.0
    for h in defs:
        name = h["name"]
        if h["type"] == "token_tags":
            keep = mask.reshape(-1)
            s = student[name].reshape(-1, student[name].shape[-1])[keep]
            t = teacher[name].reshape(-1, teacher[name].shape[-1])[keep]
            loss = loss + F.kl_div(F.log_softmax(s, -1), F.softmax(t, -1), reduction="batchmean")
        elif h["type"] == "segment_labels":
            rows = [(s, t) for s, t in zip(student[name], teacher[name]) if s.shape[0]]
            if rows:
                loss = loss + bernoulli_kl(torch.cat([s for s, _ in rows]), torch.cat([t for _, t in rows]))
        elif h["type"] == "sequence_classes":
            loss = loss + F.kl_div(F.log_softmax(student[name], -1), F.softmax(teacher[name], -1), reduction="batchmean")
        elif h["type"] == "embedding":
            s, t = student[name], teacher[name]
            loss = loss + F.kl_div(F.log_softmax(s @ s.T / EMBED_TAU, -1), F.softmax(t @ t.T / EMBED_TAU, -1),
                                   reduction="batchmean")
    return loss


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True, help="JSONL of examples with token `ids` (finetune.py format)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--matrices", choices=["rules", "rules+embed"], default="rules+embed")
    ap.add_argument("--group", type=int, default=64)
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-5)
    ap.add_argument("--clip-lr", type=float, default=1e-3)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--probe", type=int, default=256, help="training inputs whose KL is reported before and after")
    ap.add_argument("--seed", type=int, default=20261129)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--report")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731

    teacher = load_model(args.model, device=args.device).eval()
    student = load_model(args.model, device=args.device).train()
    for p in teacher.parameters():
        p.requires_grad_(False)
    defs = [h for h in student.head_defs if h["type"] != "mlm"]
    segment_heads = [h["name"] for h in defs if h["type"] == "segment_labels"]
    heads = [h["name"] for h in defs]
    names = qat_matrices(student.config, args.matrices)
    enable(student, names, args.group)
    # Heads and bags stay as trained: only the encoder's matrices and the clips move.
    weights = [p for n, p in student.named_parameters() if "original" in n]
    clips = [p for n, p in student.named_parameters() if n.endswith(".alpha")]
    for n, p in student.named_parameters():
        p.requires_grad_("original" in n or n.endswith(".alpha"))
    opt = torch.optim.AdamW([{"params": weights, "lr": args.lr, "weight_decay": 0.0},
                             {"params": clips, "lr": args.clip_lr, "weight_decay": 0.0}])

    examples = [e for e in read_jsonl(args.data) if e.get("ids")]
    seqs = [e["ids"][:args.max_tokens] for e in examples]

    def spans_of(i):
        """The example's segment spans (one list for all segment heads), cut to --max-tokens."""
        t = examples[i].get("targets", {})
        spans = next((t[h]["spans"] for h in segment_heads if h in t), [])
        return [[b, min(e, args.max_tokens)] for b, e in spans if b < args.max_tokens]

    def run(model, idx, path):
        ids, lengths = pad_batch([seqs[i] for i in idx], model.config["pad_id"], args.device)
        segments = [spans_of(i) for i in idx] if segment_heads else None
        out = model(ids, lengths, path=path, heads=heads, segments=segments)["heads"]
        mask = torch.arange(ids.shape[1], device=ids.device)[None, :] < torch.tensor(lengths, device=ids.device)[:, None]
        return out, mask

    rng = np.random.default_rng(args.seed)
    paths = list(student.paths)

    @torch.no_grad()
    def probe_kl(idx):
        """Mean distillation KL over the paths of the training inputs `idx` (a probe, not a held-out set)."""
        student.eval()
        total = 0.0
        for k in range(0, len(idx), args.batch):
            chunk = idx[k:k + args.batch]
            for p in paths:
                s_out, mask = run(student, chunk, p)
                total += float(distill_loss(s_out, run(teacher, chunk, p)[0], defs, mask)) * len(chunk)
        student.train()
        return total / len(paths) / len(idx)

    probe = rng.choice(len(seqs), size=min(args.probe, len(seqs)), replace=False)
    before = probe_kl(probe)
    log(f"[qat] {len(names)} matrices simulated in INT4 (group {args.group}), {len(seqs)} inputs; "
        f"KL on a {len(probe)}-input probe before training: {before:.3e}")
    t0 = time.time()
    for step in range(1, args.steps + 1):
        idx = rng.choice(len(seqs), size=args.batch, replace=False)
        loss = 0.0
        for p in paths:
            with torch.no_grad():
                t_out = run(teacher, idx, p)[0]
            s_out, mask = run(student, idx, p)
            loss = loss + distill_loss(s_out, t_out, defs, mask)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 10 == 0 or step == args.steps:
            log(f"[qat] step {step}/{args.steps} | distillation KL {float(loss) / len(paths):.3e} | "
                f"{time.time() - t0:.0f} s")
    after = probe_kl(probe)
    alphas = torch.cat([p.detach().clamp(0.5, 1.0).flatten() for p in clips])
    log(f"[qat] KL on the probe: {before:.3e} -> {after:.3e}; clip alpha mean {float(alphas.mean()):.3f}, "
        f"{float((alphas < 0.999).float().mean()) * 100:.0f}% of groups clipped")

    bake(student, names)
    record = {"script": "model/training/qat.py", "matrices": args.matrices, "group": args.group,
              "steps": args.steps, "batch": args.batch, "lr": args.lr, "clip_lr": args.clip_lr,
              "kl_probe_before": before, "kl_probe_after": after, "data": os.path.basename(args.data)}
    export_like(student.to("cpu"), args.out, student, "qat", record, fp32_matrices=names)
    log(f"[qat] wrote {args.out} (the simulated matrices in F32: quantize it with deepseek quantize)")
    if args.report:
        with open(args.report, "w", encoding="utf-8") as f:
            json.dump({"kl_probe_before": before, "kl_probe_after": after, "matrices": names,
                       "alpha_mean": float(alphas.mean())}, f, indent=1)


if __name__ == "__main__":
    main()
