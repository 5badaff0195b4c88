"""Fixtures shared across the test folders."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# A process that takes the lock of argv[1] (``what`` argv[2], ``by`` argv[3] or none), says
# "locked", and holds it for a minute.
_HOLD = r"""
import sys, time
from mmlkit.runlock import run_lock
with run_lock(sys.argv[1], what=sys.argv[2], by=sys.argv[3] or None):
    print("locked", flush=True)
    time.sleep(60)
"""


@pytest.fixture
def lock_holder():
    """``start(folder, what="trained", by=None) -> Popen``: another process that holds ``folder``'s
    run lock (returned once it says so); killed (SIGKILL, no cleanup) at the end of the test, if
    the test has not killed it first."""
    procs: list[subprocess.Popen] = []

    def start(folder: Path, what: str = "trained", by: str | None = None) -> subprocess.Popen:
        p = subprocess.Popen([sys.executable, "-c", _HOLD, str(folder), what, by or ""], cwd=REPO, text=True,
                             stdout=subprocess.PIPE)
        procs.append(p)
        assert p.stdout.readline().strip() == "locked"
        return p

    yield start
    for p in procs:
        p.kill()
        p.wait()
        p.stdout.close()
