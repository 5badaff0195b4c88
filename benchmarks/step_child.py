"""Training steps timed in a process of their own: the child behind ``bench_step``,
``bench_dispatch``, ``bench_allocator`` and ``bench_released``.

A library reads its dispatch settings (and glibc its ``malloc`` options) once per process, so
each measurement runs in a fresh interpreter::

    python -m benchmarks.step_child '{"model": "default", "steps": 30, "warmup": 8}'

prints one JSON line: ``median`` and ``best`` (clips/s at the median and at the fastest of the
timed steps), ``capability`` (ATen's CPU capability), ``malloc``
(:func:`mmlkit.runtime.allocator_environment`) and ``digest``
(:func:`mmlkit.models.weights_digest` of the final weights, so that a setting meant to change
only the speed can be checked not to change the bits).

One step = zero_grad, forward, cross-entropy, backward and optimizer update on random tensors
(:func:`mmlkit.results.host_speed.step_seconds`), in train mode, from fixed seeds.
:func:`measure` starts the children and reads their lines.
"""

from __future__ import annotations

import dataclasses
import json
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

MODELS = ("default", "tsm_r50", "released")
VARIANTS = ("fp32", "channels_last", "bf16", "onednn_off")
_REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class StepCase:
    """What one child process times.

    Attributes:
        model: ``"default"``: the default profile's RGB model (``resnet_tiny``, 29 classes);
            ``"tsm_r50"``: the paper profile's RGB TSM-ResNet-50 (174 classes, no ImageNet
            weights); both built by :func:`mmlkit.training.member.make_member`, as every run
            builds them (freed memory kept unless ``MMLKIT_KEEP_FREED_MEMORY=0``);
            ``"released"``: the released code's model (:class:`benchmarks.released_model.ReleasedTSM`,
            174 classes) with SGD (lr 0.01, momentum 0.9, weight decay 5e-4).
        segments, size, batch: the input ``(batch, segments, 3, size, size)``; ``None``: the
            default profile's (``default`` only).
        threads: torch threads; ``None``: 2, the default profile's.
        variant: ``"fp32"`` (as runs train), ``"channels_last"`` (model and input),
            ``"bf16"`` (autocast around forward and loss) or ``"onednn_off"``.
        keep_memory: ``released`` only: keep freed memory (:func:`mmlkit.runtime.keep_freed_memory`).
        steps, warmup: timed steps, after untimed ones.
    """

    model: str = "default"
    segments: int | None = None
    size: int | None = None
    batch: int | None = None
    threads: int | None = None
    variant: str = "fp32"
    keep_memory: bool = False
    steps: int = 30
    warmup: int = 8

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ValueError(f"model={self.model!r}; expected one of {MODELS}")
        if self.variant not in VARIANTS:
            raise ValueError(f"variant={self.variant!r}; expected one of {VARIANTS}")
        if self.model != "default" and None in (self.segments, self.size, self.batch):
            raise ValueError(f"model={self.model!r} needs segments, size and batch")
        if self.keep_memory and self.model != "released":
            raise ValueError("keep_memory is for the released model; make_member sets it for the others")
        if self.steps < 1 or self.warmup < 0:
            raise ValueError(f"steps={self.steps} must be >= 1 and warmup={self.warmup} >= 0")


def measure(case: StepCase, env: dict[str, str] | None = None, processes: int = 1) -> list[dict]:
    """Run ``processes`` children of ``case`` at once (``env``: their environment; ``None``:
    this one's) and return their JSON lines, in start order.

    Raises:
        RuntimeError: a child failed (its case and the end of its stderr).
    """
    arg = json.dumps(dataclasses.asdict(case))
    running = [subprocess.Popen([sys.executable, "-m", "benchmarks.step_child", arg], cwd=_REPO, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(processes)]
    out = []
    for p in running:
        stdout, stderr = p.communicate()
        if p.returncode:
            raise RuntimeError(f"step child {case} failed (exit {p.returncode}):\n{stderr[-2000:]}")
        out.append(json.loads(stdout.strip().splitlines()[-1]))
    return out


def _build(case: StepCase):
    """(model, optimizer, batch, segments, size, classes) of ``case``."""
    import torch

    if case.model == "released":
        from benchmarks.released_model import ReleasedTSM

        if case.keep_memory:
            from mmlkit.runtime import keep_freed_memory

            keep_freed_memory()
        model = ReleasedTSM(case.segments, 174)
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
        return model, opt, case.batch, case.segments, case.size, 174
    from mmlkit.config import profile as profile_config
    from mmlkit.training.member import make_member

    if case.model == "default":
        cfg, k = profile_config("default", modalities=("RGB",), device="cpu"), 29
    else:
        cfg, k = profile_config("paper", device="cpu", model=dict(pretrained=None),
                                data=dict(num_segments=case.segments, input_size=case.size,
                                          scale_size=case.size)), 174
    member = make_member(cfg, 0, "RGB", k, torch.device("cpu"))
    b = case.batch or cfg.optim.batch_size
    t, s = case.segments or cfg.data.num_segments, case.size or cfg.data.input_size
    return member.model, member.optimizer, b, t, s, k


def run(case: StepCase) -> dict:
    """Build, step and time ``case`` in this process (what the child does)."""
    import torch

    from mmlkit.models import weights_digest
    from mmlkit.results.host_speed import step_seconds
    from mmlkit.runtime import allocator_environment

    torch.set_num_threads(case.threads or 2)
    if case.variant == "onednn_off":
        torch.backends.mkldnn.enabled = False
    torch.manual_seed(0)  # the released model's initialisation (make_member seeds its own)
    model, opt, b, t, s, k = _build(case)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(b, t, 3, s, s, generator=g)  # (B, T, C, H, W), as the loader gives RGB
    y = torch.randint(k, (b,), generator=g)
    model.train()
    if case.variant == "channels_last":
        model = model.to(memory_format=torch.channels_last)
        x = x.reshape(b * t, 3, s, s).contiguous(memory_format=torch.channels_last).reshape(b, t, 3, s, s)
    if case.variant == "bf16":
        fwd = model.forward

        def forward(inp):
            with torch.autocast("cpu", dtype=torch.bfloat16):
                return fwd(inp).float()

        model.forward = forward
    torch.manual_seed(0)  # the dropout masks
    step_seconds(model, opt, x, y, case.warmup)
    times = step_seconds(model, opt, x, y, case.steps)
    return {"median": b / statistics.median(times), "best": b / min(times),
            "capability": torch.backends.cpu.get_cpu_capability(), "malloc": allocator_environment(),
            "digest": weights_digest(model.state_dict())}


if __name__ == "__main__":
    print(json.dumps(run(StepCase(**json.loads(sys.argv[1])))))
