"""What the full run would take in two lanes with a scheduler of runs: computed, not measured.

Two notebooks at once leave a lane idle whenever its notebook waits for a run the other trains,
or has nothing left while the other still runs. A scheduler of runs (`./run_all.sh --lanes 2`,
`mmlkit.results.run_plan`) hands every planned run to the first free lane as soon as the run it
starts from is done. This tool computes what that takes for the last full run's runs, from
measured figures only:

* each run's seconds of training and scoring, one at a time with the profile's 2 threads
  (`papers_results/compute.json`), and the run it starts from (its ``after``);
* how much longer a run takes in a lane, with 1 thread: beside a busy lane (``paired``: twice
  the "side by side / one after the other" ratio of ``python -m benchmarks --only lanes``, since
  two runs side by side end together) and with the other lane idle (``alone``: its "1 thread /
  2 threads" row). Single models take the RGB rows, cohorts the RGB,Flow rows.

The schedule is list scheduling: when a lane frees, it takes the ready run (the run it starts from
done) with the longest chain of runs after it, then the longer run. It is an estimate: scoring
is taken to slow down in a lane as training does, and the runs the seed rule asks for are the
ones the last full run trained.

    .venv/bin/python tools/lane_schedule.py --lanes-json benchmarks/results/lanes/<host>.json [--write]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mmlkit.results.run_plan import by_priority, chain_seconds

REPO = Path(__file__).resolve().parents[1]


def schedule(seconds: dict[str, float], after: dict[str, str | None], paired: dict[str, float],
             alone: dict[str, float], kind: dict[str, str]) -> dict:
    """Two lanes of one thread each over runs that must follow the run they start from.

    Args:
        seconds: run -> its seconds with the profile's threads, one run at a time.
        after: run -> the run it starts from (trained first), or None.
        paired: kind -> a run's time factor in a lane while the other lane is busy.
        alone: kind -> a run's time factor in a lane while the other lane idles.
        kind: run -> its kind (a key of ``paired`` and ``alone``).

    Returns:
        ``{"serial_s", "lanes_s", "ratio" (serial / lanes), "critical_path_s", "alone_s"
        (seconds with one lane idle), "order" (runs by start)}``.

    Raises:
        ValueError: a run starts from one that is not among ``seconds``, or runs wait in a cycle.
    """
    missing = sorted({a for a in after.values() if a is not None} - set(seconds))
    if missing:
        raise ValueError(f"runs start from runs not in the plan: {missing[:3]}")
    chains = chain_seconds(seconds, after)  # the real scheduler's priority (mmlkit.results.run_plan)

    left = dict(seconds)  # run -> work left, in one-at-a-time seconds
    done: set[str] = set()
    running: list[str] = []
    order: list[str] = []
    t = alone_s = 0.0
    while len(done) < len(seconds):
        ready = by_priority((r for r in seconds if r not in order and (after.get(r) is None or after[r] in done)),
                            seconds, chains)
        while len(running) < 2 and ready:
            running.append(ready.pop(0))
            order.append(running[-1])
        if not running:
            raise ValueError(f"runs wait in a cycle: {sorted(set(seconds) - done)[:3]}")
        factor = {r: (paired if len(running) == 2 else alone)[kind[r]] for r in running}
        first = min(running, key=lambda r: left[r] * factor[r])
        dt = left[first] * factor[first]
        t += dt
        alone_s += dt if len(running) == 1 else 0.0
        for r in list(running):
            left[r] -= dt / factor[r]
            if r == first or left[r] <= 1e-9:
                running.remove(r)
                done.add(r)
    serial = sum(seconds.values())
    return {"serial_s": serial, "lanes_s": t, "ratio": serial / t if t else float("nan"),
            "critical_path_s": max(chains.values()), "alone_s": alone_s, "order": order}


def factors(lanes_json: dict) -> tuple[dict[str, float], dict[str, float]]:
    """(paired, alone) per kind ("single", "cohort") from ``python -m benchmarks --only lanes`` rows."""
    rows = {r["name"]: r["value"] for r in lanes_json["rows"]}
    try:
        paired = {"single": 2 * rows["2 RGB runs: side by side (2 x 1 thread) / one after the other (2 threads)"],
                  "cohort": 2 * rows["2 RGB,Flow runs: side by side (2 x 1 thread) / one after the other (2 threads)"]}
        alone = {"single": rows["1 RGB run alone: 1 thread / 2 threads"],
                 "cohort": rows["1 RGB,Flow run alone: 1 thread / 2 threads"]}
    except KeyError as exc:
        raise SystemExit(f"the lanes benchmark has no row {exc}: run `python -m benchmarks --only lanes` again")
    return paired, alone


def _kinds(text: str) -> dict[str, float]:
    """``"single=1.55,cohort=1.7"`` -> ``{"single": 1.55, "cohort": 1.7}``."""
    out = {}
    for part in text.split(","):
        key, _, value = part.partition("=")
        if key.strip() not in ("single", "cohort"):
            raise argparse.ArgumentTypeError(f"{part!r}: give single=<factor> and/or cohort=<factor>")
        try:
            out[key.strip()] = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{part!r}: the factor is not a number") from None
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--compute", type=Path, default=REPO / "papers_results" / "compute.json")
    ap.add_argument("--lanes-json", type=Path, required=True, help="a result file of `python -m benchmarks --only lanes`")
    ap.add_argument("--paired", type=_kinds, default=None, metavar="single=F,cohort=F",
                    help="the paired factors to use instead of the benchmark's (e.g. those seen in whole notebooks)")
    ap.add_argument("--write", action="store_true", help="write <lanes-json stem>-schedule.json beside it")
    args = ap.parse_args(argv)
    compute = json.loads(args.compute.read_text())
    lanes = json.loads(args.lanes_json.read_text())
    runs = compute["runs"]
    if any("after" not in r for r in runs):
        raise SystemExit(f"{args.compute} does not say which run each run starts from: run tools/run_costs.py again")
    seconds = {r["run"]: float(r["train_s"]) + float(r["score_s"]) for r in runs}
    kind = {r: "cohort" if "-" in r.split("_")[0] else "single" for r in seconds}
    paired, alone = factors(lanes)
    if args.paired is not None:
        paired = {**paired, **args.paired}
    got = schedule(seconds, {r["run"]: r["after"] for r in runs}, paired, alone, kind)
    out = {"inputs": {"compute": str(args.compute.relative_to(REPO) if args.compute.is_relative_to(REPO) else args.compute),
                      "lanes": str(args.lanes_json.relative_to(REPO) if args.lanes_json.is_relative_to(REPO)
                                   else args.lanes_json),
                      "lanes_host": lanes.get("meta", {}).get("cpu"), "paired": paired, "alone": alone,
                      "runs": len(seconds), "image_stand_in_s": compute.get("image_stand_in_s")},
           **{k: round(v, 1) if isinstance(v, float) else v for k, v in got.items() if k != "order"},
           "first_runs": got["order"][:6]}
    print(f"{len(seconds)} runs: one at a time {got['serial_s'] / 60:.1f} min; two 1-thread lanes "
          f"{got['lanes_s'] / 60:.1f} min ({got['ratio']:.2f}x the runs per hour), of which "
          f"{got['alone_s'] / 60:.1f} min with one lane idle; longest chain {got['critical_path_s'] / 60:.1f} min "
          f"(paired {paired}, alone {alone}, from {out['inputs']['lanes']})")
    if args.write:
        suffix = "" if args.paired is None else "-paired-" + "-".join(f"{k}{v:g}" for k, v in args.paired.items())
        dest = args.lanes_json.with_name(args.lanes_json.stem + "-schedule" + suffix + ".json")
        dest.write_text(json.dumps(out, indent=2) + "\n")
        print(f"wrote {dest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
