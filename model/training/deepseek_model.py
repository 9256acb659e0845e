"""PyTorch reference of the Deepseek encoder, exactly as model/SPEC.md (revision 1) fixes it.

Two users: the parity tests against the C++ runtime (run in float64, so the reference is not a
source of error) and the trainer (float32 / autocast on CUDA). Hence the choices below:

- Parameter names are the SPEC tensor names (`layers.0.global.q.weight` ...), so `state_dict()` is
  the file's tensor set with no renaming.
- Top-k selection gathers the k selected keys per sequence ([B, H, T, k] logits, never T x T when
  k < T); the importance bias is gathered from `s` with gradients, so the scorer trains through it.
- The local channel is computed in query blocks (banded), so its memory is O(T (block + 2w)), not
  O(T^2).
- Norms, RoPE angles and softmax run in at least FP32 (float64 stays float64), as SPEC.md asks.

Entry points: `DeepseekEncoder` (forward = windowed encode + heads), `pad_batch`,
`dense_attention_reference` (plain dense global channel for tests), `init_weights` (random models).
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

SPEC_REVISION = "1"

CONFIG_KEYS = ("vocab_size", "d_model", "n_layers", "n_heads", "n_local_heads", "head_dim", "ffn_dim",
               "ffn_max_dim", "rms_eps", "rope_theta", "max_len", "window_overlap", "window", "top_k",
               "pad_id", "default_path")
PATH_KEYS = ("ffn_ratio", "attn_heads", "skip_ffn_layers", "top_k")
HEAD_TYPES = ("token_tags", "segment_labels", "sequence_classes", "embedding", "mlm")


# ----------------------------------------------------------------------------------------------
# Config, paths, heads: validation mirrors what the C++ loader refuses, so a bad recipe fails here
# first with a message naming the key.

def _is_int(x):
    return isinstance(x, int) and not isinstance(x, bool)


def _is_number(x):
    return (isinstance(x, (int, float))) and not isinstance(x, bool) and math.isfinite(x)


def validate_top_k(spec, where):
    """Checks a top-k spec: {"fixed": k} or {"fraction": f, "min": m}."""
    if not isinstance(spec, dict):
        raise ValueError(f"[{where}] top-k spec must be an object, got {spec!r}")
    if set(spec) == {"fixed"}:
        if not _is_int(spec["fixed"]) or spec["fixed"] < 0:
            raise ValueError(f"[{where}.fixed] must be an integer >= 0, got {spec['fixed']!r}")
    elif set(spec) == {"fraction", "min"}:
        if not _is_number(spec["fraction"]) or spec["fraction"] < 0:
            raise ValueError(f"[{where}.fraction] must be a number >= 0, got {spec['fraction']!r}")
        if not _is_int(spec["min"]) or spec["min"] < 0:
            raise ValueError(f"[{where}.min] must be an integer >= 0, got {spec['min']!r}")
    else:
        raise ValueError(f"[{where}] top-k spec must be {{\"fixed\": k}} or {{\"fraction\": f, \"min\": m}}, "
                         f"got keys {sorted(spec)}")
    return spec


def resolve_k(spec, length):
    """The key budget k for a sequence (or window) of `length` real tokens. k >= length means dense.

    `fraction * length` is evaluated in double precision (Python float) before ceil.
    """
    if "fixed" in spec:
        k = spec["fixed"]
    else:
        k = max(spec["min"], math.ceil(spec["fraction"] * length))
    return max(1, k)


def validate_config(config):
    """Checks every SPEC section 1 key; returns the config unchanged."""
    missing = [k for k in CONFIG_KEYS if k not in config]
    if missing:
        raise ValueError(f"[config] missing keys: {missing}")
    unknown = [k for k in config if k not in CONFIG_KEYS]
    if unknown:
        raise ValueError(f"[config] unknown keys: {unknown}")
    for key in CONFIG_KEYS:
        if key in ("rms_eps", "rope_theta", "top_k", "default_path"):
            continue
        if not _is_int(config[key]):
            raise ValueError(f"[config.{key}] must be an integer, got {config[key]!r}")
    for key in ("vocab_size", "d_model", "n_layers", "n_heads", "n_local_heads", "head_dim", "ffn_dim",
                "max_len"):
        if config[key] < 1:
            raise ValueError(f"[config.{key}] must be >= 1, got {config[key]}")
    if config["head_dim"] % 2:
        raise ValueError(f"[config.head_dim] must be even (RoPE rotates pairs), got {config['head_dim']}")
    if config["n_local_heads"] != max(1, config["n_heads"] // 2):
        raise ValueError(f"[config.n_local_heads] must be max(1, n_heads / 2) = "
                         f"{max(1, config['n_heads'] // 2)}, got {config['n_local_heads']}")
    if config["ffn_max_dim"] != math.floor(1.5 * config["ffn_dim"]):
        raise ValueError(f"[config.ffn_max_dim] must be floor(1.5 * ffn_dim) = "
                         f"{math.floor(1.5 * config['ffn_dim'])}, got {config['ffn_max_dim']}")
    for key in ("rms_eps", "rope_theta"):
        if not _is_number(config[key]) or config[key] <= 0:
            raise ValueError(f"[config.{key}] must be a number > 0, got {config[key]!r}")
    if not (0 <= config["window_overlap"] and 2 * config["window_overlap"] < config["max_len"]):
        raise ValueError(f"[config.window_overlap] must be >= 0 and < max_len / 2, got {config['window_overlap']}")
    if config["window"] < 0:
        raise ValueError(f"[config.window] must be >= 0, got {config['window']}")
    if not 0 <= config["pad_id"] < config["vocab_size"]:
        raise ValueError(f"[config.pad_id] must be a token id < vocab_size, got {config['pad_id']}")
    if not isinstance(config["default_path"], str):
        raise ValueError(f"[config.default_path] must be a path name, got {config['default_path']!r}")
    validate_top_k(config["top_k"], "config.top_k")
    return config


def validate_path(path, config, where):
    """Checks one path object {ffn_ratio, attn_heads, skip_ffn_layers, top_k}."""
    if not isinstance(path, dict):
        raise ValueError(f"[{where}] a path must be an object, got {path!r}")
    missing = [k for k in ("ffn_ratio", "attn_heads", "skip_ffn_layers") if k not in path]
    unknown = [k for k in path if k not in PATH_KEYS]
    if missing or unknown:
        raise ValueError(f"[{where}] missing keys {missing}, unknown keys {unknown}")
    if not _is_int(path["attn_heads"]) or not 1 <= path["attn_heads"] <= config["n_heads"]:
        raise ValueError(f"[{where}.attn_heads] must be in 1..{config['n_heads']}, got {path['attn_heads']!r}")
    if not _is_number(path["ffn_ratio"]):
        raise ValueError(f"[{where}.ffn_ratio] must be a number, got {path['ffn_ratio']!r}")
    f = math.floor(path["ffn_ratio"] * config["ffn_dim"])
    if not 1 <= f <= config["ffn_max_dim"]:
        raise ValueError(f"[{where}.ffn_ratio] gives {f} FFN units, must be in 1..{config['ffn_max_dim']}")
    skip = path["skip_ffn_layers"]
    if not isinstance(skip, list) or not all(_is_int(l) and 0 <= l < config["n_layers"] for l in skip):
        raise ValueError(f"[{where}.skip_ffn_layers] must be a list of layer indices < {config['n_layers']}, "
                         f"got {skip!r}")
    if path.get("top_k") is not None:
        validate_top_k(path["top_k"], f"{where}.top_k")
    return path


def validate_paths(paths, config):
    if not isinstance(paths, dict) or not paths:
        raise ValueError("[paths] must be a non-empty object name -> path")
    for name, path in paths.items():
        validate_path(path, config, f"paths.{name}")
    if config["default_path"] not in paths:
        raise ValueError(f"[config.default_path] '{config['default_path']}' is not one of the paths {sorted(paths)}")
    return paths


def validate_heads(heads):
    """Checks the head definitions: [{"name", "type", "labels"} | {"name", "type": "embedding", "dim"} ...]."""
    if not isinstance(heads, list):
        raise ValueError("[heads] must be an array")
    names = set()
    for i, head in enumerate(heads):
        where = f"heads[{i}]"
        name = head.get("name") if isinstance(head, dict) else None
        if not isinstance(name, str) or not name or not name[0].isascii() or not name[0].islower() or \
                not all(c.isascii() and (c.islower() or c.isdigit() or c == "_") for c in name):
            raise ValueError(f"[{where}.name] must match [a-z][a-z0-9_]*, got {name!r}")
        if name in names:
            raise ValueError(f"[{where}.name] duplicate head name '{name}'")
        names.add(name)
        kind = head.get("type")
        if kind not in HEAD_TYPES:
            raise ValueError(f"[{where}.type] must be one of {HEAD_TYPES}, got {kind!r}")
        if kind == "embedding":
            expected = {"name", "type", "dim"}
            if not _is_int(head.get("dim")) or head["dim"] < 1:
                raise ValueError(f"[{where}.dim] must be an integer >= 1, got {head.get('dim')!r}")
        elif kind == "mlm":
            expected = {"name", "type"}
        else:
            expected = {"name", "type", "labels"}
            labels = head.get("labels")
            if not isinstance(labels, list) or not labels or not all(isinstance(l, str) for l in labels):
                raise ValueError(f"[{where}.labels] must be a non-empty array of strings")
            if kind in ("segment_labels", "sequence_classes") and "lexical" in head:
                expected.add("lexical")
                validate_lexical(head["lexical"], f"{where}.lexical")
        if set(head) != expected:
            raise ValueError(f"[{where}] a {kind} head has exactly the keys {sorted(expected)}, got {sorted(head)}")
    return heads


LEXICAL_LIMITS = {"buckets": (1, 1 << 24), "dim": (1, 4096), "max_n": (1, 4), "shrink": (0, 4096),
                  "length_bins": (0, 64), "position_bins": (0, 64)}
LEXICAL_OPTIONAL = {"shrink", "length_bins", "position_bins"}


def validate_lexical(spec, where):
    """A segment_labels or sequence_classes head's lexical bag {"buckets": B, "dim": E, "max_n": N[, "shrink": k]
    [, "length_bins": L][, "position_bins": P]} (SPEC section 3)."""
    required = set(LEXICAL_LIMITS) - LEXICAL_OPTIONAL
    if not isinstance(spec, dict) or not required <= set(spec) <= set(LEXICAL_LIMITS):
        raise ValueError(f"[{where}] must be an object with the keys {sorted(required)} (optional: "
                         f"{sorted(LEXICAL_OPTIONAL)})")
    for key, (low, high) in LEXICAL_LIMITS.items():
        if key not in spec:
            continue
        if not _is_int(spec[key]) or not low <= spec[key] <= high:
            raise ValueError(f"[{where}.{key}] must be an integer in {low}..{high}, got {spec[key]!r}")
    return spec


# ----------------------------------------------------------------------------------------------
# Small pure functions shared by the model and the tests.

_FNV_PRIME = np.uint64(0x100000001B3)
_FMIX1 = np.uint64(0xFF51AFD7ED558CCD)
_FMIX2 = np.uint64(0xC4CEB9FE1A85EC53)
_S33 = np.uint64(33)


def lexical_buckets(ids, begin, end, buckets, max_n):
    """The lexical-bag features of span [begin, end) of `ids` (SPEC section 3): bucket(n, x[i..i+n))
    for n = 1..max_n and i = begin..end-n, in that order, as an int64 array. numpy's uint64 array
    arithmetic wraps, which is the spec's arithmetic."""
    x = np.asarray(ids[begin:end], dtype=np.int64).astype(np.uint64)
    out = []
    for n in range(1, max_n + 1):
        count = len(x) - n + 1
        if count <= 0:
            break
        h = np.full(count, n, dtype=np.uint64)
        for j in range(n):
            h = (h ^ x[j:j + count]) * _FNV_PRIME
        h ^= h >> _S33
        h *= _FMIX1
        h ^= h >> _S33
        h *= _FMIX2
        h ^= h >> _S33
        out.append((h % np.uint64(buckets)).astype(np.int64))
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def log2_bin(value, bins):
    """min(bins - 1, floor(log2(value))) for an integer value >= 1 (SPEC section 3: the bag's bias bins)."""
    return min(bins - 1, int(value).bit_length() - 1)


class LexicalBag(nn.Module):
    """u = (sum of embed rows over the span's F hashed n-grams) / (F + shrink); adds proj @ u to the
    logits. shrink 0 is the plain mean; k > 0 pulls short spans (few features) towards zero. Optional
    bias tables by the span's length (length_bins) and by where it starts (position_bins)."""

    def __init__(self, spec, classes):
        super().__init__()
        self.spec = dict(spec)
        self.embed = nn.EmbeddingBag(spec["buckets"], spec["dim"], mode="sum")
        self.proj = nn.Linear(spec["dim"], classes, bias=False)
        L, P = spec.get("length_bins", 0), spec.get("position_bins", 0)
        self.length_bias = nn.Parameter(torch.zeros(L, classes)) if L else None
        self.position_bias = nn.Parameter(torch.zeros(P, classes)) if P else None

    def forward(self, ids, spans, starts=None):
        """Rows [S, C] for the (non-empty) spans [[b, e], ...] of one sequence's ids. starts: each span's
        first token in the whole document when `ids` is a window of it (training); default b."""
        feats = [lexical_buckets(ids, b, e, self.spec["buckets"], self.spec["max_n"]) for b, e in spans]
        offsets = np.cumsum([0] + [len(f) for f in feats[:-1]])
        device = self.embed.weight.device
        flat = torch.from_numpy(np.concatenate(feats) if feats else np.zeros(0, dtype=np.int64)).to(device)
        counts = torch.tensor([len(f) for f in feats], device=device)
        rows = self.proj(self.pool(flat, torch.as_tensor(offsets, dtype=torch.long, device=device), counts))
        starts = [b for b, _ in spans] if starts is None else starts
        return rows + self.bin_biases([e - b for b, e in spans], starts, device)

    def bin_biases(self, lengths, starts, device):
        """[S, C] (or 0): length_bias[bin(tokens)] + position_bias[bin(start + 1)], SPEC section 3."""
        out = 0
        if self.length_bias is not None:
            bins = [log2_bin(n, self.length_bias.shape[0]) for n in lengths]
            out = out + self.length_bias[torch.tensor(bins, dtype=torch.long, device=device)]
        if self.position_bias is not None:
            bins = [log2_bin(b + 1, self.position_bias.shape[0]) for b in starts]
            out = out + self.position_bias[torch.tensor(bins, dtype=torch.long, device=device)]
        return out

    def pool(self, flat, offsets, counts):
        """u [S, E] of bags given EmbeddingBag-style (flat, offsets) and each bag's feature count."""
        total = (counts + self.spec.get("shrink", 0)).to(self.embed.weight.dtype).clamp(min=1.0)
        return self.embed(flat, offsets) / total[:, None]


class SegmentHead(nn.Linear):
    """segment_labels and sequence_classes: W @ mean(z over the span) + bias, plus the optional lexical bag
    (for sequence_classes the span is the whole sequence)."""

    def __init__(self, dim, classes, lexical=None):
        super().__init__(dim, classes)
        self.lexical = LexicalBag(lexical, classes) if lexical else None

def compute_dtype(dtype):
    """SPEC: norms and softmax run in FP32. float64 (parity) stays float64; fp16/bf16 go up to float32."""
    return dtype if dtype in (torch.float32, torch.float64) else torch.float32


def rope_inv_freq(head_dim, theta):
    """inv_freq_i = 1 / theta^(2i/dh) as FP32.

    Evaluated in double and rounded once to FP32 (the correctly rounded value), so any
    implementation can reproduce it bit for bit.
    """
    i = torch.arange(head_dim // 2, dtype=torch.float64)
    return (1.0 / (float(theta) ** (2.0 * i / head_dim))).to(torch.float32)


def rope_cos_sin(length, head_dim, theta, device, dtype):
    """cos/sin tables [length, dh/2] for positions 0..length-1.

    The angle is the FP32 product float(p) * inv_freq_i (SPEC section 3); only then is it widened, so
    a float64 reference sees the same angles as the FP32 runtime.
    """
    inv = rope_inv_freq(head_dim, theta).to(device)
    angle = torch.arange(length, device=device, dtype=torch.float32)[:, None] * inv[None, :]
    angle = angle.to(compute_dtype(dtype))
    return angle.cos().to(dtype), angle.sin().to(dtype)


def apply_rope(x, cos, sin):
    """Rotate-half RoPE on x [..., T, dh] with cos/sin [T, dh/2]."""
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat((x1 * cos - x2 * sin, x2 * cos + x1 * sin), dim=-1)


def window_starts(length, max_len, overlap):
    """Start offsets of the SPEC section 5 windows of a sequence of `length` tokens.

    Windows start every stride = max_len - overlap tokens; the first window that would reach past the
    end is moved back to end exactly at the end (so every window is full), and it is the last one.
    """
    if length <= max_len:
        return [0]
    stride = max_len - overlap
    starts, start = [], 0
    while start + max_len < length:
        starts.append(start)
        start += stride
    starts.append(length - max_len)
    return starts


def merge_owners(length, starts, max_len):
    """For each token, (window number, offset in window) per the merge rule of SPEC section 5.

    A token takes the window where min(i - start, end - 1 - i) is largest; ties go to the earlier
    window (strict '>' while scanning windows in order).
    """
    owner = [-1] * length
    best = [-1] * length
    for w, start in enumerate(starts):
        for i in range(start, min(start + max_len, length)):
            score = min(i - start, start + max_len - 1 - i)
            if score > best[i]:
                best[i], owner[i] = score, w
    return [(w, i - starts[w]) for i, w in enumerate(owner)]


def select_keys(s, lengths, ks):
    """Global-channel key sets for a padded batch.

    s: [B, T] importance; lengths: real lengths (ints); ks: key budgets (ints, >= 1).
    Returns (idx [B, K] long, valid [B, K] bool) with K = max_b min(k_b, T_b): row b lists token 0 and
    the min(k_b, T_b) - 1 other real tokens with the highest s (ties: lower index first), then filler
    slots (index 0, valid False). k_b >= T_b selects every real token (dense).
    The selection itself carries no gradient (indices); the bias gathered with it does.
    """
    batch, total = s.shape
    n_sel = [min(k, t) for k, t in zip(ks, lengths)]
    count = max(n_sel)
    lens = torch.tensor(lengths, device=s.device)
    real = torch.arange(total, device=s.device)[None, :] < lens[:, None]
    score = s.detach().masked_fill(~real, float("-inf"))
    score[:, 0] = float("inf")
    # A stable descending sort keeps equal scores in index order: this is the tie rule.
    idx = torch.sort(score, dim=1, descending=True, stable=True).indices[:, :count]
    valid = torch.arange(count, device=s.device)[None, :] < torch.tensor(n_sel, device=s.device)[:, None]
    return idx.masked_fill(~valid, 0), valid


def real_mask(lengths, total, device):
    """[B, T] bool: True at real (unpadded) positions."""
    lens = torch.as_tensor(lengths, device=device)
    return torch.arange(total, device=device)[None, :] < lens[:, None]


def pad_batch(seqs, pad_id, device=None):
    """Right-pads a list of token id lists: returns (ids [B, T] long, lengths list of int)."""
    lengths = [len(s) for s in seqs]
    if not seqs or min(lengths) < 1:
        raise ValueError("[pad_batch] every sequence needs at least one token")
    ids = torch.full((len(seqs), max(lengths)), pad_id, dtype=torch.long)
    for b, seq in enumerate(seqs):
        ids[b, :len(seq)] = torch.as_tensor(seq, dtype=torch.long)
    return ids.to(device) if device is not None else ids, lengths


# ----------------------------------------------------------------------------------------------
# Modules. Attribute names are the SPEC tensor name components.

class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        ct = compute_dtype(x.dtype)
        xc = x.to(ct)
        y = xc * torch.rsqrt(xc.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight.to(ct)
        return y.to(x.dtype)


class Importance(nn.Module):
    """s = u . w_imp + b_imp. Stored as weight [D], bias [1] (SPEC shapes, not nn.Linear's [1, D])."""

    def __init__(self, dim):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(dim))
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, u):
        return u @ self.weight + self.bias


class Projections(nn.Module):
    """Q, K, V [heads*dh, D] and O [D, heads*dh] of one attention channel; no biases."""

    def __init__(self, dim, heads, head_dim):
        super().__init__()
        width = heads * head_dim
        self.q = nn.Linear(dim, width, bias=False)
        self.k = nn.Linear(dim, width, bias=False)
        self.v = nn.Linear(dim, width, bias=False)
        self.o = nn.Linear(width, dim, bias=False)

    def qkv(self, u, heads, head_dim):
        """Prefix slices for `heads` heads; returns three [B, heads, T, dh] tensors."""
        batch, total, _ = u.shape
        width = heads * head_dim

        def split(w):
            return F.linear(u, w[:width]).view(batch, total, heads, head_dim).transpose(1, 2)

        return split(self.q.weight), split(self.k.weight), split(self.v.weight)

    def out(self, a):
        """a [B, heads, T, dh] -> [B, T, D] through the first heads*dh columns of O."""
        batch, heads, total, head_dim = a.shape
        merged = a.transpose(1, 2).reshape(batch, total, heads * head_dim)
        return F.linear(merged, self.o.weight[:, :heads * head_dim])


class SlimFFN(nn.Module):
    def __init__(self, dim, max_hidden):
        super().__init__()
        self.up = nn.Linear(dim, max_hidden, bias=False)
        self.down = nn.Linear(max_hidden, dim, bias=False)

    def forward(self, v, units):
        return F.linear(F.gelu(F.linear(v, self.up.weight[:units])), self.down.weight[:, :units])


def _softmax(logits, like):
    """Softmax over the last dim in at least FP32 (max subtracted inside torch.softmax)."""
    return torch.softmax(logits.to(compute_dtype(logits.dtype)), dim=-1).to(like.dtype)


class Layer(nn.Module):
    def __init__(self, config):
        super().__init__()
        d, dh = config["d_model"], config["head_dim"]
        self.head_dim = dh
        self.attn_norm = RMSNorm(d, config["rms_eps"])
        self.importance = Importance(d)
        # `global` is a Python keyword: registered by name so the tensor names stay `layers.l.global.*`.
        self.add_module("global", Projections(d, config["n_heads"], dh))
        self.local = Projections(d, config["n_local_heads"], dh)
        self.gate = nn.Linear(d, 2)
        self.ffn_norm = RMSNorm(d, config["rms_eps"])
        self.ffn = SlimFFN(d, config["ffn_max_dim"])

    @property
    def global_(self):
        return self._modules["global"]

    def global_channel(self, u, s, lengths, heads, ks, cos, sin, trace=None, stats=None):
        """Top-k global attention. u [B, T, D], s [B, T]; returns [B, T, D] (before the gate).

        stats: optional list; gets {"s" (with gradient), "idx", "valid", "probs" (detached, [B, heads,
        T, K] over the selected keys)} per call, for the trainer's importance loss.
        """
        q, k, v = self.global_.qkv(u, heads, self.head_dim)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        idx, valid = select_keys(s, lengths, ks)
        if trace is not None:
            trace.append({"s": s.detach(), "lengths": list(lengths), "ks": list(ks), "idx": idx, "valid": valid})
        batch, _, _, head_dim = k.shape
        gather = idx[:, None, :, None].expand(batch, heads, idx.shape[1], head_dim)
        k_sel, v_sel = k.gather(2, gather), v.gather(2, gather)
        bias = F.logsigmoid(s).gather(1, idx)                     # log(sigmoid(s_j)) = -softplus(-s_j)
        logits = (q @ k_sel.transpose(-1, -2)) / math.sqrt(head_dim) + bias[:, None, None, :]
        logits = logits.masked_fill(~valid[:, None, None, :], float("-inf"))
        probs = _softmax(logits, v_sel)
        if stats is not None:
            stats.append({"s": s, "idx": idx, "valid": valid, "probs": probs.detach()})
        return self.global_.out(probs @ v_sel)

    def local_channel(self, u, lengths, heads, window, cos, sin, block=64):
        """Banded attention |i - j| <= window, computed per block of `block` queries.

        Query block n (positions n*c .. n*c+c-1) sees key positions n*c-w .. n*c+c-1+w, so memory is
        O(T (c + 2w)) instead of O(T^2).
        """
        q, k, v = self.local.qkv(u, heads, self.head_dim)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        batch, _, total, head_dim = q.shape
        w = min(window, total - 1)
        c = min(block, total)
        nb = -(-total // c)
        padded = nb * c
        span = c + 2 * w
        qb = F.pad(q, (0, 0, 0, padded - total)).view(batch, heads, nb, c, head_dim)
        kb = F.pad(k, (0, 0, w, padded - total + w)).unfold(2, span, c)   # [B, h, nb, dh, span]
        vb = F.pad(v, (0, 0, w, padded - total + w)).unfold(2, span, c)
        logits = torch.einsum("bhnqd,bhndk->bhnqk", qb, kb) / math.sqrt(head_dim)
        dev = u.device
        qpos = (torch.arange(nb, device=dev) * c)[:, None] + torch.arange(c, device=dev)[None, :]
        kpos = (torch.arange(nb, device=dev) * c)[:, None] - w + torch.arange(span, device=dev)[None, :]
        rel = kpos[:, None, :] - qpos[:, :, None]                         # [nb, c, span]
        lens = torch.as_tensor(lengths, device=dev)
        key_real = (kpos[None] >= 0) & (kpos[None] < lens[:, None, None])  # [B, nb, span]
        valid = (rel.abs() <= w)[None] & key_real[:, :, None, :]
        # Padded queries have no real key in reach; letting them see themselves keeps every softmax row
        # finite (a NaN there would leak through 0 * NaN). Real queries see themselves anyway.
        valid = valid | (rel == 0)[None]
        logits = logits.masked_fill(~valid[:, None], float("-inf"))
        a = torch.einsum("bhnqk,bhndk->bhnqd", _softmax(logits, vb), vb)
        a = a.reshape(batch, heads, padded, head_dim)[:, :, :total]
        return self.local.out(a)

    def forward(self, h, lengths, plan, cos, sin, trace=None):
        u = self.attn_norm(h)
        s = self.importance(u)
        og = self.global_channel(u, s, lengths, plan["hg"], plan["ks"], cos, sin, trace, plan.get("stats"))
        ol = self.local_channel(u, lengths, plan["hl"], plan["window"], cos, sin)
        g = torch.sigmoid(self.gate(u))
        h = h + g[..., 0:1] * og + g[..., 1:2] * ol
        if not plan["skip_ffn"]:
            h = h + self.ffn(self.ffn_norm(h), plan["units"])
        return h


class MlmBias(nn.Module):
    """The mlm head owns only its bias [V]; the weight is tied to embed.weight."""

    def __init__(self, vocab):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(vocab))


class DeepseekEncoder(nn.Module):
    """The encoder of SPEC.md with its heads.

    config: the SPEC section 1 object; paths: name -> path object; heads: the metadata head list.
    `trace`: set to a list to record every global key selection (for parity-case diagnostics).
    `attn_stats`: set to a list to collect, per layer, the importance s and the global attention
    probabilities (see Layer.global_channel); the trainer's importance loss reads them.
    """

    def __init__(self, config, paths, heads):
        super().__init__()
        self.config = dict(validate_config(config))
        self.paths = {name: dict(p) for name, p in validate_paths(paths, config).items()}
        self.head_defs = [dict(h) for h in validate_heads(heads)]
        d = config["d_model"]
        self.embed = nn.Embedding(config["vocab_size"], d)
        self.layers = nn.ModuleList(Layer(config) for _ in range(config["n_layers"]))
        self.final_norm = RMSNorm(d, config["rms_eps"])
        self.heads = nn.ModuleDict()
        for head in self.head_defs:
            if head["type"] == "embedding":
                self.heads[head["name"]] = nn.Linear(d, head["dim"], bias=False)
            elif head["type"] == "mlm":
                self.heads[head["name"]] = MlmBias(config["vocab_size"])
            elif head["type"] in ("segment_labels", "sequence_classes"):
                self.heads[head["name"]] = SegmentHead(d, len(head["labels"]), head.get("lexical"))
            else:
                self.heads[head["name"]] = nn.Linear(d, len(head["labels"]))
        self.trace = None
        self.attn_stats = None

    def resolve_path(self, path=None):
        """A path name or a full path object -> a validated path object."""
        if path is None:
            path = self.config["default_path"]
        if isinstance(path, str):
            if path not in self.paths:
                raise ValueError(f"[path] unknown path '{path}', known: {sorted(self.paths)}")
            return self.paths[path]
        return validate_path(path, self.config, "path")

    def _plan(self, path, top_k, window):
        """Per-forward constants: heads, FFN units, skipped layers, top-k spec, window."""
        p = self.resolve_path(path)
        spec = top_k if top_k is not None else p.get("top_k")
        spec = spec if spec is not None else self.config["top_k"]
        validate_top_k(spec, "top_k")
        w = self.config["window"] if window is None else window
        if not _is_int(w) or w < 0:
            raise ValueError(f"[window] must be an integer >= 0, got {w!r}")
        return {
            "hg": p["attn_heads"],
            "hl": min(max(1, p["attn_heads"] // 2), self.config["n_local_heads"]),
            "units": math.floor(p["ffn_ratio"] * self.config["ffn_dim"]),
            "skip": set(p["skip_ffn_layers"]),
            "top_k": spec,
            "window": w,
        }

    def encode_pieces(self, ids, lengths, path=None, top_k=None, window=None):
        """One plain forward pass, no windowing: ids [B, T] right-padded, lengths ints.

        Returns z [B, T, D] (final norm output) with zeros at padded positions.
        """
        plan = self._plan(path, top_k, window)
        total = ids.shape[1]
        if min(lengths) < 1 or max(lengths) > total:
            raise ValueError(f"[encode] lengths {lengths} do not fit ids of width {total}")
        plan["ks"] = [resolve_k(plan["top_k"], t) for t in lengths]
        plan["stats"] = self.attn_stats
        h = self.embed(ids)
        cos, sin = rope_cos_sin(total, self.config["head_dim"], self.config["rope_theta"], h.device, h.dtype)
        for l, layer in enumerate(self.layers):
            plan["skip_ffn"] = l in plan["skip"]
            h = layer(h, lengths, plan, cos, sin, self.trace)
        z = self.final_norm(h)
        return z.masked_fill(~real_mask(lengths, total, z.device)[..., None], 0.0)

    def encode(self, ids, lengths, path=None, top_k=None, window=None):
        """Windowed encode (SPEC section 5): sequences longer than max_len run as windows of max_len,
        all windows of the batch in one padded pass; z is merged per token by the merge rule.

        Returns z [B, T, D], zeros at padded positions.
        """
        max_len, overlap = self.config["max_len"], self.config["window_overlap"]
        total = ids.shape[1]
        if max(lengths) <= max_len:
            width = max(lengths)
            z = self.encode_pieces(ids[:, :width], lengths, path, top_k, window)
            return F.pad(z, (0, 0, 0, total - width))
        pieces, piece_lens, plans = [], [], []
        for b, t in enumerate(lengths):
            starts = window_starts(t, max_len, overlap)
            first = len(pieces)
            for start in starts:
                pieces.append(ids[b, start:start + min(t, max_len)])
                piece_lens.append(min(t, max_len))
            plans.append((first, starts))
        width = max(piece_lens)
        piece_ids = torch.stack([F.pad(p, (0, width - p.shape[0]), value=self.config["pad_id"]) for p in pieces])
        zp = self.encode_pieces(piece_ids, piece_lens, path, top_k, window)
        rows = []
        for b, t in enumerate(lengths):
            first, starts = plans[b]
            owners = merge_owners(t, starts, max_len)
            pidx = torch.tensor([first + w for w, _ in owners], device=zp.device)
            off = torch.tensor([o for _, o in owners], device=zp.device)
            rows.append(F.pad(zp[pidx, off], (0, 0, 0, total - t)))
        return torch.stack(rows)

    def run_heads(self, z, lengths, segments=None, names=None, ids=None, segment_starts=None):
        """Heads on z [B, T, D] (zeros at padding). Returns name -> output:

        token_tags [B, T, C] (zeros at padding); segment_labels: list over the batch of [S_b, C]
        (an empty span gives a zero row); sequence_classes [B, C]; embedding [B, E]; mlm [B, T, V].
        segments: list over the batch of [[begin, end], ...] token spans (needed by segment_labels).
        ids: [B, T] token ids (needed by segment_labels heads with a lexical bag).
        segment_starts: list over the batch of each span's first token in the whole document, for a
        lexical bag's position bins when a sequence is a window of a longer document (None, for the
        batch or one sequence: each span's begin).
        """
        total = z.shape[1]
        mask = real_mask(lengths, total, z.device)[..., None]
        lens = torch.as_tensor(lengths, device=z.device, dtype=z.dtype)[:, None]
        mean = z.sum(1) / lens                    # z is zero at padding: a masked mean
        out = {}
        for head in self.head_defs:
            name, kind = head["name"], head["type"]
            if names is not None and name not in names:
                continue
            module = self.heads[name]
            if kind == "token_tags":
                out[name] = module(z).masked_fill(~mask, 0.0)
            elif kind == "sequence_classes":
                out[name] = self._sequence_classes(mean, lengths, module, name, ids)
            elif kind == "embedding":
                y = module(mean)
                norm = y.norm(dim=-1, keepdim=True)
                # Division by the exact norm; the clamp only matters for norm == 0, where y is 0 too.
                out[name] = y / norm.clamp_min(torch.finfo(y.dtype).tiny)
            elif kind == "mlm":
                out[name] = F.linear(z, self.embed.weight.to(z.dtype), module.bias).masked_fill(~mask, 0.0)
            else:
                out[name] = self._segments(z, lengths, segments, module, name, ids, segment_starts)
        return out

    @staticmethod
    def _sequence_classes(mean, lengths, module, name, ids=None):
        """W @ masked mean + bias, plus the lexical bag of the whole sequence [0, T) (zeros for T = 0)."""
        logits = module(mean)
        lengths_t = torch.as_tensor(lengths, device=logits.device)
        logits = logits.masked_fill((lengths_t == 0)[:, None], 0.0)
        if module.lexical is None:
            return logits
        if ids is None:
            raise ValueError(f"[heads.{name}] a lexical bag needs the token ids")
        rows = [b for b, t in enumerate(lengths) if t > 0]
        if not rows:
            return logits
        seqs = [ids[b, :lengths[b]].tolist() if torch.is_tensor(ids) else list(ids[b]) for b in rows]
        lex = torch.cat([module.lexical(seq, [[0, len(seq)]]) for seq in seqs]).to(logits.dtype)
        return logits.index_add(0, torch.tensor(rows, device=logits.device), lex)

    @staticmethod
    def _segments(z, lengths, segments, module, name, ids=None, segment_starts=None):
        if segments is None:
            segments = [[] for _ in lengths]
        if len(segments) != len(lengths):
            raise ValueError(f"[heads.{name}] {len(segments)} segment lists for a batch of {len(lengths)}")
        result = []
        for b, spans in enumerate(segments):
            rows = []
            for begin, end in spans:
                if not 0 <= begin <= end <= lengths[b]:
                    raise ValueError(f"[heads.{name}] span [{begin}, {end}) outside sequence {b} of "
                                     f"{lengths[b]} tokens")
                if end > begin:
                    rows.append(module(z[b, begin:end].mean(0)))
                else:
                    rows.append(z.new_zeros(module.out_features))
            rows = torch.stack(rows) if rows else z.new_zeros(0, module.out_features)
            lexical = getattr(module, "lexical", None)
            if lexical is not None and rows.shape[0]:
                if ids is None:
                    raise ValueError(f"[heads.{name}] a lexical bag needs the token ids")
                seq = ids[b, :lengths[b]].tolist() if torch.is_tensor(ids) else list(ids[b])
                full = [i for i, (begin, end) in enumerate(spans) if end > begin]
                if full:
                    given = None if segment_starts is None else segment_starts[b]
                    starts = None if given is None else [given[i] for i in full]
                    lex = lexical(seq, [spans[i] for i in full], starts).to(rows.dtype)
                    rows = rows.index_add(0, torch.tensor(full, device=rows.device), lex)
            result.append(rows)
        return result

    def forward(self, ids, lengths=None, path=None, top_k=None, window=None, segments=None, heads=None,
                segment_starts=None):
        """ids: [B, T] long right-padded (with lengths) or a list of token id lists.

        path: name or path object; top_k: top-k spec overriding the path's; window: local radius
        override; heads: names to run (None: all); segment_starts: see run_heads. Returns
        {"hidden": z [B, T, D], "heads": {...}}.
        """
        if not torch.is_tensor(ids):
            ids, lengths = pad_batch(ids, self.config["pad_id"], self.embed.weight.device)
        elif lengths is None:
            lengths = [ids.shape[1]] * ids.shape[0]
        lengths = [int(t) for t in lengths]
        z = self.encode(ids, lengths, path, top_k, window)
        return {"hidden": z, "heads": self.run_heads(z, lengths, segments, heads, ids, segment_starts)}


# ----------------------------------------------------------------------------------------------
# Plain references and random initialization.

def dense_attention_reference(u, layer, attn_heads, rope_theta, keys=None):
    """The global channel of one layer for ONE sequence by ordinary dense attention.

    u: [T, D] (real tokens only); layer: a `Layer`; attn_heads: heads used (prefix); keys: optional
    list of key indices to restrict to (all real keys when None). Written independently of the model's
    gather/sort/blocked code (explicit RoPE formula, explicit softmax), so tests can hold the two together.
    Returns Og [T, D] (after the O projection, before the gate).
    """
    total = u.shape[0]
    dh = layer.head_dim
    width = attn_heads * dh
    proj = layer.global_
    s = u @ layer.importance.weight + layer.importance.bias
    bias = -F.softplus(-s)
    q = (u @ proj.q.weight[:width].T).view(total, attn_heads, dh)
    k = (u @ proj.k.weight[:width].T).view(total, attn_heads, dh)
    v = (u @ proj.v.weight[:width].T).view(total, attn_heads, dh)
    inv = rope_inv_freq(dh, rope_theta)
    angle = (torch.arange(total, dtype=torch.float32)[:, None] * inv[None, :]).to(u.dtype)
    cos, sin = angle.cos()[:, None, :], angle.sin()[:, None, :]
    half = dh // 2

    def rot(x):
        lo, hi = x[..., :half], x[..., half:]
        return torch.cat((lo * cos - hi * sin, hi * cos + lo * sin), dim=-1)

    q, k = rot(q), rot(k)
    logits = torch.einsum("ihd,jhd->hij", q, k) / math.sqrt(dh) + bias[None, None, :]
    if keys is not None:
        allowed = torch.zeros(total, dtype=torch.bool)
        allowed[torch.as_tensor(keys)] = True
        logits = logits.masked_fill(~allowed[None, None, :], float("-inf"))
    e = torch.exp(logits - logits.max(dim=-1, keepdim=True).values)
    p = e / e.sum(dim=-1, keepdim=True)
    a = torch.einsum("hij,jhd->ihd", p, v).reshape(total, width)
    return a @ proj.o.weight[:, :width].T


DEFAULT_INIT = {
    # Scales for random (untrained) models, chosen so a random model is a meaningful parity target:
    # attention logits have std ~2 (not uniform), importance s has std ~2.5 (top-k changes results),
    # gates vary per token, and the residual stream grows slowly.
    "embed_std": 1.0,
    "norm_jitter": 0.1,
    "qk_gain": 1.5,
    "v_gain": 1.0,
    "o_gain": 0.5,
    "importance_std": 2.5,
    "importance_bias": 0.5,
    "gate_gain": 1.0,
    "ffn_gain": 1.0,
    "head_gain": 1.0,
}


def init_weights(model, seed, scales=None):
    """Deterministic random weights (CPU generator, then copied): same seed, same model on any device."""
    s = dict(DEFAULT_INIT)
    s.update(scales or {})
    gen = torch.Generator().manual_seed(seed)
    d = model.config["d_model"]

    def normal(shape, std, mean=0.0):
        return torch.randn(shape, generator=gen, dtype=torch.float32) * std + mean

    with torch.no_grad():
        for name, param in sorted(model.named_parameters()):
            shape = tuple(param.shape)
            parts = name.split(".")
            if name == "embed.weight":
                value = normal(shape, s["embed_std"])
            elif parts[-2].endswith("norm"):
                value = normal(shape, s["norm_jitter"], 1.0)
            elif parts[-2] == "importance":
                value = normal(shape, s["importance_std"] / math.sqrt(d)) if parts[-1] == "weight" \
                    else normal(shape, 0.5, s["importance_bias"])
            elif parts[-2] in ("q", "k"):
                value = normal(shape, s["qk_gain"] / math.sqrt(shape[1]))
            elif parts[-2] == "v":
                value = normal(shape, s["v_gain"] / math.sqrt(shape[1]))
            elif parts[-2] == "o":
                value = normal(shape, s["o_gain"] / math.sqrt(shape[1]))
            elif parts[-2] == "gate":
                value = normal(shape, s["gate_gain"] / math.sqrt(d)) if parts[-1] == "weight" else normal(shape, 0.5)
            elif parts[-2] == "up":
                value = normal(shape, 1.0 / math.sqrt(shape[1]))
            elif parts[-2] == "down":
                value = normal(shape, s["ffn_gain"] / math.sqrt(shape[1]))
            elif parts[0] == "heads":
                value = normal(shape, s["head_gain"] / math.sqrt(d)) if parts[-1] == "weight" else normal(shape, 0.1)
            else:
                raise AssertionError(f"init_weights: no rule for parameter {name}")
            param.copy_(value)
    return model
