"""Numbers published elsewhere, each with its source, and the paper's claims as data.

Nothing here is a number we measured. Every published number names where it was read
(``source``); the paper's own tables could not be read, so the only number for MML itself is
the one the Omnivore paper cites.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd

#: Published top-1/top-5 (percent) on Something-Something-v2 validation, with sources.
PUBLISHED: tuple[dict, ...] = (
    {"method": "MML (Komkov et al.)", "backbone": "ResNet-50 TSM", "frames": None, "views": "not stated",
     "top1": 69.1, "top5": 92.1,
     "source": "Omnivore (Girdhar et al., CVPR 2022), Table 6, citing MML",
     "note": "single model or ensemble not stated"},
    {"method": "TSM", "backbone": "ResNet-50", "frames": 8, "views": "full-res, 3 crops x 2 clips",
     "top1": 61.2, "top5": None, "source": "TSM README (mit-han-lab/temporal-shift-module), model zoo",
     "note": ""},
    {"method": "TSM", "backbone": "ResNet-50", "frames": 8, "views": "efficient protocol (1 crop x 1 clip)",
     "top1": 59.1, "top5": None, "source": "mmaction2 0.x TSM model zoo (SSv2)", "note": ""},
    {"method": "TSM", "backbone": "ResNet-50", "frames": 8, "views": "accurate protocol (3 crops x 2 clips)",
     "top1": 61.8, "top5": None, "source": "mmaction2 0.x TSM model zoo (SSv2)", "note": ""},
    {"method": "TSM", "backbone": "ResNet-50", "frames": 8, "views": "1 crop x 1 clip",
     "top1": 58.8, "top5": None, "source": "approximate; method.md (TSM/mmaction2 reports)",
     "note": "about 58.8"},
)


def published_results() -> pd.DataFrame:
    """:data:`PUBLISHED` as a DataFrame: method, backbone, frames, views, top1, top5, source, note."""
    return pd.DataFrame(list(PUBLISHED))


@dataclass(frozen=True)
class Claim:
    """One claim of the paper.

    Attributes:
        id: short key (``C1`` ...).
        text: the claim, as the paper's abstract/README states it.
        test: how mmlkit tests it (which runs, which paired difference).
        a, b: the experiment names of the paired difference ``a - b`` whose CI decides the verdict.
    """

    id: str
    text: str
    test: str
    a: str
    b: str


CLAIMS: tuple[Claim, ...] = (
    Claim("C1", "An RGB model ensembled with the same model trained on optical flow is clearly better than the "
                "RGB model alone (but several modalities at inference are expensive).",
          "Per seed: top-1 of the RGB+Flow logit ensemble minus top-1 of the RGB model (both trained alone "
          "from the same initialisation); paired over seeds.", "ensemble RGB+Flow", "RGB"),
    Claim("C2", "Proper initialisation improves single-modality models: starting from an RGB model already "
                "trained on the target dataset beats starting only from ImageNet.",
          "Per seed: a Flow (and RGB) model initialised from the trained RGB model minus the same model "
          "initialised from image pretraining; paired over seeds.", "Flow init RGB", "Flow init image"),
    Claim("C3", "Mutual modality learning (RGB and Flow trained together) improves the single RGB model, "
                "beyond plain mutual learning of two RGB models.",
          "Per seed: the RGB model of MML (RGB,Flow) minus the RGB model trained alone, and minus the best "
          "RGB model of ML (RGB,RGB); paired over seeds.", "MML RGB", "RGB"),
    Claim("C4", "Training with 'random' sampling (dense or uniform per clip) and testing with both uniform and "
                "dense views helps.",
          "Per seed: top-1 of an RGB model trained with random sampling, tested on the 'both' view plan, "
          "minus the uniform-trained model tested on the centre clip; paired over seeds.",
          "random/both", "uniform/centre"),
)


def claims_frame() -> pd.DataFrame:
    """:data:`CLAIMS` as a DataFrame (id, text, test, a, b)."""
    return pd.DataFrame([asdict(c) for c in CLAIMS])
