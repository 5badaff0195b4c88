"""Cohort training: all W models in one process, stepping together on the same clips.

One dataset is built with every modality the cohort uses; model ``i`` reads
``batch["inputs"][modalities[i]]``. Each model has its own optimizer, schedule, gradient
scaler and dropout generator, so the run computes what W processes of
:mod:`mmlkit.training.distributed` compute (same seed, same data -> same weights).
Runs on a CPU or on one GPU.
"""

from __future__ import annotations

from pathlib import Path

import torch

from mmlkit.config import RunConfig
from mmlkit.training.loop import TrainData, fit
from mmlkit.training.member import Member, make_member
from mmlkit.training.state import TrainResult


class LocalComm:
    """The :class:`~mmlkit.training.comm.Comm` of one process holding every model: the peers are
    the other local models; nothing crosses a process."""

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


def build_members(cfg: RunConfig, n_classes: int, device: torch.device) -> list[Member]:
    """Every model of the cohort, initialised from (seed, index), on ``device``."""
    return [make_member(cfg, i, mod, n_classes, device) for i, mod in enumerate(cfg.modalities)]


def run(cfg: RunConfig, out_dir: str | Path, *, resume: bool = False, progress: bool = True,
        data: TrainData = TrainData()) -> TrainResult:
    """Train the cohort of ``cfg.modalities`` in this process (see :func:`mmlkit.training.train`)."""
    device = torch.device(cfg.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device={cfg.device!r} but CUDA is not available; use device='cpu'")
    members = build_members(cfg, data.num_classes(cfg), device)
    return fit(cfg, Path(out_dir), members, LocalComm(), device, data, resume=resume, progress=progress,
               mode="cohort")
