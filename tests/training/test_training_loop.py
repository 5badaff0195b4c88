"""The loop: schedule, optimizer groups, cohort training, files, resume, tune_from, request checks.

The real model (resnet_tiny), checkpoints and conversion; in-memory clips (training_fakes.data).
"""

from __future__ import annotations

import csv
import json
from dataclasses import replace

import pytest
import torch

from mmlkit.config import ConfigError, DataConfig, ModelConfig, MutualConfig, OptimConfig
from mmlkit.errors import CheckpointError, DataError
from mmlkit.models import build_model, param_groups
from mmlkit.training import TrainResult, loop, schedule, state
from mmlkit.training import train as _train

import training_fakes as fk


def train(cfg, out_dir, data=None, **kw):
    """mmlkit.training.train on the in-memory clips (or ``data``)."""
    return _train(cfg, out_dir, data=data or fk.data(), **kw)


def _rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def _same_weights(a, b) -> bool:
    a, b = fk.load_weights(a), fk.load_weights(b)
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_lr_schedule():
    o = OptimConfig(lr=0.1, lr_type="step", lr_steps=(2, 4), epochs=6)
    assert [schedule.lr_at(o, e, 0, 10) for e in range(6)] == pytest.approx([0.1, 0.1, 0.01, 0.01, 0.001, 0.001])
    c = OptimConfig(lr=0.1, lr_type="cos", lr_steps=(), epochs=4, warmup_epochs=1)
    assert schedule.lr_at(c, 0, 0, 10) == pytest.approx(0.01)       # (0 + 1) / 10 of the way up
    assert schedule.lr_at(c, 0, 9, 10) == pytest.approx(0.1)
    assert schedule.lr_at(c, 1, 0, 10) == pytest.approx(0.1)
    assert schedule.lr_at(c, 2, 5, 10) == pytest.approx(0.05)      # half-way through the cosine
    assert schedule.lr_at(c, 3, 9, 10) < 0.002


def test_optimizer_groups_keep_multipliers():
    m = build_model(ModelConfig(arch="resnet_tiny"), fk.K, fk.T, "Flow")
    opt = schedule.build_optimizer(param_groups(m, 0.1, 1e-3), OptimConfig(lr=0.1, weight_decay=1e-3))
    schedule.set_lr(opt, 0.5)
    by_name = {g["name"]: g for g in opt.param_groups}
    assert by_name["first_conv_weight"]["lr"] == pytest.approx(2.5)        # Flow's conv1 at 5x
    assert by_name["normal_bias"]["lr"] == pytest.approx(1.0) and by_name["normal_bias"]["weight_decay"] == 0
    assert by_name["normal_weight"]["weight_decay"] == pytest.approx(1e-3)
    # groups without multipliers: derived from their lr / weight_decay
    w, b = torch.nn.Parameter(torch.ones(2, 2)), torch.nn.Parameter(torch.ones(2))
    opt = schedule.build_optimizer([dict(params=[w]), dict(params=[b], lr=0.2, weight_decay=0.0), dict(params=[])],
                                   OptimConfig(lr=0.1, weight_decay=1e-3))
    schedule.set_lr(opt, 0.5)
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([0.5, 1.0])
    assert [g["weight_decay"] for g in opt.param_groups] == [1e-3, 0.0]


def test_cohort_run_writes_the_files(tmp_path):
    cfg = fk.small_cfg(epochs=2)
    res = train(cfg, tmp_path, progress=False)
    assert isinstance(res, TrainResult)
    for name in ("model0_RGB", "model1_Flow"):
        for f in (f"{name}.pt", f"{name}_best.pt", f"log_{name}.csv", f"state_{name}.pt"):
            assert (tmp_path / f).exists(), f
        rows = _rows(tmp_path / f"log_{name}.csv")
        assert list(rows[0]) == list(state.CSV_COLUMNS)
        assert [r["epoch"] for r in rows] == ["1", "2"]
        assert float(rows[0]["kl"]) > 0 and rows[1]["val_top1"] != ""
        for r in rows:  # where the epoch went: every phase measured, together within the epoch's time
            phases = [float(r[f"{p}_s"]) for p in ("data", "forward", "backward", "optimizer", "val")]
            assert all(x >= 0 for x in phases) and float(r["forward_s"]) > 0 and float(r["backward_s"]) > 0
            assert sum(phases) <= float(r["seconds"]) + 1e-3
    done = json.loads((tmp_path / "done.json").read_text())
    assert [m["modality"] for m in done["models"]] == ["RGB", "Flow"]
    assert json.loads((tmp_path / "config.json").read_text()) == cfg.to_dict()
    best = max(float(r["val_top1"]) for r in _rows(tmp_path / "log_model0_RGB.csv") if r["val_top1"])
    assert res.metrics[0]["best_top1"] == pytest.approx(best) and res.checkpoints[1].name == "model1_Flow.pt"
    again = train(cfg, tmp_path, resume=True, progress=False)      # done: returns at once
    assert again.metrics == res.metrics


def test_single_model_has_no_kl_and_learns(tmp_path):
    cfg = fk.small_cfg(modalities=("RGB",), epochs=3, optim=OptimConfig(lr=0.1, lr_type="cos", lr_steps=(),
                                                                       epochs=3, batch_size=8))
    res = train(cfg, tmp_path, progress=False)
    rows = _rows(tmp_path / "log_model0_RGB.csv")
    assert all(float(r["kl"]) == 0 for r in rows)
    assert res.metrics[0]["best_top1"] > 100 / fk.K


def test_models_are_independent_without_the_mutual_term(tmp_path):
    """weight 0: model 0 of an RGB,Flow cohort == the same model trained alone (own RNG per model)."""
    solo = fk.small_cfg(modalities=("RGB",), mutual=MutualConfig(weight=0.0))
    pair = fk.small_cfg(modalities=("RGB", "Flow"), mutual=MutualConfig(weight=0.0))
    train(solo, tmp_path / "solo", progress=False)
    train(pair, tmp_path / "pair", progress=False)
    assert _same_weights(tmp_path / "solo/model0_RGB.pt", tmp_path / "pair/model0_RGB.pt")


def test_mutual_term_changes_training(tmp_path):
    train(fk.small_cfg(mutual=MutualConfig(weight=0.0)), tmp_path / "a", progress=False)
    train(fk.small_cfg(), tmp_path / "b", progress=False)
    assert not _same_weights(tmp_path / "a/model0_RGB.pt", tmp_path / "b/model0_RGB.pt")


def _drop_timing(rows):
    return [{k: v for k, v in r.items() if k not in state.TIMING_COLUMNS} for r in rows]


def test_resume_after_interruption_matches_uninterrupted(tmp_path):
    cfg = fk.small_cfg(modalities=("RGB", "Flow"), epochs=3)
    train(cfg, tmp_path / "straight", progress=False)
    with pytest.raises(KeyboardInterrupt):      # stopped in epoch 2, as by Ctrl-C
        train(cfg, tmp_path / "resumed", fk.data(fk.in_epoch(1, fk.fail(KeyboardInterrupt("killed")))), progress=False)
    assert not (tmp_path / "resumed/done.json").exists()
    assert json.loads((tmp_path / "resumed/state.json").read_text())["epochs_done"] == 1
    train(cfg, tmp_path / "resumed", resume=True, progress=False)
    for name in ("model0_RGB", "model1_Flow"):
        assert _same_weights(tmp_path / f"straight/{name}.pt", tmp_path / f"resumed/{name}.pt")
        ra, rb = _rows(tmp_path / f"straight/log_{name}.csv"), _rows(tmp_path / f"resumed/log_{name}.csv")
        assert _drop_timing(ra) == _drop_timing(rb) and len(ra) == 3


def test_resume_from_the_previous_state_when_one_model_is_ahead(tmp_path):
    """Killed between two models' state writes: model 0 holds epoch 2, model 1 epoch 1. The run
    agrees on epoch 1 (model 0's .prev state) and ends as an uninterrupted one."""
    cfg = fk.small_cfg(modalities=("RGB", "Flow"), epochs=3)
    train(cfg, tmp_path / "straight", progress=False)
    run = tmp_path / "killed"
    with pytest.raises(KeyboardInterrupt):
        train(cfg, run, fk.data(fk.in_epoch(2, fk.fail(KeyboardInterrupt("killed")))), progress=False)
    epochs = {p.name: torch.load(p, weights_only=True)["epochs_done"] for p in run.glob("state_*")}
    assert epochs == {"state_model0_RGB.pt": 2, "state_model0_RGB.pt.prev": 1,
                      "state_model1_Flow.pt": 2, "state_model1_Flow.pt.prev": 1}
    (run / "state_model1_Flow.pt.prev").replace(run / "state_model1_Flow.pt")   # model 1 back at epoch 1
    (run / "state.json").write_text(json.dumps({"epochs_done": 1, "digest": cfg.digest()}))
    train(cfg, run, resume=True, progress=False)
    for name in ("model0_RGB", "model1_Flow"):
        assert _same_weights(tmp_path / f"straight/{name}.pt", run / f"{name}.pt")
        straight, resumed = _rows(tmp_path / f"straight/log_{name}.csv"), _rows(run / f"log_{name}.csv")
        assert _drop_timing(straight) == _drop_timing(resumed)
    assert {p.name for p in run.glob("state_*")} == {f"state_{n}.pt{s}" for n in ("model0_RGB", "model1_Flow")
                                                    for s in ("", ".prev")}


def test_resume_refuses_a_foreign_state(tmp_path):
    train(fk.small_cfg(epochs=1), tmp_path, progress=False)
    (tmp_path / "done.json").unlink()
    with pytest.raises(ConfigError, match=r"another configuration \(.*seed: 0 -> 5"):
        train(fk.small_cfg(epochs=2, seed=5), tmp_path, resume=True, progress=False)
    (tmp_path / "config.json").unlink()  # the state files still carry their config's digest
    with pytest.raises(CheckpointError, match="another configuration"):
        train(fk.small_cfg(epochs=2, seed=5), tmp_path, resume=True, progress=False)


def test_a_finished_run_is_never_replaced_unless_asked(tmp_path):
    cfg = fk.small_cfg(epochs=1)
    train(cfg, tmp_path, progress=False)
    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    other = fk.small_cfg(epochs=2)
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


def test_tune_from_builds_the_optimizer_after_conversion(tmp_path):
    from mmlkit.training.member import make_member

    train(fk.small_cfg(modalities=("RGB",), epochs=1), tmp_path / "rgb", progress=False)
    cfg = fk.small_cfg(tune_from=str(tmp_path / "rgb/model0_RGB.pt"), epochs=1)
    rgb_conv1 = fk.load_weights(tmp_path / "rgb/model0_RGB.pt")["base_model.conv1.weight"]      # (16, 3, k, k)
    for i, mod in enumerate(cfg.modalities):
        m = make_member(cfg, i, mod, fk.K, torch.device("cpu"))
        in_opt = {id(p) for g in m.optimizer.param_groups for p in g["params"]}
        assert {id(p) for p in m.model.parameters()} == in_opt       # the converted conv1 trains
        w = m.model.state_dict()["base_model.conv1.weight"]
        want = rgb_conv1 if mod == "RGB" else rgb_conv1.mean(1, keepdim=True).expand_as(w)   # channel-mean rule
        torch.testing.assert_close(w, want)
    res = train(cfg, tmp_path / "mml", progress=False)
    assert any("conv1 converted" in n for n in res.metrics[1]["notes"])


def test_request_checks(tmp_path):
    with pytest.raises(ConfigError, match="multiple"):
        train(fk.small_cfg(), tmp_path, rank=0, world_size=3, init_method="tcp://127.0.0.1:1")
    with pytest.raises(ConfigError, match="without rank"):
        train(fk.small_cfg(), tmp_path, world_size=2)
    with pytest.raises(ConfigError, match="unknown modality"):
        fk.small_cfg(modalities=("RGB", "Depth"))
    bad = replace(fk.small_cfg(), data=DataConfig(dataset=str(tmp_path / "nowhere")))
    with pytest.raises(DataError, match="labels.json"):
        train(bad, tmp_path / "x", progress=False)
    with pytest.raises(CheckpointError, match="tune_from"):
        train(fk.small_cfg(tune_from=str(tmp_path / "missing.pt")), tmp_path / "y", progress=False)


def test_skipped_videos_are_reported_and_tensorboard_written(tmp_path, capsys):
    real = fk.data().build_dataset

    def with_skips(cfg, split, mods, train_):
        ds = real(cfg, split, mods, train_)
        if train_:
            ds.skipped = {"17", "3"}
        return ds

    train(fk.small_cfg(epochs=1, tensorboard=True), tmp_path, fk.data(build_dataset=with_skips), progress=False)
    assert "skipped 2 unreadable videos" in capsys.readouterr().out
    assert list((tmp_path / "tensorboard/model1_Flow").glob("events.out.tfevents.*"))


def test_an_unreadable_validation_video_is_left_out_not_counted_twice(tmp_path, capsys):
    real = fk.data().build_dataset

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

    cfg = fk.small_cfg(epochs=1)
    val = with_bad_val(cfg, "validation", ("RGB",), False)
    skipped: set = set()
    model = build_model(cfg.model, fk.K, fk.T, "RGB")
    counts = loop.validate(model, loop.pipeline_loader(val, 4, False, 0, 0, 0, False), "RGB", torch.device("cpu"),
                           skipped=skipped)
    assert int(counts[2]) == len(val) - 1 and skipped == {"0"}
    train(cfg, tmp_path, fk.data(build_dataset=with_bad_val), progress=False)
    out = capsys.readouterr().out
    assert f"validation split: skipped 1 unreadable videos (left out: validation accuracy is over {len(val) - 1} of " \
           f"{len(val)} videos): ['0']" in out


def test_fresh_run_clears_stale_done(tmp_path):
    cfg = fk.small_cfg(epochs=1)
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
    assert _train(fk.small_cfg(), tmp_path, progress=False, timeout_s=7) == "dist"
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


def test_the_communicators_follow_the_protocol():
    import inspect

    from mmlkit.training import Comm
    from mmlkit.training.cohort import LocalComm
    from mmlkit.training.distributed import DistComm

    assert isinstance(LocalComm(), Comm)
    methods = [n for n in vars(Comm) if not n.startswith("_") and callable(vars(Comm)[n])]
    assert len(methods) == 7 and all(callable(getattr(DistComm, n, None)) for n in methods)
    init = inspect.getsource(DistComm.__init__)
    assert all(f"self.{a}" in init for a in Comm.__annotations__)


def test_validate_was_evaluate():
    import mmlkit.training as T

    with pytest.warns(DeprecationWarning, match="validate"):
        assert T.evaluate is loop.validate


def test_an_unfinished_run_resumes_after_its_store_moved(tmp_path):
    """A stage-2 run interrupted in one clone resumes in another whose results/ links to the same
    store: the checkpoint path differs only before the store's run folder, so the folder check and
    the resume states see the same run, and it ends as an uninterrupted one."""
    stage1 = tmp_path / "a" / "results" / "runs" / "RGB_s0_0123456789ab"
    train(fk.small_cfg(modalities=("RGB",), epochs=1), stage1, progress=False)
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "results").symlink_to(tmp_path / "a" / "results")
    here, there = (fk.small_cfg(tune_from=str(tmp_path / c / "results/runs/RGB_s0_0123456789ab/model0_RGB.pt"),
                                epochs=3) for c in ("a", "b"))
    assert here.digest() == there.digest() and here.digest(portable=False) != there.digest(portable=False)
    train(here, tmp_path / "straight", progress=False)
    run = tmp_path / "a" / "results" / "runs" / "RGB-Flow_s0_abcdef012345"
    with pytest.raises(KeyboardInterrupt):
        train(here, run, fk.data(fk.in_epoch(1, fk.fail(KeyboardInterrupt("killed")))), progress=False)
    train(there, tmp_path / "b" / "results" / "runs" / run.name, resume=True, progress=False)
    for name in ("model0_RGB", "model1_Flow"):
        assert _same_weights(tmp_path / f"straight/{name}.pt", run / f"{name}.pt")
    with pytest.raises(ConfigError, match="another configuration"):   # another checkpoint is another run
        train(replace(there, tune_from=str(tmp_path / "straight/model0_RGB.pt")), run, resume=True, progress=False)


def test_a_state_of_an_older_version_resumes(tmp_path):
    """States written before the digest made checkpoint paths portable carry the literal digest."""
    train(fk.small_cfg(modalities=("RGB",), epochs=1), tmp_path / "pretrained" / "resnet_tiny_0123456789ab")
    cfg = fk.small_cfg(modalities=("RGB",), epochs=2,
                       tune_from=str(tmp_path / "pretrained/resnet_tiny_0123456789ab/model0_RGB.pt"))
    assert cfg.digest() != cfg.digest(portable=False)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, tmp_path / "run", fk.data(fk.in_epoch(1, fk.fail(KeyboardInterrupt("killed")))), progress=False)
    st = torch.load(tmp_path / "run/state_model0_RGB.pt", weights_only=False)
    st["digest"] = cfg.digest(portable=False)               # what an older mmlkit wrote
    torch.save(st, tmp_path / "run/state_model0_RGB.pt")
    assert train(cfg, tmp_path / "run", resume=True, progress=False).metrics[0]["epochs"] == 2


def test_resume_refuses_other_cpu_code_paths(tmp_path, monkeypatch, capsys):
    """A run interrupted on the host's own code paths is not resumed on the pinned ones (or the
    other way round): the two halves would make weights no uninterrupted run makes. A host change
    under its own code paths resumes, with a note. done.json records the code paths."""
    cfg = fk.small_cfg(modalities=("RGB",), epochs=2)
    monkeypatch.setattr(state, "code_paths", lambda: "unpinned AVX512")
    with pytest.raises(KeyboardInterrupt):
        train(cfg, tmp_path, fk.data(fk.in_epoch(1, fk.fail(KeyboardInterrupt("killed")))), progress=False)
    assert torch.load(tmp_path / "state_model0_RGB.pt", weights_only=True)["code_paths"] == "unpinned AVX512"
    monkeypatch.setattr(state, "code_paths", lambda: "pinned")
    with pytest.raises(CheckpointError, match=r"unpinned AVX512 CPU code paths .* pinned .*--unpinned"):
        train(cfg, tmp_path, resume=True, progress=False)
    monkeypatch.setattr(state, "code_paths", lambda: "unpinned AVX2")
    train(cfg, tmp_path, resume=True, progress=False)
    assert "trained on the unpinned AVX512 CPU code paths, this host runs the unpinned AVX2 ones" in capsys.readouterr().err
    done = json.loads((tmp_path / "done.json").read_text())
    assert set(done["dispatch"]) >= {"ATEN_CPU_CAPABILITY", "cpu_capability"} and done["cpu"]
