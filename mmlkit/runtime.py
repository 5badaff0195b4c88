"""The process's resources as part of a run's configuration: the torch thread count, the device.

Float sums (convolutions, matrix products) are split across threads, so the same run computes
slightly different weights with 1 and with 2 threads. Configs that fix ``threads`` therefore
set it for the duration of their work with :func:`torch_threads`. :func:`check_device` refuses a
device this machine does not have before any work starts.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the body with ``torch.set_num_threads(n)``; restore the previous count afterwards.

    ``n=None`` leaves torch's choice untouched.
    """
    import torch

    if n is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def check_device(device: str) -> None:
    """Raise :class:`~mmlkit.config.ConfigError` when ``device`` (``cpu``, ``cuda``, ``cuda:N``) is
    not on this machine, with the flag that fixes it."""
    from mmlkit.config import ConfigError

    if not str(device).startswith("cuda"):
        return
    import torch

    if not torch.cuda.is_available():
        raise ConfigError(f"device={device!r}, but this machine has no CUDA device (torch.cuda.is_available() is "
                          "False); use --device cpu (device='cpu')")
    index = str(device).partition(":")[2]
    if index and (not index.isdigit() or int(index) >= torch.cuda.device_count()):
        raise ConfigError(f"device={device!r}, but this machine has {torch.cuda.device_count()} CUDA device(s) "
                          f"(cuda:0 .. cuda:{torch.cuda.device_count() - 1})")
