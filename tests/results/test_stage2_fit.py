"""tools/stage2_fit.py: the peer-fit evidence for a shorter stage 2 (smoke profile, one epoch)."""

import json

import pytest


@pytest.mark.slow
def test_reports_the_peer_fit_against_the_criterion(tmp_path, load_tool):
    tool = load_tool("stage2_fit")
    out = tmp_path / "out"
    assert tool.main(["Flow", "--epochs", "1", "--seeds", "0", "--profile", "smoke",
                      "--results-dir", str(tmp_path / "store"), "--out", str(out)]) == 0
    rows = json.loads((out / "stage2_fit.json").read_text())
    assert [(r["peer"], r["seed"], r["epochs"]) for r in rows] == [("Flow", 0, 1)]
    fit = rows[0]["peer train top-1"]
    assert 0 <= fit <= 100 and rows[0]["fits (>= 90)"] == ("yes" if fit >= tool.FIT else "NO")
    assert (tmp_path / "store" / "runs" / rows[0]["run"] / "done.json").exists()
    assert "| Flow |" in (out / "stage2_fit.md").read_text()
