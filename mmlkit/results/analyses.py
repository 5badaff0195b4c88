"""Each ablation notebook's experiment and analysis as one function: runs -> tables and figures.

The notebooks stay thin: they call one of these with a :class:`~mmlkit.results.experiments.Study`
and display what comes back: ``baselines`` (01), ``initialisation`` (02), ``ml_vs_mml`` (03),
``modality_sets`` (04), ``test_sampling`` (05) and ``recipe`` (the minimal recipe). The data tour
(00) is :mod:`mmlkit.results.data_tour`, notebook 06 :mod:`mmlkit.results.when_mml_helps`, and
``99_paper_tables`` :mod:`mmlkit.results.paper_tables`. How accuracies are summarised and compared
(seeds, paired differences, intervals, verdicts): :mod:`mmlkit.results.analysis`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mmlkit.config import MODALITIES
from mmlkit.evaluation import Scores, confusion_matrix, ensemble, per_class_accuracy, subset_table
from mmlkit.results import plots, tables, validity
from mmlkit.results.analysis import (Analysis, compare, decide, member_scores, per_seed, score_rows, summarise,
                                     top1)
from mmlkit.results.experiments import SAMPLING_PLANS, SCORING_PLAN, Study, heldout_plan


def _class_names(study: Study) -> list[str]:
    from mmlkit.data import class_names

    return class_names(study.base().data)


# ---------------------------------------------------------------------------------------------
# 01: baselines and ensembles (claim 1)
# ---------------------------------------------------------------------------------------------

def baselines(study: Study) -> Analysis:
    """RGB, Flow and RGBDiff from image pretraining; every ensemble of them; claim 1.

    Beside the accuracies, the validity checks of :mod:`mmlkit.results.validity`: each model's
    fit of its training videos next to its validation accuracy, the image-pretraining stand-in's
    held-out accuracy, each ensemble's gain over its better member, and which classes each
    modality sees.
    """
    seeds = study.seeds
    plans = (SCORING_PLAN, "centre", "train")
    image = {m: (lambda s, m=m: study.single(m, s, init="image")) for m in MODALITIES}
    runs = {m: per_seed(study, image[m], plans) for m in MODALITIES}
    scores = {m: member_scores(runs[m], 0) for m in MODALITIES}
    fit = {m: member_scores(runs[m], 0, "train") for m in MODALITIES}
    acc = pd.DataFrame([r for m in MODALITIES for r in score_rows(m, scores[m], seeds, modality=m)])
    fit_acc = pd.DataFrame([r for m in MODALITIES for r in score_rows(m, fit[m], seeds, modality=m)])
    res = Analysis("baselines")
    summ = summarise(acc, ["modality"])
    summ.insert(1, "train top-1 (%)", tables.seed_summary(fit_acc, ["modality"], "top1")["text"].to_numpy())
    res.tables["accuracy"] = summ
    res.figures["accuracy"] = plots.accuracy_bars(acc, x="modality", title="single models, from image pretraining")
    if study.base().data.dataset == "synthetic":
        info = study.pretraining()
        res.tables["pretraining"] = pd.DataFrame([{
            "backbone": info["key"]["config"]["arch"], "images": info["key"]["config"]["n_images"],
            "epochs": info["key"]["config"]["epochs"], "held-out shape top-1 (%)": info["heldout_top1"],
            "held-out images": info["n_heldout"], "chance (%)": info["chance"], "hash": info["hash"]}])
    ens = pd.concat([subset_table({m: scores[m][k] for m in MODALITIES}).assign(seed=s)
                     for k, s in enumerate(seeds)], ignore_index=True)
    mean = ens.groupby(["models", "n_models"], sort=False)[["top1", "top5"]].mean().reset_index()
    summ = summarise(ens, ["models"])
    summ.insert(1, "n_models", mean["n_models"].to_numpy())
    res.tables["ensembles"] = summ
    res.figures["ensembles"] = plots.subset_bars(mean, title="ensembles (sum of logits), mean over seeds")
    def of(m):  # seeds -> the stage-1 model's held-out scores
        return lambda ss: member_scores(per_seed(study, image[m], plans, ss), 0)

    n_val = len(member_scores(runs["RGB"], 0, "centre")[0].ids)
    claim, rule, var = decide(study, "C1", "an RGB+Flow ensemble beats the RGB model alone", "RGB + Flow ensemble",
                              lambda ss: [ensemble(ab) for ab in zip(of("RGB")(ss), of("Flow")(ss))],
                              "RGB", of("RGB"), compare_videos=n_val)
    res.tables["claim"], res.tables["seed_rule"], res.tables["variance"] = _decision_tables([claim], [rule], [var])
    res.tables["complementarity"] = pd.DataFrame([_ensemble_gain(scores, mods, seeds)
                                                  for mods in (("RGB", "Flow"), ("RGB", "RGBDiff"), MODALITIES)])
    names = _class_names(study)
    per_class = validity.per_class_table(
        {m: np.nanmean([per_class_accuracy(s.scores, s.labels) for s in scores[m]], axis=0) for m in MODALITIES},
        names)
    res.tables["per_class"] = per_class
    res.figures["per_class"] = validity.per_class_figure(per_class)
    logs = pd.concat([runs[m][0].logs().assign(model=m) for m in MODALITIES], ignore_index=True)
    res.figures["curves"] = plots.training_curves(logs, metrics=("ce", "train_top1", "val_top1"))
    first = scores["RGB"][0]
    cm = confusion_matrix(first.scores.argmax(1), first.labels, first.num_classes)
    res.figures["confusion"] = plots.confusion_heatmap(cm, names, title=f"RGB, seed {seeds[0]}")
    return res


def _decision_tables(claims: Sequence[dict], rules: Sequence[dict],
                     variances: Sequence[dict]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The claim, seed-rule and variance tables of :func:`~mmlkit.results.analysis.decide` rows.
    The seed rule's and the variance split's spreads and half-widths (about a point) are shown
    with two decimals (:func:`mmlkit.results.tables.with_formats`)."""
    return (pd.DataFrame(list(claims)), tables.with_formats(pd.DataFrame(list(rules)), ".2f"),
            tables.with_formats(pd.DataFrame(list(variances)), ".2f"))


def _ensemble_gain(scores: dict[str, list[Scores]], mods: Sequence[str], seeds: Sequence[int]) -> dict:
    """The ensemble of ``mods`` against its better member (by mean top-1 over seeds), paired by seed."""
    best = max(mods, key=lambda m: np.mean([top1(s) for s in scores[m]]))
    ens = [ensemble([scores[m][k] for m in mods]) for k in range(len(seeds))]
    row = compare("validity", f"the {' + '.join(mods)} ensemble beats its better member ({best})",
                  " + ".join(mods), ens, best, scores[best], seeds)
    return {k: v for k, v in row.items() if k != "claim" and k not in tables.HELPER_COLUMNS}


# ---------------------------------------------------------------------------------------------
# 02: initialisation (claim 2)
# ---------------------------------------------------------------------------------------------

def initialisation(study: Study) -> Analysis:
    """Convergence of every stage-1 model; each modality from image pretraining vs from the
    trained RGB model; claim 2.

    A model started from the RGB model trains for the stage-2 schedule
    (:func:`mmlkit.config.finetune_epochs`), so the claim compares it with the same model started
    from image pretraining and trained for the same number of epochs (in the default profile the
    modality's stage-1 schedule: 80 epochs for Flow, 40 for RGB and RGBDiff). Where the two differ
    (a fixed stage-2 length, e.g. the smoke profile's), the stage-1 model is shown as context.
    """
    seeds = study.seeds
    res = Analysis("initialisation")
    res.tables["convergence"], res.tables["convergence_seeds"], res.figures["plateau"] = _convergence(study)
    scores, makers, acc, claims = {}, {}, [], []
    for m in MODALITIES:
        full = study.single(m, seeds[0], init="image").optim.epochs
        short = study.cohort((m,), seeds[0], init="scratch", schedule="finetune").optim.epochs
        setups = {"image": ("image", "full", f"image pretraining, {full} epochs"),
                  "image_short": ("image", "finetune", f"image pretraining, {short} epochs"),
                  "rgb": ("rgb", "finetune", f"trained RGB model, {short} epochs")}
        if short == full:
            setups.pop("image_short")
        for k, (i, sch, label) in setups.items():
            make = lambda s, m=m, i=i, sch=sch: study.single(m, s, init=i, schedule=sch)
            makers[(m, k)] = make
            scores[(m, k)] = member_scores(per_seed(study, make), 0)
            acc += score_rows(f"{m} from {label}", scores[(m, k)], seeds, modality=m, init=label)
        base = "image_short" if "image_short" in setups else "image"
        claims.append((m, base))
    acc = pd.DataFrame(acc)
    res.tables["accuracy"] = summarise(acc, ["modality", "init"])
    res.figures["accuracy"] = plots.accuracy_bars(acc, x="modality", hue="init", title="initialisation")
    order = {"Flow": 0, "RGBDiff": 1, "RGB": 2}
    rows, rules = [], []
    for m, base in sorted(claims, key=lambda c: order[c[0]]):
        what = f"{m} from the trained RGB model beats {m} from image pretraining (equal epochs)"
        if m == "RGB":  # context, not the claim: a second round of training, at the study's seeds
            rows.append(compare("C2", "(context: a second round of training) " + what, f"{m} from RGB",
                                scores[(m, "rgb")], f"{m} from image", scores[(m, base)], seeds))
            continue
        row, rule, _ = decide(study, "C2", what,
                              f"{m} from RGB", lambda ss, k=(m, "rgb"): member_scores(per_seed(study, makers[k],
                                                                                               seeds=ss), 0),
                              f"{m} from image", lambda ss, k=(m, base): member_scores(per_seed(study, makers[k],
                                                                                                 seeds=ss), 0),
                              variance=False)  # the variance table covers C1 and the C3 core
        rows.append(row)
        rules.append(rule)
    res.tables["claim"], res.tables["seed_rule"], _ = _decision_tables(rows, rules, [])
    return res


def _convergence(study: Study) -> tuple[pd.DataFrame, pd.DataFrame, Figure]:
    """The stage-1 checks of :mod:`mmlkit.results.validity` for every modality and seed:
    (summary per modality, one row per seed, plateau figure)."""
    seeds, rows, curves = study.seeds, [], {}
    for m in MODALITIES:
        first = per_seed(study, lambda s, m=m: study.single(m, s, init="image"), ("centre", "train"))
        second = per_seed(study, lambda s, m=m: study.single(m, s, init="self"), ("centre",))
        rows += validity.convergence_rows(  # on the validation split, like the curves
            m, seeds, [r.logs() for r in first], [top1(s) for s in member_scores(first, 0, "centre")],
            [top1(s) for s in member_scores(second, 0, "centre")], [top1(s) for s in member_scores(first, 0, "train")])
        curves[m] = [(a.logs(), b.logs()) for a, b in zip(first, second)]
    by_seed = pd.DataFrame(rows)
    return validity.convergence_summary(by_seed), by_seed, validity.plateau_figure(curves)


# ---------------------------------------------------------------------------------------------
# 03: ML vs MML (claim 3)
# ---------------------------------------------------------------------------------------------

def ml_vs_mml(study: Study) -> Analysis:
    """The RGB model alone, with an RGB peer (ML) and with a Flow peer (MML), all from the RGB model
    and all trained as long as the MML cohort (:func:`mmlkit.config.finetune_epochs`)."""
    seeds = study.seeds
    plans = (SCORING_PLAN, "centre", "train")
    mml = ("RGB", "Flow")  # every stage-2 run trains as long as this cohort: equal epochs
    make = {"stage1": lambda s: study.single("RGB", s, init="image"),
            "alone": lambda s: study.single("RGB", s, init="rgb", like=mml),
            "ml": lambda s: study.cohort(("RGB", "RGB"), s, init="rgb", like=mml),
            "mml": lambda s: study.cohort(mml, s, init="rgb")}
    stage1_runs, alone_runs, ml_runs, mml_runs = (per_seed(study, make[k], plans) for k in make)
    alone, mml_rgb = member_scores(alone_runs, 0), member_scores(mml_runs, 0)
    parts = [("RGB, step 1 (from image)", "RGB", stage1_runs, 0), ("RGB alone, from RGB", "RGB", alone_runs, 0),
             ("ML: RGB (model 0)", "RGB", ml_runs, 0), ("ML: RGB (model 1)", "RGB", ml_runs, 1),
             ("MML: RGB", "RGB", mml_runs, 0), ("MML: Flow", "Flow", mml_runs, 1)]
    acc = pd.DataFrame([r for name, m, runs, i in parts for r in score_rows(name, member_scores(runs, i), seeds, modality=m)])
    fit = pd.DataFrame([r for name, m, runs, i in parts for r in score_rows(name, member_scores(runs, i, "train"), seeds)])
    res = Analysis("ml_vs_mml")
    summ = summarise(acc, ["experiment"])
    fit_text = tables.seed_summary(fit, ["experiment"], "top1").set_index("experiment")["text"]
    summ.insert(1, "train top-1 (%)", summ["experiment"].map(fit_text).to_numpy())
    res.tables["accuracy"] = summ
    res.figures["accuracy"] = plots.accuracy_bars(acc, x="experiment", title="the RGB model and its peers")
    ml_kl = max(float(r.logs()["kl"].abs().max()) for r in ml_runs)
    degenerate = (" [ML degenerate here: both RGB models start from the same checkpoint, see the same clips and "
                  "have no dropout, so they stay identical and the KL term is 0]") if ml_kl == 0 else ""

    def rgb_of(key):  # seeds -> the RGB model's (member 0) held-out scores of that setup
        return lambda ss: member_scores(per_seed(study, make[key], plans, ss), 0)

    n_val = len(member_scores(alone_runs, 0, "centre")[0].ids)
    core = [decide(study, "C3", what, a, rgb_of(ka), b, rgb_of(kb), compare_videos=n_val) for what, a, ka, b, kb in (
        ("MML's RGB model beats the RGB model trained alone (same init, same epochs)", "MML: RGB", "mml",
         "RGB alone, from RGB", "alone"),
        ("MML's RGB model beats ML's RGB model" + degenerate, "MML: RGB", "mml", "ML: RGB (model 0)", "ml"),
        ("ML's RGB model beats the RGB model trained alone" + degenerate, "ML: RGB (model 0)", "ml",
         "RGB alone, from RGB", "alone"))]
    claims, rules, variances = (list(t) for t in zip(*core))
    res.tables["claim"], res.tables["seed_rule"], res.tables["variance"] = _decision_tables(claims, rules, variances)
    logs = mml_runs[0].logs()
    res.figures["curves"] = plots.training_curves(logs, metrics=("ce", "kl", "val_top1"))
    gain_a = np.nanmean([per_class_accuracy(s.scores, s.labels) for s in mml_rgb], axis=0)
    gain_b = np.nanmean([per_class_accuracy(s.scores, s.labels) for s in alone], axis=0)
    res.figures["per_class"] = plots.class_gain(gain_a, gain_b, _class_names(study), label_a="MML RGB",
                                                label_b="RGB alone")
    return res


# ---------------------------------------------------------------------------------------------
# 04: modality sets
# ---------------------------------------------------------------------------------------------

COHORTS = (("RGB", "Flow"), ("RGB", "RGBDiff"), ("RGB", "Flow", "RGBDiff"))


def modality_sets(study: Study, per_peer: bool = False) -> Analysis:
    """MML with RGB,Flow / RGB,RGBDiff / RGB,Flow,RGBDiff (the released code's ``mean_logits``).

    ``per_peer=True`` also trains the three models with Deep Mutual Learning's one-KL-per-peer
    loss (three more runs per seed; left out of the default run to keep it within its budget).
    """
    seeds = study.seeds
    setups = [(",".join(c), c, "mean_logits") for c in COHORTS]
    if per_peer:
        setups.append((",".join(COHORTS[-1]) + " (per_peer)", COHORTS[-1], "per_peer"))
    rows, rgb_rows = [], []
    for name, mods, mode in setups:
        runs = per_seed(study, lambda s, mods=mods, mode=mode: study.cohort(mods, s, init="rgb", mode=mode))
        alone = member_scores(per_seed(study, lambda s, mods=mods: study.single("RGB", s, init="rgb", like=mods)), 0)
        epochs = study.cohort(mods, seeds[0], init="rgb").optim.epochs
        for i, m in enumerate(mods):
            rows += score_rows(name, member_scores(runs, i), seeds, modality=m, mode=mode, epochs=epochs)
        rgb_rows.append(compare("C3", f"the RGB model of MML {name} beats the RGB model trained alone "
                                f"({epochs} epochs each)", f"MML {name}: RGB", member_scores(runs, 0),
                                "RGB alone, from RGB", alone, seeds))
    acc = pd.DataFrame(rows)
    res = Analysis("modality_sets")
    res.tables["accuracy"] = summarise(acc, ["experiment", "epochs", "modality"])
    res.figures["accuracy"] = plots.accuracy_bars(acc, x="experiment", hue="modality", title="every member of every cohort")
    res.tables["rgb"] = pd.DataFrame(rgb_rows)
    return res


# ---------------------------------------------------------------------------------------------
# 05: frame sampling (claim 4)
# ---------------------------------------------------------------------------------------------

def test_sampling(study: Study) -> Analysis:
    """RGB trained with uniform vs random sampling, tested with each view plan; claim 4."""
    seeds = study.seeds
    trains = {"uniform": None, "random": "random"}
    plans = tuple(heldout_plan(p) for p in SAMPLING_PLANS)
    runs = {t: per_seed(study, lambda s, smp=smp: study.single("RGB", s, init="image", sample=smp), plans)
            for t, smp in trains.items()}
    sc = {(t, p): member_scores(runs[t], 0, heldout_plan(p)) for t in trains for p in SAMPLING_PLANS}
    acc = pd.DataFrame([r for (t, p), s in sc.items() for r in score_rows(f"{t} / {p}", s, seeds, train=t, test=p)])
    res = Analysis("test_sampling")
    res.tables["accuracy"] = summarise(acc, ["train", "test"])
    res.figures["accuracy"] = plots.accuracy_bars(acc, x="test", hue="train", title="RGB: training sampling x test views")
    res.tables["claim"] = pd.DataFrame([
        compare("C4", "random-sampling training + both-views test beats uniform training + centre test",
                "random / both", sc[("random", "both")], "uniform / centre", sc[("uniform", "centre")], seeds),
        compare("C4", "random-sampling training beats uniform (centre test)",
                "random / centre", sc[("random", "centre")], "uniform / centre", sc[("uniform", "centre")], seeds),
        compare("C4", "testing with both dense and uniform views beats the centre clip (random training)",
                "random / both", sc[("random", "both")], "random / centre", sc[("random", "centre")], seeds)])
    return res


# ---------------------------------------------------------------------------------------------
# The minimal recipe, and everything together
# ---------------------------------------------------------------------------------------------

def recipe(study: Study, rgb_runs: Sequence, mml_runs: Sequence) -> Analysis:
    """The recipe's outcome: the RGB model after MML against step 1, the fair baseline, the ensemble."""
    seeds = study.seeds
    stage1 = member_scores(rgb_runs, 0)
    like = mml_runs[0].config.modalities  # the baseline trains as long as the cohort
    alone = member_scores(per_seed(study, lambda s: study.single("RGB", s, init="rgb", like=like)), 0)
    mml_rgb, mml_flow = member_scores(mml_runs, 0), member_scores(mml_runs, 1)
    both = [ensemble([a, b]) for a, b in zip(mml_rgb, mml_flow)]
    parts = [("step 1: RGB from image", stage1), ("RGB alone, from step 1", alone), ("MML: RGB", mml_rgb),
             ("MML: Flow", mml_flow), ("MML: RGB + Flow ensemble", both)]
    acc = pd.DataFrame([r for name, sc in parts for r in score_rows(name, sc, seeds)])
    res = Analysis("recipe")
    res.tables["recipe"] = summarise(acc, ["experiment"])
    res.tables["claim"] = pd.DataFrame([
        compare("recipe", "the RGB model after MML beats the RGB model trained as long without a peer",
                "MML: RGB", mml_rgb, "RGB alone, from step 1", alone, seeds),
        compare("recipe", "the RGB model after MML beats the step-1 model", "MML: RGB", mml_rgb,
                "step 1: RGB from image", stage1, seeds)])
    res.figures["recipe"] = plots.accuracy_bars(acc, x="experiment", title="the minimal recipe: RGB at inference")
    return res
