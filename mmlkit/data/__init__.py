"""Data: SSv2 records, frame sources, sampling, transforms and the multi-modal clip dataset.

The submodules ``sthv2``, ``video``, ``flow`` and ``synthetic`` are imported on use
(``from mmlkit.data import video``). The names below are the pipeline's public API; they are
resolved lazily (PEP 562), so ``import mmlkit.data.sthv2`` does not pull in torch or OpenCV.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    # dataset.py
    "ClipDataset": "dataset", "build_dataset": "dataset", "class_names": "dataset",
    "collate": "dataset", "make_loader": "dataset", "num_classes": "dataset",
    "resolve_root": "dataset", "scoring_split": "dataset",
    # sampling.py
    "train_indices": "sampling", "test_indices": "sampling", "expand_segments": "sampling",
    "base_geometry": "sampling", "modality_indices": "sampling",
    # transforms.py
    "CropParams": "transforms", "draw_train_crop": "transforms", "apply_crop": "transforms",
    "test_crops": "transforms", "normalize": "transforms", "flip_label": "transforms",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f"mmlkit.data.{_EXPORTS[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'mmlkit.data' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
