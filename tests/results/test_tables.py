import math

import pandas as pd
import pytest

from mmlkit.results import paper
from mmlkit.results.tables import seed_summary, to_markdown, write_table


def test_seed_summary():
    df = pd.DataFrame({"exp": ["a", "a", "a", "b"], "seed": [0, 1, 2, 0], "top1": [50.0, 52.0, 54.0, 40.0]})
    s = seed_summary(df, "exp")
    assert list(s["exp"]) == ["a", "b"]
    assert s.loc[0, "mean"] == 52.0 and s.loc[0, "std"] == 2.0 and s.loc[0, "n"] == 3
    assert s.loc[0, "text"] == "52.0 ± 2.0" and s.loc[1, "text"] == "40.0" and math.isnan(s.loc[1, "std"])


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
