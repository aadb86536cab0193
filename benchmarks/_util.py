"""Shared helpers for the benchmark scripts: timing, peak memory, result rows.

Every benchmark module ``benchmarks/bench_<name>.py`` exposes
``run(quick: bool = False) -> list[dict]`` returning rows made by :func:`row`,
and prints them when run as a script (``python -m benchmarks.bench_<name>``).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import platform
import resource
import statistics
import time
from collections.abc import Callable


def row(benchmark: str, case: str, metric: str, value: float, unit: str = "",
        target: str = "", met: bool | None = None, note: str = "") -> dict:
    """One measured figure.  ``target`` states the goal in words; ``met`` says whether it held."""
    return {"benchmark": benchmark, "case": case, "metric": metric, "value": value, "unit": unit,
            "target": target, "met": met, "note": note}


def median_time(fn: Callable[[], object], repeats: int = 5, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` in seconds over ``repeats`` calls after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _peak_rss_mb() -> float:
    """This process's peak resident memory in MB.

    ``VmHWM`` belongs to the address space created at ``exec``; ``ru_maxrss`` can carry the
    forking parent's size into a freshly spawned child, so it is only the fallback.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return float(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _child(conn, fn, args, kwargs):
    try:
        t0 = time.perf_counter()
        out = fn(*args, **kwargs)
        elapsed = time.perf_counter() - t0
        conn.send(("ok", out, elapsed, _peak_rss_mb()))
    except BaseException as exc:  # report, never hang the parent
        conn.send(("error", f"{type(exc).__name__}: {exc}", None, None))
    finally:
        conn.close()


def run_isolated(fn: Callable, *args, timeout: float = 60.0, **kwargs):
    """Run ``fn(*args, **kwargs)`` in a fresh process.

    Returns ``(status, output, seconds, peak_rss_mb)`` where status is ``"ok"``,
    ``"error"`` (output is the message) or ``"timeout"``.  ``fn`` must be a
    module-level function (it is pickled); the peak RSS includes the
    interpreter and imports (about 150-250 MB with CVXPY loaded).
    """
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, fn, args, kwargs))
    proc.start()
    child.close()
    if parent.poll(timeout):
        status, out, seconds, peak = parent.recv()
        proc.join()
        return status, out, seconds, peak
    proc.kill()
    proc.join()
    return "timeout", None, timeout, None


def machine() -> str:
    """One line describing the machine: cores, CPU, BLAS."""
    blas = "unknown BLAS"
    try:
        import numpy as np

        cfg = np.show_config(mode="dicts")
        info = cfg.get("Build Dependencies", {}).get("blas", {})
        blas = f"{info.get('name', '?')} {info.get('version', '')}".strip()
    except Exception:  # noqa: BLE001 - describing the machine must never fail a run
        pass
    return (f"{os.cpu_count()} cores, {platform.machine()} {platform.processor() or ''}".strip()
            + f", Python {platform.python_version()}, {blas}")


def print_rows(rows: list[dict]) -> None:
    """Print rows as an aligned table."""
    if not rows:
        print("(no rows)")
        return
    cols = ["benchmark", "case", "metric", "value", "unit", "target", "met"]
    fmt = []
    for r in rows:
        v = r["value"]
        vs = f"{v:.4g}" if isinstance(v, float) else str(v)
        met = "" if r["met"] is None else ("yes" if r["met"] else "NO")
        fmt.append([str(r["benchmark"]), str(r["case"]), str(r["metric"]), vs, str(r["unit"]), str(r["target"]), met])
    widths = [max(len(c), *(len(f[i]) for f in fmt)) for i, c in enumerate(cols)]
    print("  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)))
    for f in fmt:
        print("  ".join(x.ljust(w) for x, w in zip(f, widths, strict=True)))
