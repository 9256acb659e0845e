#!/usr/bin/env python3
"""Fine-tuning of task heads on a pretrained Deepseek backbone, with the sandwich rule across paths.

usage (from the repository root):
  finetune.py --recipe RECIPE.yaml --out runs/NAME [--backbone MODEL.safetensors] [--device cpu|cuda]
              [--autocast bf16] [--threads N] [--resume] [--export-only] [--stop-after STEP]

The recipe (YAML, keys in FT_DEFAULTS) names the backbone file, the heads to add (SPEC section 5 head
definitions with their labels) and the data. The model starts from the backbone's weights (its own
heads are dropped unless `keep_backbone_heads`), new heads are initialized normal(0, 0.02) with zero
bias, and the result is exported with the heads and their labels, the backbone's tokenizer hash and
`training` metadata.

## Data: a list of examples (the dataset interface)

Any sequence (len + indexing) of dicts, or a JSONL file of them (data.train / data.dev), or a factory
`data.factory: "module:function"` called as function(recipe, tokenizer_path) -> (train, dev). An example:

  {"ids": [token ids],                     # tokenized like the pipeline (pretrain_data.Tokenizer)
   "targets": {head name: target, ...}}    # a head missing from `targets` gets no loss from this example

  token_tags        [label index per token] (len(ids) entries; -100 = no loss on that token)
  segment_labels    {"spans": [[begin, end], ...], "labels": [[positive label indices], ...],
                     "known": [label indices]}   # optional: only these labels get a loss (weak or
                                                 # partial labels: the rest are unknown, not negative)
                    Several segment_labels heads of one example must give the same spans (the model
                    evaluates every segment head on the sequence's one span list).
  sequence_classes  label index
  embedding         [token ids of the positive partner] (a query's passage, a paraphrase ...);
                    the other partners of the batch are the negatives

## Losses (per path; the teacher is the first path of sandwich.paths, heavy by default)

  token_tags        cross-entropy over tokens with a target
  segment_labels    binary cross-entropy (multi-label) over the given spans
  sequence_classes  cross-entropy
  embedding         InfoNCE with in-batch negatives, symmetric (anchor->partner and back):
                    CE(a p^T / tau, diagonal), tau = losses.contrastive_temperature
  students add distill_weight * a distillation term toward the teacher's detached outputs:
  T^2 KL(softmax(teacher/T) || softmax(student/T)) for tags (per token) and classes, the same per
  label with Bernoulli distributions (sigmoid) for segment labels, and for embeddings the KL between
  the teacher's and the student's in-batch similarity distributions (rows of a p^T / tau).
"""
import argparse
import collections
import datetime
import hashlib
import importlib
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from deepseek_model import DeepseekEncoder, pad_batch, validate_heads  # noqa: E402
from export import _sha256_file, export_model, load_model  # noqa: E402
from recipes import REPO_ROOT, RecipeError, load_recipe, resolve_path  # noqa: E402
from train_utils import (Progress, StopFlag, distill_kl, latest_checkpoint, make_optimizer,  # noqa: E402
                         make_scheduler, rng_state, save_checkpoint, seed_everything, set_rng_state)

CHECKPOINT_VERSION = 1

FT_DEFAULTS = {
    "name": None,
    "description": "",
    "seed": 1234,
    "backbone": None,                    # model file (relative to the repository root); --backbone overrides
    "keep_backbone_heads": False,
    "heads": [],                         # [{name, type, labels} | {name, type: embedding, dim}]
    "paths": None,                       # optional: replaces the backbone's path table
    "data": {"train": None, "dev": None, "factory": None},
    "max_tokens": 512,                   # longer examples are truncated (tags and spans with them)
    "batch": {"micro_batch": 8, "accum": 1},
    "sandwich": {"paths": ["heavy", "standard", "light"], "temperature": 2.0, "distill_weight": 1.0},
    "losses": {"contrastive_temperature": 0.05, "weights": {},   # weights: head name -> loss weight
               "pos_weight": {}},   # segment_labels head name -> weight of positive labels (rare labels)
    "optim": {"lr": 5.0e-5, "head_lr_scale": 10.0, "min_lr_ratio": 0.0, "warmup_steps": 50,
              "weight_decay": 0.01, "betas": [0.9, 0.98], "eps": 1.0e-8, "grad_clip": 1.0},
    "freeze_backbone": False,
    "steps": 500,
    "checkpoint": {"every": 100, "keep": 2},
    "eval": {"every": 100, "micro_batch": 16},
    "log_every": 10,
    "export": {"dtype": "fp32", "fp16_embed": False},
}
FT_FREE_MAPS = {("losses", "weights"), ("losses", "pos_weight")}


def validate_ft(recipe):
    if not isinstance(recipe["name"], str) or not recipe["name"]:
        raise RecipeError("[recipe.name] is required")
    if not recipe["heads"]:
        raise RecipeError("[recipe.heads] list at least one head")
    heads = [dict(h) for h in recipe["heads"]]
    if any(h.get("type") == "mlm" for h in heads):
        raise RecipeError("[recipe.heads] an mlm head is for pretraining (train.py)")
    try:
        validate_heads(heads)
    except ValueError as e:
        raise RecipeError(str(e)) from None
    for key in ("steps", "max_tokens", "log_every"):
        if not isinstance(recipe[key], int) or recipe[key] < 1:
            raise RecipeError(f"[recipe.{key}] must be an integer >= 1")
    if recipe["sandwich"]["temperature"] <= 0:
        raise RecipeError("[recipe.sandwich.temperature] must be > 0")
    if recipe["losses"]["contrastive_temperature"] <= 0:
        raise RecipeError("[recipe.losses.contrastive_temperature] must be > 0")
    unknown = set(recipe["losses"]["weights"]) - {h["name"] for h in heads}
    if unknown:
        raise RecipeError(f"[recipe.losses.weights] names unknown heads {sorted(unknown)}")
    seg_heads = {h["name"] for h in heads if h["type"] == "segment_labels"}
    for name, w in recipe["losses"]["pos_weight"].items():
        if name not in seg_heads:
            raise RecipeError(f"[recipe.losses.pos_weight] '{name}' is not a segment_labels head ({sorted(seg_heads)})")
        if not isinstance(w, (int, float)) or w <= 0:
            raise RecipeError(f"[recipe.losses.pos_weight.{name}] must be a number > 0")


# ----------------------------------------------------------------------------------------------
# Data

def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def validate_example(example, heads, where):
    """Checks one example against the head definitions; raises ValueError naming the problem."""
    ids = example.get("ids")
    if not isinstance(ids, list) or not ids:
        raise ValueError(f"[{where}.ids] must be a non-empty list of token ids")
    by_name = {h["name"]: h for h in heads}
    for name, target in example.get("targets", {}).items():
        if name not in by_name:
            raise ValueError(f"[{where}.targets.{name}] no such head (heads: {sorted(by_name)})")
        head = by_name[name]
        kind, n_labels = head["type"], len(head.get("labels", []))
        if kind == "token_tags":
            if len(target) != len(ids) or not all(t == -100 or 0 <= t < n_labels for t in target):
                raise ValueError(f"[{where}.targets.{name}] needs {len(ids)} label indices in 0..{n_labels - 1} or -100")
        elif kind == "segment_labels":
            spans, labels = target.get("spans"), target.get("labels")
            if not isinstance(spans, list) or not isinstance(labels, list) or len(spans) != len(labels):
                raise ValueError(f"[{where}.targets.{name}] needs spans and labels of the same length")
            for (b, e), pos in zip(spans, labels):
                if not 0 <= b <= e <= len(ids) or not all(0 <= p < n_labels for p in pos):
                    raise ValueError(f"[{where}.targets.{name}] bad span [{b}, {e}) or labels {pos}")
            known = target.get("known")
            if known is not None and (not isinstance(known, list) or not all(0 <= k < n_labels for k in known)):
                raise ValueError(f"[{where}.targets.{name}.known] must be a list of label indices in 0..{n_labels - 1}")
        elif kind == "sequence_classes":
            if not isinstance(target, int) or not 0 <= target < n_labels:
                raise ValueError(f"[{where}.targets.{name}] must be a label index in 0..{n_labels - 1}")
        elif kind == "embedding":
            if not isinstance(target, list) or not target:
                raise ValueError(f"[{where}.targets.{name}] must be the partner's token ids")


def truncate(example, max_tokens):
    ids = example["ids"]
    if len(ids) <= max_tokens:
        return example
    out = {"ids": ids[:max_tokens], "targets": {}}
    for name, target in example.get("targets", {}).items():
        if isinstance(target, dict):
            kept = [(min(b, max_tokens), min(e, max_tokens), l) for (b, e), l in zip(target["spans"], target["labels"])
                    if b < max_tokens]
            out["targets"][name] = {"spans": [[b, e] for b, e, _ in kept], "labels": [l for _, _, l in kept]}
            if "known" in target:
                out["targets"][name]["known"] = target["known"]
        elif isinstance(target, list) and len(target) == len(ids):
            out["targets"][name] = target[:max_tokens]
        else:
            out["targets"][name] = target
    return out


class ExampleSampler:
    """Examples in a fresh seeded permutation every epoch; the position is a single counter."""

    def __init__(self, n, seed):
        if n == 0:
            raise RecipeError("[finetune] the training set is empty")
        self.n, self.seed, self.cursor = n, seed, 0
        self._perm = (None, None)

    def next(self):
        epoch, i = divmod(self.cursor, self.n)
        if self._perm[0] != epoch:
            self._perm = (epoch, np.random.default_rng([self.seed, 11, epoch]).permutation(self.n))
        self.cursor += 1
        return int(self._perm[1][i])


# ----------------------------------------------------------------------------------------------
# Losses

def head_outputs(model, batch, path, names, pair_ids=None):
    """Runs one path: returns {head name: output} (+ "<name>:pair" embeddings of the partners)."""
    out = model(batch["ids"], batch["lengths"], path=path, segments=batch["segments"], heads=names)["heads"]
    for name, (ids, lengths) in (pair_ids or {}).items():
        out[name + ":pair"] = model(ids, lengths, path=path, heads=[name])["heads"][name]
    return out


def task_losses(heads, out, batch, tau, pos_weight=None):
    """{head name: loss} of one path's outputs against the batch targets (heads without targets skipped)."""
    losses = {}
    for head in heads:
        name, kind = head["name"], head["type"]
        t = batch["targets"].get(name)
        if t is None:
            continue
        if kind == "token_tags":
            logits = out[name][t["rows"]]
            losses[name] = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), t["tags"].reshape(-1),
                                           ignore_index=-100)
        elif kind == "segment_labels":
            logits = torch.cat([out[name][b] for b in t["rows"]])
            pw = (pos_weight or {}).get(name)
            pw = torch.full((logits.shape[-1],), float(pw), device=logits.device) if pw else None
            per = F.binary_cross_entropy_with_logits(logits.float(), t["multi_hot"], reduction="none", pos_weight=pw)
            losses[name] = (per * t["known"]).sum() / t["known"].sum().clamp(min=1.0)
        elif kind == "sequence_classes":
            losses[name] = F.cross_entropy(out[name][t["rows"]].float(), t["labels"])
        elif kind == "embedding":
            sim = out[name][t["rows"]].float() @ out[name + ":pair"].float().T / tau
            target = torch.arange(sim.shape[0], device=sim.device)
            losses[name] = 0.5 * (F.cross_entropy(sim, target) + F.cross_entropy(sim.T, target))
    return losses


def distill_losses(heads, student, teacher, batch, temperature, tau):
    """{head name: KD loss} of a student path's outputs toward the teacher's (detached)."""
    losses = {}
    T = temperature
    for head in heads:
        name, kind = head["name"], head["type"]
        t = batch["targets"].get(name)
        if t is None:
            continue
        if kind == "token_tags":
            keep = t["tags"] != -100
            losses[name] = distill_kl(student[name][t["rows"]][keep], teacher[name][t["rows"]][keep], T)
        elif kind == "segment_labels":
            s = torch.cat([student[name][b] for b in t["rows"]]).float() / T
            p = torch.sigmoid(torch.cat([teacher[name][b] for b in t["rows"]]).detach().float() / T)
            # Bernoulli KL(p || sigmoid(s)) = BCE(s, p) - H(p); H(p) carries no gradient but keeps it >= 0.
            ent = F.binary_cross_entropy(p, p)
            losses[name] = (T * T) * (F.binary_cross_entropy_with_logits(s, p) - ent)
        elif kind == "sequence_classes":
            losses[name] = distill_kl(student[name][t["rows"]], teacher[name][t["rows"]], T)
        elif kind == "embedding":
            ss = student[name][t["rows"]].float() @ student[name + ":pair"].float().T / tau
            ts = teacher[name][t["rows"]].float() @ teacher[name + ":pair"].float().T / tau
            losses[name] = distill_kl(ss, ts, 1.0)
    return losses


def detach_outputs(out):
    return {k: ([x.detach() for x in v] if isinstance(v, list) else v.detach()) for k, v in out.items()}


# ----------------------------------------------------------------------------------------------
# The fine-tuner

class FineTuner:
    """Backbone + new heads, data, optimizer; `run()` trains, evaluates on dev, checkpoints, exports.

    train / dev: example sequences (None: from the recipe's data section).
    """

    def __init__(self, recipe, out, backbone=None, device="cpu", autocast=None, train=None, dev=None, log=None,
                 progress_stream=None):
        self.recipe = recipe
        self.out = out
        self.device = torch.device(device)
        if autocast and self.device.type != "cuda":
            raise RecipeError("[finetune] --autocast bf16 needs --device cuda")
        self.autocast = autocast
        self.log = log or (lambda text: print(text, file=sys.stderr, flush=True))
        self.progress_stream = progress_stream
        seed_everything(recipe["seed"])
        self.backbone_path = backbone or (resolve_path(recipe["backbone"]) if recipe["backbone"] else None)
        if not self.backbone_path:
            raise RecipeError("[finetune] no backbone: set recipe.backbone or pass --backbone")
        base = load_model(self.backbone_path)
        self.tokenizer_sha256 = base.metadata["tokenizer"]
        self.heads = [dict(h) for h in recipe["heads"]]
        kept = [h for h in base.head_defs if recipe["keep_backbone_heads"]
                and h["name"] not in {x["name"] for x in self.heads}]
        paths = recipe["paths"] or base.paths
        self.model = DeepseekEncoder(base.config, paths, kept + self.heads)
        state = {k: v for k, v in base.state_dict().items()
                 if not k.startswith("heads.") or k.split(".")[1] in {h["name"] for h in kept}}
        missing, unexpected = self.model.load_state_dict(state, strict=False)
        if unexpected or any(not k.startswith("heads.") for k in missing):
            raise RecipeError(f"[finetune] backbone does not fit: missing {missing}, unexpected {unexpected}")
        gen = torch.Generator().manual_seed(recipe["seed"])
        with torch.no_grad():
            for h in self.heads:
                module = self.model.heads[h["name"]]
                module.weight.copy_(torch.randn(tuple(module.weight.shape), generator=gen) * 0.02)
                if getattr(module, "bias", None) is not None:
                    module.bias.zero_()
        self.model.to(self.device)
        del base
        for path in recipe["sandwich"]["paths"]:
            if path not in self.model.paths:
                raise RecipeError(f"[recipe.sandwich.paths] unknown path '{path}' (model: {sorted(self.model.paths)})")
        if recipe["freeze_backbone"]:
            for name, p in self.model.named_parameters():
                p.requires_grad_(name.startswith("heads."))
        scale = recipe["optim"]["head_lr_scale"]
        self.optimizer = make_optimizer(self.model.named_parameters(), recipe["optim"],
                                        lambda name: scale if name.startswith("heads.") else 1.0)
        self.scheduler = make_scheduler(self.optimizer, recipe["steps"], recipe["optim"])
        self.train_set, self.dev_set = self._data(train, dev)
        self.sampler = ExampleSampler(len(self.train_set), recipe["seed"])
        self.step, self.elapsed, self.examples_seen = 0, 0.0, 0
        self.history = collections.deque(maxlen=50)
        self.last_eval = None

    def _data(self, train, dev):
        d = self.recipe["data"]
        if train is None:
            if d["factory"]:
                module, _, func = d["factory"].partition(":")
                train, dev = getattr(importlib.import_module(module), func)(self.recipe, self.tokenizer_sha256)
            elif d["train"]:
                train = read_jsonl(resolve_path(d["train"]))
                dev = read_jsonl(resolve_path(d["dev"])) if d["dev"] else dev
            else:
                raise RecipeError("[recipe.data] give train (and dev) JSONL files or a factory")
        for name, dataset in (("train", train), ("dev", dev or [])):
            for i in range(min(len(dataset), 1000)):
                validate_example(dataset[i], self.heads, f"{name}[{i}]")
        return train, dev or []

    def _autocast(self):
        if self.autocast:
            return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)
        return torch.autocast(device_type=self.device.type, enabled=False)

    def collate(self, examples):
        """Examples -> padded tensors and per-head targets (rows = batch indices having a target)."""
        examples = [truncate(e, self.recipe["max_tokens"]) for e in examples]
        ids, lengths = pad_batch([e["ids"] for e in examples], self.model.config["pad_id"], self.device)
        batch = {"ids": ids, "lengths": lengths, "segments": [[] for _ in examples], "targets": {}, "pairs": {}}
        width = ids.shape[1]
        for head in self.heads:
            name, kind = head["name"], head["type"]
            rows = [b for b, e in enumerate(examples) if name in e.get("targets", {})]
            if not rows:
                continue
            tg = [examples[b]["targets"][name] for b in rows]
            if kind == "token_tags":
                tags = torch.full((len(rows), width), -100, dtype=torch.long)
                for i, t in enumerate(tg):
                    tags[i, :len(t)] = torch.as_tensor(t)
                batch["targets"][name] = {"rows": rows, "tags": tags.to(self.device)}
            elif kind == "segment_labels":
                n = len(head["labels"])
                hot, known = [], []
                for b, t in zip(rows, tg):
                    spans = [list(s) for s in t["spans"]]
                    if batch["segments"][b] and batch["segments"][b] != spans:
                        raise RecipeError("[finetune] the segment_labels heads of one example must give the same spans")
                    batch["segments"][b] = spans
                    mask = torch.ones(n)
                    if t.get("known") is not None:
                        mask = torch.zeros(n)
                        mask[list(t["known"])] = 1.0
                    for pos in t["labels"]:
                        row = torch.zeros(n)
                        row[list(pos)] = 1.0
                        hot.append(row)
                        known.append(mask)
                empty = torch.zeros(0, n, device=self.device)
                batch["targets"][name] = {"rows": rows,
                                          "multi_hot": torch.stack(hot).to(self.device) if hot else empty,
                                          "known": torch.stack(known).to(self.device) if known else empty}
            elif kind == "sequence_classes":
                batch["targets"][name] = {"rows": rows, "labels": torch.as_tensor(tg, device=self.device)}
            elif kind == "embedding":
                pair = [t[:self.recipe["max_tokens"]] for t in tg]
                batch["pairs"][name] = pad_batch(pair, self.model.config["pad_id"], self.device)
                batch["targets"][name] = {"rows": rows}
        return batch

    def _weighted(self, losses):
        w = self.recipe["losses"]["weights"]
        return sum(w.get(k, 1.0) * v for k, v in losses.items())

    def sandwich(self, batch, scale):
        sw = self.recipe["sandwich"]
        tau = self.recipe["losses"]["contrastive_temperature"]
        names = [h["name"] for h in self.heads]
        metrics = {}
        teacher_out = None
        for i, path in enumerate(sw["paths"]):
            with self._autocast():
                out = head_outputs(self.model, batch, path, names, batch["pairs"])
                losses = task_losses(self.heads, out, batch, tau, self.recipe["losses"]["pos_weight"])
                loss = self._weighted(losses)
                if i > 0 and sw["distill_weight"] > 0:
                    kd = distill_losses(self.heads, out, teacher_out, batch, sw["temperature"], tau)
                    if kd:
                        loss = loss + sw["distill_weight"] * self._weighted(kd)
                        metrics[f"{path}/kd"] = float(sum(v.item() for v in kd.values()))
            if torch.is_tensor(loss):
                (loss * scale).backward()
            for k, v in losses.items():
                metrics[f"{path}/{k}"] = v.item()
            metrics[path] = float(loss) if torch.is_tensor(loss) else 0.0
            if i == 0:
                teacher_out = detach_outputs(out)
        return metrics

    def train_step(self):
        b = self.recipe["batch"]
        self.model.train()
        sums = collections.defaultdict(float)
        tokens = 0
        for _ in range(b["accum"]):
            batch = self.collate([self.train_set[self.sampler.next()] for _ in range(b["micro_batch"])])
            self.examples_seen += b["micro_batch"]
            tokens += sum(batch["lengths"]) + sum(sum(lengths) for _, lengths in batch["pairs"].values())
            for k, v in self.sandwich(batch, 1.0 / b["accum"]).items():
                sums[k] += v / b["accum"]
        clip = self.recipe["optim"]["grad_clip"]
        params = [p for p in self.model.parameters() if p.grad is not None]
        sums["gnorm"] = float(torch.nn.utils.clip_grad_norm_(params, clip if clip > 0 else float("inf")))
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.step += 1
        return dict(sums), tokens

    # ------------------------------------------------------------------------------------------

    @torch.no_grad()
    def evaluate(self, dataset=None):
        """Per path and head on the dev set: loss and a metric (tags: token accuracy and BIO entity F1;
        segment labels: micro F1 at 0.5; classes: accuracy; embedding: recall@1 over the whole set)."""
        dataset = self.dev_set if dataset is None else dataset
        if not len(dataset):
            return None
        self.model.eval()
        mb = self.recipe["eval"]["micro_batch"]
        tau = self.recipe["losses"]["contrastive_temperature"]
        names = [h["name"] for h in self.heads]
        report = {"step": self.step, "examples": len(dataset), "paths": {}}
        for path in self.recipe["sandwich"]["paths"]:
            acc = collections.defaultdict(lambda: collections.defaultdict(float))
            emb = collections.defaultdict(lambda: ([], []))
            for i in range(0, len(dataset), mb):
                batch = self.collate([dataset[j] for j in range(i, min(len(dataset), i + mb))])
                with self._autocast():
                    out = head_outputs(self.model, batch, path, names, batch["pairs"])
                n_batch = len(batch["lengths"])
                for name, loss in task_losses(self.heads, out, batch, tau, self.recipe["losses"]["pos_weight"]).items():
                    if self._head(name)["type"] != "embedding":
                        acc[name]["loss"] += loss.item() * n_batch
                        acc[name]["n"] += n_batch
                for head in self.heads:
                    self._score(head, out, batch, acc[head["name"]], emb)
            result = {}
            for head in self.heads:
                name, a = head["name"], acc[head["name"]]
                r = {"loss": a["loss"] / a["n"]} if a["n"] else {}
                if head["type"] == "token_tags" and a["tokens"]:
                    r["token_accuracy"] = a["correct"] / a["tokens"]
                    p, rc = a["tp"] / max(1, a["pred"]), a["tp"] / max(1, a["gold"])
                    r["entity_f1"] = 2 * p * rc / max(1e-9, p + rc)
                elif head["type"] == "segment_labels" and a["spans"]:
                    p, rc = a["tp"] / max(1, a["pred"]), a["tp"] / max(1, a["gold"])
                    r["micro_f1"] = 2 * p * rc / max(1e-9, p + rc)
                elif head["type"] == "sequence_classes" and a["count"]:
                    r["accuracy"] = a["correct"] / a["count"]
                elif head["type"] == "embedding" and emb[name][0]:
                    a_emb, p_emb = torch.cat(emb[name][0]), torch.cat(emb[name][1])
                    sim = a_emb @ p_emb.T
                    target = torch.arange(sim.shape[0])
                    r["loss"] = float(F.cross_entropy(sim / tau, target))
                    r["recall_at_1"] = float((sim.argmax(1) == target).float().mean())
                result[name] = r
            report["paths"][path] = result
        self.model.train()
        return report

    def _head(self, name):
        return next(h for h in self.heads if h["name"] == name)

    @staticmethod
    def _score(head, out, batch, a, emb):
        name, kind = head["name"], head["type"]
        t = batch["targets"].get(name)
        if t is None:
            return
        if kind == "token_tags":
            pred = out[name][t["rows"]].argmax(-1).cpu()
            gold = t["tags"].cpu()
            keep = gold != -100
            a["correct"] += int((pred[keep] == gold[keep]).sum())
            a["tokens"] += int(keep.sum())
            labels = head["labels"]
            for b, length in enumerate(batch["lengths"][r] for r in t["rows"]):
                ps, gs = bio_spans(pred[b, :length].tolist(), labels), bio_spans(
                    [x if x != -100 else 0 for x in gold[b, :length].tolist()], labels)
                a["tp"] += len(ps & gs)
                a["pred"] += len(ps)
                a["gold"] += len(gs)
        elif kind == "segment_labels":
            logits = torch.cat([out[name][b] for b in t["rows"]]).float().cpu()
            known = t["known"].cpu() > 0.5
            pred, gold = (logits > 0) & known, (t["multi_hot"].cpu() > 0.5) & known
            a["tp"] += int((pred & gold).sum())
            a["pred"] += int(pred.sum())
            a["gold"] += int(gold.sum())
            a["spans"] += int(gold.shape[0])
        elif kind == "sequence_classes":
            pred = out[name][t["rows"]].argmax(-1)
            a["correct"] += int((pred == t["labels"]).sum())
            a["count"] += len(t["rows"])
        elif kind == "embedding":
            emb[name][0].append(out[name][t["rows"]].float().cpu())
            emb[name][1].append(out[name + ":pair"].float().cpu())

    # ------------------------------------------------------------------------------------------

    def state(self):
        return {"version": CHECKPOINT_VERSION, "step": self.step, "elapsed": self.elapsed,
                "examples_seen": self.examples_seen, "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
                "sampler": self.sampler.cursor, "rng": rng_state(), "recipe_text": self.recipe["_text"],
                "history": list(self.history), "last_eval": self.last_eval}

    def save(self):
        return save_checkpoint(self.out, self.step, self.state(), self.recipe["checkpoint"]["keep"])

    def load(self, allow_recipe_change=False):
        path, state = latest_checkpoint(self.out)
        if state is None:
            return None
        if state["recipe_text"] != self.recipe["_text"]:
            if not allow_recipe_change:
                raise RecipeError(f"[finetune] {path} was written with a different recipe "
                                  f"(--allow-recipe-change continues anyway, e.g. after changing steps)")
            self.log(f"[finetune] recipe changed since {path}; continuing as asked")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.sampler.cursor = state["sampler"]
        set_rng_state(state["rng"])
        self.step, self.elapsed, self.examples_seen = state["step"], state["elapsed"], state["examples_seen"]
        self.history.extend(state["history"])
        self.last_eval = state["last_eval"]
        return path

    def export(self, path=None):
        r = self.recipe
        path = path or os.path.join(self.out, f"{r['name']}.safetensors")
        means = collections.defaultdict(list)
        for m in self.history:
            for k, v in m.items():
                means[k].append(v)
        training = {
            "recipe": r["name"], "recipe_sha256": hashlib.sha256(r["_text"].encode("utf-8")).hexdigest(),
            "recipe_file": os.path.relpath(r["_file"], REPO_ROOT) if r.get("_file") else None,
            "backbone": os.path.basename(self.backbone_path),
            "backbone_sha256": _sha256_file(self.backbone_path),
            "steps": self.step, "examples_seen": self.examples_seen, "train_seconds": round(self.elapsed, 1),
            "final_losses": {k: round(sum(v) / len(v), 5) for k, v in sorted(means.items())},
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "seed": r["seed"], "torch": torch.__version__,
        }
        if self.last_eval:
            training["eval"] = self.last_eval
        export_model(self.model, path, dtype=r["export"]["dtype"], tokenizer_sha256=self.tokenizer_sha256,
                     name=r["name"], description=r["description"] or None, training=training,
                     fp16_embed=r["export"]["fp16_embed"])
        return path

    def run(self, stop_after=None, export=True):
        r = self.recipe
        progress = Progress(r["steps"], self.step, r["log_every"], self.progress_stream)
        with StopFlag() as stop:
            while self.step < r["steps"]:
                t0 = time.time()
                metrics, tokens = self.train_step()
                self.elapsed += time.time() - t0
                self.history.append(metrics)
                window = list(self.history)[-r["log_every"]:]
                shown = {p: sum(m[p] for m in window) / len(window) for p in r["sandwich"]["paths"]}
                progress.step(self.step, tokens, shown, self.scheduler.get_last_lr()[0])
                if r["eval"]["every"] and self.step % r["eval"]["every"] == 0:
                    self._eval(progress)
                saved = None
                if self.step % r["checkpoint"]["every"] == 0 or self.step == r["steps"]:
                    saved = self.save()
                if stop.requested:
                    progress.message(f"[finetune] interrupted at step {self.step}: wrote {saved or self.save()}")
                    return "interrupted"
                if stop_after is not None and self.step >= stop_after and self.step < r["steps"]:
                    progress.message(f"[finetune] stopped at step {self.step}: wrote {saved or self.save()}")
                    return "stopped"
        if self.last_eval is None or self.last_eval["step"] != self.step:
            self._eval(progress)
        if export:
            progress.message(f"[finetune] exported {self.export()}")
        return "done"

    def _eval(self, progress):
        report = self.evaluate()
        if report is None:
            return
        self.last_eval = report
        os.makedirs(self.out, exist_ok=True)
        with open(os.path.join(self.out, "eval.json.tmp"), "w", encoding="utf-8") as f:
            json.dump(report, f, indent=1)
        os.replace(os.path.join(self.out, "eval.json.tmp"), os.path.join(self.out, "eval.json"))
        progress.message(f"[eval] step {report['step']}: " + json.dumps(
            {p: {h: {k: round(v, 4) for k, v in m.items()} for h, m in r.items()} for p, r in report["paths"].items()}))


def bio_spans(tags, labels):
    """Entity spans {(begin, end, type)} of a BIO tag index sequence (I- without B- starts an entity)."""
    spans, start, kind = set(), None, None
    for i, t in enumerate(list(tags) + [None]):
        name = labels[t] if t is not None else "O"
        if name.startswith("I-") and kind == name[2:]:
            continue
        if kind is not None:
            spans.add((start, i, kind))
            start, kind = None, None
        if name.startswith(("B-", "I-")):
            start, kind = i, name[2:]
    return spans


def load_ft_recipe(path=None, text=None, overrides=None):
    return load_recipe(path, text, overrides, defaults=FT_DEFAULTS, validator=validate_ft, free_maps=FT_FREE_MAPS)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--backbone", help="backbone model file (default: the recipe's backbone)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--autocast", choices=("bf16",))
    parser.add_argument("--threads", type=int)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--allow-recipe-change", action="store_true", help="resume even if the recipe changed")
    parser.add_argument("--export-only", action="store_true")
    parser.add_argument("--export-path")
    parser.add_argument("--stop-after", type=int)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        recipe = load_ft_recipe(args.recipe)
        tuner = FineTuner(recipe, args.out, args.backbone, args.device, args.autocast)
        if args.resume or args.export_only:
            path = tuner.load(args.allow_recipe_change)
            if path is None and args.export_only:
                raise RecipeError(f"[finetune] --export-only: no checkpoint in {args.out}")
            if path:
                tuner.log(f"[finetune] resumed from {path} at step {tuner.step}")
        if args.export_only:
            print(tuner.export(args.export_path))
            return 0
        status = tuner.run(stop_after=args.stop_after, export=False)
        if status == "done":
            tuner.log(f"[finetune] exported {tuner.export(args.export_path)}")
        return 130 if status == "interrupted" else 0
    except (RecipeError, FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
