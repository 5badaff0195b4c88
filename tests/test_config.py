"""Frozen configs: validation on construction, profiles, overrides, serialisation."""

import dataclasses

import pytest

from mmlkit.config import (ConfigError, DataConfig, EvalConfig, ModelConfig, MutualConfig, OptimConfig,
                           RunConfig, parse_modalities, profile, scale_schedule, stage1_epochs, with_overrides)


def test_parse_modalities_authors_form():
    assert parse_modalities("RGB,Flow") == ("RGB", "Flow")
    assert parse_modalities("RGBDiff,Flow,RGB") == ("RGBDiff", "Flow", "RGB")
    assert parse_modalities(["RGB", "RGB"]) == ("RGB", "RGB")


@pytest.mark.parametrize("bad", ["", "RGB,", "rgb", "RGB,Depth"])
def test_parse_modalities_rejects(bad):
    with pytest.raises(ConfigError) as e:
        parse_modalities(bad)
    assert repr(bad) in str(e.value) or "modality" in str(e.value)


def test_configs_are_frozen():
    cfg = RunConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.seed = 3  # type: ignore[misc]


@pytest.mark.parametrize("make, field", [
    (lambda: DataConfig(sample="both"), "sample"),
    (lambda: DataConfig(dense_length=4, num_segments=8), "dense_length"),
    (lambda: DataConfig(dataset="somethingv2"), "root"),
    (lambda: DataConfig(input_size=64, scale_size=32), "scale_size"),
    (lambda: ModelConfig(arch="vgg16"), "arch"),
    (lambda: ModelConfig(shift_place="inplace"), "shift_place"),
    (lambda: OptimConfig(lr=0), "lr"),
    (lambda: OptimConfig(lr_type="poly"), "lr_type"),
    (lambda: OptimConfig(lr=float("inf")), "lr=inf"),
    (lambda: OptimConfig(momentum=1.0), "momentum=1.0"),
    (lambda: OptimConfig(momentum=-0.1), "momentum"),
    (lambda: OptimConfig(weight_decay=-1e-4), "weight_decay"),
    (lambda: OptimConfig(weight_decay=float("nan")), "weight_decay=nan"),
    (lambda: OptimConfig(lr_steps=(-1, 20)), "lr_steps"),
    (lambda: RunConfig(threads=0), "threads=0"),
    (lambda: MutualConfig(mode="sum"), "mode"),
    (lambda: EvalConfig(test_crops=4), "test_crops"),
    (lambda: RunConfig(device="tpu"), "device"),
])
def test_validation_names_the_field(make, field):
    with pytest.raises(ConfigError, match=field):
        make()


@pytest.mark.parametrize("name", ["smoke", "default", "paper"])
def test_profiles_build_and_round_trip(name):
    cfg = profile(name)
    assert RunConfig.from_dict(cfg.to_dict()) == cfg
    assert cfg.digest() == RunConfig.from_dict(cfg.to_dict()).digest()


def test_overrides_merge_nested_and_change_digest():
    base = profile("smoke")
    cfg = with_overrides(base, modalities=("RGB", "Flow"), data={"workers": 2}, seed=5)
    assert cfg.modalities == ("RGB", "Flow") and cfg.data.workers == 2 and cfg.seed == 5
    assert cfg.data.num_segments == base.data.num_segments
    assert cfg.digest() != base.digest()
    with pytest.raises(ConfigError, match="unknown data field"):
        with_overrides(base, data={"nope": 1})
    with pytest.raises(ConfigError, match="unknown RunConfig field"):
        profile("smoke", nope=1)


def test_from_dict_rejects_unknown_keys():
    d = profile("smoke").to_dict()
    d["model"]["depth"] = 3
    with pytest.raises(ConfigError, match="depth"):
        RunConfig.from_dict(d)


def test_scale_schedule_stretches_the_steps_and_stage1_epochs_default_to_the_profile():
    opt = OptimConfig(lr_steps=(20, 28), epochs=40, warmup_epochs=1.0)
    assert scale_schedule(opt, 40) is opt
    long = scale_schedule(opt, 80)
    assert (long.epochs, long.lr_steps, long.warmup_epochs, long.lr) == (80, (40, 56), 2.0, opt.lr)
    assert scale_schedule(opt, 4).lr_steps == (2, 3)
    with pytest.raises(ConfigError, match="epochs=0"):
        scale_schedule(opt, 0)
    assert stage1_epochs("default", "RGB") == profile("default").optim.epochs
    assert stage1_epochs("smoke", "Flow") == profile("smoke").optim.epochs
    with pytest.raises(ConfigError, match="profile"):
        stage1_epochs("nope", "RGB")


def test_schedule_epochs_is_the_one_rule_for_stage1_stage2_and_cohorts():
    from mmlkit.config import schedule_epochs
    assert schedule_epochs("default", ("Flow",), stage2=False) == 80       # stage 1: the modality's own
    assert schedule_epochs("default", ("RGB",), stage2=False) == 40
    assert schedule_epochs("default", ("RGB", "Flow"), stage2=False) is None  # a cohort from image weights
    assert schedule_epochs("default", ("RGB", "Flow"), stage2=True) == 80   # stage 2: the longest member
    assert schedule_epochs("default", ("RGB", "RGBDiff"), stage2=True) == 40
    assert schedule_epochs("default", ("RGB",), stage2=True, like=("RGB", "Flow")) == 80  # equal-epoch baseline
    assert schedule_epochs("smoke", ("RGB", "Flow"), stage2=True) == 1     # FINETUNE_EPOCHS overrides
    with pytest.raises(ConfigError, match="profile"):
        schedule_epochs("nope", ("RGB",), stage2=False)


def test_each_vocabulary_table_is_the_one_its_users_read():
    """One table per concept (config), read everywhere: the modules' own names are the same objects."""
    from mmlkit import config, losses
    from mmlkit.data import dataset, flow, sampling, synthetic, transforms
    from mmlkit.evaluation import views
    from mmlkit.evaluation.export import formats
    from mmlkit.models import backbones

    assert sampling.SAMPLE_MODES is config.SAMPLE_MODES and losses.MUTUAL_MODES is config.MUTUAL_MODES
    assert flow.METHODS is config.FLOW_METHODS and formats.FORMATS is config.EXPORT_FORMATS
    assert tuple(synthetic.PRESETS) == config.SYNTH_PRESETS
    assert tuple(views.CROP_NAMES) == config.TEST_CROPS
    for m, spec in config.MODALITY_SPECS.items():
        assert spec.input_channels == spec.new_length * spec.frame_channels
        assert backbones.CONV1_CHANNELS[m] == spec.conv1_channels and backbones.INPUT_CHANNELS[m] == spec.input_channels
        assert dataset.SOURCE_MODALITY[m] == ("Flow" if spec.source == "flow" else "RGB")
        assert transforms.input_normalization(m, spec.new_length)[0].__len__() == spec.input_channels


def test_cli_choices_come_from_the_tables():
    from mmlkit import cli, config

    parser = cli.build_parser()
    actions = {(sub, a.dest): a.choices for sub, sp in parser._subparsers._group_actions[0].choices.items()
               for a in sp._actions if a.choices is not None}
    assert actions[("train", "mutual_mode")] == config.MUTUAL_MODES
    assert actions[("flow", "method")] == config.FLOW_METHODS
    assert actions[("export", "format")] == config.EXPORT_FORMATS
    assert actions[("test", "test_crops")] == config.TEST_CROPS
