"""The notebooks: committed clean, all run by CI, parameterised for papermill, servable by JupyterLab."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


def _load(path: Path) -> dict:
    return json.loads(path.read_text())


def test_there_are_notebooks():
    names = {p.stem for p in NOTEBOOKS}
    assert {"00_data_tour", "mml_rgb_flow", "99_paper_tables"} <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs_and_parameterised(path):
    nb = _load(path)
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    # outputs are kept only as nbval's references: cells marked NBVAL_CHECK_OUTPUT, whose output
    # is deterministic (published numbers, claim texts), never a result of a run
    for c in code:
        checked = "# NBVAL_CHECK_OUTPUT" in "".join(c["source"])
        assert checked or (not c.get("outputs") and c.get("execution_count") is None), \
            f"{path.name} has outputs in a cell nbval does not check"
    assert "parameters" in code[0].get("metadata", {}).get("tags", []), f"{path.name}: first code cell is not tagged 'parameters'"
    src = "".join(code[0]["source"])
    for name in ("profile", "seeds", "dataset", "data_root", "device", "workers", "results_dir"):
        assert f"{name} =" in src, f"{path.name}: parameters cell lacks {name}"
    assert nb["metadata"]["kernelspec"]["name"] == "mmlkit"


def test_every_notebook_is_run_by_ci_and_by_reproduce():
    from mmlkit.results.reproduce import ORDER, notebook_names

    script = (REPO / "run_all.sh").read_text()
    assert "--nbval-lax" in script and "notebooks/" in script  # nbval collects every notebook in the folder
    assert (REPO / ".ci" / "run").read_text().count("run_all.sh test") == 1
    assert set(notebook_names()) == {p.stem for p in NOTEBOOKS}
    assert all(p.stem in ORDER for p in NOTEBOOKS), "a notebook is missing from reproduce.ORDER"


#: A cell shows a figure when it calls a plotting function or ends on one of an analysis's figures.
_SHOWS_FIGURE = re.compile(r"\.figures\s*(\[|\.get\()|\bplots\.\w+\(|\bplt\.|_figure\(|\.plot\(|\bdisplay\(\s*fig")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_figure_has_alt_text_for_the_documentation_site(path):
    """myst-nb gives an image output the alt text of its cell's ``mystnb.image.alt`` metadata (in
    the .py: ``# %% mystnb={"image": {"alt": "..."}}``); without it the rendered page's image has none."""
    nb = _load(path)
    shown = [c for c in nb["cells"] if c["cell_type"] == "code" and _SHOWS_FIGURE.search("".join(c["source"]))]
    missing = ["".join(c["source"]).strip().splitlines()[-1] for c in shown
               if not str(c.get("metadata", {}).get("mystnb", {}).get("image", {}).get("alt", "")).strip()]
    assert not missing, f"{path.name}: cells that show a figure without alt text: {missing}"
    alts = [c["metadata"]["mystnb"]["image"]["alt"] for c in shown]
    assert len(set(alts)) == len(alts), f"{path.name}: two figures share one alt text"
    assert all(20 <= len(a) <= 250 for a in alts), f"{path.name}: an alt text should be a short sentence"


def test_figure_cells_are_recognised():
    for src in ('res.figures["accuracy"]', 'res.figures.get("x")', "plots.forest(t)", "fig = validity.per_class_figure(t)"):
        assert _SHOWS_FIGURE.search(src), src
    for src in ('display(readable(res.tables["claim"]))', "res = analyses.baselines(study)", "study"):
        assert not _SHOWS_FIGURE.search(src), src


def test_published_numbers_cell_is_checked_by_nbval():
    nb = _load(REPO / "notebooks" / "99_paper_tables.ipynb")
    assert any("# NBVAL_CHECK_OUTPUT" in "".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_jupyterlab_serves_the_recipe_notebook(tmp_path):
    jupyter = Path(sys.executable).parent / "jupyter"
    if not jupyter.exists():
        pytest.skip("jupyter is not installed in this environment")
    port, token = _free_port(), "mmlkit-test"
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "rt"), JUPYTER_CONFIG_DIR=str(tmp_path / "cfg"))
    proc = subprocess.Popen([str(jupyter), "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
                             f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={REPO}", "--allow-root"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    try:
        url = f"http://127.0.0.1:{port}/api/contents/notebooks/mml_rgb_flow.ipynb?token={token}"
        deadline, last = time.time() + 90, None
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    body = json.loads(r.read())
                break
            except Exception as exc:  # server still starting
                last = exc
                if proc.poll() is not None:
                    pytest.fail(f"jupyter lab exited: {proc.stdout.read().decode()[-2000:]}")
                time.sleep(1)
        else:
            pytest.fail(f"jupyter lab did not answer on port {port} within 90 s: {last}")
        assert body["type"] == "notebook" and body["name"] == "mml_rgb_flow.ipynb"
        assert any("Step 1" in "".join(c["source"]) for c in body["content"]["cells"])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/lab?token={token}", timeout=10) as r:
            assert r.status == 200 and b"JupyterLab" in r.read()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def _fake_venv(tmp_path):
    """A copy of ``./run_all.sh`` beside a stand-in ``.venv/bin/python`` that passes ensure_venv's
    import check, hands ``-c`` snippets to the real interpreter and, for ``-m``, records its argv
    (``argv``) and the CPU-dispatch variables of its environment (``env``)."""
    shutil.copy(REPO / "run_all.sh", tmp_path / "run_all.sh")
    fake = tmp_path / ".venv" / "bin" / "python"
    fake.parent.mkdir(parents=True)
    fake.write_text(f'#!/bin/sh\n[ "$1" = "-c" ] && exec "{sys.executable}" "$@"\n'
                    f'[ "$1" = "-m" ] && printf "%s\\n" "$@" > "{tmp_path}/argv" && '
                    f'(env | grep -E "^(ATEN|ONEDNN|DNNL|MKL_CBWR)" | sort > "{tmp_path}/env"; true)\nexit 0\n')
    fake.chmod(0o755)


def test_run_all_forwards_every_option_to_reproduce(tmp_path):
    """``./run_all.sh`` hands its options to ``mmlkit.results.reproduce`` unchanged, a repeated
    ``--only`` included (a shell variable once kept only the last one)."""
    _fake_venv(tmp_path)
    subprocess.run(["bash", str(tmp_path / "run_all.sh"), "--only", "01_baselines_and_ensembles", "--only",
                    "03_ml_vs_mml", "--synth-seed", "1", "--seeds", "0,1", "--lanes", "2"], check=True,
                   capture_output=True)
    argv = (tmp_path / "argv").read_text().split()
    assert argv[:2] == ["-m", "mmlkit.results.reproduce"]
    assert argv[2:] == ["--profile", "default", "--seeds", "0,1", "--only", "01_baselines_and_ensembles",
                        "--only", "03_ml_vs_mml", "--synth-seed", "1", "--lanes", "2"]


def test_run_all_pins_the_dispatch_unless_told_not_to(tmp_path):
    """By default reproduce (and so the notebooks' kernel and its store) runs with every pin of
    ``PINNED_DISPATCH``; ``--unpinned`` removes them, inherited ones too; ``--pin-dispatch``, the
    old opt-in, still means pinned."""
    from mmlkit.runtime import PINNED_DISPATCH

    _fake_venv(tmp_path)
    pins = sorted(f"{k}={v}" for k, v in PINNED_DISPATCH.items())
    clean = {k: v for k, v in os.environ.items() if k not in PINNED_DISPATCH}
    for flags, env, expect in (([], clean, pins), (["--pin-dispatch"], clean, pins),
                               (["--unpinned"], {**clean, **PINNED_DISPATCH}, [])):
        subprocess.run(["bash", str(tmp_path / "run_all.sh"), *flags], check=True, capture_output=True, env=env)
        assert (tmp_path / "env").read_text().split() == expect, flags
        assert "--unpinned" not in (tmp_path / "argv").read_text()  # run_all.sh's own option


def test_run_all_refuses_a_full_disk_before_installing(tmp_path):
    """Without ``.venv`` on a disk with too little room, ``./run_all.sh`` stops at once with the
    figures (a CI run once failed minutes into pip with "[Errno 28] No space left on device")."""
    shutil.copy(REPO / "run_all.sh", tmp_path / "run_all.sh")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_df = bin_dir / "df"  # 500 MiB available on the repository's disk
    fake_df.write_text("#!/bin/sh\necho 'Filesystem 1024-blocks Used Available Capacity Mounted on'\n"
                       "echo '/dev/vda 264241152 263729152 512000 100% /'\n")
    fake_df.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    proc = subprocess.run(["bash", str(tmp_path / "run_all.sh"), "test"], capture_output=True, text=True,
                          env=env, timeout=60)
    assert proc.returncode == 1
    assert "needs about 8 GiB free" in proc.stderr and "500 MiB are free" in proc.stderr, proc.stderr
    assert not (tmp_path / ".venv").exists()  # nothing was started
