"""The communicator: everything the training loop needs from the other models of the cohort.

:func:`~mmlkit.training.loop.fit` and :func:`~mmlkit.training.loop.train_one_epoch` hold the
models of this process (``members``) and reach the others only through a :class:`Comm`: their
logits (the mutual term), gradient averaging among a model's replicas, validation counts, the
epoch to resume from, the end-of-epoch barrier and the final metrics. Two implementations:

* :class:`mmlkit.training.cohort.LocalComm` -- every model in this process; nothing crosses a
  process, so most methods return their argument.
* :class:`mmlkit.training.distributed.DistComm` -- torch.distributed: one model per process
  group, P processes (replicas) per model; the logit exchange and its timeouts live there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

import torch

if TYPE_CHECKING:
    from mmlkit.training.member import Member


@runtime_checkable
class Comm(Protocol):
    """What ``fit`` and ``train_one_epoch`` call on the cohort (see the module docstring)."""

    rank: int          #: this process's rank (0 in one process)
    world_size: int    #: processes in the run (1 in one process)
    replica: int       #: which of its model's processes this one is, in [0, n_replicas)
    n_replicas: int    #: processes per model (P); each takes B / P clips of every batch
    is_main: bool      #: writes the run-level files (config.json, state.json, done.json)

    def peers(self, epoch: int, step: int, batch: dict, logits: list[torch.Tensor]) -> list[list[torch.Tensor]]:
        """For each local model (``logits`` in member order, detached (B, K)), its peers' logits
        in model order. Across processes this is the exchange, after checking that every
        process holds the same clips (``batch``)."""
        ...

    def sync_grads(self, member: Member) -> None:
        """Average ``member``'s gradients over its replicas (after backward, before the step)."""
        ...

    def reduce_counts(self, member: Member, counts: torch.Tensor) -> torch.Tensor:
        """Sum ``member``'s validation counts (float64 [top1, top5, n]) over its replicas."""
        ...

    def agree_epoch(self, epoch: int) -> int:
        """The smallest of every process's resumable epoch (``epoch`` is this process's)."""
        ...

    def barrier(self) -> None:
        """Wait for every process (end of an epoch, end of the run)."""
        ...

    def gather_metrics(self, metrics: list[dict]) -> list[dict]:
        """Every process's final metric dicts, concatenated (rank order)."""
        ...

    def is_writer(self, member: Member) -> bool:
        """Whether this process writes ``member``'s files (one replica per model does)."""
        ...
