"""mmlkit: a reproducible companion to "Mutual Modality Learning for Video Action Classification"
(Komkov, Dzabraev, Petiushko, 2020)."""

from importlib import metadata as _metadata

try:
    __version__ = _metadata.version("mmlkit")  # pyproject.toml's, as installed
except _metadata.PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "unknown"
