"""TF-IDF + one-vs-rest logistic regression baseline for CUAD clause extraction.

Each contract is cut into candidate spans at four granularities (paragraphs, blocks, sentences,
numbered sub-clauses; see `candidates`), every candidate gets a TF-IDF vector of word unigrams and
bigrams plus a few layout features (position in the document, length, granularity), and one
L2-regularised logistic regression per CUAD category scores it. Training label: a candidate is
positive for a category when its Jaccard overlap with one of that category's gold spans is >= 0.5,
the rule the scorer uses, so a positive is exactly a candidate that would count as a hit.

The model is fitted on the train split (the regularisation strength and the overlap suppression are
chosen on an inner validation slice of train, by group) and predicts the dev split. Output: the
prediction JSONL of plugins/legal/EVAL.md, scored with

    build/release/bin/deepseek eval legal --gold ../shared/data/legal/cuad/labels.jsonl.gz \
        --pred OUT --split dev

The script also prints its own score (the same definitions, in Python) as a cross-check.
Needs numpy and torch only (no scikit-learn): /usr/bin/python3 on Debian.

    /usr/bin/python3 model/training/legal_baseline_tfidf.py --out /tmp/cuad-dev-pred.jsonl
"""

import argparse
import bisect
import collections
import csv
import gzip
import hashlib
import json
import math
import os
import re
import sys
import time

import numpy as np
import torch

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_DATA = os.path.normpath(os.path.join(REPO_ROOT, "..", "shared", "data", "legal", "cuad"))
CUAD_MAP = os.path.join(REPO_ROOT, "plugins", "legal", "cuad_map.tsv")

MAX_CANDIDATE_CHARS = 4000  # 99% of gold spans are under 2,000 code points
MODES = ("para", "block", "sent", "fine")

# --------------------------------------------------------------------------------------------
# Candidate spans


_PARA_BREAK = re.compile(r"\n[ \t]*\n\s*")
_BLOCK_BREAK = re.compile(r" {3,}|\t{2,}|\n")
_SENT_END = re.compile(r"(?<=[.?!])[\"\u201d')]?\s+(?=[\"\u201c(]?[A-Z0-9])")
_NUMBERED_START = re.compile(
    r"\s+(?=(?:\((?:[a-z]{1,2}|[ivx]{1,5}|\d{1,2})\)|\d{1,2}(?:\.\d{1,2}){0,3}\.?|[A-Z]\."
    r"|ARTICLE|Article|Section|SECTION)\s+[A-Z(\"])")
_LAST_WORD = re.compile(r"(\S+)[.?!][\"\u201d')]?$")
_ABBREVIATIONS = set("inc ltd co corp no nos sec secs art u.s e.g i.e etc mr mrs ms dr st jr sr vs v "
                     "l.l.c l.p n.a s.a b.v p.o para fig".split())


def _pieces(text, start, end, pattern):
    out, s = [], start
    for m in pattern.finditer(text, start, end):
        if m.start() > s:
            out.append((s, m.start()))
        s = m.end()
    if s < end:
        out.append((s, end))
    return out


def _trim(text, spans):
    out = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e - s >= 2:
            out.append((s, e))
    return out


def _sentences(text, start, end):
    out, cur = [], start
    for m in _SENT_END.finditer(text, start, end):
        w = _LAST_WORD.search(text, cur, m.start())
        if w:
            word = w.group(1).lower().strip("(\"'")
            if word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()):
                continue
        out.append((cur, m.start()))
        cur = m.end()
    out.append((cur, end))
    return out


def candidates(text):
    """Candidate spans of a text: {(start, end): set of granularities}, code-point offsets.

    para: split on blank lines; block: paragraphs split further on line breaks and runs of 3+
    spaces (CUAD's text often lays out headings and list items that way); sent: blocks split at
    sentence ends (. ? ! then an upper-case letter, digit, quote or parenthesis; not after common
    abbreviations or single letters); fine: sentences split before numbered-clause starts ((a),
    (iv), 2.1, Section, ARTICLE). Spans are trimmed of white space; spans over
    MAX_CANDIDATE_CHARS are dropped.
    """
    out = collections.defaultdict(set)
    paras = _trim(text, _pieces(text, 0, len(text), _PARA_BREAK))
    blocks = [b for s, e in paras for b in _trim(text, _pieces(text, s, e, _BLOCK_BREAK))]
    sents = [x for s, e in blocks for x in _trim(text, _sentences(text, s, e))]
    fine = [x for s, e in sents for x in _trim(text, _pieces(text, s, e, _NUMBERED_START))]
    for mode, spans in zip(MODES, (paras, blocks, sents, fine)):
        for sp in spans:
            if sp[1] - sp[0] <= MAX_CANDIDATE_CHARS:
                out[sp].add(mode)
    return dict(sorted(out.items()))


def jaccard(a, b):
    inter = max(0, min(a[1], b[1]) - max(a[0], b[0]))
    union = (a[1] - a[0]) + (b[1] - b[0]) - inter
    return inter / union if union > 0 else 0.0


# --------------------------------------------------------------------------------------------
# Data


def read_index(data):
    with open(os.path.join(data, "index.tsv"), encoding="utf-8") as f:
        return {row["id"]: row for row in csv.DictReader(f, delimiter="\t")}


def read_gold(data):
    """id -> {category: [(start, end), ...]} (missing clauses skipped, duplicates kept once)."""
    gold = {}
    with gzip.open(os.path.join(data, "labels.jsonl.gz"), "rt", encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            gold[d["id"]] = {k: sorted({(c["start"], c["end"]) for c in v["clauses"] if c["start"] >= 0})
                             for k, v in d["labels"].items()}
    return gold


def read_text(data, doc_id):
    path = os.path.join(data, "contracts", doc_id + ".txt.gz")
    with open(path, "rb") as f:
        raw = f.read()
    return path, hashlib.sha256(raw).hexdigest(), gzip.decompress(raw).decode("utf-8")


def category_ids(categories):
    """CUAD name -> unified taxonomy id (plugins/legal/cuad_map.tsv when present, else lower_snake)."""
    table = {}
    if os.path.exists(CUAD_MAP):
        with open(CUAD_MAP, encoding="utf-8") as f:
            for row in csv.DictReader(f, delimiter="\t"):
                table[row["cuad"]] = row["id"]
    return {c: table.get(c) or re.sub(r"[^a-z0-9]+", "_", c.lower()).strip("_") for c in categories}


# --------------------------------------------------------------------------------------------
# Features

_TOKEN = re.compile(r"[A-Za-z]+|[0-9]+")
N_POS, N_LEN = 10, 13
N_EXTRA = N_POS + N_LEN + len(MODES)


class Featurizer:
    """Word unigrams and bigrams (lower-cased; a digit run becomes '#<its length>'), sublinear TF,
    smoothed IDF over the training candidates, rows L2-normalised; then one-hot layout features."""

    def __init__(self):
        self.ids = {}
        self.df = []

    def _id(self, key):
        i = self.ids.get(key)
        if i is None:
            i = self.ids[key] = len(self.ids)
            self.df.append(0)
        return i

    def document(self, text, spans, count_df):
        """Per-candidate (raw feature ids, counts) for the spans of one document."""
        toks, starts, ends = [], [], []
        for m in _TOKEN.finditer(text):
            w = m.group(0)
            toks.append("#%d" % len(w) if w[0].isdigit() else w.lower())
            starts.append(m.start())
            ends.append(m.end())
        uni = np.array([self._id(t) for t in toks], dtype=np.int64)
        bi = np.array([self._id(toks[k] + " " + toks[k + 1]) for k in range(len(toks) - 1)], dtype=np.int64)
        rows = []
        for s, e in spans:
            i0 = bisect.bisect_left(starts, s)
            i1 = bisect.bisect_right(ends, e)
            ids, counts = np.unique(np.concatenate([uni[i0:i1], bi[i0:max(i0, i1 - 1)]]), return_counts=True)
            rows.append((ids, counts))
        if count_df:
            df = np.zeros(len(self.ids), dtype=np.int64)
            for ids, _ in rows:
                df[ids] += 1
            for i in np.nonzero(df)[0]:
                self.df[i] += int(df[i])
        return rows

    def freeze(self, n_train, min_df):
        df = np.array(self.df + [0] * (len(self.ids) - len(self.df)), dtype=np.float64)
        keep = df >= min_df
        self.column = np.full(len(df), -1, dtype=np.int64)
        self.column[keep] = np.arange(int(keep.sum()))
        self.idf = (np.log((1 + n_train) / (1 + df[keep])) + 1).astype(np.float32)
        self.n_text = int(keep.sum())
        self.n_features = self.n_text + N_EXTRA

    def matrix(self, rows, layouts):
        """CSR torch tensor for candidate rows; layouts: (relative position, length, modes)."""
        indptr, indices, values = [0], [], []
        for (ids, counts), (pos, length, modes) in zip(rows, layouts):
            cols = self.column[ids]
            ok = cols >= 0
            cols, tf = cols[ok], counts[ok].astype(np.float32)
            v = (1 + np.log(tf)) * self.idf[cols]
            norm = float(np.sqrt((v * v).sum()))
            if norm > 0:
                v /= norm
            extra = [self.n_text + min(N_POS - 1, int(pos * N_POS)),
                     self.n_text + N_POS + min(N_LEN - 1, int(math.log2(max(1, length))))]
            extra += [self.n_text + N_POS + N_LEN + k for k, m in enumerate(MODES) if m in modes]
            indices.append(cols)
            indices.append(np.array(extra, dtype=np.int64))
            values.append(v)
            values.append(np.ones(len(extra), dtype=np.float32))
            indptr.append(indptr[-1] + len(cols) + len(extra))
        return torch.sparse_csr_tensor(torch.tensor(indptr, dtype=torch.int64),
                                       torch.from_numpy(np.concatenate(indices)),
                                       torch.from_numpy(np.concatenate(values)),
                                       size=(len(rows), self.n_features))


# --------------------------------------------------------------------------------------------
# Model


def fit_logistic(x, y, lam, iters, log, init=None):
    """One-vs-rest logistic regression, all classes at once: minimises mean binary cross-entropy
    + lam/2 * |W|^2 (bias not regularised) with full-batch L-BFGS, from `init` (w, b) if given."""
    n, f = x.shape
    k = y.shape[1]
    xt = x.to_sparse_coo().t().coalesce().to_sparse_csr()
    if init is not None:
        w = init[0].clone().requires_grad_(True)
        b = init[1].clone().requires_grad_(True)
    else:
        # Start the bias at the log-odds of each class: fewer iterations for rare classes.
        rate = y.mean(0).clamp(1e-6, 1 - 1e-6)
        w = torch.zeros(f, k, requires_grad=True)
        b = torch.log(rate / (1 - rate)).clone().requires_grad_(True)
    opt = torch.optim.LBFGS([w, b], lr=1, max_iter=iters, history_size=20, tolerance_grad=1e-7,
                            tolerance_change=1e-10, line_search_fn="strong_wolfe")
    calls, last = [0], [0.0]

    def closure():
        opt.zero_grad()
        with torch.no_grad():
            logits = torch.sparse.mm(x, w) + b
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="sum") / n
            loss += 0.5 * lam * (w * w).sum()
            g = (torch.sigmoid(logits) - y) / n
            w.grad = torch.sparse.mm(xt, g) + lam * w
            b.grad = g.sum(0)
        calls[0] += 1
        last[0] = float(loss)
        return loss

    opt.step(closure)
    log("    L-BFGS: %d evaluations, loss %.5f" % (calls[0], last[0]))
    return w.detach(), b.detach()


def predict(x, w, b):
    return torch.sigmoid(torch.sparse.mm(x, w) + b).numpy()


# --------------------------------------------------------------------------------------------
# Metrics (the definitions of plugins/legal/EVAL.md; used for tuning and as a cross-check)


def _sweep(ranked, n_gold):
    ranked = sorted(ranked, key=lambda r: -r[0])
    tp = n = 0
    i = 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            tp += ranked[j][1]
            n += 1
            j += 1
        yield tp / n, tp / n_gold
        i = j


def average_precision(ranked, n_gold):
    if n_gold == 0:
        return 0.0
    area = prev = 0.0
    for p, r in _sweep(ranked, n_gold):
        area += (r - prev) * p
        prev = r
    return area


def precision_at_recall(ranked, n_gold, level=0.8):
    if n_gold == 0:
        return 0.0
    return max([p for p, r in _sweep(ranked, n_gold) if r >= level - 1e-12], default=0.0)


def score(preds, gold, doc_ids, categories, min_gold=5, threshold=0.5, iou=0.5):
    """preds: list of (doc_id, category, start, end, confidence). Returns (per-category, macro, micro)."""
    order = sorted(range(len(preds)), key=lambda i: -preds[i][4])
    per, micro_ranked, micro_gold = {}, [], 0
    for cat in categories:
        open_spans = {d: [list(gold[d].get(cat, [])), [False] * len(gold[d].get(cat, []))] for d in doc_ids}
        n_gold = sum(len(v[0]) for v in open_spans.values())
        ranked = []
        for i in order:
            d, c, s, e, conf = preds[i]
            if c != cat or d not in open_spans:
                continue
            spans, used = open_spans[d]
            best, best_j = -1, 0.0
            for g, sp in enumerate(spans):
                if not used[g]:
                    j = jaccard((s, e), sp)
                    if j >= iou and j > best_j:
                        best, best_j = g, j
            if best >= 0:
                used[best] = True
            ranked.append((conf, int(best >= 0)))
        at = [h for cf, h in ranked if cf >= threshold]
        prec = sum(at) / len(at) if at else 0.0
        rec = sum(at) / n_gold if n_gold else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec > 0 else 0.0
        per[cat] = dict(gold=n_gold, predicted=len(ranked), precision=prec, recall=rec, f1=f1,
                        aupr=average_precision(ranked, n_gold), p_at_80r=precision_at_recall(ranked, n_gold),
                        averaged=n_gold >= max(min_gold, 1))
        if per[cat]["averaged"]:
            micro_ranked += ranked
            micro_gold += n_gold
    avg = [m for m in per.values() if m["averaged"]]
    macro = {k: sum(m[k] for m in avg) / max(1, len(avg)) for k in ("precision", "recall", "f1", "aupr", "p_at_80r")}
    macro["categories"] = len(avg)
    at = [h for cf, h in micro_ranked if cf >= threshold]
    micro = {"aupr": average_precision(micro_ranked, micro_gold),
             "p_at_80r": precision_at_recall(micro_ranked, micro_gold),
             "precision": sum(at) / len(at) if at else 0.0, "recall": sum(at) / micro_gold if micro_gold else 0.0}
    micro["f1"] = (2 * micro["precision"] * micro["recall"] / (micro["precision"] + micro["recall"])
                   if micro["precision"] + micro["recall"] > 0 else 0.0)
    return per, macro, micro


# --------------------------------------------------------------------------------------------
# Decoding


def select(spans, probs, suppress, floor):
    """Per category: candidates best first; with `suppress`, a candidate is dropped when a kept one
    covers at least half of it or it covers at least half of a kept one (one answer per region)."""
    out = []
    for k in range(probs.shape[1]):
        col = probs[:, k]
        kept = []
        for i in np.argsort(-col, kind="stable"):
            p = float(col[i])
            if p < floor:
                break
            s, e = spans[i]
            if suppress:
                clash = False
                for ks, ke in kept:
                    inter = min(e, ke) - max(s, ks)
                    if inter > 0 and inter >= 0.5 * min(e - s, ke - ks):
                        clash = True
                        break
                if clash:
                    continue
            kept.append((s, e))
            out.append((k, i, p))
    return out


# --------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=DEFAULT_DATA, help="the CUAD folder (index.tsv, labels.jsonl.gz, contracts/)")
    ap.add_argument("--out", required=True, help="prediction JSONL to write (for the --eval-split documents)")
    ap.add_argument("--train-split", default="train")
    ap.add_argument("--eval-split", default="dev")
    ap.add_argument("--min-df", type=int, default=3, help="keep n-grams in at least this many training candidates")
    ap.add_argument("--lambdas", default="1e-5,3e-6,1e-6,3e-7", help="L2 strengths tried on the inner validation slice")
    ap.add_argument("--iters", type=int, default=120, help="L-BFGS iterations per fit")
    ap.add_argument("--val-fraction", type=float, default=0.15, help="share of training groups for tuning")
    ap.add_argument("--floor", type=float, default=0.005, help="write predictions with confidence >= this")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=20250611)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    t0 = time.time()

    def log(msg):
        print("[%6.1fs] %s" % (time.time() - t0, msg), file=sys.stderr, flush=True)

    index = read_index(args.data)
    gold = read_gold(args.data)
    categories = sorted({k for labels in gold.values() for k in labels})
    cat_id = category_ids(categories)
    train_ids = [i for i in sorted(index) if index[i]["split"] == args.train_split and i in gold]
    eval_ids = [i for i in sorted(index) if index[i]["split"] == args.eval_split and i in gold]
    groups = sorted({index[i]["group"] for i in train_ids})
    rng = np.random.RandomState(args.seed)
    val_groups = set(rng.choice(groups, int(round(len(groups) * args.val_fraction)), replace=False))
    inner_val = [i for i in train_ids if index[i]["group"] in val_groups]
    log("%d train documents (%d of them the inner validation slice), %d %s documents, %d categories"
        % (len(train_ids), len(inner_val), len(eval_ids), args.eval_split, len(categories)))

    feats = Featurizer()
    docs = {}
    n_cand_train = 0
    for doc_id in train_ids + eval_ids:
        path, sha, text = read_text(args.data, doc_id)
        cands = candidates(text)
        spans = list(cands)
        is_train = doc_id in train_ids
        rows = feats.document(text, spans, count_df=is_train)
        layouts = [(s / max(1, len(text)), e - s, cands[(s, e)]) for s, e in spans]
        y = np.zeros((len(spans), len(categories)), dtype=np.float32)
        covered = collections.Counter()  # gold spans some candidate can hit, per category
        for k, cat in enumerate(categories):
            for g in gold[doc_id].get(cat, []):
                lo = bisect.bisect_left(spans, (g[0] - MAX_CANDIDATE_CHARS, 0))
                hit = False
                for i in range(lo, len(spans)):
                    s, e = spans[i]
                    if s >= g[1]:
                        break
                    if jaccard((s, e), g) >= 0.5:
                        y[i, k] = 1
                        hit = True
                covered[cat] += hit
        docs[doc_id] = dict(path=path, sha=sha, text=text, spans=spans, rows=rows, layouts=layouts, y=y,
                            covered=covered)
        n_cand_train += len(spans) if is_train else 0
    log("candidates: %.0f per document; %d training candidates; n-grams seen: %d"
        % (sum(len(d["spans"]) for d in docs.values()) / len(docs), n_cand_train, len(feats.ids)))
    feats.freeze(n_cand_train, args.min_df)
    log("features: %d n-grams with df >= %d + %d layout" % (feats.n_text, args.min_df, N_EXTRA))

    # Oracle: the share of gold spans some candidate could hit at all (the ceiling of recall).
    oracle = {}
    for k, cat in enumerate(categories):
        n = int(sum(len(gold[d].get(cat, [])) for d in eval_ids))
        oracle[cat] = (sum(docs[d]["covered"][cat] for d in eval_ids), n)
    log("oracle recall on %s: %.3f (%d of %d gold spans have a candidate with Jaccard >= 0.5)"
        % (args.eval_split, sum(h for h, _ in oracle.values()) / max(1, sum(n for _, n in oracle.values())),
           sum(h for h, _ in oracle.values()), sum(n for _, n in oracle.values())))

    def stack(ids):
        rows = [r for d in ids for r in docs[d]["rows"]]
        layouts = [l for d in ids for l in docs[d]["layouts"]]
        return feats.matrix(rows, layouts), torch.from_numpy(np.concatenate([docs[d]["y"] for d in ids]))

    def decode(ids, probs, suppress, floor):
        preds, off = [], 0
        for d in ids:
            n = len(docs[d]["spans"])
            for k, i, p in select(docs[d]["spans"], probs[off:off + n], suppress, floor):
                s, e = docs[d]["spans"][i]
                preds.append((d, categories[k], s, e, p, i))
            off += n
        return preds

    # Tuning on the inner validation slice of train: L2 strength and overlap suppression.
    fit_ids = [i for i in train_ids if i not in set(inner_val)]
    x_fit, y_fit = stack(fit_ids)
    x_val, _ = stack(inner_val)
    # Strongest regularisation first, each fit starting from the previous solution.
    best, init = None, None
    for lam in sorted((float(v) for v in args.lambdas.split(",")), reverse=True):
        log("tuning: lambda %g on %d documents (%d candidates)" % (lam, len(fit_ids), x_fit.shape[0]))
        init = fit_logistic(x_fit, y_fit, lam, args.iters, log, init)
        probs = predict(x_val, *init)
        for suppress in (False, True):
            preds = [p[:5] for p in decode(inner_val, probs, suppress, args.floor)]
            _, macro, _ = score(preds, gold, inner_val, categories)
            log("    suppress %-5s: macro AUPR %.4f, P@80R %.4f, F1 %.4f"
                % (suppress, macro["aupr"], macro["p_at_80r"], macro["f1"]))
            if best is None or macro["aupr"] > best[0]:
                best = (macro["aupr"], lam, suppress, init)
    _, lam, suppress, init = best
    del x_fit, y_fit, x_val
    log("chosen: lambda %g, suppress %s; refitting on all %d train documents" % (lam, suppress, len(train_ids)))

    x_train, y_train = stack(train_ids)
    w, b = fit_logistic(x_train, y_train, lam, args.iters, log, init)
    del x_train, y_train
    x_eval, _ = stack(eval_ids)
    probs = predict(x_eval, w, b)
    preds = decode(eval_ids, probs, suppress, args.floor)
    with open(args.out, "w", encoding="utf-8") as f:
        for d, cat, s, e, p, _ in preds:
            row = {"document": docs[d]["path"], "doc_sha256": docs[d]["sha"], "category": cat_id[cat], "cuad": cat,
                   "label": cat, "label_zh": "", "start": s, "end": e, "text": docs[d]["text"][s:e],
                   "confidence": round(p, 6), "values": {}}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    log("wrote %d predictions for %d documents to %s" % (len(preds), len(eval_ids), args.out))

    per, macro, micro = score([(d, c, s, e, round(p, 6)) for d, c, s, e, p, _ in preds], gold, eval_ids, categories)
    print("%s (Python cross-check of the scorer): macro over %d categories: AUPR %.4f, P@80R %.4f, P %.4f, R %.4f, "
          "F1 %.4f; micro AUPR %.4f, F1 %.4f"
          % (args.eval_split, macro["categories"], macro["aupr"], macro["p_at_80r"], macro["precision"],
             macro["recall"], macro["f1"], micro["aupr"], micro["f1"]))
    print("%-36s %5s %7s %6s %6s %6s" % ("category", "gold", "oracle", "AUPR", "P@80R", "F1"))
    for cat in categories:
        m = per[cat]
        h, n = oracle[cat]
        print("%-36s %5d %7.2f %6.3f %6.3f %6.3f%s" % (cat, m["gold"], h / n if n else 0, m["aupr"], m["p_at_80r"],
                                                     m["f1"], "" if m["averaged"] else "  *"))
    print("settings: lambda %g, suppress %s, min_df %d, floor %g; %d candidates/document; total %.0f s"
          % (lam, suppress, args.min_df, args.floor, sum(len(d["spans"]) for d in docs.values()) / len(docs),
             time.time() - t0))


if __name__ == "__main__":
    main()
