"""The loop: schedule, optimizer groups, cohort training, files, resume, tune_from, request checks."""

from __future__ import annotations

import csv
import json
from dataclasses import replace

import pytest
import torch

from mmlkit.config import ConfigError, DataConfig, MutualConfig, OptimConfig
from mmlkit.errors import CheckpointError, DataError
from mmlkit.training import TrainResult, loop, train

import training_fakes as fk


@pytest.fixture(autouse=True)
def fakes(monkeypatch):
    fk.install(monkeypatch)


def _rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_lr_schedule():
    o = OptimConfig(lr=0.1, lr_type="step", lr_steps=(2, 4), epochs=6)
    assert [loop.lr_at(o, e, 0, 10) for e in range(6)] == pytest.approx([0.1, 0.1, 0.01, 0.01, 0.001, 0.001])
    c = OptimConfig(lr=0.1, lr_type="cos", lr_steps=(), epochs=4, warmup_epochs=1)
    assert loop.lr_at(c, 0, 0, 10) == pytest.approx(0.01)       # (0 + 1) / 10 of the way up
    assert loop.lr_at(c, 0, 9, 10) == pytest.approx(0.1)
    assert loop.lr_at(c, 1, 0, 10) == pytest.approx(0.1)
    assert loop.lr_at(c, 2, 5, 10) == pytest.approx(0.05)      # half-way through the cosine
    assert loop.lr_at(c, 3, 9, 10) < 0.002


def test_optimizer_groups_keep_multipliers():
    m = fk.FakeTSN(5, "Flow")
    opt = loop.build_optimizer(m, OptimConfig(lr=0.1, weight_decay=1e-3))
    loop.set_lr(opt, 0.5)
    assert [g["lr"] for g in opt.param_groups] == [0.5, 1.0]
    assert [g["weight_decay"] for g in opt.param_groups] == [1e-3, 0.0]


def test_cohort_run_writes_the_files(tmp_path):
    cfg = fk.fake_cfg(epochs=2)
    res = train(cfg, tmp_path, progress=False)
    assert isinstance(res, TrainResult)
    for name in ("model0_RGB", "model1_Flow"):
        for f in (f"{name}.pt", f"{name}_best.pt", f"log_{name}.csv", f"state_{name}.pt"):
            assert (tmp_path / f).exists(), f
        rows = _rows(tmp_path / f"log_{name}.csv")
        assert list(rows[0]) == list(loop.CSV_COLUMNS)
        assert [r["epoch"] for r in rows] == ["1", "2"]
        assert float(rows[0]["kl"]) > 0 and rows[1]["val_top1"] != ""
    done = json.loads((tmp_path / "done.json").read_text())
    assert [m["modality"] for m in done["models"]] == ["RGB", "Flow"]
    assert json.loads((tmp_path / "config.json").read_text()) == cfg.to_dict()
    best = max(float(r["val_top1"]) for r in _rows(tmp_path / "log_model0_RGB.csv") if r["val_top1"])
    assert res.metrics[0]["best_top1"] == pytest.approx(best) and res.checkpoints[1].name == "model1_Flow.pt"
    again = train(cfg, tmp_path, resume=True, progress=False)      # done: returns at once
    assert again.metrics == res.metrics


def test_single_model_has_no_kl_and_learns(tmp_path):
    cfg = fk.fake_cfg(modalities=("RGB",), epochs=3, optim=OptimConfig(lr=0.1, lr_type="cos", lr_steps=(),
                                                                       epochs=3, batch_size=8))
    res = train(cfg, tmp_path, progress=False)
    rows = _rows(tmp_path / "log_model0_RGB.csv")
    assert all(float(r["kl"]) == 0 for r in rows)
    assert res.metrics[0]["best_top1"] > 100 / fk.K


def test_models_are_independent_without_the_mutual_term(tmp_path):
    """weight 0: model 0 of an RGB,Flow cohort == the same model trained alone (own RNG per model)."""
    solo = fk.fake_cfg(modalities=("RGB",), mutual=MutualConfig(weight=0.0))
    pair = fk.fake_cfg(modalities=("RGB", "Flow"), mutual=MutualConfig(weight=0.0))
    train(solo, tmp_path / "solo", progress=False)
    train(pair, tmp_path / "pair", progress=False)
    a, b = fk.load_weights(tmp_path / "solo/model0_RGB.pt"), fk.load_weights(tmp_path / "pair/model0_RGB.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_mutual_term_changes_training(tmp_path):
    train(fk.fake_cfg(mutual=MutualConfig(weight=0.0)), tmp_path / "a", progress=False)
    train(fk.fake_cfg(), tmp_path / "b", progress=False)
    a, b = fk.load_weights(tmp_path / "a/model0_RGB.pt"), fk.load_weights(tmp_path / "b/model0_RGB.pt")
    assert not all(torch.equal(a[k], b[k]) for k in a)


def test_resume_after_interruption_matches_uninterrupted(tmp_path, monkeypatch):
    cfg = fk.fake_cfg(modalities=("RGB", "Flow"), epochs=3)
    train(cfg, tmp_path / "straight", progress=False)

    real = loop.train_one_epoch

    def crash_in_epoch_2(members, loader, comm, cfg_, epoch, *a, **k):
        if epoch == 1:
            raise KeyboardInterrupt("killed")
        return real(members, loader, comm, cfg_, epoch, *a, **k)

    monkeypatch.setattr(loop, "train_one_epoch", crash_in_epoch_2)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, tmp_path / "resumed", progress=False)
    assert not (tmp_path / "resumed/done.json").exists()
    monkeypatch.setattr(loop, "train_one_epoch", real)
    train(cfg, tmp_path / "resumed", resume=True, progress=False)
    for name in ("model0_RGB", "model1_Flow"):
        a = fk.load_weights(tmp_path / f"straight/{name}.pt")
        b = fk.load_weights(tmp_path / f"resumed/{name}.pt")
        assert all(torch.equal(a[k], b[k]) for k in a)
        ra, rb = _rows(tmp_path / f"straight/log_{name}.csv"), _rows(tmp_path / f"resumed/log_{name}.csv")
        drop = lambda rows: [{k: v for k, v in r.items() if k not in loop.TIMING_COLUMNS} for r in rows]  # noqa: E731
        assert drop(ra) == drop(rb) and len(ra) == 3


def test_resume_refuses_a_foreign_state(tmp_path):
    train(fk.fake_cfg(epochs=1), tmp_path, progress=False)
    (tmp_path / "done.json").unlink()
    with pytest.raises(ConfigError, match=r"another configuration \(.*seed: 0 -> 5"):
        train(fk.fake_cfg(epochs=2, seed=5), tmp_path, resume=True, progress=False)
    (tmp_path / "config.json").unlink()  # the state files still carry their config's digest
    with pytest.raises(CheckpointError, match="another configuration"):
        train(fk.fake_cfg(epochs=2, seed=5), tmp_path, resume=True, progress=False)


def test_a_finished_run_is_never_replaced_unless_asked(tmp_path):
    cfg = fk.fake_cfg(epochs=1)
    train(cfg, tmp_path, progress=False)
    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    other = fk.fake_cfg(epochs=2)
    for resume in (False, True):  # --resume must not report the old run's metrics as the new one's
        with pytest.raises(ConfigError, match=r"another configuration \(optim.epochs: 1 -> 2\).*--overwrite"):
            train(other, tmp_path, resume=resume, progress=False)
    with pytest.raises(ConfigError, match="finished run of this configuration.*--resume"):
        train(cfg, tmp_path, progress=False)
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == before
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ConfigError, match="config.json: unreadable"):
        train(cfg, tmp_path, progress=False)
    res = train(other, tmp_path, overwrite=True, progress=False)
    assert res.metrics[0]["epochs"] == 2 and json.loads((tmp_path / "config.json").read_text())["optim"]["epochs"] == 2


def test_tune_from_builds_the_optimizer_after_conversion(tmp_path, monkeypatch):
    train(fk.fake_cfg(modalities=("RGB",), epochs=1), tmp_path / "rgb", progress=False)
    seen = {}
    real = loop.make_member

    def spy(*a, **k):
        m = real(*a, **k)
        seen[m.index] = m
        return m

    monkeypatch.setattr(loop, "make_member", spy)
    cfg = fk.fake_cfg(tune_from=str(tmp_path / "rgb/model0_RGB.pt"), epochs=1)
    res = train(cfg, tmp_path / "mml", progress=False)
    for m in seen.values():
        in_opt = {id(p) for g in m.optimizer.param_groups for p in g["params"]}
        assert {id(p) for p in m.model.parameters()} == in_opt       # the converted conv1 trains
    assert "conv1 converted" in res.metrics[1]["notes"][0]


def test_request_checks(tmp_path):
    with pytest.raises(ConfigError, match="multiple"):
        train(fk.fake_cfg(), tmp_path, rank=0, world_size=3, init_method="tcp://127.0.0.1:1")
    with pytest.raises(ConfigError, match="without rank"):
        train(fk.fake_cfg(), tmp_path, world_size=2)
    with pytest.raises(ConfigError, match="unknown modality"):
        fk.fake_cfg(modalities=("RGB", "Depth"))
    bad = replace(fk.fake_cfg(), data=DataConfig(dataset=str(tmp_path / "nowhere")))
    with pytest.raises(DataError, match="labels.json"):
        train(bad, tmp_path / "x", progress=False)
    with pytest.raises(CheckpointError, match="tune_from"):
        train(fk.fake_cfg(tune_from=str(tmp_path / "missing.pt")), tmp_path / "y", progress=False)


def test_skipped_videos_are_reported_and_tensorboard_written(tmp_path, monkeypatch, capsys):
    real = loop.build_dataset

    def with_skips(cfg, split, mods, train_):
        ds = real(cfg, split, mods, train_)
        if train_:
            ds.skipped = {"17", "3"}
        return ds

    monkeypatch.setattr(loop, "build_dataset", with_skips)
    train(fk.fake_cfg(epochs=1, tensorboard=True), tmp_path, progress=False)
    assert "skipped 2 unreadable videos" in capsys.readouterr().out
    assert list((tmp_path / "tensorboard/model1_Flow").glob("events.out.tfevents.*"))


def test_an_unreadable_validation_video_is_left_out_not_counted_twice(tmp_path, monkeypatch, capsys):
    from mmlkit.data.dataset import collate

    real = loop.build_dataset

    class OneBad(torch.utils.data.Dataset):
        def __init__(self, ds):
            self.ds = ds

        def __len__(self):
            return len(self.ds)

        def __getitem__(self, i):
            item = self.ds[i]
            return {**item, "inputs": None, "skipped": [item["id"]]} if i == 0 else item

    def with_bad_val(cfg, split, mods, train_):
        ds = real(cfg, split, mods, train_)
        return ds if train_ else OneBad(ds)

    def loader(dataset, batch_size, shuffle, seed, epoch, workers, drop_last):
        return torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False, collate_fn=collate)

    monkeypatch.setattr(loop, "build_dataset", with_bad_val)
    monkeypatch.setattr(loop, "make_loader", loader)
    cfg = fk.fake_cfg(epochs=1)
    val = with_bad_val(cfg, "validation", ("RGB",), False)
    skipped: set = set()
    counts = loop.evaluate(fk.FakeTSN(fk.K, "RGB"), loader(val, 4, False, 0, 0, 0, False), "RGB", torch.device("cpu"),
                           skipped=skipped)
    assert int(counts[2]) == len(val) - 1 and skipped == {"0"}
    train(cfg, tmp_path, progress=False)
    out = capsys.readouterr().out
    assert f"validation split: skipped 1 unreadable videos (left out: validation accuracy is over {len(val) - 1} of " \
           f"{len(val)} videos): ['0']" in out


def test_fresh_run_clears_stale_done(tmp_path):
    cfg = fk.fake_cfg(epochs=1)
    train(cfg, tmp_path, progress=False)
    (tmp_path / "done.json").write_text('{"models": []}')
    res = train(cfg, tmp_path, overwrite=True, progress=False)  # trains again, rewrites done.json
    assert len(res.metrics) == 2 and '"models": []' not in (tmp_path / "done.json").read_text()


def test_torchrun_environment_selects_distributed(tmp_path, monkeypatch):
    from mmlkit.training import distributed
    seen = {}
    monkeypatch.setattr(distributed, "run", lambda cfg, out, **kw: seen.update(kw) or "dist")
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "4")
    assert train(fk.fake_cfg(), tmp_path, progress=False, timeout_s=7) == "dist"
    assert (seen["rank"], seen["world_size"], seen["init_method"], seen["timeout_s"]) == (1, 4, "env://", 7)


def test_layout_groups_ranks_per_model():
    from mmlkit.training.distributed import batch_checksum, layout
    assert [layout(2, 4, r) for r in range(4)] == [(0, 0, 2), (0, 1, 2), (1, 0, 2), (1, 1, 2)]
    assert layout(3, 3, 2) == (2, 0, 1)
    with pytest.raises(ConfigError, match="multiple"):
        layout(2, 3, 0)
    a = batch_checksum({"index": torch.tensor([3, 1, 2])})
    assert a == batch_checksum({"index": torch.tensor([3, 1, 2])}) != batch_checksum({"index": torch.tensor([1, 3, 2])})


def test_identical_peers_are_warned_about(tmp_path):
    """RGB,RGB from one checkpoint with no dropout stays identical: mutual learning cannot act."""
    import warnings

    from mmlkit.config import profile, with_overrides
    from mmlkit.training.loop import check_request

    ckpt = tmp_path / "rgb.pt"
    ckpt.write_bytes(b"x")
    cfg = with_overrides(profile("smoke"), modalities=("RGB", "RGB"), tune_from=str(ckpt))
    with pytest.warns(UserWarning, match="stay identical"):
        check_request(cfg)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_request(with_overrides(cfg, model={"dropout": 0.5}))
        check_request(with_overrides(cfg, modalities=("RGB", "Flow")))
