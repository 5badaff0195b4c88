"""Notebook 00: the embedded benchmark's splits, classes, samplers and modalities, and its flow
next to the generator's exact flow."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mmlkit.results import plots
from mmlkit.results.analysis import Analysis
from mmlkit.results.experiments import Study
from mmlkit.results.tables import with_formats


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
    with_formats(table, formats={"endpoint error (px)": ".3f", "zero-flow error (px)": ".3f"})  # hundredths of a px
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
