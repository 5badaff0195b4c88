"""Checkpoints: ours (with metadata), the released TSM/MML layout, and cross-modal initialisation.

Our file (``torch.save``, read back with ``weights_only=True``)::

    {"format": "mmlkit.tsn", "version": 1,
     "meta": {num_classes, num_segments, modality, arch, shift, shift_div, shift_place,
              temporal_pool, dropout, partial_bn, pretrained, zero_init_residual},
     "arch": str, "state_dict": {our keys: "base_model.conv1.weight", ..., "new_fc.weight"},
     **state}            # what the caller passed: epoch, optimizer, best_prec1, ...

The released code's file: ``{"epoch", "arch", "state_dict", "optimizer", "best_prec1"}`` whose
``state_dict`` keys carry the DataParallel prefix (``module.base_model.layer1.0.conv1.net.weight``,
``module.new_fc.weight``; with dropout 0 the head is ``module.base_model.fc``/``.classifier``;
MobileNetV2 uses the released code's own module numbering). A bare state dict in either layout is
read too. Our ResNet keys equal the released ones without ``module.``; MobileNetV2 keys are renamed.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import OrderedDict
from pathlib import Path
from typing import Mapping

import torch
from torch import nn

from mmlkit.errors import CheckpointError
from mmlkit.fileio import save_torch
from mmlkit.models import backbones as bb
from mmlkit.models.safe_load import safe_load
from mmlkit.models.tsn import TSN

FORMAT = "mmlkit.tsn"
VERSION = 1
_RESERVED = {"format", "version", "meta", "state_dict", "arch"}
_CH_TO_MODALITY = {c: m for m, c in bb.CONV1_CHANNELS.items()}
_RESNET_DEPTHS = {(2, 2, 2, 2): "resnet18", (3, 4, 6, 3): "resnet34", (3, 4, 23, 3): "resnet101",
                  (1, 1, 1, 1): "resnet_tiny"}
# torchvision MobileNetV2 block sub-keys <-> the released code's (tonylins) numbering
_MB_EXPAND = [("conv.0.0.", "conv.0."), ("conv.0.1.", "conv.1."), ("conv.1.0.", "conv.3."),
              ("conv.1.1.", "conv.4."), ("conv.2.", "conv.6."), ("conv.3.", "conv.7.")]
_MB_PLAIN = [("conv.0.0.", "conv.0."), ("conv.0.1.", "conv.1."), ("conv.1.", "conv.3."), ("conv.2.", "conv.4.")]
_MB_BLOCK = re.compile(r"^base_model\.features\.(\d+)\.(conv\..*)$")


def _unwrap(model: nn.Module) -> TSN:
    while hasattr(model, "module") and not isinstance(model, TSN):  # DataParallel / DDP
        model = model.module
    if not isinstance(model, TSN):
        raise TypeError(f"expected a mmlkit TSN (or a DDP/DataParallel around one), got {type(model).__name__}")
    return model


def _check_plain(value, where: str) -> None:
    """Only tensors, numbers, strings, None and dict/list/tuple of them (weights_only-loadable)."""
    if isinstance(value, (torch.Tensor, str, int, float, bool, type(None))):
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, (str, int)):
                raise TypeError(f"checkpoint entry {where}: key {k!r} is not a str or int")
            _check_plain(v, f"{where}[{k!r}]")
        return
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check_plain(v, f"{where}[{i}]")
        return
    raise TypeError(f"checkpoint entry {where} is a {type(value).__name__}; only tensors, numbers, "
                    f"strings, None and dicts/lists of them can be saved")


def save_checkpoint(path: str | os.PathLike, model: nn.Module, **state) -> Path:
    """Write ``model`` with its meta and the caller's training state, atomically.

    Args:
        path: destination file (parent folders are created).
        model: a :class:`TSN` (or DDP/DataParallel around one).
        **state: e.g. ``epoch=3, optimizer=opt.state_dict(), best_prec1=61.2``; tensors, numbers,
            strings, None and dicts/lists of them.

    Returns:
        The path written.
    """
    tsn = _unwrap(model)
    clash = _RESERVED & set(state)
    if clash:
        raise ValueError(f"state keys {sorted(clash)} are reserved by the checkpoint format")
    for k, v in state.items():
        _check_plain(v, k)
    sd = OrderedDict((k, v.detach().cpu()) for k, v in tsn.state_dict().items())
    payload = {"format": FORMAT, "version": VERSION, "meta": dict(tsn.meta), "arch": tsn.arch,
               "state_dict": sd, **state}
    return save_torch(payload, path)


def weights_digest(state_dict: Mapping[str, torch.Tensor]) -> str:
    """The sha256 (hex) of a state dict's tensors: each one's ``detach().cpu().contiguous()`` bytes,
    in the dict's order (the keys themselves are not hashed). Two runs trained the same bits
    exactly when their final state dicts have the same digest (``tests/test_bits.py`` commits one).
    """
    h = hashlib.sha256()
    for value in state_dict.values():
        h.update(value.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


# ----------------------------------------------------------------------------- released layout
def _mb_rename(sd: dict, to_official: bool) -> dict:
    """Rename MobileNetV2 block keys between torchvision's numbering and the released code's."""
    blocks: dict[int, list[str]] = {}
    for k in sd:
        m = _MB_BLOCK.match(k)
        if m:
            blocks.setdefault(int(m.group(1)), []).append(m.group(2))
    out = OrderedDict()
    for k, v in sd.items():
        m = _MB_BLOCK.match(k)
        if not m:
            out[k] = v
            continue
        i, sub = int(m.group(1)), m.group(2)
        marker = "conv.3." if to_official else "conv.7."  # only expansion blocks have it
        table = _MB_EXPAND if any(s.startswith(marker) for s in blocks[i]) else _MB_PLAIN
        src, dst = (0, 1) if to_official else (1, 0)
        for pair in table:
            if sub.startswith(pair[src]):
                sub = pair[dst] + sub[len(pair[src]):]
                break
        else:
            raise CheckpointError(f"unexpected MobileNetV2 key {k!r}")
        out[f"base_model.features.{i}.{sub}"] = v
    return out


def to_official_state_dict(model: nn.Module) -> OrderedDict:
    """The model's weights keyed as the released code's DataParallel-wrapped TSN names them.

    ``module.base_model.<...>`` (shifted convs under ``.net``; ``block`` placement wraps the whole
    block: ``layer1.0.net.conv1.weight``; temporal pooling wraps layer2: ``layer2.net.0...``) and
    ``module.new_fc.{weight,bias}`` (``module.base_model.fc``/``.classifier`` when dropout is 0,
    as the released code places the head then). Values are the model's tensors (on CPU).
    """
    tsn = _unwrap(model)
    sd = OrderedDict((k, v.detach().cpu()) for k, v in tsn.state_dict().items())
    if not bb.is_resnet(tsn.arch):
        sd = _mb_rename(sd, to_official=True)
    if tsn.meta["dropout"] == 0:
        head = f"base_model.{bb.head_name(tsn.arch)}."
        sd = OrderedDict((head + k[len("new_fc."):] if k.startswith("new_fc.") else k, v) for k, v in sd.items())
    return OrderedDict(("module." + k, v) for k, v in sd.items())


def from_official_state_dict(sd: dict) -> OrderedDict:
    """Inverse of :func:`to_official_state_dict`: released-layout keys -> our keys."""
    sd = OrderedDict((k[len("module."):] if k.startswith("module.") else k, v) for k, v in sd.items())
    mobilenet = any(k.startswith("base_model.features.") for k in sd)
    if "new_fc.weight" not in sd:  # dropout 0: the head sits in the backbone
        head = "base_model.classifier." if mobilenet else "base_model.fc."
        sd = OrderedDict(("new_fc." + k[len(head):] if k.startswith(head) else k, v) for k, v in sd.items())
    if mobilenet:
        sd = _mb_rename(sd, to_official=False)
    return sd


def infer_meta(sd: dict) -> dict:
    """What our-layout keys tell about the model: arch, modality, num_classes, shift, shift_place,
    temporal_pool (and dropout 0 is not knowable here). Unknowable fields are left out."""
    meta: dict = {}
    if "new_fc.weight" in sd:
        meta["num_classes"] = int(sd["new_fc.weight"].shape[0])
    mobilenet = "base_model.features.0.0.weight" in sd
    c1 = sd.get("base_model.features.0.0.weight" if mobilenet else "base_model.conv1.weight")
    if c1 is not None and c1.dim() == 4 and int(c1.shape[1]) in _CH_TO_MODALITY:
        meta["modality"] = _CH_TO_MODALITY[int(c1.shape[1])]
    if mobilenet:
        meta["arch"] = "mobilenet_v2"
        meta["shift"] = any(".net." in k for k in sd)
        meta["temporal_pool"] = False
        if meta["shift"]:
            meta["shift_place"] = "blockres"
        return meta
    counts = []
    for layer in range(1, 5):
        ids = {m.group(1) for k in sd for m in [re.match(rf"base_model\.layer{layer}\.(?:net\.)?(\d+)\.", k)] if m}
        counts.append(len(ids))
    arch = _RESNET_DEPTHS.get(tuple(counts))
    if arch == "resnet34" and any(".conv3." in k for k in sd):
        arch = "resnet50"
    if arch == "resnet_tiny" and c1 is not None and c1.shape[0] != 16:
        arch = None
    if arch:
        meta["arch"] = arch
    meta["temporal_pool"] = any(k.startswith("base_model.layer2.net.") for k in sd)
    block = any(re.match(r"base_model\.layer\d\.(?:net\.)?\d+\.net\.", k) for k in sd)
    meta["shift"] = block or any(".conv1.net." in k for k in sd)
    if meta["shift"]:
        meta["shift_place"] = "block" if block else "blockres"
    return meta


# ----------------------------------------------------------------------------- reading
def read_checkpoint(path: str | os.PathLike) -> dict:
    """Read a checkpoint of ours or of the released code (or a bare state dict in either layout).

    Returns:
        ``{"layout": "mmlkit" | "official", "meta": dict | None (None for the released layout),
        "inferred": meta inferred from the keys, "state_dict": our keys, **the file's other
        entries}`` (epoch, optimizer, best_prec1, arch, ... when present).

    Raises:
        CheckpointError: missing file; not readable with ``weights_only=True`` (e.g. a pickle
            holding code); not a state dict.
    """
    path = Path(path)
    obj = safe_load(path)
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path} holds a {type(obj).__name__}, expected a dict with a state_dict")
    if obj.get("format") == FORMAT:
        out = {k: v for k, v in obj.items() if k not in ("format", "version")}
        out["layout"] = "mmlkit"
        out["inferred"] = infer_meta(out["state_dict"])
        return out
    if "state_dict" in obj and isinstance(obj["state_dict"], dict):
        raw, rest = obj["state_dict"], {k: v for k, v in obj.items() if k != "state_dict"}
    else:
        raw, rest = obj, {}
    if not raw or not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in raw.items()):
        raise CheckpointError(f"{path} is not a state dict (expected str keys and tensor values)")
    if not any(k.startswith(("module.base_model.", "base_model.")) for k in raw):
        raise CheckpointError(f"{path} is not a TSN checkpoint: no 'module.base_model.*' or 'base_model.*' "
                              f"keys (first key: {next(iter(raw))!r}); a plain image backbone goes to "
                              f"TSN(pretrained=<path>) instead")
    sd = from_official_state_dict(raw)
    inferred = infer_meta(sd)
    if not any(k.endswith("new_fc.weight") for k in raw):
        inferred["dropout"] = 0.0  # the released code puts the head in the backbone only then
    return {**rest, "layout": "official", "meta": None, "inferred": inferred, "state_dict": sd}


def _load_weights(model: TSN, sd: dict, path: Path) -> None:
    own = model.state_dict()
    missing = [k for k in own if k not in sd and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in sd if k not in own]
    if missing or unexpected:
        raise CheckpointError(
            f"{path} does not match a {model.arch} TSN (shift={model.meta['shift']}, "
            f"shift_place={model.meta['shift_place']!r}, temporal_pool={model.meta['temporal_pool']}): "
            f"missing {missing[:4]}{'...' if len(missing) > 4 else ''}, unexpected "
            f"{unexpected[:4]}{'...' if len(unexpected) > 4 else ''}")
    bad = [f"{k}: file {tuple(sd[k].shape)}, model {tuple(v.shape)}" for k, v in own.items()
           if k in sd and tuple(sd[k].shape) != tuple(v.shape)]
    if bad:
        raise CheckpointError(f"{path}: shapes differ from the {model.arch} model asked for: {bad[:3]}")
    full = OrderedDict((k, sd.get(k, own[k])) for k in own)  # old files lack num_batches_tracked
    model.load_state_dict(full, strict=True)


def load_checkpoint(path: str | os.PathLike, **meta) -> TSN:
    """A ready :class:`TSN` (eval mode, on CPU) from a checkpoint of ours or of the released code.

    Args:
        path: the file.
        **meta: TSN constructor arguments. Our files carry them all: any given here must agree.
            A released-layout file carries none: ``num_segments`` is required; arch, modality,
            num_classes and the shift settings are read from the keys and any given must agree;
            the rest take TSN's defaults. Image pretraining is never loaded here.

    Raises:
        CheckpointError: the file cannot be read, or what it holds disagrees with ``meta``
            (the message names the field, the file's value and the value asked for).
    """
    path = Path(path)
    ck = read_checkpoint(path)
    base = ck["meta"] if ck["meta"] is not None else ck["inferred"]
    for k, v in meta.items():
        if k in base and base[k] != v:
            raise CheckpointError(f"{path} holds a model with {k}={base[k]!r}, but {k}={v!r} was asked for")
    args = {**base, **meta}
    if "num_segments" not in args:
        raise CheckpointError(f"{path} is in the released code's layout, which does not record the "
                              f"segment count: pass num_segments=")
    for k in ("arch", "modality", "num_classes"):
        if k not in args:
            raise CheckpointError(f"{path}: cannot tell {k} from the keys; pass {k}=")
    pretrained = args.get("pretrained")
    args["pretrained"] = None
    try:
        model = TSN(**args)
    except TypeError as exc:
        raise CheckpointError(f"load_checkpoint({path}): {exc}") from exc
    _load_weights(model, ck["state_dict"], path)
    model.meta["pretrained"] = pretrained
    return model.eval()


# ----------------------------------------------------------------------------- tune_from
def _canon(key: str) -> str:
    """Key without the shift/pool wrappers (``.net``), to match weights across shift settings."""
    return re.sub(r"\.net(?=\.)", "", key)


def init_from_checkpoint(model: nn.Module, path: str | os.PathLike) -> list[str]:
    """Cross-modal initialisation (the released code's ``--tune_from``), in place.

    Loads every weight of the checkpoint (ours or the released layout, any modality) into
    ``model``; conv1 is converted from the source's channel count to the model's by the
    channel-mean rule; the head is kept when the class count matches, else the model's fresh
    head stays. Shift settings may differ (weights are matched without the ``.net`` wrappers).

    Build the optimizer (:func:`mmlkit.models.param_groups`) only after this call: the released
    code built it before converting conv1, so its new conv1 never trained.

    Returns:
        Human-readable notes on what was converted or skipped.

    Raises:
        CheckpointError: unreadable file, another arch, or weights whose names/shapes do not fit.
    """
    tsn = _unwrap(model)
    path = Path(path)
    ck = read_checkpoint(path)
    src_meta = ck["meta"] if ck["meta"] is not None else ck["inferred"]
    if src_meta.get("arch", tsn.arch) != tsn.arch:
        raise CheckpointError(f"{path} holds a {src_meta['arch']} model, the model to initialise is {tsn.arch}")
    src = {_canon(k): v for k, v in ck["state_dict"].items()}
    own = tsn.state_dict()
    conv1 = _canon("base_model." + bb.first_conv_key(tsn.arch))
    notes = [f"initialised from {path} ({ck['layout']} layout, "
             f"{src_meta.get('modality', '?')} {src_meta.get('arch', tsn.arch)})"]
    new, head_skipped = OrderedDict(), False
    for k, v in own.items():
        c = _canon(k)
        if c not in src:
            if k.endswith("num_batches_tracked"):
                new[k] = v
                continue
            raise CheckpointError(f"{path} has no weight for {c!r}; expected a {tsn.arch} checkpoint")
        w = src[c]
        if c == conv1 and w.shape[1] != v.shape[1]:
            new[k] = bb.convert_conv1_weight(w, v.shape[1])
            notes.append(f"conv1 converted from {w.shape[1]} to {v.shape[1]} input channels "
                         f"({src_meta.get('modality', '?')} -> {tsn.modality}, channel-mean rule)")
        elif k.startswith("new_fc.") and w.shape != v.shape:
            new[k] = v
            head_skipped = True
        elif w.shape != v.shape:
            raise CheckpointError(f"{path}: {c} has shape {tuple(w.shape)}, the {tsn.arch} model "
                                  f"needs {tuple(v.shape)}")
        else:
            new[k] = w
    used = {_canon(k) for k in own}
    extra = sorted(set(src) - used)
    if extra:
        raise CheckpointError(f"{path} holds weights the {tsn.arch} model lacks: {extra[:4]}")
    if head_skipped:
        n_src = src_meta.get("num_classes", "?")
        notes.append(f"head not loaded: checkpoint has {n_src} classes, model has {tsn.num_classes}; "
                     f"the model's fresh head is kept")
    else:
        notes.append(f"head loaded ({tsn.num_classes} classes)")
    for key in ("shift", "shift_place", "temporal_pool", "num_segments"):
        if key in src_meta and src_meta[key] != tsn.meta[key]:
            notes.append(f"{key} differs: checkpoint {src_meta[key]!r}, model {tsn.meta[key]!r}")
    tsn.load_state_dict(new, strict=True)
    return notes
