"""Shared fixtures of the data tests: a synthetic moving square and a video writer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


def _moving_square(n: int = 12, size: int = 32, step: int = 1) -> np.ndarray:
    """uint8 (n, size, size, 3): a blocky textured background and a bright square moving right."""
    rng = np.random.default_rng(0)
    bg = rng.integers(0, 80, (size // 4, size // 4, 3), dtype=np.uint8).repeat(4, 0).repeat(4, 1)
    frames = np.repeat(bg[None], n, axis=0)
    for i in range(n):
        x = 4 + i * step
        frames[i, 10:20, x:x + 10] = (230, 200, 60)
        frames[i, 12:14, x + 2:x + 4] = (20, 20, 200)  # texture inside the square
    return frames


def _write_video(path: Path, frames: np.ndarray, codec: str = "libvpx-vp9", fps: int = 12) -> Path:
    """Encode uint8 (N, H, W, 3) RGB frames with PyAV (VP9 webm by default; libx264 for .mp4)."""
    if codec == "libvpx-vp9":
        from mmlkit.data.synthetic import encode_webm

        encode_webm(frames, path, fps=fps)
        return Path(path)
    import av

    with av.open(str(path), "w") as c:
        s = c.add_stream(codec, rate=fps)
        s.height, s.width = frames.shape[1:3]
        s.pix_fmt = "yuv420p"
        for f in frames:
            c.mux(s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")))
        c.mux(s.encode())
    return Path(path)


@pytest.fixture
def moving_square():
    return _moving_square


@pytest.fixture
def write_video():
    return _write_video
