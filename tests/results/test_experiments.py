"""Study (experiment configs shared by the notebooks) and the comparison rows of the analyses."""

from __future__ import annotations

import numpy as np
import pytest

from mmlkit.config import ConfigError, finetune_epochs, profile, stage1_epochs
from mmlkit.evaluation import Scores
from mmlkit.results.analysis import compare
from mmlkit.results.experiments import PLANS, Study


@pytest.fixture
def study(tmp_path, monkeypatch):
    st = Study(profile="default", seeds=(0, 1), results_dir=str(tmp_path))
    monkeypatch.setattr(Study, "image_weights", lambda self: "/weights/image.pt")
    monkeypatch.setattr(Study, "stage1_checkpoint",
                        lambda self, m, seed, epochs=None: f"/runs/{m}{seed}" + (f"-e{epochs}" if epochs else "") + ".pt")
    return st


def test_stage_two_starts_from_the_rgb_model_of_the_same_seed(study):
    cfg = study.cohort(("RGB", "Flow"), seed=1)
    assert cfg.tune_from == "/runs/RGB1.pt" and cfg.model.pretrained is None
    # the paper's setting: stage 2 trains the full schedule, here the longest of the members' (Flow's)
    assert cfg.optim.epochs == finetune_epochs("default", ("RGB", "Flow")) == stage1_epochs("default", "Flow")
    assert cfg.optim.lr_steps == tuple(2 * e for e in profile("default").optim.lr_steps)
    assert cfg.modalities == ("RGB", "Flow") and cfg.seed == 1
    assert study.cohort(("RGB", "RGBDiff"), seed=1).optim == profile("default").optim


def test_baselines_train_as_long_as_the_cohort_they_are_compared_with(study):
    mml = study.cohort(("RGB", "Flow"), seed=0)
    alone = study.single("RGB", seed=0, init="rgb", like=("RGB", "Flow"))
    ml = study.cohort(("RGB", "RGB"), seed=0, like=("RGB", "Flow"))
    assert alone.optim == ml.optim == mml.optim and alone.tune_from == mml.tune_from
    assert study.single("RGB", seed=0, init="rgb").optim == profile("default").optim  # without like: its own
    assert study.single("RGB", seed=0, init="rgb", like=("RGB", "Flow"), epochs=7).optim.epochs == 7  # epochs wins


def test_second_round_and_short_regime(study):
    again = study.single("Flow", seed=2, init="self")  # a second round repeats the stage-1 schedule
    assert again.tune_from == "/runs/Flow2.pt" and again.optim == study.single("Flow", seed=2, init="image").optim
    assert study.single("RGB", seed=2, init="self").optim == profile("default").optim
    short = study.cohort(("RGB", "RGBDiff"), seed=0, init="rgb", epochs=7)
    assert short.tune_from == "/runs/RGB0-e7.pt" and short.optim.epochs == 7
    full = profile("default").optim
    assert short.optim.lr_steps == tuple(round(e * 7 / full.epochs) for e in full.lr_steps)
    stage1 = study.single("RGB", seed=0, init="image", epochs=7)
    assert stage1.optim.epochs == 7 and stage1.model.pretrained == "/weights/image.pt"


def test_threads_and_synth_seed_are_part_of_the_config(tmp_path):
    a = Study(profile="default", results_dir=str(tmp_path)).base()
    b = Study(profile="default", results_dir=str(tmp_path), synth_seed=5).base()
    assert a.threads == 2 and a.data.synth_seed == 0 and b.data.synth_seed == 5
    assert a.digest() != b.digest()
    assert a.digest() != a.__class__.from_dict({**a.to_dict(), "threads": 1}).digest()
    lane = Study(profile="default", results_dir=str(tmp_path), threads=1)  # ./run_all.sh --lanes 2
    assert lane.base().threads == 1 and lane.single("RGB", 0, init="scratch").threads == 1
    assert "threads=1" in repr(lane)
    for bad in (0, 1.5, True, "2"):
        with pytest.raises(ConfigError, match="threads"):
            Study(profile="default", results_dir=str(tmp_path), threads=bad)


def test_image_init_uses_the_image_weights_and_the_modality_stage1_schedule(study):
    full = profile("default").optim
    cfg = study.single("Flow", seed=0, init="image")
    assert cfg.model.pretrained == "/weights/image.pt" and cfg.tune_from is None
    assert cfg.optim.epochs == stage1_epochs("default", "Flow") == 80 != full.epochs
    assert cfg.optim.lr_steps == tuple(2 * e for e in full.lr_steps)  # the steps stretch with the schedule
    assert study.single("RGB", seed=0, init="image").optim == full
    short = study.single("Flow", seed=0, init="image", schedule="finetune")
    assert short.optim == cfg.optim and short.optim.epochs == finetune_epochs("default", ("Flow",)) == 80
    # a cohort from image pretraining keeps the profile's schedule; Flow from the RGB model trains Flow's
    assert study.cohort(("RGB", "Flow"), seed=0, init="image").optim == full
    assert study.single("Flow", seed=0, init="rgb").optim == cfg.optim


def test_same_experiment_same_config_so_notebooks_share_runs(study):
    a = study.cohort(("RGB", "RGB"), 0)
    b = Study(profile="default", seeds=(0, 1), results_dir=study.results_dir).cohort(("RGB", "RGB"), 0)
    assert a.digest() == b.digest()
    assert study.cohort(("RGB", "Flow"), 0, mode="per_peer").digest() != study.cohort(("RGB", "Flow"), 0).digest()


def test_dataset_path_and_errors(study, tmp_path):
    st = Study(profile="smoke", dataset=str(tmp_path), results_dir=str(tmp_path / "r"))
    assert st.base().data.root == str(tmp_path)
    with pytest.raises(ValueError, match="init"):
        study.cohort(("RGB",), 0, init="imagenet")
    with pytest.raises(ValueError, match="schedule"):
        study.cohort(("RGB",), 0, schedule="long")
    assert {"centre", "both", "twice", "train"} <= set(PLANS) and PLANS["train"].split == "train"


def _scores(correct: np.ndarray, seed: int) -> Scores:
    """Scores whose top-1 is right exactly where ``correct`` is True (4 classes)."""
    n = len(correct)
    labels = np.arange(n) % 4
    s = np.zeros((n, 4), np.float32)
    pred = np.where(correct, labels, (labels + 1) % 4)
    s[np.arange(n), pred] = 1.0
    return Scores(ids=[f"v{i}" for i in range(n)], labels=labels.astype(np.int64), scores=s, name=f"s{seed}")


def test_compare_holds_only_when_the_gain_is_beyond_seed_noise():
    rng = np.random.default_rng(0)
    seeds = [0, 1, 2]
    base = [rng.random(200) < 0.4 for _ in seeds]
    better = [b | (rng.random(200) < 0.3) for b in base]          # strictly more correct in every seed
    row = compare("C3", "x", "A", [_scores(c, s) for c, s in zip(better, seeds)],
                  "B", [_scores(c, s) for c, s in zip(base, seeds)], seeds)
    assert row["verdict"] == "holds" and row["diff"] > 0 and row["low"] > 0
    assert row["seeds"] == 3 and row["videos"] == 200 and float(row["detectable (80% power)"]) > 0
    same = compare("C3", "x", "A", [_scores(c, s) for c, s in zip(base, seeds)],
                   "B", [_scores(c, s) for c, s in zip(base, seeds)], seeds)
    assert same["verdict"] != "holds" and same["diff"] == 0
    worse = compare("C3", "x", "B", [_scores(c, s) for c, s in zip(base, seeds)],
                    "A", [_scores(c, s) for c, s in zip(better, seeds)], seeds)
    assert worse["verdict"] == "opposite holds"


def test_compare_reports_the_seeds_by_videos_interval():
    """Seeds that disagree widen the interval: it is read over seeds and videos."""
    n, seeds = 500, [0, 1, 2]
    rng = np.random.default_rng(1)
    base = [rng.random(n) < 0.5 for _ in seeds]
    a = []
    for b, gain in zip(base, (50, -20, 30)):          # +10, -4, +6 points, no other disagreement
        c = b.copy()
        c[np.flatnonzero(~b if gain > 0 else b)[:abs(gain)]] = gain > 0
        a.append(c)
    row = compare("C1", "x", "A", [_scores(c, s) for c, s in zip(a, seeds)],
                  "B", [_scores(c, s) for c, s in zip(base, seeds)], seeds)
    assert row["per seed"] == "+10.0, -4.0, +6.0"
    lo, hi = (float(x) for x in row["95% CI (seeds × videos)"].strip("[]").split(","))
    assert lo < -4 and hi > 10 and row["verdict"] == "inconclusive"
    shifted = [_scores(c, s) for c, s in zip(base, seeds)]
    shifted[1].ids[0] = "other"
    with pytest.raises(ValueError, match="seed 1 is scored on other videos"):
        compare("C1", "x", "A", [_scores(c, s) for c, s in zip(a, seeds)], "B", shifted, seeds)


def test_decide_runs_the_seeds_the_rule_asks_for(tmp_path, monkeypatch, capsys):
    """A first stage of 3 noisy seeds asks for more; decide trains (here: draws) them and compares on all,
    and says so on one line before it trains them."""
    from mmlkit.results.analysis import decide

    monkeypatch.setenv("MMLKIT_PROGRESS", "lines")

    n = 400
    asked = []

    def side(gain):
        def of(seeds):
            asked.append(tuple(seeds))
            out = []
            for s in seeds:
                rng = np.random.default_rng(1000 + s)                      # the same base for both sides
                base = rng.random(n) < 0.6
                noise = np.random.default_rng(s * 7 + gain).random(n) < 0.12  # seed x video disagreement
                out.append(_scores(base ^ noise if gain else base, s))
            return out
        return of

    st = Study(profile="default", seeds=(0, 1, 2), results_dir=str(tmp_path), seed_cap=12)
    row, rule, var = decide(st, "C3", "x", "A", side(1), "B", side(0))
    assert rule["first-stage seeds"] == 3 and rule["seeds run"] == row["seeds"] > 3
    assert tuple(range(row["seeds"])) in asked and row["seeds"] <= 12
    assert rule["seeds needed"] == row["seeds"] or rule["seeds needed"] == "none <= cap"
    assert var["seeds"] == row["seeds"] and var["videos"] == n and var["evaluation sd"] > 0
    said = capsys.readouterr().out
    assert f"[mmlkit] C3: the seed rule asks for {row['seeds']} seeds (first stage 3) for 'x'; seeds 3-" in said
    off = Study(profile="default", seeds=(0, 1, 2), results_dir=str(tmp_path), seed_rule=False)
    row_off, rule_off, _ = decide(off, "C3", "x", "A", side(1), "B", side(0))
    assert row_off["seeds"] == 3 and "off" in rule_off["outcome"]
    assert "seed rule asks" not in capsys.readouterr().out    # nothing to announce at the first stage
    _, rule_nv, no_var = decide(st, "C2", "x", "A", side(1), "B", side(0), variance=False)  # C2: no bootstrap
    assert no_var is None and rule_nv["seeds run"] == rule["seeds run"]
    assert st.seeds_upto(5) == (0, 1, 2, 3, 4) and Study(profile="default", seeds=(4, 9)).seeds_upto(3) == (4, 9, 10)


def test_a_relative_results_dir_is_read_from_the_repository_root_and_shown_relative(tmp_path):
    from mmlkit.results.experiments import REPO, shown_path
    from mmlkit.results.store import default_results_dir

    s = Study(profile="smoke", results_dir="results/elsewhere")
    assert s.results_dir == str(REPO / "results" / "elsewhere")  # not the notebook's cwd
    assert "results_dir='results/elsewhere'" in repr(s) and str(REPO) not in repr(s)
    default = Study(profile="smoke")
    assert default.results_dir == str(default_results_dir("smoke"))
    assert repr(default) == ("Study(profile='smoke', seeds=(0,), dataset='synthetic', data_root=None, device='cpu', "
                             f"workers=0, results_dir='results/smoke', synth_seed=0, seed_rule=True, "
                             f"seed_cap={default.seed_cap}, threads=None, notebook=None)")
    outside = Study(profile="smoke", results_dir=str(tmp_path))
    assert outside.results_dir == str(tmp_path) and f"results_dir={str(tmp_path)!r}" in repr(outside)
    assert shown_path(REPO / "papers_results" / "draw-1") == "papers_results/draw-1" and shown_path(REPO) == "."


def test_a_store_linked_elsewhere_is_still_shown_relative(tmp_path, monkeypatch):
    """results/ as a symlink to another disk: the page shows results/default, not the link's target."""
    from mmlkit.results import experiments

    repo, disk = tmp_path / "repo", tmp_path / "disk"
    (disk / "default").mkdir(parents=True)
    repo.mkdir()
    (repo / "results").symlink_to(disk)
    monkeypatch.setattr(experiments, "REPO", repo.resolve())
    assert experiments.shown_path(repo.resolve() / "results" / "default") == "results/default"
    assert experiments.shown_path(disk / "default") == str(disk / "default")  # outside: unchanged


def test_analysis_save_reads_a_relative_output_dir_from_the_repository_root(tmp_path, monkeypatch):
    import pandas as pd

    from mmlkit.results import analysis

    root, cwd = tmp_path / "repo", tmp_path / "notebooks"  # a notebook runs in notebooks/
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.setattr(analysis, "repo_path", lambda p: root / p)
    analysis.Analysis("x", tables={"t": pd.DataFrame({"a": [1.0]})}).save("papers_results")
    assert (root / "papers_results" / "tables" / "x_t.csv").exists() and not (cwd / "papers_results").exists()
    from mmlkit.results.experiments import REPO, repo_path

    assert repo_path("papers_results") == REPO / "papers_results" and repo_path(tmp_path) == tmp_path


def test_config_differences_show_a_configs_numbers_as_they_are(study):
    from mmlkit.config import with_overrides
    from mmlkit.results.experiments import config_differences
    from mmlkit.results.tables import for_readers

    base = study.base()
    lr = base.optim.lr
    table = config_differences({"a": base, "b": with_overrides(base, optim={"lr": lr / 10})})
    page = for_readers(table).set_index("field")
    assert page.loc["optim.lr"].tolist() == [format(lr, "g"), format(lr / 10, "g")]  # not rounded to 0.0


def test_seeds_come_as_papermill_passes_them():
    """``papermill -p seeds '[9]'`` hands the notebook the text "[9]", not a list."""
    from mmlkit.config import ConfigError
    from mmlkit.results.experiments import parse_seeds

    assert Study(profile="smoke", seeds="[9]").seeds == (9,)
    assert parse_seeds("0, 1,2") == (0, 1, 2) and parse_seeds((4,)) == (4,) and parse_seeds(7) == (7,)
    for bad in ("[a]", "", [], "-1", [1.5]):
        with pytest.raises(ConfigError, match="seeds="):
            parse_seeds(bad)
