"""``python -m mmlkit``: the command line. The only module that reads argv.

Subcommands::

    synth     generate the embedded synthetic benchmark (SSv2 layout)
    flow      extract optical flow (and packed frames) for every video of a data set
    pretrain  the image-pretraining stand-in for ImageNet on the synthetic benchmark
    train     train one model or a mutually learning cohort (the released code's flags)
    test      multi-view testing and ensembles (the released test script's flags)
    export    export one trained model for inference (.pt2, ONNX, TorchScript) and check it

The training and test flags keep the names and meanings of the authors' released code
(a fork of TSM): ``python -m mmlkit train somethingv2 RGB,Flow --rank 0 --world_size 2
--init_method tcp://HOST:PORT --tune_from rgb.pt ...``. Every flag left out takes its value
from ``--profile`` (``default`` for the synthetic benchmark, ``paper`` for somethingv2).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any, Sequence

from mmlkit.config import (ARCHS, EXPORT_FORMATS, FLOW_METHODS, LR_TYPES, MODALITIES, MUTUAL_MODES, PROFILES,
                           SHIFT_PLACES, SOURCES, SYNTH_PRESETS, TEST_CROPS, ConfigError, EvalConfig,
                           PretrainConfig, RunConfig, finetune_epochs, parse_modalities, pretrain_profile, profile,
                           scale_schedule, stage1_epochs, with_overrides)
from mmlkit.errors import MmlkitError

# --------------------------------------------------------------------------------------------
# Numbers: every numeric flag is checked here, by argparse, with the flag's name and value
# ("argument --bound: 0 is not > 0"), before any config is built or any work starts.
# --------------------------------------------------------------------------------------------

def _number(kind: type, low: float | None = None, high: float | None = None, *, low_open: bool = False,
            high_open: bool = False):
    """An argparse ``type=``: ``kind`` (int or float), finite, within the bounds (closed unless ``*_open``)."""
    import math

    def convert(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {'an integer' if kind is int else 'a number'}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
        if low is not None and (value <= low if low_open else value < low):
            raise argparse.ArgumentTypeError(f"{text} is not {'>' if low_open else '>='} {low}")
        if high is not None and (value >= high if high_open else value > high):
            raise argparse.ArgumentTypeError(f"{text} is not {'<' if high_open else '<='} {high}")
        return value

    convert.__name__ = kind.__name__  # argparse names the type in its messages
    return convert


_COUNT = _number(int, 1)              # segments, epochs, batch, threads, workers of generation, ...
_INDEX = _number(int, 0)              # seeds, ranks, loader workers, GPU ids, epochs of lr steps
_PIXELS = _number(int, 8)             # image sides
_POSITIVE = _number(float, 0, low_open=True)
_NONNEGATIVE = _number(float, 0)
_FRACTION = _number(float, 0, 1, high_open=True)   # dropout, momentum
_FINITE = _number(float)


def _comma_list(item=str, what: str = "item"):
    """An argparse ``type=`` for ``a,b,c``: every item converted by ``item``; none may be empty."""

    def convert(text: str) -> list:
        parts = [p.strip() for p in text.split(",")]
        if not text.strip() or any(not p for p in parts):
            raise argparse.ArgumentTypeError(f"{text!r} has an empty {what}; give a comma-separated list "
                                             f"such as {'a.pt,b.pt' if item is str else '1,0.5'}")
        return [item(p) for p in parts]

    convert.__name__ = f"list of {what}s"
    return convert


_DATASET_HELP = "'synthetic' (the embedded benchmark), 'somethingv2' (with --data_root) or a path to an SSv2-format folder"


# --------------------------------------------------------------------------------------------
# Parsers
# --------------------------------------------------------------------------------------------

def _add_data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("dataset", help=_DATASET_HELP)
    p.add_argument("--profile", choices=PROFILES, default=None,
                   help="numbers for every flag left out (default: 'default' for synthetic, else 'paper')")
    p.add_argument("--data_root", "--root_path", dest="data_root", default=None,
                   help="data root (the folder holding labels.json); for synthetic: where it is generated")
    p.add_argument("--source", choices=SOURCES, default=None,
                   help="read frames from packed arrays, the .webm videos or TSM-style JPEG folders")
    p.add_argument("-j", "--workers", type=_INDEX, default=None, help="data loading worker processes")
    p.add_argument("--num_segments", type=_COUNT, default=None, help="segments per clip (T)")
    p.add_argument("--dense_length", type=_COUNT, default=None, help="frames spanned by a dense clip (L)")
    p.add_argument("--input_size", type=_PIXELS, default=None, help="network input side, pixels")
    p.add_argument("--scale_size", type=_PIXELS, default=None, help="test/val resize of the short side, pixels")
    p.add_argument("--device", default=None, help="cpu | cuda | cuda:N (default: the profile's)")
    p.add_argument("--threads", type=_COUNT, default=None,
                   help="torch CPU threads, part of the run's config (default: the profile's; 2 in default)")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m mmlkit", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="Run 'python -m mmlkit <command> --help' for a command's flags.")
    sub = ap.add_subparsers(dest="command", metavar="command", required=True)

    p = sub.add_parser("synth", help="generate the embedded synthetic benchmark",
                       description="Write the synthetic, Something-Something-like benchmark in the SSv2 layout.")
    p.add_argument("--preset", choices=SYNTH_PRESETS, default="default")
    p.add_argument("--seed", type=_INDEX, default=0)
    p.add_argument("--out", default=None, help="output folder (default: the cache folder training uses)")
    p.add_argument("--workers", type=_COUNT, default=2)
    p.add_argument("--no_pack", action="store_true", help="skip packed frames and optical flow")
    p.add_argument("--no_montage", action="store_true", help="skip the montage PNG")

    p = sub.add_parser("flow", help="extract optical flow for every video",
                       description="Optical flow (clipped at +-bound px, 8-bit) and packed frames for a data set.")
    p.add_argument("dataset_dir", help="folder in the SSv2 layout (labels.json, split JSONs, videos/)")
    p.add_argument("--method", choices=FLOW_METHODS, default="dis")
    p.add_argument("--workers", type=_COUNT, default=2)
    p.add_argument("--jpeg", action="store_true", help="also write TSM-style img_/flow_x_/flow_y_ JPEG folders")
    p.add_argument("--no_pack_rgb", action="store_true", help="do not write packed RGB frames")
    p.add_argument("--bound", type=_POSITIVE, default=20.0,
                   help="flow clip bound in pixels (of the packed size when --pack_size is given)")
    p.add_argument("--pack_size", type=_PIXELS, default=None,
                   help="compute flow at the videos' size, then store frames and flow at this side "
                        "(vectors scaled to it); default: the videos' size")
    p.add_argument("--overwrite", action="store_true", help="redo videos already extracted")
    p.add_argument("--splits", default=None, help="comma-separated splits (default: all present)")

    p = sub.add_parser("pretrain", help="image-pretraining stand-in for ImageNet (synthetic benchmark)",
                       description="Train the 2D backbone on single frames of the synthetic generator and store it "
                                   "in the results store under the hash of its config (the notebooks use the same "
                                   "file for the same config).")
    p.add_argument("--profile", choices=PROFILES, default="default",
                   help="numbers for every flag left out (mmlkit.config.pretrain_profile)")
    p.add_argument("--arch", choices=ARCHS, default=None)
    p.add_argument("--preset", choices=SYNTH_PRESETS, default=None)
    p.add_argument("--seed", type=_INDEX, default=None)
    p.add_argument("--threads", type=_COUNT, default=None, help="torch CPU threads (part of the config)")
    p.add_argument("--results_dir", "--results-dir", dest="results_dir", default=None,
                   help="the results store (default: results/<profile> at the repository root)")
    p.add_argument("--out", default=None, help="also copy the backbone state dict to this .pt file")

    p = sub.add_parser("train", help="train one model or a mutually learning cohort",
                       description="Train models of the given modalities together (mutual learning when more than one).")
    _add_data_args(p)
    p.add_argument("modalities", help="comma-separated, one per model: RGB | Flow | RGBDiff (e.g. RGB,Flow)")
    p.add_argument("--out", default=None, help="run folder (default: runs/<config hash>)")
    p.add_argument("--arch", default=None)
    p.add_argument("--shift", dest="shift", action="store_true", default=None, help="temporal shift on")
    p.add_argument("--no_shift", dest="shift", action="store_false", help="temporal shift off (plain TSN)")
    p.add_argument("--shift_div", type=_number(int, 2), default=None)
    p.add_argument("--shift_place", choices=SHIFT_PLACES, default=None)
    p.add_argument("--temporal_pool", action="store_true", default=None)
    p.add_argument("--pretrained", default=None, help="'imagenet' or a path to an image-backbone state dict")
    p.add_argument("--dropout", type=_FRACTION, default=None)
    p.add_argument("--npb", dest="partial_bn", action="store_false", default=None, help="no partial BN")
    p.add_argument("--pbn", dest="partial_bn", action="store_true", help="partial BN (the released code's default)")
    p.add_argument("--lr", type=_POSITIVE, default=None)
    p.add_argument("--lr_type", choices=LR_TYPES, default=None)
    p.add_argument("--lr_steps", type=_INDEX, nargs="+", default=None,
                   help="epochs at which the step schedule decays (integers, as in the profiles)")
    p.add_argument("--warmup", type=_NONNEGATIVE, default=None, help="warm-up epochs")
    p.add_argument("--epochs", type=_COUNT, default=None)
    p.add_argument("-b", "--batch-size", dest="batch_size", type=_COUNT, default=None)
    p.add_argument("--wd", "--weight-decay", dest="wd", type=_NONNEGATIVE, default=None)
    p.add_argument("--momentum", type=_FRACTION, default=None)
    p.add_argument("--gd", "--clip-gradient", dest="gd", type=_POSITIVE, default=None, help="gradient-norm clip")
    p.add_argument("--amp", action="store_true", default=None, help="mixed precision (CUDA)")
    p.add_argument("--dense_sample", action="store_true", help="dense sampling for training")
    p.add_argument("--random_sample", action="store_true", help="dense or uniform with p=1/2 per clip")
    p.add_argument("--flip", action="store_true", default=None, help="horizontal flip, swapping left/right classes")
    p.add_argument("--tune_from", default=None, help="checkpoint every model starts from (any modality)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out (same configuration only)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the run --out holds (without it, a folder holding a run is never replaced)")
    p.add_argument("--eval-freq", dest="eval_freq", type=_COUNT, default=None)
    p.add_argument("--seed", type=_INDEX, default=None)
    p.add_argument("--mutual_mode", choices=MUTUAL_MODES, default=None)
    p.add_argument("--temperature", type=_POSITIVE, default=None)
    p.add_argument("--mutual_weight", type=_NONNEGATIVE, default=None)
    p.add_argument("--tensorboard", action="store_true", default=None)
    p.add_argument("--rank", type=_INDEX, default=None, help="this process's rank (one model per rank)")
    p.add_argument("--world_size", type=_COUNT, default=None, help="number of processes")
    p.add_argument("--init_method", default=None, help="e.g. tcp://127.0.0.1:23456 (default: env://)")
    p.add_argument("--gpus", type=_INDEX, nargs="+", default=None, help="GPU ids; rank r uses gpus[r %% len]")
    p.add_argument("--timeout", type=_POSITIVE, default=None,
                   help="seconds to wait for a dead or hung peer before stopping (default: config.DIST_TIMEOUT_S)")

    p = sub.add_parser("test", help="multi-view testing and ensembles",
                       description="Score checkpoints over test views, ensemble them and print the metrics.")
    _add_data_args(p)
    p.add_argument("--weights", required=True, type=_comma_list(str, "checkpoint"), help="comma-separated checkpoints")
    p.add_argument("--coeff", default=None, type=_comma_list(_FINITE, "weight"),
                   help="comma-separated ensemble weights (default: all 1)")
    p.add_argument("--test_segments", type=_COUNT, default=None)
    p.add_argument("--test_crops", type=int, choices=TEST_CROPS, default=1)
    p.add_argument("--full_res", action="store_true")
    p.add_argument("--twice_sample", action="store_true")
    p.add_argument("--dense_sample", action="store_true")
    p.add_argument("--random_sample", action="store_true", help="both: the dense clips and the uniform one")
    p.add_argument("--dense_number", type=_COUNT, default=1)
    p.add_argument("--softmax", action="store_true", help="ensemble softmax outputs instead of logits")
    p.add_argument("--csv_file", default=None, help="write the SSv2 submission format (id;top-5)")
    p.add_argument("--batch_size", type=_COUNT, default=8)
    p.add_argument("--split", default="validation")
    p.add_argument("--out_json", default=None, help="where to write the metrics (default: beside the first weights)")

    p = sub.add_parser("export", help="export a trained model for inference",
                       description="Export one checkpoint (torch.export .pt2, ONNX or TorchScript) with the metadata "
                                   "a deployment needs, and keep the file only if it gives the checkpoint's logits. "
                                   "Prints one line of JSON.")
    p.add_argument("--weights", required=True, help="the checkpoint (.pt)")
    p.add_argument("--out", required=True, help="the file to write (.pt2, .onnx or .ts)")
    p.add_argument("--format", choices=EXPORT_FORMATS, default=None,
                   help="default: from the --out suffix (.pt2, .onnx, .ts), else pt2")
    p.add_argument("--input_size", type=_PIXELS, default=None,
                   help="network input side (default: the run's config.json beside --weights, else 224)")
    p.add_argument("--scale_size", type=_PIXELS, default=None,
                   help="test view's short side before the centre crop, recorded for users (default: the run's, "
                        "else input_size x 256/224)")
    p.add_argument("--num_segments", type=_COUNT, default=None,
                   help="segments (T); required for a checkpoint of the released code, checked for ours")
    p.add_argument("--modality", choices=MODALITIES, default=None, help="refuse a checkpoint of another modality")
    p.add_argument("--dataset", default=None,
                   help=f"record the class names of this data set's labels.json: {_DATASET_HELP}")
    p.add_argument("--data_root", "--root_path", dest="data_root", default=None,
                   help="data root (the folder holding labels.json); alone, it names the data set")
    p.add_argument("--profile", choices=PROFILES, default=None,
                   help="with --dataset synthetic: the profile whose benchmark it is (default: 'default')")
    return ap


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
        name = _profile_name(args)
        if args.tune_from is not None:  # stage 2: as long as the members' modalities need
            cfg = with_overrides(cfg, optim=scale_schedule(cfg.optim, finetune_epochs(name, modalities)))
        elif len(modalities) == 1:  # a single model from image pretraining: its modality's stage 1
            cfg = with_overrides(cfg, optim=scale_schedule(cfg.optim, stage1_epochs(name, modalities[0])))
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


# --------------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------------

def _cmd_synth(args: argparse.Namespace) -> int:
    from mmlkit.data import synthetic

    out = check_output("--out", args.out, folder=True) if args.out else synthetic.default_root(args.preset, args.seed)
    root = synthetic.generate(out, preset=args.preset, seed=args.seed, workers=args.workers,
                              montage=not args.no_montage, pack=not args.no_pack)
    print(f"synthetic benchmark ({args.preset}, seed {args.seed}) in {root}")
    return 0


def _cmd_flow(args: argparse.Namespace) -> int:
    from mmlkit.data import flow

    splits = args.splits.split(",") if args.splits else None
    rep = flow.extract_dataset(args.dataset_dir, method=args.method, workers=args.workers, jpeg=args.jpeg,
                               pack_rgb=not args.no_pack_rgb, bound=args.bound, overwrite=args.overwrite,
                               pack_size=args.pack_size,
                               splits=splits)
    print(json.dumps({k: v for k, v in rep.items() if k != "failed"} | {"failed": len(rep["failed"])}, default=str))
    return 1 if rep["failed"] else 0  # extract_dataset has already listed the failed videos


def pretrain_config(args: argparse.Namespace) -> PretrainConfig:
    """The :class:`PretrainConfig` that ``python -m mmlkit pretrain`` flags describe."""
    over = _drop_none({"arch": args.arch, "preset": args.preset, "seed": args.seed, "threads": args.threads})
    return dataclasses.replace(pretrain_profile(args.profile), **over)


def _cmd_pretrain(args: argparse.Namespace) -> int:
    import shutil

    from mmlkit.results.store import RunStore, default_results_dir, load_or_pretrain

    cfg = pretrain_config(args)
    out = check_output("--out", args.out) if args.out else None
    store = RunStore(args.results_dir or default_results_dir(args.profile))
    info = load_or_pretrain(cfg, store)
    print(f"image-pretrained backbone: {info['path']} (held-out shape accuracy {info['heldout_top1']:.1f}%, "
          f"chance {info['chance']:.1f}%)")
    if out is not None:
        from mmlkit.fileio import atomic_path

        with atomic_path(out) as tmp:
            shutil.copyfile(info["path"], tmp)
        print(f"copied to {out}")
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    cfg = train_config(args)  # flags are checked before the heavy imports
    from mmlkit.training import train

    out = check_output("--out", Path(args.out) if args.out else Path("runs") / cfg.digest(), folder=True)
    if args.resume and not out.exists():
        raise ConfigError(f"--resume: run folder {out} does not exist (pass --out with the run to continue)")
    if args.resume and args.overwrite:
        raise ConfigError("--resume and --overwrite exclude each other")
    res = train(cfg, out, resume=args.resume, overwrite=args.overwrite, rank=args.rank, world_size=args.world_size,
                init_method=args.init_method, timeout_s=args.timeout)
    print(f"run folder: {out}")
    for m in res.metrics:
        print(f"model{m['index']} {m['modality']}: final top-1 {m['final_top1']:.1f}%, "
              f"best {m['best_top1']:.1f}% (epoch {m['best_epoch']}), {m['seconds']:.0f} s")
    return 0


def _cmd_test(args: argparse.Namespace) -> int:
    cfg = _base_config(args)
    weights, coeff = args.weights, args.coeff
    if coeff is not None and len(coeff) != len(weights):
        raise ConfigError(f"--coeff has {len(coeff)} weights for {len(weights)} checkpoints")
    out_json = args.out_json or str(Path(weights[0]).with_suffix(".test.json"))
    for flag, path in (("--out_json", out_json), ("--csv_file", args.csv_file)):
        if path is not None:
            check_output(flag, path, inputs={"--weights": weights})
    from mmlkit.evaluation import test

    test(cfg.data, eval_config(args), weights, coeff=coeff, out_json=out_json, csv_file=args.csv_file,
         split=args.split, device=cfg.device, workers=cfg.data.workers, softmax=args.softmax)
    return 0


def _export_class_names(args: argparse.Namespace) -> list[str] | None:
    """Class names from the labels.json of ``--dataset`` / ``--data_root``; None when neither is given."""
    if args.dataset is None and args.data_root is None:
        return None
    fields = ("source", "workers", "num_segments", "input_size", "scale_size", "device", "threads")
    ns = argparse.Namespace(**{f: None for f in fields})
    ns.profile, ns.dataset, ns.data_root = args.profile, args.dataset or args.data_root, args.data_root
    from mmlkit.data import class_names

    return class_names(_base_config(ns).data)


def _cmd_export(args: argparse.Namespace) -> int:
    from mmlkit.evaluation.export import export_checkpoint, resolve_format

    fmt = resolve_format(args.out, args.format)  # a suffix that names another format: before any work
    check_output("--out", args.out, inputs={"--weights": [args.weights]})
    names = _export_class_names(args)
    info = export_checkpoint(args.weights, args.out, fmt, size=args.input_size, scale_size=args.scale_size,
                             class_names=names, modality=args.modality, num_segments=args.num_segments)
    print(json.dumps(info, default=str))
    return 0


_COMMANDS = {"synth": _cmd_synth, "flow": _cmd_flow, "pretrain": _cmd_pretrain, "train": _cmd_train,
             "test": _cmd_test, "export": _cmd_export}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (2 for a user error, with a one-line message)."""
    args = build_parser().parse_args(argv)
    if getattr(args, "threads", None):
        import torch
        torch.set_num_threads(args.threads)
    try:
        return _COMMANDS[args.command](args)
    except (ConfigError, MmlkitError) as exc:
        print(f"mmlkit {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the file system said no (disk full, permissions, a vanished folder): one line
        print(f"mmlkit {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"mmlkit {args.command}: interrupted; finished work is kept (rerun to resume)", file=sys.stderr)
        return 130
