"""Table helpers the notebooks call: summaries over seeds, paired differences, claim verdicts,
and a small Markdown writer (no tabulate needed).

Statistics with few seeds are weak: :func:`paired_difference` reports a t-based CI (the one
:func:`claim_verdict` uses), an exact sign test and a bootstrap CI, and says ``n``. The t and
binomial distributions are scipy's (``scipy.stats``).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from mmlkit.fileio import write_text

HOLDS, DOES_NOT_HOLD, INCONCLUSIVE = "holds", "does not hold", "inconclusive"


# ----------------------------------------------------------------- tests
def sign_test(diffs: Sequence[float]) -> float:
    """Exact two-sided sign test p-value of the non-zero ``diffs`` (1.0 when none).

    ``scipy.stats.binomtest(k, n, 0.5)`` with k the positive and n the non-zero differences.
    """
    d = [x for x in diffs if x != 0]
    n, k = len(d), sum(x > 0 for x in d)
    if n == 0:
        return 1.0
    return float(stats.binomtest(k, n, 0.5).pvalue)


# ----------------------------------------------------------------- tables
def seed_summary(df: pd.DataFrame, by: str | Sequence[str], value: str = "top1") -> pd.DataFrame:
    """Mean, std (ddof=1; NaN for one seed), n and ``"mean ± std"`` text of ``value`` per group.

    Returns:
        One row per group of ``by``: the ``by`` columns, ``mean``, ``std``, ``n``, ``text``.
    """
    by = [by] if isinstance(by, str) else list(by)
    g = df.groupby(by, sort=False)[value]
    out = g.agg(mean="mean", std="std", n="count").reset_index()
    out["text"] = [f"{m:.1f} ± {s:.1f}" if n > 1 else f"{m:.1f}" for m, s, n in zip(out["mean"], out["std"], out["n"])]
    return out


def paired_difference(df: pd.DataFrame, a: str, b: str, on: str = "seed", *, value: str | None = None,
                      by: str = "experiment", rng: np.random.Generator | None = None, n_boot: int = 2000,
                      alpha: float = 0.05) -> dict[str, Any]:
    """The difference ``a - b`` paired by ``on`` (seeds).

    Two layouts:

    * wide (``value`` None): ``a`` and ``b`` are columns of ``df``, one row per ``on``;
    * long (``value`` given): rows whose ``by`` column equals ``a`` or ``b``, their ``value``
      paired by ``on`` (rows without a partner are dropped).

    Returns:
        dict: ``a, b, n, mean, std, diffs`` ({on: diff}), ``ci_low, ci_high`` (t-based,
        ``mean +- scipy.stats.t.ppf(1 - alpha/2, n - 1) * std / sqrt(n)``; NaN for n < 2),
        ``t_p`` (paired t-test, two-sided: ``scipy.stats.ttest_1samp`` of the differences
        against 0), ``sign_p`` (exact sign test), ``boot_low, boot_high`` (percentile bootstrap
        over pairs; needs ``rng``, default ``np.random.default_rng(0)``).
    """
    if value is None:
        pairs = df[[on, a, b]].dropna()
        va, vb, keys = pairs[a].to_numpy(float), pairs[b].to_numpy(float), list(pairs[on])
    else:
        wa = df[df[by] == a].set_index(on)[value]
        wb = df[df[by] == b].set_index(on)[value]
        if wa.index.has_duplicates or wb.index.has_duplicates:
            raise ValueError(f"paired_difference: several rows per {on!r} for {a!r} or {b!r}; filter first")
        keys = [k for k in wa.index if k in wb.index]
        va, vb = wa.loc[keys].to_numpy(float), wb.loc[keys].to_numpy(float)
    d = va - vb
    n = len(d)
    if n == 0:
        raise ValueError(f"paired_difference: no {on!r} has both {a!r} and {b!r}")
    mean = float(d.mean())
    std = float(d.std(ddof=1)) if n > 1 else float("nan")
    res: dict[str, Any] = {"a": a, "b": b, "n": n, "mean": mean, "std": std,
                           "diffs": {k: float(x) for k, x in zip(keys, d)}, "sign_p": sign_test(d.tolist())}
    if n > 1 and std > 0:
        h = float(stats.t.ppf(1 - alpha / 2, n - 1)) * std / math.sqrt(n)
        res.update(ci_low=mean - h, ci_high=mean + h, t_p=float(stats.ttest_1samp(d, 0.0).pvalue))
    elif n > 1:  # all differences equal
        res.update(ci_low=mean, ci_high=mean, t_p=0.0 if mean != 0 else 1.0)
    else:
        res.update(ci_low=float("nan"), ci_high=float("nan"), t_p=float("nan"))
    rng = rng if rng is not None else np.random.default_rng(0)
    boots = d[rng.integers(0, n, size=(n_boot, n))].mean(axis=1)
    lo, hi = np.quantile(boots, [alpha / 2, 1 - alpha / 2])
    res.update(boot_low=float(lo), boot_high=float(hi))
    return res


def claim_verdict(diff: dict[str, Any], margin: float = 0.0) -> str:
    """Verdict on "``a`` is better than ``b``" from :func:`paired_difference`'s t-based CI.

    * ``holds``: the whole CI is above ``margin``;
    * ``does not hold``: the whole CI is at or below ``margin`` (no gain, or a loss);
    * ``inconclusive``: the CI straddles ``margin``, or n < 2.
    """
    lo, hi = diff.get("ci_low", float("nan")), diff.get("ci_high", float("nan"))
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return INCONCLUSIVE
    if lo > margin:
        return HOLDS
    if hi <= margin:
        return DOES_NOT_HOLD
    return INCONCLUSIVE


def _cell(v: Any, floatfmt: str) -> str:
    if isinstance(v, (float, np.floating)):
        return "" if np.isnan(v) else format(float(v), floatfmt)
    return str(v).replace("|", "\\|").replace("\n", " ")


def to_markdown(df: pd.DataFrame, floatfmt: str = ".1f", index: bool = False) -> str:
    """A GitHub Markdown table of ``df`` (floats with ``floatfmt``, NaN as empty, ``|`` escaped)."""
    d = df.reset_index() if index else df
    cols = [str(c) for c in d.columns]
    rows = [[_cell(v, floatfmt) for v in r] for r in d.itertuples(index=False, name=None)]
    num = [pd.api.types.is_numeric_dtype(d[c]) for c in d.columns]
    w = [max([len(c)] + [len(r[i]) for r in rows] + [3]) for i, c in enumerate(cols)]
    fmt = lambda cells: "| " + " | ".join(c.rjust(w[i]) if num[i] else c.ljust(w[i]) for i, c in enumerate(cells)) + " |"
    sep = "|" + "|".join(("-" * (w[i] + 1) + ":") if num[i] else ("-" * (w[i] + 2)) for i in range(len(cols))) + "|"
    return "\n".join([fmt(cols), sep] + [fmt(r) for r in rows]) + "\n"


def write_table(df: pd.DataFrame, folder: str | Path, name: str, floatfmt: str = ".1f") -> tuple[Path, Path]:
    """Write ``<folder>/<name>.csv`` and ``<folder>/<name>.md`` atomically; returns both paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for ext, text in (("csv", df.to_csv(index=False)), ("md", to_markdown(df, floatfmt))):
        out.append(write_text(folder / f"{name}.{ext}", text))
    return out[0], out[1]
