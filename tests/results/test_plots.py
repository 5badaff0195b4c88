import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mmlkit.results import plots


def _png(path):
    assert path.exists() and path.read_bytes()[:4] == b"\x89PNG"


def test_training_curves(tmp_path):
    logs = pd.DataFrame({"model": ["m0"] * 3 + ["m1"] * 3, "epoch": [1, 2, 3] * 2, "ce": np.linspace(2, 1, 6),
                         "val_top1": [10, 20, 30, 15, 25, None]})
    fig = plots.training_curves(logs, path=tmp_path / "a" / "curves.png")
    assert isinstance(fig, Figure)
    _png(tmp_path / "a" / "curves.png")


def test_accuracy_bars_and_subset(tmp_path):
    df = pd.DataFrame({"experiment": ["RGB", "RGB", "MML", "MML"], "seed": [0, 1, 0, 1],
                       "model": ["RGB"] * 4, "top1": [50.0, 52.0, 58.0, 61.0]})
    plots.accuracy_bars(df, "experiment", hue="model", path=tmp_path / "acc.png")
    _png(tmp_path / "acc.png")
    t = pd.DataFrame({"models": ["a", "b", "a + b"], "n_models": [1, 1, 2], "top1": [50.0, 60.0, 70.0]})
    plots.subset_bars(t, path=tmp_path / "sub.png")
    _png(tmp_path / "sub.png")


def test_class_gain_and_confusion(tmp_path):
    rng = np.random.default_rng(0)
    a, b = rng.random(12), rng.random(12)
    a[3] = np.nan
    plots.class_gain(a, b, [f"class {i}" for i in range(12)], top=8, path=tmp_path / "gain.png")
    _png(tmp_path / "gain.png")
    cm = rng.integers(0, 10, (6, 6))
    plots.confusion_heatmap(cm, [f"c{i}" for i in range(6)], path=tmp_path / "cm.png")
    _png(tmp_path / "cm.png")


def test_sampler_timelines(tmp_path):
    views = {"uniform": np.array([[3, 9, 15, 21, 28, 34, 40, 46]]),
             "twice": np.array([[3, 9, 15, 21, 28, 34, 40, 46], [0, 6, 12, 18, 25, 31, 37, 43]])}
    plots.sampler_timelines(50, views, path=tmp_path / "t.png")
    _png(tmp_path / "t.png")
    v = plots.sampler_views(50, 8, dense_length=32, dense_number=3)
    assert v["uniform"].tolist() == [[3, 9, 15, 21, 28, 34, 40, 46]]  # method.md's worked example
    assert v["dense x 3"][:, 0].tolist() == [0, 9, 18]
    assert v["random (both)"].shape == (5, 8)
    plots.sampler_timelines(50, path=tmp_path / "t2.png")
    _png(tmp_path / "t2.png")


LONG_NAMES = ["Moving something and something away from each other",
              "Poking something so lightly that it doesn't or almost doesn't move",
              "Putting something that can't roll onto a slanted surface, so it stays where it is", "Holding something"]


def _ticks(ax) -> list[str]:
    return [t.get_text().replace("\n", " ") for t in ax.get_yticklabels()]


def test_long_class_names_are_shown_in_full_never_cut():
    from mmlkit.results import validity

    k = len(LONG_NAMES)
    gain = plots.class_gain(np.linspace(0.2, 0.9, k), np.full(k, 0.5), LONG_NAMES)
    assert sorted(_ticks(gain.axes[0])) == sorted(LONG_NAMES)
    heat = validity.per_class_figure(validity.per_class_table({"RGB": np.full(k, 0.5)}, LONG_NAMES))
    assert _ticks(heat.axes[0]) == LONG_NAMES
    cm = plots.confusion_heatmap(np.eye(k, dtype=int), LONG_NAMES)
    assert _ticks(cm.axes[0]) == [f"{i}: {n}" for i, n in enumerate(LONG_NAMES)]
    assert all(len(line) <= 48 for t in gain.axes[0].get_yticklabels() for line in t.get_text().split("\n"))
    assert plots.wrap_label("a" * 60) == "a" * 60  # a word is never cut


def test_forest_shows_each_comparison_in_full():
    what = ("MML's RGB model beats ML's RGB model [ML degenerate here: both RGB models start from the same "
            "checkpoint, see the same clips and have no dropout, so they stay identical and the KL term is 0]")
    claims = pd.DataFrame([{"claim": "C3", "comparison": what, "diff": -0.7, "low": -1.5, "high": 0.1,
                            "verdict": "inconclusive", "seeds": 4, "detectable": 1.1},
                           {"claim": "C1", "comparison": "short", "diff": 2.0, "low": 1.0, "high": 3.0,
                            "verdict": "holds", "seeds": 3, "detectable": 1.0}])
    fig = plots.forest(claims)
    assert _ticks(fig.axes[0]) == [f"C3: {what}", "C1: short"]
