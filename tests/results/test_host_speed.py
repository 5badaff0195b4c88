"""The host-speed probe that timings.json records beside a run's wall time."""

import pytest
import torch

from mmlkit.config import ConfigError
from mmlkit.results.host_speed import train_clips_per_s


def test_probe_measures_a_positive_throughput_and_restores_the_thread_count():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        v = train_clips_per_s("smoke", steps=1, warmup=0)
        assert v > 0 and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_probe_rejects_no_steps_and_an_unknown_profile():
    with pytest.raises(ConfigError, match="steps=0"):
        train_clips_per_s("smoke", steps=0)
    with pytest.raises(ConfigError):
        train_clips_per_s("huge")


def test_probe_reports_the_fastest_step_not_the_median(monkeypatch):
    """A host slows some steps down now and then; the fastest step is what the CPU itself can do."""
    import mmlkit.results.host_speed as hs

    calls = []

    def fake_steps(model, opt, x, y, steps):
        calls.append(steps)
        return [0.5, 0.1, 0.3][:steps] if len(calls) > 1 else [9.9] * steps  # warm-up first, then timed

    monkeypatch.setattr(hs, "step_seconds", fake_steps)
    from mmlkit.config import profile
    batch = profile("smoke", modalities=("RGB",), device="cpu").optim.batch_size
    assert hs.train_clips_per_s("smoke", steps=3, warmup=2) == pytest.approx(batch / 0.1)
    assert calls == [2, 3]
