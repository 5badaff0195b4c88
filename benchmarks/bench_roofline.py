"""How far the model's training step is from the arithmetic rate this host reaches (issue 22,
item 2: "twice as fast" needs the steps themselves faster, since they are 72.5% of a full run).

The other step benchmarks try levers and report ratios; this one says how much room there is.
In a process of its own per dispatch (pinned, as every run trains, and the host's own paths), it
takes the default profile's RGB step (:mod:`benchmarks.step_child`: ``resnet_tiny``, 8 segments,
32x32, batch 32, 2 threads, freed memory kept) and reports:

* the step's floating-point work, counted by :class:`torch.utils.flop_counter.FlopCounterMode`
  (forward and backward; a multiply-add counts 2), and its rate: work / median step time;
* the *attainable* rate: one large convolution (batch 256, 64 -> 64 channels, 3x3, 16x16, the
  forward pass) on the same code paths, where oneDNN's kernels are not starved by small
  channel counts or maps: about the most a convolution gets from these cores;
* every convolution of the step replayed alone (forward, and the backward's input and weight
  gradients as autograd asks for them, ``aten.convolution_backward``) with its shapes, recorded
  by forward hooks: their summed time, share of the step and rate, and the slowest of them by
  GFLOP/s; the step's time less theirs is the rest (BatchNorm, ReLU, the temporal shift, pooling,
  the loss, the optimizer, autograd's own work), which does almost no counted arithmetic.

So ``attainable / step rate`` bounds what any change of how the same arithmetic is computed
(kernels, layouts, fusion, threads inside one process) could give the step: it is the speed-up
if every counted operation ran at the large convolution's rate and the rest took no time.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from mmlkit.runtime import PINNED_DISPATCH, pinned_env

_REPO = Path(__file__).resolve().parents[1]
#: the large convolution that stands for the attainable rate: (N, C_in, H, W), (C_out, C_in, kH, kW)
LARGE_CONV = ((256, 64, 16, 16), (64, 64, 3, 3))


def _median_ms(fn, repeat: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def conv_flops(x_shape, w_shape, y_shape) -> int:
    """Multiply-adds x 2 of a convolution's forward pass (no groups, no bias): every output
    element sums ``C_in * kH * kW`` products."""
    n, c_out, h_out, w_out = y_shape
    _, c_in, kh, kw = w_shape
    assert w_shape[1] == x_shape[1], (x_shape, w_shape)
    return 2 * n * c_out * h_out * w_out * c_in * kh * kw


def child(steps: int, repeat: int) -> dict:
    """What one process measures (its dispatch is the environment it was started with)."""
    import torch
    import torch.nn.functional as F
    from torch.utils.flop_counter import FlopCounterMode

    from benchmarks.step_child import StepCase, _build
    from mmlkit.results.host_speed import step_seconds

    torch.set_num_threads(2)
    torch.manual_seed(0)
    model, opt, b, t, s, k = _build(StepCase())
    g = torch.Generator().manual_seed(0)
    x = torch.randn(b, t, 3, s, s, generator=g)  # (B, T, C, H, W), as the loader gives RGB
    y = torch.randint(k, (b,), generator=g)
    model.train()

    convs: list[dict] = []

    def recorder(name: str):
        def record(mod, inp, out):
            convs.append({"name": name, "x": tuple(inp[0].shape), "w": tuple(mod.weight.shape),
                          "y": tuple(out.shape), "stride": list(mod.stride), "padding": list(mod.padding),
                          "input_grad": inp[0].requires_grad})
        return record

    hooks = [mod.register_forward_hook(recorder(name)) for name, mod in model.named_modules()
             if isinstance(mod, torch.nn.Conv2d)]
    with FlopCounterMode(display=False) as counter:
        torch.nn.functional.cross_entropy(model(x), y).backward()
    for h in hooks:
        h.remove()
    flops = counter.get_total_flops()
    by_op = {str(op): n for op, n in counter.get_flop_counts()["Global"].items()}

    step_seconds(model, opt, x, y, max(2, steps // 4))
    step_ms = 1e3 * statistics.median(step_seconds(model, opt, x, y, steps))

    rows = []
    for c in convs:  # each convolution alone, as the step ran it
        xi = torch.randn(c["x"], generator=g)
        w = torch.randn(c["w"], generator=g) * 0.1
        args = dict(stride=c["stride"], padding=c["padding"])
        go = torch.randn(c["y"], generator=g)
        fwd = _median_ms(lambda: F.conv2d(xi, w, **args), repeat)
        bwd = _median_ms(lambda: torch.ops.aten.convolution_backward(
            go, xi, w, None, c["stride"], c["padding"], [1, 1], False, [0, 0], 1,
            [c["input_grad"], True, False]), repeat)
        work = conv_flops(c["x"], c["w"], c["y"])
        rows.append({"name": c["name"], "x": c["x"], "w": c["w"], "forward_ms": fwd, "backward_ms": bwd,
                     "gflop": work * (3 if c["input_grad"] else 2) / 1e9})
    xl, wl = torch.randn(LARGE_CONV[0], generator=g), torch.randn(LARGE_CONV[1], generator=g)
    yl = F.conv2d(xl, wl, padding=1)
    large_ms = _median_ms(lambda: F.conv2d(xl, wl, padding=1), repeat)
    return {"capability": torch.backends.cpu.get_cpu_capability(), "step_ms": step_ms, "clips": b,
            "step_gflop": flops / 1e9, "by_op_gflop": {op: n / 1e9 for op, n in by_op.items()},
            "convs": rows, "large_gflop_s": conv_flops(xl.shape, wl.shape, yl.shape) / large_ms / 1e6}


def measure(pinned: bool, steps: int, repeat: int) -> dict:
    """:func:`child`'s result from a fresh process, pinned or on the host's own paths."""
    env = pinned_env() if pinned else {k: v for k, v in os.environ.items() if k not in PINNED_DISPATCH}
    p = subprocess.run([sys.executable, "-m", "benchmarks.bench_roofline", json.dumps([steps, repeat])],
                       cwd=_REPO, env=env, capture_output=True, text=True)
    if p.returncode:
        raise RuntimeError(f"roofline child (pinned={pinned}) failed (exit {p.returncode}):\n{p.stderr[-2000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def summary(got: dict) -> dict:
    """The figures the rows report, from one :func:`child` result."""
    step_rate = got["step_gflop"] / got["step_ms"] * 1e3
    conv_ms = sum(c["forward_ms"] + c["backward_ms"] for c in got["convs"])
    conv_gflop = sum(c["gflop"] for c in got["convs"])
    slowest = min(got["convs"], key=lambda c: c["gflop"] / (c["forward_ms"] + c["backward_ms"]))
    return {"step_gflop_s": step_rate, "headroom": got["large_gflop_s"] / step_rate,
            "conv_ms": conv_ms, "conv_share": conv_ms / got["step_ms"],
            "conv_gflop_s": conv_gflop / conv_ms * 1e3, "rest_ms": got["step_ms"] - conv_ms,
            "slowest": slowest, "slowest_gflop_s": slowest["gflop"] / (slowest["forward_ms"] + slowest["backward_ms"]) * 1e3}


def rows(quick: bool) -> list[dict]:
    """The harness's rows, pinned paths first, then the host's own.

    Args:
        quick: 4 steps and 3 repeats per convolution (the tests) instead of 30 and 20.
    """
    steps, repeat = (4, 3) if quick else (30, 20)
    out = []
    for pinned in (True, False):
        got = measure(pinned, steps, repeat)
        f = summary(got)
        paths = f"{'pinned (AVX2 paths)' if pinned else 'host paths'}, ATen {got['capability']}"
        sl = f["slowest"]
        out += [
            {"name": f"{paths}: step", "value": f["step_gflop_s"], "unit": "GFLOP/s",
             "notes": f"{got['step_gflop']:.2f} GFLOP counted per step (forward and backward) in "
                      f"{got['step_ms']:.1f} ms ({got['clips'] / got['step_ms'] * 1e3:.0f} clips/s), median of {steps}"},
            {"name": f"{paths}: a large convolution", "value": got["large_gflop_s"], "unit": "GFLOP/s",
             "notes": "batch 256, 64->64 channels, 3x3, 16x16, forward: the attainable rate"},
            {"name": f"{paths}: attainable / step", "value": f["headroom"], "unit": "x",
             "notes": "the most a change of how the step's arithmetic is computed could give"},
            {"name": f"{paths}: convolutions' share of the step", "value": f["conv_share"], "unit": "fraction",
             "notes": f"{len(got['convs'])} convolutions replayed alone, forward and backward: {f['conv_ms']:.1f} ms "
                      f"at {f['conv_gflop_s']:.0f} GFLOP/s; the rest (BatchNorm, ReLU, shift, loss, optimizer) "
                      f"{f['rest_ms']:.1f} ms"},
            {"name": f"{paths}: slowest convolution", "value": f["slowest_gflop_s"], "unit": "GFLOP/s",
             "notes": f"{sl['name']} (input {'x'.join(map(str, sl['x']))}, weight {'x'.join(map(str, sl['w']))}): "
                      f"forward {sl['forward_ms']:.2f} ms, backward {sl['backward_ms']:.2f} ms"},
        ]
    return out


if __name__ == "__main__":
    print(json.dumps(child(*json.loads(sys.argv[1]))))
