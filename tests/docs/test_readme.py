"""README's Python blocks run as a reader would paste them: in a fresh interpreter, in an empty folder."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def readme_blocks() -> list[str]:
    return BLOCK.findall((REPO / "README.md").read_text())


def test_readme_has_the_training_loop_block() -> None:
    blocks = readme_blocks()
    assert blocks, "README.md has no ```python block"
    names = {n.id for b in blocks for n in ast.walk(ast.parse(b)) if isinstance(n, ast.Name)}
    assert {"mutual_kl", "TSN", "train_indices", "test_indices"} <= names


def test_readme_python_blocks_run(tmp_path: Path) -> None:
    for i, block in enumerate(readme_blocks()):
        proc = subprocess.run([sys.executable, "-c", block], cwd=tmp_path, capture_output=True, text=True,
                              env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=300)
        assert proc.returncode == 0, f"README.md's python block {i} failed:\n{proc.stderr[-3000:]}"
