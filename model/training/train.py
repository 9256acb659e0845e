#!/usr/bin/env python3
"""Masked-language-model pretraining of the Deepseek encoder backbone (issue 4, item 2).

usage (from the repository root; always /usr/bin/python3):
  train.py --recipe model/training/recipes/backbone-small.yaml --out runs/backbone-small
           [--device cpu|cuda] [--autocast bf16] [--threads N] [--resume] [--export-only]
           [--stop-after STEP] [--measure STEPS] [--cache DIR] [--data DIR] [--allow-recipe-change]

One step (an optimizer update) = `accum` micro-batches of `micro_batch` sequences. Every micro-batch
trains all paths of `sandwich.paths` (the sandwich rule), teacher first, each path's loss
back-propagated at once (so only one path's graph is alive):

  teacher (heavy):  MLM cross-entropy on the masked tokens
                    + importance_weight * importance loss (train_utils.importance_loss) when the pass
                      is dense: the scorer learns the attention mass each key receives
  students:         MLM + distill_weight * T^2 KL(teacher / T || student / T) on the masked tokens,
                    against the teacher's detached logits (T = sandwich.temperature)

Every `long.every`-th step is a long step (sequences of `long.seq_len`, longer than the paths'
top_k, so the global channel is sparse). There the teacher runs twice: dense (top_k overridden to
k = T; MLM + importance loss; its logits are the targets) and sparse with its own top_k (MLM +
consistency_weight * KL(dense || sparse) over the MLM vocabulary distributions of the masked tokens,
temperature 1). The students run sparse with their own top_k and distill from the dense teacher.
The sparse/dense consistency is thus measured on MLM logits (not hidden states); the evaluation
reports both (hidden-state cosine and top-1 agreement).

Checkpoints (OUT/ckpt-<step>.pt, atomic) hold model, optimizer, scheduler, data position, RNG states,
step and the recipe; --resume continues from the newest one bit-for-bit (CPU). SIGINT / SIGTERM write
a checkpoint after the current step and exit with status 130. At the end (or with --export-only)
the model is exported to OUT/<name>.safetensors with the tokenizer hash and `training` metadata.
Evaluation reports go to OUT/eval-<step>.json and OUT/eval.json.
"""
import argparse
import collections
import datetime
import hashlib
import json
import math
import os
import sys
import time
import zlib

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pretrain_data as pdata  # noqa: E402
from deepseek_model import DeepseekEncoder, resolve_k  # noqa: E402
from export import export_model  # noqa: E402
from recipes import REPO_ROOT, RecipeError, load_recipe, model_config, model_paths, resolve_path  # noqa: E402
from train_utils import (Progress, StopFlag, distill_kl, importance_loss, init_for_training,  # noqa: E402
                         latest_checkpoint, make_optimizer, make_scheduler, rng_state, save_checkpoint,
                         seed_everything, set_rng_state)

CHECKPOINT_VERSION = 1
MLM_HEAD = "mlm"


def _atomic_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1, ensure_ascii=False)
    os.replace(tmp, path)


def _comparable(recipe):
    return {k: v for k, v in recipe.items() if not k.startswith("_")}


class Pretrainer:
    """Builds model, optimizer, data from a recipe; `run()` trains, evaluates, checkpoints, exports.

    out: run directory. device: "cpu" / "cuda" / torch.device. autocast: None or "bf16" (CUDA).
    cache / data_dir override the recipe's data.cache / data.dir. log: a print-like function.
    """

    def __init__(self, recipe, out, device="cpu", autocast=None, cache=None, data_dir=None, log=None,
                 progress_stream=None):
        self.recipe = recipe
        self.out = out
        self.device = torch.device(device)
        if autocast not in (None, "bf16"):
            raise RecipeError(f"[train] --autocast must be bf16, got {autocast!r}")
        if autocast and self.device.type != "cuda":
            raise RecipeError("[train] --autocast bf16 needs --device cuda")
        self.autocast = autocast
        self.log = log or (lambda text: print(text, file=sys.stderr, flush=True))
        self.progress_stream = progress_stream
        self.tok = pdata.Tokenizer(resolve_path(recipe["tokenizer"]))
        seed_everything(recipe["seed"])
        self.config = model_config(recipe, self.tok)
        self.model = DeepseekEncoder(self.config, model_paths(recipe), [{"name": MLM_HEAD, "type": "mlm"}])
        init_for_training(self.model, recipe["seed"], recipe["init"]["std"])
        self.model.to(self.device)
        self.optimizer = make_optimizer(self.model.named_parameters(), recipe["optim"])
        self.scheduler = make_scheduler(self.optimizer, recipe["steps"], recipe["optim"])
        self.step = 0
        self.tokens_seen = 0
        self.elapsed = 0.0
        self.history = collections.deque(maxlen=max(50, recipe["log_every"]))
        self.last_eval = None
        self._load_data(cache, data_dir)

    # ------------------------------------------------------------------------------------------
    # data

    def _load_data(self, cache, data_dir):
        d = self.recipe["data"]
        self.cache = cache or resolve_path(d["cache"])
        self.data_dir = data_dir or resolve_path(d["dir"])
        dirs = pdata.prepare_shards(self.data_dir, self.tok, self.cache, d["sources"], d["limit_per_source"],
                                    log=self.log)
        self.train_streams = pdata.group_streams(dirs, "train")
        self.heldout_streams = pdata.group_streams(dirs, "heldout")
        seed = self.recipe["seed"]
        self.sampler = pdata.MixSampler(self.train_streams, d["mix"], self.recipe["batch"]["seq_len"], seed, 0)
        lg = self.recipe["long"]
        self.long_sampler = pdata.MixSampler(self.train_streams, lg["mix"], lg["seq_len"], seed, 1) \
            if lg["every"] else None

    def _mask(self, seqs, rng):
        m = self.recipe["mlm"]
        return pdata.mask_tokens(seqs, rng, (self.tok.mask, self.tok.special_ids), self.tok.vocab_size,
                                 m["mask_rate"], m["mask_token"], m["random_token"], self.tok.pad)

    # ------------------------------------------------------------------------------------------
    # forward pieces

    def _autocast(self):
        if self.autocast:
            return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)
        return torch.autocast(device_type=self.device.type, enabled=False)

    def _path_spec(self, path):
        spec = self.model.paths[path].get("top_k")
        return spec if spec is not None else self.config["top_k"]

    def _is_dense(self, path, lengths):
        spec = self._path_spec(path)
        return all(resolve_k(spec, t) >= t for t in lengths)

    def mlm_logits(self, ids, lengths, select, path, top_k=None, hidden=False):
        """MLM logits [N, V] of the selected positions (select: [B, T] bool), tied head of SPEC section 3."""
        z = self.model.encode(ids, lengths, path=path, top_k=top_k)
        head = self.model.heads[MLM_HEAD]
        logits = F.linear(z[select], self.model.embed.weight.to(z.dtype), head.bias.to(z.dtype))
        return (logits, z) if hidden else logits

    def sandwich(self, inputs, lengths, targets, long_step, scale):
        """Forward + backward of every path on one micro-batch. Returns {metric: value}."""
        sw = self.recipe["sandwich"]
        ids = torch.from_numpy(inputs).to(self.device)
        tgt = torch.from_numpy(targets).to(self.device)
        select = tgt != -100
        labels = tgt[select]
        teacher, students = sw["paths"][0], sw["paths"][1:]
        metrics = {}
        dense_spec = {"fixed": max(lengths)}

        def backward(loss):
            (loss * scale).backward()

        teacher_dense = self._is_dense(teacher, lengths)
        self.model.attn_stats = [] if sw["importance_weight"] > 0 else None
        try:
            with self._autocast():
                t_logits = self.mlm_logits(ids, lengths, select, teacher, top_k=None if teacher_dense else dense_spec)
                ce = F.cross_entropy(t_logits.float(), labels)
                loss = ce
                imp = importance_loss(self.model.attn_stats, lengths) if self.model.attn_stats is not None else None
                if imp is not None:
                    loss = loss + sw["importance_weight"] * imp
                    metrics["imp"] = imp.item()
        finally:
            self.model.attn_stats = None
        backward(loss)
        metrics[teacher] = ce.item()
        t_logits = t_logits.detach()

        if not teacher_dense:
            with self._autocast():
                s_logits = self.mlm_logits(ids, lengths, select, teacher)
                ce = F.cross_entropy(s_logits.float(), labels)
                cons = distill_kl(s_logits, t_logits, 1.0)
                loss = ce + sw["consistency_weight"] * cons
            backward(loss)
            metrics[f"{teacher}_sparse"] = ce.item()
            metrics["cons"] = cons.item()

        kd_total = 0.0
        for path in students:
            with self._autocast():
                logits = self.mlm_logits(ids, lengths, select, path)
                ce = F.cross_entropy(logits.float(), labels)
                kd = distill_kl(logits, t_logits, sw["temperature"])
                loss = ce + sw["distill_weight"] * kd
            backward(loss)
            metrics[path] = ce.item()
            kd_total += kd.item()
        if students:
            metrics["kd"] = kd_total / len(students)
        if long_step:
            metrics = {("long_" + k if k not in ("cons",) else k): v for k, v in metrics.items()}
        return metrics

    def is_long_step(self, step):
        every = self.recipe["long"]["every"]
        return bool(every) and (step + 1) % every == 0

    def train_step(self):
        """One optimizer step (step index self.step, 0-based). Returns (metrics, tokens)."""
        long_step = self.is_long_step(self.step)
        shape = self.recipe["long"] if long_step else self.recipe["batch"]
        sampler = self.long_sampler if long_step else self.sampler
        self.model.train()
        sums, tokens = collections.defaultdict(float), 0
        for micro in range(shape["accum"]):
            seqs = [sampler.next()[1] for _ in range(shape["micro_batch"])]
            rng = np.random.default_rng([self.recipe["seed"], 7, self.step, micro])
            inputs, lengths, targets = self._mask(seqs, rng)
            tokens += sum(lengths)
            for k, v in self.sandwich(inputs, lengths, targets, long_step, 1.0 / shape["accum"]).items():
                sums[k] += v / shape["accum"]
        clip = self.recipe["optim"]["grad_clip"]
        params = [p for p in self.model.parameters() if p.grad is not None]
        norm = torch.nn.utils.clip_grad_norm_(params, clip if clip > 0 else float("inf"))
        sums["gnorm"] = float(norm)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.step += 1
        self.tokens_seen += tokens
        return dict(sums), tokens

    # ------------------------------------------------------------------------------------------
    # evaluation

    @torch.no_grad()
    def evaluate(self):
        """Held-out MLM loss/accuracy per group and path, and sparse-vs-dense agreement on long
        held-out sequences. Deterministic (fixed sequences and masks). Returns the report dict."""
        ev = self.recipe["eval"]
        self.model.eval()
        paths = self.recipe["sandwich"]["paths"]
        seed = self.recipe["seed"]
        report = {"step": self.step, "tokens_seen": self.tokens_seen, "mlm": {}, "mlm_overall": {}, "long": {}}
        totals = {p: [0.0, 0, 0] for p in paths}
        seq_len = self.recipe["batch"]["seq_len"]
        for group in sorted(self.heldout_streams):
            seqs = pdata.eval_sequences(self.heldout_streams[group], seq_len, ev["sequences_per_group"])
            if not seqs:
                continue
            rng = np.random.default_rng([seed, 99, zlib.crc32(group.encode())])
            sums = {p: [0.0, 0, 0] for p in paths}
            for i in range(0, len(seqs), ev["micro_batch"]):
                inputs, lengths, targets = self._mask(seqs[i:i + ev["micro_batch"]], rng)
                ids = torch.from_numpy(inputs).to(self.device)
                tgt = torch.from_numpy(targets).to(self.device)
                select = tgt != -100
                labels = tgt[select]
                for p in paths:
                    with self._autocast():
                        logits = self.mlm_logits(ids, lengths, select, p).float()
                    sums[p][0] += F.cross_entropy(logits, labels, reduction="sum").item()
                    sums[p][1] += int((logits.argmax(-1) == labels).sum())
                    sums[p][2] += int(labels.numel())
            report["mlm"][group] = {p: {"loss": s[0] / max(1, s[2]), "accuracy": s[1] / max(1, s[2]),
                                        "masked": s[2]} for p, s in sums.items()}
            for p in paths:
                for j in range(3):
                    totals[p][j] += sums[p][j]
        report["mlm_overall"] = {p: {"loss": s[0] / max(1, s[2]), "accuracy": s[1] / max(1, s[2]), "masked": s[2]}
                                 for p, s in totals.items()}
        if ev["long_sequences"]:
            report["long"] = self._evaluate_long(ev, paths, seed)
        self.model.train()
        return report

    def _evaluate_long(self, ev, paths, seed):
        """Per path: the top-k pass (the path's own top_k) against the dense pass (top_k = T) on long
        held-out sequences, one at a time: mean cosine of the hidden states z over all tokens, top-1
        agreement and KL(dense || sparse) of the MLM predictions at masked tokens, accuracy of both."""
        out = {}
        seqs = []
        for group in ev["long_mix"]:
            if group in self.heldout_streams:
                seqs += pdata.eval_sequences(self.heldout_streams[group], ev["long_seq_len"], ev["long_sequences"])
        if not seqs:
            return out
        rng = np.random.default_rng([seed, 98])
        batches = [self._mask([s], rng) for s in seqs]
        for p in paths:
            acc = collections.defaultdict(float)
            ks = []
            for inputs, lengths, targets in batches:
                ids = torch.from_numpy(inputs).to(self.device)
                tgt = torch.from_numpy(targets).to(self.device)
                select = tgt != -100
                labels = tgt[select]
                with self._autocast():
                    ls, zs = self.mlm_logits(ids, lengths, select, p, hidden=True)
                    ld, zd = self.mlm_logits(ids, lengths, select, p, top_k={"fixed": lengths[0]}, hidden=True)
                ls, ld, zs, zd = ls.float(), ld.float(), zs.float()[0], zd.float()[0]
                ks.append(min(resolve_k(self._path_spec(p), lengths[0]), lengths[0]))
                acc["tokens"] += lengths[0]
                acc["cos"] += float(F.cosine_similarity(zs, zd, dim=-1).sum())
                acc["masked"] += int(labels.numel())
                acc["agree"] += int((ls.argmax(-1) == ld.argmax(-1)).sum())
                acc["acc_sparse"] += int((ls.argmax(-1) == labels).sum())
                acc["acc_dense"] += int((ld.argmax(-1) == labels).sum())
                acc["kl"] += float(F.kl_div(F.log_softmax(ls, -1), F.log_softmax(ld, -1), log_target=True,
                                            reduction="sum"))
            n = max(1, acc["masked"])
            out[p] = {"sequences": len(batches), "tokens": int(acc["tokens"]), "mean_k": float(np.mean(ks)),
                      "hidden_cosine": acc["cos"] / max(1, acc["tokens"]), "top1_agreement": acc["agree"] / n,
                      "kl_dense_sparse": acc["kl"] / n, "accuracy_sparse": acc["acc_sparse"] / n,
                      "accuracy_dense": acc["acc_dense"] / n, "masked": int(acc["masked"])}
        return out

    def write_eval(self, report):
        os.makedirs(self.out, exist_ok=True)
        _atomic_json(os.path.join(self.out, f"eval-{report['step']:08d}.json"), report)
        _atomic_json(os.path.join(self.out, "eval.json"), report)
        self.last_eval = report

    def eval_summary(self, report):
        lines = [f"[eval] step {report['step']}: held-out MLM loss / accuracy"]
        groups = sorted(report["mlm"])
        for p, o in report["mlm_overall"].items():
            per = " ".join(f"{g} {report['mlm'][g][p]['accuracy']:.3f}" for g in groups)
            lines.append(f"  {p:9s} all {o['loss']:.3f} / {o['accuracy']:.3f} | {per}")
        for p, o in report["long"].items():
            lines.append(f"  long {p:9s} k~{o['mean_k']:.0f}/{o['tokens'] // max(1, o['sequences'])}: "
                         f"hidden cos {o['hidden_cosine']:.4f}, top-1 agree {o['top1_agreement']:.3f}, "
                         f"acc sparse {o['accuracy_sparse']:.3f} dense {o['accuracy_dense']:.3f}")
        return "\n".join(lines)

    # ------------------------------------------------------------------------------------------
    # checkpoints

    def state(self):
        return {
            "version": CHECKPOINT_VERSION, "step": self.step, "tokens_seen": self.tokens_seen,
            "elapsed": self.elapsed, "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(), "sampler": self.sampler.state(),
            "long_sampler": self.long_sampler.state() if self.long_sampler else None, "rng": rng_state(),
            "recipe": _comparable(self.recipe), "recipe_text": self.recipe["_text"],
            "tokenizer_sha256": self.tok.sha256, "history": list(self.history), "last_eval": self.last_eval,
        }

    def save(self):
        path = save_checkpoint(self.out, self.step, self.state(), self.recipe["checkpoint"]["keep"])
        return path

    def load(self, allow_recipe_change=False):
        """Restores the newest checkpoint of the run directory. Returns its path (None: none found)."""
        path, state = latest_checkpoint(self.out)
        if state is None:
            return None
        if state.get("version") != CHECKPOINT_VERSION:
            raise RecipeError(f"[train] {path}: checkpoint version {state.get('version')} is not {CHECKPOINT_VERSION}")
        if state["tokenizer_sha256"] != self.tok.sha256:
            raise RecipeError(f"[train] {path} was trained with another tokenizer")
        if state["recipe"] != _comparable(self.recipe):
            changed = sorted(k for k in set(state["recipe"]) | set(_comparable(self.recipe))
                             if state["recipe"].get(k) != self.recipe.get(k))
            if not allow_recipe_change:
                raise RecipeError(f"[train] {path} was written with a different recipe (keys {changed}); "
                                  f"pass --allow-recipe-change to continue anyway")
            self.log(f"[train] recipe changed since {path} (keys {changed}); continuing as asked")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.sampler.load_state(state["sampler"])
        if self.long_sampler and state["long_sampler"]:
            self.long_sampler.load_state(state["long_sampler"])
        set_rng_state(state["rng"])
        self.step, self.tokens_seen, self.elapsed = state["step"], state["tokens_seen"], state["elapsed"]
        self.history.extend(state["history"])
        self.last_eval = state["last_eval"]
        return path

    # ------------------------------------------------------------------------------------------
    # export

    def final_losses(self):
        sums, counts = collections.defaultdict(float), collections.defaultdict(int)
        for metrics in self.history:
            for k, v in metrics.items():
                sums[k] += v
                counts[k] += 1
        return {k: sums[k] / counts[k] for k in sorted(sums)}

    def export(self, path=None):
        r = self.recipe
        path = path or os.path.join(self.out, f"{r['name']}.safetensors")
        training = {
            "recipe": r["name"],
            "recipe_file": os.path.relpath(r["_file"], REPO_ROOT) if r.get("_file") else None,
            "recipe_sha256": hashlib.sha256(r["_text"].encode("utf-8")).hexdigest(),
            "steps": self.step, "tokens_seen": self.tokens_seen, "train_seconds": round(self.elapsed, 1),
            "final_losses": {k: round(v, 5) for k, v in self.final_losses().items()},
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "seed": r["seed"], "data": {"sources": r["data"]["sources"], "mix": r["data"]["mix"],
                                        "limit_per_source": r["data"]["limit_per_source"]},
            "torch": torch.__version__, "device": self.device.type,
        }
        if self.last_eval:
            training["eval"] = {"step": self.last_eval["step"], "mlm_overall": self.last_eval["mlm_overall"],
                                "long": self.last_eval["long"]}
        export_model(self.model, path, dtype=r["export"]["dtype"], tokenizer_sha256=self.tok.sha256,
                     name=r["name"], description=r["description"] or None, training=training,
                     fp16_embed=r["export"]["fp16_embed"])
        return path

    # ------------------------------------------------------------------------------------------
    # the loop

    def run(self, stop_after=None, export=True):
        """Trains to recipe.steps (or stop_after). Returns "done", "stopped" or "interrupted"."""
        r = self.recipe
        total = r["steps"]
        progress = Progress(total, self.step, r["log_every"], self.progress_stream)
        with StopFlag() as stop:
            while self.step < total:
                t0 = time.time()
                metrics, tokens = self.train_step()
                self.elapsed += time.time() - t0
                self.history.append(metrics)
                shown = self._shown_metrics()
                progress.step(self.step, tokens, shown, self.scheduler.get_last_lr()[0])
                if r["eval"]["every"] and self.step % r["eval"]["every"] == 0 and self.step < total:
                    report = self.evaluate()
                    self.write_eval(report)
                    progress.message(self.eval_summary(report))
                saved = None
                if self.step % r["checkpoint"]["every"] == 0 or self.step == total:
                    saved = self.save()
                if stop.requested:
                    path = saved or self.save()
                    progress.message(f"[train] interrupted at step {self.step}: wrote {path}; "
                                     f"continue with --resume")
                    return "interrupted"
                if stop_after is not None and self.step >= stop_after and self.step < total:
                    path = saved or self.save()
                    progress.message(f"[train] stopped at step {self.step} as asked: wrote {path}")
                    return "stopped"
        progress.message(f"[train] finished {self.step} steps, {self.tokens_seen:,} tokens")
        if self.last_eval is None or self.last_eval["step"] != self.step:
            report = self.evaluate()
            self.write_eval(report)
            progress.message(self.eval_summary(report))
        if export:
            progress.message(f"[train] exported {self.export()}")
        return "done"

    def _shown_metrics(self):
        """Means over the last log_every steps of the metrics on the progress line."""
        window = list(self.history)[-self.recipe["log_every"]:]
        keys = [p for p in self.recipe["sandwich"]["paths"]] + ["kd", "imp", "cons"]
        shown = {}
        for k in keys:
            vals = [m[k] for m in window if k in m]
            if vals:
                shown[k] = sum(vals) / len(vals)
        return shown

    def measure(self, steps):
        """Times `steps` training steps after one warm-up step (nothing is written). Returns a dict:
        median (and mean/min/max) step times, tokens/s, and the projection for the recipe's steps
        (normal steps at the median time, long steps at the measured or a scaled time)."""
        t_start = time.time()
        self.train_step()
        res = {"warmup_step_s": time.time() - t_start}
        normal, long_ = [], []
        for _ in range(steps):
            long_step = self.is_long_step(self.step)
            t0 = time.time()
            _, tokens = self.train_step()
            (long_ if long_step else normal).append((time.time() - t0, tokens))
        r = self.recipe
        res.update(wall_s=time.time() - t_start, normal_steps=len(normal), long_steps=len(long_))
        if normal:
            times = [x[0] for x in normal]
            t = float(np.median(times))
            res.update(normal_step_s=t, normal_step_s_mean=float(np.mean(times)), normal_step_s_min=min(times),
                       normal_step_s_max=max(times), normal_tokens=normal[0][1], normal_tokens_per_s=normal[0][1] / t)
        if long_:
            t = float(np.median([x[0] for x in long_]))
            res.update(long_step_s=t, long_tokens=long_[0][1], long_tokens_per_s=long_[0][1] / t)
        every = r["long"]["every"]
        if normal:
            n_long = (r["steps"] // every) if every else 0
            lt = res.get("long_step_s", res["normal_step_s"] * r["long"]["seq_len"] / r["batch"]["seq_len"])
            ltok = res.get("long_tokens", r["long"]["seq_len"] * r["long"]["micro_batch"] * r["long"]["accum"])
            seconds = (r["steps"] - n_long) * res["normal_step_s"] + n_long * lt
            tokens = (r["steps"] - n_long) * res["normal_tokens"] + n_long * ltok
            res.update(recipe_hours=seconds / 3600, recipe_tokens=tokens, tokens_per_hour=tokens / seconds * 3600)
        return res


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", required=True, help="recipe YAML (model/training/recipes/*.yaml)")
    parser.add_argument("--out", required=True, help="run directory (checkpoints, eval reports, export)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    parser.add_argument("--autocast", choices=("bf16",), help="bf16 autocast (CUDA only)")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --out")
    parser.add_argument("--export-only", action="store_true", help="export the newest checkpoint and exit")
    parser.add_argument("--export-path", help="model file to write (default OUT/<recipe name>.safetensors)")
    parser.add_argument("--stop-after", type=int, help="stop (with a checkpoint) once this step is reached")
    parser.add_argument("--measure", type=int, metavar="STEPS", help="time STEPS steps, print the speed, write nothing")
    parser.add_argument("--cache", help="token shard cache (default: the recipe's data.cache)")
    parser.add_argument("--data", help="data directory (default: the recipe's data.dir)")
    parser.add_argument("--allow-recipe-change", action="store_true", help="resume even if the recipe changed")
    parser.add_argument("--synthetic-data", action="store_true",
                        help="train on random token shards written into --cache (tests and CI without the "
                             "shared data; needs a --cache folder of its own)")
    args = parser.parse_args(argv)
    if args.synthetic_data and not args.cache:
        parser.error("--synthetic-data needs --cache (a folder of its own, never the real token cache)")

    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        recipe = load_recipe(args.recipe)
        if args.synthetic_data:
            tok = pdata.Tokenizer(resolve_path(recipe["tokenizer"]))
            pdata.write_synthetic_shards(args.cache, tok, recipe["data"]["sources"],
                                         recipe["data"]["limit_per_source"], seed=recipe["seed"])
        trainer = Pretrainer(recipe, args.out, args.device, args.autocast, args.cache, args.data)
        params = sum(p.numel() for p in trainer.model.parameters())
        trainer.log(f"[train] {recipe['name']}: {params:,} parameters on {trainer.device}, "
                    f"{torch.get_num_threads()} threads, recipe {args.recipe}")
        if args.measure:
            res = trainer.measure(args.measure)
            print(json.dumps(res, indent=1))
            return 0
        if args.resume or args.export_only:
            path = trainer.load(args.allow_recipe_change)
            if path is None:
                if args.export_only:
                    raise RecipeError(f"[train] --export-only: no checkpoint in {args.out}")
                trainer.log(f"[train] --resume: no checkpoint in {args.out}; starting from step 0")
            else:
                trainer.log(f"[train] resumed from {path} at step {trainer.step}")
        elif any(n.startswith("ckpt-") for n in (os.listdir(args.out) if os.path.isdir(args.out) else [])):
            raise RecipeError(f"[train] {args.out} already has checkpoints: pass --resume to continue, "
                              f"or choose another --out")
        if args.export_only:
            print(trainer.export(args.export_path))
            return 0
        status = trainer.run(stop_after=args.stop_after, export=False)
        if status == "done":
            trainer.log(f"[train] exported {trainer.export(args.export_path)}")
        return 130 if status == "interrupted" else 0
    except (RecipeError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
