"""Does a stage-2 peer become competent in fewer epochs than the full schedule?

Stage 2 trains for the full schedule (the paper's; 80 epochs in the default profile when Flow is a
member) unless a shorter one is measured to suffice for the peer to become competent. This trains
(or reads from the store) MML RGB,<peer> started from the trained RGB model, for the stage-2
length asked, and prints the **peer's** fit: top-1 on the centre view of every training
video (the competence criterion: >= 90%) and on the validation videos. Nothing here reads a claim:
the RGB model alone, which MML's RGB model is compared with, is not trained.

    .venv/bin/python tools/stage2_fit.py Flow --epochs 60 --seeds 0,1,2 [--results-dir DIR]

Writes papers_results/stage2_fit.{json,md} (``--out`` to write elsewhere).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd

from mmlkit.config import scale_schedule, with_overrides
from mmlkit.results.analysis import top1
from mmlkit.results.experiments import Study
from mmlkit.results.tables import to_markdown
from mmlkit.results.validity import FIT_TOP1

FIT = FIT_TOP1  # the competence criterion every model must meet (train top-1, centre view)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("peer", choices=("Flow", "RGBDiff", "RGB"))
    ap.add_argument("--epochs", type=int, required=True, help="stage-2 epochs (the steps scale with them)")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--profile", default="default")
    ap.add_argument("--results-dir", default=None)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "papers_results"))
    args = ap.parse_args(argv)
    seeds = tuple(int(s) for s in args.seeds.split(","))
    study = Study(profile=args.profile, seeds=seeds, results_dir=args.results_dir)
    rows = []
    for s in seeds:
        t0 = time.time()
        cfg = study.cohort(("RGB", args.peer), s, init="rgb")
        cfg = with_overrides(cfg, optim=scale_schedule(cfg.optim, args.epochs))
        run = study.run(cfg, ("centre", "train"))
        rows.append({"peer": args.peer, "seed": s, "epochs": args.epochs, "lr steps": str(tuple(cfg.optim.lr_steps)),
                     "peer train top-1": round(top1(run.scores("train")[1]), 1),
                     "peer val top-1": round(top1(run.scores("centre")[1]), 1),
                     f"fits (>= {FIT:.0f})": "yes" if top1(run.scores("train")[1]) >= FIT else "NO",
                     "run": run.dir.name})
        print(json.dumps(rows[-1]), f"({time.time() - t0:.0f} s)", flush=True)
    table = pd.DataFrame(rows)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = out / "stage2_fit"
    stem.with_suffix(".json").write_text(json.dumps(rows, indent=1))
    stem.with_suffix(".md").write_text(
        f"Stage-2 peer fit of MML RGB,{args.peer} at {args.epochs} epochs ({args.profile} profile; "
        f"`tools/stage2_fit.py`; only the peer's fit is read):\n\n{to_markdown(table)}\n")
    print(to_markdown(table))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
