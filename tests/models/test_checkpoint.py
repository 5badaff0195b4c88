"""Checkpoints: ours, the released TSM/MML layout both ways, cross-modal init, refusals."""

import pickle
import re
from collections import OrderedDict

import pytest
import torch
import torchvision

from mmlkit.errors import CheckpointError
from mmlkit.models import (
    TSN, convert_conv1_weight, init_from_checkpoint, load_checkpoint, read_checkpoint, save_checkpoint,
    to_official_state_dict,
)


def _x(modality, b=2, t=2, s=32):
    return torch.randn(b, t, {"RGB": 3, "Flow": 10, "RGBDiff": 18}[modality], s, s)


def _trained(model):
    """Give BN running stats and weights non-default values (one train step)."""
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model.train()
    model(_x(model.modality, t=model.num_segments)).sum().backward()
    opt.step()
    return opt


def _perturbed(model):
    """Random values in every float tensor of the state (weights, BN statistics), cheaply."""
    with torch.no_grad():
        for v in model.state_dict().values():
            if v.is_floating_point():
                v.copy_(torch.rand_like(v) * 0.5 + 0.5 if v.dim() == 1 else torch.randn_like(v) * 0.1)
    return model


def test_round_trip_ours(tmp_path):
    torch.manual_seed(0)
    m = TSN(4, 2, "RGBDiff", arch="resnet_tiny", shift_div=4)
    opt = _trained(m)
    path = save_checkpoint(tmp_path / "sub" / "m.pt", m, epoch=3, optimizer=opt.state_dict(), best_prec1=42.5)
    assert [p.name for p in path.parent.iterdir()] == ["m.pt"]  # no temporary file left behind
    ck = read_checkpoint(path)
    assert ck["layout"] == "mmlkit" and ck["epoch"] == 3 and ck["best_prec1"] == 42.5
    assert ck["meta"] == m.meta and ck["optimizer"]["state"][0]["momentum_buffer"] is not None
    m2 = load_checkpoint(path)
    assert not m2.training and m2.meta == m.meta
    x = _x("RGBDiff")
    m.eval()
    with torch.no_grad():
        assert torch.equal(m(x), m2(x))


def test_mismatch_and_refusals(tmp_path):
    m = TSN(4, 2, "Flow", arch="resnet_tiny")
    path = save_checkpoint(tmp_path / "m.pt", m)
    with pytest.raises(CheckpointError, match="num_classes=4, but num_classes=5"):
        load_checkpoint(path, num_classes=5)
    with pytest.raises(CheckpointError, match="arch='resnet_tiny', but arch='resnet18'"):
        load_checkpoint(path, arch="resnet18")
    with pytest.raises(CheckpointError, match="num_segments=2, but num_segments=8"):
        load_checkpoint(path, num_segments=8)
    with pytest.raises(CheckpointError, match="does not exist"):
        read_checkpoint(tmp_path / "missing.pt")
    evil = tmp_path / "evil.pt"
    torch.save({"state_dict": m.state_dict(), "x": pickle.PickleError("code")}, evil)
    with pytest.raises(CheckpointError, match="holds Python objects") as e:
        read_checkpoint(evil)
    assert "weights_only=False" not in str(e.value)
    with pytest.raises(TypeError, match="entry extra is a object"):
        save_checkpoint(tmp_path / "n.pt", m, extra=object())
    with pytest.raises(CheckpointError, match="resnet_tiny model, the model to initialise is resnet18"):
        init_from_checkpoint(TSN(4, 2, "Flow", arch="resnet18"), path)


def _released_resnet18(num_classes, shift):
    """A checkpoint as the released code writes it, built from torchvision's module names."""
    tv = torchvision.models.resnet18(weights=None)
    sd = OrderedDict()
    for k, v in tv.state_dict().items():
        if k.startswith("fc."):
            continue
        if shift:
            k = re.sub(r"^(layer\d\.\d+\.conv1)\.", r"\1.net.", k)
        sd["module.base_model." + k] = v.clone()
    sd["module.new_fc.weight"] = torch.randn(num_classes, 512) * 0.01
    sd["module.new_fc.bias"] = torch.randn(num_classes)
    return tv, sd


def test_released_layout_in_and_out(tmp_path):
    torch.manual_seed(0)
    tv, sd = _released_resnet18(6, shift=True)
    assert "module.base_model.layer1.0.conv1.net.weight" in sd
    path = tmp_path / "TSM_somethingv2_RGB_resnet18_shift8_blockres_avg_segment2_e45.pth.tar"
    torch.save({"epoch": 45, "arch": "resnet18", "state_dict": sd, "best_prec1": 61.0,
                "optimizer": {"state": {}, "param_groups": [{"lr": 0.01, "params": [0, 1]}]}}, path)
    ck = read_checkpoint(path)
    assert ck["layout"] == "official" and ck["meta"] is None and ck["epoch"] == 45
    assert ck["inferred"] == dict(num_classes=6, modality="RGB", arch="resnet18", temporal_pool=False,
                                  shift=True, shift_place="blockres")
    with pytest.raises(CheckpointError, match="num_segments="):
        load_checkpoint(path)
    with pytest.raises(CheckpointError, match="shift_place='blockres', but shift_place='block'"):
        load_checkpoint(path, num_segments=2, shift_place="block")
    m = load_checkpoint(path, num_segments=2)
    out = to_official_state_dict(m)
    assert list(out) == list(sd) and all(torch.equal(out[k], sd[k]) for k in sd)

    # the same weights without shift give exactly torchvision's per-frame output, averaged
    sd_noshift = OrderedDict((k.replace(".net.", "."), v) for k, v in sd.items())
    path2 = tmp_path / "noshift.pth"
    torch.save(sd_noshift, path2)  # a bare state dict is read too
    m2 = load_checkpoint(path2, num_segments=2)
    assert m2.meta["shift"] is False
    tv.fc = torch.nn.Linear(512, 6)
    tv.fc.weight.data, tv.fc.bias.data = sd["module.new_fc.weight"], sd["module.new_fc.bias"]
    tv.eval()
    x = _x("RGB")
    with torch.no_grad():
        assert torch.allclose(m2(x), tv(x.view(4, 3, 32, 32)).view(2, 2, 6).mean(1), atol=1e-5)


@pytest.mark.parametrize("kw", [dict(arch="resnet_tiny", shift_place="block", temporal_pool=True, t=4),
                                dict(arch="resnet_tiny", dropout=0.0, t=2),
                                dict(arch="mobilenet_v2", t=2)])
def test_export_import_both_ways_identical_outputs(tmp_path, kw):
    torch.manual_seed(0)
    t = kw.pop("t")
    m = _perturbed(TSN(3, t, "Flow", **kw)).eval()
    off = to_official_state_dict(m)
    if kw.get("shift_place") == "block":
        assert "module.base_model.layer2.net.0.net.conv1.weight" in off
    if kw.get("dropout") == 0.0:
        assert "module.base_model.fc.weight" in off and not any("new_fc" in k for k in off)
    if kw["arch"] == "mobilenet_v2":  # the released code's MobileNetV2 numbering
        shapes = {"features.1.conv.0.weight": (32, 1, 3, 3), "features.1.conv.3.weight": (16, 32, 1, 1),
                  "features.2.conv.0.weight": (96, 16, 1, 1), "features.2.conv.3.weight": (96, 1, 3, 3),
                  "features.2.conv.6.weight": (24, 96, 1, 1), "features.3.conv.0.net.weight": (144, 24, 1, 1),
                  "features.3.conv.7.running_var": (24,), "features.18.0.weight": (1280, 320, 1, 1),
                  "features.0.0.weight": (32, 10, 3, 3)}
        for k, s in shapes.items():
            assert tuple(off["module.base_model." + k].shape) == s, k
        assert not any("features.2.conv.0.net" in k for k in off)
    path = tmp_path / "released.pth.tar"
    torch.save({"epoch": 1, "arch": kw["arch"], "state_dict": off}, path)
    back = load_checkpoint(path, num_segments=t, **{k: v for k, v in kw.items() if k != "dropout"})
    x = _x("Flow", t=t)
    with torch.no_grad():
        assert torch.equal(m(x), back(x))
    again = to_official_state_dict(back)
    assert list(again) == list(off) and all(torch.equal(again[k], off[k]) for k in off)


def test_cross_modal_init_keeps_every_other_weight(tmp_path):
    torch.manual_seed(0)
    src = TSN(4, 2, "RGB", arch="resnet_tiny")
    _trained(src)
    path = save_checkpoint(tmp_path / "rgb.pt", src, epoch=1)
    dst = TSN(4, 8, "Flow", arch="resnet_tiny")
    notes = init_from_checkpoint(dst, path)
    assert any("conv1 converted from 3 to 10" in n for n in notes) and any("head loaded" in n for n in notes)
    s, d = src.state_dict(), dst.state_dict()
    for k in s:
        if k == "base_model.conv1.weight":
            assert torch.equal(d[k], convert_conv1_weight(s[k], 10))
        else:
            assert torch.equal(d[k], s[k]), k
    # other class count: the fresh head stays; a non-shifted target still takes every weight
    dst2 = TSN(7, 2, "RGBDiff", arch="resnet_tiny", shift=False)
    head = dst2.new_fc.weight.detach().clone()
    notes = init_from_checkpoint(dst2, path)
    assert any("4 classes, model has 7" in n for n in notes)
    assert torch.equal(dst2.new_fc.weight, head)
    assert torch.equal(dst2.base_model.layer2[0].conv1.weight, src.base_model.layer2[0].conv1.net.weight)
    # and from the released layout, Flow back to RGB
    off = tmp_path / "off.pth"
    torch.save({"state_dict": to_official_state_dict(dst)}, off)
    rgb = TSN(4, 2, "RGB", arch="resnet_tiny")
    init_from_checkpoint(rgb, off)
    assert torch.equal(rgb.base_model.conv1.weight, convert_conv1_weight(d["base_model.conv1.weight"], 3))
