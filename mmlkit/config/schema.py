"""Frozen, validated config dataclasses: data, model, optimiser, mutual loss, pretraining, evaluation, run."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from mmlkit.config.vocab import (ARCHS, LR_TYPES, MUTUAL_MODES, SAMPLE_MODES, SHIFT_PLACES, SOURCES,
                                 SYNTH_PRESETS, TEST_CROPS, _check, _choice, parse_modalities)


@dataclass(frozen=True)
class DataConfig:
    """Where clips come from and how they are sampled and augmented for training.

    Attributes:
        dataset: ``"synthetic"`` (the embedded benchmark, generated on first use),
            ``"somethingv2"`` (the official release under ``root``) or a path to any folder in
            the SSv2 layout.
        root: data root. For ``synthetic``: where the benchmark is (or will be) generated;
            ``None`` means ``<cache>/mmlkit/synthetic-<preset>-<synth_seed>``.
        synth_preset: ``smoke`` | ``default`` | ``large`` (only for ``dataset="synthetic"``).
        synth_seed: seed of the generated benchmark (the data, not the training).
        source: where frames are read from: ``packed`` (per-video uint8 arrays, fastest),
            ``video`` (decord on the .webm files), ``frames`` (TSM-style JPEG folders) or
            ``auto`` (packed when present, else frames, else video).
        num_segments: T, segments per clip.
        sample: training sampling, ``uniform`` | ``dense`` | ``random`` (method.md).
        dense_length: L, frames spanned by a dense clip.
        input_size: side of the square network input, pixels.
        scale_size: validation/test resize of the short side before the centre crop, pixels.
        scales: multi-scale crop scales, as fractions of the short side.
        max_distort: width/height scale indices may differ by at most this many steps.
        flip: random horizontal flip during training (left/right classes are swapped).
        workers: DataLoader worker processes (0 = in the main process).
        train_split / val_split: split names of the SSv2 layout.
    """

    dataset: str = "synthetic"
    root: str | None = None
    synth_preset: str = "default"
    synth_seed: int = 0
    source: str = "auto"
    num_segments: int = 8
    sample: str = "uniform"
    dense_length: int = 32
    input_size: int = 224
    scale_size: int = 256
    scales: tuple[float, ...] = (1.0, 0.875, 0.75, 0.66)
    max_distort: int = 1
    flip: bool = False
    workers: int = 0
    train_split: str = "train"
    val_split: str = "validation"

    def __post_init__(self) -> None:
        _check(bool(self.dataset), "dataset must be 'synthetic', 'somethingv2' or a path")
        if self.dataset == "somethingv2":
            _check(self.root is not None, "dataset='somethingv2' needs root (the folder holding labels.json)")
        _choice("synth_preset", self.synth_preset, SYNTH_PRESETS)
        _choice("source", self.source, SOURCES)
        _choice("sample", self.sample, SAMPLE_MODES)
        _check(self.num_segments >= 1, f"num_segments={self.num_segments} must be >= 1")
        _check(self.dense_length >= self.num_segments,
               f"dense_length={self.dense_length} must be >= num_segments={self.num_segments}")
        _check(self.input_size >= 8, f"input_size={self.input_size} must be >= 8")
        _check(self.scale_size >= self.input_size,
               f"scale_size={self.scale_size} must be >= input_size={self.input_size}")
        _check(len(self.scales) >= 1 and all(0 < s <= 1 for s in self.scales),
               f"scales={self.scales} must be fractions in (0, 1]")
        _check(self.workers >= 0, f"workers={self.workers} must be >= 0")


@dataclass(frozen=True)
class ModelConfig:
    """The TSN/TSM network shared by every model of a cohort (the modality is per model).

    Attributes follow the released code's flags: ``arch``, ``shift``, ``shift_div``,
    ``shift_place`` (``blockres`` | ``block``), ``temporal_pool``, ``dropout``,
    ``partial_bn`` (the released code's default is on; TSM's SSv2 recipe passes --npb),
    ``pretrained`` (``None``, ``"imagenet"`` or a path to a plain image-backbone state dict),
    ``zero_init_residual`` (last BN of each residual block starts at zero).
    """

    arch: str = "resnet50"
    shift: bool = True
    shift_div: int = 8
    shift_place: str = "blockres"
    temporal_pool: bool = False
    dropout: float = 0.5
    partial_bn: bool = False
    pretrained: str | None = None
    zero_init_residual: bool = False

    def __post_init__(self) -> None:
        _choice("arch", self.arch, ARCHS)
        _choice("shift_place", self.shift_place, SHIFT_PLACES)
        _check(self.shift_div >= 2, f"shift_div={self.shift_div} must be >= 2")
        _check(0.0 <= self.dropout < 1.0, f"dropout={self.dropout} must be in [0, 1)")


@dataclass(frozen=True)
class OptimConfig:
    """SGD and its schedule (TSM's SSv2 recipe by default).

    Attributes:
        lr: base learning rate for ``batch_size`` clips.
        lr_type: ``step`` (x0.1 at each of ``lr_steps``) or ``cos`` (cosine to zero).
        lr_steps: epochs at which a step schedule decays.
        warmup_epochs: linear warm-up from 0, in epochs (fractions allowed).
        epochs: training epochs.
        batch_size: clips per step (per model; every model sees the same clips).
        momentum, weight_decay: SGD settings; BN and bias get no weight decay (TSM's groups).
        clip_grad: gradient-norm clip (the released code's ``--gd``); ``None`` disables it.
        amp: mixed precision (CUDA only; ignored on the CPU).
    """

    lr: float = 0.01
    lr_type: str = "step"
    lr_steps: tuple[int, ...] = (20, 40)
    warmup_epochs: float = 0.0
    epochs: int = 50
    batch_size: int = 64
    momentum: float = 0.9
    weight_decay: float = 5e-4
    clip_grad: float | None = 20.0
    amp: bool = False

    def __post_init__(self) -> None:
        _check(math.isfinite(self.lr) and self.lr > 0, f"lr={self.lr} must be a finite number > 0")
        _choice("lr_type", self.lr_type, LR_TYPES)
        _check(0 <= self.momentum < 1, f"momentum={self.momentum} must be in [0, 1)")
        _check(math.isfinite(self.weight_decay) and self.weight_decay >= 0,
               f"weight_decay={self.weight_decay} must be a finite number >= 0")
        _check(all(e >= 0 for e in self.lr_steps), f"lr_steps={self.lr_steps} must be epochs >= 0")
        _check(self.epochs >= 1, f"epochs={self.epochs} must be >= 1")
        _check(self.batch_size >= 1, f"batch_size={self.batch_size} must be >= 1")
        _check(self.warmup_epochs >= 0, f"warmup_epochs={self.warmup_epochs} must be >= 0")
        _check(self.clip_grad is None or self.clip_grad > 0, f"clip_grad={self.clip_grad} must be > 0 or None")


@dataclass(frozen=True)
class MutualConfig:
    """The mutual term: total loss = CE + weight * mutual_kl(mode, temperature).

    ``mode``: ``mean_logits`` (the released code: KL towards the softmax of the peers' mean
    logits) or ``per_peer`` (Deep Mutual Learning: the mean of one KL per peer).
    """

    mode: str = "mean_logits"
    temperature: float = 1.0
    weight: float = 1.0

    def __post_init__(self) -> None:
        _choice("mode", self.mode, MUTUAL_MODES)
        _check(self.temperature > 0, f"temperature={self.temperature} must be > 0")
        _check(self.weight >= 0, f"weight={self.weight} must be >= 0")


@dataclass(frozen=True)
class PretrainConfig:
    """The image-pretraining stand-in for ImageNet on the synthetic benchmark.

    Single frames of the benchmark's generator, labelled by the object's shape (appearance
    only), classified by the 2D backbone with SGD (momentum 0.9, wd 5e-4, cosine per step).
    Everything that changes the backbone's weights is a field here, so the results store can
    address a stand-in by the hash of this config (plus the generator's version): the CLI
    (``python -m mmlkit pretrain``) and the notebooks build it from :func:`pretrain_profile`
    and get the same file.

    Attributes:
        arch: backbone (one of :data:`ARCHS`).
        zero_init_residual: last BN of each residual block starts at zero.
        preset: synthetic preset whose generator draws the images (their size, nuisance).
        seed: seeds the images, the initialisation and the batch order.
        n_images: training images (a tenth more are drawn as a held-out check).
        epochs, batch_size, lr: the SGD schedule.
        threads: torch CPU threads (``None``: torch's choice). Float sums depend on it, so it
            is part of the config: the same config gives the same bits on the same machine.
    """

    arch: str = "resnet_tiny"
    zero_init_residual: bool = False
    preset: str = "default"
    seed: int = 0
    n_images: int = 4000
    epochs: int = 6
    batch_size: int = 128
    lr: float = 0.2
    threads: int | None = None

    def __post_init__(self) -> None:
        _choice("arch", self.arch, ARCHS)
        _choice("preset", self.preset, SYNTH_PRESETS)
        _check(self.n_images >= 10, f"n_images={self.n_images} must be >= 10")
        _check(self.epochs >= 1 and self.batch_size >= 1 and self.lr > 0,
               f"epochs={self.epochs}, batch_size={self.batch_size}, lr={self.lr} must be positive")
        _check(self.threads is None or self.threads >= 1, f"threads={self.threads} must be >= 1 or None")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the fields."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class EvalConfig:
    """Test views and ensembling (the released test script's flags).

    Attributes:
        test_segments: segments at test time (``None``: the training value).
        test_crops: 1 (centre), 3, 5 or 10 spatial crops.
        full_res: crops of ``scale_size`` instead of ``input_size`` ("full-res").
        mode: ``uniform`` (centre clip), ``dense`` (``dense_number`` clips) or ``random``
            (the dense clips, then the uniform one).
        twice: add the clip shifted by half a segment (uniform and random modes).
        dense_number, dense_length: dense test clips and the frames each spans.
        softmax: ensemble softmax outputs instead of logits.
        batch_size: videos per forward pass.
        split: ``val`` (the data's ``val_split``), ``train`` (its ``train_split``, scored
            without augmentation: how well a model fits the data it was trained on) or
            ``heldout`` (the labelled split claims are scored on: ``heldout`` where the data has
            one, as the embedded benchmark does, else ``val_split``, as in the paper on real
            SSv2: :func:`mmlkit.data.scoring_split`).
    """

    test_segments: int | None = None
    test_crops: int = 1
    full_res: bool = False
    mode: str = "uniform"
    twice: bool = False
    dense_number: int = 1
    dense_length: int = 32
    softmax: bool = False
    batch_size: int = 8
    split: str = "val"

    def __post_init__(self) -> None:
        _choice("split", self.split, ("val", "train", "heldout"))
        _choice("test_crops", self.test_crops, TEST_CROPS)
        _choice("mode", self.mode, SAMPLE_MODES)
        _check(self.dense_number >= 1, f"dense_number={self.dense_number} must be >= 1")
        _check(self.test_segments is None or self.test_segments >= 1,
               f"test_segments={self.test_segments} must be >= 1")
        _check(self.batch_size >= 1, f"batch_size={self.batch_size} must be >= 1")


@dataclass(frozen=True)
class RunConfig:
    """One training run: a cohort of ``len(modalities)`` models trained together.

    A single modality (``("RGB",)``) is ordinary training; two or more models learn mutually.

    Attributes:
        modalities: one entry per model, e.g. ``("RGB", "Flow")`` or ``("RGB", "RGB")``.
        tune_from: checkpoint every model starts from (any modality; conv1 is converted).
        seed: seeds sampling, augmentation, initialisation and dropout.
        eval_freq: validate every this many epochs (and after the last one).
        device: ``cpu`` or ``cuda`` (``cuda:N`` allowed).
        threads: torch CPU threads for training and scoring (``None``: torch's choice). Float
            sums depend on the thread count, so, like the seed, it is part of the config and
            its hash: the same config reproduces the same weights on the same machine.
        tensorboard: also write TensorBoard event files.
    """

    modalities: tuple[str, ...] = ("RGB",)
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    mutual: MutualConfig = field(default_factory=MutualConfig)
    tune_from: str | None = None
    seed: int = 0
    eval_freq: int = 1
    device: str = "cpu"
    threads: int | None = None
    tensorboard: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "modalities", parse_modalities(self.modalities))
        _check(self.threads is None or self.threads >= 1, f"threads={self.threads} must be >= 1 or None")
        _check(self.eval_freq >= 1, f"eval_freq={self.eval_freq} must be >= 1")
        _check(self.device == "cpu" or self.device.startswith("cuda"),
               f"device={self.device!r} must be 'cpu' or 'cuda[:N]'")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready nested dict (tuples become lists)."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "RunConfig":
        """Inverse of :meth:`to_dict`; unknown keys raise :class:`ConfigError`."""
        kinds = {"data": DataConfig, "model": ModelConfig, "optim": OptimConfig, "mutual": MutualConfig}
        kw: dict[str, Any] = {}
        names = {f.name for f in dataclasses.fields(cls)}
        for k, v in d.items():
            _check(k in names, f"unknown RunConfig field {k!r}")
            if k in kinds:
                sub = {f.name for f in dataclasses.fields(kinds[k])}
                for kk in v:
                    _check(kk in sub, f"unknown {k} field {kk!r}")
                v = kinds[k](**{kk: tuple(vv) if isinstance(vv, list) else vv for kk, vv in v.items()})
            elif k == "modalities":
                v = tuple(v)
            kw[k] = v
        return cls(**kw)

    def with_checkpoint_paths(self, fn: Callable[[str | None], str | None]) -> "RunConfig":
        """This config with ``fn`` applied to its checkpoint paths (``tune_from``, ``model.pretrained``)."""
        return dataclasses.replace(self, tune_from=fn(self.tune_from),
                                   model=dataclasses.replace(self.model, pretrained=fn(self.model.pretrained)))

    def portable(self) -> "RunConfig":
        """This config with its checkpoint paths made :func:`portable <portable_path>`."""
        return self.with_checkpoint_paths(portable_path)

    def digest(self, portable: bool = True) -> str:
        """A short stable hash of the whole config: the run's identity (resume states, the
        results store's address).

        Args:
            portable: hash the checkpoint paths as :func:`portable_path` gives them, so that a
                run keeps its identity when the store holding its checkpoints moves (a clone
                whose ``results/`` links to another). ``False``: as given, the digest older
                runs recorded.
        """
        blob = json.dumps((self.portable() if portable else self).to_dict(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


#: A results store's content-addressed folders: ``runs/<Mods>_s<seed>_<hash>`` and
#: ``pretrained/<arch>_<hash>`` (their names carry their content's hash).
_STORE_FOLDER = re.compile(r"^(runs/.+_s\d+_|pretrained/.+_)[0-9a-f]{12}$")


def portable_path(path: str | None) -> str | None:
    """A checkpoint path as a run's identity sees it: from a store's ``runs/<run>`` or
    ``pretrained/<arch>_<hash>`` folder on (``<store>/runs/RGB_s0_<hash>/model0_RGB.pt``), so that a
    store keeps its addresses when its folder moves. Those folder names carry their content's hash,
    so equal tails name equal contents; any other path is returned unchanged.

    >>> portable_path("/home/me/mmlkit/results/default/pretrained/resnet_tiny_e4fb93b4ce39/backbone.pt")
    '<store>/pretrained/resnet_tiny_e4fb93b4ce39/backbone.pt'
    >>> portable_path("runs/rgb/model0_RGB.pt")
    'runs/rgb/model0_RGB.pt'
    """
    if path is None:
        return None
    parts = Path(path).parts
    for i in range(len(parts) - 2, -1, -1):
        if _STORE_FOLDER.match(f"{parts[i]}/{parts[i + 1]}"):
            return "/".join(("<store>",) + parts[i:])
    return path


def store_path(path: str | None, store: str | Path, renamed: Mapping[str, str] | None = None) -> str | None:
    """The inverse of :func:`portable_path`: a checkpoint path of a results store, into the store
    ``store`` (where that store is now); any other path is returned unchanged.

    Args:
        renamed: run folder -> its new name, for a store whose runs are being renamed.

    >>> store_path("/old/host/results/default/runs/RGB_s0_0123456789ab/model0_RGB.pt", "/new/results/default")
    '/new/results/default/runs/RGB_s0_0123456789ab/model0_RGB.pt'
    """
    rel = portable_path(path)
    if rel is None or not rel.startswith("<store>/"):
        return path
    parts = rel.split("/")[1:]
    if renamed and parts[0] == "runs" and parts[1] in renamed:
        parts[1] = renamed[parts[1]]
    return str(Path(store).joinpath(*parts))
