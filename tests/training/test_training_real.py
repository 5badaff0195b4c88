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
    mc = ModelConfig(arch="resnet_tiny", zero_init_residual=True)
    a = pretrain_image_backbone(mc, tmp_path / "a.pt", preset="smoke", seed=3, cfg=PretrainConfig(n_images=64, epochs=1, batch_size=32),
                                progress=False)
    b = pretrain_image_backbone(mc, tmp_path / "b.pt", preset="smoke", seed=3, cfg=PretrainConfig(n_images=64, epochs=1, batch_size=32),
                                progress=False)
    sa, sb = torch.load(a, weights_only=True), torch.load(b, weights_only=True)
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not any(k.startswith("fc.") for k in sa)
    from mmlkit.models import build_model
    m = build_model(replace(mc, pretrained=str(a)), 7, 4, "Flow")     # loads, conv1 converted
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
