"""Small stand-ins for mmlkit.models / mmlkit.data used by the training tests.

``install()`` points the hooks of ``mmlkit.training.loop`` at them (also inside spawned ranks).
The fake dataset honours the data contract: clips are a function of (seed, epoch, index).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import numpy as np
import torch
from torch import nn

from mmlkit.config import DataConfig, ModelConfig, MutualConfig, OptimConfig, RunConfig
from mmlkit.training import loop

CHANNELS = {"RGB": 3, "Flow": 10, "RGBDiff": 18}
K, T, HW, N_TRAIN, N_VAL = 5, 2, 8, 48, 20


class FakeTSN(nn.Module):
    """(B, T, C, H, W) -> (B, K): conv-BN-ReLU-pool-dropout-linear per frame, averaged over T."""

    def __init__(self, num_classes: int, modality: str, dropout: float = 0.3):
        super().__init__()
        self.modality, self.num_classes = modality, num_classes
        self.meta = dict(modality=modality, num_classes=num_classes)
        self.conv1 = nn.Conv2d(CHANNELS[modality], 6, 3, padding=1)
        self.bn = nn.BatchNorm2d(6)
        self.drop = nn.Dropout(dropout)
        self.fc = nn.Linear(6, num_classes)

    def forward(self, x):
        b, t = x.shape[:2]
        h = torch.relu(self.bn(self.conv1(x.flatten(0, 1)))).mean((2, 3))   # (B*T, 6)
        return self.fc(self.drop(h)).view(b, t, -1).mean(1)


class FakeClips(torch.utils.data.Dataset):
    def __init__(self, n, modalities, train, seed):
        self.n, self.modalities, self.train, self.seed, self.epoch = n, tuple(modalities), train, seed, 0
        self.skipped: list[str] = []

    def set_epoch(self, epoch):
        self.epoch = epoch

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        label = i % K
        rng = np.random.default_rng([self.seed, self.epoch if self.train else 10_000, i, int(self.train)])
        noise = rng.normal(size=(T, 3, HW, HW)).astype(np.float32)
        inputs = {}
        for m in self.modalities:
            c = CHANNELS[m]
            x = np.repeat(noise, -(-c // 3), axis=1)[:, :c] + 0.8 * (label - K / 2)
            x = torch.from_numpy(np.ascontiguousarray(x))
            inputs[m] = x if self.train else x[None]          # val: (V=1, T, C, H, W)
        return dict(inputs=inputs, label=label, id=str(i), index=i)


def fake_make_loader(dataset, batch_size, shuffle, seed, epoch, workers, drop_last):
    order = (np.random.default_rng([seed, epoch, 7]).permutation(len(dataset)) if shuffle
             else np.arange(len(dataset)))
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, sampler=order.tolist(),
                                       drop_last=drop_last, num_workers=0)


def fake_param_groups(model, lr, weight_decay):
    decay = [p for p in model.parameters() if p.dim() > 1]
    no_decay = [p for p in model.parameters() if p.dim() <= 1]
    return [dict(params=decay, lr_mult=1.0, decay_mult=1.0), dict(params=no_decay, lr_mult=2.0, decay_mult=0.0)]


def fake_save_model(path, model, **state):
    path = Path(path)
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    torch.save(dict(state_dict=model.state_dict(), meta=model.meta, **state), tmp)
    os.replace(tmp, path)


def fake_init_from_checkpoint(model, path):
    """Replace conv1 by a new module (as a cross-modal conversion does) loaded from ``path``."""
    sd = torch.load(path, weights_only=True)["state_dict"]
    new = nn.Conv2d(model.conv1.in_channels, 6, 3, padding=1)
    w = sd["conv1.weight"].mean(1, keepdim=True).expand_as(new.weight)
    with torch.no_grad():
        new.weight.copy_(w)
    model.conv1 = new
    model.load_state_dict({k: v for k, v in sd.items() if not k.startswith("conv1.")}, strict=False)
    return [f"conv1 converted for {model.modality}"]


def install(target=None):
    """Point loop's hooks at the fakes (``target``: a pytest monkeypatch, or None to set directly)."""
    hooks = dict(
        build_model=lambda cfg, n, mod: FakeTSN(n, mod, cfg.model.dropout),
        param_groups=fake_param_groups,
        init_from_checkpoint=fake_init_from_checkpoint,
        save_model=fake_save_model,
        resolve_root=lambda cfg: Path("."),
        num_classes=lambda cfg: K,
        build_dataset=lambda cfg, split, mods, train: FakeClips(N_TRAIN if train else N_VAL, mods, train, cfg.seed),
        make_loader=fake_make_loader,
        collate_fn=lambda: torch.utils.data.default_collate,
    )
    for name, fn in hooks.items():
        if target is None:
            setattr(loop, name, fn)
        else:
            target.setattr(loop, name, fn)


def fake_cfg(modalities=("RGB", "Flow"), epochs=2, **kw) -> RunConfig:
    """A tiny config (the fake data ignores the data fields)."""
    base = dict(
        modalities=modalities,
        data=DataConfig(dataset="synthetic", synth_preset="smoke", num_segments=T, dense_length=8, input_size=8,
                        scale_size=8, workers=0),
        model=ModelConfig(arch="resnet_tiny", dropout=0.3),
        optim=OptimConfig(lr=0.05, lr_type="cos", lr_steps=(), epochs=epochs, batch_size=8, warmup_epochs=0.5),
        mutual=MutualConfig(),
        eval_freq=1,
    )
    base.update(kw)
    return RunConfig(**base)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load_weights(path) -> dict:
    return torch.load(path, weights_only=True)["state_dict"]


def rank_worker(rank: int, world: int, port: int, cfg_dict: dict, out_dir: str, result_dir: str,
                behaviour: str = "", timeout_s: float = 60.0) -> None:
    """One rank of a test run: installs the fakes, trains, writes ok/error to result_dir/rank{r}.txt."""
    torch.set_num_threads(1)
    install()
    cfg = RunConfig.from_dict(cfg_dict)
    if behaviour == "die" and rank == world - 1:
        orig = FakeTSN.forward
        calls = {"n": 0}

        def dying(self, x):
            calls["n"] += 1
            if calls["n"] > 2:
                os._exit(3)
            return orig(self, x)
        FakeTSN.forward = dying
    if behaviour == "hang" and rank == world - 1:
        import time
        orig = FakeTSN.forward
        calls = {"n": 0}

        def hanging(self, x):
            calls["n"] += 1
            if calls["n"] > 2:
                time.sleep(3600)
            return orig(self, x)
        FakeTSN.forward = hanging
    if behaviour == "mismatch" and rank == world - 1:
        orig_ml = fake_make_loader
        loop.make_loader = lambda ds, b, sh, seed, ep, w, dl: orig_ml(ds, b, sh, seed + 1, ep, w, dl)
    if behaviour == "stop_epoch2":
        real = loop.train_one_epoch

        def stop(members, loader, comm, cfg_, epoch, *a, **k):
            if epoch == 1:
                raise RuntimeError("stopped in epoch 2")
            return real(members, loader, comm, cfg_, epoch, *a, **k)
        loop.train_one_epoch = stop
    res = Path(result_dir) / f"rank{rank}.txt"
    try:
        from mmlkit.training import train
        r = train(cfg, out_dir, rank=rank, world_size=world, init_method=f"tcp://127.0.0.1:{port}",
                  progress=False, timeout_s=timeout_s, resume=behaviour == "resume")
        torch.save({k: v for k, v in _last_member_state(out_dir, cfg, rank, world).items()},
                   Path(result_dir) / f"weights{rank}.pt")
        res.write_text("ok " + str(len(r.metrics)))
    except Exception as exc:
        res.write_text(f"{type(exc).__name__}: {exc}")


def _last_member_state(out_dir, cfg, rank, world) -> dict:
    P = world // len(cfg.modalities)
    i = rank // P
    st = torch.load(Path(out_dir) / f"state_model{i}_{cfg.modalities[i]}.pt", weights_only=True) \
        if rank % P == 0 else {"model": {}}
    return st["model"]


def run_ranks(cfg: RunConfig, world: int, out_dir: Path, result_dir: Path, behaviour: str = "",
              timeout_s: float = 60.0, join_s: float = 120.0) -> list[str]:
    """Start ``world`` spawned ranks, wait, return each rank's result line."""
    import multiprocessing as mp
    ctx = mp.get_context("spawn")
    port = free_port()
    result_dir.mkdir(parents=True, exist_ok=True)
    procs = [ctx.Process(target=rank_worker, args=(r, world, port, cfg.to_dict(), str(out_dir), str(result_dir),
                                                   behaviour, timeout_s)) for r in range(world)]
    for p in procs:
        p.start()
    import time
    deadline, failed_at = time.time() + join_s, None
    while any(p.is_alive() for p in procs) and time.time() < deadline:
        time.sleep(0.2)
        if failed_at is None and any((result_dir / f"rank{r}.txt").exists()
                                     and not (result_dir / f"rank{r}.txt").read_text().startswith("ok")
                                     for r in range(world)):
            failed_at = time.time()
        if failed_at is not None and time.time() - failed_at > 15:
            break   # a rank failed; give the others 15 s to fail too, then stop them
    for p in procs:
        if p.is_alive():
            p.kill()
        p.join()
    out = []
    for r in range(world):
        f = result_dir / f"rank{r}.txt"
        out.append(f.read_text() if f.exists() else f"no result (exit code {procs[r].exitcode})")
    return out


def cohort_worker(cfg_dict: dict, out_dir: str, threads: int) -> None:
    """A cohort run whose steps slow down after the first epoch (so a test can kill -9 it there)."""
    import time
    torch.set_num_threads(threads)   # the parent's: CPU results depend on the thread count
    install()
    real = loop.train_one_epoch

    def slow(members, loader, comm, cfg, epoch, *a, **k):
        if epoch >= 1:
            time.sleep(600)
        return real(members, loader, comm, cfg, epoch, *a, **k)

    loop.train_one_epoch = slow
    from mmlkit.training import train
    train(RunConfig.from_dict(cfg_dict), out_dir, progress=False)
