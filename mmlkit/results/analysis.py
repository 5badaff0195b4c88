"""The shared toolkit of the analyses: what an analysis returns, and how runs become numbers.

Each notebook's analysis (``analyses.py``, ``data_tour.py``, ``when_mml_helps.py``,
``paper_tables.py``) trains what is missing through a :class:`~mmlkit.results.experiments.Study`,
reads the stored scores and returns an :class:`Analysis`: named tables and figures.

Statistics. Every accuracy is top-1 in percent on the split claims are scored on (the labelled
held-out split, :data:`mmlkit.results.experiments.SCORING_PLAN`; the validation split stays for
the convergence checks and curves), summarised as mean +- std over training seeds. A comparison
"A better than B" (:func:`compare`) pairs A and B by seed (same seed, same data order) and by
video, and reads the (seeds x videos) matrix of per-video differences with
:mod:`mmlkit.results.precision`: the mean difference, its 95% interval over seeds and videos
(crossed random effects), the smallest effect it could detect with 80% power, and one of four
verdicts (holds; opposite holds; no effect of practical size, within +-1 point; inconclusive).
:func:`decide` first runs the two-stage seed rule (:func:`mmlkit.results.precision.seeds_needed`)
on the study's seeds and trains the further seeds it asks for. :func:`variance_split` splits a
comparison's spread into its training and evaluation-set parts, with a seeds x videos bootstrap
(:func:`mmlkit.evaluation.hierarchical_bootstrap`) beside the analytic interval as a cross-check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mmlkit.evaluation import Scores, hierarchical_bootstrap
from mmlkit.progress import summary
from mmlkit.results import precision, tables
from mmlkit.results.experiments import SCORING_PLAN, Study, repo_path


@dataclass
class Analysis:
    """What one analysis produced: named tables (DataFrames) and figures, plus the comparisons."""

    name: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: dict[str, Figure] = field(default_factory=dict)

    def save(self, output_dir: str | Path | None) -> None:
        """Write ``tables/<name>_<key>.{csv,md}`` and ``figures/<name>_<key>.png`` under ``output_dir``.

        ``output_dir=None`` writes nothing (interactive use, nbval); a relative ``output_dir``
        (``"papers_results"``, as ``reproduce`` passes it) is read from the repository root.
        """
        if output_dir is None:
            return
        out = repo_path(output_dir)
        stem = (lambda key: f"{self.name}_{key}") if self.name else (lambda key: key)
        for key, df in self.tables.items():
            tables.write_table(df, out / "tables", stem(key))
        for key, fig in self.figures.items():
            path = out / "figures" / f"{stem(key)}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(path, dpi=120, bbox_inches="tight")


def per_seed(study: Study, make: Callable[[int], object], plans: Sequence[str] = (SCORING_PLAN,),
             seeds: Sequence[int] | None = None) -> list:
    """One run per seed (``None``: the study's) of the config ``make(seed)``, trained if
    missing, scored for ``plans``."""
    return [study.run(make(s), plans) for s in (study.seeds if seeds is None else seeds)]


def member_scores(runs: Sequence, index: int, plan: str = SCORING_PLAN) -> list[Scores]:
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


def correct(scores: Sequence[Scores]) -> list[np.ndarray]:
    """Per-video top-1 hits (bool (n,)) of each seed's scores."""
    return [np.asarray(s.correct(1), bool) for s in scores]


def _check_same_videos(claim: str, sides: Sequence[tuple[str, Sequence[Scores]]], seeds: Sequence[int]) -> None:
    first_name, first = sides[0]
    for name, side in sides:
        for seed, s in zip(seeds, side):
            if list(s.ids) != list(first[0].ids):
                raise ValueError(f"compare {claim}: {name!r} seed {seed} is scored on other videos (or another "
                                 f"order) than {first_name!r} seed {seeds[0]}; both sides need the same videos")


def compare(claim: str, what: str, a_name: str, a: Sequence[Scores], b_name: str, b: Sequence[Scores],
            seeds: Sequence[int]) -> dict:
    """One row of a claims table: "A better than B", paired by seed and video (module docstring).

    Args:
        claim: the claim's id (``"C1"``..``"C4"``, :data:`mmlkit.results.paper.CLAIMS`, or a label).
        what: the comparison in words.
        a, b: the two sides' scores, one per seed, in ``seeds`` order, on the same videos.

    Returns:
        dict with the formatted accuracies and difference (mean +- std over seeds, per seed), the
        95% interval over seeds and videos, the detectable effect (80% power), seeds, videos and
        the verdict; and, for figures and other tables, the numbers ``diff``, ``low``, ``high``,
        ``detectable``.
    """
    _check_same_videos(claim, [(a_name, a), (b_name, b)], seeds)
    acc_a, acc_b = [top1(s) for s in a], [top1(s) for s in b]
    d = precision.decide(precision.paired_matrix(correct(a), correct(b)))
    per = np.subtract(acc_a, acc_b)
    fmt = lambda v: f"{v:.1f}" if np.isfinite(v) else "n/a"
    ci = f"[{d['low']:+.1f}, {d['high']:+.1f}]" if np.isfinite(d["low"]) else "n/a (1 seed)"
    return {"claim": claim, "comparison": what, "A": a_name, "B": b_name,
            "A top-1 (%)": mean_std(acc_a), "B top-1 (%)": mean_std(acc_b),
            "A - B": f"{d['mean']:+.1f}" + (f" ± {per.std(ddof=1):.1f}" if len(per) > 1 else ""),
            "per seed": ", ".join(f"{x:+.1f}" for x in per),
            "95% CI (seeds × videos)": ci, "detectable (80% power)": fmt(d["detectable"]),
            "seeds": len(seeds), "videos": d["n_videos"], "verdict": d["verdict"],
            "diff": d["mean"], "low": d["low"], "high": d["high"], "detectable": d["detectable"]}


def decide(study: Study, claim: str, what: str, a_name: str, a_of: Callable[[Sequence[int]], Sequence[Scores]],
           b_name: str, b_of: Callable[[Sequence[int]], Sequence[Scores]],
           compare_videos: int | None = None, variance: bool = True) -> tuple[dict, dict, dict | None]:
    """:func:`compare` at the number of seeds the two-stage rule asks for.

    The study's seeds are the first stage: their (seeds x videos) matrix gives the variances the
    rule reads (:func:`mmlkit.results.precision.seeds_needed`, never the difference), and the
    comparison is then made on the seeds it asks for (``study.seeds_upto``), trained if missing.
    With ``study.seed_rule`` off the first stage is the comparison.

    Args:
        a_of, b_of: seeds -> each side's scores on the scoring split, one per seed (training
            what is missing).
        compare_videos: passed to :func:`variance_split`.
        variance: also split the final seeds' variance (:func:`variance_split`, with its
            1,000-replicate bootstrap); ``False`` returns ``None`` in its place.

    Returns:
        (the :func:`compare` row, the rule's row: its inputs and outcome, the
        :func:`variance_split` row of the final seeds).
    """
    first = list(study.seeds)
    x = precision.paired_matrix(correct(a_of(first)), correct(b_of(first)))
    c = precision.components(x)
    if study.seed_rule:
        rule = precision.seeds_needed(c, cap=study.seed_cap)
    else:
        rule = {"first": len(first), "needed": None, "run": len(first), "capped": False,
                "floor": float("nan"), "planned_half": float("nan"), "reason": "seed rule off: the study's seeds"}
    seeds = study.seeds_upto(int(rule["run"]))
    if len(seeds) > len(first):  # the line a papermill --log-output reader sees before the extra runs
        summary(f"{claim}: the seed rule asks for {len(seeds)} seeds (first stage {len(first)}) for {what!r}; "
                f"seeds {seeds[len(first)]}-{seeds[-1]} are trained where the store lacks them")
    a, b = a_of(seeds), b_of(seeds)
    row = compare(claim, what, a_name, a, b_name, b, seeds)
    parts = c.split()
    rule_row = {"claim": claim, "comparison": what, "first-stage seeds": len(first), "videos": c.n_videos,
                "sd of a seed's difference": float(np.sqrt(c.per_seed_variance)) if c.n_seeds > 1 else float("nan"),
                "training part": parts["training"], "evaluation part": parts["evaluation"],
                "target half-width": precision.HALF_WIDTH, "cap": study.seed_cap,
                "seeds needed": rule["needed"] if rule["needed"] is not None else "none <= cap",
                "seeds run": len(seeds), "planned half-width": rule["planned_half"],
                "achieved half-width": (row["high"] - row["low"]) / 2, "outcome": rule["reason"]}
    return row, rule_row, variance_split(claim, what, a, b, seeds, compare_videos) if variance else None


def variance_split(claim: str, what: str, a: Sequence[Scores], b: Sequence[Scores], seeds: Sequence[int],
                   compare_videos: int | None = None) -> dict:
    """Where a comparison's spread comes from: one seed's paired difference split into its
    training part (seeds) and its evaluation-set part (videos), by the two-way crossed
    random-effects decomposition (:func:`mmlkit.results.precision.components`), with the
    seeds x videos bootstrap's half-width beside the analytic one.

    Args:
        compare_videos: also show the evaluation part on this many videos (e.g. the validation
            split's size).
    """
    x = precision.paired_matrix(correct(a), correct(b))
    c = precision.components(x)
    ci = precision.interval(c)
    vb = hierarchical_bootstrap(correct(a), correct(b), rng=np.random.default_rng(0), n_boot=1000)
    parts = c.split()
    row = {"claim": claim, "comparison": what, "seeds": c.n_seeds, "videos": c.n_videos,
           "method": "two-way crossed random effects (ANOVA, expected mean squares)",
           "seed var (pts²)": c.seed, "video var (pts²)": c.video, "seed×video var (pts²)": c.resid,
           "training sd": parts["training"], "evaluation sd": parts["evaluation"], "total sd": parts["total"],
           "half-width (analytic)": ci["half"], "half-width (bootstrap)": 100 * (vb["high"] - vb["low"]) / 2,
           "videos for evaluation sd 0.5": c.videos_for(0.5)}
    if compare_videos:
        row[f"evaluation sd on {compare_videos} videos"] = c.split(compare_videos)["evaluation"]
    return row
