import numpy as np
import pandas as pd
import pytest
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
