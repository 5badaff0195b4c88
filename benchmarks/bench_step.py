"""The default model's training step under each step-level lever, side by side in one run
(issue 22, item 2: "twice as fast" needs the model's own steps to get faster).

One step = zero_grad, forward, cross-entropy, backward and SGD update of the default profile's
RGB model (``resnet_tiny``, 8 segments, 32x32, batch 32) on random tensors, in train mode, as
``mmlkit.results.host_speed.step_seconds`` times it. Variants, each in its own process
(:mod:`benchmarks.step_child`; a library reads its dispatch settings once per process),
alternating over ``rounds`` so that a drift of the host's speed falls on all of them:

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

import statistics

from benchmarks import step_child
from benchmarks.step_child import StepCase, measure

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
    lever = variant if variant in step_child.VARIANTS else "fp32"  # the thread rows step in fp32
    case = StepCase(model="default", threads=threads, variant=lever, steps=steps, warmup=warmup)
    return sum(r["median"] for r in measure(case, processes=procs))


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
