"""The multi-modal clip dataset and its loader helpers.

One item is one video: the sampler draws one base offset vector, every modality reads the same
positions (:func:`mmlkit.data.sampling.modality_indices`), one crop/mirror is drawn and applied to
every modality, and each modality is normalised to its network layout.

Determinism: item ``i`` of epoch ``e`` uses only ``np.random.default_rng([seed, e, i])`` (and,
when it had to skip unreadable videos, ``default_rng([seed, e, i, attempt])`` for the attempt
that succeeded), so the clip does not depend on the number of loader workers, their order or
the process; :func:`make_loader` orders items by :class:`EpochOrder` of ``(seed, epoch)``.

Unreadable videos: when the source raises :class:`~mmlkit.errors.DataError` (which includes
:class:`~mmlkit.errors.VideoDecodeError`) for the video of item ``i``, a training dataset takes
video ``i + 1`` (wrapping) and so on; the sample keeps ``index = i`` but carries the ``id`` it
really holds and ``skipped``: the ids it passed over. A test dataset (``train=False``) never
substitutes, since that would count one video twice in an accuracy: item ``i`` comes back with
``inputs`` None and ``skipped = [id]``, and :func:`collate` leaves it out of the batch, so
accuracy is over the N - k readable videos. ``dataset.skipped`` (a set of ids) is updated in
the process that ran ``__getitem__``; with ``workers > 0`` that is a worker, so the training /
evaluation loop must aggregate from the batches: ``dataset.skipped.update(batch["skipped"])``
(idempotent, also right with ``workers == 0``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, default_collate

from mmlkit.config import MODALITY_SPECS, NEW_LENGTH, DataConfig, EvalConfig
from mmlkit.data import sampling, transforms
from mmlkit.data.sthv2 import VideoRecord
from mmlkit.errors import DataError

#: The frames each modality is computed from, as the frame sources name them.
SOURCE_MODALITY: dict[str, str] = {m: "Flow" if s.source == "flow" else "RGB" for m, s in MODALITY_SPECS.items()}


def _unique_modalities(modalities: Sequence[str] | str) -> tuple[str, ...]:
    items = [m.strip() for m in modalities.split(",")] if isinstance(modalities, str) else list(modalities)
    out: list[str] = []
    for m in items:
        if m not in NEW_LENGTH:
            raise ValueError(f"unknown modality {m!r} in {modalities!r}; known: {', '.join(NEW_LENGTH)}")
        if m not in out:
            out.append(m)
    if not out:
        raise ValueError("modalities is empty: give at least one of RGB, Flow, RGBDiff")
    return tuple(out)


def _scale_params(p: transforms.CropParams, fh: int, fw: int, h: int, w: int) -> transforms.CropParams:
    """Map a crop drawn on ``fh x fw`` frames onto frames of ``h x w`` (a modality stored at
    another resolution), keeping it inside the frame."""
    if (h, w) == (fh, fw):
        return p
    sx, sy = w / fw, h / fh
    cw, ch = max(1, min(w, round(p.w * sx))), max(1, min(h, round(p.h * sy)))
    x, y = min(max(round(p.x * sx), 0), w - cw), min(max(round(p.y * sy), 0), h - ch)
    return transforms.CropParams(int(x), int(y), int(cw), int(ch), p.flip)


class ClipDataset(Dataset):
    """Multi-modal clips of a list of videos.

    Args:
        records: the videos (``label`` None -> -1 in samples).
        source: a frame source (``num_frames(id, "RGB"|"Flow")``, ``read(id, modality, indices)``).
        modalities: e.g. ``("RGB", "Flow")``; repeats collapse (``RGB,RGB`` -> one ``RGB`` input
            that both peers consume, so ML peers get identical inputs).
        data_cfg: segments, sampling, crop sizes and scales, flip.
        train: random sampling and crops (True) or the fixed test views (False).
        seed: the run seed. eval_cfg: test views (``None``: :class:`EvalConfig` defaults, i.e.
            one centre clip, one centre crop).
        lr_pairs: symmetric left/right class map applied to mirrored clips (only used when
            ``data_cfg.flip`` and ``train``).

    Item ``i`` is a dict:
        ``inputs``: {modality: float32 tensor}, train (T, C, H, W); test (V, T, C, H, W) with
        V = clips x crops, clip-major (``v = clip * n_crops + crop``); C = 3 RGB, 10 Flow,
        18 RGBDiff; H = W = input_size (``scale_size`` for full-res test crops).
        ``label``: int (-1 unknown; swapped for mirrored left/right classes). ``id``: str.
        ``index``: i. ``skipped``: list of ids passed over (unreadable) to produce this item.
        A test item whose video is unreadable has ``inputs`` None and ``skipped == [id]``.
    """

    def __init__(self, records: Sequence[VideoRecord], source: Any, modalities: Sequence[str] | str,
                 data_cfg: DataConfig, train: bool, seed: int, eval_cfg: EvalConfig | None = None,
                 lr_pairs: Mapping[int, int] | None = None) -> None:
        self.records = list(records)
        if not self.records:
            raise DataError("ClipDataset got no records: the split is empty")
        self.source = source
        self.modalities = _unique_modalities(modalities)
        self.data_cfg = data_cfg
        self.train = bool(train)
        self.seed = int(seed)
        self.eval_cfg = eval_cfg if eval_cfg is not None else EvalConfig()
        self.lr_pairs = dict(lr_pairs) if (lr_pairs and data_cfg.flip and self.train) else None
        self.epoch = 0
        self.skipped: set[str] = set()
        self.num_segments = (data_cfg.num_segments if self.train or self.eval_cfg.test_segments is None
                             else self.eval_cfg.test_segments)
        self.lengths = {m: NEW_LENGTH[m] for m in self.modalities}

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch the random draws depend on (call before building the loader)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.records)

    @property
    def out_size(self) -> int:
        """Side of the output frames in pixels."""
        if not self.train and self.eval_cfg.full_res:
            return self.data_cfg.scale_size
        return self.data_cfg.input_size

    @property
    def num_views(self) -> int:
        """Views per test item (clips x crops); 1 when training."""
        if self.train:
            return 1
        e = self.eval_cfg
        clips = {"uniform": 1, "dense": e.dense_number, "random": e.dense_number + 1}[e.mode]
        if e.twice and e.mode != "dense":
            clips += 1
        return clips * e.test_crops

    def _base(self, n_min: int, l_max: int, rng: np.random.Generator) -> np.ndarray:
        d, e, t = self.data_cfg, self.eval_cfg, self.num_segments
        if self.train:
            return sampling.train_indices(n_min, t, l_max, d.sample, d.dense_length, rng)      # (T,)
        return sampling.test_indices(n_min, t, l_max, e.mode, e.dense_length, e.dense_number, e.twice)  # (Vc, T)

    def _read(self, vid: str, modality: str, idx: np.ndarray) -> np.ndarray:
        flat = idx.reshape(-1)
        if flat.size > 1 and bool(np.any(flat[1:] <= flat[:-1])):
            # repeated or unordered frames (windows overlap, dense clips wrap): read each once
            uniq, inv = np.unique(flat, return_inverse=True)
        else:
            uniq, inv = flat, None
        frames = np.asarray(self.source.read(vid, SOURCE_MODALITY[modality], uniq))        # (u, H, W, C)
        if frames.ndim != 4 or frames.shape[0] != len(uniq) or frames.dtype != np.uint8:
            raise DataError(f"video {vid!r}: the source returned {frames.dtype} {frames.shape} for "
                            f"{len(uniq)} {modality} frames; expected uint8 (n, H, W, C)")
        return frames if inv is None else frames[inv.reshape(-1)]                            # (n, H, W, C)

    def _load(self, rec: VideoRecord, rng: np.random.Generator) -> tuple[dict[str, torch.Tensor], int]:
        counts = {m: int(self.source.num_frames(rec.id, SOURCE_MODALITY[m])) for m in self.modalities}
        for m, n in counts.items():
            if n < 1:
                raise DataError(f"video {rec.id!r} has {n} {m} frames; it needs at least 1")
        n_min, l_max = sampling.base_geometry(counts, self.lengths)
        base = self._base(n_min, l_max, rng)
        idx = sampling.modality_indices(base, counts, self.lengths)     # m -> (..., T, l)
        raw = {m: self._read(rec.id, m, idx[m]) for m in self.modalities}
        fh, fw = raw[self.modalities[0]].shape[1:3]
        label = -1 if rec.label is None else int(rec.label)
        d, s = self.data_cfg, self.out_size
        if self.train:
            p = transforms.draw_train_crop(rng, fh, fw, d.input_size, d.scales, d.max_distort, d.flip)
            label = transforms.flip_label(label, p, self.lr_pairs) if label >= 0 else label
            views = [p]
        else:
            e = self.eval_cfg
            views = transforms.test_crops(fh, fw, d.input_size, d.scale_size, e.test_crops, e.full_res)
        out: dict[str, torch.Tensor] = {}
        for m in self.modalities:
            fr = raw[m]
            h, w, c = fr.shape[1:]
            shape = idx[m].shape                                          # (..., T, l)
            crops = [transforms.apply_crop(fr, _scale_params(p, fh, fw, h, w), s, m)
                     .reshape(*shape, s, s, c) for p in views]
            if self.train:
                out[m] = transforms.normalize(crops[0], m)                # (T, C', s, s)
            else:
                arr = np.stack(crops, axis=1)                             # (Vc, n_crops, T, l, s, s, c)
                arr = arr.reshape(-1, *arr.shape[2:])                     # (V, T, l, s, s, c) clip-major
                out[m] = transforms.normalize(arr, m)                     # (V, T, C', s, s)
        return out, label

    def __getitem__(self, index: int) -> dict[str, Any]:
        n = len(self.records)
        if not -n <= index < n:
            raise IndexError(f"index {index} out of range for {n} videos")
        index = index % n
        skipped: list[str] = []
        last: Exception | None = None
        if not self.train:  # a test view is never replaced by another video: skip it and count it
            rec = self.records[index]
            try:
                inputs, label = self._load(rec, np.random.default_rng([self.seed, self.epoch, index]))
            except DataError:
                self.skipped.add(rec.id)
                return {"inputs": None, "label": -1, "id": rec.id, "index": index, "skipped": [rec.id]}
            return {"inputs": inputs, "label": label, "id": rec.id, "index": index, "skipped": []}
        for attempt in range(n):
            rec = self.records[(index + attempt) % n]
            key = [self.seed, self.epoch, index] + ([attempt] if attempt else [])
            rng = np.random.default_rng(key)
            try:
                inputs, label = self._load(rec, rng)
            except DataError as exc:
                skipped.append(rec.id)
                self.skipped.add(rec.id)
                last = exc
                continue
            return {"inputs": inputs, "label": label, "id": rec.id, "index": index, "skipped": skipped}
        raise DataError(f"none of the {n} videos could be read (last error: {last})")


def collate(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack samples: inputs {m: (B, ...)}, label int64 (B,), id list[str], index int64 (B,),
    skipped list[str] (every id passed over for this batch).

    An unreadable test video (``inputs`` None) is left out of the batch and only listed in
    ``skipped``; a batch of only such videos has B = 0 (``inputs`` ``{}``). The inputs go through
    ``default_collate``, which, in a loader worker, stacks straight into shared memory (one copy
    instead of two on the way to the main process).
    """
    kept = [it for it in items if it["inputs"] is not None]
    return {
        "inputs": default_collate([it["inputs"] for it in kept]) if kept else {},
        "label": torch.tensor([it["label"] for it in kept], dtype=torch.int64),
        "id": [it["id"] for it in kept],
        "index": torch.tensor([it["index"] for it in kept], dtype=torch.int64),
        "skipped": [s for it in items for s in it.get("skipped", [])],
    }


def loader_seed(seed: int, epoch: int) -> int:
    """The 63-bit torch seed of the loader order for ``(seed, epoch)``."""
    return int(np.random.SeedSequence([int(seed), int(epoch)]).generate_state(2, np.uint64)[0] >> np.uint64(1))


class EpochOrder(torch.utils.data.Sampler[int]):
    """The training order of ``(seed, epoch)``: a permutation of ``range(n)``, the same every
    time it is iterated, in any process and whatever the DataLoader does around it.

    ``torch.randperm(n)`` from a generator seeded with :func:`loader_seed`, after two 64-bit
    draws from that generator. The two draws are history, kept so that every stored run keeps its
    bits: until 0.3 the order came from the DataLoader's own generator, from which each new
    iterator first drew its workers' base seed, and the progress bar (``tqdm.auto``) made one
    iterator more than it read. With worker processes the dropped iterator had already drawn
    the permutation to prefetch, so the worker path trained on another order than the
    in-process one; owned here, the order is one.
    """

    def __init__(self, n: int, seed: int, epoch: int) -> None:
        self.n, self.seed, self.epoch = int(n), int(seed), int(epoch)

    def __len__(self) -> int:
        return self.n

    def __iter__(self):
        g = torch.Generator()
        g.manual_seed(loader_seed(self.seed, self.epoch))
        for _ in range(2):  # the two base seeds the orders of runs before 0.3 came after
            torch.empty((), dtype=torch.int64).random_(generator=g)
        return iter(torch.randperm(self.n, generator=g).tolist())


def make_loader(dataset: ClipDataset, batch_size: int, shuffle: bool, seed: int, epoch: int,
                workers: int, drop_last: bool) -> DataLoader:
    """A DataLoader in the order :class:`EpochOrder` gives ``(seed, epoch)`` (``shuffle``; else
    the dataset's order); sets the dataset's epoch.

    Batches are :func:`collate` dicts, the same with ``workers`` processes as in this one. Build a
    new loader every epoch (workers are not persistent, so each epoch's workers see the new
    epoch). Aggregate unreadable videos with ``dataset.skipped.update(batch["skipped"])``.
    """
    if batch_size < 1 or workers < 0:
        raise ValueError(f"batch_size={batch_size} must be >= 1 and workers={workers} >= 0")
    if hasattr(dataset, "set_epoch"):
        dataset.set_epoch(epoch)
    gen = torch.Generator()  # the workers' base seed (their items draw from default_rng([seed, epoch, i]))
    gen.manual_seed(loader_seed(seed, epoch))
    order = EpochOrder(len(dataset), seed, epoch) if shuffle else None
    return DataLoader(dataset, batch_size=batch_size, sampler=order, num_workers=workers, drop_last=drop_last,
                      collate_fn=collate, generator=gen, persistent_workers=False, pin_memory=False)


def resolve_root(data_cfg: DataConfig) -> Path:
    """The folder in the SSv2 layout that ``data_cfg`` names (synthetic: generated on first use).

    Raises:
        DataError: the folder does not exist or has no ``labels.json``.
    """
    if data_cfg.dataset == "synthetic":
        from mmlkit.data import synthetic
        root = data_cfg.root or synthetic.default_root(data_cfg.synth_preset, data_cfg.synth_seed)
        return Path(synthetic.ensure_synthetic(root, data_cfg.synth_preset, data_cfg.synth_seed))
    root = Path(data_cfg.root if data_cfg.dataset == "somethingv2" else data_cfg.dataset).expanduser()
    if not root.is_dir():
        raise DataError(f"data root {str(root)!r} (dataset={data_cfg.dataset!r}) is not a folder; "
                        "give the folder holding labels.json and the split files")
    if not (root / "labels.json").is_file():
        raise DataError(f"{root / 'labels.json'} is missing: the data root must follow the SSv2 layout")
    return root


def _labels(data_cfg: DataConfig) -> dict[str, int]:
    from mmlkit.data import sthv2
    return sthv2.load_labels(resolve_root(data_cfg) / "labels.json")


def num_classes(data_cfg: DataConfig) -> int:
    """Number of classes in the data set's ``labels.json``."""
    return len(_labels(data_cfg))


def class_names(data_cfg: DataConfig) -> list[str]:
    """Class index -> template (brackets removed)."""
    from mmlkit.data import sthv2
    return sthv2.class_names(_labels(data_cfg))


def scoring_split(data_cfg: DataConfig, which: str) -> str:
    """The split name an evaluation's ``which`` (``EvalConfig.split``) reads.

    ``train`` and ``val`` are the data's ``train_split`` and ``val_split``; ``heldout`` is the
    labelled held-out split ``something-something-v2-heldout.json`` where the data has one (the
    embedded benchmark), else ``val_split`` (real SSv2, whose test labels are not public: the
    paper reports on its validation set). The synthetic benchmark never falls back.

    Raises:
        ValueError: ``which`` is none of these.
        DataError: ``heldout`` of a synthetic benchmark without one.
    """
    from mmlkit.data import sthv2

    if which == "train":
        return data_cfg.train_split
    if which == "val":
        return data_cfg.val_split
    if which == "heldout":
        root = resolve_root(data_cfg)
        if sthv2.split_path(root, "heldout").is_file():
            return "heldout"
        if data_cfg.dataset == "synthetic":  # never score another split under the held-out's name
            raise DataError(f"{root}: the synthetic benchmark has no held-out split "
                            f"({sthv2.split_path(root, 'heldout').name}); its preset "
                            f"{data_cfg.synth_preset!r} asks for none (heldout_per_class=0)")
        return data_cfg.val_split
    raise ValueError(f"evaluation split {which!r} must be 'train', 'val' or 'heldout'")


def build_dataset(data_cfg: DataConfig, split: str, modalities: Sequence[str] | str, train: bool,
                  seed: int, eval_cfg: EvalConfig | None = None) -> ClipDataset:
    """The :class:`ClipDataset` of one split of the data set ``data_cfg`` names.

    Args:
        split: ``train`` | ``validation`` | ``test`` (usually ``data_cfg.train_split`` / ``val_split``).
        modalities: e.g. ``("RGB", "Flow")``. train: training augmentation or test views.
        seed: the run seed. eval_cfg: test views when ``train`` is False.

    Raises:
        DataError: missing root, malformed annotations, or an empty split.
    """
    from mmlkit.data import sthv2, video
    root = resolve_root(data_cfg)
    labels = sthv2.load_labels(root / "labels.json")
    records = sthv2.load_split(root, split, labels)
    if not records:
        raise DataError(f"split {split!r} of {root} ({sthv2.split_path(root, split)}) has no records")
    source = video.make_source(root, data_cfg.source)
    pairs = sthv2.left_right_pairs(labels) if (data_cfg.flip and train) else None
    return ClipDataset(records, source, modalities, data_cfg, train, seed, eval_cfg, pairs)
