"""Discrete attacks (docs/theory.md sections 4-5): parameter re-solves, the exact binary oracle,
how the channel and transport forms scale, and the paper's grid search.

Run ``python -m benchmarks.bench_discrete`` (add ``--quick`` for a short run).
"""

from __future__ import annotations

import sys
import time

import numpy as np

import mi_cvx
from mi_cvx import oracles
from mi_cvx.paper import paper_grid_search  # the paper's method, shared with `mi-cvx reproduce`

from ._util import median_time, print_rows, row, run_isolated

BENCH = "discrete"
P_BINARY = np.array([[0.4, 0.1], [0.15, 0.35]])  # a_0 = 0.2, a_1 = 0.7: D0 = 0.25


def _binary_rows(quick: bool) -> list[dict]:
    p = P_BINARY
    d0 = oracles.binary_zero_threshold(p)
    budgets = list(np.linspace(0.02, 0.98, 9 if quick else 25) * d0)
    rows = []

    ap = mi_cvx.binary_channel(p, budgets[0])
    ap.solve("CLARABEL")  # compile once
    cycle = iter(budgets * 1000)

    def resolve():
        ap.parameters["budget"].value = next(cycle)
        return ap.solve("CLARABEL")

    repeats = len(budgets) * (2 if quick else 4)
    t_resolve = median_time(resolve, repeats=repeats, warmup=2)
    rows.append(row(BENCH, "binary, Clarabel", "re-solve per budget (Parameters)", t_resolve * 1e3, "ms",
                    "<= 10 ms", t_resolve <= 0.010, f"median over {repeats} solves, compiled once"))

    cycle_b = iter(budgets * 1000)
    t_rebuild = median_time(lambda: mi_cvx.binary_channel(p, next(cycle_b)).solve("CLARABEL"),
                            repeats=len(budgets) if quick else 2 * len(budgets), warmup=1)
    rows.append(row(BENCH, "binary, Clarabel", "re-build + solve per budget", t_rebuild * 1e3, "ms",
                    note=f"{t_rebuild / t_resolve:.1f}x the Parameter re-solve"))

    cycle_o = iter(budgets * 100000)
    t_oracle = median_time(lambda: oracles.binary_oracle(p, next(cycle_o)), repeats=200 if quick else 2000, warmup=20)
    rows.append(row(BENCH, "binary", "exact oracle per budget", t_oracle * 1e3, "ms", "< 1 ms", t_oracle < 1e-3,
                    "total-variation oracle, Brent on the 1-d slope"))

    errs = []
    for b in budgets:
        ap.parameters["budget"].value = b
        errs.append(mi_cvx.relative_error(ap.solve("CLARABEL").mi, oracles.binary_oracle(p, b).mi))
    tol = mi_cvx.solvers.tolerance("CLARABEL")
    rows.append(row(BENCH, "binary, Clarabel", "max rel. error vs oracle", max(errs), "", f"<= {tol:g}",
                    max(errs) <= tol, f"{len(budgets)} budgets in (0, D0)"))
    return rows


# --------------------------------------------------------------- scaling


def solve_size(k: int, formulation: str, budget: float = 0.2, seed: int = 0, **options) -> dict:
    """Build and solve one random k x k Hamming problem with Clarabel (module level: run in a child)."""
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.full(k * k, 0.8)).reshape(k, k)
    t0 = time.perf_counter()
    ap = mi_cvx.discrete_channel(p, budget, formulation=formulation)
    built = time.perf_counter() - t0
    res = ap.solve("CLARABEL", raise_on_failure=False, **options)
    total = time.perf_counter() - t0
    dpp = not {**ap.solve_options, **options}.get("ignore_dpp", False)
    return {"build": built, "compile": res.setup_time, "solve": res.solve_time, "total": total, "mi": res.mi,
            "ok": res.ok, "status": res.status, "iterations": res.iterations, "dpp": dpp,
            "dpp_estimate_gb": ap.spec["dpp_compile_bytes"] / 1e9}


def _sixteen_rows(quick: bool) -> list[dict]:
    rows = []
    for formulation in ("channel", "transport"):
        status, out, seconds, peak = run_isolated(solve_size, 16, formulation, timeout=120)
        if status != "ok":
            rows.append(row(BENCH, f"k=l=16 Hamming, {formulation}", "build + solve", float("nan"), "s",
                            "< 2 s", False, f"{status}: {out}"))
            continue
        rows.append(row(BENCH, f"k=l=16 Hamming, {formulation}", "build + solve", out["total"], "s", "< 2 s",
                        out["total"] < 2.0 and out["ok"],
                        f"compile {out['compile']:.2f} s, Clarabel {out['solve']:.2f} s ({out['iterations']} it), "
                        f"peak {peak:.0f} MB, I* = {out['mi']:.6g}"))
    return rows


def _scaling_rows(quick: bool) -> list[dict]:
    rows = []
    sizes = [8, 16, 24] if quick else [8, 16, 32, 48, 64]
    timeout = 120 if quick else 900
    values = {}
    for formulation in ("transport", "channel"):
        for k in sizes:
            status, out, seconds, peak = run_isolated(solve_size, k, formulation, timeout=timeout)
            case = f"k=l={k} Hamming, {formulation}"
            if status != "ok":
                rows.append(row(BENCH, case, "build + solve", float("nan"), "s",
                                note=f"{status} after {seconds:.0f} s"))
                continue
            values[(formulation, k)] = out["mi"]
            mode = "DPP" if out["dpp"] else f"ignore_dpp (DPP estimate {out['dpp_estimate_gb']:.1f} GB)"
            rows.append(row(BENCH, case, "build + solve", out["total"], "s",
                            note=f"compile {out['compile']:.2f} s [{mode}], Clarabel {out['solve']:.2f} s "
                                 f"({out['iterations']} it), {k ** 3 if formulation == 'channel' else k * k} "
                                 f"attack variables, status {out['status']}"))
            rows.append(row(BENCH, case, "peak RSS", peak, "MB", note="whole child process, incl. ~200 MB imports"))
    # The DPP trade-off at a size where both fit comfortably in memory.
    k = 24 if quick else 32
    for flag in (False, True):
        status, out, seconds, peak = run_isolated(solve_size, k, "channel", timeout=timeout, ignore_dpp=flag)
        if status == "ok":
            rows.append(row(BENCH, f"k=l={k} Hamming, channel", f"{'ignore_dpp' if flag else 'DPP'} compile",
                            out["compile"], "s", note=f"peak RSS {peak:.0f} MB; Clarabel {out['solve']:.2f} s"))
    for k in sizes:
        if ("channel", k) in values and ("transport", k) in values:
            err = mi_cvx.relative_error(values[("transport", k)], values[("channel", k)])
            rows.append(row(BENCH, f"k=l={k} Hamming", "transport vs channel rel. diff", err, "", "<= 1e-5",
                            err <= 1e-5))
    return rows


# ------------------------------------------------- the paper's grid search


def _paper_rows(quick: bool) -> list[dict]:
    p = P_BINARY
    d0 = oracles.binary_zero_threshold(p)
    budgets = np.array([0.1, 0.3, 0.5, 0.7, 0.9]) * d0
    n = 30 if quick else 100
    rows = []
    t0 = time.perf_counter()
    paper_grid_search(p, budgets[2:3], points=n)
    t_grid = time.perf_counter() - t0
    label = f"{n}^4 grid"
    note = "one full pass over the grid for one budget"
    if n != 100:
        t_grid_100 = t_grid * (100 / n) ** 4
        rows.append(row(BENCH, "paper's method, 100^4 grid", "time per budget (EXTRAPOLATED)", t_grid_100, "s",
                        note=f"measured {t_grid:.3g} s at {n}^4, scaled by (100/{n})^4"))
    else:
        t_grid_100 = t_grid
    rows.append(row(BENCH, f"paper's method, {label}", "time per budget", t_grid, "s", note=note))

    grid_vals = paper_grid_search(p, budgets, points=n)
    exact = np.array([oracles.binary_oracle(p, b).mi for b in budgets])
    ap = mi_cvx.binary_channel(p, budgets[0])
    conic, t_solve = [], []
    for b in budgets:
        ap.parameters["budget"].value = b
        res = ap.solve("CLARABEL")
        conic.append(res.mi)
    cycle = iter(list(budgets) * 1000)

    def resolve():
        ap.parameters["budget"].value = next(cycle)
        ap.solve("CLARABEL")

    t_solve = median_time(resolve, repeats=15, warmup=2)
    cycle_o = iter(list(budgets) * 10000)
    t_oracle = median_time(lambda: oracles.binary_oracle(p, next(cycle_o)), repeats=500, warmup=10)
    grid_err = grid_vals - exact
    conic_err = np.abs(np.array(conic) - exact)
    rows.append(row(BENCH, f"paper's method, {label}", "max error vs exact", float(grid_err.max()), "nats",
                    note="grid value - exact (>= 0); per budget: "
                         + ", ".join(f"{e:.2e}" for e in grid_err)))
    rows.append(row(BENCH, "Clarabel re-solve", "max error vs exact", float(conic_err.max()), "nats",
                    note=f"same {budgets.size} budgets"))
    ratio = t_grid_100 / t_solve
    as_accurate = float(conic_err.max()) <= float(np.abs(grid_err).max())
    rows.append(row(BENCH, "paper 100^4 / Clarabel re-solve", "time ratio", ratio, "x",
                    ">= 100x at equal or better accuracy", bool(ratio >= 100 and as_accurate),
                    note=f"{t_grid_100:.3g} s vs {t_solve * 1e3:.3g} ms; max error {conic_err.max():.1e} vs "
                         f"{np.abs(grid_err).max():.1e} nats" + (" (grid time extrapolated)" if n != 100 else "")))
    rows.append(row(BENCH, "paper 100^4 / exact oracle", "time ratio", t_grid_100 / t_oracle, "x",
                    note=f"{t_grid_100:.3g} s vs {t_oracle * 1e6:.3g} us"
                         + (" (grid time extrapolated)" if n != 100 else "")))
    return rows


def run(quick: bool = False) -> list[dict]:
    """Binary re-solves and oracle, k = 16 and the scaling of both forms, and the paper's grid search."""
    return _binary_rows(quick) + _sixteen_rows(quick) + _scaling_rows(quick) + _paper_rows(quick)


if __name__ == "__main__":
    print_rows(run(quick="--quick" in sys.argv[1:]))
