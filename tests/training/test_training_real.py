"""The training package on the real models/data stack (smoke profile) and the image pretraining."""

from __future__ import annotations

import csv
from dataclasses import replace

import pytest
import torch

from mmlkit.config import ModelConfig, profile
from mmlkit.config import PretrainConfig
from mmlkit.training import pretrain_image_backbone, train


def test_pretrain_is_deterministic_and_loadable(tmp_path):
    pc = PretrainConfig(arch="resnet_tiny", zero_init_residual=True, preset="smoke", seed=3, n_images=64, epochs=1,
                        batch_size=32, threads=1)
    a = pretrain_image_backbone(pc, tmp_path / "a.pt", progress=False)
    b = pretrain_image_backbone(pc, tmp_path / "b.pt", progress=False)
    assert a["heldout_top1"] == b["heldout_top1"] and a["n_heldout"] == 6 and a["chance"] == 12.5
    assert a["heldout_top1"] * a["n_heldout"] / 100 == pytest.approx(round(a["heldout_top1"] * a["n_heldout"] / 100))
    sa, sb = torch.load(a["path"], weights_only=True), torch.load(b["path"], weights_only=True)
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not any(k.startswith("fc.") for k in sa)
    c = pretrain_image_backbone(replace(pc, seed=4), tmp_path / "c.pt", progress=False)
    sc = torch.load(c["path"], weights_only=True)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa if sa[k].is_floating_point())
    from mmlkit.models import build_model
    mc = ModelConfig(arch="resnet_tiny", zero_init_residual=True, pretrained=a["path"])
    m = build_model(mc, 7, 4, "Flow")     # loads, conv1 converted
    assert m(torch.zeros(1, 4, 10, 32, 32)).shape == (1, 7)


@pytest.mark.slow
def test_smoke_cohort_on_real_stack(tmp_path):
    cfg = profile("smoke", modalities=("RGB", "Flow"))
    res = train(cfg, tmp_path, progress=False)
    assert [m["modality"] for m in res.metrics] == ["RGB", "Flow"]
    from mmlkit.models import load_checkpoint
    model = load_checkpoint(res.checkpoints[1])
    assert model.modality == "Flow"
    with open(tmp_path / "log_model0_RGB.csv") as f:
        row = next(csv.DictReader(f))
    assert float(row["kl"]) > 0 and row["val_top1"] != ""


@pytest.mark.slow
def test_a_loader_worker_trains_the_same_weights(tmp_path):
    """The loader in a worker process and in this one feed the same batches in the same order,
    so they train the same bits (before 0.3 they trained other orders, see EpochOrder)."""
    from mmlkit.config import with_overrides

    digests = []
    for workers in (0, 1):
        cfg = with_overrides(profile("smoke", modalities=("RGB",)), optim={"epochs": 2}, data={"workers": workers})
        res = train(cfg, tmp_path / str(workers), progress=False)
        state = torch.load(res.checkpoints[0], weights_only=False)["state_dict"]
        digests.append([state[k] for k in sorted(state)])
    assert all(torch.equal(a, b) for a, b in zip(*digests))
