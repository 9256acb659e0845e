#!/usr/bin/env python3
"""Ours against ONNX Runtime and PyTorch at the same shapes, from the JSON files that
bench/run_encoder_bench.sh collects in DIR/cmp (several rounds, each engine once per round):

  ours_<r>.json            ds_encoder_bench --json (forward rows)
  ort_<r>.json             bench/ort_bench.js
  torch_<blas>_<r>.json    bench/encoder_reference.py time (blas: the libblas.so.3 variant in use)

Per engine and configuration the figure is the median over rounds of each round's median latency;
for ORT and PyTorch the best graph variant (and BLAS variant) counts, so the ratios are against the
strongest reference measured. Prints a markdown table; --json writes the numbers too.

  compare_encoder_bench.py DIR [--json FILE]
"""
import argparse
import glob
import json
import os
import re
import statistics


def load_rounds(pattern):
    out = []
    for path in sorted(glob.glob(pattern)):
        with open(path) as f:
            out.append((path, json.load(f)))
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dir")
    parser.add_argument("--json")
    args = parser.parse_args()
    cmp_dir = os.path.join(args.dir, "cmp")

    ours = {}   # (path, batch, T) -> [ms per round]
    for _, doc in load_rounds(os.path.join(cmp_dir, "ours_*.json")):
        for r in doc["forward"]:
            ours.setdefault((r["path"], r["batch"], r["T"]), []).append(r["median_ms"])
    refs = {}   # (engine, variant, path, batch, T) -> [ms per round]
    for _, doc in load_rounds(os.path.join(cmp_dir, "ort_*.json")):
        for r in doc["results"]:
            refs.setdefault(("ort", r["variant"], r["path"], r["batch"], r["T"]), []).append(r["median_ms"])
    for name, doc in load_rounds(os.path.join(cmp_dir, "torch_*.json")):
        blas = re.match(r"torch_(.+)_\d+\.json", os.path.basename(name)).group(1)
        for r in doc["results"]:
            refs.setdefault(("torch", f"{r['variant']}/{blas}", r["path"], r["batch"], r["T"]), []).append(
                r["median_ms"])

    rows = []
    for (path, batch, T), ms in sorted(ours.items(), key=lambda kv: (["light", "standard", "heavy"].index(kv[0][0])
                                                                      if kv[0][0] in ("light", "standard", "heavy")
                                                                      else 9, kv[0][1], kv[0][2])):
        row = {"path": path, "batch": batch, "T": T, "ours_ms": statistics.median(ms), "ours_rounds": ms}
        for engine in ("ort", "torch"):
            cands = {v: statistics.median(t) for (e, v, p, b, tt), t in refs.items()
                     if e == engine and p == path and b == batch and tt == T}
            if not cands:
                continue
            best = min(cands, key=cands.get)
            row[engine] = {"best_variant": best, "ms": cands[best], "all": cands}
            # Per-round ratios against the same round of the best variant: the spread shows the noise.
            per_round = [rows_ms for rows_ms in refs[(engine, best, path, batch, T)]]
            row[engine]["ratio"] = cands[best] / row["ours_ms"]
            row[engine]["ratio_rounds"] = [r / o for r, o in zip(per_round, ms)]
        rows.append(row)

    tok = lambda r, ms: r["batch"] * r["T"] / ms * 1e3  # noqa: E731
    print("| path | batch | T | ours ms | ours tokens/s | ORT best (variant) ms | tokens/s | ours / ORT (per round) "
          "| PyTorch best (variant/BLAS) ms | tokens/s | ours / PyTorch (per round) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        cells = [r["path"], str(r["batch"]), str(r["T"]), f"{r['ours_ms']:.1f}", f"{tok(r, r['ours_ms']):.0f}"]
        for engine in ("ort", "torch"):
            e = r.get(engine)
            if not e:
                cells += ["-", "-", "-"]
                continue
            spread = ", ".join(f"{x:.2f}" for x in e["ratio_rounds"])
            cells += [f"{e['ms']:.1f} ({e['best_variant']})", f"{tok(r, e['ms']):.0f}",
                      f"**{e['ratio']:.2f}x** ({spread})"]
        print("| " + " | ".join(cells) + " |")
    print()
    print("All reference variants (median ms over rounds):")
    print()
    print("| path | batch | T | engine | variant | ms | tokens/s |")
    print("|---|---:|---:|---|---|---:|---:|")
    for r in rows:
        for engine in ("ort", "torch"):
            for v, ms in sorted(r.get(engine, {}).get("all", {}).items()):
                print(f"| {r['path']} | {r['batch']} | {r['T']} | {engine} | {v} | {ms:.1f} | {tok(r, ms):.0f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
