"""mmlkit.results.run_plan: the last full run's runs, renamed for the lanes' threads exactly as a
notebook's Study builds them, trained two at a time in the order they depend on each other."""

import threading
import time
from dataclasses import asdict
from pathlib import Path

import pytest

from mmlkit.config import EvalConfig
from mmlkit.results import run_plan as rp
from mmlkit.results.experiments import PLANS, Study
from mmlkit.results.store import RunStore

STAND_IN = "pretrained/resnet_tiny_0123456789ab/backbone.pt"


@pytest.fixture
def no_training(monkeypatch):
    """Studies that build configs without training anything: a stage-1 checkpoint is where the
    store puts it, the image stand-in a fixed file in the study's store."""
    def stage1(self, modality, seed, epochs=None):
        return str(self.store.run_dir(self.single(modality, seed, init="image", epochs=epochs)) / f"model0_{modality}.pt")

    monkeypatch.setattr(Study, "image_weights", lambda self: str(Path(self.results_dir) / STAND_IN))
    monkeypatch.setattr(Study, "stage1_checkpoint", stage1)


def experiments(st: Study) -> dict:
    """Runs of every kind the notebooks train: stage 1, a cohort and a baseline from the RGB
    model, a second round from the Flow model."""
    return {"rgb": st.single("RGB", 0, "image"), "flow": st.single("Flow", 0, "image"),
            "mml": st.cohort(("RGB", "Flow"), 0, "rgb"), "alone": st.single("RGB", 0, "rgb", like=("RGB", "Flow")),
            "second": st.single("Flow", 0, "self")}


def plan_of(st: Study, cfgs: dict, seconds: dict | None = None) -> tuple[dict, dict]:
    """(run_configs.json, compute.json) as tools/run_costs.py writes them, for ``cfgs``."""
    names = {k: st.store.run_dir(c).name for k, c in cfgs.items()}
    configs = {"profile": st.profile, "runs": {names[k]: {"config": c.portable().to_dict(),
                                                          "plans": {"heldout": asdict(PLANS["heldout"])}}
                                               for k, c in cfgs.items()}}
    compute = {"seeds": list(st.seeds), "synth_seed": 0, "notebooks": {"nb": sorted(names.values())},
               "runs": [{"run": names[k], "notebook": "nb", "train_s": (seconds or {}).get(k, 10.0), "score_s": 1.0}
                        for k in cfgs]}
    return configs, compute


def test_planned_runs_are_the_runs_a_lane_study_builds(tmp_path, no_training):
    plan_study = Study(profile="default", seeds=(0,), results_dir=str(tmp_path / "made-here"))
    configs, compute = plan_of(plan_study, experiments(plan_study))
    lane_study = Study(profile="default", seeds=(0,), results_dir=str(tmp_path / "elsewhere"), threads=1)
    lane = {c.digest(): c for c in experiments(lane_study).values()}
    planned = rp.planned_runs(configs, compute, lane_study.store, 1, ["nb"])
    assert {p.config.digest() for p in planned} == set(lane)  # the very configs, in another store
    assert {p.name for p in planned} == {lane_study.store.run_dir(c).name for c in lane.values()}
    by_name = {p.name: p for p in planned}
    for p in planned:
        assert lane[p.config.digest()].tune_from == p.config.tune_from and p.config.threads == 1
        if p.after is not None:  # the run it starts from comes first, under its lane name
            assert [q.name for q in planned].index(p.after) < [q.name for q in planned].index(p.name)
            assert p.config.tune_from.startswith(str(lane_study.store.root / "runs" / p.after))
        assert p.plans == {"heldout": PLANS["heldout"]} and p.notebook == "nb"
    assert sum(p.after is None for p in planned) == 2 and len(by_name) == 5
    # threads None: the plan's own names
    same = rp.planned_runs(configs, compute, plan_study.store, None, ["nb"])
    assert {p.name for p in same} == set(configs["runs"])


def test_a_plan_that_lacks_a_run_or_what_it_starts_from_is_refused(tmp_path, no_training):
    st = Study(profile="default", seeds=(0,), results_dir=str(tmp_path))
    cfgs = experiments(st)
    configs, compute = plan_of(st, cfgs)
    rgb = st.store.run_dir(cfgs["rgb"]).name
    without = {**configs, "runs": {k: v for k, v in configs["runs"].items() if k != rgb}}
    with pytest.raises(ValueError, match="run tools/run_costs.py again"):
        rp.planned_runs(without, compute, st.store, 1, ["nb"])
    compute_without = {**compute, "notebooks": {"nb": [n for n in compute["notebooks"]["nb"] if n != rgb]}}
    with pytest.raises(ValueError, match=f"starts from {rgb}, which the plan does not hold"):
        rp.planned_runs(without, compute_without, st.store, 1, ["nb"])


class FakeLane:
    """Stands in for a lane's process: records what runs when, fails where told."""

    def __init__(self, seconds: float = 0.05, fail: tuple[str, ...] = ()):
        self.seconds, self.fail, self.lock = seconds, fail, threading.Lock()
        self.events: list[tuple[str, str]] = []
        self.busy = self.most = 0

    def __call__(self, config, results_dir, plans, by):
        name = f"{'-'.join(config['modalities'])}_s{config['seed']}_{config['optim']['epochs']}"
        with self.lock:
            self.events.append(("start", name))
            self.busy += 1
            self.most = max(self.most, self.busy)
        time.sleep(self.seconds)
        with self.lock:
            self.busy -= 1
            self.events.append(("end", name))
        if name in self.fail:
            raise RuntimeError("out of memory")
        return name


def planned(name: str, seconds: float, after: str | None = None, epochs: int = 1) -> rp.PlannedRun:
    from mmlkit.config import profile, with_overrides

    mods, seed = name.split("_s")
    cfg = with_overrides(profile("smoke"), modalities=tuple(mods.split("-")), seed=int(seed),
                         optim={"epochs": epochs})
    return rp.PlannedRun(name=f"{name}_{epochs}", config=cfg, plans={"centre": EvalConfig()},
                         after=None if after is None else after, seconds=seconds, notebook="nb")


def test_two_lanes_follow_the_order_runs_depend_on(tmp_path, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    lane = FakeLane()
    monkeypatch.setattr(rp, "_train_one", lane)
    runs = [planned("RGB_s0", 10.0), planned("RGB-Flow_s0", 50.0, after="RGB_s0_1"), planned("Flow_s0", 20.0),
            planned("RGBDiff_s0", 5.0)]
    got = rp.run_plan(runs, RunStore(tmp_path), 2, pool=ThreadPoolExecutor, say=lambda s: None)
    assert got == dict.fromkeys([r.name for r in runs], "done") and lane.most == 2
    starts = [n for e, n in lane.events if e == "start"]
    # the longest chain first (RGB, then the cohort after it: 60 s), then the longer of the rest
    assert starts[:2] == ["RGB_s0_1", "Flow_s0_1"]
    assert lane.events.index(("end", "RGB_s0_1")) < lane.events.index(("start", "RGB-Flow_s0_1"))


def test_a_failed_run_leaves_the_runs_after_it_to_the_notebooks(tmp_path, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    lane = FakeLane(fail=("RGB_s0_1",))
    monkeypatch.setattr(rp, "_train_one", lane)
    said = []
    runs = [planned("RGB_s0", 10.0), planned("RGB-Flow_s0", 50.0, after="RGB_s0_1"), planned("Flow_s0", 20.0)]
    got = rp.run_plan(runs, RunStore(tmp_path), 2, pool=ThreadPoolExecutor, say=said.append)
    assert got["RGB_s0_1"] == "failed: RuntimeError: out of memory" and got["Flow_s0_1"] == "done"
    assert got["RGB-Flow_s0_1"] == "left: RGB_s0_1 failed"
    assert ("start", "RGB-Flow_s0_1") not in lane.events
    assert said == ["[reproduce] planned run RGB_s0_1 failed (RuntimeError: out of memory); "
                    "the notebook that needs it will train it"]


@pytest.mark.slow
def test_planned_runs_trained_in_lanes_are_what_the_notebook_then_reads(tmp_path, monkeypatch):
    """Two real smoke runs (stage 1 and a cohort that starts from it) in two spawned 1-thread
    processes; a Study with one thread then reads both without training anything."""
    monkeypatch.setenv("MMLKIT_CACHE", str(tmp_path / "cache"))

    def stage1(self, modality, seed, epochs=None):
        return str(self.store.run_dir(self.single(modality, seed, init="scratch", epochs=epochs)) / f"model0_{modality}.pt")

    monkeypatch.setattr(Study, "stage1_checkpoint", stage1)
    plan_study = Study(profile="smoke", seeds=(0,), results_dir=str(tmp_path / "plan"))
    cfgs = {"rgb": plan_study.single("RGB", 0, init="scratch"), "mml": plan_study.cohort(("RGB", "Flow"), 0, "rgb")}
    configs, compute = plan_of(plan_study, cfgs)
    lane_study = Study(profile="smoke", seeds=(0,), results_dir=str(tmp_path / "lanes"), threads=1)
    runs = rp.planned_runs(configs, compute, lane_study.store, 1, ["nb"])
    assert rp.run_plan(runs, lane_study.store, 2) == dict.fromkeys([r.name for r in runs], "done")
    import mmlkit.training

    monkeypatch.setattr(mmlkit.training, "train", lambda *a, **k: pytest.fail("the notebook trained a planned run"))
    mml = lane_study.run(lane_study.cohort(("RGB", "Flow"), 0, "rgb"), plans=("heldout",))
    assert mml.done and mml.dir.name in {r.name for r in runs} and len(mml.scores("heldout")) == 2


def test_run_all_lanes_train_the_plan_first_where_it_holds_these_runs(tmp_path, monkeypatch, no_training, capsys):
    from mmlkit.results import reproduce

    st = Study(profile="default", seeds=(0,), results_dir=str(tmp_path / "plan"))
    configs, compute = plan_of(st, experiments(st))
    store = tmp_path / "store"
    monkeypatch.setattr("mmlkit.results.store.load_or_pretrain", lambda cfg, s: {"path": str(store / STAND_IN)})
    asked = []
    monkeypatch.setattr(rp, "run_plan", lambda runs, s, lanes: asked.append(([r.name for r in runs], lanes)) or {})
    params = {"seeds": [0], "synth_seed": 0, "dataset": "synthetic", "threads": 1}

    def train(params, configs):
        plan = reproduce.lanes_plan("default", params, ["nb"], store, compute, configs)
        return reproduce.train_planned_runs("default", params, plan, store, 2)

    assert train(params, configs) == {}
    assert len(asked) == 1 and len(asked[0][0]) == 5 and asked[0][1] == 2
    assert "scheduler of runs: 5 of the 5 runs these notebooks used last time to train, 2 at a time" in \
        capsys.readouterr().out
    # other seeds: not the plan's runs; the notebooks share the lanes as before
    assert train({**params, "seeds": [0, 1]}, configs) is None
    assert "no planned runs for these parameters" in capsys.readouterr().out
    # a stand-in other than this code's: no plan either
    monkeypatch.setattr("mmlkit.results.store.load_or_pretrain", lambda cfg, s: {"path": str(store / "other.pt")})
    assert train(params, configs) is None
    assert "another image stand-in" in capsys.readouterr().out
    # run_configs.json from another full run than compute.json: said, and no plan
    assert train(params, {**configs, "runs": {}}) is None
    assert "the plan cannot be used (run_configs.json lacks 5 planned runs" in capsys.readouterr().out
    assert len(asked) == 1


def test_the_plan_renamed_for_the_lanes_counts_each_run_at_its_own_seconds(tmp_path, no_training):
    """The progress lines of runs in lanes: the plan under the lanes' names, so that the longest
    runs, which the scheduler takes first, count at their own seconds and not at the mean."""
    from mmlkit.results.watch import Expectation, StoreWatcher

    plan_study = Study(profile="default", seeds=(0,), results_dir=str(tmp_path / "made-here"))
    cfgs = experiments(plan_study)
    configs, compute = plan_of(plan_study, cfgs, seconds={"mml": 500.0})
    for row in compute["runs"]:
        row["after"] = rp.starts_from(configs["runs"][row["run"]]["config"])
    lane_store = RunStore(tmp_path / "lanes")
    planned = rp.planned_runs(configs, compute, lane_store, 1, ["nb"])
    renamed = rp.renamed_plan(compute, planned)
    lane_names = {p.name for p in planned}
    assert set(renamed["notebooks"]["nb"]) == lane_names and {r["run"] for r in renamed["runs"]} == lane_names
    assert {r["after"] for r in renamed["runs"]} - {None} <= lane_names
    assert compute["notebooks"]["nb"] == sorted(configs["runs"])  # the plan itself is left as it was

    now = [0.0]
    w = StoreWatcher(lane_store.root, ["nb"], Expectation.from_record(
        {"full_run": {"notebooks": {"nb": 600.0}}}, renamed), speed=None, clock=lambda: now[0],
        same_runs=True, lanes=2)
    w.start("nb")
    assert w.estimate() == (5, pytest.approx(501.0 + 4 * 11.0))  # the cohort's 500 + 1, four runs of 10 + 1
    mml = next(p.name for p in planned if p.config.modalities == ("RGB", "Flow"))
    (lane_store.root / "runs" / mml).mkdir(parents=True)
    (lane_store.root / "runs" / mml / "done.json").write_text("{}")
    w.by_notebook = {"nb": [mml]}
    now[0] = 400.0  # the cohort's 501 planned seconds done in 400 wall seconds
    to_do, left = w.estimate()
    assert to_do == 4 and left == pytest.approx(44.0 * 400.0 / 501.0)  # not 4 x the mean of 5 runs
