"""The mutual-learning term: pure tensor functions, no torch.distributed inside.

For model ``i`` of a cohort of ``W`` models with logits ``z_i`` (B, K) and labels ``y`` (B,):

    L_i = CE(z_i, y) + weight * mutual_kl(z_i, [z_j for j != i], mode, temperature)

(``weight``, ``mode`` and ``temperature`` come from :class:`mmlkit.config.MutualConfig`; the
released code's setting is weight 1, temperature 1, ``mean_logits``.) The peers' logits are
detached here, so no gradient flows from model ``i``'s loss into its peers.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from mmlkit.config import MUTUAL_MODES  # re-exported here: the table lives in config


def _kl(target_logits: torch.Tensor, logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """KL(softmax(target / T) || softmax(logits / T)) summed over classes, averaged over the batch."""
    log_q = F.log_softmax(logits.float() / temperature, dim=-1)          # (B, K) the model
    log_p = F.log_softmax(target_logits.float() / temperature, dim=-1)   # (B, K) the peers (target)
    return F.kl_div(log_q, log_p, reduction="batchmean", log_target=True)


def mutual_kl(
    logits: torch.Tensor,
    peer_logits: Sequence[torch.Tensor],
    mode: str = "mean_logits",
    temperature: float = 1.0,
) -> torch.Tensor:
    """The mutual term of one model's loss (the KL towards its peers), without the CE term.

    Args:
        logits: float (B, K), this model's logits (gradient flows into them).
        peer_logits: one float (B, K) tensor per peer (W - 1 of them, in any order); detached
            here, so the term never back-propagates into a peer.
        mode: ``"mean_logits"`` (the released MML code):
            ``KL(softmax(mean_j z_j / T) || softmax(z / T))``, the peers' logits averaged first;
            ``"per_peer"`` (Deep Mutual Learning, Zhang et al. 2018):
            ``mean_j KL(softmax(z_j / T) || softmax(z / T))``. The two agree for one peer.
        temperature: T > 0. When ``T != 1`` the KL is multiplied by ``T**2`` (Hinton et al.
            2015) so that its gradient keeps the same scale as at ``T = 1``; at ``T = 1`` the
            value is the plain KL.

    Returns:
        A float32 scalar tensor: the KL in nats, summed over classes and averaged over the B
        clips ("batchmean"), >= 0; exactly 0 when every peer's logits equal ``logits``
        (up to rounding).

    Raises:
        ValueError: no peers (a cohort of one model has no mutual term; the training loop then
            uses CE alone and never calls this), an unknown mode, a temperature <= 0, or a peer
            whose shape differs from ``logits``.
    """
    if mode not in MUTUAL_MODES:
        raise ValueError(f"mode={mode!r} is not one of {list(MUTUAL_MODES)}")
    if not temperature > 0:
        raise ValueError(f"temperature={temperature} must be > 0")
    if len(peer_logits) == 0:
        raise ValueError("mutual_kl needs at least one peer's logits (a cohort of W=1 models has no mutual term)")
    if logits.dim() != 2:
        raise ValueError(f"logits must be (B, K), got shape {tuple(logits.shape)}")
    peers = [p.detach() for p in peer_logits]
    for j, p in enumerate(peers):
        if p.shape != logits.shape:
            raise ValueError(f"peer {j} has logits of shape {tuple(p.shape)}, expected {tuple(logits.shape)}")
    if mode == "mean_logits":
        target = torch.stack([p.float() for p in peers]).mean(dim=0)  # (B, K)
        kl = _kl(target, logits, temperature)
    else:
        kl = torch.stack([_kl(p, logits, temperature) for p in peers]).mean()
    if temperature != 1.0:
        kl = kl * (temperature * temperature)
    return kl
