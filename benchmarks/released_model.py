"""The released code's TSM-ResNet-50, as method.md describes it, for ``bench_released``.

Written here from that description (the released code is not ours to copy): torchvision's
ResNet-50 with the ``blockres`` shift in front of every bottleneck's first convolution, done as
the released code does it (a ``zeros_like`` buffer filled by three slice assignments, autograd
through the slices), its ``fc`` replaced by dropout, a new linear head (normal init, std 0.001),
the logits averaged over segments; NCHW tensors, as the released code keeps them.
"""

from __future__ import annotations

import torch
from torch import nn


class Shifted(nn.Module):
    """``net(shift(x))``: the released wrapper around a block's first convolution.

    ``x``: (B*T, C, H, W); the first ``C // n_div`` channels come from the next segment, the
    next ``C // n_div`` from the previous one, zeros at the ends; the rest stay.
    """

    def __init__(self, net: nn.Module, n_segment: int, n_div: int = 8) -> None:
        super().__init__()
        self.net, self.n_segment, self.n_div = net, n_segment, n_div

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nt, c, h, w = x.shape
        x5 = x.view(nt // self.n_segment, self.n_segment, c, h, w)  # (B, T, C, H, W)
        f = c // self.n_div
        out = torch.zeros_like(x5)
        out[:, :-1, :f] = x5[:, 1:, :f]                # shift left: frame t reads t + 1
        out[:, 1:, f:2 * f] = x5[:, :-1, f:2 * f]      # shift right: frame t reads t - 1
        out[:, :, 2 * f:] = x5[:, :, 2 * f:]           # unshifted
        return self.net(out.view(nt, c, h, w))


class ReleasedTSM(nn.Module):
    """The released RGB TSM-ResNet-50: ``(B, T, 3, H, W) -> (B, num_classes)`` logits."""

    def __init__(self, num_segments: int, num_classes: int, dropout: float = 0.5) -> None:
        import torchvision

        super().__init__()
        self.num_segments = num_segments
        self.base_model = torchvision.models.resnet50()
        for layer in (self.base_model.layer1, self.base_model.layer2, self.base_model.layer3,
                      self.base_model.layer4):
            for block in layer:
                block.conv1 = Shifted(block.conv1, num_segments)
        self.base_model.fc = nn.Dropout(dropout)
        self.new_fc = nn.Linear(2048, num_classes)
        nn.init.normal_(self.new_fc.weight, 0, 0.001)
        nn.init.constant_(self.new_fc.bias, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        base = self.new_fc(self.base_model(x.view((-1,) + x.shape[-3:])))   # (B*T, K)
        return base.view(x.shape[0], self.num_segments, -1).mean(dim=1)    # (B, K)
