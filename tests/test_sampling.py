"""Sampling from solved attacks, their consequences and the baselines, checked on large seeded samples.

Every statistical comparison allows five standard errors of the quantity
compared (computed from the samples or, for the information, by the delta
method), plus the solver's tolerance where a solved value is involved.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math

import numpy as np
import pytest

import mi_cvx
from mi_cvx import baselines
from mi_cvx.errors import InvalidInputError
from mi_cvx.info import binary_entropy, entropy, gaussian_mi, mutual_information
from mi_cvx.sampling import Consequences, fano_bound

N = 200_000
KNOWS = ("x_and_y", "x", "nothing")
SOLVER_TOL = 1e-5  # the re-checked information and budgets of a solve agree to this

# Gaussian: X = A Y + N, n = 2, m = 3, correlated signal, anisotropic noise (the SDP, not a closed form)
A = np.array([[1.0, 0.5], [0.0, 1.0], [0.3, -0.2]])
SY = np.array([[1.0, 0.3], [0.3, 0.6]])
SN = np.diag([0.3, 0.2, 0.4])
BUDGET = 0.5

# Discrete: k = 3 letters, l = 2 labels, Hamming distortion
P_XY = np.array([[0.3, 0.05], [0.1, 0.2], [0.05, 0.3]])
D_BUDGET = 0.15
HAMMING = 1.0 - np.eye(3)


@functools.cache
def gaussian_result(knows: str) -> mi_cvx.AttackResult:
    return mi_cvx.gaussian_vector(A, BUDGET, SY, SN, knows=knows).solve()


@functools.cache
def discrete_result(knows: str) -> mi_cvx.AttackResult:
    return mi_cvx.discrete_channel(P_XY, D_BUDGET, knows=knows).solve()


@pytest.fixture(scope="module")
def gaussian_data():
    rng = np.random.default_rng(20261126)
    y = rng.multivariate_normal(np.zeros(2), SY, size=N)
    x = y @ A.T + rng.multivariate_normal(np.zeros(3), SN, size=N)
    return x, y


@pytest.fixture(scope="module")
def discrete_data():
    rng = np.random.default_rng(20261127)
    x, y = np.divmod(rng.choice(P_XY.size, size=N, p=P_XY.ravel()), P_XY.shape[1])
    return x, y


def se(values) -> float:
    """The standard error of the mean of ``values``."""
    return float(np.std(values) / math.sqrt(len(values)))


def yz_cov(result) -> np.ndarray:
    """The model's covariance of ``(Y, Z)``."""
    model = result.problem.spec["model"]
    to_y, to_z = model.joint_map()
    stacked = np.vstack([to_y, to_z])
    return stacked @ result.attack["joint_cov"] @ stacked.T


def gaussian_mi_se(cov: np.ndarray, n: int) -> float:
    """Delta-method standard error of the Gaussian information estimated from a sample covariance.

    ``I = -0.5 sum log(1 - rho_i^2)`` over the canonical correlations; each sample
    ``r_i`` has variance ``(1 - rho_i^2)^2 / N``, so ``Var(I_hat) = sum rho_i^2 / N``.
    """
    syy, syz, szz = cov[:n, :n], cov[:n, n:], cov[n:, n:]
    rho2 = np.linalg.eigvals(np.linalg.solve(syy, syz) @ np.linalg.pinv(szz) @ syz.T).real
    return math.sqrt(float(np.clip(rho2, 0.0, 1.0).sum()) / N)


def counts_joint(a, b, shape) -> np.ndarray:
    out = np.zeros(shape)
    np.add.at(out, (a, b), 1.0)
    return out / a.size


def discrete_mi_tol(joint: np.ndarray) -> float:
    """Five delta-method standard errors of the plug-in information, plus its bias ``(r - 1)(c - 1) / 2N``."""
    pa, pb = joint.sum(axis=1, keepdims=True), joint.sum(axis=0, keepdims=True)
    live = joint > 0
    dens = np.log(joint[live]) - np.log((pa * pb)[live])
    var = float(joint[live] @ dens**2 - (joint[live] @ dens) ** 2)
    return 5 * math.sqrt(var / N) + (joint.shape[0] - 1) * (joint.shape[1] - 1) / (2 * N)


# ------------------------------------------------------------------ Gaussian


@pytest.mark.parametrize("knows", KNOWS)
def test_gaussian_sample_power_joint_and_information(knows, gaussian_data):
    x, y = gaussian_data
    result = gaussian_result(knows)
    assert result.ok
    z = result.sample(x, y, rng=1)
    assert z.shape == x.shape
    power = np.sum((z - x) ** 2, axis=1)
    assert abs(power.mean() - result.budget_used) <= 5 * se(power) + SOLVER_TOL

    cov = yz_cov(result)
    emp = np.cov(np.hstack([y, z]).T)
    entry_se = np.sqrt((np.outer(np.diag(cov), np.diag(cov)) + cov**2) / N)
    assert np.all(np.abs(emp - cov) <= 5 * entry_se), np.abs(emp - cov) / entry_se

    n = y.shape[1]
    mi_emp = gaussian_mi(emp, np.arange(n), np.arange(n, emp.shape[0]))
    assert abs(mi_emp - result.mi) <= 5 * gaussian_mi_se(cov, n) + SOLVER_TOL

    if knows == "nothing":  # Delta independent of (Y, X)
        delta = z - x
        c = np.cov(np.hstack([x, y, delta]).T)[5:, :5]
        assert np.abs(c).max() <= 5 * math.sqrt(float(np.max(np.diag(SY)) * 2.0 * BUDGET) / N)


def test_gaussian_sample_reproducible_and_vector_shapes():
    result = mi_cvx.gaussian_scalar(1.0, 0.5, 0.3).solve()
    x, y = np.array([0.1, -1.0, 2.0]), np.array([0.0, -0.5, 1.5])
    z1, z2 = result.sample(x, y, rng=7), result.sample(x, y, rng=np.random.default_rng(7))
    assert z1.shape == (3,)
    np.testing.assert_array_equal(z1, z2)
    assert result.sample(x[:, None], y[:, None], rng=7).shape == (3, 1)


@pytest.mark.parametrize("knows", KNOWS)
def test_gaussian_consequences_against_retrained_regression(knows, gaussian_data):
    x, y = gaussian_data
    result = gaussian_result(knows)
    cons = result.consequences()
    assert isinstance(cons, Consequences) and cons.kind == "gaussian"
    z = result.sample(x, y, rng=2)
    for obs, mmse in ((z, cons.mmse_after), (x, cons.mmse_before)):
        design = np.hstack([obs, np.ones((N, 1))])
        coef, *_ = np.linalg.lstsq(design, y, rcond=None)
        sq = np.sum((y - design @ coef) ** 2, axis=1)
        assert abs(sq.mean() - mmse) <= 5 * se(sq), (sq.mean(), mmse)
    assert cons.mmse_after >= cons.mmse_before
    assert cons.mi_after == pytest.approx(result.mi, abs=SOLVER_TOL)
    assert np.trace(cons.error_cov_after) == pytest.approx(cons.mmse_after)
    assert np.allclose(cons.error_cov_after, result.attack["posterior_cov"], atol=1e-6)
    assert "gaussian" in repr(cons) and "MMSE" in repr(cons)
    out = json.loads(json.dumps(cons.to_dict()))
    assert out["mmse_after"] == pytest.approx(cons.mmse_after) and "bayes_error_after" not in out


@pytest.mark.parametrize("knows", KNOWS)
def test_gaussian_baselines_spend_the_budget_and_leave_more(knows, gaussian_data):
    x, y = gaussian_data
    result = gaussian_result(knows)
    found = [baselines.random_noise(result), baselines.blind(result)]
    if knows != "nothing":  # best_direction reads X: a blind attacker cannot use it
        found.append(baselines.best_direction(result))
    for base in found:
        assert base.budget_used == pytest.approx(BUDGET, rel=1e-4), base
        assert base.mi >= result.mi - SOLVER_TOL, base
        cons = base.consequences()
        assert cons.mi_after == pytest.approx(base.mi, abs=SOLVER_TOL)
    noise, blind = found[0], found[1]
    assert blind.result is not None and blind.result.parameters["budget"] == BUDGET
    assert blind.mi <= noise.mi + SOLVER_TOL  # the best blind attack beats isotropic noise
    if knows == "nothing":
        assert blind.mi == pytest.approx(result.mi, abs=1e-4)
    z = noise.sample(x, y, rng=3)
    power = np.sum((z - x) ** 2, axis=1)
    assert abs(power.mean() - BUDGET) <= 5 * se(power)
    emp = np.cov(np.hstack([y, z]).T)
    assert abs(gaussian_mi(emp, [0, 1], [2, 3, 4]) - noise.mi) <= 5 * gaussian_mi_se(emp, 2)
    assert "random_noise" in repr(noise) and json.dumps(noise.to_dict())


def test_best_direction_is_the_best_gain_along_its_direction():
    result = gaussian_result("x_and_y")
    base = baselines.best_direction(result)
    model = result.problem.spec["model"]
    lam, U = np.linalg.eigh(A @ SY @ A.T)
    u = U[:, -1]
    P, v = np.outer(u, u), float(u @ model.x_cov @ u)
    assert np.allclose(base.attack["W_cov"], base.attack["W_cov"][0, 0] / P[0, 0] * P)
    # every gain c with the rest of the budget as noise along u leaves at least as much information
    for c in np.linspace(0.0, min(1.0, math.sqrt(BUDGET / v)), 41):
        info = model.mi_of_gains(-c * P @ A, -c * P, (BUDGET - c * c * v) * P)
        assert info >= base.mi - 1e-12
    deterministic = model.mi_of_gains(-math.sqrt(BUDGET / v) * P @ A, -math.sqrt(BUDGET / v) * P, 0 * P)
    assert deterministic == pytest.approx(model.mi_of_gains(0 * A, 0 * P, 0 * P))  # invertible: I(Y; X) left


# ------------------------------------------------------------------ discrete


@pytest.mark.parametrize("knows", KNOWS)
def test_discrete_sample_joint_distortion_and_information(knows, discrete_data):
    x, y = discrete_data
    result = discrete_result(knows)
    assert result.ok
    xh = result.sample(x, y, rng=4)
    assert xh.shape == x.shape and xh.dtype.kind == "i"
    target = result.attack["output_joint"]
    emp = counts_joint(y, xh, target.shape)
    assert np.all(np.abs(emp - target) <= 5 * np.sqrt(target * (1 - target) / N) + SOLVER_TOL)
    cost = HAMMING[x, xh]
    assert abs(cost.mean() - result.budget_used) <= 5 * se(cost) + SOLVER_TOL
    assert abs(mutual_information(emp) - result.mi) <= discrete_mi_tol(target) + SOLVER_TOL
    if knows == "nothing":  # Xhat - X mod k has the noise pmf whatever y is
        w = np.asarray(result.attack["noise_pmf"])
        shift = (xh - x) % 3
        for label in (0, 1):
            got = np.bincount(shift[y == label], minlength=3) / np.sum(y == label)
            assert np.all(np.abs(got - w) <= 5 * np.sqrt(w * (1 - w) / np.sum(y == label)) + SOLVER_TOL)


@pytest.mark.parametrize("knows", KNOWS)
def test_discrete_consequences_against_map_classifier(knows, discrete_data):
    x, y = discrete_data
    result = discrete_result(knows)
    cons = result.consequences()
    assert cons.kind == "discrete"
    xh = result.sample(x, y, rng=5)
    for obs, bayes in ((xh, cons.bayes_error_after), (x, cons.bayes_error_before)):
        counts = counts_joint(obs, y, (3, 2))
        error = 1.0 - counts.max(axis=1).sum()  # MAP classifier fitted on the counts, in-sample error
        assert abs(error - bayes) <= 5 * math.sqrt(bayes * (1 - bayes) / N) + SOLVER_TOL, (error, bayes)
    assert cons.bayes_error_before == pytest.approx(1 - P_XY.max(axis=1).sum())
    assert cons.fano_bound <= cons.bayes_error_after + 1e-9
    left = entropy(P_XY.sum(axis=0)) - cons.mi_after
    assert binary_entropy(cons.fano_bound) == pytest.approx(left, abs=1e-9)  # |Y| = 2: h(Pe) = H(Y | Xhat)
    assert "Bayes error" in repr(cons) and json.loads(json.dumps(cons.to_dict()))["fano_bound"] == cons.fano_bound


def test_fano_bound():
    assert fano_bound(0.0, 3) == 0.0
    assert fano_bound(0.7, 1) == 0.0
    assert fano_bound(math.log(4), 4) == pytest.approx(0.75)
    pe = fano_bound(0.9, 4)
    assert binary_entropy(pe) + pe * math.log(3) == pytest.approx(0.9, abs=1e-12)
    assert fano_bound(0.5, 4) < pe < 0.75
    with pytest.raises(InvalidInputError, match="conditional_entropy"):
        fano_bound(float("nan"), 2)


@pytest.mark.parametrize("knows", KNOWS)
def test_discrete_baselines_spend_the_budget_and_leave_more(knows, discrete_data):
    x, y = discrete_data
    result = discrete_result(knows)
    noise, blind = baselines.random_noise(result), baselines.blind(result)
    for base in (noise, blind):
        assert base.budget_used == pytest.approx(D_BUDGET, rel=1e-4)
        assert base.mi >= result.mi - SOLVER_TOL
        assert base.consequences().bayes_error_after <= 1 - P_XY.sum(axis=0).max() + 1e-12
    assert blind.mi <= noise.mi + SOLVER_TOL
    xh = noise.sample(x, y, rng=6)
    cost = HAMMING[x, xh]
    assert abs(cost.mean() - D_BUDGET) <= 5 * se(cost)
    target = noise.attack["output_joint"]
    assert abs(mutual_information(counts_joint(y, xh, target.shape)) - noise.mi) <= discrete_mi_tol(target)


def test_binary_random_noise_is_symmetric_flips():
    p = np.array([[0.3, 0.1], [0.15, 0.45]])
    result = mi_cvx.binary_channel(p, 0.1).solve()
    noise = baselines.random_noise(result)
    assert np.allclose(noise.attack["noise_pmf"], [0.9, 0.1])
    assert "flips" in noise.description and noise.mi >= result.mi - SOLVER_TOL
    with pytest.raises(InvalidInputError, match="result"):
        baselines.best_direction(result)


# ------------------------------------------------------------------ data fits


def test_gaussian_sample_with_a_data_fit():
    data = pytest.importorskip("mi_cvx.data")
    rng = np.random.default_rng(11)
    y = rng.multivariate_normal([5.0, -2.0], SY, size=N)
    x = (y - [5.0, -2.0]) @ A.T + rng.multivariate_normal(np.zeros(3), SN, size=N) + [1.0, 2.0, 3.0]
    fit = data.fit_gaussian(y, x)
    result = fit.attack_problem(BUDGET).solve()
    z = result.sample(x, y, rng=12)
    delta = z - x
    assert np.all(np.abs(delta.mean(axis=0)) <= 5 * delta.std(axis=0) / math.sqrt(N))  # centred by the fit
    power = np.sum(delta**2, axis=1)
    assert abs(power.mean() - result.budget_used) <= 5 * se(power) + SOLVER_TOL
    cov = yz_cov(result)
    emp = np.cov(np.hstack([y, z]).T)
    assert abs(gaussian_mi(emp, [0, 1], [2, 3, 4]) - result.mi) <= 5 * gaussian_mi_se(cov, 2) + SOLVER_TOL


def test_discrete_sample_with_a_data_fit(discrete_data):
    data = pytest.importorskip("mi_cvx.data")
    x, y = discrete_data
    letters, classes = np.array(["a", "b", "c"]), np.array(["neg", "pos"])
    fit = data.fit_discrete(letters[x], classes[y])
    result = fit.attack_problem(D_BUDGET).solve()
    xh = result.sample(letters[x], classes[y], rng=13)
    assert set(np.unique(xh)) <= set(letters)
    codes = np.searchsorted(letters, xh)
    target = result.attack["output_joint"]
    emp = counts_joint(y, codes, target.shape)
    assert np.all(np.abs(emp - target) <= 5 * np.sqrt(target * (1 - target) / N) + SOLVER_TOL)
    with pytest.raises(InvalidInputError, match="^x:.*not seen"):
        result.sample(np.array(["a", "z"]), np.array(["neg", "pos"]))
    with pytest.raises(InvalidInputError, match="^y:"):
        result.sample(np.array(["a", "b"]), np.array(["neg", "maybe"]))


# ------------------------------------------------------------------ bad inputs


def test_bad_gaussian_inputs_name_the_argument():
    result = gaussian_result("x_and_y")
    x, y = np.zeros((4, 3)), np.zeros((4, 2))
    cases = [
        ((np.zeros((4, 2)), y, None), "x"),
        ((np.zeros(4), y, None), "x"),
        ((x, np.zeros((4, 3)), None), "y"),
        ((x, np.zeros((5, 2)), None), "y"),
        ((np.full((4, 3), np.nan), y, None), "x"),
        ((x, [["a", "b"]] * 4, None), "y"),
        ((np.zeros((0, 3)), np.zeros((0, 2)), None), "x"),
        ((x, y, "seed"), "rng"),
    ]
    for (xx, yy, rng), name in cases:
        with pytest.raises(InvalidInputError, match=f"^{name}:") as err:
            result.sample(xx, yy, rng=rng)
        assert err.value.argument == name


def test_bad_discrete_inputs_name_the_argument():
    result = discrete_result("x_and_y")
    cases = [
        (([0, 3], [0, 1]), "x", "out of range"),
        (([0, 1], [0, 2]), "y", "out of range"),
        (([0, -1], [0, 1]), "x", "out of range"),
        (([0, 0.5], [0, 1]), "x", "integer"),
        (([0, np.nan], [0, 1]), "x", "NaN"),
        ((["a", "b"], [0, 1]), "x", "integer indices"),
        (([0, 1, 2], [0, 1]), "y", "samples"),
        ((np.zeros((2, 2), dtype=int), [0, 1]), "x", "shape"),
    ]
    for (xx, yy), name, why in cases:
        with pytest.raises(InvalidInputError, match=f"^{name}:.*{why}"):
            result.sample(xx, yy)


def test_results_that_cannot_be_sampled_say_why():
    result = gaussian_result("x_and_y")
    x, y = np.zeros((2, 3)), np.zeros((2, 2))
    with pytest.raises(InvalidInputError, match="^result: is not ok"):
        dataclasses.replace(result, ok=False, message="the solver stalled").sample(x, y)
    with pytest.raises(InvalidInputError, match="^result: .*unpickled"):
        dataclasses.replace(result, problem=None).consequences()
    with pytest.raises(InvalidInputError, match="^result: the subset_attack family declares no sample hook"):
        dataclasses.replace(result, family="subset_attack").sample(x, y)
    with pytest.raises(InvalidInputError, match="^result: belongs to no registered family"):
        dataclasses.replace(result, family="mine").consequences()
    with pytest.raises(InvalidInputError, match="^result:"):
        baselines.random_noise(dataclasses.replace(result, problem=None))
    assert mi_cvx.families()["gaussian_vector"].consequences is not None
    assert all(fam.sample is not None for name, fam in mi_cvx.families().items() if name != "subset_attack")


def test_the_blind_baseline_of_a_fitted_problem_is_blind():
    """Regression: a fitted problem's recipe (mi_cvx.data.fitted_problem) passes the options through **kwargs."""
    from mi_cvx import baselines, data

    rng = np.random.default_rng(5)
    y = rng.normal(size=(4000, 2))
    x = y @ np.array([[1.0, 0.3, -0.5], [0.2, 1.0, 0.4]]) + 0.3 * rng.normal(size=(4000, 3))
    result = data.fit_gaussian(y, x).attack_problem(0.5).solve()
    blind = baselines.blind(result)
    assert blind.result.problem.spec["knows"] == "nothing"
    assert blind.result.problem.spec["data"] is result.problem.spec["data"]
    assert blind.mi > result.mi + 1e-3  # the blind attacker leaves strictly more here
    assert np.allclose(blind.attack["F"], 0.0) and np.allclose(blind.attack["G"], 0.0)
