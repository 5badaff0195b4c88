import math

import pandas as pd

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


def _claim_row(**extra):
    long = "MML's RGB model beats the RGB model trained alone (same init, same epochs) " + "and more " * 10
    return pd.DataFrame([{"claim": "C3", "comparison": long, "A - B": "-0.7 ± 1.7", "verdict": "inconclusive",
                          "seeds": 3, "diff": -0.689655, "low": -1.5123, "high": 0.1234, "detectable": 1.0987, **extra}])


def test_a_readers_table_shows_each_number_once_formatted_and_every_text_in_full():
    from mmlkit.results.tables import HELPER_COLUMNS, readable

    df = _claim_row(gain=0.05747, note=None)
    t = readable(df)
    page = t._repr_html_()
    import html

    assert html.escape(df.loc[0, "comparison"]) in page and "..." not in page  # no max_colwidth cut
    assert not any(f">{c}<" in page for c in HELPER_COLUMNS)                 # the raw helpers are left out
    assert "-0.689655" not in page and "0.057" not in page and ">0.1<" in page  # floats to one decimal
    assert "<script" not in page and "MML&#x27;s RGB model" in page           # escaped, nothing executable
    assert 'text-align: right">3<' in page                                    # numbers right-aligned
    text = repr(t)
    assert df.loc[0, "comparison"].strip() in text and "-0.689655" not in text and "None" not in text
    assert list(df.columns)[-2:] == ["gain", "note"] and "diff" in df.columns  # the data is not changed


def test_a_tables_own_formats_reach_the_page_and_the_markdown(tmp_path):
    from mmlkit.results.tables import readable, with_formats

    df = with_formats(pd.DataFrame({"error (px)": [0.02699], "share": [0.9512], "top1": [66.43]}), ".2f",
                      {"error (px)": ".3f"})
    page = readable(df)._repr_html_()
    assert ">0.027<" in page and ">0.95<" in page and ">66.43<" in page
    assert "0.027" in to_markdown(df) and "66.43" in to_markdown(df)
    assert ">0.03<" in readable(df, formats={"error (px)": ".2f"})._repr_html_()  # the caller's word is last


def test_write_table_keeps_the_data_in_csv_and_leaves_the_helpers_out_of_markdown(tmp_path):
    df = _claim_row()
    csv, md = write_table(df, tmp_path, "claim")
    assert pd.read_csv(csv)["diff"].tolist() == [-0.689655]                   # the data keeps its numbers
    head = md.read_text().splitlines()[0]
    assert "A - B" in head and not any(f"| {c} " in head for c in ("diff", "low", "high", "detectable"))


def test_a_float_among_other_values_keeps_its_digits():
    from mmlkit.results.tables import for_readers

    df = pd.DataFrame({"field": ["optim.lr", "optim.epochs"], "RGB": [0.001, 40], "Flow": [0.0125, 80]})
    got = for_readers(df.astype({"RGB": object, "Flow": object}))  # as config_differences makes it
    assert got["RGB"].tolist() == ["0.001", "40"] and got["Flow"].tolist() == ["0.0125", "80"]
