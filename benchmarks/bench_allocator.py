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
(:func:`mmlkit.results.host_speed.step_seconds`); the model is built by
:func:`mmlkit.training.member.make_member`, which turns the setting on unless
``MMLKIT_KEEP_FREED_MEMORY=0``. Each process also prints the sha256 of its final weights: the
setting must not change them (the rows' ``same bits`` column).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys

from mmlkit.runtime import KEEP_FREED_MEMORY_VAR

_CHILD = r"""
import hashlib, json, statistics, torch
from mmlkit.config import profile as profile_config
from mmlkit.results.host_speed import step_seconds
from mmlkit.runtime import allocator_environment
from mmlkit.training.member import make_member
case, t, size, batch = {case!r}, {t}, {size}, {batch}
torch.set_num_threads(2)
if case == "default":
    cfg, k = profile_config("default", modalities=("RGB",), device="cpu"), 29
else:
    cfg, k = profile_config("paper", device="cpu", model=dict(pretrained=None),
                            data=dict(num_segments=t, input_size=size, scale_size=size)), 174
member = make_member(cfg, 0, "RGB", k, torch.device("cpu"))
g = torch.Generator().manual_seed(0)
x = torch.randn(batch, t, 3, size, size, generator=g)  # (B, T, C, H, W)
y = torch.randint(k, (batch,), generator=g)
member.model.train()
torch.manual_seed(0)  # the dropout masks
step_seconds(member.model, member.optimizer, x, y, {warmup})
times = step_seconds(member.model, member.optimizer, x, y, {steps})
h = hashlib.sha256()
for name, v in sorted(member.model.state_dict().items()):
    h.update(name.encode()); h.update(v.detach().contiguous().numpy().tobytes())
print(json.dumps({{"median": batch / statistics.median(times), "digest": h.hexdigest(),
                  "malloc": allocator_environment()}}))
"""

#: case -> (segments, side, batch, steps, warm-up steps), full and quick.
_CASES = {"default": ((8, 32, 32, 30, 8), (8, 32, 32, 6, 2)),
          "TSM-R50": ((8, 224, 2, 4, 2), (2, 112, 2, 2, 1))}


def _measure(case: str, kept: bool, quick: bool) -> dict:
    t, size, batch, steps, warmup = _CASES[case][quick]
    env = {k: v for k, v in os.environ.items() if k != KEEP_FREED_MEMORY_VAR}
    if not kept:
        env[KEEP_FREED_MEMORY_VAR] = "0"
    code = _CHILD.format(case=case, t=t, size=size, batch=batch, steps=steps, warmup=warmup)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"{case} (kept={kept}) failed:\n{out.stderr[-2000:]}")
    got = json.loads(out.stdout.strip().splitlines()[-1])
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
