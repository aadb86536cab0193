"""Blind and stealth attacks on the IEEE power-grid test systems: conic solves against their closed forms.

For each system the conic solver reaches (Clarabel, the full SDP with the KL's log-det), the blind attacker
with a power budget (docs/theory.md section 8) and with a stealth weight and no budget (section 9) is solved
as a convex model and by its closed form; a row gives the relative error and the time ratio, measured in one
run.  The closed forms alone go to the 118- and 300-bus systems, where no SDP runs on this machine.

Run ``python -m benchmarks.bench_stealth [--quick]``.
"""

from __future__ import annotations

import sys
import time

import numpy as np

import mi_cvx
from mi_cvx import oracles
from mi_cvx.detection import gaussian_detection
from mi_cvx.grids import grid_model

from ._util import median_time, print_rows, row

B = "stealth"


def _conic_vs_closed(case: str, rows: list[dict], weight: float = 1.0) -> None:
    A, sy, sn = grid_model(case)
    budget = 0.1 * float(np.trace(A @ sy @ A.T))
    for label, build, closed in (
        ("blind, budget 0.1 tr(A SY A^T)",
         lambda: mi_cvx.gaussian_vector(A, budget, sy, sn, knows="nothing"),
         lambda: oracles.blind_gaussian(A, budget, sy, sn).mi),
        (f"blind stealth, lambda = {weight:g}",
         lambda: mi_cvx.gaussian_vector(A, None, sy, sn, knows="nothing", stealth_weight=weight),
         lambda: oracles.stealth_blind_gaussian(A, weight, sy, sn).objective),
    ):
        problem = build()
        name = f"{case} ({A.shape[0]}x{A.shape[1]}), {label}"
        estimate = problem.estimate("CLARABEL")
        t0 = time.perf_counter()
        try:
            result = problem.solve("CLARABEL", raise_on_failure=False)
        except mi_cvx.ResourceLimitError:
            rows.append(row(B, name, "conic solve", estimate.seconds, "s (estimated)",
                            note="refused: beyond the default time limit"))
            continue
        conic = time.perf_counter() - t0
        exact = median_time(closed, repeats=5)
        value = closed()
        error = abs(result.objective - value) / (1.0 + abs(value))
        rows.append(row(B, name, "rel. error conic vs closed form", error, "", "<= 1e-5", bool(error <= 1e-5 and
                                                                                               result.ok)))
        rows.append(row(B, name, "time: conic (build + solve)", conic * 1e3, "ms",
                        note=f"estimated {estimate.seconds * 1e3:.3g} ms"))
        rows.append(row(B, name, "time: closed form", exact * 1e3, "ms"))
        rows.append(row(B, name, "time ratio conic / closed form", conic / exact, "x"))


def run(quick: bool = False) -> list[dict]:
    rows: list[dict] = []
    for case in ("case14",) if quick else ("case14", "case30"):
        _conic_vs_closed(case, rows)
    for case in ("case118",) if quick else ("case118", "case300"):
        A, sy, sn = grid_model(case)
        x_cov = A @ sy @ A.T + sn
        seconds = median_time(lambda A=A, sy=sy, sn=sn: oracles.stealth_blind_gaussian(A, 1.0, sy, sn), repeats=3)
        sol = oracles.stealth_blind_gaussian(A, 1.0, sy, sn)
        t0 = time.perf_counter()
        power = gaussian_detection(x_cov, x_cov + sol.attack_cov).power
        detect = time.perf_counter() - t0
        name = f"{case} ({A.shape[0]}x{A.shape[1]}), blind stealth, lambda = 1"
        rows.append(row(B, name, "time: closed form", seconds * 1e3, "ms", "< 1 s", bool(seconds < 1.0)))
        rows.append(row(B, name, "time: exact detection probability", detect * 1e3, "ms",
                        note=f"power {power:.3g} at false alarm 0.05"))
    return rows


if __name__ == "__main__":
    print_rows(run(quick="--quick" in sys.argv))
