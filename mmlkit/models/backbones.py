"""2D image backbones, their first conv for each modality, and image-pretrained weights.

One builder for every arch of :data:`mmlkit.config.ARCHS`: torchvision ResNet-18/34/50/101,
torchvision MobileNetV2, and ``resnet_tiny`` (the embedded CPU benchmark's network:
one BasicBlock per stage, widths 16-32-64-128, a 3x3 stride-2 stem without max-pool, global
average pool; sized for 32x32 inputs). ``resnet_tiny`` uses torchvision's module names
(``conv1``, ``bn1``, ``layer1.0.conv1``, ..., ``fc``) so the shift, the checkpoint layouts and
the parameter policies treat it like any ResNet.

No function here downloads anything: ``pretrained="imagenet"`` reads torchvision's file from
the torch hub cache or fails, saying which file to put where.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torchvision
from torch import nn
from torchvision.models.resnet import BasicBlock

from mmlkit.config import ARCHS, MODALITY_SPECS
from mmlkit.errors import CheckpointError

#: Channels into conv1 per modality: RGB 3, Flow 2 x 5 = 10, RGBDiff 3 x 5 differences = 15.
CONV1_CHANNELS: dict[str, int] = {m: s.conv1_channels for m, s in MODALITY_SPECS.items()}
#: Raw input channels per modality (RGBDiff: 6 frames x 3, differenced inside the model).
INPUT_CHANNELS: dict[str, int] = {m: s.input_channels for m, s in MODALITY_SPECS.items()}

_TV_WEIGHTS = {
    "resnet18": "ResNet18_Weights", "resnet34": "ResNet34_Weights", "resnet50": "ResNet50_Weights",
    "resnet101": "ResNet101_Weights", "mobilenet_v2": "MobileNet_V2_Weights",
}


class TinyResNet(nn.Module):
    """The benchmark's small ResNet: 3x3/2 stem, one BasicBlock per stage (16-32-64-128), GAP.

    Input float (N, in_channels, H, W); 32x32 gives feature maps 16, 16, 8, 4, 2.
    Output (N, num_classes) logits; ``fc`` is replaced by the TSN head.
    """

    def __init__(self, num_classes: int = 1000, in_channels: int = 3,
                 widths: tuple[int, ...] = (16, 32, 64, 128), zero_init_residual: bool = False) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, widths[0], 3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        inp = widths[0]
        for i, w in enumerate(widths):
            stride = 1 if i == 0 else 2
            down = None
            if stride != 1 or inp != w:
                down = nn.Sequential(nn.Conv2d(inp, w, 1, stride=stride, bias=False), nn.BatchNorm2d(w))
            setattr(self, f"layer{i + 1}", nn.Sequential(BasicBlock(inp, w, stride, down)))
            inp = w
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(inp, num_classes)
        for m in self.modules():  # torchvision's ResNet initialisation
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, BasicBlock):
                    nn.init.zeros_(m.bn2.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def check_arch(arch: str) -> None:
    """Raise ValueError naming the known archs when ``arch`` is not one of them."""
    if arch not in ARCHS:
        raise ValueError(f"unknown arch {arch!r}; expected one of {list(ARCHS)}")


def is_resnet(arch: str) -> bool:
    return arch.startswith("resnet")


def build_backbone(arch: str, zero_init_residual: bool = False) -> nn.Module:
    """The plain RGB image network of ``arch`` (with its own 1000-way fc/classifier), random init.

    ``zero_init_residual`` zeroes the last BN of each residual block (ResNets: ``bn2``/``bn3``;
    MobileNetV2: the last BN of each block with a skip connection).
    """
    check_arch(arch)
    if arch == "resnet_tiny":
        return TinyResNet(zero_init_residual=zero_init_residual)
    if is_resnet(arch):
        return getattr(torchvision.models, arch)(weights=None, zero_init_residual=zero_init_residual)
    net = torchvision.models.mobilenet_v2(weights=None)
    if zero_init_residual:
        from torchvision.models.mobilenetv2 import InvertedResidual
        for m in net.modules():
            if isinstance(m, InvertedResidual) and m.use_res_connect:
                nn.init.zeros_(m.conv[-1].weight)
    return net


def head_name(arch: str) -> str:
    """Attribute of the image head in the backbone (``fc`` or ``classifier``)."""
    return "fc" if is_resnet(arch) else "classifier"


def feature_dim(backbone: nn.Module, arch: str) -> int:
    """Width of the pooled feature that feeds the head."""
    if is_resnet(arch):
        return backbone.fc.in_features
    return backbone.classifier[-1].in_features


def first_conv_key(arch: str) -> str:
    """State-dict key of the first conv's weight in the plain backbone."""
    return "conv1.weight" if is_resnet(arch) else "features.0.0.weight"


def convert_conv1_weight(weight: torch.Tensor, in_channels: int) -> torch.Tensor:
    """The channel-mean rule: average the kernel over its input channels, repeat ``in_channels`` times.

    Args:
        weight: float (out, in, kh, kw), any source modality.
        in_channels: the target's channel count (3 RGB, 10 Flow, 15 RGBDiff).

    Returns:
        float (out, in_channels, kh, kw), every input slice equal to the mean (no rescaling).
    """
    mean = weight.mean(dim=1, keepdim=True)  # (out, 1, kh, kw)
    return mean.expand(-1, in_channels, -1, -1).contiguous()


def replace_first_conv(backbone: nn.Module, arch: str, in_channels: int) -> None:
    """Swap the first conv for one with ``in_channels`` inputs, converted by the channel-mean rule."""
    parent, name = (backbone, "conv1") if is_resnet(arch) else (backbone.features[0], "0")
    old: nn.Conv2d = getattr(parent, name)
    if old.in_channels == in_channels:
        return
    new = nn.Conv2d(in_channels, old.out_channels, old.kernel_size, old.stride, old.padding,
                    bias=old.bias is not None)
    with torch.no_grad():
        new.weight.copy_(convert_conv1_weight(old.weight, in_channels))
        if old.bias is not None:
            new.bias.copy_(old.bias)
    setattr(parent, name, new)


def imagenet_file(arch: str) -> Path:
    """Where torchvision's ImageNet weights for ``arch`` must be: ``torch.hub.get_dir()/checkpoints/<name>``."""
    check_arch(arch)
    if arch not in _TV_WEIGHTS:
        raise CheckpointError(f"arch {arch!r} has no ImageNet weights; use pretrained=None or a path to "
                              f"a state dict of the plain {arch} backbone")
    url = getattr(torchvision.models, _TV_WEIGHTS[arch]).IMAGENET1K_V1.url
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(url)


def load_image_weights(backbone: nn.Module, arch: str, pretrained: str) -> None:
    """Load RGB image weights (``"imagenet"`` or a file path) into the plain backbone, in place.

    The file holds the plain backbone's state dict (torchvision key names; for ``resnet_tiny``
    the keys of :class:`TinyResNet`), read with ``torch.load(weights_only=True)``; the head keys
    (``fc.*``/``classifier.*``) are ignored. Call before the first conv is converted.

    Raises:
        CheckpointError: missing file (for ``"imagenet"``: the path and the URL to fetch it from),
            a file that is not a plain state dict, or keys/shapes that do not match ``arch``.
    """
    if pretrained == "imagenet":
        path = imagenet_file(arch)
        if not path.is_file():
            url = getattr(torchvision.models, _TV_WEIGHTS[arch]).IMAGENET1K_V1.url
            raise CheckpointError(
                f"ImageNet weights for {arch} are not in the torch hub cache: put {path.name} "
                f"(from {url}) at {path} (mmlkit never downloads)")
    else:
        path = Path(pretrained)
        if not path.is_file():
            raise CheckpointError(f"pretrained weights file {path} does not exist "
                                  f"(expected a state dict of the plain {arch} image backbone)")
    from mmlkit.models.safe_load import safe_load

    sd = safe_load(path, "pretrained weights")
    if isinstance(sd, dict) and "state_dict" in sd and isinstance(sd["state_dict"], dict):
        sd = sd["state_dict"]
    if not isinstance(sd, dict):
        raise CheckpointError(f"{path} holds a {type(sd).__name__}, expected a state dict (dict of tensors)")
    if sd and all(isinstance(k, str) and k.startswith("module.") for k in sd):
        sd = {k[len("module."):]: v for k, v in sd.items()}  # saved from a DataParallel wrapper
    head = head_name(arch) + "."
    sd = {k: v for k, v in sd.items() if not k.startswith(head)}
    own = {k: v for k, v in backbone.state_dict().items() if not k.startswith(head)}
    c1 = first_conv_key(arch)
    if c1 in sd and c1 in own and sd[c1].dim() == 4 and sd[c1].shape[1] != own[c1].shape[1]:
        sd[c1] = convert_conv1_weight(sd[c1], own[c1].shape[1])  # e.g. a Flow image net into RGB
    missing = sorted(set(own) - set(sd))
    unexpected = sorted(set(sd) - set(own))
    if missing or unexpected:
        raise CheckpointError(f"{path} does not hold a plain {arch} backbone: missing keys "
                              f"{missing[:5]}{'...' if len(missing) > 5 else ''}, unexpected keys "
                              f"{unexpected[:5]}{'...' if len(unexpected) > 5 else ''}")
    bad = [f"{k} {tuple(sd[k].shape)} (expected {tuple(v.shape)})" for k, v in own.items()
           if tuple(sd[k].shape) != tuple(v.shape)]
    if bad:
        raise CheckpointError(f"{path}: shapes do not match a plain RGB {arch}: {bad[:3]}")
    backbone.load_state_dict(sd, strict=False)
