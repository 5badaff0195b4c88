"""Is the experiment valid? Checks that never read the paper's claims.

A verdict on mutual modality learning only means something when the setup is the paper's: every
stage-1 model has converged, every modality is a competent model of its data, and the modalities
carry complementary evidence. This module states those criteria as pure functions of training
logs and stored scores, and builds the tables and figures that show them (notebooks 01 and 02).

The criteria (thresholds as module constants, so tables and tests use the same numbers):

* **plateau**: validation top-1 changes by less than :data:`PLATEAU_POINTS` over the last quarter
  of a stage-1 schedule (the change from the first validation at or after epoch ``0.75 E`` to
  the last one);
* **second round**: training the stage-1 model again on the same schedule (from itself) gains
  less than :data:`SECOND_ROUND_POINTS` validation points;
* **fit**: the model scores at least :data:`FIT_TOP1` top-1 on its own training videos (centre
  view, no augmentation, dropout off);
* **complementary**: an ensemble with RGB beats the better of its members (paired over seeds).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

PLATEAU_POINTS = 1.5
SECOND_ROUND_POINTS = 3.0
FIT_TOP1 = 90.0


def plateau_change(log: pd.DataFrame, fraction: float = 0.25) -> dict:
    """How much validation top-1 moved over the last ``fraction`` of the epochs.

    The last quarter (``fraction=0.25``) of an E-epoch schedule starts at the last validated
    epoch at or before ``0.75 E`` (the first validated one when there is none before), and ends
    at the last validated epoch.

    Args:
        log: one model's training log (``Run.logs()`` rows of one model): columns ``epoch``
            (1-based) and ``val_top1`` (%; NaN on epochs without validation).
        fraction: the tail of the schedule that is examined, in (0, 1).

    Returns:
        ``{"epochs": E, "from_epoch", "from_top1", "final_top1", "change": final - from
        (points), "range": max - min over the tail, "plateau": |change| < PLATEAU_POINTS}``;
        with fewer than two validations, ``change`` and ``range`` are NaN and ``plateau`` False.
    """
    if not 0 < fraction < 1:
        raise ValueError(f"fraction={fraction} must be in (0, 1)")
    val = log.dropna(subset=["val_top1"]).sort_values("epoch")
    epochs = int(log["epoch"].max())
    if len(val) < 2:
        v = float(val["val_top1"].iloc[-1]) if len(val) else float("nan")
        return {"epochs": epochs, "from_epoch": epochs, "from_top1": v, "final_top1": v, "change": float("nan"),
                "range": float("nan"), "plateau": False}
    before = val[val["epoch"] <= (1 - fraction) * epochs]
    first = before.iloc[-1] if len(before) else val.iloc[0]
    tail = val[val["epoch"] >= first["epoch"]]
    last = tail.iloc[-1]
    change = float(last["val_top1"] - first["val_top1"])
    return {"epochs": epochs, "from_epoch": int(first["epoch"]), "from_top1": float(first["val_top1"]),
            "final_top1": float(last["val_top1"]), "change": change,
            "range": float(tail["val_top1"].max() - tail["val_top1"].min()),
            "plateau": abs(change) < PLATEAU_POINTS}


def convergence_rows(modality: str, seeds: Sequence[int], logs: Sequence[pd.DataFrame], val_top1: Sequence[float],
                     second_top1: Sequence[float], train_top1: Sequence[float]) -> list[dict]:
    """One row per seed of a stage-1 model's validity checks (see the module docstring).

    Args:
        modality: the model's modality.
        seeds: training seeds, aligned with the other arguments.
        logs: each seed's training log of the stage-1 model.
        val_top1: each seed's stored validation top-1 (%) of the stage-1 model (last epoch).
        second_top1: validation top-1 (%) after a second round on the same schedule.
        train_top1: top-1 (%) of the stage-1 model on its training videos (eval mode).
    """
    rows = []
    for seed, log, v, v2, tr in zip(seeds, logs, val_top1, second_top1, train_top1):
        p = plateau_change(log)
        rows.append({"modality": modality, "seed": seed, "epochs": p["epochs"],
                     "from epoch": p["from_epoch"], "val top-1 then": p["from_top1"], "val top-1": v,
                     "last-quarter change": p["change"], "2nd round": v2, "2nd-round gain": v2 - v,
                     "train top-1": tr, "train - val": tr - v,
                     "plateau": bool(p["plateau"]), "2nd round < 3": bool(v2 - v < SECOND_ROUND_POINTS),
                     "fits (train >= 90)": bool(tr >= FIT_TOP1)})
    return rows


def convergence_summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Per modality: mean of the numeric columns and whether every seed passes each check."""
    checks = ["plateau", "2nd round < 3", "fits (train >= 90)"]
    nums = ["val top-1", "last-quarter change", "2nd round", "2nd-round gain", "train top-1", "train - val"]
    g = rows.groupby("modality", sort=False)
    out = g[nums].mean().round(1)
    for c in checks:
        out[c] = g[c].all().map({True: "yes", False: "NO"})
    out.insert(0, "seeds", g.size())
    return out.reset_index()


def plateau_figure(curves: dict[str, list[tuple[pd.DataFrame, pd.DataFrame]]]) -> Figure:
    """Validation top-1 against epoch: stage 1 (solid) then its second round (dashed, epochs E+1..2E).

    Args:
        curves: modality -> one ``(stage-1 log, second-round log)`` pair per seed.
    """
    fig = Figure(figsize=(4.2 * len(curves), 3.4), layout="constrained")
    axes = fig.subplots(1, len(curves), squeeze=False, sharey=True)[0]
    for ax, (mod, pairs) in zip(axes, curves.items()):
        for k, (first, second) in enumerate(pairs):
            a = first.dropna(subset=["val_top1"])
            line, = ax.plot(a["epoch"], a["val_top1"], marker=".", lw=1.2, label=f"seed {k}")
            e = int(first["epoch"].max())
            b = second.dropna(subset=["val_top1"])
            ax.plot(np.r_[a["epoch"].iloc[-1], b["epoch"] + e], np.r_[a["val_top1"].iloc[-1], b["val_top1"]],
                    ls="--", lw=1, color=line.get_color())
            ax.axvspan(0.75 * e, e, color="0.9", zorder=0)
            ax.axvline(e, color="0.5", lw=0.8)
        ax.set_title(f"{mod}: stage 1, then a 2nd round (dashed)")
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("validation top-1 (%)")
    axes[0].legend(fontsize=8)
    return fig


def per_class_table(per_class: dict[str, np.ndarray], class_names: Sequence[str]) -> pd.DataFrame:
    """Per-class validation top-1 (%) of each modality, one column per modality, one row per class.

    Args:
        per_class: modality -> float (K,) accuracies in [0, 1] (NaN for a class with no videos).
    """
    df = pd.DataFrame({m: 100 * np.asarray(v, float) for m, v in per_class.items()})
    df.insert(0, "class", list(class_names))
    return df


def per_class_figure(table: pd.DataFrame) -> Figure:
    """A heat map of :func:`per_class_table`: which classes each modality sees."""
    from mmlkit.results.plots import row_inches, wrap_label

    mods = [c for c in table.columns if c != "class"]
    labels = [wrap_label(c) for c in table["class"]]  # full names, wrapped, never cut
    row = row_inches(labels, 0.24)  # inches per class
    fig = Figure(figsize=(2.0 + 1.1 * len(mods) + 4.5, row * len(table) + 1.2), layout="constrained")
    ax = fig.subplots()
    data = table[mods].to_numpy(float)
    im = ax.imshow(data, cmap="viridis", vmin=0, vmax=100, aspect="auto")
    ax.set_xticks(range(len(mods)), mods)
    ax.set_yticks(range(len(table)), labels, fontsize=7)
    for (i, j), v in np.ndenumerate(data):
        if np.isfinite(v):
            ax.text(j, i, f"{v:.0f}", ha="center", va="center", fontsize=6, color="w" if v < 60 else "k")
    fig.colorbar(im, ax=ax, label="validation top-1 (%)")
    ax.set_title("per-class accuracy of each modality (mean over seeds)")
    return fig
