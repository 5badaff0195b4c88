"""The process's torch thread count as part of a run's configuration.

Float sums (convolutions, matrix products) are split across threads, so the same run computes
slightly different weights with 1 and with 2 threads. Configs that fix ``threads`` therefore
set it for the duration of their work with :func:`torch_threads`.
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
