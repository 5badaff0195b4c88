"""Table helpers the notebooks call: summaries over seeds and a small Markdown writer (no
tabulate needed). Paired comparisons, their intervals and verdicts: :mod:`mmlkit.results.precision`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from mmlkit.fileio import write_text

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
