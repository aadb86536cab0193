"""How time and peak memory grow with problem size, for every path (conic models and exact
fast paths), with the fitted growth exponent; plotted to ``benchmarks/scaling.png``.

Each point is measured in a fresh process (:func:`benchmarks._util.run_isolated`), so the
peak resident memory is that of one solve; the interpreter with CVXPY loaded is measured once
and subtracted.

Run ``python -m benchmarks.bench_scaling [--quick]``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from ._util import print_rows, row, run_isolated

B = "scaling"
PLOT = Path(__file__).with_name("scaling.png")


# Each path: a module-level function of the size that builds and solves (or computes) once
# and returns the seconds it took (so imports and process start-up are not timed); the
# SDP paths also return their relative error against the exact path (falling bar or the
# structured path), so agreement is tracked as the size grows.
def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _timed_with_error(solve) -> tuple[float, float]:
    """Seconds of ``solve()`` and the result's relative error against its exact oracle."""
    t0 = time.perf_counter()
    result = solve()
    return time.perf_counter() - t0, float(result.oracle_error)


def sdp_full(n: int) -> tuple[float, float]:
    import mi_cvx

    A = np.random.default_rng(n).normal(size=(n, n))
    problem = mi_cvx.gaussian_vector(A, float(n), noise_cov=0.5, formulation="full")
    return _timed_with_error(lambda: problem.solve("CLARABEL"))


def sdp_compact(n: int) -> tuple[float, float]:
    import mi_cvx

    A = np.random.default_rng(n).normal(size=(n, n))
    return _timed_with_error(lambda: mi_cvx.gaussian_vector(A, float(n), formulation="compact").solve())


def structured_exact(n: int) -> float:
    from mi_cvx import oracles

    A = np.random.default_rng(n).normal(size=(n, n))
    return _timed(lambda: oracles.isotropic_gaussian(A, float(n), 1.0, 0.5))


def falling_bar(r: int) -> float:
    from mi_cvx import oracles

    lam = np.random.default_rng(r).exponential(size=r)
    return _timed(lambda: oracles.falling_bar(lam, 0.3 * lam.sum()))


def discrete_channel_form(k: int) -> float:
    import mi_cvx
    from mi_cvx.testing import random_joint_pmf

    p = random_joint_pmf(k, k, k, concentration=1.0)
    return _timed(lambda: mi_cvx.discrete_channel(p, 0.1, formulation="channel").solve())


def discrete_transport_form(k: int) -> float:
    import mi_cvx
    from mi_cvx.testing import random_joint_pmf

    p = random_joint_pmf(k, k, k, concentration=1.0)
    return _timed(lambda: mi_cvx.discrete_channel(p, 0.1, formulation="transport").solve())


def transport_route(n: int) -> tuple[float, float]:
    """The TRANSPORT route on a random m = n model with correlated, heterogeneous noise: (seconds, gap)."""
    import mi_cvx

    from .bench_transport import random_model

    A, sy, sn = random_model(n, n, seed=n)
    problem = mi_cvx.gaussian_vector(A, 0.2 * float(np.trace(A @ sy @ A.T)), sy, sn, formulation="transport")
    t0 = time.perf_counter()
    result = problem.solve(raise_on_failure=False)
    return time.perf_counter() - t0, float(result.gap if result.gap is not None else np.nan)


def blind_route(n: int) -> tuple[float, float]:
    """The BLIND_DESCENT route, budget only, correlated heterogeneous noise, m = n: (seconds, gap)."""
    import mi_cvx

    from .bench_transport import random_model

    A, sy, sn = random_model(n, n, seed=n)
    problem = mi_cvx.gaussian_vector(A, 0.2 * float(np.trace(A @ sy @ A.T)), sy, sn, knows="nothing",
                                     formulation="transport")
    t0 = time.perf_counter()
    result = problem.solve(raise_on_failure=False)
    return time.perf_counter() - t0, float(result.gap if result.gap is not None else np.nan)


def alphabet_route(k: int) -> tuple[float, float]:
    """The BLAHUT_ARIMOTO route, a random k x k joint pmf, Hamming: (seconds, gap)."""
    import mi_cvx
    from mi_cvx.testing import random_joint_pmf

    p = random_joint_pmf(k, k, k, concentration=1.0)
    problem = mi_cvx.discrete_channel(p, 0.2, formulation="iterative")
    t0 = time.perf_counter()
    result = problem.solve(raise_on_failure=False)
    return time.perf_counter() - t0, float(result.gap if result.gap is not None else np.nan)


def alphabet_barrier(k: int) -> tuple[float, float]:
    """The INTERIOR_POINT route, a random k x k joint pmf, distortion |x - xh|: (seconds, gap)."""
    import mi_cvx
    from mi_cvx.testing import random_joint_pmf

    p = random_joint_pmf(k, k, k, concentration=1.0)
    d = np.abs(np.arange(k)[:, None] - np.arange(k)[None, :]).astype(float)
    problem = mi_cvx.discrete_channel(p, 0.1 * k, d, formulation="iterative")
    t0 = time.perf_counter()
    result = problem.solve(raise_on_failure=False)
    return time.perf_counter() - t0, float(result.gap if result.gap is not None else np.nan)


def subset_greedy(m: int) -> float:
    import mi_cvx

    rng = np.random.default_rng(m)
    root = rng.normal(size=(m, m)) / np.sqrt(m)
    return _timed(lambda: mi_cvx.subset_attack(root @ root.T + 0.1 * np.eye(m), 0.5, max(1, m // 10),
                                               method="greedy"))


def _baseline() -> float:
    import mi_cvx  # noqa: F401  (the interpreter with the package and CVXPY loaded)

    return 0.0


PATHS = {
    # name: (function, full sizes, quick sizes, size label)
    "Gaussian SDP, full (noise 0.5)": (sdp_full, [4, 6, 8, 11, 16, 22], [4, 6, 8], "m = n"),
    "Gaussian SDP, compact (noiseless)": (sdp_compact, [4, 8, 12, 16, 24, 32], [4, 8, 12], "m = n"),
    "structured exact path": (structured_exact, [100, 200, 400, 800, 1600], [100, 200, 400], "m = n"),
    "falling bar": (falling_bar, [10_000, 100_000, 1_000_000, 4_000_000], [10_000, 100_000, 1_000_000], "r"),
    "discrete, channel form": (discrete_channel_form, [4, 8, 16, 24, 32], [4, 8, 12], "k = l"),
    "discrete, transport form": (discrete_transport_form, [4, 8, 16, 32, 64], [4, 8, 16], "k = l"),
    "subset greedy (k = m/10)": (subset_greedy, [50, 100, 200, 400, 800], [50, 100, 200], "m"),
    "Gaussian TRANSPORT route (correlated noise)": (transport_route, [50, 100, 200, 350, 500, 700],
                                                    [30, 60, 100], "m = n"),
    "Gaussian BLIND_DESCENT route (correlated noise)": (blind_route, [50, 100, 200, 350, 500],
                                                        [30, 60, 100], "m = n"),
    "discrete BLAHUT_ARIMOTO route (Hamming)": (alphabet_route, [64, 128, 256, 512, 1024], [32, 64, 128], "k = l"),
    "discrete INTERIOR_POINT route (|x - xh|)": (alphabet_barrier, [16, 32, 64, 128], [8, 16, 32], "k = l"),
}

#: Paths whose functions return ``(seconds, certified gap)`` rather than ``(seconds, error)``.
CERTIFIED = {"Gaussian TRANSPORT route (correlated noise)", "Gaussian BLIND_DESCENT route (correlated noise)",
             "discrete BLAHUT_ARIMOTO route (Hamming)", "discrete INTERIOR_POINT route (|x - xh|)"}


def exponent(sizes, values, last: int = 3) -> float:
    """Least-squares slope of log(value) against log(size) over the ``last`` largest sizes
    (the small ones are dominated by fixed modelling overheads)."""
    x, y = np.log(np.asarray(sizes, float)), np.log(np.maximum(np.asarray(values, float), 1e-9))
    keep = np.isfinite(y)
    x, y = x[keep][-last:], y[keep][-last:]
    return float(np.polyfit(x, y, 1)[0]) if len(x) >= 2 else float("nan")


def measure(quick: bool = False, timeout: float = 600.0) -> dict:
    """``{path: {"sizes": [...], "seconds": [...], "extra_mb": [...], "label": str, "stopped": str}}``.

    Full runs measure each point in a fresh process (time and peak memory); quick runs time
    small sizes in this process and do not measure memory.
    """
    base = 0.0
    if not quick:
        status, _, _, base = run_isolated(_baseline, timeout=timeout)
        base = base if status == "ok" else 0.0
    out = {}
    for name, (fn, sizes, quick_sizes, label) in PATHS.items():
        rec = {"sizes": [], "seconds": [], "extra_mb": [], "label": label, "stopped": "", "baseline_mb": base}
        for size in quick_sizes if quick else sizes:
            if quick:
                status, seconds, peak = "ok", fn(size), float("nan")
            else:
                status, seconds, _, peak = run_isolated(fn, size, timeout=timeout)
            if status != "ok":
                rec["stopped"] = f"{label} = {size}: {status}" + (f" ({seconds})" if status == "error" else "")
                break
            if isinstance(seconds, tuple):
                seconds, error = seconds
                rec.setdefault("errors", []).append(error)
            rec["sizes"].append(size)
            rec["seconds"].append(seconds)
            rec["extra_mb"].append(max(peak - base, 0.0) if np.isfinite(peak) else float("nan"))
        out[name] = rec
    return out


def plot(data: dict, path: Path = PLOT) -> Path:
    """Log-log plots of time and extra peak memory against size, one line per path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(12, 4.8))
    for name, rec in data.items():
        if len(rec["sizes"]) < 2:
            continue
        e_t = exponent(rec["sizes"], rec["seconds"])
        e_m = exponent(rec["sizes"], np.maximum(rec["extra_mb"], 1e-3))
        ax_t.loglog(rec["sizes"], rec["seconds"], "o-", label=f"{name} (~size^{e_t:.1f})")
        if np.all(np.isfinite(rec["extra_mb"])):
            ax_m.loglog(rec["sizes"], np.maximum(rec["extra_mb"], 1e-1), "o-", label=f"{name} (~size^{e_m:.1f})")
    ax_t.set(xlabel="problem size (m = n, k = l, r or m)", ylabel="seconds (build + solve)",
             title="time against size")
    ax_m.set(xlabel="problem size", ylabel="peak RSS above the interpreter (MB)", title="peak memory against size")
    for ax in (ax_t, ax_m):
        ax.grid(True, which="both", alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
        else:
            ax.text(0.5, 0.5, "memory is measured in full runs only\n(python -m benchmarks)", ha="center",
                    va="center", transform=ax.transAxes)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def run(quick: bool = False, write: bool = False) -> list[dict]:
    """Measure, and with ``write`` redraw ``benchmarks/scaling.png`` (never without being asked)."""
    data = measure(quick)
    rows = []
    for name, rec in data.items():
        if not rec["sizes"]:
            rows.append(row(B, name, "time exponent", float("nan"), "", "", None, rec["stopped"]))
            continue
        sizes = ", ".join(str(s) for s in rec["sizes"])
        times = ", ".join(f"{t:.3g}" for t in rec["seconds"])
        mems = ", ".join(f"{m:.0f}" for m in rec["extra_mb"])
        rows.append(row(B, name, "time exponent", exponent(rec["sizes"], rec["seconds"]), "", "", None,
                        f"{rec['label']} = {sizes}: {times} s" + (f"; stopped at {rec['stopped']}"
                                                                  if rec["stopped"] else "")))
        if rec.get("errors") and name in CERTIFIED:
            gaps = ", ".join(f"{e:.1e}" for e in rec["errors"])
            rows.append(row(B, name, "max certified gap", max(rec["errors"]), "nats", "<= 1e-6",
                            max(rec["errors"]) <= 1e-6, f"{rec['label']} = {sizes}: {gaps}"))
        elif rec.get("errors"):
            errs = ", ".join(f"{e:.1e}" for e in rec["errors"])
            rows.append(row(B, name, "max rel. error vs exact path", max(rec["errors"]), "", "<= 1e-5",
                            max(rec["errors"]) <= 1e-5, f"{rec['label']} = {sizes}: {errs}"))
        if np.all(np.isfinite(rec["extra_mb"])):
            rows.append(row(B, name, "memory exponent", exponent(rec["sizes"], np.maximum(rec["extra_mb"], 1e-3)),
                            "", "", None, f"extra peak RSS {mems} MB"))
    if write:
        plot(data)
    return rows


if __name__ == "__main__":
    print_rows(run(quick="--quick" in sys.argv, write="--write" in sys.argv))
