"""Freed memory kept for reuse (issue 22, item 2): the training step with glibc's ``malloc`` as it
comes and with :func:`mmlkit.runtime.keep_freed_memory`, side by side in one run.

By default glibc hands large freed blocks back to the kernel (``munmap``, heap trimming), so each
step page-faults its activations and gradients in again; ``keep_freed_memory`` keeps them in the
process. Two steps are timed, each model in its own process (the allocator's state is
per-process), the two settings alternating over ``rounds`` so that a drift of the host's speed
falls on both:

* the default profile's RGB step (``resnet_tiny``, 8 segments, 32x32, batch 32, 2 threads), the
  step of every run in ``papers_results/``;
* TSM-ResNet-50's RGB step (8 segments, 224x224, batch 2, 2 threads; quick: 2 segments, 112x112),
  the paper's model.

One step = zero_grad, forward, cross-entropy, backward, SGD update on random tensors
(:mod:`benchmarks.step_child`); the model is built by
:func:`mmlkit.training.member.make_member`, which turns the setting on unless
``MMLKIT_KEEP_FREED_MEMORY=0``. Each process also prints the sha256 of its final weights: the
setting must not change them (the rows' ``same bits`` column).
"""

from __future__ import annotations

import os
import statistics

from benchmarks.step_child import StepCase, measure
from mmlkit.runtime import KEEP_FREED_MEMORY_VAR

#: case -> (segments, side, batch, steps, warm-up steps), full and quick.
_CASES = {"default": ((8, 32, 32, 30, 8), (8, 32, 32, 6, 2)),
          "TSM-R50": ((8, 224, 2, 4, 2), (2, 112, 2, 2, 1))}


def _measure(case: str, kept: bool, quick: bool) -> dict:
    t, size, batch, steps, warmup = _CASES[case][quick]
    env = {k: v for k, v in os.environ.items() if k != KEEP_FREED_MEMORY_VAR}
    if not kept:
        env[KEEP_FREED_MEMORY_VAR] = "0"
    step = StepCase(model="default" if case == "default" else "tsm_r50", segments=t, size=size, batch=batch,
                    threads=2, steps=steps, warmup=warmup)
    got = measure(step, env)[0]
    if got["malloc"] != ("kept" if kept else "default"):
        raise RuntimeError(f"{case}: asked kept={kept}, the process ran with malloc {got['malloc']!r}")
    return got


def rows(quick: bool) -> list[dict]:
    rounds = 1 if quick else 3
    out = []
    for case in _CASES:
        got: dict[bool, list[dict]] = {False: [], True: []}
        for _ in range(rounds):
            for kept in (False, True):
                got[kept].append(_measure(case, kept, quick))
        med = {k: statistics.median(r["median"] for r in rs) for k, rs in got.items()}
        same = len({r["digest"] for rs in got.values() for r in rs}) == 1
        t, size, batch, steps, _ = _CASES[case][quick]
        note = f"{rounds} alternating process pairs x {steps} steps (median); {t}x{size}, batch {batch}, 2 threads"
        out += [
            {"name": f"{case} step, malloc as it comes", "value": med[False], "unit": "clips/s", "notes": note},
            {"name": f"{case} step, freed memory kept", "value": med[True], "unit": "clips/s", "notes": note},
            {"name": f"{case}: kept / as it comes", "value": med[True] / med[False], "unit": "x",
             "notes": "same bits: " + ("yes (every process's final weights equal)" if same
                                       else "NO: the final weights differ"),
             "ok": same, "target": "same bits"},
        ]
    return out
