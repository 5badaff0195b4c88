"""Table helpers the notebooks call: summaries over seeds, the reader's view of a table (what a
notebook displays and the Markdown copy shows) and a small Markdown writer (no tabulate needed).
Paired comparisons, their intervals and verdicts: :mod:`mmlkit.results.precision`.

A table is data (its CSV keeps every column at full precision) and a page (the notebook's HTML
and the Markdown): the page shows each number once, formatted (floats with ``floatfmt``, one
decimal by default, or a column's own format from ``df.attrs["formats"]``), every text cell in
full, and leaves out the numeric helper columns a claim row carries for figures
(:data:`HELPER_COLUMNS`), whose values its text columns already show.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any, Mapping, Sequence

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


#: Numeric columns of a claim row (:func:`mmlkit.results.analysis.compare`) kept for figures and
#: other tables: ``diff`` is ``A - B``, ``low``/``high`` the 95% interval and ``detectable`` the
#: detectable effect, each already shown as text in the row. A reader's table leaves them out.
HELPER_COLUMNS: tuple[str, ...] = ("diff", "low", "high", "detectable")


#: The float formats of a training log's columns (``Run.logs()``): what one decimal would hide.
LOG_FORMATS: dict[str, str] = {"lr": ".3g", "ce": ".3f", "kl": ".3f", "seconds": ".1f"}


def _text(v: Any, floatfmt: str) -> str:
    """One cell as a reader sees it: a float with ``floatfmt`` (NaN, None empty), anything else in full."""
    if v is None or v is pd.NA:
        return ""
    if isinstance(v, (float, np.floating)):
        return "" if np.isnan(v) else format(float(v), floatfmt)
    return str(v)


def _cell(v: Any, floatfmt: str) -> str:
    return _text(v, floatfmt).replace("|", "\\|").replace("\n", " ")


def _formats(df: pd.DataFrame, floatfmt: str, formats: Mapping[str, str] | None) -> dict[str, str]:
    """Each column's float format: ``formats``, else ``df.attrs["formats"]``, else
    ``df.attrs["floatfmt"]``, else ``floatfmt``."""
    own = {**(df.attrs.get("formats") or {}), **(formats or {})}
    default = df.attrs.get("floatfmt") or floatfmt
    return {str(c): own.get(str(c), default) for c in df.columns}


def with_formats(df: pd.DataFrame, floatfmt: str | None = None,
                 formats: Mapping[str, str] | None = None) -> pd.DataFrame:
    """``df`` with its own float formats (``df.attrs``), which the notebook's table
    (:func:`readable`) and the Markdown copy (:func:`to_markdown`) use; the CSV is unchanged.
    For a number one decimal would hide (a fraction, an error of 0.03 px)."""
    if floatfmt:
        df.attrs["floatfmt"] = floatfmt
    if formats:
        df.attrs["formats"] = {**(df.attrs.get("formats") or {}), **formats}
    return df


def for_readers(df: pd.DataFrame, floatfmt: str = ".1f", formats: Mapping[str, str] | None = None,
                drop: Sequence[str] = HELPER_COLUMNS) -> pd.DataFrame:
    """The reader's view of ``df``: the ``drop`` columns left out, every cell as text (a float
    column's values with its format, see the module docstring, a float among other values to 6
    significant digits; NaN and None empty), nothing shortened.

    Args:
        formats: column -> float format (e.g. ``{"endpoint error (px)": ".3f"}``), over
            ``df.attrs["formats"]`` and ``floatfmt``.
    """
    d = df.drop(columns=[c for c in drop if c in df.columns])
    fmt = _formats(d, floatfmt, formats)
    # a float in a column of mixed values (a config's learning rate beside its epochs) is shown
    # as it is, to 6 significant digits: only a float column has one precision
    own = {str(c): fmt[str(c)] if pd.api.types.is_float_dtype(d[c]) else "g" for c in d.columns}
    return pd.DataFrame({c: [_text(v, own[str(c)]) for v in d[c]] for c in d.columns}, index=d.index, dtype=object)


class ReaderTable:
    """A table as a page shows it (:func:`readable`): HTML for notebooks and the documentation
    site, plain text elsewhere; the full text of every cell, numbers right-aligned, no index."""

    def __init__(self, df: pd.DataFrame, floatfmt: str = ".1f", formats: Mapping[str, str] | None = None,
                 drop: Sequence[str] = HELPER_COLUMNS) -> None:
        self.data = df
        self.text = for_readers(df, floatfmt, formats, drop)
        kept = [c for c in df.columns if c not in drop]
        self.numeric = [pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c]) for c in kept]

    def _repr_html_(self) -> str:
        cols = list(self.text.columns)
        align = ["right" if n else "left" for n in self.numeric]
        head = "".join(f'<th style="text-align: {a}">{html.escape(str(c))}</th>' for c, a in zip(cols, align))
        body = "".join("<tr>" + "".join(f'<td style="text-align: {a}">{html.escape(v)}</td>' for v, a in zip(r, align))
                       + "</tr>\n" for r in self.text.itertuples(index=False, name=None))
        return (f'<table class="dataframe mmlkit-table">\n<thead><tr>{head}</tr></thead>\n'
                f"<tbody>\n{body}</tbody>\n</table>")

    def __repr__(self) -> str:
        return self.text.to_string(index=False, max_colwidth=None) if len(self.text.columns) else "(no columns)"


def readable(df: pd.DataFrame, floatfmt: str = ".1f", formats: Mapping[str, str] | None = None,
             drop: Sequence[str] = HELPER_COLUMNS) -> ReaderTable:
    """What a notebook displays of a table: ``display(readable(res.tables["claim"]))``; see
    :func:`for_readers` for what is shown."""
    return ReaderTable(df, floatfmt, formats, drop)


def to_markdown(df: pd.DataFrame, floatfmt: str = ".1f", index: bool = False,
                formats: Mapping[str, str] | None = None) -> str:
    """A GitHub Markdown table of ``df`` (floats with ``floatfmt`` or their column's format, see
    :func:`for_readers`; NaN as empty, ``|`` escaped)."""
    d = df.reset_index() if index else df
    cols = [str(c) for c in d.columns]
    fmt = _formats(d, floatfmt, formats)
    rows = [[_cell(v, fmt[c]) for v, c in zip(r, cols)] for r in d.itertuples(index=False, name=None)]
    num = [pd.api.types.is_numeric_dtype(d[c]) for c in d.columns]
    w = [max([len(c)] + [len(r[i]) for r in rows] + [3]) for i, c in enumerate(cols)]
    line = lambda cells: "| " + " | ".join(c.rjust(w[i]) if num[i] else c.ljust(w[i]) for i, c in enumerate(cells)) + " |"
    sep = "|" + "|".join(("-" * (w[i] + 1) + ":") if num[i] else ("-" * (w[i] + 2)) for i in range(len(cols))) + "|"
    return "\n".join([line(cols), sep] + [line(r) for r in rows]) + "\n"


def write_table(df: pd.DataFrame, folder: str | Path, name: str, floatfmt: str = ".1f") -> tuple[Path, Path]:
    """Write ``<folder>/<name>.csv`` (the data: every column, full precision) and
    ``<folder>/<name>.md`` (the page: :data:`HELPER_COLUMNS` left out, floats formatted)
    atomically; returns both paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    page = df.drop(columns=[c for c in HELPER_COLUMNS if c in df.columns])
    out = []
    for ext, text in (("csv", df.to_csv(index=False)), ("md", to_markdown(page, floatfmt))):
        out.append(write_text(folder / f"{name}.{ext}", text))
    return out[0], out[1]
