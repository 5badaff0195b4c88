"""In-memory clips for the training tests, and a way to start rank processes.

The tests run the real model (``resnet_tiny``), checkpoints and cross-modal conversion; only the
clips come from memory (:func:`data`, passed to ``train(..., data=...)``). They keep the data
contract: a clip is a function of (seed, epoch, index); the label shifts every pixel, so a
model can learn it in a few steps.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import numpy as np
import torch

from mmlkit.config import DataConfig, ModelConfig, MutualConfig, OptimConfig, RunConfig
from mmlkit.models.backbones import INPUT_CHANNELS
from mmlkit.training import TrainData, train
from mmlkit.training.loop import pipeline_loader

K, T, HW, N_TRAIN, N_VAL = 5, 2, 8, 48, 20


class MemoryClips(torch.utils.data.Dataset):
    """``n`` clips of ``modalities``; ``on_item(epoch, index)`` runs before each one is made."""

    def __init__(self, n, modalities, train, seed, on_item=None):
        self.n, self.modalities, self.train, self.seed, self.epoch = n, tuple(modalities), train, seed, 0
        self.on_item, self.skipped = on_item, []

    def set_epoch(self, epoch):
        self.epoch = epoch

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if self.on_item is not None:
            self.on_item(self.epoch, i)
        label = i % K
        rng = np.random.default_rng([self.seed, self.epoch if self.train else 10_000, i, int(self.train)])
        noise = rng.normal(size=(T, 3, HW, HW)).astype(np.float32)
        inputs = {}
        for m in self.modalities:
            c = INPUT_CHANNELS[m]
            x = np.repeat(noise, -(-c // 3), axis=1)[:, :c] + 0.8 * (label - K / 2)
            x = torch.from_numpy(np.ascontiguousarray(x))
            inputs[m] = x if self.train else x[None]          # val: (V=1, T, C, H, W)
        return dict(inputs=inputs, label=label, id=str(i), index=i)


def data(on_train_item=None, **fields) -> TrainData:
    """The in-memory clips with mmlkit.data's loader; ``fields`` replace TrainData's others."""
    def build(cfg, split, modalities, train_):
        n, on_item = (N_TRAIN, on_train_item) if train_ else (N_VAL, None)
        return MemoryClips(n, modalities, train_, cfg.seed, on_item)
    return TrainData(**{"build_dataset": build, "num_classes": lambda cfg: K, **fields})


def small_cfg(modalities=("RGB", "Flow"), epochs=2, **kw) -> RunConfig:
    """A tiny config for :func:`data` (its data fields other than num_segments are not read)."""
    base = dict(
        modalities=modalities,
        data=DataConfig(dataset="synthetic", synth_preset="smoke", num_segments=T, dense_length=8, input_size=HW,
                        scale_size=HW, workers=0),
        model=ModelConfig(arch="resnet_tiny", dropout=0.3),
        optim=OptimConfig(lr=0.05, lr_type="cos", lr_steps=(), epochs=epochs, batch_size=8, warmup_epochs=0.5),
        mutual=MutualConfig(),
        eval_freq=1,
        threads=1,
    )
    base.update(kw)
    return RunConfig(**base)


def load_weights(path) -> dict:
    return torch.load(path, weights_only=True)["state_dict"]


def in_epoch(epoch: int, action):
    """An ``on_train_item`` that calls ``action()`` on every clip of ``epoch`` (0-based) and later ones."""
    def on_item(e, i):
        if e >= epoch:
            action()
    return on_item


def after_items(n: int, action):
    """An ``on_train_item`` that calls ``action()`` from the (n + 1)-th training clip on."""
    seen = [0]

    def on_item(e, i):
        seen[0] += 1
        if seen[0] > n:
            action()
    return on_item


def fail(exc: BaseException):
    def action():
        raise exc
    return action


def _rank_data(behaviour: str, rank: int, world: int) -> TrainData:
    import time
    last = rank == world - 1
    if behaviour == "die" and last:       # while fetching its third batch
        return data(after_items(16, lambda: os._exit(3)))
    if behaviour == "hang" and last:
        return data(after_items(16, lambda: time.sleep(3600)))
    if behaviour == "mismatch" and last:  # another clip order
        return data(make_loader=lambda ds, b, sh, seed, ep, w, dl: pipeline_loader(ds, b, sh, seed + 1, ep, w, dl))
    if behaviour == "stop_epoch2":
        return data(in_epoch(1, fail(RuntimeError("stopped in epoch 2"))))
    return data()


def rank_worker(rank: int, world: int, port: int, cfg_dict: dict, out_dir: str, result_dir: str,
                behaviour: str = "", timeout_s: float = 60.0) -> None:
    """One rank of a test run: trains, writes ok/error to result_dir/rank{r}.txt."""
    res = Path(result_dir) / f"rank{rank}.txt"
    try:
        r = train(RunConfig.from_dict(cfg_dict), out_dir, rank=rank, world_size=world,
                  init_method=f"tcp://127.0.0.1:{port}", progress=False, timeout_s=timeout_s,
                  resume=behaviour == "resume", data=_rank_data(behaviour, rank, world))
        res.write_text("ok " + str(len(r.metrics)))
    except Exception as exc:
        res.write_text(f"{type(exc).__name__}: {exc}")


def run_ranks(cfg: RunConfig, world: int, out_dir: Path, result_dir: Path, behaviour: str = "",
              timeout_s: float = 60.0, join_s: float = 120.0, grace_s: float = 15.0) -> list[str]:
    """Start ``world`` spawned ranks, wait, return each rank's result line. Once a rank has
    failed, the others get ``grace_s`` to fail too (or finish) before they are killed."""
    import multiprocessing as mp
    import time
    ctx = mp.get_context("spawn")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result_dir.mkdir(parents=True, exist_ok=True)
    procs = [ctx.Process(target=rank_worker, args=(r, world, port, cfg.to_dict(), str(out_dir), str(result_dir),
                                                   behaviour, timeout_s)) for r in range(world)]
    for p in procs:
        p.start()
    deadline, failed_at = time.time() + join_s, None
    while any(p.is_alive() for p in procs) and time.time() < deadline:
        time.sleep(0.2)
        if failed_at is None and any((result_dir / f"rank{r}.txt").exists()
                                     and not (result_dir / f"rank{r}.txt").read_text().startswith("ok")
                                     for r in range(world)):
            failed_at = time.time()
        if failed_at is not None and time.time() - failed_at > grace_s:
            break   # a rank failed; give the others grace_s to fail too, then stop them
    for p in procs:
        if p.is_alive():
            p.kill()
        p.join()
    out = []
    for r in range(world):
        f = result_dir / f"rank{r}.txt"
        out.append(f.read_text() if f.exists() else f"no result (exit code {procs[r].exitcode})")
    return out


def cohort_worker(cfg_dict: dict, out_dir: str) -> None:
    """A cohort run that stalls in its second epoch (so a test can kill -9 it there)."""
    import time
    train(RunConfig.from_dict(cfg_dict), out_dir, progress=False, data=data(in_epoch(1, lambda: time.sleep(600))))
