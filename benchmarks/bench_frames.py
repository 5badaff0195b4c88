"""Whole packed videos kept in memory (issue 22, item 2: "any work done twice").

Every epoch reads the same training videos again, every validation the same validation views,
and every run a notebook scores reads the same held-out split: 7,366 videos whose ``.npy``
headers were parsed again for each run (a scoring builds its data set anew). Since 2026-12-06
:data:`mmlkit.data.video.FRAMES` keeps each packed video (and every header) once per process, up
to ``MMLKIT_FRAME_CACHE_MB`` (default 2048; 0 turns it off). This times both settings side by
side, each in processes of its own, alternating over ``rounds``:

* a training run of the default profile (RGB, then Flow) for ``epochs`` epochs: seconds per epoch
  (the first left out: it fills the cache) and the loop's own data and validation timers;
* the trained model scored on the held-out split twice in the same process, as a notebook scores
  run after run: the second scoring's seconds.

And whether the two settings train the same weights and give the same scores, the rule for
keeping a faster path. Run it on a quiet host with the dispatch ``./run_all.sh`` uses::

    env $(python -c 'from mmlkit.runtime import PINNED_DISPATCH as P; print(" ".join(f"{k}={v}" for k, v in P.items()))') \\
        python -m benchmarks --only frames
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys

_CHILD = r"""
import hashlib, json, tempfile, time
from pathlib import Path
import numpy as np, pandas as pd, torch
from mmlkit.config import profile as profile_config, with_overrides
from mmlkit.data import build_dataset, make_loader, scoring_split
from mmlkit.data.video import FRAMES
from mmlkit.evaluation import score_model, view_plan
from mmlkit.models import load_checkpoint, weights_digest
from mmlkit.results.experiments import PLANS
from mmlkit.runtime import torch_threads
from mmlkit.training import train
cfg = profile_config("{profile}", modalities=("{modality}",), device="cpu")
cfg = with_overrides(cfg, optim={{"epochs": {epochs}}})
with tempfile.TemporaryDirectory() as tmp:
    train(cfg, Path(tmp), progress=False)
    log = pd.read_csv(Path(tmp) / "log_model0_{modality}.csv").iloc[1:]
    ck = Path(tmp) / "model0_{modality}.pt"
    state = torch.load(ck, map_location="cpu", weights_only=False)
    digest = weights_digest(state.get("state_dict", state))[:16]
    model = load_checkpoint(ck)
    ecfg = PLANS["heldout"]
    seconds, scores = [], []
    for _ in range(2):
        t0 = time.perf_counter()
        with torch_threads(cfg.threads):
            ds = build_dataset(cfg.data, scoring_split(cfg.data, "heldout"), ("{modality}",), train=False,
                               seed=cfg.seed, eval_cfg=ecfg)
            loader = make_loader(ds, batch_size=ecfg.batch_size, shuffle=False, seed=cfg.seed, epoch=0,
                                 workers=0, drop_last=False)
            s = score_model(model, loader, "cpu", False, plan=view_plan(ecfg, cfg.data))
        seconds.append(time.perf_counter() - t0)
        scores.append(s.scores)
val = log["val_s"][log["val_s"] > 0]
print(json.dumps(dict(epoch_s=float(log["seconds"].mean()), data_s=float(log["data_s"].mean()),
                      val_s=float(val.mean()) if len(val) else 0.0, digest=digest, score_s=seconds,
                      scores=hashlib.sha256(scores[1].tobytes()).hexdigest()[:16], scores_agree=bool(np.array_equal(*scores)),
                      cache=FRAMES.info())))
"""


def _child(profile: str, modality: str, epochs: int, cache: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "MMLKIT_FRAME_CACHE_MB"}  # on: the default budget
    if not cache:
        env["MMLKIT_FRAME_CACHE_MB"] = "0"
    code = _CHILD.format(profile=profile, modality=modality, epochs=epochs)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"the {modality} child (frame cache {'on' if cache else 'off'}) failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def modality_rows(profile: str, modality: str, epochs: int, rounds: int) -> list[dict]:
    """Rows for one modality: epoch, data, validation and second-scoring ratios (cache on / off,
    medians over ``rounds`` alternating pairs), and whether weights and scores agree."""
    on, off = [], []
    for r in range(rounds):
        for cache in ((False, True) if r % 2 == 0 else (True, False)):
            (on if cache else off).append(_child(profile, modality, epochs, cache))

    def ratio(key, pick=lambda v: v):
        return statistics.median(pick(a[key]) / pick(b[key]) for a, b in zip(on, off))

    def secs(runs, key, pick=lambda v: v):
        return ", ".join(f"{pick(x[key]):.2f}" for x in runs)

    same_bits = len({x["digest"] for x in on + off}) == 1
    same_scores = len({x["scores"] for x in on + off}) == 1 and all(x["scores_agree"] for x in on + off)
    note = f"{profile} profile, {epochs} epochs, {rounds} alternating rounds; kept: {on[-1]['cache']['bytes'] / 2**20:.0f} MiB"
    second = lambda v: v[1]  # noqa: E731 - the scoring after the first, as a notebook's next run
    return [
        {"name": f"{modality} epoch: frames kept / read from disk", "value": ratio("epoch_s"), "unit": "x time",
         "notes": f"{secs(on, 'epoch_s')} vs {secs(off, 'epoch_s')} s per epoch; {note}"},
        {"name": f"{modality} epoch's data wait: kept / disk", "value": ratio("data_s"), "unit": "x time",
         "notes": f"{secs(on, 'data_s')} vs {secs(off, 'data_s')} s per epoch"},
        {"name": f"{modality} validation: kept / disk", "value": ratio("val_s"), "unit": "x time",
         "notes": f"{secs(on, 'val_s')} vs {secs(off, 'val_s')} s per validation"},
        {"name": f"{modality} held-out scoring, the second in a process: kept / disk",
         "value": ratio("score_s", second), "unit": "x time",
         "notes": f"{secs(on, 'score_s', second)} vs {secs(off, 'score_s', second)} s (7,366 videos at the default)"},
        {"name": f"{modality}: the same weights and scores with and without", "value": float(same_bits and same_scores),
         "unit": "bool", "target": "1 (the same bits)", "ok": same_bits and same_scores,
         "notes": f"weights {'agree' if same_bits else 'DIFFER'} ({', '.join(sorted({x['digest'] for x in on + off}))}); "
                  f"scores {'agree' if same_scores else 'DIFFER'}"},
    ]


def rows(quick: bool) -> list[dict]:
    if quick:
        return modality_rows("smoke", "RGB", 2, 1)
    return modality_rows("default", "RGB", 8, 2) + modality_rows("default", "Flow", 8, 2)
