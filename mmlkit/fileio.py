"""Atomic writes: every file mmlkit writes appears whole or not at all.

A killed run (Ctrl-C, out of memory, a lost node) must never leave a half-written checkpoint,
log or data file under its final name, since resuming would trust it. So every writer writes a
temporary sibling ``<name>.tmp-<pid>`` and renames it into place (``os.replace``, atomic on one
file system). The pid in the name lets :func:`mmlkit.data.paths.remove_stale_tmp` tell a live
writer's temporary (kept) from a killed one's (deleted).

:func:`atomic_path` is the one mechanism; :func:`write_text`, :func:`write_bytes`,
:func:`write_json` and :func:`save_torch` are its common uses.
"""

from __future__ import annotations

import json
import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator


def tmp_name(path: str | Path, keep_suffix: bool = False) -> Path:
    """The temporary sibling of ``path`` this process writes: ``<name>.tmp-<pid>``, or with
    ``keep_suffix`` ``<stem>.tmp-<pid><suffix>`` (for writers that look at the suffix)."""
    path = Path(path)
    if keep_suffix:
        return path.with_name(f"{path.stem}.tmp-{os.getpid()}{path.suffix}")
    return path.with_name(f"{path.name}.tmp-{os.getpid()}")


@contextmanager
def atomic_path(path: str | Path, keep_suffix: bool = False, mkdir: bool = True) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path``, on error it is removed.

    Works for files and folders (a folder replaces an existing folder at ``path``, which is
    removed first). The caller may also rename the temporary itself; then nothing is left to do.

    Args:
        path: the final name. keep_suffix: see :func:`tmp_name`. mkdir: create the parent folder.

    Example::

        with atomic_path(out / "log.csv") as tmp:
            tmp.write_text(text)
    """
    path = Path(path)
    if mkdir:
        path.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_name(path, keep_suffix)
    try:
        yield tmp
        if tmp.exists():
            if tmp.is_dir() and path.is_dir():
                shutil.rmtree(path)
            os.replace(tmp, path)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns ``path``."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns ``path``."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_json(path: str | Path, obj: Any, indent: int | None = 2) -> Path:
    """``json.dumps(obj)`` (non-JSON values as ``str``) written atomically; returns ``path``."""
    return write_text(path, json.dumps(obj, indent=indent, default=str))


def save_torch(obj: Any, path: str | Path) -> Path:
    """``torch.save(obj)`` written atomically; returns ``path``."""
    import torch

    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
    return Path(path)
