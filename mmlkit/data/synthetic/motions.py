"""The motion of every class: one small function per class template, registered with
:func:`~.registry.motion` (which also declares the class's time-reversed partner and whether it
changes the object's state), and the class pairs of ``CLASSES`` derived from the registry.

A motion draws from the clip's generator after the scene (:func:`~.render.render_clip`); its
draws and their order are part of the data set: changing them needs a new ``GENERATOR_VERSION``.
"""

from __future__ import annotations

import numpy as np

from mmlkit.data.synthetic.presets import CLASSES
from mmlkit.data.synthetic.registry import (Scene, check_registry, left_right_pairs, motion, state_change_classes,
                                            time_reversed_pairs)


def _slide(sc: Scene, sign: int, vertical: bool) -> None:
    """Through the frame centre by 0.4-0.6 S; ``sign`` +1: to the right (down)."""
    length = sc.rng.uniform(0.4, 0.6) * sc.S
    if not vertical:
        sc.x = sc.w / 2 + sign * length * (sc.q - 0.5) + sc.rng.uniform(-0.08, 0.08) * sc.w
    else:
        sc.y = sc.h / 2 + sign * length * (sc.q - 0.5) + sc.rng.uniform(-0.08, 0.08) * sc.h


@motion("Moving [something] from left to right")
def moving_left_to_right(sc: Scene) -> None:
    _slide(sc, 1, vertical=False)


@motion("Moving [something] from right to left", reverses="Moving [something] from left to right")
def moving_right_to_left(sc: Scene) -> None:
    _slide(sc, -1, vertical=False)


@motion("Moving [something] up")
def moving_up(sc: Scene) -> None:
    _slide(sc, -1, vertical=True)


@motion("Moving [something] down", reverses="Moving [something] up")
def moving_down(sc: Scene) -> None:
    _slide(sc, 1, vertical=True)


def _push(sc: Scene, sign: int) -> None:
    """A hand comes from the ``-sign`` side, touches the object at 30% of the action, pushes it."""
    length = sc.rng.uniform(0.3, 0.45) * sc.S
    split = 0.3
    qq = np.clip((sc.q - split) / (1 - split), 0, 1)
    sc.x = sc.w / 2 + sign * length * (qq - 0.5)
    sc.th = np.zeros(sc.n) + sc.rng.choice([0, np.pi / 2, np.pi / 4])
    sc.hand_to(sc.x - sign * (sc.r + 0.5 * sc.px), sc.y, (sign, 0.0), np.clip(sc.q / split, 0, 1))


@motion("Pushing [something] from left to right")
def pushing_left_to_right(sc: Scene) -> None:
    _push(sc, 1)


@motion("Pushing [something] from right to left", reverses="Pushing [something] from left to right")
def pushing_right_to_left(sc: Scene) -> None:
    _push(sc, -1)


def _pan(sc: Scene, sign: int) -> None:
    """The camera pans by 0.3-0.45 S; ``sign`` +1: it turns left, so the scene moves right."""
    pan = sc.rng.uniform(0.3, 0.45) * sc.S
    sc.cam[:, 0] = -sign * pan * (sc.q - 0.5)
    sc.x = sc.w / 2 + sc.rng.uniform(-0.1, 0.1) * sc.w


@motion("Turning the camera left while filming [something]")
def turning_camera_left(sc: Scene) -> None:
    _pan(sc, 1)


@motion("Turning the camera right while filming [something]")
def turning_camera_right(sc: Scene) -> None:
    _pan(sc, -1)


def _rotate(sc: Scene, sign: int) -> None:
    """By 90-180 degrees; ``sign`` +1: clockwise as the camera sees it (the top moves right)."""
    sc.th = sc.theta0 + sign * sc.rng.uniform(0.5, 1.0) * np.pi * sc.q


@motion("Rotating [something] to the left")
def rotating_left(sc: Scene) -> None:
    _rotate(sc, -1)


@motion("Rotating [something] to the right", reverses="Rotating [something] to the left")
def rotating_right(sc: Scene) -> None:
    _rotate(sc, 1)


def _depth(sc: Scene, towards: bool) -> None:
    """Scale 0.5-0.6 <-> 1.35-1.5 with a little vertical drift (perspective)."""
    big, small = sc.rng.uniform(1.35, 1.5), sc.rng.uniform(0.5, 0.6)
    qq = sc.q if towards else 1 - sc.q
    sc.s = small + (big - small) * qq
    sc.y = sc.y0 + 0.1 * sc.h * (qq - 0.5)
    sc.r = min(sc.r, 0.3 * sc.S)


@motion("Moving [something] towards the camera")
def moving_towards_camera(sc: Scene) -> None:
    _depth(sc, towards=True)


@motion("Moving [something] away from the camera", reverses="Moving [something] towards the camera")
def moving_away_from_camera(sc: Scene) -> None:
    _depth(sc, towards=False)


def _cover(sc: Scene, covering: bool) -> None:
    """A square cover (``look2``) slides over the object from a random side (or off it)."""
    ang = sc.rng.uniform(0, 2 * np.pi)
    travel = 0.9 * sc.S
    qq = 1 - sc.q if covering else sc.q
    cx, cy = sc.x0 + np.cos(ang) * travel * qq, sc.y0 + np.sin(ang) * travel * qq
    look_c = dict(sc.look2, shape=1)
    sc.extra.append(dict(look=look_c, x=cx, y=cy, r=(sc.r * 1.4 + 1.5 * sc.px) / 0.8, theta=0.0))


@motion("Covering [something] with [something]")
def covering(sc: Scene) -> None:
    _cover(sc, covering=True)


@motion("Uncovering [something]", reverses="Covering [something] with [something]")
def uncovering(sc: Scene) -> None:
    _cover(sc, covering=False)


@motion("Making [something] appear", state="visibility")
def making_appear(sc: Scene) -> None:
    sc.al = sc.q


@motion("Making [something] disappear", reverses="Making [something] appear", state="visibility")
def making_disappear(sc: Scene) -> None:
    sc.al = 1 - sc.q


def _fold(sc: Scene, folding: bool) -> None:
    """Squash along the object's v axis by 50-60%, its bottom edge fixed."""
    qq = sc.q if folding else 1 - sc.q
    sc.sy = 1 - sc.rng.uniform(0.5, 0.6) * qq
    sc.x = sc.x0 - np.sin(sc.th) * sc.r * (1 - sc.sy)
    sc.y = sc.y0 + np.cos(sc.th) * sc.r * (1 - sc.sy)


@motion("Folding [something]", state="extent")
def folding(sc: Scene) -> None:
    _fold(sc, folding=True)


@motion("Unfolding [something]", reverses="Folding [something]", state="extent")
def unfolding(sc: Scene) -> None:
    _fold(sc, folding=False)


def _pair(sc: Scene, closer: bool) -> None:
    """The object and a second one (``look2``) on a line through a point near the centre."""
    rng, S, r = sc.rng, sc.S, sc.r
    ang = rng.uniform(0, np.pi)
    r2 = rng.uniform(*sc.preset.radius) * S
    near, far = r + r2 + 1.0 * sc.px, rng.uniform(0.55, 0.7) * S
    qq = sc.q if closer else 1 - sc.q
    d = far + (near - far) * qq
    mx, my = sc.w / 2 + rng.uniform(-0.05, 0.05) * sc.w, sc.h / 2 + rng.uniform(-0.05, 0.05) * sc.h
    sc.x, sc.y = mx - np.cos(ang) * d * r / (r + r2), my - np.sin(ang) * d * r / (r + r2)
    x2, y2 = mx + np.cos(ang) * d * r2 / (r + r2), my + np.sin(ang) * d * r2 / (r + r2)
    sc.extra.append(dict(look=sc.look2, x=x2, y=y2, r=r2, theta=sc.theta0 + 1.0))


@motion("Moving [something] and [something] closer to each other")
def moving_closer(sc: Scene) -> None:
    _pair(sc, closer=True)


@motion("Moving [something] and [something] away from each other",
        reverses="Moving [something] and [something] closer to each other")
def moving_apart(sc: Scene) -> None:
    _pair(sc, closer=False)


@motion("Painting [something] a different colour", state="colour")
def painting(sc: Scene) -> None:  # hue shift of 0.3-0.7 turns at the same luminance
    sc.hue = sc.rng.uniform(0.3, 0.7) * sc.q


def _upright(sc: Scene) -> np.ndarray:
    """An angle near 0 or 90 degrees, so the deformation is along the image axes."""
    return np.zeros(sc.n) + sc.rng.choice([0, np.pi / 2]) + sc.rng.uniform(-0.3, 0.3)


@motion("Stretching [something]", state="extent")
def stretching(sc: Scene) -> None:
    sc.sx = 1 + sc.rng.uniform(0.5, 0.8) * sc.q
    sc.th = _upright(sc)


@motion("Squeezing [something]", state="extent")
def squeezing(sc: Scene) -> None:  # squeezed and let go
    a = sc.rng.uniform(0.35, 0.5) * np.sin(np.pi * sc.p)
    sc.sx, sc.sy = 1 - a, 1 + 0.3 * a
    sc.th = _upright(sc)


@motion("Tearing [something] into two pieces", state="integrity")
def tearing(sc: Scene) -> None:  # the main object is replaced by its two halves, drawn as extras
    d = sc.q * (0.35 * sc.r + 1.5 * sc.px)
    ca, sa = np.cos(sc.theta0), np.sin(sc.theta0)
    sc.al = 0.0 * np.ones(sc.n)
    for side in (1, -1):
        sc.extra.append(dict(look=sc.look, x=sc.x0 + side * ca * d, y=sc.y0 + side * sa * d, r=sc.r,
                             theta=sc.theta0, half=side))


@motion("Holding [something]")
def holding(sc: Scene) -> None:  # only a slight drift
    sc.x = sc.x0 + np.cumsum(sc.rng.normal(0, 0.02 * sc.S / np.sqrt(sc.n), sc.n))
    sc.y = sc.y0 + np.cumsum(sc.rng.normal(0, 0.02 * sc.S / np.sqrt(sc.n), sc.n))


@motion("Letting [something] fall down")
def letting_fall(sc: Scene) -> None:  # with a small bounce
    y0 = sc.rng.uniform(0.15, 0.35) * sc.h
    fall = sc.rng.uniform(0.35, 0.5) * sc.h
    p = sc.p
    sc.y = y0 + fall * np.where(p < 0.8, (p / 0.8) ** 2, 1 - 0.15 * np.sin(np.pi * (p - 0.8) / 0.2))


@motion("Throwing [something] in the air and catching it")
def throwing_and_catching(sc: Scene) -> None:
    y0 = sc.rng.uniform(0.65, 0.8) * sc.h
    sc.y = y0 - sc.rng.uniform(0.35, 0.5) * sc.h * 4 * sc.p * (1 - sc.p)


@motion("Shaking [something]")
def shaking(sc: Scene) -> None:
    sc.x = sc.x0 + sc.rng.uniform(0.06, 0.1) * sc.S * np.sin(2 * np.pi * sc.rng.uniform(2, 4) * sc.p)


@motion("Poking [something] so lightly that it doesn't or almost doesn't move")
def poking(sc: Scene) -> None:  # from a random side; the object barely moves
    ang = sc.rng.choice([0, 0.5, 1, 1.5]) * np.pi
    dvec = (np.cos(ang), np.sin(ang))
    reach = np.sin(np.pi * sc.p)
    px, r = sc.px, sc.r
    sc.x, sc.y = sc.x0 + dvec[0] * (0.4 * px) * reach, sc.y0 + dvec[1] * (0.4 * px) * reach
    sc.hand_to(sc.x - dvec[0] * (r + 0.5 * px), sc.y - dvec[1] * (r + 0.5 * px), dvec, reach)


check_registry()
#: Index pairs of ``CLASSES`` where one class is the other played backwards.
TIME_REVERSED_PAIRS: tuple[tuple[int, int], ...] = time_reversed_pairs(CLASSES)
#: Index pairs of ``CLASSES`` that a horizontal flip turns into each other.
LEFT_RIGHT_PAIRS: tuple[tuple[int, int], ...] = left_right_pairs(CLASSES)
#: Classes of ``CLASSES`` that change the object's state (visibility, extent, colour, integrity) rather than move it.
STATE_CHANGE_CLASSES: tuple[int, ...] = state_change_classes(CLASSES)
