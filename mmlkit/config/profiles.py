"""The profiles (smoke, default, paper): the only place where each profile's numbers live."""

from __future__ import annotations

import dataclasses
from dataclasses import replace
from typing import Any, Sequence

from mmlkit.config.schema import (DataConfig, ModelConfig, OptimConfig, PretrainConfig,
                                  RunConfig)
from mmlkit.config.vocab import PROFILES, _check, _choice


# --------------------------------------------------------------------------------------------
# Profiles: the only place where the numbers of each profile live.
# --------------------------------------------------------------------------------------------

def _smoke() -> RunConfig:
    return RunConfig(
        data=DataConfig(dataset="synthetic", synth_preset="smoke", num_segments=4, dense_length=8,
                        input_size=32, scale_size=32, scales=(1.0, 0.875), workers=0),
        model=ModelConfig(arch="resnet_tiny", dropout=0.0, zero_init_residual=True),
        optim=OptimConfig(lr=0.05, lr_type="cos", lr_steps=(), epochs=1, batch_size=8),
        eval_freq=1,
    )


def _default() -> RunConfig:
    # The paper's regime at CPU size: dropout 0.5 (the released code's) and a step schedule like
    # TSM's SSv2 recipe (x0.1 twice), chosen on seed 0 by the convergence checks of notebook 02
    # (last-quarter change < 1.5 points, second round < 3): a 30-epoch cosine schedule still gained
    # 3.4 points over its last quarter; 30 epochs with steps at 15/21 were flat there, but a second
    # round gained 3.6; this one gave +0.2 and +0.3. Over 3 seeds RGB and RGBDiff pass the second-
    # round check with it; Flow needs twice the epochs (STAGE1_EPOCHS). Two threads (the machine's
    # cores), fixed so that a rerun gives the same bits.
    return RunConfig(
        data=DataConfig(dataset="synthetic", synth_preset="default", num_segments=8, dense_length=32,
                        input_size=32, scale_size=32, scales=(1.0, 0.875), workers=0),
        model=ModelConfig(arch="resnet_tiny", dropout=0.5, zero_init_residual=True),
        optim=OptimConfig(lr=0.1, lr_type="step", lr_steps=(20, 28), epochs=40, batch_size=32),
        eval_freq=4,
        threads=2,
    )


def _paper() -> RunConfig:
    return RunConfig(
        data=DataConfig(dataset="somethingv2", root="data/something-something-v2", num_segments=8,
                        dense_length=32, input_size=224, scale_size=256, workers=8),
        model=ModelConfig(arch="resnet50", dropout=0.5, pretrained="imagenet"),
        optim=OptimConfig(lr=0.01, lr_type="step", lr_steps=(20, 40), epochs=45, batch_size=64, amp=True),
        eval_freq=5,
        device="cuda",
    )


_PROFILE_BUILDERS = {"smoke": _smoke, "default": _default, "paper": _paper}


#: Epochs of models started from the trained RGB model (stage 2 of the recipe), per profile.
#: ``None``: the full schedule, the paper's setting (stage 2 trains as long as stage 1, so a Flow
#: or RGBDiff peer started from the RGB model has time to learn its modality): a cohort trains
#: for the longest stage-1 schedule among its members (:func:`stage1_epochs`; in the default
#: profile 80 epochs when Flow is a member, else 40: at 40 the Flow peer of MML RGB,Flow fitted
#: 81% of its training videos, below the 90% asked of every model). Stage-2 comparisons are
#: always made at equal epochs (``Study.cohort(..., like=...)``).
FINETUNE_EPOCHS: dict[str, int | None] = {"smoke": 1, "default": None, "paper": None}


def finetune_epochs(name: str, modalities: Sequence[str] = ()) -> int:
    """Stage-2 epochs of profile ``name`` for a cohort of ``modalities`` (see :data:`FINETUNE_EPOCHS`)."""
    _choice("profile", name, PROFILES)
    return FINETUNE_EPOCHS[name] or max([stage1_epochs(name, m) for m in modalities] or [profile(name).optim.epochs])


#: Epochs of a single model trained from image pretraining (stage 1, and the second round of the
#: convergence check), per profile and modality, where they differ from the profile's schedule.
#: The flow stream learns more slowly from image weights than the RGB stream: TSN's reference
#: commands train Flow for 340 epochs against RGB's 80 on UCF101 (yjxiong/tsn-pytorch README). In
#: the default profile a 40-epoch Flow model failed notebook 02's second-round check (+4.8 points
#: over 3 seeds) and fitted 82% of its training videos; 80 epochs were chosen by the same checks
#: (papers_results/README.md; seeds 1 and 2 were tried first, with no claim in view). Stage 2
#: follows: a cohort trains all its members for the longest of their schedules
#: (:func:`finetune_epochs`).
STAGE1_EPOCHS: dict[str, dict[str, int]] = {"smoke": {}, "default": {"Flow": 80}, "paper": {}}


def stage1_epochs(name: str, modality: str) -> int:
    """Epochs of a ``modality`` model of profile ``name`` trained from image pretraining
    (see :data:`STAGE1_EPOCHS`)."""
    _choice("profile", name, PROFILES)
    return STAGE1_EPOCHS[name].get(modality, profile(name).optim.epochs)


def schedule_epochs(name: str, modalities: Sequence[str], stage2: bool,
                    like: Sequence[str] | None = None) -> int | None:
    """How long a run of profile ``name`` trains: the one rule the notebooks and the CLI share.

    Args:
        modalities: the run's models.
        stage2: started from the trained RGB model (stage 2 of the recipe).
        like: stage 2 only: train as long as a cohort of these modalities would (a baseline
            compared with a cohort at equal epochs); default ``modalities``.

    Returns:
        :func:`finetune_epochs` in stage 2; :func:`stage1_epochs` for a single model otherwise
        (stage 1, or its second round); ``None`` (the profile's schedule) for a cohort that is
        not in stage 2.
    """
    if stage2:
        return finetune_epochs(name, tuple(like) if like is not None else tuple(modalities))
    if len(modalities) == 1:
        return stage1_epochs(name, modalities[0])
    return None


def scale_schedule(optim: OptimConfig, epochs: int) -> OptimConfig:
    """``optim`` stretched or shrunk to ``epochs``: the step epochs (and warm-up) scale with it.

    >>> scale_schedule(OptimConfig(lr_steps=(20, 28), epochs=40), 80).lr_steps
    (40, 56)
    """
    _check(int(epochs) >= 1, f"epochs={epochs} must be >= 1")
    if int(epochs) == optim.epochs:
        return optim
    f = int(epochs) / optim.epochs
    return replace(optim, epochs=int(epochs), lr_steps=tuple(max(1, round(e * f)) for e in optim.lr_steps),
                   warmup_epochs=optim.warmup_epochs * f)


def pretrain_profile(name: str) -> PretrainConfig:
    """The image-pretraining stand-in of a profile: the CLI and the notebooks both build it here.

    The backbone (``arch``), generator preset and thread count are the profile's; ``paper`` uses
    real ImageNet weights, so its stand-in is only for trying the pipeline on synthetic data.
    """
    _choice("profile", name, PROFILES)
    cfg = profile(name)
    common = dict(arch=cfg.model.arch, preset=cfg.data.synth_preset if name != "paper" else "default",
                  threads=cfg.threads)
    if name == "smoke":
        return PretrainConfig(n_images=256, epochs=1, batch_size=64, **common)
    return PretrainConfig(**common)


def profile(name: str, **overrides: Any) -> RunConfig:
    """The :class:`RunConfig` of a profile, with top-level fields replaced by ``overrides``.

    Nested pieces are replaced whole (``data=...``) or field by field with a dotted-free
    helper: ``profile("smoke", data={"workers": 2})`` merges the dict into the profile's
    ``DataConfig``.

    Raises:
        ConfigError: unknown profile or field.
    """
    _choice("profile", name, PROFILES)
    cfg = _PROFILE_BUILDERS[name]()
    return with_overrides(cfg, **overrides)


def with_overrides(cfg: RunConfig, **overrides: Any) -> RunConfig:
    """Return ``cfg`` with fields replaced; a dict value for a nested piece is merged into it."""
    kw: dict[str, Any] = {}
    names = {f.name for f in dataclasses.fields(RunConfig)}
    for k, v in overrides.items():
        _check(k in names, f"unknown RunConfig field {k!r}")
        cur = getattr(cfg, k)
        if isinstance(v, dict) and dataclasses.is_dataclass(cur):
            sub = {f.name for f in dataclasses.fields(cur)}
            for kk in v:
                _check(kk in sub, f"unknown {k} field {kk!r}")
            v = replace(cur, **v)
        kw[k] = v
    return replace(cfg, **kw)
