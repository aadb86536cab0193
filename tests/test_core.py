"""AttackProblem.solve: default solver choice per family and the fallback chain."""

from __future__ import annotations

import cvxpy as cp
import pytest

import mi_cvx
from mi_cvx import solvers


def test_default_solver_is_clarabel_for_every_family_and_a_preference_leads_the_chain(monkeypatch):
    binary = mi_cvx.binary_channel([[0.4, 0.1], [0.15, 0.35]], 0.1)
    scalar = mi_cvx.gaussian_scalar(1.0, 0.1, 0.5)
    for problem in (binary, scalar):
        assert solvers.default_solvers(problem.cones, problem.family) == ["CLARABEL"]
        assert problem.solve().solver == "CLARABEL"
    if "ECOS" in cp.installed_solvers():
        monkeypatch.setitem(solvers.FAMILY_PREFERENCE, "binary_channel", ("ECOS", "CLARABEL"))
        assert solvers.default_solvers(binary.cones, "binary_channel") == ["ECOS", "CLARABEL"]
        result = binary.solve()
        assert result.solver == "ECOS" and result.ok and result.note == ""
        assert mi_cvx.relative_error(result.mi, result.oracle) <= solvers.tolerance("ECOS")
        # a preferred solver that lacks a needed cone is skipped
        monkeypatch.setitem(solvers.FAMILY_PREFERENCE, "gaussian_scalar", ("ECOS",))
        assert solvers.default_solvers(scalar.cones, "gaussian_scalar") == ["CLARABEL"]


def test_default_solve_falls_back_when_the_preferred_solver_fails(monkeypatch):
    monkeypatch.setitem(solvers.FAMILY_PREFERENCE, "gaussian_scalar", ("SCS", "CLARABEL"))
    monkeypatch.setitem(solvers.DEFAULT_OPTIONS, "SCS", {"max_iters": 2, "warm_start": False})
    monkeypatch.setitem(solvers.CHAIN_SETTINGS, "SCS", ({},))  # SCS once, at the crippled options
    problem = mi_cvx.gaussian_scalar(1.0, 0.5, 0.3)
    result = problem.solve()
    assert result.ok and result.solver == "CLARABEL"
    assert result.note.startswith("default chain fell back after: SCS")
    assert result.to_dict()["note"] == result.note
    assert mi_cvx.relative_error(result.mi, result.oracle) <= solvers.tolerance("CLARABEL")
    # naming the solver, or passing solver options, means no fallback: the failure is reported
    with pytest.raises(mi_cvx.SolverError, match="SCS"):
        problem.solve("SCS")
    flagged = problem.solve(raise_on_failure=False, verbose=False)
    assert flagged.solver == "SCS" and not flagged.ok


@pytest.mark.parametrize("value", [-1e-12, -1.0, [0.1, -1e-15]])
def test_a_negative_parameter_value_is_refused_naming_it_even_below_cvxpys_tolerance(value):
    """CVXPY's own sign check lets -1e-12 through; the solve then failed with a misleading status."""
    problem = mi_cvx.gaussian_scalar(1.0, 0.5, 0.3)
    with pytest.raises(mi_cvx.InvalidInputError, match="non-negative") as info:
        problem.parameters["budget"].value = value
    assert info.value.argument == "budget"
    assert problem.parameters["budget"].value == 0.3
