"""The Gaussian family (Theorems 3.1, 3.2 and the general model) against its oracles."""

from __future__ import annotations

import json

import cvxpy as cp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mi_cvx
from mi_cvx import oracles, testing
from mi_cvx.cases import SCS_TIGHT
from mi_cvx.gaussian import GaussianModel

from .conftest import SDP_SOLVERS, assert_close_to_oracle

# SCS is a first-order method: at its default eps it is only accurate to ~1e-5
# on these problems, inside its (loose) tolerance.  SCS_TIGHT (from the case
# registry) is used where a test needs derivatives or equalities to high accuracy.

#: Seeded and reproducible whatever profile is loaded; the data are drawn by hypothesis itself
#: (mi_cvx.testing), so a failure shrinks to a small counterexample.
SETTINGS = settings(max_examples=25, deadline=None, derandomize=True)


# ---------------------------------------------------------------- scalar (Thm 3.1)


@pytest.mark.parametrize("solver", SDP_SOLVERS)
@SETTINGS
@given(inputs=testing.gaussian_scalar_inputs(signal=(0.05, 5.0), noise=(0.01, 5.0), budget_fraction=(0.02, 1.5)))
def test_scalar_matches_closed_form(solver, inputs):
    sy2, sn2, budget = inputs["signal_var"], inputs["noise_var"], inputs["budget"]
    result = mi_cvx.gaussian_scalar(**inputs).solve(solver)
    assert result.ok
    assert result.oracle == pytest.approx(oracles.scalar_gaussian_mi(sy2, sn2, budget))
    assert_close_to_oracle(result.mi, result.oracle, solver)
    # the returned attack, re-evaluated in plain numpy, achieves the value and meets the budget
    assert result.mi_check == pytest.approx(result.mi, rel=1e-3, abs=10 * mi_cvx.solvers.tolerance(solver))
    assert result.budget_used <= budget * (1 + 1e-6) + mi_cvx.solvers.tolerance(solver, "residual")


def test_scalar_budget_at_least_signal_variance_gives_zero():
    for budget in (1.0, 1.2, 5.0):
        result = mi_cvx.gaussian_scalar(1.0, 0.3, budget).solve()
        assert result.oracle == 0.0
        assert abs(result.mi) < 1e-6
        if budget > 1.0:  # at D = signal_var exactly the optimum is degenerate (no interior)
            assert result.dual_budget == pytest.approx(0.0, abs=1e-4)


@pytest.mark.parametrize("budget", [0.05, 0.3, 0.9])
def test_scalar_zero_noise_is_rate_distortion(budget):
    result = mi_cvx.gaussian_scalar(2.0, 0.0, budget).solve("CLARABEL", tol_gap_abs=1e-10, tol_gap_rel=1e-10)
    assert result.mi == pytest.approx(0.5 * np.log(2.0 / budget), rel=1e-6)
    # the optimal attack is Delta = -(D/sy2) Y + W with Var(W) = D (1 - D/sy2).  The value is
    # flat at the optimum, so the argmin is only determined to about the square root of the
    # value's accuracy (at the default gap tolerances 1e-7, about 3e-4): at tightened
    # tolerances, 1e-4 on the gains.
    assert result.attack["F"][0, 0] == pytest.approx(-budget / 2.0, abs=1e-4)
    assert result.attack["W_cov"][0, 0] == pytest.approx(budget * (1 - budget / 2.0), abs=1e-4)


def test_scalar_attack_gains_match_closed_form():
    sy2, sn2, budget = 1.5, 0.7, 0.4
    result = mi_cvx.gaussian_scalar(sy2, sn2, budget).solve()
    exact = oracles.scalar_gaussian(sy2, sn2, budget)
    assert result.attack["F"][0, 0] == pytest.approx(exact.signal_gain, abs=1e-4)
    assert result.attack["G"][0, 0] == pytest.approx(exact.noise_gain, abs=1e-4)
    assert result.attack["W_cov"][0, 0] == pytest.approx(0.0, abs=1e-6)  # amplifying N beats extra noise
    assert result.attack["attack_cov"][0, 0] == pytest.approx(budget, rel=1e-6)


def test_value_function_is_non_increasing_and_convex():
    problem = mi_cvx.gaussian_scalar(1.0, 0.4, 0.1)
    budgets = np.linspace(0.05, 1.2, 12)
    values = []
    for d in budgets:
        problem.parameters["budget"].value = d
        values.append(problem.solve().mi)
    values = np.array(values)
    assert np.all(np.diff(values) <= 1e-7)
    second = values[2:] - 2 * values[1:-1] + values[:-2]  # equal spacing
    assert np.all(second >= -1e-6)
    np.testing.assert_allclose(values, oracles.scalar_gaussian_mi(1.0, 0.4, budgets), atol=1e-6)


@pytest.mark.parametrize("solver", SDP_SOLVERS)
@pytest.mark.parametrize("sn2", [0.0, 0.5])
def test_dual_budget_is_minus_derivative(solver, sn2):
    sy2, budget, h = 1.0, 0.35, 1e-4
    options = SCS_TIGHT if solver == "SCS" else {}
    result = mi_cvx.gaussian_scalar(sy2, sn2, budget).solve(solver, **options)
    up, down = oracles.scalar_gaussian_mi(sy2, sn2, budget + h), oracles.scalar_gaussian_mi(sy2, sn2, budget - h)
    derivative = (up - down) / (2 * h)
    assert result.dual_budget == pytest.approx(-derivative, rel=1e-4)
    # and by finite differences of the conic solves themselves
    problem = mi_cvx.gaussian_scalar(sy2, sn2, budget + 1e-3)
    up = problem.solve(solver, **options).mi
    problem.parameters["budget"].value = budget - 1e-3
    down = problem.solve(solver, **options).mi
    assert result.dual_budget == pytest.approx((down - up) / 2e-3, rel=1e-3)


# ---------------------------------------------------------------- vector (Thm 3.2, section 3)


def random_problem(seed, m, n):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(m, n)), rng


@pytest.mark.parametrize("solver", SDP_SOLVERS)
@SETTINGS
@given(inputs=testing.gaussian_vector_inputs(4, 4, noise="zero", signal="scalar",
                                             budget_fraction=(0.05, 1.2)))  # never D = sum(lam): see below
def test_noiseless_projection_matches_falling_bar(solver, inputs):
    A, s2, budget = inputs["A"], inputs["signal_cov"], inputs["budget"]
    lam = s2 * np.linalg.svd(A, compute_uv=False) ** 2
    # SCS tight: at its default eps (1e-4) the attack it returns, made realisable (Cov(Delta | Y) >= 0), leaves
    # ~1e-4 of signal on a direction with no noise, and its information is far above the value (7 of 40
    # random noiseless models): flagged, rightly, so the comparison with the oracle needs the tight setting
    result = mi_cvx.gaussian_vector(**inputs).solve(solver, **(SCS_TIGHT if solver == "SCS" else {}))
    fb = oracles.falling_bar(lam, budget)
    assert result.oracle == pytest.approx(fb.mi, rel=1e-9, abs=1e-12)
    assert_close_to_oracle(result.mi, fb.mi, solver)


def test_budget_exactly_erasing_the_signal_is_solved_or_flagged():
    """At D = sum(lam) the only optimal attack is Delta = -X: a degenerate SDP with no interior
    near the optimum.  Clarabel may then stop at optimal_inaccurate; the result must say so."""
    A, _ = random_problem(0, 4, 4)
    total = float(np.sum(np.linalg.svd(A, compute_uv=False) ** 2))
    for formulation in ("full", "compact"):
        result = mi_cvx.gaussian_vector(A, total, formulation=formulation).solve(raise_on_failure=False)
        assert abs(result.mi) < 1e-6
        assert result.ok == (result.status == "optimal")
        if not result.ok:
            assert "optimal_inaccurate" in result.message
            with pytest.raises(mi_cvx.SolverError, match="optimal_inaccurate"):
                mi_cvx.gaussian_vector(A, total, formulation=formulation).solve()


@pytest.mark.parametrize("solver", SDP_SOLVERS)
@SETTINGS
@given(inputs=testing.gaussian_vector_inputs(4, 3, noise="isotropic", signal="matrix", noise_var=(0.05, 2.0),
                                             budget_fraction=(0.05, 1.2)))  # correlated signal, isotropic noise
def test_noisy_projection_matches_structured_path(solver, inputs):
    result = mi_cvx.gaussian_vector(**inputs).solve(solver)
    exact = oracles.isotropic_gaussian(inputs["A"], inputs["budget"], inputs["signal_cov"], inputs["noise_cov"])
    assert result.oracle == pytest.approx(exact.mi)
    assert_close_to_oracle(result.mi, exact.mi, solver)


def test_structured_attack_achieves_its_value_and_budget():
    A, rng = random_problem(3, 5, 4)
    signal_cov = np.diag([1.0, 2.0, 0.5, 3.0])
    exact = oracles.isotropic_gaussian(A, 2.5, signal_cov, 0.3)
    model = GaussianModel(A, signal_cov, 0.3 * np.eye(5), np.arange(5))
    joint = model.joint_from_gains(exact.F, exact.G, exact.W_cov)
    assert model.mi_of(joint) == pytest.approx(exact.mi, rel=1e-9)
    assert np.trace(joint[-5:, -5:]) == pytest.approx(2.5, rel=1e-9)


def test_vector_dual_matches_structured_path():
    A, _ = random_problem(5, 3, 3)
    result = mi_cvx.gaussian_vector(A, 1.5, noise_cov=0.4).solve()
    exact = oracles.isotropic_gaussian(A, 1.5, 1.0, 0.4)
    assert result.dual_budget == pytest.approx(exact.dual, rel=1e-4)


def test_compact_formulation_agrees_with_full():
    A, _ = random_problem(7, 3, 5)  # fat: A A^T invertible
    full = mi_cvx.gaussian_vector(A, 2.0, signal_cov=0.8).solve()
    compact = mi_cvx.gaussian_vector(A, 2.0, signal_cov=0.8, formulation="compact").solve()
    assert compact.mi == pytest.approx(full.mi, rel=1e-6)
    assert compact.mi_check == pytest.approx(compact.mi, rel=1e-5)
    assert compact.dual_budget == pytest.approx(full.dual_budget, rel=1e-4)
    # tall A: rank-deficient Cov(X), the compact form works in its range
    B, _ = random_problem(8, 5, 2)
    tall = mi_cvx.gaussian_vector(B, 1.0, formulation="compact").solve()
    assert_close_to_oracle(tall.mi, tall.oracle, "CLARABEL")


def test_general_noise_and_signal_covariances():
    A, rng = random_problem(11, 3, 2)
    noise = np.diag([0.2, 0.5, 1.0])
    root = rng.normal(size=(3, 3))
    correlated_noise = root @ root.T / 3
    for noise_cov in (noise, correlated_noise, np.zeros((3, 3))):
        result = mi_cvx.gaussian_vector(A, 0.8, signal_cov=np.array([[1.0, 0.3], [0.3, 0.6]]),
                                        noise_cov=noise_cov).solve()
        assert result.ok
        assert result.mi_check == pytest.approx(result.mi, rel=1e-4, abs=1e-7)
        assert result.budget_used <= 0.8 + 1e-6
        # the reported gains reproduce the reported joint covariance
        model = GaussianModel(A, np.array([[1.0, 0.3], [0.3, 0.6]]), noise_cov, np.arange(3))
        rebuilt = model.joint_from_gains(result.attack["F"], result.attack["G"], result.attack["W_cov"])
        np.testing.assert_allclose(rebuilt, result.attack["joint_cov"], atol=1e-6)


def test_singular_noise_covariance_matches_reduced_model():
    """Noise on one sensor only: equivalent to a model whose other rows are noiseless."""
    A = np.array([[1.0, 0.2], [0.3, 1.0]])
    result = mi_cvx.gaussian_vector(A, 0.5, noise_cov=np.diag([0.0, 0.4])).solve()
    assert result.ok
    assert result.mi_check == pytest.approx(result.mi, rel=1e-5)


# ---------------------------------------------------------------- attacker knowledge


@SETTINGS
@given(A=testing.observation_matrices(3, 2), sn2=st.floats(0.05, 1.0), frac=st.floats(0.1, 0.9))
def test_label_blind_never_beats_the_paper_attacker(A, sn2, frac):
    budget = frac * np.trace(A @ A.T)
    paper = mi_cvx.gaussian_vector(A, budget, noise_cov=sn2).solve()
    blind = mi_cvx.gaussian_vector(A, budget, noise_cov=sn2, knows="x").solve()
    assert blind.oracle is None  # no closed form for the label-blind attacker
    assert blind.mi >= paper.mi - 1e-6
    # and the returned blind attack really is label-blind: Cov(Delta, Y | X) = 0
    joint = blind.attack["joint_cov"]
    n, m = 2, 3
    x_map = np.hstack([A, np.eye(m), np.zeros((m, m))])
    cov_dy = joint[n + m:, :n]
    cov_dx = joint[n + m:, :] @ x_map.T
    cov_xy = x_map @ joint[:, :n]
    cov_xx = x_map @ joint @ x_map.T
    np.testing.assert_allclose(cov_dy - cov_dx @ np.linalg.solve(cov_xx, cov_xy), 0.0, atol=1e-6)


def test_label_blind_equals_paper_when_x_determines_y():
    A = np.array([[1.0, 0.5], [-0.3, 1.2]])  # invertible, noiseless: Y = A^-1 X
    paper = mi_cvx.gaussian_vector(A, 0.7).solve()
    blind = mi_cvx.gaussian_vector(A, 0.7, knows="x").solve()
    assert blind.mi == pytest.approx(paper.mi, rel=1e-6)
    scalar_blind = mi_cvx.gaussian_scalar(1.0, 0.0, 0.4, knows="x").solve()
    assert scalar_blind.mi == pytest.approx(0.5 * np.log(1 / 0.4), rel=1e-6)


def test_label_blind_scalar_is_strictly_worse_with_noise():
    paper = mi_cvx.gaussian_scalar(1.0, 0.5, 0.3).solve()
    blind = mi_cvx.gaussian_scalar(1.0, 0.5, 0.3, knows="x").solve()
    # a label-blind attack Delta = h X + W: best h and W by a fine 1-D search
    sy2, sn2, d = 1.0, 0.5, 0.3
    h = np.linspace(-np.sqrt(d / (sy2 + sn2)), 0, 200_001)
    w = np.maximum(d - h**2 * (sy2 + sn2), 0.0)
    values = 0.5 * np.log1p((1 + h) ** 2 * sy2 / ((1 + h) ** 2 * sn2 + w))
    assert blind.mi == pytest.approx(values.min(), rel=1e-5)
    assert blind.mi > paper.mi + 0.1


# ---------------------------------------------------------------- custom budgets


def test_per_coordinate_power_cap():
    A = np.eye(3)
    signal_cov = np.diag([3.0, 1.0, 0.5])
    base = mi_cvx.gaussian_vector(A, 1.0, signal_cov=signal_cov)
    caps = np.array([0.2, 0.3, 1.0])
    capped = base.with_constraints(lambda v: [cp.diag(v["attack_cov"]) <= caps])
    assert capped.oracle() is None and capped.custom
    result = capped.solve()
    powers = np.diag(result.attack["attack_cov"])
    assert np.all(powers <= caps + 1e-6)
    # Independent channels: capped reverse water-filling D_i = min(mu, lam_i, c_i) with
    # sum D_i = 1.  Uncapped, mu = 1/3 for every channel; the caps hold channels 1 and 2
    # at 0.2 and 0.3, and the remaining 0.5 erases channel 3 (lam_3 = 0.5).
    np.testing.assert_allclose(powers, [0.2, 0.3, 0.5], atol=1e-5)
    assert result.mi == pytest.approx(0.5 * np.log(3.0 / 0.2) + 0.5 * np.log(1.0 / 0.3), rel=1e-6)
    uncapped = base.solve()
    assert uncapped.mi == pytest.approx(0.5 * np.log(3.0 / (1 / 3)) + 0.5 * np.log(1.0 / (1 / 3))
                                        + 0.5 * np.log(0.5 / (1 / 3)), rel=1e-6)
    assert result.mi > uncapped.mi  # the caps cost the attacker


def test_weighted_budget_via_no_default_budget():
    A = np.eye(2)
    weights = np.diag([4.0, 1.0])
    weighted_budget = cp.Parameter(nonneg=True, value=1.0)
    problem = mi_cvx.gaussian_vector(A, None, signal_cov=1.0)
    assert "budget" not in problem.parameters
    problem = problem.with_constraints(lambda v: [cp.trace(weights @ v["attack_cov"]) <= weighted_budget])
    result = problem.solve()
    # E[Delta^T W Delta] <= 1 with independent unit channels: D_i = min(mu / w_i, 1), sum w_i D_i = 1
    # gives D = (1/8, 1/2) (mu = 1/2) and I = 0.5 log 8 + 0.5 log 2.
    assert result.mi == pytest.approx(0.5 * np.log(8) + 0.5 * np.log(2), rel=1e-6)
    assert np.trace(weights @ result.attack["attack_cov"]) <= 1.0 + 1e-6
    weighted_budget.value = 10.0  # re-solve through the user's own parameter
    assert problem.solve().mi == pytest.approx(0.0, abs=1e-6)


def test_no_budget_means_the_attacker_erases_everything():
    result = mi_cvx.gaussian_scalar(1.0, 0.2, None).solve()
    assert result.dual_budget is None
    assert abs(result.mi) < 1e-6


def test_with_constraints_rejects_non_constraints_and_non_dcp():
    problem = mi_cvx.gaussian_scalar(1.0, 0.2, 0.5)
    with pytest.raises(mi_cvx.InvalidInputError, match="constraints"):
        problem.with_constraints(["not a constraint"])
    with pytest.raises(mi_cvx.InvalidInputError, match="not DCP"):
        problem.with_constraints(lambda v: [cp.square(v["attack_cov"][0, 0]) >= 0.1])


# ---------------------------------------------------------------- parameters, results


def test_budget_parameter_resolves_without_rebuilding():
    problem = mi_cvx.gaussian_scalar(1.0, 0.5, 0.2)
    assert problem.problem.is_dcp() and problem.problem.is_dpp()
    first = problem.solve()
    compiled = problem.problem._cache.param_prog  # CVXPY's cached compiled program (private)
    assert compiled is not None
    problem.parameters["budget"].value = 0.6
    second = problem.solve()
    assert problem.problem._cache.param_prog is compiled  # reused, not rebuilt
    assert second.mi == pytest.approx(oracles.scalar_gaussian_mi(1.0, 0.5, 0.6), abs=1e-6)
    assert second.mi < first.mi


def test_result_fields_and_json():
    result = mi_cvx.gaussian_vector(np.eye(2), 0.5, noise_cov=0.1).solve()
    assert result.mi_bits == pytest.approx(result.mi / np.log(2))
    assert result.solver == "CLARABEL" and result.status == "optimal"
    assert result.iterations > 0 and result.solve_time > 0
    assert result.residual < 1e-6
    assert result.oracle_gap == pytest.approx(result.mi - result.oracle)
    data = json.loads(json.dumps(result.to_dict()))
    assert data["mi"] == pytest.approx(result.mi)
    assert np.array(data["attack"]["joint_cov"]).shape == (6, 6)
    assert data["parameters"] == {"budget": 0.5}


def test_solver_failure_is_reported_not_returned():
    problem = mi_cvx.gaussian_vector(np.eye(3), 0.5, noise_cov=0.2)
    with pytest.raises(mi_cvx.SolverError) as info:
        problem.solve("SCS", max_iters=2, warm_start=False)
    assert info.value.solver == "SCS"
    assert info.value.status != "optimal" or "residual" in str(info.value)
    flagged = problem.solve("SCS", max_iters=2, warm_start=False, raise_on_failure=False)
    assert not flagged.ok and flagged.message


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"signal_var": -1.0, "noise_var": 0.1, "budget": 0.5}, "signal_var"),
        ({"signal_var": float("nan"), "noise_var": 0.1, "budget": 0.5}, "signal_var"),
        ({"signal_var": 0.0, "noise_var": 0.1, "budget": 0.5}, "signal_var"),
        ({"signal_var": 1.0, "noise_var": -0.1, "budget": 0.5}, "noise_var"),
        ({"signal_var": 1.0, "noise_var": float("inf"), "budget": 0.5}, "noise_var"),
        ({"signal_var": 1.0, "noise_var": 0.1, "budget": -0.5}, "budget"),
        ({"signal_var": 1.0, "noise_var": 0.1, "budget": "lots"}, "budget"),
        ({"signal_var": 1.0, "noise_var": 0.1, "budget": 0.5, "knows": "y"}, "knows"),
    ],
)
def test_scalar_bad_input(kwargs, argument):
    with pytest.raises(mi_cvx.InvalidInputError, match=argument) as info:
        mi_cvx.gaussian_scalar(**kwargs)
    assert isinstance(info.value, ValueError)
    assert info.value.argument == argument


@pytest.mark.parametrize(
    ("kwargs", "argument", "message"),
    [
        ({"A": np.ones((2, 2)), "signal_cov": np.array([[1.0, 0.5], [0.0, 1.0]])}, "signal_cov", "symmetric"),
        ({"A": np.ones((2, 2)), "signal_cov": np.array([[1.0, 2.0], [2.0, 1.0]])}, "signal_cov", "positive"),
        ({"A": np.ones((2, 2)), "signal_cov": np.eye(3)}, "signal_cov", "shape"),
        ({"A": np.ones((2, 2)), "noise_cov": np.array([[1.0, 2.0], [2.0, 1.0]])}, "noise_cov", "semidefinite"),
        ({"A": np.ones((2, 2)), "noise_cov": np.eye(3)}, "noise_cov", "shape"),
        ({"A": np.ones((2, 2, 2))}, "A", "shape"),
        ({"A": [[1.0, np.nan]]}, "A", "NaN"),
        ({"A": np.ones((2, 2)), "budget": -1.0}, "budget", "non-negative"),
        ({"A": np.ones((2, 2)), "formulation": "dense"}, "formulation", "one of"),
        ({"A": np.ones((2, 2)), "noise_cov": 0.5, "formulation": "compact"}, "formulation", "noise_cov = 0"),
    ],
)
def test_vector_bad_input(kwargs, argument, message):
    kwargs.setdefault("budget", 1.0)
    with pytest.raises(mi_cvx.InvalidInputError, match=message) as info:
        mi_cvx.gaussian_vector(**kwargs)
    assert info.value.argument == argument


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf")])
def test_bad_budget_set_through_the_parameter_is_refused_and_leaves_the_problem_intact(bad):
    """mi_cvx's budget Parameter refuses the value naming the argument (CVXPY's own check raises an anonymous
    ValueError for -1 and NaN and lets infinity through to the solver), keeps the previous budget, and the problem
    still solves to Theorem 3.1 there; 0 (no attack) is allowed."""
    problem = mi_cvx.gaussian_scalar(1.0, 0.1, 0.5)
    with pytest.raises(mi_cvx.InvalidInputError, match="budget") as info:
        problem.parameters["budget"].value = bad
    assert info.value.argument == "budget"
    assert problem.parameters["budget"].value == 0.5
    assert_close_to_oracle(problem.solve("CLARABEL").mi, oracles.scalar_gaussian_mi(1.0, 0.1, 0.5), "CLARABEL")
    problem.parameters["budget"].value = 0.0  # no attack: the information of the clean observation
    assert_close_to_oracle(problem.solve("CLARABEL").mi, 0.5 * np.log1p(1.0 / 0.1), "CLARABEL")


def test_unknown_solver_and_missing_cone():
    problem = mi_cvx.gaussian_scalar(1.0, 0.1, 0.5)
    with pytest.raises(mi_cvx.InvalidInputError, match="solver"):
        problem.solve("NOT_A_SOLVER")
    with pytest.raises(mi_cvx.InvalidInputError, match="solver"):
        problem.solve(42)
    with pytest.raises(mi_cvx.UnsupportedSolverError, match="semidefinite") as info:
        problem.solve("ECOS")
    assert info.value.missing == {"PSD"}
    if "CVXOPT" in cp.installed_solvers():
        with pytest.raises(mi_cvx.UnsupportedSolverError, match="exponential"):
            problem.solve("CVXOPT")
