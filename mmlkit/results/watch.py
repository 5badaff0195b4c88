"""Progress a person can read while ``./run_all.sh`` runs: one line per finished training run.

The notebooks train inside papermill's kernels, whose output ``./run_all.sh`` does not show, so
the runner watches the results store instead: every run folder that gains its ``done.json``
is a finished training run. For each one it prints its name, its epochs and its minutes, with the
count of runs trained so far, an estimate of the runs still to do and of the time left::

    [reproduce] <notebook>: trained <run folder> (<modalities>, <E> epochs, <M> min)
      | <N> runs trained, about <K> to do, about <T> left

The estimate comes, where it exists, from the from-scratch plan of the last full run
(``papers_results/compute.json``, written by ``tools/run_costs.py``: every run each notebook
uses, with its measured minutes of training and scoring). The runs still to do are the planned
runs of this notebook and the ones after it that the store does not hold yet, less the runs this
invocation trained outside the plan (another draw of the benchmark trains the same runs under
other names). Without that plan it falls back on the last full run recorded in ``timings.json``
(each notebook's minutes, and its run count when it started from an empty store). Either way the
times are scaled by the ratio of this host's measured training speed to the speed measured there
(:func:`mmlkit.results.host_speed.train_clips_per_s`). The analyses decide some runs as they go
(the seed rule asks for more seeds when the first ones are too noisy), so no exact plan exists
before the run; the estimate says "about", and says nothing where no earlier full run was
recorded.

A notebook's own kernel (papermill with ``--log-output``) counts the same way for its notebook
alone: :class:`PlanTracker`, which a ``Study(..., notebook=...)`` asks after each run it trains.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence, TextIO

from mmlkit.results.store import REPO  # the package's __init__ has imported the store already


#: The from-scratch plan of the last full run (``tools/run_costs.py``): every run each notebook
#: uses, with its measured seconds.
COMPUTE_PLAN = REPO / "papers_results" / "compute.json"


def compute_plan(profile: str, path: Path | None = None) -> dict | None:
    """``compute.json`` (default :data:`COMPUTE_PLAN`) when it was made for ``profile`` (its runs
    are that profile's), else ``None``."""
    try:
        plan = json.loads((path or COMPUTE_PLAN).read_text())
    except (OSError, ValueError):
        return None
    return plan if isinstance(plan, dict) and plan.get("profile", "default") == profile else None


def plan_names_these_runs(compute: dict, seeds: Sequence[int], synth_seed: int, dataset: str) -> bool | None:
    """Whether the plan's run names are the runs an invocation with these parameters trains: the
    same seeds, draw of the benchmark and data set (the names hash the configs, which these
    set). ``None`` for a plan that does not record its seeds: decided from the names trained
    (:meth:`Expectation.runs_left`)."""
    if "seeds" not in compute:
        return None
    return (list(seeds) == list(compute["seeds"]) and int(synth_seed) == int(compute.get("synth_seed", 0))
            and dataset == "synthetic")


#: a run folder's seed: ``RGB-Flow_s2_ba81c8f97d1f`` -> 2 (the store names runs ``<Mods>_s<seed>_<hash>``)
RUN_SEED = re.compile(r"_s(\d+)_[0-9a-f]+$")


def plan_for_seeds(compute: dict, seeds: Sequence[int]) -> dict:
    """``compute`` narrowed to the runs of ``seeds`` when they are some of its seeds only.

    The plan records the first-stage seeds of the full run it was made from (``./run_all.sh``'s
    three); a notebook run on some of them (``papermill notebooks/mml_rgb_flow.ipynb``: seed 0)
    trains the plan's runs of those seeds and no others, so the plan keeps those, with
    ``seeds`` as its seeds (:func:`plan_names_these_runs` then says the names are this
    invocation's). The runs the seed rule added (seeds past the first stage's) go too: on fewer
    seeds the rule asks anew. Other seeds, or the same ones: ``compute`` as it is.
    """
    planned = compute.get("seeds")
    if planned is None or not set(seeds) < set(planned):
        return compute
    keep = {int(s) for s in seeds}

    def of_these_seeds(run: str) -> bool:
        m = RUN_SEED.search(run)
        return m is not None and int(m.group(1)) in keep

    notebooks = {k: [r for r in v if of_these_seeds(r)] for k, v in (compute.get("notebooks") or {}).items()}
    return {**compute, "seeds": list(seeds), "notebooks": notebooks}


def finished_runs(results_dir: str | Path) -> set[str]:
    """The run folders of a store whose training finished (they hold ``done.json``)."""
    return {p.parent.name for p in (Path(results_dir) / "runs").glob("*/done.json")}


def head_start(results_dir: str | Path) -> dict[str, float]:
    """The share of its training each unfinished run of a store has done: run folder -> its
    ``state.json``'s ``epochs_done`` over its ``config.json``'s epochs (in ``[0, 1]``; runs
    without a readable state or config are left out). A resumed invocation trains only the rest
    of those runs (:meth:`Expectation.runs_left`)."""
    shares = {}
    for state in Path(results_dir).glob("runs/*/state.json"):
        run = state.parent
        if (run / "done.json").exists():
            continue
        try:
            done = int(json.loads(state.read_text())["epochs_done"])
            epochs = int(json.loads((run / "config.json").read_text())["optim"]["epochs"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if epochs > 0:
            shares[run.name] = min(max(done / epochs, 0.0), 1.0)
    return shares


def run_summary(run_dir: Path) -> dict[str, Any]:
    """A finished run's modalities, epochs and training minutes, from its ``config.json`` and
    ``run.json`` (``None`` where a file is missing or unreadable: the line says ``?``)."""
    def read(name: str) -> dict:
        try:
            return json.loads((run_dir / name).read_text())
        except (OSError, ValueError):
            return {}

    cfg, info = read("config.json"), read("run.json")
    train_s = (info.get("timings") or {}).get("train_s")
    return {"name": run_dir.name, "modalities": ",".join(cfg.get("modalities") or ()) or None,
            "epochs": (cfg.get("optim") or {}).get("epochs"),
            "minutes": None if train_s is None else float(train_s) / 60}


def runs_text(n: int) -> str:
    """``1 run``, ``3 runs``."""
    return f"{n} run{'s' if n != 1 else ''}"


def format_minutes(minutes: float) -> str:
    """``42 min``; from 90 minutes on, hours and minutes (``2 h 10 min``)."""
    m = max(0, round(minutes))
    return f"{m} min" if m < 90 else f"{m // 60} h {m % 60:02d} min"


def plan_fields(compute: dict | None) -> dict[str, dict]:
    """:class:`Expectation`'s ``plan``, ``run_s`` and ``train_s`` from ``compute.json`` (empty
    without one)."""
    compute = compute or {}
    runs = compute.get("runs") or ()
    return {"plan": {k: tuple(v) for k, v in (compute.get("notebooks") or {}).items()},
            "run_s": {r["run"]: float(r["train_s"]) + float(r["score_s"]) for r in runs},
            "train_s": {r["run"]: float(r["train_s"]) for r in runs}}


@dataclass(frozen=True)
class Expectation:
    """What the last recorded full run took, to estimate what is left of this one.

    Attributes:
        notebook_s: each notebook's wall seconds in that run.
        runs: training runs that run trained (``None``: unknown, e.g. it reused a store).
        speed: the host's training speed (clips/s) measured there.
        plan: notebook -> the run folders it uses, from scratch (``compute.json``; empty: none).
        run_s: run folder -> its measured seconds of training and scoring.
        train_s: run folder -> the training part of ``run_s``.
    """

    notebook_s: dict[str, float] = field(default_factory=dict)
    runs: int | None = None
    speed: float | None = None
    plan: dict[str, tuple[str, ...]] = field(default_factory=dict)
    run_s: dict[str, float] = field(default_factory=dict)
    train_s: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_record(cls, record: dict, compute: dict | None = None) -> "Expectation | None":
        """From a ``timings.json`` record (``{"full_run": {...}, "reruns": [...]}``) and,
        optionally, the plan of ``compute.json`` (``{"notebooks": {name: [run, ...]}, "runs":
        [{"run", "train_s", "score_s"}, ...]}``); ``None`` when the record holds no full run."""
        run = (record or {}).get("full_run")
        if not run or not run.get("notebooks"):
            return None
        speeds = [s for s in run.get("host_train_clips_per_s") or [] if s]
        fresh = run.get("runs_reused") == 0  # from an empty store: its count is the whole work
        return cls(notebook_s={k: float(v) for k, v in run["notebooks"].items()},
                   runs=int(run["runs_trained"]) if fresh and "runs_trained" in run else None,
                   speed=max(speeds) if speeds else None, **plan_fields(compute))

    def runs_left(self, names: Sequence[str], current: int, done: set[str], trained_here: Sequence[str],
                  same_runs: bool | None = None, started: dict[str, float] | None = None
                  ) -> tuple[int, float] | None:
        """From the plan: (runs still to do, their recorded seconds) for ``names[current:]``.

        The planned runs of ``names[current:]`` count unless a notebook before ``names[current]``
        used them (it made them). When this invocation trains the plan's very runs
        (``same_runs``; ``None``: as long as no run of ``trained_here``, those trained while
        ``names[current]`` ran, lies outside the plan; ``True``: unless every one of them does,
        as when a new version of the benchmark or of the configs renames every run), the runs
        the store holds (``done``) are not to do. Otherwise (another draw of the benchmark, other
        seeds: the same work under other names) the plan gives the count only, less one for each
        run of ``trained_here``;
        the runs the store held before are not recognised, so the count is an upper bound, and
        the seconds are that count at the mean of the planned runs. Runs the store lacks count
        at their own recorded seconds (a 3-model cohort is 9 times a short single-model run),
        less the share of their training an interrupted invocation did (``started``,
        :func:`head_start`: a run resumed at epoch 30 of 40 has a quarter of its training left,
        and all its scoring). ``None`` without a plan.
        """
        if not self.plan:
            return None
        planned = {r for n in names[current:] for r in self.plan.get(n, ())}
        left = sorted(planned - {r for n in names[:current] for r in self.plan.get(n, ())})
        everywhere = {r for runs in self.plan.values() for r in runs}
        outside = [r for r in trained_here if r not in everywhere]
        if same_runs is None:
            same_runs = not outside
        elif same_runs and trained_here and len(outside) == len(trained_here):
            same_runs = False  # the same parameters, yet no run trained is the plan's: the code renamed them
        mean = sum(self.run_s.get(r, 0.0) for r in left) / len(left) if left else 0.0
        if same_runs:  # the very runs still to do, each at its own recorded seconds
            todo = [r for r in left if r not in done]
            started = started or {}
            return len(todo), sum(self.run_s.get(r, mean) - self.train_s.get(r, 0.0) * started.get(r, 0.0)
                                  for r in todo)
        n = max(0, len(left) - len(trained_here))
        return n, n * mean

    def seconds_left(self, names: Sequence[str], current: int, elapsed_in_current: float,
                     speed: float | None) -> float | None:
        """Seconds left: the recorded time of the notebooks after ``names[current]``, plus what is
        left of the current one's, scaled by ``self.speed / speed`` (this host is faster when
        ``speed`` is larger). ``None`` when a notebook to come was not recorded."""
        rest = names[current + 1:]
        if names[current] not in self.notebook_s or any(n not in self.notebook_s for n in rest):
            return None
        scale = self.speed / speed if self.speed and speed else 1.0
        left = max(0.0, self.notebook_s[names[current]] * scale - elapsed_in_current)
        return left + sum(self.notebook_s[n] for n in rest) * scale


def progress_line(notebook: str, run: dict[str, Any], trained: int, to_do: int | None,
                  left_s: float | None) -> str:
    """The line printed for one finished run (see the module docstring)."""
    what = ", ".join(x for x in (run["modalities"],
                                 None if run["epochs"] is None else f"{run['epochs']} epochs",
                                 "? min" if run["minutes"] is None else f"{run['minutes']:.1f} min") if x)
    tail = [f"{runs_text(trained)} trained"]
    tail.append("runs to do unknown" if to_do is None else f"about {to_do} to do")
    tail.append("time left unknown (no earlier full run recorded)" if left_s is None
                else f"about {format_minutes(left_s / 60)} left")
    return f"[reproduce] {notebook}: trained {run['name']} ({what}) | {', '.join(tail)}"


class StoreWatcher:
    """Prints :func:`progress_line` for every run that finishes in ``results_dir`` while a
    ``with`` block runs (a daemon thread polling every ``interval`` seconds; a last poll on exit).

    Args:
        results_dir: the store the notebooks train into.
        names: the notebooks of this invocation, in run order.
        expectation: the last full run's record (``None``: no estimate).
        speed: this host's measured training speed (clips/s).
        out: where lines go (default ``sys.stdout``).
        clock: ``time.perf_counter`` (injectable for tests).
        same_runs: whether this invocation trains the plan's very runs (the parameters the plan
            was made with); ``None``: judged from the runs it trains (:meth:`Expectation.runs_left`).
        lanes: notebooks run side by side (``./run_all.sh --lanes``). Their runs have one thread
            each, so the plan's seconds (one notebook at a time) do not time them: from the first
            finished run on, the time left is the plan's seconds still to do at the pace measured
            so far (wall seconds per planned second done). A run an interrupted invocation left
            half-done counts only its share still to train (:func:`head_start`), so a resumed
            leg's first runs, which finish early, do not make the pace look fast.
    """

    def __init__(self, results_dir: str | Path, names: Sequence[str], expectation: Expectation | None,
                 speed: float | None, interval: float = 10.0, out: TextIO | None = None,
                 clock: Callable[[], float] = time.perf_counter, same_runs: bool | None = None,
                 lanes: int = 1) -> None:
        self.results_dir, self.names, self.expectation = Path(results_dir), list(names), expectation
        self.same_runs, self.lanes = same_runs, lanes
        self.speed, self.interval, self.out, self.clock = speed, interval, out, clock
        self.seen = finished_runs(self.results_dir)
        self.started = head_start(self.results_dir)  # the runs an interrupted invocation left half-done
        self.trained: list[str] = []
        self.by_notebook: dict[str, list[str]] = {}  # notebook -> the runs trained while it ran
        self.finished: list[str] = []  # notebooks done, in the order they finished
        self.running: dict[str, float] = {}  # notebook -> when it started (clock)
        self.t0 = clock()
        self.planned0: float | None = None  # the plan's seconds to do at the start (the lanes' pace)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self, name: str) -> None:
        """The runner starts notebook ``name`` (beside the ones running)."""
        with self._lock:
            self.running[name] = self.clock()

    def finish(self, name: str) -> None:
        """Notebook ``name`` is done: a last poll counts its last runs under its name."""
        self.poll()
        with self._lock:
            self.running.pop(name, None)
            self.finished.append(name)

    def _order(self) -> tuple[list[str], int]:
        """(the notebooks: finished, running, then the rest in run order; how many finished)."""
        first = self.finished + list(self.running)  # finish() moves a notebook from one to the other
        return first + [n for n in self.names if n not in first], len(self.finished)

    def _owner(self, run: str) -> str:
        """The notebook that trained ``run``: its ``run.json``'s ``trained_by`` where that notebook
        is running or no notebook is (``./run_all.sh --lanes``' scheduler of runs trains for the
        notebooks before they start, :mod:`mmlkit.results.run_plan`), else the notebook started
        last (the one running, one at a time)."""
        try:
            by = json.loads((self.results_dir / "runs" / run / "run.json").read_text()).get("trained_by")
        except (OSError, ValueError, AttributeError):
            by = None
        if by in self.running or (by in self.names and not self.running):
            return by  # a notebook running, or the scheduler of runs training it for a notebook
        if self.running:
            return max(self.running, key=self.running.get)
        return self.finished[-1] if self.finished else self.names[0]

    def poll(self) -> list[str]:
        """Print (and return) a line for each run finished since the last poll."""
        with self._lock:
            done = finished_runs(self.results_dir)
            new = sorted(done - self.seen, key=lambda n: (self.results_dir / "runs" / n / "done.json").stat().st_mtime)
            lines = []
            for name in new:
                self.seen.add(name)
                self.trained.append(name)
                owner = self._owner(name)
                self.by_notebook.setdefault(owner, []).append(name)
                to_do, left = self.estimate(done)
                lines.append(progress_line(owner, run_summary(self.results_dir / "runs" / name),
                                           len(self.trained), to_do, left))
            for line in lines:
                print(line, file=self.out or sys.stdout, flush=True)
            return lines

    def estimate(self, done: set[str] | None = None) -> tuple[int | None, float | None]:
        """(runs still to do, seconds left) now: from the plan where there is one, else from
        the last full run's notebook times (see the module docstring). ``done``: the store's
        finished runs, when the caller has just listed them (default: listed here)."""
        exp = self.expectation
        if exp is None:
            return None, None
        scale = exp.speed / self.speed if exp.speed and self.speed else 1.0
        order, current = self._order()
        here = [r for n in order[current:] for r in self.by_notebook.get(n, [])]
        planned = exp.runs_left(order, current, finished_runs(self.results_dir) if done is None else done,
                                here, self.same_runs, self.started)
        if planned is not None:
            if self.lanes == 1:
                return planned[0], planned[1] * scale
            if self.planned0 is None:
                self.planned0 = planned[1]
            done_s = self.planned0 - planned[1]
            return planned[0], (planned[1] * (self.clock() - self.t0) / done_s if done_s > 0
                                else planned[1] * scale)
        to_do = None if exp.runs is None else max(0, exp.runs - len(self.trained))
        started = min(self.running.values(), default=self.t0)
        return to_do, exp.seconds_left(order, min(current, len(order) - 1), self.clock() - started, self.speed)

    def outlook(self) -> str:
        """The line printed before the first notebook: the runs to do and the time, as estimated."""
        to_do, left = self.estimate()
        if to_do is None and left is None:
            return "[reproduce] no earlier full run recorded: runs to do and time unknown"
        runs = "runs to do unknown" if to_do is None else f"about {runs_text(to_do)} to train"
        time_left = "time unknown" if left is None else f"about {format_minutes(left / 60)} of training and scoring"
        where = ("" if self.lanes == 1 else
                 f" one notebook at a time (in {self.lanes} lanes less: estimated from the pace once runs finish)")
        return f"[reproduce] {runs}, {time_left} at this host's speed{where}{self._unplanned()}"

    def _unplanned(self) -> str:
        """A note when the store already holds finished runs the plan does not name: they are not
        counted as done, so after a change that renamed the runs (a new benchmark version, say)
        a resumed run's count is the plan's whole size though many runs are done."""
        exp = self.expectation
        if exp is None or not exp.plan:
            return ""
        outside = len(self.seen - {r for runs in exp.plan.values() for r in runs})
        if not outside:
            return ""
        return (f"; the store holds {runs_text(outside)} the plan does not name, not counted as done "
                "(fewer to do if they are the plan's runs under new names)")

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.poll()

    def __enter__(self) -> "StoreWatcher":
        self._thread = threading.Thread(target=self._loop, name="mmlkit-store-watcher", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.poll()


class PlanTracker:
    """The runs one notebook still has to train, as its own kernel sees them (a papermill run
    with ``--log-output``, or JupyterLab), counted against the last full run's plan.

    :meth:`trained` is told of every run the kernel trains and returns the line to print:
    ``<notebook>: about K runs to do, about T left``. The runs to do are
    :meth:`Expectation.runs_left` for the notebook alone; the time is their recorded seconds at
    this kernel's pace: its training seconds over the plan's for the planned runs it trained so
    far (the recorded pace until it has trained one).

    Args:
        notebook: the notebook's name in the plan (``01_baselines_and_ensembles``).
        results_dir: the store the kernel trains into.
        compute: ``compute.json`` (:func:`compute_plan`).
        same_runs: whether the kernel trains the plan's very runs (:func:`plan_names_these_runs`).
    """

    def __init__(self, notebook: str, results_dir: str | Path, compute: dict, same_runs: bool | None = None) -> None:
        self.notebook, self.results_dir, self.same_runs = notebook, Path(results_dir), same_runs
        self.expectation = Expectation(**plan_fields(compute))
        self.started = head_start(self.results_dir)  # runs a kernel before this one left half-done
        self.plan_train_s = {r["run"]: float(r["train_s"]) for r in compute.get("runs") or ()}
        self.runs: list[str] = []
        self.pace = [0.0, 0.0]  # this kernel's training seconds, the plan's, over the planned runs trained

    @classmethod
    def for_notebook(cls, notebook: str, results_dir: str | Path, profile: str, path: Path | None = None,
                     runs_of: tuple[Sequence[int], int, str] | None = None) -> "PlanTracker | None":
        """A tracker when the plan of ``profile`` (:func:`compute_plan`) knows ``notebook``, else
        ``None``. ``runs_of``: the kernel's (seeds, synth_seed, dataset), which decide
        :func:`plan_names_these_runs` as ``./run_all.sh`` decides it; ``None``: from the names."""
        compute = compute_plan(profile, path)
        if not compute or notebook not in (compute.get("notebooks") or {}):
            return None
        if runs_of is not None:
            compute = plan_for_seeds(compute, runs_of[0])
        same = None if runs_of is None else plan_names_these_runs(compute, *runs_of)
        return cls(notebook, results_dir, compute, same)

    def trained(self, run_dir: Path) -> str:
        """Count the run just trained in ``run_dir``; returns the line (see the class docstring)."""
        self.runs.append(run_dir.name)
        minutes, planned = run_summary(run_dir)["minutes"], self.plan_train_s.get(run_dir.name)
        if minutes is not None and planned:
            self.pace = [self.pace[0] + minutes * 60, self.pace[1] + planned]
        n, seconds = self.expectation.runs_left([self.notebook], 0, finished_runs(self.results_dir), self.runs,
                                                self.same_runs, self.started)
        pace = self.pace[0] / self.pace[1] if self.pace[1] else 1.0
        return (f"{self.notebook}: about {runs_text(n)} to do, "
                f"about {format_minutes(seconds * pace / 60)} left (the last full run's plan)")
