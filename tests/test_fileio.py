"""Atomic writes and the shared process pool."""

from __future__ import annotations

import math
import os

import pytest

from mmlkit import fileio
from mmlkit.parallel import imap_progress


def test_writes_appear_whole_and_leave_no_temporary(tmp_path):
    p = fileio.write_text(tmp_path / "a" / "log.txt", "hello")
    assert p.read_text() == "hello" and os.listdir(p.parent) == ["log.txt"]
    fileio.write_json(tmp_path / "a" / "x.json", {"k": 1})
    assert (tmp_path / "a" / "x.json").read_text() == '{\n  "k": 1\n}'


def test_a_failed_write_keeps_the_old_file(tmp_path):
    p = fileio.write_text(tmp_path / "f.txt", "old")
    with pytest.raises(RuntimeError, match="killed"):
        with fileio.atomic_path(p) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert p.read_text() == "old" and os.listdir(tmp_path) == ["f.txt"]


def test_folders_replace_folders_and_suffixes_can_stay_last(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "stale").write_text("x")
    with fileio.atomic_path(tmp_path / "d") as tmp:
        tmp.mkdir()
        (tmp / "new").write_text("y")
    assert os.listdir(tmp_path / "d") == ["new"]
    name = fileio.tmp_name(tmp_path / "m.onnx", keep_suffix=True).name
    assert name == f"m.tmp-{os.getpid()}.onnx"


@pytest.mark.parametrize("workers", [1, 2])
def test_imap_progress_keeps_order_and_covers_every_task(workers):
    tasks = [float(x) for x in range(20)]
    assert list(imap_progress(math.sqrt, tasks, workers, desc="t", progress=False)) == [math.sqrt(x) for x in tasks]
    got = list(imap_progress(math.sqrt, tasks, workers, desc="t", progress=False, ordered=False))
    assert sorted(got) == [math.sqrt(x) for x in tasks]


def test_imap_progress_raises_a_workers_error():
    with pytest.raises(ValueError, match="math domain error"):
        list(imap_progress(math.sqrt, [1.0, -1.0, 4.0], 2, desc="t", progress=False))
