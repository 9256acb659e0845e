"""Internal consistency of the PyTorch reference (model/training/deepseek_model.py) and its file I/O.

run: /usr/bin/python3 -m unittest model/training/test_reference.py   (from the repository root)
 or: /usr/bin/python3 model/training/test_reference.py

Everything runs in float64 on small models, so equalities hold to ~1e-12 and a real mismatch shows.
The central check is `plain_forward`: the whole model written again the obvious way (explicit T x T
masks, brute-force key selection, no batching), against which the batched/gathered/blocked module is
compared in every mode.
"""
import json
import math
import os
import struct
import sys
import tempfile
import unittest

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from deepseek_model import (dense_attention_reference, lexical_buckets, log2_bin, merge_owners, resolve_k, rope_cos_sin,  # noqa: E402
                            apply_rope, rope_inv_freq, select_keys, window_starts)
from export import NO_TOKENIZER, build_from_recipe, export_model, load_model  # noqa: E402
from make_parity_case import DEFAULT_RECIPE  # noqa: E402
from safetensors_io import SafetensorsError, load_file, parse_header, save_file  # noqa: E402

torch.set_num_threads(1)


def small_recipe(**config):
    recipe = json.loads(json.dumps(DEFAULT_RECIPE))
    recipe["config"].update(config)
    recipe["heads"].append({"name": "lm", "type": "mlm"})
    return recipe


def make_model(seed=0, **config):
    return build_from_recipe(small_recipe(**config), seed).double().eval()


def random_ids(gen, length, vocab=300):
    return torch.randint(4, vocab, (length,), generator=gen).tolist()


def rmsnorm(x, w, eps):
    return x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps) * w


def plain_forward(model, ids, path=None, top_k=None, window=None):
    """One sequence (T <= max_len), SPEC section 3 line by line. Returns z [T, D]."""
    cfg = model.config
    plan = model._plan(path, top_k, window)
    total, dh, eps = len(ids), cfg["head_dim"], cfg["rms_eps"]
    k = resolve_k(plan["top_k"], total)
    h = model.embed.weight[torch.tensor(ids)]
    pos = torch.arange(total)
    band = (pos[:, None] - pos[None, :]).abs() <= plan["window"]
    hl, width_l = plan["hl"], plan["hl"] * dh
    for l, layer in enumerate(model.layers):
        u = rmsnorm(h, layer.attn_norm.weight, eps)
        s = u @ layer.importance.weight + layer.importance.bias
        keys = None
        if k < total:
            ranked = sorted(range(1, total), key=lambda j: (-float(s[j]), j))
            keys = [0] + ranked[:k - 1]
        og = dense_attention_reference(u, layer, plan["hg"], cfg["rope_theta"], keys)
        q = (u @ layer.local.q.weight[:width_l].T).view(total, hl, dh).transpose(0, 1)
        kk = (u @ layer.local.k.weight[:width_l].T).view(total, hl, dh).transpose(0, 1)
        v = (u @ layer.local.v.weight[:width_l].T).view(total, hl, dh).transpose(0, 1)
        cos, sin = rope_cos_sin(total, dh, cfg["rope_theta"], "cpu", torch.float64)
        q, kk = apply_rope(q, cos, sin), apply_rope(kk, cos, sin)
        logits = (q @ kk.transpose(1, 2) / math.sqrt(dh)).masked_fill(~band, float("-inf"))
        ol = (torch.softmax(logits, -1) @ v).transpose(0, 1).reshape(total, width_l) @ layer.local.o.weight[:, :width_l].T
        g = torch.sigmoid(u @ layer.gate.weight.T + layer.gate.bias)
        h = h + g[:, 0:1] * og + g[:, 1:2] * ol
        if l not in plan["skip"]:
            x = rmsnorm(h, layer.ffn_norm.weight, eps) @ layer.ffn.up.weight[:plan["units"]].T
            h = h + 0.5 * x * (1 + torch.erf(x / math.sqrt(2))) @ layer.ffn.down.weight[:, :plan["units"]].T
    return rmsnorm(h, model.final_norm.weight, eps)


class SpecNamesTest(unittest.TestCase):
    def test_state_dict_names_and_shapes_are_spec_tensor_names(self):
        model = make_model()
        c = model.config
        V, D, L, H, Hl, dh, Fm = (c["vocab_size"], c["d_model"], c["n_layers"], c["n_heads"], c["n_local_heads"],
                                  c["head_dim"], c["ffn_max_dim"])
        expected = {"embed.weight": [V, D], "final_norm.weight": [D]}
        for l in range(L):
            p = f"layers.{l}."
            expected.update({
                p + "attn_norm.weight": [D], p + "importance.weight": [D], p + "importance.bias": [1],
                p + "global.q.weight": [H * dh, D], p + "global.k.weight": [H * dh, D],
                p + "global.v.weight": [H * dh, D], p + "global.o.weight": [D, H * dh],
                p + "local.q.weight": [Hl * dh, D], p + "local.k.weight": [Hl * dh, D],
                p + "local.v.weight": [Hl * dh, D], p + "local.o.weight": [D, Hl * dh],
                p + "gate.weight": [2, D], p + "gate.bias": [2], p + "ffn_norm.weight": [D],
                p + "ffn.up.weight": [Fm, D], p + "ffn.down.weight": [D, Fm],
            })
        expected.update({"heads.tags.weight": [5, D], "heads.tags.bias": [5],
                         "heads.clauses.weight": [4, D], "heads.clauses.bias": [4],
                         "heads.triage.weight": [4, D], "heads.triage.bias": [4],
                         "heads.embed.weight": [16, D], "heads.lm.bias": [V]})
        actual = {k: list(v.shape) for k, v in model.state_dict().items()}
        self.assertEqual(actual, expected)
        self.assertEqual((Hl, Fm), (2, 192))


class AttentionTest(unittest.TestCase):
    def setUp(self):
        self.model = make_model(seed=1)
        self.gen = torch.Generator().manual_seed(7)

    def layer_input(self, length, layer=0):
        ids = torch.tensor([random_ids(self.gen, length)])
        with torch.no_grad():
            return self.model.layers[layer].attn_norm(self.model.embed(ids))

    def test_dense_topk_equals_plain_dense_attention(self):
        for length, heads in ((1, 4), (7, 4), (33, 3), (64, 1)):
            u = self.layer_input(length)
            layer = self.model.layers[0]
            s = layer.importance(u)
            cos, sin = rope_cos_sin(length, 16, 10000.0, "cpu", torch.float64)
            with torch.no_grad():
                got = layer.global_channel(u, s, [length], heads, [length + 5], cos, sin)[0]
                want = dense_attention_reference(u[0], layer, heads, 10000.0)
            torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)

    def test_sparse_topk_uses_exactly_the_k_best_keys_and_differs_from_dense(self):
        length, k = 50, 9
        u = self.layer_input(length)
        layer = self.model.layers[0]
        s = layer.importance(u)
        cos, sin = rope_cos_sin(length, 16, 10000.0, "cpu", torch.float64)
        with torch.no_grad():
            sparse = layer.global_channel(u, s, [length], 4, [k], cos, sin)[0]
            dense = layer.global_channel(u, s, [length], 4, [length], cos, sin)[0]
            idx, valid = select_keys(s, [length], [k])
        keys = sorted(idx[0][valid[0]].tolist())
        ranked = sorted(range(1, length), key=lambda j: (-float(s[0, j]), j))
        self.assertEqual(keys, sorted([0] + ranked[:k - 1]))
        with torch.no_grad():
            restricted = dense_attention_reference(u[0], layer, 4, 10000.0, keys=keys)
        torch.testing.assert_close(sparse, restricted, rtol=1e-12, atol=1e-12)
        self.assertGreater(float((sparse - dense).norm() / dense.norm()), 1e-2)

    def test_selection_ties_padding_and_budget(self):
        s = torch.tensor([[5.0, 1.0, 3.0, 3.0, 2.0, 3.0, 9.0, 9.0],
                          [-9.0, 0.0, 0.0, 0.0, 0.0, 7.0, 7.0, 7.0]], dtype=torch.float64)
        idx, valid = select_keys(s, [6, 5], [3, 9])
        self.assertEqual(sorted(idx[0][valid[0]].tolist()), [0, 2, 3])     # ties 2,3,5: lower first; 6,7 padded
        self.assertEqual(sorted(idx[1][valid[1]].tolist()), [0, 1, 2, 3, 4])  # k >= T: every real token
        self.assertEqual(resolve_k({"fraction": 0.375, "min": 4}, 57), 22)
        self.assertEqual(resolve_k({"fraction": 0.5, "min": 24}, 30), 24)
        self.assertEqual(resolve_k({"fixed": 0}, 10), 1)

    def test_blocked_local_channel_equals_masked_attention(self):
        layer = self.model.layers[1]
        for length, window, block in ((1, 4, 64), (7, 0, 3), (33, 4, 5), (33, 40, 8), (64, 3, 64)):
            u = self.layer_input(length)
            cos, sin = rope_cos_sin(length, 16, 10000.0, "cpu", torch.float64)
            with torch.no_grad():
                got = layer.local_channel(u, [length], 2, window, cos, sin, block=block)[0]
                q, k, v = layer.local.qkv(u, 2, 16)
                q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
                pos = torch.arange(length)
                band = (pos[:, None] - pos[None, :]).abs() <= window
                logits = (q @ k.transpose(-1, -2) / 4.0).masked_fill(~band, float("-inf"))
                want = layer.local.out(torch.softmax(logits, -1) @ v)[0]
            torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)

    def test_rope_is_rotate_half_with_fp32_angles(self):
        x = torch.randn(5, 8, generator=self.gen, dtype=torch.float64)
        cos, sin = rope_cos_sin(5, 8, 10000.0, "cpu", torch.float64)
        y = apply_rope(x, cos, sin)
        inv = [float(torch.tensor(1.0 / 10000.0 ** (2 * i / 8), dtype=torch.float32)) for i in range(4)]
        for p in range(5):
            for i in range(4):
                a = float(torch.tensor(float(p), dtype=torch.float32) * torch.tensor(inv[i], dtype=torch.float32))
                self.assertAlmostEqual(float(y[p, i]), float(x[p, i]) * math.cos(a) - float(x[p, i + 4]) * math.sin(a), 12)
                self.assertAlmostEqual(float(y[p, i + 4]), float(x[p, i + 4]) * math.cos(a) + float(x[p, i]) * math.sin(a), 12)
        self.assertEqual(rope_inv_freq(8, 10000.0).dtype, torch.float32)

    def test_gradients_reach_the_importance_scorer_through_top_k(self):
        model = make_model(seed=2).float().train()
        ids = [random_ids(self.gen, 40), random_ids(self.gen, 25)]
        out = model(ids, path="light", top_k={"fixed": 6}, segments=[[[0, 5]], [[2, 9]]])
        loss = out["hidden"].pow(2).mean() + sum(v.sum() if torch.is_tensor(v) else sum(x.sum() for x in v)
                                                 for v in out["heads"].values())
        loss.backward()
        for l in range(2):
            grad = model.layers[l].importance.weight.grad
            self.assertTrue(torch.isfinite(grad).all())
            self.assertGreater(float(grad.abs().sum()), 0.0)


class ForwardTest(unittest.TestCase):
    def setUp(self):
        self.model = make_model(seed=3)
        self.gen = torch.Generator().manual_seed(11)

    def test_module_equals_plain_forward_in_every_mode(self):
        cases = [("light", None, None, 40), ("standard", None, None, 64), ("heavy", None, None, 30),
                 ("heavy", {"fixed": 1}, None, 20), ("standard", {"fixed": 500}, 0, 50),
                 ({"ffn_ratio": 0.75, "attn_heads": 1, "skip_ffn_layers": [0], "top_k": {"fraction": 0.25, "min": 3}},
                  None, 1000, 37), ("light", None, 2, 1)]
        for path, top_k, window, length in cases:
            ids = random_ids(self.gen, length)
            with torch.no_grad():
                got = self.model([ids], path=path, top_k=top_k, window=window)["hidden"][0]
                want = plain_forward(self.model, ids, path, top_k, window)
            torch.testing.assert_close(got, want, rtol=1e-11, atol=1e-11, msg=f"{path} {top_k} {window} T={length}")

    def test_padding_invariance_with_windows(self):
        batch = [random_ids(self.gen, t) for t in (3, 40, 129, 1)]
        segments = [[[0, 3], [1, 1]], [[0, 40], [5, 9]], [[0, 129], [60, 70]], [[0, 1]]]
        for path, top_k in (("standard", None), ("light", {"fraction": 0.375, "min": 4})):
            with torch.no_grad():
                together = self.model(batch, path=path, top_k=top_k, segments=segments)
                for b, seq in enumerate(batch):
                    alone = self.model([seq], path=path, top_k=top_k, segments=[segments[b]])
                    t = len(seq)
                    torch.testing.assert_close(together["hidden"][b, :t], alone["hidden"][0], rtol=1e-12, atol=1e-12)
                    self.assertEqual(float(together["hidden"][b, t:].abs().sum()), 0.0)
                    self.assertEqual(float(together["heads"]["tags"][b, t:].abs().sum()), 0.0)
                    for name in ("tags", "triage", "embed"):
                        torch.testing.assert_close(together["heads"][name][b, :t] if name == "tags" else
                                                   together["heads"][name][b], alone["heads"][name][0],
                                                   rtol=1e-12, atol=1e-12)
                    torch.testing.assert_close(together["heads"]["clauses"][b], alone["heads"]["clauses"][0],
                                               rtol=1e-12, atol=1e-12)

    def test_window_starts_and_merge_rule(self):
        self.assertEqual(window_starts(64, 64, 16), [0])
        self.assertEqual(window_starts(65, 64, 16), [0, 1])
        self.assertEqual(window_starts(112, 64, 16), [0, 48])
        self.assertEqual(window_starts(129, 64, 16), [0, 48, 65])
        self.assertEqual(window_starts(200, 64, 16), [0, 48, 96, 136])
        owners = merge_owners(129, [0, 48, 65], 64)
        self.assertEqual(owners[55], (0, 55))   # window 0: 8 from its edge; window 1: 7
        self.assertEqual(owners[56], (1, 8))    # window 0: 7 from its edge; window 1: 8
        self.assertEqual(owners[80], (1, 32))   # window 1: min(32, 31) = 31 > window 2: min(15, 48)

    def test_exactly_max_len_is_the_plain_pass_and_longer_merges_window_outputs(self):
        ids = random_ids(self.gen, 64)
        with torch.no_grad():
            whole = self.model([ids])["hidden"][0]
            single = self.model.encode_pieces(torch.tensor([ids]), [64])[0]
        torch.testing.assert_close(whole, single, rtol=0, atol=0)
        ids = random_ids(self.gen, 129)
        starts = [0, 48, 65]
        with torch.no_grad():
            merged = self.model([ids])["hidden"][0]
            windows = [self.model.encode_pieces(torch.tensor([ids[s:s + 64]]), [64])[0] for s in starts]
        for i in range(129):
            dist = [min(i - s, s + 63 - i) if s <= i < s + 64 else -1 for s in starts]
            w = dist.index(max(dist))              # index() finds the first maximum: earlier window on ties
            torch.testing.assert_close(merged[i], windows[w][i - starts[w]], rtol=1e-12, atol=1e-12)

    def test_heads(self):
        ids = random_ids(self.gen, 20)
        with torch.no_grad():
            out = self.model([ids], segments=[[[2, 6], [4, 4], [0, 20]]])
            z = out["hidden"][0]
            heads = self.model.heads
            torch.testing.assert_close(out["heads"]["clauses"][0][0], heads["clauses"](z[2:6].mean(0)))
            self.assertEqual(float(out["heads"]["clauses"][0][1].abs().sum()), 0.0)   # empty span: zero row
            torch.testing.assert_close(out["heads"]["triage"][0], heads["triage"](z.mean(0)))
            y = z.mean(0) @ heads["embed"].weight.T
            torch.testing.assert_close(out["heads"]["embed"][0], y / y.norm())
            torch.testing.assert_close(out["heads"]["lm"][0], z @ self.model.embed.weight.T + heads["lm"].bias)
            x = torch.linspace(-4, 4, 17, dtype=torch.float64)
            want = torch.tensor([0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in x.tolist()], dtype=torch.float64)
            torch.testing.assert_close(F.gelu(x), want, rtol=1e-14, atol=1e-14)


class LexicalBagTest(unittest.TestCase):
    """The segment_labels lexical bag (SPEC section 3): hash, mean of table rows, file round trip."""

    def test_buckets_golden_values(self):
        # Shared with tests/model_encoder_test.cc (ModelHeads.LexicalBucketsMatchTheReferenceGoldenValues).
        got = lexical_buckets([5, 17, 300, 2], 0, 4, 1 << 16, 3).tolist()
        self.assertEqual(got, [6702, 26808, 53991, 49484, 6609, 53965, 38428, 47690, 59771])
        self.assertEqual(lexical_buckets([5, 17, 300, 2], 1, 3, 1 << 16, 3).tolist(), [26808, 53991, 53965])
        self.assertEqual(lexical_buckets([5], 0, 0, 7, 3).tolist(), [])

    def test_head_adds_projected_mean_of_table_rows_and_round_trips(self):
        recipe = small_recipe()
        for h in recipe["heads"]:
            if h["type"] == "segment_labels":
                h["lexical"] = {"buckets": 31, "dim": 6, "max_n": 2}
        model = build_from_recipe(recipe, 7).eval()
        gen = torch.Generator().manual_seed(3)
        ids = random_ids(gen, 12)
        name = next(h["name"] for h in recipe["heads"] if h["type"] == "segment_labels")
        head = model.heads[name]
        with torch.no_grad():
            out = model([ids], segments=[[[1, 5], [3, 3]]])
            z = out["hidden"][0]
            feats = lexical_buckets(ids, 1, 5, 31, 2)
            self.assertEqual(len(feats), 4 + 3)
            u = head.lexical.embed.weight[torch.from_numpy(feats)].mean(0)
            want = head(z[1:5].mean(0)) + head.lexical.proj(u)
            torch.testing.assert_close(out["heads"][name][0][0], want)
            self.assertEqual(float(out["heads"][name][0][1].abs().sum()), 0.0)   # empty span: zero row
        with tempfile.TemporaryDirectory() as d:
            export_model(model, os.path.join(d, "m.safetensors"), tokenizer_sha256=NO_TOKENIZER)
            loaded = load_model(os.path.join(d, "m.safetensors"))
            self.assertEqual(loaded.head_defs, model.head_defs)
            for k, v in model.state_dict().items():
                self.assertTrue(torch.equal(v, loaded.state_dict()[k]), k)

    def test_sequence_head_adds_the_bag_of_the_whole_sequence(self):
        recipe = small_recipe()
        seq_head = next(h for h in recipe["heads"] if h["type"] == "sequence_classes")
        seq_head["lexical"] = {"buckets": 29, "dim": 5, "max_n": 3, "shrink": 2}
        model = build_from_recipe(recipe, 11).eval()
        gen = torch.Generator().manual_seed(4)
        short, long = random_ids(gen, 4), random_ids(gen, 9)
        head = model.heads[seq_head["name"]]
        with torch.no_grad():
            out = model([short, long])            # a padded batch: each row sees only its own tokens
            for b, ids in enumerate([short, long]):
                z = out["hidden"][b, :len(ids)]
                feats = lexical_buckets(ids, 0, len(ids), 29, 3)
                u = head.lexical.embed.weight[torch.from_numpy(feats)].sum(0) / (len(feats) + 2)
                want = head(z.mean(0)) + head.lexical.proj(u)
                torch.testing.assert_close(out["heads"][seq_head["name"]][b], want)

    def test_length_and_position_bins_add_their_rows(self):
        self.assertEqual([log2_bin(v, 4) for v in (1, 2, 3, 4, 7, 8, 1000)], [0, 1, 1, 2, 2, 3, 3])
        recipe = small_recipe()
        seg = next(h for h in recipe["heads"] if h["type"] == "segment_labels")
        seg["lexical"] = {"buckets": 31, "dim": 6, "max_n": 2, "length_bins": 3, "position_bins": 4}
        model = build_from_recipe(recipe, 5).eval()
        head = model.heads[seg["name"]]
        with torch.no_grad():
            head.lexical.length_bias.normal_()
            head.lexical.position_bias.normal_()
        ids = random_ids(torch.Generator().manual_seed(6), 12)
        spans = [[0, 1], [1, 5], [5, 12]]          # lengths 1, 4, 7 -> bins 0, 2, 2; begins 0, 1, 5 -> 0, 1, 2
        with torch.no_grad():
            out = model([ids], segments=[spans])
            z = out["hidden"][0]
            for s, (b, e), lb, pb in zip(range(3), spans, (0, 2, 2), (0, 1, 2)):
                u = head.lexical.embed.weight[torch.from_numpy(lexical_buckets(ids, b, e, 31, 2))].mean(0)
                want = (head(z[b:e].mean(0)) + head.lexical.proj(u) + head.lexical.length_bias[lb]
                        + head.lexical.position_bias[pb])
                torch.testing.assert_close(out["heads"][seg["name"]][0][s], want)
            # A window of a longer document: position bins follow the document, not the window.
            moved = model([ids], segments=[spans], segment_starts=[[0, 6, 300]])["heads"][seg["name"]][0]
            shift = head.lexical.position_bias[[0, 2, 3]] - head.lexical.position_bias[[0, 1, 2]]
            torch.testing.assert_close(moved - out["heads"][seg["name"]][0], shift)

    def test_bad_specs_are_refused(self):
        recipe = small_recipe()
        seg = next(h for h in recipe["heads"] if h["type"] == "segment_labels")
        for bad in ({"buckets": 0, "dim": 4, "max_n": 2}, {"buckets": 8, "dim": 4}, {"buckets": 8, "dim": 4, "max_n": 5},
                    {"buckets": 8, "dim": 4, "max_n": 2, "extra": 1}):
            seg["lexical"] = bad
            with self.assertRaisesRegex(ValueError, "lexical"):
                build_from_recipe(recipe, 1)


def runtime_int4_roundtrip(w, group):
    """A plain twin of the C++ quantizer and loader (model/quantize.cc, SPEC section 6) for INT4: per group
    scale = fp16(max|w| / 7) (the smallest normal for an all-zero group), u = clamp(lround(w / scale) + 8,
    0, 15), W = (u - 8) * scale. lround rounds halves away from zero."""
    import numpy as np
    w = np.asarray(w, dtype=np.float32)
    out = np.empty_like(w)
    for r in range(w.shape[0]):
        for g0 in range(0, w.shape[1], group):
            blk = w[r, g0:g0 + group]
            scale = np.float32(np.float16(np.float32(np.abs(blk).max()) / np.float32(7.0)))
            if scale == 0:
                scale = np.float32(6.103515625e-05)
            x = blk / scale
            code = np.clip(np.sign(x) * np.floor(np.abs(x) + 0.5) + 8, 0, 15)
            out[r, g0:g0 + group] = (code - 8) * scale
    return out


class QatTest(unittest.TestCase):
    """qat.py's fake quantization against the runtime's INT4 layout."""

    def test_fake_quant_equals_the_runtime_on_random_weights(self):
        from qat import fake_quant_int4
        gen = torch.Generator().manual_seed(5)
        w = torch.randn(6, 128, generator=gen) * 0.05
        w[2, :64] = 0.0                                   # an all-zero group
        w[3, 70] = 1.5                                    # an outlier
        got = fake_quant_int4(w, 64).numpy()
        torch.testing.assert_close(torch.from_numpy(got), torch.from_numpy(runtime_int4_roundtrip(w.numpy(), 64)))

    def test_a_clipped_reconstruction_survives_the_runtime_quantizer_exactly(self):
        # The export guarantee: quantizing the QAT reconstruction gives it back bit for bit, whatever
        # the learned clip (the clipped maximum maps to code 7, so the max-abs scale is the QAT scale).
        from qat import fake_quant_int4
        gen = torch.Generator().manual_seed(6)
        w = torch.randn(4, 192, generator=gen) * 0.1
        alpha = torch.rand(4, 3, generator=gen) * 0.5 + 0.5
        wq = fake_quant_int4(w, 64, alpha).detach().numpy()
        self.assertTrue((runtime_int4_roundtrip(wq, 64) == wq).all())

    def test_gradients_flow_to_the_weights_and_the_clip(self):
        from qat import FakeQuantInt4
        fq = FakeQuantInt4((2, 64), 64)
        with torch.no_grad():
            fq.alpha.fill_(0.8)
        w = (torch.randn(2, 64) * 0.1).requires_grad_(True)
        fq(w).pow(2).sum().backward()
        self.assertGreater(float(w.grad.abs().sum()), 0.0)
        self.assertGreater(float(fq.alpha.grad.abs().sum()), 0.0)


class ParityCaseTest(unittest.TestCase):
    def test_case_files_match_plain_forward(self):
        import make_parity_case
        with tempfile.TemporaryDirectory() as out:
            make_parity_case.main(["--out", out, "--seed", "9"])
            with open(os.path.join(out, "case.json"), encoding="utf-8") as f:
                case = json.load(f)
            model = load_model(os.path.join(out, "model.safetensors"), dtype=torch.float64)
            windowed = 0
            for run in case["runs"]:
                got, _ = load_file(os.path.join(out, run["outputs"]))
                self.assertEqual(len(got), 5 * len(run["batch"]))
                for b, ids in enumerate(run["batch"]):
                    self.assertEqual(list(got[f"seq{b}.clauses"].shape), [len(run["segments"][b]), 4])
                    if len(ids) > model.config["max_len"]:
                        windowed += 1
                        continue
                    with torch.no_grad():
                        want = plain_forward(model, ids, run["path"], run["top_k"], run["window"])
                    torch.testing.assert_close(got[f"seq{b}.hidden"].double(), want, rtol=1e-6, atol=1e-6)
            self.assertGreaterEqual(windowed, 4)
            tie = case["runs"][-1]
            self.assertTrue(tie["exact_tie"])
            ids = tie["batch"][0]
            self.assertEqual(ids[3], ids[8])
            model.trace = []
            with torch.no_grad():
                model([ids], path=tie["path"], top_k=tie["top_k"])
            selected = set(model.trace[0]["idx"][0].tolist())
            self.assertIn(3, selected)
            self.assertNotIn(8, selected)
            dense, _ = load_file(os.path.join(out, "dense_check.safetensors"))
            torch.testing.assert_close(dense["dense_reference"], dense["topk_dense"], rtol=1e-6, atol=1e-6)
            self.assertGreater(float((dense["topk_sparse"] - dense["dense_reference"]).abs().max()), 1e-3)


class FileTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.model = build_from_recipe(small_recipe(), 5).eval()

    def tearDown(self):
        self.dir.cleanup()

    def path(self, name):
        return os.path.join(self.dir.name, name)

    def test_fp32_round_trip_is_exact(self):
        export_model(self.model, self.path("m.safetensors"), tokenizer_sha256=NO_TOKENIZER, name="t")
        loaded = load_model(self.path("m.safetensors"))
        for k, v in self.model.state_dict().items():
            self.assertTrue(torch.equal(v, loaded.state_dict()[k]), k)
        self.assertEqual(loaded.paths, self.model.paths)
        self.assertEqual(loaded.head_defs, self.model.head_defs)

    def test_fp16_round_trip(self):
        export_model(self.model, self.path("h.safetensors"), dtype="fp16", tokenizer_sha256=NO_TOKENIZER,
                     fp16_embed=True)
        raw, meta = load_file(self.path("h.safetensors"))
        precision = json.loads(meta["precision"])
        self.assertEqual(meta["format"], "deepseek-encoder")
        self.assertEqual(meta["spec_revision"], "1")
        for name, tensor in raw.items():
            matrix = name[:-len(".weight")] if name.endswith(".weight") else None
            want = torch.float16 if precision.get(matrix) == "fp16" else torch.float32
            self.assertEqual(tensor.dtype, want, name)
        self.assertEqual(raw["layers.0.global.q.weight"].dtype, torch.float16)
        self.assertEqual(raw["embed.weight"].dtype, torch.float16)
        self.assertEqual(raw["layers.0.gate.weight"].dtype, torch.float32)
        self.assertEqual(raw["heads.tags.weight"].dtype, torch.float32)
        self.assertEqual(precision["layers.1.ffn.down"], "fp16")
        self.assertEqual(precision["layers.1.gate"], "fp32")
        loaded = load_model(self.path("h.safetensors"))
        for k, v in self.model.state_dict().items():
            want = v.half().float() if raw[k].dtype == torch.float16 else v
            self.assertTrue(torch.equal(loaded.state_dict()[k], want), k)
        ids = [[5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]]
        with torch.no_grad():
            a, b = self.model(ids)["hidden"], loaded(ids)["hidden"]
        self.assertLess(float((a - b).norm() / a.norm()), 1e-2)

    def test_writer_alignment_and_reader_validation(self):
        tensors = {"a": torch.arange(3, dtype=torch.uint8), "b": torch.ones(2, 3), "c": torch.zeros(5, dtype=torch.float16),
                   "d": torch.tensor([-1, 2], dtype=torch.int8), "e": torch.zeros(0, 4)}
        save_file(tensors, self.path("t.safetensors"), {"k": "v"})
        with open(self.path("t.safetensors"), "rb") as f:
            buf = f.read()
        entries, meta, start = parse_header(buf)
        self.assertEqual(meta, {"k": "v"})
        self.assertEqual(start % 8, 0)
        self.assertTrue(all(begin % 4 == 0 for _, _, begin, _ in entries.values()))
        back, _ = load_file(self.path("t.safetensors"))
        for k, v in tensors.items():
            self.assertTrue(torch.equal(back[k], v) and back[k].dtype == v.dtype, k)

        n = struct.unpack("<Q", buf[:8])[0]
        header = json.loads(buf[8:8 + n])

        def rewrite(change):
            h = json.loads(json.dumps(header))
            change(h)
            raw = json.dumps(h).encode()
            return struct.pack("<Q", len(raw)) + raw + buf[8 + n:]

        bad = {
            "truncated": buf[:-3],
            "header past end": struct.pack("<Q", len(buf)) + buf[8:],
            "huge header": struct.pack("<Q", 200_000_000) + buf[8:],
            "not json": struct.pack("<Q", 4) + b"{no}" + buf[12:],
            "bad dtype": rewrite(lambda h: h["b"].update(dtype="F64")),
            "wrong size": rewrite(lambda h: h["b"].update(shape=[2, 4])),
            "overlap": rewrite(lambda h: h["c"].update(data_offsets=[h["b"]["data_offsets"][0] + 4,
                                                                     h["b"]["data_offsets"][0] + 14])),
            "metadata not string": rewrite(lambda h: h["__metadata__"].update(k=1)),
        }
        for what, data in bad.items():
            with self.assertRaises(SafetensorsError, msg=what):
                parse_header(data)

    def test_loader_refuses_missing_unknown_and_misshapen_tensors(self):
        export_model(self.model, self.path("m.safetensors"), tokenizer_sha256=NO_TOKENIZER)
        tensors, meta = load_file(self.path("m.safetensors"))
        variants = {
            "missing": lambda t: t.pop("layers.1.ffn.up.weight"),
            "unknown": lambda t: t.update(extra=torch.zeros(1)),
            "shape": lambda t: t.update({"final_norm.weight": torch.ones(3)}),
            "dtype": lambda t: t.update({"layers.0.gate.bias": torch.zeros(2, dtype=torch.float16)}),
        }
        for what, change in variants.items():
            t = dict(tensors)
            change(t)
            save_file(t, self.path("bad.safetensors"), meta)
            with self.assertRaises(SafetensorsError, msg=what):
                load_model(self.path("bad.safetensors"))


if __name__ == "__main__":
    unittest.main()
