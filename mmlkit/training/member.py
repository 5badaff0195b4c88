"""A model of the cohort held by this process: its network, optimizer, scaler, RNG and history.

Determinism: every random draw is a function of the run's seed. Model ``i`` is initialised
under ``torch.manual_seed(seed_for(seed, "init", i))``; its dropout uses its own generator
state, reseeded at each epoch from ``(seed, i, replica, epoch)`` (:meth:`Member.reseed`,
:meth:`Member.own_rng`); the clips are a function of ``(seed, epoch, index)`` (the dataset's
guarantee). So a run resumed at an epoch boundary ends with the same weights as an
uninterrupted one, and one process holding W models (cohort) computes what W processes compute.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from mmlkit.config import RunConfig, model_name
from mmlkit.training.schedule import build_optimizer


def seed_for(*keys: int | str) -> int:
    """A 63-bit seed derived from ``keys`` (ints or short strings), stable across runs and hosts."""
    ints = [k if isinstance(k, int) else int.from_bytes(str(k).encode()[:8].ljust(8, b"\0"), "little")
            for k in keys]
    return int(np.random.SeedSequence(ints).generate_state(1, np.uint64)[0] & ((1 << 63) - 1))


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

    def record(self, row: dict) -> bool:
        """Append an epoch's log row; True when its ``val_top1`` is a new best (then kept)."""
        self.history.append(row)
        if row["val_top1"] is not None and row["val_top1"] > self.best_top1:
            self.best_top1, self.best_epoch = row["val_top1"], row["epoch"]
            return True
        return False

    def final_metrics(self, epochs: int, seconds: float) -> dict:
        """The model's line of ``done.json``: best and last validation, epochs, seconds, notes."""
        vals = [r for r in self.history if r.get("val_top1") is not None]
        return dict(index=self.index, modality=self.modality, best_top1=self.best_top1, best_epoch=self.best_epoch,
                    final_top1=vals[-1]["val_top1"] if vals else None,
                    final_top5=vals[-1]["val_top5"] if vals else None,
                    epochs=epochs, seconds=round(seconds, 3), notes=self.notes)


def make_member(cfg: RunConfig, index: int, modality: str, n_classes: int, device: torch.device,
                replica: int = 0) -> Member:
    """Build model ``index`` (seeded from (seed, index)), apply ``tune_from``, then its optimizer.

    The optimizer is built after the cross-modal conversion of ``tune_from`` so the converted
    conv1 is the one that trains (the released code's defect).
    """
    from mmlkit.models import build_model, init_from_checkpoint, param_groups
    from mmlkit.runtime import keep_freed_memory

    keep_freed_memory()  # every training path builds its models here: steps reuse freed memory
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed_for(cfg.seed, "init", index))
        model = build_model(cfg.model, n_classes, cfg.data.num_segments, modality)
    notes = list(init_from_checkpoint(model, cfg.tune_from)) if cfg.tune_from else []
    # channels_last: the convolutions run 1.3-1.5x faster on the CPU (and use tensor cores on GPUs)
    model.to(device=device, memory_format=torch.channels_last)
    optimizer = build_optimizer(param_groups(model, cfg.optim.lr, cfg.optim.weight_decay), cfg.optim)
    amp = bool(cfg.optim.amp and device.type == "cuda")
    scaler = torch.amp.GradScaler("cuda", enabled=amp)
    return Member(index, modality, model, optimizer, scaler, replica=replica, notes=notes)
