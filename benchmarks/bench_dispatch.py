"""The cost of pinning the CPU dispatch (issue 22, item 3): the default profile's training step
with and without :data:`mmlkit.runtime.PINNED_DISPATCH`, side by side in one run.

Each library reads its dispatch variable once per process, so every measurement is its own
subprocess; pinned and unpinned processes alternate (``rounds`` pairs) so that a drift of the
host's speed during the run falls on both. Each process reports the median and the fastest of
its timed steps (forward, backward and SGD update of the RGB model on random tensors, the
profile's batch and thread count). The ratio is pinned / unpinned throughput: 0.8 is a 25% cost,
the threshold above which ``./run_all.sh`` would keep the pin an option instead of the default.
"""

from __future__ import annotations

import os
import statistics

from benchmarks.step_child import StepCase, measure
from mmlkit.runtime import PINNED_DISPATCH, pinned_env


def _measure(pinned: bool, steps: int, warmup: int) -> dict:
    env = pinned_env() if pinned else {k: v for k, v in os.environ.items() if k not in PINNED_DISPATCH}
    return measure(StepCase(model="default", steps=steps, warmup=warmup), env)[0]


def rows(quick: bool) -> list[dict]:
    rounds, steps, warmup = (2, 10, 3) if quick else (4, 30, 8)
    got: dict[bool, list[dict]] = {False: [], True: []}
    for _ in range(rounds):
        for pinned in (False, True):
            got[pinned].append(_measure(pinned, steps, warmup))
    med = {p: statistics.median(r["median"] for r in got[p]) for p in got}
    best = {p: max(r["best"] for r in got[p]) for p in got}
    caps = {p: got[p][0]["capability"] for p in got}
    note = f"{rounds} alternating process pairs x {steps} steps; dispatch {caps[False]} -> {caps[True]}"
    return [
        {"name": "RGB step, unpinned (median)", "value": med[False], "unit": "clips/s", "notes": note},
        {"name": "RGB step, pinned (median)", "value": med[True], "unit": "clips/s", "notes": note},
        {"name": "pinned / unpinned (median)", "value": med[True] / med[False], "unit": "x", "target": ">= 0.8",
         "ok": med[True] / med[False] >= 0.8, "notes": "0.8 = a 25% cost: above it the pin is run_all.sh's default"},
        {"name": "pinned / unpinned (fastest step)", "value": best[True] / best[False], "unit": "x",
         "notes": "the host-speed probe's statistic"},
    ]
