"""The certified blind Gaussian attack with a budget and stealth terms (:mod:`mi_cvx.gaussian_blind`).

References are independent of the module under test: the closed forms of docs/theory.md
sections 8-9 in :mod:`mi_cvx.oracles`, and a CVXPY model of the section 8 SDP (plus the KL
written with ``log_det`` and ``trace``) solved by Clarabel, written here from the definitions.
Seeds are fixed.  The IEEE 300-bus checks are marked timing; they print their timings
(``pytest -s -m timing tests/test_gaussian_blind.py``).
"""

from __future__ import annotations

import time

import cvxpy as cp
import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from mi_cvx import oracles
from mi_cvx.errors import InvalidInputError
from mi_cvx.gaussian_blind import BlindSolution, BlindWarmState, solve_blind

pytestmark = pytest.mark.filterwarnings("ignore:Solution may be inaccurate:UserWarning")


@pytest.fixture(autouse=True)
def one_blas_thread():
    """The references' eigen-decompositions too: threaded OpenBLAS crawls on a shared 2-core machine."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield

CLARABEL = {"tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10, "tol_feas": 1e-10}
REL = 1e-6  # agreement with a reference, |v - v*| / (1 + |v*|)
GAP = 1e-7  # certified gap (the default gap_tol)


def rel(value: float, reference: float) -> float:
    return abs(value - reference) / (1.0 + abs(reference))


def logdet(mat: np.ndarray) -> float:
    sign, val = np.linalg.slogdet(mat)
    assert sign > 0
    return float(val)


def blind_terms(A, sy, sn, S) -> tuple[float, float]:
    """``(I, KL)`` of the attack ``S`` from the definitions (``SX`` assumed definite)."""
    sx = A @ sy @ A.T + sn
    mi = 0.5 * (logdet(sx + S) - logdet(sn + S))
    kl = 0.5 * (np.trace(np.linalg.solve(sx, S)) - logdet(sx + S) + logdet(sx))
    return mi, kl


def cvx_reference(A, sy, sn, budget=None, weight=None, cap=None, *, repair: bool = True) -> float:
    """``min I + w KL`` by Clarabel on the SDP of docs/theory.md section 8 (``I = 0.5 logdet SY - 0.5 logdet P``).

    With ``repair`` the value is that of Clarabel's attack made exactly feasible (negative
    eigenvalues clipped, then shrunk into the budget and the cap) and evaluated from the
    definitions: an upper bound on the optimum, so a valid lower bound never exceeds it.
    """
    m, n = A.shape
    unit = float(np.trace(A @ sy @ A.T + sn)) / m  # I and KL are scale-free: solve in units of SX
    A, sn = A / np.sqrt(unit), sn / unit
    budget = None if budget is None else budget / unit
    sx = A @ sy @ A.T + sn
    sx = 0.5 * (sx + sx.T)
    S = cp.Variable((m, m), PSD=True)
    P = cp.Variable((n, n), symmetric=True)
    block = cp.bmat([[sy - P, sy @ A.T], [A @ sy, sx + S]])
    cons = [0.5 * (block + block.T) >> 0]
    objective = 0.5 * logdet(sy) - 0.5 * cp.log_det(P)
    if weight is not None or cap is not None:
        kl = 0.5 * (cp.trace(np.linalg.inv(sx) @ S) - cp.log_det(sx + S) + logdet(sx))
        if weight:
            objective = objective + weight * kl
        if cap is not None:
            cons.append(kl <= cap)
    if budget is not None:
        cons.append(cp.trace(S) <= budget)
    problem = cp.Problem(cp.Minimize(objective), cons)
    problem.solve(solver="CLARABEL", **CLARABEL)
    if problem.status != "optimal":  # the tight tolerances stalled: Clarabel's defaults
        problem.solve(solver="CLARABEL")
    assert problem.status in ("optimal", "optimal_inaccurate"), problem.status
    if not repair:
        return float(problem.value)
    lam, vec = np.linalg.eigh(0.5 * (S.value + S.value.T))
    att = (vec * np.maximum(lam, 0.0)) @ vec.T
    if budget is not None and np.trace(att) > budget:
        att *= budget / np.trace(att)
    if cap is not None and blind_terms(A, sy, sn, att)[1] > cap:
        lo, hi = 0.0, 1.0
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if blind_terms(A, sy, sn, mid * att)[1] <= cap else (lo, mid)
        att = lo * att
    mi, kl_value = blind_terms(A, sy, sn, att)
    value = mi + (weight or 0.0) * kl_value
    assert rel(value, problem.value) <= 1e-6  # the repair moves the value by the solver's tolerance only
    return value


def random_pd(rng, size: int, floor: float = 0.2) -> np.ndarray:
    b = rng.normal(size=(size, size))
    return b @ b.T / size + floor * np.eye(size)


def random_instance(seed: int):
    """A small model with scales from 1e-3 to 1e3 and one of four kinds of noise.

    ``SX = R + SN`` is kept definite (the stealth terms need it): singular noise has rank
    ``m - min(m, n)`` (none at all when ``m <= n``).
    """
    rng = np.random.default_rng(seed)
    m, n = int(rng.integers(1, 6)), int(rng.integers(1, 6))
    scale = 10.0 ** rng.uniform(-3, 3)
    A = rng.normal(size=(m, n)) * np.sqrt(scale)
    sy = random_pd(rng, n) * rng.uniform(0.5, 2.0)
    kind = seed % 4
    if kind == 0:  # correlated, definite
        sn = scale * random_pd(rng, m, 0.1)
    elif kind == 1:  # correlated, singular (when m > 1)
        r = max(m - min(m, n), 1)
        b = rng.normal(size=(m, r))
        sn = scale * b @ b.T / max(r, 1)
    elif kind == 2:  # heterogeneous, diagonal
        sn = scale * np.diag(10.0 ** rng.uniform(-1, 1, m))
    else:  # isotropic
        sn = scale * rng.uniform(0.1, 2.0) * np.eye(m)
    budget = scale * rng.uniform(0.05, 5.0)
    weight = 10.0 ** rng.uniform(-1, 0.5)
    cap = 10.0 ** rng.uniform(-2, -0.5)
    return A, sy, sn, budget, weight, cap


COMBOS = [
    ("budget",),
    ("budget", "weight"),
    ("weight",),
    ("budget", "cap"),
    ("cap",),
    ("weight", "cap"),
    ("budget", "weight", "cap"),
]


def check_solution(sol: BlindSolution, A, sy, sn, budget, weight, cap, reference: float | None = None):
    m = A.shape[0]
    S = sol.attack_cov
    assert S.shape == (m, m)
    assert np.allclose(S, S.T, atol=1e-14 * max(1.0, np.abs(S).max()))
    scale = max(np.abs(S).max(), np.abs(sn).max(), 1e-300)
    assert np.linalg.eigvalsh(S).min() >= -1e-12 * scale
    assert sol.budget_used == pytest.approx(np.trace(S), rel=1e-12, abs=1e-300)
    if budget is not None:
        assert sol.budget_used <= budget
        assert sol.dual is not None and sol.dual >= 0.0
    else:
        assert sol.dual is None
    mi, kl = blind_terms(A, sy, sn, S)
    assert rel(sol.mi, mi) <= 1e-9
    stealth = weight is not None or cap is not None
    if stealth:
        assert sol.kl is not None and rel(sol.kl, kl) <= 1e-9
        assert sol.objective == pytest.approx(sol.mi + (weight or 0.0) * sol.kl, rel=1e-12, abs=1e-15)
    else:
        assert sol.kl is None and sol.objective == sol.mi
    if cap is not None:
        assert sol.kl <= cap * (1.0 + 1e-9)
        assert sol.dual_stealth is not None and sol.dual_stealth >= 0.0
    else:
        assert sol.dual_stealth is None
    assert 0.0 <= sol.gap <= GAP
    assert sol.lower_bound <= sol.objective
    assert sol.gap == pytest.approx(sol.objective - sol.lower_bound, abs=1e-15)
    assert isinstance(sol.state, BlindWarmState)
    assert sol.iterations >= 0 and sol.factorizations > 0
    if reference is not None:
        assert rel(sol.objective, reference) <= REL, (sol.objective, reference)
        assert sol.lower_bound <= reference + 1e-7, (sol.lower_bound, reference)


# ------------------------------------------------------------------ against the CVXPY model


@pytest.mark.parametrize("seed", range(12))
def test_random_small_instances_match_cvxpy(seed):
    A, sy, sn, budget, weight, cap = random_instance(seed)
    for combo in COMBOS:
        kw = {
            "budget": budget if "budget" in combo else None,
            "weight": weight if "weight" in combo else None,
            "cap": cap if "cap" in combo else None,
        }
        sol = solve_blind(A, sy, sn, kw["budget"], stealth_weight=kw["weight"], stealth_cap=kw["cap"])
        reference = cvx_reference(A, sy, sn, **kw)
        check_solution(sol, A, sy, sn, reference=reference, **kw)


@pytest.mark.parametrize("noise_rank", [1, 2])
def test_singular_observation_covariance_budget_only(noise_rank):
    """``SX`` singular (noise and signal leave a direction empty): the solver works on ``range(SX)``.

    With rank-2 noise ``SX`` has rank 3 of 4: Cholesky may get through it on rounding, so the
    reduction must also catch a numerically singular ``SX`` (a condition estimate).
    """
    rng = np.random.default_rng(7 + noise_rank)
    m, n = 4, 1
    A = rng.normal(size=(m, n))
    b = rng.normal(size=(m, noise_rank))
    sn = b @ b.T / noise_rank  # SX has rank 1 + noise_rank
    sy = np.eye(n)
    for budget in (0.05, 1.0, 30.0):
        sol = solve_blind(A, sy, sn, budget)
        reference = cvx_reference(A, sy, sn, budget=budget, repair=False)
        assert rel(sol.objective, reference) <= REL
        assert sol.lower_bound <= reference + 1e-7
        assert 0.0 <= sol.gap <= GAP and sol.budget_used <= budget
        # nothing is spent outside range(SX)
        sx = A @ sy @ A.T + sn
        lam, vec = np.linalg.eigh(sx)
        null = vec[:, lam < 1e-12 * lam.max()]
        assert np.abs(null.T @ sol.attack_cov @ null).max() <= 1e-12 * budget


def test_singular_noise_budget_and_weight():
    """Low-rank noise leaves directions where only the attack hides the signal: the start must cover them."""
    rng = np.random.default_rng(21)
    m, n = 9, 9
    A = rng.normal(size=(m, n)) * 0.3
    sy = random_pd(rng, n)
    b = rng.normal(size=(m, 2))
    sn = b @ b.T * 0.05  # rank 2 of 9
    for weight in (None, 0.05, 2.0):
        sol = solve_blind(A, sy, sn, 0.2, stealth_weight=weight)
        reference = cvx_reference(A, sy, sn, budget=0.2, weight=weight)
        check_solution(sol, A, sy, sn, 0.2, weight, None, reference=reference)
        assert np.linalg.eigvalsh(sn + sol.attack_cov).min() > 0.0


# ------------------------------------------------------------------ against the closed forms


@pytest.mark.parametrize("seed", range(4))
def test_isotropic_noise_matches_closed_form(seed):
    rng = np.random.default_rng(100 + seed)
    m, n = int(rng.integers(5, 40)), int(rng.integers(2, 20))
    scale = 10.0 ** rng.uniform(-3, 3)
    A = rng.normal(size=(m, n)) * np.sqrt(scale)
    sy = random_pd(rng, n)
    noise = scale * rng.uniform(0.05, 3.0)
    for budget in scale * np.array([0.01, 0.5, 20.0]):
        sol = solve_blind(A, sy, noise, budget)
        ref = oracles.blind_gaussian(A, budget, sy, noise)
        assert rel(sol.mi, ref.mi) <= REL
        assert sol.lower_bound <= ref.mi + 1e-9 * (1 + ref.mi)
        assert sol.dual == pytest.approx(ref.dual, rel=1e-6)
        assert 0.0 <= sol.gap <= GAP and sol.budget_used <= budget


def test_commuting_and_zero_noise_match_closed_form():
    rng = np.random.default_rng(11)
    m, n = 12, 5
    A = rng.normal(size=(m, n))
    sy = random_pd(rng, n)
    _, U = np.linalg.eigh(A @ sy @ A.T)
    noise = (U * rng.uniform(0.1, 3.0, m)) @ U.T  # commutes with R, heterogeneous
    noise = 0.5 * (noise + noise.T)
    for sn in (noise, 0.0):
        for budget in (0.1, 3.0):
            sol = solve_blind(A, sy, sn, budget)
            ref = oracles.blind_gaussian(A, budget, sy, sn)
            assert ref is not None
            assert rel(sol.mi, ref.mi) <= REL
            assert sol.lower_bound <= ref.mi + 1e-9 * (1 + ref.mi)
            assert 0.0 <= sol.gap <= GAP


@pytest.mark.parametrize("weight", [0.05, 0.6, 1.0, 7.0])
def test_weight_without_budget_matches_closed_form(weight):
    rng = np.random.default_rng(int(weight * 100))
    m, n = 25, 8
    A = rng.normal(size=(m, n)) * 3.0
    sy = random_pd(rng, n)
    sn = np.diag(10.0 ** rng.uniform(-1, 1, m))
    sol = solve_blind(A, sy, sn, stealth_weight=weight)
    ref = oracles.stealth_blind_gaussian(A, weight, sy, sn)
    assert rel(sol.objective, ref.objective) <= 1e-9
    assert sol.lower_bound <= ref.objective + 1e-9
    assert 0.0 <= sol.gap <= GAP
    assert np.allclose(sol.attack_cov, ref.attack_cov, rtol=1e-7, atol=1e-9 * np.abs(ref.attack_cov).max())
    # a budget the unconstrained optimum respects does not bind: same answer, zero multiplier
    roomy = solve_blind(A, sy, sn, 2.0 * np.trace(ref.attack_cov), stealth_weight=weight)
    assert rel(roomy.objective, ref.objective) <= 1e-9
    assert roomy.dual == pytest.approx(0.0, abs=1e-9)


# ------------------------------------------------------------------ multipliers


def central_difference(fun, x: float, h: float) -> float:
    return (fun(x * (1 + h)) - fun(x * (1 - h))) / (2 * h * x)


@pytest.mark.parametrize("seed", [0, 2, 3])
def test_budget_multiplier_is_the_slope(seed):
    A, sy, sn, budget, weight, cap = random_instance(seed)
    for kw in ({}, {"stealth_weight": weight}, {"stealth_cap": cap}):
        sol = solve_blind(A, sy, sn, budget, gap_tol=1e-12, **kw)

        def value(d, kw=kw):
            return solve_blind(A, sy, sn, d, gap_tol=1e-12, **kw).objective

        slope = central_difference(value, budget, 1e-4)
        assert sol.dual == pytest.approx(-slope, rel=1e-4, abs=1e-8 * (1 + abs(sol.objective)) / budget)


def test_cap_multiplier_is_the_slope():
    A, sy, sn, budget, weight, cap = random_instance(4)
    for d in (None, budget):
        sol = solve_blind(A, sy, sn, d, stealth_cap=cap, stealth_weight=weight, gap_tol=1e-12)
        assert sol.dual_stealth > 0.0  # the cap binds here

        def value(c, d=d):
            return solve_blind(A, sy, sn, d, stealth_cap=c, stealth_weight=weight, gap_tol=1e-12).objective

        slope = central_difference(value, cap, 1e-4)
        assert sol.dual_stealth == pytest.approx(-slope, rel=1e-4)


# ------------------------------------------------------------------ warm starts and edge cases


def heterogeneous_model(seed: int, m: int, n: int):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(m, n))
    sy = random_pd(rng, n)
    sn = np.diag(10.0 ** rng.uniform(-0.5, 0.5, m)) * 0.3
    return A, sy, sn


def test_warm_start_cuts_iterations():
    A, sy, sn = heterogeneous_model(5, 60, 20)
    budget = 4.0
    first = solve_blind(A, sy, sn, budget)
    cold = solve_blind(A, sy, sn, 1.1 * budget)
    warm = solve_blind(A, sy, sn, 1.1 * budget, warm=first.state)
    assert warm.iterations < cold.iterations
    assert rel(warm.objective, cold.objective) <= 1e-9
    assert warm.gap <= GAP and cold.gap <= GAP
    # a warm state also serves another weight
    other = solve_blind(A, sy, sn, budget, stealth_weight=0.5, warm=first.state)
    assert other.gap <= GAP


def test_no_budget_and_no_stealth_is_refused():
    with pytest.raises(ValueError, match="unbounded"):
        solve_blind(np.eye(2), 1.0, 1.0)
    with pytest.raises(InvalidInputError):
        solve_blind(np.eye(2), 1.0, 1.0, -1.0)
    with pytest.raises(InvalidInputError):
        solve_blind(np.eye(2), 1.0, 1.0, 1.0, warm=BlindWarmState(np.zeros((3, 3))))


def test_degenerate_cases():
    A = np.array([[1.0, 0.5], [0.0, 1.0], [2.0, -1.0]])
    sn = np.diag([0.5, 1.0, 0.0])  # singular noise: I(0) is infinite
    zero_budget = solve_blind(A, 1.0, sn, 0.0)
    assert np.all(zero_budget.attack_cov == 0.0)
    assert zero_budget.mi == np.inf and zero_budget.gap == 0.0
    finite = solve_blind(A, 1.0, 0.5, 0.0)
    assert finite.mi == pytest.approx(blind_terms(A, np.eye(2), 0.5 * np.eye(3), np.zeros((3, 3)))[0], rel=1e-12)
    assert finite.gap == 0.0 and finite.dual > 0.0
    # a zero cap allows no attack at all
    closed = solve_blind(A, 1.0, 0.5, 2.0, stealth_cap=0.0)
    assert np.all(closed.attack_cov == 0.0) and closed.kl == 0.0 and closed.gap == 0.0
    # no signal reaches X: nothing to hide
    nothing = solve_blind(np.zeros((3, 2)), 1.0, 0.5, 2.0, stealth_weight=1.0)
    assert nothing.mi == 0.0 and nothing.objective == 0.0 and nothing.budget_used == 0.0
    # singular noise with a budget: the attack covers the noiseless direction
    covered = solve_blind(A, 1.0, sn, 0.3)
    reference = cvx_reference(A, np.eye(2), sn, budget=0.3)
    assert rel(covered.objective, reference) <= REL and covered.gap <= GAP


# ------------------------------------------------------------------ IEEE 300-bus (timing; prints timings)


@pytest.fixture(scope="module")
def ieee300():
    from mi_cvx.grids import measurement_matrix, state_covariance

    A = measurement_matrix("case300")
    sy = state_covariance("case300")
    R = A @ sy @ A.T
    m = A.shape[0]
    noise = float(np.trace(R)) / (10.0 * m)  # SNR 10 per measurement
    rng = np.random.default_rng(300)
    hetero = np.diag(noise * 10.0 ** rng.uniform(-0.5, 0.5, m))  # variances over a decade
    return A, sy, noise, hetero, 0.1 * float(np.trace(R))


def timed(label: str, fun):
    start = time.perf_counter()
    sol = fun()
    elapsed = time.perf_counter() - start
    print(f"\n[300-bus] {label}: {elapsed:.2f} s, {sol.iterations} Newton iterations, "
          f"{sol.factorizations} factorizations, gap {sol.gap:.2e}, objective {sol.objective:.10f}")
    return sol


@pytest.mark.timing
def test_ieee300_isotropic_budget(ieee300):
    A, sy, noise, _, budget = ieee300
    sol = timed("isotropic noise, budget", lambda: solve_blind(A, sy, noise, budget))
    ref = oracles.blind_gaussian(A, budget, sy, noise)
    assert rel(sol.mi, ref.mi) <= 1e-6 and sol.gap <= GAP


@pytest.mark.timing
def test_ieee300_stealth_weight(ieee300):
    A, sy, _, hetero, _ = ieee300
    sol = timed("heterogeneous noise, weight 1, no budget", lambda: solve_blind(A, sy, hetero, stealth_weight=1.0))
    ref = oracles.stealth_blind_gaussian(A, 1.0, sy, hetero)
    assert rel(sol.objective, ref.objective) <= 1e-6 and sol.gap <= GAP


@pytest.mark.timing
def test_ieee300_heterogeneous_budget(ieee300):
    A, sy, _, hetero, budget = ieee300
    sol = timed("heterogeneous noise, budget", lambda: solve_blind(A, sy, hetero, budget))
    assert sol.gap <= GAP and sol.budget_used <= budget
    warm = timed("  the same, budget x 1.1, warm", lambda: solve_blind(A, sy, hetero, 1.1 * budget, warm=sol.state))
    assert warm.gap <= GAP and warm.iterations < sol.iterations
    both = timed("heterogeneous noise, budget + weight 0.3", lambda: solve_blind(A, sy, hetero, budget,
                                                                                  stealth_weight=0.3))
    assert both.gap <= GAP and both.budget_used <= budget
