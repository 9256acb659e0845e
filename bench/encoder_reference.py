#!/usr/bin/env python3
"""PyTorch and ONNX side of the encoder benchmark (bench/run_encoder_bench.sh runs it).

Both subcommands read the model file that `ds_encoder_bench --write-model` wrote, through
model/training/export.py load_model, so every engine runs the same weights. Run with /usr/bin/python3.

  encoder_reference.py export --model M --out DIR [--paths light,standard,heavy] [--batch 1,8] [--T 128]
      For each path and batch size, exports two ONNX graphs of the dense forward pass (ids [B, T]
      int64 -> z [B, T, D]) and writes DIR/manifest.json for bench/ort_bench.js:
        reference: the reference module itself (DeepseekEncoder.encode_pieces) traced at fixed shapes;
        plain:     the same function in plain ops (one fused input projection per layer, dense global
                   attention with the importance bias, the local band as a constant additive mask).
      Top-k is given as {"fixed": T}, i.e. dense (SPEC.md: k >= T selects every key), so the graph
      has no data-dependent selection. Also writes the input ids and the reference module's z for
      ort_bench.js to check each graph's output against, and checks `plain` against the reference
      in PyTorch here.
  encoder_reference.py time --model M [--paths ...] [--batch 1,8] [--T 128] [--samples 15]
      Times PyTorch's forward (inference_mode, torch.set_num_threads(--threads)) of both modules;
      prints one JSON object.
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "model", "training"))
import deepseek_model  # noqa: E402
from deepseek_model import apply_rope, rope_cos_sin  # noqa: E402
from export import load_model  # noqa: E402

_select_keys = deepseek_model.select_keys


def _select_keys_exportable(s, lengths, ks):
    """deepseek_model.select_keys for the ONNX trace: the exporter has no stable sort (aten::sort.stable).
    When every budget covers its sequence the selection is every real key, in index order instead of
    importance order; the set, and so the softmax over it, is the same."""
    if all(k >= t for k, t in zip(ks, lengths)):
        batch, total = s.shape
        idx = torch.arange(total, device=s.device).expand(batch, total)
        valid = torch.arange(total, device=s.device)[None, :] < torch.tensor(lengths, device=s.device)[:, None]
        return idx.masked_fill(~valid, 0), valid
    return _select_keys(s, lengths, ks)


_local_channel = deepseek_model.Layer.local_channel


def _local_channel_exportable(self, u, lengths, heads, window, cos, sin, block=64):
    """Layer.local_channel for the ONNX trace: the exporter cannot size `unfold` after `F.pad`, so the
    band |i - j| <= window is applied as a T x T mask (the same softmax over the same keys; fine at the
    exported T = 128, where the reference's 64-query blocks with w = 64 span every key anyway)."""
    q, k, v = self.local.qkv(u, heads, self.head_dim)
    q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
    total = q.shape[2]
    pos = torch.arange(total, device=u.device)
    lens = torch.as_tensor(lengths, device=u.device)
    valid = ((pos[None, :] - pos[:, None]).abs() <= window)[None] & (pos[None, None, :] < lens[:, None, None])
    valid = valid | (pos[None, :] == pos[:, None])[None]
    logits = (q @ k.transpose(-1, -2)) / math.sqrt(self.head_dim)
    logits = logits.masked_fill(~valid[:, None], float("-inf"))
    return self.local.out(torch.softmax(logits, dim=-1) @ v)


class ReferenceForward(nn.Module):
    """ids [B, T] -> z [B, T, D] through the reference module, every sequence full length, dense."""

    def __init__(self, model, path, T):
        super().__init__()
        self.model, self.path, self.T = model, path, T

    def forward(self, ids):
        lengths = [ids.shape[1]] * ids.shape[0]
        return self.model.encode_pieces(ids, lengths, path=self.path, top_k={"fixed": self.T})


class PlainForward(nn.Module):
    """The same function as ReferenceForward (dense, no padding) written with plain tensor ops."""

    def __init__(self, model, path, T):
        super().__init__()
        cfg = model.config
        p = model.resolve_path(path)
        self.dh = dh = cfg["head_dim"]
        self.hg = p["attn_heads"]
        self.hl = min(max(1, self.hg // 2), cfg["n_local_heads"])
        self.units = math.floor(p["ffn_ratio"] * cfg["ffn_dim"])
        self.skip = set(p["skip_ffn_layers"])
        self.eps = cfg["rms_eps"]
        gw, lw = self.hg * dh, self.hl * dh
        self.embed = nn.Parameter(model.embed.weight.detach().clone(), requires_grad=False)
        self.layers = []
        for l, layer in enumerate(model.layers):
            g, lo = layer.global_, layer.local
            w_in = torch.cat([g.q.weight[:gw], g.k.weight[:gw], g.v.weight[:gw], lo.q.weight[:lw], lo.k.weight[:lw],
                              lo.v.weight[:lw], layer.importance.weight[None, :], layer.gate.weight]).detach()
            b_in = torch.cat([torch.zeros(3 * gw + 3 * lw), layer.importance.bias, layer.gate.bias]).detach()
            tensors = {
                "attn_norm": layer.attn_norm.weight, "w_in": w_in, "b_in": b_in,
                "o_g": g.o.weight[:, :gw], "o_l": lo.o.weight[:, :lw],
                "ffn_norm": layer.ffn_norm.weight, "up": layer.ffn.up.weight[:self.units],
                "down": layer.ffn.down.weight[:, :self.units],
            }
            names = {}
            for key, value in tensors.items():
                name = f"l{l}_{key}"
                self.register_buffer(name, value.detach().clone().contiguous())
                names[key] = name
            self.layers.append(names)
        self.register_buffer("final_norm", model.final_norm.weight.detach().clone())
        cos, sin = rope_cos_sin(T, dh, cfg["rope_theta"], "cpu", torch.float32)
        self.register_buffer("cos", cos)
        self.register_buffer("sin", sin)
        pos = torch.arange(T)
        band = (pos[None, :] - pos[:, None]).abs() <= cfg["window"]
        self.register_buffer("local_mask", torch.zeros(T, T).masked_fill(~band, float("-inf")))

    def norm(self, x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * w

    def heads(self, x, n):
        b, t, _ = x.shape
        return x.view(b, t, n, self.dh).transpose(1, 2)

    def forward(self, ids):
        b, t = ids.shape
        dh, gw, lw = self.dh, self.hg * self.dh, self.hl * self.dh
        h = F.embedding(ids, self.embed)
        scale = 1.0 / math.sqrt(dh)
        for l, names in enumerate(self.layers):
            w = {key: getattr(self, name) for key, name in names.items()}
            u = self.norm(h, w["attn_norm"])
            y = F.linear(u, w["w_in"], w["b_in"])
            gq, gk, gv, lq, lk, lv, s, gate = torch.split(y, [gw, gw, gw, lw, lw, lw, 1, 2], dim=-1)
            q = apply_rope(self.heads(gq, self.hg), self.cos, self.sin)
            k = apply_rope(self.heads(gk, self.hg), self.cos, self.sin)
            bias = F.logsigmoid(s).view(b, 1, 1, t)
            a = torch.softmax(q @ k.transpose(-1, -2) * scale + bias, dim=-1) @ self.heads(gv, self.hg)
            og = F.linear(a.transpose(1, 2).reshape(b, t, gw), w["o_g"])
            q = apply_rope(self.heads(lq, self.hl), self.cos, self.sin)
            k = apply_rope(self.heads(lk, self.hl), self.cos, self.sin)
            a = torch.softmax(q @ k.transpose(-1, -2) * scale + self.local_mask, dim=-1) @ self.heads(lv, self.hl)
            ol = F.linear(a.transpose(1, 2).reshape(b, t, lw), w["o_l"])
            g = torch.sigmoid(gate)
            h = h + g[..., 0:1] * og + g[..., 1:2] * ol
            if l not in self.skip:
                h = h + F.linear(F.gelu(F.linear(self.norm(h, w["ffn_norm"]), w["up"])), w["down"])
        return self.norm(h, self.final_norm)


def make_ids(vocab, batch, T, seed):
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(1, vocab, (batch, T), generator=gen, dtype=torch.long)


def rel_err(a, b):
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-30))


def cmd_export(args):
    model = load_model(args.model)
    os.makedirs(args.out, exist_ok=True)
    manifest = []
    for path in args.paths:
        for batch in args.batch:
            T = args.T
            ids = make_ids(model.config["vocab_size"], batch, T, 11 + batch)
            ref, plain = ReferenceForward(model, path, T).eval(), PlainForward(model, path, T).eval()
            with torch.inference_mode():
                z = ref(ids)
                z_plain = plain(ids)
            err = rel_err(z_plain, z)
            print(f"[export] {path} B={batch} T={T}: plain vs reference module in PyTorch, max |diff| / max |z| = "
                  f"{err:.2e}", file=sys.stderr)
            if err > 1e-4:
                raise SystemExit(f"[export] the plain module does not compute the reference function ({err:.2e})")
            stem = f"{path}_b{batch}_t{T}"
            ids.numpy().astype("int64").tofile(os.path.join(args.out, stem + ".ids.bin"))
            z.numpy().astype("float32").tofile(os.path.join(args.out, stem + ".z.bin"))
            for variant, module in (("reference", ref), ("plain", plain)):
                onnx_path = os.path.join(args.out, f"{stem}_{variant}.onnx")
                deepseek_model.select_keys = _select_keys_exportable
                deepseek_model.Layer.local_channel = _local_channel_exportable
                try:
                    with torch.inference_mode():
                        err = rel_err(module(ids), z)
                    if err > 1e-4:
                        raise SystemExit(f"[export] {variant}: the exportable module differs from the reference ({err:.2e})")
                    with torch.no_grad():
                        torch.onnx.export(module, (ids,), onnx_path, input_names=["ids"], output_names=["z"],
                                          opset_version=args.opset, do_constant_folding=True)
                finally:
                    deepseek_model.select_keys = _select_keys
                    deepseek_model.Layer.local_channel = _local_channel
                manifest.append({"path": path, "batch": batch, "T": T, "variant": variant,
                                 "onnx": os.path.basename(onnx_path), "ids": stem + ".ids.bin",
                                 "z": stem + ".z.bin", "shape": list(z.shape)})
                print(f"[export] wrote {onnx_path}", file=sys.stderr)
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)


def cmd_time(args):
    torch.set_num_threads(args.threads)
    model = load_model(args.model)
    rows = []
    for path in args.paths:
        for batch in args.batch:
            T = args.T
            ids = make_ids(model.config["vocab_size"], batch, T, 11 + batch)
            for variant, module in (("reference", ReferenceForward(model, path, T).eval()),
                                    ("plain", PlainForward(model, path, T).eval())):
                times = []
                with torch.inference_mode():
                    for _ in range(args.warmup):
                        module(ids)
                    samples = args.samples if batch == 1 else max(3, args.samples // 2)
                    for _ in range(samples):
                        t0 = time.perf_counter()
                        module(ids)
                        times.append(time.perf_counter() - t0)
                med = statistics.median(times)
                rows.append({"path": path, "batch": batch, "T": T, "variant": variant, "median_ms": med * 1e3,
                             "best_ms": min(times) * 1e3, "samples": len(times), "tokens_per_s": batch * T / med})
                print(f"[torch] {path} B={batch} {variant}: {med * 1e3:.1f} ms, {batch * T / med:.0f} tokens/s",
                      file=sys.stderr)
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(),
                      "ld_library_path": os.environ.get("LD_LIBRARY_PATH", ""), "results": rows}, indent=1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("export", "time"):
        p = sub.add_parser(name)
        p.add_argument("--model", required=True)
        p.add_argument("--paths", type=lambda s: s.split(","), default=["light", "standard", "heavy"])
        p.add_argument("--batch", type=lambda s: [int(x) for x in s.split(",")], default=[1, 8])
        p.add_argument("--T", type=int, default=128)
    sub.choices["export"].add_argument("--out", required=True)
    sub.choices["export"].add_argument("--opset", type=int, default=17)
    sub.choices["time"].add_argument("--threads", type=int, default=2)
    sub.choices["time"].add_argument("--samples", type=int, default=15)
    sub.choices["time"].add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    {"export": cmd_export, "time": cmd_time}[args.command](args)


if __name__ == "__main__":
    main()
