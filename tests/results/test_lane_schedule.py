"""tools/lane_schedule.py: two 1-thread lanes over runs that follow the run they start from,
against schedules worked out by hand."""

import json

import pytest

PAIRED, ALONE = {"single": 1.5, "cohort": 1.6}, {"single": 1.75, "cohort": 2.0}


def kinds(seconds):
    return {r: "cohort" if "-" in r else "single" for r in seconds}


def test_two_chains_fill_both_lanes(load_tool):
    tool = load_tool("lane_schedule")
    seconds = {"a": 100.0, "b": 100.0, "c": 100.0, "d": 100.0}
    got = tool.schedule(seconds, {"a": None, "b": "a", "c": None, "d": None}, PAIRED, ALONE, kinds(seconds))
    # a (the longest chain, a then b) and c start; both end at 150 s; then b and d, to 300 s
    assert got["order"] == ["a", "c", "b", "d"]
    assert got["lanes_s"] == pytest.approx(300.0) and got["alone_s"] == 0.0
    assert got["ratio"] == pytest.approx(400 / 300) and got["critical_path_s"] == 200.0


def test_a_lane_left_alone_runs_at_the_alone_factor(load_tool):
    tool = load_tool("lane_schedule")
    seconds = {"a": 300.0, "c": 100.0}
    got = tool.schedule(seconds, {"a": None, "c": None}, PAIRED, {"single": 2.0}, kinds(seconds))
    # side by side: c ends at 150 s with a a third done; a's last 200 s of work alone take 400 s
    assert got["lanes_s"] == pytest.approx(550.0) and got["alone_s"] == pytest.approx(400.0)
    chain = tool.schedule({"a": 100.0, "b": 100.0}, {"a": None, "b": "a"}, PAIRED, ALONE, kinds({"a": 0, "b": 0}))
    assert chain["lanes_s"] == pytest.approx(350.0) and chain["ratio"] == pytest.approx(200 / 350)


def test_cohorts_take_their_own_factors(load_tool):
    tool = load_tool("lane_schedule")
    seconds = {"RGB-Flow_s0": 100.0, "RGB_s1": 100.0}
    got = tool.schedule(seconds, dict.fromkeys(seconds), PAIRED, ALONE, kinds(seconds))
    # the single run ends at 150 s; the cohort has 100 - 150 / 1.6 left, alone at 2.0
    assert got["lanes_s"] == pytest.approx(150 + (100 - 150 / 1.6) * 2.0)


def test_a_run_after_one_outside_the_plan_or_a_cycle_is_refused(load_tool):
    tool = load_tool("lane_schedule")
    with pytest.raises(ValueError, match="not in the plan"):
        tool.schedule({"a": 1.0}, {"a": "z"}, PAIRED, ALONE, {"a": "single"})
    with pytest.raises(ValueError, match="cycle"):
        tool.schedule({"a": 1.0, "b": 1.0}, {"a": "b", "b": "a"}, PAIRED, ALONE, {"a": "single", "b": "single"})


def test_the_tool_reads_compute_and_the_lanes_benchmark(load_tool, tmp_path, capsys):
    tool = load_tool("lane_schedule")
    compute = tmp_path / "compute.json"
    compute.write_text(json.dumps({"runs": [
        {"run": "RGB_s0_x", "train_s": 90.0, "score_s": 10.0, "after": None},
        {"run": "RGB-Flow_s0_y", "train_s": 190.0, "score_s": 10.0, "after": "RGB_s0_x"},
        {"run": "Flow_s0_z", "train_s": 95.0, "score_s": 5.0, "after": None}]}))
    lanes = tmp_path / "host.json"
    lanes.write_text(json.dumps({"meta": {"cpu": "test CPU"}, "rows": [
        {"name": "2 RGB runs: side by side (2 x 1 thread) / one after the other (2 threads)", "value": 0.75},
        {"name": "2 RGB,Flow runs: side by side (2 x 1 thread) / one after the other (2 threads)", "value": 0.8},
        {"name": "1 RGB run alone: 1 thread / 2 threads", "value": 1.75},
        {"name": "1 RGB,Flow run alone: 1 thread / 2 threads", "value": 2.0}]}))
    assert tool.main(["--compute", str(compute), "--lanes-json", str(lanes), "--write"]) == 0
    out = json.loads((tmp_path / "host-schedule.json").read_text())
    assert out["inputs"]["paired"] == {"single": 1.5, "cohort": 1.6} and out["inputs"]["lanes_host"] == "test CPU"
    assert out["serial_s"] == 400.0 and out["first_runs"][0] == "RGB_s0_x"
    assert "3 runs: one at a time 6.7 min" in capsys.readouterr().out
    assert tool.main(["--compute", str(compute), "--lanes-json", str(lanes), "--paired", "single=1.7", "--write"]) == 0
    other = json.loads((tmp_path / "host-schedule-paired-single1.7.json").read_text())
    assert other["inputs"]["paired"] == {"single": 1.7, "cohort": 1.6} and other["lanes_s"] == 570.0 > out["lanes_s"]
    with pytest.raises(SystemExit):
        tool.main(["--compute", str(compute), "--lanes-json", str(lanes), "--paired", "triple=2"])
    compute.write_text(json.dumps({"runs": [{"run": "RGB_s0_x", "train_s": 1.0, "score_s": 0.0}]}))
    with pytest.raises(SystemExit, match="run tools/run_costs.py again"):
        tool.main(["--compute", str(compute), "--lanes-json", str(lanes)])
