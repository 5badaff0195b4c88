"""tools/retime.py: a run trained again to the same bits records its quiet time; other bits leave it."""

import json
import subprocess

import pytest
import torch

from mmlkit.config import profile, with_overrides
from mmlkit.results.store import RunStore, load_or_run, training_seconds


def _fake_run(root, name, epochs, train_s):
    d = root / "runs" / name
    d.mkdir(parents=True)
    (d / "config.json").write_text(json.dumps({"optim": {"epochs": epochs}}))
    (d / "run.json").write_text(json.dumps({"timings": {"train_s": train_s}}))
    (d / "done.json").write_text("{}")
    return d


def test_the_slower_runs_are_those_of_their_kind(tmp_path, load_tool):
    tool = load_tool("retime")
    for k, s in enumerate((80.0, 84.0, 82.0, 200.0)):            # 40-epoch RGB runs, one slowed down
        _fake_run(tmp_path, f"RGB_s{k}_{k:012d}", 40, s)
    _fake_run(tmp_path, "RGB-Flow_s0_000000000009", 80, 320.0)    # a cohort: its own kind, 4 s an epoch
    slow = tool.slower_runs(tmp_path, 1.3)
    assert [(r.name, round(s, 2), round(m, 2)) for r, s, m in slow] == [("RGB_s3_000000000003", 5.0, 2.08)]
    run = tmp_path / "runs" / "RGB_s3_000000000003"
    info = json.loads((run / "run.json").read_text())
    info["timings"]["retimed"] = {"train_s": 81.0}
    (run / "run.json").write_text(json.dumps(info))
    assert training_seconds(run) == 81.0 and training_seconds(run, retimed=False) == 200.0
    assert tool.slower_runs(tmp_path, 1.3) == []                # retimed: no longer slow


@pytest.mark.slow
def test_a_run_is_retimed_only_when_it_trains_the_stored_bits(tmp_path, load_tool, monkeypatch):
    tool = load_tool("retime")
    cfg = with_overrides(profile("smoke", modalities=("RGB",)), optim={"epochs": 1})
    run = load_or_run(cfg, RunStore(tmp_path / "store"), progress=False)
    assert tool.main([str(run.dir)]) == 0
    retimed = json.loads((run.dir / "run.json").read_text())["timings"]["retimed"]
    assert retimed["same_bits"] is True and retimed["train_s"] > 0 and retimed["cpu"]
    assert training_seconds(run.dir) == retimed["train_s"]
    kept = run.dir / "retimed" / "log_model0_RGB.csv"    # the quiet training's epoch log, for run_phases
    assert kept.is_file() and len(kept.read_text().splitlines()) == 2
    # a stored checkpoint the config does not train: the retraining (here, in this process) sees it
    ckpt = torch.load(run.dir / "model0_RGB.pt", weights_only=False)
    first = next(k for k, v in ckpt["state_dict"].items() if v.is_floating_point())
    ckpt["state_dict"][first] += 1
    torch.save(ckpt, run.dir / "model0_RGB.pt")
    threads = torch.get_num_threads()
    try:
        assert tool.retrain(run.dir)["same_bits"] is False
    finally:
        torch.set_num_threads(threads)
    # and then nothing is recorded, and the tool says so (the child's answer stands in for it)
    before = (run.dir / "run.json").read_text()
    answer = json.dumps({"train_s": 1.0, "same_bits": False, "cpu_capability": "AVX2"})
    monkeypatch.setattr(tool.subprocess, "run",
                        lambda *a, **k: subprocess.CompletedProcess(a, 0, stdout=answer + "\n", stderr=""))
    kept_before = kept.read_text()
    assert tool.main([str(run.dir)]) == 1
    assert (run.dir / "run.json").read_text() == before and kept.read_text() == kept_before
