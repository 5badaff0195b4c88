"""The training loop shared by both process models (torchvision-references style).

Plain functions: :func:`lr_at` (the schedule, a pure function of the iteration),
:func:`build_optimizer`, :func:`train_one_epoch`, :func:`evaluate`, and :func:`fit`, which runs
the epochs for the models this process holds (``members``) and talks to the other processes
only through a ``comm`` object (:class:`LocalComm` in one process; ``distributed.DistComm``
across processes). The logit exchange and its timeouts live in ``distributed.py`` only.

Determinism: every random draw is a function of the run's seed. Model ``i`` is initialised
under ``torch.manual_seed(seed_for(seed, "init", i))``; its dropout uses its own generator
state, reseeded at each epoch from ``(seed, i, replica, epoch)``; the clips are a function of
``(seed, epoch, index)`` (the dataset's guarantee). So a run resumed at an epoch boundary ends
with the same weights as an uninterrupted one, and one process holding W models (cohort)
computes what W processes compute.

The builders (:func:`build_model`, :func:`build_dataset`, :func:`make_loader`, ...) are thin
module-level hooks onto ``mmlkit.models`` / ``mmlkit.data``; the tests replace them with fakes.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import json
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mmlkit.config import EvalConfig, OptimConfig, RunConfig, model_name
from mmlkit.errors import CheckpointError, DataError
from mmlkit.fileio import atomic_path, save_torch, write_json
from mmlkit.losses import mutual_kl
from mmlkit.models.safe_load import safe_load
from mmlkit.progress import bar as progress_bar
from mmlkit.progress import summary
from mmlkit.topk import topk_correct

CSV_COLUMNS: tuple[str, ...] = ("epoch", "lr", "ce", "kl", "train_top1", "val_top1", "val_top5", "seconds")
TIMING_COLUMNS: tuple[str, ...] = ("seconds",)


# ------------------------------------------------------------------------------------------
# Hooks onto the other packages (replaced by fakes in the tests).
# ------------------------------------------------------------------------------------------

def build_model(cfg: RunConfig, num_classes: int, modality: str) -> nn.Module:
    """One TSN of ``modality`` (``mmlkit.models.build_model``)."""
    from mmlkit.models import build_model as _build
    return _build(cfg.model, num_classes, cfg.data.num_segments, modality)


def param_groups(model: nn.Module, lr: float, weight_decay: float) -> list[dict]:
    from mmlkit.models import param_groups as _groups
    return _groups(model, lr, weight_decay)


def init_from_checkpoint(model: nn.Module, path: str) -> list[str]:
    from mmlkit.models import init_from_checkpoint as _init
    return _init(model, path)


def save_model(path: Path, model: nn.Module, **state: Any) -> None:
    """Write a model checkpoint atomically (``mmlkit.models.save_checkpoint``)."""
    from mmlkit.models import save_checkpoint
    save_checkpoint(path, model, **state)


def resolve_root(cfg: RunConfig) -> Path:
    from mmlkit.data import resolve_root as _resolve
    return Path(_resolve(cfg.data))


def num_classes(cfg: RunConfig) -> int:
    from mmlkit.data import num_classes as _n
    return int(_n(cfg.data))


def build_dataset(cfg: RunConfig, split: str, modalities: Sequence[str], train: bool) -> Any:
    """Training clips (``train=True``) or validation views (single centre view, EvalConfig())."""
    from mmlkit.data import build_dataset as _build
    eval_cfg = None if train else EvalConfig()
    return _build(cfg.data, split, tuple(modalities), train, cfg.seed, eval_cfg)


def collate_fn() -> Callable:
    """The batch collate of the data pipeline (used by the sharded loader)."""
    from mmlkit.data import collate
    return collate


def make_loader(dataset: Any, batch_size: int, shuffle: bool, seed: int, epoch: int, workers: int,
                drop_last: bool) -> Any:
    from mmlkit.data import make_loader as _make
    return _make(dataset, batch_size, shuffle, seed, epoch, workers, drop_last)


# ------------------------------------------------------------------------------------------
# Pure pieces: seeds, schedule, optimizer.
# ------------------------------------------------------------------------------------------

def seed_for(*keys: int | str) -> int:
    """A 63-bit seed derived from ``keys`` (ints or short strings), stable across runs and hosts."""
    ints = [k if isinstance(k, int) else int.from_bytes(str(k).encode()[:8].ljust(8, b"\0"), "little")
            for k in keys]
    return int(np.random.SeedSequence(ints).generate_state(1, np.uint64)[0] & ((1 << 63) - 1))


def lr_at(optim: OptimConfig, epoch: int, it: int, iters_per_epoch: int) -> float:
    """Learning rate of iteration ``it`` (0-based) of ``epoch`` (0-based).

    Linear warm-up from 0 over ``warmup_epochs`` (per iteration), then ``step`` (x0.1 at each
    epoch of ``lr_steps``) or ``cos`` (per-iteration cosine from ``lr`` to 0 over the epochs
    after the warm-up).
    """
    iters = max(1, iters_per_epoch)
    t = epoch + it / iters                                  # fractional epochs done
    if optim.warmup_epochs > 0 and t < optim.warmup_epochs:
        return optim.lr * (epoch * iters + it + 1) / (optim.warmup_epochs * iters)
    if optim.lr_type == "step":
        return optim.lr * 0.1 ** sum(epoch >= s for s in optim.lr_steps)
    span = max(1e-12, optim.epochs - optim.warmup_epochs)
    return optim.lr * 0.5 * (1.0 + math.cos(math.pi * min(1.0, (t - optim.warmup_epochs) / span)))


def build_optimizer(model: nn.Module, optim: OptimConfig) -> torch.optim.SGD:
    """SGD (momentum, weight decay) over ``param_groups``; each group keeps ``lr_mult`` and
    ``decay_mult`` (derived from the group's lr / weight_decay when the groups lack them)."""
    groups = param_groups(model, optim.lr, optim.weight_decay)
    out = []
    for g in groups:
        g = dict(g)
        if "lr_mult" not in g:
            g["lr_mult"] = g.get("lr", optim.lr) / optim.lr
        if "decay_mult" not in g:
            g["decay_mult"] = (g.get("weight_decay", optim.weight_decay) / optim.weight_decay
                               if optim.weight_decay else 1.0)
        g["lr"] = optim.lr * g["lr_mult"]
        g["weight_decay"] = optim.weight_decay * g["decay_mult"]
        if len(list(g["params"])) > 0:
            out.append(g)
    return torch.optim.SGD(out, lr=optim.lr, momentum=optim.momentum, weight_decay=optim.weight_decay)


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for g in optimizer.param_groups:
        g["lr"] = lr * g.get("lr_mult", 1.0)


# ------------------------------------------------------------------------------------------
# One model held by this process.
# ------------------------------------------------------------------------------------------

@dataclass
class Member:
    """A model of the cohort held by this process, with its optimizer and RNG state."""

    index: int
    modality: str
    model: nn.Module
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    replica: int = 0
    cpu_rng: torch.Tensor | None = None
    cuda_rng: torch.Tensor | None = None
    best_top1: float = -1.0
    best_epoch: int = -1
    history: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return model_name(self.index, self.modality)

    def reseed(self, seed: int, epoch: int, device: torch.device) -> None:
        """Give this model's dropout its own generator state for ``epoch``."""
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(seed_for(seed, "dropout", self.index, self.replica, epoch))
            self.cpu_rng = torch.get_rng_state()
            self.cuda_rng = torch.cuda.get_rng_state(device) if device.type == "cuda" else None

    @contextlib.contextmanager
    def own_rng(self, device: torch.device):
        """Run the block on this model's generator state (the others' states are untouched)."""
        cpu, cud = torch.get_rng_state(), (torch.cuda.get_rng_state(device) if device.type == "cuda" else None)
        if self.cpu_rng is not None:
            torch.set_rng_state(self.cpu_rng)
        if self.cuda_rng is not None:
            torch.cuda.set_rng_state(self.cuda_rng, device)
        try:
            yield
        finally:
            self.cpu_rng = torch.get_rng_state()
            torch.set_rng_state(cpu)
            if cud is not None:
                self.cuda_rng = torch.cuda.get_rng_state(device)
                torch.cuda.set_rng_state(cud, device)


def make_member(cfg: RunConfig, index: int, modality: str, n_classes: int, device: torch.device,
                replica: int = 0) -> Member:
    """Build model ``index`` (seeded from (seed, index)), apply ``tune_from``, then its optimizer.

    The optimizer is built after the cross-modal conversion of ``tune_from`` so the converted
    conv1 is the one that trains (the released code's defect).
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed_for(cfg.seed, "init", index))
        model = build_model(cfg, n_classes, modality)
    notes = list(init_from_checkpoint(model, cfg.tune_from)) if cfg.tune_from else []
    # channels_last: the convolutions run 1.3-1.5x faster on the CPU (and use tensor cores on GPUs)
    model.to(device=device, memory_format=torch.channels_last)
    optimizer = build_optimizer(model, cfg.optim)
    amp = bool(cfg.optim.amp and device.type == "cuda")
    scaler = torch.amp.GradScaler("cuda", enabled=amp)
    return Member(index, modality, model, optimizer, scaler, replica=replica, notes=notes)


class LocalComm:
    """Every model in this process: peers are the other local models; nothing crosses processes."""

    rank, world_size, n_replicas, replica = 0, 1, 1, 0
    is_main = True

    def peers(self, epoch: int, step: int, batch: dict, logits: list[torch.Tensor]) -> list[list[torch.Tensor]]:
        """For each local model, its peers' detached logits in model order."""
        return [[z for j, z in enumerate(logits) if j != i] for i in range(len(logits))]

    def sync_grads(self, member: Member) -> None:
        pass

    def reduce_counts(self, member: Member, counts: torch.Tensor) -> torch.Tensor:
        return counts

    def agree_epoch(self, epoch: int) -> int:
        return epoch

    def barrier(self) -> None:
        pass

    def gather_metrics(self, metrics: list[dict]) -> list[dict]:
        return metrics

    def is_writer(self, member: Member) -> bool:
        return True


# ------------------------------------------------------------------------------------------
# One epoch, validation.
# ------------------------------------------------------------------------------------------

def train_one_epoch(members: list[Member], loader: Any, comm: Any, cfg: RunConfig, epoch: int,
                    device: torch.device, progress: bool = True, skipped: set | None = None) -> list[dict]:
    """One pass over ``loader``; every local model steps on every batch.

    ``comm.peers`` gives each model its peers' detached logits (in memory or across processes).
    ``skipped``, when given, collects the ids of unreadable videos the batches report.

    Returns one dict per member: lr (last), ce, kl (means over batches), train_top1 (%).
    """
    iters = len(loader)
    amp = bool(cfg.optim.amp and device.type == "cuda")
    for m in members:
        m.model.train()
        m.reseed(cfg.seed, epoch, device)
    sums = [dict(ce=0.0, kl=0.0, correct=0, n=0) for _ in members]
    lr = lr_at(cfg.optim, epoch, 0, iters)
    bar = progress_bar(loader, enabled=progress, total=iters, desc=f"epoch {epoch + 1}/{cfg.optim.epochs}",
                       leave=False, dynamic_ncols=True)
    for it, batch in enumerate(bar):
        lr = lr_at(cfg.optim, epoch, it, iters)
        labels = batch["label"].to(device, non_blocking=True)
        if skipped is not None:
            skipped.update(batch.get("skipped", ()))
        logits = []
        for m in members:
            x = batch["inputs"][m.modality].to(device, non_blocking=True)     # (B, T, C, H, W)
            with m.own_rng(device), torch.autocast(device.type, dtype=torch.float16, enabled=amp):
                logits.append(m.model(x))                                    # (B, K)
        peers = comm.peers(epoch, it, batch, [z.detach().float() for z in logits])
        for k, (m, z, pz) in enumerate(zip(members, logits, peers)):
            set_lr(m.optimizer, lr)
            ce = F.cross_entropy(z.float(), labels)
            kl = (mutual_kl(z, pz, cfg.mutual.mode, cfg.mutual.temperature) if pz
                  else torch.zeros((), device=z.device))
            loss = ce + cfg.mutual.weight * kl if pz else ce
            m.optimizer.zero_grad(set_to_none=True)
            m.scaler.scale(loss).backward()
            comm.sync_grads(m)
            if cfg.optim.clip_grad is not None:
                m.scaler.unscale_(m.optimizer)
                nn.utils.clip_grad_norm_(m.model.parameters(), cfg.optim.clip_grad)
            m.scaler.step(m.optimizer)
            m.scaler.update()
            s = sums[k]
            s["ce"] += float(ce.detach())
            s["kl"] += float(kl.detach())
            s["correct"] += int(topk_correct(z.detach().float(), labels, 1, ties="torch").sum())
            s["n"] += int(labels.shape[0])
        if progress:
            bar.set_postfix({m.name: f"ce {float(s['ce']) / (it + 1):.3f} kl {float(s['kl']) / (it + 1):.3f}"
                             for m, s in zip(members, sums)}, refresh=False)
    bar.close()
    n_it = max(1, iters)
    return [dict(lr=lr, ce=s["ce"] / n_it, kl=s["kl"] / n_it, train_top1=100.0 * s["correct"] / max(1, s["n"]))
            for s in sums]


@torch.no_grad()
def evaluate(model: nn.Module, loader: Any, modality: str, device: torch.device,
             progress: bool = False, skipped: set | None = None) -> torch.Tensor:
    """Correct counts of one model on validation views.

    Batches hold ``inputs[modality]`` float (B, V, T, C, H, W) (or (B, T, C, H, W)); the logits are
    averaged over the V views. Returns float64 tensor [top1 correct, top5 correct, n] (counts,
    so that shards can be summed); n counts the readable videos only, and the ids of the
    unreadable ones are added to ``skipped``.
    """
    model.eval()
    counts = torch.zeros(3, dtype=torch.float64)
    for batch in progress_bar(loader, enabled=progress, desc=f"val {modality}", leave=False):
        if skipped is not None:
            skipped.update(batch.get("skipped", ()))
        if not batch["id"]:
            continue
        x = batch["inputs"][modality].to(device)
        labels = batch["label"].to(device)
        if x.dim() == 6:
            b, v = x.shape[:2]
            z = model(x.flatten(0, 1)).float().view(b, v, -1).mean(1)        # (B, K)
        else:
            z = model(x).float()
        keep = labels >= 0
        c1, c5 = topk_correct(z[keep], labels[keep], (1, 5), ties="torch").sum(0).tolist()
        counts += torch.tensor([c1, c5, int(keep.sum())], dtype=torch.float64)
    return counts


# ------------------------------------------------------------------------------------------
# Files: atomic JSON/torch writes, CSV logs, resume state.
# ------------------------------------------------------------------------------------------

def write_csv(path: Path, rows: list[dict]) -> None:
    """The whole log, rewritten atomically (so a resumed run never duplicates a row)."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(CSV_COLUMNS))
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if r.get(k) is None else r[k]) for k in CSV_COLUMNS})


def state_path(out_dir: Path, member: Member) -> Path:
    return out_dir / f"state_{member.name}.pt"


def save_state(out_dir: Path, member: Member, epochs_done: int, digest: str) -> None:
    """Per-model resume state after ``epochs_done`` epochs; the previous one is kept as ``.prev``
    so that processes killed between two models' writes can still agree on an epoch."""
    path = state_path(out_dir, member)
    blob = dict(epochs_done=epochs_done, digest=digest, model=member.model.state_dict(),
                optimizer=member.optimizer.state_dict(), scaler=member.scaler.state_dict(),
                best_top1=member.best_top1, best_epoch=member.best_epoch, history=member.history)
    # no generator state: every epoch reseeds each model's dropout from (seed, index, replica, epoch)
    if path.exists():
        os.replace(path, path.with_name(path.name + ".prev"))
    save_torch(blob, path)


def _read_state(path: Path) -> dict | None:
    if not path.exists():
        return None
    try:
        return safe_load(path, "resume state")
    except CheckpointError as exc:  # a torn file cannot happen with atomic writes, but say so if it does
        raise CheckpointError(f"{exc}; delete it to restart that run") from None


def available_epochs(out_dir: Path, member: Member) -> dict[int, Path]:
    """epochs_done -> state file, for the current and the previous state of ``member``."""
    out = {}
    for p in (state_path(out_dir, member), state_path(out_dir, member).with_name(state_path(out_dir, member).name + ".prev")):
        st = _read_state(p)
        if st is not None:
            out[int(st["epochs_done"])] = p
    return out


def load_state(path: Path, member: Member, digest: str, device: torch.device) -> int:
    st = _read_state(path)
    if st["digest"] != digest:
        raise CheckpointError(f"{path} belongs to another configuration (digest {st['digest']}, this run {digest}); "
                              "use a fresh out_dir or resume=False")
    member.model.load_state_dict(st["model"])
    member.optimizer.load_state_dict(st["optimizer"])
    member.scaler.load_state_dict(st["scaler"])
    member.best_top1, member.best_epoch = float(st["best_top1"]), int(st["best_epoch"])
    member.history = list(st["history"])
    return int(st["epochs_done"])


# ------------------------------------------------------------------------------------------
# The run.
# ------------------------------------------------------------------------------------------

@dataclass
class TrainResult:
    """What :func:`mmlkit.training.train` leaves in ``out_dir``.

    Attributes:
        out_dir: the run folder.
        checkpoints: per model (model order), the last checkpoint ``model{i}_{Mod}.pt``.
        best: per model, ``model{i}_{Mod}_best.pt`` (highest validation top-1).
        metrics: per model, a flat dict (index, modality, best_top1, best_epoch (1-based),
            final_top1, final_top5, epochs, seconds) -- ``pd.DataFrame(result.metrics)`` ready.
    """

    out_dir: Path
    checkpoints: list[Path]
    best: list[Path]
    metrics: list[dict]

    @classmethod
    def from_done(cls, out_dir: Path) -> "TrainResult":
        d = json.loads((Path(out_dir) / "done.json").read_text())
        names = [model_name(m['index'], m['modality']) for m in d["models"]]
        return cls(Path(out_dir), [Path(out_dir) / f"{n}.pt" for n in names],
                   [Path(out_dir) / f"{n}_best.pt" for n in names], d["models"])


def fit(cfg: RunConfig, out_dir: Path, members: list[Member], comm: Any, device: torch.device, *,
        resume: bool, progress: bool, mode: str) -> TrainResult:
    """Run (or continue) the epochs for this process's ``members``; writes the run's files."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    digest = cfg.digest()
    start = 0
    if resume:
        have = [available_epochs(out_dir, m) for m in members]
        mine = min((max(h) if h else 0) for h in have)
        start = comm.agree_epoch(mine)
        if start > 0:
            for m, h in zip(members, have):
                if start not in h:
                    raise CheckpointError(f"cannot resume {m.name} at epoch {start}: states for epochs "
                                          f"{sorted(h)} in {out_dir}")
                load_state(h[start], m, digest, device)
    if comm.is_main:
        write_json(out_dir / "config.json", cfg.to_dict())
        if start == 0:
            for stale in ("done.json", "state.json"):
                (out_dir / stale).unlink(missing_ok=True)
    if start == 0:
        for m in members:
            if comm.is_writer(m):
                for p in (state_path(out_dir, m), state_path(out_dir, m).with_name(state_path(out_dir, m).name + ".prev")):
                    p.unlink(missing_ok=True)
    modalities = sorted({m.modality for m in members}, key=cfg.modalities.index)
    train_ds = build_dataset(cfg, cfg.data.train_split, modalities, True)
    val_ds = build_dataset(cfg, cfg.data.val_split, modalities, False)
    if comm.n_replicas > 1:
        val_ds = torch.utils.data.Subset(val_ds, list(range(comm.replica, len(val_ds), comm.n_replicas)))
    writers = {}
    if cfg.tensorboard:
        from torch.utils.tensorboard import SummaryWriter
        writers = {m.index: SummaryWriter(str(out_dir / "tensorboard" / m.name)) for m in members if comm.is_writer(m)}
    t_run = time.perf_counter()
    for epoch in range(start, cfg.optim.epochs):
        t0 = time.perf_counter()
        loader = make_train_loader(train_ds, cfg, epoch, comm.replica, comm.n_replicas)
        skipped: set = set()
        stats = train_one_epoch(members, loader, comm, cfg, epoch, device, progress, skipped=skipped)
        last = epoch + 1 == cfg.optim.epochs
        val = [None] * len(members)
        val_skipped: set = set()
        if (epoch + 1) % cfg.eval_freq == 0 or last:
            vloader = make_loader(val_ds, cfg.optim.batch_size, False, cfg.seed, 0, cfg.data.workers, False)
            for k, m in enumerate(members):
                c = comm.reduce_counts(m, evaluate(m.model, vloader, m.modality, device, progress, val_skipped))
                val[k] = (100.0 * float(c[0]) / max(1.0, float(c[2])), 100.0 * float(c[1]) / max(1.0, float(c[2])))
        skipped = sorted(skipped | set(getattr(train_ds, "skipped", ()) or ()))
        if comm.replica == 0 and comm.is_writer(members[0]):
            names = ", ".join(m.name for m in members)
            for ids, split, what in ((skipped, cfg.data.train_split, "each replaced by the next readable one"),
                                     (sorted(val_skipped), cfg.data.val_split,
                                      f"left out: validation accuracy is over {len(val_ds) - len(val_skipped)} "
                                      f"of {len(val_ds)} videos")):
                if ids:
                    print(f"[mmlkit] epoch {epoch + 1} ({names}): {split} split: skipped {len(ids)} unreadable "
                          f"videos ({what}): {ids[:10]}{' ...' if len(ids) > 10 else ''}", flush=True)
        seconds = time.perf_counter() - t0
        for k, m in enumerate(members):
            row = dict(epoch=epoch + 1, **stats[k], val_top1=val[k][0] if val[k] else None,
                       val_top5=val[k][1] if val[k] else None, seconds=round(seconds, 3))
            m.history.append(row)
            if val[k] is not None and val[k][0] > m.best_top1:
                m.best_top1, m.best_epoch = val[k][0], epoch + 1
                if comm.is_writer(m):
                    save_model(out_dir / f"{m.name}_best.pt", m.model, epoch=epoch + 1, best_top1=m.best_top1)
            if comm.is_writer(m):
                save_model(out_dir / f"{m.name}.pt", m.model, epoch=epoch + 1, best_top1=m.best_top1)
                write_csv(out_dir / f"log_{m.name}.csv", m.history)
                if m.index in writers:
                    for key in ("ce", "kl", "train_top1", "lr", "val_top1", "val_top5"):
                        if row[key] is not None:
                            writers[m.index].add_scalar(key, row[key], epoch + 1)
        for m in members:
            if comm.is_writer(m):
                save_state(out_dir, m, epoch + 1, digest)
        comm.barrier()
        if comm.is_main:
            write_json(out_dir / "state.json", {"epochs_done": epoch + 1, "digest": digest}, indent=None)
    for w in writers.values():
        w.close()
    seconds = time.perf_counter() - t_run
    mine = []
    for m in members:
        if not comm.is_writer(m):
            continue
        vals = [r for r in m.history if r.get("val_top1") is not None]
        mine.append(dict(index=m.index, modality=m.modality, best_top1=m.best_top1, best_epoch=m.best_epoch,
                         final_top1=vals[-1]["val_top1"] if vals else None,
                         final_top5=vals[-1]["val_top5"] if vals else None,
                         epochs=cfg.optim.epochs, seconds=round(seconds, 3), notes=m.notes))
    metrics = sorted(comm.gather_metrics(mine), key=lambda d: d["index"])
    if comm.is_main:
        write_json(out_dir / "done.json",
                   {"mode": mode, "world_size": comm.world_size, "digest": digest, "models": metrics})
    comm.barrier()
    if comm.is_main:
        last = ", ".join(f"{d['modality']} {d['final_top1']:.1f}" for d in metrics if d["final_top1"] is not None)
        summary(f"trained {out_dir.name}: {'+'.join(cfg.modalities)}, seed {cfg.seed}, epochs {start + 1}-"
                f"{cfg.optim.epochs}, {seconds / 60:.1f} min; val top-1 {last or 'n/a'}", progress)
    names = [model_name(d['index'], d['modality']) for d in metrics]
    return TrainResult(out_dir, [out_dir / f"{n}.pt" for n in names], [out_dir / f"{n}_best.pt" for n in names],
                       metrics)


class _ShardBatches(torch.utils.data.Sampler):
    """Batches of a (seed, epoch) permutation; replica ``r`` of ``n`` takes rows r, r+n, ... of each."""

    def __init__(self, n_items: int, batch_size: int, seed: int, epoch: int, replica: int, n_replicas: int):
        order = np.random.default_rng(seed_for(seed, "order", epoch)).permutation(n_items)
        full = n_items // batch_size
        self.batches = [order[b * batch_size:(b + 1) * batch_size][replica::n_replicas].tolist() for b in range(full)]

    def __iter__(self):
        return iter(self.batches)

    def __len__(self) -> int:
        return len(self.batches)


def make_train_loader(dataset: Any, cfg: RunConfig, epoch: int, replica: int = 0, n_replicas: int = 1) -> Any:
    """The epoch's training batches: ``make_loader`` for one process per model; with several
    processes per model, each replica takes its share (B / n_replicas clips) of every batch."""
    if hasattr(dataset, "set_epoch"):
        dataset.set_epoch(epoch)
    if n_replicas == 1:
        return make_loader(dataset, cfg.optim.batch_size, True, cfg.seed, epoch, cfg.data.workers, True)
    if cfg.optim.batch_size % n_replicas:
        raise ValueError(f"batch_size={cfg.optim.batch_size} must be divisible by the {n_replicas} processes per model")
    sampler = _ShardBatches(len(dataset), cfg.optim.batch_size, cfg.seed, epoch, replica, n_replicas)
    return torch.utils.data.DataLoader(dataset, batch_sampler=sampler, num_workers=cfg.data.workers,
                                       collate_fn=collate_fn())


def check_request(cfg: RunConfig) -> None:
    """Fail before any work when the data root is missing (modality names are checked by the config)."""
    if cfg.data.dataset != "synthetic":
        root = Path(cfg.data.root if cfg.data.root else cfg.data.dataset)
        if not (root / "labels.json").exists():
            raise DataError(f"data root {root} has no labels.json (dataset={cfg.data.dataset!r}); point "
                            "data.root at the folder holding labels.json and the split JSON files")
    if cfg.tune_from and not Path(cfg.tune_from).exists():
        raise CheckpointError(f"tune_from={cfg.tune_from!r} does not exist")
    same = sorted({m for m in cfg.modalities if cfg.modalities.count(m) > 1})
    if same and cfg.tune_from and cfg.model.dropout == 0:
        import warnings

        warnings.warn(f"models {same} of {cfg.modalities} start from the same checkpoint, see identical clips "
                      "and have no dropout: they stay identical and the mutual term is zero (mutual learning "
                      "needs some randomness between peers, e.g. --dropout 0.5 as in the released code)",
                      stacklevel=2)
