"""The shared toolkit of the analyses: what an analysis returns, and how runs become numbers.

Each notebook's analysis (``analyses.py``, ``data_tour.py``, ``when_mml_helps.py``,
``paper_tables.py``) trains what is missing through a :class:`~mmlkit.results.experiments.Study`,
reads the stored scores and returns an :class:`Analysis`: named tables and figures.

Statistics. Every accuracy is validation top-1 in percent, summarised as mean +- std over
training seeds. A comparison "A better than B" (:func:`compare`) pairs A and B by seed (same
seed, same data order) and reports the mean paired difference, its t-based 95% confidence
interval over seeds (:func:`mmlkit.results.tables.paired_difference`, scipy's t) and a two-way
bootstrap 95% interval over seeds and videos (:func:`mmlkit.evaluation.hierarchical_bootstrap`):
each replicate resamples the seeds, and resamples the validation videos once for all seeds and
both sides, since every seed is evaluated on the same videos. (Pooling the seeds' predictions as
if they were 3x as many independent videos gave a falsely narrow interval; it is no longer shown.)
The verdict (:func:`mmlkit.results.tables.claim_verdict`) uses the interval over seeds:
``holds`` when it lies above 0, ``does not hold`` when it lies at or below 0, else
``inconclusive``. With three seeds that interval is wide (t = 4.30), so only effects well above
seed noise hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mmlkit.evaluation import Scores, hierarchical_bootstrap
from mmlkit.results import tables
from mmlkit.results.experiments import Study


@dataclass
class Analysis:
    """What one analysis produced: named tables (DataFrames) and figures, plus the comparisons."""

    name: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: dict[str, Figure] = field(default_factory=dict)

    def save(self, output_dir: str | Path | None) -> None:
        """Write ``tables/<name>_<key>.{csv,md}`` and ``figures/<name>_<key>.png`` under ``output_dir``.

        ``output_dir=None`` writes nothing (interactive use, nbval).
        """
        if output_dir is None:
            return
        out = Path(output_dir)
        stem = (lambda key: f"{self.name}_{key}") if self.name else (lambda key: key)
        for key, df in self.tables.items():
            tables.write_table(df, out / "tables", stem(key))
        for key, fig in self.figures.items():
            path = out / "figures" / f"{stem(key)}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(path, dpi=120, bbox_inches="tight")


def per_seed(study: Study, make: Callable[[int], object], plans: Sequence[str] = ("centre",)) -> list:
    """One run per seed of the config ``make(seed)``, trained if missing, scored for ``plans``."""
    return [study.run(make(s), plans) for s in study.seeds]


def member_scores(runs: Sequence, index: int, plan: str = "centre") -> list[Scores]:
    """The stored scores of model ``index`` of each run (one per seed)."""
    return [r.scores(plan)[index] for r in runs]


def top1(scores: Scores) -> float:
    return 100.0 * float(scores.correct(1).mean())


def top5(scores: Scores) -> float:
    return 100.0 * float(scores.correct(min(5, scores.num_classes)).mean())


def mean_std(values: Sequence[float]) -> str:
    v = np.asarray(values, float)
    return f"{v.mean():.1f} ± {v.std(ddof=1):.1f}" if len(v) > 1 else f"{v.mean():.1f}"


def score_rows(label: str, scores: Sequence[Scores], seeds: Sequence[int], **extra) -> list[dict]:
    return [{"experiment": label, "seed": s, "top1": top1(sc), "top5": top5(sc), **extra}
            for s, sc in zip(seeds, scores)]


def summarise(acc: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Mean +- std over seeds of top-1 and top-5 per group; columns ``by``, top-1, top-5, seeds."""
    t1 = tables.seed_summary(acc, list(by), "top1")
    t5 = tables.seed_summary(acc, list(by), "top5")
    out = t1[list(by)].copy()
    out["top-1 (%)"] = t1["text"]
    out["top-5 (%)"] = t5["text"]
    out["seeds"] = t1["n"]
    return out


def compare(claim: str, what: str, a_name: str, a: Sequence[Scores], b_name: str, b: Sequence[Scores],
            seeds: Sequence[int]) -> dict:
    """One row of a claims table: "A better than B", paired by seed (see the module docstring).

    Args:
        claim: the claim's id (``"C1"``..``"C4"``, :data:`mmlkit.results.paper.CLAIMS`, or a label).
        what: the comparison in words.
        a, b: the two sides' scores, one per seed, in ``seeds`` order, on the same videos.

    Returns:
        dict with the formatted accuracies, the paired difference (mean, std, per seed), the t
        interval over seeds, the two-way (seeds x videos) bootstrap interval and the verdict.
    """
    acc_a, acc_b = [top1(s) for s in a], [top1(s) for s in b]
    wide = pd.DataFrame({"seed": list(seeds), "a": acc_a, "b": acc_b})
    d = tables.paired_difference(wide, "a", "b", on="seed")
    for side, name in ((a, a_name), (b, b_name)):
        for seed, s in zip(seeds, side):
            if list(s.ids) != list(a[0].ids):
                raise ValueError(f"compare {claim}: {name!r} seed {seed} is scored on other videos (or another "
                                 f"order) than {a_name!r} seed {seeds[0]}; both sides need the same videos")
    vb = hierarchical_bootstrap([s.correct(1) for s in a], [s.correct(1) for s in b],
                                rng=np.random.default_rng(0), n_boot=2000)
    ci = (f"[{d['ci_low']:+.1f}, {d['ci_high']:+.1f}]" if np.isfinite(d["ci_low"]) else "n/a (1 seed)")
    return {"claim": claim, "comparison": what, "A": a_name, "B": b_name,
            "A top-1 (%)": mean_std(acc_a), "B top-1 (%)": mean_std(acc_b),
            "A - B": f"{d['mean']:+.1f}" + (f" ± {d['std']:.1f}" if len(acc_a) > 1 else ""),
            "per seed": ", ".join(f"{x:+.1f}" for x in np.subtract(acc_a, acc_b)),
            "95% CI (seeds)": ci,
            "95% CI (seeds × videos)": f"[{100 * vb['low']:+.1f}, {100 * vb['high']:+.1f}]",
            "verdict": tables.claim_verdict(d), "diff": d["mean"]}
