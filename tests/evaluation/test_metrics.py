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
