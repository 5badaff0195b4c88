"""View-averaged scores per model, ensembles of any subset of models, and the ``test`` command.

A model's score for a video is the mean of its logits over the video's views (crops x clips).
An ensemble is ``sum_i coeff_i * s_i`` over models, ``s_i`` the view-averaged logits (or their
softmax with ``softmax=True``), as in the released test script.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd
import torch

from mmlkit.config import ConfigError, DataConfig, EvalConfig, model_name
from mmlkit.errors import CheckpointError, DataError, MmlkitError
from mmlkit.evaluation import metrics as M
from mmlkit.evaluation.views import ViewPlan, view_plan
from mmlkit.fileio import atomic_path, write_json, write_text
from mmlkit.progress import bar as progress_bar


class EnsembleError(MmlkitError):
    """Scores that cannot be ensembled: different videos, classes or labels."""


@dataclass(frozen=True, eq=False)
class Scores:
    """One model's (or ensemble's) scores on a split.

    Attributes:
        ids: video ids, length n, in dataset order, unique.
        labels: int64 (n,), 0-based class, -1 where unknown (test split).
        scores: float32 (n, K), view-averaged logits (or an ensemble of them).
        name: a label for tables (e.g. ``"model0_RGB"``).
        meta: JSON-ready extras (checkpoint, modality, view plan, coeff, ...).
    """

    ids: list[str]
    labels: np.ndarray
    scores: np.ndarray
    name: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        assert self.scores.ndim == 2 and len(self.ids) == len(self.labels) == len(self.scores), \
            (len(self.ids), self.labels.shape, self.scores.shape)

    @property
    def num_classes(self) -> int:
        return int(self.scores.shape[1])

    @property
    def has_labels(self) -> bool:
        return len(self.labels) > 0 and bool((self.labels >= 0).all())

    def correct(self, k: int = 1) -> np.ndarray:
        """bool (n,): label among the top-k scores."""
        return M.topk_correct(self.scores, self.labels, k)

    def metrics(self) -> dict[str, float]:
        """``top1``, ``top5``, ``mean_class_acc`` (percent), ``n``."""
        return M.summary(self.scores, self.labels)

    def save(self, path: str | Path) -> Path:
        """Write an ``.npz`` (ids, labels, scores, name, meta as JSON) atomically."""
        path = Path(path)
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, ids=np.asarray(self.ids, dtype=str), labels=self.labels.astype(np.int64),
                     scores=self.scores.astype(np.float32), name=np.asarray(self.name),
                     meta=np.asarray(json.dumps(self.meta, default=str)))
        return path

    @classmethod
    def load(cls, path: str | Path) -> "Scores":
        """Read a file written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as z:
            return cls(ids=[str(i) for i in z["ids"]], labels=z["labels"].astype(np.int64),
                       scores=z["scores"].astype(np.float32), name=str(z["name"]),
                       meta=json.loads(str(z["meta"])))


def _model_modality(model: torch.nn.Module, inputs: dict[str, torch.Tensor]) -> str:
    mod = getattr(model, "modality", None)
    if mod is None:
        if len(inputs) != 1:
            raise MmlkitError(f"model has no .modality and the batch holds {sorted(inputs)}: say which one")
        return next(iter(inputs))
    if mod not in inputs:
        raise DataError(f"the batch holds modalities {sorted(inputs)}, the model needs {mod!r}")
    return mod


@torch.inference_mode()
def score_model(model: torch.nn.Module, loader: Iterable[dict] | torch.utils.data.Dataset,
                device: str | torch.device = "cpu", progress: bool = True, *,
                plan: ViewPlan | None = None, batch_size: int = 8, chunk: int | None = None,
                name: str = "", meta: dict[str, Any] | None = None) -> Scores:
    """View-averaged logits of ``model`` on every video of ``loader``.

    Args:
        model: maps (N, T, C, H, W) float32 -> logits (N, K); has ``.modality`` (else the batch
            must hold one modality).
        loader: test batches ``{"inputs": {mod: (B, V, T, C, H, W)}, "label": (B,), "id": [B]}``
            (a DataLoader over a ``train=False`` dataset). A Dataset is wrapped in a
            DataLoader with ``batch_size`` in order.
        device: where the forward passes run.
        progress: a bar or a summary line (:mod:`mmlkit.progress`).
        plan: when given, each batch is checked against it (V and T).
        chunk: at most this many views per forward pass (default: the whole B*V).
        name, meta: stored with the result.

    Returns:
        Scores with float32 (n, K) = mean over the V views of the logits, for the n readable
        videos: a test dataset leaves an unreadable video out (never substitutes another), and
        ``meta["skipped"]`` lists those ids (the batches' ``"skipped"`` lists and
        ``dataset.skipped``). A video id seen twice (a loader that substitutes, e.g. a training
        dataset) is kept once; ``meta["duplicates_dropped"]`` counts them.
    """
    from mmlkit.runtime import keep_freed_memory

    keep_freed_memory()  # forward passes reuse the memory the previous batch freed
    dataset = loader if isinstance(loader, torch.utils.data.Dataset) else getattr(loader, "dataset", None)
    if isinstance(loader, torch.utils.data.Dataset):
        loader = torch.utils.data.DataLoader(loader, batch_size=batch_size, shuffle=False, num_workers=0)
    was_training = model.training
    model.eval().to(device=device, memory_format=torch.channels_last)  # faster convolutions
    ids: list[str] = []
    skipped: list[str] = []
    labels: list[np.ndarray] = []
    out: list[np.ndarray] = []
    try:
        total = len(loader)  # type: ignore[arg-type]
    except TypeError:
        total = None
    for batch in progress_bar(loader, enabled=progress, total=total, desc=f"score {name}".strip(), leave=False):
        skipped.extend(str(i) for i in batch.get("skipped", []) or [])
        if not batch["id"]:  # every video of this batch was unreadable
            continue
        inputs = batch["inputs"]
        x = inputs[_model_modality(model, inputs)]
        if plan is not None:
            plan.check(tuple(x.shape))
        b, v = x.shape[:2]
        flat = x.reshape(b * v, *x.shape[2:])  # (B*V, T, C, H, W)
        step = chunk or b * v
        logits = torch.cat([model(flat[i:i + step].to(device, non_blocking=True)).float()
                            for i in range(0, b * v, step)])  # (B*V, K)
        out.append(logits.reshape(b, v, -1).mean(dim=1).cpu().numpy())  # (B, K)
        lab = batch["label"]
        labels.append(np.asarray(lab.cpu() if torch.is_tensor(lab) else lab, dtype=np.int64).reshape(-1))
        ids.extend(str(i) for i in batch["id"])
    model.train(was_training)
    meta = dict(meta or {})
    if not ids:
        raise DataError(f"score_model: the loader yielded no videos (empty split?) for {name or 'the model'}")
    scores = np.concatenate(out).astype(np.float32)
    lab = np.concatenate(labels)
    _, first = np.unique(np.asarray(ids), return_index=True)
    keep = np.sort(first)
    meta["duplicates_dropped"] = int(len(ids) - len(keep))
    skipped.extend(str(s) for s in getattr(dataset, "skipped", []) or [])
    meta["skipped"] = sorted(set(skipped))
    if plan is not None:
        meta.setdefault("plan", plan.key)
        meta.setdefault("views", list(plan.names))
    return Scores(ids=[ids[i] for i in keep], labels=lab[keep], scores=scores[keep], name=name, meta=meta)


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _align(ref: Scores, other: Scores) -> Scores:
    """``other`` reordered to ``ref``'s ids; EnsembleError naming the first mismatch."""
    if other.ids == ref.ids:
        return other
    pos = {i: n for n, i in enumerate(other.ids)}
    missing = [i for i in ref.ids if i not in pos]
    extra = set(other.ids) - set(ref.ids)
    if missing or extra:
        first = missing[0] if missing else sorted(extra)[0]
        where = f"in {ref.name or 'scores 0'} but not {other.name or 'the other'}" if missing else \
            f"in {other.name or 'the other'} but not {ref.name or 'scores 0'}"
        raise EnsembleError(f"cannot ensemble scores of different videos: id {first!r} is {where} "
                            f"({len(missing)} missing, {len(extra)} extra)")
    idx = np.array([pos[i] for i in ref.ids])
    return replace(other, ids=list(ref.ids), labels=other.labels[idx], scores=other.scores[idx])


def ensemble(scores: Sequence[Scores], coeff: Sequence[float] | None = None, softmax: bool = False) -> Scores:
    """Weighted sum of several models' scores on the same videos.

    Args:
        scores: one Scores per model (ids may be in different orders; the first's order is kept).
        coeff: one weight per model (default all 1).
        softmax: sum softmax outputs instead of logits.

    Returns:
        Scores named ``"a + b"`` with ``meta = {"members", "coeff", "softmax"}``.

    Raises:
        EnsembleError: no scores, different video sets (names the first mismatching id),
            classes or labels.
        ConfigError: ``coeff`` of the wrong length.
    """
    scores = list(scores)
    if not scores:
        raise EnsembleError("ensemble: no scores given")
    if coeff is None:
        coeff = [1.0] * len(scores)
    coeff = [float(c) for c in coeff]
    if len(coeff) != len(scores):
        raise ConfigError(f"coeff has {len(coeff)} weights {coeff} for {len(scores)} models; give one per model")
    ref = scores[0]
    total = np.zeros(ref.scores.shape, dtype=np.float64)
    for s, c in zip(scores, coeff):
        if s.num_classes != ref.num_classes:
            raise EnsembleError(f"cannot ensemble {s.name!r} ({s.num_classes} classes) with "
                                f"{ref.name!r} ({ref.num_classes} classes)")
        s = _align(ref, s)
        if not np.array_equal(s.labels, ref.labels):
            bad = int(np.flatnonzero(s.labels != ref.labels)[0])
            raise EnsembleError(f"labels differ for video {ref.ids[bad]!r}: {ref.labels[bad]} in {ref.name!r}, "
                                f"{s.labels[bad]} in {s.name!r}")
        total += c * (_softmax(s.scores.astype(np.float64)) if softmax else s.scores)
    names = [s.name or f"model{i}" for i, s in enumerate(scores)]
    return Scores(ids=list(ref.ids), labels=ref.labels.copy(), scores=total.astype(np.float32),
                  name=" + ".join(names), meta={"members": names, "coeff": coeff, "softmax": softmax})


def subset_table(scores: dict[str, Scores], softmax: bool = False) -> pd.DataFrame:
    """Top-1/top-5 (percent) of every non-empty subset of models, equal weights.

    Returns:
        DataFrame with columns ``models`` (``"a + b"``), ``n_models``, ``top1``, ``top5``,
        ``mean_class_acc``, one row per subset (singles first, in the dict's order).
    """
    names = list(scores)
    rows = []
    for r in range(1, len(names) + 1):
        for combo in itertools.combinations(names, r):
            e = ensemble([scores[n] for n in combo], softmax=softmax)
            m = e.metrics()
            rows.append({"models": " + ".join(combo), "n_models": r, "top1": m["top1"], "top5": m["top5"],
                         "mean_class_acc": m["mean_class_acc"]})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# The `test` command
# ---------------------------------------------------------------------------------------------

def format_metrics(rows: list[dict[str, Any]]) -> str:
    """A small fixed-width text table of ``name, top1, top5, mean_class_acc, n`` rows."""
    head = ["name", "top1", "top5", "mean_cls", "n"]
    cells = [head] + [[str(r["name"])] + [f"{r[k]:.2f}" if isinstance(r.get(k), float) else str(r.get(k, "-"))
                                           for k in ("top1", "top5", "mean_class_acc", "n")] for r in rows]
    w = [max(len(c[i]) for c in cells) for i in range(len(head))]
    return "\n".join("  ".join(c[i].ljust(w[i]) for i in range(len(head))) for c in cells)


def write_submission(scores: Scores, path: str | Path) -> Path:
    """SSv2 submission lines ``id;c1;c2;c3;c4;c5`` (top-5 class indices, best first), atomically."""
    top = np.argsort(-scores.scores, axis=1, kind="stable")[:, :5]
    return write_text(path, "".join(f"{i};" + ";".join(str(int(c)) for c in t) + "\n" for i, t in zip(scores.ids, top)))


def check_models_fit_data(data_cfg: DataConfig, weights: Sequence[str], models: Sequence[torch.nn.Module]) -> None:
    """Before any scoring: every model predicts the data set's classes and reads a known modality.

    Raises:
        CheckpointError: a model's class count differs from ``labels.json``'s (naming both), or
            its modality is not one the data layer provides.
    """
    from mmlkit.config import MODALITIES
    from mmlkit.data import num_classes, resolve_root

    n_data = num_classes(data_cfg)
    for w, m in zip(weights, models):
        if m.num_classes != n_data:
            raise CheckpointError(f"{w} predicts {m.num_classes} classes, but the data set "
                                  f"({resolve_root(data_cfg) / 'labels.json'}) has {n_data}: scores would be "
                                  "meaningless; test a checkpoint on the data set it was trained for")
        if m.modality not in MODALITIES:
            raise CheckpointError(f"{w} is a {m.modality!r} model; the data layer provides {', '.join(MODALITIES)}")


def test(data_cfg: DataConfig, eval_cfg: EvalConfig, weights: list[str], coeff: Sequence[float] | None = None,
         out_json: str | Path | None = None, csv_file: str | Path | None = None, split: str = "validation",
         device: str = "cpu", workers: int = 0, softmax: bool = False, progress: bool = True) -> dict[str, Any]:
    """Score checkpoints on a split, ensemble them, print and return the metrics.

    Every checkpoint is tested on ``eval_cfg``'s views with its own modality. The checkpoints of
    one ensemble must agree on classes and, unless ``eval_cfg.test_segments`` sets the test
    segment count for all, on training segments.

    Args:
        data_cfg: the data (root, source, sizes); ``num_segments`` is replaced by the test count.
        eval_cfg: views, batch size, ``softmax`` (or'ed with the ``softmax`` argument).
        weights: checkpoint paths (``mmlkit.models.load_checkpoint``).
        coeff: one ensemble weight per checkpoint (default 1 each).
        out_json: write the returned dict there.
        csv_file: write the SSv2 submission file of the ensemble there.
        split: ``train`` | ``validation`` | ``test`` (no labels: metrics skipped with a note).
        workers: DataLoader workers.

    Returns:
        dict: ``plan`` (key, views), ``models`` (per checkpoint: weights, modality, metrics),
        ``ensemble`` (metrics, coeff), ``top1``/``top5``/``mean_class_acc`` (the ensemble's, in
        percent; absent without labels), ``n_videos``, ``notes``.

    Raises:
        ConfigError: no weights or a ``coeff`` of the wrong length.
        CheckpointError: checkpoints that disagree on classes or segments, or whose classes are
            not the data set's (checked before any video is scored).
        DataError: an empty split.
    """
    from mmlkit.data import build_dataset, make_loader
    from mmlkit.models import load_checkpoint

    if not weights:
        raise ConfigError("test: give at least one checkpoint (--weights a.pt[,b.pt])")
    from mmlkit.runtime import check_device

    check_device(device)
    if coeff is not None and len(coeff) != len(weights):
        raise ConfigError(f"coeff has {len(coeff)} weights {list(coeff)} for {len(weights)} checkpoints "
                          f"{list(weights)}; give one per checkpoint")
    softmax = softmax or eval_cfg.softmax
    models = [load_checkpoint(w) for w in weights]
    for w, m in zip(weights[1:], models[1:]):
        if m.num_classes != models[0].num_classes:
            raise CheckpointError(f"{w} has {m.num_classes} classes but {weights[0]} has "
                                  f"{models[0].num_classes}; an ensemble needs the same classes")
        if eval_cfg.test_segments is None and m.num_segments != models[0].num_segments:
            raise CheckpointError(f"{w} was trained with {m.num_segments} segments but {weights[0]} with "
                                  f"{models[0].num_segments}; set --test_segments to test both on one count")
    check_models_fit_data(data_cfg, weights, models)
    plan = view_plan(eval_cfg, models[0].num_segments)
    dcfg = replace(data_cfg, num_segments=plan.num_segments)
    notes: list[str] = []
    per_model: list[Scores] = []
    datasets: dict[str, Any] = {}
    for i, (w, m) in enumerate(zip(weights, models)):
        if m.modality not in datasets:
            ds = build_dataset(dcfg, split, (m.modality,), train=False, seed=0, eval_cfg=eval_cfg)
            if len(ds) == 0:
                raise DataError(f"split {split!r} of {data_cfg.dataset!r} has no videos")
            datasets[m.modality] = ds
        ds = datasets[m.modality]
        loader = make_loader(ds, batch_size=eval_cfg.batch_size, shuffle=False, seed=0, epoch=0,
                             workers=workers, drop_last=False)
        s = score_model(m, loader, device, progress, plan=plan, name=model_name(i, m.modality),
                        meta={"weights": str(w), "modality": m.modality})
        per_model.append(s)
        if s.meta["skipped"]:
            notes.append(f"{w}: {len(s.meta['skipped'])} videos could not be decoded and were skipped")
    ens = ensemble(per_model, coeff, softmax=softmax)
    result: dict[str, Any] = {"split": split, "plan": {"key": plan.key, "views": list(plan.names)},
                              "n_videos": len(ens.ids), "softmax": softmax, "coeff": ens.meta["coeff"],
                              "models": [], "notes": notes}
    rows = []
    for w, s in zip(weights, per_model):
        entry = {"name": s.name, "weights": str(w), "modality": s.meta["modality"]}
        if ens.has_labels:
            entry.update(s.metrics())
        result["models"].append(entry)
        rows.append(entry)
    if ens.has_labels:
        m = ens.metrics()
        result["ensemble"] = {"name": ens.name, **m}
        result.update(top1=m["top1"], top5=m["top5"], mean_class_acc=m["mean_class_acc"])
        if len(weights) > 1:
            rows.append({"name": "ensemble", **m})
    else:
        notes.append(f"split {split!r} has no labels: metrics skipped")
        result["ensemble"] = {"name": ens.name}
    print(f"views: {plan.key} ({plan.n_clips} clips x {plan.n_crops} crops), {len(ens.ids)} videos")
    print(format_metrics(rows))
    for n in notes:
        print("note:", n)
    if csv_file is not None:
        result["csv_file"] = str(write_submission(ens, csv_file))
    if out_json is not None:
        write_json(out_json, result)
    return result
