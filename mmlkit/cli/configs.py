"""Flags -> configs: every flag left out takes its value from the profile."""

from __future__ import annotations

import argparse
import dataclasses
import os
from pathlib import Path
from typing import Any, Sequence

from mmlkit.config import (ConfigError, EvalConfig, PretrainConfig, RunConfig, parse_modalities, pretrain_profile,
                           profile, scale_schedule, schedule_epochs, with_overrides)

# --------------------------------------------------------------------------------------------
# Turning flags into configs
# --------------------------------------------------------------------------------------------

def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def _profile_name(args: argparse.Namespace) -> str:
    return args.profile or ("default" if args.dataset == "synthetic" else "paper")


def _base_config(args: argparse.Namespace) -> RunConfig:
    cfg = profile(_profile_name(args))
    data = _drop_none({
        "dataset": args.dataset, "root": args.data_root, "source": args.source, "workers": args.workers,
        "num_segments": args.num_segments, "dense_length": getattr(args, "dense_length", None),
        "input_size": args.input_size, "scale_size": args.scale_size,
    })
    if args.dataset != "synthetic" and args.data_root is None:
        if args.dataset == "somethingv2":
            raise ConfigError("dataset 'somethingv2' needs --data_root (the folder holding labels.json, the split "
                              "JSONs and 20bn-something-something-v2/)")
        path = Path(args.dataset)
        if not path.is_dir():
            raise ConfigError(f"dataset {args.dataset!r} is neither 'synthetic', 'somethingv2' nor an existing folder")
        data["root"] = str(path)
    if args.input_size is not None and args.scale_size is None:
        data["scale_size"] = max(cfg.data.scale_size, args.input_size)
    top = _drop_none({"device": args.device, "threads": args.threads})
    return with_overrides(cfg, data=data, **top)


def train_config(args: argparse.Namespace) -> RunConfig:
    """The :class:`RunConfig` that ``python -m mmlkit train`` flags describe."""
    cfg = _base_config(args)
    modalities = parse_modalities(args.modalities)
    if args.epochs is None and args.lr_steps is None:  # the schedule the notebooks use for the same run
        n = schedule_epochs(_profile_name(args), modalities, stage2=args.tune_from is not None)
        if n is not None:
            cfg = with_overrides(cfg, optim=scale_schedule(cfg.optim, n))
    if args.dense_sample and args.random_sample:
        raise ConfigError("--dense_sample and --random_sample exclude each other")
    sample = "dense" if args.dense_sample else "random" if args.random_sample else None
    model = _drop_none({"arch": args.arch, "shift": args.shift, "shift_div": args.shift_div,
                        "shift_place": args.shift_place, "temporal_pool": args.temporal_pool,
                        "pretrained": args.pretrained, "dropout": args.dropout, "partial_bn": args.partial_bn})
    optim = _drop_none({"lr": args.lr, "lr_type": args.lr_type, "warmup_epochs": args.warmup,
                        "epochs": args.epochs, "batch_size": args.batch_size, "weight_decay": args.wd,
                        "momentum": args.momentum, "clip_grad": args.gd, "amp": args.amp})
    if args.lr_steps is not None:
        optim["lr_steps"] = tuple(args.lr_steps)
    mutual = _drop_none({"mode": args.mutual_mode, "temperature": args.temperature, "weight": args.mutual_weight})
    data = _drop_none({"sample": sample, "flip": args.flip})
    top = _drop_none({"tune_from": args.tune_from, "eval_freq": args.eval_freq, "seed": args.seed,
                      "tensorboard": args.tensorboard})
    if args.gpus and args.device is None:
        rank = args.rank if args.rank is not None else int(os.environ.get("RANK", 0))
        top["device"] = f"cuda:{args.gpus[rank % len(args.gpus)]}"
    return with_overrides(cfg, modalities=modalities, data=data, model=model,
                          optim=optim, mutual=mutual, **top)


def eval_config(args: argparse.Namespace) -> EvalConfig:
    """The :class:`EvalConfig` that ``python -m mmlkit test`` flags describe."""
    modes = [m for m, on in (("dense", args.dense_sample), ("random", args.random_sample)) if on]
    if len(modes) > 1:
        raise ConfigError("--dense_sample and --random_sample exclude each other")
    return EvalConfig(test_segments=args.test_segments, test_crops=args.test_crops, full_res=args.full_res,
                      mode=modes[0] if modes else "uniform", twice=args.twice_sample,
                      dense_number=args.dense_number,
                      dense_length=args.dense_length if args.dense_length is not None else 32,
                      softmax=args.softmax, batch_size=args.batch_size)


# --------------------------------------------------------------------------------------------
# Outputs: checked before any work, and never one of the command's own inputs
# --------------------------------------------------------------------------------------------

def check_output(flag: str, path: str | Path, *, folder: bool = False,
                 inputs: dict[str, Sequence[str | Path]] | None = None) -> Path:
    """``path`` (the value of ``flag``) can be written, and is none of ``inputs`` (flag -> paths).

    A missing parent folder is created now, so that a long run does not fail at its last step.

    Raises:
        ConfigError: ``path`` is one of the inputs, a folder where a file is wanted (or the
            reverse), under a file, or in a folder this user cannot write.
    """
    path = Path(path)
    for in_flag, paths in (inputs or {}).items():
        for q in paths:
            if os.path.realpath(q) == os.path.realpath(path):
                raise ConfigError(f"{flag} {path} is also {in_flag}: no command writes over one of its own "
                                  f"inputs; choose another {flag}")
    if folder and path.exists() and not path.is_dir():
        raise ConfigError(f"{flag} {path} is a file; give a folder")
    if not folder and path.is_dir():
        raise ConfigError(f"{flag} {path} is a folder; give a file name")
    parent = path if folder else path.parent
    existing = next((p for p in (parent, *parent.parents) if p.exists()), Path("."))
    if existing.exists() and not existing.is_dir():
        raise ConfigError(f"{flag} {path}: {existing} is a file, not a folder")
    if existing.exists() and not os.access(existing, os.W_OK):
        raise ConfigError(f"{flag} {path}: this user cannot write in {existing}")
    if not folder:
        parent.mkdir(parents=True, exist_ok=True)
    return path


def pretrain_config(args: argparse.Namespace) -> PretrainConfig:
    """The :class:`PretrainConfig` that ``python -m mmlkit pretrain`` flags describe."""
    over = _drop_none({"arch": args.arch, "preset": args.preset, "seed": args.seed, "threads": args.threads})
    return dataclasses.replace(pretrain_profile(args.profile), **over)
