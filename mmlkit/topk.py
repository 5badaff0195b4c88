"""Top-k hits: the one rule of training's accuracies and evaluation's (re-exported by
:mod:`mmlkit.evaluation.metrics`). numpy only at import; torch only when given ``ties="torch"``.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def check_pair(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``scores`` float (n, K) and ``labels`` int64 (n,) in ``[0, K)`` as numpy arrays, or ValueError."""
    scores = np.asarray(scores)
    labels = np.asarray(labels).astype(np.int64)
    if scores.ndim != 2 or labels.ndim != 1 or len(scores) != len(labels):
        raise ValueError(f"scores must be (n, K) and labels (n,); got {scores.shape} and {labels.shape}")
    if len(labels) and (labels.min() < 0 or labels.max() >= scores.shape[1]):
        raise ValueError(f"labels must be in [0, {scores.shape[1]}); got range "
                         f"[{labels.min()}, {labels.max()}] (unknown labels, -1, cannot be scored)")
    return scores, labels


def topk_correct(scores: np.ndarray, labels: np.ndarray, k: int | Sequence[int] = 1, *,
                 ties: str = "low") -> np.ndarray:
    """Whether each label is among its row's ``k`` highest scores.

    Args:
        scores: float (n, K); with ``ties="torch"`` also a torch tensor (any device).
        labels: int (n,) in ``[0, K)``, of the same kind.
        k: one k, or several, answered from one ranking of each row (a top-1 hit is then also a
            top-5 hit, ties included); each capped at K.
        ties: which of equal scores ranks first. ``"low"``: the lower class index (a stable sort
            of ``-scores``; deterministic). ``"torch"``: the pick of one ``torch.topk`` call
            (unspecified among equal scores): the rule of training's running and validation
            accuracies (:func:`mmlkit.training.loop.train_one_epoch`, ``validate``), kept so
            that the numbers their logs hold do not move.

    Returns:
        bool (n,) for one k, (n, len(k)) for several: a numpy array, or a tensor on the
        device of a tensor input.
    """
    ks = (int(k),) if isinstance(k, (int, np.integer)) else tuple(int(kk) for kk in k)
    if ties == "torch":
        import torch

        s = torch.as_tensor(scores)
        y = torch.as_tensor(labels, device=s.device)
        kmax = min(max(ks), s.shape[1])
        hit = s.topk(kmax, dim=1).indices == y[:, None]                      # (n, kmax)
        out = torch.stack([hit[:, :min(kk, kmax)].any(dim=1) for kk in ks], dim=1)
        out = out if isinstance(scores, torch.Tensor) else out.cpu().numpy()
    elif ties == "low":
        s, y = check_pair(scores, labels)
        kmax = min(max(ks), s.shape[1])
        hit = np.argsort(-s, axis=1, kind="stable")[:, :kmax] == y[:, None]   # (n, kmax)
        out = np.stack([hit[:, :min(kk, kmax)].any(axis=1) for kk in ks], axis=1)
    else:
        raise ValueError(f"ties={ties!r} must be 'low' or 'torch'")
    return out[:, 0] if isinstance(k, (int, np.integer)) else out
