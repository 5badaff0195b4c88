"""The inference-cost benchmark measures mmlkit's real test-time pipeline (checked against an
independent re-derivation of the centre view's frames, flow and normalisation)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from benchmarks import bench_inference as bi
from mmlkit.data.synthetic import encode_webm
from mmlkit.data.video import read_all_frames

CASE = bi.Case("t", "resnet_tiny", 5, 4, 32, 32, 48, 48, 5.0, videos=1, repeats=1, batch=2)


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    rng = np.random.default_rng(0)
    bg = rng.integers(0, 120, (12, 12, 3), dtype=np.uint8).repeat(4, 0).repeat(4, 1)     # (48, 48, 3)
    frames = np.repeat(bg[None], 22, axis=0)
    for i in range(22):
        frames[i, 14:26, 3 + i:15 + i] = (230, 200, 60)                                 # moves 1 px/frame
    path = tmp_path_factory.mktemp("inf") / "v.webm"
    encode_webm(frames, path)
    return path


def _expected(path, modality: str) -> torch.Tensor:
    """By hand: N frames, flow has N - 1; the shared base is drawn on N - 1 frames with windows of
    6 (method.md's test rule, centre clip: start_k = int(tick / 2 + tick * k), tick = (N - 1 - 6 + 1) / T)."""
    allf = read_all_frames(path)
    n, t = len(allf), CASE.num_segments
    tick = (n - 1 - 6 + 1) / t
    starts = [int(tick / 2 + tick * k) for k in range(t)]
    if modality == "RGB":
        x = np.stack([cv2.resize(allf[s], (32, 32), interpolation=cv2.INTER_AREA) for s in starts])
        x = (x.astype(np.float32) / 255 - np.array([0.485, 0.456, 0.406], np.float32)) / np.array(
            [0.229, 0.224, 0.225], np.float32)
        return torch.from_numpy(x.transpose(0, 3, 1, 2)[None].copy())                    # (1, T, 3, 32, 32)
    gray = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in allf]
    segs = []
    for s in starts:
        chans = []
        for j in range(5):
            f = cv2.calcOpticalFlowFarneback(gray[s + j], gray[s + j + 1], None, 0.5, 3, 15, 3, 5, 1.2, 0)
            f = cv2.resize(f, (32, 32), interpolation=cv2.INTER_AREA) * np.float32(32 / 48)
            q = np.rint((np.clip(f, -5, 5) + 5) * (255 / 10)).astype(np.uint8)
            chans += [q[..., 0], q[..., 1]]
        segs.append(np.stack(chans))
    x = (np.stack(segs).astype(np.float32) / 255 - 0.5) / 0.226
    return torch.from_numpy(x[None])                                                  # (1, T, 10, 32, 32)


def test_inputs_are_mmlkits_centre_view(video):
    pipe = bi.Pipeline(CASE, ("RGB", "Flow", "RGBDiff"), "farneback")
    got = pipe.prepare(video)
    assert torch.allclose(got["RGB"], _expected(video, "RGB"), atol=1e-5)
    # compare the quantisation levels (0..255): the two normalisations differ in the last float bit,
    # and a value on a step edge may round either way, so allow one level on a few pixels
    level = lambda x: torch.round((x * 0.226 + 0.5) * 255)  # noqa: E731
    want, have = level(_expected(video, "Flow")), level(got["Flow"])
    assert have.shape == want.shape == (1, 4, 10, 32, 32)
    assert (have - want).abs().max() <= 1 and (have == want).float().mean() > 0.99
    assert want.std() > 1  # the square moves: the flow is not constant
    assert got["RGBDiff"].shape == (1, 4, 18, 32, 32)
    assert {"decode", "flow", "preprocess"} <= set(pipe.stages)


def test_measure_system_reports_latency_throughput_memory(video):
    r = bi.measure_system(CASE, ("RGB", "Flow"), "dis", [str(video)], threads=1)
    assert len(r["latency_ms"]) == CASE.videos * CASE.repeats
    assert r["p90_ms"] >= r["median_ms"] > 0
    assert r["throughput_videos_s"] > 0 and r["peak_mib"] >= r["python_torch_mib"] > 0
    assert set(r["stages_ms"]) == {"decode", "flow", "preprocess", "net RGB", "net Flow"}


def test_ratios_divide_by_the_rgb_model_of_the_same_case():
    res = [{"case": c, "system": s, "flow": f, "median_ms": ms} for c, s, f, ms in
           [("a", "RGB", None, 2.0), ("a", "RGB+Flow", "dis", 5.0), ("b", "RGB", None, 10.0),
            ("b", "RGB+Flow+RGBDiff", "tvl1", 35.0)]]
    got = {(q["case"], q["system"]): q["ratio"] for q in bi.ratios({"results": res})}
    assert got == {("a", "RGB+Flow"): 2.5, ("b", "RGB+Flow+RGBDiff"): 3.5}
