"""Something-Something-v2 annotations -> video records; TSM list files; left/right class pairs.

The official release layout (``<root>`` is the folder holding ``labels.json``)::

    <root>/labels.json                              {"Moving something from left to right": "0", ...}
    <root>/something-something-v2-<split>.json      [{"id", "label", "template", "placeholders"}, ...]
                                                    (test: [{"id"}, ...])
    <root>/videos/<id>.webm  or  <root>/20bn-something-something-v2/<id>.webm

The class of a record is ``labels[template with "[" and "]" removed]`` (0-based index).
Every malformed input raises :class:`mmlkit.errors.DataError` naming the file, the record
(0-based index and id) and the offending value.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmlkit.data.paths import check_name, check_relative, child
from mmlkit.errors import DataError, VideoDecodeError

SPLIT_FILE = "something-something-v2-{split}.json"
VIDEO_DIRS: tuple[str, ...] = ("videos", "20bn-something-something-v2")
VIDEO_EXTS: tuple[str, ...] = (".webm", ".mp4")
_LR = re.compile(r"\b(left|right)\b", re.IGNORECASE)


@dataclass(frozen=True)
class VideoRecord:
    """One video of a split.

    Attributes:
        id: the video id (SSv2: the webm file stem; TSM list: the frame folder's name).
        label: 0-based class index, ``None`` when unknown (test split).
        num_frames: frame count when the annotation gives it (TSM lists), else ``None``.
        path: the frame folder (TSM lists) or video file when known, else ``None``.
    """

    id: str
    label: int | None
    num_frames: int | None = None
    path: str | None = None


def strip_template(template: str) -> str:
    """``"Moving [something] from left to right"`` -> ``"Moving something from left to right"``."""
    return template.replace("[", "").replace("]", "")


def _read_json(path: Path) -> Any:
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from exc
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc})") from exc


def load_labels(path: str | Path) -> dict[str, int]:
    """Read ``labels.json``.

    Args:
        path: the file, a JSON object ``{template: index}`` (index a string or int).

    Returns:
        template (brackets removed) -> 0-based class index; the indices are exactly
        ``0..K-1``.

    Raises:
        DataError: malformed JSON, a non-integer index, a repeated or missing index.
    """
    path = Path(path)
    raw = _read_json(path)
    if not isinstance(raw, dict) or not raw:
        raise DataError(f"{path}: expected a non-empty JSON object {{template: index}}, got {type(raw).__name__}")
    labels: dict[str, int] = {}
    seen: dict[int, str] = {}
    for template, value in raw.items():
        try:
            index = int(value)
        except (TypeError, ValueError):
            raise DataError(f"{path}: template {template!r} has index {value!r}; expected an integer string such as \"0\"") from None
        key = strip_template(template)
        if index in seen:
            raise DataError(f"{path}: index {index} is given to both {seen[index]!r} and {key!r}")
        seen[index] = key
        labels[key] = index
    missing = sorted(set(range(len(labels))) - set(seen))
    if missing:
        raise DataError(f"{path}: class indices must be 0..{len(labels) - 1}; missing {missing[:10]}")
    return labels


def class_names(labels: dict[str, int]) -> list[str]:
    """Index -> template: ``names[labels[t]] == t``."""
    names = [""] * len(labels)
    for template, index in labels.items():
        names[index] = template
    return names


def split_path(root: str | Path, split: str) -> Path:
    """``<root>/something-something-v2-<split>.json``."""
    return Path(root) / SPLIT_FILE.format(split=split)


def available_splits(root: str | Path) -> list[str]:
    """Split names with a JSON file under ``root`` (train, validation, test first, then others)."""
    prefix, suffix = SPLIT_FILE.split("{split}")
    found = [p.name[len(prefix):-len(suffix)] for p in Path(root).glob(prefix + "*" + suffix)]
    order = {"train": 0, "validation": 1, "test": 2}
    return sorted(found, key=lambda s: (order.get(s, 3), s))


def _records(root: str | Path, split: str) -> tuple[Path, list[dict]]:
    path = split_path(root, split)
    if not path.is_file():
        have = available_splits(root)
        raise DataError(f"{path}: split {split!r} not found; splits present: {have or 'none'}")
    raw = _read_json(path)
    if not isinstance(raw, list):
        raise DataError(f"{path}: expected a JSON list of records, got {type(raw).__name__}")
    seen: set[str] = set()
    for i, rec in enumerate(raw):
        if not isinstance(rec, dict) or "id" not in rec:
            raise DataError(f"{path}: record {i} is {str(rec)[:80]!r}; expected an object with an \"id\"")
        vid = check_name(str(rec["id"]), f"record {i} id", str(path))
        if vid in seen:
            raise DataError(f"{path}: record {i} repeats id {vid!r}")
        seen.add(vid)
    return path, raw


def split_ids(root: str | Path, split: str) -> list[str]:
    """The video ids of a split, in file order (labels are not read)."""
    return [str(rec["id"]) for rec in _records(root, split)[1]]


def load_split(root: str | Path, split: str, labels: dict[str, int] | None = None) -> list[VideoRecord]:
    """Read one split of the official layout.

    Args:
        root: folder holding ``labels.json`` and the split files.
        split: ``"train"``, ``"validation"`` or ``"test"`` (any name with a file is accepted).
        labels: the template map; read from ``<root>/labels.json`` when ``None``.

    Returns:
        One :class:`VideoRecord` per record, in file order; ``label`` is ``None`` for records
        without a template in the test split.

    Raises:
        DataError: malformed JSON, a record without ``id``, a train/validation record without
        ``template``, or a template not in ``labels.json``.
    """
    path, raw = _records(root, split)
    if labels is None:
        labels = load_labels(Path(root) / "labels.json")
    out: list[VideoRecord] = []
    for i, rec in enumerate(raw):
        vid = str(rec["id"])
        template = rec.get("template")
        if template is None:
            if split == "test":
                out.append(VideoRecord(vid, None))
                continue
            raise DataError(f"{path}: record {i} (id {vid!r}) has no \"template\"; "
                            f"every {split} record needs one (keys: {sorted(rec)})")
        if not isinstance(template, str):
            raise DataError(f"{path}: record {i} (id {vid!r}) has template {template!r}; expected a string")
        key = strip_template(template)
        if key not in labels:
            raise DataError(f"{path}: record {i} (id {vid!r}) has template {template!r}, "
                            f"which is not in labels.json ({len(labels)} classes)")
        out.append(VideoRecord(vid, labels[key]))
    return out


def load_list_file(list_path: str | Path) -> list[VideoRecord]:
    """Read a TSM list file: one ``folder num_frames label`` per line (the folder may hold spaces).

    Returns:
        Records with ``id`` the folder's last component, ``path`` the folder as written,
        ``num_frames`` and ``label`` as integers. Blank lines are skipped.

    Raises:
        DataError: a line without three fields or with a non-integer count or label.
    """
    list_path = Path(list_path)
    if not list_path.is_file():
        raise DataError(f"{list_path}: list file not found")
    out: list[VideoRecord] = []
    for lineno, line in enumerate(list_path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.strip().rsplit(maxsplit=2)
        try:
            if len(parts) != 3:
                raise ValueError
            folder, num_frames, label = parts[0], int(parts[1]), int(parts[2])
            if num_frames < 0 or label < 0:
                raise ValueError
        except ValueError:
            raise DataError(f"{list_path}: line {lineno} is {line!r}; expected 'folder num_frames label' "
                            f"with non-negative integers") from None
        check_relative(folder, f"line {lineno} folder", str(list_path))
        out.append(VideoRecord(Path(folder).name, label, num_frames, folder))
    return out


def _swap_word(match: re.Match) -> str:
    word = match.group(0)
    other = "right" if word.lower() == "left" else "left"
    if word.isupper():
        return other.upper()
    if word[0].isupper():
        return other.capitalize()
    return other


def swap_left_right(template: str) -> str:
    """Swap the words left and right, keeping their case (``"Left"`` -> ``"Right"``)."""
    return _LR.sub(_swap_word, template)


def left_right_pairs(labels: dict[str, int]) -> dict[int, int]:
    """Classes that a horizontal flip turns into each other.

    Two classes pair when swapping "left" and "right" in one template gives the other
    (SSv2: 86/87, 93/94, 166/167).

    Returns:
        Symmetric map ``{a: b, b: a}``; classes without a mirror class are absent.
    """
    pairs: dict[int, int] = {}
    for template, index in labels.items():
        mirrored = swap_left_right(strip_template(template))
        if mirrored != template and mirrored in labels:
            pairs[index] = labels[mirrored]
    return pairs


def find_video(root: str | Path, video_id: str) -> Path:
    """The video file of ``video_id``: ``<root>/videos/<id>.webm`` or the official folder name.

    Raises:
        VideoDecodeError: no such file (the message lists the places looked at).
    """
    root = Path(root)
    tried = []
    for folder in VIDEO_DIRS:
        for ext in VIDEO_EXTS:
            path = child(root / folder, f"{video_id}{ext}")
            if path.is_file():
                return path
            tried.append(str(path))
    raise VideoDecodeError(root / VIDEO_DIRS[0] / f"{video_id}{VIDEO_EXTS[0]}",
                           f"missing: video id {video_id!r} not found; looked at {', '.join(tried)}")
