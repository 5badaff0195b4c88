"""Optical-flow quality on the embedded benchmark, against the generator's ground truth
(mmlkit.data.flow_quality).

Rows: per flow method and render size R (flow computed at R, brought to the 32-px network input
with INTER_AREA and vectors x 32/R; the ground truth likewise), the object endpoint error (px at
32), the object direction accuracy (within 45 degrees), the same for the object's motion relative
to the background (camera shake removed), the background endpoint error and pairs/s (one
process, one OpenCV thread), each as float flow and after 8-bit quantisation at bound 20 px
(version 1) and at the default preset's bound. Full mode also runs ``extract_dataset`` end to end
with the default preset's settings on a few generated clips and projects the default data set's
packing time. The table is printed to stderr as well.
"""

from __future__ import annotations

import dataclasses
import sys
import tempfile
import time
from pathlib import Path

from mmlkit.data import synthetic
from mmlkit.data.flow_quality import default_methods, measure

DEFAULT_PAIRS = 56_000  # ~1,400 clips x ~40 frames: the default synthetic benchmark
TARGET_S = 120.0
CORES = 2


def _quality_rows(quick: bool) -> list[dict]:
    P = synthetic.PRESETS["default"]
    bounds = tuple(sorted({20.0, float(P.flow_bound)}, reverse=True))
    if quick:
        df = measure("default", methods=("dis-ultrafast", "farneback"), render_sizes=(32, 48), n_clips=4,
                     bounds=bounds)
    else:
        df = measure("default", methods=default_methods(), render_sizes=(32, 48, 64, 96), n_clips=58,
                     bounds=bounds, through_video=True)
    cols = ["method", "render_size", "bound", "object_epe", "object_dir_acc", "moving_object_epe",
            "moving_object_dir_acc", "background_epe", "pairs_per_s", "clipped_object_frac"]
    print(df[cols].round(3).to_string(), file=sys.stderr)
    rows = []
    for r in df.itertuples():
        chosen = (r.method == f"{P.flow_method}{'-' + P.flow_dis_preset if P.flow_method == 'dis' else ''}"
                  and r.render_size == P.height and r.bound == P.flow_bound)
        q = "float" if r.bound != r.bound or r.bound is None else f"q{r.bound:g}"
        name = f"flow quality {r.method} R={r.render_size} {q}"
        rows.append({"name": f"{name} object EPE", "value": r.object_epe, "unit": "px@32",
                     "ok": None, "target": "lower is better; default preset's setting" if chosen else "",
                     "notes": f"dir acc {r.object_dir_acc:.3f}; moving-object EPE {r.moving_object_epe:.3f} "
                              f"dir acc {r.moving_object_dir_acc:.3f}; background EPE {r.background_epe:.3f}; "
                              f"zero-flow EPE {r.zero_object_epe:.3f}; {r.pairs_per_s:.0f} pairs/s; "
                              f"clipped {r.clipped_object_frac:.4f}"})
    return rows


def _extract_rows() -> list[dict]:
    from mmlkit.data.flow import extract_dataset

    P = dataclasses.replace(synthetic.PRESETS["default"], name="bench", train_per_class=1, val_per_class=0,
                            test_per_class=0)
    with tempfile.TemporaryDirectory(prefix="bench_flow_quality_") as tmp:
        root = synthetic.generate(Path(tmp) / "ds", P, seed=0, workers=CORES, montage=False, pack=False,
                                  progress=False)
        extract_dataset(root, method=P.flow_method, workers=CORES, progress=False, bound=P.flow_bound,
                        pack_size=P.pack_size, dis_preset=P.flow_dis_preset)  # warm: pool + forkserver start
        t0 = time.perf_counter()
        rep = extract_dataset(root, method=P.flow_method, workers=CORES, progress=False, bound=P.flow_bound,
                              pack_size=P.pack_size, dis_preset=P.flow_dis_preset, overwrite=True)
        sec = time.perf_counter() - t0
    rate = rep["frame_pairs"] / sec
    projected = DEFAULT_PAIRS / rate
    return [{"name": f"extract_dataset default preset ({P.flow_method} at {P.height} px -> {P.pack_size} px, "
                     f"{CORES} workers)", "value": rate, "unit": "pairs/s",
             "target": f"56k pairs <= {TARGET_S:.0f} s on {CORES} cores", "ok": projected <= TARGET_S,
             "notes": f"{rep['videos']} clips: decode + flow + resize + write packed rgb/flow; "
                      f"projected {projected:.0f} s for {DEFAULT_PAIRS} pairs; failed {len(rep['failed'])}"}]


def rows(quick: bool) -> list[dict]:
    out = _quality_rows(quick)
    if not quick:
        out += _extract_rows()
    for r in out:
        r["group"] = "flow_quality"
    return out
