"""The benchmark harness: collects rows from every ``benchmarks/bench_*.py`` module.

Each module exposes ``rows(quick: bool) -> list[dict]``; a row has ``group``, ``name``,
``value`` (float), ``unit``, and optionally ``target`` (text), ``ok`` (bool or None) and
``notes``. The harness prints one table and writes ``benchmarks/results/latest.json``
(plus a dated copy). ``--quick`` uses small sizes (used by the tests); ``--only NAME`` runs
one module (``--only data`` runs ``bench_data.py``).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import importlib
import json
import os
import platform
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent


def discover() -> list[str]:
    """Names of the bench modules (``bench_<name>.py`` -> ``name``), sorted."""
    return sorted(p.stem[len("bench_"):] for p in HERE.glob("bench_*.py"))


def collect(names: list[str], quick: bool) -> list[dict]:
    rows: list[dict] = []
    for name in names:
        t0 = time.perf_counter()
        try:
            mod = importlib.import_module(f"benchmarks.bench_{name}")
            got = mod.rows(quick=quick)
        except Exception as exc:  # a broken bench is reported as a row, the others still run
            traceback.print_exc()
            got = [{"group": name, "name": "ERROR", "value": float("nan"), "unit": "",
                    "ok": False, "notes": f"{type(exc).__name__}: {exc}"}]
        for r in got:
            r.setdefault("group", name)
            r.setdefault("target", "")
            r.setdefault("ok", None)
            r.setdefault("notes", "")
        rows.extend(got)
        print(f"[benchmarks] {name}: {len(got)} rows in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    return rows


def format_table(rows: list[dict]) -> str:
    head = ("group", "name", "value", "unit", "target", "ok", "notes")
    cells = [head] + [(r["group"], r["name"], f"{r['value']:.4g}", r["unit"], str(r["target"]),
                       {True: "yes", False: "NO", None: "-"}[r["ok"]], str(r["notes"])) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(head))]
    lines = [" | ".join(c[i].ljust(widths[i]) for i in range(len(head))) for c in cells]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (seconds), for tests")
    ap.add_argument("--only", action="append", help="run only this bench module (repeatable)", choices=discover())
    ap.add_argument("--out", default=str(HERE / "results"), help="folder for the JSON results")
    args = ap.parse_args(argv)
    names = args.only or discover()
    rows = collect(names, args.quick)
    print(format_table(rows))
    meta = {"date": _dt.datetime.now().isoformat(timespec="seconds"), "machine": platform.machine(),
            "cpus": os.cpu_count(), "python": platform.python_version(), "quick": args.quick}
    try:
        import torch
        meta["torch"] = torch.__version__
        meta["threads"] = torch.get_num_threads()
        meta["cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    except ImportError:
        pass
    from mmlkit.runtime import cpu_model
    meta["cpu"] = cpu_model()  # the host: its CPU decides every figure (AVX2 vs AVX-512)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    blob = json.dumps({"meta": meta, "rows": rows}, indent=2)
    stem = "quick" if args.quick else "latest"
    (out / f"{stem}.json").write_text(blob)
    print(f"wrote {out / (stem + '.json')}", file=sys.stderr)
    return 1 if any(r["ok"] is False for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
