"""Content-addressed runs: a training config's hash names the folder that holds its results.

Layout of a store (``results_dir``)::

    runs/<Mods>_s<seed>_<hash>/           hash = sha256(digest of the config with store-relative
                                          checkpoint paths + STORE_VERSION)[:12]
        config.json                       the full RunConfig (to_dict)
        run.json                          hash, store version, timings, environment, plans scored
        model{i}_{Mod}.pt, log_model{i}_{Mod}.csv, done.json, ...   (written by training)
        scores/<plan>/eval.json           the EvalConfig of the plan
        scores/<plan>/model{i}_{Mod}.npz  view-averaged validation scores (evaluation.Scores)

    pretrained/<arch>_<hash>/             hash = sha256(PretrainConfig + generator version + preset)[:12]
        backbone.pt, pretrain.json        the image-pretraining stand-in and its held-out accuracy

Two notebooks asking for the same config get the same folder, so each run is trained once
(a config whose ``tune_from`` names another run's checkpoint is simply part of its hash).
Training is resumable (``train(..., resume=True)``), scoring is skipped when stored.
Scores are computed with the last-epoch checkpoints (``model{i}_{Mod}.pt``), not the ones
chosen on the validation split.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from mmlkit.config import EvalConfig, PretrainConfig, RunConfig, model_name
from mmlkit.errors import MmlkitError
from mmlkit.fileio import write_json
from mmlkit.runlock import run_lock
from mmlkit.runtime import allocator_environment, cpu_model, dispatch_environment, dispatch_pinned, torch_threads

#: Bump when what a run folder means changes (training or scoring semantics): old runs are not reused.
STORE_VERSION = "1"

Scorer = Callable[[RunConfig, Path, int, EvalConfig, bool], Any]  # -> evaluation.Scores


class StoreError(MmlkitError):
    """A run folder is inconsistent with the config that addresses it."""


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text()) if path.exists() else None


#: The repository root (the package is installed in place). The default store, the notebooks'
#: relative paths and the committed benchmark records are read from here.
REPO = Path(__file__).resolve().parents[2]


def default_results_dir(profile: str, pinned: bool | None = None) -> Path:
    """``results/<profile>`` at the repository root: the store the notebooks and the CLI share.

    For pinned runs (``pinned``; ``None``: whether this process's CPU dispatch is pinned,
    :func:`mmlkit.runtime.dispatch_pinned`, as ``./run_all.sh`` pins it by default),
    ``results/<profile>-pinned``: a run's address is its config, and on an AVX-512 host the same
    config trains other bits pinned than unpinned, so the two never share a store (a pinned full
    run would otherwise reuse the unpinned runs and mix the two).
    """
    pinned = dispatch_pinned() if pinned is None else pinned
    return REPO / "results" / (f"{profile}-pinned" if pinned else profile)


def _run_stem(cfg: RunConfig) -> str:
    """A run folder's name before its hash: ``<Mods>_s<seed>_``."""
    return f"{'-'.join(cfg.modalities)}_s{cfg.seed}_"


def run_hash(cfg: RunConfig) -> str:
    """12 hex digits addressing ``cfg`` in a store: its digest (checkpoint paths made portable) and
    :data:`STORE_VERSION`."""
    return hashlib.sha256(f"{cfg.digest()}:{STORE_VERSION}".encode()).hexdigest()[:12]


#: Packages whose versions can change a run's floats (data, flow, training); recorded with every run.
NUMERIC_PACKAGES: tuple[str, ...] = ("numpy", "opencv-python-headless", "opencv-contrib-python-headless", "decord",
                                     "av", "scipy")


def environment() -> dict[str, Any]:
    """What a run's floats depend on besides its config: mmlkit's, torch's and the numeric
    packages' versions, the CPU (model and the vector instructions torch uses), CPU count, torch threads,
    the CUDA device (if any). Recorded with every run, so two stores can be told apart."""
    from importlib import metadata

    import torch

    import mmlkit

    env = {"mmlkit": mmlkit.__version__, "torch": torch.__version__, "python": platform.python_version(),
           "machine": platform.machine(),
           "platform": platform.platform(), "cpus": os.cpu_count(), "threads": torch.get_num_threads(),
           "cpu": cpu_model(), "cpu_capability": torch.backends.cpu.get_cpu_capability()}
    env["dispatch"] = dispatch_environment()  # the CPU-dispatch pins (mmlkit.runtime.PINNED_DISPATCH)
    env["malloc"] = allocator_environment()    # freed memory kept for reuse (mmlkit.runtime.keep_freed_memory)
    for name in NUMERIC_PACKAGES:
        try:
            env[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    if torch.cuda.is_available():
        env["cuda_device"] = torch.cuda.get_device_name(0)
    return env


#: a retimed run's folder (``tools/retime.py``) of the epoch logs its quiet retraining wrote
RETIMED_LOGS = "retimed"


def training_seconds(run_dir: str | Path, retimed: bool = True) -> float:
    """What a stored run's training cost, in seconds of wall time.

    ``timings.retimed.train_s`` of ``run.json`` when the run was trained again on a quiet machine
    to the same bits (``tools/retime.py``) and ``retimed``; otherwise the larger of ``run.json``'s
    ``train_s`` and the sum of the epochs' own times in its log (an interrupted and resumed run
    of an older store recorded only its last part in ``train_s``).
    """
    run_dir = Path(run_dir)
    timings = (_read_json(run_dir / "run.json") or {}).get("timings") or {}
    if retimed and (timings.get("retimed") or {}).get("train_s") is not None:
        return float(timings["retimed"]["train_s"])
    logs = sorted(run_dir.glob("log_model0_*.csv"))
    epochs = float(pd.read_csv(logs[0])["seconds"].sum()) if logs else 0.0  # one cohort epoch a row
    return max(float(timings.get("train_s", 0.0)), epochs)


def model_names(cfg: RunConfig) -> list[str]:
    """``model{i}_{Mod}`` for each model of the cohort (training's file stems)."""
    return [model_name(i, m) for i, m in enumerate(cfg.modalities)]


class Run:
    """One stored run. Attributes: ``config`` (RunConfig), ``dir`` (Path)."""

    def __init__(self, config: RunConfig, dir: str | Path) -> None:
        self.config = config
        self.dir = Path(dir)

    def __repr__(self) -> str:
        return f"Run({self.dir.name}, modalities={self.config.modalities}, seed={self.config.seed})"

    @property
    def hash(self) -> str:
        return run_hash(self.config)

    @property
    def names(self) -> list[str]:
        return model_names(self.config)

    @property
    def checkpoints(self) -> list[Path]:
        """Last-epoch checkpoints, one per model, in cohort order."""
        return [self.dir / f"{n}.pt" for n in self.names]

    @property
    def best_checkpoints(self) -> list[Path]:
        return [self.dir / f"{n}_best.pt" for n in self.names]

    @property
    def done(self) -> bool:
        return (self.dir / "done.json").exists()

    @property
    def metrics(self) -> dict[str, Any]:
        """Training's ``done.json`` (final and best validation metrics per model); {} if unfinished."""
        return _read_json(self.dir / "done.json") or {}

    @property
    def info(self) -> dict[str, Any]:
        """``run.json``: hash, store version, timings, environment, plans."""
        return _read_json(self.dir / "run.json") or {}

    def plans(self) -> list[str]:
        """Names of the view plans with stored scores."""
        d = self.dir / "scores"
        return sorted(p.name for p in d.iterdir() if (p / "eval.json").exists()) if d.exists() else []

    def score_path(self, plan: str, index: int) -> Path:
        return self.dir / "scores" / plan / f"{self.names[index]}.npz"

    def scores(self, plan: str) -> list:
        """The stored validation :class:`~mmlkit.evaluation.Scores` of each model for ``plan``.

        Raises:
            StoreError: the plan was not scored for this run (name the plans that were).
        """
        from mmlkit.evaluation import Scores

        paths = [self.score_path(plan, i) for i in range(len(self.names))]
        missing = [p for p in paths if not p.exists()]
        if missing:
            raise StoreError(f"run {self.dir}: no stored scores for plan {plan!r} ({missing[0].name}); "
                             f"stored plans: {self.plans()}; call load_or_run(..., eval_plans={{{plan!r}: ...}})")
        return [Scores.load(p) for p in paths]

    def logs(self) -> pd.DataFrame:
        """Training logs of all models, one row per (model, epoch); column ``model`` added."""
        frames = []
        for i, n in enumerate(self.names):
            p = self.dir / f"log_{n}.csv"
            if p.exists():
                df = pd.read_csv(p)
                df.insert(0, "model", n)
                df.insert(1, "modality", self.config.modalities[i])
                frames.append(df)
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


class RunStore:
    """A folder of content-addressed runs (see the module docstring)."""

    def __init__(self, results_dir: str | Path) -> None:
        self.root = Path(results_dir)

    def __repr__(self) -> str:
        return f"RunStore({str(self.root)!r})"

    def run_dir(self, cfg: RunConfig) -> Path:
        """``runs/<Mods>_s<seed>_<hash>``; a folder an older store made under
        :func:`~mmlkit.results.migrate.legacy_run_hash` is used where it exists and the portable
        one does not."""
        from mmlkit.results.migrate import legacy_run_hash

        d = self.root / "runs" / f"{_run_stem(cfg)}{run_hash(cfg)}"
        legacy = self.root / "runs" / f"{_run_stem(cfg)}{legacy_run_hash(cfg)}"
        return legacy if not d.exists() and legacy.exists() else d

    def migrate(self) -> list[tuple[str, str]]:
        """Move every run to its portable address (:func:`run_hash`), so the store can move: see
        :func:`mmlkit.results.migrate.migrate_store`."""
        from mmlkit.results.migrate import migrate_store

        return migrate_store(self)

    def get(self, cfg: RunConfig) -> Run:
        """The Run of ``cfg`` (its folder may not exist yet)."""
        return Run(cfg, self.run_dir(cfg))

    def runs(self) -> pd.DataFrame:
        """One row per stored run: hash, dir, modalities, seed, tune_from, arch, epochs, done,
        plans, and per model ``final_top1``/``best_top1`` from ``done.json``."""
        rows = []
        base = self.root / "runs"
        for d in sorted(base.iterdir()) if base.exists() else []:
            raw = _read_json(d / "config.json")
            if raw is None:
                continue
            cfg = RunConfig.from_dict(raw)
            run = Run(cfg, d)
            row: dict[str, Any] = {"hash": run_hash(cfg), "dir": str(d), "modalities": ",".join(cfg.modalities),
                                   "seed": cfg.seed, "tune_from": cfg.tune_from, "arch": cfg.model.arch,
                                   "epochs": cfg.optim.epochs, "done": run.done, "plans": ",".join(run.plans())}
            for m in run.metrics.get("models", []):
                for k in ("final_top1", "best_top1"):
                    row[f"{model_name(m.get('index'), m.get('modality'))}_{k}"] = m.get(k)
            rows.append(row)
        return pd.DataFrame(rows)


def pretrain_key(cfg: PretrainConfig) -> dict[str, Any]:
    """Everything the stand-in's weights depend on: its config, the generator's version and the
    preset's numbers (a preset of the same name may change between generator versions), less the
    held-out split's size, which no training image depends on (:func:`mmlkit.data.synthetic.identity`)."""
    from mmlkit.data import synthetic

    return {"config": cfg.to_dict(), "generator_version": synthetic.GENERATOR_VERSION,
            "preset": synthetic.identity(synthetic.get_preset(cfg.preset)), "store_version": STORE_VERSION}


def pretrain_hash(cfg: PretrainConfig) -> str:
    """12 hex digits addressing an image-pretraining stand-in in a store."""
    return hashlib.sha256(json.dumps(pretrain_key(cfg), sort_keys=True).encode()).hexdigest()[:12]


def load_or_pretrain(cfg: PretrainConfig, store: RunStore, progress: bool = True) -> dict[str, Any]:
    """The stored image-pretraining stand-in of ``cfg``, trained first if missing.

    The CLI (``python -m mmlkit pretrain``) and the notebooks (``Study.image_weights``) both call
    this, so the same config gives the same file, found by the hash of everything it depends on.

    Returns:
        ``pretrain.json``: ``path`` (the backbone state dict), ``heldout_top1``, ``chance``,
        ``n_heldout``, ``seconds``, ``hash``, ``key`` (what the hash covers), ``env``.
    """
    from mmlkit.training import pretrain_image_backbone

    folder = store.root / "pretrained" / f"{cfg.arch}_{pretrain_hash(cfg)}"
    info = _read_json(folder / "pretrain.json")
    if info is not None and (folder / "backbone.pt").exists():
        return {**info, "path": str(folder / "backbone.pt")}
    with run_lock(folder, what="pretrained"):  # another process may be pretraining it: wait, then read
        info = _read_json(folder / "pretrain.json")
        if info is not None and (folder / "backbone.pt").exists():
            return {**info, "path": str(folder / "backbone.pt")}
        res = pretrain_image_backbone(cfg, folder / "backbone.pt", progress=progress)
        info = {**res, "path": str(folder / "backbone.pt"), "hash": pretrain_hash(cfg), "key": pretrain_key(cfg),
                "env": environment()}
        write_json(folder / "pretrain.json", info)
        return info


def _default_scorer(cfg: RunConfig, checkpoint: Path, index: int, eval_cfg: EvalConfig, progress: bool):
    from mmlkit.data import build_dataset, make_loader, scoring_split
    from mmlkit.evaluation import score_model, view_plan
    from mmlkit.models import load_checkpoint

    model = load_checkpoint(checkpoint)
    split = scoring_split(cfg.data, eval_cfg.split)
    ds = build_dataset(cfg.data, split, (model.modality,), train=False, seed=cfg.seed,
                       eval_cfg=eval_cfg)
    loader = make_loader(ds, batch_size=eval_cfg.batch_size, shuffle=False, seed=cfg.seed, epoch=0,
                         workers=cfg.data.workers, drop_last=False)
    plan = view_plan(eval_cfg, cfg.data)
    return score_model(model, loader, cfg.device, progress, plan=plan, name=model_names(cfg)[index],
                       meta={"checkpoint": str(checkpoint), "modality": model.modality})


def load_or_run(cfg: RunConfig, store: RunStore, *, eval_plans: dict[str, EvalConfig] | None = None,
                progress: bool = True, train_fn: Callable[..., Any] | None = None,
                scorer: Scorer | None = None, by: str | None = None) -> Run:
    """The stored run of ``cfg``: trained (or resumed) if unfinished, scored for each plan if missing.

    The work is done holding the run folder's :func:`~mmlkit.runlock.run_lock`: a second
    process asking for the same run says so on one line, waits, then finds it done and reads it.
    A run with nothing left to do for ``eval_plans`` (:func:`nothing_to_do`) is read without
    the lock, so a reader neither waits for a process scoring other plans of it nor shows in
    ``python -m mmlkit runs`` as scoring it.

    Args:
        cfg: the run's config; its hash addresses the run folder.
        store: where runs live.
        eval_plans: view-plan name -> EvalConfig; each model's validation scores are stored under
            ``scores/<name>/``. A name whose stored EvalConfig differs is rescored (overwritten).
        progress: bars or summary lines (:mod:`mmlkit.progress`).
        train_fn: ``train(cfg, out_dir, resume=True, progress=...)`` (default
            :func:`mmlkit.training.train`); injectable for tests.
        scorer: ``(cfg, checkpoint, index, eval_cfg, progress) -> Scores`` (default: the last
            checkpoint on the plan's split, :func:`mmlkit.data.scoring_split`, through
            :func:`mmlkit.evaluation.score_model`).
        by: who asks (a notebook's name), kept in ``run.json`` as ``trained_by`` when this call
            trains: ``./run_all.sh --lanes`` runs notebooks side by side and names each
            finished run's notebook from it.

    Returns:
        The :class:`Run`.

    Raises:
        StoreError: the folder holds another config (a hash collision or a hand-edited folder),
            or training finished without writing a checkpoint.
    """
    run = store.get(cfg)
    if nothing_to_do(run, cfg, eval_plans):
        return run
    run.dir.mkdir(parents=True, exist_ok=True)
    with run_lock(run.dir, what="trained and scored", by=by):  # one process per run: a second one waits, then reads
        return _train_and_score(run, cfg, eval_plans, progress, train_fn, scorer, by)


def nothing_to_do(run: Run, cfg: RunConfig, eval_plans: dict[str, EvalConfig] | None) -> bool:
    """Whether :func:`load_or_run` would only read ``run``: trained, holding ``cfg``'s config, and
    each plan of ``eval_plans`` scored with the same views for every model.

    Safe without the run's lock: every file is written atomically, and ``run.json`` records a
    plan only after its scores are saved (``done.json`` likewise comes after the checkpoints),
    so a plan found there is complete.
    """
    if not run.done:
        return False
    stored = _read_json(run.dir / "config.json")
    if stored is None or RunConfig.from_dict(stored).portable() != cfg.portable():
        return False  # the locked path says what is wrong
    recorded = run.info.get("plans", {})
    return (all(p.exists() for p in run.checkpoints)
            and all(recorded.get(name) == asdict(ecfg)
                    and all(run.score_path(name, i).exists() for i in range(len(cfg.modalities)))
                    for name, ecfg in (eval_plans or {}).items()))


def _train_and_score(run: Run, cfg: RunConfig, eval_plans: dict[str, EvalConfig] | None, progress: bool,
                     train_fn: Callable[..., Any] | None, scorer: Scorer | None, by: str | None = None) -> Run:
    """:func:`load_or_run`'s work in ``run.dir``, done while holding its :func:`run_lock`."""
    stored = _read_json(run.dir / "config.json")
    if stored is not None and RunConfig.from_dict(stored).portable() != cfg.portable():
        raise StoreError(f"{run.dir / 'config.json'} holds another config than the one addressing it; "
                         "move that folder away")
    if stored is None:
        write_json(run.dir / "config.json", cfg.to_dict())
    info = run.info or {"hash": run.hash, "config_digest": cfg.digest(), "store_version": STORE_VERSION,
                        "created": time.strftime("%Y-%m-%dT%H:%M:%S"), "timings": {}, "plans": {}}
    if not run.done:
        if train_fn is None:
            from mmlkit.data import resolve_root
            from mmlkit.training import train as train_fn

            # the data set first: generating the benchmark and its flow (minutes, once per
            # machine) is not this run's training time, which the compute plan sums
            resolve_root(cfg.data)
        if by is not None:
            info["trained_by"] = by
            write_json(run.dir / "run.json", info)  # before done.json: a watcher reads it then
        t0 = time.perf_counter()
        try:
            train_fn(cfg, run.dir, resume=True, progress=progress)
        finally:  # an interrupted run keeps the time it spent: a resumed run's train_s is the whole cost
            info["timings"]["train_s"] = round(time.perf_counter() - t0 + info["timings"].get("train_s", 0.0), 3)
            info["env"] = environment()
            write_json(run.dir / "run.json", info)
    missing = [p for p in run.checkpoints if not p.exists()]
    if missing:
        raise StoreError(f"training of {run.dir} finished without writing {missing[0].name}")
    for name, ecfg in (eval_plans or {}).items():
        pdir = run.dir / "scores" / name
        want = asdict(ecfg)
        if _read_json(pdir / "eval.json") not in (None, want):
            shutil.rmtree(pdir)  # the plan's name now means other views: rescore
        todo = [i for i in range(len(cfg.modalities)) if not run.score_path(name, i).exists()]
        if not todo:
            continue
        pdir.mkdir(parents=True, exist_ok=True)
        write_json(pdir / "eval.json", want)
        t0 = time.perf_counter()
        for i in todo:
            with torch_threads(cfg.threads):
                s = (scorer or _default_scorer)(cfg, run.checkpoints[i], i, ecfg, progress)
            s.save(run.score_path(name, i))
        info["timings"].setdefault("score_s", {})[name] = round(time.perf_counter() - t0, 3)
        info["plans"][name] = want
        info.setdefault("env", environment())
        write_json(run.dir / "run.json", info)
    if not (run.dir / "run.json").exists():
        info["env"] = environment()
        write_json(run.dir / "run.json", info)
    return run
