"""Export one model, with the metadata a deployment needs, and keep the file only if it checks out.

:func:`export_model` writes to a temporary name beside the target, runs the original model and
the file just written on the same inputs (two batch sizes), and only then renames the file into
place; a file that does not reproduce the logits is deleted and :class:`ExportError` is raised.
:func:`export_checkpoint` does the same for a checkpoint on disk.

Tolerance: the check passes when ``max |exported - original| <= ATOL + RTOL * max |original|``
over the check inputs, with ``RTOL = 1e-4`` and ``ATOL = 1e-6``. A faithful export only reorders
float32 arithmetic (fused conv + BatchNorm, another convolution algorithm): that moves logits by
about 1e-7 to 1e-6 of their scale (measured on a CPU: ``.pt2`` and TorchScript 0 -- the same
kernels --, ONNX Runtime up to 4e-7 of max |logit| for a ResNet-18 TSM); 1e-4 leaves more than
two orders of magnitude of room for deeper networks and other kernels. The errors an
export can really make -- a BatchNorm left in training mode, a dropped bias, a wrong layer, a
batch or segment dimension mixed up -- move the logits by percents of their scale or more. ATOL
only matters for logits near zero (an untrained head), where a relative bound alone would ask
for more than float32 gives.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import torch

from mmlkit.config import NEW_LENGTH
from mmlkit.data.transforms import input_normalization
from mmlkit.errors import ExportError
from mmlkit.evaluation.export import formats
from mmlkit.fileio import atomic_path
from mmlkit.models.backbones import INPUT_CHANNELS

RTOL: float = 1e-4
ATOL: float = 1e-6
#: Version of the metadata layout (bump when a key changes meaning).
META_VERSION = 1
#: Batch sizes every export is checked at: the traced one (2) and a single video (1).
CHECK_BATCHES: tuple[int, ...] = (2, 1)


def example_input(num_segments: int, channels: int, size: int, batch: int = 1,
                  seed: int = 0) -> torch.Tensor:
    """A float32 (batch, T, C, size, size) standard-normal tensor from a seeded generator."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, num_segments, channels, size, size, generator=g)


def tolerance(reference: torch.Tensor, rtol: float = RTOL, atol: float = ATOL) -> float:
    """The largest logit difference accepted against ``reference`` logits (B, K)."""
    return atol + rtol * float(reference.abs().max())


def deployment_meta(model: torch.nn.Module, input_size: int, scale_size: int | None = None,
                    class_names: Sequence[str] | None = None, fmt: str = "pt2",
                    source: str | None = None) -> dict[str, Any]:
    """What a user needs to feed the exported model without mmlkit (JSON-able).

    Args:
        model: a TSN (or any model with ``.meta`` holding modality, num_segments, num_classes).
        input_size: side of the network input, pixels. scale_size: the test view's short side
            before the centre crop (None: unknown, crop without resizing first).
        class_names: index -> name, K of them (None: left out).
        fmt: the file format. source: the checkpoint's file name.

    Returns:
        Keys: mmlkit_export_version, format, modality, num_segments, frames_per_segment,
        channels, input_size, scale_size, input_shape ([null, T, C, H, W]; null = any batch),
        input_dtype, layout, normalization, mean and std (C floats each), sampling, crop,
        num_classes, class_names (when given), model (the TSN's constructor arguments),
        checkpoint, torch_version.
    """
    meta = dict(getattr(model, "meta", {}) or {})
    missing = [k for k in ("modality", "num_segments", "num_classes") if k not in meta]
    assert not missing, f"model.meta lacks {missing}"
    modality, t, k = meta["modality"], int(meta["num_segments"]), int(meta["num_classes"])
    length, channels = NEW_LENGTH[modality], INPUT_CHANNELS[modality]
    mean, std = input_normalization(modality, length)
    out: dict[str, Any] = {
        "mmlkit_export_version": META_VERSION, "format": fmt, "modality": modality, "num_segments": t,
        "frames_per_segment": length, "channels": channels, "input_size": int(input_size),
        "scale_size": None if scale_size is None else int(scale_size),
        "input_shape": [None, t, channels, int(input_size), int(input_size)], "input_dtype": "float32",
        "layout": "(B, T, C, H, W); C = frames_per_segment x (3 RGB | 2 flow x, y), frame-major",
        "normalization": "x[c] = (v / 255 - mean[c]) / std[c] for the uint8 value v of channel c",
        "mean": list(mean), "std": list(std),
        "sampling": "test view: segment k = 0..T-1 starts at frame int(tick / 2 + tick * k), "
                    "tick = (N - frames_per_segment + 1) / T for N frames (all 0 when N <= T + "
                    "frames_per_segment - 1), 0-based",
        "crop": "centre square of side round(input_size * min(h, w) / scale_size) (the whole short side when "
                "scale_size is null), resized (bilinear) to input_size x input_size",
        "num_classes": k,
    }
    if class_names is not None:
        out["class_names"] = [str(c) for c in class_names]
    out["model"] = {key: v for key, v in meta.items() if isinstance(v, (str, int, float, bool, type(None)))}
    out["checkpoint"] = source
    out["torch_version"] = torch.__version__
    return out


def check_export(model: torch.nn.Module, path: str | Path, inputs: torch.Tensor | Sequence[torch.Tensor],
                 fmt: str | None = None, rtol: float = RTOL, atol: float = ATOL, name: str | None = None) -> float:
    """Compare the exported model's logits with ``model``'s on every input (B, T, C, H, W).

    Args:
        model: the original (put in eval mode). path: the exported file.
        inputs: one float32 (B, T, C, H, W) tensor or several (e.g. of different B).
        fmt: the file's format (default: from its suffix). rtol, atol: see :func:`tolerance`.
        name: how messages name the file (default: ``path``).

    Returns:
        The max absolute logit difference over the inputs.

    Raises:
        ExportError: the file cannot be read, gives another shape, or differs by more than
            :func:`tolerance` (the message names the file, the difference and the bound).
    """
    run, _ = formats.load_exported(path, fmt)
    name = name or str(path)
    inputs = [inputs] if isinstance(inputs, torch.Tensor) else list(inputs)
    model = model.eval()
    worst = 0.0
    for x in inputs:
        with torch.no_grad():
            a = model(x)
            b = run(x)
        if tuple(a.shape) != tuple(b.shape):
            raise ExportError(f"{name}: the exported model gives logits of shape {tuple(b.shape)} for an input "
                              f"of shape {tuple(x.shape)}, the model {tuple(a.shape)}")
        diff, tol = float((a - b.to(a.dtype)).abs().max()), tolerance(a, rtol, atol)
        if not diff <= tol:  # also catches NaN
            raise ExportError(f"{name}: the exported logits differ by {diff:.3g} from the model's (tolerance "
                              f"{tol:.3g} = {atol:g} + {rtol:g} x max |logit|) on an input of shape {tuple(x.shape)}")
        worst = max(worst, diff)
    return worst


def export_model(model: torch.nn.Module, path: str | Path, fmt: str | None = None, *, input_size: int,
                 scale_size: int | None = None, class_names: Sequence[str] | None = None,
                 source: str | None = None, rtol: float = RTOL, atol: float = ATOL) -> dict[str, Any]:
    """Export ``model`` to ``path`` and keep the file only if it reproduces the model's logits.

    Args:
        model: a TSN (or a model with the same ``.meta`` keys); exported in eval mode from the
            CPU, then returned to its mode and device.
        path: the file to write; any file there is replaced only by a checked export.
        fmt: ``pt2`` | ``onnx`` | ``torchscript`` (default: from the suffix, else ``pt2``).
        input_size, scale_size, class_names, source: recorded in the metadata
            (:func:`deployment_meta`); the example input is (B, T, C, input_size, input_size).
        rtol, atol: the check's tolerance (:func:`tolerance`).

    Returns:
        dict: format, path, max_abs_diff, tolerance, checked_batches, input_shape ([T, C, H, W];
        the batch size is free), meta.

    Raises:
        ExportError: the format does not fit the suffix, the model cannot run on the example,
            the export fails, or the check fails (nothing is left at ``path`` then).
    """
    path = Path(path)
    fmt = formats.resolve_format(path, fmt)
    meta = deployment_meta(model, input_size, scale_size, class_names, fmt, source)
    t, c = meta["num_segments"], meta["channels"]
    if class_names is not None and len(class_names) != meta["num_classes"]:
        raise ExportError(f"{len(class_names)} class names for a model of {meta['num_classes']} classes "
                          f"({source or 'the model'})")
    was_training, param = model.training, next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    model = model.eval().cpu()
    inputs = [example_input(t, c, input_size, batch=b, seed=i) for i, b in enumerate(CHECK_BATCHES)]
    try:
        with torch.no_grad():
            reference = model(inputs[0])
    except Exception as exc:  # noqa: BLE001 - the model's own refusal, named with the input
        raise ExportError(f"{source or 'the model'} cannot run on an input of shape {tuple(inputs[0].shape)} "
                          f"(input_size={input_size}): {exc}") from exc
    try:
        # the exporters look at the suffix; the file replaces `path` only once it is checked
        with atomic_path(path, keep_suffix=True) as tmp:
            with torch.no_grad():  # inference graphs: no autograd.Function (the shift's), no grad state
                formats.WRITERS[fmt](model, inputs[0], tmp, meta)
            name = f"{path} ({fmt} export of {source or 'the model'}; not written)"
            diff = check_export(model, tmp, inputs, fmt, rtol, atol, name=name)
    finally:
        model.train(was_training).to(device)
    return {"format": fmt, "path": str(path), "max_abs_diff": diff, "tolerance": tolerance(reference, rtol, atol),
            "checked_batches": list(CHECK_BATCHES), "input_shape": [t, c, input_size, input_size], "meta": meta}


def _run_sizes(checkpoint: Path) -> tuple[int | None, int | None]:
    """(input_size, scale_size) of the training run whose folder holds ``checkpoint`` (its config.json)."""
    cfg = checkpoint.parent / "config.json"
    try:
        data = json.loads(cfg.read_text())["data"]
        return int(data["input_size"]), int(data["scale_size"])
    except (OSError, ValueError, KeyError, TypeError):
        return None, None


def export_checkpoint(checkpoint: str | Path, out: str | Path, fmt: str | None = None, *,
                      size: int | None = None, scale_size: int | None = None,
                      class_names: Sequence[str] | None = None, modality: str | None = None,
                      num_segments: int | None = None, rtol: float = RTOL, atol: float = ATOL) -> dict[str, Any]:
    """Export a checkpoint (``mmlkit.models.load_checkpoint``) and check it (:func:`export_model`).

    Args:
        checkpoint: a ``.pt`` written by training (or the released code's layout, with
            ``num_segments``).
        out: the file to write. fmt: ``pt2`` | ``onnx`` | ``torchscript`` (default: from the
            suffix of ``out``, else ``pt2``).
        size: input side in pixels (default: the ``input_size`` of the run's ``config.json``
            beside the checkpoint, else 224). scale_size: the test view's short side (default:
            the run's, else ``size * 256 / 224`` rounded, the paper's ratio).
        class_names: index -> name (e.g. from the data set's labels.json).
        modality, num_segments: when given, the checkpoint must hold such a model.

    Returns:
        :func:`export_model`'s summary.

    Raises:
        CheckpointError: not a TSN checkpoint, or another modality / segment count than asked.
        ExportError: a bad size or format, or an export that fails its check.
    """
    from mmlkit.models import load_checkpoint

    checkpoint = Path(checkpoint)
    fmt = formats.resolve_format(out, fmt)
    run_size, run_scale = _run_sizes(checkpoint)
    size = size if size is not None else (run_size or 224)
    if size < 8:
        raise ExportError(f"{checkpoint}: input size {size} is below 8 pixels")
    if scale_size is None:
        scale_size = run_scale if (run_scale and size == run_size) else round(size * 256 / 224)
    if scale_size < size:
        raise ExportError(f"{checkpoint}: scale size {scale_size} is below the input size {size}")
    asked = {k: v for k, v in (("modality", modality), ("num_segments", num_segments)) if v is not None}
    model = load_checkpoint(checkpoint, **asked)
    return export_model(model, out, fmt, input_size=size, scale_size=scale_size, class_names=class_names,
                        source=checkpoint.name, rtol=rtol, atol=atol)
