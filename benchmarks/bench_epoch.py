"""Where an epoch goes (issue 22, item 1): the training loop's own phase timers, per modality.

Trains each single-modality model of the profile, and the RGB,Flow cohort, for ``eval_freq``
epochs (one validation, so the shares are those of the real schedule) on the profile's benchmark,
and reads the epoch log's columns (:data:`mmlkit.training.state.CSV_COLUMNS`): waiting for the
batch (``data``), forward passes and losses, backward passes, optimizer steps, validation, and
the rest of the epoch's wall time (loader set-up, metrics). The first epoch is left out of the
shares (it builds the datasets' caches and the allocator's pools). One row per (setup, phase):
the share of the epoch's wall time in percent, with the seconds per epoch in the notes.

Run it on a quiet host (nothing else on the cores): ``python -m benchmarks --only epoch``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd

from mmlkit.config import profile as profile_config
from mmlkit.config import with_overrides
from mmlkit.training import train
from mmlkit.training.loop import PHASES

SETUPS: tuple[tuple[str, ...], ...] = (("RGB",), ("Flow",), ("RGBDiff",), ("RGB", "Flow"))


def epoch_shares(log: pd.DataFrame) -> dict[str, float]:
    """Seconds per epoch of each phase and of the rest, averaged over the log's epochs."""
    out = {p: float(log[f"{p}_s"].fillna(0).mean()) for p in PHASES}
    out["epoch"] = float(log["seconds"].mean())
    out["rest"] = max(0.0, out["epoch"] - sum(out[p] for p in PHASES))
    return out


def rows(quick: bool) -> list[dict]:
    profile = "smoke" if quick else "default"
    out: list[dict] = []
    for mods in SETUPS[:1] if quick else SETUPS:
        cfg = profile_config(profile, modalities=mods, device="cpu")
        epochs = max(2, cfg.eval_freq + 1)  # the first epoch is dropped; eval_freq more hold one validation
        cfg = with_overrides(cfg, optim={"epochs": epochs})
        with tempfile.TemporaryDirectory() as tmp:
            train(cfg, Path(tmp), progress=False)
            log = pd.read_csv(Path(tmp) / f"log_model0_{mods[0]}.csv").iloc[1:]
        t = epoch_shares(log)
        name = ",".join(mods)
        for phase in (*PHASES, "rest"):
            out.append({"name": f"{name}: {phase}", "value": 100.0 * t[phase] / t["epoch"], "unit": "% of epoch",
                        "notes": f"{t[phase]:.2f} s of {t['epoch']:.2f} s per epoch ({profile} profile, "
                                 f"{len(log)} epochs, validation every {cfg.eval_freq})"})
    return out
