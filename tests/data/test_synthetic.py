"""The embedded benchmark: SSv2 layout, class design, determinism, decoding, resumability."""

from __future__ import annotations

import dataclasses
import json
import re

import numpy as np
import pytest

from mmlkit.data import synthetic as S
from mmlkit.errors import DataError

SPLIT_FILES = {s: f"something-something-v2-{s}.json" for s in S.SPLITS}


def strip(template: str) -> str:
    return template.replace("[", "").replace("]", "")


def swap_lr(text: str) -> str:
    return re.sub(r"\b(left|right)\b", lambda m: {"left": "right", "right": "left"}[m.group(1)], text)


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth") / "smoke"
    S.generate(root, "smoke", seed=0, workers=2, montage=True, pack=False, progress=False)
    return root


def test_presets():
    assert set(S.PRESETS) == {"smoke", "default", "large"}
    for name, p in S.PRESETS.items():
        assert p.name == name and p.fps == 12 and len(p.classes) >= 24
        assert p.height % 2 == 0 and p.width % 2 == 0  # yuv420p
        with pytest.raises(dataclasses.FrozenInstanceError):
            p.height = 1  # type: ignore[misc]
    assert (S.PRESETS["smoke"].height, S.PRESETS["smoke"].width) == (32, 32)
    # default: rendered at 48 px, packed (frames and flow) at the 32-px network size
    assert (S.PRESETS["default"].height, S.PRESETS["default"].width, S.PRESETS["default"].pack_size) == (48, 48, 32)
    assert S.PRESETS["default"].min_frames == 24 and S.PRESETS["default"].max_frames == 60
    with pytest.raises(DataError, match="unknown synthetic preset"):
        S.get_preset("huge")


def test_layout_and_json_are_ssv2(smoke):
    labels = json.loads((smoke / "labels.json").read_text())
    assert len(labels) == len(S.CLASSES) >= 24
    assert labels == {strip(c): str(i) for i, c in enumerate(S.CLASSES)}
    assert all("[" not in k and isinstance(v, str) for k, v in labels.items())
    ids = []
    for split in ("train", "validation", "heldout"):
        recs = json.loads((smoke / SPLIT_FILES[split]).read_text())
        assert len(recs) == len(S.CLASSES) * S.PRESETS["smoke"].per_class(split)
        for r in recs:
            assert set(r) == {"id", "label", "template", "placeholders"}
            assert strip(r["template"]) in labels  # class = labels[template without brackets]
            assert r["template"].count("[something]") == len(r["placeholders"])
            assert all(p not in ("something", "") for p in r["placeholders"])
            assert r["label"].lower() == S._fill(r["template"], r["placeholders"]).lower()
        counts = np.bincount([int(labels[strip(r["template"])]) for r in recs], minlength=len(labels))
        assert (counts == counts[0]).all()  # balanced
        ids += [r["id"] for r in recs]
    test = json.loads((smoke / SPLIT_FILES["test"]).read_text())
    assert len(test) == S.PRESETS["smoke"].test_clips and all(set(r) == {"id"} for r in test)
    ids += [r["id"] for r in test]
    assert len(set(ids)) == len(ids) and all(i.isdigit() for i in ids)
    assert sorted(p.stem for p in (smoke / "videos").glob("*.webm")) == sorted(ids)
    assert not list((smoke / "videos").glob("*.tmp-*"))
    meta = json.loads((smoke / "synthetic.json").read_text())
    assert meta["complete"] and meta["seed"] == 0 and meta["preset"]["name"] == "smoke"
    assert meta["version"] == S.GENERATOR_VERSION and meta["classes"] == list(S.CLASSES)
    assert meta["counts"] == {"train": 58, "validation": 29, "test": 6, "heldout": 58}
    assert set(meta["num_frames"]) == set(ids) and set(meta["test_labels"]) == {r["id"] for r in test}
    assert (smoke / "montage.png").stat().st_size > 1000


def test_real_loader_reads_it(smoke):
    from mmlkit.data import sthv2
    labels = sthv2.load_labels(smoke / "labels.json")
    recs = sthv2.load_split(smoke, "train")
    assert len(recs) == 58 and all(0 <= r.label < len(labels) for r in recs)
    assert sthv2.find_video(smoke, recs[0].id).is_file()
    assert all(r.label is None for r in sthv2.load_split(smoke, "test"))
    pairs = sthv2.left_right_pairs(labels)
    assert len(pairs) >= 8  # 4 pairs, both directions


def test_left_right_pairs_by_swapping_words():
    names = [strip(c) for c in S.CLASSES]
    pairs = {(a, names.index(swap_lr(a))) for a in names if swap_lr(a) != a and swap_lr(a) in names}
    assert len(pairs) >= 8
    assert swap_lr(names[0]) == names[1] == "Moving something from right to left"
    assert {tuple(sorted((names.index(a), b))) for a, b in pairs} == set(S.LEFT_RIGHT_PAIRS)  # from templates too
    for a, b in S.TIME_REVERSED_PAIRS:
        assert a != b
    assert len(S.STATE_CHANGE_CLASSES) >= 4


def test_render_clip_deterministic_and_shaped():
    p = S.PRESETS["smoke"]
    for k in (0, 12, 23, 28):
        a = S.render_clip(k, S.clip_rng(3, "train", 5), p)
        b = S.render_clip(k, S.clip_rng(3, "train", 5), "smoke")
        c = S.render_clip(k, S.clip_rng(4, "train", 5), p)
        assert a.dtype == np.uint8 and a.shape[1:] == (32, 32, 3)
        assert p.min_frames <= len(a) <= p.max_frames
        np.testing.assert_array_equal(a, b)
        assert a.shape != c.shape or not np.array_equal(a, c)
    assert not np.array_equal(S.render_clip(0, S.clip_rng(0, "train", 0), p)[:20],
                              S.render_clip(0, S.clip_rng(0, "validation", 0), p)[:20])
    with pytest.raises(DataError):
        S.render_clip(len(p.classes), S.clip_rng(0, "train", 0), p)


def test_every_class_moves_something():
    p = S.PRESETS["smoke"]
    for k in range(len(p.classes)):
        clip = S.render_clip(k, S.clip_rng(1, "train", k), p).astype(np.float32)
        assert np.abs(clip[-1] - clip[0]).mean() > 2.0 or k == 24, S.CLASSES[k]  # 24: holding


def test_first_frame_does_not_tell_the_class():
    """Appearance is drawn independently of the class: the object's colour at frame 0 (and the
    frame's mean colour) do not predict the class beyond chance among classes that start alike."""
    p = S.PRESETS["smoke"]
    classes = [0, 1, 6, 7, 20, 21, 24]
    feats, ys = [], []
    for k in classes:
        for i in range(16):
            clip = S.render_clip(k, S.clip_rng(7, "train", 1000 * k + i), p)
            f0 = clip[0].reshape(-1, 3).astype(np.float32)
            luma = f0 @ np.array([0.299, 0.587, 0.114], np.float32)
            obj = f0[luma > np.percentile(luma, 90)].mean(0)  # the brightest pixels: the object
            feats.append(np.concatenate([f0.mean(0), obj]))
            ys.append(k)
    x, y = np.asarray(feats), np.asarray(ys)
    # leave-one-out nearest centroid
    correct = 0
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        cents = np.stack([x[keep & (y == k)].mean(0) for k in classes])
        correct += classes[int(np.argmin(((cents - x[i]) ** 2).sum(1)))] == y[i]
    acc = correct / len(y)
    print(f"first-frame nearest-centroid accuracy {acc:.3f} (chance {1 / len(classes):.3f})")
    assert acc < 2.0 / len(classes), acc  # chance is 1/7


def test_object_is_brighter_than_background():
    p = S.PRESETS["default"]
    for i in range(10):
        look = S._draw_look(np.random.default_rng(i), (0.55, 0.95))
        assert min(look["lumas"]) >= 0.55
        bg = S._background(np.random.default_rng(i), 40, 40)
        assert (bg @ np.array([0.299, 0.587, 0.114])).max() <= 0.41
    lo, hi = p.radius
    assert lo * 32 >= 3.9 and hi * 32 <= 9.1


def test_webm_decodes_at_12_fps(smoke):
    av = pytest.importorskip("av")
    meta = json.loads((smoke / "synthetic.json").read_text())
    rec = json.loads((smoke / SPLIT_FILES["train"]).read_text())[0]
    path = smoke / "videos" / f"{rec['id']}.webm"
    with av.open(str(path)) as box:
        st = box.streams.video[0]
        assert st.codec_context.name in ("vp9", "libvpx-vp9") and float(st.average_rate) == 12.0
        frames = np.stack([f.to_ndarray(format="rgb24") for f in box.decode(video=0)])
    assert frames.shape == (meta["num_frames"][rec["id"]], 32, 32, 3)
    # same frames as the renderer (up to VP9/yuv420p loss), so the luma error is small
    plan = [t for t in S._plan(S.PRESETS["smoke"], 0) if t[3] == rec["id"]][0]
    ref = S.render_clip(plan[2], S.clip_rng(0, plan[0], plan[1]), "smoke").astype(np.float32)
    w = np.array([0.299, 0.587, 0.114], np.float32)
    assert np.abs((frames.astype(np.float32) - ref) @ w).mean() < 4.0
    try:
        import decord
    except ImportError:
        return
    vr = decord.VideoReader(str(path))
    assert len(vr) == len(frames) and vr[0].shape == (32, 32, 3)


def test_resume_rewrites_only_missing(smoke):
    videos = sorted((smoke / "videos").glob("*.webm"))
    victim = videos[3]
    before = {p.name: p.stat().st_mtime_ns for p in videos}
    old = victim.read_bytes()
    victim.unlink()
    (smoke / "videos" / "123.webm.tmp-999999").write_bytes(b"partial")  # a killed run's leftover
    S.generate(smoke, "smoke", seed=0, workers=1, montage=True, pack=False, progress=False)
    after = {p.name: p.stat().st_mtime_ns for p in (smoke / "videos").glob("*.webm")}
    assert set(after) == set(before)
    changed = [n for n in after if after[n] != before[n]]
    assert changed == [victim.name]
    assert victim.read_bytes() == old  # deterministic encoding, too
    assert not list((smoke / "videos").glob("*.tmp-*"))


def test_ensure_synthetic(smoke, tmp_path, monkeypatch):
    assert S.ensure_synthetic(smoke, "smoke", 0, pack=False) == smoke  # complete: nothing to do
    with pytest.raises(DataError, match="another synthetic data set"):
        S.ensure_synthetic(smoke, "smoke", 1, pack=False)
    with pytest.raises(DataError, match="another synthetic data set"):
        S.ensure_synthetic(smoke, "default", 0, pack=False)
    other = tmp_path / "other"
    other.mkdir()
    (other / "labels.json").write_text("{}")
    with pytest.raises(DataError, match="not a synthetic data set"):
        S.ensure_synthetic(other, "smoke", 0, pack=False)
    monkeypatch.setenv("MMLKIT_CACHE", str(tmp_path / "cache"))
    assert S.default_root("default", 3) == tmp_path / "cache" / f"synthetic-default-3-v{S.GENERATOR_VERSION}"


def test_one_process_generates_a_folder_the_other_waits_and_reads_it(tmp_path):
    """Two processes asking for the same new folder (a notebook and ./run_all.sh on a fresh
    machine): the second says on one line who is generating it, waits, and renders nothing."""
    import select
    import subprocess
    import sys
    import time

    from mmlkit.runlock import run_lock

    root = tmp_path / "smoke"
    code = ("from mmlkit.data.synthetic import ensure_synthetic; "
            f"ensure_synthetic({str(root)!r}, 'smoke', 0, workers=1, pack=False)")
    with run_lock(root, what="generated (the test's)", by="the test"):
        proc = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True)
        said, deadline = "", time.monotonic() + 120
        while "waiting" not in said and time.monotonic() < deadline and proc.poll() is None:
            if select.select([proc.stderr], [], [], 1.0)[0]:
                said += proc.stderr.readline()
        assert "smoke: being generated (the test's) by the test (pid" in said and "waiting for it to finish" in said, said
        S.generate(root, "smoke", seed=0, workers=1, montage=True, pack=False, progress=False)
    _, rest = proc.communicate(timeout=120)
    assert proc.returncode == 0, said + rest
    assert "wrote" not in said + rest                         # the waiter rendered nothing
    assert S.is_complete(root, "smoke", 0, pack=False)
    assert S.ensure_synthetic(root, "smoke", 0, pack=False) == root  # the lock file is no stranger


def test_render_images():
    x, y = S.render_images(64, np.random.default_rng(0), "smoke")
    assert x.shape == (64, 32, 32, 3) and x.dtype == np.uint8
    assert y.dtype == np.int64 and y.shape == (64,) and 0 <= y.min() and y.max() < len(S.IMAGE_CLASSES)
    assert len(np.unique(y)) >= 6 and len(S.IMAGE_CLASSES) == 8
    x2, y2 = S.render_images(64, np.random.default_rng(0), "smoke")
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)


@pytest.mark.slow
def test_generate_with_pack(tmp_path):
    tiny = dataclasses.replace(S.PRESETS["smoke"], name="tiny", train_per_class=1, val_per_class=0, test_clips=1)
    root = S.generate(tmp_path / "d", tiny, seed=2, workers=2, montage=False, pack=True, progress=False)
    meta = json.loads((root / "synthetic.json").read_text())
    assert meta["complete"] and meta["packed"]
    for vid, n in meta["num_frames"].items():
        assert np.load(root / "packed" / "rgb" / f"{vid}.npy", mmap_mode="r").shape == (n, 32, 32, 3)
        assert np.load(root / "packed" / "flow" / f"{vid}.npy", mmap_mode="r").shape == (n - 1, 32, 32, 2)
    assert S.is_complete(root, tiny, 2, pack=True)


# ----------------------------------------------------------------------------- the held-out split
def test_heldout_split_leaves_every_other_clip_unchanged():
    from mmlkit.data.synthetic.plan import _plan

    P = S.PRESETS["smoke"]
    without = _plan(dataclasses.replace(P, heldout_per_class=0), 0)
    withit = _plan(P, 0)
    assert withit[:len(without)] == without  # same splits, indices, classes and ids
    extra = withit[len(without):]
    assert {s for s, *_ in extra} == {"heldout"} and len(extra) == P.heldout_per_class * len(P.classes)
    assert min(int(v) for *_, v in extra) > max(int(v) for *_, v in without)
    assert S.identity(P) == S.identity(dataclasses.replace(P, heldout_per_class=50))
    assert S.identity(P) != S.identity(dataclasses.replace(P, val_per_class=3))


def test_a_folder_without_heldout_is_completed_not_replaced(tmp_path):
    P = S.PRESETS["smoke"]
    old = dataclasses.replace(P, heldout_per_class=0)
    S.generate(tmp_path, old, seed=1, workers=1, montage=False, pack=False, progress=False)
    before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "videos").glob("*.webm")}
    assert S.is_complete(tmp_path, old, 1, pack=False) and not S.is_complete(tmp_path, P, 1, pack=False)
    S.generate(tmp_path, P, seed=1, workers=1, montage=False, pack=False, progress=False)
    assert S.is_complete(tmp_path, P, 1, pack=False)
    after = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "videos").glob("*.webm")}
    assert {k: after[k] for k in before} == before  # nothing re-rendered
    assert len(after) - len(before) == P.heldout_per_class * len(P.classes)
    with pytest.raises(DataError, match="another synthetic data set"):  # a real difference still refuses
        S.generate(tmp_path, dataclasses.replace(P, val_per_class=2), seed=1, workers=1, pack=False, progress=False)


def test_scoring_split_reads_heldout_where_there_is_one(smoke, tmp_path):
    import shutil

    from mmlkit.config import DataConfig
    from mmlkit.data import scoring_split

    cfg = DataConfig(dataset=str(smoke), root=str(smoke), synth_preset="smoke")
    assert [scoring_split(cfg, w) for w in ("train", "val", "heldout")] == ["train", "validation", "heldout"]
    ssv2 = tmp_path / "ssv2"  # the official layout has no held-out file: the validation set, as in the paper
    ssv2.mkdir()
    for name in ("labels.json", SPLIT_FILES["train"], SPLIT_FILES["validation"]):
        shutil.copy(smoke / name, ssv2 / name)
    assert scoring_split(DataConfig(dataset=str(ssv2), root=str(ssv2)), "heldout") == "validation"
    with pytest.raises(ValueError, match="'heldout'"):
        scoring_split(cfg, "test")


def test_scoring_split_refuses_a_synthetic_benchmark_without_its_heldout_split(smoke, tmp_path, monkeypatch):
    """The synthetic benchmark never scores the validation split under the held-out's name (a
    store scored before the split existed once filed validation scores as held-out). A folder
    whose preset asks for a held-out split is completed on first use; one whose preset asks for
    none (here: the smoke preset without it) must refuse, not fall back as real SSv2 does."""
    import dataclasses

    from mmlkit.config import DataConfig
    from mmlkit.data import scoring_split
    from mmlkit.data.synthetic import presets

    monkeypatch.setitem(presets.PRESETS, "smoke", dataclasses.replace(presets.PRESETS["smoke"], heldout_per_class=0))
    old = tmp_path / "synthetic-without-heldout"
    S.generate(old, "smoke", seed=0, workers=1, montage=False, pack=True, progress=False)
    (old / "something-something-v2-heldout.json").unlink()  # a preset without one: an empty split, here none
    cfg = DataConfig(dataset="synthetic", root=str(old), synth_preset="smoke")
    assert scoring_split(cfg, "val") == "validation"
    with pytest.raises(DataError, match="no held-out split.*heldout_per_class"):
        scoring_split(cfg, "heldout")

