"""What a from-scratch `./run_all.sh` costs, from the runs it uses and their measured times.

A rerun of `./run_all.sh` reuses every run already in the results store, so its wall time says
little about a fresh machine. This tool replays every notebook's analysis against the store with
training forbidden, collects the runs each one uses (a run is counted once, for the first
notebook in run order that needs it), and sums each run's training time
(`mmlkit.results.store.training_seconds`: a quiet retraining's when `tools/retime.py` recorded
one, else the larger of what `run.json` recorded and the sum of its logged epoch times) and
scoring time, plus the image stand-in's. It writes
`papers_results/compute.{json,md}`; `compute.json` also lists every run each notebook uses, the
plan from which `./run_all.sh` counts the runs still to do (`mmlkit.results.watch`), and beside
each run the one whose model it starts from (``after``: what a scheduler of runs must train
first, `tools/lane_schedule.py`). `papers_results/run_configs.json` holds every run's config
(checkpoint paths from the store on, `RunConfig.portable`) and the view plans it was scored on:
what `./run_all.sh --lanes 2` trains two at a time before the notebooks read the runs
(`mmlkit.results.run_plan`).

    .venv/bin/python tools/run_costs.py [--profile default] [--seeds 0,1,2]

The sum leaves out what is not a run: data generation and flow extraction, kernel start-up,
tables and figures (the wall time of a rerun with every run stored measures those).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

import mmlkit.results.store as store_mod
from mmlkit.results import analyses
from mmlkit.results.experiments import Study
from mmlkit.results.paper_tables import paper_tables
from mmlkit.results.run_plan import starts_from
from mmlkit.results.tables import to_markdown
from mmlkit.results.watch import plan_for_seeds
from mmlkit.results.when_mml_helps import when_mml_helps

OUT = Path(__file__).resolve().parents[1] / "papers_results"


def run_configs(profile: str, study: Study, used: dict[str, str]) -> dict:
    """Every used run's portable config and view plans, by run folder name (``run_plan``'s input)."""
    from mmlkit.config import RunConfig

    runs = {}
    for d in sorted(used, key=lambda d: Path(d).name):
        config = RunConfig.from_dict(json.loads((Path(d) / "config.json").read_text())).portable().to_dict()
        plans = json.loads((Path(d) / "run.json").read_text()).get("plans", {})
        runs[Path(d).name] = {"config": config, "plans": plans}
    return {"profile": profile, "seeds": list(study.seeds), "synth_seed": study.synth_seed, "runs": runs}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="default")
    ap.add_argument("--seeds", default="0,1,2")
    args = ap.parse_args(argv)
    study = Study(profile=args.profile, seeds=args.seeds)  # parses "0,1,2" (experiments.parse_seeds)
    used: dict[str, str] = {}  # run dir -> first notebook that uses it
    by_step: dict[str, set] = {}  # notebook -> every run dir it uses (the recipe alone, from scratch)
    current = {"name": ""}
    real = store_mod.load_or_run

    def record(cfg, st, **kw):
        run = st.get(cfg)
        if not run.done:
            raise SystemExit(f"{run.dir} is not in the store: run ./run_all.sh first (this tool never trains)")
        used.setdefault(str(run.dir), current["name"])
        by_step.setdefault(current["name"], set()).add(str(run.dir))
        return real(cfg, st, **kw)

    store_mod.load_or_run = record

    def recipe(st):
        rgb = [st.run(st.single("RGB", s, init="image")) for s in st.seeds]
        mml = [st.run(st.cohort(("RGB", "Flow"), s, init="rgb")) for s in st.seeds]
        return analyses.recipe(st, rgb, mml)

    steps = [("01_baselines_and_ensembles", lambda: analyses.baselines(study)),
             ("02_initialisation", lambda: analyses.initialisation(study)),
             ("03_ml_vs_mml", lambda: analyses.ml_vs_mml(study)),
             ("04_modality_sets", lambda: analyses.modality_sets(study)),
             ("05_test_sampling", lambda: analyses.test_sampling(study)),
             ("06_when_mml_helps", lambda: when_mml_helps(study)),
             # ./run_all.sh runs the recipe with its seeds: the plan counts them all
             ("mml_rgb_flow", lambda: recipe(study)),
             ("99_paper_tables", lambda: paper_tables(study))]
    for name, fn in steps:
        current["name"] = name
        fn()
    # the recipe alone, as a reader runs it (papermill's default: seed 0): its seed-0 runs, counted
    # above already for the first notebook that uses them
    recipe_alone = plan_for_seeds({"seeds": list(study.seeds), "notebooks": {"mml_rgb_flow": sorted(
        by_step["mml_rgb_flow"])}}, (0,))["notebooks"]["mml_rgb_flow"]
    configs = run_configs(args.profile, study, used)
    rows = []
    for d, name in used.items():
        info = json.loads((Path(d) / "run.json").read_text())
        t = info.get("timings", {})
        recorded = float(t.get("train_s", 0.0))
        rows.append({"notebook": name, "run": Path(d).name, "train_s": store_mod.training_seconds(d),
                     "recorded_train_s": recorded, "retimed": "retimed" in t,
                     "score_s": float(sum((t.get("score_s") or {}).values())), "after": starts_from(configs["runs"][Path(d).name]["config"])})
    runs = pd.DataFrame(rows)
    image = study.pretraining()
    image_s = float(image.get("seconds", image.get("train_s", 0.0)) or 0.0)
    per_nb = runs.groupby("notebook", sort=False).agg(runs=("run", "count"), train_min=("train_s", "sum"),
                                                       score_min=("score_s", "sum")).reset_index()
    per_nb[["train_min", "score_min"]] = (per_nb[["train_min", "score_min"]] / 60).round(1)
    total = (runs["train_s"].sum() + runs["score_s"].sum() + image_s) / 60
    recipe_runs = runs[runs["run"].isin({Path(d).name for d in recipe_alone})]
    recipe_min = (recipe_runs["train_s"].sum() + recipe_runs["score_s"].sum() + image_s) / 60
    n_retimed = int(runs["retimed"].sum())
    retimed_note = (f", or for the {n_retimed} slowed by other work when {'they were' if n_retimed > 1 else 'it was'}, "
                    "as measured when `tools/retime.py` trained "
                    f"{'them' if n_retimed > 1 else 'it'} again to the same bits on a quiet machine") if n_retimed else ""
    OUT.mkdir(exist_ok=True)
    (OUT / "run_configs.json").write_text(json.dumps(configs, indent=1) + "\n")
    (OUT / "compute.json").write_text(json.dumps({"profile": args.profile, "seeds": list(study.seeds), "synth_seed": study.synth_seed,
                                                  "runs": rows, "image_stand_in_s": image_s,
                                                  # every run each notebook uses: ./run_all.sh's progress plan
                                                  "notebooks": {k: sorted(Path(d).name for d in v)
                                                                for k, v in by_step.items()},
                                                  "total_min": round(total, 1),
                                                  "recipe": {"runs": list(recipe_runs["run"]),
                                                             "min": round(recipe_min, 1)}}, indent=2))
    text = (to_markdown(per_nb) + f"\n\nImage stand-in: {image_s / 60:.1f} min. Training and scoring of the "
            f"{len(runs)} runs the notebooks use, from scratch: **{total:.1f} min** (each run's time as "
            f"measured when it was trained{retimed_note}). The minimal recipe alone (`mml_rgb_flow`, seed 0: "
            f"{', '.join(recipe_runs['run'])}) needs **{recipe_min:.1f} min** of that, plus generating the "
            "benchmark.\n")
    (OUT / "compute.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
