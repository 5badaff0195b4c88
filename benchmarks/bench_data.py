"""Loader throughput: clips/s of 8-segment clips through ``make_loader`` with 1 worker, and in the
training process (``workers=0``, the default profile's path) for the packed arrays.

Three frame sources on the same tiny synthetic data set (built in a temp dir):
(a) the webm videos through decord (``VideoSource``; Flow comes from the packed arrays there),
(b) TSM-style JPEG frame folders (``FrameFolderSource``), (c) the packed ``.npy`` arrays.
The data config is the ``default`` profile's (8 segments, 32x32 input, uniform
sampling, multi-scale crops); only the root and the source change. Each figure is wall-clock
clips/s over whole epochs after one warm-up batch (the target compares this one); the notes add
clips per CPU-second of the worker (``RUSAGE_CHILDREN``; in-process: of this process), which is what
one dedicated core would deliver and does not depend on how busy the machine is. The target
applies to the in-process rows: with one worker, every batch also crosses a process boundary
(an RGBDiff batch is 19 MB of float32), which the default profile never pays.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from pathlib import Path

#: What the packed loader must deliver: twice the ~400 clips/s the default training step takes.
PACKED_TARGET = 800.0


def _fixture(tmp: Path, quick: bool) -> Path:
    from mmlkit.data import flow, synthetic

    base = synthetic.get_preset("smoke")
    preset = dataclasses.replace(base, name="bench", classes=base.classes[: 4 if quick else 12],
                                 train_per_class=1 if quick else 2, val_per_class=0, test_per_class=0,
                                 test_clips=None)
    root = synthetic.generate(tmp / "data", preset=preset, seed=0, workers=1, montage=False, pack=True,
                              progress=False)
    rep = flow.extract_dataset(root, jpeg=True, pack_rgb=False, workers=1, progress=False)
    if rep["failed"]:
        raise RuntimeError(f"flow extraction failed: {rep['failed'][:3]}")
    return Path(root)


def _throughput(root: Path, kind: str, modalities: tuple[str, ...], clips: int,
                batch: int, workers: int = 1) -> tuple[float, float, int]:
    """(wall clips/s after the warm-up batch, clips per CPU-second of the loader, clips timed)."""
    import resource

    from mmlkit.config import profile
    from mmlkit.data import sthv2, video
    from mmlkit.data.dataset import ClipDataset, make_loader

    data_cfg = dataclasses.replace(profile("default").data, dataset=str(root), source=kind, root=None)
    records = sthv2.load_split(root, "train")
    reps = max(1, -(-clips // len(records)))
    ds = ClipDataset(records * reps, video.make_source(root, kind), modalities, data_cfg, train=True, seed=0)
    who = resource.RUSAGE_CHILDREN if workers else resource.RUSAGE_SELF
    child0 = resource.getrusage(who)
    it = iter(make_loader(ds, batch, shuffle=True, seed=0, epoch=0, workers=workers, drop_last=False))
    total = len(next(it)["id"])                                # warm-up: worker start, first reads
    n, t0 = 0, time.perf_counter()
    for b in it:
        n += len(b["id"])
    dt = time.perf_counter() - t0
    del it                                                     # exhausted: the worker was joined
    child1 = resource.getrusage(who)
    cpu = (child1.ru_utime - child0.ru_utime) + (child1.ru_stime - child0.ru_stime)
    per_cpu = (total + n) / cpu if cpu > 0 else float("nan")
    return (n / dt if dt > 0 else float("nan")), per_cpu, n


def rows(quick: bool) -> list[dict]:
    out: list[dict] = []
    try:
        from mmlkit.data import flow, synthetic  # noqa: F401
    except ImportError as exc:
        return [{"group": "data", "name": f"loader {k}", "value": float("nan"), "unit": "clips/s",
                 "ok": None, "notes": f"unavailable: {exc}"} for k in ("video", "frames", "packed")]
    batch = 16 if quick else 32
    # clips per row: enough for a stable figure, few enough for the slow sources
    budget = {"video": 32, "frames": 32, "packed": 64} if quick else {"video": 128, "frames": 256, "packed": 768}
    with tempfile.TemporaryDirectory(prefix="mmlkit-bench-data-") as tmp:
        t0 = time.perf_counter()
        root = _fixture(Path(tmp), quick)
        build_s = time.perf_counter() - t0
        plan = [("video", "webm via decord", 1), ("frames", "JPEG frame folders", 1), ("packed", "packed .npy", 1),
                ("packed", "packed .npy", 0)]
        mods = [("RGB",), ("Flow",), ("RGBDiff",)] + ([] if quick else [("RGB", "Flow")])
        for kind, label, workers in plan:
            for m in mods:
                if quick and kind != "packed" and m != ("RGB",):
                    continue                                   # quick: RGB only for the slow sources
                name = f"loader {kind} {'+'.join(m)}" + ("" if workers else " (in-process)")
                try:
                    rate, per_cpu, n = _throughput(root, kind, m, budget[kind], batch, workers)
                except Exception as exc:                       # a missing source is a row, not a crash
                    out.append({"group": "data", "name": name, "value": float("nan"), "unit": "clips/s",
                                "ok": None, "notes": f"unavailable: {type(exc).__name__}: {exc}"[:160]})
                    continue
                packed = kind == "packed" and workers == 0
                out.append({
                    "group": "data", "name": name, "value": rate, "unit": "clips/s",
                    "target": f">= 2x train step clips/s ({PACKED_TARGET:.0f})" if packed else "",
                    "ok": (rate >= PACKED_TARGET) if packed else None,
                    "notes": f"{label}; {f'{workers} worker' if workers else 'in the training process'}, "
                             f"batch {batch}, {n} clips, 8 segments 32x32; {per_cpu:.0f} clips per loader CPU-s"
                             + (f"; fixture built in {build_s:.1f}s" if (kind, m) == ("video", ("RGB",)) else ""),
                })
    return out


if __name__ == "__main__":
    for r in rows(quick=True):
        print(r)
