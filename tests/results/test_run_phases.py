"""tools/run_phases.py: a full run's time by part, from hand-made run records with known sums."""

import json

import pytest


def make_run(store, name, modalities, epochs, train_s, score_s, phases=(1.0, 2.0, 4.0, 0.5, 1.0), seconds=10.0,
             done=True):
    d = store / "runs" / name
    d.mkdir(parents=True)
    (d / "config.json").write_text(json.dumps({"modalities": modalities}))
    (d / "run.json").write_text(json.dumps({"timings": {"train_s": train_s, "score_s": score_s},
                                            "env": {"cpu": "test CPU", "threads": 2, "cpu_capability": "AVX2"}}))
    header = "epoch,seconds,data_s,forward_s,backward_s,optimizer_s,val_s\n"
    rows = "".join(f"{e + 1},{seconds}," + ",".join(str(p) for p in phases) + "\n" for e in range(epochs))
    for i, m in enumerate(modalities):  # every member's log holds the cohort's phases
        (d / f"log_model{i}_{m}.csv").write_text(header + rows)
    if done:
        (d / "done.json").write_text("{}")
    return d


def test_parts_of_a_run_sum_to_its_time(tmp_path, load_tool):
    tool = load_tool("run_phases")
    d = make_run(tmp_path, "RGB_s0_a", ["RGB"], epochs=2, train_s=25.0, score_s={"heldout": 4.0, "centre": 1.0})
    row = tool.run_parts(d)
    # 2 epochs of 10 s: phases 2 x (1 + 2 + 4 + 0.5 + 1) = 17, the rest 3; set-up 25 - 20; scoring 5
    assert {k: row[k] for k in ("run", "kind", "epochs", "model_epochs", *tool.PARTS)} == {
        "run": "RGB_s0_a", "kind": "RGB", "epochs": 2, "model_epochs": 2, "data": 2.0, "forward": 4.0,
        "backward": 8.0, "optimizer": 1.0, "val": 2.0, "epoch_rest": 3.0, "setup": 5.0, "scoring": 5.0}
    assert sum(row[p] for p in tool.PARTS) == pytest.approx(25.0 + 5.0)
    assert (row["epoch_median_s"], row["forward_median_s"], row["val_first_s"], row["val_later_median_s"],
            row["cpu"]) == (10.0, 2.0, 1.0, 1.0, "test CPU")


def test_a_retimed_run_keeps_the_set_up_of_the_time_its_logs_were_taken_with(tmp_path, load_tool):
    tool = load_tool("run_phases")
    d = make_run(tmp_path, "RGB_s0_r", ["RGB"], epochs=2, train_s=25.0, score_s={})
    info = json.loads((d / "run.json").read_text())
    info["timings"]["retimed"] = {"train_s": 12.0}  # a quiet retraining: faster than the logged epochs
    (d / "run.json").write_text(json.dumps(info))
    assert tool.run_parts(d)["setup"] == 5.0


def test_a_cohort_is_read_once_and_counts_every_model(tmp_path, load_tool):
    tool = load_tool("run_phases")
    d = make_run(tmp_path, "RGB-Flow_s0_b", ["RGB", "Flow"], epochs=3, train_s=30.0, score_s={})
    row = tool.run_parts(d)
    assert (row["kind"], row["epochs"], row["model_epochs"], row["backward"]) == ("cohort of 2", 3, 6, 12.0)


def test_table_shares_and_the_run_list(tmp_path, load_tool):
    tool = load_tool("run_phases")
    store = tmp_path / "store"
    make_run(store, "RGB_s0_a", ["RGB"], 2, 25.0, {"heldout": 5.0})
    make_run(store, "RGB-Flow_s0_b", ["RGB", "Flow"], 3, 30.0, {})
    make_run(store, "Flow_s0_c", ["Flow"], 1, 10.0, {}, done=False)     # unfinished: left out
    runs, source = tool.chosen_runs(store, tmp_path / "no-compute.json")
    assert [r.name for r in runs] == ["RGB-Flow_s0_b", "RGB_s0_a"] and "every finished run" in source
    table = tool.phase_table([tool.run_parts(d) for d in runs]).set_index("runs")
    assert list(table.index) == ["RGB", "cohort of 2", "all"]
    assert table.loc["all", "minutes"] == pytest.approx((30.0 + 30.0) / 60)
    assert table.loc["all", "model-epochs"] == 2 + 6
    shares = [c for c in table.columns if c.endswith(" %")]
    assert table[shares].sum(axis=1).to_list() == pytest.approx([100.0] * 3)
    assert table.loc["all", "backward %"] == pytest.approx(100.0 * (8.0 + 12.0) / 60.0)
    # a compute.json naming runs the store lacks falls back to the store's finished runs
    compute = tmp_path / "compute.json"
    compute.write_text(json.dumps({"runs": [{"run": "RGB_s0_a"}, {"run": "Flow_s0_c"}]}))
    assert len(tool.chosen_runs(store, compute)[0]) == 2
    compute.write_text(json.dumps({"runs": [{"run": "RGB_s0_a"}]}))
    assert [r.name for r in tool.chosen_runs(store, compute)[0]] == ["RGB_s0_a"]
    out = tmp_path / "out"
    assert tool.main(["--store", str(store), "--compute", str(compute), "--write", "--out", str(out)]) == 0
    written = json.loads((out / "phases.json").read_text())
    assert [r["run"] for r in written["runs"]] == ["RGB_s0_a"] and written["host"] == "test CPU: 1 runs"
    assert "| RGB " in (out / "phases.md").read_text()


def test_a_log_without_phase_timers_is_named(tmp_path, load_tool):
    tool = load_tool("run_phases")
    d = make_run(tmp_path, "RGB_s0_old", ["RGB"], 1, 10.0, {})
    (d / "log_model0_RGB.csv").write_text("epoch,seconds\n1,10.0\n")
    with pytest.raises(SystemExit, match=r"log_model0_RGB.csv: no data_s, forward_s"):
        tool.run_parts(d)


def test_a_run_retimed_with_its_logs_is_read_from_its_quiet_retraining(tmp_path, load_tool):
    tool = load_tool("run_phases")
    d = make_run(tmp_path, "RGB_s0_q", ["RGB"], epochs=2, train_s=25.0, score_s={"heldout": 4.0})
    info = json.loads((d / "run.json").read_text())
    info["timings"]["retimed"] = {"train_s": 12.0, "cpu": "quiet CPU"}
    (d / "run.json").write_text(json.dumps(info))
    quiet = d / "retimed"                       # tools/retime.py keeps the quiet training's logs here
    quiet.mkdir()
    (quiet / "log_model0_RGB.csv").write_text("epoch,seconds,data_s,forward_s,backward_s,optimizer_s,val_s\n"
                                              "1,5.0,0.5,1.0,2.0,0.25,0.5\n2,5.0,0.5,1.0,2.0,0.25,0.5\n")
    row = tool.run_parts(d)
    assert row["retimed"] is True and row["cpu"] == "quiet CPU"       # the host that timed these logs
    assert (row["data"], row["backward"], row["epoch_rest"], row["setup"]) == (1.0, 4.0, 1.5, 2.0)
    assert sum(row[p] for p in tool.PARTS) == pytest.approx(12.0 + 4.0)   # what run_costs counts
    # the logs alone, without a retimed time in run.json, are not a retiming
    del info["timings"]["retimed"]
    (d / "run.json").write_text(json.dumps(info))
    assert tool.run_parts(d)["retimed"] is False and tool.run_parts(d)["setup"] == 5.0
