"""The class design of the synthetic benchmark, checked on rendered clips and their ground truth:
time-reversed pairs play each other backwards, left/right pairs mirror each other, state-change
classes change the object's state; the pairs follow the templates, never the class order."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import ndimage

from mmlkit.data import synthetic as S
from mmlkit.data.synthetic import registry
from mmlkit.errors import DataError

SMOKE = S.PRESETS["smoke"]
SEEDS = range(6)


def render(template: str, seed: int, preset: S.SynthPreset = SMOKE) -> tuple[np.ndarray, dict]:
    """Frames and truth of ``template``'s clip from the generator of (seed, train, 0): the two
    clips of a pair share their look, scene and nuisance (drawn before the motion)."""
    return S.render_clip(preset.classes.index(template), S.clip_rng(seed, "train", 0), preset, return_truth=True)


def pair_id(pair: tuple[int, int]) -> str:
    return " / ".join(S.CLASSES[k] for k in pair)


# ------------------------------------------------------------------------------------------
# Time-reversed pairs
# ------------------------------------------------------------------------------------------

def scene_state(t: dict) -> np.ndarray:
    """(N, 8) per frame: the main object's world centre (x, y: camera offset added back), radius,
    sx, sy, angle, opacity, and the fraction of its disc hidden by what is drawn over it (cover,
    second object, hand: coverage > 0.5, as :func:`ground_truth_flow`'s ``visible``)."""
    X = np.arange(t["width"])[None, None, :] + 0.5
    Y = np.arange(t["height"])[None, :, None] + 0.5
    disc = (X - t["x"][:, None, None]) ** 2 + (Y - t["y"][:, None, None]) ** 2 < (0.8 * t["r"][:, None, None]) ** 2
    hidden = ((t["cover_extra"] > 0.5) & disc).sum((1, 2)) / np.maximum(disc.sum((1, 2)), 1)
    return np.stack([t["x"] + t["ox"], t["y"] + t["oy"], t["r"], t["sx"], t["sy"], t["theta"], t["alpha"], hidden], 1)


def test_time_reversed_pairs_are_declared_by_template():
    named = {frozenset((S.CLASSES[a], S.CLASSES[b])) for a, b in S.TIME_REVERSED_PAIRS}
    assert frozenset(("Moving [something] up", "Moving [something] down")) in named
    assert frozenset(("Covering [something] with [something]", "Uncovering [something]")) in named
    assert len(named) == len(S.TIME_REVERSED_PAIRS) == 9
    assert all(a < b for a, b in S.TIME_REVERSED_PAIRS)


@pytest.mark.parametrize("pair", S.TIME_REVERSED_PAIRS, ids=pair_id)
def test_time_reversed_pair_plays_backwards(pair):
    """What class A changes from its first to its last frame, class B changes back: the scene's
    net change in B is minus A's (pose, size, shape, opacity, how much of the object is hidden),
    exactly, for the same scene, and it is not nothing."""
    a, b = (S.CLASSES[k] for k in pair)
    for seed in SEEDS:
        sa, sb = scene_state(render(a, seed)[1]), scene_state(render(b, seed)[1])
        da, db = sa[-1] - sa[0], sb[-1] - sb[0]
        assert np.abs(da).max() > 0.5, (a, seed, da)
        np.testing.assert_allclose(db, -da, atol=1e-6, err_msg=f"{b!r} does not undo {a!r} (seed {seed})")


# ------------------------------------------------------------------------------------------
# Left/right pairs
# ------------------------------------------------------------------------------------------

def motion_signature(t: dict) -> np.ndarray:
    """(N, 6) per frame, relative to frame 0: the object's image centre (x, y), angle, camera
    offset (x, y), and where the objects drawn over it are, horizontally, relative to it."""
    X = np.arange(t["width"])[None, None, :] + 0.5
    m = t["cover_extra"].astype(np.float64)
    side = ((X - t["x"][:, None, None]) * m).sum((1, 2)) / np.maximum(m.sum((1, 2)), 1e-9)
    sig = np.stack([t["x"], t["y"], t["theta"], t["ox"], t["oy"], side], 1)
    sig[:, :5] -= sig[0, :5]
    return sig


#: A horizontal flip negates x motions and angles (clockwise <-> counterclockwise), keeps y.
FLIP = np.array([-1, 1, -1, -1, 1, -1])


def test_left_right_pairs_are_the_flip_pairs_of_the_loader():
    from mmlkit.data import sthv2

    labels = {sthv2.strip_template(c): i for i, c in enumerate(S.CLASSES)}
    flip = sthv2.left_right_pairs(labels)
    assert {(a, b) for a, b in flip.items() if a < b} == set(S.LEFT_RIGHT_PAIRS)
    assert len(S.LEFT_RIGHT_PAIRS) == 4


@pytest.mark.parametrize("pair", S.LEFT_RIGHT_PAIRS, ids=pair_id)
def test_left_right_pair_mirrors(pair):
    """B's motion is A's seen in a mirror, frame by frame: x motion (object and camera) and
    rotation of opposite sign, the same y motion, the hand on the other side. The camera shake,
    a nuisance both clips share and a mirror would flip too, is off so that this is exact."""
    still = dataclasses.replace(SMOKE, shake=0.0)
    a, b = (S.CLASSES[k] for k in pair)
    for seed in SEEDS:
        ta, tb = render(a, seed, still)[1], render(b, seed, still)[1]
        sa, sb = motion_signature(ta), motion_signature(tb)
        moved = max(np.abs(sa[:, [0, 1, 3, 4]]).max(), np.abs(sa[:, 2]).max() * ta["r"][0])
        assert moved > 1.0, (a, seed)  # pixels: something moves
        np.testing.assert_allclose(sb, sa * FLIP, atol=1e-3, err_msg=f"{b!r} is not {a!r} mirrored (seed {seed})")


# ------------------------------------------------------------------------------------------
# State-change classes
# ------------------------------------------------------------------------------------------

def pieces(cover: np.ndarray) -> int:
    """Connected pieces of a coverage map (> 0.5)."""
    return int(ndimage.label(cover > 0.5)[1])


def object_colour(frames: np.ndarray, t: dict, k: int) -> np.ndarray:
    """Mean RGB in [0, 1] of frame k's pixels fully covered by the object and nothing over it."""
    m = (t["cover_object"][k] > 0.99) & (t["cover_extra"][k] < 0.01)
    assert m.sum() >= 10
    return frames[k][m].astype(np.float64).mean(0) / 255


def state_changed(state: str, template: str, seed: int) -> bool:
    """Whether the clip of ``template`` really changes ``state`` (measured on the truth or the frames)."""
    frames, t = render(template, seed)
    if state == "visibility":  # transparent <-> opaque
        return abs(t["alpha"][-1] - t["alpha"][0]) > 0.9
    if state == "extent":  # aspect ratio, at the frame where it differs most from the start
        return np.abs(np.log(t["sx"] / t["sy"]) - np.log(t["sx"][0] / t["sy"][0])).max() > 0.3
    if state == "integrity":  # one piece -> two pieces (the halves are drawn over the hidden object)
        return pieces(t["cover_extra"][0]) == 1 and pieces(t["cover_extra"][-1]) == 2
    if state == "colour":  # against the same look, held still (same generator: same object)
        held, th = render("Holding [something]", seed)
        change = np.abs(object_colour(frames, t, -1) - object_colour(frames, t, 0)).max()
        still = np.abs(object_colour(held, th, -1) - object_colour(held, th, 0)).max()
        return change > 0.01 and change > 5 * still
    raise AssertionError(f"no measurement for state {state!r}")


def test_state_change_classes_are_declared_by_template():
    named = {S.CLASSES[k] for k in S.STATE_CHANGE_CLASSES}
    assert {"Painting [something] a different colour", "Tearing [something] into two pieces",
            "Making [something] appear", "Folding [something]"} <= named
    assert {S.get_motion(t).state for t in named} == set(S.STATES)


@pytest.mark.parametrize("k", S.STATE_CHANGE_CLASSES, ids=lambda k: S.CLASSES[k])
def test_state_change_class_changes_state_in_place(k):
    template = S.CLASSES[k]
    state = S.get_motion(template).state
    for seed in SEEDS:
        assert state_changed(state, template, seed), (template, state, seed)
        t = render(template, seed)[1]
        wx, wy = t["x"] + t["ox"], t["y"] + t["oy"]  # world centre
        travel = np.hypot(wx - wx[0], wy - wy[0]).max()
        assert travel < t["r"].max(), (template, seed)  # a change of state, not a displacement


def test_other_classes_keep_their_state():
    """Outside the state-change classes the object stays opaque and keeps its proportions."""
    for k, template in enumerate(S.CLASSES):
        if k in S.STATE_CHANGE_CLASSES:
            continue
        for seed in SEEDS[:3]:
            t = render(template, seed)[1]
            assert (t["alpha"] == 1).all() and (t["sx"] == 1).all() and (t["sy"] == 1).all(), template


# ------------------------------------------------------------------------------------------
# Templates, not indices
# ------------------------------------------------------------------------------------------

def named_pairs(pairs, classes) -> set[frozenset[str]]:
    return {frozenset((classes[a], classes[b])) for a, b in pairs}


def test_reordering_classes_keeps_pairs_and_clips():
    order = np.random.default_rng(0).permutation(len(S.CLASSES))
    shuffled = tuple(S.CLASSES[i] for i in order)
    assert shuffled != S.CLASSES
    for derive, pairs in ((S.time_reversed_pairs, S.TIME_REVERSED_PAIRS), (S.left_right_pairs, S.LEFT_RIGHT_PAIRS)):
        assert named_pairs(derive(shuffled), shuffled) == named_pairs(pairs, S.CLASSES)
    assert {shuffled[k] for k in S.state_change_classes(shuffled)} == {S.CLASSES[k] for k in S.STATE_CHANGE_CLASSES}
    # the motion follows the template: the same template renders the same clip at its new index
    P = dataclasses.replace(SMOKE, classes=shuffled)
    for template in ("Moving [something] up", "Tearing [something] into two pieces", "Uncovering [something]"):
        np.testing.assert_array_equal(render(template, 3, P)[0], render(template, 3)[0])
    # a subset keeps the pairs it holds whole
    part = ("Moving [something] down", "Holding [something]", "Moving [something] up", "Rotating [something] to the left")
    assert S.time_reversed_pairs(part) == ((0, 2),) and S.left_right_pairs(part) == ()


def test_template_without_motion_is_an_error():
    unknown = "Juggling [something]"
    P = dataclasses.replace(SMOKE, classes=SMOKE.classes[:-1] + (unknown,))
    with pytest.raises(DataError, match="Juggling"):
        S.render_clip(len(P.classes) - 1, S.clip_rng(0, "train", 0), P)
    for derive in (S.time_reversed_pairs, S.left_right_pairs, S.state_change_classes):
        with pytest.raises(DataError, match="Juggling"):
            derive(P.classes)
    with pytest.raises(DataError, match="appears twice"):
        S.time_reversed_pairs(S.CLASSES + S.CLASSES[:1])


def test_registry_refuses_inconsistent_declarations(monkeypatch):
    with pytest.raises(ValueError, match="registered already"):
        S.motion(S.CLASSES[0])(lambda sc: None)
    with pytest.raises(ValueError, match="state="):
        S.motion("Juggling [something]", state="mood")
    registry.check_registry()  # the shipped registry is consistent
    t = "Juggling [something]"
    for declared, error in (("Catching [something]", "Catching"), ("Moving [something] up", "time reversal of both"),
                            (t, "its own time reversal")):
        with monkeypatch.context() as m:
            m.setitem(S.MOTIONS, t, S.Motion(t, lambda sc: None, reverses=declared))
            with pytest.raises(DataError, match=error):
                registry.check_registry()
    t = "Moving [something] to the left"  # its mirror ("... to the right") has no motion
    with monkeypatch.context() as m:
        m.setitem(S.MOTIONS, t, S.Motion(t, lambda sc: None))
        with pytest.raises(DataError, match="to the right"):
            registry.check_registry()
    registry.check_registry()


def test_bad_render_input_is_a_data_error():
    rng = S.clip_rng(0, "train", 0)
    for bad in (-1, len(SMOKE.classes), 1.0, True, "0"):
        with pytest.raises(DataError, match="class_index"):
            S.render_clip(bad, rng, SMOKE)
    with pytest.raises(DataError, match="min_frames=4"):
        S.render_clip(0, rng, dataclasses.replace(SMOKE, min_frames=4))
    with pytest.raises(DataError, match="max_frames=20"):
        S.render_clip(0, rng, dataclasses.replace(SMOKE, min_frames=24, max_frames=20))
    assert len(S.render_clip(np.int64(0), S.clip_rng(0, "train", 0), SMOKE)) >= SMOKE.min_frames
    _, t = render(S.CLASSES[0], 0)
    with pytest.raises(DataError, match="height=48"):
        S.ground_truth_flow(t, height=48)
