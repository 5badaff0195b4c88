"""Notebook 06: when does a peer help the RGB model?

Before spending compute on a second modality, a practitioner wants to know in which regime mutual
learning pays. This analysis measures the MML gain of the RGB model (MML's RGB model minus the same
RGB model trained as long without a peer, paired by seed) on a small grid:

* **regime** (rows): ``converged`` (the profile's schedule, stage 1 and stage 2 as in the paper;
  stage 2 trains as long as its peer's modality needs, :func:`mmlkit.config.finetune_epochs`)
  and ``short`` (the whole recipe at a quarter of the profile's epochs: an under-fitted RGB
  model, as in mmlkit v0.1);
* **peer** (columns): an RGB peer (plain mutual learning), a Flow peer and an RGBDiff peer, all
  started from the RGB model of the same regime; the RGB model alone and the peer alone train as
  long as the pair (equal epochs).

Each cell also reports what might explain it, measured, never assumed: the peer's strength
(the peer trained alone from the RGB model, minus the RGB model trained alone), the ensemble gain
of the two models trained alone (their complementarity), and the RGB model's train - validation
gap (how much room a regulariser has).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mmlkit.config import MODALITIES
from mmlkit.evaluation import ensemble
from mmlkit.results.analysis import Analysis, compare, member_scores, per_seed, top1
from mmlkit.results.experiments import SCORING_PLAN, Study

PEERS = MODALITIES  # an RGB peer (plain mutual learning), Flow, RGBDiff


def regimes(study: Study) -> dict[str, int]:
    """Regime name -> epochs of every stage: ``converged`` (the profile's) and ``short`` (a quarter)."""
    full = study.base().optim.epochs
    return {"converged": full, "short": max(1, full // 4)}


def when_mml_helps(study: Study, which: tuple[str, ...] = ("converged", "short")) -> Analysis:
    """The grid of the module docstring: one row per (regime, peer), and two figures.

    Args:
        which: the regimes to run (names of :func:`regimes`).
    """
    seeds = study.seeds
    rows, claims = [], []
    for regime, epochs in regimes(study).items():
        if regime not in which:
            continue
        ep = None if epochs == study.base().optim.epochs else epochs
        for peer in PEERS:
            pair = ("RGB", peer)  # the RGB model alone and the peer alone train as long as the pair
            alone_runs = per_seed(study, lambda s, pair=pair: study.single("RGB", s, init="rgb", epochs=ep, like=pair),
                                   (SCORING_PLAN, "train"))
            alone = member_scores(alone_runs, 0)
            alone_fit = member_scores(alone_runs, 0, "train")
            peer_alone = alone if peer == "RGB" else member_scores(
                per_seed(study, lambda s, p=peer, pair=pair: study.single(p, s, init="rgb", epochs=ep, like=pair)), 0)
            mml = member_scores(per_seed(study, lambda s, pair=pair: study.cohort(pair, s, init="rgb", epochs=ep)), 0)
            stage2 = study.cohort(pair, seeds[0], init="rgb", epochs=ep).optim.epochs
            c = compare("C3 (06)", f"{regime} regime (stage 2: {stage2} epochs): MML with a {peer} peer beats "
                        "the RGB model trained alone", f"MML RGB,{peer}: RGB", mml, "RGB alone", alone, seeds)
            claims.append(c)
            ens = [ensemble([a, b]) for a, b in zip(alone, peer_alone)]
            rows.append({
                "regime": regime, "epochs": stage2, "peer": peer,
                "RGB alone": np.mean([top1(s) for s in alone]),
                "MML RGB": np.mean([top1(s) for s in mml]),
                "MML gain": c["diff"], "95% CI (seeds × videos)": c["95% CI (seeds × videos)"],
                "detectable (80% power)": c["detectable (80% power)"], "verdict": c["verdict"],
                "peer - RGB (alone)": np.mean([top1(p) - top1(a) for p, a in zip(peer_alone, alone)]),
                "ensemble gain": np.mean([top1(e) - top1(a) for e, a in zip(ens, alone)]),
                "RGB train - val": np.mean([top1(t) - top1(v) for t, v in zip(alone_fit, alone)]),
            })
    grid = pd.DataFrame(rows)
    res = Analysis("when_mml_helps")
    res.tables["grid"] = grid
    res.tables["claim"] = pd.DataFrame(claims)
    res.figures["grid"] = grid_figure(grid)
    res.figures["scatter"] = gain_scatter(grid)
    return res


def grid_figure(grid: pd.DataFrame) -> Figure:
    """A heat map of the MML gain (points), regimes x peers, each cell annotated with its interval."""
    regs = list(dict.fromkeys(grid["regime"]))
    peers = list(dict.fromkeys(grid["peer"]))
    val = np.full((len(regs), len(peers)), np.nan)
    fig = Figure(figsize=(1.9 * len(peers) + 2.5, 1.3 * len(regs) + 1.2), layout="constrained")
    ax = fig.subplots()
    lim = max(3.0, float(np.nanmax(np.abs(grid["MML gain"]))))
    for _, r in grid.iterrows():
        i, j = regs.index(r["regime"]), peers.index(r["peer"])
        val[i, j] = r["MML gain"]
        ax.text(j, i, f"{r['MML gain']:+.1f}\n{r['95% CI (seeds × videos)']}\npeer {r['peer - RGB (alone)']:+.1f}"
                      f"\n{int(r['epochs'])} ep.", ha="center", va="center", fontsize=7)
    im = ax.imshow(val, cmap="RdBu", vmin=-lim, vmax=lim, aspect="auto")
    ax.set_xticks(range(len(peers)), [f"{p} peer" for p in peers])
    ax.set_yticks(range(len(regs)), regs)
    fig.colorbar(im, ax=ax, label="MML gain of the RGB model (points)")
    ax.set_title("MML gain, its 95% CI (seeds × videos), and the peer's strength vs RGB")
    return fig


def gain_scatter(grid: pd.DataFrame) -> Figure:
    """MML gain against the peer's strength relative to RGB, one point per cell."""
    fig = Figure(figsize=(5.2, 3.8), layout="constrained")
    ax = fig.subplots()
    for regime, g in grid.groupby("regime", sort=False):
        ax.scatter(g["peer - RGB (alone)"], g["MML gain"], label=regime, s=40)
        for _, r in g.iterrows():
            ax.annotate(r["peer"], (r["peer - RGB (alone)"], r["MML gain"]), fontsize=7, xytext=(3, 3),
                        textcoords="offset points")
    ax.axhline(0, color="0.5", lw=0.8)
    ax.axvline(0, color="0.5", lw=0.8)
    ax.set_xlabel("peer's top-1 minus RGB's, both trained alone (points)")
    ax.set_ylabel("MML gain of the RGB model (points)")
    ax.legend(title="regime", fontsize=8)
    ax.grid(alpha=0.3)
    return fig
