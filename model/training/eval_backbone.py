#!/usr/bin/env python3
"""Evaluates a pretrained backbone model file on held-out text: the numbers of its model card.

usage: eval_backbone.py --model FILE --recipe RECIPE [--sequences N] [--long-sequences N]
                        [--long-len T] [--threads N] [--json OUT]

Loads the exported file (so FP16-stored weights are measured as shipped, widened to F32), rebuilds
the recipe's held-out streams (every 20th document of each source, never trained on) and runs the
trainer's own evaluation with larger counts:
  * masked-token loss and accuracy per data group (legal-en, legal-zh, law-zh, medical-en, medical-zh),
    per language (en, zh) and overall, for every path;
  * on long held-out sequences, per path: the path's top-k pass against the dense pass (k = T):
    hidden-state cosine, top-1 agreement and KL of the MLM predictions, and both accuracies.
Masks and sequences are fixed by the recipe's seed, so reruns give identical numbers.
"""
import argparse
import json
import os
import sys
import tempfile
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export import load_model  # noqa: E402
from recipes import RecipeError, load_recipe  # noqa: E402
from train import Pretrainer  # noqa: E402

LANGUAGE_OF_GROUP = {"legal-en": "en", "medical-en": "en", "legal-zh": "zh", "law-zh": "zh", "medical-zh": "zh"}


def by_language(report):
    """Masked-count-weighted loss/accuracy per language from the per-group numbers."""
    out = {}
    for group, per_path in report["mlm"].items():
        lang = LANGUAGE_OF_GROUP.get(group, "other")
        for path, m in per_path.items():
            s = out.setdefault(lang, {}).setdefault(path, {"loss": 0.0, "correct": 0.0, "masked": 0})
            s["loss"] += m["loss"] * m["masked"]
            s["correct"] += m["accuracy"] * m["masked"]
            s["masked"] += m["masked"]
    return {lang: {p: {"loss": s["loss"] / max(1, s["masked"]), "accuracy": s["correct"] / max(1, s["masked"]),
                       "masked": s["masked"]} for p, s in paths.items()} for lang, paths in out.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="exported model file (.safetensors)")
    parser.add_argument("--recipe", required=True, help="the recipe it was trained with (data, paths, seed)")
    parser.add_argument("--sequences", type=int, default=64, help="held-out sequences per group (default 64)")
    parser.add_argument("--long-sequences", type=int, default=4, help="long sequences per long group (default 4)")
    parser.add_argument("--long-len", type=int, default=2048, help="tokens per long sequence (default 2048)")
    parser.add_argument("--threads", type=int, help="torch CPU threads")
    parser.add_argument("--json", help="write the report here as JSON")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        recipe = load_recipe(args.recipe)
    except (RecipeError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    recipe["eval"].update({"sequences_per_group": args.sequences, "long_sequences": args.long_sequences,
                           "long_seq_len": args.long_len})
    started = time.time()
    with tempfile.TemporaryDirectory() as scratch:
        trainer = Pretrainer(recipe, scratch)
        shipped = load_model(args.model, dtype=torch.float32)
        missing, unexpected = trainer.model.load_state_dict(shipped.state_dict(), strict=False)
        if missing or unexpected:
            print(f"error: {args.model} does not fit recipe {args.recipe}: missing {missing}, unexpected {unexpected}",
                  file=sys.stderr)
            return 2
        if shipped.metadata.get("tokenizer") and trainer.tok.sha256 not in json.dumps(shipped.metadata["tokenizer"]):
            print(f"error: {args.model} was trained with another tokenizer than the recipe's", file=sys.stderr)
            return 2
        report = trainer.evaluate()
    report.pop("step", None)
    report["mlm_language"] = by_language(report)
    report["model"] = os.path.basename(args.model)
    report["settings"] = {"sequences_per_group": args.sequences, "seq_len": recipe["batch"]["seq_len"],
                          "long_sequences_per_group": args.long_sequences, "long_seq_len": args.long_len,
                          "long_groups": recipe["eval"]["long_mix"], "seconds": round(time.time() - started, 1)}
    print(trainer.eval_summary({**report, "step": "final"}))
    for lang, paths in sorted(report["mlm_language"].items()):
        print(f"  {lang}: " + ", ".join(f"{p} {m['loss']:.3f} / {m['accuracy']:.3f}" for p, m in paths.items()))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=1)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
