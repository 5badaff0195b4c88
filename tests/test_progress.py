"""Progress: live bars where someone watches, one summary line per job elsewhere."""

from __future__ import annotations

import sys
import types

import pytest

from mmlkit import progress


def _fake_kernel(monkeypatch, allow_stdin: bool) -> None:
    kernel = types.SimpleNamespace(_allow_stdin=allow_stdin)
    shell = types.SimpleNamespace(kernel=kernel)
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: shell))


def test_env_chooses_and_rejects_unknown_values(monkeypatch):
    for m in progress.MODES:
        monkeypatch.setenv("MMLKIT_PROGRESS", m)
        assert progress.mode() == m
    monkeypatch.setenv("MMLKIT_PROGRESS", "loud")
    with pytest.raises(ValueError, match="MMLKIT_PROGRESS='loud'"):
        progress.mode()


def test_auto_draws_bars_only_where_someone_can_watch(monkeypatch):
    monkeypatch.delenv("MMLKIT_PROGRESS", raising=False)
    monkeypatch.setitem(sys.modules, "IPython", None)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    assert progress.mode() == "lines"                         # pipe, CI log
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    assert progress.mode() == "bars"                          # terminal
    _fake_kernel(monkeypatch, allow_stdin=False)
    assert progress.mode() == "lines"                         # papermill / nbval / nbclient
    _fake_kernel(monkeypatch, allow_stdin=True)
    assert progress.mode() == "bars"                          # JupyterLab


def test_summary_prints_one_line_in_lines_mode_only(monkeypatch, capsys):
    monkeypatch.setenv("MMLKIT_PROGRESS", "lines")
    progress.summary("trained x")
    progress.summary("not shown", enabled=False)
    assert capsys.readouterr().out == "[mmlkit] trained x\n"
    monkeypatch.setenv("MMLKIT_PROGRESS", "bars")
    progress.summary("trained y")
    assert capsys.readouterr().out == ""


def test_bar_is_silent_outside_bars_mode(monkeypatch, capsys):
    monkeypatch.setenv("MMLKIT_PROGRESS", "lines")
    assert list(progress.bar(range(3), desc="x")) == [0, 1, 2]
    assert progress.bar(range(3)).disable is True
    monkeypatch.setenv("MMLKIT_PROGRESS", "bars")
    assert progress.bar(range(3), enabled=False).disable is True
    assert progress.bar(range(3)).disable is False


def test_count_trained_keeps_the_process_tally(monkeypatch):
    monkeypatch.setattr(progress, "_TRAINED", [])
    assert progress.count_trained(1.25) == "1st run trained in this process, 1.2 min of training so far"
    assert progress.count_trained(2.0).startswith("2nd run trained in this process, 3.2 min")
    for _ in range(9):
        tail = progress.count_trained(0.5)
    assert tail.startswith("11th run") and progress.count_trained(0.0).startswith("12th run")
    assert progress.count_trained(0.0).startswith("13th") and progress.count_trained(0.0).startswith("14th")
