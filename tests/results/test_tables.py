import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mmlkit.results import paper
from mmlkit.results.tables import (claim_verdict, paired_difference, seed_summary, sign_test, t_quantile, t_sf2,
                                   to_markdown, write_table)


def test_t_distribution_matches_scipy():
    for df in (1, 2, 4, 9, 30):
        for t in (0.0, 0.3, 1.5, 4.0, 12.0):
            assert t_sf2(t, df) == pytest.approx(2 * stats.t.sf(t, df), abs=1e-9)
        assert t_quantile(0.975, df) == pytest.approx(stats.t.ppf(0.975, df), rel=1e-6)


def test_sign_test():
    assert sign_test([1, 2, 3]) == pytest.approx(0.25)
    assert sign_test([1, -1]) == 1.0
    assert sign_test([0, 0]) == 1.0
    assert sign_test([1] * 10) == pytest.approx(2 / 1024)


def test_seed_summary():
    df = pd.DataFrame({"exp": ["a", "a", "a", "b"], "seed": [0, 1, 2, 0], "top1": [50.0, 52.0, 54.0, 40.0]})
    s = seed_summary(df, "exp")
    assert list(s["exp"]) == ["a", "b"]
    assert s.loc[0, "mean"] == 52.0 and s.loc[0, "std"] == 2.0 and s.loc[0, "n"] == 3
    assert s.loc[0, "text"] == "52.0 ± 2.0" and s.loc[1, "text"] == "40.0" and math.isnan(s.loc[1, "std"])


def test_paired_difference_long_and_wide():
    df = pd.DataFrame({"experiment": ["MML"] * 3 + ["RGB"] * 3 + ["RGB"], "seed": [0, 1, 2, 0, 1, 2, 3],
                       "top1": [60.0, 63.0, 61.0, 55.0, 57.0, 58.0, 99.0]})
    r = paired_difference(df, "MML", "RGB", value="top1")
    assert r["n"] == 3 and r["diffs"] == {0: 5.0, 1: 6.0, 2: 3.0}
    assert r["mean"] == pytest.approx(14 / 3) and r["std"] == pytest.approx(np.std([5, 6, 3], ddof=1))
    ref = stats.ttest_rel([60, 63, 61], [55, 57, 58])
    assert r["t_p"] == pytest.approx(ref.pvalue, rel=1e-6)
    h = stats.t.ppf(0.975, 2) * r["std"] / math.sqrt(3)
    assert r["ci_low"] == pytest.approx(r["mean"] - h) and r["ci_high"] == pytest.approx(r["mean"] + h)
    assert r["sign_p"] == pytest.approx(0.25)
    assert r["boot_low"] <= r["mean"] <= r["boot_high"]
    assert claim_verdict(r) == "holds"
    wide = pd.DataFrame({"seed": [0, 1, 2], "MML": [60.0, 63.0, 61.0], "RGB": [55.0, 57.0, 58.0]})
    w = paired_difference(wide, "MML", "RGB")
    assert w["mean"] == r["mean"] and w["ci_low"] == pytest.approx(r["ci_low"])
    with pytest.raises(ValueError, match="no 'seed'"):
        paired_difference(df, "MML", "nothing", value="top1")


def test_claim_verdict():
    assert claim_verdict({"ci_low": 0.5, "ci_high": 3}) == "holds"
    assert claim_verdict({"ci_low": -3, "ci_high": -0.5}) == "does not hold"
    assert claim_verdict({"ci_low": -1, "ci_high": 2}) == "inconclusive"
    assert claim_verdict({"ci_low": 0.5, "ci_high": 0.9}, margin=1.0) == "does not hold"
    assert claim_verdict({"ci_low": float("nan"), "ci_high": float("nan")}) == "inconclusive"
    one = paired_difference(pd.DataFrame({"seed": [0], "a": [2.0], "b": [1.0]}), "a", "b")
    assert claim_verdict(one) == "inconclusive"


def test_markdown_and_write(tmp_path):
    df = pd.DataFrame({"name": ["a|b", "c"], "top1": [61.234, float("nan")], "n": [3, 2]})
    md = to_markdown(df)
    lines = md.strip().split("\n")
    assert lines[0].startswith("| name") and "a\\|b" in lines[2] and "61.2" in lines[2]
    assert lines[1].endswith(":|") and len({len(l) for l in lines}) == 1
    csv, mdp = write_table(df, tmp_path / "t", "acc")
    assert pd.read_csv(csv).shape == (2, 3) and mdp.read_text() == md


def test_paper_data():
    pub = paper.published_results()
    assert pub["source"].str.len().min() > 5
    mml = pub[pub["method"].str.startswith("MML")].iloc[0]
    assert (mml["top1"], mml["top5"]) == (69.1, 92.1)
    assert set(pub["top1"]) >= {61.2, 59.1, 61.8, 58.8}
    cl = paper.claims_frame()
    assert list(cl["id"]) == ["C1", "C2", "C3", "C4"] and cl["test"].str.len().min() > 20
