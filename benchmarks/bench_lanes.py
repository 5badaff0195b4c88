"""Lanes (issue 22, item 2): two runs side by side with one thread each, against one after the other.

``./run_all.sh --lanes 2`` runs two notebooks at once, every run with one torch thread
(:func:`mmlkit.results.reproduce.lane_threads`); the default runs one notebook at a time, every run
with the profile's two. This times the same choice on pairs of whole training runs (seeds 0 and 1,
each in a process of its own, process start and data set-up included) for a single RGB model and
for the RGB,Flow cohort, which together make up the full run's model-epochs. Each setup runs
``rounds`` times in alternating order (one after the other first, then side by side, then side by
side first...), so that a host whose speed drifts biases neither. A row is the wall-time ratio
(side by side / one after the other): below 1 the lanes win.

Run it on a quiet host (nothing else on the cores), with the dispatch ``./run_all.sh`` uses::

    env $(python -c 'from mmlkit.runtime import PINNED_DISPATCH as P; print(" ".join(f"{k}={v}" for k, v in P.items()))') \\
        python -m benchmarks --only lanes
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

_TRAIN_ONE = r"""
import tempfile
from pathlib import Path
from mmlkit.config import profile as profile_config, with_overrides
from mmlkit.training import train
cfg = profile_config("{profile}", modalities={modalities!r}, device="cpu")
cfg = with_overrides(cfg, seed={seed}, threads={threads}, optim={{"epochs": {epochs}}})
with tempfile.TemporaryDirectory() as tmp:
    train(cfg, Path(tmp), progress=False)
"""


def _launch(profile: str, modalities: tuple[str, ...], seed: int, threads: int, epochs: int) -> subprocess.Popen:
    code = _TRAIN_ONE.format(profile=profile, modalities=modalities, seed=seed, threads=threads, epochs=epochs)
    return subprocess.Popen([sys.executable, "-c", code])


def _pair(profile: str, modalities: tuple[str, ...], epochs: int, side: bool) -> float:
    """Seconds for seeds 0 and 1: side by side (1 thread each) or one after the other (2 threads)."""
    t0 = time.perf_counter()
    if side:
        procs = [_launch(profile, modalities, seed, 1, epochs) for seed in (0, 1)]
    else:
        procs = []
        for seed in (0, 1):
            procs.append(_launch(profile, modalities, seed, 2, epochs))
            procs[-1].wait()
    codes = [p.wait() for p in procs]
    if codes != [0, 0]:
        raise RuntimeError(f"a training process of {'+'.join(modalities)} failed: exit codes {codes}")
    return time.perf_counter() - t0


def pair_row(profile: str, modalities: tuple[str, ...], epochs: int, rounds: int) -> dict:
    """One row: the median over ``rounds`` of (side by side / one after the other)."""
    serial, side = [], []
    for r in range(rounds):
        for lanes in ((False, True) if r % 2 == 0 else (True, False)):
            (side if lanes else serial).append(_pair(profile, modalities, epochs, lanes))
    ratios = [a / b for a, b in zip(side, serial)]
    name = ",".join(modalities)
    return {"name": f"2 {name} runs: side by side (2 x 1 thread) / one after the other (2 threads)",
            "value": statistics.median(ratios), "unit": "x time",
            "notes": (f"{profile} profile, {epochs} epochs per run, {rounds} alternating rounds: side by side "
                      f"{', '.join(f'{s:.1f}' for s in side)} s, one after the other "
                      f"{', '.join(f'{s:.1f}' for s in serial)} s (process start and data set-up included)")}


def _alone(profile: str, modalities: tuple[str, ...], epochs: int, threads: int) -> float:
    """Seconds for seed 0 alone with ``threads`` threads."""
    t0 = time.perf_counter()
    code = _launch(profile, modalities, 0, threads, epochs).wait()
    if code != 0:
        raise RuntimeError(f"a training process of {'+'.join(modalities)} failed: exit code {code}")
    return time.perf_counter() - t0


def alone_row(profile: str, modalities: tuple[str, ...], epochs: int, rounds: int) -> dict:
    """One row: a lane's run when the other lane has nothing to do (1 thread, the second core
    idle) against the same run with 2 threads; the median over ``rounds`` alternating rounds."""
    one, two = [], []
    for r in range(rounds):
        for threads in ((2, 1) if r % 2 == 0 else (1, 2)):
            (one if threads == 1 else two).append(_alone(profile, modalities, epochs, threads))
    name = ",".join(modalities)
    return {"name": f"1 {name} run alone: 1 thread / 2 threads", "value": statistics.median(
                a / b for a, b in zip(one, two)), "unit": "x time",
            "notes": (f"{profile} profile, {epochs} epochs, {rounds} alternating rounds: 1 thread "
                      f"{', '.join(f'{s:.1f}' for s in one)} s, 2 threads {', '.join(f'{s:.1f}' for s in two)} s "
                      "(process start and data set-up included)")}


def rows(quick: bool) -> list[dict]:
    if quick:
        return [pair_row("smoke", ("RGB",), 2, 1)]
    return [pair_row("default", ("RGB",), 10, 2), pair_row("default", ("RGB", "Flow"), 6, 2),
            alone_row("default", ("RGB",), 10, 2), alone_row("default", ("RGB", "Flow"), 6, 2)]
