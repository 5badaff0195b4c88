"""The clip dataset on a tiny hand-built packed data set (SSv2 layout, written with numpy)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from mmlkit.config import DataConfig, EvalConfig
from mmlkit.data import dataset as DS
from mmlkit.data import sampling
from mmlkit.data.sthv2 import VideoRecord
from mmlkit.data.transforms import IMAGENET_MEAN, IMAGENET_STD
from mmlkit.data.video import PackedSource
from mmlkit.errors import DataError

LABELS = {"Moving something from left to right": "0", "Moving something from right to left": "1",
          "Pushing something": "2"}
TEMPLATES = ["Moving [something] from left to right", "Moving [something] from right to left",
             "Pushing [something]"]
H, W = 32, 40


def _frames(n: int, vid: int) -> tuple[np.ndarray, np.ndarray]:
    """RGB: ch0 = frame index, ch1 = 5 * x, ch2 = vid; Flow: x = frame index + 100, y = 5 * x."""
    xs = (np.arange(W) * 5).astype(np.uint8)
    rgb = np.zeros((n, H, W, 3), np.uint8)
    rgb[..., 0] = np.arange(n, dtype=np.uint8)[:, None, None]
    rgb[..., 1] = xs
    rgb[..., 2] = vid
    flow = np.zeros((n - 1, H, W, 2), np.uint8)
    flow[..., 0] = (np.arange(n - 1) + 100).astype(np.uint8)[:, None, None]
    flow[..., 1] = xs
    return rgb, flow


def make_root(root: Path, n_videos: int = 6, frames=(40, 25, 12, 3, 60, 33)) -> Path:
    (root / "packed" / "rgb").mkdir(parents=True)
    (root / "packed" / "flow").mkdir(parents=True)
    (root / "labels.json").write_text(json.dumps(LABELS))
    recs = []
    for i in range(n_videos):
        vid = str(i + 1)
        rgb, flow = _frames(frames[i % len(frames)], i + 1)
        np.save(root / "packed" / "rgb" / f"{vid}.npy", rgb)
        np.save(root / "packed" / "flow" / f"{vid}.npy", flow)
        recs.append({"id": vid, "label": "x", "template": TEMPLATES[i % 3], "placeholders": ["x"]})
    for split in ("train", "validation"):
        (root / f"something-something-v2-{split}.json").write_text(json.dumps(recs))
    (root / "something-something-v2-test.json").write_text("[]")
    return root


def cfg(root: Path, **kw) -> DataConfig:
    base = dict(dataset=str(root), source="packed", num_segments=4, dense_length=8, input_size=32,
                scale_size=32, scales=(1.0, 0.875), workers=0)
    base.update(kw)
    return DataConfig(**base)


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    return make_root(tmp_path / "data")


def rgb_frame_index(x: torch.Tensor) -> np.ndarray:
    """Undo the RGB normalisation of channel 0 (the frame index) at the centre pixel."""
    v = x[..., 0, x.shape[-2] // 2, x.shape[-1] // 2].numpy() * IMAGENET_STD[0] + IMAGENET_MEAN[0]
    return np.rint(v * 255).astype(int)


def flow_value(x: torch.Tensor, ch: int) -> np.ndarray:
    v = x[..., ch, x.shape[-2] // 2, x.shape[-1] // 2].numpy() * 0.226 + 0.5
    return np.rint(v * 255).astype(int)


def test_train_item_shapes_and_shared_positions(root):
    ds = DS.build_dataset(cfg(root, sample="random"), "train", ("RGB", "Flow", "RGBDiff"), True, seed=0)
    assert len(ds) == 6 and ds.modalities == ("RGB", "Flow", "RGBDiff")
    for i in range(len(ds)):
        s = ds[i]
        assert set(s) == {"inputs", "label", "id", "index", "skipped"}
        assert s["index"] == i and s["id"] == str(i + 1) and s["label"] == i % 3 and s["skipped"] == []
        rgb, flow, diff = s["inputs"]["RGB"], s["inputs"]["Flow"], s["inputs"]["RGBDiff"]
        assert rgb.shape == (4, 3, 32, 32) and flow.shape == (4, 10, 32, 32) and diff.shape == (4, 18, 32, 32)
        assert rgb.dtype == flow.dtype == diff.dtype == torch.float32
        t_rgb = rgb_frame_index(rgb)
        assert np.array_equal(flow_value(flow, 0) - 100, t_rgb)          # flow x1 starts where RGB is
        assert np.array_equal(np.rint(diff[:, 0, 16, 16].numpy() * 255).astype(int), t_rgb)
        n = [40, 25, 12, 3, 60, 33][i]
        x_k = flow_value(flow, 8) - 100                                   # x5: 4 frames later, clamped
        assert np.array_equal(x_k, np.minimum(t_rgb + 4, n - 2))
        # the same crop for every modality: RGB ch1 and flow y carry the same x pattern
        g_rgb = np.rint((rgb[0, 1].numpy() * IMAGENET_STD[1] + IMAGENET_MEAN[1]) * 255)
        g_flow = np.rint((flow[0, 1].numpy() * 0.226 + 0.5) * 255)
        assert np.abs(g_rgb - g_flow).max() <= 1


def test_rgb_rgb_peers_share_one_input(root):
    ds = DS.build_dataset(cfg(root), "train", "RGB,RGB", True, seed=0)
    assert ds.modalities == ("RGB",) and list(ds[0]["inputs"]) == ["RGB"]


def test_deterministic_per_seed_epoch_index(root):
    d = cfg(root, sample="random")
    a = DS.build_dataset(d, "train", ("RGB", "Flow"), True, seed=3)
    b = DS.build_dataset(d, "train", ("RGB", "Flow"), True, seed=3)
    for i in (0, 4, 2):
        assert torch.equal(a[i]["inputs"]["Flow"], b[i]["inputs"]["Flow"])
    differs = []
    for e in range(1, 4):
        b.set_epoch(e)
        differs.append(not torch.equal(a[4]["inputs"]["RGB"], b[4]["inputs"]["RGB"]))
    assert any(differs)


def test_loader_same_batches_whatever_the_workers(root):
    d = cfg(root, sample="random")
    ds = DS.build_dataset(d, "train", ("RGB", "Flow"), True, seed=1)
    runs = []
    for workers in (0, 2):
        batches = list(DS.make_loader(ds, batch_size=4, shuffle=True, seed=1, epoch=2, workers=workers, drop_last=False))
        runs.append(batches)
    assert [len(b["id"]) for b in runs[0]] == [4, 2]
    for b0, b1 in zip(*runs):
        assert b0["id"] == b1["id"] and torch.equal(b0["index"], b1["index"])
        assert torch.equal(b0["label"], b1["label"]) and b0["label"].dtype == torch.int64
        assert b0["inputs"]["RGB"].shape == (len(b0["id"]), 4, 3, 32, 32)
        assert torch.equal(b0["inputs"]["Flow"], b1["inputs"]["Flow"])
    order = [b["id"] for b in DS.make_loader(ds, 6, True, 1, 3, 0, False)]
    again = [b["id"] for b in DS.make_loader(ds, 6, True, 1, 3, 0, False)]
    assert order == again                                   # the order is a function of (seed, epoch)
    firsts = {tuple(next(iter(DS.make_loader(ds, 6, True, 1, e, 0, False)))["id"]) for e in range(6)}
    assert len(firsts) > 1                                  # and other epochs give other orders


def _order_of_the_stored_runs(n: int, seed: int, epoch: int) -> list[int]:
    """What every run before 0.3 was trained in: the DataLoader's generator, seeded with
    loader_seed, gave two workers' base seeds (the bar's dropped iterator, then the read one),
    then RandomSampler's permutation. Written from torch's DataLoader, not from EpochOrder."""
    g = torch.Generator()
    g.manual_seed(int(np.random.SeedSequence([seed, epoch]).generate_state(2, np.uint64)[0] >> np.uint64(1)))
    torch.empty((), dtype=torch.int64).random_(generator=g)
    torch.empty((), dtype=torch.int64).random_(generator=g)
    return torch.randperm(n, generator=g).tolist()


def test_the_order_is_the_stored_runs_in_every_path(root):
    """Read through the progress bar, as the training loop reads it, with and without a worker
    process: one order, that of the stored runs. (``tqdm.auto`` made an iterator it never read;
    a worker's had drawn the permutation already, so the worker path trained another order.)"""
    from mmlkit.progress import bar

    ds = DS.build_dataset(cfg(root, sample="random"), "train", ("RGB",), True, seed=1)
    for epoch in (0, 3):
        want = _order_of_the_stored_runs(len(ds), 1, epoch)
        for workers in (0, 1):
            for wrap in (False, True):
                loader = DS.make_loader(ds, 2, True, 1, epoch, workers, drop_last=False)
                got = torch.cat([b["index"] for b in (bar(loader, enabled=False, total=len(loader)) if wrap
                                                      else loader)]).tolist()
                assert got == want, (epoch, workers, wrap)


def test_unreadable_video_is_skipped_and_reported(root):
    (root / "packed" / "flow" / "3.npy").write_bytes(b"not a npy file")
    ds = DS.build_dataset(cfg(root), "train", ("RGB", "Flow"), True, seed=0)
    s = ds[2]
    assert s["id"] == "4" and s["index"] == 2 and s["skipped"] == ["3"] and ds.skipped == {"3"}
    ds2 = DS.build_dataset(cfg(root), "train", ("RGB", "Flow"), True, seed=0)
    seen = set()
    for batch in DS.make_loader(ds2, 3, False, 0, 0, workers=1, drop_last=False):
        ds2.skipped.update(batch["skipped"])                              # the loop's aggregation
        seen.update(batch["id"])
    assert ds2.skipped == {"3"} and "3" not in seen
    ds_rgb = DS.build_dataset(cfg(root), "train", ("RGB",), True, seed=0)
    assert ds_rgb[2]["id"] == "3"                                         # RGB alone reads fine


def test_a_test_view_is_never_substituted_but_left_out_and_counted(root):
    (root / "packed" / "flow" / "3.npy").write_bytes(b"not a npy file")
    ds = DS.build_dataset(cfg(root), "train", ("RGB", "Flow"), False, seed=0, eval_cfg=EvalConfig())
    s = ds[2]
    assert s["id"] == "3" and s["inputs"] is None and s["skipped"] == ["3"] and ds.skipped == {"3"}
    for workers in (0, 1):
        ids, skipped = [], []
        for batch in DS.make_loader(ds, 3, False, 0, 0, workers=workers, drop_last=False):
            ids += batch["id"]
            skipped += batch["skipped"]
            assert batch["inputs"]["RGB"].shape[0] == len(batch["id"]) == len(batch["label"])
        assert "3" not in ids and len(ids) == len(ds) - 1 and len(set(ids)) == len(ids) and skipped == ["3"]
    only_bad = DS.collate([ds[2]])
    assert only_bad["id"] == [] and only_bad["inputs"] == {} and only_bad["skipped"] == ["3"]


def test_all_unreadable_raises(tmp_path):
    root = make_root(tmp_path / "d", n_videos=2)
    for p in (root / "packed" / "rgb").glob("*.npy"):
        p.write_bytes(b"junk")
    ds = DS.build_dataset(cfg(root), "train", ("RGB",), True, seed=0)
    with pytest.raises(DataError, match="none of the 2 videos"):
        ds[0]


def test_test_views_clip_major(root):
    ev = EvalConfig(mode="random", twice=True, dense_number=2, test_crops=3)
    ds = DS.build_dataset(cfg(root), "validation", ("RGB", "Flow"), False, seed=0, eval_cfg=ev)
    assert ds.num_views == 12
    s = ds[4]                                                             # 60 frames
    rgb = s["inputs"]["RGB"]
    assert rgb.shape == (12, 4, 3, 32, 32) and s["inputs"]["Flow"].shape == (12, 4, 10, 32, 32)
    t = rgb_frame_index(rgb).reshape(4, 3, 4)                             # (clips, crops, T)
    assert all(np.array_equal(t[c, 0], t[c, k]) for c in range(4) for k in range(3))
    assert np.array_equal(t[:, 0], sampling.test_indices(59, 4, 5, "random", 32, 2, True))
    # 3 crops along the long side (W = 40 > H = 32): x offsets 0, 4, 8 -> ch1 starts at 0, 20, 40
    x0 = np.rint((rgb[:3, 0, 1, 0, 0].numpy() * IMAGENET_STD[1] + IMAGENET_MEAN[1]) * 255)
    assert x0.tolist() == [0, 20, 40]


def test_val_default_views_and_full_res(root):
    ds = DS.build_dataset(cfg(root, scale_size=36), "validation", ("RGB",), False, seed=0)
    assert ds[0]["inputs"]["RGB"].shape == (1, 4, 3, 32, 32)
    full = DS.build_dataset(cfg(root, scale_size=36), "validation", ("RGB",), False, seed=0,
                            eval_cfg=EvalConfig(full_res=True, test_crops=10, test_segments=2))
    assert full[0]["inputs"]["RGB"].shape == (10, 2, 3, 36, 36)


def test_flip_swaps_left_right_labels(root):
    ds = DS.build_dataset(cfg(root, flip=True), "train", ("RGB", "Flow"), True, seed=0)
    assert ds.lr_pairs == {0: 1, 1: 0}
    flipped = 0
    for e in range(6):
        ds.set_epoch(e)
        for i in range(len(ds)):
            s = ds[i]
            g = s["inputs"]["RGB"][0, 1, 16].numpy()                       # the x ramp along a row
            mirrored = g[0] > g[-1]
            want = {0: 1, 1: 0}.get(i % 3, i % 3) if mirrored else i % 3
            assert s["label"] == want
            fx = flow_value(s["inputs"]["Flow"], 0)                       # flow x inverted when mirrored
            t = rgb_frame_index(s["inputs"]["RGB"])
            assert np.array_equal(fx, 255 - (t + 100) if mirrored else t + 100)
            flipped += mirrored
    assert 0 < flipped < 36


def test_build_dataset_errors_and_classes(root, tmp_path):
    d = cfg(root)
    assert DS.num_classes(d) == 3
    assert DS.class_names(d)[1] == "Moving something from right to left"
    with pytest.raises(DataError, match="no records"):
        DS.build_dataset(d, "test", ("RGB",), False, seed=0)
    with pytest.raises(DataError, match="not a folder"):
        DS.resolve_root(cfg(tmp_path / "nowhere"))
    with pytest.raises(DataError):
        DS.ClipDataset([], PackedSource(root), ("RGB",), d, True, 0)
    with pytest.raises(ValueError, match="modality"):
        DS.ClipDataset([VideoRecord("1", 0)], PackedSource(root), ("Depth",), d, True, 0)


class _MemSource:
    """In-memory frames; Flow stored at half the RGB resolution."""

    def __init__(self):
        self.rgb, flow = _frames(20, 1)
        self.flow = np.ascontiguousarray(flow[:, ::2, ::2])

    def num_frames(self, vid, modality):
        return len(self.flow) if modality == "Flow" else len(self.rgb)

    def read(self, vid, modality, idx):
        return (self.flow if modality == "Flow" else self.rgb)[idx]


def test_modalities_at_other_resolutions_share_the_crop(root):
    d = cfg(root)
    ds = DS.ClipDataset([VideoRecord("1", 0)], _MemSource(), ("RGB", "Flow"), d, True, seed=0)
    for e in range(5):
        ds.set_epoch(e)
        s = ds[0]
        assert s["inputs"]["Flow"].shape == (4, 10, 32, 32)
        assert np.array_equal(flow_value(s["inputs"]["Flow"], 0) - 100, rgb_frame_index(s["inputs"]["RGB"]))
        g_rgb = (s["inputs"]["RGB"][0, 1, 16].numpy() * IMAGENET_STD[1] + IMAGENET_MEAN[1]) * 255
        g_flow = (s["inputs"]["Flow"][0, 1, 16].numpy() * 0.226 + 0.5) * 255
        assert abs(g_rgb.mean() - g_flow.mean()) < 8          # same region up to the coarser grid
