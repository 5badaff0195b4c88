"""How fast this host trains the profile's model: the yardstick for wall times measured elsewhere.

The same machine type comes with CPUs of different vector instruction sets (AVX2, AVX-512), which
train at very different speeds, so a wall time means little without the speed it was measured at.
``./run_all.sh`` records this probe before and after the notebooks (``timings.json``), and
papers_results' README states it beside the wall time.

The probe reports the fastest step, not the median: step times vary on virtual machines even
when nothing else runs, and the fastest step measures what the CPU can do where the median also
measures whatever slowed the others (the measurements behind this choice: docs/history.md).
"""

from __future__ import annotations

import statistics
import time

import torch


def train_clips_per_s(profile: str = "default", steps: int = 40, warmup: int = 10) -> float:
    """Best training throughput (clips/s, from the fastest step) of the RGB model of ``profile``,
    on random tensors.

    One step is the forward, backward and SGD update of a batch of ``batch_size`` clips of
    ``num_segments`` frames at ``input_size`` pixels, with the profile's thread count; the
    data path is left out (it is 15-25% of an epoch here, see ``benchmarks/``). Takes a few
    seconds on the default profile.

    Args:
        profile: the profile whose model, batch and thread count are measured.
        steps: timed steps (the fastest one gives the throughput).
        warmup: untimed steps first (allocator and oneDNN caches).

    Raises:
        ConfigError: unknown profile, or ``steps`` < 1.
    """
    from mmlkit.config import profile as profile_config
    from mmlkit.config.vocab import _check
    from mmlkit.training.member import make_member

    _check(int(steps) >= 1, f"steps={steps} must be >= 1")
    cfg = profile_config(profile, modalities=("RGB",), device="cpu")
    before = torch.get_num_threads()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    try:
        member = make_member(cfg, 0, "RGB", 29, torch.device("cpu"))  # 29 classes: the head's size barely matters
        net, opt = member.model, member.optimizer
        net.train()
        g = torch.Generator().manual_seed(0)
        b, t, s = cfg.optim.batch_size, cfg.data.num_segments, cfg.data.input_size
        x = torch.randn(b, t, 3, s, s, generator=g)  # (B, T, C, H, W), as the loader gives it
        y = torch.randint(29, (b,), generator=g)
        step_seconds(net, opt, x, y, warmup)  # untimed: allocator and oneDNN caches
        step = min(step_seconds(net, opt, x, y, steps))
    finally:
        torch.set_num_threads(before)
    return b / step


def median_step_seconds(model: torch.nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor,
                        y: torch.Tensor, steps: int) -> float:
    """Median of :func:`step_seconds`; ``steps=0`` runs nothing and returns NaN."""
    times = step_seconds(model, opt, x, y, steps)
    return statistics.median(times) if times else float("nan")


def step_seconds(model: torch.nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor,
                 y: torch.Tensor, steps: int) -> list[float]:
    """Wall time (s) of each of ``steps`` training steps: zero_grad, cross-entropy forward and
    backward, optimizer step, on the batch ``x`` (model input) with labels ``y`` (B,)."""
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
        times.append(time.perf_counter() - t0)
    return times
