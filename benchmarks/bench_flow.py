"""Optical-flow extraction and RGB decoding speed (mmlkit.data.flow, mmlkit.data.video).

Rows: frame pairs/s per flow method on 32x32 moving-square frames (one process, flow +
quantisation), the projected time for the default benchmark's flow (~56k pairs on 2 workers),
an end-to-end ``extract_dataset`` run (decode + flow + write, 2 workers; full mode only),
RGB decoding frames/s from a generated VP9 webm via decord and via PyAV, and, side by side in
one run, the flow extractor's read of a default-benchmark clip (48 px) before and after 0.3
(the code before is replicated here: decord first, then PyAV converting each frame with
``to_ndarray(format="rgb24")``).
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import numpy as np

from mmlkit.data.flow import compute_flow, extract_dataset, quantize_flow, tvl1_available
from mmlkit.data.video import open_video

DEFAULT_PAIRS = 56_000  # ~1,400 clips x ~40 frames: the default synthetic benchmark
TARGET_S = 120.0
CORES = 2


def _frames(n: int, size: int = 32, seed: int = 0) -> np.ndarray:
    """uint8 (n, size, size, 3): blocky textured background, a bright square moving right."""
    rng = np.random.default_rng(seed)
    bg = rng.integers(0, 80, (size // 4, size // 4, 3), dtype=np.uint8).repeat(4, 0).repeat(4, 1)
    frames = np.repeat(bg[None], n, axis=0)
    for i in range(n):
        x = (2 + i) % (size - 10)
        frames[i, size // 3:size // 3 + 8, x:x + 8] = (230, 200, 60)
    return frames


def _write_webm(path: Path, frames: np.ndarray, fps: int = 12) -> Path:
    from mmlkit.data.synthetic import encode_webm

    encode_webm(frames, path, fps=fps)
    return path


def _timed(fn, min_s: float) -> float:
    """Seconds per call of fn (repeated until min_s has passed, at least once)."""
    n, t0 = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        dt = time.perf_counter() - t0
        if dt >= min_s:
            return dt / n


def _flow_rows(quick: bool) -> list[dict]:
    rows = []
    frames = _frames(41 if quick else 201)  # 40 / 200 pairs per call
    pairs = len(frames) - 1
    methods = ["dis", "farneback"] + (["tvl1"] if tvl1_available() else [])
    for method in methods:
        sec = _timed(lambda: quantize_flow(compute_flow(frames, method)), 0.2 if quick else 2.0)
        rate = pairs / sec
        projected = DEFAULT_PAIRS / (rate * CORES)
        is_default = method == "dis"
        rows.append({"name": f"flow {method} 32x32 (1 process)", "value": rate, "unit": "pairs/s",
                     "target": f">= {DEFAULT_PAIRS / TARGET_S / CORES:.0f}/s per core (56k pairs <= 120 s on 2 cores)",
                     "ok": (projected <= TARGET_S) if is_default else None,
                     "notes": f"projected {projected:.0f} s for {DEFAULT_PAIRS} pairs on {CORES} workers"
                              + ("" if is_default else "; not the default method")})
    if not tvl1_available():
        rows.append({"name": "flow tvl1", "value": float("nan"), "unit": "pairs/s", "ok": None,
                     "notes": "skipped: cv2.optflow (opencv-contrib) not installed"})
    return rows


def _dataset(root: Path, n_clips: int, n_frames: int) -> Path:
    (root / "videos").mkdir(parents=True)
    for i in range(n_clips):
        _write_webm(root / "videos" / f"{i}.webm", _frames(n_frames, seed=i))
    (root / "something-something-v2-test.json").write_text(json.dumps([{"id": str(i)} for i in range(n_clips)]))
    return root


def _extract_rows(tmp: Path, quick: bool) -> list[dict]:
    n_clips, n_frames = (4, 20) if quick else (60, 40)
    workers = 1 if quick else CORES
    rows = []
    if workers > 1:  # the first pool starts the forkserver (imports mmlkit.data): timed apart
        t0 = time.perf_counter()
        extract_dataset(_dataset(tmp / "warm", 2, 4), workers=workers, progress=False)
        rows.append({"name": "extract_dataset worker start (first pool)", "value": time.perf_counter() - t0,
                     "unit": "s", "notes": "forkserver start + import of mmlkit.data in the server; once per process"})
    rep = extract_dataset(_dataset(tmp / "ds", n_clips, n_frames), workers=workers, progress=False)
    rate = rep["frame_pairs"] / rep["seconds"]
    projected = DEFAULT_PAIRS / rate * (1 if workers == CORES else 1 / CORES)
    rows.append({"name": f"extract_dataset dis ({workers} worker{'s' * (workers > 1)}, end to end)", "value": rate,
                 "unit": "pairs/s", "target": f"56k pairs <= {TARGET_S:.0f} s on {CORES} cores",
                 "ok": (projected <= TARGET_S) if not quick else None,
                 "notes": f"{n_clips} clips x {n_frames} frames 32x32 webm: decode + flow + write packed rgb/flow; "
                          f"projected {projected:.0f} s{' (x1/2 for 2 cores)' if workers == 1 else ''}; "
                          f"failed {len(rep['failed'])}"})
    return rows


def _decode_rows(tmp: Path, quick: bool) -> list[dict]:
    rows = []
    clips = [("32x32", _frames(48))]
    if not quick:
        rng = np.random.default_rng(1)
        big = rng.integers(0, 255, (240 // 16, 320 // 16, 3), dtype=np.uint8).repeat(16, 0).repeat(16, 1)
        clips.append(("320x240", np.repeat(big[None], 48, axis=0)))
    for label, frames in clips:
        path = _write_webm(tmp / f"clip_{label}.webm", frames)
        for backend in ("decord", "pyav"):
            try:
                sec = _timed(lambda: open_video(path, backend).read_all(), 0.3 if quick else 1.5)
            except Exception as exc:  # decord missing or broken: report, do not fail the others
                rows.append({"name": f"decode {backend} {label} webm", "value": float("nan"), "unit": "frames/s",
                             "ok": False if backend == "pyav" else None, "notes": f"{type(exc).__name__}: {exc}"})
                continue
            rows.append({"name": f"decode {backend} {label} webm (all frames)", "value": len(frames) / sec,
                         "unit": "frames/s", "notes": f"{len(frames)}-frame VP9 clip, open + decode, 1 thread"})
        idx = np.linspace(0, len(frames) - 1, 8).astype(np.int64)
        for backend in ("decord", "pyav"):
            try:
                sec = _timed(lambda: open_video(path, backend).get(idx), 0.3 if quick else 1.5)
            except Exception:
                continue
            rows.append({"name": f"decode {backend} {label} webm (8-frame clip)", "value": 1.0 / sec,
                         "unit": "clips/s", "notes": "open + get 8 spread indices"})
    return rows


def _read_all_before(path: Path) -> np.ndarray:
    """How ``read_all_frames(path)`` read a video before 0.3: decord, then on its failure PyAV
    (open + count packets, open again + decode), a new swscale context for every frame."""
    import av

    try:
        import decord

        vr = decord.VideoReader(str(path), ctx=decord.cpu(0), num_threads=1)
        with av.open(str(path)) as c:  # the completeness probe
            c.streams.video[0].average_rate
        return vr.get_batch(list(range(len(vr)))).asnumpy()
    except Exception:  # noqa: BLE001 - decord's RuntimeError on 48-px frames, as before
        pass
    with av.open(str(path)) as c:
        sum(1 for p in c.demux(c.streams.video[0]) if p.size)
    with av.open(str(path)) as c:
        return np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)])


def _read_rows(tmp: Path, quick: bool) -> list[dict]:
    from mmlkit.data.synthetic.presets import clip_rng, get_preset
    from mmlkit.data.synthetic.render import render_clip
    from mmlkit.data.video import read_all_frames

    P = get_preset("default")
    paths = []
    for i in range(4 if quick else 16):
        frames = render_clip(i % len(P.classes), clip_rng(0, "train", i), P)
        paths.append(_write_webm(tmp / f"bench_{i}.webm", frames, fps=P.fps))
    now = [read_all_frames(p) for p in paths]
    n_frames = sum(len(frames) for frames in now)
    for p, frames in zip(paths, now):
        assert np.array_equal(_read_all_before(p), frames), p  # same pixels, or the row is void
    sec = {name: _timed(lambda fn=fn: [fn(p) for p in paths], 0.3 if quick else 2.0)
           for name, fn in (("before", _read_all_before), ("now", read_all_frames))}
    note = (f"{len(paths)} default-benchmark clips ({P.width} px, {n_frames} frames), read whole as the "
            f"flow extractor does; the same pixels both ways")
    return [{"name": f"read a benchmark clip, {k} (read_all_frames)", "value": n_frames / v, "unit": "frames/s",
             "notes": note} for k, v in sec.items()] + [
        {"name": "read a benchmark clip, now / before", "value": sec["before"] / sec["now"], "unit": "x",
         "notes": "ratio of the two rows above, measured in this run"}]


def rows(quick: bool) -> list[dict]:
    out = _flow_rows(quick)
    with tempfile.TemporaryDirectory(prefix="bench_flow_") as tmp:
        out += _decode_rows(Path(tmp), quick)
        out += _read_rows(Path(tmp), quick)
        out += _extract_rows(Path(tmp), quick)
    for r in out:
        r["group"] = "flow"
    return out
