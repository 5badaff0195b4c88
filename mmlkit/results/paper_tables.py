"""Notebook 99: every table and figure of notebooks 01-06 from the stored runs, the headline
(the RGB model at inference by how it was trained, and the ensembles it replaces), the claim
verdicts, accuracy against inference cost and the published numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mmlkit.evaluation import ensemble
from mmlkit.evaluation.views import view_plan
from mmlkit.results import analyses, paper, plots, precision, tables
from mmlkit.results.analysis import Analysis, member_scores, per_seed, score_rows, summarise
from mmlkit.results.experiments import PLANS, SCORING_PLAN, Study, heldout_plan


def paper_tables(study: Study) -> Analysis:
    """Every table and figure of notebooks 01-05, the headline table, claim verdicts, published numbers."""
    from mmlkit.results.when_mml_helps import when_mml_helps

    parts = [analyses.baselines(study), analyses.initialisation(study), analyses.ml_vs_mml(study),
             analyses.modality_sets(study), analyses.test_sampling(study), when_mml_helps(study)]
    res = Analysis("")
    for part in parts:
        res.tables.update({f"{part.name}_{k}": v for k, v in part.tables.items()})
        res.figures.update({f"{part.name}_{k}": v for k, v in part.figures.items()})
    claims = pd.concat([p.tables[k] for p in parts for k in ("claim", "rgb") if k in p.tables], ignore_index=True)
    claims = claims.sort_values("claim", kind="stable").reset_index(drop=True)
    res.tables["claims"] = claims.drop(columns=list(tables.HELPER_COLUMNS))
    for key in ("seed_rule", "variance"):  # the decisive claims' seed rule and where their spread comes from
        found = [p.tables[key] for p in parts if key in p.tables]
        if found:
            res.tables[key] = tables.with_formats(pd.concat(found, ignore_index=True), ".2f")
    fractions = ("coverage", "holds", "opposite", "no_effect", "inconclusive", "capped")
    res.tables["procedure"] = tables.with_formats(precision.simulate(rng=np.random.default_rng(2026)), ".2f",
                                                  {c: ".3f" for c in fractions})
    res.tables["validity"] = res.tables["initialisation_convergence"]
    res.tables["headline"], headline_acc = headline(study)
    res.figures["headline"] = plots.forest(claims, margin=precision.MARGIN)
    res.tables["published"] = paper.published_results()
    from mmlkit.results.inference_cost import study_tables

    res.tables["inference_cost"], res.tables["accuracy_vs_cost"], fig = study_tables(study, headline_acc)
    if fig is not None:
        res.figures["accuracy_vs_cost"] = fig
    return res


def headline(study: Study) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The RGB model at inference by how it was trained, and the ensembles it replaces.

    Returns the summary table and the per-seed accuracies; both carry ``inference``, the models
    run at test time (``RGB``, ``RGB+Flow``, ``RGB+Flow+RGBDiff``), which the accuracy-vs-cost
    analysis (:mod:`mmlkit.results.inference_cost`) joins with the measured cost.
    """
    seeds = study.seeds
    setups = [
        ("RGB from image pretraining", lambda s: study.single("RGB", s, init="image"), SCORING_PLAN),
        ("RGB from the RGB model (2nd round)", lambda s: study.single("RGB", s, init="rgb"), SCORING_PLAN),
        ("RGB from the RGB model, as long as MML with Flow",
         lambda s: study.single("RGB", s, init="rgb", like=("RGB", "Flow")), SCORING_PLAN),
        ("ML RGB,RGB: RGB", lambda s: study.cohort(("RGB", "RGB"), s), SCORING_PLAN),
        ("MML RGB,Flow: RGB", lambda s: study.cohort(("RGB", "Flow"), s), SCORING_PLAN),
        ("MML RGB,RGBDiff: RGB", lambda s: study.cohort(("RGB", "RGBDiff"), s), SCORING_PLAN),
        ("MML RGB,Flow,RGBDiff: RGB", lambda s: study.cohort(analyses.COHORTS[-1], s), SCORING_PLAN),
        ("RGB, random sampling, both-views test", lambda s: study.single("RGB", s, init="image", sample="random"),
         heldout_plan("both")),
    ]
    # (name, scores per seed, epochs, what runs at inference)
    parts = [(name, member_scores(per_seed(study, make, (plan,)), 0, plan), str(make(seeds[0]).optim.epochs),
              "RGB" if plan == SCORING_PLAN else f"RGB x{view_plan(PLANS[plan], study.base().data).n_views} views")
             for name, make, plan in setups]
    singles = {m: (member_scores(per_seed(study, lambda s, m=m: study.single(m, s, init="image")), 0),
                   study.single(m, seeds[0], init="image").optim.epochs) for m in ("Flow", "RGBDiff")}
    rgb, rgb_epochs = parts[0][1], parts[0][2]
    for members in (("RGB", "Flow"), ("RGB", "Flow", "RGBDiff")):
        others = [singles[m] for m in members[1:]]
        parts.append((f"({len(members)} models) {' + '.join(members)} ensemble",
                      [ensemble([r, *o]) for r, *o in zip(rgb, *[sc for sc, _ in others])],
                      " + ".join([rgb_epochs] + [str(ep) for _, ep in others]), "+".join(members)))
    acc = pd.DataFrame([r for name, sc, _, system in parts for r in score_rows(name, sc, seeds, inference=system)])
    table = summarise(acc, ["experiment"])
    table.insert(1, "models at inference", [len(system.split("+")) for *_, system in parts])
    table.insert(2, "epochs (last stage)", [ep for _, _, ep, _ in parts])
    table.insert(3, "inference", [system for *_, system in parts])
    return table, acc
