"""The temporal shift and temporal pooling of TSM, and their insertion into a 2D backbone.

Frames of a clip travel through the 2D backbone as a batch of ``N * T`` images, clip-major
(image ``n * T + t`` is frame ``t`` of clip ``n``). The shift mixes neighbouring frames at
zero cost in parameters (method.md, "Model"):

* channels are split in folds of ``C // shift_div``;
* fold 0 (channels ``[0, fold)``) at frame ``t`` takes frame ``t + 1``'s values;
* fold 1 (channels ``[fold, 2 * fold)``) at frame ``t`` takes frame ``t - 1``'s values;
* the remaining channels stay; the ends are zero-padded (frame ``T - 1`` of fold 0 and frame 0
  of fold 1 are zeros).

Placements (ResNets): ``"blockres"`` shifts inside each residual block, before its first conv
(the identity path sees the unshifted input; with 23 or more blocks in layer3 only blocks
0, 2, 4, ... of each stage are shifted); ``"block"`` shifts the block's whole input (both the
residual branch and the identity path). Module names mirror the released code: a shifted
module is wrapped, so its parameters gain ``.net`` in their state-dict keys.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _shift(x: torch.Tensor, num_segments: int, fold: int, reverse: bool = False) -> torch.Tensor:
    """The shift as plain tensor ops; ``reverse`` swaps the directions (the shift's adjoint)."""
    x5 = x.view(x.shape[0] // num_segments, num_segments, *x.shape[1:])  # (N, T, C, ...)
    nxt, prv = slice(0, fold), slice(fold, 2 * fold)  # fold 0 reads t + 1, fold 1 reads t - 1
    if reverse:
        nxt, prv = prv, nxt
    out = torch.empty_like(x5)
    out[:, :-1, nxt] = x5[:, 1:, nxt]
    out[:, -1, nxt] = 0
    out[:, 1:, prv] = x5[:, :-1, prv]
    out[:, 0, prv] = 0
    out[:, :, 2 * fold:] = x5[:, :, 2 * fold:]
    return out.view_as(x)


def _dense(x: torch.Tensor) -> torch.Tensor:
    """``x`` itself when it is dense in NCHW or channels-last order (both split their first dim
    into (N, T) as a view), else a contiguous copy. ``.contiguous()`` alone would turn a
    channels-last gradient into NCHW: a full copy, and every op behind it then mixes layouts."""
    if x.is_contiguous() or (x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last)):
        return x
    return x.contiguous()


class _ShiftFunction(torch.autograd.Function):
    """The shift with its adjoint as the backward: 5-10x faster on CPU than autograd through
    slice assignments (which materialises full-size gradient copies per assignment)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, num_segments: int, fold: int) -> torch.Tensor:
        ctx.num_segments, ctx.fold = num_segments, fold
        return _shift(x, num_segments, fold)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return _shift(_dense(grad), ctx.num_segments, ctx.fold, reverse=True), None, None


def temporal_shift(x: torch.Tensor, num_segments: int, shift_div: int = 8) -> torch.Tensor:
    """Shift one fold of channels back and one forward in time.

    Args:
        x: float (N * T, C, H, W), clip-major. Also accepts (N * T, C) or any trailing dims.
        num_segments: T.
        shift_div: fold size is ``C // shift_div`` (0 means nothing moves).

    Returns:
        A new tensor of the shape of ``x``: ``out[n, t, :fold] = x[n, t + 1, :fold]``,
        ``out[n, t, fold:2fold] = x[n, t - 1, fold:2fold]``, the rest copied; zeros where
        ``t + 1 == T`` (fold 0) or ``t == 0`` (fold 1).
    """
    assert x.shape[0] % num_segments == 0, f"batch of {x.shape[0]} images is not a multiple of T={num_segments}"
    fold = x.shape[1] // shift_div
    if torch.is_grad_enabled() and x.requires_grad:
        return _ShiftFunction.apply(x, num_segments, fold)
    return _shift(x, num_segments, fold)  # plain ops: traceable/exportable


def temporal_pool(x: torch.Tensor, num_segments: int) -> torch.Tensor:
    """Max-pool over time with kernel 3, stride 2, padding 1 (TSM's temporal pooling).

    Args:
        x: float (N * T, C, H, W), clip-major.
        num_segments: T.

    Returns:
        float (N * T', C, H, W) with ``T' = (T + 1) // 2`` (T / 2 for even T).
    """
    nt, c, h, w = x.shape
    n = nt // num_segments
    x5 = x.view(n, num_segments, c, h, w).transpose(1, 2)  # (N, C, T, H, W)
    x5 = F.max_pool3d(x5, kernel_size=(3, 1, 1), stride=(2, 1, 1), padding=(1, 0, 0))
    t2 = x5.shape[2]
    return x5.transpose(1, 2).reshape(n * t2, c, h, w)


class TemporalShift(nn.Module):
    """``net(temporal_shift(x))``; ``net`` keeps its name so keys read ``<...>.net.<param>``."""

    def __init__(self, net: nn.Module, num_segments: int, shift_div: int = 8) -> None:
        super().__init__()
        self.net = net
        self.num_segments = num_segments
        self.shift_div = shift_div

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(temporal_shift(x, self.num_segments, self.shift_div))

    def extra_repr(self) -> str:
        return f"num_segments={self.num_segments}, shift_div={self.shift_div}"


class TemporalPool(nn.Module):
    """``net(temporal_pool(x))``: halves T before ``net`` (placed before layer2)."""

    def __init__(self, net: nn.Module, num_segments: int) -> None:
        super().__init__()
        self.net = net
        self.num_segments = num_segments

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(temporal_pool(x, self.num_segments))


def pooled_segments(num_segments: int, temporal_pool_on: bool) -> int:
    """T after temporal pooling (``(T + 1) // 2``), or T when pooling is off."""
    return (num_segments + 1) // 2 if temporal_pool_on else num_segments


def make_temporal_shift_resnet(net: nn.Module, num_segments: int, shift_div: int = 8,
                               place: str = "blockres", temporal_pool_on: bool = False) -> None:
    """Insert the shift (and optionally the temporal pool) into a torchvision-style ResNet, in place.

    ``net`` must have ``layer1`` .. ``layer4`` (``nn.Sequential`` of blocks with ``conv1``).
    """
    t_after = pooled_segments(num_segments, temporal_pool_on)
    seg = [num_segments, t_after, t_after, t_after]
    n_round = 2 if len(net.layer3) >= 23 else 1
    for i, name in enumerate(("layer1", "layer2", "layer3", "layer4")):
        stage: nn.Sequential = getattr(net, name)
        for j in range(len(stage)):
            if place == "block":
                stage[j] = TemporalShift(stage[j], seg[i], shift_div)
            elif place == "blockres":
                if j % n_round == 0:
                    stage[j].conv1 = TemporalShift(stage[j].conv1, seg[i], shift_div)
            else:
                raise ValueError(f"shift_place={place!r} is not one of ['blockres', 'block']")
    if temporal_pool_on:
        net.layer2 = TemporalPool(net.layer2, num_segments)


def make_temporal_shift_mobilenet(net: nn.Module, num_segments: int, shift_div: int = 8) -> None:
    """Shift before the first (1x1 expansion) conv of every torchvision MobileNetV2 inverted
    residual block that has a skip connection, in place (the released code's rule)."""
    from torchvision.models.mobilenetv2 import InvertedResidual

    for m in net.modules():
        if isinstance(m, InvertedResidual) and m.use_res_connect:
            first = m.conv[0]  # Conv2dNormActivation: [0] conv, [1] BN, [2] ReLU6
            first[0] = TemporalShift(first[0], num_segments, shift_div)
