"""Finite alphabets at real sizes: the certified large-alphabet routes against closed forms and the conic form.

* Hamming distortion, uniform 1024-ary source (``X = Y``): the ``BLAHUT_ARIMOTO`` route against the
  rate-distortion closed form ``log k - h(D) - D log(k - 1)``.
* Random 256 x 256 and 512 x 512 joint pmfs, Hamming: time, certified gap and (512) peak memory of a
  fresh process.
* An ordinal distortion ``|x - xh|`` at 128 x 128.
* Against the conic transport form (Clarabel) at ``k = l = 64``: the time ratio at equal accuracy.
* Beside each: the floor, one pass over the ``k l`` array (Hamming) or the ``k l k'`` channel
  (the barrier method) times the passes the route spent.

Run ``python -m benchmarks.bench_alphabet [--quick]``.
"""

from __future__ import annotations

import math
import sys
import time

import numpy as np

import mi_cvx

from ._util import median_time, print_rows, row, run_isolated

B = "alphabet"


def random_pmf(k: int, ell: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).dirichlet(np.ones(k * ell)).reshape(k, ell)


def ordinal(k: int) -> np.ndarray:
    idx = np.arange(k)
    return np.abs(idx[:, None] - idx[None, :]).astype(float)


def pass_time(size: int) -> float:
    """Seconds of one elementwise pass (a multiply-add) over ``size`` doubles."""
    a, b = np.random.default_rng(1).random((2, size))
    out = np.empty(size)
    return median_time(lambda: np.multiply(a, b, out=out), repeats=5)


def _solve(problem: mi_cvx.AttackProblem) -> tuple[mi_cvx.AttackResult, float]:
    t0 = time.perf_counter()
    result = problem.solve(raise_on_failure=False)
    return result, time.perf_counter() - t0


def _floor(rows: list[dict], name: str, p: np.ndarray, d: np.ndarray | None, budget: float, seconds: float,
           knows: str = "x_and_y") -> None:
    """The route's passes (from the solver itself, in the units the package uses) and one pass's time."""
    from mi_cvx.alphabet import solve_alphabet

    dist = d if d is not None else 1.0 - np.eye(p.shape[0])
    unit = float(dist.max())
    sol = solve_alphabet(p, dist / unit, budget / unit, knows=knows)
    size = p.size if sol.method == "ba" else p.size * dist.shape[1]
    one = pass_time(size)
    rows.append(row(B, name, "floor: passes x one pass", sol.passes * one, "s",
                    note=f"{sol.passes} passes over {size:,} entries ({sol.method}), {one * 1e3:.3g} ms each; "
                         f"{sol.iterations} iterations"))
    rows.append(row(B, name, "time / floor", seconds / max(sol.passes * one, 1e-12), "x"))


def _big(k: int) -> tuple[float, float, float, bool]:
    """In a fresh process: a random k x k Hamming problem on the route (time, gap, mi, ok)."""
    p = random_pmf(k, k, seed=k)
    t0 = time.perf_counter()
    result = mi_cvx.discrete_channel(p, 0.2, formulation="iterative").solve(raise_on_failure=False)
    return time.perf_counter() - t0, float(result.gap), float(result.mi), bool(result.ok)


def run(quick: bool = False) -> list[dict]:
    rows: list[dict] = []

    # -- uniform source, Hamming, against the closed form
    k = 256 if quick else 1024
    budget = 0.3
    p = np.eye(k) / k
    name = f"uniform {k}-ary source (X = Y), Hamming, D = {budget}"
    result, seconds = _solve(mi_cvx.discrete_channel(p, budget, formulation="iterative"))
    hb = -budget * math.log(budget) - (1 - budget) * math.log(1 - budget)
    closed = math.log(k) - hb - budget * math.log(k - 1)
    error = abs(result.mi - closed) / (1 + closed)
    rows.append(row(B, name, "time: route", seconds, "s", "< 60 s", bool(seconds < 60 and result.ok),
                    f"{result.solver}; gap {result.gap:.2g}"))
    rows.append(row(B, name, "rel. error vs closed form", error, "", "<= 1e-6", bool(error <= 1e-6)))
    _floor(rows, name, p, None, budget, seconds)

    # -- random joint pmfs, Hamming
    k = 128 if quick else 256
    p = random_pmf(k, k, seed=3)
    name = f"random {k} x {k} joint pmf, Hamming, D = 0.2"
    result, seconds = _solve(mi_cvx.discrete_channel(p, 0.2))
    rows.append(row(B, name, "time: default solve (auto)", seconds, "s", "< 10 s", bool(seconds < 10 and result.ok),
                    result.solver))
    rows.append(row(B, name, "certified gap", result.gap if result.gap is not None else math.nan, "nats",
                    "<= 1e-6", bool(result.gap is not None and result.gap <= 1e-6)))
    _floor(rows, name, p, None, 0.2, seconds)
    if not quick:
        status, out, _, peak = run_isolated(_big, 512, timeout=600.0)
        name = "random 512 x 512 joint pmf, Hamming, D = 0.2 (fresh process)"
        if status == "ok":
            seconds, gap, _, ok = out
            rows.append(row(B, name, "time: route", seconds, "s", "< 60 s", bool(seconds < 60 and ok),
                            f"gap {gap:.2g}"))
            rows.append(row(B, name, "peak memory (process)", peak, "MB", "< 2 GB", bool(peak < 2048)))
        else:
            rows.append(row(B, name, "time: route", math.nan, "s", "< 60 s", False, f"{status}: {out}"))

    # -- an ordinal distortion
    k = 64 if quick else 128
    p = random_pmf(k, k, seed=5)
    d = ordinal(k)
    budget = 2.0
    name = f"random {k} x {k} joint pmf, |x - xh|, D = {budget}"
    result, seconds = _solve(mi_cvx.discrete_channel(p, budget, d))
    rows.append(row(B, name, "time: default solve (auto)", seconds, "s", "< 60 s",
                    bool(seconds < 60 and result.ok), f"{result.solver}; gap {result.gap}"))
    _floor(rows, name, p, d, budget, seconds)

    # -- against the conic transport form at k = l = 64
    k = 32 if quick else 64
    p = random_pmf(k, k, seed=7)
    name = f"random {k} x {k} joint pmf, Hamming, D = 0.2"
    routed, t_route = _solve(mi_cvx.discrete_channel(p, 0.2, formulation="iterative"))
    conic_problem = mi_cvx.discrete_channel(p, 0.2, formulation="transport")
    t0 = time.perf_counter()
    conic = conic_problem.solve("CLARABEL", raise_on_failure=False)
    t_conic = time.perf_counter() - t0
    error = abs(routed.mi - conic.mi) / (1 + abs(conic.mi))
    rows.append(row(B, name, "rel. difference route vs conic transport form", error, "",
                    "<= 1e-5 (Clarabel's tolerance)", bool(error <= 1e-5 and routed.ok and conic.ok),
                    f"route gap {routed.gap:.2g}"))
    rows.append(row(B, name, "time: conic transport form (Clarabel, build + solve)", t_conic, "s"))
    rows.append(row(B, name, "time: route", t_route, "s"))
    rows.append(row(B, name, "speed-up route vs conic transport form", t_conic / t_route, "x", ">= 20x",
                    bool(t_conic / t_route >= 20)))
    return rows


if __name__ == "__main__":
    print_rows(run(quick="--quick" in sys.argv))
