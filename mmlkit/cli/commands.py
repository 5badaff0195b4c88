"""The subcommands, and ``main``: parse, build the configs, run, turn errors into one line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

from mmlkit.cli.args import build_parser
from mmlkit.cli.configs import _base_config, check_output, eval_config, pretrain_config, train_config
from mmlkit.config import ConfigError
from mmlkit.errors import MmlkitError

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


def _cmd_kernels(args: argparse.Namespace) -> int:
    from mmlkit.runtime import install_kernels

    for name, where in install_kernels(prefix=args.prefix, user=args.user).items():
        print(f"installed Jupyter kernel {name!r} in {where}")
    return 0


def _cmd_runs(args: argparse.Namespace) -> int:
    from mmlkit.results.status import run_status, status_text
    from mmlkit.results.store import default_results_dir

    # only reads: no CPU dispatch to pin (the flag has its own name, so entry() imports no torch for it)
    where = Path(args.results_dir) if args.results_dir else default_results_dir(args.profile,
                                                                                 pinned=not args.unpinned_store)
    print(status_text(run_status(where), str(where), every_run=args.all))
    return 0


_COMMANDS = {"synth": _cmd_synth, "flow": _cmd_flow, "pretrain": _cmd_pretrain, "train": _cmd_train,
             "test": _cmd_test, "export": _cmd_export, "runs": _cmd_runs, "kernels": _cmd_kernels}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command in this process; returns the exit status (2 for a user error, with a one-line
    message). The CPU code paths are this process's as they are (the program's :func:`entry` pins them)."""
    return _run(build_parser().parse_args(argv))


def entry(argv: Sequence[str] | None = None) -> int:
    """The program (``python -m mmlkit``, the ``mmlkit`` script): :func:`main` in a process whose CPU
    code paths are pinned (:data:`mmlkit.runtime.PINNED_DISPATCH`) for the commands that train or
    score, so they compute the bits ``./run_all.sh`` and the notebooks compute on every x86 host,
    and use the same store (``results/<profile>-pinned``); ``--unpinned`` runs them on the host's own.
    Set here, before the process's first tensor operation, the only time the libraries read them."""
    args = build_parser().parse_args(argv)
    if hasattr(args, "unpinned"):
        from mmlkit.runtime import apply_dispatch

        apply_dispatch(not args.unpinned)
        if not args.unpinned:
            import torch

            if torch.backends.cpu.get_cpu_capability() == "AVX512":  # pragma: no cover - an import ran a tensor op
                print(f"mmlkit {args.command}: warning: the CPU dispatch was fixed before the pins were set; this "
                      "process runs on the host's AVX-512 code paths", file=sys.stderr)
    return _run(args)


def _run(args: argparse.Namespace) -> int:
    if getattr(args, "threads", None):
        import torch
        torch.set_num_threads(args.threads)
    try:
        return _COMMANDS[args.command](args)
    except (ConfigError, MmlkitError) as exc:
        print(f"mmlkit {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `python -m mmlkit runs | head`: the reader stopped reading, not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit's flush
        return 0
    except OSError as exc:  # the file system said no (disk full, permissions, a vanished folder): one line
        print(f"mmlkit {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"mmlkit {args.command}: interrupted; finished work is kept (rerun to resume)", file=sys.stderr)
        return 130
