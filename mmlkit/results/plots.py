"""Figures for the notebooks. Each function returns a matplotlib Figure and, given ``path``,
saves it as PNG (folders created). Uses the object API only (no pyplot state is kept: figures
are created with ``matplotlib.figure.Figure``, so this works headless without choosing a backend).
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure


def wrap_label(text: object, width: int = 48) -> str:
    """``text`` broken at spaces into lines of at most ``width`` characters; a word is never cut,
    so a long class name stays readable in full (a tick label, never truncated)."""
    return textwrap.fill(str(text), width, break_long_words=False, break_on_hyphens=False) or str(text)


def label_lines(labels: Sequence[str]) -> int:
    """The most lines any of ``labels`` takes (at least 1): what a row of tick labels must fit."""
    return max([1] + [str(t).count("\n") + 1 for t in labels])


def row_inches(labels: Sequence[str], minimum: float) -> float:
    """The height (inches) of one row of a chart with one row per label, in 7-pt type, so that the
    longest wrapped label fits: ``minimum`` at least."""
    return max(minimum, 0.08 + 0.14 * label_lines(labels))


def _save(fig: Figure, path: str | Path | None) -> Figure:
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=120, bbox_inches="tight")
    return fig


def training_curves(logs: pd.DataFrame, metrics: Sequence[str] = ("ce", "kl", "val_top1"), x: str = "epoch",
                    hue: str = "model", path: str | Path | None = None) -> Figure:
    """One panel per metric (columns of ``logs`` such as ``Run.logs()``), one line per ``hue``.

    Missing metrics (e.g. ``kl`` for a single model) get an empty panel saying so.
    """
    fig = Figure(figsize=(4 * len(metrics), 3.2), layout="constrained")
    axes = fig.subplots(1, len(metrics), squeeze=False)[0]
    for ax, m in zip(axes, metrics):
        ax.set_title(m)
        ax.set_xlabel(x)
        if m not in logs or logs[m].isna().all():
            ax.text(0.5, 0.5, f"no {m}", ha="center", va="center", transform=ax.transAxes)
            continue
        groups = logs.groupby(hue, sort=False) if hue in logs else [("", logs)]
        for name, g in groups:
            g = g.dropna(subset=[m])
            ax.plot(g[x], g[m], marker="o", ms=3, label=str(name))
        ax.legend(fontsize=7)
    return _save(fig, path)


def accuracy_bars(df: pd.DataFrame, x: str, value: str = "top1", hue: str | None = None,
                  path: str | Path | None = None, title: str = "") -> Figure:
    """Mean of ``value`` per ``x`` (and ``hue``) with error bars of one std across seeds, and the
    individual seeds as dots."""
    xs = list(dict.fromkeys(df[x]))
    labels = [wrap_label(k, 16) for k in xs]  # whole names, a few lines each, never cut at the figure's edge
    fig = Figure(figsize=(max(4, 1.3 * len(xs) * (df[hue].nunique() if hue else 1)), 3.2 + 0.15 * label_lines(labels)),
                 layout="constrained")
    ax = fig.subplots()
    hues = list(dict.fromkeys(df[hue])) if hue else [None]
    width = 0.8 / len(hues)
    for j, h in enumerate(hues):
        sub = df if h is None else df[df[hue] == h]
        pos = np.arange(len(xs)) + (j - (len(hues) - 1) / 2) * width
        means = [sub[sub[x] == k][value].mean() for k in xs]
        stds = [sub[sub[x] == k][value].std(ddof=1) for k in xs]
        ax.bar(pos, means, width * 0.9, yerr=np.nan_to_num(stds), capsize=3, label=None if h is None else str(h),
               alpha=0.8)
        for p, k in zip(pos, xs):
            v = sub[sub[x] == k][value].to_numpy()
            ax.scatter(np.full(len(v), p), v, color="k", s=8, zorder=3)
    ax.set_xticks(np.arange(len(xs)), labels, fontsize=8)
    ax.set_ylabel({"top1": "top-1 (%)", "top5": "top-5 (%)"}.get(value, value))
    ax.set_title(title)
    if hue:
        ax.legend(fontsize=7)
    return _save(fig, path)


def class_gain(acc_a: np.ndarray, acc_b: np.ndarray, class_names: Sequence[str] | None = None,
               label_a: str = "a", label_b: str = "b", top: int = 30, path: str | Path | None = None) -> Figure:
    """Per-class accuracy gain ``acc_a - acc_b`` (float (K,), e.g. ``per_class_accuracy``), sorted,
    the ``top`` largest magnitudes shown."""
    gain = np.asarray(acc_a, float) - np.asarray(acc_b, float)
    names = list(class_names) if class_names is not None else [str(i) for i in range(len(gain))]
    ok = np.flatnonzero(np.isfinite(gain))
    order = ok[np.argsort(-np.abs(gain[ok]), kind="stable")][:top]
    order = order[np.argsort(gain[order], kind="stable")]
    labels = [wrap_label(names[i]) for i in order]
    row = row_inches(labels, 0.25)  # inches per class: room for its wrapped name
    fig = Figure(figsize=(7, row * len(order) + 1.2), layout="constrained")
    ax = fig.subplots()
    ax.barh(np.arange(len(order)), 100 * gain[order], color=["tab:green" if g > 0 else "tab:red" for g in gain[order]])
    ax.set_yticks(np.arange(len(order)), labels, fontsize=7)
    ax.set_ylim(-0.6, len(order) - 0.4)
    ax.axvline(0, color="k", lw=0.8)
    ax.set_xlabel(f"per-class top-1 gain, {label_a} - {label_b} (points)")
    return _save(fig, path)


def confusion_heatmap(cm: np.ndarray, class_names: Sequence[str] | None = None, normalize: bool = True,
                      path: str | Path | None = None, title: str = "") -> Figure:
    """Heatmap of a confusion matrix int (K, K) (rows true, columns predicted), row-normalised."""
    cm = np.asarray(cm, float)
    if normalize:
        cm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    k = len(cm)
    size = min(12, 2 + 0.3 * k)
    named = class_names is not None and k <= 40
    fig = Figure(figsize=(size + (2.6 if named else 1), size), layout="constrained")
    ax = fig.subplots()
    im = ax.imshow(cm, cmap="viridis", vmin=0, vmax=1 if normalize else None)
    fig.colorbar(im, ax=ax, shrink=0.8)
    if named:  # the full name on the rows, its index on the columns
        ax.set_xticks(range(k), [str(i) for i in range(k)], fontsize=6)
        ax.set_yticks(range(k), [wrap_label(f"{i}: {n}", 40) for i, n in enumerate(class_names)], fontsize=6)
    ax.set_xlabel("predicted (class index)" if named else "predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    return _save(fig, path)


def subset_bars(table: pd.DataFrame, value: str = "top1", path: str | Path | None = None,
                title: str = "") -> Figure:
    """Bars of ``evaluation.subset_table`` (one per model subset), coloured by subset size."""
    fig = Figure(figsize=(max(4, 0.6 * len(table) + 1), 3.5), layout="constrained")
    ax = fig.subplots()
    colors = [f"C{int(n) - 1}" for n in table["n_models"]]
    ax.bar(np.arange(len(table)), table[value], color=colors)
    for i, v in enumerate(table[value]):
        ax.text(i, v, f"{v:.1f}", ha="center", va="bottom", fontsize=7)
    ax.set_xticks(np.arange(len(table)), list(table["models"]), rotation=30, ha="right", fontsize=7)
    ax.set_ylabel(value)
    ax.set_title(title)
    return _save(fig, path)


def sampler_views(num_frames: int, num_segments: int, dense_length: int = 32, dense_number: int = 3,
                  new_length: int = 1) -> dict[str, np.ndarray]:
    """Test clips (int64 (V, T) 0-based starts) of each sampler, from ``mmlkit.data.sampling``."""
    from mmlkit.data.sampling import test_indices

    kw = dict(num_frames=num_frames, num_segments=num_segments, new_length=new_length, dense_length=dense_length)
    return {"uniform": test_indices(mode="uniform", **kw),
            "twice": test_indices(mode="uniform", twice=True, **kw),
            "dense": test_indices(mode="dense", **kw),
            f"dense x {dense_number}": test_indices(mode="dense", dense_number=dense_number, **kw),
            "random (both)": test_indices(mode="random", dense_number=dense_number, twice=True, **kw)}


def sampler_timelines(num_frames: int, views: Mapping[str, np.ndarray] | None = None, num_segments: int = 8,
                      dense_length: int = 32, dense_number: int = 3, path: str | Path | None = None) -> Figure:
    """Frame-index timelines: one row per clip of each sampler, a dot per segment start.

    Args:
        num_frames: N, frames of the video (x axis 0..N-1).
        views: sampler name -> int (V, T) clip starts; default :func:`sampler_views`.
    """
    views = dict(views) if views is not None else sampler_views(num_frames, num_segments, dense_length, dense_number)
    rows = [(name, v, clip) for name, arr in views.items() for v, clip in enumerate(np.atleast_2d(arr))]
    fig = Figure(figsize=(8, 0.35 * len(rows) + 1), layout="constrained")
    ax = fig.subplots()
    names = list(views)
    for r, (name, v, clip) in enumerate(rows):
        c = f"C{names.index(name)}"
        ax.hlines(r, 0, num_frames - 1, color="0.85", lw=1)
        ax.scatter(clip, np.full(len(clip), r), color=c, s=18, zorder=3)
    ax.set_yticks(range(len(rows)), [f"{n} [{v}]" for n, v, _ in rows], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(-1, num_frames)
    ax.set_xlabel(f"frame index (0-based, N = {num_frames})")
    return _save(fig, path)


_VERDICT_COLOURS = {"holds": "tab:green", "opposite holds": "tab:red", "no effect of practical size": "tab:blue",
                    "inconclusive": "0.45"}


def forest(claims: pd.DataFrame, margin: float = 1.0, path: str | Path | None = None,
           title: str = "each claim: A - B, top-1 points, with its 95% interval (seeds × videos)") -> Figure:
    """A forest plot of paired differences: one row per claim, the mean difference ``A - B`` and
    its 95% interval against 0, the +-``margin`` band of "no effect of practical size" shaded,
    coloured by verdict, with the seeds and the detectable effect (80% power) written beside.

    Args:
        claims: rows of :func:`mmlkit.results.analysis.compare`: ``claim``, ``comparison``,
            ``diff``, ``low``, ``high``, ``verdict``, ``seeds``, ``detectable``.
    """
    labels = [wrap_label(f"{r['claim']}: {r['comparison']}", 64) for _, r in claims.iterrows()]
    rows = np.array([0.3 + 0.15 * label_lines([t]) for t in labels])  # inches: each row fits its wrapped label
    fig = Figure(figsize=(12, rows.sum() + 1.4), layout="constrained")
    ax = fig.subplots()
    ax.axvspan(-margin, margin, color="tab:blue", alpha=0.08, lw=0)
    ax.axvline(0, color="0.3", lw=0.8)
    ys = rows.sum() - (np.cumsum(rows) - rows / 2)  # first claim on top, y in inches
    for y, (_, r) in zip(ys, claims.iterrows()):
        colour = _VERDICT_COLOURS.get(r["verdict"], "k")
        if np.isfinite(r["low"]):
            ax.plot([r["low"], r["high"]], [y, y], color=colour, lw=2)
        ax.plot([r["diff"]], [y], "o", color=colour, ms=5)
    ax.set_yticks(ys, labels, fontsize=8)
    notes = [f"{r['verdict']}; {int(r['seeds'])} seeds; detects ±{r['detectable']:.1f}" if np.isfinite(r["detectable"])
             else f"{r['verdict']}; {int(r['seeds'])} seed" for _, r in claims.iterrows()]
    right = ax.secondary_yaxis("right")
    right.set_yticks(ys, notes, fontsize=8)
    ax.set_ylim(0, rows.sum())
    ax.set_xlabel(f"A - B (points); shaded: ±{margin:g}, no effect of practical size")
    ax.set_title(title, fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    return _save(fig, path)
