"""Training a cohort of models with the mutual loss: one process (cohort) or one model per process
group (distributed). Entry point: :func:`train`.

Modules: ``loop`` (the epochs: train_one_epoch, validate, fit), ``member`` (a model with its
optimizer and RNG), ``schedule`` (learning rate, optimizer), ``state`` (the run folder: checkpoints,
logs, resume state, done-file), ``comm`` (the :class:`Comm` protocol) with its implementations in
``cohort`` (one process) and ``distributed`` (torch.distributed); ``run_folder``, ``pretrain``.
"""

from __future__ import annotations

from pathlib import Path

from mmlkit.config import ConfigError, RunConfig
from mmlkit.training.comm import Comm
from mmlkit.training.loop import TrainData, train_one_epoch, validate
from mmlkit.training.pretrain import pretrain_image_backbone
from mmlkit.training.state import TrainResult

__all__ = ["train", "TrainResult", "TrainData", "Comm", "pretrain_image_backbone", "train_one_epoch", "validate"]


def __getattr__(name: str):
    if name == "evaluate":   # the old name of validate (mmlkit.evaluation is the evaluation)
        import warnings

        warnings.warn("mmlkit.training.evaluate is now mmlkit.training.validate", DeprecationWarning, stacklevel=2)
        return validate
    raise AttributeError(f"module 'mmlkit.training' has no attribute {name!r}")


def train(cfg: RunConfig, out_dir: str | Path, *, resume: bool = False, overwrite: bool = False,
          rank: int | None = None, world_size: int | None = None, init_method: str | None = None,
          progress: bool = True, timeout_s: float | None = None, data: TrainData = TrainData()) -> TrainResult:
    """Train the cohort of ``cfg.modalities`` (W models), each with CE + the mutual term.

    Process model: with ``rank`` None and no torchrun environment, all W models train in this
    process (:mod:`~mmlkit.training.cohort`, CPU or one GPU). Otherwise this process is rank
    ``rank`` of ``world_size = W x P`` (P processes per model), meeting the others at
    ``init_method`` (``tcp://HOST:PORT``; torchrun: ``env://``): see
    :mod:`~mmlkit.training.distributed`. Both give the same weights for the same seed and data.

    Args:
        cfg: the run's configuration.
        out_dir: run folder. Written: ``config.json``; per model ``model{i}_{Mod}.pt`` (last epoch),
            ``model{i}_{Mod}_best.pt`` (best validation top-1), ``log_model{i}_{Mod}.csv`` (epoch, lr,
            ce, kl, train_top1, val_top1, val_top5, seconds), ``state_model{i}_{Mod}.pt`` (+ ``.prev``;
            resume state), ``state.json`` (epochs done); ``done.json`` (final metrics per model) at the
            end; ``tensorboard/`` when ``cfg.tensorboard``.
        resume: continue from the last finished epoch in ``out_dir`` (returns at once when
            ``done.json`` exists). Same final weights and CSV rows (but timing) as one uninterrupted run.
        overwrite: replace whatever run ``out_dir`` holds. Without it a folder that holds a run of
            another configuration, or of this one without ``resume``, is an error
            (:func:`~mmlkit.training.run_folder.check_run_folder`).
        rank, world_size, init_method: the authors' one-command-per-rank form.
        progress: bars, or one summary line per run (:mod:`mmlkit.progress`; rank 0 only when distributed).
        timeout_s: distributed only: seconds a collective waits for a dead or hung peer before
            :class:`~mmlkit.errors.DistributedError` (default ``distributed.DEFAULT_TIMEOUT_S``).
        data: where the clips come from (default ``TrainData()``: mmlkit.data's pipeline for
            ``cfg.data``); e.g. an in-memory dataset (the tests).

    Raises:
        ConfigError: world_size not a multiple of W, rank without world_size/init_method, an
            ``out_dir`` holding another run.
        DataError / CheckpointError: missing data root, missing ``tune_from``, foreign resume state.
        DistributedError: a peer died, hung past the timeout, or trains on other clips.
    """
    from mmlkit.runtime import check_device, torch_threads
    from mmlkit.training import cohort, distributed, loop
    from mmlkit.training.run_folder import check_run_folder

    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"run folder {out_dir} is a file; give a folder (--out)")
    if check_run_folder(cfg, out_dir, resume=resume, overwrite=overwrite):
        return TrainResult.from_done(out_dir)
    check_device(cfg.device)
    if rank is None and world_size is None and init_method is None:
        env = distributed.env_rendezvous()
        if env is not None:
            rank, world_size, init_method = env
    if rank is None:
        if world_size not in (None, 1) or init_method is not None:
            raise ConfigError(f"world_size={world_size} / init_method={init_method!r} given without rank; "
                              "give rank, world_size and init_method together (or none for one process)")
        loop.check_request(cfg)
        with torch_threads(cfg.threads):
            return cohort.run(cfg, out_dir, resume=resume, progress=progress, data=data)
    if world_size is None or init_method is None:
        raise ConfigError(f"rank={rank} needs world_size and init_method (e.g. tcp://127.0.0.1:23456)")
    distributed.layout(len(cfg.modalities), world_size, rank)
    loop.check_request(cfg)
    with torch_threads(cfg.threads):
        return distributed.run(cfg, out_dir, rank=rank, world_size=world_size, init_method=init_method,
                               resume=resume, progress=progress, timeout_s=timeout_s, data=data)
