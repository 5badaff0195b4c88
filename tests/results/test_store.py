import json
import shutil
import time

import numpy as np
import pytest

from mmlkit.config import EvalConfig, portable_path, profile, with_overrides
from mmlkit.evaluation import Scores
from mmlkit.results.migrate import legacy_run_hash
from mmlkit.results.store import STORE_VERSION, RunStore, StoreError, load_or_run, run_hash


class FakeTrain:
    """Writes what training leaves in a run folder; can fail once to test resuming."""

    def __init__(self, fail_first=False):
        self.calls, self.fail_first = [], fail_first

    def __call__(self, cfg, out_dir, *, resume=False, progress=True):
        self.calls.append(resume)
        (out_dir / "state.json").write_text(json.dumps({"epochs_done": 1}))
        if self.fail_first and len(self.calls) == 1:
            time.sleep(0.3)  # the work an interruption must not lose from the run's train_s
            raise KeyboardInterrupt  # interrupted half-way
        ms = []
        for i, m in enumerate(cfg.modalities):
            (out_dir / f"model{i}_{m}.pt").write_bytes(b"x")
            (out_dir / f"log_model{i}_{m}.csv").write_text("epoch,ce,kl,val_top1\n1,2.0,0.1,30\n2,1.5,0.2,40\n")
            ms.append({"index": i, "modality": m, "final_top1": 40.0 + i, "best_top1": 41.0})
        (out_dir / "done.json").write_text(json.dumps({"models": ms}))


class FakeScorer:
    def __init__(self):
        self.calls = []

    def __call__(self, cfg, checkpoint, index, eval_cfg, progress):
        self.calls.append((checkpoint.name, eval_cfg.test_crops))
        rng = np.random.default_rng(index)
        return Scores(ids=["a", "b", "c"], labels=np.array([0, 1, 2]),
                      scores=rng.standard_normal((3, 4)).astype(np.float32), name=checkpoint.stem)


@pytest.fixture
def cfg():
    return with_overrides(profile("smoke"), modalities=("RGB", "Flow"), seed=3)


def test_train_once_score_once(tmp_path, cfg):
    store, tr, sc = RunStore(tmp_path), FakeTrain(), FakeScorer()
    plans = {"centre": EvalConfig()}
    run = load_or_run(cfg, store, eval_plans=plans, progress=False, train_fn=tr, scorer=sc)
    assert tr.calls == [True] and len(sc.calls) == 2
    assert run.dir.name == f"RGB-Flow_s3_{run_hash(cfg)}" and run.dir.parent == tmp_path / "runs"
    assert [p.name for p in run.checkpoints] == ["model0_RGB.pt", "model1_Flow.pt"]
    assert (run.dir / "scores" / "centre" / "model1_Flow.npz").exists()
    s = run.scores("centre")
    assert len(s) == 2 and s[0].ids == ["a", "b", "c"] and s[1].scores.shape == (3, 4)
    info = run.info
    assert info["store_version"] == STORE_VERSION and "train_s" in info["timings"]
    assert "centre" in info["timings"]["score_s"] and info["env"]["torch"]
    assert run.metrics["models"][1]["final_top1"] == 41.0
    logs = run.logs()
    assert list(logs["model"].unique()) == ["model0_RGB", "model1_Flow"] and len(logs) == 4
    # again: nothing trained or scored; a new plan scores only that plan
    again = load_or_run(cfg, store, eval_plans=plans, progress=False, train_fn=tr, scorer=sc)
    assert again.dir == run.dir and tr.calls == [True] and len(sc.calls) == 2
    load_or_run(cfg, store, eval_plans={**plans, "c3": EvalConfig(test_crops=3)}, progress=False,
                train_fn=tr, scorer=sc)
    assert len(sc.calls) == 4 and sc.calls[-1][1] == 3 and run.plans() == ["c3", "centre"]
    # the same name with other views is rescored
    load_or_run(cfg, store, eval_plans={"c3": EvalConfig(test_crops=5)}, progress=False, train_fn=tr, scorer=sc)
    assert len(sc.calls) == 6 and sc.calls[-1][1] == 5
    with pytest.raises(StoreError, match="stored plans"):
        run.scores("nope")


def test_a_run_names_the_notebook_that_trained_it(tmp_path, cfg):
    """``run.json``'s ``trained_by`` is written before training (a watcher of notebooks running
    side by side reads it when ``done.json`` appears), and only by the call that trains."""
    store, seen = RunStore(tmp_path), []

    def train_fn(c, out, **kw):
        seen.append(json.loads((out / "run.json").read_text()).get("trained_by"))
        FakeTrain()(c, out, **kw)

    run = load_or_run(cfg, store, progress=False, train_fn=train_fn, scorer=FakeScorer(), by="03_ml_vs_mml")
    assert seen == ["03_ml_vs_mml"] and run.info["trained_by"] == "03_ml_vs_mml"
    load_or_run(cfg, store, progress=False, train_fn=train_fn, scorer=FakeScorer(), by="mml_rgb_flow")
    assert run.info["trained_by"] == "03_ml_vs_mml"  # read, not trained, by the second asker


def test_resume_after_interruption(tmp_path, cfg):
    store, tr = RunStore(tmp_path), FakeTrain(fail_first=True)
    with pytest.raises(KeyboardInterrupt):
        load_or_run(cfg, store, progress=False, train_fn=tr, scorer=FakeScorer())
    assert not store.get(cfg).done and (store.get(cfg).dir / "config.json").exists()
    assert store.get(cfg).info["timings"]["train_s"] >= 0.3
    run = load_or_run(cfg, store, progress=False, train_fn=tr, scorer=FakeScorer())
    assert tr.calls == [True, True] and run.done
    assert run.info["timings"]["train_s"] >= 0.3  # both parts: the interrupted one is not lost


def test_configs_address_runs_and_listing(tmp_path, cfg):
    store, tr = RunStore(tmp_path), FakeTrain()
    rgb = with_overrides(cfg, modalities=("RGB",))
    r1 = load_or_run(rgb, store, progress=False, train_fn=tr, scorer=FakeScorer())
    mml = with_overrides(cfg, tune_from=str(r1.checkpoints[0]))
    r2 = load_or_run(mml, store, progress=False, train_fn=tr, scorer=FakeScorer())
    assert r1.dir != r2.dir and run_hash(mml) != run_hash(cfg)
    assert store.get(with_overrides(cfg, modalities=("RGB",))).dir == r1.dir
    df = store.runs()
    assert len(df) == 2 and set(df["modalities"]) == {"RGB", "RGB,Flow"}
    assert df["done"].all() and df.set_index("modalities").loc["RGB,Flow", "tune_from"] == str(r1.checkpoints[0])
    assert "model1_Flow_final_top1" in df


def test_foreign_folder_and_missing_checkpoint(tmp_path, cfg):
    store = RunStore(tmp_path)
    d = store.run_dir(cfg)
    d.mkdir(parents=True)
    (d / "config.json").write_text(json.dumps(with_overrides(cfg, seed=99).to_dict()))
    with pytest.raises(StoreError, match="another config"):
        load_or_run(cfg, store, progress=False, train_fn=FakeTrain(), scorer=FakeScorer())
    other = with_overrides(cfg, seed=5)
    with pytest.raises(StoreError, match="without writing"):
        load_or_run(other, store, progress=False,
                    train_fn=lambda c, o, **k: (o / "done.json").write_text("{}"), scorer=FakeScorer())


@pytest.mark.slow
def test_real_training_and_scoring(tmp_path):
    """One smoke RGB run through mmlkit.training.train and the default scorer (file names agree)."""
    cfg = profile("smoke")
    store = RunStore(tmp_path)
    run = load_or_run(cfg, store, eval_plans={"centre": EvalConfig()}, progress=False)
    assert run.done and run.checkpoints[0].exists()
    (s,) = run.scores("centre")
    assert s.scores.shape[0] == len(s.ids) > 0 and s.meta["plan"] == "t4_1crop_1clip-uniform"
    assert set(run.logs().columns) >= {"model", "epoch", "ce"}
    # the stored scores agree with training's own validation (same checkpoint, same centre view)
    final = run.metrics["models"][0]["final_top1"]
    assert s.metrics()["top1"] == pytest.approx(final, abs=1e-6)


def _chain(root, cfg):
    """A stage-1 run from the stand-in under ``root`` and a stage-2 run from its checkpoint."""
    store = RunStore(root)
    stand_in = root / "pretrained" / "resnet_tiny_e4fb93b4ce39" / "backbone.pt"
    s1 = with_overrides(cfg, modalities=("RGB",), model={"pretrained": str(stand_in)})
    s2 = with_overrides(cfg, tune_from=str(store.run_dir(s1) / "model0_RGB.pt"))
    return store, s1, s2


def test_a_moved_store_keeps_its_addresses(tmp_path, cfg):
    """Checkpoint paths inside a store enter the hash from the store's folder on, so a store copied
    elsewhere finds every run, stage 2 included, instead of retraining."""
    a, s1a, s2a = _chain(tmp_path / "a" / "results", cfg)
    b, s1b, s2b = _chain(tmp_path / "elsewhere" / "b", cfg)
    assert s1a != s1b and s2a != s2b                      # the configs name different files...
    assert run_hash(s1a) == run_hash(s1b) and run_hash(s2a) == run_hash(s2b)  # ...the same contents
    for c in (s1a, s2a):
        load_or_run(c, a, progress=False, train_fn=FakeTrain())
    shutil.copytree(a.root, b.root)                       # the store moves with its clone
    again = FakeTrain()
    for c in (s1b, s2b):
        assert load_or_run(c, b, progress=False, train_fn=again).done
    assert again.calls == []                              # found, not retrained
    # a path that is not a store's run or stand-in folder stays part of the hash as it is
    other = with_overrides(cfg, tune_from="/x/runs/rgb/model0_RGB.pt")
    assert run_hash(other) != run_hash(with_overrides(cfg, tune_from="/y/runs/rgb/model0_RGB.pt"))
    assert portable_path("/x/runs/rgb/model0_RGB.pt") == "/x/runs/rgb/model0_RGB.pt"


def test_a_store_made_under_the_legacy_hash_is_still_found(tmp_path, cfg):
    def legacy_dir(c):  # what an older mmlkit wrote: folders named by the digest with absolute paths
        (tmp_path / "runs" / f"{'-'.join(c.modalities)}_s{c.seed}_{legacy_run_hash(c)}").mkdir(parents=True)

    store, s1, _ = _chain(tmp_path, cfg)
    legacy_dir(s1)
    _, s1, s2 = _chain(tmp_path, cfg)  # stage 2 starts from the legacy stage-1 folder, as it did then
    legacy_dir(s2)
    assert store.run_dir(s1).name.endswith(legacy_run_hash(s1)) and store.run_dir(s1).exists()
    assert store.run_dir(s2).name.endswith(legacy_run_hash(s2)) and store.run_dir(s2).exists()
    fresh = with_overrides(s1, seed=9)  # nothing stored: the portable address
    assert store.run_dir(fresh).name.endswith(run_hash(fresh))


def test_migrate_moves_a_legacy_store_to_portable_addresses(tmp_path, cfg):
    """A store made under the legacy hash, moved: migrate() renames its runs (stage 2 after the
    stage-1 run it starts from) so that the moved store finds them."""
    old_root = tmp_path / "old"
    legacy = {}
    for stage in (1, 2):
        _, s1, s2 = _chain(old_root, cfg)
        c = s1 if stage == 1 else s2
        d = old_root / "runs" / f"{'-'.join(c.modalities)}_s{c.seed}_{legacy_run_hash(c)}"
        d.mkdir(parents=True)
        FakeTrain()(c, d)
        (d / "config.json").write_text(json.dumps(c.to_dict()))
        (d / "run.json").write_text(json.dumps({"hash": legacy_run_hash(c), "timings": {"train_s": 1.0}}))
        legacy[stage] = d.name
    new_root = tmp_path / "moved"
    shutil.copytree(old_root, new_root)
    moved, t1, t2 = _chain(new_root, cfg)
    assert not moved.get(t1).done                               # legacy names: not found once moved
    pairs = moved.migrate()
    assert {old for old, _ in pairs} == set(legacy.values())
    _, t1, t2 = _chain(new_root, cfg)
    again = FakeTrain()
    for c in (t1, t2):
        run = load_or_run(c, moved, progress=False, train_fn=again)
        assert run.done and run.info["hash"] == run_hash(c) and run.dir.name.endswith(run_hash(c))
    assert again.calls == [] and moved.migrate() == []          # found, not retrained; idempotent



def test_a_runs_training_time_leaves_out_making_the_data(tmp_path, cfg, monkeypatch):
    """The first run on a fresh machine generated the benchmark and its flow inside its timed
    training (a fresh clone's first RGB run recorded 305 s, 72 of them training)."""
    import mmlkit.data
    import mmlkit.training

    made = []

    def slow_resolve_root(data_cfg):  # the benchmark made on first use
        time.sleep(0.6)
        made.append(data_cfg.dataset)
        return tmp_path

    monkeypatch.setattr(mmlkit.data, "resolve_root", slow_resolve_root)
    monkeypatch.setattr(mmlkit.training, "train", FakeTrain())
    run = load_or_run(cfg, RunStore(tmp_path / "store"), progress=False, scorer=FakeScorer())
    assert made == [cfg.data.dataset]
    assert json.loads((run.dir / "run.json").read_text())["timings"]["train_s"] < 0.5


def test_a_finished_scored_run_is_read_without_its_lock(tmp_path, cfg, lock_holder):
    """Another process holds the run's lock (scoring another plan, say): a reader of plans already
    scored gets the run at once, and one that needs a plan not yet recorded waits for the lock."""
    import threading

    store, sc = RunStore(tmp_path), FakeScorer()
    plans = {"centre": EvalConfig()}
    run = load_or_run(cfg, store, eval_plans=plans, progress=False, train_fn=FakeTrain(), scorer=sc)
    holder = lock_holder(run.dir, what="trained and scored", by="05_test_sampling")
    t0 = time.monotonic()
    again = load_or_run(cfg, store, eval_plans=plans, progress=False, train_fn=FakeTrain(), scorer=sc)
    assert time.monotonic() - t0 < 1.0 and again.dir == run.dir and len(sc.calls) == 2
    waiting = threading.Thread(target=load_or_run, args=(cfg, store), daemon=True,
                               kwargs=dict(eval_plans={"centre_3crops": EvalConfig(test_crops=3)}, progress=False,
                                           train_fn=FakeTrain(), scorer=sc))
    waiting.start()
    waiting.join(1.5)
    assert waiting.is_alive() and len(sc.calls) == 2  # a plan to score: it waits for the lock
    holder.kill()
    holder.wait()
    waiting.join(30)
    assert not waiting.is_alive() and len(sc.calls) == 4  # then takes it and scores both models
    # a plan whose scores are on disk but not yet in run.json (a scorer between the two) is not complete
    info = json.loads((run.dir / "run.json").read_text())
    del info["plans"]["centre"]
    (run.dir / "run.json").write_text(json.dumps(info))
    from mmlkit.results.store import nothing_to_do

    assert not nothing_to_do(store.get(cfg), cfg, plans) and nothing_to_do(store.get(cfg), cfg, {})
