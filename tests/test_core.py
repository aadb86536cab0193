"""AttackProblem.solve: default solver choice per family and the fallback chain."""

from __future__ import annotations

import cvxpy as cp
import pytest

import mi_cvx
from mi_cvx import solvers


def test_binary_channel_defaults_to_ecos_when_installed():
    problem = mi_cvx.binary_channel([[0.4, 0.1], [0.15, 0.35]], 0.1)
    expected = "ECOS" if "ECOS" in cp.installed_solvers() else "CLARABEL"
    assert solvers.default_solvers(problem.cones, problem.family)[0] == expected
    result = problem.solve()
    assert result.solver == expected and result.ok and result.note == ""
    assert mi_cvx.relative_error(result.mi, result.oracle) <= solvers.tolerance(expected)
    # families without a preference use the general default
    assert solvers.default_solvers(mi_cvx.gaussian_scalar(1.0, 0.1, 0.5).cones, "gaussian_scalar") == ["CLARABEL"]


def test_default_solve_falls_back_when_the_preferred_solver_fails(monkeypatch):
    monkeypatch.setitem(solvers.FAMILY_PREFERENCE, "gaussian_scalar", ("SCS", "CLARABEL"))
    monkeypatch.setitem(solvers.DEFAULT_OPTIONS, "SCS", {"max_iters": 2, "warm_start": False})
    problem = mi_cvx.gaussian_scalar(1.0, 0.5, 0.3)
    result = problem.solve()
    assert result.ok and result.solver == "CLARABEL"
    assert result.note.startswith("default solver fell back after: SCS")
    assert result.to_dict()["note"] == result.note
    assert mi_cvx.relative_error(result.mi, result.oracle) <= solvers.tolerance("CLARABEL")
    # naming the solver, or passing solver options, means no fallback: the failure is reported
    with pytest.raises(mi_cvx.SolverError, match="SCS"):
        problem.solve("SCS")
    flagged = problem.solve(raise_on_failure=False, verbose=False)
    assert flagged.solver == "SCS" and not flagged.ok
