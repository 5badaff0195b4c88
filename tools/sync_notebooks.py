"""Write notebooks/<name>.ipynb from notebooks/<name>.py (jupytext py:percent), the source of each pair.

Usage: `.venv/bin/python tools/sync_notebooks.py [--check] [NAME ...]`

JupyterLab (with jupytext, a dependency) keeps both files of a pair in step by itself; this tool is
for edits made to a .py elsewhere (an editor, a merge). The .ipynb is written without outputs,
except the cells that start with `# NBVAL_CHECK_OUTPUT`: nbval compares their output with a stored
reference, which this tool produces by running the cell (they are deterministic: claim texts,
published numbers). Cell ids are stable (`cell-00`, ...), so a sync without edits changes nothing.
`--check` writes nothing and exits 1 when a .ipynb is out of date.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat

NB = Path(__file__).resolve().parents[1] / "notebooks"
CHECK = "# NBVAL_CHECK_OUTPUT"
KERNEL = {"name": "mmlkit", "display_name": "mmlkit (.venv)", "language": "python"}


def build(py: Path) -> nbformat.NotebookNode:
    """The .ipynb of ``py``: its cells, stable ids, no outputs but the reference cells' (run here)."""
    nb = jupytext.read(py)
    out = nbformat.v4.new_notebook()
    out.metadata["kernelspec"] = dict(KERNEL)
    out.metadata["language_info"] = {"name": "python"}
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            new = nbformat.v4.new_markdown_cell(cell.source)
        else:
            new = nbformat.v4.new_code_cell(cell.source)
            if cell.source.startswith(CHECK):
                text = subprocess.run([sys.executable, "-c", cell.source], capture_output=True, text=True,
                                      check=True, cwd=NB).stdout
                new.execution_count = 1  # nbval skips a reference cell without an execution count as "unrun"
                new.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
        if cell.metadata.get("tags"):
            new.metadata["tags"] = list(cell.metadata["tags"])
        if cell.metadata.get("mystnb"):  # myst-nb's rendering options, e.g. a figure's alt text
            new.metadata["mystnb"] = dict(cell.metadata["mystnb"])
        new["id"] = f"cell-{i:02d}"
        out.cells.append(new)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="notebook names (default: every .py in notebooks/)")
    ap.add_argument("--check", action="store_true", help="write nothing; exit 1 if a .ipynb is out of date")
    args = ap.parse_args(argv)
    pys = [NB / f"{n.removesuffix('.py').removesuffix('.ipynb')}.py" for n in args.names] or sorted(NB.glob("*.py"))
    stale = []
    for py in pys:
        ipynb = py.with_suffix(".ipynb")
        text = nbformat.writes(build(py)) + "\n"
        if ipynb.exists() and ipynb.read_text() == text:
            continue
        stale.append(ipynb.name)
        if not args.check:
            ipynb.write_text(text)
    verb = "out of date" if args.check else "wrote"
    print(f"{verb}: {', '.join(stale) if stale else 'nothing'}")
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    raise SystemExit(main())
