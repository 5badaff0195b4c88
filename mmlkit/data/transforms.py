"""Clip transforms: crop parameters drawn once per clip, applied to every modality.

The flow is ``draw_train_crop`` / ``test_crops`` (parameters, in the coordinates of the frames
as read) -> ``apply_crop`` (crop, one ``cv2.resize`` for the whole clip, optional mirror) ->
``normalize`` (uint8 -> float32 tensor in the layout the network takes).

Validation/test crops are expressed in the original frame's coordinates: "short side to
``scale_size``, then crop ``input_size``" becomes "crop ``input_size * short / scale_size``,
then resize to ``input_size``" -- the same pixels up to resampling, one resize instead of two.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Mapping, Sequence

import cv2
import numpy as np
import torch

from mmlkit.config import MODALITY_SPECS

#: ImageNet statistics (RGB order), as the torchvision / TSM models expect.
IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)
#: Flow normalisation of the released code: (v / 255 - 0.5) / 0.226.
FLOW_MEAN: float = 0.5
FLOW_STD: float = 0.226


@dataclass(frozen=True)
class CropParams:
    """One spatial view: the box ``[y, y + h) x [x, x + w)`` (0-based pixels, exclusive ends) of
    the frames as read, resized to the output size, then mirrored when ``flip``."""

    x: int
    y: int
    w: int
    h: int
    flip: bool = False


def _fix_offsets(width: int, height: int, crop_w: int, crop_h: int) -> list[tuple[int, int]]:
    """The 13 fixed (x, y) offsets of TSM's ``more_fix_crop``, in its order."""
    ws, hs = (width - crop_w) // 4, (height - crop_h) // 4
    return [
        (0, 0), (4 * ws, 0), (0, 4 * hs), (4 * ws, 4 * hs), (2 * ws, 2 * hs),  # corners, centre
        (0, 2 * hs), (4 * ws, 2 * hs), (2 * ws, 4 * hs), (2 * ws, 0),          # edge centres
        (1 * ws, 1 * hs), (3 * ws, 1 * hs), (1 * ws, 3 * hs), (3 * ws, 3 * hs),  # quarters
    ]


def crop_pairs(height: int, width: int, input_size: int, scales: Sequence[float],
               max_distort: int) -> list[tuple[int, int]]:
    """The (crop_w, crop_h) candidates of the multi-scale crop (TSM's ``GroupMultiScaleCrop``).

    Sizes are ``int(short_side * scale)``, snapped to ``input_size`` when within 3 px, clamped to
    ``[1, frame side]``; width and height scale indices differ by at most ``max_distort``.
    """
    base = min(height, width)
    sizes = [max(1, int(base * s)) for s in scales]
    snapped = [input_size if abs(s - input_size) < 3 else s for s in sizes]
    ch = [min(s, height) for s in snapped]
    cw = [min(s, width) for s in snapped]
    return [(w, h) for i, h in enumerate(ch) for j, w in enumerate(cw) if abs(i - j) <= max_distort]


def draw_train_crop(rng: np.random.Generator, height: int, width: int, input_size: int,
                    scales: Sequence[float], max_distort: int, flip: bool) -> CropParams:
    """Draw one clip's multi-scale crop (and mirror): three draws from ``rng``, in this order:
    the (w, h) pair, one of the 13 fixed offsets, then (only when ``flip``) ``rng.random() < 0.5``.

    Args:
        rng: the clip's generator. height, width: frame size in pixels (as read).
        input_size: network input side. scales: fractions of the short side.
        max_distort: max index distance between the width and height scales.
        flip: allow a horizontal mirror with probability 1/2.

    Returns:
        CropParams inside the frame (w, h >= 1).
    """
    if height < 1 or width < 1:
        raise ValueError(f"frame size {width}x{height} must be at least 1x1")
    pairs = crop_pairs(height, width, input_size, scales, max_distort)
    cw, ch = pairs[int(rng.integers(len(pairs)))]
    offsets = _fix_offsets(width, height, cw, ch)
    x, y = offsets[int(rng.integers(len(offsets)))]
    mirror = bool(rng.random() < 0.5) if flip else False
    return CropParams(int(x), int(y), int(cw), int(ch), mirror)


def test_crops(height: int, width: int, input_size: int, scale_size: int, n_crops: int,
               full_res: bool) -> list[CropParams]:
    """The fixed test views of frames of ``height x width``, in original-frame coordinates.

    The frame is thought of as resized so its short side is ``scale_size``; crops of side
    ``input_size`` (``scale_size`` when ``full_res``) are placed there and mapped back:

    * 1: the centre; 3: start / centre / end along the long side (centred on the short side);
    * 5: the four corners, then the centre; 10: those 5, then the same 5 mirrored.

    Returns:
        ``n_crops`` CropParams; apply them with ``out_size = scale_size if full_res else input_size``.
    """
    if n_crops not in (1, 3, 5, 10):
        raise ValueError(f"n_crops={n_crops} must be 1, 3, 5 or 10")
    f = min(height, width) / float(scale_size)           # original pixels per scaled pixel
    sh, sw = height / f, width / f                        # scaled frame size (float)
    side = float(scale_size if full_res else input_size)
    side = min(side, sh, sw)
    ys = {"start": 0.0, "centre": (sh - side) / 2, "end": sh - side}
    xs = {"start": 0.0, "centre": (sw - side) / 2, "end": sw - side}
    if n_crops == 1:
        spots = [("centre", "centre")]
    elif n_crops == 3:
        spots = ([("start", "centre"), ("centre", "centre"), ("end", "centre")] if sw >= sh
                 else [("centre", "start"), ("centre", "centre"), ("centre", "end")])
    else:
        spots = [("start", "start"), ("end", "start"), ("start", "end"), ("end", "end"), ("centre", "centre")]
    size = max(1, min(int(round(side * f)), height, width))
    out = []
    for sx, sy in spots:
        x = min(max(int(round(xs[sx] * f)), 0), width - size)
        y = min(max(int(round(ys[sy] * f)), 0), height - size)
        out.append(CropParams(x, y, size, size, False))
    if n_crops == 10:
        out += [CropParams(p.x, p.y, p.w, p.h, True) for p in out]
    return out


def apply_crop(frames: np.ndarray, params: CropParams, out_size: int, modality: str) -> np.ndarray:
    """Crop, resize and (when ``params.flip``) mirror every frame of a clip the same way.

    Args:
        frames: uint8 (n, H, W, C). ``modality``: ``RGB`` / ``RGBDiff`` (C = 3) or ``Flow``
            (C = 2, channel 0 = x): mirroring a flow frame also inverts x (``255 - v``).
        params: the box and mirror flag. out_size: output side in pixels.

    Returns:
        uint8 (n, out_size, out_size, C), C-contiguous. Bilinear ``cv2.resize`` per frame; none
        when the box already has the output size.
    """
    if frames.ndim != 4:
        raise ValueError(f"frames must be (n, H, W, C), got shape {frames.shape}")
    n, fh, fw, c = frames.shape
    p = params
    if not (0 <= p.x and 0 <= p.y and p.w >= 1 and p.h >= 1 and p.x + p.w <= fw and p.y + p.h <= fh):
        raise ValueError(f"crop {p} does not fit frames of {fw}x{fh}")
    box = frames[:, p.y:p.y + p.h, p.x:p.x + p.w]                       # (n, h, w, C) view
    if (p.h, p.w) != (out_size, out_size):
        # One cv2.resize per frame into a preallocated array: cheaper than stacking the frames
        # on the channel axis (that transpose costs more than the resizes at these sizes).
        out = np.empty((n, out_size, out_size, c), dtype=np.uint8)
        for i in range(n):
            out[i] = cv2.resize(box[i], (out_size, out_size), interpolation=cv2.INTER_LINEAR).reshape(out_size, out_size, c)
        box = out
    if p.flip:
        box = box[:, :, ::-1]
        if modality == "Flow":
            box = box.copy()
            box[..., 0] = 255 - box[..., 0]
    return np.ascontiguousarray(box)


def flip_label(label: int, params: CropParams, pairs: Mapping[int, int] | None) -> int:
    """The label of a mirrored clip: left/right classes swap (``pairs`` is symmetric)."""
    if params.flip and pairs and label in pairs:
        return int(pairs[label])
    return int(label)


_RGB_SCALE = np.array([1.0 / (255.0 * s) for s in IMAGENET_STD], dtype=np.float32)
_RGB_SHIFT = np.array([-m / s for m, s in zip(IMAGENET_MEAN, IMAGENET_STD)], dtype=np.float32)


@functools.lru_cache(maxsize=16)
def _rgb_affine(l: int) -> tuple[np.ndarray, np.ndarray]:
    scale = np.tile(_RGB_SCALE, l)[:, None, None]
    shift = np.tile(_RGB_SHIFT, l)[:, None, None]
    scale.flags.writeable = False
    shift.flags.writeable = False
    return scale, shift


def input_normalization(modality: str, new_length: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel (mean, std) of the network input that :func:`normalize` produces.

    The single statement of the normalisation for code outside the data layer (exported
    models carry it): network channel ``c`` is ``(v / 255 - mean[c]) / std[c]`` for the uint8
    value ``v`` read for it (:func:`normalize` computes the same map as one fused multiply-add).

    Args:
        modality: ``RGB`` | ``Flow`` | ``RGBDiff``.
        new_length: l, frames per segment (1 RGB, 5 Flow, 6 RGBDiff).

    Returns:
        Two tuples of ``C`` floats in the network's channel order: RGB ``C = 3 l`` (ImageNet
        statistics, R, G, B per frame); Flow ``C = 2 l`` (0.5 and 0.226, x then y per frame);
        RGBDiff ``C = 3 l`` (0 and 1: pixels in [0, 1], the model differences the frames).
    """
    if new_length < 1:
        raise ValueError(f"new_length={new_length} must be >= 1")
    if modality == "RGB":
        return tuple(IMAGENET_MEAN) * new_length, tuple(IMAGENET_STD) * new_length
    if modality == "Flow":
        return (FLOW_MEAN,) * (2 * new_length), (FLOW_STD,) * (2 * new_length)
    if modality == "RGBDiff":
        return (0.0,) * (3 * new_length), (1.0,) * (3 * new_length)
    raise ValueError(f"unknown modality {modality!r}; known: RGB, Flow, RGBDiff")


def normalize(frames: np.ndarray, modality: str) -> torch.Tensor:
    """uint8 frames of a clip -> the float32 network input.

    Args:
        frames: uint8 (..., T, l, h, w, C): l consecutive frames per segment (any leading dims,
            e.g. test views).
        modality: ``RGB`` (C = 3) -> (..., T, 3*l, h, w), ImageNet mean/std;
            ``Flow`` (C = 2) -> (..., T, 2*l, h, w) interleaved x1, y1, ..., x_l, y_l,
            ``(v / 255 - 0.5) / 0.226``; ``RGBDiff`` (C = 3) -> (..., T, 3*l, h, w) raw pixels in
            [0, 1] (frame-major: r1, g1, b1, r2, ...; the model differences them).

    Returns:
        float32 torch tensor (..., T, C', h, w), contiguous.
    """
    if frames.ndim < 5:
        raise ValueError(f"frames must be (..., T, l, h, w, C), got shape {frames.shape}")
    c = frames.shape[-1]
    want = {m: s.frame_channels for m, s in MODALITY_SPECS.items()}
    if modality not in want:
        raise ValueError(f"unknown modality {modality!r}; known: {', '.join(want)}")
    if c != want[modality]:
        raise ValueError(f"{modality} frames need {want[modality]} channels, got shape {frames.shape}")
    *lead, t, l, h, w, _ = frames.shape
    # One transposing cast to float32, then the affine map in place, all in numpy: torch's
    # intra-op threads only add contention for arrays this small.
    x = np.moveaxis(frames, -1, -3).astype(np.float32, order="C").reshape(*lead, t, l * c, h, w)
    if modality == "RGB":
        scale, shift = _rgb_affine(l)                                               # (l*3, 1, 1)
        x *= scale
        x += shift
    elif modality == "Flow":
        x *= np.float32(1.0 / (255.0 * FLOW_STD))
        x -= np.float32(FLOW_MEAN / FLOW_STD)
    else:
        x *= np.float32(1.0 / 255.0)
    return torch.from_numpy(x)
