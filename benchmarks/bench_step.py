"""The default model's training step under each step-level lever, side by side in one run
(issue 22, item 2: "twice as fast" needs the model's own steps to get faster).

One step = zero_grad, forward, cross-entropy, backward and SGD update of the default profile's
RGB model (``resnet_tiny``, 8 segments, 32x32, batch 32) on random tensors, in train mode, as
``mmlkit.results.host_speed.step_seconds`` times it. Variants, each in its own process (a
library reads its dispatch settings once per process), alternating over ``rounds`` so that a
drift of the host's speed falls on all of them:

* ``fp32, 2 threads``: the path every run takes today (the baseline);
* ``channels-last``: model and input in ``torch.channels_last`` memory format;
* ``bf16 autocast``: ``torch.autocast("cpu", dtype=torch.bfloat16)`` around forward and loss
  (the paper profile's AMP, on the CPU; changes the numerics, not only the speed);
* ``oneDNN off``: ``torch.backends.mkldnn.enabled = False`` (ATen's own convolutions);
* ``1 thread``: one run's step with one thread;
* ``2 x 1 thread side by side``: two 1-thread processes stepping at once; their clips/s summed
  (what two runs in parallel lanes could give, before data and validation).

Reported: each variant's median clips/s and its ratio to the baseline of the same round (median
over rounds). Every lever here changes a run's bits, so adopting one means training every run
again; this table says whether any is worth that.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys

_CHILD = r"""
import json, statistics, torch
from mmlkit.config import profile as profile_config
from mmlkit.results.host_speed import step_seconds
from mmlkit.training.member import make_member
variant, threads = {variant!r}, {threads}
cfg = profile_config("default", modalities=("RGB",), device="cpu")
torch.set_num_threads(threads)
if variant == "onednn_off":
    torch.backends.mkldnn.enabled = False
member = make_member(cfg, 0, "RGB", 29, torch.device("cpu"))
g = torch.Generator().manual_seed(0)
b, t, s = cfg.optim.batch_size, cfg.data.num_segments, cfg.data.input_size
x = torch.randn(b, t, 3, s, s, generator=g)  # (B, T, C, H, W), as the loader gives RGB
y = torch.randint(29, (b,), generator=g)
model = member.model.train()
if variant == "channels_last":
    model = model.to(memory_format=torch.channels_last)
    x = x.reshape(b * t, 3, s, s).contiguous(memory_format=torch.channels_last).reshape(b, t, 3, s, s)
if variant == "bf16":
    fwd = model.forward
    def forward(inp):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return fwd(inp).float()
    model.forward = forward
step_seconds(model, member.optimizer, x, y, {warmup})
times = step_seconds(model, member.optimizer, x, y, {steps})
print(json.dumps({{"median": b / statistics.median(times)}}))
"""

#: variant key -> (row label, threads, processes at once)
VARIANTS: dict[str, tuple[str, int, int]] = {
    "fp32": ("fp32, 2 threads (today)", 2, 1),
    "channels_last": ("channels-last", 2, 1),
    "bf16": ("bf16 autocast", 2, 1),
    "onednn_off": ("oneDNN off", 2, 1),
    "one_thread": ("1 thread", 1, 1),
    "side_by_side": ("2 x 1 thread side by side", 1, 2),
}


def _measure(variant: str, steps: int, warmup: int) -> float:
    """clips/s of ``variant`` (summed over its processes, which step at once)."""
    _, threads, procs = VARIANTS[variant]
    code = _CHILD.format(variant=variant, threads=threads, steps=steps, warmup=warmup)
    running = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True) for _ in range(procs)]
    total = 0.0
    for p in running:
        out, err = p.communicate()
        if p.returncode != 0:
            raise RuntimeError(f"bench_step {variant}: the child process failed: {err.strip()[-400:]}")
        total += json.loads(out.strip().splitlines()[-1])["median"]
    return total


def rows(quick: bool) -> list[dict]:
    rounds, steps, warmup = (1, 4, 2) if quick else (3, 30, 8)
    speed: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for _ in range(rounds):
        for v in VARIANTS:
            speed[v].append(_measure(v, steps, warmup))
    note = f"{rounds} alternating rounds x {steps} steps, each variant its own process(es)"
    out = [{"name": f"RGB step, {VARIANTS['fp32'][0]}", "value": statistics.median(speed["fp32"]),
            "unit": "clips/s", "notes": note}]
    for v, (label, _, _) in VARIANTS.items():
        if v == "fp32":
            continue
        ratio = statistics.median(a / b for a, b in zip(speed[v], speed["fp32"]))
        out.append({"name": f"{label} / today", "value": ratio, "unit": "x",
                    "notes": f"{statistics.median(speed[v]):.0f} clips/s; {note}"})
    return out
