"""How precisely a paired comparison is measured, how many seeds it needs, and what it concludes.

A claim "A beats B" is judged on per-video results of both sides under several training seeds,
every seed scored on the same videos: ``x[s, v] = 100 * (correct_A[s, v] - correct_B[s, v])``, a
(seeds x videos) matrix in points. Seeds and videos are **crossed** random factors (the same
videos under every seed), so the paired difference has three variance components, estimated by
the two-way random-effects ANOVA without replication (expected mean squares; Searle, Casella &
McCulloch 1992, "Variance Components", ch. 4):

    x[s, v] = mu + a_s + b_v + e_sv        a ~ (0, seed), b ~ (0, video), e ~ (0, resid)

    MS_seed  = n_v * var_s(row means)      E = resid + n_v * seed
    MS_video = n_s * var_v(column means)   E = resid + n_s * video
    MS_resid = interaction mean square     E = resid

* ``seed``: the training part, how much the two models' accuracy gap moves with the seed;
* ``video``: the part of the gap that belongs to the videos themselves (some favour A under
  every seed), shared by every seed;
* ``resid``: the seed x video interaction (which model gets a video right depends on the seed).

One seed's difference on ``n_v`` videos varies by ``seed + (video + resid) / n_v``: the first term
is the training part, the second the evaluation-set part (:meth:`Components.split`). The mean
over ``n_s`` seeds has variance ``seed / n_s + video / n_v + resid / (n_s n_v)``, estimated by
``(max(MS_seed, MS_resid) + max(MS_video - MS_resid, 0)) / (n_s n_v)`` (components truncated at 0),
with Satterthwaite's degrees of freedom: :func:`interval`. When the videos add nothing this is
exactly the paired t interval over seeds.

A verdict (:func:`verdict`) is one of four classes, read from that 95% interval: ``holds`` (above
0), ``opposite holds`` (below 0), ``no effect of practical size`` (inside +-:data:`MARGIN`:
two one-sided tests at 2.5% each, the same 95% interval) or ``inconclusive``. Beside it,
:func:`detectable_effect` gives the smallest true effect the comparison would have found with
80% power, at its measured variance and seed count.

How many seeds (:func:`seeds_needed`): a two-stage rule fixed before any run (an internal pilot,
Wittes & Brittain 1990, in place of Stein's 1945 procedure, whose final interval keeps the first
stage's 2 degrees of freedom, t = 4.30, and so asks for about 4x the seeds for the same width).
From the first stage's mean squares only (never the difference itself) it takes the smallest
``n`` whose 95% half-width ``t(n-1) * sqrt(var_seed_mean / n + video_var)`` is at most
:data:`HALF_WIDTH`, capped; the final interval then uses every seed. Its coverage and error rates
are checked by simulation (:func:`simulate`, tests/results/test_precision.py).

Every number here is in accuracy points (percent); every distribution is scipy's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import optimize, stats

#: The margin of "no effect of practical size", in points: fixed in issue 21, before any run.
MARGIN = 1.0
#: The 95% half-width the seed rule aims at, in points (issue 21).
HALF_WIDTH = 1.0
#: Confidence level of every interval, and the power :func:`detectable_effect` asks for.
LEVEL, POWER = 0.95, 0.80
#: The most seeds the rule may ask for in the default profile (a budget cap: at the cap the
#: comparison runs that many seeds and reports whatever half-width they give).
SEED_CAP = 10

HOLDS, OPPOSITE, NO_EFFECT, INCONCLUSIVE = "holds", "opposite holds", "no effect of practical size", "inconclusive"
VERDICTS = (HOLDS, OPPOSITE, NO_EFFECT, INCONCLUSIVE)


@dataclass(frozen=True)
class Components:
    """Mean squares and variance components of a (seeds x videos) paired difference, points^2.

    Attributes:
        n_seeds, n_videos: the matrix's shape.
        mean: the mean difference over every cell, points.
        ms_seed, ms_video, ms_resid: the ANOVA mean squares (``nan`` for one seed).
        seed, video, resid: the variance components (each truncated at 0).
    """

    n_seeds: int
    n_videos: int
    mean: float
    ms_seed: float
    ms_video: float
    ms_resid: float
    seed: float
    video: float
    resid: float

    def split(self, n_videos: int | None = None) -> dict[str, float]:
        """One seed's difference: its standard deviation split into parts, points.

        Args:
            n_videos: score on this many videos instead (``None``: the matrix's).

        Returns:
            ``training`` (sqrt(seed)), ``evaluation`` (sqrt((video + resid) / n_videos)) and
            ``total`` (their root sum of squares).
        """
        nv = self.n_videos if n_videos is None else int(n_videos)
        tr, ev = self.seed, (self.video + self.resid) / nv  # NaN for one seed
        return {"training": math.sqrt(tr), "evaluation": math.sqrt(ev), "total": math.sqrt(tr + ev)}

    @property
    def per_seed_variance(self) -> float:
        """The variance one seed adds to the mean difference, points^2: ``max(MS_seed, MS_resid)
        / n_v`` (the seed mean square, kept at least the interaction's, over the videos)."""
        return max(self.ms_seed, self.ms_resid) / self.n_videos

    @property
    def shared_variance(self) -> float:
        """The videos' part every seed shares, points^2: ``max(MS_video - MS_resid, 0) / (n_s n_v)``;
        no number of seeds removes it."""
        return max(self.ms_video - self.ms_resid, 0.0) / (self.n_seeds * self.n_videos)

    def videos_for(self, evaluation_sd: float) -> int | None:
        """Videos that bring the evaluation part of one seed's spread down to ``evaluation_sd``
        points (``None`` for one seed: no estimate)."""
        need = (self.video + self.resid) / evaluation_sd ** 2
        return int(math.ceil(need)) if math.isfinite(need) else None


def _matrix(x: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
    m = np.asarray(x, dtype=np.float64)
    if m.ndim != 2 or m.shape[0] < 1 or m.shape[1] < 2:
        raise ValueError(f"need a (seeds, videos) matrix with >= 1 seed and >= 2 videos; got shape {m.shape}")
    if not np.isfinite(m).all():
        raise ValueError("the paired-difference matrix holds NaN or inf")
    return m


def paired_matrix(correct_a: Sequence[np.ndarray], correct_b: Sequence[np.ndarray]) -> np.ndarray:
    """``100 * (a - b)``: per-video results (bool or 0/1, one (n,) array per seed) as points, (S, n)."""
    a = np.stack([np.asarray(x, dtype=np.float64) for x in correct_a])
    b = np.stack([np.asarray(x, dtype=np.float64) for x in correct_b])
    if a.shape != b.shape:
        raise ValueError(f"paired_matrix: A is {a.shape} and B is {b.shape}; both need (seeds, videos), paired")
    return 100.0 * (a - b)


def components(x: np.ndarray | Sequence[Sequence[float]]) -> Components:
    """The two-way crossed random-effects decomposition of a (seeds, videos) matrix (module docstring)."""
    m = _matrix(x)
    ns, nv = m.shape
    grand = float(m.mean())
    rows, cols = m.mean(axis=1), m.mean(axis=0)
    ms_video = ns * float(((cols - grand) ** 2).sum()) / (nv - 1)
    if ns < 2:  # one seed: the seed and interaction parts cannot be told apart
        nan = float("nan")
        return Components(ns, nv, grand, nan, ms_video, nan, nan, nan, nan)
    ms_seed = nv * float(((rows - grand) ** 2).sum()) / (ns - 1)
    resid = m - rows[:, None] - cols[None, :] + grand
    ms_resid = float((resid ** 2).sum()) / ((ns - 1) * (nv - 1))
    return Components(ns, nv, grand, ms_seed, ms_video, ms_resid,
                      seed=max(ms_seed - ms_resid, 0.0) / nv, video=max(ms_video - ms_resid, 0.0) / ns,
                      resid=ms_resid)


def _variance_terms(c: Components) -> list[tuple[int, float, float]]:
    """``(sign, mean square, its df)`` summing to ``n_s n_v`` times the variance of the mean.

    The seed term is ``max(MS_seed, MS_resid)`` (the seed component truncated at 0: a seed mean
    varies at least by the interaction's share), the video term ``MS_video - MS_resid`` when
    positive (else the video component is 0 and drops out).
    """
    ns, nv = c.n_seeds, c.n_videos
    resid_df = float((ns - 1) * (nv - 1))
    terms = [(1, c.ms_seed, float(ns - 1)) if c.ms_seed >= c.ms_resid else (1, c.ms_resid, resid_df)]
    if c.ms_video > c.ms_resid:
        terms += [(1, c.ms_video, float(nv - 1)), (-1, c.ms_resid, resid_df)]
    return terms


def interval(c: Components, level: float = LEVEL) -> dict[str, float]:
    """The ``level`` interval of the mean difference over seeds and videos (module docstring).

    Returns:
        ``mean``, ``se``, ``df`` (Satterthwaite), ``low``, ``high``, ``half`` (points); NaN
        interval for one seed.
    """
    ns, nv = c.n_seeds, c.n_videos
    if ns < 2:
        return {"mean": c.mean, "se": float("nan"), "df": float("nan"), "low": float("nan"),
                "high": float("nan"), "half": float("nan")}
    terms = _variance_terms(c)
    total = sum(k * ms for k, ms, _ in terms)
    var = total / (ns * nv)
    spread = sum((k * ms) ** 2 / d for k, ms, d in terms)
    df = total ** 2 / spread if spread > 0 else float(ns - 1)  # Satterthwaite (identical sides: no spread)
    se = math.sqrt(var)
    half = float(stats.t.ppf(0.5 + level / 2, df)) * se
    return {"mean": c.mean, "se": se, "df": df, "low": c.mean - half, "high": c.mean + half, "half": half}


def tost_p(mean: float, se: float, df: float, margin: float = MARGIN) -> float:
    """Two one-sided tests of ``|effect| >= margin``: the larger one-sided p-value (scipy's t).

    ``p < 0.025`` is the 95% interval lying inside ``(-margin, margin)``.
    """
    if not (se > 0 and math.isfinite(df)):
        return float("nan")
    lower = float(stats.t.sf((mean + margin) / se, df))   # H0: effect <= -margin
    upper = float(stats.t.sf((margin - mean) / se, df))   # H0: effect >= +margin
    return max(lower, upper)


def verdict(low: float, high: float, margin: float = MARGIN) -> str:
    """One of :data:`VERDICTS` from a 95% interval (points), in this order of precedence.

    ``holds`` (low > 0), ``opposite holds`` (high < 0), ``no effect of practical size`` (the
    interval inside ``(-margin, margin)``), else ``inconclusive`` (also for a NaN interval). An
    interval above 0 and inside the margin ``holds``: the effect is real but smaller than the
    margin (:func:`decide` says so in ``practical``).
    """
    if not (math.isfinite(low) and math.isfinite(high)):
        return INCONCLUSIVE
    if low > 0:
        return HOLDS
    if high < 0:
        return OPPOSITE
    if -margin < low and high < margin:
        return NO_EFFECT
    return INCONCLUSIVE


def detectable_effect(se: float, df: float, level: float = LEVEL, power: float = POWER) -> float:
    """The smallest true effect (points) a two-sided test at ``1 - level`` finds with ``power``.

    Exact for the t test: the effect ``d`` with ``P(|T| > t_crit) = power``, ``T`` noncentral t
    with ``df`` degrees of freedom and noncentrality ``d / se`` (scipy's ``nct``). NaN without an
    estimate of ``se``.
    """
    if not (se > 0 and math.isfinite(df) and df > 0):
        return float("nan")
    crit = float(stats.t.ppf(0.5 + level / 2, df))

    def gap(nc: float) -> float:
        if df > 1e4:  # scipy's nct is unstable there; the t is normal to 4 digits
            return float(stats.norm.sf(crit - nc) + stats.norm.cdf(-crit - nc)) - power
        upper, lower = np.nan_to_num([stats.nct.sf(crit, df, nc), stats.nct.cdf(-crit, df, nc)])  # NaN: underflow
        return float(upper + lower) - power

    hi = crit + 10.0
    while gap(hi) < 0:
        hi *= 2
    return float(optimize.brentq(gap, 0.0, hi, xtol=1e-8)) * se


def seeds_needed(c: Components, half_width: float = HALF_WIDTH, cap: int = SEED_CAP,
                 level: float = LEVEL) -> dict[str, object]:
    """The two-stage seed rule: how many seeds give a ``level`` half-width <= ``half_width``.

    Reads the first stage's variances only: the per-seed variance of the mean difference
    (:attr:`Components.per_seed_variance`) and the shared video part
    (:attr:`Components.shared_variance`); the planned half-width of ``n`` seeds is
    ``t(level, n - 1) * sqrt(per-seed variance / n + shared variance)``.

    Returns:
        ``first`` (first-stage seeds), ``needed`` (smallest n >= first meeting the target, or
        ``None`` when no n <= cap does), ``run`` (seeds to run: ``needed`` or ``cap``),
        ``capped`` (the cap binds), ``floor`` (the half-width infinitely many seeds would give:
        the evaluation set's share), ``planned_half`` (the planned half-width at ``run`` seeds),
        ``reason`` (a sentence).
    """
    n0 = c.n_seeds
    if n0 < 2:
        return {"first": n0, "needed": None, "run": n0, "capped": False, "floor": float("nan"),
                "planned_half": float("nan"),
                "reason": "one first-stage seed: no estimate of the seed variance, the rule needs >= 2"}
    per_seed, shared = c.per_seed_variance, c.shared_variance
    z = float(stats.norm.ppf(0.5 + level / 2))

    def half(n: int) -> float:
        return float(stats.t.ppf(0.5 + level / 2, n - 1)) * math.sqrt(per_seed / n + shared)

    floor = z * math.sqrt(shared)
    ns = np.arange(n0, max(cap, n0) + 1)
    halves = stats.t.ppf(0.5 + level / 2, ns - 1) * np.sqrt(per_seed / ns + shared)
    needed = int(ns[np.argmax(halves <= half_width)]) if (halves <= half_width).any() else None
    run = needed if needed is not None else max(cap, n0)
    if needed is None and floor >= half_width:
        reason = (f"no number of seeds reaches +-{half_width:g}: the evaluation set alone gives +-{floor:.2f}; "
                  f"score on more videos")
    elif needed is None:
        reason = f"the cap binds: {run} seeds give +-{half(run):.2f}, above the +-{half_width:g} target"
    elif needed == n0:
        reason = f"the first stage suffices: {n0} seeds plan +-{half(n0):.2f}"
    else:
        reason = f"{needed} seeds plan +-{half(needed):.2f} (the first {n0} plan +-{half(n0):.2f})"
    return {"first": n0, "needed": needed, "run": run, "capped": needed is None, "floor": floor,
            "planned_half": half(run), "reason": reason}


def decide(x: np.ndarray | Sequence[Sequence[float]], margin: float = MARGIN, level: float = LEVEL) -> dict:
    """Everything a claims row shows, from the (seeds, videos) matrix of paired differences.

    Returns:
        ``n_seeds``, ``n_videos``, ``mean``, ``low``, ``high``, ``half``, ``se``, ``df``,
        ``detectable`` (80% power), ``tost_p``, ``verdict``, ``practical`` ("< margin" when the
        interval lies inside the margin, else ""), and the :class:`Components` as ``components``.
    """
    c = components(x)
    ci = interval(c, level)
    v = verdict(ci["low"], ci["high"], margin)
    inside = math.isfinite(ci["low"]) and -margin < ci["low"] and ci["high"] < margin
    return {"n_seeds": c.n_seeds, "n_videos": c.n_videos, **ci,
            "detectable": detectable_effect(ci["se"], ci["df"], level),
            "tost_p": tost_p(ci["mean"], ci["se"], ci["df"], margin), "verdict": v,
            "practical": f"|effect| < {margin:g}" if inside else "", "components": c}


# --------------------------------------------------------------------------------- simulation
def simulate(effects: Sequence[float] = (0.0, 1.0, 2.0), *, seed_sd: float = 0.8, video_sd: float = 5.0,
             resid_sd: float = 25.0, n_videos: int = 1000, first: int = 3, cap: int = 20, reps: int = 2000,
             rng: np.random.Generator, half_width: float = HALF_WIDTH, margin: float = MARGIN,
             naive: bool = False) -> pd.DataFrame:
    """The whole procedure (first stage, seed rule, final interval, verdict) on synthetic data.

    Each replicate draws a (cap, n_videos) matrix ``effect + a_s + b_v + e_sv`` (Gaussian, the
    given standard deviations in points; one video sample per replicate, shared by its seeds),
    runs :func:`seeds_needed` on its first ``first`` rows, then :func:`decide` on the first
    ``run`` rows.

    Args:
        naive: judge with the t interval over seed means alone (ignoring the shared video part):
            a deliberately wrong procedure, so a test can show that the checks can fail.

    Returns:
        One row per effect: ``effect``, ``coverage`` (share of intervals holding the effect),
        ``holds``, ``opposite``, ``no_effect``, ``inconclusive`` (shares), ``mean_seeds``,
        ``capped`` (share), ``mean_half``, ``reps``.
    """
    rows = []
    for eff in effects:
        tally = {k: 0 for k in VERDICTS}
        cover, seeds_used, capped, halves = 0, [], 0, []
        for _ in range(reps):
            x = (eff + rng.normal(0, seed_sd, (cap, 1)) + rng.normal(0, video_sd, (1, n_videos))
                 + rng.normal(0, resid_sd, (cap, n_videos)))
            rule = seeds_needed(components(x[:first]), half_width, cap)
            n = int(rule["run"])
            if naive:
                means = x[:n].mean(axis=1)
                h = float(stats.t.ppf(0.975, n - 1)) * means.std(ddof=1) / math.sqrt(n)
                lo, hi = means.mean() - h, means.mean() + h
            else:
                ci = interval(components(x[:n]))
                lo, hi, h = ci["low"], ci["high"], ci["half"]
            tally[verdict(lo, hi, margin)] += 1
            cover += lo <= eff <= hi
            seeds_used.append(n)
            capped += bool(rule["capped"])
            halves.append(h)
        rows.append({"effect": eff, "coverage": cover / reps, "holds": tally[HOLDS] / reps,
                     "opposite": tally[OPPOSITE] / reps, "no_effect": tally[NO_EFFECT] / reps,
                     "inconclusive": tally[INCONCLUSIVE] / reps, "mean_seeds": float(np.mean(seeds_used)),
                     "capped": capped / reps, "mean_half": float(np.mean(halves)), "reps": reps})
    return pd.DataFrame(rows)
