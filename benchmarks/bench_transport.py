"""The general Gaussian model at real-system scale: the certified routes against the SDP and the closed forms.

* The paper's attacker, non-isotropic noise, ``m = n = 30``: the ``TRANSPORT`` route (docs/theory.md
  section 7) against the full SDP with Clarabel, time ratio and agreement, measured in this run.
* The IEEE 118-bus model (304 x 117) with injection meters four times as noisy as flow meters, and a
  random ``m = n = 500`` model with correlated noise: time and certified gap.
* The blind attacker (``BLIND_DESCENT``, sections 8-9) on the IEEE 300-bus model (711 x 299): white
  noise and a power budget against section 8's closed form; heterogeneous meters and a stealth weight
  against section 9's.
* Beside each: the physical floor, the time of one eigendecomposition of the ``m x m`` matrix involved
  and how many factorisations the route spent.

Run ``python -m benchmarks.bench_transport [--quick]``.
"""

from __future__ import annotations

import sys
import time

import numpy as np

import mi_cvx
from mi_cvx import oracles
from mi_cvx.grids import grid_model

from ._util import median_time, print_rows, row

B = "transport"


def random_model(m: int, n: int, seed: int = 0):
    """A random model with correlated, heterogeneous noise (no structure to exploit)."""
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(m, n)) / np.sqrt(n)
    R = rng.normal(size=(n, n))
    sy = R @ R.T / n + 0.5 * np.eye(n)
    Q = rng.normal(size=(m, m))
    sn = 0.3 * (Q @ Q.T / m) + np.diag(rng.uniform(0.05, 0.5, size=m))
    return A, sy, sn


def eig_floor(m: int) -> float:
    """Seconds of one symmetric eigendecomposition of an ``m x m`` matrix (median of 3), with one BLAS
    thread as the routes run (threaded OpenBLAS is many times slower at these sizes on 2 cores)."""
    from mi_cvx.resources import one_blas_thread

    Q = np.random.default_rng(m).normal(size=(m, m))
    M = Q @ Q.T
    with one_blas_thread():
        return median_time(lambda: np.linalg.eigh(M), repeats=3)


def _route(problem: mi_cvx.AttackProblem) -> tuple[mi_cvx.AttackResult, float]:
    t0 = time.perf_counter()
    result = problem.solve(raise_on_failure=False)
    return result, time.perf_counter() - t0


def _floor_rows(rows: list[dict], name: str, m: int, seconds: float, spent: int) -> None:
    """The physical floor: one m x m eigendecomposition, and how many factorisations the route spent."""
    floor = eig_floor(m)
    rows.append(row(B, name, "floor: one m x m eigendecomposition", floor * 1e3, "ms",
                    note=f"the route spent {spent} factorisations (of n x n or m x m matrices)"))
    rows.append(row(B, name, "time / one eigendecomposition", seconds / floor, "x",
                    note="how many eigendecompositions the whole solve is worth"))


def _transport_work(A, sy, sn, budget) -> int:
    from mi_cvx.transport import solve_transport

    return int(solve_transport(A, sy, sn, budget).factorizations)


def _blind_work(A, sy, sn, budget, **terms) -> int:
    from mi_cvx.gaussian_blind import solve_blind

    return int(solve_blind(A, sy, sn, budget, **terms).factorizations)


def paper_attacker(rows: list[dict], quick: bool) -> None:
    # m = n = 30 against the SDP (Clarabel), in one run
    m = 20 if quick else 30
    A, sy, sn = random_model(m, m, seed=1)
    budget = 0.3 * float(np.trace(A @ sy @ A.T))
    name = f"paper's attacker, m = n = {m}, correlated noise"
    routed, t_route = _route(mi_cvx.gaussian_vector(A, budget, sy, sn, formulation="transport"))
    t0 = time.perf_counter()
    sdp = mi_cvx.gaussian_vector(A, budget, sy, sn, formulation="full").solve("CLARABEL", raise_on_failure=False)
    t_sdp = time.perf_counter() - t0
    error = abs(routed.mi - sdp.mi) / (1 + abs(sdp.mi))
    rows.append(row(B, name, "rel. difference TRANSPORT vs SDP (Clarabel)", error, "", "<= 1e-6",
                    bool(error <= 1e-6 and routed.ok and sdp.ok), f"gap {routed.gap:.2g} nats"))
    rows.append(row(B, name, "time: TRANSPORT route", t_route, "s"))
    rows.append(row(B, name, "time: full SDP (Clarabel, build + solve)", t_sdp, "s"))
    rows.append(row(B, name, "speed-up TRANSPORT vs SDP", t_sdp / t_route, "x", ">= 20x", bool(t_sdp / t_route >= 20)))

    # IEEE 118-bus with heterogeneous meters
    A, sy, sn = grid_model("case118", injection_noise=4.0)
    budget = 0.1 * float(np.trace(A @ sy @ A.T))
    name = "case118 (304x117), injection meters 4x noisier, budget 0.1 tr(A SY A^T)"
    routed, seconds = _route(mi_cvx.gaussian_vector(A, budget, sy, sn))
    rows.append(row(B, name, "time: default solve (auto)", seconds, "s", "< 10 s",
                    bool(seconds < 10 and routed.ok), f"{routed.solver}; gap {routed.gap}"))
    rows.append(row(B, name, "certified gap", routed.gap if routed.gap is not None else float("nan"), "nats",
                    "<= 1e-6", bool(routed.gap is not None and routed.gap <= 1e-6)))
    _floor_rows(rows, name, A.shape[0], seconds, _transport_work(A, sy, sn, budget))

    # m = n = 500
    m = 150 if quick else 500
    A, sy, sn = random_model(m, m, seed=2)
    budget = 0.2 * float(np.trace(A @ sy @ A.T))
    name = f"paper's attacker, m = n = {m}, correlated noise"
    routed, seconds = _route(mi_cvx.gaussian_vector(A, budget, sy, sn))
    target = "< 120 s" if not quick else ""
    rows.append(row(B, name, "time: default solve (auto)", seconds, "s", target,
                    bool(seconds < 120 and routed.ok) if target else None, f"{routed.solver}; gap {routed.gap}"))
    rows.append(row(B, name, "certified gap", routed.gap if routed.gap is not None else float("nan"), "nats",
                    "<= 1e-6", bool(routed.gap is not None and routed.gap <= 1e-6)))
    _floor_rows(rows, name, m, seconds, _transport_work(A, sy, sn, budget))


def blind_attacker(rows: list[dict], quick: bool) -> None:
    case = "case118" if quick else "case300"
    A, sy, sn = grid_model(case)
    shape = f"{A.shape[0]}x{A.shape[1]}"
    budget = 0.1 * float(np.trace(A @ sy @ A.T))
    name = f"{case} ({shape}), blind, white noise, budget 0.1 tr(A SY A^T)"
    routed, seconds = _route(mi_cvx.gaussian_vector(A, budget, sy, sn, knows="nothing", formulation="transport"))
    closed = oracles.blind_gaussian(A, budget, sy, sn)
    error = abs(routed.mi - closed.mi) / (1 + abs(closed.mi))
    rows.append(row(B, name, "time: BLIND_DESCENT route", seconds, "s", "< 10 s", bool(seconds < 10 and routed.ok),
                    f"gap {routed.gap}"))
    rows.append(row(B, name, "rel. difference vs closed form (section 8)", error, "", "<= 1e-6", bool(error <= 1e-6)))
    _floor_rows(rows, name, A.shape[0], seconds, _blind_work(A, sy, sn, budget))

    A, sy, sn = grid_model(case, injection_noise=4.0)
    name = f"{case} ({shape}), blind, meters 4x noisier at injections, stealth weight 1, no budget"
    routed, seconds = _route(mi_cvx.gaussian_vector(A, None, sy, sn, knows="nothing", stealth_weight=1.0,
                                                    formulation="transport"))
    closed_obj = oracles.stealth_blind_gaussian(A, 1.0, sy, sn).objective
    error = abs(routed.objective - closed_obj) / (1 + abs(closed_obj))
    rows.append(row(B, name, "time: BLIND_DESCENT route", seconds, "s", "< 10 s", bool(seconds < 10 and routed.ok),
                    f"gap {routed.gap}"))
    rows.append(row(B, name, "rel. difference vs closed form (section 9)", error, "", "<= 1e-6", bool(error <= 1e-6)))
    name = f"{case} ({shape}), blind, meters 4x noisier at injections, budget and stealth weight 1"
    routed, seconds = _route(mi_cvx.gaussian_vector(A, budget, sy, sn, knows="nothing", stealth_weight=1.0,
                                                    formulation="transport"))
    rows.append(row(B, name, "time: BLIND_DESCENT route", seconds, "s", "< 10 s", bool(seconds < 10 and routed.ok),
                    f"gap {routed.gap}"))


def run(quick: bool = False) -> list[dict]:
    rows: list[dict] = []
    paper_attacker(rows, quick)
    blind_attacker(rows, quick)
    return rows


if __name__ == "__main__":
    print_rows(run(quick="--quick" in sys.argv))
