import pytest

from mmlkit.config import DataConfig, EvalConfig
from mmlkit.evaluation.views import ViewPlanError, frames_needed, view_plan


@pytest.mark.parametrize("crops", [1, 3, 5, 10])
@pytest.mark.parametrize("mode,twice,dense_number,clips", [
    ("uniform", False, 1, ["uniform"]),
    ("uniform", True, 1, ["uniform", "twice"]),
    ("dense", False, 1, ["dense0"]),
    ("dense", False, 3, ["dense0", "dense1", "dense2"]),
    ("dense", True, 2, ["dense0", "dense1"]),  # twice does not apply to dense mode
    ("random", False, 2, ["dense0", "dense1", "uniform"]),
    ("random", True, 2, ["dense0", "dense1", "uniform", "twice"]),
    ("random", True, 1, ["dense0", "uniform", "twice"]),
])
def test_counts_and_order(crops, mode, twice, dense_number, clips):
    p = view_plan(EvalConfig(test_crops=crops, mode=mode, twice=twice, dense_number=dense_number), 8)
    assert list(p.clip_names) == clips
    assert p.n_crops == crops and p.n_clips == len(clips) and p.n_views == crops * len(clips)
    # clip-major then crop: v = clip * n_crops + crop
    for c in range(p.n_clips):
        for k in range(p.n_crops):
            v = p.view_index(c, k)
            assert v == c * crops + k
            assert p.names[v] == f"{clips[c]}/{p.crop_names[k]}"
    assert len(set(p.names)) == p.n_views


def test_segments_and_key():
    assert view_plan(EvalConfig(), 8).num_segments == 8
    assert view_plan(EvalConfig(test_segments=16), 8).num_segments == 16
    assert view_plan(EvalConfig(), DataConfig(num_segments=4, dense_length=8)).num_segments == 4
    p = view_plan(EvalConfig(test_crops=3, full_res=True, twice=True), 8)
    assert p.key == "t8_3crop-full_2clip-uniform-twice"
    assert view_plan(EvalConfig(mode="random", dense_number=2), 8).key == "t8_1crop_3clip-dense-uniform"
    assert view_plan(EvalConfig(test_crops=10), 8).crop_names[5:] == tuple(
        n + "_flip" for n in view_plan(EvalConfig(test_crops=5), 8).crop_names)


def test_check_shape():
    p = view_plan(EvalConfig(test_crops=3, twice=True), 8)
    p.check((2, 6, 8, 3, 32, 32))
    with pytest.raises(ViewPlanError, match="V=6"):
        p.check((2, 3, 8, 3, 32, 32))
    with pytest.raises(ViewPlanError, match="T=8"):
        p.check((2, 6, 4, 3, 32, 32))
    with pytest.raises(ViewPlanError, match="B, V, T"):
        p.check((2, 8, 3, 32, 32))


def test_frames_needed():
    assert frames_needed(EvalConfig(), 8) == 9  # N > T + l - 1
    assert frames_needed(EvalConfig(), 8, "Flow") == 13
    assert frames_needed(EvalConfig(mode="dense", dense_length=32), 8) == 32
    assert frames_needed(EvalConfig(mode="random", dense_length=32), 8, "RGBDiff") == 37
