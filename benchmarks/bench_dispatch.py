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

import json
import os
import statistics
import subprocess
import sys

from mmlkit.runtime import PINNED_DISPATCH, pinned_env

_CHILD = r"""
import json, statistics, torch
from mmlkit.config import profile as profile_config
from mmlkit.results.host_speed import step_seconds
from mmlkit.training.member import make_member
cfg = profile_config("default", modalities=("RGB",), device="cpu")
torch.set_num_threads(cfg.threads or 2)
member = make_member(cfg, 0, "RGB", 29, torch.device("cpu"))
g = torch.Generator().manual_seed(0)
b, t, s = cfg.optim.batch_size, cfg.data.num_segments, cfg.data.input_size
x = torch.randn(b, t, 3, s, s, generator=g)  # (B, T, C, H, W), as the loader gives RGB
y = torch.randint(29, (b,), generator=g)
member.model.train()
step_seconds(member.model, member.optimizer, x, y, {warmup})
times = step_seconds(member.model, member.optimizer, x, y, {steps})
print(json.dumps({{"median": b / statistics.median(times), "best": b / min(times),
                  "capability": torch.backends.cpu.get_cpu_capability()}}))
"""


def _measure(pinned: bool, steps: int, warmup: int) -> dict:
    env = pinned_env() if pinned else {k: v for k, v in os.environ.items() if k not in PINNED_DISPATCH}
    code = _CHILD.format(steps=steps, warmup=warmup)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


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
