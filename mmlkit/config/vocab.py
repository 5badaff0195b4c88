"""The vocabulary: one table per concept (modalities, presets, sources, modes, formats), read
everywhere, the CLI's choices included; the config errors and the run name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# --------------------------------------------------------------------------------------------
# The vocabulary: one table per concept, read everywhere (the CLI's choices included).
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Modality:
    """What a modality reads from a video and what its network sees (method.md).

    Attributes:
        name: ``RGB`` | ``Flow`` | ``RGBDiff``.
        new_length: l, consecutive frames read per segment.
        source: the stored frames it reads: ``rgb`` (decoded video) or ``flow`` (N - 1 frames).
        frame_channels: channels of one stored frame (RGB 3, flow x/y 2).
        input_channels: channels per segment the network receives (``l * frame_channels``).
        conv1_channels: input channels of the first convolution (RGBDiff differences its 6
            frames into 5 inside the model: 15).
    """

    name: str
    new_length: int
    source: str
    frame_channels: int
    input_channels: int
    conv1_channels: int


MODALITY_SPECS: dict[str, Modality] = {
    "RGB": Modality("RGB", new_length=1, source="rgb", frame_channels=3, input_channels=3, conv1_channels=3),
    "Flow": Modality("Flow", new_length=5, source="flow", frame_channels=2, input_channels=10, conv1_channels=10),
    "RGBDiff": Modality("RGBDiff", new_length=6, source="rgb", frame_channels=3, input_channels=18,
                        conv1_channels=15),
}
MODALITIES: tuple[str, ...] = tuple(MODALITY_SPECS)
#: Modality -> consecutive frames read per segment (``MODALITY_SPECS[m].new_length``).
NEW_LENGTH: dict[str, int] = {m: s.new_length for m, s in MODALITY_SPECS.items()}
PROFILES: tuple[str, ...] = ("smoke", "default", "paper")
#: Synthetic benchmark presets (``mmlkit.data.synthetic.PRESETS`` holds one of each).
SYNTH_PRESETS: tuple[str, ...] = ("smoke", "default", "large")
#: Where frames are read from (``DataConfig.source``).
SOURCES: tuple[str, ...] = ("auto", "packed", "video", "frames")
#: Training sampling modes and test clip modes (``mmlkit.data.sampling``).
SAMPLE_MODES: tuple[str, ...] = ("uniform", "dense", "random")
#: Optical-flow methods (``mmlkit.data.flow``; tvl1 needs opencv-contrib).
FLOW_METHODS: tuple[str, ...] = ("dis", "farneback", "tvl1")
#: Mutual loss modes (``mmlkit.losses.mutual_kl``).
MUTUAL_MODES: tuple[str, ...] = ("mean_logits", "per_peer")
SHIFT_PLACES: tuple[str, ...] = ("blockres", "block")
LR_TYPES: tuple[str, ...] = ("step", "cos")
#: Spatial crops per test clip (``mmlkit.evaluation.views.CROP_NAMES``).
TEST_CROPS: tuple[int, ...] = (1, 3, 5, 10)
#: Export formats (``mmlkit.evaluation.export``).
EXPORT_FORMATS: tuple[str, ...] = ("pt2", "onnx", "torchscript")
#: Seconds a torch.distributed collective waits for a dead or hung peer (the released code: an hour).
DIST_TIMEOUT_S: float = 300.0
ARCHS: tuple[str, ...] = (
    "resnet18", "resnet34", "resnet50", "resnet101", "mobilenet_v2", "resnet_tiny",
)


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the field, the value and what is allowed."""


def _check(cond: bool, msg: str) -> None:
    if not cond:
        raise ConfigError(msg)


def _choice(name: str, value: Any, allowed: tuple) -> None:
    _check(value in allowed, f"{name}={value!r} is not one of {list(allowed)}")


def parse_modalities(spec: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Parse ``"RGB,Flow"`` (the authors' CLI form) into ``("RGB", "Flow")``.

    Raises:
        ConfigError: an empty list or an unknown modality name (the message lists the known ones).
    """
    items = [s.strip() for s in spec.split(",")] if isinstance(spec, str) else list(spec)
    _check(len(items) > 0 and all(items), f"modalities={spec!r}: give a comma-separated list such as 'RGB,Flow'")
    for m in items:
        _check(m in NEW_LENGTH, f"unknown modality {m!r} in {spec!r}; known: {', '.join(MODALITIES)}")
    return tuple(items)


def model_name(index: int, modality: str) -> str:
    """``model{index}_{modality}``, e.g. ``model0_RGB``: the name of model ``index`` of a cohort and
    the stem of its files in a run folder (``model0_RGB.pt``, ``log_model0_RGB.csv``, ...)."""
    return f"model{index}_{modality}"


