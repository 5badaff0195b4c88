"""TSN/TSM: a 2D backbone run on every segment, a new linear head, average consensus.

Module names mirror the released (TSM/MML) code so checkpoints map one-to-one: the backbone is
``base_model`` (its image head replaced by dropout), the new head is ``new_fc``, a shifted conv
is wrapped (``base_model.layer1.0.conv1.net.weight``). MobileNetV2 is torchvision's; its keys
are renamed to the released code's own MobileNetV2 in :mod:`mmlkit.models.checkpoint`.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from mmlkit.config import ModelConfig
from mmlkit.models import backbones as bb
from mmlkit.models.temporal_shift import (
    TemporalPool, make_temporal_shift_mobilenet, make_temporal_shift_resnet, pooled_segments,
)

_D = ModelConfig()  # the defaults live in config.py only


def rgb_diff(x: torch.Tensor) -> torch.Tensor:
    """Forward differences of the frames of each segment.

    Args:
        x: float (B, T, 3 * L, H, W), L consecutive RGB frames per segment, frame-major channels
            (channel ``3 * k + c`` is colour ``c`` of frame ``k``).

    Returns:
        float (B, T, 3 * (L - 1), H, W): difference ``k`` (0-based) is ``frame[k + 1] - frame[k]``.
    """
    b, t, c, h, w = x.shape
    f = x.view(b, t, c // 3, 3, h, w)
    return (f[:, :, 1:] - f[:, :, :-1]).reshape(b, t, c - 3, h, w)


class TSN(nn.Module):
    """Temporal Segment Network with optional temporal shift (TSM).

    Args:
        num_classes: K, size of the new head.
        num_segments: T, segments per clip (the input's second dim must equal it).
        modality: ``RGB`` | ``Flow`` | ``RGBDiff``; input channels 3 | 10 | 18 (RGBDiff: 6 raw
            frames x 3, differenced inside into 15 channels).
        arch: one of :data:`mmlkit.config.ARCHS`.
        shift: insert the temporal shift.
        shift_div: a fold is ``C // shift_div`` channels.
        shift_place: ``blockres`` (inside the residual branch) or ``block`` (the block's whole
            input; ResNets only).
        temporal_pool: max-pool over time after layer1 (ResNets), T -> (T + 1) // 2.
        dropout: before the new head.
        partial_bn: freeze every BatchNorm but the first (eval mode and no gradient on their
            affine parameters), re-applied by every ``model.train()``.
        pretrained: ``None``, ``"imagenet"`` (torchvision's file in the torch hub cache) or a path
            to a plain RGB image-backbone state dict; conv1 is converted for Flow/RGBDiff.
        zero_init_residual: last BN of each residual block starts at zero (ignored for the
            layers that ``pretrained`` loads).

    Shapes:
        forward: float (B, T, C, H, W) -> logits float (B, K), the mean of the per-segment logits.

    Attributes:
        meta: dict of every constructor argument (stored in checkpoints).
    """

    def __init__(self, num_classes: int, num_segments: int, modality: str, arch: str = _D.arch,
                 shift: bool = _D.shift, shift_div: int = _D.shift_div, shift_place: str = _D.shift_place,
                 temporal_pool: bool = _D.temporal_pool, dropout: float = _D.dropout,
                 partial_bn: bool = _D.partial_bn, pretrained: str | None = _D.pretrained,
                 zero_init_residual: bool = _D.zero_init_residual) -> None:
        super().__init__()
        if modality not in bb.CONV1_CHANNELS:
            raise ValueError(f"unknown modality {modality!r}; expected one of {list(bb.CONV1_CHANNELS)}")
        bb.check_arch(arch)
        if shift_place not in ("blockres", "block"):
            raise ValueError(f"shift_place={shift_place!r} is not one of ['blockres', 'block']")
        if num_classes < 1 or num_segments < 1:
            raise ValueError(f"num_classes={num_classes} and num_segments={num_segments} must be >= 1")
        if shift and shift_div < 2:
            raise ValueError(f"shift_div={shift_div} must be >= 2")
        if not bb.is_resnet(arch) and (temporal_pool or (shift and shift_place == "block")):
            raise ValueError(f"arch {arch!r} supports shift_place='blockres' without temporal_pool only "
                             f"(got shift_place={shift_place!r}, temporal_pool={temporal_pool})")
        self.meta: dict = dict(num_classes=num_classes, num_segments=num_segments, modality=modality,
                               arch=arch, shift=shift, shift_div=shift_div, shift_place=shift_place,
                               temporal_pool=temporal_pool, dropout=float(dropout), partial_bn=partial_bn,
                               pretrained=pretrained, zero_init_residual=zero_init_residual)
        self.num_classes, self.num_segments, self.modality, self.arch = num_classes, num_segments, modality, arch
        self.partial_bn = partial_bn
        self.segments_out = pooled_segments(num_segments, temporal_pool)  # T after temporal pooling

        base = bb.build_backbone(arch, zero_init_residual=zero_init_residual)
        if pretrained is not None:
            bb.load_image_weights(base, arch, pretrained)
        bb.replace_first_conv(base, arch, bb.CONV1_CHANNELS[modality])
        feat = bb.feature_dim(base, arch)
        setattr(base, bb.head_name(arch), nn.Dropout(p=dropout))
        if shift:
            if bb.is_resnet(arch):
                make_temporal_shift_resnet(base, num_segments, shift_div, shift_place, temporal_pool)
            else:
                make_temporal_shift_mobilenet(base, num_segments, shift_div)
        elif temporal_pool:
            base.layer2 = TemporalPool(base.layer2, num_segments)
        self.base_model = base
        self.new_fc = nn.Linear(feat, num_classes)
        nn.init.normal_(self.new_fc.weight, 0.0, 0.001)
        nn.init.zeros_(self.new_fc.bias)
        self.train()

    @property
    def input_channels(self) -> int:
        """Raw channels per segment the forward expects (3 | 10 | 18)."""
        return bb.INPUT_CHANNELS[self.modality]

    def check_input(self, x: torch.Tensor) -> None:
        """Raise ValueError naming the expected and the found shape."""
        c = self.input_channels
        if x.dim() != 5 or x.shape[2] != c:
            raise ValueError(f"{self.modality} model expects (B, T, {c}, H, W), got {tuple(x.shape)}")
        if x.shape[1] != self.num_segments:
            raise ValueError(f"{self.modality} model was built for T={self.num_segments} segments, "
                             f"got T={x.shape[1]} in an input of shape {tuple(x.shape)}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        b, t = x.shape[:2]
        if self.modality == "RGBDiff":
            x = rgb_diff(x)  # (B, T, 15, H, W)
        feats = self.base_model(x.reshape(b * t, *x.shape[2:]))  # (B * T', F)
        logits = self.new_fc(feats)  # (B * T', K)
        return logits.view(b, self.segments_out, -1).mean(dim=1)  # (B, K)

    def train(self, mode: bool = True) -> TSN:
        """Set train/eval mode; under partial BN every BatchNorm but the first stays frozen."""
        super().train(mode)
        if self.partial_bn and mode:
            bns = [m for m in self.base_model.modules() if isinstance(m, nn.BatchNorm2d)]
            for m in bns[1:]:
                m.eval()
                m.weight.requires_grad_(False)
                m.bias.requires_grad_(False)
        return self


def build_model(model_cfg: ModelConfig, num_classes: int, num_segments: int, modality: str) -> TSN:
    """A :class:`TSN` from the frozen :class:`~mmlkit.config.ModelConfig` (the modality is per model)."""
    return TSN(num_classes=num_classes, num_segments=num_segments, modality=modality,
               **dataclasses.asdict(model_cfg))


def param_groups(model: TSN, lr: float, weight_decay: float, fc_lr5: bool = False) -> list[dict]:
    """Optimizer parameter groups with the TSM code's learning-rate and weight-decay multipliers.

    Groups (empty ones are left out), each ``{"params", "name", "lr_mult", "decay_mult", "lr",
    "weight_decay"}`` with ``lr = lr * lr_mult`` and ``weight_decay = weight_decay * decay_mult``
    (scale ``lr_mult``/``decay_mult`` by the schedule on every change):

    ==================  ====================  ==========
    name                lr_mult               decay_mult
    ==================  ====================  ==========
    first_conv_weight   5 if Flow else 1      1
    first_conv_bias     10 if Flow else 2     0
    normal_weight       1                     1
    normal_bias         2                     0
    BN scale/shift      1                     0
    custom_ops          1                     1
    lr5_weight          5 (new head, fc_lr5)  1
    lr10_bias           10 (new head, fc_lr5) 0
    ==================  ====================  ==========

    Under partial BN only the first BatchNorm's parameters are included (the others are frozen).
    ``fc_lr5``: the head trains at 5x/10x (the released code sets it when fine-tuning from a
    checkpoint of another dataset); otherwise the head's weight/bias join the normal groups.
    """
    first_w, first_b, normal_w, normal_b, lr5_w, lr10_b, bn, custom = ([] for _ in range(8))
    conv_cnt = bn_cnt = 0
    for m in model.modules():
        if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
            conv_cnt += 1
            (first_w if conv_cnt == 1 else normal_w).append(m.weight)
            if m.bias is not None:
                (first_b if conv_cnt == 1 else normal_b).append(m.bias)
        elif isinstance(m, nn.Linear):
            (lr5_w if fc_lr5 else normal_w).append(m.weight)
            if m.bias is not None:
                (lr10_b if fc_lr5 else normal_b).append(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)):
            bn_cnt += 1
            if not getattr(model, "partial_bn", False) or bn_cnt == 1:
                bn.extend(m.parameters())
        elif len(m._modules) == 0 and any(True for _ in m.parameters(recurse=False)):
            raise AssertionError(f"module type {type(m).__name__} has no learning policy")
    flow = getattr(model, "modality", "RGB") == "Flow"
    spec = [(first_w, "first_conv_weight", 5 if flow else 1, 1), (first_b, "first_conv_bias", 10 if flow else 2, 0),
            (normal_w, "normal_weight", 1, 1), (normal_b, "normal_bias", 2, 0), (bn, "BN scale/shift", 1, 0),
            (custom, "custom_ops", 1, 1), (lr5_w, "lr5_weight", 5, 1), (lr10_b, "lr10_bias", 10, 0)]
    return [{"params": ps, "name": name, "lr_mult": lm, "decay_mult": dm, "lr": lr * lm,
             "weight_decay": weight_decay * dm} for ps, name, lm, dm in spec if ps]
