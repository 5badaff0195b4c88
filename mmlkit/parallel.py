"""One process pool with progress, for the jobs that fan out over videos (generation, flow).

:func:`imap_progress` applies a picklable function to every task in ``workers`` processes (in
this process when one worker or one task is enough), yields the results, and shows a bar or one
summary line (:mod:`mmlkit.progress`). On an error or Ctrl-C the pool is terminated, so no
worker outlives its job. The start method is the caller's: it knows what its parent process has
already run (see :func:`safe_context`).
"""

from __future__ import annotations

import multiprocessing as mp
from typing import Any, Callable, Iterable, Iterator, Sequence

from mmlkit.progress import bar as progress_bar


def safe_context(preload: Sequence[str] = ()) -> mp.context.BaseContext:
    """forkserver (spawn where missing): forking a parent that already ran OpenCV, decord or
    torch threads can deadlock the children. ``preload``: modules the server imports once, so
    each worker starts cheaply."""
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        if preload:
            ctx.set_forkserver_preload(list(preload))
        return ctx
    return mp.get_context("spawn")


def imap_progress(fn: Callable[[Any], Any], tasks: Sequence[Any], workers: int, *, desc: str, unit: str = "it",
                  progress: bool = True, ordered: bool = True, context: mp.context.BaseContext | None = None,
                  initializer: Callable[[], None] | None = None, chunksize: int | None = None) -> Iterator[Any]:
    """``fn(task)`` for every task, in ``workers`` processes, with a progress bar.

    Args:
        fn, tasks: a picklable module-level function and its arguments, one task each.
        workers: processes; ``<= 1`` (or a single task) runs in this process.
        desc, unit, progress: the bar (:func:`mmlkit.progress.bar`).
        ordered: yield in task order (else as results arrive, which keeps workers busier).
        context: the start method (default :func:`safe_context`).
        initializer: run once in each worker (e.g. to limit its library threads).
        chunksize: tasks sent to a worker at a time (default: about 8 chunks per worker, at
            most 16 tasks each).

    Yields:
        ``fn(task)`` per task.
    """
    tasks = list(tasks)
    bar = progress_bar(total=len(tasks), desc=desc, unit=unit, enabled=progress)
    pool = None
    try:
        if workers <= 1 or len(tasks) <= 1:
            results: Iterable[Any] = map(fn, tasks)
        else:
            pool = (context or safe_context()).Pool(min(workers, len(tasks)), initializer=initializer)
            chunk = chunksize or max(1, min(16, len(tasks) // (workers * 8)))
            results = (pool.imap if ordered else pool.imap_unordered)(fn, tasks, chunksize=chunk)
        for r in results:
            bar.update(1)
            yield r
        if pool is not None:
            pool.close()
            pool.join()
            pool = None
    finally:
        bar.close()
        if pool is not None:
            pool.terminate()
            pool.join()
