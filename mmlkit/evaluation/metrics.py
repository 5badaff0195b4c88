"""Classification metrics: pure functions on numpy arrays.

Conventions: ``scores`` float (n, K) (logits or probabilities; only their order matters),
``labels`` int (n,) 0-based class indices in ``[0, K)``. Accuracies are fractions in ``[0, 1]``
(:func:`summary` reports percent). Randomness only through an explicit
``rng: np.random.Generator``. :func:`topk_correct` lives in :mod:`mmlkit.topk`, shared with training.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from mmlkit.topk import check_pair as _check_pair
from mmlkit.topk import topk_correct  # noqa: F401  (public here too)


def topk_accuracy(scores: np.ndarray, labels: np.ndarray, k: int = 1) -> float:
    """Fraction of rows whose label is among the ``k`` highest scores (``nan`` when n = 0)."""
    c = topk_correct(scores, labels, k)
    return float(c.mean()) if len(c) else float("nan")


def confusion_matrix(pred: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Counts int64 (K, K): row = true class, column = predicted class (sklearn's layout)."""
    pred = np.asarray(pred, dtype=np.int64)
    labels = np.asarray(labels, dtype=np.int64)
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (labels, pred), 1)
    return cm


def per_class_accuracy(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Top-1 recall per class, float64 (K,); ``nan`` for classes with no video."""
    scores, labels = _check_pair(scores, labels)
    k = scores.shape[1]
    cm = confusion_matrix(scores.argmax(axis=1), labels, k)
    count = cm.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, np.diag(cm) / np.maximum(count, 1), np.nan)


def mean_class_accuracy(scores: np.ndarray, labels: np.ndarray) -> float:
    """Mean of :func:`per_class_accuracy` over the classes that have videos."""
    acc = per_class_accuracy(scores, labels)
    return float(np.nanmean(acc)) if np.isfinite(acc).any() else float("nan")


def _resampled_means(x: np.ndarray, rng: np.random.Generator, n_boot: int) -> np.ndarray:
    """Means of ``n_boot`` resamples (with replacement) of ``x`` (n,), float64 (n_boot,).

    0/1 data: a resampled sum is Binomial(n, mean(x)), drawn directly (exact, O(n_boot)).
    Other data: index resampling in chunks of about 4M draws (bounded memory).
    """
    n = len(x)
    if np.isin(x, (0, 1)).all():
        return rng.binomial(n, float(x.mean()), size=n_boot) / n
    rows = max(1, (1 << 22) // n)
    return np.concatenate([x[rng.integers(0, n, size=(min(rows, n_boot - i), n))].mean(axis=1)
                           for i in range(0, n_boot, rows)])


def bootstrap_ci(correct: np.ndarray, rng: np.random.Generator, n_boot: int = 1000,
                 alpha: float = 0.05) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of an accuracy.

    Args:
        correct: bool or 0/1 (n,), one entry per video (e.g. :func:`topk_correct`).
        rng: the only source of randomness.
        n_boot: bootstrap resamples of the n videos (with replacement; for 0/1 data drawn
            exactly as Binomial(n, accuracy) / n, which is the same distribution).
        alpha: 1 - confidence level.

    Returns:
        (low, high) fractions in [0, 1].
    """
    c = np.asarray(correct, dtype=np.float64)
    if len(c) == 0:
        raise ValueError("bootstrap_ci: no videos")
    means = _resampled_means(c, rng, n_boot)
    lo, hi = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)


def paired_bootstrap(correct_a: np.ndarray, correct_b: np.ndarray, rng: np.random.Generator,
                     n_boot: int = 1000, alpha: float = 0.05) -> dict[str, float]:
    """Paired bootstrap of ``acc(a) - acc(b)`` on the same videos (resampled together).

    Returns:
        dict: ``diff`` (observed, fraction), ``low``, ``high`` (percentile CI), ``p_value``
        (two-sided: twice the smaller share of resampled differences on either side of 0,
        at most 1).
    """
    a = np.asarray(correct_a, dtype=np.float64)
    b = np.asarray(correct_b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1 or len(a) == 0:
        raise ValueError(f"paired_bootstrap: need two equal non-empty (n,) arrays; got {a.shape}, {b.shape}")
    d = a - b
    if np.isin(a, (0, 1)).all() and np.isin(b, (0, 1)).all():
        # exact and O(n_boot): resampling n pairs = multinomial counts of (a only, b only, other)
        p = np.array([((a == 1) & (b == 0)).mean(), ((a == 0) & (b == 1)).mean()])
        counts = rng.multinomial(len(d), [p[0], p[1], max(0.0, 1.0 - p.sum())], size=n_boot)
        diffs = (counts[:, 0] - counts[:, 1]) / len(d)
    else:
        diffs = _resampled_means(d, rng, n_boot)
    lo, hi = np.quantile(diffs, [alpha / 2, 1 - alpha / 2])
    p = min(1.0, 2 * min(float((diffs <= 0).mean()), float((diffs >= 0).mean())))
    return {"diff": float(d.mean()), "low": float(lo), "high": float(hi), "p_value": p}


def hierarchical_bootstrap(correct_a: Sequence[np.ndarray], correct_b: Sequence[np.ndarray],
                           rng: np.random.Generator, n_boot: int = 2000, level: float = 0.95) -> dict[str, float]:
    """Two-way (seeds x videos) paired bootstrap of ``acc(a) - acc(b)`` over several training seeds.

    ``correct_a[s]`` and ``correct_b[s]`` are the per-video results of A and B trained with
    seed ``s``, on the same videos in the same order under every seed. Each replicate

    1. resamples the S seeds with replacement (A and B keep their seed pairing), and
    2. resamples the n videos with replacement ONCE, and applies that one resample to every drawn
       seed and to both A and B,

    then takes the mean of ``a - b`` over the drawn (seed, video) cells. Why the video resample
    is shared across seeds: the videos are one fixed sample, the same set under every seed, so
    a seed and a video are crossed factors, not nested ones. Drawing the videos afresh for each
    seed would pretend every seed was evaluated on a new set of videos and divide the
    video-sampling variance by S; pooling the seeds' predictions into one paired bootstrap
    (:func:`paired_bootstrap` on the concatenation) also ignores the seed-to-seed variance.
    This design keeps both sources: roughly ``var(seed effect) / S + var(video effect) / n``.
    (The crossed bootstrap slightly overstates the interaction term, so it errs on the wide
    side: Owen 2007, "The pigeonhole bootstrap".) With S = 3 seeds the seed draw takes only 10
    distinct multisets: the interval is coarse and, unlike a t interval, not inflated for the
    small S; read it next to the t interval over seeds, not instead of it.

    Args:
        correct_a, correct_b: S arrays each (one per seed, paired by position), bool or 0/1 (or
            any float score) of shape (n,), the same n for every seed; a (S, n) array works too.
        rng: the only source of randomness. Draw order: seed indices (n_boot, S), then video
            indices (rows, n) chunk by chunk (one chunk when ``n_boot * n`` <= 4M).
        n_boot: bootstrap replicates.
        level: confidence level of the percentile interval, in (0, 1).

    Returns:
        dict like :func:`paired_bootstrap`'s, fractions: ``diff`` (observed mean of ``a - b`` over
        all seeds and videos), ``low``, ``high`` (percentile interval), ``p_value`` (two-sided:
        twice the smaller share of replicates on either side of 0, at most 1).
    """
    la = [np.asarray(x, dtype=np.float64) for x in correct_a]
    lb = [np.asarray(x, dtype=np.float64) for x in correct_b]
    shapes = {x.shape for x in la + lb}
    if not la or len(la) != len(lb) or len(shapes) != 1 or len(next(iter(shapes))) != 1 or not la[0].size:
        raise ValueError(f"hierarchical_bootstrap: need S >= 1 seeds of equal non-empty (n,) arrays for A and "
                         f"B, paired by position; got A {[x.shape for x in la]}, B {[x.shape for x in lb]}")
    a, b = np.stack(la), np.stack(lb)
    if not 0 < level < 1 or n_boot < 1:
        raise ValueError(f"hierarchical_bootstrap: need 0 < level < 1 and n_boot >= 1; got {level}, {n_boot}")
    d = a - b                                                    # (S, n)
    n_seeds, n = d.shape
    seed_idx = rng.integers(0, n_seeds, size=(n_boot, n_seeds))  # (B, S)
    # seed multiplicities per replicate: (B, S) counts, each row sums to S
    seed_w = (seed_idx[:, :, None] == np.arange(n_seeds)).sum(axis=1)
    rows = max(1, (1 << 22) // n)
    diffs = np.empty(n_boot)
    for i in range(0, n_boot, rows):                             # chunks of replicates, bounded memory
        k = min(rows, n_boot - i)
        # sums first, one division last: exact for 0/1 data, so a tie is exactly 0 (p_value)
        per_video = seed_w[i:i + k] @ d                          # (k, n): sum over each replicate's seeds
        vid_idx = rng.integers(0, n, size=(k, n))                # one video resample per replicate
        diffs[i:i + k] = np.take_along_axis(per_video, vid_idx, axis=1).sum(axis=1) / (n_seeds * n)
    alpha = 1.0 - level
    lo, hi = np.quantile(diffs, [alpha / 2, 1 - alpha / 2])
    p = min(1.0, 2 * min(float((diffs <= 0).mean()), float((diffs >= 0).mean())))
    return {"diff": float(d.mean()), "low": float(lo), "high": float(hi), "p_value": p}


def summary(scores: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """``top1``, ``top5``, ``mean_class_acc`` in percent and ``n`` (videos)."""
    return {"top1": 100 * topk_accuracy(scores, labels, 1), "top5": 100 * topk_accuracy(scores, labels, 5),
            "mean_class_acc": 100 * mean_class_accuracy(scores, labels), "n": int(len(labels))}
