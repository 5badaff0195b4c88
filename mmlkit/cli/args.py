"""The command line's parser: subcommands, flags with the released code's names, typed numbers."""

from __future__ import annotations

import argparse

from mmlkit.config import (ARCHS, EXPORT_FORMATS, FLOW_METHODS, LR_TYPES, MODALITIES, MUTUAL_MODES, PROFILES,
                           SHIFT_PLACES, SOURCES, SYNTH_PRESETS, TEST_CROPS)

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


def _add_dispatch_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--unpinned", action="store_true",
                   help="run on this host's own CPU code paths (faster on AVX-512, other bits there) instead of the "
                        "AVX2 paths every x86 host shares (default: pinned, as ./run_all.sh and the kernel mmlkit)")


DESCRIPTION = ("Mutual Modality Learning for video action classification (Komkov, Dzabraev, Petiushko, 2020):\n"
               "train TSM models on RGB, optical flow and RGB differences, alone or learning from each other,\n"
               "and test them, on the embedded synthetic benchmark or on Something-Something-v2.")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m mmlkit", description=DESCRIPTION,
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="Run 'python -m mmlkit <command> --help' for a command's flags; "
                                        "./run_all.sh reproduces every table (docs/cli.md).")
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
    _add_dispatch_arg(p)

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
    _add_dispatch_arg(p)

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
    _add_dispatch_arg(p)

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

    p = sub.add_parser("runs", help="how far a results store has got: runs done, being trained, interrupted",
                       description="Read a results store without touching it: how many runs are done, which are "
                                   "being trained or scored now and by which process (a notebook, ./run_all.sh), "
                                   "and which an interrupted process left half done (they resume when asked for "
                                   "again).")
    p.add_argument("--profile", choices=PROFILES, default="default",
                   help="whose store: results/<profile>-pinned (default: 'default')")
    p.add_argument("--results_dir", "--results-dir", dest="results_dir", default=None,
                   help="the results store (default: the profile's, as ./run_all.sh and the notebooks use it)")
    p.add_argument("--unpinned", dest="unpinned_store", action="store_true",
                   help="the store of runs on the host's own code paths, results/<profile> (./run_all.sh --unpinned)")
    p.add_argument("--all", action="store_true", help="also print every run's row")

    p = sub.add_parser("kernels", help="install the notebooks' Jupyter kernels (pinned and unpinned CPU dispatch)",
                       description="Install the Jupyter kernel the notebooks name, 'mmlkit' (this Python, CPU dispatch "
                                   "pinned to the AVX2 code paths so every x86 host trains the same bits), and "
                                   "'mmlkit-unpinned' (this Python on the host's own code paths). ./run_all.sh does it "
                                   "in .venv; a conda or other environment runs it once.")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--prefix", default=None,
                   help="install under PREFIX/share/jupyter/kernels (default: this Python's environment, sys.prefix)")
    g.add_argument("--user", action="store_true", help="install for this user (~/.local/share/jupyter/kernels)")
    return ap


