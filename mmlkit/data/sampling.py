"""Frame sampling: pure functions from (frame count, segments, ..., rng) to 0-based frame indices.

The formulas are those of TSM / the MML code (``/work/shared/reference/method.md``), written
0-based (the released code adds 1 for its 1-based JPEG names). Notation: ``N`` usable frames of
one modality, ``l`` = ``new_length`` frames read per segment, ``T`` segments, ``L`` =
``dense_length``.

* :func:`train_indices` -- one clip, ``int64 (T,)`` segment start indices.
* :func:`test_indices`  -- every test clip, ``int64 (V, T)``.
* :func:`expand_segments` -- starts -> the ``l`` consecutive frames of each segment, clamped at
  the last frame.
* :func:`modality_indices` -- the multi-modal rule: one base offset vector for all peers.

Every index returned is 0-based and lies in ``[0, N - 1]`` (starts) or is clamped there
(expanded windows). Nothing here touches global random state: the only randomness is the
``rng`` passed in.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from mmlkit.config import SAMPLE_MODES  # re-exported here: the table lives in config


def _check(num_frames: int, num_segments: int, new_length: int, mode: str, dense_length: int) -> None:
    if int(num_frames) != num_frames or num_frames < 1:
        raise ValueError(f"num_frames={num_frames!r} must be an integer >= 1 (a video needs at least one frame)")
    if int(num_segments) != num_segments or num_segments < 1:
        raise ValueError(f"num_segments={num_segments!r} must be an integer >= 1")
    if int(new_length) != new_length or new_length < 1:
        raise ValueError(f"new_length={new_length!r} must be an integer >= 1 (1 RGB, 5 Flow, 6 RGBDiff)")
    if mode not in SAMPLE_MODES:
        raise ValueError(f"mode={mode!r} is not one of {list(SAMPLE_MODES)}")
    if int(dense_length) != dense_length or dense_length < num_segments:
        raise ValueError(f"dense_length={dense_length!r} must be an integer >= num_segments={num_segments}")


def _train_uniform(n: int, t: int, l: int, rng: np.random.Generator) -> np.ndarray:
    avg = (n - l + 1) // t
    if avg > 0:
        return np.arange(t, dtype=np.int64) * avg + rng.integers(avg, size=t)
    if n > t:
        # max(., 1): with N < l every window starts at frame 0 (TSM would crash here).
        return np.sort(rng.integers(max(n - l + 1, 1), size=t)).astype(np.int64)
    return np.zeros(t, dtype=np.int64)


def _dense_geometry(n: int, t: int, dense_length: int) -> tuple[int, int]:
    sample_pos = max(1, 1 + n - dense_length)
    stride = dense_length // t
    return sample_pos, stride


def _dense_clip(start: int, n: int, t: int, stride: int) -> np.ndarray:
    return (start + np.arange(t, dtype=np.int64) * stride) % n


def _train_dense(n: int, t: int, dense_length: int, rng: np.random.Generator) -> np.ndarray:
    sample_pos, stride = _dense_geometry(n, t, dense_length)
    # TSM: randint(0, sample_pos - 1), high exclusive, so start is in [0, sample_pos - 2].
    start = 0 if sample_pos == 1 else int(rng.integers(0, sample_pos - 1))
    return _dense_clip(start, n, t, stride)


def train_indices(num_frames: int, num_segments: int, new_length: int = 1, mode: str = "uniform",
                  dense_length: int = 32, rng: np.random.Generator | None = None) -> np.ndarray:
    """Segment start indices of one training clip.

    Args:
        num_frames: N >= 1, frames of the modality (Flow: RGB frames - 1).
        num_segments: T >= 1.
        new_length: l >= 1, consecutive frames read per segment (only ``uniform`` uses it).
        mode: ``uniform`` (TSN: one random frame in each of T equal parts of ``[0, N - l]``),
            ``dense`` (T frames ``L // T`` apart from a random start, wrapping modulo N) or
            ``random`` (one ``rng.random() < 0.5`` draw: dense if true, else uniform).
        dense_length: L >= T, frames spanned by a dense clip.
        rng: the generator every random draw comes from (required).

    Returns:
        int64 (T,), 0-based starts in ``[0, N - 1]``.

    Raises:
        ValueError: an argument out of range, or no ``rng``.
    """
    _check(num_frames, num_segments, new_length, mode, dense_length)
    if rng is None:
        raise ValueError("train_indices needs an explicit rng (np.random.default_rng(...))")
    n, t, l = int(num_frames), int(num_segments), int(new_length)
    if mode == "random":
        mode = "dense" if rng.random() < 0.5 else "uniform"
    if mode == "dense":
        return _train_dense(n, t, int(dense_length), rng)
    return _train_uniform(n, t, l, rng)


def _test_uniform(n: int, t: int, l: int, twice: bool) -> list[np.ndarray]:
    if n > t + l - 1:
        tick = (n - l + 1) / float(t)
        k = np.arange(t, dtype=np.float64)
        clips = [(tick / 2.0 + tick * k).astype(np.int64)]
        if twice:
            clips.append((tick * k).astype(np.int64))
    else:
        clips = [np.zeros(t, dtype=np.int64)]
        if twice:
            clips.append(np.zeros(t, dtype=np.int64))
    return clips


def _test_dense(n: int, t: int, dense_length: int, dense_number: int) -> list[np.ndarray]:
    sample_pos, stride = _dense_geometry(n, t, dense_length)
    if dense_number == 1:
        starts = [int((sample_pos - 1) / 2)]
    else:
        starts = [int(s) for s in np.linspace(0, sample_pos - 1, num=dense_number)]
    return [_dense_clip(s, n, t, stride) for s in starts]


def test_indices(num_frames: int, num_segments: int, new_length: int = 1, mode: str = "uniform",
                 dense_length: int = 32, dense_number: int = 1, twice: bool = False) -> np.ndarray:
    """Segment start indices of every test clip of one video (deterministic, no rng).

    Views, in this order:

    * ``uniform``: the centre clip ``int(tick/2 + tick*k)`` with ``tick = (N - l + 1) / T``
      (all zeros when ``N <= T + l - 1``), then, when ``twice``, the clip ``int(tick*k)``.
    * ``dense``: ``dense_number`` clips ``(start + k * (L // T)) mod N``, starts
      ``linspace(0, sample_pos - 1, n)`` as ints (n = 1: ``int((sample_pos - 1) / 2)``),
      ``sample_pos = max(1, 1 + N - L)``. ``twice`` is ignored (it is defined for uniform clips).
    * ``random`` ("both"): the dense clips, then the uniform centre clip, then the twice clip.

    Args:
        num_frames: N >= 1. num_segments: T >= 1. new_length: l >= 1 (uniform clips only).
        mode: ``uniform`` | ``dense`` | ``random``.
        dense_length: L >= T. dense_number: n >= 1 dense clips. twice: add the half-shifted clip.

    Returns:
        int64 (V, T), 0-based starts in ``[0, N - 1]``.

    Raises:
        ValueError: an argument out of range.
    """
    _check(num_frames, num_segments, new_length, mode, dense_length)
    if int(dense_number) != dense_number or dense_number < 1:
        raise ValueError(f"dense_number={dense_number!r} must be an integer >= 1")
    n, t, l = int(num_frames), int(num_segments), int(new_length)
    clips: list[np.ndarray] = []
    if mode in ("dense", "random"):
        clips += _test_dense(n, t, int(dense_length), int(dense_number))
    if mode in ("uniform", "random"):
        clips += _test_uniform(n, t, l, bool(twice))
    return np.stack(clips).astype(np.int64)


def expand_segments(starts: np.ndarray, new_length: int, num_frames: int) -> np.ndarray:
    """The ``l`` consecutive frames read from each segment start, clamped at the last frame.

    Args:
        starts: int (..., T), 0-based starts.
        new_length: l >= 1.
        num_frames: N >= 1 frames of the modality read.

    Returns:
        int64 (..., T, l): ``min(start + j, N - 1)`` for ``j`` in ``0..l-1`` (and >= 0).
    """
    if new_length < 1 or num_frames < 1:
        raise ValueError(f"new_length={new_length} and num_frames={num_frames} must be >= 1")
    idx = np.asarray(starts, dtype=np.int64)[..., None] + np.arange(new_length, dtype=np.int64)
    np.minimum(idx, num_frames - 1, out=idx)
    np.maximum(idx, 0, out=idx)
    return idx


def base_geometry(frame_counts: Mapping[str, int], new_lengths: Mapping[str, int]) -> tuple[int, int]:
    """``(N_min, l_max)``: the frame count and window length the shared base offsets use.

    The base is drawn on the modality with the fewest frames (Flow: N - 1) with the longest
    window of the peers, so every peer's window fits the video whenever it can.
    """
    if not frame_counts:
        raise ValueError("frame_counts is empty: give at least one modality")
    return min(int(v) for v in frame_counts.values()), max(int(new_lengths[m]) for m in frame_counts)


def modality_indices(base: np.ndarray, frame_counts: Mapping[str, int],
                     new_lengths: Mapping[str, int]) -> dict[str, np.ndarray]:
    """The multi-modal rule: every peer reads the same base offsets, expanded and clamped.

    method.md: the released code draws one base offset vector on ``N_min`` frames and adds, per
    modality, a constant shift in ``[0, N_m - N_min]``. mmlkit always picks the shift **0**
    (deterministic): flow frame ``i`` is the motion from RGB frame ``i`` to ``i + 1``, so with
    shift 0 RGB frame ``i``, the flow window starting at ``i`` and the RGBDiff window starting at
    ``i`` all describe the same instant; ``RGB,RGB`` peers get identical inputs.

    Args:
        base: int64 (..., T) offsets drawn with :func:`train_indices` / :func:`test_indices` on
            ``base_geometry(...)``.
        frame_counts: modality -> N_m (>= the N_min the base was drawn on).
        new_lengths: modality -> l_m.

    Returns:
        modality -> int64 (..., T, l_m), 0-based, each in ``[0, N_m - 1]``.
    """
    return {m: expand_segments(base, int(new_lengths[m]), int(n)) for m, n in frame_counts.items()}

