"""The recipe notebook runs under papermill in the smoke profile on an SSv2-format folder given as a path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_recipe_notebook_on_an_ssv2_format_folder(tmp_path, monkeypatch):
    papermill = pytest.importorskip("papermill")
    from mmlkit.data import flow, synthetic

    # An SSv2-format fixture: labels.json, split JSONs and .webm videos, nothing else;
    # then what a user of real SSv2 does first: extract optical flow (and packed frames).
    root = synthetic.generate(tmp_path / "ssv2", preset="smoke", seed=3, workers=1, montage=False, pack=False)
    assert not (root / "packed").exists()
    rep = flow.extract_dataset(root, workers=1)
    assert not rep["failed"]

    out = tmp_path / "out.ipynb"
    monkeypatch.setenv("MMLKIT_PROFILE", "smoke")
    papermill.execute_notebook(str(REPO / "notebooks" / "mml_rgb_flow.ipynb"), str(out), kernel_name="mmlkit",
                               parameters={"profile": "smoke", "seeds": [0], "dataset": str(root),
                                           "results_dir": str(tmp_path / "results")},
                               cwd=str(REPO / "notebooks"), progress_bar=False)
    nb = json.loads(out.read_text())
    text = json.dumps([c.get("outputs", []) for c in nb["cells"]])
    assert "MML: RGB" in text
    runs = list((tmp_path / "results" / "runs").iterdir())
    assert runs, "no run was stored"
    cfg = json.loads((runs[0] / "config.json").read_text())
    assert cfg["data"]["dataset"] == str(root)
