"""``torch.load`` that never runs code from a file, and says plainly why a file was refused.

torch's own refusal message advises re-running with ``weights_only=False``; for a file that is
refused because it carries code, or that is not a checkpoint at all, that advice is wrong (the
first runs the code, the second cannot help), so it is never passed on.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch

from mmlkit.errors import CheckpointError

_GLOBAL = re.compile(r"(?:unsupported GLOBAL|Unsupported global: GLOBAL) ([\w.]+)")


def refusal_reason(exc: BaseException) -> str:
    """Why ``torch.load(weights_only=True)`` refused a file, in one sentence, without torch's advice."""
    text = str(exc)
    m = _GLOBAL.search(text)
    if m:
        return (f"it holds Python objects or code ({m.group(1)}); mmlkit only reads files of plain tensors and "
                "numbers and never executes code from a checkpoint")
    if (isinstance(exc, (KeyError, EOFError, IndexError)) or "zip archive" in text or "invalid load key" in text
            or "Unsupported operand" in text):
        return "it is not a PyTorch checkpoint file (or it was cut short while being written or copied)"
    if "weights only load failed" in text.lower():
        return "it holds Python objects other than tensors and numbers; mmlkit never unpickles those"
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def safe_load(path: str | Path, what: str = "checkpoint") -> Any:
    """``torch.load(path, map_location="cpu", weights_only=True)``.

    Raises:
        CheckpointError: no such file, or the file was refused (:func:`refusal_reason`).
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{what} {path} does not exist")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - every refusal becomes one message
        raise CheckpointError(f"{path}: {what} refused: {refusal_reason(exc)}") from None
