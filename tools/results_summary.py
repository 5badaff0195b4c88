"""Print a Markdown summary of papers_results/ (for README's "Measured" section): wall time,
validity checks and every claim row with its paired difference, intervals and verdict.

Every number comes from the tables the last `./run_all.sh` wrote; nothing is typed by hand.
"""

import json
import sys
from pathlib import Path

import pandas as pd

from mmlkit.results.tables import to_markdown

OUT = Path(__file__).resolve().parents[1] / "papers_results"


def main() -> int:
    rec = json.loads((OUT / "timings.json").read_text())["full_run"]
    t = OUT / "tables"
    compute = OUT / "compute.json"
    scratch = ""
    if compute.exists():
        c = json.loads(compute.read_text())
        scratch = (f" Training and scoring every run it uses from scratch: **{c['total_min']:.1f} minutes** "
                   f"({len(c['runs'])} runs, each timed when it was trained; `tools/run_costs.py`, "
                   "`papers_results/compute.md`).")
    print(f"**`./run_all.sh`, default profile, seeds {rec['parameters']['seeds']}: "
          f"{rec['wall_s'] / 60:.1f} minutes** on {rec['date']} (runs already in the results store are not "
          f"retrained), peak memory {rec['peak_rss_gib']:.1f} GiB.{scratch}\n")
    conv = pd.read_csv(t / "initialisation_convergence.csv")
    print("Validity (mean over seeds; `yes` = every seed passes):\n")
    cols = ["modality", "val top-1", "last-quarter change", "2nd-round gain", "train top-1", "plateau",
            "2nd round < 3", "fits (train >= 90)"]
    print(to_markdown(conv[cols]))
    claims = pd.read_csv(t / "claims.csv")
    print("\nThe claims (A - B paired by seed; the verdict reads the t interval over seeds):\n")
    cols = ["claim", "comparison", "A top-1 (%)", "B top-1 (%)", "A - B", "95% CI (seeds)", "95% CI (seeds × videos)",
            "verdict"]
    print(to_markdown(claims[cols]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
