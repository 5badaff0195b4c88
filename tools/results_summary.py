"""A Markdown summary of papers_results/ for docs/findings.md ("The last full run's tables"): wall time, validity
checks and every claim row with its paired difference, intervals and verdict.

Every number comes from the tables the last `./run_all.sh` wrote; nothing is typed by hand.

    .venv/bin/python tools/results_summary.py           # print it
    .venv/bin/python tools/results_summary.py --write   # replace docs/findings.md's block between the markers
"""

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from mmlkit.results.tables import to_markdown

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "papers_results"
BEGIN, END = "<!-- results_summary: begin -->", "<!-- results_summary: end -->"


def summary() -> str:
    rec = json.loads((OUT / "timings.json").read_text())["full_run"]
    t = OUT / "tables"
    compute = OUT / "compute.json"
    scratch = ""
    if compute.exists():
        c = json.loads(compute.read_text())
        n_retimed = sum(bool(r.get("retimed")) for r in c["runs"])
        retimed = f", {n_retimed} of them slowed by other work and retimed to the same bits" if n_retimed else ""
        scratch = (f" Training and scoring every run it uses, summed: **{c['total_min']:.1f} minutes** "
                   f"({len(c['runs'])} runs, each timed when it was trained{retimed}; `tools/run_costs.py`, "
                   "`papers_results/compute.md`).")
    reused = "runs already in the results store are not retrained"
    if "runs_trained" in rec:
        reused = (f"from scratch: {rec['runs_trained']} runs trained, none reused" if not rec["runs_reused"] else
                  f"{rec['runs_trained']} runs trained, {rec['runs_reused']} reused from the results store")
    parts = [f"**`./run_all.sh`, default profile, seeds {rec['parameters']['seeds']}: "
             f"{rec['wall_s'] / 60:.1f} minutes** on {rec['date']} ({reused}), peak memory "
             f"{rec['peak_rss_gib']:.1f} GiB.{scratch}\n"]
    conv = pd.read_csv(t / "initialisation_convergence.csv")
    parts.append("Validity (mean over seeds; `yes` = every seed passes):\n")
    cols = ["modality", "val top-1", "last-quarter change", "2nd-round gain", "train top-1", "plateau",
            "2nd round < 3", "fits (train >= 90)"]
    parts.append(to_markdown(conv[cols]) + "\n")
    claims = pd.read_csv(t / "claims.csv")
    parts.append("The claims (A - B paired by seed and video; the verdict reads the 95% interval over seeds and "
                 "videos, against 0 and the +-1-point margin):\n")
    cols = ["claim", "comparison", "A top-1 (%)", "B top-1 (%)", "A - B", "95% CI (seeds × videos)",
            "detectable (80% power)", "seeds", "verdict"]
    parts.append(to_markdown(claims[cols]))
    return "\n".join(parts)


def replace_block(text: str, block: str) -> str:
    """``text`` with what lies between the markers replaced by ``block``."""
    if text.count(BEGIN) != 1 or text.count(END) != 1 or text.index(BEGIN) > text.index(END):
        raise SystemExit(f"docs/findings.md must hold exactly one {BEGIN} ... {END} pair")
    head, rest = text.split(BEGIN)
    _, tail = rest.split(END)
    return f"{head}{BEGIN}\n{block}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="replace the block in docs/findings.md instead of printing")
    args = ap.parse_args(argv)
    block = summary()
    if not args.write:
        print(block)
        return 0
    readme = ROOT / "docs" / "findings.md"
    readme.write_text(replace_block(readme.read_text(), block))
    print(f"updated {readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
