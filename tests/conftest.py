"""Shared test configuration: seeded hypothesis, solver lists and tolerances."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

import mi_cvx
from mi_cvx import solvers

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
