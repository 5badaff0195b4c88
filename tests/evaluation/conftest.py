"""Small stand-ins for the models and data of other modules (used until/besides the real ones)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


class TinyVideoNet(nn.Module):
    """(B, T, C, H, W) -> (B, K): a conv per frame, global pool, linear, mean over T."""

    def __init__(self, num_classes: int = 5, num_segments: int = 4, modality: str = "RGB", channels: int = 3):
        super().__init__()
        self.modality, self.num_segments, self.num_classes = modality, num_segments, num_classes
        self.meta = {"num_classes": num_classes, "num_segments": num_segments, "modality": modality}
        self.conv = nn.Conv2d(channels, 8, 3, padding=1)
        self.fc = nn.Linear(8, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t = x.shape[:2]
        y = self.conv(x.reshape(b * t, *x.shape[2:])).relu().mean(dim=(2, 3))  # (B*T, 8)
        return self.fc(y).reshape(b, t, -1).mean(dim=1)


def fake_batches(n: int, views: int, t: int = 4, c: int = 3, size: int = 8, batch: int = 3,
                 modality: str = "RGB", num_classes: int = 5, seed: int = 0) -> list[dict]:
    """Test batches {inputs: {mod: (B, V, T, C, H, W)}, label (B,), id [B]} over n videos."""
    rng = np.random.default_rng(seed)
    x = torch.from_numpy(rng.standard_normal((n, views, t, c, size, size)).astype(np.float32))
    y = torch.from_numpy(rng.integers(0, num_classes, n))
    ids = [f"v{i}" for i in range(n)]
    return [{"inputs": {modality: x[i:i + batch]}, "label": y[i:i + batch], "id": ids[i:i + batch]}
            for i in range(0, n, batch)]


import pytest


@pytest.fixture
def tiny_net():
    """Factory of TinyVideoNet stand-ins."""
    return TinyVideoNet


@pytest.fixture
def make_batches():
    """Factory of fake test batches."""
    return fake_batches
