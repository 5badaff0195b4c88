"""mmlkit.results.precision: variance components, the seeds x videos interval, detectable effect,
the four verdicts, the seed rule, and a simulation of the whole procedure."""

import json
import math
import os

import numpy as np
import pytest
from scipy import stats

from mmlkit.results import precision as P


def _crossed(rng, ns=4, nv=300, mu=1.0, seed_sd=1.0, video_sd=8.0, resid_sd=30.0):
    return (mu + rng.normal(0, seed_sd, (ns, 1)) + rng.normal(0, video_sd, (1, nv))
            + rng.normal(0, resid_sd, (ns, nv)))


def _mean_squares_by_loops(x):
    """An independent re-implementation: sums of squares with explicit loops."""
    ns, nv = len(x), len(x[0])
    g = sum(sum(r) for r in x) / (ns * nv)
    rm = [sum(r) / nv for r in x]
    cm = [sum(x[s][v] for s in range(ns)) / ns for v in range(nv)]
    ss_s = nv * sum((m - g) ** 2 for m in rm)
    ss_v = ns * sum((m - g) ** 2 for m in cm)
    ss_e = sum((x[s][v] - rm[s] - cm[v] + g) ** 2 for s in range(ns) for v in range(nv))
    ss_t = sum((x[s][v] - g) ** 2 for s in range(ns) for v in range(nv))
    return ss_s / (ns - 1), ss_v / (nv - 1), ss_e / ((ns - 1) * (nv - 1)), ss_s + ss_v + ss_e - ss_t


def test_components_match_sums_of_squares_by_loops():
    x = _crossed(np.random.default_rng(0), ns=3, nv=40)
    c = P.components(x)
    ms_s, ms_v, ms_e, gap = _mean_squares_by_loops(x.tolist())
    assert abs(gap) < 1e-6 * ms_e  # SS_total = SS_seed + SS_video + SS_resid
    assert c.ms_seed == pytest.approx(ms_s) and c.ms_video == pytest.approx(ms_v)
    assert c.ms_resid == pytest.approx(ms_e)
    assert c.seed == pytest.approx(max(ms_s - ms_e, 0) / 40) and c.video == pytest.approx(max(ms_v - ms_e, 0) / 3)


def test_components_recover_the_truth_on_a_large_matrix():
    c = P.components(_crossed(np.random.default_rng(1), ns=40, nv=2000, seed_sd=1.5, video_sd=6.0, resid_sd=20.0))
    assert c.seed == pytest.approx(1.5 ** 2, rel=0.5)
    assert c.video == pytest.approx(6.0 ** 2, rel=0.15)
    assert c.resid == pytest.approx(20.0 ** 2, rel=0.02)
    parts = c.split(n_videos=400)
    assert parts["evaluation"] == pytest.approx(math.sqrt((c.video + c.resid) / 400))
    assert parts["total"] ** 2 == pytest.approx(parts["training"] ** 2 + parts["evaluation"] ** 2)
    assert c.videos_for(0.5) == math.ceil((c.video + c.resid) / 0.25)


def test_interval_is_the_paired_t_interval_when_videos_add_nothing():
    rng = np.random.default_rng(2)
    x = 3.0 + rng.normal(0, 2.0, (5, 1)) + rng.normal(0, 10.0, (5, 200))  # no video effect
    c = P.components(x)
    if c.ms_video > c.ms_resid:  # make sure: remove the column means' excess
        x = x - x.mean(axis=0, keepdims=True) + x.mean()
        c = P.components(x)
    assert c.ms_seed >= c.ms_resid
    ci = P.interval(c)
    means = x.mean(axis=1)
    lo, hi = stats.t.interval(0.95, len(means) - 1, loc=means.mean(), scale=stats.sem(means))
    assert (ci["low"], ci["high"], ci["df"]) == pytest.approx((lo, hi, 4.0))


def test_interval_by_hand():
    # every video of a seed differs by that seed's difference: 5, 6, 3 points (n = 3, df = 2)
    x = np.repeat([[5.0], [6.0], [3.0]], 10, axis=1)
    ci = P.interval(P.components(x))
    mean, se = 14 / 3, math.sqrt(7 / 3) / math.sqrt(3)
    # Student t with 2 df: F(t) = 1/2 + t / (2 sqrt(2 + t^2)), so F(t) = 0.975 at t^2 = 2 q^2 / (1 - q^2), q = 0.95
    t975 = math.sqrt(2 * 0.95 ** 2 / (1 - 0.95 ** 2))
    assert (ci["low"], ci["high"]) == pytest.approx((mean - t975 * se, mean + t975 * se), rel=1e-9)
    assert (ci["low"], ci["high"]) == pytest.approx((0.8721, 8.4612), abs=1e-4)
    assert P.decide(x)["verdict"] == P.HOLDS


def test_interval_widens_with_a_shared_video_effect():
    rng = np.random.default_rng(3)
    base = _crossed(rng, ns=4, nv=300, video_sd=0.0)
    shared = base + rng.normal(0, 25.0, (1, 300))
    assert P.interval(P.components(shared))["se"] > P.interval(P.components(base))["se"]


def test_one_seed_has_no_interval():
    d = P.decide(np.ones((1, 10)))
    assert math.isnan(d["low"]) and d["verdict"] == P.INCONCLUSIVE and math.isnan(d["detectable"])


def test_bad_matrices_are_refused():
    with pytest.raises(ValueError, match="matrix"):
        P.components(np.ones(5))
    with pytest.raises(ValueError, match="NaN"):
        P.components(np.array([[1.0, np.nan], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="paired"):
        P.paired_matrix([np.ones(3)], [np.ones(4)])


def test_paired_matrix_is_points():
    m = P.paired_matrix([np.array([1, 0, 1], bool)], [np.array([0, 0, 1], bool)])
    assert m.tolist() == [[100.0, 0.0, 0.0]]


@pytest.mark.parametrize("low,high,want", [
    (0.2, 3.0, P.HOLDS), (0.2, 0.8, P.HOLDS), (-3.0, -0.1, P.OPPOSITE), (-0.9, 0.9, P.NO_EFFECT),
    (-1.2, 0.5, P.INCONCLUSIVE), (-0.5, 1.0, P.INCONCLUSIVE), (float("nan"), float("nan"), P.INCONCLUSIVE)])
def test_verdict_classes(low, high, want):
    assert P.verdict(low, high) == want


def test_tost_agrees_with_the_interval_inside_the_margin():
    rng = np.random.default_rng(4)
    for _ in range(50):
        mean, se, df = rng.normal(0, 0.8), rng.uniform(0.05, 0.6), rng.uniform(2, 50)
        half = stats.t.ppf(0.975, df) * se
        inside = -1 < mean - half and mean + half < 1
        assert (P.tost_p(mean, se, df) < 0.025) == inside


def test_detectable_effect_has_the_asked_power():
    assert P.detectable_effect(1.0, 1e7) == pytest.approx(stats.norm.ppf(0.975) + stats.norm.ppf(0.8), abs=1e-3)
    se, df = 0.7, 4.0
    d = P.detectable_effect(se, df)
    rng = np.random.default_rng(5)
    t = stats.nct.rvs(df, d / se, size=200_000, random_state=rng)
    assert np.mean(np.abs(t) > stats.t.ppf(0.975, df)) == pytest.approx(0.8, abs=0.005)
    assert P.detectable_effect(se, 20.0) < d  # more degrees of freedom, smaller detectable effect


def test_seed_rule_reads_variances_only():
    x = _crossed(np.random.default_rng(6), ns=3, nv=500)
    a, b = P.seeds_needed(P.components(x)), P.seeds_needed(P.components(x + 7.5))
    assert a.keys() == b.keys()  # shifting every difference (the effect) changes nothing
    for k in a:
        assert a[k] == (pytest.approx(b[k], rel=1e-9) if isinstance(a[k], float) else b[k]), k


def test_seed_rule_outcomes():
    rng = np.random.default_rng(7)
    quiet = P.seeds_needed(P.components(_crossed(rng, ns=3, nv=20_000, seed_sd=0.05, video_sd=0.0, resid_sd=10.0)))
    assert quiet["needed"] == 3 and not quiet["capped"] and "first stage suffices" in quiet["reason"]
    mid = P.seeds_needed(P.components(_crossed(rng, ns=3, nv=2000, seed_sd=0.8, video_sd=0.0, resid_sd=25.0)),
                         cap=40)
    assert 3 < mid["needed"] <= 40 and mid["planned_half"] <= 1.0
    capped = P.seeds_needed(P.components(_crossed(rng, ns=3, nv=500, seed_sd=5.0)), cap=6)
    assert capped["needed"] is None and capped["run"] == 6 and capped["capped"] and "cap binds" in capped["reason"]
    floor = P.seeds_needed(P.components(_crossed(rng, ns=3, nv=200, video_sd=60.0, resid_sd=1.0)))
    assert floor["capped"] and floor["floor"] > 1.0 and "more videos" in floor["reason"]
    one = P.seeds_needed(P.components(_crossed(rng, ns=1)))
    assert one["needed"] is None and one["run"] == 1 and ">= 2" in one["reason"]


def test_simulation_of_the_whole_procedure():
    """Two-stage seeds, seeds x videos interval and verdict, at true effects 0, +1, +2 points.

    2,000 replicates each: a coverage off by 2 points is 4 standard errors away. The power at
    +2 and the equivalence rate at 0 are printed (pytest -s) and written to
    $MMLKIT_SIMULATION_OUT when set (papers_results keeps the copy ./run_all.sh makes).
    """
    sim = P.simulate((0.0, 1.0, 2.0), reps=2000, rng=np.random.default_rng(2026))
    print(sim.to_string(index=False))
    for row in sim.itertuples():
        assert 0.93 <= row.coverage <= 0.97, f"coverage {row.coverage:.3f} at effect {row.effect}"
    at0, at2 = sim.iloc[0], sim.iloc[2]
    assert 0.015 <= at0["holds"] <= 0.04 and 0.015 <= at0["opposite"] <= 0.04
    assert at2["holds"] > 0.8  # the procedure aims at half-width 1: an effect of 2 is found
    out = os.environ.get("MMLKIT_SIMULATION_OUT")
    if out:
        with open(out, "w") as fh:
            json.dump(sim.to_dict(orient="records"), fh, indent=1)


def test_the_simulation_catches_a_wrong_procedure():
    """The same checks fail for a procedure that ignores the videos shared by every seed."""
    sim = P.simulate((0.0,), reps=400, rng=np.random.default_rng(1), video_sd=20.0, naive=True)
    assert sim.iloc[0]["coverage"] < 0.9
    right = P.simulate((0.0,), reps=400, rng=np.random.default_rng(1), video_sd=20.0)
    assert 0.92 <= right.iloc[0]["coverage"] <= 0.98
