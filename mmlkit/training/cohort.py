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
from mmlkit.training import loop


def build_members(cfg: RunConfig, device: torch.device) -> list[loop.Member]:
    """Every model of the cohort, initialised from (seed, index), on ``device``."""
    k = loop.num_classes(cfg)
    return [loop.make_member(cfg, i, mod, k, device) for i, mod in enumerate(cfg.modalities)]


def run(cfg: RunConfig, out_dir: str | Path, *, resume: bool = False, progress: bool = True) -> loop.TrainResult:
    """Train the cohort of ``cfg.modalities`` in this process (see :func:`mmlkit.training.train`)."""
    device = torch.device(cfg.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device={cfg.device!r} but CUDA is not available; use device='cpu'")
    members = build_members(cfg, device)
    return loop.fit(cfg, Path(out_dir), members, loop.LocalComm(), device, resume=resume, progress=progress,
                    mode="cohort")
