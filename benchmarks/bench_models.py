"""Training-step throughput of the TSM models on the CPU, peak memory, and the temporal shift's share.

Cases: TSM-ResNet-50 (8 segments, 224x224, batch 2; quick: 2 segments, 112x112) and the embedded
benchmark's ``resnet_tiny`` (8 segments, 32x32, batch 32). One step = forward + cross-entropy +
backward + SGD step, in train mode. Reported: images/s (B*T frames), clips/s, the step's peak
memory and the share of the step spent in the temporal shift, measured two ways:

* ``shift op``: the shift's forward + backward timed alone on the very tensor shapes the model
  feeds it (recorded by hooks), summed over all shifted layers, divided by the step time;
* ``ablation``: the step time with every shift replaced by the identity, versus with shift
  (noisy on a shared CPU; given in the notes).

Memory: ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` after the steps minus the resident set
(psutil when present, else /proc/self/statm) just before them; tracemalloc does not see torch's
allocations. The process peak only grows, so cases run smallest first.

GPU users: ``model.to(memory_format=torch.channels_last)`` on inputs viewed as (B*T, C, H, W) and
``torch.autocast("cuda", dtype=torch.bfloat16)`` around the forward speed up the ResNet-50 step
several times; the shift works unchanged on channels-last tensors. Not measured here.
"""

from __future__ import annotations

import os
import resource
import statistics
import sys
import time

import torch

from mmlkit.models import TSN, TemporalShift, param_groups, temporal_shift
from mmlkit.results.host_speed import median_step_seconds


def _rss_bytes() -> tuple[int, str]:
    try:
        import psutil
        return psutil.Process().memory_info().rss, "psutil"
    except ImportError:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * resource.getpagesize(), "statm"


def _maxrss_bytes() -> int:
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r if sys.platform == "darwin" else r * 1024  # Linux reports KiB


def _shift_op_time(shapes: list[tuple], reps: int) -> float:
    """Forward + backward of the shift alone, summed over the recorded inputs (seconds)."""
    total = 0.0
    for shape, t, div in shapes:
        x = torch.randn(shape, requires_grad=True)
        g = torch.randn(shape)
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            temporal_shift(x, t, div).backward(g)
            times.append(time.perf_counter() - t0)
        total += statistics.median(times)
    return total


def _case(name: str, arch: str, t: int, size: int, batch: int, steps: int, ablate: bool,
          threads: int | None = None) -> list[dict]:
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        return _measure(name, arch, t, size, batch, steps, ablate)
    finally:
        torch.set_num_threads(before)


def _measure(name: str, arch: str, t: int, size: int, batch: int, steps: int, ablate: bool) -> list[dict]:
    torch.manual_seed(0)
    model = TSN(174, t, "RGB", arch=arch, dropout=0.5 if arch == "resnet50" else 0.0)
    opt = torch.optim.SGD(param_groups(model, 0.01, 5e-4), lr=0.01, momentum=0.9)
    x = torch.randn(batch, t, 3, size, size)
    y = torch.randint(0, 174, (batch,))
    shapes: list[tuple] = []
    hooks = [m.register_forward_pre_hook(lambda mod, inp: shapes.append((tuple(inp[0].shape), mod.num_segments,
                                                                          mod.shift_div)))
             for m in model.modules() if isinstance(m, TemporalShift)]
    rss0, how = _rss_bytes()
    peak0 = _maxrss_bytes()
    median_step_seconds(model, opt, x, y, 1)  # warm-up, records the shift's input shapes
    for h in hooks:
        h.remove()
    step = median_step_seconds(model, opt, x, y, steps)
    peak = _maxrss_bytes()
    mem_note = f"ru_maxrss after the steps - RSS before the warm-up step ({how})"
    if peak <= peak0:
        mem_note += "; did not raise the process peak (a lower bound)"
    op = _shift_op_time(shapes, reps=3)
    notes = f"{len(shapes)} shifted convs; op fwd+bwd {op * 1e3:.1f} ms of a {step * 1e3:.0f} ms step"
    if ablate:
        for m in model.modules():
            if isinstance(m, TemporalShift):
                m.forward = m.net.forward  # identity in place of the shift
        no_shift = median_step_seconds(model, opt, x, y, steps)
        notes += f"; ablation: step without shift {no_shift * 1e3:.0f} ms ({(step - no_shift) / step:+.1%})"
    share = op / step
    size_txt = f"T={t} {size}x{size} B={batch}, {torch.get_num_threads()} threads"
    target_ok = share < 0.03 if arch == "resnet50" else None
    return [
        {"name": f"{name} train step images/s ({size_txt})", "value": batch * t / step, "unit": "img/s",
         "notes": f"{batch / step:.2f} clips/s; median of {steps} steps after a warm-up"},
        {"name": f"{name} train step clips/s ({size_txt})", "value": batch / step, "unit": "clips/s",
         "target": "pilot: 390 on an idle 2-core CPU" if arch == "resnet_tiny" else "",
         "notes": f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"},
        {"name": f"{name} step peak memory ({size_txt})", "value": max(peak - rss0, 0) / 2**20, "unit": "MiB",
         "notes": mem_note},
        {"name": f"{name} temporal shift share of step", "value": 100 * share, "unit": "%",
         "target": "< 3% (ResNet-50)" if arch == "resnet50" else "", "ok": target_ok, "notes": notes},
    ]


def rows(quick: bool) -> list[dict]:
    """quick: resnet_tiny at batch 8 only (ResNet-50 skipped: tens of seconds per step on 2 cores).
    full: resnet_tiny at the benchmark's size with torch's thread count and with 1 thread (on a
    loaded machine one thread is often faster), then one TSM-ResNet-50 step (1 thread) after a
    warm-up."""
    if quick:
        out = _case("resnet_tiny", "resnet_tiny", 8, 32, 8, steps=2, ablate=False)
        out.append({"name": "TSM-R50 train step", "value": float("nan"), "unit": "img/s",
                    "notes": "skipped in --quick (run the full benchmark)"})
        return out
    out = _case("resnet_tiny", "resnet_tiny", 8, 32, 32, steps=4, ablate=True)
    if torch.get_num_threads() > 1:
        out += _case("resnet_tiny 1-thread", "resnet_tiny", 8, 32, 32, steps=4, ablate=False, threads=1)[:2]
    # One thread for ResNet-50: on a shared 2-core machine two threads spin on each other's
    # barriers, which inflates memory-bound ops (the shift) far more than the convs.
    out += _case("TSM-R50", "resnet50", 8, 224, 2, steps=1, ablate=False, threads=1)
    return out


if __name__ == "__main__":
    for r in rows(quick="--quick" in sys.argv):
        print(r)
