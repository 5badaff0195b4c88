"""TSN/TSM models, temporal shift, backbones, checkpoints (ours and the released code's layout).

Public API::

    TSN, build_model, param_groups                       # mmlkit.models.tsn
    temporal_shift, temporal_pool, TemporalShift        # mmlkit.models.temporal_shift
    build_backbone, convert_conv1_weight, imagenet_file  # mmlkit.models.backbones
    save_checkpoint, read_checkpoint, load_checkpoint,
    to_official_state_dict, from_official_state_dict,
    init_from_checkpoint, weights_digest                 # mmlkit.models.checkpoint
"""

from mmlkit.models.backbones import (
    CONV1_CHANNELS, INPUT_CHANNELS, TinyResNet, build_backbone, convert_conv1_weight, imagenet_file,
)
from mmlkit.models.checkpoint import (
    from_official_state_dict, infer_meta, init_from_checkpoint, load_checkpoint, read_checkpoint,
    save_checkpoint, to_official_state_dict, weights_digest,
)
from mmlkit.models.temporal_shift import TemporalPool, TemporalShift, temporal_pool, temporal_shift
from mmlkit.models.tsn import TSN, build_model, param_groups, rgb_diff

__all__ = [
    "TSN", "build_model", "param_groups", "rgb_diff",
    "TemporalShift", "TemporalPool", "temporal_shift", "temporal_pool",
    "TinyResNet", "build_backbone", "convert_conv1_weight", "imagenet_file", "CONV1_CHANNELS", "INPUT_CHANNELS",
    "save_checkpoint", "read_checkpoint", "load_checkpoint", "to_official_state_dict",
    "from_official_state_dict", "infer_meta", "init_from_checkpoint", "weights_digest",
]
