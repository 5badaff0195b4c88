"""Appearance: colours of a set luminance, shapes and textures in object coordinates, the
anti-aliased coverage of an object, compositing, backgrounds, the camera's view and the final
noise + quantisation.

Objects always differ from the background in luminance (objects, hands and covers have luma
>= 0.5, backgrounds <= 0.4; hue, saturation and texture are free): the pilot measured that an
RGB model trained from scratch stays at chance without that contrast. It is appearance, drawn
independently of the class.
"""

from __future__ import annotations

import colorsys
import math

import numpy as np

#: Object shapes, index = the ``shape`` code of :func:`_shape_field` (the labels of the image task).
SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "diamond", "star", "cross", "ring", "bar")
_LUMA = np.array([0.299, 0.587, 0.114])


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
    return dict(shape=int(rng.integers(len(SHAPES))) if shape is None else shape,
                hues=(rng.random(), rng.random()), sat=rng.uniform(0.45, 1.0), lumas=(y1, y2),
                texture=int(rng.integers(4)), tex_angle=rng.uniform(0, np.pi),
                tex_freq=rng.uniform(2.5, 4.5), tex_phase=rng.uniform(0, 2 * np.pi))


_ATAN2 = np.frompyfunc(math.atan2, 2, 1)


def atan2(y, x) -> np.ndarray:
    """``np.arctan2(y, x)`` (float64, broadcast) as the C library computes it, on every host.

    numpy's own ``arctan2`` runs code chosen by the CPU: its AVX-512 kernel rounds otherwise than
    the C library in about 8% of random inputs, and its path on AVX2 hosts differs from both on
    some of the renderer's. A benchmark rendered with it differs between hosts
    (``tests/data/test_data_bits.py``); ``math.atan2``, element by element, does not, and costs
    nothing measurable (the default benchmark's 8,961 clips rendered in 154 s against 155-157).
    """
    return np.asarray(_ATAN2(y, x), dtype=np.float64)


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
        return r / (0.68 + 0.32 * np.cos(5 * atan2(v, u)))
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


def _finish(img: np.ndarray, rng: np.random.Generator, noise_std: float) -> np.ndarray:
    """Add pixel noise to float frames in [0, 1] and quantise -> uint8, same shape."""
    img += rng.standard_normal(img.shape, dtype=np.float32) * np.float32(noise_std)
    img *= np.float32(255.0)
    np.rint(img, out=img)
    return np.clip(img, 0, 255).astype(np.uint8)
