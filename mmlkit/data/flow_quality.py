"""Optical-flow quality on the embedded benchmark, against the generator's ground truth.

The synthetic generator knows every frame's object pose and camera offset
(``render_clip(..., return_truth=True)``), so :func:`mmlkit.data.synthetic.ground_truth_flow`
gives the exact flow of the main object and of the background. This module compares estimated
flow with it:

* :func:`flow_errors`: endpoint error and direction accuracy over a mask (pure arrays);
* :func:`to_network_size`: a flow field computed at render size R, expressed at the network
  input size (INTER_AREA resize, vectors times ``size / R``), and a mask at that size;
* :func:`measure`: a table of methods x render sizes, errors always in pixels of the network
  input (32 px by default), with and without 8-bit quantisation.

Ground truth at the network size: the GT field at render size R is resized exactly like the
estimate (INTER_AREA, times ``size / R``) and a network pixel is kept only when every render
pixel under it is valid. Inside the object the motion is affine in position, so the area mean of
the GT field over a block is the GT flow at the block's centre: the resized GT is the exact flow
of the network pixel's centre, the same numbers as an analytic GT at 32 px.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from mmlkit.data.flow import compute_flow, dequantize_flow, quantize_flow, tvl1_available

#: method label -> (compute_flow method, dis_preset)
METHOD_SPECS: dict[str, tuple[str, str]] = {
    "dis-ultrafast": ("dis", "ultrafast"), "dis-fast": ("dis", "fast"), "dis-medium": ("dis", "medium"),
    "farneback": ("farneback", "ultrafast"), "tvl1": ("tvl1", "ultrafast"),
}


def default_methods() -> tuple[str, ...]:
    """Every method label of :data:`METHOD_SPECS` this OpenCV has (tvl1 needs opencv-contrib)."""
    return tuple(m for m in METHOD_SPECS if m != "tvl1" or tvl1_available())


def flow_errors(est: np.ndarray, gt: np.ndarray, mask: np.ndarray, min_motion: float = 0.25) -> dict:
    """Endpoint error and direction accuracy of an estimated flow over a mask.

    Args:
        est: float (..., 2) estimated displacement, pixels (channel 0 = x, 1 = y).
        gt: float (..., 2) true displacement, same shape.
        mask: bool (...) pixels to score (``est.shape[:-1]``).
        min_motion: pixels whose true motion is shorter than this (pixels) are left out of the
            direction accuracy (a direction of a near-zero vector means nothing).

    Returns:
        ``{"epe": mean |est - gt| over the mask (nan if empty), "n": masked pixels,
        "dir_acc": fraction of the masked pixels with |gt| >= min_motion whose estimate is
        within 45 degrees of gt (a zero estimate counts as wrong; nan if none), "n_dir": those
        pixels}``.
    """
    est, gt = np.asarray(est, np.float64), np.asarray(gt, np.float64)
    mask = np.asarray(mask, bool)
    if est.shape != gt.shape or est.shape[:-1] != mask.shape or est.shape[-1] != 2:
        raise ValueError(f"flow_errors: est {est.shape}, gt {gt.shape}, mask {mask.shape}; "
                         "expected (..., 2), (..., 2), (...)")
    e, g = est[mask], gt[mask]  # (M, 2)
    epe = float(np.linalg.norm(e - g, axis=-1).mean()) if len(e) else float("nan")
    gn = np.linalg.norm(g, axis=-1)
    moving = gn >= min_motion
    en = np.linalg.norm(e[moving], axis=-1)
    cos = (e[moving] * g[moving]).sum(-1) / np.maximum(en * gn[moving], 1e-12)
    ok = (en > 0) & (cos >= np.cos(np.pi / 4) - 1e-12)
    return {"epe": epe, "n": int(mask.sum()), "dir_acc": float(ok.mean()) if moving.any() else float("nan"),
            "n_dir": int(moving.sum())}


def to_network_size(flow: np.ndarray, size: int = 32, mask: np.ndarray | None = None):
    """A flow field (and mask) computed at render size R, at the network input size.

    Args:
        flow: float (N, R, R', 2) displacement in render pixels.
        size: output side (pixels, square output).
        mask: optional bool (N, R, R') valid pixels.

    Returns:
        float32 (N, size, size, 2): INTER_AREA resize, x scaled by ``size / R'`` and y by
        ``size / R``; with ``mask``: ``(flow, mask bool (N, size, size))``, a pixel valid when
        every render pixel under it is (area mean == 1).
    """
    import cv2

    flow = np.asarray(flow, np.float32)
    n, h, w, _ = flow.shape
    if (h, w) == (size, size):
        out = flow.copy()
    else:
        out = np.stack([cv2.resize(f, (size, size), interpolation=cv2.INTER_AREA) for f in flow]).reshape(n, size, size, 2)
        out[..., 0] *= np.float32(size / w)
        out[..., 1] *= np.float32(size / h)
    if mask is None:
        return out
    m = np.asarray(mask, np.float32)
    if (h, w) != (size, size):
        m = np.stack([cv2.resize(f, (size, size), interpolation=cv2.INTER_AREA) for f in m]).reshape(n, size, size)
    return out, m > 1.0 - 1e-4


def _clip_plan(classes: int, n_clips: int) -> list[int]:
    return [i % classes for i in range(n_clips)]


def _camera_flow(truth: dict, size: int) -> np.ndarray:
    """float32 (N-1, 1, 1, 2): the background (camera) displacement per pair, in ``size`` pixels."""
    cam = np.stack([truth["ox"][:-1] - truth["ox"][1:], truth["oy"][:-1] - truth["oy"][1:]], axis=-1)
    cam *= np.array([size / truth["width"], size / truth["height"]])
    return cam.astype(np.float32)[:, None, None, :]


def _rate(fn, clips: list, repeats: int = 3) -> float:
    """Frame pairs per second of ``fn(frames)`` over a few clips: the best of ``repeats`` runs
    (the machine may be shared; the best run is the least disturbed)."""
    sub = clips[: max(1, min(len(clips), 6))]
    pairs = sum(len(c) - 1 for c in sub)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for c in sub:
            fn(c)
        best = min(best, time.perf_counter() - t0)
    return pairs / best


def _roundtrip_video(frames: np.ndarray, fps: int, crf: int) -> np.ndarray:
    """The frames as the data set stores them: VP9 webm encode + decode, uint8 (N, H, W, 3)."""
    import tempfile
    from pathlib import Path

    from mmlkit.data.synthetic import encode_webm
    from mmlkit.data.video import read_all_frames

    with tempfile.TemporaryDirectory(prefix="flow_quality_") as tmp:
        path = Path(tmp) / "clip.webm"
        encode_webm(frames, path, fps, crf)
        return read_all_frames(path)


def measure(preset="default", methods: tuple[str, ...] | None = None,
            render_sizes: tuple[int, ...] = (32, 48, 64, 96), n_clips: int = 29, seed: int = 0,
            size: int = 32, bounds: tuple[float, ...] = (20.0, 5.0), min_motion: float = 0.25,
            through_video: bool = False):
    """Flow quality per method and render size, in pixels of the ``size`` network input.

    For each render size R the preset is rendered at R x R (``dataclasses.replace``; clips
    ``clip_rng(seed, "train", i)`` of class ``i % classes``, the same clips for every method;
    scenes differ a little between sizes, see :func:`mmlkit.data.synthetic.render_clip`), the
    flow of the rendered uint8 frames (not the VP9-decoded video) is computed at R and brought
    to ``size`` by :func:`to_network_size`, and so is the ground truth
    (:func:`mmlkit.data.synthetic.ground_truth_flow`). Quantised rows pass the network-size
    estimate through ``quantize_flow`` / ``dequantize_flow`` with each bound of ``bounds``.

    Args:
        preset: synthetic preset (name or object); only its size changes.
        methods: labels of :data:`METHOD_SPECS` (default: :func:`default_methods`).
        render_sizes: render sizes R (pixels).
        n_clips: clips per render size.
        seed: data seed.
        size: network input side, pixels.
        bounds: quantisation bounds (pixels at ``size``) of the extra rows.
        min_motion: see :func:`flow_errors` (pixels at ``size``).
        through_video: compute the flow on the VP9-decoded frames (encode + decode each clip,
            as :func:`mmlkit.data.flow.extract_dataset` sees them) instead of the rendered ones.

    Returns:
        pandas.DataFrame, one row per (method, render size, quantisation): ``method``,
        ``render_size``, ``bound`` (None: float flow), ``object_epe``, ``object_dir_acc``,
        ``background_epe``, ``moving_object_epe`` and ``moving_object_dir_acc`` (object pixels
        that move relative to the background by at least ``min_motion``: the class's own motion,
        camera shake removed; direction scored on the motion relative to the background),
        ``zero_object_epe`` / ``zero_moving_object_epe`` / ``zero_background_epe`` (EPE of a
        zero estimate: the motion scale),
        ``pairs_per_s`` (flow + resize, one process, one OpenCV thread), ``object_px``,
        ``object_dir_px``, ``background_px``, ``clipped_object_frac`` (object pixels whose
        estimate exceeds the bound in x or y).
    """
    import cv2
    import pandas as pd

    from mmlkit.data import synthetic

    P0 = synthetic.get_preset(preset)
    methods = default_methods() if methods is None else tuple(methods)
    rows = []
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        for R in render_sizes:
            P = dataclasses.replace(P0, height=int(R), width=int(R))
            clips = []
            for i, k in enumerate(_clip_plan(len(P.classes), n_clips)):
                frames, truth = synthetic.render_clip(k, synthetic.clip_rng(seed, "train", i), P, return_truth=True)
                if through_video:
                    frames = _roundtrip_video(frames, P.fps, P.crf)
                gt, mo, mb = synthetic.ground_truth_flow(truth)
                gt_o, mo = to_network_size(gt, size, mo)
                gt_b, mb = to_network_size(gt, size, mb)
                cam = np.broadcast_to(_camera_flow(truth, size), gt_o.shape)
                mm = mo & (np.linalg.norm(gt_o - cam, axis=-1) >= min_motion)
                clips.append((frames, gt_o, mo, gt_b, mb, cam, mm))
            gt_o, mo, gt_b, mb, cam, mm = (np.concatenate([c[j] for c in clips]) for j in range(1, 7))
            zero = {key: flow_errors(np.zeros_like(g), g, m, min_motion)["epe"]
                    for key, g, m in (("object", gt_o, mo), ("moving", gt_o, mm), ("background", gt_b, mb))}
            for label in methods:
                method, dis_preset = METHOD_SPECS[label]
                flow = lambda f: to_network_size(compute_flow(f, method, dis_preset), size)  # noqa: E731
                est = np.concatenate([flow(c[0]) for c in clips])
                rate = _rate(flow, [c[0] for c in clips])
                for bound in (None,) + tuple(bounds):
                    e = est if bound is None else dequantize_flow(quantize_flow(est, bound), bound)
                    eo = flow_errors(e, gt_o, mo, min_motion)
                    eb = flow_errors(e, gt_b, mb, min_motion)
                    em = flow_errors(e - cam, gt_o - cam, mm, min_motion)
                    clipped = float((np.abs(est[mo]) > bound).any(-1).mean()) if bound is not None else 0.0
                    rows.append(dict(method=label, render_size=int(R), bound=bound, object_epe=eo["epe"],
                                     object_dir_acc=eo["dir_acc"], background_epe=eb["epe"],
                                     moving_object_epe=em["epe"], moving_object_dir_acc=em["dir_acc"],
                                     pairs_per_s=rate, zero_object_epe=zero["object"],
                                     zero_moving_object_epe=zero["moving"], zero_background_epe=zero["background"],
                                     object_px=eo["n"], object_dir_px=eo["n_dir"], moving_object_px=em["n"],
                                     background_px=eb["n"], clipped_object_frac=clipped))
    finally:
        cv2.setNumThreads(threads)
    return pd.DataFrame(rows)


def motion_quantiles(preset="default", render_size: int = 32, n_clips: int = 58, seed: int = 0, size: int = 32,
                     q: tuple[float, ...] = (0.5, 0.9, 0.99, 0.999, 1.0)) -> dict:
    """Quantiles of the true per-axis motion ``max(|dx|, |dy|)`` at the network size (pixels).

    Over the object pixels and over the background pixels of ``n_clips`` clips rendered at
    ``render_size``; what a quantisation bound must cover. Returns ``{"object": {q: px},
    "background": {q: px}}``.
    """
    from mmlkit.data import synthetic

    P = dataclasses.replace(synthetic.get_preset(preset), height=int(render_size), width=int(render_size))
    obj, bg = [], []
    for i, k in enumerate(_clip_plan(len(P.classes), n_clips)):
        _, truth = synthetic.render_clip(k, synthetic.clip_rng(seed, "train", i), P, return_truth=True)
        gt, mo, mb = synthetic.ground_truth_flow(truth)
        g, mo = to_network_size(gt, size, mo)
        _, mb = to_network_size(gt, size, mb)
        a = np.abs(g).max(-1)
        obj.append(a[mo])
        bg.append(a[mb])
    obj, bg = np.concatenate(obj), np.concatenate(bg)
    return {"object": {x: float(np.quantile(obj, x)) for x in q},
            "background": {x: float(np.quantile(bg, x)) for x in q}}


def video_truth(root, video_id: str, size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The ground-truth flow of one video of a generated benchmark, at the packed size.

    The clip is re-rendered from the benchmark's ``synthetic.json`` (preset, seed) and its plan
    (split, index, class of ``video_id``); the frames are identical to the video's before encoding.

    Args:
        root: a data root written by :func:`mmlkit.data.synthetic.generate`.
        video_id: the video's id (its file stem).
        size: output side (default: the preset's ``pack_size``, else its frame size).

    Returns:
        (flow float32 (N-1, size, size, 2) in pixels of ``size``, mask bool (N-1, size, size) of
        the main object's pixels), the conventions of :func:`to_network_size`.

    Raises:
        DataError: the root is not a generated benchmark, or has no video ``video_id``.
    """
    import json
    from pathlib import Path

    from mmlkit.data import synthetic
    from mmlkit.errors import DataError

    meta_path = Path(root) / "synthetic.json"
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError) as exc:
        raise DataError(f"{meta_path}: not a generated benchmark ({exc})") from exc
    fields = {f.name for f in dataclasses.fields(synthetic.SynthPreset)}
    preset = synthetic.SynthPreset(**{k: tuple(v) if isinstance(v, list) else v
                                      for k, v in meta["preset"].items() if k in fields})
    found = [(split, index, cls) for split, index, cls, vid in synthetic._plan(preset, meta["seed"]) if vid == video_id]
    if not found:
        raise DataError(f"{meta_path}: no video with id {video_id!r} in this benchmark")
    split, index, cls = found[0]
    _, truth = synthetic.render_clip(cls, synthetic.clip_rng(meta["seed"], split, index), preset, return_truth=True)
    gt, mask, _ = synthetic.ground_truth_flow(truth)
    size = size or preset.pack_size or preset.height
    return to_network_size(gt, size, mask)
