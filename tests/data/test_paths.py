"""Names read from data files never become paths outside their folder (mmlkit.data.paths)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmlkit import cli
from mmlkit.data.paths import check_name, check_relative, child
from mmlkit.data.sthv2 import load_list_file, split_ids
from mmlkit.data.video import FrameFolderSource, PackedSource
from mmlkit.errors import DataError


@pytest.mark.parametrize("bad", ["", ".", "..", "../x", "a/b", "a\\b", "/etc", "x\x00y"])
def test_check_name_rejects_what_leaves_a_folder(bad):
    with pytest.raises(DataError, match=r"split\.json: record 3 id is"):
        check_name(bad, "record 3 id", "split.json")


@pytest.mark.parametrize("good", ["12345", "a b", "ünïcode", "x.y", "..x"])
def test_check_name_accepts_plain_names(good):
    assert check_name(good, "id", "f") == good


@pytest.mark.parametrize("bad", ["/abs/101", "../101", "a/../../101", "C:\\x", "\\\\srv\\share", "a\x00"])
def test_check_relative_rejects(bad):
    with pytest.raises(DataError, match="line 1 folder"):
        check_relative(bad, "line 1 folder", "list.txt")
    assert check_relative("a/101", "f", "l") == "a/101"


def test_child_is_lexical_and_follows_symlinks_inside(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "videos").symlink_to(tmp_path / "elsewhere")  # data on another disk: allowed
    assert child(tmp_path / "root" / "videos", "1.webm") == tmp_path / "root" / "videos" / "1.webm"
    for parts in (("..", "x"), ("../flow2/x.npy",), ("/tmp/x",), ("",)):
        with pytest.raises(DataError, match="leaves its folder|is .* itself|refusing"):
            child(tmp_path / "root" / "packed", *parts)


def _layout(root: Path, ids: list[str]) -> Path:
    root.mkdir(parents=True)
    (root / "labels.json").write_text(json.dumps({"Pushing something": "0"}))
    recs = [{"id": v, "template": "Pushing [something]"} for v in ids]
    (root / "something-something-v2-train.json").write_text(json.dumps(recs))
    return root


def test_a_traversing_id_is_refused_where_it_is_read(tmp_path):
    root = _layout(tmp_path / "data", ["1", "../../victim"])
    with pytest.raises(DataError, match=r"something-something-v2-train\.json: record 1 id is '\.\./\.\./victim'"):
        split_ids(root, "train")


def test_flow_overwrite_never_touches_a_folder_outside_the_root(tmp_path, capsys):
    victim = tmp_path / "victim"  # what ../../victim would name from <root>/frames/
    victim.mkdir()
    (victim / "precious.txt").write_text("keep me")
    root = _layout(tmp_path / "data", ["../victim", "../../victim"])
    (root / "videos").mkdir()
    assert cli.main(["flow", str(root), "--jpeg", "--overwrite", "--workers", "1"]) == 2
    err = capsys.readouterr().err
    assert "record 0 id is '../victim'" in err and "train.json" in err and "Traceback" not in err
    assert (victim / "precious.txt").read_text() == "keep me" and sorted(p.name for p in victim.iterdir()) == ["precious.txt"]


def test_list_file_folders_and_sources_stay_inside(tmp_path):
    lst = tmp_path / "list.txt"
    lst.write_text("a/101 4 0\n../../etc 4 0\n")
    with pytest.raises(DataError, match=r"list\.txt: line 2 folder is '\.\./\.\./etc'"):
        load_list_file(lst)
    with pytest.raises(DataError, match="leaves its folder"):
        PackedSource(tmp_path).path("../../x", "Flow")
    with pytest.raises(DataError, match="leaves its folder"):
        FrameFolderSource(tmp_path / "frames").num_frames("../..", "RGB")


def test_remove_stale_tmp_keeps_a_live_writers_files(tmp_path):
    import os
    import subprocess
    import sys

    from mmlkit.data.paths import remove_stale_tmp

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)  # that process has exited
    (tmp_path / f"1.webm.tmp-{os.getpid()}").write_bytes(b"being written")  # ours: alive
    (tmp_path / f"2.webm.tmp-{dead_pid}").write_bytes(b"left by a killed run")
    (tmp_path / f"3.tmp-{dead_pid}").mkdir()
    (tmp_path / "4.webm.tmp-notapid").write_bytes(b"not ours")
    remove_stale_tmp(tmp_path, tmp_path / "missing")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["1.webm.tmp-" + str(os.getpid()), "4.webm.tmp-notapid"]
