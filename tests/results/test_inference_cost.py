"""Accuracy against inference cost: the join of measured cost and stored accuracy."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from mmlkit.results import inference_cost as ic


def _doc():
    def r(system, flow, ms, stages):
        return {"case": "default", "system": system, "flow": flow, "median_ms": ms, "p90_ms": ms * 1.2,
                "throughput_videos_s": 1000 / ms, "batch": 4, "peak_mib": 400.0, "stages_ms": stages,
                "case_config": {"arch": "resnet_tiny", "num_segments": 8, "input_size": 32}}
    return {"meta": {}, "results": [
        r("RGB", None, 4.0, {"decode": 1.0, "preprocess": 0.5, "net RGB": 2.5}),
        r("RGB+Flow", "farneback", 10.0, {"decode": 2.0, "flow": 3.0, "net RGB": 2.5, "net Flow": 2.5}),
        r("RGB+Flow", "tvl1", 100.0, {"decode": 2.0, "flow": 93.0, "net RGB": 2.5, "net Flow": 2.5}),
        r("RGB+Flow+RGBDiff", "farneback", 14.0, {"decode": 2.0, "flow": 3.0})]}


def _acc():
    rows = []
    for exp, inf, vals in [("RGB alone", "RGB", (60, 62, 64)), ("MML RGB,Flow: RGB", "RGB", (61, 63, 65)),
                           ("RGB + Flow ensemble", "RGB+Flow", (70, 70, 70)),
                           ("RGB, both views", "RGB x2 views", (66, 66, 66)),
                           ("3 models", "RGB+Flow+RGBDiff", (72, 73, 74))]:
        rows += [{"experiment": exp, "seed": s, "top1": v, "inference": inf} for s, v in enumerate(vals)]
    return pd.DataFrame(rows)


def test_cost_table_ratios_and_stages():
    t = ic.cost_table(_doc())
    tvl1 = t[(t.system == "RGB+Flow") & (t.flow == "tvl1")].iloc[0]
    assert tvl1["x RGB"] == 25.0 and tvl1["flow ms"] == 93.0 and tvl1["networks ms"] == 5.0
    assert t[t.system == "RGB"].iloc[0]["x RGB"] == 1.0


def test_accuracy_vs_cost_uses_the_training_flow_and_leaves_unmeasured_systems_out():
    table, fig = ic.accuracy_vs_cost(_acc(), _doc(), "default", "farneback")
    by = table.set_index("experiment")
    assert "RGB, both views" not in by.index                       # several views: no measured cost
    assert by.loc["RGB + Flow ensemble", "ms/video"] == 10.0       # farneback's, not tvl1's
    assert by.loc["3 models", "x RGB cost"] == 3.5
    assert by.loc["RGB alone", "top-1 mean (%)"] == 62 and by.loc["RGB alone", "top-1 std (%)"] == 2
    assert fig.axes[0].get_xscale() == "log"


def test_case_for_matches_the_model_only():
    assert ic.case_for(_doc(), "resnet_tiny", 8, 32) == "default"
    assert ic.case_for(_doc(), "resnet_tiny", 4, 32) is None
    assert ic.case_for(_doc(), "resnet50", 8, 32) is None


def test_load_cost_missing_and_broken(tmp_path):
    assert ic.load_cost(tmp_path / "none.json") is None
    bad = tmp_path / "inference.json"
    bad.write_text(json.dumps({"rows": []}))
    with pytest.raises(ValueError, match="inference.json: not an inference benchmark result"):
        ic.load_cost(bad)
    bad.write_text(json.dumps(_doc()))
    assert ic.load_cost(bad)["results"][0]["median_ms"] == 4.0
