"""Lemma 2.1 verification: the report passes on every family and fails on non-convex variants."""

from __future__ import annotations

import dataclasses
import json
import math

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest

import mi_cvx
from mi_cvx import convexity as cv
from mi_cvx.cases import get_case
from mi_cvx.core import AttackProblem, parameter
from mi_cvx.errors import InvalidInputError
from mi_cvx.info import conditional_covariance

CASES = mi_cvx.cases()
FAST = dict(trials=60, cvxpy_points=4)
DECIDING = {"dcp", "curvature", "jensen", "admissible_set", "cvxpy_constraints", "value_function", "budget_dual"}


def _one_case_per_family():
    seen = {}
    for case in CASES:
        seen.setdefault(case.family, case)
    return list(seen.values())


def _assert_verified(report, case_name):
    assert report.passed, f"{case_name}:\n{report}"
    for check in report.checks:
        if check.name in ("jensen", "admissible_set", "cvxpy_constraints", "dcp", "curvature"):
            assert check.passed is True, f"{case_name}: {check.name}: {check.detail}"
    witness = report.check("deterministic_witness")
    assert witness.informational and witness.passed, f"{case_name}: no witness: {witness.detail}"


@pytest.mark.parametrize("case", _one_case_per_family(), ids=lambda c: c.family)
def test_report_passes_on_each_family(case):
    report = mi_cvx.verify_convexity(case.build(), **FAST)
    _assert_verified(report, case.name)
    if "budget" in case.build().parameters:
        assert report.check("value_function").passed is True
        assert report.check("budget_dual").passed is True
    else:
        assert report.check("value_function").passed is None  # no budget parameter: skipped, and says why
        assert "budget" in report.check("value_function").detail


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_report_passes_on_every_case(case):
    report = mi_cvx.verify_convexity(case.build())
    _assert_verified(report, case.name)


def test_report_structure_and_exports():
    problem = mi_cvx.gaussian_scalar(1.0, 0.5, 0.3)
    report = mi_cvx.verify_convexity(problem, **FAST)
    assert isinstance(report, mi_cvx.ConvexityReport)
    names = [c.name for c in report.checks]
    assert names == ["dcp", "curvature", "dpp", "jensen", "admissible_set", "cvxpy_constraints",
                     "value_function", "budget_dual", "deterministic_witness"]
    text = str(report)
    assert text == report.summary() and "PASSED" in text
    for name in names:
        assert name in text
    data = json.loads(json.dumps(report.to_dict()))
    assert data["passed"] is True and data["failed"] == [] and len(data["checks"]) == len(names)
    frame = report.to_frame()
    assert isinstance(frame, pd.DataFrame) and list(frame["name"]) == names and len(frame) == len(names)
    assert set(frame["status"]) <= {"passed", "failed", "skipped", "info"}
    curvature = report["curvature"]
    assert curvature.data["curvature"] == problem.problem.objective.expr.curvature == "CONVEX"
    assert report["dpp"].informational and report["dpp"].passed
    with pytest.raises(KeyError):
        report.check("nope")


def test_report_is_reproducible_and_restores_the_problem():
    problem = mi_cvx.gaussian_vector(np.array([[1.0, 0.5], [0.0, 1.0]]), 0.4)
    before = problem.solve()
    values = {v: np.array(v.value) for v in problem.problem.variables()}
    a = mi_cvx.verify_convexity(problem, seed=3, **FAST)
    b = mi_cvx.verify_convexity(problem, seed=3, **FAST)
    assert a.to_dict() == b.to_dict()
    assert problem.parameters["budget"].value == 0.4
    for var, value in values.items():
        np.testing.assert_array_equal(var.value, value)
    assert problem.solve().mi == pytest.approx(before.mi, abs=1e-7)


def test_value_function_figures_against_the_closed_form():
    problem = mi_cvx.gaussian_scalar(1.0, 0.5, 0.3)
    # Interior-point duals are less accurate than values (Clarabel's defaults leave up to 6e-5 relative
    # here, too close to 1e-4 to be a robust test): tightened, the multipliers are within ~1e-5.
    tight = {"tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10, "tol_feas": 1e-10}
    checks = cv.value_function_test(problem, budgets=[0.1, 0.2, 0.3, 0.5], solver="CLARABEL", **tight)
    assert checks[0].passed and checks[1].passed
    data = checks[0].data
    np.testing.assert_allclose(data["values"], mi_cvx.oracles.scalar_gaussian_mi(1.0, 0.5, data["budgets"]),
                               atol=1e-8)
    slopes = [mi_cvx.oracles.scalar_gaussian(1.0, 0.5, d).slope for d in data["budgets"]]
    np.testing.assert_allclose(data["duals"], -np.array(slopes), rtol=1e-4)
    assert problem.parameters["budget"].value == 0.3


def test_custom_constraints_are_checked():
    problem = mi_cvx.gaussian_scalar(1.0, 0.5, 0.6).with_constraints(
        lambda v: [v["attack_signal_cov"] >= -0.3, v["attack_cov"] <= 0.5])
    report = mi_cvx.verify_convexity(problem, **FAST)
    assert report.passed, str(report)
    check = report.check("cvxpy_constraints")
    assert check.passed and "custom" in check.detail


def test_scalar_witness_matches_the_closed_form():
    """The witness triple for Delta = f Y is re-checked with I(f) = 0.5 log(1 + (1+f)^2 sy2/sn2)."""
    sy2, sn2 = 1.0, 0.5
    check = cv.deterministic_witness(mi_cvx.gaussian_scalar(sy2, sn2, 0.3))
    x1, x2, x3 = check.data["x"]
    def closed(f):
        return 0.5 * math.log(1 + (1 + f) ** 2 * sy2 / sn2)
    np.testing.assert_allclose(check.data["f"], [closed(x1), closed(x2), closed(x3)], rtol=1e-10)
    assert x2 == pytest.approx(0.5 * (x1 + x3))
    assert closed(x2) > 0.5 * (closed(x1) + closed(x3)) + 1e-3  # genuinely above the chord
    assert max(abs(x1), abs(x3)) <= math.sqrt(0.3 / sy2) + 1e-12  # within the budget


# ------------------------------------------------------ non-convex variants


@pytest.fixture
def scalar():
    problem = mi_cvx.gaussian_scalar(1.0, 0.5, 0.3)
    return problem, cv.attack_space(problem), problem.spec["model"]


def test_concave_objective_fails_jensen(scalar):
    problem, space, _ = scalar
    variant = dataclasses.replace(space, mi=lambda s: -space.mi(s))
    report = mi_cvx.verify_convexity(problem, space=variant, trials=60, cvxpy_points=0, value_function=False)
    assert not report.passed
    assert report.failed == ["jensen"]
    assert report.check("jensen").figure > 1e-3
    assert "NOT convex" in report.check("jensen").detail and "FAILED" in str(report)


def test_information_in_the_deterministic_gain_fails_jensen(scalar):
    """I as a function of the gain f of Delta = f Y (the parametrisation the lemma does not cover)."""
    problem, _, model = scalar
    f_max = math.sqrt(0.3)
    zero = np.zeros((1, 1))
    gain_space = cv.AttackSpace(
        description="gain f of Delta = f Y, |f| <= sqrt(D / sy2)",
        sample=lambda rng: float(rng.uniform(-f_max, f_max)),
        mi=lambda f: model.mi_of(model.joint_from_gains(np.array([[f]]), zero, zero)),
        violation=lambda f: max(0.0, abs(f) - f_max),
    )
    report = mi_cvx.verify_convexity(problem, space=gain_space, trials=100, cvxpy_points=0, value_function=False)
    assert report.failed == ["jensen"]
    assert report.check("admissible_set").passed  # the interval of gains is convex; the objective is not


def test_deterministic_attacks_are_not_a_convex_set(scalar):
    """The set of deterministic linear attacks (W = 0) is not convex in the joint covariance."""
    problem, space, model = scalar

    def sample(rng):
        f, g = rng.uniform(-1, 1, size=2)
        scale = math.sqrt(0.3 / (f * f + 0.5 * g * g))
        return model.joint_from_gains(np.array([[scale * f]]), np.array([[scale * g]]), np.zeros((1, 1)))

    def violation(joint):  # Cov(Delta | Y, N) must vanish for a deterministic attack
        residual = conditional_covariance(joint, [2], [0, 1])
        return max(space.violation(joint), float(np.abs(residual).max()))

    variant = dataclasses.replace(space, sample=sample, violation=violation)
    report = mi_cvx.verify_convexity(problem, space=variant, trials=60, cvxpy_points=0, value_function=False)
    assert report.failed == ["admissible_set"]
    assert report.check("admissible_set").figure > 1e-3
    assert report.check("jensen").passed  # I itself is still convex in the covariance


def test_equality_budget_on_gains_is_not_convex():
    """'E Delta^2 == D' in the gains (f, g) of Delta = f Y + g N: a circle, not a convex set."""
    sy2, sn2, budget = 1.0, 0.5, 0.3

    def sample(rng):
        angle = rng.uniform(0, 2 * np.pi)
        return np.array([math.sqrt(budget / sy2) * math.cos(angle), math.sqrt(budget / sn2) * math.sin(angle)])

    def violation(fg):
        return abs(fg[0] ** 2 * sy2 + fg[1] ** 2 * sn2 - budget)

    check = cv.admissible_set_test(violation, sample, trials=50)
    assert check.passed is False and check.figure > 1e-2
    # the inequality version (an ellipse) is convex
    check = cv.admissible_set_test(lambda fg: max(0.0, fg[0] ** 2 * sy2 + fg[1] ** 2 * sn2 - budget),
                                   lambda rng: rng.uniform(0, 1) * sample(rng), trials=200)
    assert check.passed is True


def test_union_of_two_balls_is_not_convex():
    centres = np.array([[-2.0, 0.0], [2.0, 0.0]])

    def violation(x):
        return max(0.0, float(np.min(np.linalg.norm(centres - x, axis=1))) - 1.0)

    def sample(rng):
        c = centres[rng.integers(2)]
        d = rng.normal(size=2)
        return c + rng.uniform(0, 1) * d / np.linalg.norm(d)

    check = cv.admissible_set_test(violation, sample, trials=100, seed=1)
    assert check.passed is False
    assert "NOT convex" in check.detail


def test_jensen_test_directly():
    def sample(rng):
        return rng.uniform(-2, 2)

    assert cv.jensen_test(lambda x: x * x, sample, trials=100).passed is True
    assert cv.jensen_test(abs, sample, trials=100).passed is True
    assert cv.jensen_test(np.sin, sample, trials=100).passed is False
    bad = cv.jensen_test(lambda x: -x * x, sample, trials=100)
    assert bad.passed is False and bad.data["f_mix"] > bad.data["chord"]
    skipped = cv.jensen_test(lambda x: math.inf, sample, trials=5)
    assert skipped.passed is None


def test_nonconvexity_witness_directly():
    assert cv.nonconvexity_witness(np.sin, 0.0, 3.0).passed is True
    assert cv.nonconvexity_witness(lambda x: x * x, -1.0, 1.0).passed is False
    with pytest.raises(InvalidInputError, match="hi"):
        cv.nonconvexity_witness(np.sin, 1.0, 1.0)


def _toy_problem(value_power: bool) -> AttackProblem:
    """A hand-built problem whose value function is 1 - D^2 (concave) or 1 - D (affine)."""
    x = cp.Variable(nonneg=True, name="x")
    budget = parameter("budget", 0.4)
    bound = budget**2 if value_power else budget
    con = x <= bound
    problem = cp.Problem(cp.Minimize(1 - x), [con])
    return AttackProblem(problem=problem, parameters={"budget": budget}, variables={"x": x}, family="toy",
                         readout=lambda ap: {"attack": {}, "mi_check": None, "budget_used": float(x.value)},
                         budget_constraint=con)


def test_value_function_check_fails_for_a_concave_value_function():
    report = mi_cvx.verify_convexity(_toy_problem(True), trials=20, cvxpy_points=2)
    assert not report.passed
    assert "value_function" in report.failed
    assert "NOT convex" in report.check("value_function").detail
    assert report.check("jensen").passed is None  # no attack space for a toy family: skipped, with the reason
    assert "attack space" in report.check("jensen").detail
    # the affine version passes the model checks
    report = mi_cvx.verify_convexity(_toy_problem(False), trials=20, cvxpy_points=2)
    assert report.passed, str(report)


def test_non_dcp_model_fails_the_certificate():
    x = cp.Variable(name="x")
    budget = parameter("budget", 1.0)
    problem = cp.Problem(cp.Minimize(x), [cp.square(x) >= budget, x <= 3])  # x in [-3, -1] U [1, 3]
    ap = AttackProblem(problem=problem, parameters={"budget": budget}, variables={"x": x}, family="toy",
                       readout=lambda ap: {"attack": {}, "mi_check": None, "budget_used": None})
    report = mi_cvx.verify_convexity(ap, trials=10)
    assert not report.passed and "dcp" in report.failed
    assert report.check("cvxpy_constraints").passed is None
    assert report.check("value_function").passed is None


def test_discrete_witness_recomputed_with_info():
    problem = get_case("binary_channel_flip").build()
    check = cv.deterministic_witness(problem)
    assert check.informational and check.passed
    p = problem.parameters["p_xy"].value
    space = cv.attack_space(problem)
    assert check.figure > 1e-3
    # every channel on the logit path is feasible, and I is convex along the path *in the channel*
    rng = np.random.default_rng(0)
    for _ in range(20):
        chan = space.sample(rng)
        assert space.violation(chan) <= 1e-12
        assert mi_cvx.info.expected_distortion(p, chan, problem.spec["distortion"]) <= 0.1 + 1e-12


def test_discrete_non_convex_variants():
    problem = get_case("discrete_hamming_rate_distortion").build()
    space = cv.attack_space(problem)
    concave = dataclasses.replace(space, mi=lambda c: -space.mi(c))
    report = mi_cvx.verify_convexity(problem, space=concave, trials=60, cvxpy_points=0, value_function=False)
    assert report.failed == ["jensen"]

    # deterministic attack maps (each row of the channel a vertex of the simplex) are not a convex set;
    # with budget 0.6 the maps that change the letters 1 or 2 are affordable
    problem = mi_cvx.discrete_channel(np.diag([0.5, 0.3, 0.2]), 0.6)
    space = cv.attack_space(problem)

    def sample(rng):
        chan = np.zeros((3, 3, 3))
        for x in range(3):
            chan[x, :, x if rng.random() < 0.7 else rng.integers(3)] = 1.0
        return chan

    def violation(chan):
        return max(space.violation(chan), float(np.max(1.0 - chan.max(axis=2))))

    deterministic = dataclasses.replace(space, sample=sample, violation=violation)
    report = mi_cvx.verify_convexity(problem, space=deterministic, trials=60, cvxpy_points=0,
                                     value_function=False)
    assert "admissible_set" in report.failed and not report.passed


def test_discrete_budget_grid_starts_at_the_least_distortion():
    """A distortion that charges every letter makes small budgets infeasible: the default grid avoids them."""
    p = np.array([[0.2, 0.1], [0.1, 0.3], [0.25, 0.05]])
    d = np.array([[0.1, 1.1], [1.1, 0.1], [2.1, 1.1]])
    problem = mi_cvx.discrete_channel(p, 0.7, d, knows="x")
    checks = cv.value_function_test(problem)
    assert checks[0].passed is True and checks[1].passed is True
    least = float(p.sum(axis=1) @ d.min(axis=1))
    assert min(checks[0].data["budgets"]) > least
    # an explicit grid reaching below it keeps the feasible budgets and records the others
    checks = cv.value_function_test(problem, budgets=[0.1, 0.5, 0.6, 0.7, 0.9])
    assert checks[0].passed is True and checks[0].data["refused_budgets"] == [0.1]


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(("kwargs", "argument"), [
    ({"trials": 0}, "trials"),
    ({"trials": 2.5}, "trials"),
    ({"seed": -1}, "seed"),
    ({"seed": "x"}, "seed"),
    ({"cvxpy_points": 1}, "cvxpy_points"),
    ({"cvxpy_points": -2}, "cvxpy_points"),
    ({"space": "not a space"}, "space"),
    ({"budgets": [0.1, 0.2]}, "budgets"),
    ({"budgets": [-0.1, 0.2, 0.3]}, "budgets"),
    ({"solver": "NOT_A_SOLVER"}, "solver"),
])
def test_bad_input(kwargs, argument):
    with pytest.raises(InvalidInputError) as info:
        mi_cvx.verify_convexity(mi_cvx.gaussian_scalar(1.0, 0.5, 0.3), **kwargs)
    assert info.value.argument == argument


def test_bad_problem_and_low_level_arguments():
    with pytest.raises(InvalidInputError, match="attack_problem"):
        mi_cvx.verify_convexity(get_case("gaussian_scalar_noisy"))
    with pytest.raises(InvalidInputError, match="attack_problem"):
        cv.attack_space("nope")
    with pytest.raises(InvalidInputError, match="trials"):
        cv.jensen_test(abs, lambda rng: 0.0, trials=0)
    with pytest.raises(InvalidInputError, match="tol"):
        cv.admissible_set_test(abs, lambda rng: 0.0, tol=-1)
    with pytest.raises(mi_cvx.UnsupportedSolverError):
        mi_cvx.verify_convexity(mi_cvx.gaussian_scalar(1.0, 0.5, 0.3), solver="ECOS")
