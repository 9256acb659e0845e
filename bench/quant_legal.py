#!/usr/bin/env python3
"""The legal model at several precisions, side by side: size, latency, throughput, CUAD dev quality.

For each model file (LABEL=FILE): the file size; ds_encoder_bench --model FILE on one path (median
ms at batch 1 for T = 128 and 512, tokens/s at batch 8; --rounds rounds with the models
interleaved, the median of the per-round medians; bench/quant_medical.py's run_bench); and
`legal-extract --min-confidence 0.01 --path P` over the CUAD dev contracts with DS_LEGAL_MODEL=FILE
(the shipped calibration), scored by `deepseek eval legal`: macro AUPR, F1 at 0.5 and P@80R.

  /usr/bin/python3 bench/quant_legal.py fp16=data/models/legal-small.safetensors dmpq=FILE ...
      [--path standard] [--rounds 3] [--threads 2] [--cuad-dev runs/legal-eval/cuad-dev] [--quality A,B]
      [--json-out FILE]

--cuad-dev is the folder of decompressed dev contracts that bench/legal_eval.sh writes.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from quant_medical import comparison_arguments, run_bench  # noqa: E402

GOLD = os.path.normpath(os.path.join(ROOT, "..", "shared", "data", "legal", "cuad", "labels.jsonl.gz"))


def quality(model, path, cuad_dev, threads):
    with tempfile.TemporaryDirectory() as tmp:
        pred = os.path.join(tmp, "pred.jsonl")
        env = dict(os.environ, DS_LEGAL_MODEL=os.path.abspath(model))
        subprocess.run([os.path.join(ROOT, "build/release/bin/legal-extract"), "--db", os.path.join(tmp, "r.db"),
                        "--path", path, "--min-confidence", "0.01", "--threads", str(threads), "--progress", "none",
                        "--jsonl", pred, cuad_dev], env=env, cwd=ROOT, capture_output=True, check=True)
        out = subprocess.run([os.path.join(ROOT, "build/release/bin/deepseek"), "eval", "legal", "--gold", GOLD,
                              "--split", "dev", "--pred", pred, "--json"], capture_output=True, check=True)
    return json.loads(out.stdout)["macro"]


def main():
    ap = comparison_arguments(__doc__)
    ap.add_argument("--cuad-dev", default=os.path.join(ROOT, "runs/legal-eval/cuad-dev"))
    ap.add_argument("--quality", default="", help="LABEL,...: score only these on CUAD dev (default: all; "
                                                   "each takes a legal-extract run of minutes)")
    ap.add_argument("--json-out", default="")
    args = ap.parse_args()
    models = [m.split("=", 1) for m in args.models]
    res = {label: {"file": f, "bytes": os.path.getsize(f)} for label, f in models}
    scored = set(args.quality.split(",")) if args.quality else {label for label, _ in models}
    for label, f in models:
        if label not in scored:
            continue
        res[label]["cuad_dev"] = quality(f, args.path, args.cuad_dev, args.threads)
        print(f"{label}: CUAD dev macro AUPR {res[label]['cuad_dev']['aupr']:.3f}", file=sys.stderr)
    samples = {label: [] for label, _ in models}
    for _ in range(args.rounds):
        for label, f in models:
            samples[label].append(run_bench(f, args.path, args.threads))
    for label, _ in models:
        r = res[label]
        r["ms_b1_T128"] = statistics.median(s[(128, 1)]["median_ms"] for s in samples[label])
        r["ms_b1_T512"] = statistics.median(s[(512, 1)]["median_ms"] for s in samples[label])
        r["tok_s_b8_T128"] = statistics.median(s[(128, 8)]["tokens_per_s"] for s in samples[label])
    ref = res[models[0][0]]
    print(f"| model | bytes | size vs {models[0][0]} | ms b=1 T=128 | ms b=1 T=512 | tokens/s b=8 T=128 | "
          f"latency vs {models[0][0]} (T=128) | macro AUPR | F1@0.5 | P@80R |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for label, _ in models:
        r = res[label]
        q = r.get("cuad_dev")
        quality_cells = f"{q['aupr']:.3f} | {q['f1']:.3f} | {q['p_at_80r']:.3f}" if q else "– | – | –"
        print(f"| {label} | {r['bytes']:,} | 1/{ref['bytes'] / r['bytes']:.2f} | {r['ms_b1_T128']:.1f} | "
              f"{r['ms_b1_T512']:.1f} | {r['tok_s_b8_T128']:,.0f} | {ref['ms_b1_T128'] / r['ms_b1_T128']:.2f}x | "
              f"{quality_cells} |")
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
