"""One writer per folder: a lock on a run (or stand-in, or data set) folder, waited for and named.

A notebook and ``./run_all.sh`` share ``results/<profile>``; under :func:`run_lock`, a second
process asking for a run that a first one is training waits, then finds it done and reads it.
The store (:func:`mmlkit.results.load_or_run`, the image stand-in) and the synthetic benchmark's
generator (:func:`mmlkit.data.synthetic.ensure_synthetic`) take it.

* With ``fcntl`` (Linux, macOS): an exclusive ``flock`` on ``<folder>/.lock``, which the OS releases
  when the holder exits or dies (SIGKILL included), so a dead process's lock is stale by
  construction. The holder writes who it is into the file (a JSON line: ``pid``, ``host``, ``since``
  (epoch s), ``cmd`` (``sys.argv``, shortened), ``what``) for waiters to name. Release only unlocks:
  deleting a flock'd file races (a waiter would lock the deleted inode), so the file stays.
* Without ``fcntl`` (Windows): the lock is the file, made with ``O_CREAT | O_EXCL`` and deleted on
  release. One of this host whose pid no longer runs (``os.kill(pid, 0)``; on Windows ``psutil``,
  which ipykernel brings) or is this process's while it holds nothing, or one empty for over 10 s
  (its writer died first), is stale and taken over, with a line saying so; another host's is
  waited for. Two waiters taking over one stale lock at once may both get it.
* A waiter says one line (default: stderr), e.g. ``[mmlkit] runs/RGB_s0_abc123: being trained and
  scored by pid 1234 on host (python -m mmlkit train, since 03:40:12); waiting for it to finish``,
  tries again every ``poll_s`` seconds and says one line when it has the lock.
* Re-entrant: a per-process registry maps each locked folder to the (pid, thread) holding it; a
  nested :func:`run_lock` of it in that thread is a no-op. Another thread waits like another process.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

try:
    import fcntl
except ImportError:  # Windows: the O_EXCL fallback
    fcntl = None  # type: ignore[assignment]

#: The lock file's name inside the locked folder.
LOCK_NAME = ".lock"
_held: dict[str, tuple[int, int]] = {}  # realpath of a folder locked here -> (pid, thread id) holding it
_held_guard = threading.Lock()


def _command(limit: int = 80) -> str:
    """This process's command line, shortened: ``python -m mmlkit train ...``, ``ipykernel_launcher.py -f ...``."""
    argv = list(sys.argv) or [""]
    head = (f"python -m {Path(argv[0]).parent.name}" if argv[0].endswith("__main__.py")
            else "python -c" if argv[0] == "-c" else Path(argv[0]).name)
    cmd = " ".join([head or "python", *argv[1:]])
    return cmd if len(cmd) <= limit else cmd[:limit - 3] + "..."


def _read_holder(path: Path) -> dict[str, Any] | None:
    """The identity a lock file holds; None while it is empty, partly written or gone."""
    try:
        holder = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return holder if isinstance(holder, dict) and "pid" in holder else None


def _describe(holder: dict[str, Any] | None) -> str:
    if holder is None:
        return "another process"
    since = time.strftime("%H:%M:%S", time.localtime(float(holder.get("since", 0))))
    host = holder.get("host", "?")
    where = "this machine" if host == socket.gethostname() else host
    if holder.get("by"):  # a notebook's kernel: its name says more than its command line
        return f"{holder['by']} (pid {holder['pid']} on {where}, since {since})"
    return f"pid {holder['pid']} on {where} ({holder.get('cmd', '?')}, since {since})"


def _pid_alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this host (a zombie counts as running)."""
    if os.name == "nt":  # there os.kill(pid, 0) would send CTRL_C_EVENT; psutil comes with ipykernel
        import psutil

        return psutil.pid_exists(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it runs, as another user
        pass
    return True


def _try_lock(path: Path, me: str, key: str, say: Callable[[str], None], name: str) -> int | None:
    """Take the lock once: the flock'd descriptor (fcntl) or -1 (fallback); None if another holds it."""
    if fcntl is not None:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        os.ftruncate(fd, 0)
        os.pwrite(fd, me.encode(), 0)
        return fd
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        holder = _read_holder(path)
        try:
            if holder is None:  # being written, or its writer died first
                stale = time.time() - path.stat().st_mtime > 10.0
            else:
                pid, here = int(holder["pid"]), holder.get("host") == socket.gethostname()
                stale = here and ((pid == os.getpid() and key not in _held) or not _pid_alive(pid))
        except FileNotFoundError:  # released meanwhile: the next try takes it
            return None
        if not stale or _read_holder(path) != holder:
            return None
        say(f"[mmlkit] {name}: taking over a stale lock of {_describe(holder)}, which no longer runs")
        path.unlink(missing_ok=True)
        return _try_lock(path, me, key, say, name)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(me)
    return -1


def lock_holder(folder: str | Path) -> dict[str, Any] | None:
    """Who holds ``<folder>/.lock`` now: the identity its holder wrote (``pid``, ``host``,
    ``since``, ``cmd``, ``what``, maybe ``by``; ``{}`` while it is being written), or None when no
    process holds it. Only asks: it never waits and never takes a stale lock over.

    With ``fcntl`` the OS answers (a shared ``flock`` tried without blocking, released at once; a
    writer whose try falls in that instant tries again a few times within 50 ms before it says it
    waits). Without it, a lock file of this host whose pid runs, or any other host's, counts as held.

    Args:
        folder: the run (or stand-in) folder.

    Returns:
        The holder's identity, ``{}`` while a holder is writing it, or None when the lock is free
        (or there is no lock file).
    """
    path = Path(folder) / LOCK_NAME
    if fcntl is not None:
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_holder(path) or {}
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        finally:
            os.close(fd)
    holder = _read_holder(path)
    if holder is None:
        return {} if path.exists() else None
    if holder.get("host") == socket.gethostname() and not _pid_alive(int(holder["pid"])):
        return None
    return holder


def describe_holder(holder: dict[str, Any] | None) -> str:
    """A holder as a waiter's line names it: ``03_ml_vs_mml (pid 1234 on this machine, since 09:22:10)``."""
    return _describe(holder or None)


def _retry_briefly(path: Path, me: str, key: str, say: Callable[[str], None], name: str,
                   tries: int = 5, pause_s: float = 0.01) -> int | None:
    """:func:`_try_lock` a few more times within ``tries * pause_s`` seconds (a probe's instant)."""
    for _ in range(tries):
        time.sleep(pause_s)
        if (fd := _try_lock(path, me, key, say, name)) is not None:
            return fd
    return None


@contextmanager
def run_lock(folder: str | Path, *, what: str, poll_s: float = 0.5,
             say: Callable[[str], None] | None = None, by: str | None = None) -> Iterator[Path]:
    """Hold ``<folder>/.lock`` for the block, waiting while another process holds it.

    Args:
        folder: the run (or stand-in) folder; created if missing.
        what: what the holder does there, read after "being" in a waiter's line (``"trained and scored"``).
        poll_s: seconds between tries while another process holds the lock (> 0).
        say: where the waiting, acquired and taken-over lines go (default: stderr).
        by: who holds it, as a waiter's line names the holder (a notebook's name; default: the
            holder's pid, host and command line).

    Yields:
        The lock file's path.

    Raises:
        ValueError: ``poll_s`` is not a positive number (names the value).
    """
    if not poll_s > 0:
        raise ValueError(f"run_lock({folder}): poll_s={poll_s!r}; expected a positive number of seconds")
    folder, say = Path(folder), say or (lambda line: print(line, file=sys.stderr, flush=True))
    key, me_id = os.path.realpath(folder), (os.getpid(), threading.get_ident())
    with _held_guard:
        nested = _held.get(key) == me_id  # this thread holds it already
    if nested:
        yield folder / LOCK_NAME
        return
    folder.mkdir(parents=True, exist_ok=True)
    path, name = folder / LOCK_NAME, f"{folder.parent.name}/{folder.name}"
    me = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": round(time.time(), 3),
                     "cmd": _command(), "what": what, **({"by": by} if by else {})}) + "\n"
    waited_from = None
    while (fd := _try_lock(path, me, key, say, name)) is None:
        if waited_from is None and (fd := _retry_briefly(path, me, key, say, name)) is not None:
            break  # a reader's probe (lock_holder) held it for an instant: no wait to announce
        if waited_from is None:
            waited_from, holder = time.monotonic(), _read_holder(path)
            for _ in range(20 if holder is None else 0):  # a holder writes who it is just after locking
                time.sleep(0.01)
                if (holder := _read_holder(path)) is not None:
                    break
            doing = holder.get("what", "used") if holder else "used"
            say(f"[mmlkit] {name}: being {doing} by {_describe(holder)}; waiting for it to finish")
        time.sleep(poll_s)
    if waited_from is not None:
        say(f"[mmlkit] {name}: lock acquired after waiting {time.monotonic() - waited_from:.1f} s; continuing")
    with _held_guard:
        _held[key] = me_id
    try:
        yield path
    finally:
        with _held_guard:
            _held.pop(key, None)
        if fd >= 0:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
        else:
            path.unlink(missing_ok=True)
