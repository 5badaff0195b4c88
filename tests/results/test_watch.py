"""mmlkit.results.watch: the line per finished run, and the estimate of what is left."""

from __future__ import annotations

import io
import json
import os

import pytest

from mmlkit.results import watch
from mmlkit.results.watch import Expectation, StoreWatcher, format_minutes, progress_line, run_summary

RECORD = {"full_run": {"notebooks": {"00": 60.0, "01": 600.0, "02": 1200.0}, "runs_trained": 20,
                       "runs_reused": 0, "host_train_clips_per_s": [300.0, 400.0]}, "reruns": []}


def _finish(root, name, epochs=40, train_s=90.0, mtime=None):
    d = root / "runs" / name
    d.mkdir(parents=True)
    (d / "config.json").write_text(json.dumps({"modalities": ["RGB", "Flow"], "optim": {"epochs": epochs}}))
    (d / "run.json").write_text(json.dumps({"timings": {"train_s": train_s}}))
    (d / "done.json").write_text("{}")
    if mtime is not None:
        os.utime(d / "done.json", (mtime, mtime))
    return d


def test_the_expectation_reads_the_last_full_run():
    exp = Expectation.from_record(RECORD)
    assert exp.runs == 20 and exp.speed == 400.0 and exp.notebook_s["02"] == 1200.0
    # this host twice as fast: every recorded second counts half; 100 s of notebook 01 are spent
    assert exp.seconds_left(["00", "01", "02"], 1, 100.0, 800.0) == pytest.approx(300 - 100 + 600)
    assert exp.seconds_left(["00", "01", "02"], 1, 1000.0, 800.0) == pytest.approx(600)  # over its time: 0 left of it
    assert exp.seconds_left(["00", "01", "03"], 1, 0.0, 400.0) is None  # a notebook never recorded
    reused = {"full_run": {**RECORD["full_run"], "runs_reused": 5}}
    assert Expectation.from_record(reused).runs is None  # a run on a filled store: its count is not the work
    assert Expectation.from_record({}) is None and Expectation.from_record({"full_run": {}}) is None


def test_a_line_names_the_run_its_epochs_and_minutes_and_what_is_left(tmp_path):
    run = run_summary(_finish(tmp_path, "RGB-Flow_s1_0123456789ab", epochs=80, train_s=336.0))
    line = progress_line("03_ml_vs_mml", run, 7, 12, 5400.0)
    assert line == ("[reproduce] 03_ml_vs_mml: trained RGB-Flow_s1_0123456789ab (RGB,Flow, 80 epochs, 5.6 min) "
                    "| 7 runs trained, about 12 to do, about 1 h 30 min left")
    bare = progress_line("01", {"name": "x", "modalities": None, "epochs": None, "minutes": None}, 1, None, None)
    assert bare == ("[reproduce] 01: trained x (? min) | 1 run trained, runs to do unknown, "
                    "time left unknown (no earlier full run recorded)")
    assert format_minutes(42.4) == "42 min" and format_minutes(130) == "2 h 10 min"


def test_the_watcher_prints_one_line_per_finished_run_in_order(tmp_path):
    _finish(tmp_path, "RGB_s0_aaaaaaaaaaaa")  # already stored when the run starts: not this run's work
    out, now = io.StringIO(), [0.0]
    w = StoreWatcher(tmp_path, ["00", "01", "02"], Expectation.from_record(RECORD), speed=400.0, out=out,
                     clock=lambda: now[0])
    assert w.poll() == []
    w.start("00")
    w.finish("00")
    w.start("01")
    _finish(tmp_path, "Flow_s0_bbbbbbbbbbbb", mtime=2e9)
    _finish(tmp_path, "RGB_s1_cccccccccccc", mtime=1e9)  # finished first
    now[0] = 60.0
    lines = w.poll()
    assert [l.split("trained ")[1].split(" ")[0] for l in lines] == ["RGB_s1_cccccccccccc", "Flow_s0_bbbbbbbbbbbb"]
    assert "2 runs trained, about 18 to do, about 29 min left" in lines[1]  # 600 - 60 + 1200 s
    assert w.poll() == [] and out.getvalue().count("\n") == 2
    assert w.by_notebook == {"01": ["RGB_s1_cccccccccccc", "Flow_s0_bbbbbbbbbbbb"]}  # for the next run's estimate


def test_the_watcher_thread_reports_a_run_that_finishes_while_it_watches(tmp_path):
    out = io.StringIO()
    with StoreWatcher(tmp_path, ["01"], None, speed=None, interval=0.05, out=out):
        _finish(tmp_path, "RGB_s0_aaaaaaaaaaaa")
    assert out.getvalue().startswith("[reproduce] 01: trained RGB_s0_aaaaaaaaaaaa (RGB,Flow, 40 epochs, 1.5 min)")


def test_reproduce_prints_a_line_per_run_its_notebooks_train(tmp_path, monkeypatch, capsys):
    """``python -m mmlkit.results.reproduce`` watches the store while each notebook runs, and
    records which runs each notebook trained (the next run's estimate)."""
    from mmlkit.results import reproduce

    store, out = tmp_path / "store", tmp_path / "out"

    def fake_notebook(name, out_dir, params, kernel):  # a notebook that trains one run
        _finish(store, f"RGB_s0_{name[:2]}aaaaaaaaaa")
        return 1.0

    monkeypatch.setattr(reproduce, "run_notebook", fake_notebook)
    monkeypatch.setattr(watch, "COMPUTE_PLAN", tmp_path / "no-compute.json")  # no plan: notebook times
    monkeypatch.setattr(reproduce, "_host_speed", lambda profile: 500.0)
    assert reproduce.main(["--only", "00_data_tour", "--only", "02_initialisation", "--results-dir", str(store),
                           "--out", str(out)]) == 0
    lines = [l for l in capsys.readouterr().out.splitlines() if ": trained " in l]
    assert [l.split(":")[0] for l in lines] == ["[reproduce] 00_data_tour", "[reproduce] 02_initialisation"]
    assert "2 runs trained" in lines[1] and "RGB_s0_02aaaaaaaaaa (RGB,Flow, 40 epochs, 1.5 min)" in lines[1]
    record = json.loads((out / "timings.json").read_text())["full_run"]
    assert record["runs_by_notebook"] == {"00_data_tour": ["RGB_s0_00aaaaaaaaaa"],
                                          "02_initialisation": ["RGB_s0_02aaaaaaaaaa"]}


COMPUTE = {"profile": "default",
           "notebooks": {"01": ["a", "b", "c"], "02": ["x"], "03": ["c", "d", "e"]},
           "runs": [{"run": r, "train_s": 100.0, "score_s": 20.0} for r in "abcdex"]}


def test_the_plan_counts_the_runs_the_store_does_not_hold_yet():
    exp = Expectation.from_record(RECORD, COMPUTE)
    assert exp.plan["03"] == ("c", "d", "e") and exp.run_s["d"] == 120.0
    assert exp.runs_left(["01", "03"], 0, {"a"}, []) == (4, 480.0)           # b, c, d, e
    assert exp.runs_left(["01", "03"], 1, {"a", "b"}, []) == (2, 240.0)      # c came with 01: d, e
    assert exp.runs_left(["03"], 0, {"a", "b"}, []) == (3, 360.0)            # 03 alone makes c too
    # another draw: the same work under other names; each run trained outside the plan counts
    assert exp.runs_left(["01", "03"], 0, set(), ["z1", "z2"]) == (3, 360.0)
    assert exp.runs_left(["01"], 0, {"a", "b", "c"}, []) == (0, 0.0)
    # other seeds in the notebook's own kernel: the stored plan's runs are not this run's work
    assert exp.runs_left(["01"], 0, {"a", "b", "c"}, ["s9"]) == (2, 240.0)
    # before any run, told that the plan's names are not this invocation's (another draw)
    assert exp.runs_left(["01", "03"], 0, {"a", "b", "c", "d", "e"}, [], same_runs=False) == (5, 600.0)
    assert exp.runs_left(["01", "03"], 0, {"a", "b", "c", "d", "e"}, [], same_runs=True) == (0, 0.0)
    # the plan's parameters, but every run trained lies outside it (a new benchmark version renamed
    # them all): counted down from the plan's size, not stuck at the planned runs the store lacks
    assert exp.runs_left(["01", "03"], 0, set(), ["z1"], same_runs=True) == (4, 480.0)
    assert exp.runs_left(["01", "03"], 0, set(), ["z1", "z2"], same_runs=True) == (3, 360.0)
    # one extra run beside the plan's (a seed the rule asked for) leaves the plan's names in force
    assert exp.runs_left(["01", "03"], 0, {"a"}, ["a", "s9"], same_runs=True) == (4, 480.0)
    assert Expectation.from_record(RECORD).runs_left(["01"], 0, set(), []) is None  # no plan


def test_the_time_left_is_the_runs_still_to_do_not_the_plans_mean():
    """A store that already holds the short runs has only the long ones left: their own seconds
    count (an estimate once said 62 minutes for 28 runs where the mean hid 9-minute cohorts)."""
    compute = {"profile": "default", "notebooks": {"04": ["short1", "short2", "short3", "cohort"]},
               "runs": [{"run": r, "train_s": 50.0, "score_s": 10.0} for r in ("short1", "short2", "short3")]
               + [{"run": "cohort", "train_s": 500.0, "score_s": 40.0}]}
    exp = Expectation.from_record(RECORD, compute)
    assert exp.runs_left(["04"], 0, {"short1", "short2", "short3"}, []) == (1, 540.0)
    assert exp.runs_left(["04"], 0, {"cohort"}, []) == (3, 180.0)
    # other names (another draw): the count at the plan's mean, (3 x 60 + 540) / 4 = 180 s a run
    assert exp.runs_left(["04"], 0, set(), ["z1"], same_runs=False) == (3, 540.0)


def test_the_watcher_counts_from_the_plan_when_there_is_one(tmp_path):
    out = io.StringIO()
    w = StoreWatcher(tmp_path, ["01", "03"], Expectation.from_record(RECORD, COMPUTE), speed=800.0, out=out)
    assert w.outlook() == "[reproduce] about 5 runs to train, about 5 min of training and scoring at this host's speed"
    assert StoreWatcher(tmp_path, ["01"], None, speed=None).outlook().endswith("runs to do and time unknown")
    other = tmp_path / "other"
    _finish(other, "RGB_s0_renamed")  # a run the plan does not name (its code renamed it), already done
    said = StoreWatcher(other, ["01", "03"], Expectation.from_record(RECORD, COMPUTE), speed=800.0).outlook()
    assert said.startswith("[reproduce] about 5 runs to train") and said.endswith(
        "; the store holds 1 run the plan does not name, not counted as done (fewer to do if they are the plan's "
        "runs under new names)")
    _finish(tmp_path, "a", mtime=1e9)
    _finish(tmp_path, "z9", mtime=2e9)                       # then a run outside the plan
    lines = w.poll()
    # after a: b, c, d, e left, less z9: 3 runs of 120 s recorded at 400 clips/s, this host 800
    assert "2 runs trained, about 3 to do, about 3 min left" in lines[-1]
    assert "about 4 to do" in lines[0]


def test_the_plan_is_read_for_its_own_profile_only(tmp_path):
    path = tmp_path / "compute.json"
    path.write_text(json.dumps(COMPUTE))
    assert watch.compute_plan("default", path) == COMPUTE
    assert watch.compute_plan("smoke", path) is None
    assert watch.compute_plan("default", tmp_path / "missing.json") is None


def test_a_kernel_counts_its_notebooks_runs_against_the_plan(tmp_path):
    plan = tmp_path / "compute.json"
    plan.write_text(json.dumps(COMPUTE))
    assert watch.PlanTracker.for_notebook("99", tmp_path, "default", plan) is None  # not in the plan
    assert watch.PlanTracker.for_notebook("03", tmp_path, "smoke", plan) is None    # another profile's plan
    t = watch.PlanTracker.for_notebook("03", tmp_path, "default", plan)
    _finish(tmp_path, "c")                                  # stored before: not to do
    # d took 200 s here where the plan recorded 100: this kernel runs at half the pace
    assert t.trained(_finish(tmp_path, "d", train_s=200.0)) == "03: about 1 run to do, about 4 min left (the last full run's plan)"
    assert t.trained(_finish(tmp_path, "e")) == "03: about 0 runs to do, about 0 min left (the last full run's plan)"


def test_a_study_that_names_its_notebook_prints_the_line_after_each_run_it_trains(tmp_path, monkeypatch, capsys):
    from mmlkit.config import profile
    from mmlkit.results import store as store_mod
    from mmlkit.results.experiments import Study

    plan = tmp_path / "compute.json"
    monkeypatch.setattr(watch, "COMPUTE_PLAN", plan)
    monkeypatch.setenv("MMLKIT_PROGRESS", "lines")
    st = Study(profile="default", results_dir=str(tmp_path / "store"), notebook="01")
    cfg = profile("default")
    name = st.store.run_dir(cfg).name
    plan.write_text(json.dumps({"profile": "default", "notebooks": {"01": [name, "b"]},
                                "runs": [{"run": r, "train_s": 90.0, "score_s": 30.0} for r in (name, "b")]}))

    def fake_load_or_run(c, store, **kw):  # trains (writes done.json) only what the store lacks
        if not store.get(c).done:
            _finish(store.root, store.run_dir(c).name)
        return store.get(c)

    monkeypatch.setattr(store_mod, "load_or_run", fake_load_or_run)
    st.run(cfg)
    st.run(cfg)                                             # stored now: no line
    lines = [l for l in capsys.readouterr().out.splitlines() if l.startswith("[mmlkit] 01:")]
    assert lines == ["[mmlkit] 01: about 1 run to do, about 2 min left (the last full run's plan)"]
    quiet = Study(profile="default", results_dir=str(tmp_path / "other"))  # no notebook named: no line
    quiet.run(cfg)
    assert "[mmlkit] 01:" not in capsys.readouterr().out


def test_a_kernel_and_run_all_decide_alike_whether_the_plan_names_their_runs(tmp_path):
    """A kernel with other seeds than the plan's counts from the plan's size, as ``./run_all.sh``
    does, even when its first run's name is in the plan (seed 0 of both)."""
    plan = tmp_path / "compute.json"
    plan.write_text(json.dumps({**COMPUTE, "seeds": [0, 1, 2], "synth_seed": 0}))
    compute = json.loads(plan.read_text())
    assert watch.plan_names_these_runs(compute, (0, 1, 2), 0, "synthetic") is True
    assert watch.plan_names_these_runs(compute, (3,), 0, "synthetic") is False
    assert watch.plan_names_these_runs(compute, (0, 1, 2), 1, "synthetic") is False
    assert watch.plan_names_these_runs(compute, (0, 1, 2), 0, "somethingv2") is False
    assert watch.plan_names_these_runs(COMPUTE, (0,), 0, "synthetic") is None  # a plan without its seeds
    _finish(tmp_path, "c")  # stored before
    same = watch.PlanTracker.for_notebook("03", tmp_path, "default", plan, runs_of=((0, 1, 2), 0, "synthetic"))
    other = watch.PlanTracker.for_notebook("03", tmp_path, "default", plan, runs_of=((3,), 0, "synthetic"))
    assert same.same_runs is True and other.same_runs is False
    d = _finish(tmp_path, "d")
    # the plan's runs: the store's c is not to do; another study's: 3 planned less the one it trained
    assert same.trained(d).startswith("03: about 1 run to do")
    assert other.trained(d).startswith("03: about 2 runs to do")


#: a plan made with seeds 0-2, whose seed rule added seed 3 to notebook 01
SEEDED = {"profile": "default", "seeds": [0, 1, 2], "synth_seed": 0,
          "notebooks": {"01": ["RGB_s0_aa", "RGB_s1_ab", "RGB_s2_ac", "RGB_s3_ad"],
                        "mml": ["RGB_s0_aa", "RGB_s1_ab", "RGB_s2_ac", "RGB-Flow_s0_ba", "RGB-Flow_s1_bb",
                                "RGB-Flow_s2_bc", "RGB-Flow_s12_bd"]},
          "runs": [{"run": r, "train_s": 100.0, "score_s": 0.0}
                   for r in ("RGB_s0_aa", "RGB_s1_ab", "RGB_s2_ac", "RGB_s3_ad", "RGB-Flow_s0_ba", "RGB-Flow_s1_bb",
                             "RGB-Flow_s2_bc", "RGB-Flow_s12_bd")]}


def test_a_notebook_on_some_of_the_plans_seeds_counts_their_runs_only(tmp_path):
    """``papermill notebooks/mml_rgb_flow.ipynb`` (seed 0) against a plan of ``./run_all.sh``'s
    three seeds: the plan keeps seed 0's runs, which are this kernel's very runs."""
    narrowed = watch.plan_for_seeds(SEEDED, (0,))
    assert narrowed["notebooks"] == {"01": ["RGB_s0_aa"], "mml": ["RGB_s0_aa", "RGB-Flow_s0_ba"]}
    assert narrowed["seeds"] == [0] and watch.plan_names_these_runs(narrowed, (0,), 0, "synthetic") is True
    assert watch.plan_for_seeds(SEEDED, (1, 2))["notebooks"]["01"] == ["RGB_s1_ab", "RGB_s2_ac"]  # not s12, s3
    for seeds in ((0, 1, 2), (0, 5), (7,)):              # the plan's seeds, or others: the plan as it is
        assert watch.plan_for_seeds(SEEDED, seeds) is SEEDED
    assert watch.plan_for_seeds(COMPUTE, (0,)) is COMPUTE  # a plan without its seeds
    plan = tmp_path / "compute.json"
    plan.write_text(json.dumps(SEEDED))
    t = watch.PlanTracker.for_notebook("mml", tmp_path, "default", plan, runs_of=((0,), 0, "synthetic"))
    assert t.same_runs is True
    # seed 0's stage-1 model trained: its cohort is left (not the 6 other runs of the whole plan)
    assert t.trained(_finish(tmp_path, "RGB_s0_aa")).startswith("mml: about 1 run to do")


def test_side_by_side_notebooks_each_count_the_runs_they_trained(tmp_path):
    """Two notebooks running at once (``--lanes``): each finished run goes to the notebook its
    ``run.json`` names (``trained_by``), not to the one that started last."""
    out, now = io.StringIO(), [0.0]
    w = StoreWatcher(tmp_path, ["00", "01", "02"], Expectation.from_record(RECORD), speed=400.0, out=out,
                     clock=lambda: now[0], lanes=2)
    w.start("01")
    now[0] = 10.0
    w.start("02")
    d = _finish(tmp_path, "RGB_s0_aaaaaaaaaaaa", mtime=1e9)
    (d / "run.json").write_text(json.dumps({"timings": {"train_s": 90.0}, "trained_by": "01"}))
    d = _finish(tmp_path, "Flow_s0_bbbbbbbbbbbb", mtime=2e9)
    (d / "run.json").write_text(json.dumps({"timings": {"train_s": 90.0}, "trained_by": "02"}))
    _finish(tmp_path, "RGBDiff_s0_cccccccccccc", mtime=3e9)  # no trained_by: the notebook started last
    now[0] = 30.0
    lines = w.poll()
    assert [l.split(":")[0] for l in lines] == ["[reproduce] 01", "[reproduce] 02", "[reproduce] 02"]
    assert w.by_notebook == {"01": ["RGB_s0_aaaaaaaaaaaa"], "02": ["Flow_s0_bbbbbbbbbbbb", "RGBDiff_s0_cccccccccccc"]}
    w.finish("01")
    _finish(tmp_path, "RGB_s1_dddddddddddd", mtime=4e9)
    assert w.poll()[0].startswith("[reproduce] 02: trained RGB_s1_dddddddddddd")  # 01 is done: not its run


def test_in_lanes_the_time_left_follows_the_pace_measured_since_the_start():
    """The plan's seconds were measured one notebook at a time; in lanes the time left is the
    plan's seconds still to do at the pace of the lanes so far."""
    compute = {"profile": "default", "notebooks": {"01": ["a", "b"], "02": ["c", "d"]},
               "runs": [{"run": r, "train_s": 100.0, "score_s": 0.0} for r in "abcd"]}
    now = [0.0]
    w = StoreWatcher("/nonexistent", ["01", "02"], Expectation.from_record(
        {"full_run": {"notebooks": {"01": 200.0, "02": 200.0}}}, compute), speed=None, clock=lambda: now[0],
        same_runs=False, lanes=2)
    assert w.estimate() == (4, 400.0)  # nothing done yet: the plan's seconds
    w.start("01")
    w.start("02")
    w.by_notebook = {"01": ["a1"], "02": ["c1"]}  # two runs done (other names: one thread each)
    now[0] = 140.0  # 200 planned seconds done in 140 wall seconds: 0.7 s per planned second
    assert w.estimate() == (2, pytest.approx(140.0))


def _half_done(root, name, epochs_done, epochs=40):
    d = root / "runs" / name
    d.mkdir(parents=True)
    (d / "config.json").write_text(json.dumps({"modalities": ["RGB"], "optim": {"epochs": epochs}}))
    (d / "state.json").write_text(json.dumps({"epochs_done": epochs_done, "digest": "0"}))
    return d


def test_a_run_left_half_done_counts_only_the_training_it_has_left(tmp_path):
    """A leg resumed after an interruption: the runs it left half-done have only the rest of
    their training (and all their scoring) to do. The resumed full run in lanes once said
    "about 45 min left" after its first run where about 115 were: that run, resumed at epoch 30
    of 40, had counted all its planned seconds as done in a quarter of their time."""
    compute = {"profile": "default", "notebooks": {"01": ["a", "b", "c"]},
               "runs": [{"run": r, "train_s": 100.0, "score_s": 20.0} for r in "abc"]}
    _half_done(tmp_path, "a", 30)
    _half_done(tmp_path, "b", 0)
    (tmp_path / "runs" / "z").mkdir()  # a folder without a state: not started
    assert watch.head_start(tmp_path) == {"a": 0.75, "b": 0.0}
    exp = Expectation.from_record({"full_run": {"notebooks": {"01": 360.0}}}, compute)
    assert exp.runs_left(["01"], 0, set(), [], True, watch.head_start(tmp_path)) == (3, 45.0 + 120.0 + 120.0)
    now = [0.0]
    w = StoreWatcher(tmp_path, ["01"], exp, speed=None, clock=lambda: now[0], same_runs=True, lanes=2)
    assert w.estimate() == (3, 285.0)
    w.start("01")
    now[0] = 45.0  # a's last 10 epochs and its scoring: 45 planned seconds in 45 wall seconds
    (tmp_path / "runs" / "a" / "done.json").write_text("{}")
    assert w.estimate() == (2, pytest.approx(240.0))  # the pace is 1.0, not 45 / 120


def test_a_finished_run_has_no_head_start(tmp_path):
    d = _half_done(tmp_path, "a", 40)
    (d / "done.json").write_text("{}")
    (_half_done(tmp_path, "b", 12) / "state.json").write_text("{not json")  # unreadable: left out
    assert watch.head_start(tmp_path) == {}
