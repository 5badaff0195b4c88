"""Every 95% interval the pages quote is one a run wrote.

README.md and docs/index.md type the headline intervals by hand; when a full run replaces
``papers_results/``, they must be rewritten from its tables. Until they are, this fails and names
the interval and the line. docs/decisions.md quotes the first decisions, so its intervals must
come from their folders (``papers_results/precision-draw*/decided``) or the current run. The
pages that tell the history (findings, history) may quote any run's record under
``papers_results/`` (tables and READMEs), but only a run's.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "papers_results"
#: "[+10.7, +12.4]", "[−1.7, −0.6]" (a typographic minus too), across a line break
INTERVAL = re.compile(r"\[([+\-−]?\d+\.\d+),\s*([+\-−]?\d+\.\d+)\]")

#: the page -> the records (globs under papers_results/) its intervals may come from: the last full
#: run's own tables (draw 0, the draw-1 rerun its README reports, and README's second realisation of
#: the same run with 1-thread bits, lanes-1thread); for decisions.md also the
#: first decisions; for the pages that tell the history, any run's tables and READMEs
SOURCES: dict[str, tuple[str, ...]] = {
    "README.md": ("tables/*.csv", "draw-1/tables/*.csv", "lanes-1thread/tables/*.csv"),
    "docs/index.md": ("tables/*.csv", "draw-1/tables/*.csv"),
    "docs/decisions.md": ("tables/*.csv", "draw-1/tables/*.csv", "precision-draw*/decided/tables/*.csv"),
    "docs/findings.md": ("**/*.csv", "**/*.md"),
    "docs/history.md": ("**/*.csv", "**/*.md"),
}


def _key(low: str, high: str) -> tuple[float, float]:
    return float(low.replace("−", "-")), float(high.replace("−", "-"))


def intervals_in(text: str) -> list[tuple[int, str, tuple[float, float]]]:
    """(line, as written, (low, high)) for every interval in ``text``."""
    return [(text.count("\n", 0, m.start()) + 1, " ".join(m.group(0).split()), _key(*m.groups()))
            for m in INTERVAL.finditer(text)]


def written_intervals(patterns: tuple[str, ...]) -> set[tuple[float, float]]:
    return {key for pattern in patterns for f in sorted(RESULTS.glob(pattern))
            for _, _, key in intervals_in(f.read_text())}


def test_intervals_in_text() -> None:
    text = "+11.5 [+10.7,\n+12.4] and −1.2 [−1.7, −0.6], [-0.5,+0.9], not [1, 2] or [-0.5, x]"
    assert [(line, key) for line, _, key in intervals_in(text)] == [(1, (10.7, 12.4)), (2, (-1.7, -0.6)),
                                                                   (2, (-0.5, 0.9))]


@pytest.mark.parametrize("page", sorted(SOURCES))
def test_quoted_intervals_were_written_by_a_run(page: str) -> None:
    written = written_intervals(SOURCES[page])
    assert written, f"no intervals in {SOURCES[page]} under papers_results/"
    quoted = intervals_in((REPO / page).read_text())
    assert quoted, f"{page} quotes no interval: is this check still needed?"
    stale = [f"{page}:{line} {shown}" for line, shown, key in quoted if key not in written]
    assert not stale, ("intervals that no table of " + ", ".join(SOURCES[page]) + " holds (a run replaced "
                       "them? rewrite them from papers_results/tables/claims.md):\n" + "\n".join(stale))
