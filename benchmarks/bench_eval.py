"""Test throughput: videos/s of ``score_model`` for 1x1 and 3 crops x 2 clips views.

The default benchmark model (TSM resnet_tiny, 8 segments, 32x32) on the CPU, fed synthetic
tensors (the model's cost only: decoding is benchmarked by the data bench). The full run adds
one end-to-end row (smoke synthetic data through the real test dataset, 1x1 views).
"""

from __future__ import annotations

import time

import numpy as np
import torch


def _model(num_classes: int, t: int):
    try:
        from mmlkit.models import TSN
        return TSN(num_classes, t, "RGB", arch="resnet_tiny", dropout=0.0), "TSM resnet_tiny"
    except ImportError:  # before the models exist: a stand-in of similar shape
        from torch import nn

        class Stand(nn.Module):
            modality = "RGB"

            def __init__(self):
                super().__init__()
                self.net = nn.Sequential(nn.Conv2d(3, 32, 3, 2, 1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                         nn.Linear(32, num_classes))

            def forward(self, x):
                b, tt = x.shape[:2]
                return self.net(x.flatten(0, 1)).reshape(b, tt, -1).mean(1)
        return Stand(), "stand-in CNN"


def _batches(n: int, views: int, t: int, size: int, batch: int) -> list[dict]:
    g = torch.Generator().manual_seed(0)
    out = []
    for i in range(0, n, batch):
        b = min(batch, n - i)
        out.append({"inputs": {"RGB": torch.randn(b, views, t, 3, size, size, generator=g)},
                    "label": torch.zeros(b, dtype=torch.int64), "id": [str(i + j) for j in range(b)]})
    return out


def rows(quick: bool) -> list[dict]:
    from mmlkit.config import EvalConfig
    from mmlkit.evaluation import score_model, view_plan

    t, size, k = 8, 32, 18
    n = 16 if quick else 256
    torch.manual_seed(0)
    model, what = _model(k, t)
    out = []
    for label, ecfg in (("1x1", EvalConfig(batch_size=16)), ("3x2", EvalConfig(test_crops=3, twice=True, batch_size=16))):
        plan = view_plan(ecfg, t)
        batches = _batches(n, plan.n_views, t, size, ecfg.batch_size)
        score_model(model, batches[:1], "cpu", progress=False)  # warm-up
        t0 = time.perf_counter()
        score_model(model, batches, "cpu", progress=False, plan=plan)
        dt = time.perf_counter() - t0
        out.append({"group": "eval", "name": f"score_model {label} views ({plan.n_views} views), {what} T={t} {size}px",
                    "value": n / dt, "unit": "videos/s", "target": "", "ok": None,
                    "notes": f"{n} videos, synthetic tensors, {torch.get_num_threads()} threads, "
                             f"{n * plan.n_views / dt:.0f} clips/s"})
    if not quick:
        out.append(_end_to_end())
    from mmlkit.evaluation import bootstrap_ci
    c = np.random.default_rng(0).random(24777) < 0.6  # SSv2 validation size
    t0 = time.perf_counter()
    bootstrap_ci(c, np.random.default_rng(0), n_boot=200 if quick else 1000)
    out.append({"group": "eval", "name": "bootstrap_ci top-1, 24,777 videos", "value": time.perf_counter() - t0,
                "unit": "s", "target": "", "ok": None, "notes": f"n_boot={200 if quick else 1000}"})
    return out


def _end_to_end() -> dict:
    try:
        from mmlkit.config import EvalConfig, profile
        from mmlkit.data import build_dataset, make_loader
        from mmlkit.evaluation import score_model

        cfg = profile("smoke").data
        from mmlkit.data import num_classes
        ds = build_dataset(cfg, cfg.val_split, ("RGB",), train=False, seed=0, eval_cfg=EvalConfig())
        model, what = _model(num_classes(cfg), cfg.num_segments)
        loader = make_loader(ds, batch_size=16, shuffle=False, seed=0, epoch=0, workers=0, drop_last=False)
        t0 = time.perf_counter()
        s = score_model(model, loader, "cpu", progress=False)
        dt = time.perf_counter() - t0
        return {"group": "eval", "name": f"end-to-end 1x1 (smoke data, T={cfg.num_segments}, {cfg.input_size}px)",
                "value": len(s.ids) / dt, "unit": "videos/s", "target": "", "ok": None,
                "notes": f"{len(s.ids)} videos incl. reading and transforms, source={cfg.source}, workers=0"}
    except Exception as exc:  # the data may not be there
        return {"group": "eval", "name": "end-to-end 1x1 (smoke data)", "value": float("nan"), "unit": "videos/s",
                "ok": None, "notes": f"skipped: {type(exc).__name__}: {exc}"}
