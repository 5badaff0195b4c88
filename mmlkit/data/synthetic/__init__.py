"""The embedded benchmark: a synthetic, Something-Something-like data set generated from a seed.

``generate`` writes the SSv2 release layout (``labels.json``, ``something-something-v2-{train,
validation,test}.json``, ``videos/<id>.webm`` as VP9 at 12 fps) plus ``synthetic.json`` and
``montage.png``, so the real loaders run on it unchanged. What makes SSv2 hard holds here too:

* the class lives in motion and temporal order, never in appearance: object shape, colours,
  texture, size, position, orientation and the background are drawn independently of the class,
  so a single frame cannot tell it;
* left/right pairs (templates that differ only by swapping the words "left" and "right"; a
  horizontal flip turns one into the other), time-reversed pairs (up/down, towards/away,
  covering/uncovering, appear/disappear, folding/unfolding, closer/apart, rotating left/right)
  and changes of state that are not a displacement (painting, stretching, squeezing, tearing),
  so appearance and motion carry different evidence;
* nuisance: camera shake, a distractor object in about half the clips, pixel noise, random
  speed, easing, duration (24-60 frames) and start of the action within the clip.

Every clip is rendered from its own ``np.random.Generator`` seeded by ``(seed, split, index)``,
so the frames are identical whatever the number of worker processes.

One concern per module; everything is re-exported here (``from mmlkit.data import synthetic``):

* :mod:`.presets`: ``CLASSES``, :class:`SynthPreset`, ``PRESETS``, :func:`get_preset`, :func:`clip_rng`;
* :mod:`.drawing`: colours, shapes, textures, coverage, compositing, backgrounds, noise;
* :mod:`.registry` and :mod:`.motions`: one motion per class template, and the time-reversed,
  left/right and state-change classes derived from the templates (never from class indices);
* :mod:`.render`: :func:`render_clip`, :func:`ground_truth_flow`;
* :mod:`.images`: :func:`render_images` (image pretraining), ``IMAGE_CLASSES``;
* :mod:`.plan`: which clip is which (split, index, class, id) and the SSv2 records;
* :mod:`.writer`: :func:`encode_webm`, :func:`generate`, :func:`ensure_synthetic`,
  :func:`is_complete`, :func:`default_root`;
* :mod:`.montage`: :func:`write_montage`.
"""

from __future__ import annotations

from mmlkit.data.synthetic.drawing import SHAPES
from mmlkit.data.synthetic.images import IMAGE_CLASSES, render_images
from mmlkit.data.synthetic.montage import write_montage
from mmlkit.data.synthetic.motions import LEFT_RIGHT_PAIRS, STATE_CHANGE_CLASSES, TIME_REVERSED_PAIRS
from mmlkit.data.synthetic.presets import (ADDITIVE_FIELDS, CLASSES, GENERATOR_VERSION, PRESETS, SPLITS, SynthPreset,
                                           clip_rng, get_preset, identity)
from mmlkit.data.synthetic.registry import (MOTIONS, STATES, Motion, Scene, get_motion, left_right_pairs, motion,
                                            state_change_classes, time_reversed_pairs)
from mmlkit.data.synthetic.render import ground_truth_flow, render_clip
from mmlkit.data.synthetic.writer import default_root, encode_webm, ensure_synthetic, generate, is_complete

# Private helpers, reachable here as before the split (tests, benchmarks and flow_quality use some).
from mmlkit.data.synthetic.drawing import _LUMA, _background, _colour, _coverage, _draw, _draw_look  # noqa: F401
from mmlkit.data.synthetic.drawing import _finish, _shape_field, _texture, _view  # noqa: F401
from mmlkit.data.synthetic.plan import _NOUNS, _clip_length, _fill, _placeholders, _plan  # noqa: F401
from mmlkit.data.synthetic.presets import _SPLIT_CODE  # noqa: F401
from mmlkit.data.synthetic.registry import _hand_spec  # noqa: F401
from mmlkit.data.synthetic.render import _progress  # noqa: F401
from mmlkit.data.synthetic.writer import _WEBM_MAGIC, _check_meta, _dump, _read_meta, _valid_video  # noqa: F401
from mmlkit.data.synthetic.writer import _write_clip  # noqa: F401

__all__ = [
    "CLASSES", "GENERATOR_VERSION", "IMAGE_CLASSES", "LEFT_RIGHT_PAIRS", "MOTIONS", "Motion", "PRESETS", "SHAPES",
    "SPLITS", "ADDITIVE_FIELDS", "identity", "STATES", "STATE_CHANGE_CLASSES", "Scene", "SynthPreset", "TIME_REVERSED_PAIRS", "clip_rng",
    "default_root", "encode_webm", "ensure_synthetic", "generate", "get_motion", "get_preset",
    "ground_truth_flow", "is_complete", "left_right_pairs", "motion", "render_clip", "render_images",
    "state_change_classes", "time_reversed_pairs", "write_montage",
]
