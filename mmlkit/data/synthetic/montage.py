"""``montage.png``: one row per class, a few frames of one clip each, for a look at the data set."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mmlkit.data.synthetic.plan import _plan
from mmlkit.data.synthetic.presets import SynthPreset, clip_rng, get_preset
from mmlkit.data.synthetic.render import render_clip
from mmlkit.fileio import atomic_path


def write_montage(path: str | Path, preset: str | SynthPreset, seed: int, frames: int = 8, zoom: int = 3) -> Path:
    """A PNG with one row per class: ``frames`` evenly spaced frames of the class's first
    training clip (re-rendered: identical to the video's frames before encoding), the class
    template written on the left."""
    from PIL import Image, ImageDraw, ImageFont

    P = get_preset(preset)
    first: dict[int, int] = {}
    for split, index, cls, _ in _plan(P, seed):
        if split == "train":
            first.setdefault(cls, index)
    h, w, pad = P.height * zoom, P.width * zoom, 2
    try:
        font = ImageFont.load_default(size=max(10, min(16, h // 5)))
    except TypeError:  # Pillow < 10.1: bitmap font only
        font = ImageFont.load_default()
    text_w = int(max(font.getlength(f"{k}: {c}") for k, c in enumerate(P.classes))) + 16
    sheet = Image.new("RGB", (text_w + frames * (w + pad), len(P.classes) * (h + pad)), "white")
    draw = ImageDraw.Draw(sheet)
    for k, template in enumerate(P.classes):
        if k in first:
            clip = render_clip(k, clip_rng(seed, "train", first[k]), P)
        else:
            clip = render_clip(k, clip_rng(seed, "montage", k), P)
        y = k * (h + pad)
        draw.text((4, y + h // 2), f"{k}: {template}", fill="black", font=font, anchor="lm")
        for j, t in enumerate(np.linspace(0, len(clip) - 1, frames).round().astype(int)):
            im = Image.fromarray(clip[t]).resize((w, h), Image.NEAREST)
            sheet.paste(im, (text_w + j * (w + pad), y))
    with atomic_path(path) as tmp:
        sheet.save(tmp, format="PNG")
    return Path(path)
