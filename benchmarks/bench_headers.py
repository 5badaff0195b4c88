"""Packed videos' headers parsed once per process (issue 22, item 2: "any work done twice").

A notebook scores run after run on the same held-out split, and every scoring builds its data
set, and with it a :class:`~mmlkit.data.video.PackedSource`, anew: until 2026-12-06 each new
source parsed the ``.npy`` header of every video again (7,366 of them at the default). Now
:data:`mmlkit.data.video.HEADERS` keeps them for the process. This trains a short model per
modality, scores it on the held-out split once (the first scoring of a notebook), then times
further scorings alternately with the headers parsed anew (``HEADERS.clear()`` first: the old
behaviour) and with them kept, ``rounds`` each, in this process, and checks that both give the
same scores. Run it on a quiet host with the dispatch ``./run_all.sh`` uses::

    env $(python -c 'from mmlkit.runtime import PINNED_DISPATCH as P; print(" ".join(f"{k}={v}" for k, v in P.items()))') \\
        python -m benchmarks --only headers
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from mmlkit.config import profile as profile_config
from mmlkit.config import with_overrides
from mmlkit.data.video import HEADERS
from mmlkit.results.experiments import PLANS
from mmlkit.results.store import _default_scorer
from mmlkit.runtime import torch_threads
from mmlkit.training import train


def _score(cfg, checkpoint: Path) -> tuple[float, np.ndarray, int]:
    """Seconds, scores and headers parsed of one held-out scoring, by the scorer the store runs
    for every run (:func:`mmlkit.results.store._default_scorer`, with the run's threads)."""
    parsed = HEADERS.parsed
    t0 = time.perf_counter()
    with torch_threads(cfg.threads):
        s = _default_scorer(cfg, checkpoint, 0, PLANS["heldout"], False)
    return time.perf_counter() - t0, s.scores, HEADERS.parsed - parsed


def modality_rows(profile: str, modality: str, rounds: int) -> list[dict]:
    cfg = with_overrides(profile_config(profile, modalities=(modality,), device="cpu"), optim={"epochs": 1})
    with tempfile.TemporaryDirectory() as tmp:
        train(cfg, Path(tmp), progress=False)
        checkpoint = Path(tmp) / f"model0_{modality}.pt"
        _, ref, _ = _score(cfg, checkpoint)  # the notebook's first scoring: parses every header
        got: dict[bool, list[tuple[float, np.ndarray, int]]] = {True: [], False: []}
        for r in range(rounds):
            for kept in ((False, True) if r % 2 == 0 else (True, False)):
                if not kept:
                    HEADERS.clear()
                got[kept].append(_score(cfg, checkpoint))
    same = all(np.array_equal(ref, s) for runs in got.values() for _, s, _ in runs)
    kept_s, fresh_s = [t for t, _, _ in got[True]], [t for t, _, _ in got[False]]
    return [
        {"name": f"{modality} held-out scoring, headers kept / parsed anew", "unit": "x time",
         "value": statistics.median(a / b for a, b in zip(kept_s, fresh_s)),
         "notes": (f"{', '.join(f'{t:.2f}' for t in kept_s)} vs {', '.join(f'{t:.2f}' for t in fresh_s)} s; "
                   f"{len(ref)} videos; headers parsed {got[True][0][2]} vs {got[False][0][2]}; {profile} "
                   f"profile, {rounds} alternating rounds")},
        {"name": f"{modality} held-out scores, headers kept and parsed anew agree", "unit": "bool",
         "value": float(same), "target": "1 (the same scores)", "ok": same,
         "notes": "every scoring against the first, bit for bit"},
    ]


def rows(quick: bool) -> list[dict]:
    profile, rounds = ("smoke", 1) if quick else ("default", 3)
    return modality_rows(profile, "RGB", rounds) + modality_rows(profile, "Flow", rounds)
