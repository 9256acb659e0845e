#!/usr/bin/env python3
"""Markdown tables from `deepseek eval legal --json` reports, side by side (model paths, baseline).

usage: legal_tables.py NAME=REPORT.json [NAME=REPORT.json ...]

Prints the macro and micro summary (P, R, F1 at the report's threshold, AUPR, P@80R) per report,
then one per-category table: gold spans, then F1 / AUPR / P@80R of every report. Categories outside
the macro average (fewer gold spans than --min-gold) are marked with *.
"""
import json
import sys


def main(argv):
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    reports = []
    for arg in argv:
        name, _, path = arg.partition("=")
        with open(path, encoding="utf-8") as f:
            reports.append((name, json.load(f)))
    print("| | categories | P | R | F1 | AUPR | P@80R |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, r in reports:
        for avg in ("macro", "micro"):
            m = r[avg]
            n = m.get("categories", "")
            print(f"| {name} {avg} | {n} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | "
                  f"{m['aupr']:.3f} | {m['p_at_80r']:.3f} |")
    print()
    header = " | ".join(f"{name} F1 / AUPR / P@80R" for name, _ in reports)
    print(f"| category | gold | {header} |")
    print("| --- | ---: |" + " ---: |" * len(reports))
    keys = [c["key"] for c in reports[0][1]["categories"]]
    for key in keys:
        cells, gold, averaged = [], 0, True
        for _, r in reports:
            c = next((c for c in r["categories"] if c["key"] == key), None)
            if c is None:
                cells.append("—")
                continue
            gold, averaged = c["gold"], c["averaged"]
            cells.append(f"{c['f1']:.2f} / {c['aupr']:.2f} / {c['p_at_80r']:.2f}")
        print(f"| {key}{'' if averaged else ' *'} | {gold} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
