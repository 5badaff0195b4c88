"""The paper's experiments as configurations, shared by every notebook.

A :class:`Study` turns the notebooks' common parameters (profile, seeds, dataset, ...) into
:class:`~mmlkit.config.RunConfig` objects. Because runs are content-addressed in the results
store, two notebooks that ask for the same experiment get the same run: the RGB model that
initialises every other model is trained once per seed.

The experiments (each per seed):

=====================  ==============================================  =====================
name                   what                                            init
=====================  ==============================================  =====================
``single(m, "image")``  one model of modality m                         image pretraining
``single(m, "rgb")``    one model of modality m                         the trained RGB model
``cohort(ms, "rgb")``   models of modalities ms learning mutually       the trained RGB model
=====================  ==============================================  =====================

"Image pretraining" is ImageNet for real Something-Something-v2 (``profile="paper"``); on the
embedded synthetic benchmark it is a stand-in: the same backbone trained on single frames drawn
from the benchmark's generator, labelled by appearance only (see
:func:`mmlkit.training.pretrain_image_backbone`). One stand-in backbone is shared by all seeds,
as ImageNet weights are.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Iterable, Sequence

import pandas as pd

from mmlkit.results.precision import SEED_CAP
# REPO, the repository root: a relative ``results_dir`` or ``output_dir`` of a notebook is read
# from it (a notebook runs in notebooks/, by papermill or a reader), and a path inside it is
# shown relative to it, so a page shows no machine's folders.
from mmlkit.results.store import REPO
from mmlkit.config import (EvalConfig, RunConfig, pretrain_profile, profile as profile_config, scale_schedule,
                           schedule_epochs, with_overrides)

#: Test view plans the notebooks use, by name (method.md's orders).
PLANS: dict[str, EvalConfig] = {
    "centre": EvalConfig(),
    "twice": EvalConfig(twice=True),
    "dense": EvalConfig(mode="dense", dense_number=1),
    "dense_x3": EvalConfig(mode="dense", dense_number=3),
    "both": EvalConfig(mode="random", dense_number=1),
    "centre_3crops": EvalConfig(test_crops=3),
    "both_3crops": EvalConfig(mode="random", dense_number=1, test_crops=3),
    "train": EvalConfig(split="train"),  # the centre view of every training video: the fit
}
#: The view plans of notebook 05 (frame sampling at test time).
SAMPLING_PLANS = ("centre", "twice", "dense", "dense_x3", "both", "centre_3crops", "both_3crops")
#: Every plan again on the labelled held-out split (``heldout`` is the centre view there): the
#: split claims are scored on, once per final model (:func:`mmlkit.data.scoring_split`).
PLANS.update({"heldout": EvalConfig(split="heldout"),
              **{f"heldout_{k}": replace(PLANS[k], split="heldout") for k in SAMPLING_PLANS if k != "centre"}})
#: The plan every claim and accuracy table reads; the validation split's ``centre`` stays for the
#: convergence checks and training curves.
SCORING_PLAN = "heldout"


def repo_path(path: str | Path) -> Path:
    """``path`` as an absolute path: a relative one (``"results/default"``) from the repository root."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else REPO / p


def shown_path(path: str | Path) -> str:
    """``path`` as a page shows it: relative to the repository root when inside it
    (``"results/default"``; ``"."`` for the root itself), else unchanged. A path inside the
    repository that leads elsewhere through a symlink (``results/`` linked to another disk) is
    still shown relative: the path as given is tried before the resolved one."""
    p = Path(path).expanduser()
    if not p.is_absolute():
        return p.as_posix()
    for candidate in (Path(os.path.normpath(p)), p.resolve()):
        try:
            return candidate.relative_to(REPO).as_posix()
        except ValueError:
            continue
    return str(path)


def heldout_plan(plan: str) -> str:
    """The held-out split's name of a validation view plan (``centre`` -> ``heldout``)."""
    return SCORING_PLAN if plan == "centre" else f"heldout_{plan}"


def parse_seeds(seeds: int | str | Iterable[int]) -> tuple[int, ...]:
    """Training seeds as a tuple: a list, one int, or text as ``papermill -p seeds`` passes it
    (``"[0, 1, 2]"``, ``"0,1,2"``, ``"3"``).

    >>> parse_seeds("[0, 1, 2]"), parse_seeds(3), parse_seeds([4, 5])
    ((0, 1, 2), (3,), (4, 5))

    Raises:
        ConfigError: something else (names the value).
    """
    from mmlkit.config import ConfigError

    items = [seeds] if isinstance(seeds, int) else (
        seeds.strip().strip("[]()").replace(",", " ").split() if isinstance(seeds, str) else list(seeds))
    try:
        out = tuple(int(s) for s in items)
        if any(not isinstance(s, str) and s != i for s, i in zip(items, out)):
            out = ()  # 1.5 is not a seed
    except (TypeError, ValueError):
        out = ()
    if not out or any(s < 0 for s in out):
        raise ConfigError(f"seeds={seeds!r}: give non-negative integers, e.g. [0, 1, 2] "
                          "(papermill: -p seeds '[0, 1, 2]' or -y 'seeds: [0, 1, 2]')")
    return out


@dataclass(frozen=True)
class Study:
    """The notebooks' common parameters, and the experiments built from them.

    Attributes:
        profile: ``smoke`` | ``default`` | ``paper``.
        seeds: training seeds; every experiment runs once per seed (``None``: ``(0,)`` in the
            smoke profile, ``(0, 1, 2)`` otherwise).
        dataset: ``synthetic`` | ``somethingv2`` | a path to an SSv2-format folder.
        data_root: the data root (``None``: the profile's; synthetic: the cache folder).
        device: ``cpu`` | ``cuda``.
        workers: data loader processes.
        results_dir: the runs store (``None``: ``results/<profile>`` at the repository root; a
            relative path is read from the repository root, :func:`repo_path`). Stored
            absolute; the repr shows it relative to the repository root (:func:`shown_path`).
        synth_seed: the draw of the synthetic benchmark (``dataset="synthetic"`` only; the image
            stand-in does not depend on it). Another draw checks that a verdict is not a
            property of one data set.
        seed_rule: the claims that decide (C1, C2, the C3 core) run the two-stage seed rule
            (:func:`mmlkit.results.analysis.decide`): ``seeds`` are its first stage, and the
            further seeds it asks for (``seeds_upto``) are trained. Off: ``seeds`` only.
        seed_cap: the most seeds the rule may ask for (:data:`mmlkit.results.precision.SEED_CAP`).
        threads: torch threads of every run the study trains and scores (``None``: the
            profile's, two in the default profile). The count is part of each run's config and
            bits: ``./run_all.sh --lanes 2`` runs two notebooks at once with one thread each,
            into runs of their own.
        notebook: the notebook this study serves (``"01_baselines_and_ensembles"``): after each
            run it trains, a progress line (``lines`` mode: papermill, nbval) counts the runs
            still to do against the last full run's plan (:class:`mmlkit.results.watch.PlanTracker`).
    """

    profile: str = "default"
    seeds: tuple[int, ...] | None = None
    dataset: str = "synthetic"
    data_root: str | None = None
    device: str = "cpu"
    workers: int = 0
    results_dir: str | None = None
    synth_seed: int = 0
    seed_rule: bool = True
    seed_cap: int = SEED_CAP
    threads: int | None = None
    notebook: str | None = None
    _cache: dict = field(default_factory=dict, compare=False, hash=False, repr=False)

    def __post_init__(self) -> None:
        seeds = self.seeds if self.seeds is not None else ((0,) if self.profile == "smoke" else (0, 1, 2))
        object.__setattr__(self, "seeds", parse_seeds(seeds))
        if self.threads is not None and (isinstance(self.threads, bool) or not isinstance(self.threads, int)
                                         or self.threads < 1):
            from mmlkit.config import ConfigError

            raise ConfigError(f"threads={self.threads!r}: give a positive integer, or None for the profile's")
        if self.results_dir is None:
            from mmlkit.results.store import default_results_dir

            object.__setattr__(self, "results_dir", str(default_results_dir(self.profile)))
        else:
            object.__setattr__(self, "results_dir", str(repo_path(self.results_dir)))

    def __repr__(self) -> str:
        """The fields, with ``results_dir`` relative to the repository root when inside it."""
        shown = {f.name: shown_path(self.results_dir) if f.name == "results_dir" else getattr(self, f.name)
                 for f in fields(self) if f.repr}
        return f"Study({', '.join(f'{k}={v!r}' for k, v in shown.items())})"

    def seeds_upto(self, n: int) -> tuple[int, ...]:
        """The first ``n`` seeds: ``seeds``, then the integers after the largest of them."""
        seeds = list(self.seeds)[:max(int(n), 1)]
        while len(seeds) < n:
            seeds.append(max(seeds) + 1)
        return tuple(seeds)

    # ---------------------------------------------------------------- configurations
    def base(self) -> RunConfig:
        """The profile's config with this study's dataset, root, device, workers and threads."""
        cfg = profile_config(self.profile, device=self.device)
        if self.threads is not None:
            cfg = with_overrides(cfg, threads=self.threads)
        data: dict = {"workers": self.workers, "dataset": self.dataset, "synth_seed": int(self.synth_seed)}
        if self.data_root is not None:
            data["root"] = self.data_root
        elif self.dataset not in ("synthetic", "somethingv2"):
            data["root"] = self.dataset  # a path to an SSv2-format folder
        elif self.dataset != cfg.data.dataset:
            data["root"] = None if self.dataset == "synthetic" else cfg.data.root
        return with_overrides(cfg, data=data)

    @property
    def store(self):
        """The :class:`~mmlkit.results.store.RunStore` of ``results_dir``."""
        if "store" not in self._cache:
            from mmlkit.results.store import RunStore

            self._cache["store"] = RunStore(self.results_dir)
        return self._cache["store"]

    def image_weights(self) -> str | None:
        """Image-pretrained backbone weights: ImageNet for real data, the stand-in for synthetic."""
        cfg = self.base()
        if cfg.data.dataset != "synthetic":
            return cfg.model.pretrained
        return self.pretraining()["path"]

    def pretraining(self) -> dict:
        """The image-pretraining stand-in of this study's profile (synthetic data only): its
        stored ``pretrain.json`` (path, held-out shape accuracy, chance, ...), trained on first use
        through :func:`mmlkit.results.store.load_or_pretrain`."""
        if "image" not in self._cache:
            from mmlkit.results.store import load_or_pretrain

            self._cache["image"] = load_or_pretrain(pretrain_profile(self.profile), self.store)
        return self._cache["image"]

    def single(self, modality: str, seed: int, init: str = "image", sample: str | None = None,
               schedule: str = "auto", epochs: int | None = None, like: Sequence[str] | None = None) -> RunConfig:
        """One model of ``modality``, started from image pretraining, the RGB model, its own
        stage-1 model (``init="self"``: a second round of training) or scratch."""
        return self.cohort((modality,), seed, init=init, sample=sample, schedule=schedule, epochs=epochs, like=like)

    def cohort(self, modalities: Sequence[str], seed: int, init: str = "rgb", mode: str = "mean_logits",
               sample: str | None = None, schedule: str = "auto", epochs: int | None = None,
               like: Sequence[str] | None = None) -> RunConfig:
        """Models of ``modalities`` trained together (mutual learning when more than one).

        Args:
            init: ``image`` (image pretraining), ``rgb`` (the trained RGB model of the same seed:
                stage 2 of the recipe), ``self`` (the stage-1 model of ``modalities[0]``, same
                seed: a second round of training, the convergence check) or ``scratch``.
            mode: the mutual loss mode (``mean_logits`` | ``per_peer``).
            sample: training sampling (``None``: the profile's).
            schedule: ``full`` (the stage-1 schedule: a single model trains its modality's
                :func:`mmlkit.config.stage1_epochs`, a cohort the profile's epochs),
                ``finetune`` (stage-2 epochs, :func:`mmlkit.config.finetune_epochs`) or ``auto``
                (finetune when started from the RGB model, full otherwise: a second round,
                ``init="self"``, repeats the stage-1 schedule).
            epochs: another schedule length for the whole recipe: this run and the stage-1
                model it starts from both train ``epochs``, with the step epochs of the
                schedule scaled by the same factor (notebook 06's short regime).
            like: a stage-2 run trains as long as a cohort of these modalities would
                (:func:`mmlkit.config.finetune_epochs`; default: its own), so that a baseline
                is compared with a cohort at equal epochs (the RGB model alone ``like=("RGB",
                "Flow")`` against MML RGB,Flow).
        """
        if init not in ("image", "rgb", "self", "scratch"):
            raise ValueError(f"init={init!r} must be 'image', 'rgb', 'self' or 'scratch'")
        if schedule not in ("auto", "full", "finetune"):
            raise ValueError(f"schedule={schedule!r} must be 'auto', 'full' or 'finetune'")
        cfg = self.base()
        if epochs is not None:  # the schedule shrinks as a whole: step epochs scale with it
            cfg = with_overrides(cfg, optim=scale_schedule(cfg.optim, epochs))
        else:  # a second round (init="self") repeats the stage-1 schedule
            stage2 = schedule == "finetune" or (schedule == "auto" and init == "rgb")
            n = schedule_epochs(self.profile, modalities, stage2, like)
            if n is not None:
                cfg = with_overrides(cfg, optim=scale_schedule(cfg.optim, n))
        model = {"pretrained": self.image_weights() if init == "image" else None}
        tune_from = None
        if init in ("rgb", "self"):
            tune_from = self.stage1_checkpoint("RGB" if init == "rgb" else modalities[0], seed, epochs)
        data = {"sample": sample} if sample else {}
        return with_overrides(cfg, modalities=tuple(modalities), seed=seed, tune_from=tune_from, model=model,
                              data=data, mutual={"mode": mode})

    # ---------------------------------------------------------------- running
    def run(self, cfg: RunConfig, plans: Iterable[str] = (SCORING_PLAN,)):
        """Train (only if missing) and score ``cfg`` for each view plan (:data:`PLANS`; each names its split)."""
        from mmlkit.results.store import load_or_run

        trains = not self.store.get(cfg).done
        run = load_or_run(cfg, self.store, eval_plans={p: PLANS[p] for p in plans}, by=self.notebook)
        if trains:
            self._count_trained(run)
        return run

    def _count_trained(self, run) -> None:
        """The notebook's progress line after a run it trained (:attr:`notebook`; no plan: none)."""
        if self.notebook is None:
            return
        from mmlkit.progress import summary
        from mmlkit.results.watch import PlanTracker

        if "plan" not in self._cache:
            self._cache["plan"] = PlanTracker.for_notebook(self.notebook, self.results_dir, self.profile,
                                                           runs_of=(self.seeds, self.synth_seed, self.dataset))
        if self._cache["plan"] is not None:
            summary(self._cache["plan"].trained(run.dir))

    def rgb_checkpoint(self, seed: int) -> str:
        """The RGB model trained from image pretraining for ``seed`` (trained on first use)."""
        return self.stage1_checkpoint("RGB", seed)

    def stage1_checkpoint(self, modality: str, seed: int, epochs: int | None = None) -> str:
        """The ``modality`` model trained from image pretraining for ``seed`` (``epochs``: another
        schedule length than the profile's), trained on first use."""
        key = (modality, seed, epochs)
        if key not in self._cache:
            run = self.run(self.single(modality, seed, init="image", epochs=epochs))
            self._cache[key] = str(run.checkpoints[0])
        return self._cache[key]

    # ---------------------------------------------------------------- results as tables
    def accuracy(self, runs: dict[str, Sequence], plan: str = "centre") -> pd.DataFrame:
        """A tidy frame of every model's validation accuracy.

        Args:
            runs: experiment name -> the runs of that experiment, one per seed (``Run`` objects).
            plan: the view plan whose stored scores are read.

        Returns:
            One row per (experiment, seed, model): columns ``experiment, seed, model, modality,
            top1, top5`` (percent). ``model`` is ``"<index>:<modality>"``.
        """
        from mmlkit.evaluation import topk_accuracy

        rows = []
        for name, rs in runs.items():
            for run in rs:
                for i, sc in enumerate(run.scores(plan)):
                    mod = run.config.modalities[i]
                    rows.append({"experiment": name, "seed": run.config.seed, "model": f"{i}:{mod}",
                                 "modality": mod, "top1": 100 * topk_accuracy(sc.scores, sc.labels, 1),
                                 "top5": 100 * topk_accuracy(sc.scores, sc.labels, 5)})
        return pd.DataFrame(rows)


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def config_differences(configs: dict[str, RunConfig], store: str | None = None) -> pd.DataFrame:
    """The fields in which run configs differ, one column per config: what a comparison varies.

    Args:
        configs: label -> config (e.g. the two sides of a claim).
        store: a results folder; paths inside it are shown relative to it (``<store>/...``),
            so a checkpoint reads as the run that made it.

    Returns:
        One row per differing field (dotted names, e.g. ``optim.epochs``), one column per label.
    """
    flat = {name: _flat(cfg.to_dict()) for name, cfg in configs.items()}
    keys = list(dict.fromkeys(k for f in flat.values() for k in f))
    rows = {k: [f.get(k) for f in flat.values()] for k in keys}
    differ = {k: v for k, v in rows.items() if any(x != v[0] for x in v[1:])}

    def show(v):
        if store and isinstance(v, str) and v.startswith(str(store)):
            return "<store>" + v[len(str(store)):]
        return v if not isinstance(v, (list, tuple)) else ", ".join(map(str, v))

    table = pd.DataFrame({name: [show(differ[k][i]) for k in differ] for i, name in enumerate(flat)},
                         index=pd.Index(list(differ), name="field"))
    from mmlkit.results.tables import with_formats

    return with_formats(table.reset_index(), "g")  # a page shows a config's numbers as they are (lr 0.001)
