"""The training loop shared by both process models (torchvision-references style).

:func:`train_one_epoch` steps every model this process holds (``members``) on every batch;
:func:`validate` counts one model's correct validation videos; :func:`fit` runs the epochs and
writes the run folder. Every dependency is an argument: the models (``members``,
:func:`~mmlkit.training.member.make_member`), the other processes (``comm``, a
:class:`~mmlkit.training.comm.Comm`) and the clips (``data``, a :class:`TrainData`: mmlkit.data's
pipeline unless the caller passes another, as the tests do with an in-memory one).

Determinism: see :mod:`mmlkit.training.member`; the schedule: :mod:`mmlkit.training.schedule`;
the files: :mod:`mmlkit.training.state`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mmlkit.config import EvalConfig, RunConfig
from mmlkit.errors import CheckpointError, DataError
from mmlkit.losses import mutual_kl
from mmlkit.progress import bar as progress_bar
from mmlkit.progress import count_trained, summary
from mmlkit.topk import topk_correct
from mmlkit.training import state
from mmlkit.training.comm import Comm
from mmlkit.training.member import Member, seed_for
from mmlkit.training.schedule import lr_at, set_lr
from mmlkit.training.state import TrainResult

# -- where the clips come from ----------------------------------------------------------------

def pipeline_dataset(cfg: RunConfig, split: str, modalities: Sequence[str], train: bool) -> Any:
    """mmlkit.data's clips of ``split``: training clips, or validation views (one centre view)."""
    from mmlkit.data import build_dataset
    return build_dataset(cfg.data, split, tuple(modalities), train, cfg.seed, None if train else EvalConfig())


def pipeline_classes(cfg: RunConfig) -> int:
    from mmlkit.data import num_classes
    return int(num_classes(cfg.data))


def pipeline_loader(dataset: Any, batch_size: int, shuffle: bool, seed: int, epoch: int, workers: int,
                    drop_last: bool) -> Any:
    from mmlkit.data import make_loader
    return make_loader(dataset, batch_size, shuffle, seed, epoch, workers, drop_last)


def pipeline_collate(items: list[dict]) -> dict:
    from mmlkit.data import collate
    return collate(items)


@dataclass(frozen=True)
class TrainData:
    """The clips of a run: mmlkit.data's pipeline by default (``TrainData()``).

    Attributes:
        build_dataset: ``(cfg, split, modalities, train) -> Dataset`` of dicts ``inputs`` {modality:
            (T, C, H, W) (train) or (V, T, C, H, W)}, ``label``, ``id``, ``index``; training clips
            a function of (seed, epoch, index) (``set_epoch``), an optional ``skipped`` set.
        num_classes: ``cfg -> K``.
        make_loader: ``(dataset, batch_size, shuffle, seed, epoch, workers, drop_last) -> batches``
            (``mmlkit.data.make_loader``'s contract: the order a function of (seed, epoch)).
        collate: items -> batch (for the sharded loader of several processes per model).
    """

    build_dataset: Callable[[RunConfig, str, Sequence[str], bool], Any] = pipeline_dataset
    num_classes: Callable[[RunConfig], int] = pipeline_classes
    make_loader: Callable[..., Any] = pipeline_loader
    collate: Callable[[list[dict]], dict] = pipeline_collate


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


def make_train_loader(dataset: Any, cfg: RunConfig, epoch: int, data: TrainData, replica: int = 0,
                      n_replicas: int = 1) -> Any:
    """The epoch's training batches: ``data.make_loader`` for one process per model; with several
    processes per model, each replica takes its share (B / n_replicas clips) of every batch."""
    if hasattr(dataset, "set_epoch"):
        dataset.set_epoch(epoch)
    if n_replicas == 1:
        return data.make_loader(dataset, cfg.optim.batch_size, True, cfg.seed, epoch, cfg.data.workers, True)
    if cfg.optim.batch_size % n_replicas:
        raise ValueError(f"batch_size={cfg.optim.batch_size} must be divisible by the {n_replicas} processes per model")
    sampler = _ShardBatches(len(dataset), cfg.optim.batch_size, cfg.seed, epoch, replica, n_replicas)
    return torch.utils.data.DataLoader(dataset, batch_sampler=sampler, num_workers=cfg.data.workers,
                                       collate_fn=data.collate)


# -- one epoch, validation --------------------------------------------------------------------

#: Where an epoch's wall time goes, as the log's ``<phase>_s`` columns: ``data`` (waiting for the
#: loader's next batch), ``forward`` (every model's forward pass, the peers' logits, the losses),
#: ``backward`` (zero_grad, backward, gradient exchange and clipping), ``optimizer`` (the steps),
#: ``val`` (validation). Measured with ``time.perf_counter`` around each part: on a CPU every
#: operation has finished when its call returns; on a GPU the parts are launch times unless
#: ``CUDA_LAUNCH_BLOCKING=1``.
PHASES: tuple[str, ...] = ("data", "forward", "backward", "optimizer", "val")

def train_one_epoch(members: list[Member], loader: Any, comm: Comm, cfg: RunConfig, epoch: int,
                    device: torch.device, progress: bool = True, skipped: set | None = None) -> list[dict]:
    """One pass over ``loader``; every local model steps on every batch.

    ``comm.peers`` gives each model its peers' detached logits (in memory or across processes).
    ``skipped``, when given, collects the ids of unreadable videos the batches report.

    Returns one dict per member: lr (last), ce, kl (means over batches), train_top1 (%), and the
    epoch's ``data_s``, ``forward_s``, ``backward_s``, ``optimizer_s`` (:data:`PHASES`; the
    cohort's, the same in every member's dict).
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
    clock = time.perf_counter
    spent = dict.fromkeys(PHASES[:-1], 0.0)
    t = clock()
    for it, batch in enumerate(bar):
        t_batch = clock()
        spent["data"] += t_batch - t
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
        spent["forward"] += clock() - t_batch
        for k, (m, z, pz) in enumerate(zip(members, logits, peers)):
            t0 = clock()
            set_lr(m.optimizer, lr)
            ce = F.cross_entropy(z.float(), labels)
            kl = (mutual_kl(z, pz, cfg.mutual.mode, cfg.mutual.temperature) if pz
                  else torch.zeros((), device=z.device))
            loss = ce + cfg.mutual.weight * kl if pz else ce
            t1 = clock()
            m.optimizer.zero_grad(set_to_none=True)
            m.scaler.scale(loss).backward()
            comm.sync_grads(m)
            if cfg.optim.clip_grad is not None:
                m.scaler.unscale_(m.optimizer)
                nn.utils.clip_grad_norm_(m.model.parameters(), cfg.optim.clip_grad)
            t2 = clock()
            m.scaler.step(m.optimizer)
            m.scaler.update()
            t3 = clock()
            spent["forward"] += t1 - t0
            spent["backward"] += t2 - t1
            spent["optimizer"] += t3 - t2
            s = sums[k]
            s["ce"] += float(ce.detach())
            s["kl"] += float(kl.detach())
            s["correct"] += int(topk_correct(z.detach().float(), labels, 1, ties="torch").sum())
            s["n"] += int(labels.shape[0])
        if progress:
            bar.set_postfix({m.name: f"ce {float(s['ce']) / (it + 1):.3f} kl {float(s['kl']) / (it + 1):.3f}"
                             for m, s in zip(members, sums)}, refresh=False)
        t = clock()
    bar.close()
    n_it = max(1, iters)
    phases = {f"{k}_s": round(v, 4) for k, v in spent.items()}
    return [dict(lr=lr, ce=s["ce"] / n_it, kl=s["kl"] / n_it, train_top1=100.0 * s["correct"] / max(1, s["n"]),
                 **phases) for s in sums]


@torch.no_grad()
def validate(model: nn.Module, loader: Any, modality: str, device: torch.device,
             progress: bool = False, skipped: set | None = None) -> torch.Tensor:
    """Correct counts of one model on validation views.

    Batches hold ``inputs[modality]`` float (B, V, T, C, H, W) (or (B, T, C, H, W)); the logits are
    averaged over the V views. Returns float64 tensor [top1 correct, top5 correct, n] (counts,
    so that shards can be summed); n counts the readable videos only, and the ids of the
    unreadable ones are added to ``skipped``. (Scoring a checkpoint on test views with stored
    per-video scores is :mod:`mmlkit.evaluation`'s job.)
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


def validate_members(members: list[Member], val_ds: Any, comm: Comm, cfg: RunConfig, data: TrainData,
                     device: torch.device, progress: bool, skipped: set) -> list[tuple[float, float]]:
    """(top-1 %, top-5 %) of every member on the validation views (summed over its replicas)."""
    loader = data.make_loader(val_ds, cfg.optim.batch_size, False, cfg.seed, 0, cfg.data.workers, False)
    out = []
    for m in members:
        c = comm.reduce_counts(m, validate(m.model, loader, m.modality, device, progress, skipped))
        out.append((100.0 * float(c[0]) / max(1.0, float(c[2])), 100.0 * float(c[1]) / max(1.0, float(c[2]))))
    return out


def report_skipped(epoch: int, members: list[Member], comm: Comm, cfg: RunConfig, train_ids: list[str],
                   val_ids: list[str], n_val: int) -> None:
    """Print (once per run) the unreadable videos the epoch passed over."""
    if comm.replica != 0 or not comm.is_writer(members[0]):
        return
    names = ", ".join(m.name for m in members)
    for ids, split, what in ((train_ids, cfg.data.train_split, "each replaced by the next readable one"),
                             (val_ids, cfg.data.val_split,
                              f"left out: validation accuracy is over {n_val - len(val_ids)} of {n_val} videos")):
        if ids:
            print(f"[mmlkit] epoch {epoch + 1} ({names}): {split} split: skipped {len(ids)} unreadable "
                  f"videos ({what}): {ids[:10]}{' ...' if len(ids) > 10 else ''}", flush=True)


# -- the run ----------------------------------------------------------------------------------

def fit(cfg: RunConfig, out_dir: Path, members: list[Member], comm: Comm, device: torch.device,
        data: TrainData, *, resume: bool, progress: bool, mode: str) -> TrainResult:
    """Run (or continue) the epochs for this process's ``members``; writes the run's files."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    digest = cfg.digest()  # checkpoint paths by their store tail; states of older versions carry the literal one
    start = state.resume_epoch(out_dir, members, comm, digest, device, (cfg.digest(portable=False),)) if resume else 0
    state.prepare_folder(out_dir, cfg, members, comm, start)
    modalities = sorted({m.modality for m in members}, key=cfg.modalities.index)
    train_ds = data.build_dataset(cfg, cfg.data.train_split, modalities, True)
    val_ds = data.build_dataset(cfg, cfg.data.val_split, modalities, False)
    if comm.n_replicas > 1:     # each replica validates its share
        val_ds = torch.utils.data.Subset(val_ds, list(range(comm.replica, len(val_ds), comm.n_replicas)))
    tensorboard = state.open_tensorboard(out_dir, members, comm) if cfg.tensorboard else {}
    t_run = time.perf_counter()
    try:
        for epoch in range(start, cfg.optim.epochs):
            t0 = time.perf_counter()
            loader = make_train_loader(train_ds, cfg, epoch, data, comm.replica, comm.n_replicas)
            skipped: set = set()
            stats = train_one_epoch(members, loader, comm, cfg, epoch, device, progress, skipped=skipped)
            val: list = [None] * len(members)
            val_skipped: set = set()
            t_val = time.perf_counter()
            if (epoch + 1) % cfg.eval_freq == 0 or epoch + 1 == cfg.optim.epochs:
                val = validate_members(members, val_ds, comm, cfg, data, device, progress, val_skipped)
            val_s = round(time.perf_counter() - t_val, 4)
            report_skipped(epoch, members, comm, cfg, sorted(skipped | set(getattr(train_ds, "skipped", ()) or ())),
                           sorted(val_skipped), len(val_ds))
            seconds = round(time.perf_counter() - t0, 3)
            rows = [dict(epoch=epoch + 1, **st, val_top1=v[0] if v else None, val_top5=v[1] if v else None,
                         seconds=seconds, val_s=val_s) for st, v in zip(stats, val)]
            state.write_epoch(out_dir, epoch + 1, members, rows, comm, digest, tensorboard)
    finally:  # flushed and closed on an error or an interrupt too: the logged epochs stay readable
        for w in tensorboard.values():
            w.close()
    seconds = time.perf_counter() - t_run
    metrics = state.gather_metrics(members, comm, cfg.optim.epochs, seconds)
    if comm.is_main:
        state.write_done(out_dir, mode, comm, digest, metrics)
    comm.barrier()
    if comm.is_main:
        last = ", ".join(f"{d['modality']} {d['final_top1']:.1f}" for d in metrics if d["final_top1"] is not None)
        summary(f"trained {out_dir.name}: {'+'.join(cfg.modalities)}, seed {cfg.seed}, epochs {start + 1}-"
                f"{cfg.optim.epochs}, {seconds / 60:.1f} min; val top-1 {last or 'n/a'} | "
                f"{count_trained(seconds / 60)}", progress)
    return TrainResult.of(out_dir, metrics)


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
