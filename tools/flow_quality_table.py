"""Print the README's flow-quality table (Markdown) from benchmarks/results/flow_quality/latest.json.

Run `python -m benchmarks --only flow_quality --out benchmarks/results/flow_quality` first.
Rows: each method and render size with flow stored as the default preset stores it (8-bit,
+-5 px at 32 px), plus v0.1's setting (DIS ultrafast at 32 px, +-20 px).
"""

import json
import re
import sys
from pathlib import Path

PAIRS = r"(\d+) pairs/s"
PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "flow_quality" / "latest.json"


def main() -> int:
    data = json.loads(PATH.read_text())
    print("| method | render px | stored as | object EPE (px) | object direction acc. | moving-object EPE | "
          "moving-object direction acc. | background EPE | pairs/s |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|")
    zero = None
    for r in data["rows"]:
        m = re.match(r"flow quality (\S+) R=(\d+) (\S+) object EPE", r["name"])
        if not m:
            continue
        meth, size, q = m.groups()
        old = (meth, size, q) == ("dis-ultrafast", "32", "q20")
        if q != "q5" and not old:
            continue
        notes = r["notes"]

        def num(pattern: str) -> float:
            return float(re.search(pattern, notes).group(1))

        zero = num(r"zero-flow EPE ([0-9.]+)")
        mark = " (v0.1)" if old else (" (v0.2 default)" if (meth, size) == ("farneback", "48") else "")
        stored = "8-bit, ±20 px" if q == "q20" else "8-bit, ±5 px"
        cells = [f"{meth}{mark}", size, stored, f"{r['value']:.3f}", f"{num(r'^dir acc ([0-9.]+)'):.3f}",
                 f"{num(r'moving-object EPE ([0-9.]+)'):.3f}", f"{num(r'moving-object EPE [0-9.]+ dir acc ([0-9.]+)'):.3f}",
                 f"{num(r'background EPE ([0-9.]+)'):.3f}", f"{int(num(PAIRS)):,}"]
        print("| " + " | ".join(cells) + " |")
    print(f"\nPredicting no motion scores {zero:.3f} px object EPE. Measured {data['meta']['date']} "
          f"({PATH.relative_to(PATH.parents[3])}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
