"""Progress on long work: live bars where someone watches, one line per finished job elsewhere.

tqdm's notebook widgets are live in JupyterLab, but a papermill or nbval run stores each one as
it was first drawn (an executed notebook ended up with 190 frozen "0%" bars), and a CI log gets
carriage-return noise. So every long job (a training run, scoring, data generation, flow
extraction, image pretraining) asks this module:

* ``bars``: tqdm bars (``tqdm.auto``: widgets in Jupyter, text in a terminal);
* ``lines``: no bars; the job prints one summary line when it finishes (:func:`summary`);
* ``off``: neither.

``MMLKIT_PROGRESS=bars|lines|off`` chooses; unset (``auto``), bars are drawn in a terminal
(stderr is a TTY) and in a Jupyter kernel whose frontend can answer ``input()`` (JupyterLab,
VS Code), and lines everywhere else: papermill, nbval and nbclient run cells without stdin,
pipes and CI logs have no TTY. A job called with ``progress=False`` shows neither.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Iterable

MODES: tuple[str, ...] = ("bars", "lines", "off")

#: Training runs finished in this process (a notebook's kernel, a CLI call) and their minutes.
_TRAINED: list[float] = []


def _jupyter_frontend_with_stdin() -> bool | None:
    """True/False inside an IPython kernel (whether the running cell may read stdin), None outside."""
    ipython = sys.modules.get("IPython")
    get = getattr(ipython, "get_ipython", None) if ipython is not None else None
    shell = get() if get is not None else None
    kernel = getattr(shell, "kernel", None)
    if kernel is None:
        return None
    return bool(getattr(kernel, "_allow_stdin", False))


def mode() -> str:
    """``bars`` | ``lines`` | ``off`` for this process now (see the module docstring).

    Raises:
        ValueError: ``MMLKIT_PROGRESS`` holds something else (names the value).
    """
    want = os.environ.get("MMLKIT_PROGRESS", "auto").strip().lower() or "auto"
    if want in MODES:
        return want
    if want != "auto":
        raise ValueError(f"MMLKIT_PROGRESS={want!r}; expected one of {', '.join(MODES)} or auto")
    in_kernel = _jupyter_frontend_with_stdin()
    if in_kernel is not None:
        return "bars" if in_kernel else "lines"
    return "bars" if sys.stderr.isatty() else "lines"


def bar(iterable: Iterable | None = None, enabled: bool = True, **kwargs: Any):
    """A tqdm bar in ``bars`` mode, a silent one otherwise (same interface: iterate, update,
    set_postfix, close). ``kwargs`` go to tqdm (desc, total, unit, leave, ...)."""
    import warnings

    from tqdm.std import TqdmExperimentalWarning

    # tqdm.auto, but without its asyncio mixin: that one calls iter() on the iterable when the
    # bar is made and iterates it again when the bar is read, so every DataLoader started an
    # iterator nobody read (with workers: their processes, started and dropped every epoch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=TqdmExperimentalWarning)
        from tqdm.autonotebook import tqdm

    return tqdm(iterable, disable=not (enabled and mode() == "bars"), **kwargs)


def summary(text: str, enabled: bool = True) -> None:
    """Print ``[mmlkit] text`` to stdout in ``lines`` mode (one line per finished job)."""
    if enabled and mode() == "lines":
        print(f"[mmlkit] {text}", flush=True)


def count_trained(minutes: float) -> str:
    """Count one more training run finished in this process; returns the tally as its line's
    tail: ``3rd run trained in this process, 9.2 min of training so far``."""
    _TRAINED.append(float(minutes))
    n = len(_TRAINED)
    nth = f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"
    return f"{nth} run trained in this process, {sum(_TRAINED):.1f} min of training so far"
