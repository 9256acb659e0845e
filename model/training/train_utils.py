"""Pieces shared by the pretraining (train.py) and fine-tuning (finetune.py) loops.

Initialization, AdamW with warmup + cosine, atomic checkpoints with RNG states, the progress line,
SIGINT/SIGTERM handling, and the losses shared by both loops (distillation KL, importance loss).
"""
import glob
import math
import os
import random
import re
import signal
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from deepseek_model import real_mask  # noqa: E402

# ----------------------------------------------------------------------------------------------
# Initialization and optimizer


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed % (1 << 32))
    torch.manual_seed(seed)


def init_for_training(model, seed, std=0.02):
    """Trainable initialization (not deepseek_model.init_weights, which makes parity-test models):
    normal(0, std) matrices, the residual outputs (attention O, FFN down) scaled by 1/sqrt(2 L), norms 1,
    gate bias 0 (both channels at 0.5), importance weight normal(0, std) and bias 0, head biases 0.
    Deterministic: a CPU generator seeded with `seed`, parameters in name order.
    """
    gen = torch.Generator().manual_seed(seed)
    resid = std / math.sqrt(2 * model.config["n_layers"])
    with torch.no_grad():
        for name, param in sorted(model.named_parameters()):
            parts = name.split(".")
            if parts[-2].endswith("norm"):
                value = torch.ones(param.shape)
            elif parts[-1] == "bias":
                value = torch.zeros(param.shape)
            else:
                scale = resid if parts[-2] in ("o", "down") else std
                value = torch.randn(tuple(param.shape), generator=gen) * scale
            param.copy_(value)
    return model


def make_optimizer(named_params, optim, lr_scale=None):
    """AdamW; no weight decay on vectors (norms, biases, importance weights).

    lr_scale: optional function name -> multiplier of the base lr (fine-tuning: heads faster).
    """
    groups = {}
    for name, p in named_params:
        if not p.requires_grad:
            continue
        decay = optim["weight_decay"] if p.dim() >= 2 else 0.0
        scale = lr_scale(name) if lr_scale else 1.0
        groups.setdefault((decay, scale), []).append(p)
    param_groups = [{"params": ps, "weight_decay": d, "lr": optim["lr"] * s, "lr_scale": s}
                    for (d, s), ps in sorted(groups.items())]
    return torch.optim.AdamW(param_groups, lr=optim["lr"], betas=tuple(optim["betas"]), eps=optim["eps"])


def lr_factor(step, total, warmup, min_ratio):
    """Linear warmup over `warmup` steps, then cosine from 1 to min_ratio at `total` (step is 0-based)."""
    if warmup and step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


def make_scheduler(optimizer, total, optim):
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_factor(step, total, optim["warmup_steps"], optim["min_lr_ratio"]))


# ----------------------------------------------------------------------------------------------
# Checkpoints

CKPT_PATTERN = re.compile(r"^ckpt-(\d{8})\.pt$")


def rng_state():
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state):
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(directory, step, state, keep):
    """Writes DIR/ckpt-<step>.pt atomically (a .tmp file, fsync, rename), then keeps the newest `keep`.

    A crash leaves at most a stray .tmp file, which `latest_checkpoint` never reads.
    """
    os.makedirs(directory, exist_ok=True)
    final = os.path.join(directory, f"ckpt-{step:08d}.pt")
    tmp = final + ".tmp"
    with open(tmp, "wb") as f:
        torch.save(state, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, final)
    try:
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass
    for old in list_checkpoints(directory)[:-keep]:
        os.remove(old)
    return final


def list_checkpoints(directory):
    """Complete checkpoints (ckpt-<8 digits>.pt; never .tmp files), oldest first."""
    found = []
    for path in glob.glob(os.path.join(directory, "ckpt-*.pt")):
        m = CKPT_PATTERN.match(os.path.basename(path))
        if m:
            found.append((int(m.group(1)), path))
    return [p for _, p in sorted(found)]


def latest_checkpoint(directory):
    """The newest checkpoint that loads; a damaged newest one is reported and the previous one used."""
    for path in reversed(list_checkpoints(directory)):
        try:
            # weights_only=False: checkpoints hold RNG states and plain Python objects (PyTorch >= 2.6
            # defaults to True). Only load checkpoints this trainer wrote.
            return path, torch.load(path, map_location="cpu", weights_only=False)
        except Exception as e:  # a truncated or corrupt file: fall back to the previous checkpoint
            print(f"[checkpoint] {path} does not load ({type(e).__name__}: {e}); trying the previous one",
                  file=sys.stderr)
    return None, None


# ----------------------------------------------------------------------------------------------
# Interruption and progress

class StopFlag:
    """SIGINT / SIGTERM set a flag that the loop checks after each step (a checkpoint is then written);
    a second SIGINT interrupts at once. Use as a context manager; restores the old handlers."""

    def __init__(self):
        self.requested = None
        self._old = {}

    def _handler(self, signum, frame):
        if self.requested is not None and signum == signal.SIGINT:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            raise KeyboardInterrupt
        self.requested = signal.Signals(signum).name
        print(f"\n[train] {self.requested}: finishing this step, then writing a checkpoint "
              f"(press Ctrl-C again to abort at once)", file=sys.stderr, flush=True)

    def __enter__(self):
        import threading
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handler)
        return self

    def __exit__(self, *exc):
        for sig, old in self._old.items():
            signal.signal(sig, old)
        return False


def format_duration(seconds):
    seconds = int(max(0, seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"


class Progress:
    """The progress line: step, losses, tokens/s, lr, ETA. A bar redrawn with \\r on a TTY, plain log
    lines every `log_every` steps otherwise. Speed and ETA use the steps of this process only."""

    def __init__(self, total, start, log_every, stream=None):
        self.total = total
        self.start_step = start
        self.log_every = log_every
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.t0 = time.time()
        self.tokens = 0
        self.recent = []          # (time, tokens) of recent steps, for the speed
        self.dirty = False

    def step(self, step, tokens, metrics, lr):
        now = time.time()
        self.tokens += tokens
        self.recent.append((now, self.tokens))
        self.recent = self.recent[-50:]
        done = step - self.start_step
        elapsed = now - self.t0
        if len(self.recent) >= 2:
            (t_a, n_a), (t_b, n_b) = self.recent[0], self.recent[-1]
            tok_s = (n_b - n_a) / max(1e-9, t_b - t_a)
            step_s = (t_b - t_a) / (len(self.recent) - 1)
        else:
            tok_s, step_s = self.tokens / max(1e-9, elapsed), elapsed / max(1, done)
        eta = step_s * (self.total - step)
        parts = " ".join(f"{k} {v:.3f}" for k, v in metrics.items())
        line = (f"step {step}/{self.total} | {parts} | {tok_s:,.0f} tok/s | lr {lr:.2e} | "
                f"{format_duration(elapsed)} elapsed, ETA {format_duration(eta)}")
        self.last = {"tokens_per_s": tok_s, "step_s": step_s}
        if self.tty:
            width = 20
            fill = int(width * step / max(1, self.total))
            self.stream.write("\r[" + "#" * fill + "." * (width - fill) + "] " + line + "\x1b[K")
            self.stream.flush()
            self.dirty = True
        elif step % self.log_every == 0 or step == self.total:
            print(line, file=self.stream, flush=True)

    def message(self, text):
        if self.dirty:
            self.stream.write("\n")
            self.dirty = False
        print(text, file=self.stream, flush=True)


# ----------------------------------------------------------------------------------------------
# Losses shared by the sandwich in pretraining and fine-tuning

def distill_kl(student_logits, teacher_logits, temperature):
    """T^2 * KL(softmax(teacher / T) || softmax(student / T)), mean over rows (the last dim is classes)."""
    t = temperature
    s = F.log_softmax(student_logits.float() / t, dim=-1)
    p = F.log_softmax(teacher_logits.detach().float() / t, dim=-1)
    return (t * t) * F.kl_div(s, p, log_target=True, reduction="batchmean")


def importance_loss(stats, lengths):
    """The importance scorer's loss from the global-channel statistics of one forward pass.

    For each layer and sequence: the attention mass every key receives (summed over heads and real
    queries, from the detached probabilities) normalized to a distribution t over the real keys; the
    loss is KL(t || softmax(s)) over the real keys, averaged over layers and sequences. Only
    meaningful for dense passes (every real key selected): the scorer learns to rank keys the way the
    dense attention uses them, so top-k keeps the keys that carry the attention.
    """
    if not stats:
        return None
    total = 0.0
    for st in stats:
        s, idx, valid, probs = st["s"], st["idx"], st["valid"], st["probs"]
        width = s.shape[1]
        qmask = real_mask(lengths, probs.shape[2], s.device).to(probs.dtype)
        mass_sel = (probs.float() * qmask[:, None, :, None].float()).sum(dim=(1, 2)) * valid.float()
        mass = torch.zeros(s.shape, device=s.device, dtype=torch.float32).scatter_add(1, idx, mass_sel)
        target = mass / mass.sum(dim=1, keepdim=True).clamp_min(1e-12)
        real = real_mask(lengths, width, s.device)
        log_pred = F.log_softmax(s.float().masked_fill(~real, float("-inf")), dim=1)
        kl = torch.xlogy(target, target) - target * log_pred.masked_fill(~real, 0.0)
        total = total + kl.sum(dim=1).mean()
    return total / len(stats)
