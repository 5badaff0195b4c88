"""Where a full run's time goes, from its runs' own records: every epoch of every run, not a benchmark's few.

Each run's epoch log times its phases (``data_s``, ``forward_s``, ``backward_s``, ``optimizer_s``,
``val_s`` beside ``seconds``; a cohort's log rows hold the cohort's phases, so one member's log
is read). Summed over a run's epochs, with what lies outside them, a run's time is:

- data, forward, backward, optimizer, validation: the epochs' phases;
- epoch rest: an epoch's ``seconds`` less its phases (the loader's set-up, the metrics);
- run set-up: the run's training time (:func:`mmlkit.results.store.training_seconds`) less its
  epochs' ``seconds`` (building the data sets and models, writing checkpoints and logs);
- scoring: ``run.json``'s ``score_s``, every stored scoring of the run's final models.

A run that other work slowed and ``tools/retime.py`` trained again to the same bits is read from
its quiet retraining: the epoch logs it kept in the run's ``retimed/`` folder and its retimed
training time, so the parts sum to what ``tools/run_costs.py`` counts. A run retimed before the
logs were kept is read from its first logs and the time recorded with them.

The runs are those of ``papers_results/compute.json`` (the last full run's, ``tools/run_costs.py``)
when the store holds them all, else every finished run in the store, and rows group them by
what trains (one model of a modality, or a cohort of two or three). What this leaves out, the
work that is not a run (the benchmark, its flow, the image stand-in, notebooks' tables and
figures), is in ``timings.json``'s notebook times.

    .venv/bin/python tools/run_phases.py [--store results/default-pinned] [--write] [--out DIR]

``--write`` writes ``phases.{json,md}`` into ``--out`` (default ``papers_results/``); the JSON
keeps every run's row, with its median epoch and forward seconds and its first and later
validations' seconds, so that a figure quoted from it can be recomputed.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from mmlkit.results.store import RETIMED_LOGS, training_seconds
from mmlkit.results.tables import to_markdown

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "papers_results"
PHASES = ("data", "forward", "backward", "optimizer", "val")
#: the columns of a run's row, in the order the table shows them (seconds)
PARTS = (*PHASES, "epoch_rest", "setup", "scoring")


def run_parts(run_dir: Path) -> dict:
    """One run's seconds by part, from its folder.

    Args:
        run_dir: a finished run's folder (``config.json``, ``run.json``, ``log_model0_*.csv``).

    Returns:
        ``run``, ``kind`` (the modality, or ``cohort of N``), ``epochs``, ``model_epochs``,
        ``retimed`` (read from a quiet retraining's logs), the seconds of every part of
        :data:`PARTS`, and ``epoch_median_s``, ``forward_median_s``,
        ``val_first_s``, ``val_later_median_s`` (None without a later validation) and ``cpu``.

    Raises:
        SystemExit: no epoch log, or one logged before the phase timers (names the file).
    """
    config = json.loads((run_dir / "config.json").read_text())
    info = json.loads((run_dir / "run.json").read_text())
    quiet = sorted((run_dir / RETIMED_LOGS).glob("log_model0_*.csv"))
    retiming = (info.get("timings") or {}).get("retimed") or {}
    retimed = bool(quiet) and bool(retiming.get("train_s"))
    logs = quiet if retimed else sorted(run_dir.glob("log_model0_*.csv"))
    if not logs:
        raise SystemExit(f"{run_dir}: no epoch log (log_model0_*.csv); is the run finished?")
    log = pd.read_csv(logs[0])
    missing = [f"{p}_s" for p in PHASES if f"{p}_s" not in log.columns]
    if missing:
        raise SystemExit(f"{logs[0]}: no {', '.join(missing)} columns (a run logged before 2026-12-05 "
                         "has no phase timers)")
    mods = list(config["modalities"])
    row = {"run": run_dir.name, "kind": mods[0] if len(mods) == 1 else f"cohort of {len(mods)}",
           "epochs": len(log), "model_epochs": len(log) * len(mods), "retimed": retimed}
    for p in PHASES:
        row[p] = float(log[f"{p}_s"].sum())
    epochs_s = float(log["seconds"].sum())
    row["epoch_rest"] = max(0.0, epochs_s - sum(row[p] for p in PHASES))
    row["setup"] = max(0.0, training_seconds(run_dir, retimed=retimed) - epochs_s)
    row["scoring"] = float(sum(((info.get("timings") or {}).get("score_s") or {}).values()))
    vals = log.loc[log["val_s"] > 0, "val_s"]
    row.update(epoch_median_s=float(log["seconds"].median()), forward_median_s=float(log["forward_s"].median()),
               val_first_s=float(vals.iloc[0]) if len(vals) else None,
               val_later_median_s=float(vals.iloc[1:].median()) if len(vals) > 1 else None,
               cpu=(retiming if retimed else info.get("env") or {}).get("cpu"))
    return row


def chosen_runs(store: Path, compute: Path) -> tuple[list[Path], str]:
    """The runs to read and where the list came from.

    Args:
        store: the results store.
        compute: a ``compute.json`` (``tools/run_costs.py``) whose runs to read when the store
            holds every one of them, finished.

    Returns:
        (run folders, a phrase naming them for the table's note).
    """
    finished = sorted(p.parent for p in (store / "runs").glob("*/done.json"))
    if compute.exists():
        planned = [store / "runs" / r["run"] for r in json.loads(compute.read_text())["runs"]]
        if planned and all((d / "done.json").exists() for d in planned):
            return planned, f"the {len(planned)} runs of {compute.relative_to(ROOT) if compute.is_relative_to(ROOT) else compute}"
    return finished, f"every finished run in {store} ({len(finished)})"


def phase_table(rows: list[dict]) -> pd.DataFrame:
    """Per kind of run and in total (``all``): runs, model-epochs, minutes, seconds per
    model-epoch and each part's share of the minutes (%), from :func:`run_parts`' rows."""
    df = pd.DataFrame(rows)
    order = ["RGB", "Flow", "RGBDiff", "cohort of 2", "cohort of 3"]
    kinds = [k for k in order if k in set(df["kind"])] + sorted(set(df["kind"]) - set(order))
    out = []
    for kind, part in [(k, df[df["kind"] == k]) for k in kinds] + [("all", df)]:
        total = float(part[list(PARTS)].to_numpy().sum())
        r = {"runs": kind, "n": len(part), "model-epochs": int(part["model_epochs"].sum()),
             "minutes": total / 60,
             "s per model-epoch": float(part[list(PARTS)].to_numpy().sum() / max(1, part["model_epochs"].sum()))}
        r.update({f"{p} %": 100.0 * float(part[p].sum()) / total if total else 0.0 for p in PARTS})
        out.append(r)
    return pd.DataFrame(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", type=Path, default=ROOT / "results" / "default-pinned",
                    help="the results store (default: results/default-pinned, ./run_all.sh's)")
    ap.add_argument("--compute", type=Path, default=OUT / "compute.json",
                    help="the run list (default: papers_results/compute.json)")
    ap.add_argument("--write", action="store_true", help="write phases.{json,md} into --out")
    ap.add_argument("--out", type=Path, default=OUT, help="where --write writes (default: papers_results/)")
    args = ap.parse_args(argv)
    if not (args.store / "runs").is_dir():
        raise SystemExit(f"{args.store}: not a results store (no runs/ folder)")
    runs, source = chosen_runs(args.store, args.compute)
    if not runs:
        raise SystemExit(f"{args.store}: no finished run")
    rows = [run_parts(d) for d in runs]
    table = phase_table(rows)
    cpus = pd.Series([r["cpu"] or "an unrecorded CPU" for r in rows]).value_counts()
    host = "; ".join(f"{cpu}: {n} runs" for cpu, n in cpus.items())
    text = (to_markdown(table, formats={"n": "d", "model-epochs": "d", "s per model-epoch": ".2f"})
            + f"\n\nFrom {source}, each as its own records timed it ({host}"
            + (f"; {n} of them as `tools/retime.py` timed {'them' if n > 1 else 'it'} again on a quiet machine"
               if (n := sum(r["retimed"] for r in rows)) else "") + "). "
            "Shares are of each row's minutes: the epochs' phases (data ... val), the rest of the "
            "epochs, the runs' set-up and their scorings (`tools/run_phases.py`).\n")
    print(text)
    if args.write:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "phases.json").write_text(json.dumps({"source": source, "host": host, "runs": rows}, indent=2))
        (args.out / "phases.md").write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
