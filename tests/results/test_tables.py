import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mmlkit.results import paper
from mmlkit.results import tables
from mmlkit.results.tables import claim_verdict, paired_difference, seed_summary, sign_test, to_markdown, write_table


def test_t_interval_by_hand():
    # diffs 5, 6, 3 (n = 3, df = 2): mean 14/3, std sqrt(7/3)
    wide = pd.DataFrame({"seed": [0, 1, 2], "a": [65.0, 66.0, 63.0], "b": [60.0, 60.0, 60.0]})
    r = paired_difference(wide, "a", "b")
    mean, se = 14 / 3, math.sqrt(7 / 3) / math.sqrt(3)
    # Student t with 2 df has F(t) = 1/2 + t / (2 sqrt(2 + t^2)): F(t) = 0.975 at t^2 = 2 q^2 / (1 - q^2), q = 0.95
    t975 = math.sqrt(2 * 0.95 ** 2 / (1 - 0.95 ** 2))
    assert t975 == pytest.approx(stats.t.ppf(0.975, 2), rel=1e-12)
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((mean - t975 * se, mean + t975 * se), rel=1e-12)
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((0.8721, 8.4612), abs=1e-4)
    t = mean / se  # two-sided p = 1 - |t| / sqrt(2 + t^2) for 2 df
    assert r["t_p"] == pytest.approx(1 - t / math.sqrt(2 + t * t), rel=1e-9)
    r90 = paired_difference(wide, "a", "b", alpha=0.10)
    assert r90["ci_high"] - mean == pytest.approx(stats.t.ppf(0.95, 2) * se, rel=1e-12)
    # our own t distribution is gone: scipy's is the only one
    for name in ("t_sf2", "t_quantile", "_betainc", "_betacf"):
        assert not hasattr(tables, name)


def test_sign_test():
    assert sign_test([1, 2, 3]) == pytest.approx(0.25)
    assert sign_test([1, -1]) == 1.0
    assert sign_test([0, 0]) == 1.0
    assert sign_test([1] * 10) == pytest.approx(2 / 1024)
    assert sign_test([1, 1, 1, -1, 1, 0]) == pytest.approx(2 * (1 + 5) / 32)  # zeros are dropped
    assert sign_test([-2, -1, -3, 0.5]) == pytest.approx(stats.binomtest(1, 4).pvalue)


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
