"""Training costs: the cohort's overhead over its models' own steps, and the distributed logit exchange.

Rows:
* ``cohort_step_ratio``: one RGB,Flow cohort step / (one RGB step + one Flow step), resnet_tiny,
  8 segments, 32x32, batch 32, synthetic tensors (target <= 1.05).
* ``exchange_fraction``: 2 gloo processes (RGB, Flow), time in the logit exchange (batch check +
  all_gather of (B, K) logits) / time of the whole step (target < 2 %). Full run only (spawning two
  processes takes longer than the quick budget).
"""

from __future__ import annotations

import datetime as _dt
import multiprocessing as mp
import socket
import tempfile
import time
from pathlib import Path

import torch

from mmlkit.config import DataConfig, ModelConfig, OptimConfig, RunConfig


def _cfg(modalities, batch: int, segments: int, size: int) -> RunConfig:
    return RunConfig(modalities=modalities,
                     data=DataConfig(num_segments=segments, dense_length=max(32, segments), input_size=size,
                                     scale_size=size),
                     model=ModelConfig(arch="resnet_tiny", dropout=0.0, zero_init_residual=True),
                     optim=OptimConfig(lr=0.01, lr_type="cos", lr_steps=(), epochs=1, batch_size=batch))


def _batches(n: int, batch: int, segments: int, size: int, k: int = 10) -> list[dict]:
    g = torch.Generator().manual_seed(0)
    b = dict(inputs={"RGB": torch.randn(batch, segments, 3, size, size, generator=g),
                     "Flow": torch.randn(batch, segments, 10, size, size, generator=g)},
             label=torch.randint(k, (batch,), generator=g), id=[str(i) for i in range(batch)],
             index=torch.arange(batch))
    return [b] * n


def _members(cfg: RunConfig, mods) -> list:
    from mmlkit.training.member import make_member
    return [make_member(cfg, i, m, 10, torch.device("cpu")) for i, m in enumerate(mods)]


def _time_epoch(members, batches, comm, cfg) -> float:
    from mmlkit.training.loop import train_one_epoch
    t0 = time.perf_counter()
    train_one_epoch(members, batches, comm, cfg, 0, torch.device("cpu"), progress=False)
    return time.perf_counter() - t0


def cohort_ratio(quick: bool) -> dict:
    from mmlkit.training.cohort import LocalComm
    batch, seg, size = (4, 4, 32) if quick else (32, 8, 32)
    steps, reps = (1, 2) if quick else (3, 3)
    cfg = _cfg(("RGB", "Flow"), batch, seg, size)
    data = _batches(steps, batch, seg, size)
    rgb, flow = _members(cfg, ("RGB",)), _members(cfg, ("Flow",))
    both = _members(cfg, ("RGB", "Flow"))
    comm = LocalComm()
    _time_epoch(both, data[:1], comm, cfg)                     # warm-up
    t_single, t_cohort = [], []
    for _ in range(reps):                                      # interleaved, best of reps
        t_single.append(_time_epoch(rgb, data, comm, cfg) + _time_epoch(flow, data, comm, cfg))
        t_cohort.append(_time_epoch(both, data, comm, cfg))
    ratio = min(t_cohort) / min(t_single)
    return dict(name="cohort_step_ratio", value=ratio, unit="x", target="<= 1.05", ok=ratio <= 1.05,
                notes=f"cohort {1000 * min(t_cohort) / steps:.0f} ms/step vs RGB+Flow "
                      f"{1000 * min(t_single) / steps:.0f} ms/step; batch {batch}, T={seg}, {size}x{size}, "
                      f"{torch.get_num_threads()} threads")


def _rank(rank: int, port: int, out: str, steps: int, batch: int, seg: int, size: int) -> None:
    import torch.distributed as dist

    from mmlkit.training import distributed
    from mmlkit.training.member import make_member
    torch.set_num_threads(1)
    cfg = _cfg(("RGB", "Flow"), batch, seg, size)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2,
                            timeout=_dt.timedelta(seconds=120))
    comm = distributed.DistComm(cfg, rank, 2, torch.device("cpu"), 120.0, 120.0)
    member = make_member(cfg, rank, cfg.modalities[rank], 10, torch.device("cpu"))
    spent = [0.0]
    real = comm.peers

    def timed(*a):
        t0 = time.perf_counter()
        r = real(*a)
        spent[0] += time.perf_counter() - t0
        return r

    comm.peers = timed
    data = _batches(steps + 1, batch, seg, size)
    _time_epoch([member], data[:1], comm, cfg)                 # warm-up
    spent[0] = 0.0
    total = _time_epoch([member], data[1:], comm, cfg)
    # the exchange includes waiting for the slower peer; the pure cost is the faster rank's wait-free part:
    comm.barrier()
    t0 = time.perf_counter()
    z = torch.randn(batch, 10)
    for i in range(20):
        real(0, i, data[0], [z])
    pure = (time.perf_counter() - t0) / 20
    Path(out, f"r{rank}.txt").write_text(f"{spent[0]} {total} {pure}")
    dist.destroy_process_group()


def exchange_fraction() -> dict:
    steps, batch, seg, size = 3, 32, 8, 32
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory() as d:
        ctx = mp.get_context("spawn")
        ps = [ctx.Process(target=_rank, args=(r, port, d, steps, batch, seg, size)) for r in range(2)]
        for p in ps:
            p.start()
        for p in ps:
            p.join(300)
        vals = [list(map(float, Path(d, f"r{r}.txt").read_text().split())) for r in range(2)]
    step = max(v[1] for v in vals) / steps
    pure = max(v[2] for v in vals)
    frac = pure / step
    return dict(name="exchange_fraction", value=100 * frac, unit="%", target="< 2", ok=frac < 0.02,
                notes=f"exchange {1000 * pure:.2f} ms vs step {1000 * step:.0f} ms (2 gloo ranks, 1 thread each, "
                      f"batch {batch}, T={seg}); wall time inside the exchange incl. waiting for the slower "
                      f"peer: {100 * max(v[0] for v in vals) / max(v[1] for v in vals):.1f}%")


def rows(quick: bool) -> list[dict]:
    out = [cohort_ratio(quick)]
    if quick:
        out.append(dict(name="exchange_fraction", value=float("nan"), unit="%", target="< 2", ok=None,
                         notes="full run only (spawns 2 gloo processes)"))
    else:
        out.append(exchange_fraction())
    return out
