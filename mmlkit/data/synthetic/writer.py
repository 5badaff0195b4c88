"""Writing the data set: VP9 webm videos, the SSv2 json files and ``synthetic.json`` (the
metadata: generator version, preset, seed, counts, frame counts, test labels, progress flags),
resumably (:func:`generate`), and finding a finished one (:func:`is_complete`,
:func:`ensure_synthetic`, :func:`default_root`)."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing as mp
import os
import time
from pathlib import Path

import numpy as np

from mmlkit.data.paths import remove_stale_tmp
from mmlkit.data.synthetic.images import IMAGE_CLASSES
from mmlkit.data.synthetic.montage import write_montage
from mmlkit.data.synthetic.plan import _clip_length, _plan, labels_json, split_records
from mmlkit.data.synthetic.presets import (ADDITIVE_FIELDS, GENERATOR_VERSION, SPLITS, SynthPreset, clip_rng,
                                           get_preset, identity)
from mmlkit.data.synthetic.render import render_clip
from mmlkit.errors import DataError
from mmlkit.fileio import atomic_path, write_json
from mmlkit.parallel import imap_progress
from mmlkit.progress import summary
from mmlkit.runlock import LOCK_NAME, run_lock

_WEBM_MAGIC = b"\x1a\x45\xdf\xa3"  # EBML header


def default_root(preset: str, seed: int) -> Path:
    """``$MMLKIT_CACHE`` (else ``~/.cache/mmlkit``) ``/ synthetic-<preset>-<seed>-v<GENERATOR_VERSION>``
    (a new generator version writes a new folder instead of refusing the old one)."""
    base = os.environ.get("MMLKIT_CACHE") or Path.home() / ".cache" / "mmlkit"
    return Path(base) / f"synthetic-{preset}-{seed}-v{GENERATOR_VERSION}"


def encode_webm(frames: np.ndarray, path: str | Path, fps: int = 12, crf: int = 6) -> None:
    """Write uint8 (N, H, W, 3) RGB frames as VP9 (yuv420p) webm, atomically (:func:`mmlkit.fileio.atomic_path`).

    H and W must be even (yuv420p). Deterministic: the same frames give the same bytes."""
    import av

    n, h, w, _ = frames.shape
    with atomic_path(path) as tmp:
        # bitexact: no muxing date / random ids, so the same frames give the same bytes
        with av.open(str(tmp), "w", format="webm", container_options={"fflags": "+bitexact"}) as box:
            st = box.add_stream("libvpx-vp9", rate=fps)
            st.width, st.height, st.pix_fmt = w, h, "yuv420p"
            st.thread_count = 1
            st.options = {"crf": str(crf), "b": "0", "deadline": "realtime", "cpu-used": "8"}
            for f in frames:
                box.mux(st.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")))
            box.mux(st.encode())


def _valid_video(path: Path) -> bool:
    """A finished video: written atomically, so present + webm header is enough."""
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == _WEBM_MAGIC
    except OSError:
        return False


def _write_clip(task: tuple) -> tuple[str, int]:
    """Worker: (root, preset, seed, split, index, class, id) -> (id, frames)."""
    root, P, seed, split, index, cls, vid = task
    frames = render_clip(cls, clip_rng(seed, split, index), P)
    encode_webm(frames, Path(root) / "videos" / f"{vid}.webm", P.fps, P.crf)
    return vid, len(frames)


def _dump(path: Path, obj) -> None:
    write_json(path, obj, indent=1)


def _read_meta(root: Path) -> dict | None:
    p = root / "synthetic.json"
    if not p.is_file():
        return None
    try:
        return json.loads(p.read_text())
    except (OSError, ValueError) as exc:
        raise DataError(f"{p}: unreadable ({exc}); delete the folder {root} to regenerate it") from exc


def _check_meta(root: Path, meta: dict | None, P: SynthPreset, seed: int) -> None:
    """Refuse to write into a folder that holds something else."""
    if meta is None:
        if root.is_dir() and any(p.name != LOCK_NAME for p in root.iterdir()):
            raise DataError(f"{root} is not empty and has no synthetic.json: not a synthetic data set; "
                            "choose an empty or new folder")
        return
    want = dict(version=GENERATOR_VERSION, preset=identity(P), seed=int(seed))
    have = {key: meta.get(key) for key in want}
    have["preset"] = {k: v for k, v in (have["preset"] or {}).items() if k not in ADDITIVE_FIELDS} or None
    if json.loads(json.dumps(want)) != have:
        diff = {key: (have[key], want[key]) for key in want if json.loads(json.dumps(want[key])) != have[key]}
        if "preset" in diff:  # keep the message short: name the preset
            diff["preset"] = ((have["preset"] or {}).get("name"), P.name)
        raise DataError(f"{root / 'synthetic.json'}: the folder holds another synthetic data set "
                        f"(field: (found, asked)) {diff}; use another root or delete this folder")


def _metadata(P: SynthPreset, seed: int, plan: list, records: dict[str, list[dict]]) -> dict:
    """``synthetic.json`` before any video is written (``complete`` and ``packed`` False)."""
    return dict(generator="mmlkit.data.synthetic", version=GENERATOR_VERSION, preset=dataclasses.asdict(P),
                seed=int(seed), classes=list(P.classes), image_classes=list(IMAGE_CLASSES),
                counts={s: len(r) for s, r in records.items()}, complete=False, packed=False,
                num_frames={}, test_labels={vid: cls for s, _, cls, vid in plan if s == "test"})


def _start_method() -> mp.context.BaseContext:
    """The workers' start method: fork where available, else spawn.

    No reason for fork is documented (it dates from the first generator); it is kept because it
    is fast: a forked worker starts at once with mmlkit and numpy imported, where spawn and
    forkserver import them again in every worker. The workers only render (numpy) and encode
    (PyAV). Unlike :func:`mmlkit.parallel.safe_context` (forkserver) this trusts the parent:
    forking a process that already ran OpenCV, decord or torch threads can deadlock a child.
    """
    return mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")


def generate(out_dir: str | Path, preset: str | SynthPreset = "default", seed: int = 0, workers: int = 2,
             montage: bool = True, pack: bool = True, progress: bool = True) -> Path:
    """Write the synthetic benchmark in the SSv2 layout under ``out_dir``; return its path.

    Idempotent and resumable: videos already there are kept (writes are atomic, so a present
    file is complete), only missing ones are rendered; ``synthetic.json`` says ``complete``
    once every video exists, and ``packed`` once the pack step ran.

    Args:
        out_dir: data root (created).
        preset: ``smoke`` | ``default`` | ``large`` or a :class:`SynthPreset`.
        seed: seed of the data (not of training).
        workers: processes rendering and encoding (``<= 1``: in this process).
        montage: write ``montage.png`` (one row per class).
        pack: then run ``mmlkit.data.flow.extract_dataset(root, pack_rgb=True)`` with the
            preset's ``flow_method``, ``flow_dis_preset``, ``flow_bound`` and ``pack_size``.
        progress: a bar, or one summary line (:mod:`mmlkit.progress`).

    Raises:
        DataError: ``out_dir`` holds another data set (other preset/seed/version, or not synthetic).
    """
    P = get_preset(preset)
    root = Path(out_dir)
    meta = _read_meta(root)
    _check_meta(root, meta, P, seed)
    (root / "videos").mkdir(parents=True, exist_ok=True)
    remove_stale_tmp(root / "videos")  # a live generator's temporaries are kept
    plan = _plan(P, seed)
    records = split_records(P, seed, plan)
    meta = _metadata(P, seed, plan, records)
    _dump(root / "synthetic.json", meta)
    _dump(root / "labels.json", labels_json(P))
    for split in SPLITS:
        _dump(root / f"something-something-v2-{split}.json", records[split])

    todo = []
    for split, index, cls, vid in plan:
        if _valid_video(root / "videos" / f"{vid}.webm"):
            meta["num_frames"][vid] = _clip_length(P, seed, split, index)
        else:
            todo.append((str(root), P, int(seed), split, index, cls, vid))
    t0 = time.perf_counter()
    for vid, n in imap_progress(_write_clip, todo, workers, desc=f"synthetic {P.name}", unit="clip",
                                progress=progress, context=_start_method()):
        meta["num_frames"][vid] = n
    summary(f"synthetic {P.name} (seed {seed}): wrote {len(todo)} of {len(plan)} clips in "
            f"{time.perf_counter() - t0:.0f} s to {root}", progress and bool(todo))
    meta["num_frames"] = {vid: meta["num_frames"][vid] for _, _, _, vid in plan}
    meta["complete"] = True
    _dump(root / "synthetic.json", meta)
    if montage and not (root / "montage.png").is_file():
        write_montage(root / "montage.png", P, seed)
    if pack:
        from mmlkit.data.flow import extract_dataset  # lazy: flow imports OpenCV

        report = extract_dataset(root, method=P.flow_method, workers=workers, pack_rgb=True, progress=progress,
                                 dis_preset=P.flow_dis_preset, bound=P.flow_bound, pack_size=P.pack_size)
        if report["failed"]:
            raise DataError(f"{root}: packing failed for {len(report['failed'])} videos, e.g. {report['failed'][0]}")
        meta["packed"] = True
        _dump(root / "synthetic.json", meta)
    return root


def is_complete(root: str | Path, preset: str | SynthPreset, seed: int, pack: bool = True) -> bool:
    """Whether ``root`` holds a finished data set of this preset/seed (packed too when ``pack``).

    Raises:
        DataError: the folder holds another data set.
    """
    root, P = Path(root), get_preset(preset)
    meta = _read_meta(root)
    _check_meta(root, meta, P, seed)
    heldout = P.heldout_per_class * len(P.classes)  # a folder made before the split is completed
    return bool(meta and meta.get("complete") and (meta.get("packed") or not pack)
                and (meta.get("counts") or {}).get("heldout", 0) == heldout)


def ensure_synthetic(root: str | Path | None, preset: str = "default", seed: int = 0, workers: int = 2,
                     pack: bool = True) -> Path:
    """``root`` (``None``: :func:`default_root`) holding a complete data set; generated if missing.

    One process generates a folder at a time (:func:`mmlkit.runlock.run_lock` on ``root``): a
    second one asking for it meanwhile says so on one line, waits, then finds it complete.

    Raises:
        DataError: ``root`` holds a different preset/seed (or something that is not synthetic).
    """
    root = Path(root) if root is not None else default_root(get_preset(preset).name, seed)
    if is_complete(root, preset, seed, pack):
        return root
    # one generator per folder: a notebook and ./run_all.sh starting on a fresh machine would
    # otherwise both render and pack it, each at half speed; the second waits, then finds it made
    with run_lock(root, what=f"generated (synthetic {get_preset(preset).name}, seed {seed})"):
        if is_complete(root, preset, seed, pack):
            return root
        return generate(root, preset, seed, workers=workers, montage=True, pack=pack)
