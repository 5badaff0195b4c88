"""TSN: shapes for every modality and arch, RGBDiff, consensus, param groups, partial BN, errors."""

import pytest
import torch
from torch import nn

from mmlkit.config import ModelConfig
from mmlkit.models import TSN, build_model, param_groups, rgb_diff

CH = {"RGB": 3, "Flow": 10, "RGBDiff": 18}


@pytest.mark.parametrize("arch,modality", [("resnet_tiny", "RGB"), ("resnet_tiny", "Flow"), ("resnet_tiny", "RGBDiff"),
                                           ("resnet18", "Flow"), ("mobilenet_v2", "RGBDiff")])
def test_shapes_every_modality(arch, modality):
    m = TSN(5, 2, modality, arch=arch).eval()
    with torch.no_grad():
        y = m(torch.randn(2, 2, CH[modality], 32, 32))
    assert y.shape == (2, 5) and torch.isfinite(y).all()
    assert m.meta["modality"] == modality and m.meta["arch"] == arch


@pytest.mark.slow
@pytest.mark.parametrize("arch", ["resnet50", "resnet101"])
def test_shapes_big_resnets(arch):
    m = TSN(4, 2, "Flow", arch=arch, temporal_pool=arch == "resnet50").eval()
    with torch.no_grad():
        assert m(torch.randn(1, 2, 10, 32, 32)).shape == (1, 4)


def test_rgb_diff_forward_differences():
    x = torch.arange(6, dtype=torch.float32).repeat_interleave(3).view(1, 1, 18, 1, 1) ** 2  # frame k = k^2
    d = rgb_diff(x).view(5, 3)
    assert torch.equal(d[:, 0], torch.tensor([1.0, 3.0, 5.0, 7.0, 9.0]))


def test_consensus_is_mean_of_segment_logits_and_head_init():
    torch.manual_seed(0)
    m = TSN(3, 4, "RGB", arch="resnet_tiny", shift=False, dropout=0.0).eval()
    assert m.new_fc.bias.abs().sum() == 0 and 0 < m.new_fc.weight.std() < 0.002
    x = torch.randn(2, 4, 3, 32, 32)
    per_frame = m.new_fc(m.base_model(x.view(8, 3, 32, 32))).view(2, 4, 3)
    assert torch.allclose(m(x), per_frame.mean(1), atol=1e-6)


def test_temporal_pool_and_block_placement():
    m = TSN(3, 8, "RGB", arch="resnet_tiny", shift_place="block", temporal_pool=True)
    assert m.segments_out == 4
    y = m(torch.randn(2, 8, 3, 32, 32))
    y.sum().backward()
    assert y.shape == (2, 3)


def test_build_model_meta_has_every_argument():
    cfg = ModelConfig(arch="resnet_tiny", dropout=0.0, zero_init_residual=True)
    m = build_model(cfg, num_classes=6, num_segments=4, modality="Flow")
    assert m.meta == dict(num_classes=6, num_segments=4, modality="Flow", arch="resnet_tiny", shift=True,
                          shift_div=8, shift_place="blockres", temporal_pool=False, dropout=0.0,
                          partial_bn=False, pretrained=None, zero_init_residual=True)


def test_param_groups_policies_and_partial_bn():
    m = TSN(3, 2, "Flow", arch="resnet_tiny", partial_bn=True)
    groups = param_groups(m, lr=0.1, weight_decay=1e-3)
    by = {g["name"]: g for g in groups}
    assert by["first_conv_weight"]["lr_mult"] == 5 and by["first_conv_weight"]["params"] == [m.base_model.conv1.weight]
    assert by["normal_bias"]["params"] == [m.new_fc.bias] and by["normal_bias"]["decay_mult"] == 0
    assert by["BN scale/shift"]["params"] == [m.base_model.bn1.weight, m.base_model.bn1.bias]
    assert by["normal_weight"]["lr"] == pytest.approx(0.1) and by["normal_weight"]["weight_decay"] == pytest.approx(1e-3)
    # every trainable parameter is in exactly one group
    ids = [id(p) for g in groups for p in g["params"]]
    assert sorted(ids) == sorted(id(p) for p in m.parameters() if p.requires_grad) and len(set(ids)) == len(ids)
    bns = [x for x in m.modules() if isinstance(x, nn.BatchNorm2d)]
    m.eval()
    m.train()
    assert bns[0].training and not any(b.training for b in bns[1:])
    assert not bns[1].weight.requires_grad and bns[0].weight.requires_grad
    torch.optim.SGD(groups, lr=0.1, momentum=0.9)  # the groups are valid optimizer input
    fc = {g["name"]: g for g in param_groups(TSN(3, 2, "RGB", arch="resnet_tiny"), 1.0, 1.0, fc_lr5=True)}
    assert fc["lr5_weight"]["lr"] == 5 and fc["lr10_bias"]["lr"] == 10 and fc["first_conv_weight"]["lr_mult"] == 1


def test_partial_bn_keeps_running_stats_of_frozen_layers():
    torch.manual_seed(0)
    m = TSN(3, 2, "RGB", arch="resnet_tiny", partial_bn=True)
    before = m.base_model.layer1[0].bn1.running_mean.clone()
    m(torch.randn(2, 2, 3, 32, 32))
    assert torch.equal(m.base_model.layer1[0].bn1.running_mean, before)


def test_errors_name_expected_and_found():
    m = TSN(3, 2, "Flow", arch="resnet_tiny")
    with pytest.raises(ValueError, match=r"Flow model expects \(B, T, 10, H, W\), got \(1, 2, 3, 32, 32\)"):
        m(torch.randn(1, 2, 3, 32, 32))
    with pytest.raises(ValueError, match="built for T=2 segments, got T=3"):
        m(torch.randn(1, 3, 10, 32, 32))
    with pytest.raises(ValueError, match="unknown arch 'resnet9'.*resnet50"):
        TSN(3, 2, "RGB", arch="resnet9")
    with pytest.raises(ValueError, match="unknown modality 'Depth'.*RGBDiff"):
        TSN(3, 2, "Depth", arch="resnet_tiny")
    with pytest.raises(ValueError, match="blockres"):
        TSN(3, 2, "RGB", arch="mobilenet_v2", shift_place="block")
