"""Accuracy against inference cost: the single RGB model and the ensembles it replaces.

The paper's motivation is a cost: an RGB + Flow ensemble is more accurate, but it runs optical
flow and a second network on every video; mutual modality learning puts what the ensemble knows
into the one RGB model. This module joins the two measurements that say what that buys:

* the cost per video, measured by ``python -m benchmarks --only inference``
  (``benchmarks/bench_inference.py``: latency from the .webm file to the scores, per system and
  flow method, written to ``benchmarks/results/inference/inference.json``);
* the accuracy of each way of training the RGB model and of the ensembles, from the results
  store (the headline of ``99_paper_tables``, per seed).

A cost measurement is used only for the model it was measured on (backbone, segments and
input size must match the study's): costs of another model say nothing about this one.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.ticker
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mmlkit.results.store import REPO

COST_JSON = REPO / "benchmarks" / "results" / "inference" / "inference.json"


def load_cost(path: str | Path | None = None) -> dict | None:
    """The inference benchmark's document (``None`` when it was never run here).

    Raises:
        ValueError: the file exists but is not the benchmark's JSON (names the file).
    """
    path = Path(path) if path is not None else COST_JSON
    if not path.exists():
        return None
    try:
        doc = json.loads(path.read_text())
        doc["results"][0]["median_ms"]
    except (json.JSONDecodeError, KeyError, IndexError, TypeError) as exc:
        raise ValueError(f"{path}: not an inference benchmark result ({type(exc).__name__}: {exc}); "
                         f"rerun `python -m benchmarks --only inference --out benchmarks/results/inference`") from exc
    return doc


def cost_table(doc: dict) -> pd.DataFrame:
    """One row per case x system x flow method: latency (median, p90), throughput, peak memory,
    the time of each stage and the latency relative to the RGB model of the same case."""
    rows = []
    for r in doc["results"]:
        rgb = next(x for x in doc["results"] if x["case"] == r["case"] and x["system"] == "RGB")
        st = r["stages_ms"]
        rows.append({"case": r["case"], "system": r["system"], "flow": r["flow"] or "",
                     "ms/video (median)": r["median_ms"], "ms/video (p90)": r["p90_ms"],
                     "x RGB": r["median_ms"] / rgb["median_ms"],
                     "videos/s": r["throughput_videos_s"], "batch": r["batch"], "peak MiB": r["peak_mib"],
                     "decode ms": st.get("decode", 0.0), "flow ms": st.get("flow", 0.0),
                     "networks ms": sum(v for k, v in st.items() if k.startswith("net ")),
                     "preprocess ms": st.get("preprocess", 0.0)})
    return pd.DataFrame(rows)


def case_for(doc: dict, arch: str, num_segments: int, input_size: int) -> str | None:
    """The name of the measured case of this model, or ``None`` when it was not measured."""
    for r in doc["results"]:
        c = r["case_config"]
        if (c["arch"], c["num_segments"], c["input_size"]) == (arch, num_segments, input_size):
            return r["case"]
    return None


def flow_method_of(data_cfg) -> str | None:
    """The flow method the data set's Flow inputs were extracted with (its ``packed/meta.json``),
    or ``None`` when unrecorded."""
    from mmlkit.data.dataset import resolve_root
    from mmlkit.data.flow import read_pack_meta

    meta = read_pack_meta(resolve_root(data_cfg))
    return None if meta is None else meta.get("method")


def accuracy_vs_cost(acc: pd.DataFrame, doc: dict, case: str, flow: str) -> tuple[pd.DataFrame, Figure]:
    """Join per-seed accuracies with the measured cost of what runs at inference.

    Args:
        acc: per-seed accuracies with columns ``experiment``, ``seed``, ``top1`` and
            ``inference`` (``RGB``, ``RGB+Flow``, ``RGB+Flow+RGBDiff``; other values, e.g.
            several test views, have no measured cost and are left out).
        doc: the inference benchmark's document. case: its case for this model.
        flow: the flow method the Flow models were trained on (their cost at inference).

    Returns:
        (table, figure): per experiment the top-1 mean and std over seeds, the system, its
        median ms/video and its cost relative to the RGB model; the figure plots top-1 against
        ms/video (log axis), one point per experiment with its seed std.
    """
    g = acc.groupby("experiment", sort=False)
    summary = pd.DataFrame({"experiment": list(g.groups),
                            "inference": g["inference"].first().to_numpy(),
                            "top-1 mean (%)": g["top1"].mean().to_numpy(),
                            "top-1 std (%)": g["top1"].std(ddof=1).to_numpy(),
                            "seeds": g["top1"].size().to_numpy()})
    return summary_vs_cost(summary, doc, case, flow)


def summary_vs_cost(summary: pd.DataFrame, doc: dict, case: str, flow: str) -> tuple[pd.DataFrame, Figure]:
    """:func:`accuracy_vs_cost` from accuracies already summarised over seeds.

    Args:
        summary: one row per experiment: ``experiment``, ``inference``, ``top-1 mean (%)``,
            ``top-1 std (%)``, ``seeds`` (e.g. a stored headline table's mean ± std).
        doc, case, flow: as in :func:`accuracy_vs_cost`.
    """
    costs = {r["system"]: r["median_ms"] for r in doc["results"]
             if r["case"] == case and (r["flow"] in (None, flow))}
    if "RGB" not in costs:
        raise ValueError(f"the inference benchmark has no RGB row for case {case!r}")
    table = summary[summary["inference"].isin(list(costs))].reset_index(drop=True)
    table["ms/video"] = table["inference"].map(costs)
    table["x RGB cost"] = table["ms/video"] / costs["RGB"]

    fig = Figure(figsize=(8.5, 4.6), layout="constrained")
    ax = fig.subplots()
    markers = {"RGB": "o", "RGB+Flow": "s", "RGB+Flow+RGBDiff": "D"}
    y = table["top-1 mean (%)"]
    step = max(float(y.max() - y.min()), 1.0) / max(len(table), 1)  # label spacing: the points share x
    for (system, part), colour in zip(table.groupby("inference", sort=False), ("C0", "C1", "C2", "C3")):
        ax.errorbar(part["ms/video"], part["top-1 mean (%)"], yerr=np.nan_to_num(part["top-1 std (%)"]),
                    fmt=markers.get(system, "o"), color=colour, capsize=3, label=system)
        part = part.sort_values("top-1 mean (%)")
        ys = part["top-1 mean (%)"].to_numpy(dtype=float)
        label_y = np.maximum(ys, ys.min() + np.arange(len(ys)) * step)  # a column of labels, upwards
        for (_, r), ly in zip(part.iterrows(), label_y):
            ax.annotate(r["experiment"], (r["ms/video"], r["top-1 mean (%)"]), xytext=(r["ms/video"] * 1.06, ly),
                        textcoords="data", fontsize=6, va="center", color=colour,
                        arrowprops={"arrowstyle": "-", "lw": 0.4, "color": colour, "relpos": (0, 0.5)})
    ax.set_xscale("log")
    lo, hi = float(table["ms/video"].min()), float(table["ms/video"].max())
    ax.set_xlim(lo / 1.15, hi * 2.2)  # room for the labels on the right of the last point
    ticks = sorted(set(table["ms/video"].round(1)))
    ax.xaxis.set_major_locator(matplotlib.ticker.FixedLocator(ticks))
    ax.xaxis.set_major_formatter(matplotlib.ticker.FixedFormatter([f"{t:g} ms" for t in ticks]))
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel(f"ms per video on this CPU (median; decode + {flow} flow + networks)")
    ax.set_ylabel("held-out top-1 (%), mean ± std over seeds")
    ax.set_title(f"accuracy against inference cost ({case} model)")
    ax.legend(fontsize=7, title="runs at inference", title_fontsize=7)
    return table, fig


def study_tables(study, headline_acc: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, Figure | None]:
    """The inference benchmark's cost table and, when it measured this study's model, accuracy
    against cost (:func:`accuracy_vs_cost`); a one-row note where it cannot.

    Args:
        study: a :class:`~mmlkit.results.experiments.Study`. headline_acc: the per-seed
            accuracies of ``paper_tables.headline`` (with ``inference``).
    """
    def note(text: str) -> pd.DataFrame:
        return pd.DataFrame({"note": [text]})

    doc = load_cost()
    if doc is None:
        return (note("not measured: run `python -m benchmarks --only inference --out benchmarks/results/inference`"),
                note("no cost measurement"), None)
    base = study.base()
    case = case_for(doc, base.model.arch, base.data.num_segments, base.data.input_size)
    flow = flow_method_of(base.data)
    if case is None or flow is None:
        why = ("the benchmark measured no model like this study's "
               f"({base.model.arch}, T={base.data.num_segments}, {base.data.input_size} px)") if case is None else \
            "the data set does not record its flow method (packed/meta.json)"
        return cost_table(doc), note(why), None
    table, fig = accuracy_vs_cost(headline_acc, doc, case, flow)
    return cost_table(doc), table, fig
