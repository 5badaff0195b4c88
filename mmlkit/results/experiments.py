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

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import pandas as pd

from mmlkit.config import (EvalConfig, RunConfig, finetune_epochs, pretrain_profile, profile as profile_config,
                           with_overrides)

#: Test view plans the notebooks use, by name (method.md's orders).
PLANS: dict[str, EvalConfig] = {
    "centre": EvalConfig(),
    "twice": EvalConfig(twice=True),
    "dense": EvalConfig(mode="dense", dense_number=1),
    "dense_x3": EvalConfig(mode="dense", dense_number=3),
    "both": EvalConfig(mode="random", dense_number=1),
    "centre_3crops": EvalConfig(test_crops=3),
    "both_3crops": EvalConfig(mode="random", dense_number=1, test_crops=3),
}


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
        results_dir: the runs store (``None``: ``results/<profile>`` at the repository root).
    """

    profile: str = "default"
    seeds: tuple[int, ...] | None = None
    dataset: str = "synthetic"
    data_root: str | None = None
    device: str = "cpu"
    workers: int = 0
    results_dir: str | None = None
    _cache: dict = field(default_factory=dict, compare=False, hash=False, repr=False)

    def __post_init__(self) -> None:
        seeds = self.seeds if self.seeds is not None else ((0,) if self.profile == "smoke" else (0, 1, 2))
        object.__setattr__(self, "seeds", tuple(int(s) for s in seeds))
        if self.results_dir is None:
            repo = Path(__file__).resolve().parents[2]
            object.__setattr__(self, "results_dir", str(repo / "results" / self.profile))

    # ---------------------------------------------------------------- configurations
    def base(self) -> RunConfig:
        """The profile's config with this study's dataset, root, device and workers."""
        cfg = profile_config(self.profile, device=self.device)
        data: dict = {"workers": self.workers, "dataset": self.dataset}
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
        if "image" not in self._cache:
            from mmlkit.training import pretrain_image_backbone

            pcfg = pretrain_profile(self.profile)
            tag = f"{cfg.model.arch}-{cfg.data.synth_preset}-n{pcfg.n_images}-e{pcfg.epochs}"
            path = Path(self.results_dir) / "pretrained" / f"{tag}-image.pt"
            if not path.exists():
                pretrain_image_backbone(cfg.model, path, preset=cfg.data.synth_preset, seed=0,
                                        cfg=pcfg)
            self._cache["image"] = str(path)
        return self._cache["image"]

    def single(self, modality: str, seed: int, init: str = "image", sample: str | None = None,
               schedule: str = "auto") -> RunConfig:
        """One model of ``modality``, started from image pretraining, the RGB model, or scratch."""
        return self.cohort((modality,), seed, init=init, sample=sample, schedule=schedule)

    def cohort(self, modalities: Sequence[str], seed: int, init: str = "rgb", mode: str = "mean_logits",
               sample: str | None = None, schedule: str = "auto") -> RunConfig:
        """Models of ``modalities`` trained together (mutual learning when more than one).

        Args:
            init: ``image`` (image pretraining), ``rgb`` (the trained RGB model of the same seed:
                stage 2 of the recipe) or ``scratch``.
            mode: the mutual loss mode (``mean_logits`` | ``per_peer``).
            sample: training sampling (``None``: the profile's).
            schedule: ``full`` (the profile's epochs), ``finetune`` (stage-2 epochs,
                :func:`mmlkit.config.finetune_epochs`) or ``auto`` (finetune when ``init="rgb"``).
        """
        if init not in ("image", "rgb", "scratch"):
            raise ValueError(f"init={init!r} must be 'image', 'rgb' or 'scratch'")
        if schedule not in ("auto", "full", "finetune"):
            raise ValueError(f"schedule={schedule!r} must be 'auto', 'full' or 'finetune'")
        cfg = self.base()
        if schedule == "finetune" or (schedule == "auto" and init == "rgb"):
            cfg = with_overrides(cfg, optim={"epochs": finetune_epochs(self.profile)})
        model = {"pretrained": self.image_weights() if init == "image" else None}
        tune_from = self.rgb_checkpoint(seed) if init == "rgb" else None
        data = {"sample": sample} if sample else {}
        return with_overrides(cfg, modalities=tuple(modalities), seed=seed, tune_from=tune_from, model=model,
                              data=data, mutual={"mode": mode})

    # ---------------------------------------------------------------- running
    def run(self, cfg: RunConfig, plans: Iterable[str] = ("centre",)):
        """Train (only if missing) and score ``cfg`` on the validation split for each view plan."""
        from mmlkit.results.store import load_or_run

        return load_or_run(cfg, self.store, eval_plans={p: PLANS[p] for p in plans})

    def rgb_checkpoint(self, seed: int) -> str:
        """The RGB model trained from image pretraining for ``seed`` (trained on first use)."""
        key = ("rgb", seed)
        if key not in self._cache:
            run = self.run(self.single("RGB", seed, init="image"))
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
