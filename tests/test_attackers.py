"""The blind attacker and the stealth terms (docs/theory.md sections 8 and 9), checked against references.

Every number is compared with something computed independently of the conic model: the
closed forms of :mod:`mi_cvx.oracles` (sections 8 and 9), a brute-force SLSQP search over the
blind noise pmf, a closed form derived here for the paper's attacker under a zero stealth cap,
the nesting of the attackers' feasible sets, and the optimality structure of the stealth cap
and weight (KL within the cap, a positive multiplier that is a subgradient of the value, the
trade-off monotone in the weight).  Tolerances are the result's own (``result.tolerance``, the
backend's promise): ``|v - ref| <= tol * (1 + |ref|)``.  Instances are drawn from seeded numpy
generators, so the file is deterministic.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import brentq, minimize

import mi_cvx
from mi_cvx import info, oracles, testing
from mi_cvx.convexity import attack_space

#: Settings under which a backend keeps the promise the tests hold it to (SCS is first-order).
OPTIONS = {"SCS": {"eps_abs": 1e-9, "eps_rel": 1e-9}}

GAUSSIAN_BACKENDS = mi_cvx.installed_solvers(mi_cvx.gaussian_vector(np.eye(1), 1.0, 1.0, 1.0, knows="nothing").cones)
DISCRETE_BACKENDS = mi_cvx.installed_solvers(
    mi_cvx.discrete_channel(np.full((3, 2), 1 / 6), 0.2, knows="nothing").cones)

#: The largest error seen against each reference, in units of the result's tolerance (for reporting).
MEASURED: dict[str, float] = {}


def _solve(problem, solver=None):
    """The default chain (``solver=None``) or one backend at the settings that keep its promise."""
    result = problem.solve() if solver is None else problem.solve(solver, **OPTIONS.get(solver, {}))
    assert result.ok, result.message
    assert result.tolerance is not None and 0 < result.tolerance < 1e-3
    return result


def _close(value, ref, tol, factor=1.0, what=""):
    """``|value - ref| <= factor * tol * (1 + |ref|)``, recording the error in units of ``tol``."""
    err = abs(float(value) - float(ref)) / (1.0 + abs(float(ref)))
    MEASURED[what] = max(MEASURED.get(what, 0.0), err / tol)
    assert err <= factor * tol, (f"{what}: {value!r} vs reference {ref!r}: relative error {err:.3g} > "
                                 f"{factor} x tolerance {tol:.3g}")


def _at_most(a, b, tol, factor=1.0, what=""):
    """``a <= b`` up to ``factor * tol * (1 + |b|)``."""
    assert a <= b + factor * tol * (1.0 + abs(b)), f"{what}: {a!r} > {b!r} beyond {factor} x tolerance {tol:.3g}"


def _no_attack_mi(A, signal_cov, noise_cov) -> float:
    """``I(Y; X) = 0.5 logdet Cov(X) - 0.5 logdet Cov(N)`` (noise positive definite)."""
    R = A @ signal_cov @ A.T
    return 0.5 * (np.linalg.slogdet(R + noise_cov)[1] - np.linalg.slogdet(noise_cov)[1])


# --------------------------------------------------------------- instances


def _blind_instance(seed: int, noise: str):
    """``X = A Y + N`` with m, n in 1..5, every scale in 1e-3..1e3; noise isotropic or commuting with A SY A^T."""
    rng = np.random.default_rng(seed)
    m, n = (int(v) for v in rng.integers(1, 6, size=2))
    signal_cov = testing.random_covariance(rng, n, 30.0, scale=10 ** rng.uniform(-3, 3))
    A = rng.normal(size=(m, n))
    R = A @ signal_cov @ A.T
    R = 0.5 * (R + R.T)
    level = float(np.trace(R)) / m
    if noise == "isotropic":
        noise_cov = level * 10 ** rng.uniform(-1.5, 1.0)
    elif noise == "commuting":  # diagonal in an eigenbasis of R, a different variance on each channel
        _, U = np.linalg.eigh(R)
        noise_cov = (U * (level * 10 ** rng.uniform(-1.5, 1.0, size=m))) @ U.T
        noise_cov = 0.5 * (noise_cov + noise_cov.T)
    else:
        noise_cov = 0.0
    budget = float(np.trace(R) * 10 ** rng.uniform(-2, 1))
    return A, signal_cov, noise_cov, budget


def _stealth_instance(seed: int):
    """``X = A Y + N`` with any positive definite noise (no structure), scales in 1e-3..1e3."""
    rng = np.random.default_rng(seed)
    m, n = (int(v) for v in rng.integers(1, 6, size=2))
    signal_cov = testing.random_covariance(rng, n, 30.0, scale=10 ** rng.uniform(-3, 3))
    A = rng.normal(size=(m, n))
    level = float(np.trace(A @ signal_cov @ A.T)) / m
    noise_cov = testing.random_covariance(rng, m, 30.0, scale=level * 10 ** rng.uniform(-1.5, 1.0))
    return A, signal_cov, noise_cov


def _family(family: str, seed: int):
    """``(build(budget, knows=..., **stealth), budgets)`` for a random instance of ``family``."""
    rng = np.random.default_rng(seed)
    if family == "scalar":
        sy = float(10 ** rng.uniform(-1, 1))
        sn = sy * float(10 ** rng.uniform(-1, 0.5))
        return (lambda budget, **kw: mi_cvx.gaussian_scalar(sy, sn, budget, **kw),
                sy * np.array([0.05, 0.2, 0.5, 0.9, 1.5]))
    if family in ("vector", "sparse"):
        A = rng.normal(size=(3, 2))
        sy = testing.random_covariance(rng, 2, 10.0)
        level = float(np.trace(A @ sy @ A.T))
        sn = testing.random_covariance(rng, 3, 10.0, scale=0.3 * level)  # no structure: the SDPs answer
        budgets = level * np.array([0.05, 0.2, 0.5, 1.0, 2.0])
        if family == "vector":
            return lambda budget, **kw: mi_cvx.gaussian_vector(A, budget, sy, sn, **kw), budgets
        return lambda budget, **kw: mi_cvx.gaussian_sparse(A, [0, 2], budget, sy, sn, **kw), budgets
    if family == "binary":
        p = testing.random_joint_pmf(rng, 2, 2, min_mass=0.03)
        while info.mutual_information(p) < 0.1:  # an informative channel: the attackers then differ
            p = testing.random_joint_pmf(rng, 2, 2, min_mass=0.03)
        return (lambda budget, **kw: mi_cvx.binary_channel(p, budget, **kw),
                np.array([0.01, 0.04, 0.1, 0.25, 0.6]))
    assert family == "discrete"
    p = testing.random_joint_pmf(rng, 3, 3, min_mass=0.02)
    while info.mutual_information(p) < 0.1:
        p = testing.random_joint_pmf(rng, 3, 3, min_mass=0.02)
    d = rng.uniform(0.5, 1.5, size=(3, 3))
    np.fill_diagonal(d, 0.0)
    return (lambda budget, **kw: mi_cvx.discrete_channel(p, budget, distortion=d, **kw),
            np.array([0.02, 0.08, 0.2, 0.4, 0.8]))


FAMILIES = ("scalar", "vector", "sparse", "binary", "discrete")


# ------------------------------------------------ 1. blind Gaussian (section 8)


def _check_blind_gaussian(A, signal_cov, noise_cov, budget, solver):
    sol = oracles.blind_gaussian(A, budget, signal_cov, noise_cov)
    assert sol is not None, "the noise commutes with A SY A^T by construction: section 8 has a closed form"
    result = _solve(mi_cvx.gaussian_vector(A, budget, signal_cov, noise_cov, knows="nothing"), solver)
    tol = result.tolerance
    _close(result.mi, sol.mi, tol, what=f"blind Gaussian mi vs oracles.blind_gaussian ({solver or 'chain'})")
    S = np.asarray(result.attack["attack_cov"], dtype=float)
    assert S.shape == (A.shape[0],) * 2
    assert np.abs(S - S.T).max() <= 1e-9 * budget
    assert np.linalg.eigvalsh(0.5 * (S + S.T)).min() >= -tol * budget, "the attack covariance is not PSD"
    # the budget binds: every channel's slope is positive (no zero-information budget, section 8)
    _close(np.trace(S) / budget, 1.0, tol, factor=10, what="blind Gaussian trace S / budget")
    assert result.mi > 0
    assert result.mi_check == pytest.approx(result.mi, rel=10 * tol, abs=10 * tol)


@pytest.mark.parametrize("noise", ["isotropic", "commuting"])
@pytest.mark.parametrize("seed", range(10))
def test_blind_gaussian_matches_closed_form_default_chain(seed, noise):
    _check_blind_gaussian(*_blind_instance(seed, noise), None)


@pytest.mark.parametrize("noise", ["isotropic", "commuting"])
@pytest.mark.parametrize("seed", [100, 101])
@pytest.mark.parametrize("solver", GAUSSIAN_BACKENDS)
def test_blind_gaussian_matches_closed_form_every_backend(solver, seed, noise):
    _check_blind_gaussian(*_blind_instance(seed, noise), solver)


@pytest.mark.parametrize("solver", GAUSSIAN_BACKENDS)
def test_blind_gaussian_noiseless_every_backend(solver):
    _check_blind_gaussian(*_blind_instance(7, "zero"), solver)


# --------------------------------------- 2. blind attacker, stealth weight (section 9)


def _check_stealth_blind(A, signal_cov, noise_cov, weight, solver):
    sol = oracles.stealth_blind_gaussian(A, weight, signal_cov, noise_cov)
    problem = mi_cvx.gaussian_vector(A, None, signal_cov, noise_cov, knows="nothing", stealth_weight=weight)
    result = _solve(problem, solver)
    tol = result.tolerance
    where = solver or "chain"
    _close(result.objective, sol.objective, tol, what=f"stealth blind objective vs closed form ({where})")
    _close(result.mi, sol.mi, tol, factor=10, what=f"stealth blind mi vs closed form ({where})")
    _close(result.kl, sol.kl, tol, factor=10, what=f"stealth blind kl vs closed form ({where})")
    # result.kl is KL(N(0, Cov Z) || N(0, Cov X)) of the returned attack, recomputed here
    S = np.asarray(result.attack["attack_cov"], dtype=float)
    cov_x = A @ signal_cov @ A.T + noise_cov
    kl = info.gaussian_kl(0.5 * (cov_x + S + (cov_x + S).T), 0.5 * (cov_x + cov_x.T))
    assert result.kl == pytest.approx(kl, rel=1e-8, abs=1e-12)
    _close(result.objective, result.mi + weight * result.kl, tol, what="objective - (mi + weight kl)")


@pytest.mark.parametrize("weight", [0.1, 0.5, 2.0, 10.0])
@pytest.mark.parametrize("seed", range(3))
def test_stealth_weight_blind_matches_closed_form_default_chain(seed, weight):
    _check_stealth_blind(*_stealth_instance(seed), weight, None)


@pytest.mark.parametrize("seed, weight", [(10, 0.3), (11, 4.0)])
@pytest.mark.parametrize("solver", GAUSSIAN_BACKENDS)
def test_stealth_weight_blind_matches_closed_form_every_backend(solver, seed, weight):
    _check_stealth_blind(*_stealth_instance(seed), weight, solver)


def test_stealth_weight_one_attacks_with_the_signal_covariance():
    # Section 9: at weight 1, S* = A SY A^T exactly (the closed form and the SDP).
    A, signal_cov, noise_cov = _stealth_instance(3)
    R = A @ signal_cov @ A.T
    sol = oracles.stealth_blind_gaussian(A, 1.0, signal_cov, noise_cov)
    np.testing.assert_allclose(sol.attack_cov, R, rtol=0, atol=1e-9 * np.abs(R).max())
    result = _solve(mi_cvx.gaussian_vector(A, None, signal_cov, noise_cov, knows="nothing", stealth_weight=1.0))
    err = np.abs(np.asarray(result.attack["attack_cov"]) - R).max() / np.abs(R).max()
    assert err <= math.sqrt(result.tolerance), err


# ----------------------------------------------------------- 3. binary blind


@pytest.mark.parametrize("solver", [None, "CLARABEL"])
@pytest.mark.parametrize("seed", range(8))
def test_binary_blind_matches_closed_form(seed, solver):
    rng = np.random.default_rng(300 + seed)
    p = testing.random_joint_pmf(rng, 2, 2, min_mass=0.02)
    budget = float(rng.uniform(0.01, 0.48) if seed % 4 else rng.uniform(0.5, 1.0))
    sol = oracles.binary_blind(p, budget)
    result = _solve(mi_cvx.binary_channel(p, budget, knows="nothing"), solver)
    tol = result.tolerance
    _close(result.mi, sol.mi, tol, what=f"binary blind mi vs oracles.binary_blind ({solver or 'chain'})")
    w = np.asarray(result.attack["noise_pmf"], dtype=float)
    # q* = min(D, 1/2): the budget binds below 1/2 (accuracy of a constraint); at 1/2 the optimum is
    # an even minimum of I in 1 - 2q, pinned only to the square root of the value's accuracy
    atol = 10 * tol if budget < 0.5 else math.sqrt(tol)
    np.testing.assert_allclose(w, [1.0 - sol.q, sol.q], rtol=0, atol=atol)
    assert result.attack["noise_pmf"].sum() == pytest.approx(1.0, abs=1e-9)
    _close(oracles.discrete_blind_value(p, np.clip(w, 0, None) / np.clip(w, 0, None).sum()), result.mi, tol,
           what="binary blind I(noise_pmf) vs mi")


# --------------------------------------------------------- 4. discrete blind


def _brute_force_blind(p, d, budget, rng) -> tuple[float, np.ndarray]:
    """min over the noise pmf w of I(Y; X + W mod k) with E d(X, X + W) <= budget: SLSQP from several starts."""
    k = p.shape[0]
    p_x = p.sum(axis=1)
    cost = np.array([sum(p_x[x] * d[x, (x + j) % k] for x in range(k)) for j in range(k)])

    def value(w):
        w = np.clip(w, 0.0, None)
        return oracles.discrete_blind_value(p, w / w.sum())

    cons = [{"type": "eq", "fun": lambda w: np.sum(w) - 1.0, "jac": lambda w: np.ones(k)},
            {"type": "ineq", "fun": lambda w: budget - cost @ w, "jac": lambda w: -cost}]
    starts = [np.eye(k)[int(np.argmin(cost))], np.full(k, 1.0 / k)] + [rng.dirichlet(np.ones(k)) for _ in range(4)]
    best, best_w = math.inf, None
    for w0 in starts:
        res = minimize(value, w0, method="SLSQP", bounds=[(0.0, 1.0)] * k, constraints=cons,
                       options={"ftol": 1e-14, "maxiter": 500})
        w = np.clip(res.x, 0.0, None)
        w /= w.sum()
        if cost @ w <= budget * (1 + 1e-9) + 1e-12 and value(w) < best:
            best, best_w = value(w), w
    assert best_w is not None
    return best, best_w


def _check_discrete_blind(seed, solver):
    rng = np.random.default_rng(400 + seed)
    k = 3 + seed % 2
    p = testing.random_joint_pmf(rng, k, int(rng.integers(2, 4)), min_mass=0.01)
    d = rng.uniform(0.0, 2.0, size=(k, k))  # any distortion: a non-zero diagonal too
    if seed % 3 == 0:
        np.fill_diagonal(d, 0.0)
    p_x = p.sum(axis=1)
    cost = np.array([sum(p_x[x] * d[x, (x + j) % k] for x in range(k)) for j in range(k)])
    # between the cheapest shift and the uniform noise (cost mean(cost), information 0)
    budget = float(cost.min() + rng.uniform(0.05, 0.6) * (cost.mean() - cost.min()))
    ref, _ = _brute_force_blind(p, d, budget, rng)
    result = _solve(mi_cvx.discrete_channel(p, budget, distortion=d, knows="nothing"), solver)
    tol = result.tolerance
    _close(result.mi, ref, tol, what=f"discrete blind mi vs SLSQP ({solver or 'chain'})")
    w = np.asarray(result.attack["noise_pmf"], dtype=float)
    assert w.shape == (k,) and w.min() >= -tol and w.sum() == pytest.approx(1.0, abs=tol)
    w = np.clip(w, 0.0, None) / np.clip(w, 0.0, None).sum()
    assert cost @ w <= budget * (1 + 10 * tol) + tol  # the returned noise is within the budget
    _close(oracles.discrete_blind_value(p, w), result.mi, tol, what="discrete blind I(noise_pmf) vs mi")
    assert result.budget_used == pytest.approx(cost @ w, rel=10 * tol, abs=tol)


@pytest.mark.parametrize("seed", list(range(8)))
def test_discrete_blind_matches_brute_force_default_chain(seed):
    _check_discrete_blind(seed, None)


@pytest.mark.parametrize("seed", [20, 21])
@pytest.mark.parametrize("solver", DISCRETE_BACKENDS)
def test_discrete_blind_matches_brute_force_every_backend(solver, seed):
    _check_discrete_blind(seed, solver)


# ------------------------------------------------------------------ 5. ordering


@pytest.mark.parametrize("family", FAMILIES)
def test_attackers_ordered_for_every_budget(family):
    # The feasible sets are nested (section 8): paper's <= label-blind <= blind, at every budget.
    build, budgets = _family(family, 500 + FAMILIES.index(family))
    problems = {knows: build(float(budgets[0]), knows=knows) for knows in ("x_and_y", "x", "nothing")}
    strict = 0
    for budget in budgets:
        values, tols = {}, {}
        for knows, problem in problems.items():
            problem.parameters["budget"].value = float(budget)
            result = _solve(problem)
            values[knows], tols[knows] = result.mi, result.tolerance
        _at_most(values["x_and_y"], values["x"], tols["x_and_y"] + tols["x"], what=f"{family} D={budget:g} paper")
        _at_most(values["x"], values["nothing"], tols["x"] + tols["nothing"], what=f"{family} D={budget:g} x")
        strict += values["x_and_y"] < values["nothing"] - 1e-3
    assert strict >= 3, "the attackers should differ on most budgets of these instances"


# ---------------------------------------------------------------- 6. stealth cap

#: (family, knows) pairs whose stealth cap is tested, at the second budget of the family's grid (informative).
CAPPED = [("scalar", "x_and_y"), ("vector", "x_and_y"), ("vector", "x"), ("vector", "nothing"),
          ("binary", "x_and_y"), ("binary", "nothing"), ("discrete", "x_and_y"), ("discrete", "x"),
          ("discrete", "nothing")]


@pytest.mark.parametrize("family, knows", CAPPED)
def test_stealth_cap_holds_binds_and_is_monotone(family, knows):
    build, budgets = _family(family, 600 + FAMILIES.index(family))
    problem = build(float(budgets[1]), knows=knows, stealth=1e3)  # a cap that does not bind
    free = _solve(problem)
    assert free.kl is not None and free.kl > 0 and free.mi > 1e-3
    assert abs(free.dual_stealth) <= 10 * free.tolerance, "a slack cap has no multiplier"
    previous = free
    for fraction in (0.5, 0.2, 0.05):
        cap = fraction * free.kl
        problem.parameters["stealth"].value = cap
        result = _solve(problem)
        tol = result.tolerance
        assert result.kl <= cap * (1 + tol) + tol, f"KL {result.kl} over the cap {cap}"
        # the cap binds: a positive multiplier, and complementary slackness to the value's accuracy (the KL
        # itself may sit below the cap where the information hardly depends on it, a small multiplier)
        assert result.dual_stealth > 0, result.dual_stealth
        _close(result.dual_stealth * (result.kl - cap), 0.0, tol * (1 + result.mi),
               what="complementary slackness dual_stealth * (kl - cap)")
        # tightening the cap never lowers the information
        _at_most(previous.mi, result.mi, tol, what=f"{family}/{knows} cap {cap:g}")
        assert result.objective == result.mi
        previous = result
    # -dual_stealth is a subgradient of the (convex, non-increasing) value I*(delta): between the chords
    cap, h = 0.2 * free.kl, 0.1 * 0.2 * free.kl
    values = []
    for delta in (cap - h, cap, cap + h):
        problem.parameters["stealth"].value = delta
        values.append(_solve(problem))
    mid = values[1]
    slack = 2 * mid.tolerance * (1 + mid.mi) / h + 10 * mid.tolerance * (1 + mid.dual_stealth)
    left, right = (values[1].mi - values[0].mi) / h, (values[2].mi - values[1].mi) / h
    assert left - slack <= -mid.dual_stealth <= right + slack, (left, -mid.dual_stealth, right)


def _paper_scalar_zero_cap(sy: float, sn: float, budget: float) -> float:
    """``I*`` of the paper's scalar attacker under ``KL(P_Z || P_X) <= 0``, i.e. ``Var(Z) = Var(X)``.

    With ``Delta = -a Y + b N + W`` (jointly Gaussian, the model's attack class) and
    ``Var(Z) = sy + sn``: ``I = -0.5 log(1 - sy (1 - a)^2 / (sy + sn))``, decreasing in
    ``a`` on ``[0, 1]``.  Keeping ``Var(Z)`` costs ``(1 - b)^2 sn + W = sn + sy (2a - a^2)``;
    the cheapest way spends it on the noise, ``b = sqrt(1 + sy (2a - a^2) / sn) - 1``, at power
    ``P(a) = 2 a sy - 2 sn b(a)`` (increasing in ``a``), so ``a`` solves ``P(a) = budget``.
    """
    def power(a):
        return 2 * a * sy - 2 * sn * (math.sqrt(1 + sy * (2 * a - a * a) / sn) - 1)

    a = 1.0 if power(1.0) <= budget else brentq(lambda a: power(a) - budget, 0.0, 1.0, xtol=1e-15)
    return -0.5 * math.log1p(-sy * (1 - a) ** 2 / (sy + sn))


@pytest.mark.parametrize("budget", [0.1, 0.5, 1.0, 2.5])
def test_zero_cap_paper_attacker_keeps_the_law_but_not_the_information(budget):
    # A cap of 0 forces Cov(Z) = Cov(X), not "no attack": the paper's attacker still swaps signal for
    # noise of the same law (Delta = -a Y + b N), down to I = 0 once P(1) <= budget.
    sy, sn = 1.3, 0.4
    ref = _paper_scalar_zero_cap(sy, sn, budget)
    result = _solve(mi_cvx.gaussian_scalar(sy, sn, budget, stealth=0.0))
    tol = result.tolerance
    _close(result.mi, ref, tol, what="zero cap paper's scalar attacker vs closed form")
    assert result.kl <= tol
    assert result.mi < 0.5 * math.log1p(sy / sn) - 0.1  # well below the information without attack


@pytest.mark.parametrize("family", ["binary", "discrete"])
def test_zero_cap_blind_discrete_is_no_attack(family):
    # P_Xhat = P_X * w (a circular convolution) equals P_X only for w = delta_0 when P_X is not periodic.
    build, budgets = _family(family, 700)
    result = _solve(build(float(budgets[2]), knows="nothing", stealth=0.0))
    p = np.asarray(result.parameters["p_xy"], dtype=float)
    _close(result.mi, info.mutual_information(p), result.tolerance, what="zero cap blind discrete vs I(Y; X)")
    assert result.attack["noise_pmf"][0] == pytest.approx(1.0, abs=math.sqrt(result.tolerance))


#: stealth terms of the absent-letter tests: a cap, a weight, both, and a cap that binds hard
ABSENT_STEALTH = [{"stealth": 0.05}, {"stealth_weight": 0.5}, {"stealth": 0.002, "stealth_weight": 0.5},
                  {"stealth": 5e-4}]


@pytest.mark.parametrize("stealth", ABSENT_STEALTH, ids=lambda s: "-".join(f"{k}={v}" for k, v in s.items()))
@pytest.mark.parametrize("knows", ["x_and_y", "x"])
@pytest.mark.parametrize("solver", [None, *DISCRETE_BACKENDS])
def test_stealth_with_absent_letters(solver, knows, stealth):
    # A letter of X with probability 0 must stay at 0 in Xhat (KL(P_Xhat || P_X) is infinite otherwise), so the
    # problem on the alphabet without it is the same problem: an independent reference.  Left to the relative-
    # entropy cone alone the letter made every backend stop with an infinite KL or optimal_inaccurate.
    p = np.array([[0.3, 0.1], [0.0, 0.0], [0.2, 0.4]])
    for budget in (0.05, 0.2):
        problem = mi_cvx.discrete_channel(p, budget, knows=knows, formulation="channel", **stealth)
        # SCS at its own eps (its tolerance says so): at eps 1e-9 it runs out of iterations on stealth-weight
        # problems, with or without an absent letter
        result = problem.solve("SCS") if solver == "SCS" else _solve(problem, solver)
        ref = _solve(mi_cvx.discrete_channel(p[[0, 2]], budget, knows=knows, formulation="channel", **stealth))
        tol = max(result.tolerance, ref.tolerance)
        _close(result.objective, ref.objective, tol, factor=2, what=f"absent letter vs reduced alphabet ({solver})")
        assert np.isfinite(result.kl) and result.attack["output_joint"][:, 1].sum() == 0.0
        if "stealth" in stealth:
            _at_most(result.kl, stealth["stealth"], tol, what="kl within the cap")


def test_absent_letters_follow_new_parameter_values():
    # the bound that holds an absent letter at 0 is a parameter kept in step with p_xy at each solve
    p = np.array([[0.3, 0.1], [0.0, 0.0], [0.2, 0.4]])
    full = np.array([[0.25, 0.1], [0.05, 0.05], [0.15, 0.4]])
    problem = mi_cvx.discrete_channel(full, 0.05, formulation="channel", stealth=0.002)
    first = _solve(problem)
    assert first.attack["output_joint"][:, 1].sum() > 0  # the letter occurs: the attack may use it
    problem.parameters["p_xy"].value = p
    again = _solve(problem)
    ref = _solve(mi_cvx.discrete_channel(p[[0, 2]], 0.05, formulation="channel", stealth=0.002))
    _close(again.objective, ref.objective, max(again.tolerance, ref.tolerance), factor=2, what="absent after update")
    assert np.isfinite(again.kl) and again.attack["output_joint"][:, 1].sum() == 0.0
    problem.parameters["p_xy"].value = full  # and back: the letter is free again
    _close(_solve(problem).objective, first.objective, first.tolerance, what="absent letter released")


def _blind_stealth_reference(p, allowed, budget, cap, weight) -> float:
    """min over noise pmfs w on the ``allowed`` shifts of I + weight KL, KL <= cap, E d_H <= budget (SLSQP)."""
    k = p.shape[0]
    p_x = p.sum(axis=1)
    idx = np.flatnonzero(allowed)
    cost = np.array([sum(p_x[x] * (j % k != 0) for x in range(k)) for j in idx])

    def full(v):
        w = np.zeros(k)
        w[idx] = np.clip(v, 0.0, None) / np.clip(v, 0.0, None).sum()
        return w

    def kl(v):
        out = np.array([sum(p_x[x] * full(v)[(z - x) % k] for x in range(k)) for z in range(k)])
        live = out > 0
        return float(np.sum(out[live] * np.log(out[live] / p_x[live])))

    def objective(v):
        return oracles.discrete_blind_value(p, full(v)) + weight * kl(v)

    cons = [{"type": "eq", "fun": lambda v: np.sum(v) - 1.0}, {"type": "ineq", "fun": lambda v: budget - cost @ v}]
    if cap is not None:
        cons.append({"type": "ineq", "fun": lambda v: cap - kl(v)})
    best = math.inf
    for v0 in (np.eye(idx.size)[0], np.full(idx.size, 1.0 / idx.size), np.array([0.9, 0.1])):
        res = minimize(objective, v0, method="SLSQP", bounds=[(0.0, 1.0)] * idx.size, constraints=cons,
                       options={"ftol": 1e-14, "maxiter": 500})
        v = np.clip(res.x, 0.0, None) / np.clip(res.x, 0.0, None).sum()
        if cost @ v <= budget * (1 + 1e-9) + 1e-12 and (cap is None or kl(v) <= cap * (1 + 1e-7) + 1e-12):
            best = min(best, objective(v))
    return best


@pytest.mark.parametrize("stealth", ABSENT_STEALTH, ids=lambda s: "-".join(f"{k}={v}" for k, v in s.items()))
def test_blind_stealth_with_absent_letters(stealth):
    # Letters 1 and 3 of four never occur: the blind attacker may only shift by 0 or 2 (a shift by 1 or 3 sends
    # a letter that occurs onto one that does not); the reference searches those two shifts.
    p = np.array([[0.3, 0.1], [0.0, 0.0], [0.2, 0.4], [0.0, 0.0]])
    allowed = np.array([True, False, True, False])
    for budget in (0.2, 0.45):
        result = _solve(mi_cvx.discrete_channel(p, budget, knows="nothing", formulation="channel", **stealth))
        ref = _blind_stealth_reference(p, allowed, budget, stealth.get("stealth"), stealth.get("stealth_weight", 0.0))
        _close(result.objective, ref, result.tolerance, factor=2, what="blind absent letters vs SLSQP")
        w = result.attack["noise_pmf"]
        assert np.isfinite(result.kl) and w[1] == 0.0 and w[3] == 0.0


@pytest.mark.parametrize("family", ["scalar", "vector"])
def test_zero_cap_blind_gaussian_is_no_attack(family):
    if family == "scalar":
        problem, ref = mi_cvx.gaussian_scalar(1.3, 0.4, 1.0, knows="nothing", stealth=0.0), 0.5 * math.log1p(1.3 / 0.4)
    else:
        A = np.array([[1.0, 0.5], [0.0, 1.0], [0.3, -0.2]])
        sy, sn = np.eye(2), 0.5 * np.eye(3)
        problem, ref = mi_cvx.gaussian_vector(A, 1.0, sy, sn, knows="nothing", stealth=0.0), _no_attack_mi(A, sy, sn)
    result = _solve(problem)
    _close(result.mi, ref, result.tolerance, what="zero cap blind Gaussian vs I(Y; X)")


def _rebuild_cases():
    A = np.array([[1.0, 0.5], [0.0, 1.0], [0.3, -0.2]])
    sy = np.array([[1.0, 0.3], [0.3, 0.6]])
    sn = np.array([[0.5, 0.1, 0.0], [0.1, 0.4, 0.05], [0.0, 0.05, 0.3]])
    p2 = np.array([[0.5, 0.15], [0.1, 0.25]])
    p3 = np.array([[0.2, 0.05, 0.05], [0.05, 0.25, 0.05], [0.05, 0.05, 0.25]])
    return {
        "gaussian paper cap": (lambda v: mi_cvx.gaussian_vector(A, 0.8, sy, sn, stealth=v), "stealth", 0.05, 0.01),
        "gaussian blind cap": (lambda v: mi_cvx.gaussian_vector(A, 0.8, sy, sn, knows="nothing", stealth=v),
                               "stealth", 0.04, 0.01),
        "gaussian blind weight": (lambda v: mi_cvx.gaussian_vector(A, None, sy, sn, knows="nothing",
                                                                   stealth_weight=v), "stealth_weight", 1.0, 4.0),
        "gaussian label-blind weight": (lambda v: mi_cvx.gaussian_vector(A, 0.8, sy, sn, knows="x",
                                                                         stealth_weight=v), "stealth_weight", 0.3, 3.0),
        "binary blind weight": (lambda v: mi_cvx.binary_channel(p2, 0.2, knows="nothing", stealth_weight=v),
                                "stealth_weight", 1.0, 5.0),
        "discrete paper cap": (lambda v: mi_cvx.discrete_channel(p3, 0.3, stealth=v), "stealth", 0.03, 0.005),
        "discrete blind weight": (lambda v: mi_cvx.discrete_channel(p3, 0.3, knows="nothing", stealth_weight=v),
                                  "stealth_weight", 2.0, 20.0),
    }


@pytest.mark.parametrize("case", list(_rebuild_cases()))
def test_parameter_resolve_equals_fresh_build(case):
    build, name, first, second = _rebuild_cases()[case]
    problem = build(first)
    compiled = problem.problem
    _solve(problem)
    problem.parameters[name].value = second
    again = _solve(problem)
    assert problem.problem is compiled, "changing a stealth parameter must not rebuild the problem"
    fresh = _solve(build(second))
    tol = max(again.tolerance, fresh.tolerance)
    _close(again.objective, fresh.objective, tol, what="re-solve vs fresh build (objective)")
    _close(again.mi, fresh.mi, tol, factor=10, what="re-solve vs fresh build (mi)")
    _close(again.kl, fresh.kl, tol, factor=10, what="re-solve vs fresh build (kl)")
    assert again.parameters[name] == pytest.approx(second)


# ------------------------------------------------------------- 7. stealth weight

WEIGHTED = [("vector", "x_and_y"), ("vector", "x"), ("sparse", "x_and_y"), ("binary", "x_and_y"),
            ("binary", "nothing"), ("discrete", "x_and_y"), ("discrete", "nothing")]
WEIGHTS = (0.1, 0.5, 2.0, 10.0, 50.0)


@pytest.mark.parametrize("family, knows", WEIGHTED)
def test_stealth_weight_trades_information_for_stealth(family, knows):
    build, budgets = _family(family, 800 + FAMILIES.index(family))
    problem = build(float(budgets[2]), knows=knows, stealth_weight=WEIGHTS[0])
    results = []
    for weight in WEIGHTS:
        problem.parameters["stealth_weight"].value = weight
        result = _solve(problem)
        _close(result.objective, result.mi + weight * result.kl, result.tolerance,
               what="objective vs mi + weight kl")
        results.append(result)
    for lo, hi in zip(results[:-1], results[1:], strict=True):
        tol = max(lo.tolerance, hi.tolerance)
        _at_most(hi.kl, lo.kl, tol, factor=10, what=f"{family}/{knows}: kl must not grow with the weight")
        _at_most(lo.mi, hi.mi, tol, factor=10, what=f"{family}/{knows}: mi must not fall as the weight grows")
        _at_most(lo.objective, hi.objective, tol, what=f"{family}/{knows}: the value grows with the weight")
    assert results[-1].kl < 0.5 * results[0].kl, "the weights should matter on these instances"


def test_stealth_weight_blind_gaussian_monotone_against_closed_form():
    A, signal_cov, noise_cov = _stealth_instance(5)
    problem = mi_cvx.gaussian_vector(A, None, signal_cov, noise_cov, knows="nothing", stealth_weight=WEIGHTS[0])
    previous = None
    for weight in WEIGHTS:
        problem.parameters["stealth_weight"].value = weight
        result = _solve(problem)
        sol = oracles.stealth_blind_gaussian(A, weight, signal_cov, noise_cov)
        _close(result.objective, sol.objective, result.tolerance, what="stealth blind objective vs closed form (grid)")
        _close(result.objective, result.mi + weight * result.kl, result.tolerance, what="objective vs mi + weight kl")
        if previous is not None:
            assert sol.kl < previous[0].kl and sol.mi > previous[0].mi  # the closed form is strictly monotone
            _at_most(result.kl, previous[1].kl, result.tolerance, factor=10, what="blind kl vs weight")
            _at_most(previous[1].mi, result.mi, result.tolerance, factor=10, what="blind mi vs weight")
        previous = (sol, result)


# ------------------------------------------------------------- 8. convexity


def _convexity_cases():
    A = np.array([[1.0, 0.5], [0.0, 1.0], [0.3, -0.2]])
    p2 = np.array([[0.5, 0.15], [0.1, 0.25]])
    p3 = np.array([[0.2, 0.1], [0.1, 0.3], [0.2, 0.1]])
    return [
        pytest.param(lambda: mi_cvx.gaussian_vector(A, 1.0, 1.0, 0.5, knows="nothing"), id="gaussian-blind"),
        pytest.param(lambda: mi_cvx.gaussian_sparse(A, [0, 1], 0.5, 1.0, 0.5, knows="nothing"), id="sparse-blind"),
        pytest.param(lambda: mi_cvx.discrete_channel(p3, 0.3, knows="nothing"), id="discrete-blind"),
        pytest.param(lambda: mi_cvx.binary_channel(p2, 0.2, knows="nothing"), id="binary-blind"),
        pytest.param(lambda: mi_cvx.gaussian_vector(A, 1.0, 1.0, 0.5, stealth_weight=1.0), id="gaussian-paper-weight"),
        pytest.param(lambda: mi_cvx.gaussian_vector(A, 1.0, 1.0, 0.5, knows="x", stealth_weight=1.0),
                     id="gaussian-label-blind-weight"),
        pytest.param(lambda: mi_cvx.gaussian_vector(A, None, 1.0, 0.5, knows="nothing", stealth_weight=1.0),
                     id="gaussian-blind-weight-no-budget"),
        pytest.param(lambda: mi_cvx.gaussian_vector(A, 1.0, 1.0, 0.5, knows="nothing", stealth_weight=1.0),
                     id="gaussian-blind-weight"),
        pytest.param(lambda: mi_cvx.gaussian_vector(A, 1.0, 1.0, 0.5, stealth=0.1), id="gaussian-paper-cap"),
        pytest.param(lambda: mi_cvx.discrete_channel(p3, 0.3, stealth_weight=1.0), id="discrete-paper-weight"),
        pytest.param(lambda: mi_cvx.discrete_channel(p3, 0.3, knows="nothing", stealth_weight=1.0),
                     id="discrete-blind-weight"),
        pytest.param(lambda: mi_cvx.binary_channel(p2, 0.2, stealth_weight=1.0), id="binary-paper-weight"),
        pytest.param(lambda: mi_cvx.binary_channel(p2, 0.2, knows="nothing", stealth_weight=1.0),
                     id="binary-blind-weight"),
        pytest.param(lambda: mi_cvx.discrete_channel(p3, 0.3, stealth=0.01), id="discrete-paper-cap"),
    ]


@pytest.mark.parametrize("build", _convexity_cases())
def test_verify_convexity(build):
    report = mi_cvx.verify_convexity(build(), trials=30)
    assert report.passed, str(report)


def test_gaussian_attack_space_of_a_blind_problem_is_blind():
    # verify_convexity's Jensen and admissible-set checks must run on the blind attacker's set
    A = np.array([[1.0, 0.5], [0.0, 1.0], [0.3, -0.2]])
    space = attack_space(mi_cvx.gaussian_vector(A, 1.0, 1.0, 0.5, knows="nothing"))
    n, m = 2, 3
    rng = np.random.default_rng(0)
    for _ in range(20):
        joint = space.sample(rng)
        assert np.abs(joint[n + m:, :n + m]).max() <= 1e-12, "a blind attack is independent of (Y, N)"
    paper_attack = np.zeros((n + 2 * m, n + 2 * m))  # Delta = -0.1 A Y: correlated with Y
    paper_attack[:n, :n] = np.eye(n)
    paper_attack[n:n + m, n:n + m] = 0.5 * np.eye(m)
    paper_attack[n + m:, :n] = -0.1 * A
    paper_attack[:n, n + m:] = -0.1 * A.T
    paper_attack[n + m:, n + m:] = 0.01 * A @ A.T
    assert space.violation(paper_attack) > space.tol


def test_gaussian_attack_space_sees_the_stealth_terms():
    # ... and on what is minimised (I + weight KL) and the cap's set
    A = np.array([[1.0, 0.5], [0.0, 1.0], [0.3, -0.2]])
    weighted = mi_cvx.gaussian_vector(A, 1.0, 1.0, 0.5, knows="nothing", stealth_weight=2.0)
    space = attack_space(weighted)
    n, m = 2, 3
    joint = np.zeros((n + 2 * m, n + 2 * m))
    joint[:n, :n], joint[n:n + m, n:n + m], joint[n + m:, n + m:] = np.eye(n), 0.5 * np.eye(m), 0.3 * np.eye(m)
    cov_x = A @ A.T + 0.5 * np.eye(m)
    mi = _no_attack_mi(A, np.eye(n), 0.8 * np.eye(m))  # Delta ~ N(0, 0.3 I): Z = A Y + N', Cov(N') = 0.8 I
    kl = info.gaussian_kl(cov_x + 0.3 * np.eye(m), cov_x)
    assert space.mi(joint) == pytest.approx(mi + 2.0 * kl, rel=1e-9)
    capped = attack_space(mi_cvx.gaussian_vector(A, 1.0, 1.0, 0.5, knows="nothing", stealth=0.5 * kl))
    assert capped.violation(joint) > capped.tol


# ------------------------------------------------------------- 9. bad input

_A = np.array([[1.0, 0.5], [0.0, 1.0], [0.3, -0.2]])
_P3 = np.array([[0.2, 0.1], [0.1, 0.3], [0.2, 0.1]])
FACTORIES = {
    "gaussian_scalar": lambda **kw: mi_cvx.gaussian_scalar(1.0, 0.5, 0.3, **kw),
    "gaussian_vector": lambda **kw: mi_cvx.gaussian_vector(_A, 0.5, 1.0, 0.5, **kw),
    "gaussian_sparse": lambda **kw: mi_cvx.gaussian_sparse(_A, [0], 0.5, 1.0, 0.5, **kw),
    "binary_channel": lambda **kw: mi_cvx.binary_channel(np.array([[0.4, 0.1], [0.2, 0.3]]), 0.2, **kw),
    "discrete_channel": lambda **kw: mi_cvx.discrete_channel(_P3, 0.2, **kw),
}
BAD = [({"stealth": -1}, "stealth"), ({"stealth": float("nan")}, "stealth"), ({"stealth": float("inf")}, "stealth"),
       ({"stealth_weight": -0.5}, "stealth_weight"), ({"stealth_weight": float("inf")}, "stealth_weight"),
       ({"stealth_weight": float("nan")}, "stealth_weight"), ({"knows": "everything"}, "knows")]


@pytest.mark.parametrize("kwargs, argument", BAD, ids=[f"{k}={v}" for k, v in (next(iter(b[0].items())) for b in BAD)])
@pytest.mark.parametrize("factory", list(FACTORIES))
def test_bad_stealth_and_knows_arguments(factory, kwargs, argument):
    with pytest.raises(mi_cvx.InvalidInputError) as excinfo:
        FACTORIES[factory](**kwargs)
    assert excinfo.value.argument == argument


@pytest.mark.parametrize("kwargs, argument", [({"stealth": 0.1}, "stealth"),
                                              ({"stealth_weight": 1.0}, "stealth_weight"),
                                              ({"stealth": 0.1, "stealth_weight": 1.0}, "stealth")])
@pytest.mark.parametrize("factory", ["vector", "sparse"])
def test_stealth_needs_a_nonsingular_law_of_x(factory, kwargs, argument):
    # A 3 x 2 without noise: Cov(X) = A A^T has rank 2, KL(P_Z || P_X) is infinite off its range
    with pytest.raises(mi_cvx.InvalidInputError) as excinfo:
        if factory == "vector":
            mi_cvx.gaussian_vector(_A, 0.5, 1.0, 0.0, **kwargs)
        else:
            mi_cvx.gaussian_sparse(_A, [0, 1, 2], 0.5, 1.0, 0.0, **kwargs)
    assert excinfo.value.argument == argument
    mi_cvx.gaussian_vector(_A, 0.5, 1.0, 0.0)  # without the stealth term the model is fine


@pytest.mark.parametrize("kwargs, argument", [({"knows": "nothing"}, "knows"), ({"stealth": 0.1}, "stealth"),
                                              ({"stealth_weight": 1.0}, "stealth_weight")])
def test_discrete_blind_and_stealth_need_one_alphabet(kwargs, argument):
    with pytest.raises(mi_cvx.InvalidInputError) as excinfo:
        mi_cvx.discrete_channel(_P3, 0.2, output_size=4, **kwargs)
    assert excinfo.value.argument == argument
    mi_cvx.discrete_channel(_P3, 0.2, output_size=4)  # the paper's attacker may use a larger alphabet


@pytest.mark.parametrize("name, value", [("stealth", -1.0), ("stealth", float("nan")), ("stealth_weight", -1.0),
                                         ("stealth_weight", float("inf"))])
@pytest.mark.parametrize("factory", ["gaussian_vector", "discrete_channel"])
def test_bad_stealth_parameter_value(factory, name, value):
    problem = FACTORIES[factory](**{name: 0.1})
    with pytest.raises(mi_cvx.InvalidInputError) as excinfo:
        problem.parameters[name].value = value
        problem.solve()
    assert excinfo.value.argument == name


def test_discrete_blind_budget_below_least_shift_cost():
    p = np.array([[0.3, 0.2], [0.1, 0.1], [0.2, 0.1]])
    d = np.array([[0.0, 1.0, 1.0], [1.0, 1.0, 0.0], [1.0, 0.0, 1.0]])  # paper's least cost 0, every shift >= 0.5
    with pytest.raises(mi_cvx.InvalidInputError) as excinfo:
        mi_cvx.discrete_channel(p, 0.1, distortion=d, knows="nothing").solve()
    assert excinfo.value.argument == "budget"


def test_discrete_blind_no_attack_ceiling_with_a_lossy_cheapest_map():
    # The cheapest map (0, 1 -> 0; 2 -> 2) keeps no information; shift 0 (no attack) costs p(X = 1) = 0.35.
    p = np.array([[0.3, 0.05], [0.05, 0.3], [0.15, 0.15]])
    d = np.array([[0.0, 1.0, 1.0], [0.0, 1.0, 1.0], [1.0, 1.0, 0.0]])
    result = _solve(mi_cvx.discrete_channel(p, 0.4, distortion=d, knows="nothing"), "CLARABEL")
    ref, _ = _brute_force_blind(p, d, 0.4, np.random.default_rng(0))
    _close(result.mi, ref, result.tolerance, what="discrete blind, lossy cheapest map")


def test_a_blind_attack_without_any_bound_is_refused_at_solve_time_but_own_constraints_bound_it():
    """budget=None keeps its meaning: the user's own constraints (or a stealth term) may bound the attack."""
    import cvxpy as cp

    problem = mi_cvx.gaussian_vector([[1.0], [0.5]], None, 1.0, 0.2, knows="nothing")
    with pytest.raises(mi_cvx.InvalidInputError, match="needs a budget") as info:
        problem.solve()
    assert info.value.argument == "budget"
    capped = problem.with_constraints(lambda v: [cp.trace(v["attack_cov"]) <= 1.0])
    reference = oracles.blind_gaussian(np.array([[1.0], [0.5]]), 1.0, 1.0, 0.2).mi
    result = capped.solve()
    assert abs(result.mi - reference) <= result.tolerance * (1 + reference)
