"""The benchmark harness: discovers bench modules, prints one table, writes JSON, reports failures."""

from __future__ import annotations

import json
import re
import sys
import types

import pytest

from benchmarks import run


def test_discovers_every_bench_module():
    names = run.discover()
    for expected in ("data", "dispatch", "epoch", "eval", "flow", "models", "synth", "training"):
        assert expected in names


def test_a_broken_bench_becomes_a_failed_row(monkeypatch):
    mod = types.ModuleType("benchmarks.bench_broken")

    def rows(quick):
        raise RuntimeError("boom")

    mod.rows = rows
    monkeypatch.setitem(sys.modules, "benchmarks.bench_broken", mod)
    got = run.collect(["broken"], quick=True)
    assert got[0]["ok"] is False and "boom" in got[0]["notes"]
    table = run.format_table(got)
    assert "NO" in table and "broken" in table


@pytest.mark.slow
def test_quick_run_writes_json(tmp_path, capsys):
    code = run.main(["--quick", "--only", "eval", "--out", str(tmp_path)])
    out = json.loads((tmp_path / "quick.json").read_text())
    assert out["meta"]["quick"] is True and out["rows"]
    assert all({"group", "name", "value", "unit"} <= set(r) for r in out["rows"])
    assert "value" in capsys.readouterr().out
    assert code in (0, 1)  # 1 only when a target is missed; the JSON is written either way


@pytest.mark.slow
def test_data_bench_holds_the_in_process_loader_to_the_target_and_reports_the_worker_path():
    from benchmarks import bench_data

    rows = {r["name"]: r for r in bench_data.rows(quick=True)}
    inproc = rows["loader packed RGBDiff (in-process)"]
    assert inproc["value"] > 0 and "in the training process" in inproc["notes"]
    assert inproc["ok"] == (inproc["value"] >= bench_data.PACKED_TARGET) and "2x" in inproc["target"]
    assert rows["loader packed RGBDiff"]["ok"] is None and "1 worker" in rows["loader packed RGBDiff"]["notes"]


@pytest.mark.slow
def test_the_epoch_bench_splits_a_real_epoch_into_its_phases(monkeypatch, tmp_path):
    from benchmarks import bench_epoch

    monkeypatch.setenv("MMLKIT_CACHE", str(tmp_path))
    rows = {r["name"]: r for r in bench_epoch.rows(quick=True)}
    shares = {k: r["value"] for k, r in rows.items() if k.startswith("RGB: ")}
    assert set(shares) == {f"RGB: {p}" for p in ("data", "forward", "backward", "optimizer", "val", "rest")}
    assert sum(shares.values()) == pytest.approx(100.0, abs=0.5) and shares["RGB: backward"] > 0
    workers = rows["RGB epoch, loader in 1 worker / in-process"]
    assert workers["value"] > 0 and workers["ok"] is True  # the worker path's reruns train the same weights


def test_the_step_bench_runs_every_lever_beside_today(monkeypatch):
    """The rows, from stand-in speeds (a real child runs in the tests of step_child)."""
    from benchmarks import bench_step

    asked = []

    def fake(variant, steps, warmup):
        asked.append(variant)
        return 100.0 * (2 if variant == "side_by_side" else 1)
    monkeypatch.setattr(bench_step, "_measure", fake)
    rows = {r["name"]: r for r in bench_step.rows(quick=True)}
    assert asked == list(bench_step.VARIANTS)
    assert rows["2 x 1 thread side by side / today"]["value"] == 2.0
    assert rows["RGB step, fp32, 2 threads (today)"]["value"] > 0
    ratios = {k: r["value"] for k, r in rows.items() if k.endswith(" / today")}
    assert set(ratios) == {f"{label} / today" for v, (label, _, _) in bench_step.VARIANTS.items() if v != "fp32"}
    assert all(0 < v < 100 for v in ratios.values())


def test_the_released_bench_judges_only_an_avx2_hosts_own_paths(monkeypatch):
    from benchmarks import bench_released

    speed = {("released", False): 1.0, ("mmlkit", False): 1.5, ("released", True): 1.0, ("mmlkit", True): 1.1,
             ("released_kept", False): 1.25, ("released_kept", True): 1.0}
    for host, judged in (("AVX2", True), ("AVX512", False)):
        def fake(variant, pinned, sizes, steps, warmup, host=host):
            return {"median": speed[(variant, pinned)], "best": 0.0, "capability": "AVX2" if pinned else host}
        monkeypatch.setattr(bench_released, "_measure", fake)
        rows = bench_released.rows(quick=False)
        own = next(r for r in rows if r["name"] == f"mmlkit / released, {host} paths")
        assert own["value"] == pytest.approx(1.5)
        assert own["ok"] is (True if judged else None)
        pinned = next(r for r in rows if r["name"].startswith("mmlkit / released, AVX2 paths") and r is not own)
        assert pinned["value"] == pytest.approx(1.1) and pinned["ok"] is None
        models = next(r for r in rows if r["name"] == f"mmlkit / released with memory kept, {host} paths")
        assert models["value"] == pytest.approx(1.2)


def test_the_allocator_bench_fails_a_row_when_the_bits_differ(monkeypatch):
    from benchmarks import bench_allocator

    def fake(case, kept, quick):
        return {"median": 2.0 if kept else 1.0, "digest": f"{case}-{kept}" if case == "TSM-R50" else case,
                "malloc": "kept" if kept else "default"}
    monkeypatch.setattr(bench_allocator, "_measure", fake)
    rows = {r["name"]: r for r in bench_allocator.rows(quick=True)}
    assert rows["default: kept / as it comes"]["value"] == 2.0 and rows["default: kept / as it comes"]["ok"] is True
    assert rows["TSM-R50: kept / as it comes"]["ok"] is False


@pytest.mark.slow
def test_the_released_and_allocator_children_run():
    """One real process of each bench's child, at the quick sizes."""
    from benchmarks import bench_allocator, bench_released

    got = bench_released._measure("released_kept", False, dict(t=2, size=64, batch=2), steps=1, warmup=0)
    assert got["median"] > 0 and got["malloc"] == "kept"
    got = bench_allocator._measure("default", True, quick=True)
    assert got["median"] > 0 and got["malloc"] == "kept" and len(got["digest"]) == 64


def test_the_step_child_refuses_a_case_it_cannot_run():
    from benchmarks.step_child import StepCase

    for bad, match in ((dict(model="resnet"), "model='resnet'"), (dict(variant="fp16"), "variant='fp16'"),
                       (dict(model="tsm_r50"), "needs segments, size and batch"),
                       (dict(keep_memory=True), "keep_memory is for the released model"),
                       (dict(steps=0), "steps=0")):
        with pytest.raises(ValueError, match=re.escape(match)):
            StepCase(**bad)


@pytest.mark.slow
def test_the_step_child_trains_the_same_bits_in_any_process():
    """Two children of one case end on the same weights (what bench_allocator's "same bits"
    column rests on), and a child's weights are those of the same case run in this process."""
    from benchmarks.step_child import StepCase, measure
    from benchmarks.step_child import run as run_here

    case = StepCase(model="default", batch=4, steps=2, warmup=1)
    a, b = measure(case, processes=2)
    assert a["digest"] == b["digest"] and a["median"] > 0 and b["best"] >= b["median"]
    import torch

    threads = torch.get_num_threads()
    try:
        assert run_here(case)["digest"] == a["digest"]
    finally:
        torch.set_num_threads(threads)


def test_every_step_lever_runs():
    """Each variant of the step child, one tiny step in this process (the settings restored)."""
    import torch

    from benchmarks.step_child import VARIANTS, StepCase
    from benchmarks.step_child import run as run_here

    threads, mkldnn = torch.get_num_threads(), torch.backends.mkldnn.enabled
    try:
        for variant in VARIANTS:
            got = run_here(StepCase(model="default", batch=2, threads=1, variant=variant, steps=1, warmup=0))
            assert got["median"] > 0 and len(got["digest"]) == 64, variant
    finally:
        torch.set_num_threads(threads)
        torch.backends.mkldnn.enabled = mkldnn


def test_the_lanes_bench_alternates_the_order_and_reports_the_median_ratio(monkeypatch):
    from benchmarks import bench_lanes

    order, seconds = [], {False: iter([100.0, 120.0]), True: iter([70.0, 96.0])}

    def fake(profile, modalities, epochs, side):
        order.append(side)
        return next(seconds[side])

    monkeypatch.setattr(bench_lanes, "_pair", fake)
    row = bench_lanes.pair_row("default", ("RGB", "Flow"), 6, 2)
    assert order == [False, True, True, False]  # a drifting host biases neither layout
    assert row["value"] == pytest.approx((0.7 + 0.8) / 2) and row["name"].startswith("2 RGB,Flow runs")
    assert "70.0, 96.0 s" in row["notes"] and "100.0, 120.0 s" in row["notes"]


@pytest.mark.slow
def test_the_lanes_bench_trains_real_pairs(monkeypatch, tmp_path):
    from benchmarks import bench_lanes

    monkeypatch.setenv("MMLKIT_CACHE", str(tmp_path))
    (pair,) = bench_lanes.rows(quick=True)
    assert pair["value"] > 0 and pair["unit"] == "x time"
    assert bench_lanes._alone("smoke", ("RGB",), 1, 1) > 0  # a lone run's real process (its row: below)


def test_the_lanes_bench_times_a_lone_run_both_ways_in_alternating_order(monkeypatch):
    from benchmarks import bench_lanes

    order, seconds = [], {2: iter([50.0, 52.0]), 1: iter([80.0, 91.0])}

    def fake(profile, modalities, epochs, threads):
        order.append(threads)
        return next(seconds[threads])

    monkeypatch.setattr(bench_lanes, "_alone", fake)
    row = bench_lanes.alone_row("default", ("RGB",), 10, 2)
    assert order == [2, 1, 1, 2]
    assert row["value"] == pytest.approx((80 / 50 + 91 / 52) / 2) and "1 thread 80.0, 91.0 s" in row["notes"]


@pytest.mark.slow
def test_the_headers_bench_scores_alike_with_headers_kept_and_parsed_anew(monkeypatch, tmp_path):
    from benchmarks import bench_headers

    monkeypatch.setenv("MMLKIT_CACHE", str(tmp_path))
    rows = bench_headers.rows(quick=True)
    timing = [r for r in rows if r["unit"] == "x time"]
    agree = [r for r in rows if r["unit"] == "bool"]
    assert len(timing) == len(agree) == 2 and all(r["ok"] for r in agree), rows
    assert all("headers parsed 0 vs" in r["notes"] for r in timing)


def test_the_omp_bench_sets_each_setting_alone_on_the_pinned_paths(monkeypatch):
    from benchmarks import bench_omp
    from mmlkit.runtime import PINNED_DISPATCH

    monkeypatch.setenv("OMP_WAIT_POLICY", "passive")  # a caller's own setting must not leak into a row
    env = bench_omp.environment("active")
    assert env["OMP_WAIT_POLICY"] == "active" and all(env[k] == v for k, v in PINNED_DISPATCH.items())
    assert "OMP_WAIT_POLICY" not in bench_omp.environment("default")
    assert bench_omp.environment("bind")["OMP_PLACES"] == "cores"


def test_the_omp_bench_reports_ratios_and_fails_when_the_bits_differ(monkeypatch):
    from benchmarks import bench_omp

    speed = {None: 100.0, "active": 110.0, "passive": 90.0, "close": 100.0}

    def fake(case, env, processes=1):
        key = env.get("OMP_WAIT_POLICY") or env.get("OMP_PROC_BIND")
        return [{"median": speed[key], "digest": "d"}]
    monkeypatch.setattr(bench_omp, "measure", fake)
    rows = {r["name"]: r for r in bench_omp.rows(quick=True)}
    assert rows["OMP_WAIT_POLICY=active / as it comes"]["value"] == pytest.approx(1.1)
    assert rows["OMP_WAIT_POLICY=passive / as it comes"]["value"] == pytest.approx(0.9)
    assert rows["OpenMP settings: same bits"]["ok"] is True
    monkeypatch.setattr(bench_omp, "measure", lambda case, env, processes=1: [
        {"median": 1.0, "digest": env.get("OMP_WAIT_POLICY", "")}])
    assert {r["name"]: r for r in bench_omp.rows(quick=True)}["OpenMP settings: same bits"]["ok"] is False


@pytest.mark.slow
def test_the_omp_settings_train_the_same_bits():
    """Real children: spinning threads and sleeping ones train the same weights as the default."""
    from benchmarks import bench_omp
    from benchmarks.step_child import StepCase, measure

    case = StepCase(model="default", threads=2, steps=2, warmup=0)
    digests = {s: measure(case, bench_omp.environment(s))[0]["digest"] for s in ("default", "active", "passive")}
    assert len(set(digests.values())) == 1, digests


def test_epoch_shares_count_validation_at_the_schedules_rate():
    """Four kept epochs of a 5-epoch run hold two validations (after epoch 4 and after the last);
    the schedule validates once in four epochs, so each validation counts a quarter epoch."""
    import pandas as pd

    from benchmarks.bench_epoch import epoch_shares

    log = pd.DataFrame({"epoch": [2, 3, 4, 5], "seconds": [2.0, 2.0, 2.5, 2.5],
                        "data_s": [0.2] * 4, "forward_s": [0.6] * 4, "backward_s": [1.2] * 4,
                        "optimizer_s": [0.0] * 4, "val_s": [0.0, float("nan"), 0.5, 0.5]})
    t = epoch_shares(log, eval_freq=4)
    assert t["val"] == pytest.approx(0.125)          # 0.5 s per validation / 4 epochs
    assert t["epoch"] == pytest.approx(2.0 + 0.125)  # the epochs without validation, plus its share
    assert t["rest"] == pytest.approx(0.0, abs=1e-9)
    assert epoch_shares(log.assign(val_s=0.0, seconds=2.0), eval_freq=4)["val"] == 0.0


def test_the_roofline_counts_a_convolutions_work_as_torch_does():
    """An independent count: torch's own FLOP counter on one convolution's forward pass."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from benchmarks.bench_roofline import conv_flops

    for x_shape, w_shape, stride, pad in [((4, 3, 9, 7), (5, 3, 3, 3), 2, 1), ((2, 8, 4, 4), (6, 8, 1, 1), 1, 0)]:
        x, w = torch.randn(x_shape), torch.randn(w_shape)
        with FlopCounterMode(display=False) as counter:
            y = torch.nn.functional.conv2d(x, w, stride=stride, padding=pad)
        assert conv_flops(x_shape, w_shape, tuple(y.shape)) == counter.get_total_flops()


def test_the_roofline_summary_splits_the_step_into_convolutions_and_the_rest():
    from benchmarks.bench_roofline import summary

    got = {"step_gflop": 6.0, "step_ms": 60.0, "large_gflop_s": 200.0, "clips": 32,
           "convs": [{"name": "a", "x": (1,), "w": (1,), "forward_ms": 10.0, "backward_ms": 20.0, "gflop": 3.0},
                     {"name": "b", "x": (1,), "w": (1,), "forward_ms": 5.0, "backward_ms": 5.0, "gflop": 0.5}]}
    f = summary(got)
    assert f["step_gflop_s"] == pytest.approx(100.0) and f["headroom"] == pytest.approx(2.0)
    assert f["conv_ms"] == pytest.approx(40.0) and f["rest_ms"] == pytest.approx(20.0)
    assert f["conv_share"] == pytest.approx(40 / 60) and f["conv_gflop_s"] == pytest.approx(3.5 / 40 * 1e3)
    assert f["slowest"]["name"] == "b" and f["slowest_gflop_s"] == pytest.approx(50.0)


@pytest.mark.slow
def test_the_roofline_replays_every_convolution_of_the_real_step():
    """A real child, pinned: the replayed convolutions carry all the step's convolution work."""
    from benchmarks.bench_roofline import measure

    got = measure(True, steps=2, repeat=1)
    assert got["capability"] == "AVX2"
    counted = got["by_op_gflop"]["aten.convolution"] + got["by_op_gflop"]["aten.convolution_backward"]
    assert sum(c["gflop"] for c in got["convs"]) == pytest.approx(counted, rel=1e-9)
    assert len(got["convs"]) == 12 and got["step_ms"] > 0 and got["large_gflop_s"] > 0
