"""Tests of the trainer (train.py), its data and utilities, and the fine-tuning entry points.

Run from the repository root: /usr/bin/python3 -m unittest model/training/test_trainer.py
Uses one CPU thread, synthetic token shards (no shared data needed) and the project's tokenizer file
(for its special ids and hash). About 15 s.
"""
import math
import os
import shutil
import sys
import tempfile
import unittest

import numpy as np
import torch

torch.set_num_threads(1)
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import corpora  # noqa: E402
import finetune  # noqa: E402
import pretrain_data as pdata  # noqa: E402
import train  # noqa: E402
import train_utils  # noqa: E402
from deepseek_model import DeepseekEncoder  # noqa: E402
from export import export_model, load_model  # noqa: E402
from recipes import REPO_ROOT, RecipeError, load_recipe, model_config, resolve_path  # noqa: E402

SMOKE = os.path.join(HERE, "recipes", "smoke.yaml")
TOKENIZER = os.path.join(REPO_ROOT, "data", "models", "tokenizer.model")
DATA = resolve_path("../shared/data")
_TOK = None


def tokenizer():
    global _TOK
    if _TOK is None:
        _TOK = pdata.Tokenizer(TOKENIZER)
    return _TOK


def write_synthetic_cache(cache, tok, sources=("cuad", "tongda", "laws", "zh_med_queries", "medquad"), seed=0):
    """Synthetic shards for every source (random documents of Zipf-distributed ids)."""
    pdata.write_synthetic_shards(cache, tok, sources, seed=seed)


class Quiet:
    def write(self, text):
        pass

    def flush(self):
        pass

    def isatty(self):
        return False


def smoke_recipe(cache, **over):
    overrides = {"data": {"cache": cache, "limit_per_source": None}, "eval": {"every": 0}}
    for key, value in over.items():
        overrides.setdefault(key, {})
        if isinstance(value, dict):
            overrides[key].update(value)
        else:
            overrides[key] = value
    return load_recipe(SMOKE, overrides=overrides)


class TrainerTestBase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ds-trainer-test-")
        cls.cache = os.path.join(cls.tmp, "cache")
        write_synthetic_cache(cls.cache, tokenizer())

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def trainer(self, out, **over):
        recipe = smoke_recipe(self.cache, **over)
        return train.Pretrainer(recipe, os.path.join(self.tmp, out), log=lambda text: None,
                                progress_stream=Quiet())


class TestMasking(unittest.TestCase):
    def test_masking_statistics(self):
        tok = tokenizer()
        rng = np.random.default_rng(3)
        seqs = []
        for _ in range(400):
            seq = rng.integers(7, tok.vocab_size, size=128)
            seq[::17] = tok.eos                       # special tokens are never chosen
            seqs.append(seq)
        inputs, lengths, targets = pdata.mask_tokens(seqs, rng, (tok.mask, tok.special_ids), tok.vocab_size)
        original = np.stack(seqs)
        chosen = targets != -100
        maskable = ~np.isin(original, tok.special_ids)
        self.assertFalse((chosen & ~maskable).any())
        per_seq = chosen.sum(1)
        expected = np.round(0.15 * maskable.sum(1))
        np.testing.assert_array_equal(per_seq, expected)
        np.testing.assert_array_equal(targets[chosen], original[chosen])
        np.testing.assert_array_equal(inputs[~chosen], original[~chosen])
        n = chosen.sum()
        masked = (inputs == tok.mask) & chosen
        kept = (inputs == original) & chosen
        randomized = chosen & ~masked & ~kept
        self.assertAlmostEqual(masked.sum() / n, 0.8, delta=0.02)
        self.assertAlmostEqual(randomized.sum() / n, 0.1, delta=0.015)
        self.assertAlmostEqual(kept.sum() / n, 0.1, delta=0.015)   # includes random draws of the same id
        self.assertTrue((inputs[randomized] >= 7).all() and (inputs[randomized] < tok.vocab_size).all())
        self.assertEqual(lengths, [128] * 400)

    def test_padding_and_short_sequences(self):
        tok = tokenizer()
        rng = np.random.default_rng(0)
        inputs, lengths, targets = pdata.mask_tokens([np.array([100, 101, 102]), np.array([tok.eos, 200])], rng,
                                                     (tok.mask, tok.special_ids), tok.vocab_size, pad_id=tok.pad)
        self.assertEqual(lengths, [3, 2])
        self.assertEqual(inputs[1, 2], tok.pad)
        self.assertEqual(targets[1, 2], -100)
        self.assertEqual((targets[0] != -100).sum(), 1)   # at least one token per sequence
        self.assertEqual(targets[1, 0], -100)


class TestSampler(unittest.TestCase):
    def test_deterministic_resumable_and_mixed(self):
        rng = np.random.default_rng(1)
        streams = {"a": rng.integers(0, 1000, 5000).astype(np.uint16), "b": rng.integers(0, 1000, 700).astype(np.uint16)}
        s1 = pdata.MixSampler(streams, {"a": 3, "b": 1}, 64, seed=5)
        first = [s1.next() for _ in range(40)]
        state = s1.state()
        rest = [s1.next() for _ in range(60)]
        s2 = pdata.MixSampler(streams, {"a": 3, "b": 1}, 64, seed=5)
        s2.load_state(state)
        for (g1, x1), (g2, x2) in zip(rest, [s2.next() for _ in range(60)]):
            self.assertEqual(g1, g2)
            np.testing.assert_array_equal(x1, x2)
        groups = [g for g, _ in first + rest]
        self.assertAlmostEqual(groups.count("a") / len(groups), 0.75, delta=0.12)
        # group b has 9 chunks: its first epoch serves 9 distinct chunks, then a new permutation
        s3 = pdata.MixSampler(streams, {"b": 1}, 64, seed=5)
        chunks = [tuple(s3.next()[1][:4]) for _ in range(9)]
        self.assertEqual(len(set(chunks)), 9)
        self.assertTrue(all(len(s3.next()[1]) == 64 for _ in range(20)))

    def test_mix_without_data_is_an_error(self):
        with self.assertRaises(ValueError):
            pdata.MixSampler({"a": np.zeros(100, np.uint16)}, {"a": 1, "missing": 1}, 16, seed=0)


class TestRecipes(unittest.TestCase):
    def test_shipped_recipes_load(self):
        tok = tokenizer()
        for name in ("smoke", "backbone-small", "backbone-base"):
            recipe = load_recipe(os.path.join(HERE, "recipes", f"{name}.yaml"))
            config = model_config(recipe, tok)
            DeepseekEncoder(config, recipe["paths"], [{"name": "mlm", "type": "mlm"}])   # validates
            self.assertEqual(config["vocab_size"], 16000)

    def test_finetune_example_recipe_loads(self):
        recipe = finetune.load_ft_recipe(os.path.join(HERE, "recipes", "finetune-example.yaml"))
        self.assertEqual([h["type"] for h in recipe["heads"]],
                         ["token_tags", "segment_labels", "sequence_classes", "embedding"])

    def test_unknown_keys_are_errors(self):
        with self.assertRaisesRegex(RecipeError, r"recipe\.optim\.learning_rate"):
            load_recipe(text="name: x\noptim: {learning_rate: 1}\n")
        with self.assertRaisesRegex(RecipeError, r"recipe\.name"):
            load_recipe(text="steps: 3\n")


class TestPretraining(TrainerTestBase):
    def test_resume_gives_identical_weights(self):
        straight = self.trainer("straight", steps=6)
        self.assertEqual(straight.run(export=False), "done")
        first = self.trainer("resumed", steps=6)
        self.assertEqual(first.run(stop_after=3, export=False), "stopped")
        second = self.trainer("resumed", steps=6)
        self.assertTrue(second.load().endswith("ckpt-00000003.pt"))
        self.assertEqual(second.step, 3)
        self.assertEqual(second.run(export=False), "done")
        a, b = straight.model.state_dict(), second.model.state_dict()
        for key in a:
            self.assertTrue(torch.equal(a[key], b[key]), key)
        self.assertEqual(straight.tokens_seen, second.tokens_seen)
        self.assertEqual(straight.sampler.state(), second.sampler.state())
        # the run above trained long (sparse) step 4 too
        self.assertTrue(any("cons" in m for m in straight.history))

    def test_sandwich_losses_finite_and_scorer_trained(self):
        t = self.trainer("sandwich")
        for long_step in (False, True):
            rng = np.random.default_rng(0)
            sampler = t.long_sampler if long_step else t.sampler
            seqs = [sampler.next()[1] for _ in range(2)]
            inputs, lengths, targets = t._mask(seqs, rng)
            t.model.zero_grad(set_to_none=True)
            metrics = t.sandwich(inputs, lengths, targets, long_step, 1.0)
            prefix = "long_" if long_step else ""
            for key in ("heavy", "standard", "light", "kd", "imp"):
                self.assertIn(prefix + key, metrics)
                self.assertTrue(math.isfinite(metrics[prefix + key]), (key, metrics))
            if long_step:
                self.assertIn("cons", metrics)
                self.assertIn("long_heavy_sparse", metrics)
                self.assertGreater(metrics["cons"], 0.0)
            self.assertAlmostEqual(metrics[prefix + "heavy"], math.log(tokenizer().vocab_size), delta=0.5)
            grad = t.model.layers[0].importance.weight.grad
            self.assertIsNotNone(grad)
            self.assertGreater(float(grad.abs().sum()), 0.0)
            for p in t.model.parameters():
                if p.grad is not None:
                    self.assertTrue(torch.isfinite(p.grad).all())

    def test_importance_loss_prefers_attended_keys(self):
        # One layer, one sequence, 4 keys; attention mass goes to keys 0 and 2.
        probs = torch.zeros(1, 1, 4, 4)
        probs[..., 0], probs[..., 2] = 0.25, 0.75
        stats = [{"s": torch.zeros(1, 4, requires_grad=True), "idx": torch.arange(4)[None],
                  "valid": torch.ones(1, 4, dtype=torch.bool), "probs": probs}]
        loss = train_utils.importance_loss(stats, [4])
        loss.backward()
        g = stats[0]["s"].grad[0]
        self.assertLess(float(g[2]), 0.0)       # gradient descent raises s_2 (most attended) ...
        self.assertGreater(float(g[1]), 0.0)    # ... and lowers s_1 (never attended)
        s = torch.log(torch.tensor([[0.25, 1e-9, 0.75, 1e-9]]))
        stats[0]["s"] = s
        self.assertLess(float(train_utils.importance_loss(stats, [4])), 1e-6)

    def test_checkpoint_atomicity(self):
        t = self.trainer("atomic", steps=6)
        self.assertEqual(t.run(stop_after=2, export=False), "stopped")
        out = t.out
        with open(os.path.join(out, "ckpt-00000005.pt.tmp"), "wb") as f:
            f.write(b"partial checkpoint, never renamed")
        self.assertEqual([os.path.basename(p) for p in train_utils.list_checkpoints(out)], ["ckpt-00000002.pt"])
        t2 = self.trainer("atomic", steps=6)
        self.assertTrue(t2.load().endswith("ckpt-00000002.pt"))
        self.assertEqual(t2.step, 2)
        # a damaged complete-named file (e.g. disk full) falls back to the previous checkpoint
        with open(os.path.join(out, "ckpt-00000004.pt"), "wb") as f:
            f.write(b"\x80\x02truncated")
        t3 = self.trainer("atomic", steps=6)
        import contextlib
        import io
        with contextlib.redirect_stderr(io.StringIO()):
            self.assertTrue(t3.load().endswith("ckpt-00000002.pt"))
        # keep: only the newest `keep` checkpoints stay
        for step in (10, 11, 12):
            train_utils.save_checkpoint(out, step, {"x": step}, keep=2)
        self.assertEqual([os.path.basename(p) for p in train_utils.list_checkpoints(out)],
                         ["ckpt-00000011.pt", "ckpt-00000012.pt"])

    def test_recipe_change_refused_on_resume(self):
        t = self.trainer("changed", steps=6)
        t.run(stop_after=1, export=False)
        t2 = self.trainer("changed", steps=6, optim={"lr": 1.0e-4})
        with self.assertRaisesRegex(RecipeError, "different recipe"):
            t2.load()

    def test_eval_and_export_roundtrip(self):
        t = self.trainer("export", steps=4, eval={"every": 0, "long_sequences": 1, "long_seq_len": 256})
        self.assertEqual(t.run(), "done")
        report = t.last_eval
        self.assertTrue(os.path.exists(os.path.join(t.out, "eval.json")))
        self.assertEqual(set(report["mlm"]), {"legal-en", "legal-zh", "law-zh", "medical-en", "medical-zh"})
        for path in ("heavy", "standard", "light"):
            self.assertTrue(0.0 <= report["mlm_overall"][path]["accuracy"] <= 1.0)
            long_ = report["long"][path]
            self.assertLess(long_["mean_k"], 256)          # sparse on the long held-out sequences
            self.assertTrue(-1.0 <= long_["hidden_cosine"] <= 1.0 + 1e-6)
        path = os.path.join(t.out, "smoke.safetensors")
        model = load_model(path)
        self.assertEqual(model.metadata["tokenizer"], "sha256:" + tokenizer().sha256)
        training = model.metadata["training"]
        self.assertEqual(training["steps"], 4)
        self.assertEqual(training["recipe"], "smoke")
        self.assertIn("heavy", training["final_losses"])
        self.assertIn("date", training)
        a, b = t.model.state_dict(), model.state_dict()
        for key in a:
            self.assertTrue(torch.equal(a[key].cpu(), b[key]), key)
        ids = [[20, 30, 40, 50, 60], [70, 80, 90]]
        t.model.eval()
        with torch.no_grad():
            for p in ("light", "heavy"):
                x, y = t.model(ids, path=p), model(ids, path=p)
                self.assertTrue(torch.equal(x["hidden"], y["hidden"]))
                self.assertTrue(torch.equal(x["heads"]["mlm"], y["heads"]["mlm"]))


class TestCommandLine(TrainerTestBase):
    def test_sigint_checkpoint_resume_export_only(self):
        import signal
        import subprocess
        import yaml
        with open(SMOKE, encoding="utf-8") as f:
            recipe = yaml.safe_load(f)
        recipe["data"].update(cache=self.cache, limit_per_source=None)
        recipe.update(steps=1000, log_every=1)
        recipe["eval"]["every"] = 0
        recipe["checkpoint"]["every"] = 1000
        path = os.path.join(self.tmp, "cli.yaml")
        with open(path, "w", encoding="utf-8") as f:
            yaml.safe_dump(recipe, f)
        out = os.path.join(self.tmp, "cli-run")
        cmd = [sys.executable, os.path.join(HERE, "train.py"), "--recipe", path, "--out", out, "--threads", "1"]
        proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        try:
            for line in proc.stderr:
                if line.startswith("step 3/1000"):
                    proc.send_signal(signal.SIGINT)
                    break
            rest = proc.stderr.read()
            self.assertEqual(proc.wait(timeout=60), 130, rest)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.stderr.close()
        self.assertIn("interrupted at step", rest)
        ckpts = train_utils.list_checkpoints(out)
        self.assertEqual(len(ckpts), 1)
        step = int(os.path.basename(ckpts[0])[5:13])
        self.assertGreaterEqual(step, 3)
        # without --resume an existing run directory is refused
        r = subprocess.run(cmd, capture_output=True, text=True)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("--resume", r.stderr)
        r = subprocess.run(cmd + ["--resume", "--stop-after", str(step + 1)], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"resumed from {ckpts[0]} at step {step}", r.stderr)
        self.assertIn(f"stopped at step {step + 1}", r.stderr)
        r = subprocess.run(cmd + ["--export-only"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        model = load_model(r.stdout.strip())
        self.assertEqual(model.metadata["training"]["steps"], step + 1)


@unittest.skipUnless(os.path.isdir(DATA), "shared data not present")
class TestCorpora(unittest.TestCase):
    def test_indices_do_not_depend_on_selection(self):
        first = list(corpora.iter_documents(DATA, ["cuad"], limit_per_source=2))
        self.assertEqual([i for i, _, _ in first], [0, 1])
        n_cuad = len(os.listdir(os.path.join(DATA, "legal/cuad/contracts")))
        tongda = list(corpora.iter_documents(DATA, ["tongda"], limit_per_source=2))
        self.assertEqual([i for i, _, _ in tongda], [n_cuad, n_cuad + 1])
        self.assertTrue(corpora.is_heldout(0) and not corpora.is_heldout(1) and corpora.is_heldout(40))


# ----------------------------------------------------------------------------------------------
# Fine-tuning: a tiny random backbone and one synthetic task per head type

def tiny_backbone(path, tok_sha):
    config = {"vocab_size": 64, "d_model": 32, "n_layers": 2, "n_heads": 4, "n_local_heads": 2, "head_dim": 8,
              "ffn_dim": 64, "ffn_max_dim": 96, "rms_eps": 1e-6, "rope_theta": 10000.0, "max_len": 64,
              "window_overlap": 8, "window": 4, "top_k": {"fraction": 0.5, "min": 8}, "pad_id": 0,
              "default_path": "standard"}
    paths = {"light": {"ffn_ratio": 0.5, "attn_heads": 2, "skip_ffn_layers": [1], "top_k": None},
             "standard": {"ffn_ratio": 1.0, "attn_heads": 3, "skip_ffn_layers": [], "top_k": None},
             "heavy": {"ffn_ratio": 1.5, "attn_heads": 4, "skip_ffn_layers": [], "top_k": {"fixed": 64}}}
    model = DeepseekEncoder(config, paths, [{"name": "mlm", "type": "mlm"}])
    train_utils.init_for_training(model, 3, 0.1)
    export_model(model, path, tokenizer_sha256=tok_sha)


A_SET, B_SET, MARKERS = set(range(10, 16)), set(range(16, 22)), (30, 31, 32)


def synthetic_examples(kind, n, seed):
    """Learnable tasks on ids 3..63: tags mark runs of A-tokens (B-NUM/I-NUM), segment labels say
    whether a span holds an A / a B token, classes are the marker token present, and embedding
    partners are shuffled copies (with one token dropped)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        length = int(rng.integers(8, 20))
        ids = [int(x) for x in rng.integers(3, 64, size=length)]
        if kind == "token_tags":
            tags, prev = [], False
            for x in ids:
                a = x in A_SET
                tags.append(0 if not a else (2 if prev else 1))
                prev = a
            out.append({"ids": ids, "targets": {"tags": tags}})
        elif kind == "segment_labels":
            spans, labels = [], []
            for b in range(0, length - 3, 4):
                spans.append([b, b + 4])
                labels.append([j for j, s in enumerate((A_SET, B_SET)) if any(x in s for x in ids[b:b + 4])])
            out.append({"ids": ids, "targets": {"clauses": {"spans": spans, "labels": labels}}})
        elif kind == "sequence_classes":
            ids = [x for x in ids if x not in MARKERS]
            label = int(rng.integers(0, 3))
            ids.insert(int(rng.integers(0, len(ids))), MARKERS[label])
            out.append({"ids": ids, "targets": {"triage": label}})
        else:
            pair = list(ids)
            rng.shuffle(pair)
            out.append({"ids": ids, "targets": {"embed": pair[1:]}})
    return out


HEADS = {
    "token_tags": {"name": "tags", "type": "token_tags", "labels": ["O", "B-NUM", "I-NUM"]},
    "segment_labels": {"name": "clauses", "type": "segment_labels", "labels": ["has_a", "has_b"]},
    "sequence_classes": {"name": "triage", "type": "sequence_classes", "labels": ["x", "y", "z"]},
    "embedding": {"name": "embed", "type": "embedding", "dim": 16},
}


class TestFinetune(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ds-finetune-test-")
        cls.backbone = os.path.join(cls.tmp, "backbone.safetensors")
        tiny_backbone(cls.backbone, "ab" * 32)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def tuner(self, kind, out, steps=30, **extra):
        text = (f"name: ft-{kind.replace('_', '-')}\nseed: 5\nsteps: {steps}\nlog_every: 5\n"
                f"batch: {{micro_batch: 16, accum: 1}}\n"
                f"optim: {{lr: 3.0e-3, head_lr_scale: 3.0, warmup_steps: 3}}\n"
                f"checkpoint: {{every: 100, keep: 1}}\neval: {{every: 0, micro_batch: 16}}\n"
                f"losses: {{contrastive_temperature: 0.1}}\n")
        recipe = finetune.load_ft_recipe(text=text, overrides={"heads": [HEADS[kind]], **extra})
        train_set = synthetic_examples(kind, 160, seed=1)
        dev = synthetic_examples(kind, 32, seed=2)
        return finetune.FineTuner(recipe, os.path.join(self.tmp, out), self.backbone, train=train_set, dev=dev,
                                  log=lambda text: None, progress_stream=Quiet())

    def check_head(self, kind):
        t = self.tuner(kind, kind)
        self.assertEqual(t.run(), "done")
        name = HEADS[kind]["name"]
        hist = list(t.history)
        for path in ("heavy", "standard", "light"):
            first = np.mean([m[f"{path}/{name}"] for m in hist[:3]])
            last = np.mean([m[f"{path}/{name}"] for m in hist[-3:]])
            self.assertLess(last, 0.85 * first, (kind, path, first, last))
        self.assertTrue(all(f"standard/kd" in m for m in hist))
        model = load_model(os.path.join(t.out, f"ft-{kind.replace('_', '-')}.safetensors"))
        self.assertEqual([h["name"] for h in model.head_defs], [name])
        self.assertEqual(model.head_defs[0], HEADS[kind])
        self.assertEqual(model.metadata["tokenizer"], "sha256:" + "ab" * 32)
        self.assertEqual(model.metadata["training"]["backbone"], "backbone.safetensors")
        report = t.last_eval["paths"]["heavy"][name]
        self.assertTrue(report)
        return report

    def test_token_tags(self):
        report = self.check_head("token_tags")
        self.assertGreater(report["token_accuracy"], 0.7)

    def test_segment_labels(self):
        self.check_head("segment_labels")

    def test_segment_labels_known_mask(self):
        """Labels outside `known` get no loss: the logit of an unknown label does not move the loss."""
        heads = [{"name": "c", "type": "segment_labels", "labels": ["a", "b"]}]
        targets = {"c": {"rows": [0], "multi_hot": torch.tensor([[1.0, 0.0]]), "known": torch.tensor([[1.0, 0.0]])}}
        for unknown_logit in (-5.0, 0.0, 5.0):
            out = {"c": [torch.tensor([[0.0, unknown_logit]])]}
            loss = finetune.task_losses(heads, out, {"targets": targets}, 0.05)["c"]
            self.assertAlmostEqual(float(loss), math.log(2.0), places=6)

    def test_sequence_classes(self):
        self.check_head("sequence_classes")

    def test_embedding(self):
        report = self.check_head("embedding")
        self.assertGreater(report["recall_at_1"], 1 / 32)

    def test_resume_is_exact(self):
        a = self.tuner("sequence_classes", "ft-a", steps=6)
        a.run(export=False)
        b = self.tuner("sequence_classes", "ft-b", steps=6)
        b.run(stop_after=3, export=False)
        c = self.tuner("sequence_classes", "ft-b", steps=6)
        c.load()
        c.run(export=False)
        for key, value in a.model.state_dict().items():
            self.assertTrue(torch.equal(value, c.model.state_dict()[key]), key)

    def test_bad_example_is_rejected(self):
        with self.assertRaisesRegex(ValueError, r"train\[0\]\.targets\.tags"):
            recipe = finetune.load_ft_recipe(text="name: x\n", overrides={"heads": [HEADS["token_tags"]]})
            finetune.FineTuner(recipe, os.path.join(self.tmp, "bad"), self.backbone,
                               train=[{"ids": [5, 6], "targets": {"tags": [0]}}], log=lambda text: None)

    def test_bio_spans(self):
        labels = ["O", "B-A", "I-A", "B-B"]
        self.assertEqual(finetune.bio_spans([1, 2, 0, 3, 2, 2], labels), {(0, 2, "A"), (3, 4, "B"), (4, 6, "A")})


if __name__ == "__main__":
    unittest.main()
