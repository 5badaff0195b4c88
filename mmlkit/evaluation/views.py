"""Test view plans: how many clips x crops a video is scored on, and what each view is.

The dataset (``mmlkit.data``, ``train=False``) produces the views; this module only computes
their counts and names from an :class:`~mmlkit.config.EvalConfig`, so that the evaluation can
check what it receives and label what it stores.

View order (method.md, the released test script): clip-major, then crop,
``v = clip * n_crops + crop`` (0-based).

Clips, in this order:

* ``uniform``: the centre clip ``"uniform"``; with ``twice`` also ``"twice"`` (shifted by
  half a segment).
* ``dense``: ``dense_number`` clips ``"dense0" .. "dense{n-1}"`` (``twice`` does not apply to
  dense mode and is ignored, as in the released code where dense sampling takes precedence).
* ``random`` ("both"): the ``n`` dense clips, then the uniform centre clip, then (``twice``)
  the shifted clip.

Crops, in this order (``full_res`` crops ``scale_size`` pixels instead of ``input_size``):
1 ``centre``; 3 ``start, centre, end`` along the long side; 5 the four corners and the centre;
10 those five and their horizontal mirrors.

Short videos: a plan never fails on a short video. The samplers (``mmlkit.data.sampling``)
clamp every index to ``[0, N - 1]`` (a uniform clip of a video with ``N <= T + l - 1`` frames
takes frame 0 for every segment; dense clips wrap modulo ``N``; reading the ``l`` consecutive
frames of a segment clamps at the last frame). :func:`frames_needed` gives the number of frames
a plan needs to avoid that, so a caller can count or warn about such videos.
"""

from __future__ import annotations

from dataclasses import dataclass

from mmlkit.config import NEW_LENGTH, DataConfig, EvalConfig
from mmlkit.errors import MmlkitError

CROP_NAMES: dict[int, tuple[str, ...]] = {
    1: ("centre",),
    3: ("start", "centre", "end"),
    5: ("top_left", "top_right", "bottom_left", "bottom_right", "centre"),
    10: ("top_left", "top_right", "bottom_left", "bottom_right", "centre",
         "top_left_flip", "top_right_flip", "bottom_left_flip", "bottom_right_flip", "centre_flip"),
}


class ViewPlanError(MmlkitError):
    """A batch of test views does not match the view plan the evaluation expected."""


@dataclass(frozen=True)
class ViewPlan:
    """Counts and names of the test views of one video.

    Attributes:
        num_segments: T, segments per clip at test time.
        clip_names: one name per temporal clip, in dataset order.
        crop_names: one name per spatial crop, in dataset order.
        full_res: crops are ``scale_size`` wide instead of ``input_size``.
    """

    num_segments: int
    clip_names: tuple[str, ...]
    crop_names: tuple[str, ...]
    full_res: bool = False

    @property
    def n_clips(self) -> int:
        return len(self.clip_names)

    @property
    def n_crops(self) -> int:
        return len(self.crop_names)

    @property
    def n_views(self) -> int:
        """V = n_clips * n_crops."""
        return self.n_clips * self.n_crops

    @property
    def names(self) -> tuple[str, ...]:
        """``"clip/crop"`` for each view ``v = clip * n_crops + crop``."""
        return tuple(f"{c}/{k}" for c in self.clip_names for k in self.crop_names)

    @property
    def key(self) -> str:
        """A short file-name-safe name of the plan, e.g. ``t8_3crop-full_2clip-uniform-twice``."""
        clips = "-".join(dict.fromkeys(c.rstrip("0123456789") for c in self.clip_names))
        full = "-full" if self.full_res else ""
        return f"t{self.num_segments}_{self.n_crops}crop{full}_{self.n_clips}clip-{clips}"

    def view_index(self, clip: int, crop: int) -> int:
        """0-based view index of ``(clip, crop)``."""
        assert 0 <= clip < self.n_clips and 0 <= crop < self.n_crops
        return clip * self.n_crops + crop

    def check(self, shape: tuple[int, ...], what: str = "test batch") -> None:
        """Check that a test tensor of shape ``(B, V, T, C, H, W)`` matches the plan.

        Raises:
            ViewPlanError: wrong rank, V or T; the message gives both plans.
        """
        if len(shape) != 6:
            raise ViewPlanError(f"{what}: expected a (B, V, T, C, H, W) tensor, got shape {tuple(shape)}")
        _, v, t = shape[:3]
        if v != self.n_views or t != self.num_segments:
            raise ViewPlanError(
                f"{what}: got V={v} views of T={t} segments, but the view plan {self.key} expects "
                f"V={self.n_views} ({self.n_clips} clips x {self.n_crops} crops) of T={self.num_segments}; "
                "build the dataset with the same EvalConfig as the view plan")


def _segments(num_segments: int | DataConfig) -> int:
    return num_segments.num_segments if isinstance(num_segments, DataConfig) else int(num_segments)


def clip_names(eval_cfg: EvalConfig) -> tuple[str, ...]:
    """Names of the temporal clips of ``eval_cfg``, in dataset order (see module docstring)."""
    dense = tuple(f"dense{i}" for i in range(eval_cfg.dense_number))
    if eval_cfg.mode == "dense":
        return dense
    uniform = ("uniform", "twice") if eval_cfg.twice else ("uniform",)
    if eval_cfg.mode == "uniform":
        return uniform
    return dense + uniform  # random ("both")


def view_plan(eval_cfg: EvalConfig, num_segments: int | DataConfig) -> ViewPlan:
    """The view plan of ``eval_cfg``.

    Args:
        eval_cfg: test views.
        num_segments: the training segment count T (or the run's DataConfig); replaced by
            ``eval_cfg.test_segments`` when that is set.

    Returns:
        ViewPlan with ``n_clips * n_crops`` views, clip-major.
    """
    t = eval_cfg.test_segments if eval_cfg.test_segments is not None else _segments(num_segments)
    return ViewPlan(num_segments=t, clip_names=clip_names(eval_cfg),
                    crop_names=CROP_NAMES[eval_cfg.test_crops], full_res=eval_cfg.full_res)


def frames_needed(eval_cfg: EvalConfig, num_segments: int | DataConfig, modality: str = "RGB") -> int:
    """The fewest frames a video needs so that no view of the plan clamps or wraps.

    Uniform clips need ``N > T + l - 1`` (``l`` frames per segment: 1 RGB, 5 Flow, 6 RGBDiff);
    dense clips span ``dense_length`` frames plus ``l - 1``. Shorter videos are still scored
    (indices are clamped, see the module docstring). Counts are in the modality's own frames
    (a video of N RGB frames has N - 1 flow frames).
    """
    t = view_plan(eval_cfg, num_segments).num_segments
    length = NEW_LENGTH[modality]
    need = []
    if eval_cfg.mode in ("uniform", "random"):
        need.append(t + length)
    if eval_cfg.mode in ("dense", "random"):
        need.append(eval_cfg.dense_length + length - 1)
    return max(need)
