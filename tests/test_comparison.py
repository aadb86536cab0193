"""The case registry and the solver-comparison table.

Every registry case runs through every installed solver that has the cones it
needs, against the case's independent oracle, with the per-solver tolerance
table ``mi_cvx.solvers.TOLERANCES`` (relative error ``|v - v*| / (1 + |v*|)``),
in the manner of CVXPY's own solver tests.
"""

from __future__ import annotations

import io
import itertools
import json
import math

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize

import mi_cvx
from mi_cvx import solvers
from mi_cvx.cases import SCS_TIGHT, get_case
from mi_cvx.comparison import COLUMNS, TIGHT_TOLERANCE
from mi_cvx.errors import InvalidInputError, UnsupportedSolverError

from .test_trust import scalar_truth  # Theorem 3.1 recomputed from the statement, not from mi_cvx

INSTALLED = solvers.installed_solvers()
CASES = mi_cvx.cases()
CASE_CONES = {case.name: case.build().cones for case in CASES}


def _matrix():
    for case in CASES:
        for solver in INSTALLED:
            if solvers.missing_cones(solver, CASE_CONES[case.name]):
                continue
            yield pytest.param(case, solver, id=f"{case.name}-{solver}")


# ----------------------------------------------------------------- registry


def test_registry_spans_every_family_with_unique_names():
    names = [c.name for c in CASES]
    assert len(names) == len(set(names))
    groups = {c.group for c in CASES}
    assert groups == {"gaussian", "sparse", "subset", "discrete"}
    families = {c.family for c in CASES}
    assert families == set(mi_cvx.families())  # every registered family has cases
    formulations = {c.parameters.get("formulation") for c in CASES}
    assert {"compact", "transport"} <= formulations
    for case in CASES:
        assert math.isfinite(case.oracle) and case.oracle >= 0, case.name
        assert case.reference
        problem = case.build()
        assert isinstance(problem, mi_cvx.AttackProblem)
        assert problem.family == case.family
        json.dumps(case.to_dict())


def test_registry_covers_the_special_cases():
    by_name = {c.name: c for c in CASES}
    assert by_name["gaussian_scalar_budget_exceeds"].oracle == 0.0
    noiseless = by_name["gaussian_scalar_noiseless"]
    assert noiseless.oracle == pytest.approx(0.5 * math.log(noiseless.parameters["signal_var"]
                                                            / noiseless.parameters["budget"]), rel=1e-12)
    assert by_name["gaussian_vector_compact"].build().spec["formulation"] == "compact"
    assert by_name["gaussian_sparse_one_row"].parameters["budget"] is None


# ----------------------------------------------------- independent references
# Written from docs/theory.md without mi_cvx.oracles or mi_cvx.info: closed forms typed in from the
# formulas, enumeration, or a scipy minimisation of the information over the attack itself.


def _cov(value, n: int) -> np.ndarray:
    value = np.asarray(value, dtype=float)
    return value * np.eye(n) if value.ndim == 0 else value


def _min_over_allocation(value, powers: np.ndarray, budget: float) -> float:
    """min value(D) over 0 < D_i <= powers_i, sum D_i <= budget, by SLSQP from two starts."""
    best = math.inf
    for x0 in (np.full(powers.size, budget / powers.size), budget * powers / powers.sum()):
        res = minimize(value, np.clip(x0, 1e-9 * powers, powers), method="SLSQP",
                       bounds=[(1e-12 * p, p) for p in powers],
                       constraints=[{"type": "ineq", "fun": lambda d: budget - d.sum()}],
                       options={"ftol": 1e-15, "maxiter": 2000})
        d = np.clip(res.x, 1e-12 * powers, powers)
        if d.sum() > budget:  # SLSQP's tolerance: scale back into the budget so the point is feasible
            d *= budget / d.sum()
        best = min(best, float(value(d)))
    return best


def ref_gaussian_vector(A, budget, signal_cov=1.0, noise_cov=0.0) -> float:
    """X = A Y + N with isotropic noise: independent channels of powers eig(A signal_cov A^T), each with the
    scalar Theorem 3.1 (noiseless: 0.5 log(lambda_i / D_i)), the budget split by a scipy minimisation."""
    A = np.atleast_2d(np.asarray(A, dtype=float))
    m, n = A.shape
    R = A @ _cov(signal_cov, n) @ A.T
    r = np.linalg.eigvalsh(0.5 * (R + R.T))
    r = r[r > r.max() * 1e-12]
    noise = _cov(noise_cov, m)
    sn2 = float(noise[0, 0])
    assert np.array_equal(noise, sn2 * np.eye(m)), "the reference covers isotropic noise only"
    if budget >= r.sum():
        return 0.0
    if sn2 == 0.0:
        return _min_over_allocation(lambda d: float(np.sum(0.5 * np.log(r / d))), r, budget)
    return _min_over_allocation(lambda d: sum(scalar_truth(ri, sn2, di) for ri, di in zip(r, d, strict=True)),
                                r, budget)


def _information_left(A, signal_cov, noise_cov, clean) -> float:
    """I(Y; X_c) = 0.5 logdet(A_c S A_c^T + N_cc) - 0.5 logdet(N_cc) of the clean rows."""
    if not clean:
        return 0.0
    A = np.asarray(A, dtype=float)
    m, n = A.shape
    Ac, N = A[clean], _cov(noise_cov, m)[np.ix_(clean, clean)]
    return 0.5 * (np.linalg.slogdet(Ac @ _cov(signal_cov, n) @ Ac.T + N)[1] - np.linalg.slogdet(N)[1])


def _mi_of_joint(q: np.ndarray) -> float:
    outer = q.sum(axis=1, keepdims=True) * q.sum(axis=0, keepdims=True)
    nz = q > 0
    return float(np.sum(q[nz] * np.log(q[nz] / outer[nz])))


def ref_discrete(p_xy, budget, starts: int = 6) -> float:
    """min I(Y; Xhat) over every channel W[x, y, xhat] with Hamming cost <= budget (for a binary p_xy: over
    the flip probabilities), by multi-start SLSQP; each point is made feasible before it counts."""
    p = np.asarray(p_xy, dtype=float)
    k = p.shape[0]
    cells = list(zip(*np.nonzero(p > 0), strict=True))
    cost, eye = 1.0 - np.eye(k), np.eye(k)

    def channel(w):
        W = np.zeros((*p.shape, k))
        for i, (x, y) in enumerate(cells):
            W[x, y] = w[i * k:(i + 1) * k]
        return W

    def spent(W):
        return float(np.einsum("xy,xyz,xz->", p, W, cost))

    def info(w):
        return _mi_of_joint(np.einsum("xy,xyz->yz", p, channel(np.clip(w, 0, 1))))

    constraints = [{"type": "ineq", "fun": lambda w: budget - spent(channel(w))}]
    constraints += [{"type": "eq", "fun": lambda w, i=i: w[i * k:(i + 1) * k].sum() - 1.0} for i in range(len(cells))]
    identity = np.concatenate([eye[x] for x, _ in cells])
    rng = np.random.default_rng(0)
    best = math.inf
    for start in range(starts):
        t = 0.0 if start == 0 else rng.uniform()
        w0 = (1 - t) * identity + t * rng.dirichlet(np.ones(k), size=len(cells)).ravel()
        res = minimize(info, w0, method="SLSQP", bounds=[(0, 1)] * w0.size, constraints=constraints,
                       options={"ftol": 1e-15, "maxiter": 2000})
        W = channel(np.clip(res.x, 0, 1))
        for x, y in cells:
            W[x, y] /= W[x, y].sum()
        if spent(W) > budget:  # mix with the identity (cost 0) until the point is feasible
            lam = budget / spent(W)
            for x, y in cells:
                W[x, y] = lam * W[x, y] + (1 - lam) * eye[x]
        best = min(best, _mi_of_joint(np.einsum("xy,xyz->yz", p, W)))
    return best


def independent_reference(case) -> tuple[float, float]:
    """``(value, relative tolerance)`` of the case's optimum, recomputed here from its parameters alone."""
    par = dict(case.parameters)
    if par.get("knows", "x_and_y") != "x_and_y" or par.get("distortion") is not None:
        raise AssertionError(f"{case.name}: no independent reference for this attacker; add one here")
    if {"signal_var", "noise_var", "budget"} <= set(par):  # the scalar Gaussian
        return scalar_truth(par["signal_var"], par["noise_var"], par["budget"]), 1e-12
    if "p_xy" in par:  # binary and finite alphabets, Hamming distortion
        return ref_discrete(par["p_xy"], par["budget"]), 1e-7
    if "k" in par:  # the best k rows to attack (Theorem 4.1), by enumeration
        m = np.shape(par["A"])[0]
        value = min(_information_left(par["A"], par["signal_cov"], par["noise_cov"],
                                      [i for i in range(m) if i not in s])
                    for s in itertools.combinations(range(m), par["k"]))
        return value, 1e-12
    if "support" in par and par.get("budget") is None:  # attacked rows erased: what the other rows leave
        m = np.shape(par["A"])[0]
        clean = [i for i in range(m) if i not in set(np.atleast_1d(par["support"]).tolist())]
        return _information_left(par["A"], par["signal_cov"], par["noise_cov"], clean), 1e-12
    if "A" in par and "support" not in par:  # X = A Y + N, isotropic noise
        return ref_gaussian_vector(par["A"], par["budget"], par["signal_cov"], par["noise_cov"]), 1e-7
    raise AssertionError(f"{case.name}: no independent reference for family {case.family!r} with these "
                         f"parameters; add one to tests/test_comparison.py")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_case_oracle_against_an_independent_reference(case):
    """The registry's oracle and the factory's own closed form, each against the optimum recomputed in this file."""
    reference, rel = independent_reference(case)
    assert case.oracle == pytest.approx(reference, rel=rel, abs=1e-10), case.reference
    own = case.build().oracle()
    assert own is not None, f"{case.name}: the factory has no closed form"
    assert own == pytest.approx(reference, rel=rel, abs=1e-10)


def test_cases_filter_by_family_and_group():
    scalar = mi_cvx.cases("gaussian_scalar")
    assert scalar and all(c.family == "gaussian_scalar" for c in scalar)
    assert {c.name for c in mi_cvx.cases("gaussian")} >= {c.name for c in scalar}
    assert all(c.group == "subset" for c in mi_cvx.cases("subset"))
    assert get_case(scalar[0].name).name == scalar[0].name
    with pytest.raises(InvalidInputError, match="family"):
        mi_cvx.cases("no_such_family")
    with pytest.raises(InvalidInputError, match="family"):
        mi_cvx.cases(3)
    with pytest.raises(InvalidInputError, match="name"):
        get_case("no_such_case")


def test_rate_distortion_case_against_the_textbook_formula():
    """The registry's rate-distortion oracle agrees with R(D) = H(p) - H_b(D) - D log(k - 1), D <= (k-1) min p."""
    for name in ("discrete_hamming_rate_distortion", "discrete_hamming_transport"):
        case = get_case(name)
        p = np.diag(case.parameters["p_xy"])
        d = case.parameters["budget"]
        assert d <= (p.size - 1) * p.min()
        textbook = mi_cvx.info.entropy(p) - mi_cvx.info.binary_entropy(d) - d * math.log(p.size - 1)
        assert case.oracle == pytest.approx(textbook, rel=1e-12)


def test_binary_cases_against_theorem_3_3_threshold():
    flip, zero = get_case("binary_channel_flip"), get_case("binary_channel_zero_information")
    d0 = mi_cvx.oracles.binary_zero_threshold(flip.parameters["p_xy"])
    assert flip.parameters["budget"] < d0 <= zero.parameters["budget"]
    assert flip.oracle > 0 and zero.oracle == 0.0


# ------------------------------------------------------- case x solver matrix


@pytest.mark.parametrize(("case", "solver"), list(_matrix()))
def test_case_against_oracle(case, solver):
    result = case.build().solve(solver, raise_on_failure=False, **case.options_for(solver))
    assert result.ok, f"{case.name} with {solver}: {result.message}"
    err = mi_cvx.relative_error(result.mi, case.oracle)
    assert err <= solvers.tolerance(solver), (
        f"{case.name} with {solver}: {result.mi!r} vs oracle {case.oracle!r}, relative error {err:.3g}")


@pytest.mark.skipif("SCS" not in INSTALLED, reason="SCS not installed")
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_scs_with_tightened_eps_reaches_the_tight_tolerance(case):
    """SCS is approximate at its default eps (tolerance 5e-2); with eps 1e-9 it matches the IPMs."""
    result = case.build().solve("SCS", raise_on_failure=False, **SCS_TIGHT)
    assert result.ok, result.message
    assert mi_cvx.relative_error(result.mi, case.oracle) <= TIGHT_TOLERANCE


# ------------------------------------------------------ the comparison table


def _one_case_per_group():
    seen = {}
    for case in CASES:
        seen.setdefault(case.group, case)
    return list(seen.values())


@pytest.mark.parametrize("case", _one_case_per_group(), ids=lambda c: c.group)
def test_table_for_each_family(case):
    df = mi_cvx.compare_solvers(case)
    assert isinstance(df, pd.DataFrame)
    assert list(df.columns) == list(COLUMNS)
    assert list(df["solver"]) == INSTALLED  # every installed backend, in preference order
    cones = CASE_CONES[case.name]
    for row in df.itertuples():
        missing = solvers.missing_cones(row.solver, cones)
        if missing:
            assert row.status == "unsupported" and not row.ok
            for cone in missing:
                assert solvers.CONE_NAMES[cone] in row.error
            continue
        assert row.ok, f"{row.solver}: {row.error}"
        assert row.error == ""
        assert row.oracle == pytest.approx(case.oracle)
        assert row.rel_error <= solvers.tolerance(row.solver)
        assert row.oracle_gap == pytest.approx(row.mi - case.oracle)
        assert math.isfinite(row.residual) and math.isfinite(row.mi_check)
        assert math.isfinite(row.solve_time) and math.isfinite(row.setup_time)
        if row.solver == "SCS":
            assert "approximate" in row.note
    assert df.attrs["case"] == case.name and df.attrs["family"] == case.family


@pytest.mark.skipif(not {"ECOS", "CVXOPT"} & set(INSTALLED), reason="neither ECOS nor CVXOPT installed")
def test_discrete_table_includes_ecos_and_flags_cvxopt():
    """The relative-entropy problems need only the exponential cone: ECOS solves them, CVXOPT cannot."""
    df = mi_cvx.compare_solvers(get_case("binary_channel_flip")).set_index("solver")
    if "ECOS" in INSTALLED:
        assert df.loc["ECOS", "ok"] and df.loc["ECOS", "rel_error"] <= solvers.tolerance("ECOS")
    if "CVXOPT" in INSTALLED:
        assert df.loc["CVXOPT", "status"] == "unsupported" and "exponential" in df.loc["CVXOPT", "error"]


def test_missing_cones_give_rows_not_exceptions():
    problem = mi_cvx.gaussian_scalar(1.0, 0.5, 0.3)
    asked = [s for s in ("ECOS", "CVXOPT") if s in INSTALLED]
    df = mi_cvx.compare_solvers(problem, asked).set_index("solver")
    if "ECOS" in asked:
        assert df.loc["ECOS", "status"] == "unsupported"
        assert "semidefinite" in df.loc["ECOS", "error"]
    if "CVXOPT" in asked:
        assert df.loc["CVXOPT", "status"] == "unsupported"
        assert "exponential" in df.loc["CVXOPT", "error"]
    assert not df["ok"].any()


def test_not_installed_solver_gets_a_row():
    absent = [s for s in solvers.KNOWN_SOLVERS if s not in cp.installed_solvers()]
    if not absent:
        pytest.skip("every known backend is installed")
    df = mi_cvx.compare_solvers(mi_cvx.gaussian_scalar(1.0, 0.5, 0.3), ["CLARABEL", absent[0]])
    row = df.set_index("solver").loc[absent[0]]
    assert row["status"] == "not_installed" and not row["ok"] and "not installed" in row["error"]
    assert df.set_index("solver").loc["CLARABEL", "ok"]


def test_forced_failures_are_flagged_rows():
    problem = mi_cvx.gaussian_scalar(1.0, 0.5, 0.3)
    df = mi_cvx.compare_solvers(problem, ["CLARABEL", "SCS"],
                                solver_options={"CLARABEL": {"max_iter": 1}, "scs": {"max_iters": 2}})
    assert len(df) == 2
    for row in df.itertuples():
        assert not row.ok
        assert row.error
    clarabel, scs = df.iloc[0], df.iloc[1]
    assert clarabel["status"] != cp.OPTIMAL and math.isnan(clarabel["mi"])  # stopped without a point
    assert "max_iter=1" in clarabel["note"]
    # SCS returns a point after two iterations: shown, but flagged (status and accuracy)
    assert scs["status"] == cp.OPTIMAL_INACCURATE and math.isfinite(scs["mi"])
    assert "optimal_inaccurate" in scs["error"] and "approximate" in scs["note"]


def test_solver_exceptions_become_rows(monkeypatch):
    problem = mi_cvx.gaussian_scalar(1.0, 0.5, 0.3)

    def boom(self, *args, **kwargs):
        raise cp.error.SolverError("solver crashed for the test")

    monkeypatch.setattr(cp.Problem, "solve", boom)
    df = mi_cvx.compare_solvers(problem, ["CLARABEL", "SCS"])
    assert list(df["status"]) == ["solver_error", "solver_error"]
    assert all("solver crashed for the test" in e for e in df["error"])
    assert not df["ok"].any()


def test_unexpected_exceptions_become_rows(monkeypatch):
    problem = mi_cvx.gaussian_scalar(1.0, 0.5, 0.3)

    def broken(self, *args, **kwargs):
        raise RuntimeError("unexpected")

    monkeypatch.setattr(mi_cvx.AttackProblem, "solve", broken)
    df = mi_cvx.compare_solvers(problem, ["CLARABEL"])
    assert df.loc[0, "status"] == "error" and "RuntimeError: unexpected" in df.loc[0, "error"]


def test_rejected_options_become_rows():
    df = mi_cvx.compare_solvers(mi_cvx.gaussian_scalar(1.0, 0.5, 0.3), ["CLARABEL", "SCS"],
                                solver_options={"CLARABEL": {"no_such_option": 1}})
    clarabel, scs = df.iloc[0], df.iloc[1]
    assert clarabel["status"] == "invalid_options" and "no_such_option" in clarabel["error"]
    assert scs["ok"]


def test_repeats_and_scs_options():
    case = get_case("gaussian_scalar_noisy")
    df = mi_cvx.compare_solvers(case, ["CLARABEL", "SCS"], repeats=3, solver_options={"SCS": SCS_TIGHT})
    assert df.attrs["repeats"] == 3
    for row in df.itertuples():
        assert row.ok, row.error
        assert "median of 3" in row.note
        assert row.iterations > 0  # cold re-solves (no warm start)
    scs = df.iloc[1]
    assert "eps_abs=1e-09" in scs["note"]
    assert scs["rel_error"] <= TIGHT_TOLERANCE


def test_no_oracle_and_explicit_oracle():
    problem = mi_cvx.gaussian_scalar(1.0, 0.5, 0.3, knows="x")  # no closed form for the label-blind attacker
    df = mi_cvx.compare_solvers(problem, ["CLARABEL", "SCS"])
    assert df["oracle"].isna().all() and df["rel_error"].isna().all()
    assert df["ok"].all()
    assert "no oracle" in df.iloc[1]["note"]
    # an explicit (wrong) oracle is checked: the rows are flagged
    df = mi_cvx.compare_solvers(problem, ["CLARABEL"], oracle=df.iloc[0]["mi"] + 0.1)
    assert not df.iloc[0]["ok"] and "against the oracle" in df.iloc[0]["error"]


def test_table_exports_to_json_and_csv():
    df = mi_cvx.compare_solvers(mi_cvx.gaussian_scalar(1.0, 0.5, 0.3))
    records = json.loads(df.to_json(orient="records"))
    assert [r["solver"] for r in records] == INSTALLED
    back = pd.read_csv(io.StringIO(df.to_csv(index=False)))
    assert list(back.columns) == list(COLUMNS)
    json.dumps(df.attrs)


def test_compare_leaves_the_users_problem_usable():
    problem = mi_cvx.gaussian_scalar(1.0, 0.5, 0.3)
    first = problem.solve("CLARABEL")
    mi_cvx.compare_solvers(problem, ["SCS", "CLARABEL"])
    again = problem.solve("CLARABEL")
    assert again.ok and again.mi == pytest.approx(first.mi, abs=solvers.tolerance("CLARABEL"))


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(("kwargs", "argument"), [
    ({"solvers": ["CLARABEL", "NOT_A_SOLVER"]}, "solvers"),
    ({"solvers": []}, "solvers"),
    ({"solvers": [3]}, "solvers"),
    ({"solvers": 3}, "solvers"),
    ({"repeats": 0}, "repeats"),
    ({"repeats": 1.5}, "repeats"),
    ({"solver_options": {"ECOS": {}}, "solvers": ["CLARABEL"]}, "solver_options"),
    ({"solver_options": {"CLARABEL": 1}, "solvers": ["CLARABEL"]}, "solver_options"),
    ({"solver_options": [1]}, "solver_options"),
    ({"oracle": float("nan")}, "oracle"),
])
def test_bad_input(kwargs, argument):
    with pytest.raises(InvalidInputError) as info:
        mi_cvx.compare_solvers(mi_cvx.gaussian_scalar(1.0, 0.5, 0.3), **kwargs)
    assert info.value.argument == argument


def test_bad_problem_and_missing_parameter():
    with pytest.raises(InvalidInputError, match="attack_problem"):
        mi_cvx.compare_solvers("gaussian_scalar_noisy")
    problem = mi_cvx.gaussian_scalar(1.0, 0.5, 0.3)
    problem.parameters["budget"].value = None
    with pytest.raises(InvalidInputError, match="budget"):
        mi_cvx.compare_solvers(problem)


def test_solver_names_are_case_insensitive_and_deduplicated():
    df = mi_cvx.compare_solvers(mi_cvx.gaussian_scalar(1.0, 0.5, 0.3), ["clarabel", "CLARABEL"])
    assert list(df["solver"]) == ["CLARABEL"]


def test_unsupported_solver_error_still_raised_by_solve():
    """The row mechanism relies on AttackProblem.solve refusing a solver without the cone."""
    if "ECOS" not in INSTALLED:
        pytest.skip("ECOS not installed")
    with pytest.raises(UnsupportedSolverError) as info:
        mi_cvx.gaussian_scalar(1.0, 0.5, 0.3).solve("ECOS")
    assert "PSD" in info.value.missing
    assert np.isfinite(get_case("gaussian_scalar_noisy").oracle)
