"""Flow quality against the generator's ground truth: the truth itself, the error measures, and
packing at the network size."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")

from mmlkit.data import synthetic as S  # noqa: E402
from mmlkit.data.flow import dequantize_flow, extract_dataset, read_pack_meta  # noqa: E402
from mmlkit.data.flow_quality import flow_errors, measure, to_network_size  # noqa: E402

P32 = dataclasses.replace(S.PRESETS["default"], height=32, width=32)  # the version-1 default scene size

#: sha256[:16] of render_clip(k, clip_rng(0, "train", k), default preset at 32x32), computed with
#: the code before the ground-truth refactor (GENERATOR_VERSION 1): at S = 32 nothing may change.
HASHES_32 = {0: "52c3bdd310b5ec0f", 3: "c66e9a667ad55d3e", 4: "1d212681a5b0b527", 7: "2908c7b51bcdb4e1",
             12: "3581d6d581d335b6", 23: "8860365c7cca6bf7", 28: "3f404fd81228fc76"}


def test_frames_at_32_px_are_unchanged():
    for k, want in HASHES_32.items():
        frames = S.render_clip(k, S.clip_rng(0, "train", k), P32)
        assert hashlib.sha256(frames.tobytes()).hexdigest()[:16] == want, k


def test_truth_changes_neither_frames_nor_rng():
    for k in (2, 12, 23):
        r1, r2 = S.clip_rng(0, "train", k), S.clip_rng(0, "train", k)
        a = S.render_clip(k, r1, P32)
        b, truth = S.render_clip(k, r2, P32, return_truth=True)
        assert np.array_equal(a, b) and r1.random() == r2.random()
        n = len(a)
        for key in ("x", "y", "r", "sx", "sy", "theta", "alpha", "ox", "oy"):
            assert truth[key].shape == (n,), key
        for key in ("cover_object", "cover_extra", "cover_distractor"):
            assert truth[key].shape == (n, 32, 32) and 0 <= truth[key].min() and truth[key].max() <= 1


def _truth_square(n=6, size=32, vx=1.25, vy=-0.5, cam=(0.3, -0.2)):
    """A hand-made truth: a square translating by (vx, vy) px/frame, the camera panning by cam."""
    t = np.arange(n, dtype=np.float64)
    ox, oy = cam[0] * t, cam[1] * t
    x, y = 12.0 + vx * t, 16.0 + vy * t  # image coords
    cover = S._coverage(1, n, size, size, x, y, 5.0)[0]
    zero = np.zeros_like(cover)
    one = np.ones(n)
    return dict(x=x, y=y, r=5.0 * one, sx=one, sy=one, theta=0.0 * one, alpha=one, ox=ox, oy=oy,
                cover_object=cover, cover_extra=zero, cover_distractor=zero, height=size, width=size, class_index=0)


def test_translation_and_camera_flow_are_exact():
    truth = _truth_square()
    flow, mo, mb = S.ground_truth_flow(truth)
    assert flow.shape == (5, 32, 32, 2) and mo.shape == mb.shape == (5, 32, 32)
    assert mo.sum() > 5 * 40 and mb.sum() > 5 * 500 and not (mo & mb).any()
    np.testing.assert_allclose(flow[mo], np.broadcast_to([1.25, -0.5], (mo.sum(), 2)), atol=1e-5)
    # the view is a crop at offset m + ox: the background moves by ox[k] - ox[k+1]
    np.testing.assert_allclose(flow[mb], np.broadcast_to([-0.3, 0.2], (mb.sum(), 2)), atol=1e-5)


def test_rendered_translation_class_flow_is_its_displacement():
    frames, truth = S.render_clip(0, S.clip_rng(0, "train", 0), P32, return_truth=True)  # left -> right
    flow, mo, mb = S.ground_truth_flow(truth)
    d = np.stack([np.diff(truth["x"]), np.diff(truth["y"])], -1)[:, None, None, :]
    np.testing.assert_allclose(flow, np.where(mo[..., None], d, flow), atol=1e-4)
    cam = np.stack([-np.diff(truth["ox"]), -np.diff(truth["oy"])], -1)[:, None, None, :]
    np.testing.assert_allclose(flow, np.where(mb[..., None], cam, flow), atol=1e-4)
    assert (np.diff(truth["x"] + truth["ox"]) >= -1e-9).all()  # world x only increases


@pytest.mark.parametrize("k", [0, 8, 6, 7, 10])  # translations, rotations, scaling
def test_warping_by_truth_reproduces_the_previous_frame(k):
    frames, truth = S.render_clip(k, S.clip_rng(0, "train", k), P32, return_truth=True)
    flow, mo, _ = S.ground_truth_flow(truth)
    f = frames.astype(np.float32)
    X, Y = np.meshgrid(np.arange(32, dtype=np.float32), np.arange(32, dtype=np.float32))
    err_gt, err_zero = [], []
    for i in range(len(flow)):
        back = cv2.remap(f[i + 1], X + flow[i, ..., 0], Y + flow[i, ..., 1], cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REPLICATE)
        err_gt.append(np.abs(back - f[i]).mean(-1)[mo[i]])
        err_zero.append(np.abs(f[i + 1] - f[i]).mean(-1)[mo[i]])
    e_gt, e_zero = np.concatenate(err_gt).mean(), np.concatenate(err_zero).mean()
    assert mo.sum() > 500 and e_gt < 0.6 * e_zero, (e_gt, e_zero)


def test_flow_errors_on_hand_made_arrays():
    gt = np.array([[1.0, 0.0], [0.0, 2.0], [0.1, 0.0], [3.0, 0.0], [1.0, 1.0]])
    est = np.array([[1.0, 0.9], [0.0, 0.0], [0.0, 0.0], [0.0, 4.0], [9.0, 9.0]])
    mask = np.array([True, True, True, True, False])
    r = flow_errors(est, gt, mask, min_motion=0.25)
    assert r["n"] == 4 and r["n_dir"] == 3
    assert r["epe"] == pytest.approx((0.9 + 2.0 + 0.1 + 5.0) / 4)
    # (1, .9) vs (1, 0): 42 deg, within; zero estimate: wrong; (0, 4) vs (3, 0): 90 deg, wrong
    assert r["dir_acc"] == pytest.approx(1 / 3)
    same = flow_errors(gt, gt, np.ones(5, bool))
    assert same["epe"] == 0.0 and same["dir_acc"] == 1.0
    assert np.isnan(flow_errors(est, gt, np.zeros(5, bool))["epe"])
    with pytest.raises(ValueError):
        flow_errors(est, gt[:3], mask)


def test_network_size_scales_vectors_and_mask():
    flow = np.zeros((1, 64, 64, 2), np.float32)
    flow[..., 0], flow[..., 1] = 2.0, -1.0
    mask = np.ones((1, 64, 64), bool)
    mask[0, 0, 0] = False
    out, m = to_network_size(flow, 32, mask)
    assert out.shape == (1, 32, 32, 2) and np.allclose(out[..., 0], 1.0) and np.allclose(out[..., 1], -0.5)
    assert not m[0, 0, 0] and m.sum() == 32 * 32 - 1


def test_measure_table():
    df = measure("smoke", methods=("dis-ultrafast",), render_sizes=(32, 48), n_clips=2, bounds=(5.0,))
    assert len(df) == 4 and set(df.render_size) == {32, 48}
    for col in ("method", "object_epe", "object_dir_acc", "background_epe", "pairs_per_s", "bound"):
        assert col in df
    assert (df.object_epe < df.zero_object_epe).all() and (df.object_dir_acc > 0.5).all()


def test_packing_at_network_size_scales_flow(tmp_path, moving_square, write_video):
    (tmp_path / "videos").mkdir()
    frames = moving_square(n=10, size=64, step=2)  # 2 px/frame at 64 px
    write_video(tmp_path / "videos" / "1.webm", frames)
    (tmp_path / "something-something-v2-test.json").write_text(json.dumps([{"id": "1"}]))
    rep = extract_dataset(tmp_path, method="farneback", workers=1, bound=5.0, pack_size=32, progress=False)
    assert rep["done"] == 1 and not rep["failed"]
    q = np.load(tmp_path / "packed" / "flow" / "1.npy")
    rgb = np.load(tmp_path / "packed" / "rgb" / "1.npy")
    assert q.shape == (9, 32, 32, 2) and rgb.shape == (10, 32, 32, 3)
    flow = dequantize_flow(q, 5.0)
    # the square's interior at 32 px: rows 10..20 and columns 4 + 2i..14 + 2i at 64 px, halved
    xs = np.array([flow[i, 6:9, 3 + i:5 + i, 0].mean() for i in range(len(flow))])
    assert np.median(xs) == pytest.approx(1.0, abs=0.2), xs
    assert read_pack_meta(tmp_path) == {"pack_size": 32, "bound": 5.0, "method": "farneback",
                                        "dis_preset": "ultrafast"}
    from mmlkit.errors import DataError

    with pytest.raises(DataError, match="other settings"):
        extract_dataset(tmp_path, method="farneback", workers=1, bound=20.0, pack_size=32, progress=False)
