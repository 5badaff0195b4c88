"""The stand-in for ImageNet pretraining on the embedded benchmark.

:func:`pretrain_image_backbone` trains the plain 2D image backbone of ``cfg.arch`` (no
temporal shift, RGB input) to tell the object's shape in single synthetic frames
(``mmlkit.data.synthetic.render_images``: appearance only, no motion), and saves the
backbone's state dict without its classifier head, in the key format that
``build_model(ModelConfig(pretrained=<path>))`` loads (torchvision names; ``TinyResNet``'s for
``resnet_tiny``). Deterministic from ``seed``; short (well under a minute for ``resnet_tiny`` at
32x32 on two cores), so it is not resumable.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mmlkit.config import PretrainConfig
from mmlkit.fileio import save_torch


def _images_to_input(images: np.ndarray) -> torch.Tensor:
    """uint8 (n, H, W, 3) -> float32 (n, 3, H, W), ImageNet mean/std (the RGB model's input)."""
    from mmlkit.data.transforms import normalize
    return normalize(images[:, None, None], "RGB")[:, 0]          # (n, 1, 1, H, W, 3) -> (n, 3, H, W)


def pretrain_image_backbone(cfg: PretrainConfig, out_path: str | Path, progress: bool = True) -> dict:
    """Train ``cfg.arch`` as an image classifier of object shapes; save its backbone weights.

    Args:
        cfg: the stand-in's whole configuration (:class:`~mmlkit.config.PretrainConfig`): backbone,
            generator preset (the images' size and nuisance), seed, schedule and thread count. A
            tenth more images than ``cfg.n_images`` are drawn as a held-out check.
        out_path: where the state dict goes (written atomically).
        progress: a bar (:mod:`mmlkit.progress`) and a line with the held-out accuracy.

    Returns:
        ``{"path": out_path, "heldout_top1": held-out shape accuracy (%), "chance": (%),
        "n_heldout": images, "seconds": wall time}``. The file is a plain ``{key: tensor}`` dict
        of the backbone without ``fc.*``/``classifier.*``.
    """
    import time

    from mmlkit.runtime import torch_threads

    t0 = time.perf_counter()
    with torch_threads(cfg.threads):
        acc, n_val, state = _train(cfg, progress)
    out_path = save_torch(state, out_path)
    from mmlkit.data.synthetic import IMAGE_CLASSES

    return {"path": str(out_path), "heldout_top1": acc, "chance": 100.0 / len(IMAGE_CLASSES), "n_heldout": n_val,
            "seconds": round(time.perf_counter() - t0, 3)}


def _train(cfg: PretrainConfig, progress: bool) -> tuple[float, int, dict]:
    """The training itself: (held-out top-1 %, held-out images, backbone state dict)."""
    from mmlkit.progress import bar as progress_bar

    from mmlkit.data.synthetic import IMAGE_CLASSES, render_images
    from mmlkit.models.backbones import build_backbone, feature_dim, head_name

    n_images, epochs, batch_size, lr, seed = cfg.n_images, cfg.epochs, cfg.batch_size, cfg.lr, cfg.seed
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x1A6E]))
    n_val = max(1, n_images // 10)
    images, labels = render_images(n_images + n_val, rng, cfg.preset)
    x_all, y_all = _images_to_input(images), torch.from_numpy(labels)
    x, y, xv, yv = x_all[:n_images], y_all[:n_images], x_all[n_images:], y_all[n_images:]

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = build_backbone(cfg.arch, zero_init_residual=cfg.zero_init_residual)
        head = head_name(cfg.arch)
        fc = nn.Linear(feature_dim(net, cfg.arch), len(IMAGE_CLASSES))
        if head == "fc":
            net.fc = fc
        else:
            net.classifier = nn.Sequential(nn.Dropout(0.2), fc)
        decay = [p for n, p in net.named_parameters() if p.dim() > 1]
        no_decay = [p for n, p in net.named_parameters() if p.dim() <= 1]
        opt = torch.optim.SGD([{"params": decay, "weight_decay": 5e-4}, {"params": no_decay, "weight_decay": 0.0}],
                              lr=lr, momentum=0.9)
        steps = max(1, epochs * (n_images // batch_size))
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + np.cos(np.pi * min(1.0, s / steps))))
        order_rng = np.random.default_rng(np.random.SeedSequence([seed, 0x0D3E]))
        bar = progress_bar(total=steps, desc="image pretraining", enabled=progress, leave=False)
        net.train()
        for _ in range(epochs):
            order = torch.from_numpy(order_rng.permutation(n_images))
            for b in range(n_images // batch_size):
                idx = order[b * batch_size:(b + 1) * batch_size]
                loss = F.cross_entropy(net(x[idx]), y[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                bar.update(1)
                bar.set_postfix(loss=f"{float(loss.detach()):.3f}", refresh=False)
        bar.close()
        net.eval()
        with torch.no_grad():
            acc = float((net(xv).argmax(1) == yv).float().mean()) * 100
        if progress:
            print(f"[mmlkit] image pretraining {cfg.arch}: held-out shape accuracy {acc:.1f}% "
                  f"(chance {100 / len(IMAGE_CLASSES):.1f}%)", flush=True)
    state = {k: v.detach().clone() for k, v in net.state_dict().items() if not k.startswith(head + ".")}
    return acc, n_val, state
