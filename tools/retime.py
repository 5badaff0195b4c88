"""Train stored runs again, check that they end on the stored bits, and record how long the
training took this time beside what the run first recorded.

A run records its training time as wall time. Trained while other work shared the cores, or
while its process was paused, it recorded more than its training costs, and
`papers_results/compute.{json,md}` (`tools/run_costs.py`) sums those times. Such a run is
retimed: trained again from its `config.json` into a scratch folder, in a fresh process with the
CPU dispatch it recorded (pinned or not, `mmlkit.runtime.PINNED_DISPATCH`) and its thread count;
its final and best checkpoints must equal the stored ones weight for weight, or the run is left
as it was and the tool says so. A retimed run's `run.json` gains `timings.retimed`:
`{"train_s", "date", "cpu", "cpu_capability", "same_bits": true}`, which `tools/run_costs.py`
counts instead of the first recording, and the quiet training's epoch logs are kept in the run's
`retimed/` folder, which `tools/run_phases.py` reads instead of the slowed ones. Run it on a quiet
machine: what it measures is wall time too.

    .venv/bin/python tools/retime.py RUN_DIR [RUN_DIR ...]
    .venv/bin/python tools/retime.py --slower STORE [--factor 1.3] [--dry-run]

``--slower`` picks, in a store, the finished runs whose seconds per epoch
(`mmlkit.results.store.training_seconds`: a retimed run's retimed time) exceed ``factor``
times the median of the runs with the same models (``RGB``, ``RGB-Flow``, ...): the ones a busy
machine slowed down. ``--dry-run`` lists them without training.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mmlkit.results.store import RETIMED_LOGS, training_seconds

REPO = Path(__file__).resolve().parents[1]


def _read(path: Path) -> dict:
    return json.loads(path.read_text())


def slower_runs(store: Path, factor: float) -> list[tuple[Path, float, float]]:
    """``(run folder, its seconds per epoch, the median of its kind)`` for each finished run of
    ``store`` slower than ``factor`` times the median of the runs with the same models."""
    kinds: dict[str, list[tuple[Path, float]]] = {}
    for d in sorted((store / "runs").glob("*/done.json")):
        run = d.parent
        epochs = int(_read(run / "config.json")["optim"]["epochs"])
        kinds.setdefault(run.name.split("_s")[0], []).append((run, training_seconds(run) / epochs))
    out = []
    for runs in kinds.values():
        median = statistics.median(s for _, s in runs)
        out += [(run, s, median) for run, s in runs if s > factor * median]
    return out


def _child_env(run_dir: Path) -> dict[str, str]:
    """This process's environment with the dispatch the run recorded (pinned or not)."""
    from mmlkit.runtime import PINNED_DISPATCH, dispatch_pinned, pinned_env

    env = {k: v for k, v in os.environ.items() if k not in PINNED_DISPATCH}
    recorded = (_read(run_dir / "run.json").get("env") or {}).get("dispatch") or {}
    return pinned_env(env) if dispatch_pinned({k: v for k, v in recorded.items() if v is not None}) else env


def retrain(run_dir: Path, logs_to: Path | None = None) -> dict:
    """In this process: train ``run_dir``'s config again in a scratch folder; its time and whether
    every checkpoint equals the stored one. With ``logs_to``, the training's epoch logs
    (``log_model*.csv``) are copied there."""
    import torch

    from mmlkit.config import RunConfig, store_path
    from mmlkit.data import resolve_root
    from mmlkit.training import train

    store = run_dir.parent.parent

    # its checkpoints (tune_from, pretrained) in the run's own store, wherever that is now
    cfg = RunConfig.from_dict(_read(run_dir / "config.json")).with_checkpoint_paths(lambda p: store_path(p, store))
    threads = (_read(run_dir / "run.json").get("env") or {}).get("threads")
    if threads:
        torch.set_num_threads(int(threads))
    resolve_root(cfg.data)  # the data set exists before the clock starts
    with tempfile.TemporaryDirectory(prefix="retime_") as tmp:
        t0 = time.perf_counter()
        train(cfg, Path(tmp), progress=False)
        seconds = time.perf_counter() - t0
        same = True
        for stored in sorted(run_dir.glob("model*.pt")):
            a = torch.load(stored, weights_only=False)["state_dict"]
            b = torch.load(Path(tmp) / stored.name, weights_only=False)["state_dict"]
            same &= a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
        if logs_to is not None:
            logs_to.mkdir(parents=True, exist_ok=True)
            for log in sorted(Path(tmp).glob("log_model*.csv")):
                shutil.copy2(log, logs_to / log.name)
    return {"train_s": round(seconds, 3), "same_bits": bool(same),
            "cpu_capability": torch.backends.cpu.get_cpu_capability()}


def retime(run_dir: Path) -> dict:
    """Retrain ``run_dir`` in a process of its own with the run's dispatch; when the bits agree,
    write ``timings.retimed`` and keep the quiet training's epoch logs in ``run_dir/retimed/``.
    Returns what the child measured."""
    from mmlkit.runtime import cpu_model

    if not (run_dir / "done.json").is_file():
        raise SystemExit(f"retime: {run_dir} is not a finished run (no done.json)")
    with tempfile.TemporaryDirectory(prefix="retime_logs_") as logs:
        out = subprocess.run([sys.executable, __file__, "--child", str(run_dir), "--logs", logs],
                             env=_child_env(run_dir), cwd=REPO, capture_output=True, text=True)
        if out.returncode:
            raise SystemExit(f"retime: training {run_dir.name} again failed:\n{out.stderr[-2000:]}")
        got = json.loads(out.stdout.strip().splitlines()[-1])
        if got["same_bits"]:
            info = _read(run_dir / "run.json")
            info.setdefault("timings", {})["retimed"] = {**got, "date": time.strftime("%Y-%m-%d"), "cpu": cpu_model()}
            from mmlkit.fileio import write_json

            # the logs first, run.json last: run_phases reads retimed/ only beside a retimed time
            kept = run_dir / RETIMED_LOGS
            shutil.rmtree(kept, ignore_errors=True)
            shutil.copytree(logs, kept)
            write_json(run_dir / "run.json", info)
    return got


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="*", type=Path, help="run folders (<store>/runs/<name>)")
    ap.add_argument("--slower", type=Path, metavar="STORE", help="retime the runs of STORE slower than the median")
    ap.add_argument("--factor", type=float, default=1.3)
    ap.add_argument("--dry-run", action="store_true", help="with --slower: list the runs, train nothing")
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--logs", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(retrain(args.child, args.logs)))
        return 0
    runs = list(args.runs)
    if args.slower:
        found = slower_runs(args.slower, args.factor)
        for run, s, median in found:
            print(f"[retime] {run.name}: {s:.2f} s per epoch, {s / median:.2f}x the median of its kind "
                  f"({median:.2f} s)")
        if args.dry_run:
            return 0
        runs += [run for run, _, _ in found]
    if not runs:
        ap.error("name run folders or --slower STORE")
    failed = []
    for k, run in enumerate(runs, 1):
        got = retime(run)
        verdict = "same bits, recorded" if got["same_bits"] else "OTHER BITS: not recorded"
        print(f"[retime] {k}/{len(runs)} {run.name}: {training_seconds(run, retimed=False) / 60:.1f} min first, "
              f"{got['train_s'] / 60:.1f} min now ({got['cpu_capability']}); {verdict}", flush=True)
        if not got["same_bits"]:
            failed.append(run.name)
    if failed:
        print(f"[retime] {len(failed)} run(s) trained other bits here, their times left as they were: {failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
