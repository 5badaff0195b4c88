"""The command line: help for every subcommand, flags -> configs, clear errors before any work."""

import subprocess
import sys

import pytest

from mmlkit import cli
from mmlkit.config import ConfigError


def _parse(*argv):
    return cli.build_parser().parse_args(list(argv))


def test_module_help_lists_subcommands():
    out = subprocess.run([sys.executable, "-m", "mmlkit", "--help"], capture_output=True, text=True, check=True).stdout
    for cmd in ("synth", "flow", "pretrain", "train", "test", "export", "kernels"):
        assert cmd in out


@pytest.mark.parametrize("cmd", ["synth", "flow", "pretrain", "train", "test", "export", "kernels"])
def test_each_subcommand_has_help(cmd, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main([cmd, "--help"])
    assert e.value.code == 0
    assert "usage:" in capsys.readouterr().out


def test_train_flags_follow_the_released_code():
    args = _parse("train", "synthetic", "RGB,Flow", "--arch", "resnet18", "--num_segments", "4", "--lr", "0.02",
                  "--lr_steps", "10", "20", "--epochs", "3", "-b", "4", "--dropout", "0.3", "--wd", "1e-4",
                  "--gd", "10", "--npb", "--random_sample", "--dense_length", "16", "--shift_div", "4",
                  "--shift_place", "block", "--mutual_mode", "per_peer", "--temperature", "2", "--seed", "7",
                  "--eval-freq", "2", "-j", "1")
    cfg = cli.train_config(args)
    assert cfg.modalities == ("RGB", "Flow")
    assert (cfg.model.arch, cfg.model.shift_div, cfg.model.shift_place, cfg.model.partial_bn) == ("resnet18", 4, "block", False)
    assert (cfg.optim.lr, cfg.optim.lr_steps, cfg.optim.epochs, cfg.optim.batch_size) == (0.02, (10, 20), 3, 4)
    assert (cfg.optim.weight_decay, cfg.optim.clip_grad, cfg.model.dropout) == (1e-4, 10, 0.3)
    assert (cfg.data.sample, cfg.data.dense_length, cfg.data.num_segments, cfg.data.workers) == ("random", 16, 4, 1)
    assert (cfg.mutual.mode, cfg.mutual.temperature, cfg.seed, cfg.eval_freq) == ("per_peer", 2.0, 7, 2)


def test_flags_left_out_come_from_the_profile():
    cfg = cli.train_config(_parse("train", "synthetic", "RGB", "--profile", "smoke"))
    from mmlkit.config import profile
    assert cfg.model == profile("smoke").model and cfg.optim == profile("smoke").optim


def test_a_single_model_from_image_weights_gets_its_modality_schedule_as_in_the_notebooks():
    from mmlkit.config import profile, scale_schedule, stage1_epochs
    flow = cli.train_config(_parse("train", "synthetic", "Flow"))
    assert flow.optim == scale_schedule(profile("default").optim, stage1_epochs("default", "Flow"))
    assert flow.optim.epochs == 80
    # a cohort from image weights and explicit --epochs keep the profile's or the user's schedule
    assert cli.train_config(_parse("train", "synthetic", "RGB,Flow")).optim == profile("default").optim
    # stage 2 (--tune_from): as long as the members need, as Study.cohort builds it
    assert cli.train_config(_parse("train", "synthetic", "RGB,Flow", "--tune_from", "rgb.pt")).optim == flow.optim
    assert cli.train_config(_parse("train", "synthetic", "RGB,RGBDiff", "--tune_from", "rgb.pt")).optim.epochs == 40
    assert cli.train_config(_parse("train", "synthetic", "Flow", "--epochs", "5")).optim.epochs == 5


@pytest.mark.parametrize("argv, needle", [
    (["train", "synthetic", "RGB,Depth"], "Depth"),
    (["train", "somethingv2", "RGB"], "--data_root"),
    (["train", "/no/such/folder", "RGB"], "/no/such/folder"),
    (["train", "synthetic", "RGB", "--dense_sample", "--random_sample"], "exclude"),
    (["test", "synthetic", "--weights", "a.pt,b.pt", "--coeff", "1"], "--coeff"),
])
def test_user_errors_exit_2_with_a_message(argv, needle, capsys):
    assert cli.main(argv) == 2
    assert needle in capsys.readouterr().err


def test_test_flags_make_an_eval_config():
    ev = cli.eval_config(_parse("test", "synthetic", "--weights", "a.pt", "--test_crops", "3", "--twice_sample",
                                "--random_sample", "--dense_number", "2", "--softmax"))
    assert (ev.test_crops, ev.twice, ev.mode, ev.dense_number, ev.softmax) == (3, True, "random", 2, True)
    with pytest.raises(ConfigError):
        cli.eval_config(_parse("test", "synthetic", "--weights", "a.pt", "--dense_sample", "--random_sample"))


# ---------------------------------------------------------------- reliability: flags and outputs

@pytest.mark.parametrize("argv, needle", [
    (["flow", "d", "--bound", "0"], "argument --bound: 0 is not > 0"),
    (["flow", "d", "--bound", "-3"], "argument --bound: -3 is not > 0"),
    (["flow", "d", "--workers", "0"], "argument --workers: 0 is not >= 1"),
    (["train", "synthetic", "RGB", "--threads", "0"], "argument --threads: 0 is not >= 1"),
    (["train", "synthetic", "RGB", "--threads", "-2"], "argument --threads: -2 is not >= 1"),
    (["train", "synthetic", "RGB", "--momentum", "1.5"], "argument --momentum: 1.5 is not < 1"),
    (["train", "synthetic", "RGB", "--wd=-1e-4"], "argument --wd/--weight-decay: -1e-4 is not >= 0"),
    (["train", "synthetic", "RGB", "--lr", "inf"], "argument --lr: 'inf' is not a finite number"),
    (["train", "synthetic", "RGB", "--dropout", "nan"], "argument --dropout: 'nan' is not a finite number"),
    (["train", "synthetic", "RGB", "--epochs", "2.5"], "argument --epochs: '2.5' is not an integer"),
    (["export", "--weights", "a.pt", "--out", "a.ts", "--input_size", "0"], "argument --input_size: 0 is not >= 8"),
    (["test", "synthetic", "--weights", ""], "argument --weights: '' has an empty checkpoint"),
    (["test", "synthetic", "--weights", "a.pt,,b.pt"], "has an empty checkpoint"),
    (["test", "synthetic", "--weights", "a.pt,b.pt", "--coeff", "1,nan"], "argument --coeff: 'nan' is not a finite"),
    (["test", "synthetic", "--weights", "a.pt", "--batch_size", "0"], "argument --batch_size: 0 is not >= 1"),
])
def test_every_numeric_flag_is_checked_with_its_name_and_value(argv, needle, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(argv)
    err = capsys.readouterr().err
    assert e.value.code == 2 and needle in err and "Traceback" not in err


def test_export_never_writes_over_its_input(tmp_path, capsys):
    ck = tmp_path / "m.pt"
    ck.write_bytes(b"precious checkpoint")
    assert cli.main(["export", "--weights", str(ck), "--out", str(tmp_path / "." / "m.pt")]) == 2
    assert "--out" in capsys.readouterr().err and ck.read_bytes() == b"precious checkpoint"
    assert cli.main(["test", "synthetic", "--weights", str(ck), "--csv_file", str(ck)]) == 2
    assert "is also --weights" in capsys.readouterr().err and ck.read_bytes() == b"precious checkpoint"


def test_outputs_are_checked_before_any_work(tmp_path, capsys, monkeypatch):
    import mmlkit.evaluation as ev

    ran = []
    monkeypatch.setattr(ev, "test", lambda *a, **k: ran.append(k))
    afile = tmp_path / "afile"
    afile.write_text("x")
    for argv, needle in ((["synth", "--out", str(afile)], "is a file; give a folder"),
                         (["train", "synthetic", "RGB", "--out", str(afile)], "is a file; give a folder"),
                         (["test", "synthetic", "--weights", "a.pt", "--csv_file", str(tmp_path)], "is a folder"),
                         (["test", "synthetic", "--weights", "a.pt", "--csv_file", str(afile / "s.csv")],
                          "is a file, not a folder")):
        assert cli.main(argv) == 2, argv
        err = capsys.readouterr().err
        assert needle in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert ran == []
    # a --csv_file in a folder that does not exist yet: created now, not found missing after scoring
    assert cli.main(["test", "synthetic", "--weights", "a.pt", "--csv_file", str(tmp_path / "new" / "s.csv")]) == 0
    assert (tmp_path / "new").is_dir() and len(ran) == 1


def test_a_device_this_machine_lacks_is_one_line(capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert cli.main(["train", "synthetic", "RGB", "--device", "cuda", "--profile", "smoke"]) == 2
    err = capsys.readouterr().err
    assert "no CUDA device" in err and "--device cpu" in err and "Traceback" not in err


def test_lr_steps_given_as_the_profile_has_them_give_the_same_run():
    from mmlkit.config import profile

    steps = [str(e) for e in profile("default").optim.lr_steps]
    a = cli.train_config(_parse("train", "synthetic", "RGB,RGB", "--lr_steps", *steps))
    assert a.optim.lr_steps == profile("default").optim.lr_steps and all(type(e) is int for e in a.optim.lr_steps)
    assert a.digest() == cli.train_config(_parse("train", "synthetic", "RGB,RGB")).digest()  # the store's same run
    with pytest.raises(SystemExit):
        cli.main(["train", "synthetic", "RGB", "--lr_steps", "20.5"])


def test_kernels_installs_the_notebooks_kernels_where_asked(tmp_path, capsys):
    """A conda (or any) environment gets the kernel the notebooks name with one command."""
    import json

    assert cli.main(["kernels", "--prefix", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "'mmlkit'" in out and "'mmlkit-unpinned'" in out
    spec = json.loads((tmp_path / "share/jupyter/kernels/mmlkit/kernel.json").read_text())
    assert spec["env"]["ATEN_CPU_CAPABILITY"] == "avx2"
    assert (tmp_path / "share/jupyter/kernels/mmlkit-unpinned/kernel.json").exists()


_ENV_PROBE = """
import json, os, sys
import mmlkit.cli.commands as c
def probe(args):
    import torch
    print(json.dumps({"env": {k: os.environ.get(k) for k in c_pins}, "aten": torch.backends.cpu.get_cpu_capability()}))
    return 0
from mmlkit.runtime import PINNED_DISPATCH as c_pins
c._run = probe
import runpy
sys.argv = ["mmlkit"] + sys.argv[1:]
runpy.run_module("mmlkit", run_name="__main__")
"""


@pytest.mark.parametrize("argv, pinned", [(["train", "synthetic", "RGB"], True),
                                          (["train", "synthetic", "RGB", "--unpinned"], False),
                                          (["test", "synthetic", "--weights", "a.pt"], True),
                                          (["pretrain", "--unpinned"], False)])
def test_the_program_pins_the_cpu_dispatch_unless_unpinned(argv, pinned):
    """``python -m mmlkit train|test|pretrain`` runs on the pinned code paths (the same bits as
    ./run_all.sh and the notebooks on every x86 host), set before its first tensor op; ``--unpinned``
    removes pins the launching environment had. cli.main, called in a process, leaves it as it is."""
    import json
    import os

    from mmlkit.runtime import PINNED_DISPATCH, cpu_flags, pinned_env

    # pinned: started without the pins, which the program must set; --unpinned: started with them
    start = {k: v for k, v in os.environ.items() if k not in PINNED_DISPATCH} if pinned else pinned_env()
    out = subprocess.run([sys.executable, "-c", _ENV_PROBE, *argv], env=start, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["env"] == (PINNED_DISPATCH if pinned else {k: None for k in PINNED_DISPATCH})
    if "avx2" in cpu_flags():
        assert (seen["aten"] == "AVX2") if pinned else (seen["aten"] in ("AVX2", "AVX512")), seen
