"""Subset (sparse) attacks, Theorem 4.1: exact enumeration, greedy, its gap, and the sparse SDP.

Run ``python -m benchmarks.bench_subset`` (add ``--quick`` for a short run).
"""

from __future__ import annotations

import math
import sys
import time

import numpy as np

import mi_cvx
from mi_cvx import oracles

from ._util import median_time, print_rows, row

BENCH = "subset"


def instance(rng: np.random.Generator, m: int, n: int, *, correlated_noise: bool = False, identity: bool = False):
    """Random correlated signal covariance, a non-identity A (or A = I) and sensor noise."""
    A = np.eye(m) if identity else rng.normal(size=(m, n))
    n = A.shape[1]
    G = rng.normal(size=(n, n))
    signal_cov = G @ G.T / n + 0.2 * np.eye(n)
    if correlated_noise:
        H = rng.normal(size=(m, m))
        noise_cov = H @ H.T / m + 0.1 * np.eye(m)
    else:
        noise_cov = np.diag(rng.uniform(0.1, 2.0, size=m))
    return A, signal_cov, noise_cov


def _exact_rows(quick: bool) -> list[dict]:
    rows = []
    rng = np.random.default_rng(1)
    cases = [
        ("C(20,10), A=I, n=20, diagonal noise", dict(m=20, n=20, identity=True)),
        ("C(20,10), A 20x3, diagonal noise", dict(m=20, n=3)),
        ("C(20,10), A 20x8, correlated noise", dict(m=20, n=8, correlated_noise=True)),
    ]
    for case, spec in cases[:1] if quick else cases:
        A, sy, sn = instance(rng, **spec)
        result = mi_cvx.subset_attack(sy, sn, 10, A=A, method="exact")
        seconds = median_time(lambda A=A, sy=sy, sn=sn: mi_cvx.subset_attack(sy, sn, 10, A=A, method="exact"),
                              repeats=1 if quick else 3, warmup=0 if quick else 1)
        rows.append(row(BENCH, case, "exact time", seconds, "s", "< 5 s", seconds < 5.0,
                        f"{result.evaluated} subsets, form={result.form}"))
    return rows


def _greedy_rows(quick: bool) -> list[dict]:
    rows = []
    rng = np.random.default_rng(2)
    cases = [("m=500, k=50, A 500x100", 100), ("m=500, k=50, A 500x500", 500)]
    for case, n in cases[:1] if quick else cases:
        A, sy, sn = instance(rng, 500, n)
        result = mi_cvx.subset_attack(sy, sn, 50, A=A, method="greedy")
        seconds = median_time(lambda A=A, sy=sy, sn=sn: mi_cvx.subset_attack(sy, sn, 50, A=A, method="greedy"),
                              repeats=1 if quick else 3, warmup=0 if quick else 1)
        rows.append(row(BENCH, case, "greedy time", seconds, "s", "< 5 s", seconds < 5.0,
                        f"{result.evaluated} sets scored; I* {result.mi:.4g} of {result.mi_unattacked:.4g} nats"))
    return rows


def _gap_rows(quick: bool) -> list[dict]:
    rng = np.random.default_rng(3)
    count = 30 if quick else 100
    gaps, rel, evaluated = [], [], []
    for i in range(count):
        m = int(rng.integers(12, 17))
        k = int(rng.integers(3, 7))
        n = int(rng.integers(2, 9))
        A, sy, sn = instance(rng, m, n, correlated_noise=(i % 4 == 3))  # a quarter with correlated noise
        result = mi_cvx.subset_attack(sy, sn, k, A=A, method="greedy")
        gaps.append(result.gap)
        rel.append(result.gap / max(result.exact_mi, 1e-300))
        evaluated.append(result.evaluated / math.comb(m, k))
    gaps = np.array(gaps)
    case = f"{count} instances, m=12..16, k=3..6, n=2..8, correlated signal, A random"
    optimal = float(np.mean(gaps <= 1e-9 * (1 + np.abs(gaps))))
    return [
        row(BENCH, case, "greedy optimal fraction", optimal, "", note="gap <= 1e-9 nats"),
        row(BENCH, case, "greedy gap median", float(np.median(gaps)), "nats"),
        row(BENCH, case, "greedy gap p95", float(np.percentile(gaps, 95)), "nats"),
        row(BENCH, case, "greedy gap max", float(gaps.max()), "nats"),
        row(BENCH, case, "greedy relative gap p95", float(np.percentile(rel, 95)), "",
            note=f"gap / I*; max {max(rel):.3g}"),
        row(BENCH, case, "greedy sets scored / C(m,k)", float(np.median(evaluated)), "",
            note="median fraction of the subsets exact enumeration scores"),
    ]


def _sdp_rows(quick: bool) -> list[dict]:
    rows = []
    rng = np.random.default_rng(4)
    sizes = [(4, 2, 1), (8, 4, 3), (12, 6, 4), (16, 8, 6)]
    for m, n, s in sizes[:2] if quick else sizes:
        A, sy, sn = instance(rng, m, n)
        support = sorted(rng.choice(m, size=s, replace=False).tolist())
        t0 = time.perf_counter()
        result = mi_cvx.gaussian_sparse(A, support, None, sy, sn).solve("CLARABEL")
        sdp_seconds = time.perf_counter() - t0
        closed_seconds = median_time(lambda A=A, sy=sy, sn=sn, support=support: oracles.subset_mi(sy, sn, support, A=A),
                                     repeats=20, warmup=2)
        closed = oracles.subset_mi(sy, sn, support, A=A)
        err = mi_cvx.relative_error(result.mi, closed)
        case = f"m={m}, n={n}, |S|={s}"
        rows.append(row(BENCH, case, "SDP / closed-form time", sdp_seconds / closed_seconds, "x",
                        note=f"SDP {sdp_seconds:.3g} s (build + Clarabel), closed form {closed_seconds * 1e6:.3g} us"))
        rows.append(row(BENCH, case, "SDP vs closed form rel. error", err, "", "<= 1e-5", err <= 1e-5))
    return rows


def run(quick: bool = False) -> list[dict]:
    """Measure exact and greedy selection, greedy's gap, and the sparse SDP against the closed form."""
    return _exact_rows(quick) + _greedy_rows(quick) + _gap_rows(quick) + _sdp_rows(quick)


if __name__ == "__main__":
    print_rows(run(quick="--quick" in sys.argv[1:]))
