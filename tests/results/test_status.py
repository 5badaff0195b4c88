"""mmlkit.results.status and `python -m mmlkit runs`: a store's runs by state, from hand-made run folders."""

import json
from pathlib import Path

import pytest

from mmlkit.cli import main
from mmlkit.results.status import run_status, status_text


def make_run(store: Path, name: str, epochs_logged: int, of: int = 4, done: bool = False) -> Path:
    d = store / "runs" / name
    d.mkdir(parents=True)
    mods = name.split("_")[0].split("-")
    (d / "config.json").write_text(json.dumps({"modalities": mods, "seed": int(name.split("_s")[1][0]),
                                               "optim": {"epochs": of}}))
    if epochs_logged:
        rows = "".join(f"{e + 1},30.0,{50.0 + e if (e + 1) % 2 == 0 else ''}\n" for e in range(epochs_logged))
        (d / f"log_model0_{mods[0]}.csv").write_text("epoch,seconds,val_top1\n" + rows)
    if done:
        (d / "done.json").write_text("{}")
    return d


@pytest.fixture
def store(tmp_path):
    root = tmp_path / "store"
    make_run(root, "RGB_s0_aaaaaaaaaaaa", 4, done=True)
    make_run(root, "Flow_s1_bbbbbbbbbbbb", 3)                    # interrupted after epoch 3
    make_run(root, "RGB-Flow_s2_cccccccccccc", 0)                # config only
    (root / "runs" / "not-a-run").mkdir()                          # no config.json: not listed
    stand_in = root / "pretrained" / "resnet_tiny_dddddddddddd"
    stand_in.mkdir(parents=True)
    (stand_in / "pretrain.json").write_text(json.dumps({"seconds": 12.0, "heldout_top1": 66.5,
                                                        "key": {"config": {"epochs": 6}}}))
    return root


def test_states_from_the_folders(store):
    df = run_status(store).set_index("run")
    assert df["state"].to_dict() == {"Flow_s1_bbbbbbbbbbbb": "interrupted", "RGB_s0_aaaaaaaaaaaa": "done",
                                     "RGB-Flow_s2_cccccccccccc": "not started",
                                     "pretrained/resnet_tiny_dddddddddddd": "done"}
    assert list(run_status(store)["state"]) == ["interrupted", "done", "done", "not started"]  # STATES' order
    assert df.loc["pretrained/resnet_tiny_dddddddddddd", ["modalities", "epochs", "minutes", "val_top1"]].tolist() == [
        "image stand-in", 6, pytest.approx(0.2), 66.5]
    assert (df.loc["Flow_s1_bbbbbbbbbbbb", ["epochs", "of", "minutes", "val_top1"]].tolist()
            == [3, 4, pytest.approx(1.5), 51.0])               # 3 x 30 s; the last validation at epoch 2
    text = status_text(run_status(store), "store")
    assert text.splitlines()[0].startswith("store: 1 interrupted, 2 done, 1 not started (3 runs and 1 image stand-in;")
    assert "interrupted  Flow_s1_bbbbbbbbbbbb (Flow, epoch 3/4, 1.5 min logged): resumes" in text


def test_a_run_held_by_a_live_process_is_being_trained_or_scored(store, lock_holder):
    run = store / "runs" / "Flow_s1_bbbbbbbbbbbb"
    holder = lock_holder(run, what="trained and scored", by="03_ml_vs_mml")
    df = run_status(store).set_index("run")
    assert df.loc["Flow_s1_bbbbbbbbbbbb", "state"] == "training"
    assert df.loc["Flow_s1_bbbbbbbbbbbb", "holder"].startswith(f"03_ml_vs_mml (pid {holder.pid} on this machine")
    (run / "done.json").write_text("{}")
    assert run_status(store).set_index("run").loc["Flow_s1_bbbbbbbbbbbb", "state"] == "scoring"
    assert run_status(store)["run"].iloc[0] == "Flow_s1_bbbbbbbbbbbb"  # what is running comes first
    holder.kill()
    holder.wait()
    assert run_status(store).set_index("run").loc["Flow_s1_bbbbbbbbbbbb", "state"] == "done"


def test_the_runs_command(store, capsys, tmp_path):
    assert main(["runs", "--results_dir", str(store), "--all"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{store}: 1 interrupted, 2 done, 1 not started")
    assert "RGB-Flow_s2_cccccccccccc" in out and "not started" in out.splitlines()[-1]
    assert main(["runs", "--results_dir", str(tmp_path / "nowhere")]) == 2
    assert "no results store there" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["runs", "--results_dir", str(empty)]) == 0
    assert "no runs yet" in capsys.readouterr().out


def test_the_runs_command_reads_the_pinned_store_unless_told_otherwise(capsys):
    from mmlkit.results.store import REPO

    for argv, folder in ((["runs"], "default-pinned"), (["runs", "--unpinned"], "default"),
                         (["runs", "--profile", "smoke"], "smoke-pinned")):
        main(argv)  # 0 with a store there (a developer's clone), 2 and one line without
        out = capsys.readouterr()
        assert str(REPO / "results" / folder) + ":" in out.out + out.err, out
