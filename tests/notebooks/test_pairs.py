"""Each notebook is a jupytext pair: notebooks/<name>.py (the source) and <name>.ipynb (what
papermill and nbval run). They must hold the same cells; the .ipynb carries no outputs except
nbval's reference cells. After editing a .py: `.venv/bin/python tools/sync_notebooks.py`."""

from __future__ import annotations

import json
from pathlib import Path

import jupytext
import nbformat
import pytest

NB = Path(__file__).resolve().parents[2] / "notebooks"
NAMES = sorted(p.stem for p in NB.glob("*.ipynb"))
CHECK = "# NBVAL_CHECK_OUTPUT"


def _cells(nb) -> list[tuple[str, str, tuple, str]]:
    return [(c.cell_type, c.source.strip(), tuple(c.metadata.get("tags", ())),
             json.dumps(c.metadata.get("mystnb", {}), sort_keys=True)) for c in nb.cells]


def test_every_notebook_is_a_pair():
    assert NAMES, "no notebooks found"
    assert sorted(p.stem for p in NB.glob("*.py")) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_pair_holds_the_same_cells(name):
    py, ipynb = jupytext.read(NB / f"{name}.py"), nbformat.read(NB / f"{name}.ipynb", as_version=4)
    got, want = _cells(ipynb), _cells(py)
    diff = [i for i, (a, b) in enumerate(zip(got, want)) if a != b]
    assert len(got) == len(want) and not diff, (
        f"notebooks/{name}.ipynb differs from notebooks/{name}.py (cells {diff[:5]}, counts {len(got)} vs "
        f"{len(want)}): run `.venv/bin/python tools/sync_notebooks.py {name}`")


@pytest.mark.parametrize("name", NAMES)
def test_only_reference_cells_carry_outputs(name):
    nb = nbformat.read(NB / f"{name}.ipynb", as_version=4)
    for i, c in enumerate(nb.cells):
        if c.cell_type != "code":
            continue
        if c.source.startswith(CHECK):
            assert c.outputs and c.execution_count, f"{name} cell {i}: reference cell without its output"
        else:
            assert not c.outputs, f"{name} cell {i}: committed with outputs (executed copies go to papers_results/)"


def test_a_drifted_pair_is_caught(tmp_path):
    nb = nbformat.read(NB / f"{NAMES[0]}.ipynb", as_version=4)
    py = jupytext.read(NB / f"{NAMES[0]}.py")
    py.cells[-1].source += "\nprint('edited')"
    assert _cells(nb) != _cells(py)
