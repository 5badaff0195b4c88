"""A stored stage-1 run's validation curve at a finer step, by replaying its training.

Training is a pure function of the run's config (seed and thread count included), and validation
never touches the training state, so retraining a stored run with another ``eval_freq`` gives
the same weights bit for bit and validates at more epochs. This shows where in the last quarter
a stored model moved (the default profile validates every 4 epochs, so its plateau window starts
at epoch 28, before the last learning-rate step at 29, not at 30).

    .venv/bin/python tools/replay_validation.py RGB 1 --eval-freq 2

Prints the validation curve of the last half, the plateau change from the first validation at
or after 0.75 E (`validity.plateau_change` reads "at or before"), and whether the replayed final
weights equal the stored ones.
"""

from __future__ import annotations

import argparse
import math
import tempfile
from pathlib import Path

import torch

from mmlkit.config import with_overrides
from mmlkit.models.safe_load import safe_load
from mmlkit.results.experiments import Study
from mmlkit.training import train


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("modality")
    ap.add_argument("seed", type=int)
    ap.add_argument("--eval-freq", type=int, default=2)
    ap.add_argument("--profile", default="default")
    args = ap.parse_args(argv)
    study = Study(profile=args.profile, seeds=(args.seed,))
    cfg = study.single(args.modality, args.seed, init="image")
    stored = study.store.get(cfg)
    if not stored.done:
        raise SystemExit(f"{stored.dir} is not in the store: run ./run_all.sh first")
    replay = with_overrides(cfg, eval_freq=args.eval_freq)
    with tempfile.TemporaryDirectory() as tmp:
        res = train(replay, Path(tmp) / "replay", progress=False)
        a = safe_load(res.checkpoints[0])["state_dict"]
        b = safe_load(stored.checkpoints[0])["state_dict"]
        same = a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
        log = {int(r["epoch"]): r["val_top1"] for r in (row for row in _rows(Path(tmp) / "replay")) if r["val_top1"]}
    epochs = cfg.optim.epochs
    start = min(e for e in log if e >= math.ceil(0.75 * epochs))
    print(f"{args.modality} seed {args.seed}: {epochs} epochs, lr steps {cfg.optim.lr_steps}, validated every "
          f"{args.eval_freq}")
    print("epoch  val top-1")
    for e in sorted(log):
        if e >= epochs // 2:
            print(f"{e:5d}  {float(log[e]):.1f}")
    print(f"last quarter from epoch {start}: {float(log[epochs]) - float(log[start]):+.1f} points "
          f"({float(log[start]):.1f} -> {float(log[epochs]):.1f})")
    print(f"replayed final weights equal the stored ones: {same}")
    return 0 if same else 1


def _rows(out_dir: Path):
    import csv

    path = next(out_dir.glob("log_model0_*.csv"))
    with open(path) as f:
        yield from csv.DictReader(f)


if __name__ == "__main__":
    raise SystemExit(main())
