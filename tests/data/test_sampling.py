"""Samplers: method.md's worked example, properties checked by enumerating segments (independent
of the formulas), edge cases, and a loop transcription of the formulas as a regression guard."""

from __future__ import annotations

import numpy as np
import pytest

from mmlkit.data import sampling as S

MODES = ("uniform", "dense", "random")


# ---- regression guard: method.md's formulas transcribed as plain loops, the same rng draws in the
# same order. It shares the formulas with the implementation, so it catches vectorisation and
# indexing slips, not a wrong formula; the segment tests below check the formulas' meaning. ------

def guard_train(n, t, l, mode, dense_len, rng):
    if mode == "random":
        mode = "dense" if rng.random() < 0.5 else "uniform"
    if mode == "dense":
        sample_pos = max(1, 1 + n - dense_len)
        stride = dense_len // t
        start = 0 if sample_pos == 1 else int(rng.integers(0, sample_pos - 1))
        return [(start + k * stride) % n for k in range(t)]
    avg = (n - l + 1) // t
    if avg > 0:
        jitter = rng.integers(avg, size=t)
        return [k * avg + int(jitter[k]) for k in range(t)]
    if n > t:
        return sorted(int(v) for v in rng.integers(max(n - l + 1, 1), size=t))
    return [0] * t


def guard_test(n, t, l, mode, dense_len, dense_n, twice):
    clips = []
    if mode in ("dense", "random"):
        sample_pos = max(1, 1 + n - dense_len)
        stride = dense_len // t
        if dense_n == 1:
            starts = [int((sample_pos - 1) / 2)]
        else:
            starts = [int(s) for s in np.linspace(0, sample_pos - 1, num=dense_n)]
        for s in starts:
            clips.append([(s + k * stride) % n for k in range(t)])
    if mode in ("uniform", "random"):
        if n > t + l - 1:
            tick = (n - l + 1) / float(t)
            clips.append([int(tick / 2.0 + tick * k) for k in range(t)])
            if twice:
                clips.append([int(tick * k) for k in range(t)])
        else:
            clips.append([0] * t)
            if twice:
                clips.append([0] * t)
    return clips


# ---- method.md's worked example: T=8, L=32, N=50, l=1 ------------------------------------------

def test_worked_example_centre_and_twice():
    got = S.test_indices(50, 8, 1, "uniform", 32, twice=True)
    assert got.dtype == np.int64 and got.shape == (2, 8)
    assert got[0].tolist() == [3, 9, 15, 21, 28, 34, 40, 46]
    assert got[1].tolist() == [0, 6, 12, 18, 25, 31, 37, 43]
    assert S.test_indices(50, 8).tolist() == [[3, 9, 15, 21, 28, 34, 40, 46]]


def test_worked_example_dense_starts():
    got = S.test_indices(50, 8, 1, "dense", 32, dense_number=3)
    assert got.shape == (3, 8)
    assert got[:, 0].tolist() == [0, 9, 18]
    assert got[0].tolist() == [0, 4, 8, 12, 16, 20, 24, 28]          # stride L // T = 4
    assert S.test_indices(50, 8, 1, "dense", 32)[:, 0].tolist() == [9]  # n = 1: int(18 / 2)


def test_random_views_order():
    got = S.test_indices(50, 8, 1, "random", 32, dense_number=3, twice=True)
    assert got.shape == (5, 8)
    assert got[:3, 0].tolist() == [0, 9, 18]
    assert got[3].tolist() == [3, 9, 15, 21, 28, 34, 40, 46]
    assert got[4].tolist() == [0, 6, 12, 18, 25, 31, 37, 43]
    # dense ignores twice
    assert S.test_indices(50, 8, 1, "dense", 32, dense_number=2, twice=True).shape == (2, 8)


def test_train_dense_start_range_and_stride():
    rng = np.random.default_rng(0)
    starts = set()
    for _ in range(300):
        idx = S.train_indices(50, 8, 1, "dense", 32, rng)
        assert np.all(np.diff(idx) == 4)
        starts.add(int(idx[0]))
    assert starts == set(range(18))             # randint(0, sample_pos - 1): 0..17


def test_train_uniform_one_per_segment():
    rng = np.random.default_rng(1)
    for _ in range(100):
        idx = S.train_indices(50, 8, 1, "uniform", rng=rng)     # avg = 6
        assert idx.dtype == np.int64 and idx.shape == (8,)
        assert np.all(idx // 6 == np.arange(8))


# ---- properties, by enumerating the segments (no formula shared with the implementation) ------------

@pytest.mark.parametrize("n,t,l", [(50, 8, 1), (41, 8, 5), (23, 4, 6), (100, 3, 1), (13, 8, 5)])
def test_centre_clip_takes_the_frame_holding_each_segments_middle(n, t, l):
    # the usable start positions are the real interval [0, n - l + 1), cut into t equal segments;
    # segment k's middle is (k + 1/2) (n - l + 1) / t, and frame i covers [i, i + 1). Compared in
    # integers (times 2t), so no division formula is shared with the implementation.
    usable = n - l + 1
    got = S.test_indices(n, t, l)[0].tolist()
    for k, idx in enumerate(got):
        assert idx * 2 * t <= (2 * k + 1) * usable < (idx + 1) * 2 * t, (k, idx)
        assert idx + l - 1 <= n - 1  # the whole window fits


@pytest.mark.parametrize("n,t,l", [(50, 8, 1), (48, 8, 5), (30, 4, 6)])
def test_uniform_training_draws_every_frame_of_every_equal_segment(n, t, l):
    avg = None
    seen = [set() for _ in range(t)]
    rng = np.random.default_rng(3)
    for _ in range(400):
        idx = S.train_indices(n, t, l, "uniform", rng=rng).tolist()
        for k, i in enumerate(idx):
            seen[k].add(i)
    # TSN's training segments have equal length (the remainder frames at the end are never drawn)
    sizes = {len(s) for s in seen}
    assert len(sizes) == 1
    avg = sizes.pop()
    for k in range(t):
        assert seen[k] == set(range(k * avg, (k + 1) * avg))
    assert (t + 1) * avg > n - l + 1  # the segments cover all but fewer than one segment's frames


def test_dense_clip_spans_dense_length_with_equal_steps():
    n, t, big = 50, 8, 32
    starts = set()
    rng = np.random.default_rng(4)
    for _ in range(300):
        idx = S.train_indices(n, t, 1, "dense", big, rng).tolist()
        steps = {b - a for a, b in zip(idx, idx[1:])}
        assert steps == {big // t} and idx[-1] - idx[0] < big
        starts.add(idx[0])
    assert min(starts) == 0 and max(starts) + big <= n  # every start keeps the clip inside the video


# ---- against the regression guard ----------------------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
def test_train_matches_guard(mode):
    for n in list(range(1, 70)) + [100, 257]:
        for t in (1, 3, 8):
            for l in (1, 5, 6):
                seed = [n, t, l, MODES.index(mode)]
                got = S.train_indices(n, t, l, mode, 32, np.random.default_rng(seed))
                want = guard_train(n, t, l, mode, 32, np.random.default_rng(seed))
                assert got.tolist() == want, (n, t, l, mode)
                assert got.dtype == np.int64 and got.shape == (t,)
                assert got.min() >= 0 and got.max() <= n - 1


@pytest.mark.parametrize("mode", MODES)
def test_test_matches_guard(mode):
    for n in list(range(1, 70)) + [100, 257]:
        for t, l, dl in ((1, 1, 32), (8, 1, 32), (8, 5, 32), (4, 6, 8), (3, 1, 7)):
            for dn in (1, 2, 3):
                for twice in (False, True):
                    got = S.test_indices(n, t, l, mode, dl, dn, twice)
                    want = guard_test(n, t, l, mode, dl, dn, twice)
                    assert got.tolist() == want, (n, t, l, mode, dl, dn, twice)
                    assert got.min() >= 0 and got.max() <= n - 1


# ---- edge cases ---------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
def test_tiny_videos(mode):
    rng = np.random.default_rng(3)
    assert S.train_indices(1, 8, 1, mode, 32, rng).tolist() == [0] * 8          # N == 1
    assert S.test_indices(1, 8, 1, mode, 32).max() == 0
    idx = S.train_indices(5, 8, 1, mode, 32, rng)                                # N < T
    assert idx.shape == (8,) and idx.min() >= 0 and idx.max() <= 4
    assert S.test_indices(5, 8, 1, "uniform").tolist() == [[0] * 8]              # N <= T + l - 1
    assert S.test_indices(12, 8, 5, "uniform").tolist() == [[0] * 8]


def test_n_smaller_than_dense_length_wraps():
    # N = 10 < L = 32: sample_pos 1, start 0, indices wrap modulo N.
    idx = S.train_indices(10, 8, 1, "dense", 32, np.random.default_rng(0))
    assert idx.tolist() == [0, 4, 8, 2, 6, 0, 4, 8]
    assert S.test_indices(10, 8, 1, "dense", 32, dense_number=3).tolist() == [[0, 4, 8, 2, 6, 0, 4, 8]] * 3


def test_uniform_few_frames_sorted_draws():
    # avg == 0 but N > T: sorted random draws in [0, N - l].
    rng = np.random.default_rng(5)
    for _ in range(50):
        idx = S.train_indices(10, 8, 5, "uniform", rng=rng)
        assert np.all(np.diff(idx) >= 0) and idx.max() <= 5


def test_argument_errors():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="num_frames"):
        S.train_indices(0, 8, rng=rng)
    with pytest.raises(ValueError, match="num_segments"):
        S.test_indices(10, 0)
    with pytest.raises(ValueError, match="new_length"):
        S.train_indices(10, 8, 0, rng=rng)
    with pytest.raises(ValueError, match="mode"):
        S.test_indices(10, 8, mode="both")
    with pytest.raises(ValueError, match="dense_length"):
        S.train_indices(10, 8, 1, "dense", 4, rng)
    with pytest.raises(ValueError, match="dense_number"):
        S.test_indices(10, 8, dense_number=0)
    with pytest.raises(ValueError, match="rng"):
        S.train_indices(10, 8)


def test_expand_segments_clamps():
    got = S.expand_segments(np.array([0, 3, 8]), 5, 10)
    assert got.dtype == np.int64 and got.shape == (3, 5)
    assert got.tolist() == [[0, 1, 2, 3, 4], [3, 4, 5, 6, 7], [8, 9, 9, 9, 9]]
    assert S.expand_segments(np.zeros((2, 4), np.int64), 6, 1).shape == (2, 4, 6)
    assert S.expand_segments(np.zeros((2, 4), np.int64), 6, 1).max() == 0


def test_modality_indices_share_positions():
    counts = {"RGB": 50, "Flow": 49, "RGBDiff": 50}
    lengths = {"RGB": 1, "Flow": 5, "RGBDiff": 6}
    n_min, l_max = S.base_geometry(counts, lengths)
    assert (n_min, l_max) == (49, 6)
    base = S.train_indices(n_min, 8, l_max, "uniform", rng=np.random.default_rng(0))
    idx = S.modality_indices(base, counts, lengths)
    assert idx["RGB"].shape == (8, 1) and idx["Flow"].shape == (8, 5) and idx["RGBDiff"].shape == (8, 6)
    assert np.array_equal(idx["RGB"][:, 0], base)
    assert np.array_equal(idx["Flow"][:, 0], base) and np.array_equal(idx["RGBDiff"][:, 0], base)
    assert idx["Flow"].max() <= 48 and idx["RGBDiff"].max() <= 49
    test = S.modality_indices(S.test_indices(n_min, 8, l_max, "random", twice=True), counts, lengths)
    assert test["Flow"].shape == (3, 8, 5)
