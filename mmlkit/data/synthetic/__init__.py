"""The embedded benchmark: a synthetic, Something-Something-like data set generated from a seed.

``generate`` writes the SSv2 release layout (``labels.json``, ``something-something-v2-{train,
validation,test}.json``, ``videos/<id>.webm`` as VP9 at 12 fps) plus ``synthetic.json`` and
``montage.png``, so the real loaders run on it unchanged. What makes SSv2 hard holds here too:

* the class lives in motion and temporal order, never in appearance: object shape, colours,
  texture, size, position, orientation and the background are drawn independently of the class,
  so a single frame cannot tell it;
* left/right pairs (templates that differ only by swapping the words "left" and "right"; a
  horizontal flip turns one into the other), time-reversed pairs (up/down, towards/away,
  covering/uncovering, appear/disappear, folding/unfolding, closer/apart, rotating left/right)
  and changes of state that are not a displacement (painting, stretching, squeezing, tearing),
  so appearance and motion carry different evidence;
* nuisance: camera shake, a distractor object in about half the clips, pixel noise, random
  speed, easing, duration (24-60 frames) and start of the action within the clip.

Objects always differ from the background in luminance (objects, hands and covers have luma
>= 0.5, backgrounds <= 0.4; hue, saturation and texture are free): the pilot measured that an
RGB model trained from scratch stays at chance without that contrast. It is appearance, drawn
independently of the class.

Every clip is rendered from its own ``np.random.Generator`` seeded by ``(seed, split, index)``,
so the frames are identical whatever the number of worker processes.
"""

from __future__ import annotations

import colorsys
import dataclasses
import json
import multiprocessing as mp
import os
import re
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mmlkit.data.paths import remove_stale_tmp
from mmlkit.errors import DataError
from mmlkit.progress import bar as progress_bar
from mmlkit.progress import summary

GENERATOR_VERSION = 2  # 2: default renders at 48 px, packed at 32 (farneback, bound 5); sizes scale with S/32
SPLITS: tuple[str, ...] = ("train", "validation", "test")
_SPLIT_CODE = {"train": 0, "validation": 1, "test": 2, "montage": 3}

#: Class templates (SSv2 style), index = class index. "Rotating ... to the right" is clockwise as
#: the camera sees it (the top moves right); to the left is counterclockwise.
CLASSES: tuple[str, ...] = (
    "Moving [something] from left to right",
    "Moving [something] from right to left",
    "Pushing [something] from left to right",
    "Pushing [something] from right to left",
    "Turning the camera left while filming [something]",
    "Turning the camera right while filming [something]",
    "Rotating [something] to the left",
    "Rotating [something] to the right",
    "Moving [something] up",
    "Moving [something] down",
    "Moving [something] towards the camera",
    "Moving [something] away from the camera",
    "Covering [something] with [something]",
    "Uncovering [something]",
    "Making [something] appear",
    "Making [something] disappear",
    "Folding [something]",
    "Unfolding [something]",
    "Moving [something] and [something] closer to each other",
    "Moving [something] and [something] away from each other",
    "Painting [something] a different colour",
    "Stretching [something]",
    "Squeezing [something]",
    "Tearing [something] into two pieces",
    "Holding [something]",
    "Letting [something] fall down",
    "Throwing [something] in the air and catching it",
    "Shaking [something]",
    "Poking [something] so lightly that it doesn't or almost doesn't move",
)
#: Pairs of class indices where one is the other played backwards.
TIME_REVERSED_PAIRS: tuple[tuple[int, int], ...] = (
    (0, 1), (2, 3), (6, 7), (8, 9), (10, 11), (12, 13), (14, 15), (16, 17), (18, 19))
#: Classes that change the object's state (colour, extent, integrity) rather than move it.
STATE_CHANGE_CLASSES: tuple[int, ...] = (14, 15, 16, 17, 20, 21, 22, 23)
#: Labels of the image task (``render_images``): the object's shape.
IMAGE_CLASSES: tuple[str, ...] = ("circle", "square", "triangle", "diamond", "star", "cross", "ring", "bar")
_NOUNS = ("blicket", "dax", "wug", "zorb", "fep", "toma", "gazzer", "modi", "kiki", "bouba",
          "tulver", "snarf", "plim", "quizzle", "vorb", "glimmet", "trundle", "mib", "flang", "zupi")
_LUMA = np.array([0.299, 0.587, 0.114])


@dataclass(frozen=True)
class SynthPreset:
    """Size and nuisance of a generated benchmark.

    Attributes:
        name: preset name.
        height, width: frame size, pixels.
        fps: frames per second written to the webm.
        min_frames, max_frames: clip length range, frames (inclusive).
        train_per_class, val_per_class, test_per_class: clips per class in each split.
        test_clips: when set, the test split has this many clips in all (classes round-robin)
            instead of ``test_per_class`` per class.
        classes: class templates (``CLASSES``).
        radius: object radius range as fractions of ``min(height, width)``.
        noise_std: pixel noise std, in [0, 1] intensity units.
        shake: camera-shake std per frame, as a fraction of ``min(height, width)``.
        distractor_prob: probability of a distractor object.
        crf: VP9 constant quality (lower is better; frames are tiny, so keep it low).
        pack_size: side of the packed frames and flow (``extract_dataset(pack_size=...)``): the
            video is rendered at ``height x width`` and flow is computed there, then packed at
            this size (vectors in its pixels); ``None``: packed at the render size.
        flow_method, flow_dis_preset: flow of the packing step (``compute_flow``).
        flow_bound: quantisation bound of the packed flow, pixels of the packed frames.
    """

    name: str
    height: int
    width: int
    train_per_class: int
    val_per_class: int
    test_per_class: int
    fps: int = 12
    min_frames: int = 24
    max_frames: int = 60
    classes: tuple[str, ...] = CLASSES
    radius: tuple[float, float] = (4 / 32, 9 / 32)
    noise_std: float = 0.02
    shake: float = 0.012
    distractor_prob: float = 0.5
    crf: int = 6
    test_clips: int | None = None
    pack_size: int | None = None
    flow_method: str = "dis"
    flow_dis_preset: str = "ultrafast"
    flow_bound: float = 20.0

    def per_class(self, split: str) -> int:
        """Clips per class of ``split`` (``train`` | ``validation`` | ``test``)."""
        return {"train": self.train_per_class, "validation": self.val_per_class,
                "test": self.test_per_class}[split]


PRESETS: dict[str, SynthPreset] = {
    "smoke": SynthPreset("smoke", 32, 32, train_per_class=2, val_per_class=1, test_per_class=0,
                         min_frames=24, max_frames=36, test_clips=6),
    # Rendered at 48 px, flow (farneback) computed there and packed at the 32-px network size:
    # object flow error against the generator's truth is 2.4x lower than DIS at 32 px
    # (benchmarks/bench_flow_quality.py); bound 5 px covers the motion at 32 px (99.9% of object
    # pixels move < 4.1 px per axis) with a 0.04 px step instead of 0.16 px at bound 20.
    "default": SynthPreset("default", 48, 48, train_per_class=30, val_per_class=20, test_per_class=5,
                           pack_size=32, flow_method="farneback", flow_bound=5.0),
    "large": SynthPreset("large", 112, 112, train_per_class=200, val_per_class=50, test_per_class=20),
}


def get_preset(preset: str | SynthPreset) -> SynthPreset:
    """The preset object for a name (or the object itself)."""
    if isinstance(preset, SynthPreset):
        return preset
    if preset not in PRESETS:
        raise DataError(f"unknown synthetic preset {preset!r}; choose one of {sorted(PRESETS)}")
    return PRESETS[preset]


def clip_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """The generator of clip ``index`` (0-based) of ``split``: depends on nothing else."""
    return np.random.default_rng([int(seed), _SPLIT_CODE[split], int(index)])


# ------------------------------------------------------------------------------------------
# Appearance: colours with a set luminance, shapes and textures in object coordinates.
# ------------------------------------------------------------------------------------------

def _colour(hue: float, sat: float, luma: float) -> np.ndarray:
    """RGB float (3,) in [0, 1] of luminance exactly ``luma``, hue ``hue``, chroma <= ``sat``."""
    c = np.array(colorsys.hsv_to_rgb(hue % 1.0, 1.0, 1.0))
    d = c - c @ _LUMA  # chroma direction, zero luma
    lim = min(((1 - luma) / v if v > 0 else luma / -v) for v in d if abs(v) > 1e-9)
    return luma + min(sat, lim) * d


def _draw_look(rng: np.random.Generator, luma: tuple[float, float], shape: int | None = None) -> dict:
    """A random object appearance (independent of any class)."""
    y1 = rng.uniform(*luma)
    y2 = np.clip(y1 + rng.choice([-1, 1]) * rng.uniform(0.12, 0.25), *luma)
    return dict(shape=int(rng.integers(len(IMAGE_CLASSES))) if shape is None else shape,
                hues=(rng.random(), rng.random()), sat=rng.uniform(0.45, 1.0), lumas=(y1, y2),
                texture=int(rng.integers(4)), tex_angle=rng.uniform(0, np.pi),
                tex_freq=rng.uniform(2.5, 4.5), tex_phase=rng.uniform(0, 2 * np.pi))


def _shape_field(shape: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Degree-1 homogeneous field: < 1 inside the unit shape, 1 on its edge."""
    r = np.sqrt(u * u + v * v)
    if shape == 0:
        return r
    if shape == 1:
        return np.maximum(abs(u), abs(v)) / 0.8
    if shape == 2:
        a = np.array([-np.pi / 2, np.pi / 6, 5 * np.pi / 6])  # outward normals of the three edges
        return np.max([(u * np.cos(t) + v * np.sin(t)) / 0.55 for t in a], axis=0)
    if shape == 3:
        return abs(u) + abs(v)
    if shape == 4:
        return r / (0.68 + 0.32 * np.cos(5 * np.arctan2(v, u)))
    if shape == 5:
        return np.minimum(np.maximum(abs(u), abs(v) / 0.38), np.maximum(abs(u) / 0.38, abs(v)))
    if shape == 6:
        return np.maximum(r, 0.55 * 0.55 / np.maximum(r, 1e-3))  # inside 0.55 <= r <= 1
    return np.sqrt(u * u + (v / 0.5) ** 2)


def _texture(look: dict, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Mix weight of the second colour in [0, 1], in object coordinates (rotates with it)."""
    ca, sa = np.cos(look["tex_angle"]), np.sin(look["tex_angle"])
    a = u * ca + v * sa
    k = look["texture"]
    if k == 0:  # stripes
        g = np.sin(look["tex_freq"] * a + look["tex_phase"])
    elif k == 1:  # two halves
        g = 2.0 * a
    elif k == 2:  # checker
        b = -u * sa + v * ca
        g = np.sin(look["tex_freq"] * a) * np.sin(look["tex_freq"] * b)
    else:  # off-centre spot
        g = 4.0 * (0.35 - np.sqrt((u - 0.45 * ca) ** 2 + (v - 0.45 * sa) ** 2))
    return np.clip(2.0 * g + 0.5, 0.0, 1.0)


def _coverage(shape: int, n: int, h: int, w: int, x, y, r, sx=1.0, sy=1.0, theta=0.0, alpha=1.0,
              half: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An object's opacity per pixel and its object coordinates (the math of :func:`_draw`).

    Arguments as in :func:`_draw` (scalars or (N,) arrays); pixel centres are at ``(j + 0.5, i + 0.5)``.

    Returns:
        (coverage a float32 (N, H, W) in [0, 1] (anti-aliased edge, times ``alpha``),
        u, v float32 (N, H, W) object coordinates: the unit shape has radius 1).
    """
    f32 = np.float32

    def col(a):
        return np.broadcast_to(np.asarray(a, dtype=f32), (n,))[:, None, None]

    x, y, r, sx, sy, theta, alpha = map(col, (x, y, r, sx, sy, theta, alpha))
    dx = np.arange(w, dtype=f32)[None, None, :] + f32(0.5) - x  # (N, 1, W)
    dy = np.arange(h, dtype=f32)[None, :, None] + f32(0.5) - y  # (N, H, 1)
    c, s = np.cos(theta), np.sin(theta)
    u = (c * dx + s * dy) / (r * sx)  # (N, H, W) object coordinates, the shape's radius is 1
    v = (c * dy - s * dx) / (r * sy)
    reff = r * np.minimum(sx, sy)
    a = (1.0 - _shape_field(shape, u, v)) * reff + 0.5
    np.clip(a, 0.0, 1.0, out=a)
    if half:
        a *= np.clip(half * u * r * sx + 0.5, 0.0, 1.0)
    a *= alpha
    return a, u, v


def _draw(img: np.ndarray, look: dict, x, y, r, sx=1.0, sy=1.0, theta=0.0, alpha=1.0,
          hue_shift=0.0, half: int = 0) -> None:
    """Composite an object over ``img`` float (N, H, W, 3), in place.

    Per-frame parameters are scalars or (N,) arrays: centre ``x, y`` (pixels, image coords, y
    down), radius ``r`` (pixels), axis scales ``sx, sy``, angle ``theta`` (radians, clockwise on
    screen), opacity ``alpha`` in [0, 1], hue shift (turns). ``half``: -1/+1 keeps only the
    object's u < 0 / u >= 0 half (tearing).
    """
    n, h, w, _ = img.shape
    f32 = np.float32
    a, u, v = _coverage(look["shape"], n, h, w, x, y, r, sx, sy, theta, alpha, half)
    t = _texture(look, u, v)[..., None]  # (N, H, W, 1)
    shifts = np.broadcast_to(np.asarray(hue_shift, dtype=np.float64), (n,))
    if np.all(shifts == shifts[0]):
        shifts = shifts[:1]
    ca = np.stack([_colour(look["hues"][0] + d, look["sat"], look["lumas"][0]) for d in shifts])
    cb = np.stack([_colour(look["hues"][1] + d, look["sat"], look["lumas"][1]) for d in shifts])
    ca, cb = ca.astype(f32)[:, None, None], cb.astype(f32)[:, None, None]  # (N or 1, 1, 1, 3)
    a = a[..., None]
    img += a * (ca + t * (cb - ca) - img)


def _background(rng: np.random.Generator, hp: int, wp: int) -> np.ndarray:
    """A textured background canvas float (hp, wp, 3), luma in [0.06, 0.4]."""
    cols = [_colour(rng.random(), rng.uniform(0.2, 1.0), rng.uniform(0.06, 0.4)) for _ in range(2)]
    gh, gw = int(rng.integers(3, 7)), int(rng.integers(3, 7))
    coarse = rng.random((gh + 1, gw + 1))
    yi = np.linspace(0, gh, hp)[:, None]
    xi = np.linspace(0, gw, wp)[None, :]
    y0, x0 = np.minimum(yi.astype(int), gh - 1), np.minimum(xi.astype(int), gw - 1)
    fy, fx = yi - y0, xi - x0
    t = ((1 - fy) * (1 - fx) * coarse[y0, x0] + (1 - fy) * fx * coarse[y0, x0 + 1]
         + fy * (1 - fx) * coarse[y0 + 1, x0] + fy * fx * coarse[y0 + 1, x0 + 1])
    yy, xx = np.mgrid[0:hp, 0:wp]
    period = rng.uniform(4.0, 9.0) * max(hp, wp) / 64
    ang = rng.uniform(0, np.pi)
    kind = int(rng.integers(3))
    if kind == 0:
        pat = np.sin(2 * np.pi * (xx * np.cos(ang) + yy * np.sin(ang)) / period)
    elif kind == 1:
        pat = np.sin(2 * np.pi * xx / period) * np.sin(2 * np.pi * yy / period)
    else:
        pat = rng.normal(size=(hp, wp))
    t = np.clip(0.75 * t + 0.25 * (pat * 0.5 + 0.5), 0.0, 1.0)[..., None]
    return (cols[0] * (1 - t) + cols[1] * t).astype(np.float32)


def _view(canvas: np.ndarray, ox: np.ndarray, oy: np.ndarray, h: int, w: int, m: int) -> np.ndarray:
    """Crop (h, w) windows at offsets (m + ox, m + oy) with bilinear interpolation -> (N, h, w, 3)."""
    a, b = ox + m, oy + m
    ix, iy = np.floor(a).astype(int), np.floor(b).astype(int)
    fx = (a - ix).astype(np.float32)[:, None, None, None]
    fy = (b - iy).astype(np.float32)[:, None, None, None]
    rows = iy[:, None] + np.arange(h + 1)[None]  # (N, h+1)
    cols = ix[:, None] + np.arange(w + 1)[None]  # (N, w+1)
    c = canvas[rows[:, :, None], cols[:, None, :]]  # (N, h+1, w+1, 3)
    top = c[:, :-1, :-1] + fx * (c[:, :-1, 1:] - c[:, :-1, :-1])
    bot = c[:, 1:, :-1] + fx * (c[:, 1:, 1:] - c[:, 1:, :-1])
    return top + fy * (bot - top)


# ------------------------------------------------------------------------------------------
# Clips
# ------------------------------------------------------------------------------------------

def _progress(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Action progress per frame: (linear p, eased p), both (n,) in [0, 1]; 0 before the random
    start, 1 after the random end."""
    d = max(8, int(round(rng.uniform(0.4, 0.85) * n)))
    t0 = int(rng.integers(0, n - d + 1))
    p = np.clip((np.arange(n) - t0) / (d - 1), 0.0, 1.0)
    ease = int(rng.integers(4))
    q = [p, p * p * (3 - 2 * p), p * p, 1 - (1 - p) ** 2][ease]
    return p, q


def _hand_spec(look: dict, tip_x, tip_y, direction, thick: float, reach: float) -> dict:
    """Draw arguments of an arm: a long bar ending at ``tip`` (world coords), coming from
    ``-direction`` (a unit (2,) vector)."""
    look = dict(look, shape=1, texture=1, tex_angle=0.0)  # bar, a slightly different tip half
    return dict(look=look, x=tip_x - direction[0] * reach, y=tip_y - direction[1] * reach,
                r=reach / 0.8, sx=1.0, sy=thick / reach, theta=float(np.arctan2(direction[1], direction[0])))


def render_clip(class_index: int, rng: np.random.Generator, preset: str | SynthPreset,
                return_truth: bool = False) -> np.ndarray | tuple[np.ndarray, dict]:
    """Render one clip of class ``class_index`` (0-based index into ``preset.classes``).

    The rng is consumed in a fixed order (length, look, scene, then the class's motion), so the
    appearance is independent of the class. Sizes are fractions of ``S = min(height, width)``;
    the few absolute pixel constants (shake clip, hand/cover/tear offsets) are given at S = 32
    and scale with ``S / 32``, so a scene rendered at another size is the same scene, up to the
    background draw (its per-pixel noise texture consumes the rng by canvas size, so after that
    draw the rng stream, and so the scene, differs between sizes).

    Args:
        class_index: 0-based class index.
        rng: the clip's generator (:func:`clip_rng`); consumed identically with or without truth.
        preset: preset name or object (frame size, nuisance).
        return_truth: also return the generator's ground truth (the frames are unchanged).

    Returns:
        uint8 (N, H, W, 3) RGB frames, ``preset.min_frames <= N <= preset.max_frames``; with
        ``return_truth``: ``(frames, truth)``, truth a dict of float64 (N,) arrays ``x, y``
        (main object centre in image pixels, camera offset subtracted; pixel centres are at
        ``j + 0.5``), ``r`` (radius, pixels, scale included), ``sx, sy, theta, alpha`` (as
        :func:`_draw`), ``ox, oy`` (camera offset: frame k shows canvas x at image
        ``x - m - ox[k]``), plus float32 (N, H, W) coverages ``cover_object`` (main object),
        ``cover_extra`` (union of objects drawn over it: hand, cover, second object, tear halves)
        and ``cover_distractor`` (drawn under it), ``height``, ``width``, ``class_index``.
        See :func:`ground_truth_flow`.
    """
    P = get_preset(preset)
    if not 0 <= class_index < len(P.classes):
        raise DataError(f"class_index={class_index} is out of range 0..{len(P.classes) - 1}")
    k = CLASSES.index(P.classes[class_index])
    h, w = P.height, P.width
    S = min(h, w)
    px = S / 32  # one pixel at S = 32: absolute constants below scale with it (exactly 1.0 at 32)
    n = int(rng.integers(P.min_frames, P.max_frames + 1))
    look = _draw_look(rng, (0.55, 0.95))
    look2 = _draw_look(rng, (0.55, 0.95))  # second object, distractor, cover or hand
    r = rng.uniform(*P.radius) * S
    x0, y0 = rng.uniform(0.3, 0.7) * w, rng.uniform(0.3, 0.7) * h
    theta0 = rng.uniform(0, 2 * np.pi)
    m = int(np.ceil(0.3 * max(h, w))) + 3
    canvas = _background(rng, h + 2 * m + 1, w + 2 * m + 1)
    shake = np.cumsum(rng.normal(0.0, P.shake * S, (n, 2)), axis=0) * 0.5 + rng.normal(0, P.shake * S, (n, 2))
    shake -= shake.mean(axis=0)
    shake = np.clip(shake, -2.5 * px, 2.5 * px)
    dist = None
    if rng.random() < P.distractor_prob:
        look_d = _draw_look(rng, (0.5, 0.9))
        rd = rng.uniform(*P.radius) * S * 0.8
        pos = rng.uniform(0.1, 0.9, 2) * (w, h)
        vel = rng.normal(0, 0.004 * S, 2) * (rng.random() < 0.5)
        dist = (look_d, rd, pos, vel)
    p, q = _progress(rng, n)

    # Motion of the main object (world coords) and of the camera; defaults: static.
    one = np.ones(n)
    x, y, s, sx, sy, th, al, hue = x0 * one, y0 * one, one, one, one, theta0 * one, one, 0.0 * one
    cam = np.zeros((n, 2))
    extra: list[dict] = []  # _draw arguments (world coords) of objects drawn over the main one

    def hand_to(tx, ty, direction, progress):
        direction = np.asarray(direction, float)
        sx_, sy_ = np.asarray(tx) - direction[0] * 0.9 * S, np.asarray(ty) - direction[1] * 0.9 * S
        hx, hy = sx_ + (np.asarray(tx) - sx_) * progress, sy_ + (np.asarray(ty) - sy_) * progress
        extra.append(_hand_spec(look2, hx, hy, direction, 0.35 * r + 1.0 * px, 1.2 * S))

    if k in (0, 1, 8, 9):  # moving left->right, right->left, up, down
        sign = 1 if k in (0, 9) else -1
        length = rng.uniform(0.4, 0.6) * S
        if k in (0, 1):
            x = w / 2 + sign * length * (q - 0.5) + rng.uniform(-0.08, 0.08) * w
        else:
            y = h / 2 + sign * length * (q - 0.5) + rng.uniform(-0.08, 0.08) * h
    elif k in (2, 3):  # pushing with a hand from the left / right
        sign = 1 if k == 2 else -1
        length = rng.uniform(0.3, 0.45) * S
        split = 0.3
        qq = np.clip((q - split) / (1 - split), 0, 1)
        x = w / 2 + sign * length * (qq - 0.5)
        th = np.zeros(n) + rng.choice([0, np.pi / 2, np.pi / 4])
        hand_to(x - sign * (r + 0.5 * px), y, (sign, 0.0), np.clip(q / split, 0, 1))
    elif k in (4, 5):  # camera turns left (scene moves right) / right
        sign = 1 if k == 4 else -1
        pan = rng.uniform(0.3, 0.45) * S
        cam[:, 0] = -sign * pan * (q - 0.5)
        x = w / 2 + rng.uniform(-0.1, 0.1) * w
    elif k in (6, 7):  # rotating counterclockwise / clockwise
        sign = -1 if k == 6 else 1
        th = theta0 + sign * rng.uniform(0.5, 1.0) * np.pi * q
    elif k in (10, 11):  # towards / away from the camera
        big, small = rng.uniform(1.35, 1.5), rng.uniform(0.5, 0.6)
        qq = q if k == 10 else 1 - q
        s = small + (big - small) * qq
        y = y0 + 0.1 * h * (qq - 0.5)
        r = min(r, 0.3 * S)
    elif k in (12, 13):  # covering / uncovering
        ang = rng.uniform(0, 2 * np.pi)
        travel = 0.9 * S
        qq = 1 - q if k == 12 else q
        cx, cy = x0 + np.cos(ang) * travel * qq, y0 + np.sin(ang) * travel * qq
        look_c = dict(look2, shape=1)
        extra.append(dict(look=look_c, x=cx, y=cy, r=(r * 1.4 + 1.5 * px) / 0.8, theta=0.0))
    elif k in (14, 15):  # appear / disappear
        al = q if k == 14 else 1 - q
    elif k in (16, 17):  # folding / unfolding (squash along the object's v axis, bottom fixed)
        qq = q if k == 16 else 1 - q
        sy = 1 - rng.uniform(0.5, 0.6) * qq
        x = x0 - np.sin(th) * r * (1 - sy)
        y = y0 + np.cos(th) * r * (1 - sy)
    elif k in (18, 19):  # two objects closer / apart
        ang = rng.uniform(0, np.pi)
        r2 = rng.uniform(*P.radius) * S
        near, far = r + r2 + 1.0 * px, rng.uniform(0.55, 0.7) * S
        qq = q if k == 18 else 1 - q
        d = far + (near - far) * qq
        mx, my = w / 2 + rng.uniform(-0.05, 0.05) * w, h / 2 + rng.uniform(-0.05, 0.05) * h
        x, y = mx - np.cos(ang) * d * r / (r + r2), my - np.sin(ang) * d * r / (r + r2)
        x2, y2 = mx + np.cos(ang) * d * r2 / (r + r2), my + np.sin(ang) * d * r2 / (r + r2)
        extra.append(dict(look=look2, x=x2, y=y2, r=r2, theta=theta0 + 1.0))
    elif k == 20:  # painting
        hue = rng.uniform(0.3, 0.7) * q
    elif k == 21:  # stretching
        sx = 1 + rng.uniform(0.5, 0.8) * q
        th = np.zeros(n) + rng.choice([0, np.pi / 2]) + rng.uniform(-0.3, 0.3)
    elif k == 22:  # squeezing and letting go
        a = rng.uniform(0.35, 0.5) * np.sin(np.pi * p)
        sx, sy = 1 - a, 1 + 0.3 * a
        th = np.zeros(n) + rng.choice([0, np.pi / 2]) + rng.uniform(-0.3, 0.3)
    elif k == 23:  # tearing into two pieces
        d = q * (0.35 * r + 1.5 * px)
        ca, sa = np.cos(theta0), np.sin(theta0)
        al = 0.0 * one  # the main object is replaced by its two halves
        extra.append(dict(look=look, x=x0 + ca * d, y=y0 + sa * d, r=r, theta=theta0, half=1))
        extra.append(dict(look=look, x=x0 - ca * d, y=y0 - sa * d, r=r, theta=theta0, half=-1))
    elif k == 24:  # holding: only a slight drift
        x = x0 + np.cumsum(rng.normal(0, 0.02 * S / np.sqrt(n), n))
        y = y0 + np.cumsum(rng.normal(0, 0.02 * S / np.sqrt(n), n))
    elif k == 25:  # falling down with a small bounce
        y0 = rng.uniform(0.15, 0.35) * h
        fall = rng.uniform(0.35, 0.5) * h
        y = y0 + fall * np.where(p < 0.8, (p / 0.8) ** 2, 1 - 0.15 * np.sin(np.pi * (p - 0.8) / 0.2))
    elif k == 26:  # throwing up and catching
        y0 = rng.uniform(0.65, 0.8) * h
        y = y0 - rng.uniform(0.35, 0.5) * h * 4 * p * (1 - p)
    elif k == 27:  # shaking
        x = x0 + rng.uniform(0.06, 0.1) * S * np.sin(2 * np.pi * rng.uniform(2, 4) * p)
    elif k == 28:  # poking from a random side; the object barely moves
        ang = rng.choice([0, 0.5, 1, 1.5]) * np.pi
        dvec = (np.cos(ang), np.sin(ang))
        reach = np.sin(np.pi * p)
        x, y = x0 + dvec[0] * (0.4 * px) * reach, y0 + dvec[1] * (0.4 * px) * reach
        hand_to(x - dvec[0] * (r + 0.5 * px), y - dvec[1] * (r + 0.5 * px), dvec, reach)

    ox, oy = cam[:, 0] + shake[:, 0], cam[:, 1] + shake[:, 1]
    img = _view(canvas, ox, oy, h, w, m)
    if dist is not None:
        look_d, rd, pos, vel = dist
        t = np.arange(n)
        _draw(img, look_d, pos[0] + vel[0] * t - ox, pos[1] + vel[1] * t - oy, rd, theta=theta0 + 2.0)
    _draw(img, look, x - ox, y - oy, r * s, sx=sx, sy=sy, theta=th, alpha=al, hue_shift=hue)
    for e in extra:
        e = dict(e)
        _draw(img, e.pop("look"), e.pop("x") - ox, e.pop("y") - oy, **e)
    frames = _finish(img, rng, P.noise_std)
    if not return_truth:
        return frames
    one = np.ones(n)
    truth = {key: np.asarray(val, np.float64) * one for key, val in
             dict(x=x - ox, y=y - oy, r=r * s, sx=sx, sy=sy, theta=th, alpha=al, ox=ox, oy=oy).items()}
    truth["cover_object"] = _coverage(look["shape"], n, h, w, x - ox, y - oy, r * s, sx, sy, th, al)[0]
    clear = np.ones((n, h, w), np.float32)  # product of (1 - coverage) of the extras
    for e in extra:
        e = dict(e)
        shape = e.pop("look")["shape"]
        clear *= 1.0 - _coverage(shape, n, h, w, e.pop("x") - ox, e.pop("y") - oy, **e)[0]
    truth["cover_extra"] = 1.0 - clear
    truth["cover_distractor"] = np.zeros((n, h, w), np.float32)
    if dist is not None:
        look_d, rd, pos, vel = dist
        t = np.arange(n)
        truth["cover_distractor"] = _coverage(look_d["shape"], n, h, w, pos[0] + vel[0] * t - ox,
                                              pos[1] + vel[1] * t - oy, rd, theta=theta0 + 2.0)[0]
    truth.update(height=h, width=w, class_index=int(class_index))
    return frames, truth


def ground_truth_flow(truth: dict, height: int | None = None,
                      width: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The exact optical flow of a rendered clip, from :func:`render_clip`'s ``truth``.

    Object pixels: pixel centre ``p`` of frame k is mapped into object coordinates with frame
    k's pose (centre, radius, sx, sy, theta) and back to the image with frame k+1's pose (exact:
    the motions are affine). Background pixels move with the camera: ``(ox[k] - ox[k+1],
    oy[k] - oy[k+1])``. Pixels that are neither (anti-aliased edges, the distractor, hands,
    covers, the second object, tear halves) are masked out.

    Args:
        truth: the dict of ``render_clip(..., return_truth=True)`` (N frames).
        height, width: frame size (default: the truth's); must equal it.

    Returns:
        (flow float32 (N-1, H, W, 2): ``[..., 0]`` = x (right > 0), ``[..., 1]`` = y (down > 0),
        flow k maps frame k to k+1 (0-based), the convention of
        :func:`mmlkit.data.flow.compute_flow`; defined everywhere (object formula where the object
        is, camera motion elsewhere),
        mask_object bool (N-1, H, W): the main object covers the pixel by more than half in frame
        k (opacity times what the extras let through, so alpha > 0.5 and not occluded), and its
        mapped position in frame k+1 lies inside the image on such a pixel too,
        mask_background bool (N-1, H, W): nothing (object, distractor, extras) covers the pixel
        in frame k (coverage < 0.01) nor its camera-moved position in frame k+1, which lies
        inside the image).
    """
    h, w = int(truth["height"]), int(truth["width"])
    if (height is not None and height != h) or (width is not None and width != w):
        raise ValueError(f"ground_truth_flow: truth is {h}x{w}, asked {height}x{width}")
    n = len(truth["x"])
    f = {key: np.asarray(truth[key], np.float64)[:, None, None] for key in
         ("x", "y", "r", "sx", "sy", "theta", "ox", "oy")}
    X = np.arange(w, dtype=np.float64)[None, None, :] + 0.5
    Y = np.arange(h, dtype=np.float64)[None, :, None] + 0.5
    a, b = slice(0, n - 1), slice(1, n)  # frame k, frame k+1
    dx, dy = X - f["x"][a], Y - f["y"][a]
    c0, s0 = np.cos(f["theta"][a]), np.sin(f["theta"][a])
    U = (c0 * dx + s0 * dy) / f["sx"][a] * (f["sx"][b] * f["r"][b] / f["r"][a])  # u * r' * sx'
    V = (c0 * dy - s0 * dx) / f["sy"][a] * (f["sy"][b] * f["r"][b] / f["r"][a])  # v * r' * sy'
    c1, s1 = np.cos(f["theta"][b]), np.sin(f["theta"][b])
    fx_obj = f["x"][b] + c1 * U - s1 * V - X
    fy_obj = f["y"][b] + s1 * U + c1 * V - Y
    cam = np.stack([f["ox"][a] - f["ox"][b], f["oy"][a] - f["oy"][b]], axis=-1)  # (N-1, 1, 1, 2)

    visible = truth["cover_object"] * (1.0 - truth["cover_extra"]) > 0.5  # (N, H, W)
    anything = 1.0 - (1.0 - truth["cover_object"]) * (1.0 - truth["cover_extra"]) * (1.0 - truth["cover_distractor"])
    empty = anything < 0.01

    def lands_on(mask_next: np.ndarray, tx: np.ndarray, ty: np.ndarray) -> np.ndarray:
        """Whether the target (tx, ty) of each pixel lies inside the image on a True pixel of frame k+1."""
        j, i = np.floor(tx).astype(np.int64), np.floor(ty).astype(np.int64)
        inside = (j >= 0) & (j < w) & (i >= 0) & (i < h)
        k = np.broadcast_to(np.arange(n - 1)[:, None, None], inside.shape)
        return inside & mask_next[k, np.clip(i, 0, h - 1), np.clip(j, 0, w - 1)]

    mask_obj = visible[a] & lands_on(visible[b], X + fx_obj, Y + fy_obj)
    bx, by = np.broadcast_to(X + cam[..., 0], (n - 1, h, w)), np.broadcast_to(Y + cam[..., 1], (n - 1, h, w))
    mask_bg = empty[a] & lands_on(empty[b], bx, by)
    flow = np.where(visible[a][..., None], np.stack([fx_obj, fy_obj], axis=-1),
                    np.broadcast_to(cam, (n - 1, h, w, 2)))
    return flow.astype(np.float32), mask_obj, mask_bg


def _finish(img: np.ndarray, rng: np.random.Generator, noise_std: float) -> np.ndarray:
    """Add pixel noise to float frames in [0, 1] and quantise -> uint8, same shape."""
    img += rng.standard_normal(img.shape, dtype=np.float32) * np.float32(noise_std)
    img *= np.float32(255.0)
    np.rint(img, out=img)
    return np.clip(img, 0, 255).astype(np.uint8)


def render_images(n: int, rng: np.random.Generator, preset: str | SynthPreset) -> tuple[np.ndarray, np.ndarray]:
    """Single frames for image pretraining, a stand-in for ImageNet pretraining.

    Drawn from the same generator as the clips (background, object looks, sizes, noise), one
    object per image, no distractor; the label is appearance only: the object's shape, an
    index into ``IMAGE_CLASSES`` (uniform over the 8 shapes).

    Returns:
        (uint8 (n, H, W, 3) RGB images, int64 (n,) labels in [0, len(IMAGE_CLASSES))); H = W =
        ``preset.pack_size`` when set (rendered at the preset's size, INTER_AREA-resized like
        the packed frames), else the preset's height, width.
    """
    P = get_preset(preset)
    h, w = P.height, P.width
    S = min(h, w)
    out = np.empty((n, h, w, 3), np.uint8)
    labels = rng.integers(len(IMAGE_CLASSES), size=n).astype(np.int64)
    for i in range(n):
        look = _draw_look(rng, (0.55, 0.95), shape=int(labels[i]))
        img = _background(rng, h, w)[None].copy()
        r = rng.uniform(*P.radius) * S * rng.uniform(0.6, 1.4) ** (1 / 2)
        _draw(img, look, rng.uniform(0.3, 0.7) * w, rng.uniform(0.3, 0.7) * h, r,
              sx=rng.uniform(0.8, 1.2), theta=rng.uniform(0, 2 * np.pi))
        out[i] = _finish(img, rng, P.noise_std)[0]
    if P.pack_size is not None:
        from mmlkit.data.flow import resize_frames  # lazy: flow imports OpenCV

        out = resize_frames(out, P.pack_size, P.pack_size)
    return out, labels


# ------------------------------------------------------------------------------------------
# Writing the data set
# ------------------------------------------------------------------------------------------

_WEBM_MAGIC = b"\x1a\x45\xdf\xa3"  # EBML header


def default_root(preset: str, seed: int) -> Path:
    """``$MMLKIT_CACHE`` (else ``~/.cache/mmlkit``) ``/ synthetic-<preset>-<seed>-v<GENERATOR_VERSION>``
    (a new generator version writes a new folder instead of refusing the old one)."""
    base = os.environ.get("MMLKIT_CACHE") or Path.home() / ".cache" / "mmlkit"
    return Path(base) / f"synthetic-{preset}-{seed}-v{GENERATOR_VERSION}"


def _fill(template: str, names: list[str]) -> str:
    it = iter(names)
    return re.sub(r"\[something\]", lambda _: next(it), template)


def _plan(P: SynthPreset, seed: int) -> list[tuple[str, int, int, str]]:
    """Every clip as (split, index, class, id). Classes are shuffled within each split and ids
    are a shuffled range over all splits, so neither an index nor an id reveals the class."""
    k = len(P.classes)
    per = []
    for s in SPLITS:
        classes = np.repeat(np.arange(k), P.per_class(s))
        if s == "test" and P.test_clips is not None:
            classes = np.arange(P.test_clips) % k
        per.append((s, np.random.default_rng([int(seed), 100 + _SPLIT_CODE[s]]).permutation(classes)))
    total = sum(len(c) for _, c in per)
    ids = np.random.default_rng([int(seed), 200]).permutation(total) + 1
    out, j = [], 0
    for split, classes in per:
        for i, c in enumerate(classes):
            out.append((split, i, int(c), str(int(ids[j]))))
            j += 1
    return out


def _placeholders(seed: int, split: str, index: int, template: str) -> list[str]:
    rng = np.random.default_rng([int(seed), 300 + _SPLIT_CODE[split], int(index)])
    return ["a " + _NOUNS[int(i)] for i in rng.integers(len(_NOUNS), size=template.count("[something]"))]


def encode_webm(frames: np.ndarray, path: str | Path, fps: int = 12, crf: int = 6) -> None:
    """Write uint8 (N, H, W, 3) RGB frames as VP9 (yuv420p) webm, atomically (tmp + os.replace).

    H and W must be even (yuv420p). Deterministic: the same frames give the same bytes."""
    import av

    path = Path(path)
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    n, h, w, _ = frames.shape
    try:
        # bitexact: no muxing date / random ids, so the same frames give the same bytes
        with av.open(str(tmp), "w", format="webm", container_options={"fflags": "+bitexact"}) as box:
            st = box.add_stream("libvpx-vp9", rate=fps)
            st.width, st.height, st.pix_fmt = w, h, "yuv420p"
            st.thread_count = 1
            st.options = {"crf": str(crf), "b": "0", "deadline": "realtime", "cpu-used": "8"}
            for f in frames:
                box.mux(st.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")))
            box.mux(st.encode())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


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


def _clip_length(P: SynthPreset, seed: int, split: str, index: int) -> int:
    """The clip's frame count without rendering it (render_clip's first draw)."""
    return int(clip_rng(seed, split, index).integers(P.min_frames, P.max_frames + 1))


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _dump(path: Path, obj) -> None:
    _atomic_write(path, json.dumps(obj, indent=1).encode())


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
        if root.is_dir() and any(root.iterdir()):
            raise DataError(f"{root} is not empty and has no synthetic.json: not a synthetic data set; "
                            "choose an empty or new folder")
        return
    want = dict(version=GENERATOR_VERSION, preset=dataclasses.asdict(P), seed=int(seed))
    have = {key: meta.get(key) for key in want}
    if json.loads(json.dumps(want)) != have:
        diff = {key: (have[key], want[key]) for key in want if json.loads(json.dumps(want[key])) != have[key]}
        if "preset" in diff:  # keep the message short: name the preset
            diff["preset"] = ((have["preset"] or {}).get("name"), P.name)
        raise DataError(f"{root / 'synthetic.json'}: the folder holds another synthetic data set "
                        f"(field: (found, asked)) {diff}; use another root or delete this folder")


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
    labels = {c.replace("[", "").replace("]", ""): str(i) for i, c in enumerate(P.classes)}
    records: dict[str, list[dict]] = {s: [] for s in SPLITS}
    for split, index, cls, vid in plan:
        if split == "test":
            records[split].append({"id": vid})
            continue
        names = _placeholders(seed, split, index, P.classes[cls])
        label = _fill(P.classes[cls], names)
        records[split].append({"id": vid, "label": label[0].lower() + label[1:],
                               "template": P.classes[cls], "placeholders": names})
    meta = dict(generator="mmlkit.data.synthetic", version=GENERATOR_VERSION, preset=dataclasses.asdict(P),
                seed=int(seed), classes=list(P.classes), image_classes=list(IMAGE_CLASSES),
                counts={s: len(r) for s, r in records.items()}, complete=False, packed=False,
                num_frames={}, test_labels={vid: cls for s, _, cls, vid in plan if s == "test"})
    _dump(root / "synthetic.json", meta)
    _dump(root / "labels.json", labels)
    for split in SPLITS:
        _dump(root / f"something-something-v2-{split}.json", records[split])

    todo = []
    for split, index, cls, vid in plan:
        if _valid_video(root / "videos" / f"{vid}.webm"):
            meta["num_frames"][vid] = _clip_length(P, seed, split, index)
        else:
            todo.append((str(root), P, int(seed), split, index, cls, vid))
    t0 = time.perf_counter()
    bar = progress_bar(total=len(todo), desc=f"synthetic {P.name}", unit="clip", enabled=progress)
    pool = None
    try:
        if workers <= 1 or len(todo) <= 1:
            results = map(_write_clip, todo)
        else:
            ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
            pool = ProcessPoolExecutor(min(workers, len(todo)), mp_context=ctx)
            results = pool.map(_write_clip, todo, chunksize=max(1, min(16, len(todo) // (workers * 8))))
        for vid, n in results:
            meta["num_frames"][vid] = n
            bar.update(1)
    finally:
        bar.close()
        if pool is not None:
            pool.shutdown(cancel_futures=True)
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
    return bool(meta and meta.get("complete") and (meta.get("packed") or not pack))


def ensure_synthetic(root: str | Path | None, preset: str = "default", seed: int = 0, workers: int = 2,
                     pack: bool = True) -> Path:
    """``root`` (``None``: :func:`default_root`) holding a complete data set; generated if missing.

    Raises:
        DataError: ``root`` holds a different preset/seed (or something that is not synthetic).
    """
    root = Path(root) if root is not None else default_root(get_preset(preset).name, seed)
    if is_complete(root, preset, seed, pack):
        return root
    return generate(root, preset, seed, workers=workers, montage=True, pack=pack)


def write_montage(path: str | Path, preset: str | SynthPreset, seed: int, frames: int = 8, zoom: int = 3) -> Path:
    """A PNG with one row per class: ``frames`` evenly spaced frames of the class's first
    training clip (re-rendered: identical to the video's frames before encoding), the class
    template written on the left."""
    from PIL import Image, ImageDraw, ImageFont

    P = get_preset(preset)
    first: dict[int, int] = {}
    for split, index, cls, _ in _plan(P, seed):
        if split == "train":
            first.setdefault(cls, index)
    h, w, pad = P.height * zoom, P.width * zoom, 2
    try:
        font = ImageFont.load_default(size=max(10, min(16, h // 5)))
    except TypeError:  # Pillow < 10.1: bitmap font only
        font = ImageFont.load_default()
    text_w = int(max(font.getlength(f"{k}: {c}") for k, c in enumerate(P.classes))) + 16
    sheet = Image.new("RGB", (text_w + frames * (w + pad), len(P.classes) * (h + pad)), "white")
    draw = ImageDraw.Draw(sheet)
    for k, template in enumerate(P.classes):
        if k in first:
            clip = render_clip(k, clip_rng(seed, "train", first[k]), P)
        else:
            clip = render_clip(k, clip_rng(seed, "montage", k), P)
        y = k * (h + pad)
        draw.text((4, y + h // 2), f"{k}: {template}", fill="black", font=font, anchor="lm")
        for j, t in enumerate(np.linspace(0, len(clip) - 1, frames).round().astype(int)):
            im = Image.fromarray(clip[t]).resize((w, h), Image.NEAREST)
            sheet.paste(im, (text_w + j * (w + pad), y))
    path = Path(path)
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    sheet.save(tmp, format="PNG")
    os.replace(tmp, path)
    return path
