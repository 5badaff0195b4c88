"""Names from data files that become paths: they must stay inside their folder.

A record id (``<root>/videos/<id>.webm``, ``<root>/packed/flow/<id>.npy``) or a TSM list file's
frame folder (``<root_path>/<folder>``) is read from a file the user did not necessarily write.
An id such as ``../../x`` would make ``flow --overwrite`` delete and rewrite a folder outside the
data root. So every such name is checked where it is read (:func:`check_name`,
:func:`check_relative`), and every path built from one is checked again where it is made
(:func:`child`), so a new reader cannot forget the first check.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path, PurePosixPath, PureWindowsPath

from mmlkit.errors import DataError

_RULE = "it must be a plain name: not empty, '.' or '..', without '/', '\\\\' or NUL"


def check_name(value: str, what: str, where: str) -> str:
    """``value`` if it is a safe single path component, else a :class:`DataError`.

    Args:
        value: the name (e.g. a video id).
        what: what it is, for the message (``"record 3 id"``).
        where: the file it came from.

    Raises:
        DataError: ``value`` is empty, ``.`` or ``..``, or holds ``/``, ``\\`` or NUL.
    """
    if not value or value in (".", "..") or any(c in value for c in ("/", "\\", "\x00")):
        raise DataError(f"{where}: {what} is {value!r}, which cannot be used as a file name ({_RULE})")
    return value


def check_relative(value: str, what: str, where: str) -> str:
    """``value`` if it is a relative path that stays inside its root, else a :class:`DataError`.

    Subfolders are allowed (``train/abc``); an absolute path, a drive, a ``..`` component or a
    NUL are not.
    """
    parts = PurePosixPath(value.replace("\\", "/")).parts
    if (not value or "\x00" in value or os.path.isabs(value) or PureWindowsPath(value).drive
            or value.startswith(("/", "\\")) or ".." in parts):
        raise DataError(f"{where}: {what} is {value!r}; expected a folder relative to the data root, "
                        f"without '..', a drive or a leading '/'")
    return value


def child(root: str | Path, *parts: str) -> Path:
    """``root / parts...``, checked to lie inside ``root`` (a last line of defence).

    ``root`` is the fixed folder and ``parts`` what came from data (``child(root / "packed" /
    "flow", f"{id}.npy")``), so a name cannot climb into a sibling folder either.

    The check is lexical (``..`` and absolute parts), so symlinks inside ``root`` are followed
    as the user set them up.

    Raises:
        DataError: the joined path is ``root`` itself or lies outside it.
    """
    root = Path(root)
    path = root.joinpath(*parts)
    # lexical, not realpath: a data folder may be a symlink to another disk, and that is the user's choice
    base = os.path.normpath(os.path.abspath(root))
    if os.path.commonpath([base, os.path.normpath(os.path.abspath(path))]) != base or path == root:
        raise DataError(f"{path}: this path leaves its folder {root} (from the name {'/'.join(parts)!r}); "
                        "refusing to read or write it")
    return path


def remove_stale_tmp(*folders: str | Path) -> None:
    """Delete ``*.tmp-<pid>`` temporaries (files or folders) whose writing process no longer exists.

    Every writer in mmlkit writes ``<name>.tmp-<its pid>`` and renames it into place, so a
    temporary whose process is alive belongs to a run in progress (another worker, another
    terminal) and is kept; one whose process is gone was left by a killed run.
    """
    for folder in map(Path, folders):
        if not folder.is_dir():
            continue
        for p in folder.glob("*.tmp-*"):
            try:
                os.kill(int(p.name.rsplit(".tmp-", 1)[1]), 0)
                continue  # its process still runs
            except ProcessLookupError:
                pass
            except (ValueError, PermissionError):  # not our naming, or another user's live process
                continue
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
