import numpy as np
import pytest
from sklearn import metrics as skm

from mmlkit.evaluation import metrics as M


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    scores = rng.standard_normal((200, 7))
    labels = rng.integers(0, 7, 200)
    return scores, labels


def test_topk_against_sklearn(data):
    s, y = data
    for k in (1, 2, 5):
        assert M.topk_accuracy(s, y, k) == pytest.approx(skm.top_k_accuracy_score(y, s, k=k, labels=range(7)))
    assert M.topk_accuracy(s, y, 1) == pytest.approx(skm.accuracy_score(y, s.argmax(1)))
    assert M.topk_accuracy(s, y, 50) == 1.0  # k > K is clamped


def test_hand_values():
    s = np.array([[0.1, 0.9, 0.0], [0.8, 0.1, 0.1], [0.3, 0.3, 0.4], [0.2, 0.5, 0.3]])
    y = np.array([1, 1, 2, 2])
    assert M.topk_accuracy(s, y, 1) == 0.5
    assert M.topk_accuracy(s, y, 2) == 1.0  # ties go to the lower index
    np.testing.assert_allclose(M.per_class_accuracy(s, y), [np.nan, 0.5, 0.5])
    assert M.mean_class_accuracy(s, y) == 0.5
    cm = M.confusion_matrix(s.argmax(1), y, 3)
    np.testing.assert_array_equal(cm, [[0, 0, 0], [1, 1, 0], [0, 1, 1]])


def test_confusion_and_class_acc_against_sklearn(data):
    s, y = data
    pred = s.argmax(1)
    np.testing.assert_array_equal(M.confusion_matrix(pred, y, 7), skm.confusion_matrix(y, pred, labels=range(7)))
    assert M.mean_class_accuracy(s, y) == pytest.approx(skm.balanced_accuracy_score(y, pred))


def test_bad_labels():
    with pytest.raises(ValueError, match="labels"):
        M.topk_accuracy(np.zeros((2, 3)), np.array([0, -1]), 1)
    with pytest.raises(ValueError, match=r"\(n, K\)"):
        M.topk_accuracy(np.zeros((2, 3)), np.array([0, 1, 2]), 1)


def test_bootstrap_deterministic_and_covers():
    rng = np.random.default_rng(1)
    c = rng.random(500) < 0.6
    a = M.bootstrap_ci(c, np.random.default_rng(5), n_boot=500)
    b = M.bootstrap_ci(c, np.random.default_rng(5), n_boot=500)
    assert a == b
    assert a[0] < c.mean() < a[1] and a[1] - a[0] < 0.15
    # coverage: the 95% interval contains the true rate in most of 100 experiments
    hits = 0
    for i in range(100):
        x = np.random.default_rng(100 + i).random(200) < 0.7
        lo, hi = M.bootstrap_ci(x, np.random.default_rng(i), n_boot=300)
        hits += lo <= 0.7 <= hi
    assert 85 <= hits <= 100


def test_paired_bootstrap():
    rng = np.random.default_rng(2)
    a = rng.random(400) < 0.7
    b = a.copy()
    b[:60] = False  # b strictly worse on 60 videos where a may be right
    r = M.paired_bootstrap(a, b, np.random.default_rng(0))
    assert r["diff"] == pytest.approx(a.mean() - b.mean())
    assert r["low"] > 0 and r["p_value"] < 0.01
    same = M.paired_bootstrap(a, a, np.random.default_rng(0))
    assert same["diff"] == 0 and same["p_value"] == 1.0
    assert M.paired_bootstrap(a, b, np.random.default_rng(3)) == M.paired_bootstrap(a, b, np.random.default_rng(3))
    with pytest.raises(ValueError):
        M.paired_bootstrap(a, b[:10], np.random.default_rng(0))


def test_exact_binary_bootstrap_matches_index_resampling():
    c = np.random.default_rng(4).random(300) < 0.55
    fast = M.bootstrap_ci(c, np.random.default_rng(0), n_boot=4000)
    rng = np.random.default_rng(1)
    means = c[rng.integers(0, 300, size=(4000, 300))].mean(1)
    slow = np.quantile(means, [0.025, 0.975])
    np.testing.assert_allclose(fast, slow, atol=0.012)
    # non-binary values take the index-resampling path
    w = np.where(c, 1.0, 0.5)
    lo, hi = M.bootstrap_ci(w, np.random.default_rng(0), n_boot=500)
    assert lo < w.mean() < hi
    pb = M.paired_bootstrap(w, np.full(300, 0.7), np.random.default_rng(0), n_boot=500)
    assert pb["low"] < pb["diff"] < pb["high"]


# ----------------------------------------------------------------- hierarchical (seeds x videos) bootstrap
def _seed_gains(gains_pts, n=500, seed=0):
    """Per seed: B right on about half the videos, A = B plus (or minus) exactly ``gain`` points.

    Within a seed the only disagreements are the ``|gain| * n / 100`` flipped videos, all in one
    direction: little video noise, all the spread is between seeds.
    """
    rng = np.random.default_rng(seed)
    ca, cb = [], []
    for g in gains_pts:
        b = rng.random(n) < 0.5
        a = b.copy()
        k = round(abs(g) * n / 100)
        a[np.flatnonzero(~b if g > 0 else b)[:k]] = g > 0
        ca.append(a), cb.append(b)
    return ca, cb


def test_hierarchical_bootstrap_is_wider_than_pooling_when_seeds_disagree():
    ca, cb = _seed_gains((10, -4, 6))
    np.testing.assert_allclose([a.mean() - b.mean() for a, b in zip(ca, cb)], [0.10, -0.04, 0.06], atol=1e-12)
    pooled = M.paired_bootstrap(np.concatenate(ca), np.concatenate(cb), np.random.default_rng(0), n_boot=2000)
    hier = M.hierarchical_bootstrap(ca, cb, np.random.default_rng(0), n_boot=2000)
    assert pooled["diff"] == pytest.approx(0.04) and hier["diff"] == pytest.approx(0.04)
    assert pooled["low"] > 0                          # 3 x 500 "independent" videos: falsely sure
    assert hier["low"] < 0 < hier["high"]             # one seed in three loses 4 points: not sure
    assert hier["low"] == pytest.approx(-0.04, abs=0.015)   # P(all 3 draws = the -4 seed) = 1/27 > 2.5%
    assert hier["high"] == pytest.approx(0.10, abs=0.015)
    assert hier["p_value"] > 0.05 and pooled["p_value"] < 0.01


def test_hierarchical_bootstrap_with_identical_seeds_is_the_paired_bootstrap():
    rng = np.random.default_rng(2)
    a = rng.random(500) < 0.7
    b = a.copy()
    b[rng.random(500) < 0.1] ^= True                 # about 50 discordant videos, both directions
    single = M.paired_bootstrap(a, b, np.random.default_rng(0), n_boot=8000)
    hier = M.hierarchical_bootstrap([a] * 3, [b] * 3, np.random.default_rng(1), n_boot=8000)
    assert hier["diff"] == pytest.approx(single["diff"])
    # the video resample is shared across seeds: three copies add no information. (Resampling
    # the videos per seed would shrink the width by about sqrt(3), i.e. by ~0.02 here.)
    assert hier["low"] == pytest.approx(single["low"], abs=0.004)
    assert hier["high"] == pytest.approx(single["high"], abs=0.004)
    one = M.hierarchical_bootstrap([a], [b], np.random.default_rng(1), n_boot=8000)
    assert one["low"] == pytest.approx(single["low"], abs=0.004)


def test_hierarchical_bootstrap_is_deterministic_and_checks_input():
    ca, cb = _seed_gains((3, 1, 2), n=200)
    r1 = M.hierarchical_bootstrap(ca, cb, np.random.default_rng(7), n_boot=500)
    assert r1 == M.hierarchical_bootstrap(ca, cb, np.random.default_rng(7), n_boot=500)
    assert r1 == M.hierarchical_bootstrap(np.stack(ca), np.stack(cb), np.random.default_rng(7), n_boot=500)
    assert r1 != M.hierarchical_bootstrap(ca, cb, np.random.default_rng(8), n_boot=500)
    narrow = M.hierarchical_bootstrap(ca, cb, np.random.default_rng(7), n_boot=500, level=0.5)
    assert r1["low"] <= narrow["low"] <= narrow["high"] <= r1["high"]
    with pytest.raises(ValueError, match="hierarchical_bootstrap"):
        M.hierarchical_bootstrap(ca, cb[:2], np.random.default_rng(0))
    with pytest.raises(ValueError, match="hierarchical_bootstrap"):
        M.hierarchical_bootstrap(ca, [c[:100] for c in cb], np.random.default_rng(0))
    with pytest.raises(ValueError, match="hierarchical_bootstrap"):
        M.hierarchical_bootstrap([], [], np.random.default_rng(0))
    with pytest.raises(ValueError, match="hierarchical_bootstrap"):
        M.hierarchical_bootstrap([ca[0], ca[1][:100], ca[2]], cb, np.random.default_rng(0))
    with pytest.raises(ValueError, match="level"):
        M.hierarchical_bootstrap(ca, cb, np.random.default_rng(0), level=95)


def _hierarchical_by_loops(ca, cb, rng, n_boot, level):
    """Reference: one replicate at a time, the same draws in the same order as the vectorised one."""
    S, n = len(ca), len(ca[0])
    seed_idx = rng.integers(0, S, size=(n_boot, S))
    vid_idx = rng.integers(0, n, size=(n_boot, n))
    diffs = []
    for r in range(n_boot):
        total = 0.0
        for s in seed_idx[r]:
            for v in vid_idx[r]:          # the same videos for every drawn seed, for A and for B
                total += float(ca[s][v]) - float(cb[s][v])
        diffs.append(total / (S * n))
    diffs = np.array(diffs)
    alpha = 1 - level
    lo, hi = np.quantile(diffs, [alpha / 2, 1 - alpha / 2])
    p = min(1.0, 2 * min((diffs <= 0).mean(), (diffs >= 0).mean()))
    observed = sum(float(a[v]) - float(b[v]) for a, b in zip(ca, cb) for v in range(n)) / (S * n)
    return diffs, {"diff": observed, "low": lo, "high": hi, "p_value": p}


def test_hierarchical_bootstrap_matches_a_loop_reference():
    rng = np.random.default_rng(3)
    ca = [rng.random(9) < p for p in (0.8, 0.4, 0.6)]
    cb = [rng.random(9) < 0.5 for _ in range(3)]
    fast = M.hierarchical_bootstrap(ca, cb, np.random.default_rng(11), n_boot=400, level=0.9)
    diffs, slow = _hierarchical_by_loops(ca, cb, np.random.default_rng(11), n_boot=400, level=0.9)
    for key in ("diff", "low", "high", "p_value"):
        assert fast[key] == pytest.approx(slow[key], abs=1e-12), key
    # in distribution: the replicates centre on the observed difference
    assert diffs.mean() == pytest.approx(slow["diff"], abs=0.02)


def test_topk_correct_several_ks_and_torch_ties():
    import torch

    s = np.array([[0.8, 0.1, 0.1], [0.0, 0.0, 0.0], [0.2, 0.5, 0.3]])
    y = np.array([1, 2, 0])
    both = M.topk_correct(s, y, (1, 2))
    assert both.shape == (3, 2) and both.tolist() == [[False, True], [False, False], [False, False]]
    assert np.array_equal(both[:, 1], M.topk_correct(s, y, 2))
    # "torch": what one torch.topk call picks (training's counts), tensor in -> tensor out
    st, yt = torch.tensor(s), torch.tensor(y)
    got = M.topk_correct(st, yt, (1, 2), ties="torch")
    want = st.topk(2, dim=1).indices == yt[:, None]
    assert isinstance(got, torch.Tensor) and torch.equal(got, torch.stack([want[:, :1].any(1), want.any(1)], 1))
    with pytest.raises(ValueError, match="ties"):
        M.topk_correct(s, y, 1, ties="high")
