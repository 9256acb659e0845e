"""Pretraining data: SentencePiece tokenization, uint16 token shards, the data-mix sampler, MLM masking.

Tokenization matches what the C++ pipeline feeds the model (framework/tokenize, text/normalize):
the document is NFKC-normalized, then encoded line by line ('\\n' separates lines and gives no token).
A document is the concatenation of its lines' ids; documents are separated by `</s>` in the shards.

Shards (a cache directory, not part of the repository), one folder per tokenizer and source:

    CACHE/<tokenizer sha256[:16]>/<source>[-limit<N>]/
        train.u16, heldout.u16      token ids, uint16, every document followed by </s>
        train.docs.npy, heldout.docs.npy   int64 document start offsets (n_docs + 1 entries)
        manifest.json               written last: its presence means the shard set is complete

Held-out documents are those of corpora.is_heldout (every 20th of the canonical stream, the same
documents the tokenizer was measured on).

The sampler is deterministic: sequence n of a run draws its group from a generator seeded with
(seed, n), and each group serves non-overlapping chunks of its token stream in a per-epoch
permutation (seeded with (seed, group, epoch)), so the data position is (n, cursor per group).
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unicodedata
import zlib

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpora  # noqa: E402

SHARD_VERSION = 1
SPECIAL_PIECES = ("<pad>", "<unk>", "<s>", "</s>", "<mask>", "<cls>", "<sep>")


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class Tokenizer:
    """The project's SentencePiece model: the `sentencepiece` Python module when installed, else the
    `spm_encode` / `spm_export_vocab` command-line tools (Debian package sentencepiece).

    Attributes: path, sha256, vocab_size, pieces (list), and the special ids pad, unk, bos, eos, mask,
    cls, sep; `special_ids` is the set of ids that are never masked or predicted.
    """

    def __init__(self, path):
        if not os.path.exists(path):
            raise FileNotFoundError(f"[tokenizer] no SentencePiece model at {path}")
        self.path = path
        self.sha256 = sha256_file(path)
        try:
            import sentencepiece
            self._sp = sentencepiece.SentencePieceProcessor(model_file=path)
            self.pieces = [self._sp.id_to_piece(i) for i in range(self._sp.get_piece_size())]
        except ImportError:
            self._sp = None
            for tool in ("spm_encode", "spm_export_vocab"):
                if shutil.which(tool) is None:
                    raise RuntimeError(f"[tokenizer] neither the python module 'sentencepiece' nor the '{tool}' "
                                       f"tool is installed (Debian: python3-sentencepiece or sentencepiece)")
            out = subprocess.run(["spm_export_vocab", f"--model={path}"], check=True, capture_output=True).stdout
            self.pieces = [line.split(b"\t")[0].decode("utf-8") for line in out.splitlines()]
        self.vocab_size = len(self.pieces)
        index = {p: i for i, p in enumerate(self.pieces)}
        missing = [p for p in SPECIAL_PIECES if p not in index]
        if missing:
            raise ValueError(f"[tokenizer] {path} lacks the special pieces {missing}")
        self.pad, self.unk, self.bos, self.eos, self.mask, self.cls, self.sep = (index[p] for p in SPECIAL_PIECES)
        self.special_ids = sorted(index[p] for p in SPECIAL_PIECES)
        if self.vocab_size > 65536:
            raise ValueError(f"[tokenizer] {self.vocab_size} pieces do not fit the uint16 shards")

    def encode_lines(self, lines):
        """Token ids of each line (a list of lists of int). Lines must not contain '\\n'."""
        if self._sp is not None:
            return self._sp.encode(list(lines))
        counts, flat = self._encode_tool(lines)
        out, pos = [], 0
        for n in counts:
            out.append(flat[pos:pos + n].tolist())
            pos += n
        return out

    def encode_documents(self, texts):
        """NFKC, then line by line as the C++ tokenize stage does. Returns (ids int64 array, lengths)."""
        lines, per_doc = [], []
        for text in texts:
            doc_lines = [l for l in unicodedata.normalize("NFKC", text).split("\n") if l]
            lines.extend(doc_lines)
            per_doc.append(len(doc_lines))
        if self._sp is not None:
            encoded = self._sp.encode(lines)
            counts = [len(e) for e in encoded]
            flat = np.fromiter((t for e in encoded for t in e), dtype=np.int64, count=sum(counts))
        else:
            counts, flat = self._encode_tool(lines)
        lengths, pos = [], 0
        for n in per_doc:
            lengths.append(int(sum(counts[pos:pos + n])))
            pos += n
        return flat, lengths

    def _encode_tool(self, lines):
        """spm_encode over a temporary file: (tokens per line, all ids as one int64 array)."""
        with tempfile.TemporaryDirectory(prefix="spm-") as tmp:
            src = os.path.join(tmp, "in.txt")
            with open(src, "w", encoding="utf-8", newline="\n") as f:
                for line in lines:
                    if "\n" in line:
                        raise ValueError("[tokenizer] a line contains '\\n'")
                    f.write(line)
                    f.write("\n")
            out = subprocess.run(["spm_encode", f"--model={self.path}", "--output_format=id", f"--input={src}"],
                                 check=True, capture_output=True).stdout.decode("ascii")
        rows = out.split("\n")[:len(lines)]
        if len(rows) != len(lines):
            raise RuntimeError(f"[tokenizer] spm_encode returned {len(rows)} lines for {len(lines)}")
        counts = [row.count(" ") + 1 if row else 0 for row in rows]
        flat = np.array(out.split(), dtype=np.int64) if out.strip() else np.zeros(0, dtype=np.int64)
        if len(flat) != sum(counts):
            raise RuntimeError("[tokenizer] spm_encode output does not parse")
        return counts, flat


# ----------------------------------------------------------------------------------------------
# Shards

def shard_dir(cache, tokenizer_sha256, source, limit=None):
    name = source if limit is None else f"{source}-limit{limit}"
    return os.path.join(cache, tokenizer_sha256[:16], name)


def write_shard_set(directory, source, tokenizer_sha256, splits, limit=None, extra=None):
    """Writes one source's shards. splits: {"train": (ids array, doc lengths), "heldout": ...} where
    ids are the documents' tokens back to back (without separators); </s> is added here.
    The manifest is written last, atomically. Returns the manifest.
    """
    os.makedirs(directory, exist_ok=True)
    manifest = {"version": SHARD_VERSION, "source": source, "tokenizer_sha256": tokenizer_sha256,
                "limit_per_source": limit, "nfkc": True, "splits": {}}
    manifest.update(extra or {})
    eos = manifest.get("eos_id", 3)
    for split, (ids, lengths) in splits.items():
        ids = np.asarray(ids, dtype=np.int64)
        lengths = np.asarray(lengths, dtype=np.int64)
        if int(lengths.sum()) != len(ids):
            raise ValueError(f"[shards] {source}/{split}: lengths sum to {lengths.sum()}, {len(ids)} ids")
        starts = np.concatenate([[0], np.cumsum(lengths + 1)]).astype(np.int64)
        out = np.empty(int(starts[-1]), dtype=np.uint16)
        src_starts = np.concatenate([[0], np.cumsum(lengths)])
        for i in range(len(lengths)):
            out[starts[i]:starts[i + 1] - 1] = ids[src_starts[i]:src_starts[i + 1]]
            out[starts[i + 1] - 1] = eos
        out.tofile(os.path.join(directory, f"{split}.u16"))
        np.save(os.path.join(directory, f"{split}.docs.npy"), starts)
        manifest["splits"][split] = {"documents": int(len(lengths)), "tokens": int(len(out))}
    tmp = os.path.join(directory, "manifest.json.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1)
    os.replace(tmp, os.path.join(directory, "manifest.json"))
    return manifest


def read_manifest(directory):
    path = os.path.join(directory, "manifest.json")
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        manifest = json.load(f)
    return manifest if manifest.get("version") == SHARD_VERSION else None


def write_synthetic_shards(cache, tokenizer, sources, limit=None, seed=0):
    """Synthetic shards (random documents of Zipf-distributed ids) for every source: lets tests and CI
    run the whole trainer without the shared data. Never mix them with a real cache: the caller passes
    a cache folder of its own. Returns {source: shard directory}."""
    rng = np.random.default_rng(seed)
    dirs = {}
    for s in sources:
        splits = {}
        for split, n_docs in (("train", 30), ("heldout", 3)):
            lengths = rng.integers(20, 400, size=n_docs)
            ids = (rng.zipf(1.3, size=int(lengths.sum())) % (tokenizer.vocab_size - 7)) + 7
            splits[split] = (ids, lengths)
        dirs[s] = shard_dir(cache, tokenizer.sha256, s, limit)
        write_shard_set(dirs[s], s, tokenizer.sha256, splits, limit,
                        extra={"eos_id": tokenizer.eos, "group": corpora.group_of(s)})
    return dirs


def prepare_shards(data_dir, tokenizer, cache, sources, limit=None, log=print, batch_chars=4 << 20):
    """Tokenizes every source not yet in the cache. Returns {source: shard directory}.

    One pass over the canonical document stream (corpora.iter_documents, text_only) for the sources
    that are missing; documents go to `heldout` by corpora.is_heldout, else to `train`.
    """
    dirs = {s: shard_dir(cache, tokenizer.sha256, s, limit) for s in sources}
    missing = [s for s in sources if read_manifest(dirs[s]) is None]
    if not missing:
        return dirs
    if not os.path.isdir(data_dir):
        raise FileNotFoundError(f"[shards] data directory {data_dir} does not exist (needed to build "
                                f"shards for {missing})")
    log(f"[shards] tokenizing {', '.join(missing)} from {data_dir} into {cache} (once)")
    parts = {s: {"train": ([], []), "heldout": ([], [])} for s in missing}
    pending = {s: {"train": [], "heldout": []} for s in missing}
    pending_chars = 0

    def flush():
        nonlocal pending_chars
        for s in missing:
            for split, texts in pending[s].items():
                if texts:
                    ids, lengths = tokenizer.encode_documents(texts)
                    parts[s][split][0].append(ids)
                    parts[s][split][1].extend(lengths)
                    texts.clear()
        pending_chars = 0

    for index, source, text in corpora.iter_documents(data_dir, missing, text_only=True, limit_per_source=limit):
        pending[source]["heldout" if corpora.is_heldout(index) else "train"].append(text)
        pending_chars += len(text)
        if pending_chars >= batch_chars:
            flush()
    flush()
    for s in missing:
        splits = {}
        for split, (chunks, lengths) in parts[s].items():
            ids = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int64)
            splits[split] = (ids, lengths)
        m = write_shard_set(dirs[s], s, tokenizer.sha256, splits, limit,
                            {"eos_id": tokenizer.eos, "group": corpora.group_of(s)})
        log(f"[shards] {s}: " + ", ".join(f"{k} {v['documents']} docs / {v['tokens']} tokens"
                                          for k, v in m["splits"].items()))
    return dirs


def load_split(directory, split):
    """(tokens uint16 memmap, doc starts int64)."""
    path = os.path.join(directory, f"{split}.u16")
    size = os.path.getsize(path) // 2
    tokens = np.memmap(path, dtype=np.uint16, mode="r", shape=(size,)) if size else np.zeros(0, np.uint16)
    return tokens, np.load(os.path.join(directory, f"{split}.docs.npy"))


def group_streams(dirs, split):
    """{group: uint16 array} concatenating the sources of each group in canonical source order."""
    by_group = {}
    for source in corpora.SOURCES:
        if source in dirs:
            tokens, _ = load_split(dirs[source], split)
            by_group.setdefault(corpora.group_of(source), []).append(np.asarray(tokens))
    return {g: np.concatenate(parts) for g, parts in by_group.items()}


# ----------------------------------------------------------------------------------------------
# Sampling

def _group_key(group):
    return zlib.crc32(group.encode("utf-8"))


class MixSampler:
    """Sequences of `seq_len` tokens from several group streams mixed by `weights`.

    Deterministic and resumable: `state()` / `load_state()` carry the data position.
    """

    def __init__(self, streams, weights, seq_len, seed, stream_id=0):
        groups = [g for g in sorted(weights) if weights[g] > 0]
        absent = [g for g in groups if g not in streams or len(streams[g]) == 0]
        if absent:
            raise ValueError(f"[data] mix names groups without data: {absent} (have {sorted(streams)})")
        if not groups:
            raise ValueError("[data] the data mix has no group with a positive weight")
        self.groups = groups
        self.streams = {g: streams[g] for g in groups}
        w = np.array([weights[g] for g in groups], dtype=np.float64)
        self.cdf = np.cumsum(w / w.sum())
        self.seq_len = seq_len
        self.seed = seed
        self.stream_id = stream_id
        self.index = 0
        self.cursors = {g: 0 for g in groups}
        self._perm = {}

    def state(self):
        return {"index": self.index, "cursors": dict(self.cursors)}

    def load_state(self, state):
        self.index = int(state["index"])
        self.cursors = {g: int(state["cursors"].get(g, 0)) for g in self.groups}

    def _count(self, group):
        """Chunks per epoch of a group: non-overlapping seq_len windows (one, shorter, if the stream is short)."""
        return max(1, (len(self.streams[group]) - self.seq_len) // self.seq_len)

    def _epoch(self, group, epoch):
        """(offset, permutation) of one epoch of a group; each epoch shifts the chunk grid."""
        key = (group, epoch)
        if key not in self._perm:
            n_tokens, count = len(self.streams[group]), self._count(group)
            rng = np.random.default_rng([self.seed, self.stream_id, 2, _group_key(group), epoch])
            offset = int(rng.integers(0, max(1, n_tokens - count * self.seq_len + 1)))
            self._perm = {k: v for k, v in self._perm.items() if k[0] != group}
            self._perm[key] = (offset, rng.permutation(count))
        return self._perm[key]

    def next(self):
        """Returns (group, token ids as an int64 numpy array of at most seq_len)."""
        rng = np.random.default_rng([self.seed, self.stream_id, 1, self.index])
        group = self.groups[min(int(np.searchsorted(self.cdf, rng.random(), side="right")), len(self.groups) - 1)]
        cursor = self.cursors[group]
        epoch, i = divmod(cursor, self._count(group))
        offset, perm = self._epoch(group, epoch)
        start = offset + int(perm[i]) * self.seq_len
        seq = np.asarray(self.streams[group][start:start + self.seq_len], dtype=np.int64)
        self.cursors[group] = cursor + 1
        self.index += 1
        return group, seq


def eval_sequences(stream, seq_len, count):
    """`count` chunks of `seq_len` spread evenly over a held-out stream (fewer if it is short)."""
    n = len(stream)
    if n == 0:
        return []
    if n <= seq_len:
        return [np.asarray(stream, dtype=np.int64)]
    count = min(count, n // seq_len)
    starts = np.linspace(0, n - seq_len, count).astype(np.int64)
    return [np.asarray(stream[s:s + seq_len], dtype=np.int64) for s in starts]


# ----------------------------------------------------------------------------------------------
# MLM masking

def mask_tokens(seqs, rng, tokenizer_ids, vocab_size, rate=0.15, mask_frac=0.8, random_frac=0.1, pad_id=0):
    """BERT masking of a batch.

    seqs: list of int64 arrays; rng: numpy Generator; tokenizer_ids: (mask_id, special ids). Random
    replacements are drawn from the ids above the highest special id.
    In each sequence exactly max(1, round(rate * n)) of the n maskable tokens (not special) are
    chosen; of those, mask_frac become <mask>, random_frac a random non-special token, the rest stay.
    Returns (inputs [B, T] int64 right-padded with pad_id, lengths, targets [B, T] int64 with -100
    where nothing is predicted).
    """
    mask_id, special = tokenizer_ids
    special = np.asarray(special, dtype=np.int64)
    n_special_low = int(special.max()) + 1 if len(special) else 0
    width = max(len(s) for s in seqs)
    inputs = np.full((len(seqs), width), pad_id, dtype=np.int64)
    targets = np.full((len(seqs), width), -100, dtype=np.int64)
    lengths = []
    for b, seq in enumerate(seqs):
        n = len(seq)
        lengths.append(n)
        inputs[b, :n] = seq
        candidates = np.nonzero(~np.isin(seq, special))[0]
        if len(candidates) == 0:
            continue
        count = max(1, int(round(rate * len(candidates))))
        chosen = np.sort(rng.choice(candidates, size=count, replace=False))
        targets[b, chosen] = seq[chosen]
        u = rng.random(count)
        to_mask = chosen[u < mask_frac]
        to_random = chosen[(u >= mask_frac) & (u < mask_frac + random_frac)]
        inputs[b, to_mask] = mask_id
        inputs[b, to_random] = rng.integers(n_special_low, vocab_size, size=len(to_random))
    return inputs, lengths, targets
