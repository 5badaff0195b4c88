"""How far a results store has got: every run's state, read from its folder, for a person in another shell.

``./run_all.sh`` prints a line per finished run; a notebook in JupyterLab prints its own. Either
way the store is the one record of what is done, what is being trained now (and by which process)
and what an interrupted process left half done. :func:`run_status` reads it without touching it:

* ``done``: the run's training finished (``done.json``);
* ``training``: a live process holds the run's lock (:func:`mmlkit.runlock.lock_holder`) and
  training has not finished;
* ``scoring``: a live process holds the lock of a run whose training finished (its final models
  are being scored);
* ``interrupted``: epochs are logged, no process holds the lock and training did not finish; the
  next process that asks for the run resumes it from its last epoch state;
* ``not started``: the folder holds the config only.

The image-pretraining stand-ins (``pretrained/``) are listed too, as ``image stand-in`` rows.
One case reads otherwise than one might guess: a run whose process is still generating the
benchmark (the first run on a fresh machine, minutes) shows as ``training`` at epoch 0. (A
process that only reads a finished, scored run does not take its lock:
:func:`mmlkit.results.store.nothing_to_do`.)

``python -m mmlkit runs`` prints :func:`status_text` (``--all``: every run's row).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from mmlkit.runlock import describe_holder, lock_holder

#: The states, in the order the summary names them.
STATES = ("training", "scoring", "interrupted", "done", "not started")


def _epochs_logged(run_dir: Path) -> tuple[int, float, float | None]:
    """(epochs logged, their seconds, the last validation top-1 of model 0) from ``log_model0_*.csv``."""
    logs = sorted(run_dir.glob("log_model0_*.csv"))
    if not logs:
        return 0, 0.0, None
    try:
        log = pd.read_csv(logs[0])
    except (pd.errors.EmptyDataError, pd.errors.ParserError):  # being written: read it next time
        return 0, 0.0, None
    val = log["val_top1"].dropna() if "val_top1" in log else pd.Series(dtype=float)
    seconds = float(log["seconds"].sum()) if "seconds" in log else 0.0
    return len(log), seconds, (float(val.iloc[-1]) if len(val) else None)


def run_status(results_dir: str | Path) -> pd.DataFrame:
    """One row per run folder of the store ``results_dir``, the runs being trained first.

    Returns:
        Columns ``run``, ``modalities``, ``seed``, ``state`` (one of :data:`STATES`),
        ``epochs`` (logged), ``of`` (the config's), ``minutes`` (the logged epochs' time),
        ``val_top1`` (model 0's last validation top-1, %), ``holder`` (who holds the lock, as a
        waiter's line names it; empty when none). Empty (with those columns) for a store
        without runs.

    Raises:
        FileNotFoundError: ``results_dir`` is not a folder.
    """
    root = Path(results_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no results store there (run ./run_all.sh or a notebook first, "
                                "or name the store with --results_dir)")
    rows: list[dict[str, Any]] = []
    for d in sorted((root / "pretrained").iterdir()) if (root / "pretrained").is_dir() else []:
        holder = lock_holder(d)
        info_path = d / "pretrain.json"
        try:
            info = json.loads(info_path.read_text()) if info_path.exists() else None
        except (OSError, ValueError):  # being written
            info = None
        state = "training" if holder is not None else "done" if info is not None else "interrupted"
        epochs = ((info or {}).get("key") or {}).get("config", {}).get("epochs")
        rows.append({"run": f"pretrained/{d.name}", "modalities": "image stand-in", "seed": None, "state": state,
                     "epochs": epochs if info is not None else 0, "of": epochs,
                     "minutes": float((info or {}).get("seconds") or 0.0) / 60,
                     "val_top1": (info or {}).get("heldout_top1"),
                     "holder": describe_holder(holder) if holder is not None else ""})
    for d in sorted((root / "runs").iterdir()) if (root / "runs").is_dir() else []:
        try:
            cfg = json.loads((d / "config.json").read_text())
        except (OSError, ValueError):  # not a run folder, or its config is being written
            continue
        holder = lock_holder(d)
        done = (d / "done.json").exists()
        epochs, seconds, top1 = _epochs_logged(d)
        if holder is not None:
            state = "scoring" if done else "training"
        else:
            state = "done" if done else "interrupted" if epochs else "not started"
        rows.append({"run": d.name, "modalities": ",".join(cfg.get("modalities", ())), "seed": cfg.get("seed"),
                     "state": state, "epochs": epochs, "of": (cfg.get("optim") or {}).get("epochs"),
                     "minutes": seconds / 60, "val_top1": top1,
                     "holder": describe_holder(holder) if holder is not None else ""})
    df = pd.DataFrame(rows, columns=["run", "modalities", "seed", "state", "epochs", "of", "minutes", "val_top1",
                                     "holder"]).astype({"seed": "Int64", "epochs": "Int64", "of": "Int64"})
    order = {s: i for i, s in enumerate(STATES)}
    return df.sort_values(["state", "run"], key=lambda c: c.map(order) if c.name == "state" else c,
                          kind="stable").reset_index(drop=True)


def _count(df: pd.DataFrame) -> str:
    """``"60 runs and 1 image stand-in"``."""
    stand_ins = int((df["modalities"] == "image stand-in").sum())
    runs = len(df) - stand_ins
    text = f"{runs} run{'s' * (runs != 1)}"
    return text + (f" and {stand_ins} image stand-in{'s' * (stand_ins != 1)}" if stand_ins else "")


def status_text(df: pd.DataFrame, where: str, every_run: bool = False) -> str:
    """What ``python -m mmlkit runs`` prints.

    Args:
        df: :func:`run_status`'s table.
        where: the store's folder, as the first line names it.
        every_run: also print every row of ``df``.

    Returns:
        The summary line (how many runs in each state), a line per run being trained, scored or
        left interrupted, then (``every_run``) the table.
    """
    counts = df["state"].value_counts()
    done = df[df["state"] == "done"]
    lines = [f"{where}: " + ", ".join(f"{int(counts.get(s, 0))} {s}" for s in STATES if counts.get(s, 0))
             + (f" ({_count(df)}; the finished ones logged {done['minutes'].sum():.1f} min of epochs)" if len(df)
                else "no runs yet")]
    for _, r in df[df["state"].isin(("training", "scoring", "interrupted"))].iterrows():
        what = f"epoch {r['epochs']}/{r['of']}, {r['minutes']:.1f} min logged"
        if r["state"] in ("training", "scoring"):
            lines.append(f"  {r['state']:<12} {r['run']} ({r['modalities']}, {what}) by {r['holder']}")
        else:
            lines.append(f"  interrupted  {r['run']} ({r['modalities']}, {what}): resumes when asked for again")
    if every_run and len(df):
        shown = df.drop(columns=["holder"]).assign(minutes=df["minutes"].round(1), val_top1=df["val_top1"].round(1))
        lines += ["", shown.to_string(index=False)]
    return "\n".join(lines)
