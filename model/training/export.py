#!/usr/bin/env python3
"""Writes a DeepseekEncoder as the model file of model/SPEC.md section 6, and rebuilds one from it.

usage:
  export.py random --config RECIPE.json --out model.safetensors [--dtype fp32|fp16] [--fp16-embed]
                   [--seed N] [--tokenizer SPM_MODEL | --tokenizer-sha256 HEX] [--name NAME]
  export.py info MODEL.safetensors          # prints metadata and the tensor table

Recipe (the --config JSON of `random`): everything a random model needs, in one object:

  {
    "config": { every SPEC section 1 key; "n_local_heads" and "ffn_max_dim" may be left out
                and are then derived: max(1, n_heads / 2) and floor(1.5 * ffn_dim) },
    "paths":  { "light": {"ffn_ratio": 0.5, "attn_heads": 2, "skip_ffn_layers": [1],
                          "top_k": {"fixed": 8}}, ...  (top_k may be null or left out) },
    "heads":  [ {"name": "tags", "type": "token_tags", "labels": ["O", "B-AMT", ...]},
                {"name": "triage", "type": "sequence_classes", "num_labels": 4},
                {"name": "embed", "type": "embedding", "dim": 16},
                {"name": "lm", "type": "mlm"} ],
    "init":   { optional overrides of deepseek_model.DEFAULT_INIT scales },
    "name": "optional model name", "description": "optional text"
  }

`num_labels: C` is shorthand for labels "L0".."L{C-1}". A random model has no tokenizer: unless one is
given, the metadata says `sha256:` + 64 zeros (NO_TOKENIZER), which no real tokenizer matches.
"""
import argparse
import hashlib
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from deepseek_model import CONFIG_KEYS, SPEC_REVISION, DeepseekEncoder, init_weights  # noqa: E402
from safetensors_io import SafetensorsError, load_file, parse_header, save_file  # noqa: E402

FORMAT = "deepseek-encoder"
SUPPORTED_REVISIONS = ("1",)
NO_TOKENIZER = "0" * 64


def quantizable_matrices(config):
    """Matrices whose storage precision may vary (SPEC section 4 of MODEL.md, section 6 of SPEC.md)."""
    names = ["embed"]
    for l in range(config["n_layers"]):
        for channel in ("global", "local"):
            names += [f"layers.{l}.{channel}.{p}" for p in ("q", "k", "v", "o")]
        names += [f"layers.{l}.ffn.up", f"layers.{l}.ffn.down"]
    return names


def fixed_fp32_matrices(config, heads):
    """Weight matrices that SPEC keeps F32 whatever the precision: the gate and the head matrices."""
    names = [f"layers.{l}.gate" for l in range(config["n_layers"])]
    names += [f"heads.{h['name']}" for h in heads if h["type"] != "mlm"]
    names += [f"heads.{h['name']}.lexical.proj" for h in heads if "lexical" in h]
    return names


def lexical_tables(heads):
    """The lexical-bag tables (SPEC section 3): weight matrices stored like `embed` (F32 or F16)."""
    return [f"heads.{h['name']}.lexical.embed" for h in heads if "lexical" in h]


def precision_map(config, heads, dtype, fp16_embed):
    """SPEC `precision`: every weight matrix name (without `.weight`) -> fp32 / fp16."""
    result = {}
    for name in quantizable_matrices(config):
        result[name] = "fp16" if dtype == "fp16" and (name != "embed" or fp16_embed) else "fp32"
    for name in lexical_tables(heads):
        result[name] = "fp16" if dtype == "fp16" else "fp32"
    for name in fixed_fp32_matrices(config, heads):
        result[name] = "fp32"
    return result


def _tokenizer_field(tokenizer_sha256):
    value = tokenizer_sha256[len("sha256:"):] if tokenizer_sha256.startswith("sha256:") else tokenizer_sha256
    if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise ValueError(f"[export] tokenizer_sha256 must be 64 lowercase hex digits, got {tokenizer_sha256!r}")
    return "sha256:" + value


def export_model(model, path, dtype="fp32", heads=None, paths=None, tokenizer_sha256=None, name=None,
                 description=None, training=None, fp16_embed=False, fp32_matrices=()):
    """Writes `model` to `path`.

    dtype "fp16" stores the q/k/v/o/up/down matrices (and embed if fp16_embed) as F16; norms, biases,
    the importance scorer, the gate and the heads stay F32. heads/paths default to the model's own.
    tokenizer_sha256: hex digest (or "sha256:<hex>") of the SentencePiece model; required (random
    models pass NO_TOKENIZER). training: optional JSON-serializable object for the `training` key.
    fp32_matrices: matrix names kept F32 whatever dtype says (qat.py: INT4 reconstructions that must
    reach `deepseek quantize` exactly).
    """
    if dtype not in ("fp32", "fp16"):
        raise ValueError(f"[export] dtype must be fp32 or fp16, got {dtype!r}")
    if tokenizer_sha256 is None:
        raise ValueError("[export] tokenizer_sha256 is required (NO_TOKENIZER for a random model)")
    heads = model.head_defs if heads is None else heads
    paths = model.paths if paths is None else paths
    config = model.config
    precision = precision_map(config, heads, dtype, fp16_embed)
    for matrix in fp32_matrices:
        if matrix not in precision:
            raise ValueError(f"[export] fp32_matrices names unknown matrix '{matrix}'")
        precision[matrix] = "fp32"
    tensors = {}
    for key, value in model.state_dict().items():
        value = value.detach().to("cpu", torch.float32)
        if key.endswith(".weight") and precision.get(key[:-len(".weight")]) == "fp16":
            value = value.to(torch.float16)
        tensors[key] = value
    metadata = {
        "format": FORMAT,
        "spec_revision": SPEC_REVISION,
        "config": json.dumps({k: config[k] for k in CONFIG_KEYS}),
        "paths": json.dumps(paths),
        "heads": json.dumps(heads, ensure_ascii=False),
        "tokenizer": _tokenizer_field(tokenizer_sha256),
        "precision": json.dumps(precision),
    }
    if name is not None:
        metadata["name"] = name
    if description is not None:
        metadata["description"] = description
    if training is not None:
        metadata["training"] = json.dumps(training)
    save_file(tensors, path, metadata)


def export_like(model, path, source, step, record, fp32_matrices=()):
    """Writes `model` in FP16 as a derivative of the loaded model `source` (train_lexical*.py, qat.py):
    the source's tokenizer, name, description and embedding precision, and its `training` metadata
    with `record` added under `step` ("lexical", "qat")."""
    training = dict(source.metadata.get("training") or {})
    training[step] = record
    export_model(model, path, dtype="fp16", tokenizer_sha256=source.metadata["tokenizer"],
                 name=source.metadata.get("name"), description=source.metadata.get("description"),
                 training=training, fp16_embed=source.metadata["precision"].get("embed") == "fp16",
                 fp32_matrices=fp32_matrices)


def _json_key(metadata, key):
    if key not in metadata:
        raise SafetensorsError(f"[model] metadata key '{key}' is missing")
    try:
        return json.loads(metadata[key])
    except ValueError as e:
        raise SafetensorsError(f"[model] metadata '{key}' is not valid JSON: {e}") from None


def load_model(path, device="cpu", dtype=torch.float32):
    """Rebuilds the module from a model file (F16 tensors are widened). Validates the metadata, the
    tensor set (none missing, none unknown, exact shapes) and the precision map against the dtypes.
    The parsed metadata is attached as `model.metadata`. Returns the model in eval mode.
    """
    tensors, metadata = load_file(path)
    if metadata.get("format") != FORMAT:
        raise SafetensorsError(f"[model] metadata format must be '{FORMAT}', got {metadata.get('format')!r}")
    if metadata.get("spec_revision") not in SUPPORTED_REVISIONS:
        raise SafetensorsError(f"[model] spec_revision {metadata.get('spec_revision')!r} is not one of "
                               f"{SUPPORTED_REVISIONS}")
    config, paths, heads = _json_key(metadata, "config"), _json_key(metadata, "paths"), _json_key(metadata, "heads")
    precision = _json_key(metadata, "precision")
    if not metadata.get("tokenizer", "").startswith("sha256:"):
        raise SafetensorsError("[model] metadata 'tokenizer' must be 'sha256:<hex>'")
    model = DeepseekEncoder(config, paths, heads)
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    missing = sorted(set(expected) - set(tensors))
    unknown = sorted(set(tensors) - set(expected))
    if missing or unknown:
        raise SafetensorsError(f"[model] tensors missing: {missing}; unknown: {unknown}")
    for name, shape in expected.items():
        if tuple(tensors[name].shape) != shape:
            raise SafetensorsError(f"[model] tensor '{name}' has shape {list(tensors[name].shape)}, "
                                   f"expected {list(shape)}")
    quantizable = set(quantizable_matrices(config)) | set(lexical_tables(heads))
    # Readers may also see the importance scorer listed (as fp32), as the C++ loader allows.
    fixed = set(fixed_fp32_matrices(config, heads)) | {f"layers.{l}.importance" for l in range(config["n_layers"])}
    no_entry = sorted(quantizable - set(precision))
    if no_entry:
        raise SafetensorsError(f"[model] precision map has no entry for {no_entry}")
    for name, prec in precision.items():
        if name not in quantizable and name not in fixed:
            raise SafetensorsError(f"[model] precision map names unknown matrix '{name}'")
        if name in fixed and prec != "fp32":
            raise SafetensorsError(f"[model] '{name}' must be fp32, precision map says {prec!r}")
        if prec in ("int8", "int4"):
            raise SafetensorsError(f"[model] '{name}' is {prec}: the reference loader reads fp32/fp16 only")
        want = {"fp32": torch.float32, "fp16": torch.float16}.get(prec)
        if want is None:
            raise SafetensorsError(f"[model] '{name}': unknown precision {prec!r}")
        if tensors[name + ".weight"].dtype != want:
            raise SafetensorsError(f"[model] '{name}.weight' is {tensors[name + '.weight'].dtype}, "
                                   f"precision map says {prec}")
    for name, tensor in tensors.items():
        matrix = name[:-len(".weight")] if name.endswith(".weight") else None
        if matrix not in precision and tensor.dtype != torch.float32:
            raise SafetensorsError(f"[model] tensor '{name}' must be F32, got {tensor.dtype}")
    model.load_state_dict({k: v.to(torch.float32) for k, v in tensors.items()})
    model.metadata = {"precision": precision, "tokenizer": metadata["tokenizer"], "name": metadata.get("name"),
                      "description": metadata.get("description"),
                      "training": json.loads(metadata["training"]) if "training" in metadata else None}
    return model.to(device=device, dtype=dtype).eval()


def build_from_recipe(recipe, seed):
    """A random model from the recipe format of this module's docstring."""
    config = dict(recipe["config"])
    config.setdefault("n_local_heads", max(1, config["n_heads"] // 2))
    config.setdefault("ffn_max_dim", math.floor(1.5 * config["ffn_dim"]))
    paths = {}
    for name, path in recipe["paths"].items():
        paths[name] = dict(path)
        paths[name].setdefault("top_k", None)
    heads = []
    for head in recipe["heads"]:
        head = dict(head)
        if "num_labels" in head:
            head["labels"] = [f"L{i}" for i in range(head.pop("num_labels"))]
        heads.append(head)
    model = DeepseekEncoder(config, paths, heads)
    return init_weights(model, seed, recipe.get("init"))


def _sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rnd = sub.add_parser("random", help="write a randomly initialized model from a recipe")
    rnd.add_argument("--config", required=True, help="recipe JSON file (see the module docstring)")
    rnd.add_argument("--out", required=True)
    rnd.add_argument("--dtype", choices=("fp32", "fp16"), default="fp32")
    rnd.add_argument("--fp16-embed", action="store_true", help="with --dtype fp16, store embed.weight as F16 too")
    rnd.add_argument("--seed", type=int, default=0)
    tok = rnd.add_mutually_exclusive_group()
    tok.add_argument("--tokenizer", help="SentencePiece model file whose sha256 goes into the metadata")
    tok.add_argument("--tokenizer-sha256", help="hex digest of the tokenizer")
    rnd.add_argument("--name")
    info = sub.add_parser("info", help="print a model file's metadata and tensors")
    info.add_argument("file")
    args = parser.parse_args(argv)

    if args.command == "info":
        with open(args.file, "rb") as f:
            buf = f.read()
        entries, metadata, _ = parse_header(buf)
        for key, value in metadata.items():
            print(f"{key}: {value}")
        for name, (dtype, shape, begin, end) in entries.items():
            print(f"{name}\t{dtype}\t{shape}\t[{begin}, {end})")
        return 0

    with open(args.config, encoding="utf-8") as f:
        recipe = json.load(f)
    model = build_from_recipe(recipe, args.seed)
    digest = _sha256_file(args.tokenizer) if args.tokenizer else (args.tokenizer_sha256 or NO_TOKENIZER)
    export_model(model, args.out, dtype=args.dtype, tokenizer_sha256=digest, fp16_embed=args.fp16_embed,
                 name=args.name or recipe.get("name"), description=recipe.get("description"),
                 training={"recipe": "random", "seed": args.seed, "init": recipe.get("init", {})})
    print(f"wrote {args.out}: {sum(p.numel() for p in model.parameters())} parameters, {args.dtype}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
