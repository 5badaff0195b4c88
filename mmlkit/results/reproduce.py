"""Rebuild papers_results/: run every notebook with papermill and write the summary README.

``./run_all.sh`` calls ``python -m mmlkit.results.reproduce``; it can also be run directly::

    python -m mmlkit.results.reproduce --profile default --seeds 0,1,2
    python -m mmlkit.results.reproduce --only 03_ml_vs_mml

The notebooks share one results store (``--results-dir``, default ``results/<profile>-pinned``
in a process with the pinned CPU dispatch, as ``./run_all.sh`` starts it, ``results/<profile>``
without; :func:`mmlkit.results.store.default_results_dir`), and run on the Jupyter kernel with
this process's dispatch (:func:`mmlkit.runtime.notebook_kernel`). Runs are content-addressed,
so a rerun only trains what is missing and an interrupted reproduction resumes where it stopped.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import json
import os
import platform
import re
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable, Iterator, Sequence

from mmlkit.config import ConfigError
from mmlkit.results.experiments import shown_path
from mmlkit.results.store import REPO, default_results_dir
from mmlkit.results.watch import (Expectation, StoreWatcher, compute_plan, finished_runs, plan_for_seeds,
                                  plan_names_these_runs)
from mmlkit.runtime import KERNEL, dispatch_pinned, notebook_kernel

NOTEBOOKS = REPO / "notebooks"

#: Run order: the data tour first, the tables last (they read what the others stored).
ORDER = (
    "00_data_tour",
    "01_baselines_and_ensembles",
    "02_initialisation",
    "03_ml_vs_mml",
    "04_modality_sets",
    "05_test_sampling",
    "06_when_mml_helps",
    "mml_rgb_flow",
    "99_paper_tables",
)


#: Notebooks that run alone in ``--lanes`` mode: the data tour makes the benchmark and its flow,
#: which every other notebook reads; the tables read every other notebook's runs.
ALONE_FIRST, ALONE_LAST = ("00_data_tour",), ("99_paper_tables",)
#: The notebook a second lane starts beside first: it trains the stage-1 models (RGB, Flow, RGBDiff
#: from the image stand-in) that every later notebook starts from.
LEAD = "01_baselines_and_ensembles"
#: In ``--lanes`` mode a notebook starts only after these (where they run too): 02's second rounds
#: start from every stage-1 model of 01, Flow and RGBDiff included (beside 01 it waited for them,
#: a lane standing idle); the minimal recipe reads 03's runs. The others need only the stage-1 RGB
#: models, which 01 trains first, or nothing of another notebook.
NEEDS: dict[str, tuple[str, ...]] = {"02_initialisation": (LEAD,), "mml_rgb_flow": ("03_ml_vs_mml",)}


def notebook_names() -> list[str]:
    """Every notebook in notebooks/, in run order (unknown ones after the known ones, sorted)."""
    present = sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb"))
    return [n for n in ORDER if n in present] + [n for n in present if n not in ORDER]


def machine_summary() -> str:
    """One line: CPU model (with family, model and torch's vector instruction set, which decide the
    bits of every trained model, or the pinned code paths where this process runs on them), cores,
    memory, Python and torch versions."""
    from mmlkit.results.store import environment

    env = environment()
    cpu = env.get("cpu") or platform.processor() or platform.machine()
    if dispatch_pinned():
        cpu = f"{cpu}, pinned to the {env.get('cpu_capability') or 'AVX2'} code paths (mmlkit.runtime.PINNED_DISPATCH)"
    elif env.get("cpu_capability"):
        cpu = f"{cpu}, {env['cpu_capability']}"
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 2**20:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    import torch

    return (f"{cpu}, {os.cpu_count()} cores{mem}, Python {platform.python_version()}, "
            f"torch {torch.__version__} ({'CUDA' if torch.cuda.is_available() else 'CPU only'})")


def peak_rss_gib() -> float:
    """Peak resident memory of this process and its finished children (GiB), from getrusage."""
    import resource

    kb = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    return kb / 2**20


def lane_groups(names: Sequence[str], lanes: int, minutes: dict[str, float] | None = None) -> list[list[str]]:
    """The notebooks of ``names`` as groups run one after the other; a group's notebooks share
    ``lanes`` lanes, each taking the next of its group when it frees.

    One lane: every notebook in its own group, in run order. More: :data:`ALONE_FIRST` and
    :data:`ALONE_LAST` in groups of their own; the others in one group, :data:`LEAD` first (the
    models it trains are where the others start), then by ``minutes`` (the last full run's
    minutes of training and scoring per notebook, ``compute.json``) longest first, so that the
    lanes end together; notebooks without a figure last, in run order. A free lane takes the
    first of them whose :data:`NEEDS` are done (:func:`run_lanes`).
    """
    if lanes <= 1:
        return [[n] for n in names]
    minutes = minutes or {}
    middle = [n for n in names if n not in ALONE_FIRST + ALONE_LAST]
    middle.sort(key=lambda n: (n != LEAD, -minutes.get(n, -1.0)))  # sort is stable: run order among equals
    groups = [[n] for n in names if n in ALONE_FIRST] + [middle] + [[n] for n in names if n in ALONE_LAST]
    return [g for g in groups if g]


def plan_minutes(compute: dict | None) -> dict[str, float]:
    """Each notebook's minutes of training and scoring in ``compute.json`` (its runs, each counted
    in the first notebook that used it)."""
    if not compute:
        return {}
    seconds = {r["run"]: float(r.get("train_s", 0)) + float(r.get("score_s", 0)) for r in compute.get("runs") or ()}
    return {n: sum(seconds.get(r, 0.0) for r in runs) / 60 for n, runs in (compute.get("notebooks") or {}).items()}


def run_lanes(groups: Sequence[Sequence[str]], lanes: int, run_one: Callable[[str], float],
              watcher: "StoreWatcher | None" = None,
              needs: dict[str, tuple[str, ...]] | None = None) -> dict[str, float]:
    """Run every group's notebooks with ``run_one(name) -> seconds``, group after group.

    One lane: one notebook at a time, in this thread. More: ``lanes`` at a time, from threads of
    this process (``run_one`` should then run each notebook in a child process,
    :func:`run_notebook_in_child`, which an interrupt reaches: Ctrl-C stops every lane's kernel).
    A free lane takes the first notebook of its group whose ``needs`` (default :data:`NEEDS`)
    have finished, or that this group does not hold. A notebook that fails stops the run: the
    others running finish (their runs are stored), none starts after it, and its error is raised.

    Returns:
        name -> seconds, in the order the notebooks finished.
    """
    needs = NEEDS if needs is None else needs
    timings: dict[str, float] = {}
    failed: list[BaseException] = []

    def one(name: str) -> None:
        if watcher is not None:
            watcher.start(name)
        print(f"[reproduce] {name} ...", flush=True)
        try:
            timings[name] = run_one(name)
        except BaseException:
            busy = ", ".join(n for n in (watcher.running if watcher else ()) if n != name)
            print(f"[reproduce] {name} failed" + (f"; waiting for {busy}, which is running, then stopping"
                                                  if busy else ""), flush=True)
            raise
        finally:
            if watcher is not None:
                watcher.finish(name)
        print(f"[reproduce] {name} done in {timings[name] / 60:.1f} min", flush=True)

    for group in groups:
        if lanes <= 1 or len(group) == 1:
            for name in group:
                one(name)
            continue
        pending, done, cond = list(group), set(), threading.Condition()

        def lane() -> None:
            while True:
                with cond:
                    while True:
                        if failed or not pending:
                            return
                        ready = [n for n in pending if all(d in done or d not in group for d in needs.get(n, ()))]
                        if ready:
                            name = ready[0]
                            pending.remove(name)
                            break
                        cond.wait()
                try:
                    one(name)
                except BaseException as exc:
                    with cond:
                        failed.append(exc)
                        cond.notify_all()
                    return
                with cond:
                    done.add(name)
                    cond.notify_all()

        threads = [threading.Thread(target=lane, name=f"lane-{k}", daemon=True) for k in range(min(lanes, len(group)))]
        try:
            for t in threads:
                t.start()
            while alive := [t for t in threads if t.is_alive()]:
                alive[0].join(0.2)  # timed: this thread handles a signal (kill -INT) within 0.2 s
        except KeyboardInterrupt:  # interrupted here only (kill -INT): pass it on to the lanes' notebooks
            with cond:
                failed.append(KeyboardInterrupt())
                cond.notify_all()
            _interrupt_children()
            for t in threads:
                if t.is_alive():
                    t.join()
            raise
        if failed:
            raise failed[0]
    return timings


_CHILDREN: set = set()  # the notebooks' child processes that run now (run_notebook_in_child)
_CHILDREN_LOCK = threading.Lock()


def _interrupt_children() -> None:
    with _CHILDREN_LOCK:
        for proc in _CHILDREN:
            proc.send_signal(signal.SIGINT)  # papermill then shuts its kernel down and exits


def run_notebook_in_child(name: str, out_dir: Path, parameters: dict, kernel: str = KERNEL) -> float:
    """:func:`run_notebook` in a child process of its own (a lane); returns seconds.

    Raises:
        RuntimeError: the notebook failed (the child's exit code; papermill has printed the
            failing cell, and the executed notebook up to it is in ``out_dir/notebooks``).
    """
    import subprocess

    code = ("import json, sys; from pathlib import Path; from mmlkit.results.reproduce import run_notebook; "
            "run_notebook(sys.argv[1], Path(sys.argv[2]), json.loads(sys.argv[3]), sys.argv[4])")
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, name, str(out_dir), json.dumps(parameters), kernel])
    with _CHILDREN_LOCK:
        _CHILDREN.add(proc)
    try:
        rc = proc.wait()
    finally:
        with _CHILDREN_LOCK:
            _CHILDREN.discard(proc)
    if rc != 0:
        raise RuntimeError(f"notebook {name} failed (exit code {rc}); its executed copy up to the failing cell: "
                           f"{out_dir / 'notebooks' / (name + '.ipynb')}")
    return time.perf_counter() - t0


def prepare_data(params: dict) -> Path:
    """The data root the notebooks of ``params`` read, made here when missing (the embedded
    benchmark and its flow: minutes, once per machine), before notebooks run side by side."""
    from mmlkit.data import resolve_root
    from mmlkit.results.experiments import Study

    study = Study(**{k: params[k] for k in ("profile", "seeds", "dataset", "data_root", "device", "workers",
                                            "results_dir", "synth_seed")})
    root = resolve_root(study.base().data)
    print(f"[reproduce] data: {shown_path(root)}", flush=True)
    return root


@contextlib.contextmanager
def kernel_transport() -> Iterator["traitlets.config.Config"]:
    """The kernel manager's settings for papermill's kernels, for the ``with`` block.

    On POSIX: Unix sockets (``transport="ipc"``) in a private temporary folder, removed after the
    block, instead of TCP on localhost: only this user can reach them, and ipykernel does not
    warn "Kernel is running over TCP without encryption" on every start. The folder is made short
    (a socket's path must fit in 107 bytes; Jupyter's runtime folder, the default place, may not
    leave room under a long home path); where even it is too long, and elsewhere (Windows),
    TCP as before.
    """
    from traitlets.config import Config

    if os.name != "posix":
        yield Config()
        return
    with tempfile.TemporaryDirectory(prefix="mmlkit-kernel-") as folder:
        base = os.path.join(folder, "k")  # the sockets are <base>-<n>
        yield (Config({"KernelManager": {"transport": "ipc", "ip": base}}) if len(base.encode()) <= 90
               else Config())


def run_notebook(name: str, out_dir: Path, parameters: dict, kernel: str = KERNEL) -> float:
    """Execute one notebook with papermill into ``out_dir/notebooks`` on the Jupyter kernel
    ``kernel`` (:func:`mmlkit.runtime.notebook_kernel`); returns seconds."""
    import papermill as pm

    out = out_dir / "notebooks" / f"{name}.ipynb"
    out.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with kernel_transport() as config:
        pm.execute_notebook(str(NOTEBOOKS / f"{name}.ipynb"), str(out), parameters=parameters,
                            kernel_name=kernel, progress_bar=False, cwd=str(NOTEBOOKS), config=config)
    seconds = time.perf_counter() - t0
    portable_record(out)
    return seconds


def portable_record(path: Path) -> None:
    """Papermill's record in an executed notebook (``metadata.papermill``: ``input_path``,
    ``output_path``) with paths relative to the repository root where they are inside it, so the
    notebook names no machine's folders; nothing else changes."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    pm = nb.metadata.get("papermill") or {}
    changed = False
    for key in ("input_path", "output_path"):
        if isinstance(pm.get(key), str) and shown_path(pm[key]) != pm[key]:
            pm[key], changed = shown_path(pm[key]), True
    if changed:
        nbformat.write(nb, path)


def notebook_parameters(args: argparse.Namespace, seeds: list[int], results_dir: Path, out_dir: Path) -> dict:
    """What papermill injects into every notebook (and the run's record keeps): the paths as a
    page may show them. ``results_dir`` is ``None`` where it is the profile's default store (the
    notebooks' own default), and a path inside the repository is relative to its root, which is
    where the notebooks read it from (:func:`mmlkit.results.experiments.repo_path`); a path
    outside stays absolute. ``threads`` is there only with ``--lanes`` (:func:`lane_threads`).

    Args:
        results_dir, out_dir: absolute paths of the runs store and of the output folder.
    """
    same = Path(results_dir).resolve() == default_results_dir(args.profile).resolve()
    params = {"profile": args.profile, "seeds": seeds, "dataset": args.dataset, "data_root": args.data_root,
              "device": args.device, "workers": args.workers,
              "results_dir": None if same else shown_path(results_dir),
              "output_dir": shown_path(out_dir), "synth_seed": args.synth_seed}
    lanes = getattr(args, "lanes", 1)
    if lanes > 1:
        params["threads"] = lane_threads(lanes)
    return params


def lanes_plan(profile: str, params: dict, names: Sequence[str], results_dir: Path, compute: dict | None,
               run_configs: dict | None = None) -> tuple[list | None, str]:
    """The runs the last full run planned for ``names``, renamed for ``params``' threads in the
    store at ``results_dir`` (:func:`mmlkit.results.run_plan.planned_runs`), and ``""``; or
    ``None`` and why not: no plan, or one made for another profile, seeds, draw or data set."""
    from mmlkit.results import run_plan as rp
    from mmlkit.results.store import RunStore

    configs = rp.load_run_configs() if run_configs is None else run_configs
    if (configs is None or compute is None or configs.get("profile") != profile
            or not plan_names_these_runs(compute, params["seeds"], params["synth_seed"], params["dataset"])):
        return None, "no planned runs for these parameters (papers_results/run_configs.json, compute.json)"
    try:
        return rp.planned_runs(configs, compute, RunStore(results_dir), params.get("threads"), names), ""
    except ValueError as exc:  # run_configs.json and compute.json from different full runs
        return None, f"the plan cannot be used ({exc})"


def train_planned_runs(profile: str, params: dict, plan: tuple[list | None, str], results_dir: Path,
                       lanes: int) -> dict[str, str] | None:
    """``--lanes``: before the notebooks, train the runs the last full run planned for them
    (``plan``) ``lanes`` at a time (:mod:`mmlkit.results.run_plan`), so that no lane idles while a notebook
    waits; the notebooks then read them, and share the lanes for what the plan did not hold.

    Only where the plan holds this invocation's runs: the same profile, seeds, draw and data set,
    and the image stand-in this code makes (its hash is in every planned config).

    Args:
        plan: :func:`lanes_plan`'s answer for these notebooks (the planned runs, or ``None`` and
            why not), which the progress lines count by as well.

    Returns:
        :func:`~mmlkit.results.run_plan.run_plan`'s statuses, or ``None`` (no plan used; the line
        printed says why).
    """
    from mmlkit.config import pretrain_profile
    from mmlkit.results import run_plan as rp
    from mmlkit.results.store import RunStore, load_or_pretrain

    planned, why = plan
    if planned is None:
        print(f"[reproduce] {why}: the notebooks share the lanes", flush=True)
        return None
    store = RunStore(results_dir)
    stand_in = load_or_pretrain(pretrain_profile(profile), store)["path"]
    others = {p.config.model.pretrained for p in planned} - {None, stand_in}
    if others:
        print(f"[reproduce] the planned runs start from another image stand-in ({sorted(others)[0]}) than this "
              f"code makes ({stand_in}): the notebooks share the lanes", flush=True)
        return None
    todo = sum(1 for p in planned if not (store.root / "runs" / p.name / "done.json").exists())
    print(f"[reproduce] scheduler of runs: {todo} of the {len(planned)} runs these notebooks used last time "
          f"to train, {lanes} at a time with {params.get('threads')} thread(s) each; then the notebooks",
          flush=True)
    return rp.run_plan(planned, store, lanes)


def lane_threads(lanes: int, cores: int | None = None) -> int:
    """Torch threads per run when ``lanes`` notebooks run at once on ``cores`` (default: this
    machine's): the cores shared out, at least one each."""
    return max(1, (cores or os.cpu_count() or 1) // max(1, lanes))


def _host_speed(profile: str) -> float | None:
    """This host's training throughput for ``profile`` (clips/s), printed; ``None`` for ``paper``."""
    from mmlkit.results.host_speed import train_clips_per_s

    if profile == "paper":  # ResNet-50 at 224 px: minutes per step on a CPU, and not what is trained
        return None
    v = train_clips_per_s(profile)
    print(f"[reproduce] this host trains the {profile} model at {v:.0f} clips/s", flush=True)
    return v


def host_speed_text(full: dict) -> str:
    """One sentence on the host's speed during a run (empty for records that predate the probe)."""
    speed = [v for v in full.get("host_train_clips_per_s") or [] if v]
    if not speed:
        return ""
    return (f" The host trained the profile's RGB model at {' and '.join(f'{v:.0f}' for v in speed)} clips/s "
            "before and after the notebooks (`mmlkit.results.host_speed`). The wall time scales with that "
            "speed, which differs between hosts of the same machine type (top-level README, \"Measured\").")


#: papers_results/ subfolder where a full run keeps the claims it replaces (``claims.csv``).
PREVIOUS = "previous"


def compare_verdicts(before: "pd.DataFrame", after: "pd.DataFrame") -> "pd.DataFrame":
    """Two claim tables (``tables/claims.csv`` of two runs) side by side, one row per comparison.

    Rows are matched on (claim, comparison); a comparison only one run made shows ``-`` for the
    other. ``changed`` is ``yes`` where the verdicts differ.

    Returns:
        Columns claim, comparison, ``A - B`` and verdict of each run (suffixes ``before`` and
        ``after``), changed; in ``after``'s order, comparisons only ``before`` made last.
    """
    import pandas as pd

    keys = ["claim", "comparison"]
    cols = keys + ["A - B", "verdict"]
    for name, df in (("before", before), ("after", after)):
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise ValueError(f"claims table {name!r} lacks column(s) {missing}; has {list(df.columns)}")
    merged = after[cols].merge(before[cols], on=keys, how="left", suffixes=(" (after)", " (before)"))
    gone = before[cols].merge(after[keys], on=keys, how="left", indicator=True)
    gone = gone[gone["_merge"] == "left_only"].drop(columns="_merge")
    gone = gone.rename(columns={"A - B": "A - B (before)", "verdict": "verdict (before)"})
    merged = pd.concat([merged, gone], ignore_index=True).fillna("-")
    merged["changed"] = ["yes" if a != b else "" for a, b in zip(merged["verdict (after)"], merged["verdict (before)"])]
    return merged[keys + ["A - B (before)", "verdict (before)", "A - B (after)", "verdict (after)", "changed"]]


def _previous(out_dir: Path) -> dict | None:
    """The previous run's verdicts against this run's, when ``PREVIOUS/claims.csv`` is there."""
    import pandas as pd

    from mmlkit.results.tables import to_markdown

    old, new = out_dir / PREVIOUS / "claims.csv", out_dir / "tables" / "claims.csv"
    if not (old.exists() and new.exists()):
        return None
    table = compare_verdicts(pd.read_csv(old), pd.read_csv(new))
    table = table.rename(columns=lambda c: c.replace("(before)", "(previous run)").replace("(after)", "(this run)"))
    return {"changed": int((table["changed"] == "yes").sum()), "total": len(table), "table": to_markdown(table)}


def _reused_text(full: dict) -> str:
    """One sentence: whether the wall time is the from-scratch cost (runs trained vs reused)."""
    if "runs_trained" not in full:
        return (" Runs already in the results store are never retrained, so a rerun's wall time is not a fresh "
                "machine's.")
    if full.get("runs_reused"):
        return (f" This invocation trained {full['runs_trained']} runs; the results store already held "
                f"{full['runs_reused']} (a stored run is never retrained, so a rerun's wall time is not a "
                "fresh machine's).")
    return (f" It started from an empty results store and trained all {full['runs_trained']} runs, so this "
            "is the from-scratch cost of the notebooks on this host (creating `.venv` not included).")


def add_run(record: dict, this: dict) -> dict:
    """``record`` (timings.json) with the invocation ``this`` added.

    An invocation that ran every notebook of the recorded full run (or more) is the folder's new
    full run: its tables all come from it (another draw's folder holds only ``--only`` notebooks).
    One that re-rendered some of them is a rerun: the full run's timings stay what they were and
    the rerun is recorded beside them.
    """
    full = record.get("full_run")
    if full and not set(full.get("notebooks", {})) <= set(this["notebooks"]):
        return {**record, "reruns": [*record.get("reruns", []), this]}
    return {"full_run": this, "reruns": []}


def readme_context(out_dir: Path, record: dict) -> dict:
    """What ``templates/papers_results.md.j2`` is filled with: the run's record (timings.json) and
    the tables, figures and draws it wrote under ``out_dir``."""
    from mmlkit.results import precision

    full = record["full_run"]
    params = full["parameters"]

    def md(name: str, folder: Path = out_dir / "tables") -> str:
        p = folder / f"{name}.md"
        return p.read_text().strip() if p.exists() else f"_(table {name} was not produced in this run)_"

    draws = sorted(p for p in out_dir.glob("draw-*") if (p / "tables" / "ml_vs_mml_claim.md").exists())
    draw = None
    if draws:
        d = draws[0]
        draw = {"seed": d.name.split("-", 1)[1], "folder": d.name,
                "tables": "\n\n".join(md(n, d / "tables") for n in ("baselines_accuracy", "baselines_claim",
                                                                     "ml_vs_mml_claim"))}
    compute = out_dir / "compute.md"
    compute_text = compute.read_text().strip() if compute.exists() else (
        "_(this run trained everything from an empty store, so the wall time at the top is the from-scratch "
        "cost)_" if full.get("runs_trained") and not full.get("runs_reused") else
        "_(not summed for this run: see the top-level README's \"Measured\" for the from-scratch cost)_")
    return {"run": full, "params": params, "reruns": record.get("reruns", []),
            "profile_flag": "" if params["profile"] == "default" else f" --profile {params['profile']}",
            "reused": _reused_text(full), "host_speed": host_speed_text(full), "md": md,
            "has_figure": lambda name: (out_dir / "figures" / f"{name}.png").exists(),
            "margin": f"{precision.MARGIN:g}", "half_width": f"{precision.HALF_WIDTH:g}",
            "seed_cap": precision.SEED_CAP, "previous": _previous(out_dir), "draw": draw, "compute": compute_text}


def write_readme(out_dir: Path, record: dict, args: argparse.Namespace | None = None) -> Path:
    """papers_results/README.md from ``templates/papers_results.md.j2`` and :func:`readme_context`.

    ``record`` is timings.json: ``full_run`` (the last run of every notebook) and ``reruns``.
    """
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("mmlkit.results", "templates"),
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
    text = env.get_template("papers_results.md.j2").render(**readme_context(out_dir, record))
    path = out_dir / "README.md"
    path.write_text(re.sub(r"\n{3,}", "\n\n", text))  # a section left out leaves no gap
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m mmlkit.results.reproduce", description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="default", choices=("smoke", "default", "paper"))
    ap.add_argument("--seeds", default="0,1,2", help="comma-separated training seeds")
    ap.add_argument("--dataset", default="synthetic")
    ap.add_argument("--data-root", default=None)
    ap.add_argument("--only", action="append", default=None, help="run only this notebook (repeatable)")
    ap.add_argument("--results-dir", default=None,
                    help="the runs store (default: results/<profile>-pinned when pinned, else results/<profile>)")
    ap.add_argument("--out", default=None,
                    help="where executed notebooks, tables and figures go (default: papers_results/)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--lanes", type=int, default=1,
                    help="runs and notebooks side by side, each run with the cores shared out (2 on a 2-core "
                         "machine: one thread per run, so runs of their own, with other bits than one lane's); "
                         "the runs the last full run planned are trained first, that many at a time")
    ap.add_argument("--synth-seed", dest="synth_seed", type=int, default=0,
                    help="another draw of the synthetic benchmark (same image stand-in); its results go to "
                         "papers_results/draw-<S>/ unless --out is given")
    args = ap.parse_args(argv)
    if args.lanes < 1:
        ap.error(f"--lanes {args.lanes}: give 1 (one notebook at a time) or more")

    names = notebook_names()
    if args.only:
        unknown = [n for n in args.only if n.removesuffix(".ipynb") not in names]
        if unknown:
            print(f"--only: no notebook named {unknown}; known: {', '.join(names)}", file=sys.stderr)
            return 2
        names = [n for n in names if n in {o.removesuffix('.ipynb') for o in args.only}]
    try:  # the notebooks run on this process's code paths (pinned or not), and so share its store
        kernel = notebook_kernel()
    except ConfigError as exc:
        print(f"[reproduce] error: {exc}", file=sys.stderr)
        return 2
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    default_out = REPO / "papers_results" / (f"draw-{args.synth_seed}" if args.synth_seed else "")
    out_dir = Path(args.out or default_out).resolve()
    results_dir = Path(args.results_dir or default_results_dir(args.profile)).resolve()
    params = notebook_parameters(args, seeds, results_dir, out_dir)
    print(f"[reproduce] notebooks: {', '.join(names)}\n[reproduce] parameters: {json.dumps(params)}", flush=True)
    timings_file = out_dir / "timings.json"
    record = json.loads(timings_file.read_text()) if timings_file.exists() else {}
    if "notebooks" in record:  # the first format: one run, no reruns
        record = {"full_run": record, "reruns": []}
    before = finished_runs(results_dir)
    claims = out_dir / "tables" / "claims.csv"
    if not args.only and claims.exists():  # a full run replaces the claims: keep the previous ones beside
        (out_dir / PREVIOUS).mkdir(parents=True, exist_ok=True)
        (out_dir / PREVIOUS / "claims.csv").write_bytes(claims.read_bytes())
    speed = [_host_speed(args.profile)]
    t0 = time.perf_counter()
    # one line per finished training run, with an estimate of what is left (mmlkit.results.watch)
    compute = compute_plan(args.profile)
    compute = None if compute is None else plan_for_seeds(compute, params["seeds"])
    same = None if compute is None else plan_names_these_runs(compute, params["seeds"], params["synth_seed"],
                                                               params["dataset"])
    watched = compute  # the plan as the progress lines count it
    if args.lanes > 1:  # the plan's runs have the profile's threads, these runs their own (other names):
        plan = lanes_plan(args.profile, params, names, results_dir, compute)  # count them by those
        planned = plan[0]
        if planned is not None:
            from mmlkit.results.run_plan import renamed_plan

            watched, same = renamed_plan(compute, planned), True
        else:
            same = False
    watcher = StoreWatcher(results_dir, names, Expectation.from_record(record, watched), speed[0], same_runs=same,
                           lanes=args.lanes)
    print(watcher.outlook(), flush=True)
    groups = lane_groups(names, args.lanes, plan_minutes(compute))
    if args.lanes > 1:
        if not any(n in ALONE_FIRST for n in names) or compute is not None:
            prepare_data(params)  # two processes must not both make the benchmark (the scheduler or the lanes)
        print(f"[reproduce] {args.lanes} lanes, {params['threads']} thread(s) per run: "
              + " | ".join(" + ".join(g) if len(g) > 1 else g[0] for g in groups), flush=True)
    with watcher:
        if args.lanes > 1:  # the scheduler of runs first, where the last full run planned these runs
            train_planned_runs(args.profile, params, plan, results_dir, args.lanes)
        run_one = run_notebook if args.lanes == 1 else run_notebook_in_child
        timings = run_lanes(groups, args.lanes, lambda name: run_one(name, out_dir, params, kernel), watcher)
    timings = {n: timings[n] for n in names if n in timings}  # run order, as the record always had it
    wall = time.perf_counter() - t0
    speed.append(_host_speed(args.profile))
    out_dir.mkdir(parents=True, exist_ok=True)
    after = finished_runs(results_dir)
    this = {"notebooks": timings, "wall_s": wall, "peak_rss_gib": peak_rss_gib(), "machine": machine_summary(),
            "date": _dt.date.today().isoformat(), "parameters": params,
            "runs_trained": len(after - before), "runs_reused": len(before),
            "runs_by_notebook": watcher.by_notebook, "lanes": args.lanes,
            "host_train_clips_per_s": speed}
    record = add_run(record, this)
    timings_file.write_text(json.dumps(record, indent=2))
    readme = write_readme(out_dir, record, args)
    print(f"[reproduce] wrote {readme} ({wall / 60:.1f} min)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
