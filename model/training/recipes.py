"""Training recipes: YAML files (model/training/recipes/*.yaml) merged over DEFAULTS and validated.

Every key a recipe may set is in DEFAULTS (an unknown key is an error naming its path, so a typo
never silently falls back to a default). Relative paths (tokenizer, data.dir, data.cache) are relative
to the repository root. The model config's `vocab_size` and `pad_id` come from the tokenizer, and
`n_local_heads` / `ffn_max_dim` are derived (SPEC section 1).
"""
import copy
import json
import math
import os

import yaml

REPO_ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

DEFAULTS = {
    "name": None,                     # required: names the run and the exported model
    "description": "",
    "seed": 1234,
    "tokenizer": "data/models/tokenizer.model",
    "model": {                        # SPEC section 1 keys except vocab_size, pad_id, n_local_heads, ffn_max_dim
        "d_model": 256, "n_layers": 4, "n_heads": 8, "head_dim": 32, "ffn_dim": 768,
        "rms_eps": 1.0e-6, "rope_theta": 10000.0, "max_len": 8192, "window_overlap": 512, "window": 32,
        "top_k": {"fraction": 0.25, "min": 256}, "default_path": "standard",
    },
    "paths": {                        # SPEC section 2 path objects
        "light": {"ffn_ratio": 0.5, "attn_heads": 4, "skip_ffn_layers": [], "top_k": None},
        "standard": {"ffn_ratio": 1.0, "attn_heads": 6, "skip_ffn_layers": [], "top_k": None},
        "heavy": {"ffn_ratio": 1.5, "attn_heads": 8, "skip_ffn_layers": [], "top_k": None},
    },
    "init": {"std": 0.02},            # normal(0, std); o/down projections scaled by 1/sqrt(2 L)
    "data": {
        "dir": "../shared/data",
        "cache": "runs/cache",
        "sources": ["cuad", "tongda", "laws", "zh_med_queries", "medquad"],
        "mix": {"legal-en": 0.25, "legal-zh": 0.15, "law-zh": 0.2, "medical-en": 0.2, "medical-zh": 0.2},
        "limit_per_source": None,     # take only the first N documents of each source (smoke runs)
    },
    "mlm": {"mask_rate": 0.15, "mask_token": 0.8, "random_token": 0.1},
    "batch": {"seq_len": 256, "micro_batch": 8, "accum": 2},
    "long": {                         # every `every`-th step is a long step (0: never)
        "every": 10, "seq_len": 1024, "micro_batch": 2, "accum": 1,
        "mix": {"legal-en": 0.4, "legal-zh": 0.2, "law-zh": 0.4},
    },
    "sandwich": {
        "paths": ["heavy", "standard", "light"],   # the first is the teacher
        "temperature": 2.0,           # distillation temperature (KL scaled by T^2)
        "distill_weight": 1.0,        # student loss = MLM + distill_weight * KD
        "importance_weight": 0.1,     # teacher's dense passes: KL(attention mass received || softmax(s))
        "consistency_weight": 1.0,    # long steps: KL(teacher dense || teacher sparse) on masked tokens
    },
    "optim": {
        "lr": 1.0e-3, "min_lr_ratio": 0.1, "warmup_steps": 100, "weight_decay": 0.01,
        "betas": [0.9, 0.98], "eps": 1.0e-8, "grad_clip": 1.0,
    },
    "steps": 1000,
    "checkpoint": {"every": 100, "keep": 3},
    "eval": {"every": 250, "sequences_per_group": 16, "micro_batch": 8, "long_sequences": 4,
             "long_seq_len": 2048, "long_mix": ["legal-en", "legal-zh", "law-zh"]},
    "log_every": 10,
    "export": {"dtype": "fp32", "fp16_embed": False},
}

# Keys whose value is a free mapping (no fixed key set below them).
FREE_MAPS = {("paths",), ("data", "mix"), ("long", "mix"), ("model", "top_k")}


class RecipeError(ValueError):
    pass


def merge(base, override, free_maps=FREE_MAPS, where=()):
    """`override` merged over `base`; every key of `override` must exist in `base` (free maps excepted)."""
    if not isinstance(override, dict):
        raise RecipeError(f"[recipe.{'.'.join(where)}] must be a mapping, got {override!r}")
    out = copy.deepcopy(base)
    for key, value in override.items():
        path = where + (key,)
        if key not in base:
            raise RecipeError(f"[recipe.{'.'.join(path)}] unknown key (known: {sorted(base)})")
        if isinstance(base[key], dict) and path not in free_maps:
            out[key] = merge(base[key], value, free_maps, path)
        else:
            out[key] = copy.deepcopy(value)
    return out


def resolve_path(path):
    return path if os.path.isabs(path) else os.path.join(REPO_ROOT, path)


def load_recipe(path=None, text=None, overrides=None, defaults=None, validator=None, free_maps=FREE_MAPS):
    """Reads a recipe file (or YAML text), merges it over `defaults` (the pretraining DEFAULTS), applies
    `overrides` (a nested dict, for tests), validates it and returns it. `recipe["_text"]` keeps the
    source for checkpoints and export (overrides are appended to it as a comment).
    """
    if text is None:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    raw = yaml.safe_load(text) or {}
    recipe = merge(DEFAULTS if defaults is None else defaults, raw, free_maps)
    if overrides:
        recipe = merge(recipe, overrides, free_maps)
        text = text + "\n# overrides: " + json.dumps(overrides, sort_keys=True) + "\n"
    (validator or validate)(recipe)
    recipe["_text"] = text
    recipe["_file"] = os.path.abspath(path) if path else None
    return recipe


def _need(cond, where, message):
    if not cond:
        raise RecipeError(f"[recipe.{where}] {message}")


def _pos_int(recipe, *keys, allow_zero=False):
    value = recipe
    for k in keys:
        value = value[k]
    ok = isinstance(value, int) and not isinstance(value, bool) and (value >= 0 if allow_zero else value >= 1)
    _need(ok, ".".join(keys), f"must be an integer {'>= 0' if allow_zero else '>= 1'}, got {value!r}")


def validate(recipe):
    _need(isinstance(recipe["name"], str) and recipe["name"], "name", "is required")
    for keys in (("batch", "seq_len"), ("batch", "micro_batch"), ("batch", "accum"), ("steps",),
                 ("checkpoint", "every"), ("checkpoint", "keep"), ("log_every",), ("eval", "sequences_per_group"),
                 ("eval", "micro_batch"), ("long", "seq_len"), ("long", "micro_batch"), ("long", "accum"),
                 ("eval", "long_seq_len")):
        _pos_int(recipe, *keys)
    for keys in (("long", "every"), ("eval", "every"), ("eval", "long_sequences"), ("optim", "warmup_steps"),
                 ("seed",)):
        _pos_int(recipe, *keys, allow_zero=True)
    m = recipe["mlm"]
    _need(0 < m["mask_rate"] < 1, "mlm.mask_rate", "must be in (0, 1)")
    _need(m["mask_token"] >= 0 and m["random_token"] >= 0 and m["mask_token"] + m["random_token"] <= 1,
          "mlm", "mask_token + random_token must be <= 1")
    sw = recipe["sandwich"]
    _need(isinstance(sw["paths"], list) and sw["paths"] and all(p in recipe["paths"] for p in sw["paths"]),
          "sandwich.paths", f"must list path names of `paths` ({sorted(recipe['paths'])})")
    _need(sw["temperature"] > 0, "sandwich.temperature", "must be > 0")
    for key in ("distill_weight", "importance_weight", "consistency_weight"):
        _need(sw[key] >= 0, f"sandwich.{key}", "must be >= 0")
    o = recipe["optim"]
    _need(o["lr"] > 0 and 0 <= o["min_lr_ratio"] <= 1, "optim", "lr > 0 and 0 <= min_lr_ratio <= 1")
    _need(o["grad_clip"] >= 0, "optim.grad_clip", "must be >= 0 (0: no clipping)")
    for key in ("mix",):
        mix = recipe["data"][key]
        _need(isinstance(mix, dict) and mix and all(v >= 0 for v in mix.values()) and sum(mix.values()) > 0,
              f"data.{key}", "must map groups to weights >= 0, not all zero")
    if recipe["long"]["every"]:
        mix = recipe["long"]["mix"]
        _need(isinstance(mix, dict) and mix and sum(mix.values()) > 0, "long.mix", "must map groups to weights")
    _need(recipe["export"]["dtype"] in ("fp32", "fp16"), "export.dtype", "must be fp32 or fp16")
    _need(recipe["batch"]["seq_len"] <= recipe["model"]["max_len"], "batch.seq_len", "must be <= model.max_len")
    _need(recipe["long"]["seq_len"] <= recipe["model"]["max_len"], "long.seq_len", "must be <= model.max_len")


def model_config(recipe, tokenizer):
    """The full SPEC section 1 config of the recipe's model."""
    config = dict(recipe["model"])
    config["vocab_size"] = tokenizer.vocab_size
    config["pad_id"] = tokenizer.pad
    config["n_local_heads"] = max(1, config["n_heads"] // 2)
    config["ffn_max_dim"] = math.floor(1.5 * config["ffn_dim"])
    return config


def model_paths(recipe):
    return {name: {"ffn_ratio": p["ffn_ratio"], "attn_heads": p["attn_heads"],
                   "skip_ffn_layers": list(p.get("skip_ffn_layers", [])), "top_k": p.get("top_k")}
            for name, p in recipe["paths"].items()}
