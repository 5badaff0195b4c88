"""Export one model for inference (the point of MML: a single RGB model at test time).

TorchScript via ``torch.jit.trace`` (no Python or mmlkit needed to run it, only libtorch):
the traced module maps float32 (B, T, C, H, W) -> logits (B, K) for the T, C, H, W it was
traced with (B may vary). ``check_export`` runs both and compares.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

import torch

from mmlkit.errors import MmlkitError


class ExportError(MmlkitError):
    """The exported model could not be written or does not reproduce the original's scores."""


def example_input(num_segments: int, channels: int, size: int, batch: int = 1,
                  seed: int = 0) -> torch.Tensor:
    """A float32 (batch, T, C, size, size) standard-normal tensor from a seeded generator."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, num_segments, channels, size, size, generator=g)


def export_torchscript(model: torch.nn.Module, example: torch.Tensor, path: str | Path) -> Path:
    """Trace ``model`` (eval mode, CPU) on ``example`` (B, T, C, H, W) and save it atomically.

    The model's ``.meta`` (if any) is stored in the archive as ``extra_files["meta.json"]``.

    Returns:
        The written path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    was_training = model.training
    model = model.eval().cpu()
    with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TracerWarnings for shape arithmetic on fixed T
        traced = torch.jit.trace(model, example.cpu(), check_trace=False)
    model.train(was_training)
    meta = getattr(model, "meta", {}) or {}
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit is deprecated in favour of torch.export
        torch.jit.save(traced, str(tmp), _extra_files={"meta.json": json.dumps(meta, default=str)})
    os.replace(tmp, path)
    return path


def load_exported(path: str | Path) -> tuple[torch.jit.ScriptModule, dict[str, Any]]:
    """Load a TorchScript export on the CPU; returns (module, meta)."""
    extra = {"meta.json": ""}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        mod = torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
    return mod.eval(), json.loads(extra["meta.json"] or "{}")


def check_export(model: torch.nn.Module, path: str | Path, example: torch.Tensor,
                 atol: float = 1e-4) -> float:
    """Compare the exported model's logits with ``model``'s on ``example`` (B, T, C, H, W).

    Returns:
        The max absolute difference.

    Raises:
        ExportError: shapes differ or the difference exceeds ``atol``.
    """
    exported, _ = load_exported(path)
    model = model.eval().cpu()
    with torch.no_grad():
        a = model(example)
        b = exported(example)
    if a.shape != b.shape:
        raise ExportError(f"{path}: exported model gives shape {tuple(b.shape)}, the model {tuple(a.shape)}")
    diff = float((a - b).abs().max())
    if diff > atol:
        raise ExportError(f"{path}: exported logits differ by {diff:.3g} (> {atol}) on the check input")
    return diff


def export_checkpoint(checkpoint: str | Path, out: str | Path, size: int | None = None,
                      atol: float = 1e-4) -> dict[str, Any]:
    """Export a checkpoint (``mmlkit.models.load_checkpoint``) to TorchScript and check it.

    Args:
        checkpoint: a ``.pt`` written by training.
        out: the ``.ts`` file to write.
        size: input side in pixels (default: the model's ``meta["input_size"]``, else 224).

    Returns:
        dict: path, modality, num_segments, input shape, max_abs_diff.
    """
    from mmlkit.models import load_checkpoint

    model = load_checkpoint(checkpoint)
    meta = getattr(model, "meta", {}) or {}
    size = size or int(meta.get("input_size", 224))
    channels = {"RGB": 3, "Flow": 10, "RGBDiff": 18}[model.modality]
    x = example_input(model.num_segments, channels, size, batch=2)
    p = export_torchscript(model, x, out)
    diff = check_export(model, p, x, atol)
    return {"path": str(p), "modality": model.modality, "num_segments": model.num_segments,
            "input_shape": list(x.shape[1:]), "max_abs_diff": diff}
