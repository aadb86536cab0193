"""Shared test configuration: seeded hypothesis, solver lists and tolerances."""

from __future__ import annotations

import os

# One BLAS thread per test process: the suite runs on 2 cores with 2 xdist workers, and threaded
# OpenBLAS both oversubscribes them (one oracle test took 135 s instead of 1 s) and makes results
# of near-degenerate hypothesis draws depend on the thread schedule.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

import mi_cvx  # noqa: E402
from mi_cvx import solvers  # noqa: E402

threadpool_limits(limits=1, user_api="blas")  # in case numpy was imported before this file

# Seeded and reproducible: no flaky reruns, no deadline (conic solves vary in time).
settings.register_profile(
    "mi_cvx",
    derandomize=True,
    deadline=None,
    max_examples=25,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("mi_cvx")

#: Installed conic backends that can do log-det SDPs (PSD + exponential cones).
SDP_SOLVERS = solvers.installed_solvers(frozenset({"PSD", "EXP"}))
#: Installed backends with the exponential cone (relative entropy).
EXP_SOLVERS = solvers.installed_solvers(frozenset({"EXP"}))


def value_tol(solver: str) -> float:
    """Relative tolerance ``|v - v*| / (1 + |v*|)`` expected of ``solver`` against an oracle."""
    return solvers.tolerance(solver, "value")


def assert_close_to_oracle(value: float, oracle: float, solver: str, factor: float = 1.0):
    err = mi_cvx.relative_error(value, oracle)
    assert err <= factor * value_tol(solver), (
        f"{solver}: value {value!r} vs oracle {oracle!r}: relative error {err:.3g} > {factor * value_tol(solver):.3g}"
    )


@pytest.fixture
def rng():
    return np.random.default_rng(20261126)
