"""The learning-rate schedule and the optimizer: pure functions of the config.

:func:`lr_at` gives the rate of any iteration (so a resumed run continues the same curve);
:func:`build_optimizer` makes SGD over parameter groups that keep their ``lr_mult`` /
``decay_mult``, which :func:`set_lr` applies at every step.
"""

from __future__ import annotations

import math

import torch

from mmlkit.config import OptimConfig


def lr_at(optim: OptimConfig, epoch: int, it: int, iters_per_epoch: int) -> float:
    """Learning rate of iteration ``it`` (0-based) of ``epoch`` (0-based).

    Linear warm-up from 0 over ``warmup_epochs`` (per iteration), then ``step`` (x0.1 at each
    epoch of ``lr_steps``) or ``cos`` (per-iteration cosine from ``lr`` to 0 over the epochs
    after the warm-up).
    """
    iters = max(1, iters_per_epoch)
    t = epoch + it / iters                                  # fractional epochs done
    if optim.warmup_epochs > 0 and t < optim.warmup_epochs:
        return optim.lr * (epoch * iters + it + 1) / (optim.warmup_epochs * iters)
    if optim.lr_type == "step":
        return optim.lr * 0.1 ** sum(epoch >= s for s in optim.lr_steps)
    span = max(1e-12, optim.epochs - optim.warmup_epochs)
    return optim.lr * 0.5 * (1.0 + math.cos(math.pi * min(1.0, (t - optim.warmup_epochs) / span)))


def build_optimizer(groups: list[dict], optim: OptimConfig) -> torch.optim.SGD:
    """SGD (momentum, weight decay) over parameter ``groups`` (e.g. :func:`mmlkit.models.param_groups`).

    Each group keeps ``lr_mult`` and ``decay_mult`` (derived from the group's lr / weight_decay
    when it lacks them); empty groups are left out.
    """
    out = []
    for g in groups:
        g = dict(g)
        if "lr_mult" not in g:
            g["lr_mult"] = g.get("lr", optim.lr) / optim.lr
        if "decay_mult" not in g:
            g["decay_mult"] = (g.get("weight_decay", optim.weight_decay) / optim.weight_decay
                               if optim.weight_decay else 1.0)
        g["lr"] = optim.lr * g["lr_mult"]
        g["weight_decay"] = optim.weight_decay * g["decay_mult"]
        if len(list(g["params"])) > 0:
            out.append(g)
    return torch.optim.SGD(out, lr=optim.lr, momentum=optim.momentum, weight_decay=optim.weight_decay)


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Set every group's rate to ``lr`` times its ``lr_mult``."""
    for g in optimizer.param_groups:
        g["lr"] = lr * g.get("lr_mult", 1.0)
