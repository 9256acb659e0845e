#!/usr/bin/env python3
"""Writes one parity case: a random model file plus the reference outputs the C++ runtime must match.

usage: make_parity_case.py --out DIR --seed S [--config JSON-OVERRIDES] [--dtype fp32|fp16]
       make_parity_case.py --out DIR --seed S --model FILE

--model checks a trained model file (the shipped backbone, a freshly trained smoke model) instead of
a random one: DIR/model.safetensors links to FILE and a shorter set of runs is used (trained_run_specs:
every path, padded batches, a sparse long sequence, dense by top_k, and windows when max_len is small);
mlm heads are pretraining-only and not part of the runtime's outputs, so they are not written.

--config is a JSON object (inline, or a file name): keys of SPEC section 1 override the config;
"paths", "heads" and "init" replace those sections of the recipe (see export.py). Derived keys
(n_local_heads, ffn_max_dim) follow d_model/n_heads/ffn_dim unless given. Run lengths are derived
from max_len / window_overlap, so overriding them keeps every run meaningful.

DIR gets:
  model.safetensors     the model (with --dtype fp16: every matrix including embed.weight is F16)
  case.json             {"runs": [...], ...} (format below)
  run_<i>.safetensors   F32 reference outputs of run i, per sequence b of its batch:
                          seq<b>.hidden [T_b, D]   final-norm output z (after the window merge)
                          seq<b>.tags [T_b, 5]     token_tags logits
                          seq<b>.clauses [S_b, 4]  segment_labels logits, one row per span
                          seq<b>.triage [4]        sequence_classes logits
                          seq<b>.embed [16]        embedding (L2-normalized)
  dense_check.safetensors  one layer's global channel on a fixed input, see `dense_check` below.

case.json run entry: {"path": name or full path object, "top_k": top-k spec or null (null: the path's,
then the config's), "window": int or null (null: config window), "batch": [[ids...], ...],
"segments": [[[begin, end], ...], ...] (token spans per sequence, end exclusive), "outputs":
"run_<i>.safetensors", "note": what it exercises, "min_selection_gap": smallest margin between the
last selected and the first unselected importance over all layers/windows (see below),
"exact_tie": true when the run deliberately puts an exact importance tie on the top-k boundary}.

The reference is computed by the PyTorch module cast to float64 (weights are the file's values,
widened exactly; RoPE angles are still the FP32 products SPEC.md prescribes), so the stored F32
outputs carry only the final rounding. The weights are read back from the written file, so an F16
model is compared with the weights it actually contains.

Top-k robustness: a float32 runtime may order two importances differently from float64 when they are
nearly equal, which would change the key set and the result. Every random run is therefore redrawn
until the margin at each top-k boundary is at least MIN_GAP; the one deliberate tie (identical tokens,
so identical importance in any precision, layer 0) checks "ties go to the lower index".
"""
import argparse
import json
import math
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from deepseek_model import CONFIG_KEYS, dense_attention_reference, rope_cos_sin  # noqa: E402
from export import NO_TOKENIZER, build_from_recipe, export_model, load_model  # noqa: E402
from safetensors_io import save_file  # noqa: E402

MIN_GAP = 1e-3
# Trained models rank hundreds of keys with importances packed much closer than a random model's; a
# float32 runtime still reproduces the float64 ranking down to gaps far below this.
MIN_GAP_TRAINED = 1e-4
FIRST_TOKEN = 4  # ids 0..3 are <pad>, <unk>, <s>, </s> in the project tokenizer; random text avoids them

DEFAULT_RECIPE = {
    "config": {
        "vocab_size": 300, "d_model": 64, "n_layers": 2, "n_heads": 4, "head_dim": 16, "ffn_dim": 128,
        "rms_eps": 1e-6, "rope_theta": 10000.0, "max_len": 64, "window_overlap": 16, "window": 4,
        "top_k": {"fixed": 16}, "pad_id": 0, "default_path": "standard",
    },
    "paths": {
        "light": {"ffn_ratio": 0.5, "attn_heads": 2, "skip_ffn_layers": [1], "top_k": {"fixed": 8}},
        "standard": {"ffn_ratio": 1.0, "attn_heads": 3, "skip_ffn_layers": [], "top_k": None},
        "heavy": {"ffn_ratio": 1.5, "attn_heads": 4, "skip_ffn_layers": [],
                  "top_k": {"fraction": 0.5, "min": 24}},
    },
    "heads": [
        {"name": "tags", "type": "token_tags", "labels": ["O", "B-AMOUNT", "I-AMOUNT", "B-DATE", "I-DATE"]},
        {"name": "clauses", "type": "segment_labels",
         "labels": ["payment", "termination", "liability", "confidentiality"]},
        {"name": "triage", "type": "sequence_classes", "labels": ["emergency", "urgent", "routine", "self_care"]},
        {"name": "embed", "type": "embedding", "dim": 16},
    ],
}


def make_recipe(overrides):
    recipe = json.loads(json.dumps(DEFAULT_RECIPE))
    for key, value in overrides.items():
        if key in ("paths", "heads", "init"):
            recipe[key] = value
        elif key in CONFIG_KEYS:
            recipe["config"][key] = value
        else:
            raise SystemExit(f"[make_parity_case] --config: unknown key '{key}'")
    if "paths" not in overrides:
        # The light path skips the FFN of the last layer, whatever the layer count.
        recipe["paths"]["light"]["skip_ffn_layers"] = [recipe["config"]["n_layers"] - 1]
    return recipe


def run_specs(config):
    """The runs: (path, top_k, window, lengths, note). Lengths follow max_len M and the overlap."""
    m, overlap = config["max_len"], config["window_overlap"]
    custom = {"ffn_ratio": 0.75, "attn_heads": 1, "skip_ffn_layers": [0], "top_k": {"fraction": 0.25, "min": 3}}
    return [
        ("light", None, None, [5, 12, 40], "light path (k=8, FFN of layer 1 skipped); T below and above k and window"),
        ("standard", None, None, [3, 40, 2 * m + 1], "padded batch of very different lengths; last one windowed"),
        ("heavy", None, None, [1, m, 30], "heavy path, fraction top-k; T=1 and T=max_len (one window)"),
        (custom, None, None, [50, 7], "custom path object: 1 head, ffn_ratio 0.75, skips layer 0"),
        ("standard", {"fixed": 1000}, None, [60, 20], "dense by top_k >= T"),
        ("light", {"fraction": 0.375, "min": 4}, None, [10, 57, 3 * m + 8],
         "fraction top-k override; windowed sequence with an end-aligned last window"),
        ("heavy", {"fixed": 1}, None, [33], "k = 1: every query sees token 0 only"),
        ("standard", None, 0, [25, 6], "window 0: local channel sees the query itself"),
        ("heavy", None, 1000, [45, 9], "window larger than T: local channel is full"),
        ("light", {"fixed": 5}, 2, [m + 1, 2 * m - overlap], "windows: just over max_len, and exactly two strides"),
        ("standard", {"fraction": 1.0, "min": 0}, None, [m - 1, 17], "dense by fraction 1.0"),
    ]


def trained_run_specs(config):
    """Runs for a trained model file: lengths fixed (not from max_len, which is large for real models)."""
    m = config["max_len"]
    # Sparse runs use a small fixed k: the boundary then falls in the tail of the importance
    # distribution, where trained scores are far enough apart for a float32 runtime to rank them
    # exactly as the float64 reference does (see MIN_GAP_TRAINED).
    specs = [
        ("light", None, None, [5, 100, 200], "light path; padded batch"),
        ("standard", None, None, [3, 200, 64], "standard path; padded batch"),
        ("heavy", None, None, [1, 180], "heavy path; T=1"),
        ("heavy", {"fixed": 16}, None, [600], "heavy path, long sequence, sparse k=16"),
        ("standard", {"fixed": 100000}, None, [200], "dense by top_k >= T"),
        ("light", {"fixed": 8}, 2, [300], "small k and window"),
    ]
    if m <= 1024:
        specs.append(("standard", {"fixed": 16}, None, [2 * m + 1], "windowed: longer than max_len"))
    return specs


def random_ids(gen, length, vocab):
    """Distinct ids when possible: identical tokens have identical importance at layer 0 (exact ties)."""
    span = vocab - FIRST_TOKEN
    if length <= span:
        return (torch.randperm(span, generator=gen)[:length] + FIRST_TOKEN).tolist()
    return torch.randint(FIRST_TOKEN, vocab, (length,), generator=gen).tolist()


def segments_for(length, max_len):
    """Whole sequence, an inner span, an empty span, and (when windowed) one across a window edge."""
    spans = [[0, length], [length // 4, min(length, length // 4 + max(1, length // 3))], [length // 2, length // 2]]
    if length > max_len:
        spans.append([max_len - 5, min(length, max_len + 5)])
    return spans


def selection_gaps(trace, exact_tie):
    """Smallest importance margin at a top-k boundary over all recorded selections.

    With exact_tie, exact zero margins at layer 0 (identical tokens) are the intended test, not noise.
    """
    smallest = math.inf
    for layer, entry in enumerate(trace):
        for row, (t, k) in enumerate(zip(entry["lengths"], entry["ks"])):
            k = min(k, t)
            if k >= t or k == 1:
                continue
            others = torch.sort(entry["s"][row, 1:t], descending=True).values
            gap = float(others[k - 2] - others[k - 1])
            if exact_tie and gap == 0.0 and layer == 0:
                continue
            smallest = min(smallest, gap)
    return smallest


def tie_batch(model, gen):
    """A 12-token sequence whose layer-0 top-k boundary (k = 6) falls between two copies of one token."""
    vocab = model.config["vocab_size"]
    with torch.no_grad():
        layer = model.layers[0]
        ids = torch.arange(FIRST_TOKEN, vocab)
        s = layer.importance(layer.attn_norm(model.embed(ids)))
    order = ids[torch.argsort(s, descending=True)].tolist()
    pick = torch.randperm(len(order) // 3, generator=gen).tolist()
    high = [order[i] for i in sorted(pick[:4])]           # the 4 clearly selected tokens
    tied = order[len(order) // 3 + 2]                      # selected once, at its lower position
    low = [order[-1 - i] for i in sorted(pick[4:10])]     # token 0 and 5 clearly unselected tokens
    seq = [low[0], low[1], high[0], tied, low[2], high[1], high[2], low[3], tied, high[3], low[4], low[5]]
    return seq


def reference(model, batch, path, top_k, window, segments, exact_tie):
    model.trace = []
    with torch.no_grad():
        out = model(batch, path=path, top_k=top_k, window=window, segments=segments)
    gap = selection_gaps(model.trace, exact_tie)
    model.trace = None
    return out, gap


def runtime_heads(head_defs):
    return [h for h in head_defs if h["type"] != "mlm"]


def write_run(path, out, batch, head_defs):
    tensors = {}
    for b, seq in enumerate(batch):
        t = len(seq)
        tensors[f"seq{b}.hidden"] = out["hidden"][b, :t]
        for head in runtime_heads(head_defs):
            value = out["heads"][head["name"]]
            if head["type"] == "token_tags":
                value = value[b, :t]
            else:
                value = value[b]
            tensors[f"seq{b}.{head['name']}"] = value
    save_file({k: v.to(torch.float32).contiguous() for k, v in tensors.items()}, path)


def dense_check(model, gen, path):
    """Layer 0's global channel on one fixed input, three ways (all heads, no window involved)."""
    config = model.config
    length, sparse_k = 40, 10
    ids = random_ids(gen, length, config["vocab_size"])
    layer, heads = model.layers[0], config["n_heads"]
    with torch.no_grad():
        u = layer.attn_norm(model.embed(torch.tensor(ids)))
        u = u.to(torch.float32).to(torch.float64)          # the C++ side reads u as F32: use exactly that
        s = layer.importance(u)
        cos, sin = rope_cos_sin(length, config["head_dim"], config["rope_theta"], u.device, u.dtype)
        dense = dense_attention_reference(u, layer, heads, config["rope_theta"])
        topk_dense = layer.global_channel(u[None], s[None], [length], heads, [length], cos, sin)[0]
        topk_sparse = layer.global_channel(u[None], s[None], [length], heads, [sparse_k], cos, sin)[0]
        others = torch.sort(s[1:], descending=True, stable=True).indices[:sparse_k - 1] + 1
        keys = sorted([0] + others.tolist())
        sparse_ref = dense_attention_reference(u, layer, heads, config["rope_theta"], keys=keys)
    tensors = {"u": u, "importance": s, "dense_reference": dense, "topk_dense": topk_dense,
               "topk_sparse": topk_sparse, "topk_sparse_keys": torch.tensor(keys, dtype=torch.float64)}
    save_file({k: v.to(torch.float32).contiguous() for k, v in tensors.items()}, path,
              {"layer": "0", "attn_heads": str(heads), "sparse_k": str(sparse_k), "ids": json.dumps(ids)})
    return {
        "file": os.path.basename(path), "layer": 0, "attn_heads": heads, "sparse_k": sparse_k, "ids": ids,
        "max_abs_diff_dense_vs_topk": float((dense - topk_dense).abs().max()),
        "max_abs_diff_sparse_vs_restricted_dense": float((sparse_ref - topk_sparse).abs().max()),
        "tensors": {
            "u": "[T, D] layer-0 attention input rmsnorm(E[ids]) (exact F32 input for all three results)",
            "importance": "[T] s = u . w_imp + b_imp",
            "dense_reference": "[T, D] global channel output (after O, before gate) by plain dense attention "
                               "over all T keys with bias log(sigmoid(s)), all heads",
            "topk_dense": "[T, D] the same through the model's top-k code with k = T (must equal dense_reference)",
            "topk_sparse": f"[T, D] the model's top-k code with k = {sparse_k}",
            "topk_sparse_keys": f"[{sparse_k}] the selected key indices, ascending (as F32)",
        },
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--config", help="JSON object of overrides, inline or a file")
    parser.add_argument("--dtype", choices=("fp32", "fp16"), default="fp32")
    parser.add_argument("--model", help="check this trained model file instead of a random one")
    args = parser.parse_args(argv)
    if args.model and args.config:
        parser.error("--model and --config exclude each other")
    started = time.time()
    torch.set_num_threads(min(2, torch.get_num_threads()))

    overrides = {}
    if args.config:
        text = args.config if args.config.lstrip().startswith("{") else open(args.config, encoding="utf-8").read()
        overrides = json.loads(text)
    os.makedirs(args.out, exist_ok=True)
    model_path = os.path.join(args.out, "model.safetensors")
    if args.model:
        if os.path.lexists(model_path):
            os.remove(model_path)
        os.symlink(os.path.abspath(args.model), model_path)
    else:
        recipe = make_recipe(overrides)
        export_model(build_from_recipe(recipe, args.seed), model_path, dtype=args.dtype,
                     tokenizer_sha256=NO_TOKENIZER, fp16_embed=args.dtype == "fp16", name=f"parity-seed{args.seed}",
                     training={"recipe": "random parity case", "seed": args.seed})
    model = load_model(model_path, dtype=torch.float64)
    config = model.config
    gen = torch.Generator().manual_seed(args.seed + 1)

    chosen = trained_run_specs(config) if args.model else run_specs(config)
    min_gap = MIN_GAP_TRAINED if args.model else MIN_GAP
    specs = [(p, k, w, lengths, note, False) for p, k, w, lengths, note in chosen]
    specs.append(("standard", {"fixed": 6}, None, None,
                  "exact importance tie on the layer-0 top-k boundary (same token at 3 and 8): lower index wins",
                  True))
    runs = []
    for i, (path, top_k, window, lengths, note, exact_tie) in enumerate(specs):
        for attempt in range(50):
            batch = [tie_batch(model, gen)] if exact_tie else \
                [random_ids(gen, t, config["vocab_size"]) for t in lengths]
            segments = [segments_for(len(seq), config["max_len"]) for seq in batch]
            out, gap = reference(model, batch, path, top_k, window, segments, exact_tie)
            if gap >= min_gap:
                break
        else:
            raise SystemExit(f"[make_parity_case] run {i}: no draw with top-k margin >= {min_gap} "
                             f"(last draw: {gap:.3g})")
        name = f"run_{i}.safetensors"
        write_run(os.path.join(args.out, name), out, batch, model.head_defs)
        runs.append({"path": path, "top_k": top_k, "window": window, "batch": batch, "segments": segments,
                     "outputs": name, "note": note, "exact_tie": exact_tie,
                     "min_selection_gap": gap if math.isfinite(gap) else None})

    case = {
        "format": "deepseek-parity-case", "version": 1, "seed": args.seed, "dtype": args.dtype,
        "model": "model.safetensors", "reference": "PyTorch model/training/deepseek_model.py in float64",
        "heads": {h["name"]: h["type"] for h in runtime_heads(model.head_defs)},
        "output_tensors": "seq<b>.hidden [T_b, D]; seq<b>.<head>: token_tags [T_b, C], segment_labels [S_b, C], "
                          "sequence_classes [C], embedding [E]",
        "runs": runs,
        "dense_check": dense_check(model, gen, os.path.join(args.out, "dense_check.safetensors")),
    }
    with open(os.path.join(args.out, "case.json"), "w", encoding="utf-8") as f:
        # One run per line: readable in a diff without a line per token id.
        runs_text = ",\n  ".join(json.dumps(r) for r in case.pop("runs"))
        body = json.dumps(case, indent=1)
        f.write(body[:-2] + ',\n "runs": [\n  ' + runs_text + "\n ]\n}\n")
    print(f"wrote {args.out}: {len(runs)} runs, {time.time() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
