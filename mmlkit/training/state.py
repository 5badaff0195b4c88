"""The run folder: checkpoints, CSV logs, resume state and the done-file.

Per model (``model{i}_{Mod}``, :func:`mmlkit.config.model_name`): ``{name}.pt`` (last epoch),
``{name}_best.pt`` (best validation top-1), ``log_{name}.csv`` (:data:`CSV_COLUMNS`),
``state_{name}.pt`` and ``state_{name}.pt.prev`` (resume state after the last and the previous
epoch). Per run: ``config.json``, ``state.json`` (epochs done), ``done.json`` (final metrics).
Every file is written atomically (:mod:`mmlkit.fileio`), so a killed run leaves whole files.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from mmlkit.config import RunConfig, model_name
from mmlkit.errors import CheckpointError
from mmlkit.fileio import atomic_path, save_torch, write_json
from mmlkit.models import save_checkpoint
from mmlkit.models.safe_load import safe_load
from mmlkit.runtime import code_paths, cpu_model, dispatch_environment
from mmlkit.training.comm import Comm
from mmlkit.training.member import Member

#: ``seconds`` is the epoch's wall time (one cohort epoch: shared by its models' logs); the
#: ``*_s`` columns split it (:data:`mmlkit.training.loop.PHASES`): waiting for the batch, the
#: forward passes and losses, the backward passes (and gradient exchange), the optimizer steps,
#: validation; the rest of ``seconds`` is bookkeeping (the epoch's loader set-up, metrics, the
#: progress bar). The epoch's files (checkpoints, logs, resume state) are written after it.
CSV_COLUMNS: tuple[str, ...] = ("epoch", "lr", "ce", "kl", "train_top1", "val_top1", "val_top5", "seconds",
                                "data_s", "forward_s", "backward_s", "optimizer_s", "val_s")
TIMING_COLUMNS: tuple[str, ...] = ("seconds", "data_s", "forward_s", "backward_s", "optimizer_s", "val_s")
TB_SCALARS: tuple[str, ...] = ("ce", "kl", "train_top1", "lr", "val_top1", "val_top5")


# -- resume state -----------------------------------------------------------------------------

def state_path(out_dir: Path, member: Member) -> Path:
    return out_dir / f"state_{member.name}.pt"


def prev_path(out_dir: Path, member: Member) -> Path:
    """The state one epoch older than :func:`state_path`'s."""
    return out_dir / f"state_{member.name}.pt.prev"


def save_state(out_dir: Path, member: Member, epochs_done: int, digest: str) -> None:
    """Per-model resume state after ``epochs_done`` epochs; the previous one is kept as ``.prev``
    so that processes killed between two models' writes can still agree on an epoch."""
    path = state_path(out_dir, member)
    blob = dict(epochs_done=epochs_done, digest=digest, code_paths=code_paths(), model=member.model.state_dict(),
                optimizer=member.optimizer.state_dict(), scaler=member.scaler.state_dict(),
                best_top1=member.best_top1, best_epoch=member.best_epoch, history=member.history)
    # no generator state: every epoch reseeds each model's dropout from (seed, index, replica, epoch)
    if path.exists():
        os.replace(path, prev_path(out_dir, member))
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
    for p in (state_path(out_dir, member), prev_path(out_dir, member)):
        st = _read_state(p)
        if st is not None:
            out[int(st["epochs_done"])] = p
    return out


def load_state(path: Path, member: Member, digest: str, device: torch.device, also: tuple[str, ...] = ()) -> int:
    """Put the state at ``path`` into ``member``; returns its epochs done.

    Args:
        digest: the run's config digest; the state must carry it, or one of ``also`` (the
            digests older versions recorded for the same config).
    """
    st = _read_state(path)
    if st["digest"] != digest and st["digest"] not in also:
        raise CheckpointError(f"{path} belongs to another configuration (digest {st['digest']}, this run {digest}); "
                              "use a fresh out_dir or resume=False")
    _check_code_paths(path, st.get("code_paths"))  # None: an older state, which did not record them
    member.model.load_state_dict(st["model"])
    member.optimizer.load_state_dict(st["optimizer"])
    member.scaler.load_state_dict(st["scaler"])
    member.best_top1, member.best_epoch = float(st["best_top1"]), int(st["best_epoch"])
    member.history = list(st["history"])
    return int(st["epochs_done"])


def _check_code_paths(path: Path, then: str | None) -> None:
    """Refuse to resume, on the pinned code paths, a state trained on a host's own ones or the other
    way round (the two halves would make weights that no uninterrupted run makes); say so when only
    the host changed under its own code paths, which no flag can undo here."""
    now = code_paths()
    if then is None or then == now:
        return
    if (then == "pinned") != (now == "pinned"):
        how = ("python -m mmlkit train without --unpinned, ./run_all.sh, the kernel mmlkit" if then == "pinned" else
               "python -m mmlkit train --unpinned, ./run_all.sh --unpinned, the kernel mmlkit-unpinned")
        raise CheckpointError(f"{path} was trained on the {then} CPU code paths and this process runs on the {now} "
                              "ones: resuming would train the rest on other floats, into weights no uninterrupted "
                              f"run makes. Resume it on the {then} ones ({how}), or start again (--overwrite)")
    print(f"[mmlkit] note: {path} was trained on the {then} CPU code paths, this host runs the {now} ones: "
          "the resumed run's weights are not those of an uninterrupted run on either host", file=sys.stderr)


def resume_epoch(out_dir: Path, members: list[Member], comm: Comm, digest: str, device: torch.device,
                 also: tuple[str, ...] = ()) -> int:
    """The last epoch every process holds a state for (0: none), loaded into ``members``
    (``digest``, ``also``: see :func:`load_state`).

    Raises:
        CheckpointError: a member lacks that epoch's state, or a state of another configuration.
    """
    have = [available_epochs(out_dir, m) for m in members]
    start = comm.agree_epoch(min((max(h) if h else 0) for h in have))
    if start > 0:
        for m, h in zip(members, have):
            if start not in h:
                raise CheckpointError(f"cannot resume {m.name} at epoch {start}: states for epochs "
                                      f"{sorted(h)} in {out_dir}")
            load_state(h[start], m, digest, device, also)
    return start


def prepare_folder(out_dir: Path, cfg: RunConfig, members: list[Member], comm: Comm, start: int) -> None:
    """Write ``config.json``; a run starting at epoch 0 first removes an older run's end and states."""
    if comm.is_main:
        write_json(out_dir / "config.json", cfg.to_dict())
        if start == 0:
            for stale in ("done.json", "state.json"):
                (out_dir / stale).unlink(missing_ok=True)
    if start == 0:
        for m in members:
            if comm.is_writer(m):
                state_path(out_dir, m).unlink(missing_ok=True)
                prev_path(out_dir, m).unlink(missing_ok=True)


# -- per-epoch files --------------------------------------------------------------------------

def write_csv(path: Path, rows: list[dict]) -> None:
    """The whole log, rewritten atomically (so a resumed run never duplicates a row)."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(CSV_COLUMNS))
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if r.get(k) is None else r[k]) for k in CSV_COLUMNS})


def open_tensorboard(out_dir: Path, members: list[Member], comm: Comm) -> dict[int, Any]:
    """One SummaryWriter per model this process writes (``tensorboard/{name}``), by model index."""
    from torch.utils.tensorboard import SummaryWriter
    return {m.index: SummaryWriter(str(out_dir / "tensorboard" / m.name)) for m in members if comm.is_writer(m)}


def write_epoch(out_dir: Path, epochs_done: int, members: list[Member], rows: list[dict], comm: Comm,
                digest: str, tensorboard: dict[int, Any]) -> None:
    """Record the log ``rows`` (one per member) of epoch ``epochs_done`` (1-based) and write its
    files: checkpoints (the last, and the best when it improved), CSV logs, TensorBoard scalars,
    resume states, then (once every process has written) ``state.json``."""
    for m, row in zip(members, rows):
        best = m.record(row)
        if not comm.is_writer(m):
            continue
        if best:
            save_checkpoint(out_dir / f"{m.name}_best.pt", m.model, epoch=epochs_done, best_top1=m.best_top1)
        save_checkpoint(out_dir / f"{m.name}.pt", m.model, epoch=epochs_done, best_top1=m.best_top1)
        write_csv(out_dir / f"log_{m.name}.csv", m.history)
        for key in TB_SCALARS if m.index in tensorboard else ():
            if row[key] is not None:
                tensorboard[m.index].add_scalar(key, row[key], epochs_done)
    for m in members:
        if comm.is_writer(m):
            save_state(out_dir, m, epochs_done, digest)
    comm.barrier()
    if comm.is_main:
        write_json(out_dir / "state.json", {"epochs_done": epochs_done, "digest": digest}, indent=None)


# -- the end ----------------------------------------------------------------------------------

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
    def of(cls, out_dir: Path, metrics: list[dict]) -> "TrainResult":
        """The result whose per-model ``metrics`` (model order) ``done.json`` holds."""
        names = [model_name(d["index"], d["modality"]) for d in metrics]
        return cls(Path(out_dir), [Path(out_dir) / f"{n}.pt" for n in names],
                   [Path(out_dir) / f"{n}_best.pt" for n in names], metrics)

    @classmethod
    def from_done(cls, out_dir: Path) -> "TrainResult":
        return cls.of(out_dir, json.loads((Path(out_dir) / "done.json").read_text())["models"])


def gather_metrics(members: list[Member], comm: Comm, epochs: int, seconds: float) -> list[dict]:
    """Every model's final metrics (from every process), in model order."""
    mine = [m.final_metrics(epochs, seconds) for m in members if comm.is_writer(m)]
    return sorted(comm.gather_metrics(mine), key=lambda d: d["index"])


def write_done(out_dir: Path, mode: str, comm: Comm, digest: str, metrics: list[dict]) -> None:
    write_json(out_dir / "done.json", {"mode": mode, "world_size": comm.world_size, "digest": digest,
                                       "cpu": cpu_model(), "dispatch": dispatch_environment(), "models": metrics})
