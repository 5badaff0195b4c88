"""papers_results/README.md rendering: the verdict comparison and the template itself."""

import pandas as pd
import pytest

from mmlkit.results.reproduce import PREVIOUS, compare_verdicts, write_readme

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
    record = _record(runs_trained=3, runs_reused=0)
    text = write_readme(tmp_path, record).read_text()
    assert "Against the previous full run" not in text and "{{" not in text and "{%" not in text
    assert "_(table claims was not produced in this run)_" in text
    now = _claims([("C1", "ens beats RGB", "e", "r", "+9.7 ± 1.0", "holds")])
    now.to_csv(tmp_path / "tables" / "claims.csv", index=False)
    (tmp_path / PREVIOUS).mkdir()
    now.assign(verdict="inconclusive").to_csv(tmp_path / PREVIOUS / "claims.csv", index=False)
    text = write_readme(tmp_path, record).read_text()
    assert "1 of 1 comparisons changed their verdict" in text and "verdict (previous run)" in text


def test_write_readme_states_the_host_speed_when_recorded(tmp_path):
    record = _record()
    assert "clips/s" not in write_readme(tmp_path, record).read_text()  # an old record
    record["full_run"]["host_train_clips_per_s"] = [412.0, 399.0]
    assert "at 412 and 399 clips/s before and after" in write_readme(tmp_path, record).read_text()


def test_write_readme_shows_the_decision_tables_and_the_forest_plot(tmp_path):
    (tmp_path / "tables").mkdir()
    for name in ("seed_rule", "variance", "procedure"):
        (tmp_path / "tables" / f"{name}.md").write_text(f"| {name} |\n|---|\n")
    text = write_readme(tmp_path, _record()).read_text()
    assert all(f"| {n} |" in text for n in ("seed_rule", "variance", "procedure"))
    assert "figures/headline.png" not in text
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "headline.png").write_bytes(b"png")
    assert "](figures/headline.png)" in write_readme(tmp_path, _record()).read_text()


def test_machine_summary_names_the_vector_instruction_set_that_decides_the_bits():
    from mmlkit.results.reproduce import machine_summary
    from mmlkit.results.store import environment

    line = machine_summary()
    assert environment()["cpu_capability"] in line and "family" in line


def test_machine_summary_says_when_the_run_was_pinned(monkeypatch):
    """A pinned run's papers_results names the pinned code paths, as ATen reports them (so a
    process whose pins came too late would show its real ones), not the host's as if unpinned."""
    from mmlkit.results.reproduce import machine_summary
    from mmlkit.results.store import environment
    from mmlkit.runtime import PINNED_DISPATCH

    for k in PINNED_DISPATCH:
        monkeypatch.delenv(k, raising=False)
    assert "pinned" not in machine_summary()
    for k, v in PINNED_DISPATCH.items():
        monkeypatch.setenv(k, v)
    assert f"pinned to the {environment()['cpu_capability']} code paths" in machine_summary()


def test_write_readme_says_whether_the_wall_time_is_a_from_scratch_cost(tmp_path):
    scratch = write_readme(tmp_path, _record(runs_trained=3, runs_reused=0)).read_text()
    assert "trained all 3 runs, so this is the from-scratch cost" in scratch
    rerun = write_readme(tmp_path, _record(runs_trained=1, runs_reused=2)).read_text()
    assert "trained 1 runs; the results store already held 2" in rerun
    (tmp_path / "compute.md").write_text("| notebook | runs |\n")
    assert "| notebook | runs |" in write_readme(tmp_path, _record(runs_trained=3, runs_reused=0)).read_text()


def test_the_package_remembers_no_history():
    """Code renders records; it does not remember: no literal in mmlkit/ names a past commit, an
    earlier run's folder of papers_results or a particular host (design.md)."""
    import re
    from pathlib import Path

    import mmlkit

    pattern = re.compile(r"\b(commit [0-9a-f]{7}|[0-9a-f]{7,40}\b(?=`|\)|,| \()|fresh-machine-\d|fresh-avx512|"
                         r"v0\.1/|v0\.2-[a-z0-9-]+|precision-draw\d|family \d+ model \d+|AMD EPYC|Xeon|"
                         r"20\d\d-[01]\d-[0-3]\d)")  # a date is a run's or a host's, never the code's
    hits = []
    for path in Path(mmlkit.__file__).parent.rglob("*"):
        if path.suffix in (".py", ".j2") and path.is_file():
            for no, line in enumerate(path.read_text().splitlines(), 1):
                if pattern.search(line):
                    hits.append(f"{path.name}:{no}: {line.strip()[:100]}")
    assert not hits, "history in the package (move it to docs/history.md):\n" + "\n".join(hits)


def test_notebook_parameters_name_no_machine_folder(tmp_path):
    """Papermill's injected cell is part of every rendered page: the default store is ``None`` (the
    notebooks' default), a folder inside the repository is relative to its root, one outside stays."""
    import argparse

    from mmlkit.results.experiments import REPO, repo_path
    from mmlkit.results.reproduce import notebook_parameters
    from mmlkit.results.store import default_results_dir

    args = argparse.Namespace(profile="default", dataset="synthetic", data_root=None, device="cpu", workers=0,
                              synth_seed=1)
    p = notebook_parameters(args, [0, 1], default_results_dir("default"), REPO / "papers_results" / "draw-1")
    assert (p["results_dir"], p["output_dir"]) == (None, "papers_results/draw-1")
    assert repo_path(p["output_dir"]) == REPO / "papers_results" / "draw-1"  # where the notebook writes
    assert str(REPO) not in str(p) and p["seeds"] == [0, 1] and p["synth_seed"] == 1
    p = notebook_parameters(args, [0], REPO / "results" / "other", tmp_path)
    assert (p["results_dir"], p["output_dir"]) == ("results/other", str(tmp_path))


def test_portable_record_rewrites_only_papermills_paths(tmp_path):
    import nbformat

    from mmlkit.results.experiments import REPO
    from mmlkit.results.reproduce import portable_record

    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("x = 1"))
    nb.metadata["papermill"] = {"input_path": str(REPO / "notebooks" / "a.ipynb"),
                                "output_path": str(REPO / "papers_results" / "notebooks" / "a.ipynb"),
                                "parameters": {"output_dir": "papers_results"}}
    path = tmp_path / "a.ipynb"
    nbformat.write(nb, path)
    portable_record(path)
    got = nbformat.read(path, as_version=4)
    assert got.metadata.papermill.input_path == "notebooks/a.ipynb"
    assert got.metadata.papermill.output_path == "papers_results/notebooks/a.ipynb"
    assert got.metadata.papermill.parameters == {"output_dir": "papers_results"} and got.cells[0].source == "x = 1"


def test_an_invocation_that_reruns_every_notebook_of_the_full_run_replaces_it(tmp_path):
    """Another draw's folder holds only the --only notebooks: running them all again is that
    folder's new full run; running some of them is a rerun beside the full run."""
    from mmlkit.results.reproduce import add_run

    old = _record()["full_run"] | {"notebooks": {"01": 60.0, "03": 90.0}}
    some = {"notebooks": {"03": 10.0}, "wall_s": 600.0, "date": "2026-12-05", "runs_trained": 2}
    every = {"notebooks": {"01": 30.0, "03": 12.0}, "wall_s": 42.0, "date": "2026-12-05"}
    rec = add_run({"full_run": old, "reruns": []}, some)
    assert rec["full_run"] is old and rec["reruns"] == [some]
    assert add_run(rec, every) == {"full_run": every, "reruns": []}
    assert add_run({}, some) == {"full_run": some, "reruns": []}
    readme = write_readme(tmp_path, {"full_run": _record()["full_run"], "reruns": [some]}).read_text()
    assert "re-rendered `03` in 10.0 min, training 2 runs the store did not hold" in readme


def test_lanes_run_the_data_tour_first_and_the_tables_last_the_rest_longest_first():
    from mmlkit.results.reproduce import lane_groups, lane_threads, plan_minutes

    names = ["00_data_tour", "01_baselines_and_ensembles", "02_initialisation", "03_ml_vs_mml", "05_test_sampling",
             "mml_rgb_flow", "99_paper_tables"]
    assert lane_groups(names, 1) == [[n] for n in names]  # one lane: run order, one at a time
    minutes = plan_minutes({"notebooks": {"01_baselines_and_ensembles": ["a"], "02_initialisation": ["b"],
                                          "03_ml_vs_mml": ["c", "d"], "05_test_sampling": ["e"]},
                            "runs": [{"run": r, "train_s": 60.0 * m, "score_s": 0.0}
                                     for r, m in zip("abcde", (39, 47, 30, 36, 9))]})
    assert minutes["03_ml_vs_mml"] == pytest.approx(66.0)
    assert lane_groups(names, 2, minutes) == [
        ["00_data_tour"],
        ["01_baselines_and_ensembles", "03_ml_vs_mml", "02_initialisation", "05_test_sampling", "mml_rgb_flow"],
        ["99_paper_tables"]]
    assert (lane_threads(2, cores=2), lane_threads(2, cores=16), lane_threads(4, cores=2)) == (1, 8, 1)


def test_lanes_run_notebooks_side_by_side_and_a_failure_stops_what_has_not_started():
    import threading
    import time

    from mmlkit.results.reproduce import run_lanes

    both = threading.Barrier(2, timeout=5)  # passes only if two notebooks run at once
    ran = []

    def run_one(name):
        ran.append(name)
        if name in ("a", "b"):
            both.wait()
        if name == "c":
            raise RuntimeError("c failed")
        time.sleep(0.05)
        return 1.0

    assert run_lanes([["a", "b"]], 2, run_one) == {"a": 1.0, "b": 1.0}
    ran.clear()
    with pytest.raises(RuntimeError, match="c failed"):
        run_lanes([["c"], ["d"]], 2, run_one)
    assert ran == ["c"]  # the group after a failure never starts


def test_lanes_give_the_notebooks_a_thread_count_and_record_it(tmp_path, monkeypatch):
    import json as _json

    from mmlkit.results import reproduce, watch

    seen = []

    def fake_notebook(name, out_dir, params, kernel):
        seen.append((name, params.get("threads")))
        return 1.0

    monkeypatch.setattr(reproduce, "run_notebook_in_child", fake_notebook)  # lanes: a child process each
    monkeypatch.setattr(watch, "COMPUTE_PLAN", tmp_path / "no-compute.json")
    monkeypatch.setattr(reproduce, "_host_speed", lambda profile: 500.0)
    monkeypatch.setattr(reproduce.os, "cpu_count", lambda: 2)
    out = tmp_path / "out"
    assert reproduce.main(["--lanes", "2", "--only", "00_data_tour", "--only", "02_initialisation",
                           "--only", "03_ml_vs_mml", "--results-dir", str(tmp_path / "store"),
                           "--out", str(out)]) == 0
    assert seen[0] == ("00_data_tour", 1) and sorted(seen[1:]) == [("02_initialisation", 1), ("03_ml_vs_mml", 1)]
    record = _json.loads((out / "timings.json").read_text())["full_run"]
    assert record["lanes"] == 2 and record["parameters"]["threads"] == 1
    assert list(record["notebooks"]) == ["00_data_tour", "02_initialisation", "03_ml_vs_mml"]  # run order
    with pytest.raises(SystemExit):
        reproduce.main(["--lanes", "0"])


def test_lanes_make_the_data_first_when_the_data_tour_does_not(tmp_path, monkeypatch):
    """Two kernels starting at once must not both generate the benchmark."""
    from mmlkit.results import reproduce, watch

    made, order = [], []
    monkeypatch.setattr(reproduce, "prepare_data", lambda params: made.append(params["profile"]))
    monkeypatch.setattr(reproduce, "run_notebook_in_child", lambda name, *a: order.append((name, list(made))) or 1.0)
    monkeypatch.setattr(watch, "COMPUTE_PLAN", tmp_path / "no-compute.json")
    monkeypatch.setattr(reproduce, "_host_speed", lambda profile: 500.0)
    common = ["--results-dir", str(tmp_path / "store"), "--out", str(tmp_path / "out"), "--lanes", "2"]
    assert reproduce.main(["--only", "02_initialisation", "--only", "03_ml_vs_mml", *common]) == 0
    assert made == ["default"] and all(m == ["default"] for _, m in order)
    made.clear()
    assert reproduce.main(["--only", "00_data_tour", "--only", "03_ml_vs_mml", *common]) == 0
    assert made == []  # the data tour runs alone first and makes it


def test_a_lanes_notebook_runs_in_a_child_process_whose_failure_names_the_notebook(tmp_path):
    from mmlkit.results.reproduce import _CHILDREN, run_notebook_in_child

    with pytest.raises(RuntimeError, match=r"notebook no_such_notebook failed \(exit code [1-9]"):
        run_notebook_in_child("no_such_notebook", tmp_path, {}, "mmlkit")
    assert not _CHILDREN  # no longer counted among the lanes' running children


def test_an_interrupt_of_the_runner_reaches_the_lanes_children():
    """``kill -INT`` of ``./run_all.sh --lanes 2``'s process (not its whole group) must stop the
    notebooks' child processes too, or it would wait for them to end."""
    import signal
    import time

    from mmlkit.results import reproduce

    sent = []

    class Child:
        def send_signal(self, sig):
            sent.append(sig)

    def run_one(name):
        child = Child()
        with reproduce._CHILDREN_LOCK:
            reproduce._CHILDREN.add(child)
        if name == "a":
            signal.raise_signal(signal.SIGINT)  # Python's handler raises KeyboardInterrupt in the main thread
        deadline = time.monotonic() + 5
        while not sent and time.monotonic() < deadline:
            time.sleep(0.01)
        with reproduce._CHILDREN_LOCK:
            reproduce._CHILDREN.discard(child)
        raise RuntimeError(f"notebook {name} failed (exit code 1)")  # as papermill does on SIGINT

    # Python's own SIGINT handler, whatever launched pytest: a shell starts a background job (`cmd &`)
    # with SIGINT ignored, and Python then installs no handler, so the signal would never arrive.
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            reproduce.run_lanes([["a", "b"]], 2, run_one, needs={})
    finally:
        signal.signal(signal.SIGINT, before)
    assert sent and set(sent) == {signal.SIGINT}


def test_a_free_lane_waits_for_the_notebooks_a_notebook_needs():
    """02 starts from 01's models: beside 01 it would wait for them with its lane idle, so a free
    lane takes 03 first and 02 only once 01 is done."""
    import time

    from mmlkit.results.reproduce import run_lanes

    log = []

    def run_one(name):
        log.append(("start", name))
        time.sleep(0.3 if name == "01" else 0.01)
        log.append(("end", name))
        return 1.0

    run_lanes([["01", "02", "03"]], 2, run_one, needs={"02": ("01",)})
    assert log.index(("start", "03")) < log.index(("end", "01")) < log.index(("start", "02"))
    log.clear()
    run_lanes([["02", "03"]], 2, run_one, needs={"02": ("01",)})  # 01 not in this run: no wait
    assert {("start", "02"), ("start", "03")} <= set(log)


@pytest.mark.slow
def test_papermill_reaches_the_kernel_over_unix_sockets_without_a_warning(tmp_path, monkeypatch, capfd):
    """A notebook runs as before, and its kernel starts without ipykernel's warning about
    unencrypted TCP, which every notebook of ./run_all.sh used to print."""
    import contextlib
    import os

    import nbformat

    from mmlkit.results import reproduce

    if os.name != "posix":
        pytest.skip("Unix sockets: POSIX only (elsewhere the kernel keeps TCP)")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(6 * 7)")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    (tmp_path / "nbs").mkdir()
    nbformat.write(nb, tmp_path / "nbs" / "tiny.ipynb")
    monkeypatch.setattr(reproduce, "NOTEBOOKS", tmp_path / "nbs")
    folders = []
    real = reproduce.kernel_transport

    @contextlib.contextmanager
    def seen():
        with real() as config:
            folders.append(os.path.dirname(config.KernelManager.ip))
            yield config

    monkeypatch.setattr(reproduce, "kernel_transport", seen)
    reproduce.run_notebook("tiny", tmp_path / "out", {}, kernel="python3")
    done = nbformat.read(tmp_path / "out" / "notebooks" / "tiny.ipynb", as_version=4)
    assert done.cells[0].outputs[0]["text"] == "42\n"
    assert "without encryption" not in capfd.readouterr().err
    assert folders and not os.path.exists(folders[0])  # the sockets' folder went with the kernel


def test_kernel_sockets_fall_back_to_tcp_where_their_path_would_not_fit(tmp_path, monkeypatch):
    """A Unix socket's path must fit in 107 bytes: under a long temporary folder the kernel keeps
    TCP instead of failing to start."""
    import os
    import tempfile

    from mmlkit.results import reproduce

    if os.name != "posix":
        pytest.skip("Unix sockets: POSIX only")
    with reproduce.kernel_transport() as short:
        assert short.KernelManager.transport == "ipc" and len(short.KernelManager.ip) <= 90
    deep = tmp_path / ("d" * 100)
    deep.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(deep))
    with reproduce.kernel_transport() as config:
        assert "transport" not in config.KernelManager
