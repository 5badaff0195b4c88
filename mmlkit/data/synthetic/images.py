"""Single frames for image pretraining (:func:`render_images`): appearance only, no motion."""

from __future__ import annotations

import numpy as np

from mmlkit.data.synthetic.drawing import SHAPES, _background, _draw, _draw_look, _finish
from mmlkit.data.synthetic.presets import SynthPreset, get_preset

#: Labels of the image task (``render_images``): the object's shape.
IMAGE_CLASSES: tuple[str, ...] = SHAPES


def render_images(n: int, rng: np.random.Generator, preset: str | SynthPreset) -> tuple[np.ndarray, np.ndarray]:
    """Single frames for image pretraining, a stand-in for ImageNet pretraining.

    Drawn from the same generator as the clips (background, object looks, sizes, noise), one
    object per image, no distractor; the label is appearance only: the object's shape, an
    index into ``IMAGE_CLASSES`` (uniform over the 8 shapes).

    Returns:
        (uint8 (n, H, W, 3) RGB images, int64 (n,) labels in [0, len(IMAGE_CLASSES))); H = W =
        ``preset.pack_size`` when set (rendered at the preset's size, INTER_AREA-resized like
        the packed frames), else the preset's height, width.
    """
    P = get_preset(preset)
    h, w = P.height, P.width
    S = min(h, w)
    out = np.empty((n, h, w, 3), np.uint8)
    labels = rng.integers(len(IMAGE_CLASSES), size=n).astype(np.int64)
    for i in range(n):
        look = _draw_look(rng, (0.55, 0.95), shape=int(labels[i]))
        img = _background(rng, h, w)[None].copy()
        r = rng.uniform(*P.radius) * S * rng.uniform(0.6, 1.4) ** (1 / 2)
        _draw(img, look, rng.uniform(0.3, 0.7) * w, rng.uniform(0.3, 0.7) * h, r,
              sx=rng.uniform(0.8, 1.2), theta=rng.uniform(0, 2 * np.pi))
        out[i] = _finish(img, rng, P.noise_std)[0]
    if P.pack_size is not None:
        from mmlkit.data.flow import resize_frames  # lazy: flow imports OpenCV

        out = resize_frames(out, P.pack_size, P.pack_size)
    return out, labels
