"""TSM-ResNet-50's training step: mmlkit's model against the released code's, side by side
(issue 22, item 6: ">= 1.2x the released code's step on an AVX2 host").

One step = zero_grad, forward, cross-entropy, backward and SGD update (momentum 0.9, weight
decay 5e-4) of an RGB TSM-ResNet-50 (8 segments, 224x224, batch 2, 174 classes, dropout 0.5),
in train mode, on random tensors, with 2 threads (the machine's cores). Two models:

* ``released``: the released code's model as method.md describes it, written here from that
  description (its code is not ours to copy): torchvision's ResNet-50, the ``blockres`` shift
  done as the released code does it (a ``zeros_like`` buffer filled by three slice assignments,
  autograd through the slices), its ``fc`` replaced by dropout, a new linear head, the logits
  averaged over segments; NCHW tensors, as the released code keeps them;
* ``mmlkit``: the model every run trains, built by :func:`mmlkit.training.member.make_member`
  (the shift with its adjoint as the backward, channels-last memory format, freed memory kept
  for reuse: :func:`mmlkit.runtime.keep_freed_memory`);
* ``released, memory kept``: the released model in a process that keeps freed memory too, so
  that its ratio to ``mmlkit`` is the models' own difference, the allocator left out.

Each measurement is its own process (a library reads its dispatch settings once per process),
alternating over ``rounds`` so that a drift of the host's speed falls on both; each model is
timed on the host's own CPU paths and on the AVX2 paths (:data:`mmlkit.runtime.PINNED_DISPATCH`).
On an AVX-512 host the pinned rows are AVX2 *code* on an AVX-512 core: the nearest this host
gets to an AVX2 host, not one. The target is judged on the unpinned ratio of an AVX2 host only.
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
from torch import nn
from mmlkit.results.host_speed import step_seconds
variant, t, size, batch, k = {variant!r}, {t}, {size}, {batch}, 174
torch.set_num_threads(2)
torch.manual_seed(0)
if variant.startswith("released"):
    import torchvision
    if variant == "released_kept":
        from mmlkit.runtime import keep_freed_memory
        keep_freed_memory()

    class Shifted(nn.Module):  # the released code's wrapper: net(shift(x)), shift by slices
        def __init__(self, net, n_segment, n_div=8):
            super().__init__()
            self.net, self.n_segment, self.n_div = net, n_segment, n_div

        def forward(self, x):
            nt, c, h, w = x.shape
            x5 = x.view(nt // self.n_segment, self.n_segment, c, h, w)
            f = c // self.n_div
            out = torch.zeros_like(x5)
            out[:, :-1, :f] = x5[:, 1:, :f]
            out[:, 1:, f:2 * f] = x5[:, :-1, f:2 * f]
            out[:, :, 2 * f:] = x5[:, :, 2 * f:]
            return self.net(out.view(nt, c, h, w))

    class Released(nn.Module):
        def __init__(self):
            super().__init__()
            self.base_model = torchvision.models.resnet50()
            for layer in (self.base_model.layer1, self.base_model.layer2, self.base_model.layer3,
                          self.base_model.layer4):
                for block in layer:
                    block.conv1 = Shifted(block.conv1, t)
            self.base_model.fc = nn.Dropout(0.5)
            self.new_fc = nn.Linear(2048, k)
            nn.init.normal_(self.new_fc.weight, 0, 0.001)
            nn.init.constant_(self.new_fc.bias, 0)

        def forward(self, x):  # (B, T, C, H, W)
            base = self.new_fc(self.base_model(x.view((-1,) + x.shape[-3:])))   # (B*T, K)
            return base.view(x.shape[0], t, -1).mean(dim=1)                    # (B, K)

    model = Released()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
else:
    from mmlkit.config import profile as profile_config
    from mmlkit.training.member import make_member
    cfg = profile_config("paper", device="cpu", model=dict(pretrained=None),
                         data=dict(num_segments=t, input_size=size, scale_size=size))
    member = make_member(cfg, 0, "RGB", k, torch.device("cpu"))
    model, opt = member.model, member.optimizer
g = torch.Generator().manual_seed(0)
x = torch.randn(batch, t, 3, size, size, generator=g)  # (B, T, C, H, W), as the loader gives RGB
y = torch.randint(k, (batch,), generator=g)
model.train()
step_seconds(model, opt, x, y, {warmup})
times = step_seconds(model, opt, x, y, {steps})
print(json.dumps({{"median": batch / statistics.median(times), "best": batch / min(times),
                  "capability": torch.backends.cpu.get_cpu_capability()}}))
"""


#: variant -> row label.
VARIANTS: dict[str, str] = {"released": "released", "released_kept": "released, memory kept", "mmlkit": "mmlkit"}


def _measure(variant: str, pinned: bool, sizes: dict, steps: int, warmup: int) -> dict:
    env = pinned_env() if pinned else {k: v for k, v in os.environ.items() if k not in PINNED_DISPATCH}
    code = _CHILD.format(variant=variant, steps=steps, warmup=warmup, **sizes)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"{variant} (pinned={pinned}) failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def rows(quick: bool) -> list[dict]:
    sizes = dict(t=2, size=112, batch=2) if quick else dict(t=8, size=224, batch=2)
    rounds, steps, warmup = (1, 2, 1) if quick else (2, 4, 2)
    got: dict[tuple[str, bool], list[dict]] = {}
    for _ in range(rounds):
        for pinned in (False, True):
            for variant in VARIANTS:
                got.setdefault((variant, pinned), []).append(_measure(variant, pinned, sizes, steps, warmup))
    med = {key: statistics.median(r["median"] for r in rs) for key, rs in got.items()}
    cap = {p: got[("mmlkit", p)][0]["capability"] for p in (False, True)}
    shape = f"{sizes['t']}x{sizes['size']}, batch {sizes['batch']}, 2 threads"
    note = f"{rounds} alternating rounds x {steps} steps (median), each model in its own process; {shape}"
    out = []
    for pinned in (False, True):
        where = f"{cap[pinned]} paths" + (" (pinned: AVX2 code on this CPU)" if pinned and cap[False] != "AVX2" else "")
        for variant, label in VARIANTS.items():
            out.append({"name": f"TSM-R50 step, {label}, {where}", "value": med[(variant, pinned)],
                        "unit": "clips/s", "notes": note})
        ratio = med[("mmlkit", pinned)] / med[("released", pinned)]
        judged = not pinned and cap[False] == "AVX2" and not quick
        out.append({"name": f"mmlkit / released, {where}", "value": ratio, "unit": "x",
                    "target": ">= 1.2 on an AVX2 host" if not pinned else "",
                    "ok": (ratio >= 1.2) if judged else None,
                    "notes": "judged on an AVX2 host's own paths only" if not judged else note})
        out.append({"name": f"mmlkit / released with memory kept, {where}",
                    "value": med[("mmlkit", pinned)] / med[("released_kept", pinned)], "unit": "x",
                    "notes": "the models' own difference: both processes keep freed memory"})
    return out
