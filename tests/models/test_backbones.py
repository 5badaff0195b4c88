"""Backbones, the conv1 channel-mean rule and image-pretrained weights (never downloaded)."""

import pytest
import torch

from mmlkit.errors import CheckpointError
from mmlkit.models import TSN, TinyResNet, build_backbone, convert_conv1_weight, imagenet_file


def test_conv1_channel_mean_rule_values():
    w = torch.arange(2 * 3 * 1 * 2, dtype=torch.float32).view(2, 3, 1, 2)
    out = convert_conv1_weight(w, 10)
    assert out.shape == (2, 10, 1, 2)
    # out channel 0: kernels [0,1],[2,3],[4,5] -> mean [2,3]; out channel 1: [6..11] -> [8,9]
    assert torch.equal(out[0, :, 0], torch.tensor([[2.0, 3.0]] * 10))
    assert torch.equal(out[1, :, 0], torch.tensor([[8.0, 9.0]] * 10))
    back = convert_conv1_weight(out, 3)  # Flow -> RGB: the mean of equal slices is that slice
    assert torch.equal(back, convert_conv1_weight(w, 3))


def test_tiny_resnet_layout_and_shapes():
    net = TinyResNet(num_classes=7)
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 7)
    assert [net.layer1[0].conv1.out_channels, net.layer4[0].conv2.out_channels] == [16, 128]
    assert net.conv1.kernel_size == (3, 3) and net.conv1.stride == (2, 2)
    z = TinyResNet(zero_init_residual=True)
    assert all(float(getattr(z, f"layer{i}")[0].bn2.weight.detach().abs().sum()) == 0 for i in range(1, 5))


def test_pretrained_path_loads_backbone_and_converts_conv1(tmp_path):
    torch.manual_seed(0)
    img = TinyResNet(num_classes=5)  # an "image-pretrained" tiny backbone, fc ignored
    path = tmp_path / "tiny.pt"
    torch.save(img.state_dict(), path)
    m = TSN(3, 2, "Flow", arch="resnet_tiny", pretrained=str(path))
    assert torch.equal(m.base_model.layer3[0].conv1.net.weight, img.layer3[0].conv1.weight)
    assert torch.equal(m.base_model.conv1.weight, convert_conv1_weight(img.conv1.weight, 10))
    assert m.meta["pretrained"] == str(path)


def test_pretrained_errors(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    with pytest.raises(CheckpointError, match=r"resnet18-f37072fd\.pth.*hub/checkpoints"):
        TSN(3, 2, "RGB", arch="resnet18", pretrained="imagenet")
    with pytest.raises(CheckpointError, match="no ImageNet weights"):
        TSN(3, 2, "RGB", arch="resnet_tiny", pretrained="imagenet")
    with pytest.raises(CheckpointError, match="does not exist"):
        TSN(3, 2, "RGB", arch="resnet_tiny", pretrained=str(tmp_path / "nope.pt"))
    bad = tmp_path / "other.pt"
    torch.save(build_backbone("resnet18").state_dict(), bad)
    with pytest.raises(CheckpointError, match="plain resnet_tiny backbone"):
        TSN(3, 2, "RGB", arch="resnet_tiny", pretrained=str(bad))


def test_imagenet_from_hub_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    f = imagenet_file("mobilenet_v2")
    assert f.parent == tmp_path / "checkpoints" and f.name.startswith("mobilenet_v2-")
    torch.manual_seed(1)
    ref = build_backbone("resnet18")
    (tmp_path / "checkpoints").mkdir()
    torch.save(ref.state_dict(), imagenet_file("resnet18"))
    m = TSN(3, 2, "RGB", arch="resnet18", pretrained="imagenet", shift=False)
    assert torch.equal(m.base_model.layer4[1].conv2.weight, ref.layer4[1].conv2.weight)
