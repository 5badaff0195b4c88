"""The OpenMP runtime's settings (issue 22, item 2): how torch's two threads wait and where they run,
side by side in one run, on the pinned code paths every run takes.

torch's CPU kernels run their parallel regions on GNU OpenMP (libgomp). The default profile's
model is small (32x32 frames, batch 32), so one step is hundreds of short parallel regions, and
what a thread does between them (spin, then sleep: ``OMP_WAIT_POLICY``, ``GOMP_SPINCOUNT``) and
whether it stays on one core (``OMP_PROC_BIND``, ``OMP_PLACES``) could cost time without
touching the arithmetic: the same threads split the same loops, so the bits must not change.
Each setting runs the default profile's RGB step (:mod:`benchmarks.step_child`, 2 threads) in a
process of its own, all of them alternating over ``rounds``; every process prints the digest of
its final weights, and the rows say whether they are all equal.

* ``as it comes``: the environment of ``./run_all.sh`` (pinned dispatch, no OpenMP variables);
* ``OMP_WAIT_POLICY=active``: threads spin between regions and never sleep;
* ``OMP_WAIT_POLICY=passive``: threads sleep at once (the other end);
* ``OMP_PROC_BIND=close, OMP_PLACES=cores``: each thread bound to its own core.
"""

from __future__ import annotations

import os
import statistics

from benchmarks.step_child import StepCase, measure
from mmlkit.runtime import pinned_env

#: the OpenMP variables a run's environment could carry (cleared before each setting's own)
OMP_VARS = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "OMP_PROC_BIND", "OMP_PLACES")
#: setting key -> (row label, its variables)
SETTINGS: dict[str, tuple[str, dict[str, str]]] = {
    "default": ("as it comes", {}),
    "active": ("OMP_WAIT_POLICY=active", {"OMP_WAIT_POLICY": "active"}),
    "passive": ("OMP_WAIT_POLICY=passive", {"OMP_WAIT_POLICY": "passive"}),
    "bind": ("OMP_PROC_BIND=close, OMP_PLACES=cores", {"OMP_PROC_BIND": "close", "OMP_PLACES": "cores"}),
}


def environment(setting: str) -> dict[str, str]:
    """The child's environment: this one, pinned as ``./run_all.sh`` pins it, plus ``setting``'s variables."""
    env = {k: v for k, v in pinned_env(os.environ).items() if k not in OMP_VARS}
    env.update(SETTINGS[setting][1])
    return env


def rows(quick: bool) -> list[dict]:
    """The harness's rows: the default step's clips/s as it comes, each setting's ratio to it
    (median over rounds of the same round's ratio), and whether every process trained the same
    weights (``ok`` False when not).

    Args:
        quick: 1 round of 4 steps (the tests) instead of 3 rounds of 30.
    """
    rounds, steps, warmup = (1, 4, 2) if quick else (3, 30, 8)
    got: dict[str, list[dict]] = {s: [] for s in SETTINGS}
    for _ in range(rounds):
        for s in SETTINGS:
            got[s].append(measure(StepCase(model="default", threads=2, steps=steps, warmup=warmup),
                                  environment(s))[0])
    same = len({r["digest"] for rs in got.values() for r in rs}) == 1
    note = f"{rounds} alternating rounds x {steps} steps (median), each setting its own process, pinned"
    base = [r["median"] for r in got["default"]]
    out = [{"name": "RGB step, OpenMP as it comes", "value": statistics.median(base), "unit": "clips/s",
            "notes": note}]
    for s, (label, _) in SETTINGS.items():
        if s == "default":
            continue
        ratio = statistics.median(r["median"] / b for r, b in zip(got[s], base))
        out.append({"name": f"{label} / as it comes", "value": ratio, "unit": "x",
                    "notes": f"{statistics.median(r['median'] for r in got[s]):.0f} clips/s; {note}"})
    out.append({"name": "OpenMP settings: same bits", "value": float(same), "unit": "bool",
                "notes": "every process's final weights equal" if same else "the settings trained other weights",
                "ok": same, "target": "same bits"})
    return out
