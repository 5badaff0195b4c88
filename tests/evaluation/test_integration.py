"""The evaluation on the real pieces: a TSN checkpoint, the smoke synthetic data, test() and export."""

import json

import pytest
import torch

from mmlkit.config import ConfigError, EvalConfig, profile
from mmlkit.errors import CheckpointError


@pytest.fixture(scope="module")
def ckpts(tmp_path_factory):
    from mmlkit import data, models

    cfg = profile("smoke")
    k = data.num_classes(cfg.data)
    d = tmp_path_factory.mktemp("ck")
    torch.manual_seed(0)
    out = {}
    for mod, t, kk in (("RGB", 4, k), ("Flow", 4, k), ("RGB8", 8, k), ("RGB_more", 4, k + 3), ("RGB_fewer", 4, k - 1)):
        m = models.TSN(kk, t, "Flow" if mod == "Flow" else "RGB", arch="resnet_tiny", dropout=0.0)
        out[mod] = str(models.save_checkpoint(d / f"{mod}.pt", m, epoch=0))
    return cfg, out, d


@pytest.mark.slow
def test_test_command_and_ensemble(ckpts, capsys):
    from mmlkit.evaluation import test

    cfg, ck, d = ckpts
    ecfg = EvalConfig(test_crops=3, twice=True, batch_size=16)
    r = test(cfg.data, ecfg, [ck["RGB"], ck["Flow"]], coeff=[1, 0.5], out_json=d / "m.json",
             csv_file=d / "sub.csv", progress=False)
    assert r["plan"]["key"] == "t4_3crop_2clip-uniform-twice" and len(r["plan"]["views"]) == 6
    assert r["coeff"] == [1.0, 0.5] and len(r["models"]) == 2
    assert json.loads((d / "m.json").read_text())["n_videos"] == r["n_videos"]
    lines = (d / "sub.csv").read_text().splitlines()
    assert len(lines) == r["n_videos"] and len(lines[0].split(";")) == 6
    # the reported top-1 is the submission's first guess scored against the split's labels
    from mmlkit.data import resolve_root, sthv2

    labels = {rec.id: rec.label for rec in sthv2.load_split(resolve_root(cfg.data), "validation")}
    hits = [labels[line.split(";")[0]] == int(line.split(";")[1]) for line in lines]
    assert r["top1"] == pytest.approx(100 * sum(hits) / len(hits))
    assert "ensemble" in capsys.readouterr().out


def test_bad_ensembles(ckpts):
    from mmlkit.evaluation import test

    cfg, ck, _ = ckpts
    with pytest.raises(ConfigError, match="coeff"):
        test(cfg.data, EvalConfig(), [ck["RGB"], ck["Flow"]], coeff=[1.0])
    with pytest.raises(CheckpointError, match="segments"):
        test(cfg.data, EvalConfig(), [ck["RGB"], ck["RGB8"]])
    with pytest.raises(ConfigError, match="at least one"):
        test(cfg.data, EvalConfig(), [])


@pytest.mark.parametrize("which", ["RGB_more", "RGB_fewer"])
def test_a_checkpoint_of_other_classes_is_refused_before_scoring(ckpts, which, monkeypatch):
    from mmlkit import data
    from mmlkit.evaluation import evaluate, test

    cfg, ck, _ = ckpts
    monkeypatch.setattr(evaluate, "score_model", lambda *a, **k: pytest.fail("scored before checking the classes"))
    k = data.num_classes(cfg.data)
    n = k + 3 if which == "RGB_more" else k - 1
    with pytest.raises(CheckpointError, match=rf"{which}\.pt predicts {n} classes, but the data set \(.*labels\.json\) "
                                              rf"has {k}"):
        test(cfg.data, EvalConfig(), [ck[which]])


def test_export_checkpoint(ckpts):
    from mmlkit.evaluation import export_checkpoint

    _, ck, d = ckpts
    r = export_checkpoint(ck["RGB"], d / "rgb.pt2", size=32)
    assert r["max_abs_diff"] <= r["tolerance"] and r["input_shape"] == [4, 3, 32, 32] and r["format"] == "pt2"


@pytest.mark.slow
def test_unlabelled_test_split_and_empty_split(ckpts, tmp_path, capsys):
    from dataclasses import replace

    from mmlkit.data import resolve_root
    from mmlkit.errors import DataError
    from mmlkit.evaluation import test

    cfg, ck, _ = ckpts
    src = resolve_root(cfg.data)
    root = tmp_path / "root"
    root.mkdir()
    for p in src.iterdir():
        if p.name != "something-something-v2-test.json":
            (root / p.name).symlink_to(p)
    val = json.loads((src / "something-something-v2-validation.json").read_text())
    data = replace(cfg.data, dataset=str(root), root=None)
    (root / "something-something-v2-test.json").write_text("[]")
    with pytest.raises(DataError, match="no records"):
        test(data, EvalConfig(), [ck["RGB"]], split="test", progress=False)
    (root / "something-something-v2-test.json").write_text(json.dumps([{"id": r["id"]} for r in val[:5]]))
    r = test(data, EvalConfig(), [ck["RGB"]], split="test", csv_file=tmp_path / "sub.csv", progress=False)
    assert "top1" not in r and any("no labels" in n for n in r["notes"])
    assert [l.split(";")[0] for l in (tmp_path / "sub.csv").read_text().splitlines()] == [v["id"] for v in val[:5]]
