"""Each notebook's experiment and analysis as one function: runs -> tables and figures.

The notebooks stay thin: they call one of these with a :class:`~mmlkit.results.experiments.Study`
and display what comes back. ``99_paper_tables`` calls all of them (nothing is retrained: the
runs are in the store) and adds the claim verdicts and the headline table.

Statistics. Every accuracy is validation top-1 in percent, summarised as mean +- std over
training seeds. A comparison "A better than B" pairs A and B by seed (same seed, same data
order) and reports the mean paired difference, its t-based 95% confidence interval over seeds
(:func:`mmlkit.results.tables.paired_difference`, scipy's t) and a two-way bootstrap 95%
interval over seeds and videos (:func:`mmlkit.evaluation.hierarchical_bootstrap`): each
replicate resamples the seeds, and resamples the validation videos once for all seeds and both
sides, since every seed is evaluated on the same videos. (Pooling the seeds' predictions as if
they were 3x as many independent videos gave a falsely narrow interval; it is no longer shown.)
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

from mmlkit.config import MODALITIES
from mmlkit.evaluation import (Scores, confusion_matrix, ensemble, hierarchical_bootstrap, per_class_accuracy,
                               subset_table)
from mmlkit.evaluation.views import view_plan
from mmlkit.results import paper, plots, tables, validity
from mmlkit.results.experiments import PLANS, Study

SAMPLING_PLANS = ("centre", "twice", "dense", "dense_x3", "both", "centre_3crops", "both_3crops")


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


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------

def _per_seed(study: Study, make: Callable[[int], object], plans: Sequence[str] = ("centre",)) -> list:
    """One run per seed of the config ``make(seed)``, trained if missing, scored for ``plans``."""
    return [study.run(make(s), plans) for s in study.seeds]


def _member(runs: Sequence, index: int, plan: str = "centre") -> list[Scores]:
    """The stored scores of model ``index`` of each run (one per seed)."""
    return [r.scores(plan)[index] for r in runs]


def _top1(scores: Scores) -> float:
    return 100.0 * float(scores.correct(1).mean())


def _top5(scores: Scores) -> float:
    return 100.0 * float(scores.correct(min(5, scores.num_classes)).mean())


def _mean_std(values: Sequence[float]) -> str:
    v = np.asarray(values, float)
    return f"{v.mean():.1f} ± {v.std(ddof=1):.1f}" if len(v) > 1 else f"{v.mean():.1f}"


def _rows(label: str, scores: Sequence[Scores], seeds: Sequence[int], **extra) -> list[dict]:
    return [{"experiment": label, "seed": s, "top1": _top1(sc), "top5": _top5(sc), **extra}
            for s, sc in zip(seeds, scores)]


def _summary(acc: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
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
    acc_a, acc_b = [_top1(s) for s in a], [_top1(s) for s in b]
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
            "A top-1 (%)": _mean_std(acc_a), "B top-1 (%)": _mean_std(acc_b),
            "A - B": f"{d['mean']:+.1f}" + (f" ± {d['std']:.1f}" if len(acc_a) > 1 else ""),
            "per seed": ", ".join(f"{x:+.1f}" for x in np.subtract(acc_a, acc_b)),
            "95% CI (seeds)": ci,
            "95% CI (seeds × videos)": f"[{100 * vb['low']:+.1f}, {100 * vb['high']:+.1f}]",
            "verdict": tables.claim_verdict(d), "diff": d["mean"]}


def _png_figure(path: Path, title: str = "") -> Figure:
    import matplotlib.image as mpimg

    img = mpimg.imread(str(path))
    h, w = img.shape[:2]
    fig = Figure(figsize=(min(14, w / 80), min(40, h / 80)), layout="constrained")
    ax = fig.subplots()
    ax.imshow(img)
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return fig


def _class_names(study: Study) -> list[str]:
    from mmlkit.data import class_names

    return class_names(study.base().data)


# ---------------------------------------------------------------------------------------------
# 00: the data tour
# ---------------------------------------------------------------------------------------------

def data_tour(study: Study, label: int = 0) -> Analysis:
    """The benchmark's splits and classes, the montage, sampler timelines, and the modalities of
    the first training clip of class ``label``."""
    from mmlkit.data import resolve_root, sthv2
    from mmlkit.data.flow import read_pack_meta
    from mmlkit.data.video import make_source

    cfg = study.base().data
    root = resolve_root(cfg)
    labels = sthv2.load_labels(root / "labels.json")
    names = sthv2.class_names(labels)
    pairs = sthv2.left_right_pairs(labels)
    source = make_source(root, cfg.source)
    res = Analysis("data")
    rows = []
    for split in sthv2.available_splits(root):
        recs = sthv2.load_split(root, split, labels)
        counts = [source.num_frames(r.id, "RGB") for r in recs[:200]]
        rows.append({"split": split, "videos": len(recs),
                     "classes": len({r.label for r in recs if r.label is not None}) or "-",
                     "frames (min-max, first 200)": f"{min(counts)}-{max(counts)}" if counts else "-"})
    res.tables["splits"] = pd.DataFrame(rows)
    res.tables["classes"] = pd.DataFrame({"class": range(len(names)), "template": names,
                                          "left/right partner": [pairs.get(i, "") for i in range(len(names))]})
    montage = root / "montage.png"
    if montage.exists():
        res.figures["montage"] = _png_figure(montage)
    res.figures["samplers"] = plots.sampler_timelines(num_frames=50, num_segments=8, dense_length=32, dense_number=3)
    rec = next(r for r in sthv2.load_split(root, cfg.train_split, labels) if r.label == label)
    bound = (read_pack_meta(root) or {}).get("bound", 20.0)
    res.figures["modalities"] = _modalities_figure(source, rec.id, names[rec.label] if rec.label is not None else "",
                                                   cfg.num_segments, bound)
    if (root / "synthetic.json").exists() and cfg.source in ("auto", "packed"):
        res.figures["flow_truth"], res.tables["flow_truth"] = _flow_truth(source, root, rec.id, bound)
    return res


def _flow_truth(source, root: Path, video_id: str, bound: float, frames: int = 6) -> tuple[Figure, pd.DataFrame]:
    """The stored flow of one clip next to the generator's exact flow, and their errors."""
    from mmlkit.data.flow import dequantize_flow
    from mmlkit.data.flow_quality import flow_errors, video_truth

    n = source.num_frames(video_id, "Flow")
    est = dequantize_flow(source.read(video_id, "Flow", np.arange(n)), bound)       # (N-1, H, W, 2) px
    gt, mask = video_truth(root, video_id, size=est.shape[1])
    err = flow_errors(est, gt, mask)
    table = pd.DataFrame([{"video": video_id, "object pixels": int(mask.sum()),
                           "endpoint error (px)": err["epe"], "direction accuracy (%)": 100 * err["dir_acc"],
                           "zero-flow error (px)": flow_errors(np.zeros_like(gt), gt, mask)["epe"]}])
    ks = np.linspace(0, n - 1, frames).round().astype(int)
    lim = max(0.5, float(np.percentile(np.abs(gt[mask]), 99))) if mask.any() else 1.0
    rows = [("stored x", est[ks, ..., 0]), ("truth x", np.where(mask[ks], gt[ks, ..., 0], np.nan)),
            ("stored y", est[ks, ..., 1]), ("truth y", np.where(mask[ks], gt[ks, ..., 1], np.nan))]
    fig = Figure(figsize=(1.3 * frames, 1.4 * len(rows)), layout="constrained")
    axes = fig.subplots(len(rows), frames, squeeze=False)
    for r, (name, arr) in enumerate(rows):
        for j, k in enumerate(ks):
            ax = axes[r, j]
            ax.imshow(arr[j], cmap="coolwarm", vmin=-lim, vmax=lim)
            ax.set_xticks([]), ax.set_yticks([])
            if j == 0:
                ax.set_ylabel(name)
            if r == 0:
                ax.set_title(f"pair {k}", fontsize=8)
    fig.suptitle(f"video {video_id}: stored flow vs the generator's exact flow on the object "
                 f"(+-{lim:.1f} px; EPE {err['epe']:.3f} px)")
    return fig, table


def _modalities_figure(source, video_id: str, title: str, num_segments: int, bound: float = 20.0) -> Figure:
    from mmlkit.data.sampling import test_indices

    n_rgb = source.num_frames(video_id, "RGB")
    idx = test_indices(n_rgb - 1, num_segments)[0]  # centre clip over the flow frames (N - 1)
    rgb = source.read(video_id, "RGB", idx)                       # (T, H, W, 3)
    nxt = source.read(video_id, "RGB", np.minimum(idx + 1, n_rgb - 1))
    flow = source.read(video_id, "Flow", idx)                     # (T, H, W, 2)
    diff = nxt.astype(np.int16) - rgb.astype(np.int16)            # one of RGBDiff's differences
    # 8-bit flow maps +-bound px to 0..255 (128: no motion); objects move a pixel or two per
    # frame, so the flow rows are shown at +-2 px
    lv = int(round(2.0 * 127.5 / bound))
    rows = [("RGB", rgb, None, (0, 255)), ("flow x", flow[..., 0], "coolwarm", (128 - lv, 128 + lv)),
            ("flow y", flow[..., 1], "coolwarm", (128 - lv, 128 + lv)),
            ("RGB diff", np.clip(diff * 2 + 128, 0, 255).astype(np.uint8), None, (0, 255))]
    t = len(idx)
    fig = Figure(figsize=(1.3 * t, 1.4 * len(rows)), layout="constrained")
    axes = fig.subplots(len(rows), t, squeeze=False)
    for r, (name, frames, cmap, (lo, hi)) in enumerate(rows):
        for k in range(t):
            ax = axes[r, k]
            ax.imshow(frames[k], cmap=cmap, vmin=lo, vmax=hi)
            ax.set_xticks([]), ax.set_yticks([])
            if k == 0:
                ax.set_ylabel(name)
            if r == 0:
                ax.set_title(f"frame {idx[k]}", fontsize=8)
    fig.suptitle(f"video {video_id}: {title} (flow: red = +x/+y, blue = -x/-y, +-2 px shown)")
    return fig


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
    runs = {m: _per_seed(study, lambda s, m=m: study.single(m, s, init="image"), ("centre", "train"))
            for m in MODALITIES}
    scores = {m: _member(runs[m], 0) for m in MODALITIES}
    fit = {m: _member(runs[m], 0, "train") for m in MODALITIES}
    acc = pd.DataFrame([r for m in MODALITIES for r in _rows(m, scores[m], seeds, modality=m)])
    fit_acc = pd.DataFrame([r for m in MODALITIES for r in _rows(m, fit[m], seeds, modality=m)])
    res = Analysis("baselines")
    summ = _summary(acc, ["modality"])
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
    summ = _summary(ens, ["models"])
    summ.insert(1, "n_models", mean["n_models"].to_numpy())
    res.tables["ensembles"] = summ
    res.figures["ensembles"] = plots.subset_bars(mean, title="ensembles (sum of logits), mean over seeds")
    rgb_flow = [ensemble([scores["RGB"][k], scores["Flow"][k]]) for k in range(len(seeds))]
    res.tables["claim"] = pd.DataFrame([
        compare("C1", "an RGB+Flow ensemble beats the RGB model alone", "RGB + Flow ensemble", rgb_flow,
                "RGB", scores["RGB"], seeds)])
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


def _ensemble_gain(scores: dict[str, list[Scores]], mods: Sequence[str], seeds: Sequence[int]) -> dict:
    """The ensemble of ``mods`` against its better member (by mean top-1 over seeds), paired by seed."""
    best = max(mods, key=lambda m: np.mean([_top1(s) for s in scores[m]]))
    ens = [ensemble([scores[m][k] for m in mods]) for k in range(len(seeds))]
    row = compare("validity", f"the {' + '.join(mods)} ensemble beats its better member ({best})",
                  " + ".join(mods), ens, best, scores[best], seeds)
    return {k: v for k, v in row.items() if k not in ("claim", "diff")}


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
    scores, acc, claims = {}, [], []
    for m in MODALITIES:
        full = study.single(m, seeds[0], init="image").optim.epochs
        short = study.cohort((m,), seeds[0], init="scratch", schedule="finetune").optim.epochs
        setups = {"image": ("image", "full", f"image pretraining, {full} epochs"),
                  "image_short": ("image", "finetune", f"image pretraining, {short} epochs"),
                  "rgb": ("rgb", "finetune", f"trained RGB model, {short} epochs")}
        if short == full:
            setups.pop("image_short")
        for k, (i, sch, label) in setups.items():
            scores[(m, k)] = _member(_per_seed(study, lambda s, m=m, i=i, sch=sch: study.single(m, s, init=i,
                                                                                          schedule=sch)), 0)
            acc += _rows(f"{m} from {label}", scores[(m, k)], seeds, modality=m, init=label)
        base = "image_short" if "image_short" in setups else "image"
        claims.append((m, base))
    acc = pd.DataFrame(acc)
    res.tables["accuracy"] = _summary(acc, ["modality", "init"])
    res.figures["accuracy"] = plots.accuracy_bars(acc, x="modality", hue="init", title="initialisation")
    order = {"Flow": 0, "RGBDiff": 1, "RGB": 2}
    res.tables["claim"] = pd.DataFrame([
        compare("C2", ("(context: a second round of training) " if m == "RGB" else "")
                + f"{m} from the trained RGB model beats {m} from image pretraining (equal epochs)",
                f"{m} from RGB", scores[(m, "rgb")], f"{m} from image", scores[(m, base)], seeds)
        for m, base in sorted(claims, key=lambda c: order[c[0]])])
    return res


def _convergence(study: Study) -> tuple[pd.DataFrame, pd.DataFrame, Figure]:
    """The stage-1 checks of :mod:`mmlkit.results.validity` for every modality and seed:
    (summary per modality, one row per seed, plateau figure)."""
    seeds, rows, curves = study.seeds, [], {}
    for m in MODALITIES:
        first = _per_seed(study, lambda s, m=m: study.single(m, s, init="image"), ("centre", "train"))
        second = _per_seed(study, lambda s, m=m: study.single(m, s, init="self"))
        rows += validity.convergence_rows(
            m, seeds, [r.logs() for r in first], [_top1(s) for s in _member(first, 0)],
            [_top1(s) for s in _member(second, 0)], [_top1(s) for s in _member(first, 0, "train")])
        curves[m] = [(a.logs(), b.logs()) for a, b in zip(first, second)]
    per_seed = pd.DataFrame(rows)
    return validity.convergence_summary(per_seed), per_seed, validity.plateau_figure(curves)


# ---------------------------------------------------------------------------------------------
# 03: ML vs MML (claim 3)
# ---------------------------------------------------------------------------------------------

def ml_vs_mml(study: Study) -> Analysis:
    """The RGB model alone, with an RGB peer (ML) and with a Flow peer (MML), all from the RGB model
    and all trained as long as the MML cohort (:func:`mmlkit.config.finetune_epochs`)."""
    seeds = study.seeds
    plans = ("centre", "train")
    stage1_runs = _per_seed(study, lambda s: study.single("RGB", s, init="image"), plans)
    mml = ("RGB", "Flow")  # every stage-2 run trains as long as this cohort: equal epochs
    alone_runs = _per_seed(study, lambda s: study.single("RGB", s, init="rgb", like=mml), plans)
    ml_runs = _per_seed(study, lambda s: study.cohort(("RGB", "RGB"), s, init="rgb", like=mml), plans)
    mml_runs = _per_seed(study, lambda s: study.cohort(mml, s, init="rgb"), plans)
    stage1, alone = _member(stage1_runs, 0), _member(alone_runs, 0)
    ml0, ml1 = _member(ml_runs, 0), _member(ml_runs, 1)
    mml_rgb, mml_flow = _member(mml_runs, 0), _member(mml_runs, 1)
    parts = [("RGB, step 1 (from image)", "RGB", stage1_runs, 0), ("RGB alone, from RGB", "RGB", alone_runs, 0),
             ("ML: RGB (model 0)", "RGB", ml_runs, 0), ("ML: RGB (model 1)", "RGB", ml_runs, 1),
             ("MML: RGB", "RGB", mml_runs, 0), ("MML: Flow", "Flow", mml_runs, 1)]
    acc = pd.DataFrame([r for name, m, runs, i in parts for r in _rows(name, _member(runs, i), seeds, modality=m)])
    fit = pd.DataFrame([r for name, m, runs, i in parts for r in _rows(name, _member(runs, i, "train"), seeds)])
    res = Analysis("ml_vs_mml")
    summ = _summary(acc, ["experiment"])
    fit_text = tables.seed_summary(fit, ["experiment"], "top1").set_index("experiment")["text"]
    summ.insert(1, "train top-1 (%)", summ["experiment"].map(fit_text).to_numpy())
    res.tables["accuracy"] = summ
    res.figures["accuracy"] = plots.accuracy_bars(acc, x="experiment", title="the RGB model and its peers")
    ml_kl = max(float(r.logs()["kl"].abs().max()) for r in ml_runs)
    degenerate = (" [ML degenerate here: both RGB models start from the same checkpoint, see the same clips and "
                  "have no dropout, so they stay identical and the KL term is 0]") if ml_kl == 0 else ""
    res.tables["claim"] = pd.DataFrame([
        compare("C3", "MML's RGB model beats the RGB model trained alone (same init, same epochs)",
                "MML: RGB", mml_rgb, "RGB alone, from RGB", alone, seeds),
        compare("C3", "MML's RGB model beats ML's RGB model" + degenerate, "MML: RGB", mml_rgb,
                "ML: RGB (model 0)", ml0, seeds),
        compare("C3", "(context) ML's RGB model beats the RGB model trained alone" + degenerate,
                "ML: RGB (model 0)", ml0, "RGB alone, from RGB", alone, seeds)])
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
        runs = _per_seed(study, lambda s, mods=mods, mode=mode: study.cohort(mods, s, init="rgb", mode=mode))
        alone = _member(_per_seed(study, lambda s, mods=mods: study.single("RGB", s, init="rgb", like=mods)), 0)
        epochs = study.cohort(mods, seeds[0], init="rgb").optim.epochs
        for i, m in enumerate(mods):
            rows += _rows(name, _member(runs, i), seeds, modality=m, mode=mode, epochs=epochs)
        rgb_rows.append(compare("C3", f"the RGB model of MML {name} beats the RGB model trained alone "
                                f"({epochs} epochs each)", f"MML {name}: RGB", _member(runs, 0),
                                "RGB alone, from RGB", alone, seeds))
    acc = pd.DataFrame(rows)
    res = Analysis("modality_sets")
    res.tables["accuracy"] = _summary(acc, ["experiment", "epochs", "modality"])
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
    runs = {t: _per_seed(study, lambda s, smp=smp: study.single("RGB", s, init="image", sample=smp), SAMPLING_PLANS)
            for t, smp in trains.items()}
    sc = {(t, p): _member(runs[t], 0, p) for t in trains for p in SAMPLING_PLANS}
    acc = pd.DataFrame([r for (t, p), s in sc.items() for r in _rows(f"{t} / {p}", s, seeds, train=t, test=p)])
    res = Analysis("test_sampling")
    res.tables["accuracy"] = _summary(acc, ["train", "test"])
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
    stage1 = _member(rgb_runs, 0)
    like = mml_runs[0].config.modalities  # the baseline trains as long as the cohort
    alone = _member(_per_seed(study, lambda s: study.single("RGB", s, init="rgb", like=like)), 0)
    mml_rgb, mml_flow = _member(mml_runs, 0), _member(mml_runs, 1)
    both = [ensemble([a, b]) for a, b in zip(mml_rgb, mml_flow)]
    parts = [("step 1: RGB from image", stage1), ("RGB alone, from step 1", alone), ("MML: RGB", mml_rgb),
             ("MML: Flow", mml_flow), ("MML: RGB + Flow ensemble", both)]
    acc = pd.DataFrame([r for name, sc in parts for r in _rows(name, sc, seeds)])
    res = Analysis("recipe")
    res.tables["recipe"] = _summary(acc, ["experiment"])
    res.tables["claim"] = pd.DataFrame([
        compare("recipe", "the RGB model after MML beats the RGB model trained as long without a peer",
                "MML: RGB", mml_rgb, "RGB alone, from step 1", alone, seeds),
        compare("recipe", "the RGB model after MML beats the step-1 model", "MML: RGB", mml_rgb,
                "step 1: RGB from image", stage1, seeds)])
    res.figures["recipe"] = plots.accuracy_bars(acc, x="experiment", title="the minimal recipe: RGB at inference")
    return res


def paper_tables(study: Study) -> Analysis:
    """Every table and figure of notebooks 01-05, the headline table, claim verdicts, published numbers."""
    from mmlkit.results.when_mml_helps import when_mml_helps

    parts = [baselines(study), initialisation(study), ml_vs_mml(study), modality_sets(study), test_sampling(study),
             when_mml_helps(study)]
    res = Analysis("")
    for part in parts:
        res.tables.update({f"{part.name}_{k}": v for k, v in part.tables.items()})
        res.figures.update({f"{part.name}_{k}": v for k, v in part.figures.items()})
    claims = pd.concat([p.tables[k] for p in parts for k in ("claim", "rgb") if k in p.tables], ignore_index=True)
    claims = claims.sort_values("claim", kind="stable").reset_index(drop=True)
    res.tables["claims"] = claims.drop(columns=["diff"])
    res.tables["validity"] = res.tables["initialisation_convergence"]
    res.tables["headline"], headline_acc = _headline(study)
    res.figures["headline"] = plots.accuracy_bars(headline_acc, x="experiment",
                                                  title="the single RGB model at inference, by training")
    res.tables["published"] = paper.published_results()
    from mmlkit.results.inference_cost import study_tables

    res.tables["inference_cost"], res.tables["accuracy_vs_cost"], fig = study_tables(study, headline_acc)
    if fig is not None:
        res.figures["accuracy_vs_cost"] = fig
    return res


def _headline(study: Study) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The RGB model at inference by how it was trained, and the ensembles it replaces.

    Returns the summary table and the per-seed accuracies; both carry ``inference``, the models
    run at test time (``RGB``, ``RGB+Flow``, ``RGB+Flow+RGBDiff``), which the accuracy-vs-cost
    analysis (:mod:`mmlkit.results.inference_cost`) joins with the measured cost.
    """
    seeds = study.seeds
    setups = [
        ("RGB from image pretraining", lambda s: study.single("RGB", s, init="image"), "centre"),
        ("RGB from the RGB model (2nd round)", lambda s: study.single("RGB", s, init="rgb"), "centre"),
        ("RGB from the RGB model, as long as MML with Flow",
         lambda s: study.single("RGB", s, init="rgb", like=("RGB", "Flow")), "centre"),
        ("ML RGB,RGB: RGB", lambda s: study.cohort(("RGB", "RGB"), s), "centre"),
        ("MML RGB,Flow: RGB", lambda s: study.cohort(("RGB", "Flow"), s), "centre"),
        ("MML RGB,RGBDiff: RGB", lambda s: study.cohort(("RGB", "RGBDiff"), s), "centre"),
        ("MML RGB,Flow,RGBDiff: RGB", lambda s: study.cohort(COHORTS[-1], s), "centre"),
        ("RGB, random sampling, both-views test", lambda s: study.single("RGB", s, init="image", sample="random"),
         "both"),
    ]
    # (name, scores per seed, epochs, what runs at inference)
    parts = [(name, _member(_per_seed(study, make, (plan,)), 0, plan), str(make(seeds[0]).optim.epochs),
              "RGB" if plan == "centre" else f"RGB x{view_plan(PLANS[plan], study.base().data).n_views} views")
             for name, make, plan in setups]
    singles = {m: (_member(_per_seed(study, lambda s, m=m: study.single(m, s, init="image")), 0),
                   study.single(m, seeds[0], init="image").optim.epochs) for m in ("Flow", "RGBDiff")}
    rgb, rgb_epochs = parts[0][1], parts[0][2]
    for members in (("RGB", "Flow"), ("RGB", "Flow", "RGBDiff")):
        others = [singles[m] for m in members[1:]]
        parts.append((f"({len(members)} models) {' + '.join(members)} ensemble",
                      [ensemble([r, *o]) for r, *o in zip(rgb, *[sc for sc, _ in others])],
                      " + ".join([rgb_epochs] + [str(ep) for _, ep in others]), "+".join(members)))
    acc = pd.DataFrame([r for name, sc, _, system in parts for r in _rows(name, sc, seeds, inference=system)])
    table = _summary(acc, ["experiment"])
    table.insert(1, "models at inference", [len(system.split("+")) for *_, system in parts])
    table.insert(2, "epochs (last stage)", [ep for _, _, ep, _ in parts])
    table.insert(3, "inference", [system for *_, system in parts])
    return table, acc
