"""Accuracy against inference cost from a finished run's stored tables, without its results store.

`99_paper_tables` draws the accuracy-vs-cost table and figure from the per-seed scores in the
results store. A run whose `99_paper_tables` predates the inference benchmark (the run in
papers_results/ of 2026-12-02) has its accuracies only as the headline's mean ± std over seeds;
this tool joins those with `benchmarks/results/inference/inference.json` through the same code
(`mmlkit.results.inference_cost.summary_vs_cost`) and writes `tables/accuracy_vs_cost.{csv,md}`
and `figures/accuracy_vs_cost.png` (with a line that says where they came from) and the cost table
`tables/inference_cost.{csv,md}` into the run's folder. The next full run's `99_paper_tables` overwrites them with the per-seed version.

    .venv/bin/python tools/accuracy_vs_cost_from_tables.py [--out papers_results] [--profile default]
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import pandas as pd

from mmlkit.config import profile
from mmlkit.data.synthetic import get_preset
from mmlkit.results.inference_cost import case_for, cost_table, load_cost, summary_vs_cost
from mmlkit.results.tables import to_markdown

ROOT = Path(__file__).resolve().parents[1]
MEAN_STD = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*±\s*(\d+(?:\.\d+)?)\s*$")


def inference_of(row: pd.Series) -> str:
    """What runs at inference for a headline row of a table without the ``inference`` column."""
    name = str(row["experiment"])
    if name.endswith(" ensemble"):  # "(2 models) RGB + Flow ensemble"
        return "+".join(m.strip() for m in name.split(")", 1)[1].removesuffix(" ensemble").split("+"))
    if "views test" in name:  # several test views: a cost the benchmark did not measure
        return "RGB (several views)"
    if int(row["models at inference"]) == 1:
        return "RGB"
    raise ValueError(f"headline row {name!r}: cannot tell what runs at inference")


def headline_summary(path: Path) -> pd.DataFrame:
    """The headline table at ``path`` as :func:`summary_vs_cost` wants it (mean and std parsed)."""
    t = pd.read_csv(path)
    rows = []
    for _, r in t.iterrows():
        m = MEAN_STD.match(str(r["top-1 (%)"]))
        if m is None:
            raise ValueError(f"{path}: row {r['experiment']!r}: top-1 {r['top-1 (%)']!r} is not 'mean ± std'")
        rows.append({"experiment": r["experiment"],
                     "inference": r["inference"] if "inference" in t.columns else inference_of(r),
                     "top-1 mean (%)": float(m.group(1)), "top-1 std (%)": float(m.group(2)),
                     "seeds": int(r["seeds"])})
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "papers_results")
    ap.add_argument("--profile", default="default")
    args = ap.parse_args(argv)
    doc = load_cost()
    if doc is None:
        raise SystemExit("no inference benchmark: run `python -m benchmarks --only inference` first")
    base = profile(args.profile)
    case = case_for(doc, base.model.arch, base.data.num_segments, base.data.input_size)
    if case is None:
        raise SystemExit(f"the inference benchmark measured no model like profile {args.profile!r}'s")
    flow = get_preset(base.data.synth_preset).flow_method  # the flow the benchmark's Flow models read
    table, fig = summary_vs_cost(headline_summary(args.out / "tables" / "headline.csv"), doc, case, flow)
    (args.out / "tables" / "accuracy_vs_cost.csv").write_text(table.to_csv(index=False))
    note = (f"_Drawn by `tools/accuracy_vs_cost_from_tables.py` from `tables/headline.csv` (mean ± std over "
            f"seeds) and `benchmarks/results/inference/inference.json` ({case} model, {flow} flow): this run's "
            "`99_paper_tables` predates the cost measurement._\n\n")
    (args.out / "tables" / "accuracy_vs_cost.md").write_text(note + to_markdown(table) + "\n")
    fig.savefig(args.out / "figures" / "accuracy_vs_cost.png", dpi=130)
    costs = cost_table(doc)  # every case, system and flow method, as 99_paper_tables writes it
    (args.out / "tables" / "inference_cost.csv").write_text(costs.to_csv(index=False))
    (args.out / "tables" / "inference_cost.md").write_text(to_markdown(costs) + "\n")
    print(to_markdown(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
