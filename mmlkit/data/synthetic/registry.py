"""The motion registry: a :class:`Scene` a motion writes on, :func:`motion` to register one under
its class template, and the class pairs derived from the registered templates.

:func:`motion` registers a small function under its class template, with what the class is:
the template of the class it plays backwards (``reverses``) and, for a change of state that is
not a displacement, which state (``state``). Left/right mirror pairs need no declaration:
swapping the words "left" and "right" in a template gives its mirror class (as
:func:`mmlkit.data.sthv2.left_right_pairs` does for the flip augmentation).

Nothing here is indexed by class number: the pairs of a class list are looked up by template
(:func:`time_reversed_pairs`, :func:`left_right_pairs`, :func:`state_change_classes`), so
reordering ``CLASSES`` or a preset's ``classes`` cannot break them, and a template without a
registered motion is an error (:func:`get_motion`). The motions themselves are in :mod:`.motions`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from mmlkit.data.sthv2 import swap_left_right
from mmlkit.data.synthetic.drawing import atan2
from mmlkit.data.synthetic.presets import CLASSES, SynthPreset
from mmlkit.errors import DataError

#: The states a state-change class may change (``@motion(state=...)``).
STATES: tuple[str, ...] = ("visibility", "extent", "colour", "integrity")


@dataclass(eq=False)
class Scene:
    """One clip while its motion is set: the draws so far (read) and the pose (written).

    Read: ``rng`` (the clip's generator), ``preset``, ``n`` frames of ``h x w``, action progress
    ``p`` (linear) and ``q`` (eased), both (n,) in [0, 1], the looks of the main object and of
    the second one (``look2``: second object, cover or hand), radius ``r`` (pixels; a motion may
    lower it), start pose ``x0, y0, theta0``.

    Written (defaults: static): per-frame centre ``x, y`` (world pixels), scale ``s``, axis
    scales ``sx, sy``, angle ``th``, opacity ``al``, hue shift ``hue`` (scalars or (n,)
    arrays), camera offset ``cam`` (n, 2) and ``extra``: draw arguments of objects drawn over
    the main one (world coordinates).
    """

    rng: np.random.Generator
    preset: SynthPreset
    n: int
    h: int
    w: int
    p: np.ndarray
    q: np.ndarray
    look: dict
    look2: dict
    r: float
    x0: float
    y0: float
    theta0: float
    x: np.ndarray = field(init=False)
    y: np.ndarray = field(init=False)
    s: np.ndarray = field(init=False)
    sx: np.ndarray = field(init=False)
    sy: np.ndarray = field(init=False)
    th: np.ndarray = field(init=False)
    al: np.ndarray = field(init=False)
    hue: np.ndarray = field(init=False)
    cam: np.ndarray = field(init=False)
    extra: list[dict] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        one = np.ones(self.n)
        self.x, self.y, self.s, self.sx, self.sy = self.x0 * one, self.y0 * one, one, one, one
        self.th, self.al, self.hue = self.theta0 * one, one, 0.0 * one
        self.cam = np.zeros((self.n, 2))

    @property
    def S(self) -> int:
        """The frame's short side: sizes are fractions of it."""
        return min(self.h, self.w)

    @property
    def px(self) -> float:
        """One pixel at S = 32: the few absolute constants scale with it (exactly 1.0 at 32)."""
        return self.S / 32

    def hand_to(self, tx, ty, direction, progress) -> None:
        """An arm (``look2``) whose tip moves along ``direction`` from 0.9 S before ``(tx, ty)``
        to it as ``progress`` goes from 0 to 1."""
        S = self.S
        direction = np.asarray(direction, float)
        sx_, sy_ = np.asarray(tx) - direction[0] * 0.9 * S, np.asarray(ty) - direction[1] * 0.9 * S
        hx, hy = sx_ + (np.asarray(tx) - sx_) * progress, sy_ + (np.asarray(ty) - sy_) * progress
        self.extra.append(_hand_spec(self.look2, hx, hy, direction, 0.35 * self.r + 1.0 * self.px, 1.2 * S))


def _hand_spec(look: dict, tip_x, tip_y, direction, thick: float, reach: float) -> dict:
    """Draw arguments of an arm: a long bar ending at ``tip`` (world coords), coming from
    ``-direction`` (a unit (2,) vector)."""
    look = dict(look, shape=1, texture=1, tex_angle=0.0)  # bar, a slightly different tip half
    return dict(look=look, x=tip_x - direction[0] * reach, y=tip_y - direction[1] * reach,
                r=reach / 0.8, sx=1.0, sy=thick / reach, theta=float(atan2(direction[1], direction[0])))


# ------------------------------------------------------------------------------------------
# The registry
# ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Motion:
    """A registered motion: its class ``template``, the function, the template of the class it
    plays backwards (``reverses``, or None) and the state it changes (``state``, or None: it
    moves the object or the camera)."""

    template: str
    fn: Callable[[Scene], None]
    reverses: str | None = None
    state: str | None = None


MOTIONS: dict[str, Motion] = {}


def motion(template: str, *, reverses: str | None = None,
           state: str | None = None) -> Callable[[Callable[[Scene], None]], Callable[[Scene], None]]:
    """Register the decorated function as the motion of class ``template``.

    Args:
        template: the class template, e.g. ``"Moving [something] up"``.
        reverses: the template of the class this one plays backwards (declared on one side).
        state: one of :data:`STATES` for a class that changes the object's state rather than moving it.

    Raises:
        ValueError: the template is registered already, or ``state`` is not one of :data:`STATES`.
    """
    if template in MOTIONS:
        raise ValueError(f"a motion is registered already for the template {template!r}")
    if state is not None and state not in STATES:
        raise ValueError(f"state={state!r} for {template!r}; expected one of {STATES}")

    def register(fn: Callable[[Scene], None]) -> Callable[[Scene], None]:
        MOTIONS[template] = Motion(template, fn, reverses, state)
        return fn

    return register


def get_motion(template: str) -> Motion:
    """The motion registered for ``template``.

    Raises:
        DataError: no motion is registered for it (names the template).
    """
    if template not in MOTIONS:
        raise DataError(f"no motion is registered for the class template {template!r}; a synthetic preset's "
                        "classes must be templates of mmlkit.data.synthetic.CLASSES (or register one with "
                        "@motion in mmlkit/data/synthetic/motions.py)")
    return MOTIONS[template]


def reverse_of(template: str) -> str | None:
    """The template of the class that plays ``template`` backwards (declared on either side), or None."""
    own = get_motion(template).reverses
    if own is not None:
        return own
    found = [m.template for m in MOTIONS.values() if m.reverses == template]
    return found[0] if found else None


def mirror_of(template: str) -> str | None:
    """The template a horizontal flip turns ``template`` into (left and right swapped), or None."""
    get_motion(template)
    other = swap_left_right(template)
    return other if other != template else None


def _index(classes: tuple[str, ...] | list[str]) -> dict[str, int]:
    """Template -> index; every template must have a motion and appear once."""
    index: dict[str, int] = {}
    for i, template in enumerate(classes):
        get_motion(template)
        if template in index:
            raise DataError(f"class template {template!r} appears twice (indices {index[template]} and {i})")
        index[template] = i
    return index


def _pairs(classes, partner: Callable[[str], str | None]) -> tuple[tuple[int, int], ...]:
    index = _index(classes)
    found = {tuple(sorted((index[t], index[o]))) for t in index if (o := partner(t)) is not None and o in index}
    return tuple(sorted(found))  # type: ignore[arg-type]


def time_reversed_pairs(classes: tuple[str, ...] | list[str] = CLASSES) -> tuple[tuple[int, int], ...]:
    """Index pairs ``(a, b)``, ``a < b``, of ``classes`` where one class is the other played
    backwards (pairs whose partner is not in ``classes`` are left out).

    Raises:
        DataError: a template has no registered motion, or appears twice.
    """
    return _pairs(classes, reverse_of)


def left_right_pairs(classes: tuple[str, ...] | list[str] = CLASSES) -> tuple[tuple[int, int], ...]:
    """Index pairs ``(a, b)``, ``a < b``, of ``classes`` that a horizontal flip turns into each other.

    Raises:
        DataError: a template has no registered motion, or appears twice.
    """
    return _pairs(classes, mirror_of)


def state_change_classes(classes: tuple[str, ...] | list[str] = CLASSES) -> tuple[int, ...]:
    """Indices of ``classes`` that change the object's state (visibility, extent, colour,
    integrity) rather than move it.

    Raises:
        DataError: a template has no registered motion, or appears twice.
    """
    index = _index(classes)
    return tuple(sorted(i for t, i in index.items() if MOTIONS[t].state is not None))


def check_registry() -> None:
    """Every class of ``CLASSES`` has a motion, every declared or mirror partner is registered,
    and each class plays at most one other class backwards (not itself).

    Raises:
        DataError: names the template that breaks it.
    """
    _index(CLASSES)
    partner: dict[str, str] = {}
    for m in MOTIONS.values():
        for other in (m.reverses, swap_left_right(m.template)):
            if other is not None and other not in MOTIONS:
                raise DataError(f"{m.template!r}: its partner {other!r} has no registered motion")
        if m.reverses is None:
            continue
        if m.reverses == m.template:
            raise DataError(f"{m.template!r} is declared its own time reversal")
        for a, b in ((m.template, m.reverses), (m.reverses, m.template)):
            if partner.setdefault(a, b) != b:
                raise DataError(f"{a!r} is declared the time reversal of both {partner[a]!r} and {b!r}")
