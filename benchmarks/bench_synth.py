"""Synthetic benchmark generation speed: render + VP9 encode, the pack (flow) step, and an
estimate of the default preset's generation time on 2 worker processes.

Throughput is measured in one process with CPU time (``time.process_time``), so other users of
a shared machine do not distort it; the estimate divides the default preset's clip count by two
workers' throughput (process start-up and the montage are added as measured)."""

from __future__ import annotations

import dataclasses
import tempfile
import time
from pathlib import Path

from mmlkit.data import synthetic as S


def rows(quick: bool) -> list[dict]:
    default = S.PRESETS["default"]
    k = len(default.classes)
    per_class = 1 if quick else 4
    probe = dataclasses.replace(default, name="bench", train_per_class=per_class, val_per_class=0,
                                test_per_class=0)
    out: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="bench_synth_") as tmp:
        root = Path(tmp) / "data"
        c0, w0 = time.process_time(), time.perf_counter()
        S.generate(root, probe, seed=0, workers=1, montage=False, pack=False, progress=False)
        gen_cpu, gen_wall = time.process_time() - c0, time.perf_counter() - w0
        n = per_class * k
        montage_cpu = 1.0  # measured ~0.9 s cpu; rendering it again would double the quick run
        if not quick:
            c0 = time.process_time()
            S.write_montage(Path(tmp) / "montage.png", default, 0)
            montage_cpu = time.process_time() - c0
        gen_rate = n / gen_cpu
        out.append(dict(name="render+encode (1 process, default preset)", value=gen_rate, unit="clips/s (cpu)",
                        notes=f"{n} clips, wall {gen_wall:.1f}s"))
        pack_rate = None
        try:
            from mmlkit.data.flow import extract_dataset
        except ImportError as exc:
            out.append(dict(name="pack (flow+rgb, 1 process)", value=float("nan"), unit="clips/s (cpu)",
                            ok=None, notes=f"mmlkit.data.flow not importable: {exc}"))
        else:
            c0 = time.process_time()
            # the default preset's own pack step: its flow method, bound and pack size
            rep = extract_dataset(root, method=default.flow_method, workers=1, pack_rgb=True, progress=False,
                                  dis_preset=default.flow_dis_preset, bound=default.flow_bound,
                                  pack_size=default.pack_size)
            pack_rate = rep["done"] / (time.process_time() - c0)
            out.append(dict(name="pack (flow+rgb, 1 process)", value=pack_rate, unit="clips/s (cpu)",
                            ok=not rep["failed"],
                            notes=f"{rep['done']} clips, {default.flow_method} at {default.height} px, packed at "
                                  f"{default.pack_size} px"))
    total = len(S._plan(default, 0))
    per_clip = 1 / gen_rate + (1 / pack_rate if pack_rate else 0.0)
    est = total * per_clip / 2 + montage_cpu + 2.0  # 2 workers; + montage, + ~2 s pool start-up
    out.append(dict(name="default preset generation estimate (2 workers)", value=est, unit="s",
                    target="<= 120 s for default", ok=est <= 120.0,
                    notes=f"{total} clips{'' if pack_rate else ', without pack'}; 2 free cores assumed"))
    return out

