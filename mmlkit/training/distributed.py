"""Distributed training: one model per process group, through torch.distributed.

Rendezvous: torchrun's environment (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``,
``MASTER_PORT``) or, as the authors' README does, one command per rank
(``rank=0, world_size=2, init_method="tcp://HOST:PORT"``). Backend: gloo on the CPU, nccl on GPUs.

Layout: ``world_size = W models x P processes per model``; rank ``r`` trains model ``r // P``
as replica ``r % P``. Replica ``p`` of every model sees the same clips (row ``p, p+P, ...`` of
each (seed, epoch) batch); gradients are averaged inside a model's group (P > 1); the logits
cross between the models' replica ``p`` only. Each rank reads only its own modality: the clips
agree because sampling and augmentation are functions of (seed, epoch, index), not because
data is shipped. Every step the ranks compare a checksum of their batch's clip indices and stop
with :class:`~mmlkit.errors.DistributedError` naming both ranks and the step when they differ.

Timeouts: every collective runs with ``timeout_s`` (default :data:`DEFAULT_TIMEOUT_S`, not the
released code's hour); a dead or hung peer makes the others raise ``DistributedError`` within
it. The end-of-epoch barrier (after validation and checkpointing, whose length differs between
modalities) runs on a gloo side group with ``sync_timeout_s`` (default 12 x ``timeout_s``).
The logit exchange and its timeouts live in this module and nowhere else.
"""

from __future__ import annotations

import datetime as _dt
import os
import zlib
from pathlib import Path

import torch
import torch.distributed as dist
from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors

from mmlkit.config import DIST_TIMEOUT_S, ConfigError, RunConfig
from mmlkit.errors import DistributedError
from mmlkit.training.loop import TrainData, fit
from mmlkit.training.member import Member, make_member
from mmlkit.training.state import TrainResult

#: Seconds a collective may wait for the other ranks before the run stops (the released code: 1 hour).
DEFAULT_TIMEOUT_S: float = DIST_TIMEOUT_S  # config.py holds the number


def env_rendezvous() -> tuple[int, int, str] | None:
    """(rank, world_size, "env://") when started by torchrun (RANK and WORLD_SIZE set), else None."""
    if "RANK" in os.environ and "WORLD_SIZE" in os.environ:
        return int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), "env://"
    return None


def layout(n_models: int, world_size: int, rank: int) -> tuple[int, int, int]:
    """(model index, replica index, processes per model) of ``rank``; validates the request."""
    if world_size < n_models or world_size % n_models:
        raise ConfigError(f"world_size={world_size} must be a multiple of the number of models ({n_models}): "
                          f"one or more processes per model, e.g. world_size={n_models} or {2 * n_models}")
    if not 0 <= rank < world_size:
        raise ConfigError(f"rank={rank} must be in [0, {world_size})")
    p = world_size // n_models
    return rank // p, rank % p, p


def batch_checksum(batch: dict) -> int:
    """CRC32 of the batch's clip indices (or ids): ranks on the same clips agree on it."""
    idx = batch.get("index")
    if isinstance(idx, torch.Tensor):
        data = idx.to(torch.int64).cpu().numpy().tobytes()
    else:
        data = "\n".join(map(str, batch["id"])).encode()
    return zlib.crc32(data)


class DistComm:
    """The :class:`~mmlkit.training.comm.Comm` of one rank: the process-crossing half of training
    (see the module docstring)."""

    def __init__(self, cfg: RunConfig, rank: int, world_size: int, device: torch.device, timeout_s: float,
                 sync_timeout_s: float, check_every: int = 1):
        self.rank, self.world_size, self.device = rank, world_size, device
        self.n_models = len(cfg.modalities)
        self.model_index, self.replica, self.n_replicas = layout(self.n_models, world_size, rank)
        self.is_main = rank == 0
        self.timeout = _dt.timedelta(seconds=timeout_s)
        self.timeout_s = timeout_s
        self.check_every = check_every
        self.modalities = cfg.modalities
        P, W = self.n_replicas, self.n_models
        self.model_group = self.exchange_group = None   # None: the whole world
        if P > 1:   # every rank creates every group, in the same order
            for m in range(W):
                g = dist.new_group([m * P + p for p in range(P)], timeout=self.timeout)
                if m == self.model_index:
                    self.model_group = g
            for p in range(P):
                g = dist.new_group([m * P + p for m in range(W)], timeout=self.timeout)
                if p == self.replica:
                    self.exchange_group = g
        self.exchange_ranks = [m * P + self.replica for m in range(W)]
        if dist.get_backend() == "gloo" and sync_timeout_s == timeout_s:
            self.side_group = None
        else:
            self.side_group = dist.new_group(backend="gloo", timeout=_dt.timedelta(seconds=sync_timeout_s))
        self.sync_timeout_s = sync_timeout_s

    # -- helpers ---------------------------------------------------------------------------
    def _where(self, epoch: int | None = None, step: int | None = None) -> str:
        at = f" at epoch {epoch + 1} step {step}" if epoch is not None else ""
        return f"rank {self.rank} (model {self.model_index} {self.modalities[self.model_index]}){at}"

    def _wait(self, work, what: str, epoch: int | None = None, step: int | None = None,
              timeout_s: float | None = None) -> None:
        t = timeout_s or self.timeout_s
        try:
            ok = work.wait(timeout=_dt.timedelta(seconds=t))
        except Exception as exc:
            raise DistributedError(
                f"{self._where(epoch, step)}: {what} failed or waited more than {t:g} s for the other ranks "
                f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}). A peer process has "
                "probably died or hung: check the other ranks' logs.") from exc
        if ok is False:
            raise DistributedError(f"{self._where(epoch, step)}: {what} timed out after {t:g} s; a peer has "
                                   "probably died or hung.")

    # -- the Comm protocol (mmlkit.training.comm) ------------------------------------------
    def peers(self, epoch: int, step: int, batch: dict, logits: list[torch.Tensor]) -> list[list[torch.Tensor]]:
        """all_gather this rank's (B, K) logits across the models (same replica); returns the peers'."""
        (z,) = logits
        z = z.contiguous()
        if self.check_every and step % self.check_every == 0:
            mine = torch.tensor([batch_checksum(batch), z.shape[0]], dtype=torch.int64, device=z.device)
            got = [torch.empty_like(mine) for _ in range(self.n_models)]
            self._wait(dist.all_gather(got, mine, group=self.exchange_group, async_op=True),
                       "the batch check", epoch, step)
            for m, g in enumerate(got):
                if not torch.equal(g, got[self.model_index]):
                    other = self.exchange_ranks[m]
                    raise DistributedError(
                        f"rank {self.rank} (model {self.model_index} {self.modalities[self.model_index]}) and rank "
                        f"{other} (model {m} {self.modalities[m]}) train on different clips at epoch {epoch + 1} "
                        f"step {step} (clip checksum/batch size {got[self.model_index].tolist()} vs {g.tolist()}); "
                        "the ranks must share seed, data and batch size")
        out = [torch.empty_like(z) for _ in range(self.n_models)]
        self._wait(dist.all_gather(out, z, group=self.exchange_group, async_op=True),
                   "the logit exchange", epoch, step)
        return [[o for m, o in enumerate(out) if m != self.model_index]]

    def sync_grads(self, member: Member) -> None:
        """Average the gradients over the model's P processes (one flat all_reduce)."""
        if self.n_replicas == 1:
            return
        grads = [p.grad for p in member.model.parameters() if p.grad is not None]
        flat = _flatten_dense_tensors(grads)
        self._wait(dist.all_reduce(flat, group=self.model_group, async_op=True), "the gradient all_reduce")
        flat /= self.n_replicas
        for g, new in zip(grads, _unflatten_dense_tensors(flat, grads)):
            g.copy_(new)

    def reduce_counts(self, member: Member, counts: torch.Tensor) -> torch.Tensor:
        if self.n_replicas == 1:
            return counts
        c = counts.to(self.device)
        self._wait(dist.all_reduce(c, group=self.model_group, async_op=True), "the validation all_reduce",
                   timeout_s=self.sync_timeout_s)
        return c.cpu()

    def agree_epoch(self, epoch: int) -> int:
        """The smallest epoch every rank can resume from."""
        t = torch.tensor([epoch], dtype=torch.int64)
        self._wait(dist.all_reduce(t, op=dist.ReduceOp.MIN, group=self.side_group, async_op=True),
                   "agreeing on the resume epoch", timeout_s=self.sync_timeout_s)
        return int(t)

    def barrier(self) -> None:
        t = torch.zeros(1)
        self._wait(dist.all_reduce(t, group=self.side_group, async_op=True), "the end-of-epoch barrier",
                   timeout_s=self.sync_timeout_s)

    def gather_metrics(self, metrics: list[dict]) -> list[dict]:
        out: list = [None] * self.world_size
        try:
            dist.all_gather_object(out, metrics, group=self.side_group)
        except Exception as exc:
            raise DistributedError(f"{self._where()}: gathering the final metrics failed: {exc}") from exc
        return [d for part in out for d in part]

    def is_writer(self, member: Member) -> bool:
        return self.replica == 0


def run(cfg: RunConfig, out_dir: str | Path, *, rank: int, world_size: int, init_method: str,
        resume: bool = False, progress: bool = True, timeout_s: float | None = None,
        sync_timeout_s: float | None = None, data: TrainData = TrainData()) -> TrainResult:
    """Train this rank's model (see :func:`mmlkit.training.train`); returns the run's result."""
    timeout_s = DEFAULT_TIMEOUT_S if timeout_s is None else float(timeout_s)
    sync_timeout_s = 12 * timeout_s if sync_timeout_s is None else float(sync_timeout_s)
    model_index, replica, _ = layout(len(cfg.modalities), world_size, rank)
    cuda = cfg.device.startswith("cuda")
    if cuda:
        if not torch.cuda.is_available():
            raise RuntimeError(f"device={cfg.device!r} but CUDA is not available; use device='cpu' (gloo)")
        local = int(os.environ.get("LOCAL_RANK", rank % torch.cuda.device_count()))
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
        os.environ.setdefault("TORCH_NCCL_BLOCKING_WAIT", "1")   # a timed-out collective raises, not aborts
    else:
        device = torch.device("cpu")
    backend = "nccl" if cuda else "gloo"
    if dist.is_initialized():
        raise DistributedError("torch.distributed is already initialised in this process; train() initialises it")
    try:
        dist.init_process_group(backend, init_method=init_method, rank=rank, world_size=world_size,
                                timeout=_dt.timedelta(seconds=timeout_s))
    except Exception as exc:
        raise DistributedError(f"rank {rank} of {world_size} could not meet the other ranks at {init_method} "
                               f"within {timeout_s:g} s ({type(exc).__name__}: {exc})") from exc
    try:
        comm = DistComm(cfg, rank, world_size, device, timeout_s, sync_timeout_s)
        member = make_member(cfg, model_index, cfg.modalities[model_index], data.num_classes(cfg), device,
                             replica=replica)
        return fit(cfg, Path(out_dir), [member], comm, device, data, resume=resume,
                   progress=progress and rank == 0, mode="distributed")
    finally:
        try:
            dist.destroy_process_group()
        except Exception:
            pass
