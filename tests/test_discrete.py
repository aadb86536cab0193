"""The discrete attack family (MATH.md sections 4-5) against the closed forms and the theory."""

from __future__ import annotations

import math

import cvxpy as cp
import numpy as np
import pytest
from hypothesis import given, settings

import mi_cvx
from mi_cvx import InvalidInputError, SolverError, UnsupportedSolverError, info, oracles, testing
from mi_cvx.cases import SCS_TIGHT
from mi_cvx.discrete import hamming_distortion, optimality_residuals

from .conftest import EXP_SOLVERS, assert_close_to_oracle, value_tol

#: SCS at its default eps (1e-4) meets its own (loose) tolerance on these problems;
#: where a test needs it closer it says so and passes these.
#: Clarabel's package default gap tolerance (1e-7) leaves optimality residuals up to
#: ~5e-5 (its multipliers are that loose); tests of the conditions tighten it.
CLARABEL_TIGHT = {"tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10, "tol_feas": 1e-10}


def random_pmf(rng, shape, concentration=0.8, zeros=0):
    p = rng.dirichlet(np.full(int(np.prod(shape)), concentration))
    if zeros:
        p[rng.choice(p.size, size=zeros, replace=False)] = 0.0
        p /= p.sum()
    return p.reshape(shape)


def cached_program(ap):
    # CVXPY private attribute: the compiled parametrised program, reused while only
    # Parameter values change (DPP).  If CVXPY renames it this helper needs updating.
    return ap.problem._cache.param_prog


# -------------------------------------------------------- binary vs oracle


@pytest.mark.parametrize("solver", EXP_SOLVERS)
def test_binary_conic_solves_match_the_oracle(solver):
    rng = np.random.default_rng(11)
    ap = mi_cvx.binary_channel(random_pmf(rng, (2, 2)), 0.0)
    for _ in range(6):
        p = random_pmf(rng, (2, 2))
        ap.parameters["p_xy"].value = p
        for frac in (0.0, 0.2, 0.6, 0.95, 1.5):
            ap.parameters["budget"].value = frac * oracles.binary_zero_threshold(p)
            res = ap.solve(solver)
            assert res.ok, res.message
            assert res.oracle == pytest.approx(oracles.binary_oracle(p, ap.parameters["budget"].value).mi, abs=0)
            assert_close_to_oracle(res.mi, res.oracle, solver)
            assert_close_to_oracle(res.mi_check, res.oracle, solver)
            assert res.budget_used <= ap.parameters["budget"].value + 10 * mi_cvx.solvers.tolerance(solver, "residual")


@pytest.mark.parametrize("formulation", ["channel", "transport"])
def test_binary_solution_matches_the_oracles_attack(formulation):
    rng = np.random.default_rng(5)
    for _ in range(4):
        p = random_pmf(rng, (2, 2))
        budget = 0.5 * oracles.binary_zero_threshold(p)
        res = mi_cvx.binary_channel(p, budget, formulation=formulation).solve("CLARABEL")
        exact = oracles.binary_oracle(p, budget)
        t = res.attack["output_joint"][:, 1] / p.sum(axis=0)  # P(Xhat = 1 | Y = y)
        np.testing.assert_allclose(t, exact.t, atol=2e-4)
        np.testing.assert_allclose(res.attack["flip_prob"], exact.flip_prob, atol=2e-3)
        assert res.dual_budget == pytest.approx(exact.dual, rel=1e-3)


def test_zero_threshold_is_where_the_information_first_vanishes():
    rng = np.random.default_rng(3)
    tol = value_tol("CLARABEL")
    for _ in range(4):
        p = random_pmf(rng, (2, 2))
        d0 = oracles.binary_zero_threshold(p)
        ap = mi_cvx.binary_channel(p, d0)
        at = ap.solve("CLARABEL")
        assert abs(at.mi) <= tol and abs(at.mi_check) <= tol
        ap.parameters["budget"].value = d0 * (1 - 0.2)
        below = ap.solve("CLARABEL")
        assert below.mi > 10 * tol  # clearly positive
        assert below.mi == pytest.approx(oracles.binary_oracle(p, d0 * 0.8).mi, rel=10 * tol)


def test_value_function_is_non_increasing_and_convex_on_a_grid():
    rng = np.random.default_rng(8)
    p = random_pmf(rng, (2, 2))
    grid = np.linspace(0.0, 1.1 * oracles.binary_zero_threshold(p), 23)
    ap = mi_cvx.binary_channel(p, 0.0)
    values = []
    for b in grid:
        ap.parameters["budget"].value = b
        values.append(ap.solve("CLARABEL").mi)
    values = np.array(values)
    slack = 1e-7  # solver accuracy
    assert np.all(np.diff(values) <= slack)
    assert np.all(values[:-2] - 2 * values[1:-1] + values[2:] >= -2 * slack)
    np.testing.assert_allclose(values, [oracles.binary_oracle(p, b).mi for b in grid], atol=1e-6)


def test_dual_budget_is_minus_the_slope_of_the_oracle():
    rng = np.random.default_rng(4)
    for _ in range(5):
        p = random_pmf(rng, (2, 2))
        budget = rng.uniform(0.1, 0.9) * oracles.binary_zero_threshold(p)
        h = 1e-5 * budget
        slope = (oracles.binary_oracle(p, budget + h).mi - oracles.binary_oracle(p, budget - h).mi) / (2 * h)
        res = mi_cvx.binary_channel(p, budget).solve("CLARABEL")
        assert res.dual_budget == pytest.approx(-slope, rel=1e-3)
        # beyond D0 the budget is slack and its multiplier zero
        over = mi_cvx.binary_channel(p, 1.5 * oracles.binary_zero_threshold(p)).solve("CLARABEL")
        assert abs(over.dual_budget) <= 1e-6


@pytest.mark.parametrize("solver", EXP_SOLVERS)
def test_independent_x_and_y_leak_nothing_at_any_budget(solver):
    p = np.outer([0.2, 0.5, 0.3], [0.6, 0.4])
    for budget in (0.0, 0.05, 0.5):
        res = mi_cvx.discrete_channel(p, budget).solve(solver)
        assert abs(res.mi) <= value_tol(solver) and abs(res.mi_check) <= value_tol(solver)
    res = mi_cvx.binary_channel(np.outer([0.3, 0.7], [0.4, 0.6]), 0.0).solve(solver)
    assert abs(res.mi) <= value_tol(solver)


@pytest.mark.parametrize("solver", EXP_SOLVERS)
@pytest.mark.parametrize("p", [
    np.array([[0.3, 0.0], [0.0, 0.7]]),  # X = Y, two zero cells
    np.array([[0.4, 0.2], [0.0, 0.4]]),  # one zero cell
    np.array([[0.25, 0.0], [0.75, 0.0]]),  # class y = 1 never occurs
], ids=["diagonal", "one-zero", "empty-class"])
def test_zero_probability_cells_and_classes(solver, p):
    for budget in (0.0, 0.1, 0.4):
        res = mi_cvx.binary_channel(p, budget).solve(solver)
        assert res.ok, res.message
        assert_close_to_oracle(res.mi, oracles.binary_oracle(p, budget).mi, solver)
        # undefined cells get the identity channel (no flip)
        for x, y in zip(*np.nonzero(p == 0), strict=True):
            np.testing.assert_array_equal(res.attack["channel"][x, y], np.eye(2)[x])
            assert res.attack["flip_prob"][x, y] == 0.0


# --------------------------------------------------- general alphabets


@settings(max_examples=10, deadline=None, derandomize=True)
@given(inputs=testing.discrete_inputs(5, 4, min_k=2, min_l=1, max_zeros=1, output_size=True))
def test_channel_and_transport_forms_agree(inputs):
    # output_size k' in [k - 1, k + 1]; the letters x >= k' have no counterpart and must move, and the budget
    # is drawn between that least cost and the cost of erasing everything (mi_cvx.testing.discrete_inputs)
    p, budget = inputs["p_xy"], inputs["budget"]
    full = mi_cvx.discrete_channel(**inputs).solve("CLARABEL")
    compact = mi_cvx.discrete_channel(**inputs, formulation="transport").solve("CLARABEL")
    assert compact.ok and full.ok
    assert_close_to_oracle(compact.mi, full.mi, "CLARABEL")
    # the transport form's rebuilt channel is a valid channel that verifies the value
    ch = compact.attack["channel"]
    assert np.all(ch >= 0)
    np.testing.assert_allclose(ch.sum(axis=2), 1.0, atol=1e-12)
    assert info.channel_mi(p, ch) == pytest.approx(compact.mi_check, rel=1e-9, abs=1e-12)
    assert compact.budget_used <= budget + 1e-7


@pytest.mark.parametrize("solver", EXP_SOLVERS)
def test_forms_agree_across_solvers(solver):
    rng = np.random.default_rng(21)
    p = random_pmf(rng, (4, 3))
    ref = mi_cvx.discrete_channel(p, 0.2).solve("CLARABEL").mi
    for formulation in ("channel", "transport"):
        res = mi_cvx.discrete_channel(p, 0.2, formulation=formulation).solve(solver)
        assert_close_to_oracle(res.mi, ref, solver, factor=2)


@pytest.mark.parametrize("formulation", ["channel", "transport"])
@pytest.mark.parametrize("source", ["uniform3", "uniform5", "bernoulli", "skewed4"])
def test_diagonal_joint_is_the_rate_distortion_function(formulation, source):
    src = {"uniform3": np.full(3, 1 / 3), "uniform5": np.full(5, 0.2), "bernoulli": np.array([0.2, 0.8]),
           "skewed4": np.array([0.5, 0.25, 0.15, 0.1])}[source]
    k = src.size
    ap = mi_cvx.discrete_channel(np.diag(src), 0.0, formulation=formulation)
    for budget in (0.0, 0.05, 0.3 * (1 - src.max()), 0.8 * (1 - src.max()), 1 - src.max() + 0.05):
        ap.parameters["budget"].value = budget
        res = ap.solve("CLARABEL")
        if source.startswith("uniform") and budget <= (k - 1) / k:
            expected = max(0.0, math.log(k) - info.binary_entropy(budget) - budget * math.log(k - 1))
        elif source == "bernoulli" and budget < 0.2:
            expected = info.binary_entropy(0.2) - info.binary_entropy(budget)
        else:
            expected = oracles.rate_distortion_hamming(src, budget)
        assert res.oracle == pytest.approx(expected, rel=1e-12, abs=1e-15)
        assert_close_to_oracle(res.mi, expected, "CLARABEL")


def test_rate_distortion_dual_is_the_log_slope():
    # R'(D) = log(D / ((k - 1)(1 - D))) for the uniform source.
    k, budget = 4, 0.3
    res = mi_cvx.discrete_channel(np.eye(k) / k, budget).solve("CLARABEL")
    assert res.dual_budget == pytest.approx(math.log((k - 1) * (1 - budget) / budget), rel=1e-4)


def test_custom_distortion_is_respected_and_optimal():
    rng = np.random.default_rng(2)
    p = random_pmf(rng, (4, 3))
    d = np.abs(np.subtract.outer(np.arange(4), np.arange(4))).astype(float)  # |x - xh|
    ap = mi_cvx.discrete_channel(p, 0.3, distortion=d)
    assert ap.oracle() is None
    res = ap.solve("CLARABEL", **CLARABEL_TIGHT)
    assert res.budget_used <= 0.3 + 1e-7
    assert res.budget_used == pytest.approx(info.expected_distortion(p, res.attack["channel"], d))
    assert res.optimality().holds(1e-4)
    # |x - xh| >= [x != xh]: the Hamming problem is a relaxation, the max-scaled one a restriction
    assert res.mi >= mi_cvx.discrete_channel(p, 0.3).solve("CLARABEL").mi - 1e-6
    assert res.mi <= mi_cvx.discrete_channel(p, 0.1).solve("CLARABEL").mi + 1e-6
    with pytest.raises(InvalidInputError, match="formulation"):
        mi_cvx.discrete_channel(p, 0.3, distortion=d, formulation="transport")


def test_sixteen_letters_solve():
    rng = np.random.default_rng(16)
    p = random_pmf(rng, (16, 16))
    full = mi_cvx.discrete_channel(p, 0.2).solve("CLARABEL")
    compact = mi_cvx.discrete_channel(p, 0.2, formulation="transport").solve("CLARABEL")
    assert full.ok and compact.ok
    assert_close_to_oracle(full.mi, compact.mi, "CLARABEL")


# ------------------------------------------------------ label-blind, custom


def test_label_blind_attacker_is_never_better():
    rng = np.random.default_rng(9)
    for shape in [(2, 2), (3, 2), (3, 4)]:
        p = random_pmf(rng, shape)
        aware = mi_cvx.discrete_channel(p, 0.0)
        blind = mi_cvx.discrete_channel(p, 0.0, knows="x")
        for budget in (0.0, 0.05, 0.2):
            aware.parameters["budget"].value = budget
            blind.parameters["budget"].value = budget
            a, b = aware.solve("CLARABEL"), blind.solve("CLARABEL", **CLARABEL_TIGHT)
            assert b.mi >= a.mi - 1e-7
            ch = b.attack["channel"]
            np.testing.assert_allclose(ch, ch[:, :1, :].repeat(shape[1], axis=1), atol=1e-12)  # blind to y
            assert b.optimality().holds(1e-4)
    # a label that is a function of X: knowing Y adds nothing
    p = np.array([[0.3, 0.0], [0.0, 0.2], [0.5, 0.0]])
    a = mi_cvx.discrete_channel(p, 0.1).solve("CLARABEL")
    b = mi_cvx.discrete_channel(p, 0.1, knows="x").solve("CLARABEL")
    assert_close_to_oracle(b.mi, a.mi, "CLARABEL")
    # and where it matters the gap is real
    p = np.array([[0.3, 0.1], [0.15, 0.45]])
    a = mi_cvx.binary_channel(p, 0.1).solve("CLARABEL")
    b = mi_cvx.binary_channel(p, 0.1, knows="x").solve("CLARABEL")
    assert b.mi > a.mi + 0.01
    assert mi_cvx.binary_channel(p, 0.1, knows="x").oracle() is None
    with pytest.raises(InvalidInputError, match="formulation"):
        mi_cvx.binary_channel(p, 0.1, knows="x", formulation="transport")


def capped_binary_value(p, budget, cap):
    """The binary optimum when class 0 may use at most ``cap`` flips (a_0 < a_1, D < D0).

    On the budget line of MATH.md section 4, ``phi(s)`` is convex in the flips ``s``
    spent on class 0; the cap restricts ``s <= cap``, so a binding cap puts ``s = cap``.
    """
    p_y = p.sum(axis=0)
    a = p[1] / p_y
    t0 = a[0] + cap / p_y[0]
    t1 = a[1] - (budget - cap) / p_y[1]
    tbar = p_y @ [t0, t1]

    def kl(t, m):
        return t * math.log(t / m) + (1 - t) * math.log((1 - t) / (1 - m))

    return p_y[0] * kl(t0, tbar) + p_y[1] * kl(t1, tbar)


@pytest.mark.parametrize("formulation", ["channel", "transport"])
def test_cap_on_one_class_binds_as_expected(formulation):
    p = np.array([[0.3, 0.1], [0.15, 0.45]])  # a_0 = 1/3 < a_1 = 9/11
    budget = 0.1
    ap = mi_cvx.binary_channel(p, budget, formulation=formulation)
    free = ap.solve("CLARABEL")
    spent0 = oracles.binary_oracle(p, budget).flip_prob[:, 0] @ p[:, 0]  # flips the optimum spends on class 0
    assert spent0 > 0.05
    cap = 0.5 * spent0
    capped_ap = ap.with_constraints(lambda v: [v["class_cost"][0] <= cap])
    assert capped_ap.oracle() is None and capped_ap.custom
    capped = capped_ap.solve("CLARABEL")
    assert capped.ok, capped.message
    class0 = float(np.einsum("x,xz,xz->", p[:, 0], capped.attack["channel"][:, 0, :], 1 - np.eye(2)))
    assert class0 <= cap + 1e-7  # the result respects the cap
    assert capped.mi > free.mi + 1e-3  # it binds
    assert_close_to_oracle(capped.mi, capped_binary_value(p, budget, cap), "CLARABEL")
    with pytest.raises(NotImplementedError):
        capped.optimality()
    # a cap above what the optimum spends changes nothing
    loose = ap.with_constraints(lambda v: [v["class_cost"][0] <= 2 * spent0]).solve("CLARABEL")
    assert_close_to_oracle(loose.mi, free.mi, "CLARABEL")


def test_joint_variable_views():
    p = np.array([[0.3, 0.1], [0.15, 0.45]])
    ap = mi_cvx.binary_channel(p, 0.1)
    v = ap.variables
    assert v["joint"].shape == (2, 2, 2) and v["joint_flat"].shape == (4, 2)
    assert v["flips"].shape == (2, 2) and v["class_cost"].shape == (2,) and v["output_joint"].shape == (2, 2)
    # a cap written on the 3-D joint: no more than 0.01 of (X=0, Y=0) mass may become 1
    with pytest.warns(UserWarning, match="dimension greater than 2"):  # documented: the 3-D view's cost
        res = ap.with_constraints([v["joint"][0, 0, 1] <= 0.01]).solve("CLARABEL")
    assert res.attack["joint"][0, 0, 1] <= 0.01 + 1e-8
    assert res.attack["flip_prob"][0, 0] * p[0, 0] == pytest.approx(res.attack["joint"][0, 0, 1])
    free = ap.solve("CLARABEL")
    assert free.attack["joint"][0, 0, 1] > 0.05 and res.mi > free.mi + 1e-3


# --------------------------------------------------------- Theorem 3.3


@pytest.mark.parametrize("formulation", ["channel", "transport"])
def test_theorem_3_3_holds_at_the_optimum_and_fails_off_it(formulation):
    rng = np.random.default_rng(33)
    for _ in range(4):
        p = random_pmf(rng, (2, 2))
        budget = rng.uniform(0.2, 0.8) * oracles.binary_zero_threshold(p)
        res = mi_cvx.binary_channel(p, budget, formulation=formulation).solve("CLARABEL", **CLARABEL_TIGHT)
        opt = res.optimality()
        assert opt.holds(1e-4), opt
        assert opt.dual == res.dual_budget
        # Theorem 3.3: the log-ratio equals lambda on cells with 0 < q < 1
        q = res.attack["flip_prob"]
        interior = (q > 1e-3) & (q < 1 - 1e-3) & (p > 0)
        assert np.any(interior)
        np.testing.assert_allclose(opt.log_ratio[interior], res.dual_budget, rtol=1e-3, atol=1e-4)
        assert np.all(opt.log_ratio[(q < 1e-7) & (p > 0)] <= res.dual_budget + 1e-3)
        # a perturbed channel with the same budget use is not optimal, and the residuals say so
        ch = res.attack["channel"]
        other = np.ones_like(ch) / 2
        moved = 0.7 * ch + 0.3 * other
        worse = optimality_residuals(p, moved, res.dual_budget, budget=budget)
        assert worse.max_residual > 1e-3
        assert not worse.holds(1e-4)
        # and the residual bound is an honest bound on the gap for the optimum
        assert res.mi_check - oracles.binary_oracle(p, budget).mi <= opt.suboptimality_bound + 1e-8


def test_optimality_conditions_for_general_alphabets():
    rng = np.random.default_rng(44)
    d = np.abs(np.subtract.outer(np.arange(4), np.arange(4))).astype(float)
    for kwargs in ({}, {"knows": "x"}, {"distortion": d}, {"output_size": 5}):
        p = random_pmf(rng, (4, 3))
        res = mi_cvx.discrete_channel(p, 0.25, **kwargs).solve("CLARABEL", **CLARABEL_TIGHT)
        opt = res.optimality()
        assert opt.holds(1e-4), (kwargs, opt.max_residual)
        assert opt.cells.shape == ((4,) if kwargs.get("knows") == "x" else (4, 3))
        # perturb towards a random channel of the same shape
        noise = rng.dirichlet(np.ones(res.attack["channel"].shape[2]), size=(4, 3))
        if kwargs.get("knows") == "x":
            noise = noise[:, :1, :].repeat(3, axis=1)
        moved = 0.75 * res.attack["channel"] + 0.25 * noise
        worse = optimality_residuals(p, moved, res.dual_budget, kwargs.get("distortion"),
                                     knows=kwargs.get("knows", "x_and_y"))
        assert worse.max_residual > 1e-3, kwargs


def test_optimality_residuals_rejects_bad_input():
    p = np.array([[0.3, 0.1], [0.15, 0.45]])
    good = np.stack([np.eye(2)] * 2, axis=1)  # identity channel, shape (2, 2, 2)
    assert optimality_residuals(p, good, 0.0).cells.shape == (2, 2)
    with pytest.raises(InvalidInputError, match="channel"):
        optimality_residuals(p, good[:, :1], 0.0)
    with pytest.raises(InvalidInputError, match="channel"):
        optimality_residuals(p, 2 * good, 0.0)
    with pytest.raises(InvalidInputError, match="lam"):
        optimality_residuals(p, good, np.nan)
    with pytest.raises(InvalidInputError, match="p_xy"):
        optimality_residuals(-p, good, 0.0)


# ------------------------------------------------------------ parameters


@pytest.mark.parametrize("formulation", ["channel", "transport"])
def test_new_budget_and_distribution_reuse_the_compiled_problem(formulation):
    rng = np.random.default_rng(12)
    p = random_pmf(rng, (3, 3))
    ap = mi_cvx.discrete_channel(p, 0.1, formulation=formulation)
    assert ap.problem.is_dpp()
    ap.solve("CLARABEL")
    compiled = cached_program(ap)
    ap.parameters["budget"].value = 0.25
    res_b = ap.solve("CLARABEL")
    assert cached_program(ap) is compiled
    q = random_pmf(rng, (3, 3), zeros=2)
    ap.parameters["p_xy"].value = q
    res_q = ap.solve("CLARABEL")
    assert cached_program(ap) is compiled
    fresh_b = mi_cvx.discrete_channel(p, 0.25, formulation=formulation).solve("CLARABEL")
    fresh_q = mi_cvx.discrete_channel(q, 0.25, formulation=formulation).solve("CLARABEL")
    assert_close_to_oracle(res_b.mi, fresh_b.mi, "CLARABEL")
    assert_close_to_oracle(res_q.mi, fresh_q.mi, "CLARABEL")
    assert res_q.parameters["p_xy"] == q.tolist()


def test_huge_problems_skip_the_dpp_compilation(monkeypatch):
    p = random_pmf(np.random.default_rng(6), (3, 3))
    small = mi_cvx.discrete_channel(p, 0.2)
    assert small.solve_options == {} and 0 < small.spec["dpp_compile_bytes"] < mi_cvx.discrete.DPP_MEMORY_LIMIT
    # the estimate 16 (n + 1)(p + 1): 27 + 3 variables, 3 epigraphs, 9 + 1 parameter entries
    assert small.spec["dpp_compile_bytes"] == 16 * (27 + 3 + 9 + 1) * (9 + 1 + 1)
    monkeypatch.setattr(mi_cvx.discrete, "DPP_MEMORY_LIMIT", 0)
    big = mi_cvx.discrete_channel(p, 0.2)
    assert big.solve_options == {"ignore_dpp": True}
    assert big.with_constraints([]).solve_options == {"ignore_dpp": True}
    res = big.solve("CLARABEL")
    assert cached_program(big) is None  # compiled without the parametrised program
    assert_close_to_oracle(res.mi, small.solve("CLARABEL").mi, "CLARABEL")
    big.parameters["budget"].value = 0.3
    small.parameters["budget"].value = 0.3
    assert_close_to_oracle(big.solve("CLARABEL").mi, small.solve("CLARABEL").mi, "CLARABEL")


def test_binary_parameters_and_oracle_follow_new_values():
    ap = mi_cvx.binary_channel([[0.5, 0.0], [0.0, 0.5]], 0.1)
    assert ap.oracle() == pytest.approx(math.log(2) - info.binary_entropy(0.1))
    p = np.array([[0.3, 0.1], [0.15, 0.45]])
    ap.parameters["p_xy"].value = p
    ap.parameters["budget"].value = 0.05
    assert ap.oracle() == oracles.binary_oracle(p, 0.05).mi
    assert_close_to_oracle(ap.solve("CLARABEL").mi, ap.oracle(), "CLARABEL")


def test_new_parameter_values_are_validated_at_solve():
    ap = mi_cvx.binary_channel([[0.5, 0.0], [0.0, 0.5]], 0.1)
    ap.parameters["p_xy"].value = np.array([[0.5, 0.1], [0.1, 0.5]])  # sums to 1.2
    with pytest.raises(InvalidInputError, match="p_xy"):
        ap.solve()
    ap.parameters["p_xy"].value = np.array([[0.5, 0.0], [0.0, 0.5]])
    assert ap.solve().ok
    ap = mi_cvx.discrete_channel(np.full((3, 2), 1 / 6), 0.6, output_size=2)
    ap.parameters["budget"].value = 0.1  # letter 2 has no output: it costs at least 1/3
    with pytest.raises(InvalidInputError, match="budget"):
        ap.solve()


def test_solvers_without_the_exponential_cone_are_refused():
    ap = mi_cvx.binary_channel([[0.3, 0.1], [0.15, 0.45]], 0.1)
    assert "EXP" in ap.cones
    if "CVXOPT" in cp.installed_solvers():
        with pytest.raises(UnsupportedSolverError):
            ap.solve("CVXOPT")


def test_scs_with_tight_tolerances_reaches_interior_point_accuracy():
    if "SCS" not in EXP_SOLVERS:
        pytest.skip("SCS not installed")
    p = np.array([[0.3, 0.1], [0.15, 0.45]])
    res = mi_cvx.binary_channel(p, 0.1).solve("SCS", **SCS_TIGHT)
    assert mi_cvx.relative_error(res.mi, oracles.binary_oracle(p, 0.1).mi) <= 1e-5


def test_result_serialises_and_reports():
    p = np.array([[0.3, 0.1], [0.15, 0.45]])
    res = mi_cvx.binary_channel(p, 0.1).solve("CLARABEL")
    out = res.to_dict()
    assert out["family"] == "binary_channel" and len(out["attack"]["flip_prob"]) == 2
    assert res.oracle_error <= value_tol("CLARABEL")
    assert "binary channel" in repr(mi_cvx.binary_channel(p, 0.1))


def test_solver_failure_is_flagged_not_silent():
    # An infeasible custom constraint: the solver says so and the error names it.
    p = np.array([[0.3, 0.1], [0.15, 0.45]])
    ap = mi_cvx.binary_channel(p, 0.1).with_constraints(lambda v: [v["cost"] >= 0.2])
    with pytest.raises(SolverError):
        ap.solve("CLARABEL")
    res = ap.solve("CLARABEL", raise_on_failure=False)
    assert not res.ok and res.message


# ------------------------------------------------------------- bad input


@pytest.mark.parametrize("factory", ["binary", "discrete"])
@pytest.mark.parametrize("bad", [
    [[0.5, -0.1], [0.3, 0.3]],
    [[0.5, np.nan], [0.3, 0.2]],
    [[0.5, 0.1], [0.3, 0.2]],  # sums to 1.1
    [[0.5, 0.1], [0.3, 0.1 + 2e-9]],  # off by 2e-9
    [0.25, 0.25, 0.25, 0.25],  # 1-d
    [[[0.5, 0.5]]],  # 3-d
    "half",
])
def test_bad_joint_pmfs_are_rejected(factory, bad):
    build = mi_cvx.binary_channel if factory == "binary" else mi_cvx.discrete_channel
    with pytest.raises(InvalidInputError, match="p_xy"):
        build(bad, 0.1)


def test_binary_needs_two_by_two():
    with pytest.raises(InvalidInputError, match="p_xy"):
        mi_cvx.binary_channel(np.full((3, 2), 1 / 6), 0.1)
    with pytest.raises(InvalidInputError, match="p_xy"):
        mi_cvx.binary_channel(np.full((2, 3), 1 / 6), 0.1)


@pytest.mark.parametrize("bad", [-0.1, np.nan, np.inf, "some", [0.1, 0.2]])
def test_bad_budgets_are_rejected(bad):
    with pytest.raises(InvalidInputError, match="budget"):
        mi_cvx.binary_channel([[0.3, 0.1], [0.15, 0.45]], bad)
    with pytest.raises(InvalidInputError, match="budget"):
        mi_cvx.discrete_channel(np.full((3, 2), 1 / 6), bad)


def test_bad_distortions_and_sizes_are_rejected():
    p = np.full((3, 2), 1 / 6)
    cases = [
        (-hamming_distortion(3), "distortion"),  # negative
        (np.full((2, 3), 1.0), "distortion"),  # wrong number of rows
        (np.array([[0.0, np.nan, 1], [1, 0, 1], [1, 1, 0]]), "distortion"),
        (np.ones(3), "distortion"),  # 1-d
        (np.ones((3, 0)), "distortion"),  # no outputs
    ]
    for d, match in cases:
        with pytest.raises(InvalidInputError, match=match):
            mi_cvx.discrete_channel(p, 0.5, distortion=d)
    with pytest.raises(InvalidInputError, match="distortion"):
        mi_cvx.discrete_channel(p, 0.5, distortion=hamming_distortion(3, 4), output_size=3)
    for bad in (0, -2, 2.5, "3"):
        with pytest.raises(InvalidInputError, match="output_size"):
            mi_cvx.discrete_channel(p, 0.5, output_size=bad)
    with pytest.raises(InvalidInputError, match="knows"):
        mi_cvx.discrete_channel(p, 0.5, knows="y")
    with pytest.raises(InvalidInputError, match="formulation"):
        mi_cvx.discrete_channel(p, 0.5, formulation="dual")
    with pytest.raises(InvalidInputError, match="budget"):
        mi_cvx.discrete_channel(p, 0.1, output_size=2)  # letter 2 must move: cost >= 1/3
