"""TSM-ResNet-50's training step: mmlkit's model against the released code's, side by side
(issue 22, item 6: ">= 1.2x the released code's step on an AVX2 host").

One step = zero_grad, forward, cross-entropy, backward and SGD update (momentum 0.9, weight
decay 5e-4) of an RGB TSM-ResNet-50 (8 segments, 224x224, batch 2, 174 classes, dropout 0.5),
in train mode, on random tensors, with 2 threads (the machine's cores). Two models:

* ``released``: the released code's model as method.md describes it
  (:mod:`benchmarks.released_model`: torchvision's ResNet-50, the ``zeros_like`` + three-slice
  shift, NCHW tensors), with ``malloc`` as it comes;
* ``mmlkit``: the model every run trains, built by :func:`mmlkit.training.member.make_member`
  (the shift with its adjoint as the backward, channels-last memory format, freed memory kept
  for reuse: :func:`mmlkit.runtime.keep_freed_memory`);
* ``released, memory kept``: the released model in a process that keeps freed memory too, so
  that its ratio to ``mmlkit`` is the models' own difference, the allocator left out.

Each measurement is its own process (:mod:`benchmarks.step_child`; a library reads its dispatch
settings once per process), alternating over ``rounds`` so that a drift of the host's speed
falls on both; each model is timed on the host's own CPU paths and on the AVX2 paths
(:data:`mmlkit.runtime.PINNED_DISPATCH`). On an AVX-512 host the pinned rows are AVX2 *code* on
an AVX-512 core: the nearest this host gets to an AVX2 host, not one. The target is judged on
the unpinned ratio of an AVX2 host only.
"""

from __future__ import annotations

import os
import statistics

from benchmarks.step_child import StepCase, measure
from mmlkit.runtime import PINNED_DISPATCH, pinned_env

#: variant -> row label.
VARIANTS: dict[str, str] = {"released": "released", "released_kept": "released, memory kept", "mmlkit": "mmlkit"}


def _measure(variant: str, pinned: bool, sizes: dict, steps: int, warmup: int) -> dict:
    env = pinned_env() if pinned else {k: v for k, v in os.environ.items() if k not in PINNED_DISPATCH}
    case = StepCase(model="tsm_r50" if variant == "mmlkit" else "released", keep_memory=variant == "released_kept",
                    segments=sizes["t"], size=sizes["size"], batch=sizes["batch"], threads=2, steps=steps,
                    warmup=warmup)
    return measure(case, env)[0]


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
