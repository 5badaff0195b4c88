"""The temporal shift op, its placements and temporal pooling, against hand-written references."""

import pytest
import torch
from torch import nn
from torchvision.models.resnet import BasicBlock

from mmlkit.models.temporal_shift import (
    TemporalPool, TemporalShift, make_temporal_shift_resnet, temporal_pool, temporal_shift,
)


def test_shift_hand_computed():
    # N=1 clip, T=3 frames, C=4 channels, shift_div=4 -> fold 1: ch0 from t+1, ch1 from t-1, ch2-3 stay.
    x = torch.arange(1, 13, dtype=torch.float32).view(3, 4, 1, 1)  # x[t, c] = 4t + c + 1
    out = temporal_shift(x, num_segments=3, shift_div=4).view(3, 4)
    expected = torch.tensor([
        [5.0, 0.0, 3.0, 4.0],   # t=0: ch0 <- t1 (5); ch1 <- t-1: zero pad
        [9.0, 2.0, 7.0, 8.0],   # t=1: ch0 <- t2 (9); ch1 <- t0 (2)
        [0.0, 6.0, 11.0, 12.0],  # t=2: ch0 <- t3: zero pad; ch1 <- t1 (6)
    ])
    assert torch.equal(out, expected)


def test_shift_two_clips_do_not_mix_and_fold_size():
    # N=2, T=2, C=8, shift_div=4 -> fold = 2 channels
    x = torch.arange(32, dtype=torch.float32).view(4, 8)
    out = temporal_shift(x, num_segments=2, shift_div=4).view(2, 2, 8)
    x5 = x.view(2, 2, 8)
    for n in range(2):
        assert torch.equal(out[n, 0, :2], x5[n, 1, :2])
        assert torch.equal(out[n, 1, :2], torch.zeros(2))   # last frame of fold 0: zero
        assert torch.equal(out[n, 0, 2:4], torch.zeros(2))  # first frame of fold 1: zero
        assert torch.equal(out[n, 1, 2:4], x5[n, 0, 2:4])
        assert torch.equal(out[n, :, 4:], x5[n, :, 4:])


def test_shift_fold_zero_is_identity_and_gradient_flows():
    x = torch.randn(4, 3, 2, 2, requires_grad=True)
    assert torch.equal(temporal_shift(x, 2, shift_div=8), x)  # 3 // 8 == 0: nothing moves
    y = torch.randn(6, 16, 2, 2, requires_grad=True)
    temporal_shift(y, 3, 8).sum().backward()
    g = y.grad.view(2, 3, 16, 2, 2)
    assert torch.all(g[:, 0, :2] == 0) and torch.all(g[:, 1:, :2] == 1)   # frame 0 of fold 0 feeds nothing
    assert torch.all(g[:, 2, 2:4] == 0) and torch.all(g[:, :2, 2:4] == 1)


def _naive_shift(x, T, div):
    nt, c, h, w = x.shape
    out = torch.zeros_like(x)
    fold = c // div
    for n in range(nt // T):
        for t in range(T):
            for ch in range(c):
                if ch < fold:
                    src = t + 1
                elif ch < 2 * fold:
                    src = t - 1
                else:
                    src = t
                if 0 <= src < T:
                    out[n * T + t, ch] = x[n * T + src, ch]
    return out


def _block(cin, cout, stride):
    down = None if stride == 1 and cin == cout else nn.Sequential(
        nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
    return BasicBlock(cin, cout, stride, down)


def test_blockres_matches_naive_loop():
    torch.manual_seed(0)
    T = 3
    blk = _block(8, 8, 1).eval()
    x = torch.randn(2 * T, 8, 5, 5)
    ref = blk.relu(blk.bn2(blk.conv2(blk.relu(blk.bn1(blk.conv1(_naive_shift(x, T, 4)))))) + x)
    blk.conv1 = TemporalShift(blk.conv1, T, 4)  # residual placement: shift inside the branch
    assert torch.allclose(blk(x), ref, atol=1e-6)


def test_block_placement_shifts_identity_too():
    torch.manual_seed(0)
    T = 2
    blk = _block(8, 8, 1).eval()
    x = torch.randn(2 * T, 8, 4, 4)
    ref = blk(_naive_shift(x, T, 8))
    assert torch.allclose(TemporalShift(blk, T, 8)(x), ref, atol=1e-6)


class _FakeResNet(nn.Module):
    def __init__(self, counts):
        super().__init__()
        for i, n in enumerate(counts):
            setattr(self, f"layer{i + 1}", nn.Sequential(*[_block(4, 4, 1) for _ in range(n)]))


@pytest.mark.parametrize("counts,n_round", [((3, 4, 6, 3), 1), ((3, 4, 23, 3), 2)])
def test_every_other_block_when_layer3_is_deep(counts, n_round):
    net = _FakeResNet(counts)
    make_temporal_shift_resnet(net, 8, 8, "blockres")
    for li in range(1, 5):
        for j, b in enumerate(getattr(net, f"layer{li}")):
            assert isinstance(b.conv1, TemporalShift) == (j % n_round == 0), (li, j)


def test_block_placement_wraps_every_block_and_temporal_pool_segments():
    net = _FakeResNet((1, 2, 23, 1))
    make_temporal_shift_resnet(net, 8, 8, "block", temporal_pool_on=True)
    assert isinstance(net.layer2, TemporalPool)
    assert all(isinstance(b, TemporalShift) for b in net.layer3)
    assert net.layer1[0].num_segments == 8 and net.layer3[0].num_segments == 4


def test_temporal_pool_values():
    x = torch.tensor([1.0, 5.0, 2.0, 0.0, 3.0, 7.0]).view(6, 1, 1, 1)  # one clip, T=6
    out = temporal_pool(x, 6).flatten()
    # windows (pad, 0, 1), (1, 2, 3), (3, 4, 5): max of frames
    assert torch.equal(out, torch.tensor([5.0, 5.0, 7.0]))
    assert temporal_pool(torch.randn(16, 3, 2, 2), 8).shape == (8, 3, 2, 2)


def test_fast_backward_equals_autograd_of_reference():
    torch.manual_seed(0)
    x = torch.randn(12, 16, 3, 3, requires_grad=True)
    g = torch.randn(12, 16, 3, 3)
    temporal_shift(x, 4, 8).backward(g)
    x2 = x.detach().clone().requires_grad_(True)
    _naive_shift(x2, 4, 8).backward(g)  # autograd through the naive loop
    assert torch.equal(x.grad, x2.grad)
    assert torch.autograd.gradcheck(lambda t: temporal_shift(t, 2, 4), torch.randn(4, 8, 2, 1, dtype=torch.double,
                                                                                     requires_grad=True))


@pytest.mark.parametrize("fmt", [torch.contiguous_format, torch.channels_last])
def test_backward_keeps_the_gradients_layout(fmt):
    """A channels-last gradient leaves the shift's backward channels-last (no NCHW copy that every
    op behind it would then convert back), with the values of the NCHW reference."""
    torch.manual_seed(0)
    x = torch.randn(8, 16, 5, 5).contiguous(memory_format=fmt).requires_grad_(True)
    g = torch.randn(8, 16, 5, 5).contiguous(memory_format=fmt)
    seen = {}
    x.register_hook(lambda grad: seen.setdefault("grad", grad))
    temporal_shift(x, 4, 8).backward(g)
    assert seen["grad"].is_contiguous(memory_format=fmt)
    ref = x.detach().contiguous().requires_grad_(True)
    _naive_shift(ref, 4, 8).backward(g.contiguous())
    assert torch.equal(x.grad, ref.grad)


def test_backward_of_a_strided_gradient():
    """A gradient dense in neither layout (a transposed view) is copied once, with the same values."""
    x = torch.randn(8, 16, 5, 5, requires_grad=True)
    g = torch.randn(8, 16, 5, 5).transpose(2, 3).contiguous().transpose(2, 3)  # strided H, W
    assert not g.is_contiguous() and not g.is_contiguous(memory_format=torch.channels_last)
    temporal_shift(x, 4, 8).backward(g)
    ref = x.detach().clone().requires_grad_(True)
    _naive_shift(ref, 4, 8).backward(g.contiguous())
    assert torch.equal(x.grad, ref.grad)
