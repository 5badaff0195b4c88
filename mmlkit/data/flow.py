"""Optical-flow extraction, quantisation and storage (packed arrays, TSM-style JPEG folders).

Flow is computed on grayscale frames between consecutive frames (N frames -> N - 1 flow
frames), clipped at +-bound pixels and quantised linearly to uint8 (TSN/denseflow convention):
``q = round((clip(v, -b, b) + b) * 255 / (2 b))``, so 128 is about zero displacement.

Outputs of :func:`extract_dataset` under the dataset root::

    packed/flow/<id>.npy    uint8 (N-1, H, W, 2), channel 0 = x, 1 = y
    packed/rgb/<id>.npy     uint8 (N, H, W, 3)               (pack_rgb=True)
    packed/meta.json        {"pack_size", "bound", "method", "dis_preset"}: how the arrays were made
    frames/<id>/img_00001.jpg, flow_x_00001.jpg, flow_y_00001.jpg   (jpeg=True, 1-based names)

H, W: the video's size, or ``pack_size`` when given: flow is then computed at the video's
native resolution and resized (INTER_AREA) to ``pack_size`` with the vectors scaled by
``pack_size / native`` before quantising, so its values are pixels of the packed frames (and
``bound`` is in those pixels); RGB is resized the same way.

Each output is written to a temporary name and renamed (``os.replace``), so a killed run
leaves only complete files and a rerun redoes only what is missing.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from mmlkit.config import FLOW_METHODS
from mmlkit.data.paths import child, remove_stale_tmp
from mmlkit.data.sthv2 import available_splits, find_video, split_ids
from mmlkit.data.video import read_all_frames
from mmlkit.errors import DataError, MmlkitError
from mmlkit.fileio import atomic_path, write_json
from mmlkit.parallel import imap_progress, safe_context
from mmlkit.progress import summary

METHODS: tuple[str, ...] = FLOW_METHODS
DIS_PRESETS: tuple[str, ...] = ("ultrafast", "fast", "medium")


def tvl1_available() -> bool:
    """Whether OpenCV has TV-L1 (opencv-contrib's ``cv2.optflow``)."""
    import cv2

    return hasattr(cv2, "optflow") and hasattr(cv2.optflow, "DualTVL1OpticalFlow_create")


def flow_function(method: str, dis_preset: str = "ultrafast"):
    """The flow of one frame pair: ``(prev gray uint8 (H, W), next gray) -> float32 (H, W, 2)``.

    Built once per method (DIS and TV-L1 keep an engine); :func:`compute_flow` uses it on
    consecutive frames, online inference on the pairs a model reads.

    Raises:
        ValueError: an unknown method or DIS preset. MmlkitError: ``tvl1`` without opencv-contrib.
    """
    import cv2

    if method == "dis":
        if dis_preset not in DIS_PRESETS:
            raise ValueError(f"dis_preset={dis_preset!r}; expected one of {list(DIS_PRESETS)}")
        preset = getattr(cv2, f"DISOPTICAL_FLOW_PRESET_{dis_preset.upper()}")
        engine = cv2.DISOpticalFlow_create(preset)
        return lambda a, b: engine.calc(a, b, None)
    if method == "farneback":
        return lambda a, b: cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 15, 3, 5, 1.2, 0)
    if method == "tvl1":
        if not tvl1_available():
            raise MmlkitError("method='tvl1' needs OpenCV's contrib module cv2.optflow, which is not installed; "
                              "install opencv-contrib-python-headless (instead of opencv-python-headless) "
                              "or use method='dis' or 'farneback'")
        engine = cv2.optflow.DualTVL1OpticalFlow_create()
        return lambda a, b: engine.calc(a, b, None)
    raise ValueError(f"method={method!r}; expected one of {list(METHODS)}")


def compute_flow(frames: np.ndarray, method: str = "dis", dis_preset: str = "ultrafast") -> np.ndarray:
    """Optical flow between consecutive frames.

    Args:
        frames: uint8 ``(N, H, W, 3)`` RGB (or ``(N, H, W)`` grayscale), N >= 1.
        method: ``"dis"`` (OpenCV DIS), ``"farneback"`` or ``"tvl1"`` (needs opencv-contrib).
        dis_preset: DIS preset, ``"ultrafast"`` | ``"fast"`` | ``"medium"``.

    Returns:
        float32 ``(N-1, H, W, 2)`` displacement in pixels, ``[..., 0]`` = x (right > 0),
        ``[..., 1]`` = y (down > 0); flow ``k`` maps frame ``k`` to frame ``k+1`` (0-based).
    """
    import cv2

    frames = np.asarray(frames)
    assert frames.dtype == np.uint8 and frames.ndim in (3, 4), (frames.dtype, frames.shape)
    flow_fn = flow_function(method, dis_preset)
    gray = frames if frames.ndim == 3 else np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames])
    n, h, w = gray.shape
    out = np.empty((max(n - 1, 0), h, w, 2), np.float32)
    for k in range(n - 1):
        out[k] = flow_fn(gray[k], gray[k + 1])
    return out


def quantize_flow(flow: np.ndarray, bound: float = 20.0) -> np.ndarray:
    """Clip at ``+-bound`` pixels and map linearly to uint8 0..255 (0 px -> 128).

    Args:
        flow: float displacement, any shape.
    Returns:
        uint8, same shape: ``round((clip(v, -bound, bound) + bound) * 255 / (2 * bound))``.
    """
    v = np.clip(np.asarray(flow, np.float32), -bound, bound)
    return np.rint((v + bound) * (255.0 / (2.0 * bound))).astype(np.uint8)


def resize_flow(flow: np.ndarray, height: int, width: int) -> np.ndarray:
    """Flow fields at another size, vectors in pixels of the new size.

    Args:
        flow: float (N, H, W, 2) displacement in pixels of (H, W).
        height, width: output size (pixels).

    Returns:
        float32 (N, height, width, 2): ``cv2.resize`` INTER_AREA per field, x times
        ``width / W``, y times ``height / H``; a copy when the size is unchanged.
    """
    import cv2

    flow = np.asarray(flow, np.float32)
    n, h, w, _ = flow.shape
    if (h, w) == (height, width):
        return flow.copy()
    out = np.empty((n, height, width, 2), np.float32)
    for k in range(n):
        out[k] = cv2.resize(flow[k], (width, height), interpolation=cv2.INTER_AREA)
    out[..., 0] *= np.float32(width / w)
    out[..., 1] *= np.float32(height / h)
    return out


def resize_frames(frames: np.ndarray, height: int, width: int) -> np.ndarray:
    """uint8 (N, H, W, C) frames resized with INTER_AREA -> uint8 (N, height, width, C) (no copy if same size)."""
    import cv2

    n, h, w = frames.shape[:3]
    if (h, w) == (height, width):
        return frames
    out = np.empty((n, height, width) + frames.shape[3:], frames.dtype)
    for k in range(n):
        out[k] = cv2.resize(frames[k], (width, height), interpolation=cv2.INTER_AREA).reshape(out.shape[1:])
    return out


def dequantize_flow(q: np.ndarray, bound: float = 20.0) -> np.ndarray:
    """Inverse of :func:`quantize_flow` (error at most ``bound / 255`` px inside the bound): float32."""
    return np.asarray(q, np.float32) * np.float32(2.0 * bound / 255.0) - np.float32(bound)


# ----------------------------------------------------------------------------- storage
def _save_npy(path: Path, arr: np.ndarray) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.save(f, arr)


def _write_jpegs(folder: Path, rgb: np.ndarray, qflow: np.ndarray) -> None:
    import cv2

    with atomic_path(folder) as tmp:  # the folder appears whole, replacing an older one
        tmp.mkdir()
        for i, f in enumerate(rgb, start=1):
            cv2.imwrite(str(tmp / f"img_{i:05d}.jpg"), cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
        for i, f in enumerate(qflow, start=1):
            cv2.imwrite(str(tmp / f"flow_x_{i:05d}.jpg"), np.ascontiguousarray(f[..., 0]))
            cv2.imwrite(str(tmp / f"flow_y_{i:05d}.jpg"), np.ascontiguousarray(f[..., 1]))


def output_paths(root: Path, video_id: str, jpeg: bool, pack_rgb: bool) -> dict[str, Path]:
    """The outputs :func:`extract_dataset` writes for one video (keys flow, rgb, jpeg)."""
    out = {"flow": child(root / "packed" / "flow", f"{video_id}.npy")}
    if pack_rgb:
        out["rgb"] = child(root / "packed" / "rgb", f"{video_id}.npy")
    if jpeg:
        out["jpeg"] = child(root / "frames", video_id)
    return out


def _extract_one(task: tuple) -> tuple[str, str, str, int]:
    """Worker: (root, id, method, dis_preset, bound, jpeg, pack_rgb, overwrite, pack_size)
    -> (id, status, reason, pairs)."""
    root, video_id, method, dis_preset, bound, jpeg, pack_rgb, overwrite, pack_size = task
    outs = output_paths(root, video_id, jpeg, pack_rgb)
    todo = {k: p for k, p in outs.items() if overwrite or not p.exists()}
    if not todo:
        return video_id, "skipped", "", 0
    try:
        rgb = read_all_frames(find_video(root, video_id))  # (N, H, W, 3)
        if len(rgb) < 2:
            raise DataError(f"{len(rgb)} frame(s); flow needs at least 2")
        flow = compute_flow(rgb, method, dis_preset)  # (N-1, H, W, 2), native pixels
        if pack_size is not None:
            flow = resize_flow(flow, pack_size, pack_size)
            rgb = resize_frames(rgb, pack_size, pack_size)
        qflow = quantize_flow(flow, bound)  # (N-1, H, W, 2)
        if "flow" in todo:
            _save_npy(todo["flow"], qflow)
        if "rgb" in todo:
            _save_npy(todo["rgb"], rgb)
        if "jpeg" in todo:
            _write_jpegs(todo["jpeg"], rgb, qflow)
    except MmlkitError as exc:
        return video_id, "failed", str(exc), 0
    except Exception as exc:  # report every failure with its reason, never drop a video silently
        return video_id, "failed", f"{type(exc).__name__}: {exc}", 0
    return video_id, "done", "", len(qflow)


def _worker_init() -> None:
    import cv2

    cv2.setNumThreads(1)  # one process per core; OpenCV's own threads would oversubscribe


def _remove_stale_tmp(root: Path) -> None:
    """Delete temporaries left by killed runs (their process no longer exists)."""
    remove_stale_tmp(root / "packed" / "flow", root / "packed" / "rgb", root / "frames")


def read_pack_meta(root: str | Path) -> dict | None:
    """``<root>/packed/meta.json`` (pack_size, bound, method, dis_preset), or None if absent
    (data packed before it existed: native size, bound 20)."""
    import json

    p = Path(root) / "packed" / "meta.json"
    if not p.is_file():
        return None
    try:
        return json.loads(p.read_text())
    except (OSError, ValueError) as exc:
        raise DataError(f"{p}: unreadable ({exc}); delete the folder {p.parent} and rerun the extraction") from exc


def _write_pack_meta(root: Path, meta: dict, overwrite: bool) -> None:
    have = read_pack_meta(root)
    if have is not None and have != meta and not overwrite:
        diff = {k: (have.get(k), v) for k, v in meta.items() if have.get(k) != v}
        raise DataError(f"{root / 'packed' / 'meta.json'}: the packed arrays were made with other settings "
                        f"(field: (found, asked)) {diff}; pass overwrite=True or delete {root / 'packed'}")
    write_json(root / "packed" / "meta.json", meta, indent=1)


def _check_numbers(bound: float, workers: int, pack_size: int | None) -> None:
    import math

    from mmlkit.config import ConfigError

    if not (isinstance(bound, (int, float)) and math.isfinite(bound) and bound > 0):
        raise ConfigError(f"bound={bound!r} must be a finite number of pixels > 0 (flow is clipped at +-bound)")
    if int(workers) < 1:
        raise ConfigError(f"workers={workers!r} must be >= 1")
    if pack_size is not None and int(pack_size) < 8:
        raise ConfigError(f"pack_size={pack_size!r} must be None or >= 8 pixels")


def extract_dataset(root: str | Path, method: str = "dis", workers: int = 2, jpeg: bool = False,
                    pack_rgb: bool = True, bound: float = 20.0, overwrite: bool = False,
                    splits: list[str] | tuple[str, ...] | None = None, dis_preset: str = "ultrafast",
                    progress: bool = True, pack_size: int | None = None) -> dict:
    """Compute, quantise and store optical flow (and packed RGB) for every video of the splits.

    Args:
        root: dataset root in the SSv2 layout (split JSON files and ``videos/``).
        method: ``"dis"`` | ``"farneback"`` | ``"tvl1"``.
        workers: processes (``<= 1``: in this process).
        jpeg: also write TSM-style JPEG folders ``<root>/frames/<id>/``.
        pack_rgb: also write ``<root>/packed/rgb/<id>.npy``.
        bound: clipping bound for quantisation, in pixels of the packed frames (after
            ``pack_size``).
        overwrite: recompute videos whose outputs exist.
        splits: split names; ``None``: every split JSON present.
        dis_preset: DIS preset (``ultrafast`` | ``fast`` | ``medium``).
        progress: a bar, or one summary line (:mod:`mmlkit.progress`).
        pack_size: side (pixels) of the packed square frames: flow is computed at the video's
            native size, then flow (vectors scaled by ``pack_size / native``) and RGB are resized
            to ``pack_size`` (INTER_AREA) before quantising / writing; ``None``: native size (as
            for real SSv2). Recorded with ``bound`` in ``<root>/packed/meta.json``.

    Raises:
        ConfigError: a bound, worker count or pack size out of range (before any work).
        DataError: ``packed/meta.json`` records another pack_size / bound / method than asked
            and ``overwrite`` is False (the folder would mix two encodings).

    Returns:
        ``{"done", "skipped_existing", "failed": [(id, reason)], "seconds", "frame_pairs",
        "videos", "method"}``. Failed videos are also printed to stderr.
    """

    root = Path(root)
    _check_numbers(bound=bound, workers=workers, pack_size=pack_size)
    flow_function(method, dis_preset)  # fail early on an unknown method / missing tvl1
    splits = list(splits) if splits is not None else available_splits(root)
    if not splits:
        raise DataError(f"{root}: no split files (something-something-v2-<split>.json) found")
    ids = list(dict.fromkeys(vid for s in splits for vid in split_ids(root, s)))
    for sub in ["packed/flow"] + (["packed/rgb"] if pack_rgb else []) + (["frames"] if jpeg else []):
        (root / sub).mkdir(parents=True, exist_ok=True)
    _remove_stale_tmp(root)
    _write_pack_meta(root, dict(pack_size=pack_size, bound=float(bound), method=method, dis_preset=dis_preset),
                     overwrite)
    tasks = [(root, vid, method, dis_preset, bound, jpeg, pack_rgb, overwrite, pack_size) for vid in ids]
    report = {"done": 0, "skipped_existing": 0, "failed": [], "seconds": 0.0, "frame_pairs": 0,
              "videos": len(ids), "method": method}
    t0 = time.perf_counter()
    # as results arrive (unordered) keeps both workers busy; each worker runs OpenCV on one thread
    for vid, status, reason, pairs in imap_progress(_extract_one, tasks, workers, desc=f"flow ({method})", unit="video",
                                                    progress=progress, ordered=False, initializer=_worker_init,
                                                    context=safe_context([__name__])):
        if status == "done":
            report["done"] += 1
            report["frame_pairs"] += pairs
        elif status == "skipped":
            report["skipped_existing"] += 1
        else:
            report["failed"].append((vid, reason))
    report["failed"].sort()
    report["seconds"] = time.perf_counter() - t0
    summary(f"flow ({method}): {report['done']} videos ({report['frame_pairs']} frame pairs) in "
            f"{report['seconds']:.0f} s; {report['skipped_existing']} already done, {len(report['failed'])} failed",
            progress and report["done"] + len(report["failed"]) > 0)
    if report["failed"]:
        print(f"flow: {len(report['failed'])} of {len(ids)} videos failed:", file=sys.stderr)
        for vid, reason in report["failed"]:
            print(f"  {vid}: {reason}", file=sys.stderr)
    return report
