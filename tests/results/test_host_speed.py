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
