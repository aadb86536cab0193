"""Run every benchmark and print one table; with ``--write``, also write ``benchmarks/RESULTS.md``.

Usage::

    python -m benchmarks --write    # full run (about 10-20 minutes on 2 cores), writes RESULTS.md
    python -m benchmarks --quick    # short run (under 2 minutes on 2 cores), prints only
    python -m benchmarks --only gaussian,discrete

Every figure is measured in this run on this machine; ratios compare timings taken in the
same run.  Targets come from the project's issues; each row says whether it was met.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import importlib
import sys
import time
from pathlib import Path

from ._util import machine, print_rows

MODULES = ["gaussian", "discrete", "subset", "solvers", "stealth", "data", "transport", "alphabet", "scaling"]
RESULTS = Path(__file__).with_name("RESULTS.md")


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _table(rows: list[dict], columns: list[str]) -> list[str]:
    out = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        cells = []
        for c in columns:
            v = r.get(c, "")
            if c == "met":
                v = "" if v is None else ("yes" if v else "**no**")
            cells.append(_fmt(v).replace("|", "/"))
        out.append("| " + " | ".join(cells) + " |")
    return out


def write_results(rows: list[dict], *, quick: bool, seconds: float, path: Path = RESULTS) -> Path:
    """Write the Markdown report of one run."""
    targets = [r for r in rows if r["target"]]
    met = sum(1 for r in targets if r["met"])
    lines = [
        "# mi_cvx benchmark results",
        "",
        f"Measured {_dt.datetime.now().strftime('%Y-%m-%d %H:%M')} by `python -m benchmarks"
        f"{' --quick' if quick else ''}` in {seconds:.0f} s on: {machine()}.",
        "Every figure comes from this one run; ratios compare timings taken in it.",
        "",
        f"## Targets ({met} of {len(targets)} met)",
        "",
        *_table(targets, ["benchmark", "case", "metric", "value", "unit", "target", "met", "note"]),
        "",
    ]
    for name in MODULES:
        part = [r for r in rows if r["benchmark"] == name or r.get("_module") == name]
        if not part:
            continue
        lines += [f"## {name}", "", *_table(part, ["case", "metric", "value", "unit", "target", "met", "note"]), ""]
    if any(r["benchmark"] == "scaling" for r in rows):
        lines += ["## Scaling plot", "", "![time and peak memory against size](scaling.png)", ""]
    path.write_text("\n".join(lines))
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short run (under 2 minutes on 2 cores)")
    parser.add_argument("--only", default="", help=f"comma-separated subset of: {', '.join(MODULES)}")
    parser.add_argument("--write", action="store_true",
                        help="write RESULTS.md (and scaling.png); without it the run only prints")
    args = parser.parse_args(argv)
    chosen = [m.strip() for m in args.only.split(",") if m.strip()] or MODULES
    unknown = sorted(set(chosen) - set(MODULES))
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    print(f"machine: {machine()}", flush=True)
    start = time.perf_counter()
    rows: list[dict] = []
    for name in chosen:
        t0 = time.perf_counter()
        print(f"\n== {name} ...", flush=True)
        module = importlib.import_module(f"benchmarks.bench_{name}")
        part = module.run(quick=args.quick, write=args.write) if name == "scaling" else module.run(quick=args.quick)
        for r in part:
            r["_module"] = name
        print_rows(part)
        print(f"   ({time.perf_counter() - t0:.1f} s)", flush=True)
        rows += part
    seconds = time.perf_counter() - start
    targets = [r for r in rows if r["target"]]
    print(f"\n{sum(1 for r in targets if r['met'])} of {len(targets)} targets met; total {seconds:.0f} s")
    if args.write:
        print(f"wrote {write_results(rows, quick=args.quick, seconds=seconds)}")
    else:
        print("(printed only; pass --write to update benchmarks/RESULTS.md)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
