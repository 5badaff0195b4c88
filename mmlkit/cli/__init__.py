"""``python -m mmlkit``: the command line. The only package that reads argv (``args.py`` parses,
``configs.py`` turns flags into configs, ``commands.py`` runs them).

Subcommands::

    synth     generate the embedded synthetic benchmark (SSv2 layout)
    flow      extract optical flow (and packed frames) for every video of a data set
    pretrain  the image-pretraining stand-in for ImageNet on the synthetic benchmark
    train     train one model or a mutually learning cohort (the released code's flags)
    test      multi-view testing and ensembles (the released test script's flags)
    export    export one trained model for inference (.pt2, ONNX, TorchScript) and check it
    kernels   install the notebooks' Jupyter kernels (``mmlkit``: pinned CPU dispatch; ``mmlkit-unpinned``)

The training and test flags keep the names and meanings of the authors' released code
(a fork of TSM): ``python -m mmlkit train somethingv2 RGB,Flow --rank 0 --world_size 2
--init_method tcp://HOST:PORT --tune_from rgb.pt ...``. Every flag left out takes its value
from ``--profile`` (``default`` for the synthetic benchmark, ``paper`` for somethingv2).

``pretrain``, ``train`` and ``test`` run on the pinned CPU code paths
(:data:`mmlkit.runtime.PINNED_DISPATCH`), as ``./run_all.sh`` and the notebooks' kernel do, so every
x86 host computes the same bits; ``--unpinned`` runs them on the host's own (:func:`entry`).
"""

from __future__ import annotations

from mmlkit.cli.args import build_parser
from mmlkit.cli.commands import entry, main
from mmlkit.cli.configs import check_output, eval_config, pretrain_config, train_config

__all__ = ["build_parser", "check_output", "entry", "eval_config", "main", "pretrain_config", "train_config"]
