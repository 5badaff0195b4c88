"""papers_results/README.md rendering: the verdict comparison and the template itself."""

import argparse

import pandas as pd
import pytest

from mmlkit.results.reproduce import PREVIOUS_RUN, compare_verdicts, write_readme

COLS = ["claim", "comparison", "A", "B", "A - B", "verdict"]


def _claims(rows):
    return pd.DataFrame(rows, columns=COLS)


def _record(**full):
    """A timings.json record of one full run, with ``full`` added to its ``full_run``."""
    return {"full_run": {"notebooks": {"00_data_tour": 60.0}, "wall_s": 600.0, "peak_rss_gib": 1.5,
                         "machine": "test machine", "date": "2026-12-02",
                         "parameters": {"profile": "default", "seeds": [0], "dataset": "synthetic"}, **full},
            "reruns": []}


def test_compare_verdicts_matches_rows_by_comparison_and_marks_only_changed_verdicts():
    before = _claims([("C1", "ens beats RGB", "e", "r", "+9.4 ± 1.1", "holds"),
                      ("C3", "MML beats RGB", "m", "r", "-0.7 ± 1.7", "inconclusive"),
                      ("C4", "gone now", "x", "y", "-1.0 ± 0.7", "does not hold")])
    after = _claims([("C3", "MML beats RGB", "m", "r", "-2.0 ± 0.5", "does not hold"),
                     ("C1", "ens beats RGB", "e", "r", "+9.7 ± 1.0", "holds"),
                     ("C5", "new here", "a", "b", "+1.0 ± 0.1", "holds")])
    t = compare_verdicts(before, after)
    assert list(t["comparison"]) == ["MML beats RGB", "ens beats RGB", "new here", "gone now"]
    by = t.set_index("comparison")
    assert by.loc["MML beats RGB", "changed"] == "yes"
    assert (by.loc["MML beats RGB", "A - B (before)"], by.loc["MML beats RGB", "A - B (after)"]) == ("-0.7 ± 1.7", "-2.0 ± 0.5")
    assert by.loc["ens beats RGB", "changed"] == ""
    assert by.loc["new here", "verdict (before)"] == "-" and by.loc["new here", "changed"] == "yes"
    assert by.loc["gone now", "verdict (after)"] == "-"


def test_compare_verdicts_names_a_missing_column():
    with pytest.raises(ValueError, match="verdict"):
        compare_verdicts(_claims([]).drop(columns="verdict"), _claims([]))


def test_write_readme_renders_with_the_previous_run_and_without_it(tmp_path):
    (tmp_path / "tables").mkdir()
    record = {"full_run": {"notebooks": {"00_data_tour": 60.0}, "wall_s": 600.0, "peak_rss_gib": 1.5,
                           "machine": "test machine", "date": "2026-12-02", "runs_trained": 3, "runs_reused": 0,
                           "parameters": {"profile": "default", "seeds": [0, 1, 2], "dataset": "synthetic"}},
              "reruns": []}
    text = write_readme(tmp_path, record, argparse.Namespace()).read_text()
    assert "another install" not in text.split("## Reproducing")[0]
    now = _claims([("C1", "ens beats RGB", "e", "r", "+9.7 ± 1.0", "holds")])
    now.to_csv(tmp_path / "tables" / "claims.csv", index=False)
    (tmp_path / PREVIOUS_RUN).mkdir()
    now.assign(verdict="inconclusive").to_csv(tmp_path / PREVIOUS_RUN / "claims.csv", index=False)
    text = write_readme(tmp_path, record, argparse.Namespace()).read_text()
    assert "1 of 1 verdicts differ" in text and "verdict (previous run)" in text


def test_write_readme_states_the_host_speed_when_recorded(tmp_path):
    record = _record()
    assert "clips/s" not in write_readme(tmp_path, record, argparse.Namespace()).read_text()  # an old record
    record["full_run"]["host_train_clips_per_s"] = [412.3, 398.9]
    assert "at 412 and 399 clips/s before and after" in write_readme(tmp_path, record, argparse.Namespace()).read_text()


def test_write_readme_shows_the_stage2_fit_evidence_when_present(tmp_path):
    record = _record()
    assert "peer train top-1" not in write_readme(tmp_path, record, argparse.Namespace()).read_text()
    (tmp_path / "stage2_fit.md").write_text("| peer | peer train top-1 |\n|---|---|\n| Flow | 89.8 |\n")
    (tmp_path / "stage2_fit.json").write_text('[{"peer train top-1": 93.9}, {"peer train top-1": 89.8}]')
    text = write_readme(tmp_path, record, argparse.Namespace()).read_text()
    section = text.split("## Is the experiment valid?")[1].split("## Headline")[0]
    assert "| Flow | 89.8 |" in section and "fit its training videos on 1 of 2 seeds" in section
    (tmp_path / "stage2_fit.json").write_text('[{"peer train top-1": 93.9}]')
    assert "fit its training videos on every seed" in write_readme(tmp_path, record, argparse.Namespace()).read_text()


def test_machine_summary_names_the_vector_instruction_set_that_decides_the_bits():
    import torch

    from mmlkit.results.reproduce import machine_summary

    line = machine_summary()
    assert torch.backends.cpu.get_cpu_capability() in line and "cores" in line and torch.__version__ in line


def test_write_readme_cites_the_avx512_from_scratch_check_only_when_recorded(tmp_path):
    record = _record()
    assert "fresh-avx512" not in write_readme(tmp_path, record, argparse.Namespace()).read_text()
    (tmp_path / "fresh-avx512").mkdir()
    (tmp_path / "fresh-avx512" / "README.md").write_text("# check\n")
    text = write_readme(tmp_path, record, argparse.Namespace()).read_text()
    assert "`fresh-avx512/` records" in text.split("## Reproducing these numbers")[1]


def test_write_readme_says_whether_the_wall_time_is_a_from_scratch_cost(tmp_path):
    scratch = write_readme(tmp_path, _record(runs_trained=3, runs_reused=0), argparse.Namespace()).read_text()
    assert "trained all 3 runs, so this is the from-scratch cost" in scratch
    assert "the wall time at the top is the from-scratch cost" in scratch.split("## Reproducing these numbers")[1]
    rerun = write_readme(tmp_path, _record(runs_trained=1, runs_reused=2), argparse.Namespace()).read_text()
    assert "This invocation trained 1 runs; the results store already held 2" in rerun
    assert "from-scratch cost" not in rerun.split("## Reproducing these numbers")[0]
    (tmp_path / "compute.md").write_text("| notebook | runs |\n")
    assert "| notebook | runs |" in write_readme(tmp_path, _record(runs_trained=3, runs_reused=0),
                                                  argparse.Namespace()).read_text()
