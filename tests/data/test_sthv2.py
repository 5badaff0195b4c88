"""Tests of mmlkit.data.sthv2: the SSv2 annotation layout, TSM list files, left/right pairs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmlkit.data.sthv2 import (VideoRecord, available_splits, class_names, find_video, left_right_pairs,
                               load_labels, load_list_file, load_split, split_ids, swap_left_right)
from mmlkit.errors import DataError, VideoDecodeError

TEMPLATES = ["Moving [something] from left to right", "Moving [something] from right to left",
             "Putting [something] on a surface", "Turning the camera left while filming [something]",
             "Turning the camera right while filming [something]", "Left [something] alone"]


def make_root(tmp_path: Path) -> Path:
    labels = {t.replace("[", "").replace("]", ""): str(i) for i, t in enumerate(TEMPLATES)}
    (tmp_path / "labels.json").write_text(json.dumps(labels))
    train = [{"id": str(10 + i), "label": t.replace("[something]", "a cup"), "template": t,
              "placeholders": ["a cup"]} for i, t in enumerate(TEMPLATES)]
    (tmp_path / "something-something-v2-train.json").write_text(json.dumps(train))
    (tmp_path / "something-something-v2-validation.json").write_text(json.dumps(train[:2]))
    (tmp_path / "something-something-v2-test.json").write_text(json.dumps([{"id": "7"}, {"id": 8}]))
    return tmp_path


def test_labels_and_splits(tmp_path):
    root = make_root(tmp_path)
    labels = load_labels(root / "labels.json")
    assert labels["Moving something from left to right"] == 0
    names = class_names(labels)
    assert names[2] == "Putting something on a surface" and len(names) == 6
    recs = load_split(root, "train")
    assert [r.label for r in recs] == list(range(6))
    assert recs[0] == VideoRecord("10", 0)
    test = load_split(root, "test")
    assert [(r.id, r.label) for r in test] == [("7", None), ("8", None)]
    assert available_splits(root) == ["train", "validation", "test"]
    assert split_ids(root, "validation") == ["10", "11"]


def test_left_right_pairs_small():
    labels = {t.replace("[", "").replace("]", ""): i for i, t in enumerate(TEMPLATES)}
    assert left_right_pairs(labels) == {0: 1, 1: 0, 3: 4, 4: 3}
    assert swap_left_right("Left or RIGHT, left") == "Right or LEFT, right"
    assert swap_left_right("leftover") == "leftover"


def test_left_right_pairs_ssv2_indices():
    # A 174-class labels dict with the real SSv2 mirrored templates at their real indices.
    labels = {f"Doing thing {i} with something": i for i in range(174)}
    named = {86: "Pulling something from left to right", 87: "Pulling something from right to left",
             93: "Pushing something from left to right", 94: "Pushing something from right to left",
             166: "Turning the camera left while filming something",
             167: "Turning the camera right while filming something"}
    labels = {t: i for t, i in labels.items() if i not in named} | {t: i for i, t in named.items()}
    labels["Moving something left"] = 174  # no mirror class: unpaired
    assert left_right_pairs(labels) == {86: 87, 87: 86, 93: 94, 94: 93, 166: 167, 167: 166}


def test_bad_json_names_file(tmp_path):
    root = make_root(tmp_path)
    (root / "something-something-v2-train.json").write_text('[{"id": "1", ')
    with pytest.raises(DataError, match=r"something-something-v2-train\.json.*malformed JSON"):
        load_split(root, "train")
    (root / "labels.json").write_text('{"a": "zero"}')
    with pytest.raises(DataError, match=r"labels\.json.*'zero'"):
        load_labels(root / "labels.json")


def test_record_errors_name_record(tmp_path):
    root = make_root(tmp_path)
    split = root / "something-something-v2-validation.json"
    split.write_text(json.dumps([{"id": "1", "template": TEMPLATES[0]}, {"id": "2", "label": "x"}]))
    with pytest.raises(DataError, match=r"validation\.json: record 1 \(id '2'\) has no \"template\""):
        load_split(root, "validation")
    split.write_text(json.dumps([{"id": "5", "template": "Juggling [something]"}]))
    with pytest.raises(DataError, match=r"record 0 \(id '5'\).*'Juggling \[something\]'.*not in labels"):
        load_split(root, "validation")
    with pytest.raises(DataError, match=r"split 'nope' not found; splits present"):
        load_split(root, "nope")


def test_list_file(tmp_path):
    lst = tmp_path / "train_videofolder.txt"
    lst.write_text("a/101 45 3\n\nsome dir/102 30 0\n")
    recs = load_list_file(lst)
    assert recs == [VideoRecord("101", 3, 45, "a/101"), VideoRecord("102", 0, 30, "some dir/102")]
    lst.write_text("a/101 45 3\nb/102 thirty 0\n")
    with pytest.raises(DataError, match=r"train_videofolder\.txt: line 2 is 'b/102 thirty 0'"):
        load_list_file(lst)


def test_find_video(tmp_path):
    (tmp_path / "20bn-something-something-v2").mkdir()
    (tmp_path / "20bn-something-something-v2" / "3.webm").write_bytes(b"x")
    assert find_video(tmp_path, "3").name == "3.webm"
    with pytest.raises(VideoDecodeError, match=r"4\.webm.*missing"):
        find_video(tmp_path, "4")
