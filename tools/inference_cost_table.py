"""Print the README's inference-cost tables (Markdown) from benchmarks/results/inference/inference.json.

Usage: `.venv/bin/python tools/inference_cost_table.py`
"""

from __future__ import annotations

import sys

from mmlkit.results.inference_cost import cost_table, load_cost
from mmlkit.results.tables import to_markdown


def main() -> int:
    doc = load_cost()
    if doc is None:
        print("no benchmarks/results/inference/inference.json: run "
              "`python -m benchmarks --only inference --out benchmarks/results/inference`", file=sys.stderr)
        return 1
    t = cost_table(doc)
    t["system"] = t["system"] + t["flow"].map(lambda f: f" ({f})" if f else "")
    for case, part in t.groupby("case", sort=False):
        cols = ["system", "ms/video (median)", "ms/video (p90)", "x RGB", "videos/s", "peak MiB",
                "decode ms", "flow ms", "networks ms"]
        print(f"\n{case}:\n")
        print(to_markdown(part[cols], floatfmt=".1f"))
    m = doc["meta"]
    print(f"\nMeasured with {m['threads']} torch threads, OpenCV {m['opencv']} (TV-L1: {m['tvl1']}), "
          f"torch {m['torch']}, load average {m['load_average_start']:.1f} at the start.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
