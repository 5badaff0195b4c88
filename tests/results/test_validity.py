"""The validity criteria (convergence, fit) and the stored image-pretraining stand-in."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from mmlkit.config import PretrainConfig, pretrain_profile
from mmlkit.results import validity


def _log(vals: dict[int, float], epochs: int) -> pd.DataFrame:
    return pd.DataFrame({"epoch": range(1, epochs + 1),
                         "val_top1": [vals.get(e, np.nan) for e in range(1, epochs + 1)]})


def test_plateau_change_starts_at_the_last_validation_before_the_last_quarter():
    # 30 epochs: the last quarter starts at 22.5, so the change is measured from epoch 22 (not 24)
    log = _log({e: float(e) for e in range(2, 31, 2)}, 30)
    p = validity.plateau_change(log)
    assert (p["from_epoch"], p["from_top1"], p["final_top1"]) == (22, 22.0, 30.0)
    assert p["change"] == 8.0 and p["range"] == 8.0 and not p["plateau"]
    flat = _log({2: 10.0, 20: 60.0, 22: 61.0, 26: 63.0, 30: 62.4}, 30)
    q = validity.plateau_change(flat)
    assert q["change"] == pytest.approx(1.4) and q["range"] == pytest.approx(2.0) and q["plateau"]


def test_plateau_change_with_too_few_validations_is_not_a_plateau():
    p = validity.plateau_change(_log({1: 7.0}, 1))
    assert math.isnan(p["change"]) and p["plateau"] is False and p["final_top1"] == 7.0
    with pytest.raises(ValueError, match="fraction"):
        validity.plateau_change(_log({1: 7.0}, 1), fraction=1.0)


def test_convergence_rows_and_summary_apply_the_thresholds():
    logs = [_log({20: 50.0, 22: 60.0, 30: 61.0}, 30), _log({20: 40.0, 22: 45.0, 30: 55.0}, 30)]
    rows = pd.DataFrame(validity.convergence_rows("RGB", [0, 1], logs, val_top1=[61.0, 55.0],
                                                  second_top1=[62.0, 60.0], train_top1=[95.0, 80.0]))
    assert rows["plateau"].tolist() == [True, False]
    assert rows["2nd round < 3"].tolist() == [True, False]          # +1 and +5 points
    assert rows["fits (train >= 90)"].tolist() == [True, False]
    assert rows["train - val"].tolist() == [34.0, 25.0]
    summ = validity.convergence_summary(rows)
    assert summ.loc[0, "plateau"] == "NO" and summ.loc[0, "seeds"] == 2
    assert summ.loc[0, "2nd-round gain"] == 3.0


def test_per_class_table_is_in_percent():
    t = validity.per_class_table({"RGB": np.array([0.5, np.nan]), "Flow": np.array([1.0, 0.25])}, ["a", "b"])
    assert t.columns.tolist() == ["class", "RGB", "Flow"] and t.loc[0, "Flow"] == 100.0 and np.isnan(t.loc[1, "RGB"])
    validity.per_class_figure(t)


def test_one_pretraining_path_for_cli_and_notebooks(tmp_path, monkeypatch):
    from mmlkit import cli
    from mmlkit.data import synthetic
    from mmlkit.results import store as store_mod

    args = cli.build_parser().parse_args(["pretrain", "--profile", "smoke", "--results_dir", str(tmp_path)])
    assert cli.pretrain_config(args) == pretrain_profile("smoke")
    default = pretrain_profile("default")
    assert (default.arch, default.threads, default.preset) == ("resnet_tiny", 2, "default")
    calls = []

    def fake(cfg, out, progress=True):
        calls.append(cfg)
        out.write_bytes(b"weights")
        return {"path": str(out), "heldout_top1": 50.0, "chance": 12.5, "n_heldout": 10, "seconds": 0.1}

    monkeypatch.setattr("mmlkit.training.pretrain_image_backbone", fake)
    rs = store_mod.RunStore(tmp_path)
    a = store_mod.load_or_pretrain(pretrain_profile("smoke"), rs, progress=False)
    b = store_mod.load_or_pretrain(pretrain_profile("smoke"), rs, progress=False)
    assert a["path"] == b["path"] and len(calls) == 1 and b["heldout_top1"] == 50.0
    assert a["key"]["generator_version"] == synthetic.GENERATOR_VERSION
    h = store_mod.pretrain_hash(pretrain_profile("smoke"))
    assert store_mod.pretrain_hash(PretrainConfig(**{**pretrain_profile("smoke").to_dict(), "threads": 3})) != h
    monkeypatch.setattr(synthetic, "GENERATOR_VERSION", synthetic.GENERATOR_VERSION + 1)
    assert store_mod.pretrain_hash(pretrain_profile("smoke")) != h        # new generator: new stand-in
    assert cli.main(["pretrain", "--profile", "smoke", "--results_dir", str(tmp_path)]) == 0
    assert len(calls) == 2


def test_torch_threads_restores_the_count():
    import torch

    from mmlkit.runtime import torch_threads

    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with torch_threads(None):
        assert torch.get_num_threads() == before
