"""Distributed (gloo, spawned ranks on 127.0.0.1) against the one-process cohort, and failures.

The real model (resnet_tiny) on in-memory clips (training_fakes.data), in every rank."""

from __future__ import annotations

import csv
import time

import pytest
import torch

from mmlkit.config import model_name
from mmlkit.training import state, train

import training_fakes as fk

pytestmark = [pytest.mark.distributed, pytest.mark.slow]


def _csv(path):
    with open(path) as f:
        return [{k: v for k, v in r.items() if k not in state.TIMING_COLUMNS} for r in csv.DictReader(f)]


@pytest.mark.parametrize("modalities", [("RGB", "Flow"), ("RGB", "Flow", "RGB")])
def test_distributed_matches_cohort(tmp_path, modalities):
    cfg = fk.small_cfg(modalities=modalities, epochs=2)
    train(cfg, tmp_path / "cohort", progress=False, data=fk.data())
    res = fk.run_ranks(cfg, len(modalities), tmp_path / "dist", tmp_path / "res")
    assert all(r.startswith("ok") for r in res), res
    for i, mod in enumerate(modalities):
        name = model_name(i, mod)
        a = fk.load_weights(tmp_path / f"cohort/{name}.pt")
        b = fk.load_weights(tmp_path / f"dist/{name}.pt")
        for k in a:
            torch.testing.assert_close(a[k], b[k], rtol=1e-5, atol=1e-6)
        ca, cb = _csv(tmp_path / f"cohort/log_{name}.csv"), _csv(tmp_path / f"dist/log_{name}.csv")
        for ra, rb in zip(ca, cb):
            for key in ra:
                if ra[key]:
                    assert float(ra[key]) == pytest.approx(float(rb[key]), rel=1e-5, abs=1e-6), (name, key)
    assert (tmp_path / "dist/done.json").exists()


def test_two_models_two_processes_each(tmp_path):
    cfg = fk.small_cfg(modalities=("RGB", "Flow"), epochs=1)
    res = fk.run_ranks(cfg, 4, tmp_path / "dist", tmp_path / "res")
    assert all(r.startswith("ok") for r in res), res
    assert (tmp_path / "dist/model1_Flow.pt").exists() and (tmp_path / "dist/done.json").exists()
    rows = _csv(tmp_path / "dist/log_model0_RGB.csv")
    assert float(rows[0]["kl"]) > 0 and rows[0]["val_top1"]


def test_dead_peer_stops_the_others(tmp_path):
    cfg = fk.small_cfg(modalities=("RGB", "Flow"), epochs=2)
    t0 = time.time()
    res = fk.run_ranks(cfg, 2, tmp_path / "dist", tmp_path / "res", behaviour="die", timeout_s=10, join_s=90)
    assert res[0].startswith("DistributedError"), res
    assert "rank 0" in res[0] and "step" in res[0]
    assert "no result" in res[1]
    assert time.time() - t0 < 80


def test_hung_peer_times_out(tmp_path):
    cfg = fk.small_cfg(modalities=("RGB", "Flow"), epochs=2)
    # the hung rank never answers: no grace for it once rank 0 has reported its timeout
    res = fk.run_ranks(cfg, 2, tmp_path / "dist", tmp_path / "res", behaviour="hang", timeout_s=5, join_s=60,
                       grace_s=0.5)
    assert res[0].startswith("DistributedError") and "5 s" in res[0], res
    assert res[1].startswith("no result"), res  # the hung rank was stopped, not finished


def test_ranks_on_different_clips_are_detected(tmp_path):
    cfg = fk.small_cfg(modalities=("RGB", "Flow"), epochs=1)
    res = fk.run_ranks(cfg, 2, tmp_path / "dist", tmp_path / "res", behaviour="mismatch", timeout_s=20)
    for r in res:
        assert r.startswith("DistributedError") and "different clips" in r, res
    assert "rank 0" in res[0] and "rank 1" in res[0] and "step 0" in res[0]


def test_kill_9_then_resume_matches_uninterrupted(tmp_path):
    import json
    import multiprocessing as mp
    import os
    import signal

    cfg = fk.small_cfg(modalities=("RGB", "Flow"), epochs=2)
    p = mp.get_context("spawn").Process(target=fk.cohort_worker, args=(cfg.to_dict(), str(tmp_path / "killed")))
    p.start()
    state = tmp_path / "killed/state.json"
    deadline = time.time() + 120
    while time.time() < deadline and not (state.exists() and json.loads(state.read_text())["epochs_done"] == 1):
        time.sleep(0.2)
    os.kill(p.pid, signal.SIGKILL)
    p.join()
    assert p.exitcode == -signal.SIGKILL
    train(cfg, tmp_path / "killed", resume=True, progress=False, data=fk.data())
    train(cfg, tmp_path / "straight", progress=False, data=fk.data())
    for name in ("model0_RGB", "model1_Flow"):
        a = fk.load_weights(tmp_path / f"straight/{name}.pt")
        b = fk.load_weights(tmp_path / f"killed/{name}.pt")
        assert all(torch.equal(a[k], b[k]) for k in a)
        assert _csv(tmp_path / f"straight/log_{name}.csv") == _csv(tmp_path / f"killed/log_{name}.csv")


def test_distributed_resume_matches_cohort(tmp_path):
    cfg = fk.small_cfg(modalities=("RGB", "Flow"), epochs=2)
    first = fk.run_ranks(cfg, 2, tmp_path / "dist", tmp_path / "res1", behaviour="stop_epoch2")
    assert all("stopped in epoch 2" in r for r in first), first
    second = fk.run_ranks(cfg, 2, tmp_path / "dist", tmp_path / "res2", behaviour="resume")
    assert all(r.startswith("ok") for r in second), second
    train(cfg, tmp_path / "cohort", progress=False, data=fk.data())
    for name in ("model0_RGB", "model1_Flow"):
        a, b = fk.load_weights(tmp_path / f"cohort/{name}.pt"), fk.load_weights(tmp_path / f"dist/{name}.pt")
        for k in a:
            torch.testing.assert_close(a[k], b[k], rtol=1e-5, atol=1e-6)
        assert len(_csv(tmp_path / f"dist/log_{name}.csv")) == 2
