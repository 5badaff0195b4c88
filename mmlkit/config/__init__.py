"""Frozen, validated configuration dataclasses, the vocabulary and the three profiles.

One namespace, three modules: ``vocab.py`` (one table per concept: modalities, presets, sources,
modes, formats; the config errors; the run name), ``schema.py`` (the dataclasses) and
``profiles.py`` (the profiles' numbers and the schedules). Import from ``mmlkit.config``.

This is the only module that holds defaults. Every other module takes the config pieces it
uses as arguments; only ``cli.py`` reads argv. Environment variables are read in four places,
each for the ecosystem's convention rather than a setting of a run: ``MMLKIT_CACHE`` (where the
synthetic benchmark is generated, ``data/synthetic/writer.py``), torchrun's ``RANK``/``WORLD_SIZE``/
``LOCAL_RANK`` (``training/distributed.py``, ``cli.py``), ``MMLKIT_PROFILE`` (the notebooks'
parameters cells, so that nbval runs them in the smoke profile) and ``MMLKIT_PROGRESS`` (bars or
summary lines, ``progress.py``).

The profiles (``smoke`` | ``default`` | ``paper``) share one code path and differ only in
numbers:

* ``smoke``   -- seconds; tests and nbval. Tiny synthetic data, tiny model, a few steps.
* ``default`` -- the embedded synthetic benchmark on a 2-core CPU (what ``./run_all.sh`` runs).
* ``paper``   -- real Something-Something-v2 with TSM ResNet-50 (TSM's SSv2 recipe).
"""
from __future__ import annotations

from mmlkit.config.vocab import (Modality, MODALITY_SPECS, MODALITIES, NEW_LENGTH, PROFILES, SYNTH_PRESETS, SOURCES,
                                 SAMPLE_MODES, FLOW_METHODS, MUTUAL_MODES, SHIFT_PLACES, LR_TYPES, TEST_CROPS,
                                 EXPORT_FORMATS, DIST_TIMEOUT_S, ARCHS, ConfigError, _check, _choice,
                                 parse_modalities, model_name)
from mmlkit.config.schema import (DataConfig, ModelConfig, OptimConfig, MutualConfig, PretrainConfig, EvalConfig,
                                  RunConfig, portable_path, store_path)
from mmlkit.config.profiles import (FINETUNE_EPOCHS, finetune_epochs, STAGE1_EPOCHS, stage1_epochs, scale_schedule,
                                    schedule_epochs, pretrain_profile, profile, with_overrides)

__all__ = [
    "ARCHS",
    "ConfigError",
    "DIST_TIMEOUT_S",
    "DataConfig",
    "EXPORT_FORMATS",
    "EvalConfig",
    "FINETUNE_EPOCHS",
    "FLOW_METHODS",
    "LR_TYPES",
    "MODALITIES",
    "MODALITY_SPECS",
    "MUTUAL_MODES",
    "Modality",
    "ModelConfig",
    "MutualConfig",
    "NEW_LENGTH",
    "OptimConfig",
    "PROFILES",
    "PretrainConfig",
    "RunConfig",
    "SAMPLE_MODES",
    "SHIFT_PLACES",
    "SOURCES",
    "STAGE1_EPOCHS",
    "SYNTH_PRESETS",
    "TEST_CROPS",
    "finetune_epochs",
    "model_name",
    "parse_modalities",
    "pretrain_profile",
    "portable_path",
    "profile",
    "scale_schedule",
    "schedule_epochs",
    "stage1_epochs",
    "store_path",
    "with_overrides",
]
