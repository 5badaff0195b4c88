"""Which clip is which: the plan of a data set (split, index, class, id of every clip), its
placeholder nouns and the SSv2 records (``labels.json`` and the split files)."""

from __future__ import annotations

import re

import numpy as np

from mmlkit.data.synthetic.presets import _SPLIT_CODE, SPLITS, SynthPreset, clip_rng

_NOUNS = ("blicket", "dax", "wug", "zorb", "fep", "toma", "gazzer", "modi", "kiki", "bouba",
          "tulver", "snarf", "plim", "quizzle", "vorb", "glimmet", "trundle", "mib", "flang", "zupi")


def _fill(template: str, names: list[str]) -> str:
    it = iter(names)
    return re.sub(r"\[something\]", lambda _: next(it), template)


def _plan(P: SynthPreset, seed: int) -> list[tuple[str, int, int, str]]:
    """Every clip as (split, index, class, id). Classes are shuffled within each split and ids
    are a shuffled range, so neither an index nor an id reveals the class. The held-out split's
    ids are a shuffled range after every other split's, so that adding it (or changing its size)
    leaves every other clip's id as it was."""
    k = len(P.classes)
    per = {}
    for s in SPLITS:
        classes = np.repeat(np.arange(k), P.per_class(s))
        if s == "test" and P.test_clips is not None:
            classes = np.arange(P.test_clips) % k
        per[s] = np.random.default_rng([int(seed), 100 + _SPLIT_CODE[s]]).permutation(classes)
    first = [s for s in SPLITS if s != "heldout"]
    total = sum(len(per[s]) for s in first)
    ids = np.random.default_rng([int(seed), 200]).permutation(total) + 1
    ids = np.concatenate([ids, total + 1 + np.random.default_rng([int(seed), 201]).permutation(len(per["heldout"]))])
    out, j = [], 0
    for split in first + ["heldout"]:
        for i, c in enumerate(per[split]):
            out.append((split, i, int(c), str(int(ids[j]))))
            j += 1
    return out


def _placeholders(seed: int, split: str, index: int, template: str) -> list[str]:
    rng = np.random.default_rng([int(seed), 300 + _SPLIT_CODE[split], int(index)])
    return ["a " + _NOUNS[int(i)] for i in rng.integers(len(_NOUNS), size=template.count("[something]"))]


def _clip_length(P: SynthPreset, seed: int, split: str, index: int) -> int:
    """The clip's frame count without rendering it (render_clip's first draw)."""
    return int(clip_rng(seed, split, index).integers(P.min_frames, P.max_frames + 1))


def labels_json(P: SynthPreset) -> dict[str, str]:
    """``labels.json``: template without brackets -> class index as a string."""
    return {c.replace("[", "").replace("]", ""): str(i) for i, c in enumerate(P.classes)}


def split_records(P: SynthPreset, seed: int, plan: list[tuple[str, int, int, str]]) -> dict[str, list[dict]]:
    """The records of every split file: ``id``, ``label``, ``template``, ``placeholders``; the
    test split has ids only (its labels go to ``synthetic.json``)."""
    records: dict[str, list[dict]] = {s: [] for s in SPLITS}
    for split, index, cls, vid in plan:
        if split == "test":
            records[split].append({"id": vid})
            continue
        names = _placeholders(seed, split, index, P.classes[cls])
        label = _fill(P.classes[cls], names)
        records[split].append({"id": vid, "label": label[0].lower() + label[1:],
                               "template": P.classes[cls], "placeholders": names})
    return records
