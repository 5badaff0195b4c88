"""Transforms: multi-scale crop, test crops, crop/mirror application, normalisation layouts."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mmlkit.data import transforms as TR
from mmlkit.data.transforms import CropParams

SCALES = (1.0, 0.875, 0.75, 0.66)


def test_crop_pairs_tsm_geometry():
    # 240 x 320 frame, input 224: sizes int(240 * s) = 240, 210, 180, 158; 224 is not within 3.
    pairs = TR.crop_pairs(240, 320, 224, SCALES, 1)
    assert (240, 240) in pairs and (210, 240) in pairs and (158, 180) in pairs
    assert (158, 240) not in pairs                           # scale indices 3 apart > max_distort
    assert len(pairs) == 4 + 3 + 3
    # snapping: a size within 3 px of input_size becomes input_size
    assert (224, 224) in TR.crop_pairs(256, 256, 224, (0.875,), 0) and len(TR.crop_pairs(256, 256, 224, (0.875,), 0)) == 1


@pytest.mark.parametrize("hw", [(240, 320), (32, 32), (33, 47), (3, 5)])
def test_draw_train_crop_inside_frame(hw):
    h, w = hw
    rng = np.random.default_rng(0)
    seen_flip = set()
    for _ in range(200):
        p = TR.draw_train_crop(rng, h, w, 32, SCALES, 1, flip=True)
        assert p.w >= 1 and p.h >= 1 and p.x >= 0 and p.y >= 0
        assert p.x + p.w <= w and p.y + p.h <= h
        seen_flip.add(p.flip)
    assert seen_flip == {True, False}
    assert not any(TR.draw_train_crop(rng, h, w, 32, SCALES, 1, flip=False).flip for _ in range(20))


def test_draw_train_crop_offsets_are_fixed_positions():
    rng = np.random.default_rng(1)
    for _ in range(100):
        p = TR.draw_train_crop(rng, 240, 320, 224, SCALES, 1, False)
        assert (p.x, p.y) in TR._fix_offsets(320, 240, p.w, p.h)
    assert len(TR._fix_offsets(320, 240, 180, 180)) == 13


def test_draw_is_deterministic_per_rng():
    a = [TR.draw_train_crop(np.random.default_rng(7), 64, 80, 32, SCALES, 1, True) for _ in range(2)]
    assert a[0] == a[1]


def test_apply_crop_resizes_and_skips_identity():
    frames = np.random.default_rng(0).integers(0, 256, (6, 40, 50, 3), dtype=np.uint8)
    out = TR.apply_crop(frames, CropParams(5, 3, 32, 32), 32, "RGB")
    assert out.shape == (6, 32, 32, 3) and out.dtype == np.uint8 and out.flags.c_contiguous
    assert np.array_equal(out, frames[:, 3:35, 5:37])
    big = TR.apply_crop(frames, CropParams(0, 0, 40, 40), 20, "RGB")
    assert big.shape == (6, 20, 20, 3)
    import cv2
    for i in range(6):                # the stacked resize == per-frame resize (up to fixed-point rounding)
        ref = cv2.resize(frames[i, :40, :40], (20, 20), interpolation=cv2.INTER_LINEAR)
        assert np.abs(big[i].astype(int) - ref).max() <= 1
    with pytest.raises(ValueError, match="does not fit"):
        TR.apply_crop(frames, CropParams(30, 0, 32, 32), 32, "RGB")


def test_apply_crop_many_frames_over_cv2_channel_limit():
    frames = np.random.default_rng(0).integers(0, 256, (200, 20, 20, 3), dtype=np.uint8)   # 600 channels
    out = TR.apply_crop(frames, CropParams(0, 0, 20, 20), 10, "RGB")
    import cv2
    ref = cv2.resize(frames[199], (10, 10), interpolation=cv2.INTER_LINEAR)
    assert np.abs(out[199].astype(int) - ref).max() <= 1


def test_flip_mirrors_and_inverts_flow_x():
    rgb = np.random.default_rng(0).integers(0, 256, (2, 8, 8, 3), dtype=np.uint8)
    out = TR.apply_crop(rgb, CropParams(0, 0, 8, 8, True), 8, "RGB")
    assert np.array_equal(out, rgb[:, :, ::-1])
    flow = np.random.default_rng(1).integers(0, 256, (2, 8, 8, 2), dtype=np.uint8)
    out = TR.apply_crop(flow, CropParams(0, 0, 8, 8, True), 8, "Flow")
    assert np.array_equal(out[..., 0], 255 - flow[:, :, ::-1, 0])
    assert np.array_equal(out[..., 1], flow[:, :, ::-1, 1])
    rd = TR.apply_crop(rgb, CropParams(0, 0, 8, 8, True), 8, "RGBDiff")
    assert np.array_equal(rd, rgb[:, :, ::-1])


def test_flip_label():
    pairs = {86: 87, 87: 86}
    assert TR.flip_label(86, CropParams(0, 0, 1, 1, True), pairs) == 87
    assert TR.flip_label(86, CropParams(0, 0, 1, 1, False), pairs) == 86
    assert TR.flip_label(5, CropParams(0, 0, 1, 1, True), pairs) == 5
    assert TR.flip_label(86, CropParams(0, 0, 1, 1, True), None) == 86


def test_test_crops_counts_and_positions():
    # 240 x 320 frame, scale 256, input 224: f = 240 / 256; crop side round(224 * f) = 210.
    one = TR.test_crops(240, 320, 224, 256, 1, False)
    assert one == [CropParams(55, 15, 210, 210, False)]
    three = TR.test_crops(240, 320, 224, 256, 3, False)
    assert [p.x for p in three] == [0, 55, 110] and {p.y for p in three} == {15}
    five = TR.test_crops(240, 320, 224, 256, 5, False)
    assert [(p.x, p.y) for p in five] == [(0, 0), (110, 0), (0, 30), (110, 30), (55, 15)]
    ten = TR.test_crops(240, 320, 224, 256, 10, False)
    assert [p.flip for p in ten] == [False] * 5 + [True] * 5 and ten[5:][0].x == 0
    full = TR.test_crops(240, 320, 224, 256, 3, True)       # full-res: the whole short side
    assert [(p.x, p.w, p.h) for p in full] == [(0, 240, 240), (40, 240, 240), (80, 240, 240)]
    tall = TR.test_crops(320, 240, 224, 256, 3, False)      # portrait: along the height
    assert [p.y for p in tall] == [0, 55, 110] and {p.x for p in tall} == {15}
    with pytest.raises(ValueError):
        TR.test_crops(240, 320, 224, 256, 4, False)


@pytest.mark.parametrize("n_crops", [1, 3, 5, 10])
def test_test_crops_small_frames(n_crops):
    for h, w in ((32, 32), (32, 40), (7, 5)):
        for full in (False, True):
            for p in TR.test_crops(h, w, 32, 32, n_crops, full):
                assert p.w >= 1 and p.x >= 0 and p.y >= 0 and p.x + p.w <= w and p.y + p.h <= h
    assert TR.test_crops(32, 32, 32, 32, 1, False) == [CropParams(0, 0, 32, 32, False)]


def test_normalize_layouts_and_values():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (8, 1, 4, 5, 3), dtype=np.uint8)
    x = TR.normalize(rgb, "RGB")
    assert x.shape == (8, 3, 4, 5) and x.dtype == torch.float32 and x.is_contiguous()
    mean, std = np.array(TR.IMAGENET_MEAN), np.array(TR.IMAGENET_STD)
    want = (rgb[:, 0].astype(np.float64) / 255 - mean) / std                      # (T, h, w, 3)
    assert np.allclose(x.numpy(), want.transpose(0, 3, 1, 2), atol=1e-5)

    flow = rng.integers(0, 256, (8, 5, 4, 5, 2), dtype=np.uint8)
    f = TR.normalize(flow, "Flow")
    assert f.shape == (8, 10, 4, 5)
    for j in range(5):                                                            # x1, y1, ..., x5, y5
        for c in range(2):
            want = (flow[:, j, :, :, c] / 255.0 - 0.5) / 0.226
            assert np.allclose(f[:, 2 * j + c].numpy(), want, atol=1e-5)

    diff = rng.integers(0, 256, (8, 6, 4, 5, 3), dtype=np.uint8)
    d = TR.normalize(diff, "RGBDiff")
    assert d.shape == (8, 18, 4, 5)
    assert np.allclose(d[:, 3:6].numpy(), diff[:, 1].transpose(0, 3, 1, 2) / 255.0, atol=1e-6)
    assert float(d.min()) >= 0 and float(d.max()) <= 1

    views = TR.normalize(rng.integers(0, 256, (6, 8, 5, 4, 4, 2), dtype=np.uint8), "Flow")
    assert views.shape == (6, 8, 10, 4, 4)


@pytest.mark.parametrize("modality, c, l", [("RGB", 3, 1), ("Flow", 2, 5), ("RGBDiff", 3, 6)])
def test_input_normalization_states_what_normalize_does(modality, c, l):
    frames = np.random.default_rng(1).integers(0, 256, (4, l, 3, 5, c), dtype=np.uint8)
    x = TR.normalize(frames, modality).numpy()                                    # (T, l*c, h, w)
    mean, std = TR.input_normalization(modality, l)
    assert len(mean) == len(std) == x.shape[1] == l * c
    v = np.moveaxis(frames, -1, 2).reshape(4, l * c, 3, 5).astype(np.float64)     # channel-major, as normalize
    want = (v / 255 - np.array(mean)[:, None, None]) / np.array(std)[:, None, None]
    assert np.abs(x - want).max() < 1e-5
    with pytest.raises(ValueError, match="Depth"):
        TR.input_normalization("Depth", 1)


def test_normalize_errors():
    with pytest.raises(ValueError, match="channels"):
        TR.normalize(np.zeros((8, 5, 4, 4, 3), np.uint8), "Flow")
    with pytest.raises(ValueError, match="modality"):
        TR.normalize(np.zeros((8, 1, 4, 4, 3), np.uint8), "Depth")
