"""Clips: :func:`render_clip` (a scene, its class's motion, nuisance, frames and ground truth) and
:func:`ground_truth_flow` (the exact optical flow of a rendered clip)."""

from __future__ import annotations

import numpy as np

from mmlkit.data.synthetic.drawing import _background, _coverage, _draw, _draw_look, _finish, _view
from mmlkit.data.synthetic.motions import Scene
from mmlkit.data.synthetic.presets import SynthPreset, get_preset
from mmlkit.data.synthetic.registry import Motion, get_motion
from mmlkit.errors import DataError


def _progress(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Action progress per frame: (linear p, eased p), both (n,) in [0, 1]; 0 before the random
    start, 1 after the random end."""
    d = max(8, int(round(rng.uniform(0.4, 0.85) * n)))
    t0 = int(rng.integers(0, n - d + 1))
    p = np.clip((np.arange(n) - t0) / (d - 1), 0.0, 1.0)
    ease = int(rng.integers(4))
    q = [p, p * p * (3 - 2 * p), p * p, 1 - (1 - p) ** 2][ease]
    return p, q


def _check_clip_args(P: SynthPreset, class_index) -> Motion:
    """The motion of ``class_index`` in ``P``, after checking what the renderer needs.

    Raises:
        DataError: the index is not an integer in range, the preset's template has no registered
            motion, or its frame range cannot hold an action (names the value).
    """
    if isinstance(class_index, bool) or not isinstance(class_index, (int, np.integer)):
        raise DataError(f"class_index={class_index!r} is not an integer class index")
    if not 0 <= class_index < len(P.classes):
        raise DataError(f"class_index={class_index} is out of range 0..{len(P.classes) - 1}")
    if not 8 <= P.min_frames <= P.max_frames:
        raise DataError(f"preset {P.name!r}: min_frames={P.min_frames}, max_frames={P.max_frames}; "
                        "need 8 <= min_frames <= max_frames (an action lasts at least 8 frames)")
    return get_motion(P.classes[class_index])


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
        class_index: 0-based class index; its template (``preset.classes[class_index]``) chooses
            the motion (:func:`~.registry.get_motion`), so the classes may come in any order.
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

    Raises:
        DataError: ``class_index`` is not an integer in range, the preset's template for it has
            no registered motion, or the preset's frame range is impossible (names the value).
    """
    P = get_preset(preset)
    move = _check_clip_args(P, class_index)
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

    # The class's motion sets the main object's pose per frame, the camera and the objects drawn
    # over the main one (defaults: static).
    sc = Scene(rng, P, n, h, w, p, q, look, look2, r, x0, y0, theta0)
    move.fn(sc)
    x, y, s, sx, sy, th, al, hue, r, cam, extra = (sc.x, sc.y, sc.s, sc.sx, sc.sy, sc.th, sc.al, sc.hue, sc.r,
                                                   sc.cam, sc.extra)

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

    Raises:
        DataError: ``height`` or ``width`` is not the truth's frame size.
    """
    h, w = int(truth["height"]), int(truth["width"])
    if (height is not None and height != h) or (width is not None and width != w):
        raise DataError(f"ground_truth_flow: the truth is of {h}x{w} frames, asked height={height}, width={width}")
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
