"""mmlkit.losses.mutual_kl against a naive re-implementation and its invariants."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mmlkit.losses import mutual_kl


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _naive_kl(p_logits: np.ndarray, q_logits: np.ndarray, T: float) -> float:
    """sum_b sum_k p log(p / q) / B with explicit loops."""
    p, q = _softmax(p_logits / T), _softmax(q_logits / T)
    total = 0.0
    for b in range(p.shape[0]):
        for k in range(p.shape[1]):
            total += p[b, k] * math.log(p[b, k] / q[b, k])
    return total / p.shape[0]


def _naive(logits, peers, mode, T):
    z = logits.double().numpy()
    ps = [p.double().numpy() for p in peers]
    if mode == "mean_logits":
        val = _naive_kl(sum(ps) / len(ps), z, T)
    else:
        val = sum(_naive_kl(p, z, T) for p in ps) / len(ps)
    return val * (T * T if T != 1 else 1.0)


@pytest.mark.parametrize("mode", ["mean_logits", "per_peer"])
@pytest.mark.parametrize("T", [1.0, 2.5])
@pytest.mark.parametrize("n_peers", [1, 2, 3])
def test_matches_naive(mode, T, n_peers):
    g = torch.Generator().manual_seed(n_peers)
    z = torch.randn(5, 7, generator=g) * 3
    peers = [torch.randn(5, 7, generator=g) * 3 for _ in range(n_peers)]
    got = mutual_kl(z, peers, mode=mode, temperature=T)
    assert got.dim() == 0 and got.dtype == torch.float32
    assert got.item() == pytest.approx(_naive(z, peers, mode, T), rel=1e-5, abs=1e-6)
    assert got.item() >= 0


def test_zero_when_peers_equal_model():
    z = torch.randn(4, 6)
    for mode in ("mean_logits", "per_peer"):
        assert mutual_kl(z, [z.clone(), z.clone()], mode=mode).abs().item() < 1e-6


def test_one_peer_modes_agree():
    z, p = torch.randn(8, 5), torch.randn(8, 5)
    a = mutual_kl(z, [p], mode="mean_logits", temperature=3.0)
    b = mutual_kl(z, [p], mode="per_peer", temperature=3.0)
    assert torch.allclose(a, b)


def test_modes_differ_for_two_peers():
    g = torch.Generator().manual_seed(0)
    z, p1, p2 = (torch.randn(8, 5, generator=g) * 4 for _ in range(3))
    assert not torch.allclose(mutual_kl(z, [p1, p2]), mutual_kl(z, [p1, p2], mode="per_peer"))


def test_no_gradient_into_peers():
    z = torch.randn(4, 6, requires_grad=True)
    p = torch.randn(4, 6, requires_grad=True)
    for mode in ("mean_logits", "per_peer"):
        mutual_kl(z, [p * 2], mode=mode).backward()
        assert p.grad is None
        assert z.grad is not None and z.grad.abs().sum() > 0
        z.grad = None


def test_gradient_matches_softmax_difference():
    # d KL(p || softmax(z)) / dz = (softmax(z) - p) / B at T = 1
    z = torch.randn(3, 4, requires_grad=True)
    p = torch.randn(3, 4)
    mutual_kl(z, [p]).backward()
    want = (torch.softmax(z.detach(), 1) - torch.softmax(p, 1)) / 3
    assert torch.allclose(z.grad, want, atol=1e-6)


def test_no_peers_is_an_error():
    with pytest.raises(ValueError, match="at least one peer"):
        mutual_kl(torch.randn(2, 3), [])


def test_bad_arguments():
    z = torch.randn(2, 3)
    with pytest.raises(ValueError, match="mode"):
        mutual_kl(z, [z], mode="sum")
    with pytest.raises(ValueError, match="temperature"):
        mutual_kl(z, [z], temperature=0)
    with pytest.raises(ValueError, match="shape"):
        mutual_kl(z, [torch.randn(2, 4)])


def test_half_precision_logits_give_float32():
    z = torch.randn(4, 6).half()
    assert mutual_kl(z, [torch.randn(4, 6).half()]).dtype == torch.float32
