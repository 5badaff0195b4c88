import numpy as np
import pytest
import torch

from mmlkit.config import ConfigError, EvalConfig
from mmlkit.errors import DataError
from mmlkit.evaluation import EnsembleError, Scores, ensemble, score_model, subset_table, view_plan, write_submission
from mmlkit.evaluation.views import ViewPlanError


def _scores(name, scores, labels, ids=None):
    ids = ids or [f"v{i}" for i in range(len(labels))]
    return Scores(ids=list(ids), labels=np.asarray(labels, np.int64), scores=np.asarray(scores, np.float32), name=name)


def test_score_model_is_mean_over_views(tiny_net, make_batches):
    torch.manual_seed(0)
    model = tiny_net()
    batches = make_batches(7, views=6, batch=3)
    plan = view_plan(EvalConfig(test_crops=3, twice=True), 4)
    s = score_model(model, batches, "cpu", progress=False, plan=plan, name="m", chunk=5)
    assert s.scores.shape == (7, 5) and s.scores.dtype == np.float32 and s.labels.dtype == np.int64
    assert s.ids == [f"v{i}" for i in range(7)]
    x = torch.cat([b["inputs"]["RGB"] for b in batches])  # (7, 6, T, C, H, W)
    with torch.no_grad():
        want = torch.stack([model(x[:, v]) for v in range(6)], 1).mean(1).numpy()
    np.testing.assert_allclose(s.scores, want, atol=1e-5)
    assert s.meta["plan"] == plan.key and len(s.meta["views"]) == 6
    with pytest.raises(ViewPlanError):
        score_model(model, batches, plan=view_plan(EvalConfig(), 4), progress=False)


def test_score_model_dedupes_and_empty(tiny_net, make_batches):
    model = tiny_net()
    b = make_batches(4, views=1, batch=2)
    s = score_model(model, b + b[:1], progress=False)
    assert s.ids == ["v0", "v1", "v2", "v3"] and s.meta["duplicates_dropped"] == 2
    with pytest.raises(DataError, match="no videos"):
        score_model(model, [], progress=False)


def test_scores_save_load(tmp_path, tiny_net, make_batches):
    s = _scores("a", np.arange(6).reshape(3, 2), [0, 1, -1])
    s = Scores(s.ids, s.labels, s.scores, "a", {"k": [1, 2]})
    t = Scores.load(s.save(tmp_path / "x" / "a.npz"))
    assert t.ids == s.ids and t.name == "a" and t.meta == {"k": [1, 2]}
    np.testing.assert_array_equal(t.scores, s.scores)
    np.testing.assert_array_equal(t.labels, s.labels)


def test_ensemble_weights_softmax_and_order(tiny_net, make_batches):
    a = _scores("a", [[2, 0], [0, 1]], [0, 1])
    b = _scores("b", [[0, 3], [1, 0]], [0, 1])
    e = ensemble([a, b], coeff=[1, 0.5])
    np.testing.assert_allclose(e.scores, [[2, 1.5], [0.5, 1]])
    assert e.name == "a + b" and e.meta["coeff"] == [1.0, 0.5]
    sm = ensemble([a, b], softmax=True)
    p = lambda z: np.exp(z) / np.exp(z).sum(1, keepdims=True)
    np.testing.assert_allclose(sm.scores, p(a.scores) + p(b.scores), atol=1e-6)
    # the same videos in another order are aligned by id
    b2 = _scores("b", [[1, 0], [0, 3]], [1, 0], ids=["v1", "v0"])
    np.testing.assert_allclose(ensemble([a, b2]).scores, ensemble([a, b]).scores)


def test_ensemble_errors(tiny_net, make_batches):
    a = _scores("a", [[2, 0], [0, 1]], [0, 1])
    with pytest.raises(EnsembleError, match="'v1' is in a but not b"):
        ensemble([a, _scores("b", [[2, 0], [0, 1]], [0, 1], ids=["v0", "v9"])])
    with pytest.raises(EnsembleError, match="classes"):
        ensemble([a, _scores("c", [[2, 0, 1], [0, 1, 1]], [0, 1])])
    with pytest.raises(ConfigError, match="coeff"):
        ensemble([a, a], coeff=[1.0])
    with pytest.raises(EnsembleError):
        ensemble([])


def test_subset_table(tiny_net, make_batches):
    y = [0, 1, 2, 0]
    a = _scores("a", np.eye(3)[[0, 1, 1, 0]], y)
    b = _scores("b", np.eye(3)[[1, 1, 2, 0]] * 0.9, y)
    c = _scores("c", np.eye(3)[[2, 2, 2, 2]], y)
    t = subset_table({"a": a, "b": b, "c": c})
    assert list(t["models"]) == ["a", "b", "c", "a + b", "a + c", "b + c", "a + b + c"]
    assert t.loc[0, "top1"] == 75.0 and t.loc[2, "top1"] == 25.0 and (t["top5"] == 100).all()


def test_submission(tmp_path, tiny_net, make_batches):
    s = _scores("a", [[0.1, 0.5, 0.2, 0.0, 0.3, 0.9]], [-1], ids=["77"])
    p = write_submission(s, tmp_path / "sub.csv")
    assert p.read_text() == "77;5;1;4;2;0\n"
