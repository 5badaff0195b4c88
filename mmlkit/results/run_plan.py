"""A scheduler of runs: the last full run's runs, two at a time, before the notebooks read them.

``./run_all.sh --lanes 2`` gives every run one torch thread, so that two runs share the two
cores. Run side by side notebook by notebook, a lane idles whenever its notebook waits for a run
the other lane trains, or has nothing left while the other still runs (1.2x the runs per hour
in the trials, where two runs side by side give 1.3x: docs/measurements.md). This module keeps
both lanes busy instead: it trains the runs the notebooks of an invocation will ask for, as the
last full run planned them (``papers_results/run_configs.json`` and ``compute.json``, written by
``tools/run_costs.py``), each as soon as the run it starts from is done and a lane is free,
longest chain of runs first. The notebooks run afterwards and read those runs from the store;
a run the plan did not hold (the seed rule asked for another seed this time) they train
themselves.

The plan's runs have the profile's thread count; :func:`planned_runs` renames them for the
lanes' count: every config gets ``threads``, and a run that starts from another's model starts
from that run's lane-named folder, exactly as a notebook's ``Study(threads=...)`` builds it (the
tests compare the two). Each run trains and is scored in a process of its own
(:func:`mmlkit.results.store.load_or_run`, whose lock keeps a notebook from training it twice).
"""

from __future__ import annotations

import json
import multiprocessing
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

from mmlkit.config import EvalConfig, RunConfig, with_overrides
from mmlkit.results.store import REPO, RunStore, nothing_to_do

#: Every run of the last full run: its portable config and view plans (``tools/run_costs.py``).
RUN_CONFIGS = REPO / "papers_results" / "run_configs.json"
STORE_PREFIX = "<store>/"


@dataclass(frozen=True)
class PlannedRun:
    """One run of the plan as this store names it.

    Attributes:
        name: its folder in this store (``runs/<name>``).
        config: the config a notebook builds for it.
        plans: the view plans it is scored on (name -> EvalConfig).
        after: the planned run whose model it starts from (this store's name), or None.
        seconds: its measured training and scoring seconds in the plan (one at a time).
        notebook: the first notebook that uses it.
        planned_as: its folder's name in the plan (``compute.json``), where the plan's threads differ.
    """

    name: str
    config: RunConfig
    plans: dict[str, EvalConfig]
    after: str | None
    seconds: float
    notebook: str
    planned_as: str = ""


def starts_from(config: dict) -> str | None:
    """The run folder whose model a run starts from (its ``tune_from``'s folder), or None; ``config``
    as a run folder's ``config.json`` or ``run_configs.json`` holds it."""
    tune_from = config.get("tune_from")
    return Path(tune_from).parent.name if tune_from else None


def children_of(names: Iterable[str], after: Mapping[str, str | None]) -> dict[str, list[str]]:
    """Each of ``names`` -> the runs that start from it (``after``: run -> the run it starts from)."""
    children: dict[str, list[str]] = {n: [] for n in names}
    for n, a in after.items():
        if a in children:
            children[a].append(n)
    return children


def chain_seconds(seconds: Mapping[str, float], after: Mapping[str, str | None]) -> dict[str, float]:
    """Each run's seconds plus those of the longest chain of runs that start from it, directly or
    not: how long the work that waits on the run takes at the least. The scheduler's priority
    (:func:`by_priority`), and what ``tools/lane_schedule.py`` lays out the same way.

    Raises:
        ValueError: runs that start from each other in a cycle.
    """
    children = children_of(seconds, after)
    out: dict[str, float] = {}
    visiting: set[str] = set()

    def chain(name: str) -> float:
        if name not in out:
            if name in visiting:
                raise ValueError(f"runs wait in a cycle: {sorted(visiting)[:3]}")
            visiting.add(name)
            out[name] = seconds[name] + max((chain(c) for c in children[name]), default=0.0)
            visiting.discard(name)
        return out[name]

    return {n: chain(n) for n in seconds}


def by_priority(names: Iterable[str], seconds: Mapping[str, float], chains: Mapping[str, float]) -> list[str]:
    """``names`` in the order a free lane takes them: the longest chain first, then the longer run,
    then by name."""
    return sorted(names, key=lambda n: (-chains[n], -seconds[n], n))


def load_run_configs(path: Path = RUN_CONFIGS) -> dict | None:
    """``run_configs.json`` (``None`` when there is none)."""
    return json.loads(path.read_text()) if path.exists() else None


def localize(path: str | None, root: Path) -> str | None:
    """A portable checkpoint path (``<store>/runs/...``) inside the store at ``root``."""
    if path is None or not path.startswith(STORE_PREFIX):
        return path
    return str(root / path[len(STORE_PREFIX):])


def planned_runs(run_configs: dict, compute: dict, store: RunStore, threads: int | None,
                 notebooks: Sequence[str]) -> list[PlannedRun]:
    """The runs ``notebooks`` use in the plan, with the runs they start from, renamed for
    ``threads`` (``None``: as planned) in ``store``; the runs a run starts from come first.

    Args:
        run_configs: ``run_configs.json``: ``{"runs": {name: {"config", "plans"}}}``.
        compute: ``compute.json``: ``{"notebooks": {notebook: [name, ...]}, "runs": [{"run",
            "notebook", "train_s", "score_s"}, ...]}``.

    Raises:
        ValueError: a run of ``compute`` missing from ``run_configs``, or a run that starts from
            a run the plan does not hold.
    """
    configs = run_configs["runs"]
    rows = {r["run"]: r for r in compute.get("runs") or ()}
    wanted: list[str] = []
    for nb in notebooks:
        wanted += [r for r in (compute.get("notebooks") or {}).get(nb, ()) if r not in wanted]
    missing = [r for r in wanted if r not in configs]
    if missing:
        raise ValueError(f"run_configs.json lacks {len(missing)} planned runs, e.g. {missing[0]}: "
                         "run tools/run_costs.py again")

    def after_of(name: str) -> str | None:
        parent = starts_from(configs[name]["config"])
        if parent is not None and parent not in configs:
            raise ValueError(f"{name} starts from {parent}, which the plan does not hold")
        return parent

    order: list[str] = []  # every wanted run after the run it starts from

    def visit(name: str) -> None:
        if name in order:
            return
        parent = after_of(name)
        if parent is not None:
            visit(parent)
        order.append(name)

    for name in wanted:
        visit(name)
    renamed: dict[str, str] = {}
    out: list[PlannedRun] = []
    for name in order:
        entry = configs[name]
        cfg = RunConfig.from_dict(entry["config"]).with_checkpoint_paths(lambda p: localize(p, store.root))
        if threads is not None:
            cfg = with_overrides(cfg, threads=threads)
        parent = after_of(name)
        if parent is not None:  # start from the parent as renamed here, same file name
            cfg = with_overrides(cfg, tune_from=str(store.root / "runs" / renamed[parent] / Path(cfg.tune_from).name))
        renamed[name] = store.run_dir(cfg).name
        row = rows.get(name, {})
        out.append(PlannedRun(name=renamed[name], config=cfg,
                              plans={k: EvalConfig(**v) for k, v in entry.get("plans", {}).items()},
                              after=None if parent is None else renamed[parent],
                              seconds=float(row.get("train_s", 0.0)) + float(row.get("score_s", 0.0)),
                              notebook=row.get("notebook", ""), planned_as=name))
    return out


def renamed_plan(compute: dict, planned: Sequence[PlannedRun]) -> dict:
    """``compute.json`` with each planned run under its name in this store (``planned``'s
    :attr:`~PlannedRun.name` for its :attr:`~PlannedRun.planned_as`), so that the progress lines
    of runs in lanes count the plan's runs each at its own recorded seconds."""
    names = {p.planned_as: p.name for p in planned}
    return {**compute, "notebooks": {nb: [names.get(r, r) for r in runs]
                                     for nb, runs in (compute.get("notebooks") or {}).items()},
            "runs": [{**row, "run": names.get(row["run"], row["run"]),
                      **({"after": names.get(row["after"], row["after"])} if row.get("after") else {})}
                     for row in compute.get("runs") or ()]}


def _train_one(config: dict, results_dir: str, plans: dict[str, dict], by: str) -> str:
    """In a lane's process: train and score one planned run (:func:`load_or_run`)."""
    from mmlkit.results.store import load_or_run

    run = load_or_run(RunConfig.from_dict(config), RunStore(results_dir), progress=False, by=by,
                      eval_plans={k: EvalConfig(**v) for k, v in plans.items()})
    return run.dir.name


def lane_pool(lanes: int) -> Executor:
    """``lanes`` worker processes, a fresh one per run (spawned: no torch state is shared)."""
    return ProcessPoolExecutor(max_workers=lanes, mp_context=multiprocessing.get_context("spawn"),
                               max_tasks_per_child=1)


def run_plan(planned: Sequence[PlannedRun], store: RunStore, lanes: int,
             pool: Callable[[int], Executor] = lane_pool, say: Callable[[str], None] = print) -> dict[str, str]:
    """Train and score every run of ``planned`` not yet done, ``lanes`` at a time.

    A free lane takes the ready run (the one it starts from done) with the longest chain of
    planned seconds after it, then the longer run. A run that fails is reported in one line and
    left to the notebooks (which raise its error where it belongs); the runs after it are left
    too.

    Returns:
        name -> ``"done"`` (already, or now), ``"failed: <error>"`` or ``"left: <run> failed"``.
    """
    runs = {p.name: p for p in planned}
    seconds = {n: p.seconds for n, p in runs.items()}
    after = {n: p.after for n, p in runs.items()}
    children = children_of(runs, after)
    chains = chain_seconds(seconds, after)

    status = {n: "done" for n, p in runs.items() if nothing_to_do(store.get(p.config), p.config, p.plans)}
    running: dict[Future, str] = {}
    with pool(lanes) as ex:
        try:
            while True:
                ready = by_priority((n for n, p in runs.items() if n not in status and n not in running.values()
                                     and (p.after is None or status.get(p.after) == "done")), seconds, chains)
                for name in ready[:max(0, lanes - len(running))]:
                    p = runs[name]
                    running[ex.submit(_train_one, p.config.to_dict(), str(store.root),
                                      {k: asdict(v) for k, v in p.plans.items()}, p.notebook)] = name
                if not running:
                    break
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for fut in finished:
                    name = running.pop(fut)
                    try:
                        fut.result()
                        status[name] = "done"
                    except Exception as exc:  # noqa: BLE001 - the notebook that needs it raises it again
                        status[name] = f"failed: {type(exc).__name__}: {exc}"
                        say(f"[reproduce] planned run {name} failed ({type(exc).__name__}: {exc}); "
                            "the notebook that needs it will train it")
                        _leave_after(name, children, status)
        except BaseException:
            for fut in running:
                fut.cancel()
            _stop(ex)
            raise
    return {n: status.get(n, "left") for n in runs}


def _leave_after(name: str, children: dict[str, list[str]], status: dict[str, str]) -> None:
    for c in children[name]:
        status[c] = f"left: {name} failed"
        _leave_after(c, children, status)


def _stop(ex: Executor) -> None:
    """Stop a pool's running lanes (an interrupt): their runs resume from their last epoch later."""
    for proc in list(getattr(ex, "_processes", {}).values() or ()):
        proc.terminate()
    ex.shutdown(wait=False, cancel_futures=True)
