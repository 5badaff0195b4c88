"""Make tests/training/training_fakes.py importable (also in spawned rank processes)."""

import sys
from pathlib import Path

_here = str(Path(__file__).resolve().parent)
if _here not in sys.path:
    sys.path.insert(0, _here)
