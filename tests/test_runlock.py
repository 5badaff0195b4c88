"""One trainer per run: the lock of a folder (mmlkit.runlock) and its use by the store (the
synthetic benchmark's generator takes it too: tests/data/test_synthetic.py)."""

import inspect
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from mmlkit.config import pretrain_profile, profile, with_overrides
from mmlkit import runlock
from mmlkit.runlock import run_lock
from mmlkit.results.store import RunStore, load_or_pretrain, load_or_run

REPO = Path(__file__).resolve().parents[1]
needs_flock = pytest.mark.skipif(runlock.fcntl is None, reason="flock: POSIX only")

def finish_training(cfg, out_dir):
    """What training leaves for the store to count a run done: test_store.FakeTrain's checkpoints and
    done.json (that module is not imported in the child processes: its imports take seconds)."""
    for i, m in enumerate(cfg.modalities):
        (out_dir / f"model{i}_{m}.pt").write_bytes(b"x")
    (out_dir / "done.json").write_text('{"models": []}')


# A process asking the store for one smoke run, trained and scored by fakes that note their pid in
# the run folder. Training touches <root>/training, then takes 1.5 s. With argv[2] == "1" the
# process first waits for <root>/training: it asks while the other one trains.
ASK = inspect.getsource(finish_training) + r"""
import os, sys, time
from pathlib import Path
from mmlkit.config import EvalConfig, profile, with_overrides
from mmlkit.results.store import RunStore, load_or_run

root = Path(sys.argv[1])

def train(cfg, out_dir, **kw):
    with open(out_dir / "trained_by.txt", "a") as f:
        f.write(f"{os.getpid()}\n")
    (root / "training").touch()
    time.sleep(1.5)
    finish_training(cfg, out_dir)

class Scores:  # what the store does with a scorer's answer: save it
    def save(self, path):
        Path(path).write_bytes(b"scores")

def score(cfg, checkpoint, *args):
    with open(checkpoint.parent / "scored_by.txt", "a") as f:
        f.write(f"{os.getpid()}\n")
    return Scores()

deadline = time.monotonic() + 60
while sys.argv[2] == "1" and not (root / "training").exists() and time.monotonic() < deadline:
    time.sleep(0.01)
cfg = with_overrides(profile("smoke"), modalities=("RGB",), seed=3)
run = load_or_run(cfg, RunStore(root), eval_plans={"centre": EvalConfig()}, progress=False, train_fn=train,
                  scorer=score)
print("done" if run.done and run.plans() == ["centre"] else "NOT DONE", flush=True)
"""

def held_elsewhere(folder: Path) -> bool:
    """Whether ``folder``'s flock is held (a probe through its own descriptor, as another process would)."""
    fd = os.open(folder / runlock.LOCK_NAME, os.O_RDWR)
    try:
        runlock.fcntl.flock(fd, runlock.fcntl.LOCK_EX | runlock.fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # releases the probe's lock, if it got one
    return False


def test_a_second_process_waits_for_the_first_then_only_reads_the_run(tmp_path):
    root = tmp_path / "store"
    root.mkdir()
    procs = [subprocess.Popen([sys.executable, "-c", ASK, str(root), waits], cwd=REPO, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for waits in ("0", "1")]
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0 and out.strip() == "done", err
    run = RunStore(root).get(with_overrides(profile("smoke"), modalities=("RGB",), seed=3))
    first = str(procs[0].pid)
    assert (run.dir / "trained_by.txt").read_text().split() == [first]  # trained once, by the first
    assert (run.dir / "scored_by.txt").read_text().split() == [first]   # scored once too
    waiting = [line for line in outs[1][1].splitlines() if "waiting for it to finish" in line]
    assert len(waiting) == 1, outs[1][1]
    assert waiting[0].startswith(f"[mmlkit] runs/{run.dir.name}: being trained and scored by pid {first} on ")
    assert f"(python -c {root}" in waiting[0]  # the holder's command line
    assert any("lock acquired after waiting" in line for line in outs[1][1].splitlines())
    assert "waiting" not in outs[0][1]


@needs_flock
def test_a_killed_holders_lock_is_free_at_once(tmp_path, lock_holder):
    d = tmp_path / "runs" / "RGB_s0_0123456789ab"
    holder = lock_holder(d)
    assert held_elsewhere(d)
    assert json.loads((d / ".lock").read_text())["pid"] == holder.pid  # who holds it, for waiters
    holder.kill()  # SIGKILL: no cleanup runs in the holder
    holder.wait()
    lines = []
    t0 = time.monotonic()
    with run_lock(d, what="trained", poll_s=0.05, say=lines.append):
        assert time.monotonic() - t0 < 1.0 and lines == []  # taken at the first try, no waiting said
        assert json.loads((d / ".lock").read_text())["pid"] == os.getpid()
    assert not held_elsewhere(d)


@needs_flock
def test_a_nested_lock_of_the_same_folder_does_not_deadlock(tmp_path):
    cfg = with_overrides(profile("smoke"), modalities=("RGB",), seed=3)
    lines, seen = [], {}

    def train(c, out_dir, **kw):  # training that asks for its own run folder again (held by this thread)
        with run_lock(out_dir, what="trained", poll_s=0.05, say=lines.append):
            seen["inner"] = held_elsewhere(out_dir)
        seen["after_inner"] = held_elsewhere(out_dir)  # the inner exit did not release the outer lock
        finish_training(c, out_dir)

    def ask():
        seen["run"] = load_or_run(cfg, RunStore(tmp_path), progress=False, train_fn=train)

    t = threading.Thread(target=ask, daemon=True)
    t.start()
    t.join(20)
    assert not t.is_alive(), "a nested run_lock of the folder this thread holds deadlocked"
    assert seen["inner"] and seen["after_inner"] and seen["run"].done and lines == []
    assert not held_elsewhere(seen["run"].dir)  # released when load_or_run returned


def test_without_fcntl_a_dead_holders_lock_is_taken_over(tmp_path, monkeypatch):
    monkeypatch.setattr(runlock, "fcntl", None)  # as on Windows: the lock is an O_EXCL file with a pid
    d = tmp_path / "runs" / "RGB_s0_0123456789ab"
    d.mkdir(parents=True)
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    (d / ".lock").write_text(json.dumps({"pid": holder.pid, "host": socket.gethostname(), "since": time.time(),
                                         "cmd": "python -c sleep", "what": "trained"}))
    lines, got = [], threading.Event()

    def take():
        with run_lock(d, what="scored", poll_s=0.05, say=lines.append):
            got.set()
            lines.append(json.loads((d / ".lock").read_text())["pid"])

    t = threading.Thread(target=take, daemon=True)
    try:
        t.start()
        assert not got.wait(0.5)  # a live holder is waited for
    finally:
        holder.kill()
        holder.wait()  # reaped: its pid no longer runs
    assert got.wait(5)
    t.join(5)
    assert len(lines) == 4, lines
    assert lines[0].startswith(f"[mmlkit] runs/{d.name}: being trained by pid {holder.pid} on ")
    assert "waiting for it to finish" in lines[0]
    assert "taking over a stale lock" in lines[1] and f"pid {holder.pid} " in lines[1]
    assert "lock acquired" in lines[2] and lines[3] == os.getpid()
    assert not (d / ".lock").exists()  # the fallback's lock is the file: deleted on release


@needs_flock
def test_pretraining_holds_the_lock_of_its_folder(tmp_path, monkeypatch):
    calls = []

    def fake_pretrain(cfg, out_path, progress=True):
        calls.append(held_elsewhere(Path(out_path).parent))
        Path(out_path).write_bytes(b"x")
        return {"path": str(out_path), "heldout_top1": 50.0, "chance": 25.0, "n_heldout": 4, "seconds": 0.0}

    monkeypatch.setattr("mmlkit.training.pretrain_image_backbone", fake_pretrain)
    store = RunStore(tmp_path)
    info = load_or_pretrain(pretrain_profile("smoke"), store, progress=False)
    again = load_or_pretrain(pretrain_profile("smoke"), store, progress=False)
    assert calls == [True] and again["path"] == info["path"]
    assert not held_elsewhere(Path(info["path"]).parent)


def test_poll_s_must_be_positive(tmp_path):
    with pytest.raises(ValueError, match="poll_s=0"):
        with run_lock(tmp_path, what="trained", poll_s=0):
            pass


@needs_flock
def test_a_waiter_names_the_notebook_holding_the_run(tmp_path):
    """Notebooks side by side (``./run_all.sh --lanes``) wait for each other's runs: the line
    names the holder's notebook, and this machine rather than its host name."""
    d = tmp_path / "runs" / "RGB_s0_aaaaaaaaaaaa"
    inside, release, lines = threading.Event(), threading.Event(), []

    def hold():
        with run_lock(d, what="trained and scored", by="01_baselines_and_ensembles"):
            inside.set()
            release.wait(5)

    t = threading.Thread(target=hold, daemon=True)
    t.start()
    assert inside.wait(5)
    waiter = threading.Thread(target=lambda: run_lock(d, what="x", poll_s=0.05, say=lines.append).__enter__(),
                              daemon=True)
    waiter.start()
    deadline = time.time() + 5
    while not lines and time.time() < deadline:
        time.sleep(0.02)
    release.set()
    t.join(5)
    waiter.join(5)
    assert lines[0].startswith(f"[mmlkit] runs/{d.name}: being trained and scored by 01_baselines_and_ensembles "
                               f"(pid {os.getpid()} on this machine, since ")


def test_lock_holder_names_a_live_holder_and_none_once_it_is_gone(tmp_path, lock_holder):
    d = tmp_path / "runs" / "RGB_s0_0123456789ab"
    assert runlock.lock_holder(d) is None  # no folder, no lock file
    with run_lock(d, what="trained"):
        pass
    assert runlock.lock_holder(d) is None  # the file stays after release (flock), and is free
    holder = lock_holder(d)
    got = runlock.lock_holder(d)
    assert got["pid"] == holder.pid and got["what"] == "trained"
    assert f"pid {holder.pid} on this machine" in runlock.describe_holder(got)
    assert runlock.lock_holder(d)["pid"] == holder.pid  # asking did not take it
    holder.kill()
    holder.wait()
    assert runlock.lock_holder(d) is None


def test_lock_holder_without_fcntl_reads_the_pid(tmp_path, monkeypatch):
    monkeypatch.setattr(runlock, "fcntl", None)
    d = tmp_path / "run"
    d.mkdir()
    (d / ".lock").write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": time.time(),
                                         "cmd": "pytest", "what": "trained"}))
    assert runlock.lock_holder(d)["pid"] == os.getpid()
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    (d / ".lock").write_text(json.dumps({"pid": gone.pid, "host": socket.gethostname(), "since": time.time()}))
    assert runlock.lock_holder(d) is None  # a dead pid of this host holds nothing
    (d / ".lock").write_text(json.dumps({"pid": gone.pid, "host": "another-host", "since": time.time()}))
    assert runlock.lock_holder(d)["host"] == "another-host"  # another host's cannot be checked: held


def test_a_probe_holding_the_lock_for_an_instant_is_not_announced_as_a_wait(tmp_path, monkeypatch):
    """lock_holder's shared flock can fall on a writer's first try: the writer tries again briefly
    before it says it waits (else its line would name the lock file's last, long gone holder)."""
    real, calls = runlock._try_lock, []

    def busy_once(*args):
        calls.append(1)
        return None if len(calls) == 1 else real(*args)
    monkeypatch.setattr(runlock, "_try_lock", busy_once)
    lines = []
    with run_lock(tmp_path / "run", what="trained", poll_s=5.0, say=lines.append):
        pass
    assert len(calls) == 2 and lines == []
