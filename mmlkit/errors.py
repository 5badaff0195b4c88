"""Exceptions raised for users: each message names the file, record and value, and what would be right."""

from __future__ import annotations

from pathlib import Path


class MmlkitError(Exception):
    """Base class of every error mmlkit raises on purpose."""


class DataError(MmlkitError):
    """A data file or record is malformed, missing or inconsistent."""


class VideoDecodeError(DataError):
    """A video could not be opened or decoded (corrupt, truncated, empty, missing)."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"cannot decode video {self.path}: {reason}")


class CheckpointError(MmlkitError):
    """A checkpoint does not exist, is not a plain state dict, or does not match the model asked for."""


class DistributedError(MmlkitError):
    """A peer process died, hung past the timeout, or disagrees on the clips being trained."""


class ExportError(MmlkitError):
    """A model could not be exported, or the exported file does not reproduce the checkpoint's logits."""
