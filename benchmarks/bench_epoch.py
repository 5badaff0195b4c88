"""Where an epoch goes (issue 22, item 1): the training loop's own phase timers, per modality.

Trains each single-modality model of the profile, and the RGB,Flow cohort, for ``eval_freq + 1``
epochs on the profile's benchmark (validating after epoch ``eval_freq`` and after the last), and
reads the epoch log's columns (:data:`mmlkit.training.state.CSV_COLUMNS`): waiting for the batch
(``data``), forward passes and losses, backward passes, optimizer steps, validation, and the rest
of the epoch's wall time (loader set-up, metrics). The first epoch is left out of the shares (it
builds the datasets' caches and the allocator's pools), and a validation counts once per
``eval_freq`` epochs, as in the profile's schedule (:func:`epoch_shares`). One row per (setup,
phase): the share of the epoch's wall time in percent, with the seconds per epoch in the notes.

Beside it, side by side in the same run: the RGB model's epoch with its loader in one worker
process (``workers=1``: decoding overlaps the steps) against the in-process loader of the
profile, and whether the worker path's reruns train the same weights (:func:`workers_rows`).

Run it on a quiet host (nothing else on the cores): ``python -m benchmarks --only epoch``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch

import pandas as pd

from mmlkit.config import profile as profile_config
from mmlkit.config import with_overrides
from mmlkit.models import weights_digest
from mmlkit.training import train
from mmlkit.training.loop import PHASES

SETUPS: tuple[tuple[str, ...], ...] = (("RGB",), ("Flow",), ("RGBDiff",), ("RGB", "Flow"))


def epoch_shares(log: pd.DataFrame, eval_freq: int) -> dict[str, float]:
    """Seconds per epoch of each phase and of the rest, at the schedule's rate of validation.

    The training phases and the rest are averaged over the log's epochs. Validation is the mean
    ``val_s`` of the epochs that validated, spread over ``eval_freq`` epochs: a short run
    validates at its last epoch too (``eval_freq + 1`` epochs hold two validations in the four
    kept here, twice the schedule's one in four), so averaging ``val_s`` over the epochs would
    count validation twice as often as a run of the profile's schedule does.

    Args:
        log: one row per epoch, ``seconds`` and the ``<phase>_s`` columns of
            :data:`mmlkit.training.loop.PHASES` (``val_s`` 0 or NaN where none ran).
        eval_freq: validations come every this many epochs in the schedule.
    """
    val = log["val_s"].fillna(0)
    validated = val[val > 0]
    out = {p: float(log[f"{p}_s"].fillna(0).mean()) for p in PHASES if p != "val"}
    out["val"] = float(validated.mean()) / eval_freq if len(validated) else 0.0
    out["epoch"] = float((log["seconds"] - val).mean()) + out["val"]
    out["rest"] = max(0.0, out["epoch"] - sum(out[p] for p in PHASES))
    return out


def _weights_digest(path: Path) -> str:
    state = torch.load(path, map_location="cpu", weights_only=False)
    return weights_digest(state.get("state_dict", state))[:16]


def workers_rows(profile: str) -> list[dict]:
    """The RGB epoch with the loader in-process (``workers=0``, the profile's) and in one worker
    process (``workers=1``, twice): the time ratio, and whether the worker path's reruns train
    the same weights (the rule for keeping a faster path). Since 0.3 both paths read
    :class:`mmlkit.data.dataset.EpochOrder`, so they train the same weights too (before, the
    progress bar's dropped iterator gave the worker path another order)."""
    got = []
    for workers in (0, 1, 1):
        cfg = profile_config(profile, modalities=("RGB",), device="cpu")
        cfg = with_overrides(cfg, optim={"epochs": max(2, cfg.eval_freq + 1)}, data={"workers": workers})
        with tempfile.TemporaryDirectory() as tmp:
            train(cfg, Path(tmp), progress=False)
            log = pd.read_csv(Path(tmp) / "log_model0_RGB.csv").iloc[1:]
            got.append((float(log["seconds"].mean()), _weights_digest(Path(tmp) / "model0_RGB.pt")))
    (t0, d0), (t1, d1), (t2, d2) = got
    return [{"name": "RGB epoch, loader in 1 worker / in-process", "value": (t1 + t2) / 2 / t0, "unit": "x time",
             "notes": f"{(t1 + t2) / 2:.2f} s vs {t0:.2f} s per epoch ({profile} profile); the worker path's two "
                      f"runs {'agree' if d1 == d2 else 'DIFFER'}; in-process vs worker weights "
                      f"{'agree' if d0 == d1 else 'differ'}", "ok": d0 == d1 == d2, "target": "the in-process bits"}]


_TRAIN_ONE = r"""
import sys, tempfile, time
from pathlib import Path
from mmlkit.config import profile as profile_config, with_overrides
from mmlkit.training import train
cfg = profile_config("{profile}", modalities=("RGB",), device="cpu")
cfg = with_overrides(cfg, seed={seed}, threads={threads}, optim={{"epochs": {epochs}}})
with tempfile.TemporaryDirectory() as tmp:
    train(cfg, Path(tmp), progress=False)
"""


def layout_rows(profile: str, epochs: int) -> list[dict]:
    """Two training runs (RGB, seeds 0 and 1) one after the other with 2 threads each (the
    profile's layout), against both at once in two processes of 1 thread each: the wall-time
    ratio, i.e. what running independent runs side by side would win on this machine."""
    import subprocess
    import sys
    import time

    def launch(seed: int, threads: int) -> subprocess.Popen:
        code = _TRAIN_ONE.format(profile=profile, seed=seed, threads=threads, epochs=epochs)
        return subprocess.Popen([sys.executable, "-c", code])

    t0 = time.perf_counter()
    for seed in (0, 1):
        launch(seed, 2).wait()
    serial = time.perf_counter() - t0
    t0 = time.perf_counter()
    procs = [launch(seed, 1) for seed in (0, 1)]
    codes = [p.wait() for p in procs]
    side = time.perf_counter() - t0
    assert codes == [0, 0], f"a training process failed: {codes}"
    return [{"name": "2 RGB runs: side by side (2 x 1 thread) / one after the other (2 threads)",
             "value": side / serial, "unit": "x time",
             "notes": f"{side:.1f} s vs {serial:.1f} s for two {epochs}-epoch runs ({profile} profile, process "
                      "start and data set-up included)"}]


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
        t = epoch_shares(log, cfg.eval_freq)
        name = ",".join(mods)
        for phase in (*PHASES, "rest"):
            out.append({"name": f"{name}: {phase}", "value": 100.0 * t[phase] / t["epoch"], "unit": "% of epoch",
                        "notes": f"{t[phase]:.2f} s of {t['epoch']:.2f} s per epoch ({profile} profile, "
                                 f"{len(log)} epochs, validation every {cfg.eval_freq}: its mean time "
                                 f"/ {cfg.eval_freq} per epoch)"})
    return out + workers_rows(profile) + layout_rows(profile, 2 if quick else 10)
