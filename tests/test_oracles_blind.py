"""The blind attacker and the stealth objective (docs/theory.md sections 8-9), and the KL measures.

Every closed form is checked against a reference written here from the problem's definition (a
dual bisection, SLSQP, brute force over the flip probability or the simplex, a CVXPY model of the
SDP), never against the function under test itself.  Seeds are fixed.
"""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest
import scipy.special
import scipy.stats
from scipy.optimize import minimize, minimize_scalar

import mi_cvx
from mi_cvx import InvalidInputError, info, oracles

# ---------------------------------------------------------------- independent references


def random_orthogonal(rng: np.random.Generator, m: int) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(m, m)))
    return q * np.sign(np.diag(r))


def random_pd(rng: np.random.Generator, m: int, floor: float = 0.1) -> np.ndarray:
    b = rng.normal(size=(m, m))
    return b @ b.T / m + floor * np.eye(m)


def logdet(mat: np.ndarray) -> float:
    sign, val = np.linalg.slogdet(mat)
    assert sign > 0
    return float(val)


def blind_mi(A, sy, sn, S) -> float:
    """I(Y; A Y + N + Delta) for Delta ~ N(0, S) independent: the definition, 0.5 log det(SX + S) / det(SN + S)."""
    sx = A @ sy @ A.T + sn
    return 0.5 * (logdet(sx + S) - logdet(sn + S))


def naive_gaussian_kl(P, Q) -> float:
    m = P.shape[0]
    return 0.5 * (np.trace(np.linalg.solve(Q, P)) - m - logdet(P) + logdet(Q))


def channel_allocation(r: np.ndarray, s: np.ndarray, budget: float) -> np.ndarray:
    """argmin sum_i 0.5 log(1 + r_i / (s_i + sigma_i)) over sigma >= 0, sum sigma = budget, by dual bisection.

    The outer bisection is on the multiplier mu (log scale); for each mu every channel's sigma_i solves
    -d/dsigma [0.5 log(1 + r / (s + sigma))] = r / (2 w (w + r)) = mu (w = s + sigma) by its own
    bisection on log w (no closed-form root), or is 0 when the slope at sigma = 0 is below mu.
    """
    r, s = np.asarray(r, float), np.asarray(s, float)

    def sigma(mu: float) -> np.ndarray:
        target = r / (2.0 * mu)  # w (w + r) = target
        w_hi = np.sqrt(target) * (1 + 1e-12) + 1e-300
        w_lo = np.maximum(s, 0.5 * target / (w_hi + r))
        lo, hi = np.log(w_lo), np.log(w_hi)
        for _ in range(70):
            mid = 0.5 * (lo + hi)
            w = np.exp(mid)
            big = w * (w + r) > target
            lo, hi = np.where(big, lo, mid), np.where(big, mid, hi)
        w = np.exp(0.5 * (lo + hi))
        active = (s == 0) | (r / (2.0 * s * (s + r) + 1e-300) > mu)
        return np.where(active & (r > 0), np.maximum(w - s, 0.0), 0.0)

    lo, hi = -1.0, 1.0  # log mu: sum sigma decreases in mu
    while sigma(np.exp(lo)).sum() < budget:
        lo *= 2.0
    while sigma(np.exp(hi)).sum() > budget:
        hi *= 2.0
    for _ in range(70):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if sigma(np.exp(mid)).sum() > budget else (lo, mid)
    sig = sigma(np.exp(0.5 * (lo + hi)))
    return sig * budget / sig.sum()


def channel_value(r, s, budget) -> float:
    sig = channel_allocation(r, s, budget)
    return float(np.sum(0.5 * np.log1p(np.asarray(r) / (np.asarray(s) + sig))))


def normalised(A, sy, sn):
    """The same model in units where tr SY / n = tr SX / m = 1 (I and KL do not change): ``(A, SY, SN, cx)``."""
    m, n = A.shape
    cy = np.trace(sy) / n
    cx = np.trace(A @ sy @ A.T + sn) / m
    return A * np.sqrt(cy / cx), sy / cy, sn / cx, cx


def sdp_blind(A, sy, sn, budget) -> float:
    """min I over S >> 0, tr S <= D: the LMI of docs/theory.md section 8, solved by CLARABEL."""
    A, sy, sn, cx = normalised(A, sy, sn)
    m, n = A.shape
    P = cp.Variable((n, n), symmetric=True)
    S = cp.Variable((m, m), PSD=True)
    sx = A @ sy @ A.T + sn
    lmi = cp.bmat([[sy - P, sy @ A.T], [A @ sy, sx + S]])
    prob = cp.Problem(cp.Minimize(-0.5 * cp.log_det(P)), [0.5 * (lmi + lmi.T) >> 0, cp.trace(S) <= budget / cx])
    prob.solve(solver="CLARABEL")
    assert prob.status == "optimal"
    return float(prob.value) + 0.5 * logdet(sy)


def sdp_stealth(A, sy, sn, weight) -> float:
    """min I + weight KL(N(0, SX + S) || N(0, SX)) over S >> 0 (no power budget), by CLARABEL."""
    A, sy, sn, _ = normalised(A, sy, sn)
    m, n = A.shape
    P = cp.Variable((n, n), symmetric=True)
    S = cp.Variable((m, m), PSD=True)
    sx = A @ sy @ A.T + sn
    sx_inv = np.linalg.inv(sx)
    lmi = cp.bmat([[sy - P, sy @ A.T], [A @ sy, sx + S]])
    mi = -0.5 * cp.log_det(P) + 0.5 * logdet(sy)
    kl = 0.5 * (cp.trace(sx_inv @ (sx + S)) - m - cp.log_det(sx + S) + logdet(sx))
    prob = cp.Problem(cp.Minimize(mi + weight * kl), [0.5 * (lmi + lmi.T) >> 0])
    prob.solve(solver="CLARABEL")
    assert prob.status == "optimal"
    return float(prob.value)


def commuting_instance(rng, m, n, *, noiseless: int = 0, scale_spread: float = 3.0):
    """``(A, SY, SN, r, s)`` with A SY A^T = U diag(r) U^T and SN = U diag(s) U^T for a random orthogonal U."""
    U = random_orthogonal(rng, m)
    k = min(m, n)
    r = np.zeros(m)
    r[:k] = 10.0 ** rng.uniform(-scale_spread, scale_spread, k)
    s = 10.0 ** rng.uniform(-scale_spread, scale_spread, m)
    s[:noiseless] = 0.0
    sy = random_pd(rng, n)
    L = np.linalg.cholesky(sy)
    V = random_orthogonal(rng, n)
    A = U[:, :k] @ (np.sqrt(r[:k])[:, None] * V[:k, :]) @ np.linalg.inv(L)
    sn = (U * s) @ U.T
    return A, sy, 0.5 * (sn + sn.T), r, s


# ---------------------------------------------------------------- blind Gaussian (section 8)

BLIND_CASES = [  # (seed, m, n, noiseless channels, isotropic)
    (1, 3, 2, 0, False), (2, 4, 4, 0, False), (3, 2, 3, 1, False), (4, 4, 2, 2, False),
    (5, 3, 3, 0, True), (6, 1, 2, 0, True), (7, 4, 3, 0, True), (8, 3, 1, 1, False),
]


def blind_instance(seed, m, n, noiseless, isotropic):
    rng = np.random.default_rng(seed)
    if isotropic:
        A = rng.normal(size=(m, n)) * 10.0 ** rng.uniform(-2, 2)
        sy = random_pd(rng, n)
        s_iso = 10.0 ** rng.uniform(-2, 2)
        sn = s_iso * np.eye(m)
        r = np.linalg.eigvalsh(A @ sy @ A.T)
        r = np.where(r > 1e-12 * r.max(), r, 0.0)
        s = np.full(m, s_iso)
        noise_arg = s_iso
    else:
        A, sy, sn, r, s = commuting_instance(rng, m, n, noiseless=noiseless)
        noise_arg = sn
    budget = float(np.sum(r)) * 10.0 ** rng.uniform(-3, 3)
    return A, sy, sn, noise_arg, r, s, budget


@pytest.mark.parametrize("case", BLIND_CASES)
def test_blind_gaussian_matches_dual_bisection(case):
    A, sy, sn, noise_arg, r, s, budget = blind_instance(*case)
    sol = oracles.blind_gaussian(A, budget, sy, noise_arg)
    assert sol is not None
    ref = channel_value(r, s, budget)
    assert sol.mi == pytest.approx(ref, rel=1e-9)
    # the attack achieves the value, the budget binds, the information stays positive
    assert blind_mi(A, sy, sn, sol.attack_cov) == pytest.approx(sol.mi, rel=1e-8, abs=1e-14)
    assert np.trace(sol.attack_cov) == pytest.approx(budget, rel=1e-12)
    assert sol.sigma.sum() == pytest.approx(budget, rel=1e-12)
    assert np.linalg.eigvalsh(sol.attack_cov).min() >= -1e-12 * budget
    assert sol.mi > 0.0
    # per-channel allocation, sorted by the channels' signal power
    ref_sigma = channel_allocation(r, s, budget)
    order = np.argsort(-r, kind="stable")[: sol.sigma.size]
    np.testing.assert_allclose(np.sort(sol.sigma), np.sort(ref_sigma[order]), rtol=1e-7, atol=1e-12 * budget)
    # no attack on channels without signal: S* lives on the range of A SY A^T
    R = A @ sy @ A.T
    null = np.linalg.eigh(R)[1][:, np.linalg.eigvalsh(R) <= 1e-10 * np.abs(R).max()]
    assert np.abs(null.T @ sol.attack_cov @ null).max(initial=0.0) <= 1e-10 * budget


@pytest.mark.parametrize("case", BLIND_CASES)
def test_blind_gaussian_dual_is_the_slope(case):
    A, sy, _, noise_arg, r, s, budget = blind_instance(*case)
    sol = oracles.blind_gaussian(A, budget, sy, noise_arg)
    assert sol is not None
    h = 1e-6 * budget
    fd = -(channel_value(r, s, budget + h) - channel_value(r, s, budget - h)) / (2 * h)
    assert sol.dual == pytest.approx(fd, rel=1e-5)
    assert sol.dual == pytest.approx(0.5 / sol.level, rel=1e-14)
    # and the function's own value has that slope too
    own = -(oracles.blind_gaussian(A, budget + h, sy, noise_arg).mi
            - oracles.blind_gaussian(A, budget - h, sy, noise_arg).mi) / (2 * h)
    assert own == pytest.approx(sol.dual, rel=1e-5)


@pytest.mark.parametrize("case", BLIND_CASES[:6])
def test_blind_gaussian_matches_the_sdp(case):
    A, sy, sn, noise_arg, _, _, budget = blind_instance(*case)
    sol = oracles.blind_gaussian(A, budget, sy, noise_arg)
    assert sol is not None
    ref = sdp_blind(A, sy, sn, budget)
    assert mi_cvx.relative_error(sol.mi, ref) <= 1e-5, (sol.mi, ref)


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_blind_gaussian_matches_slsqp(seed):
    rng = np.random.default_rng(seed)
    A, sy, sn, r, s = commuting_instance(rng, 3, 3, scale_spread=1.0)
    budget = float(np.sum(r)) * rng.uniform(0.2, 3.0)
    sol = oracles.blind_gaussian(A, budget, sy, sn)
    assert sol is not None

    def value(x):
        return float(np.sum(0.5 * np.log1p(r / (s + np.maximum(x, 0.0)))))

    start = np.full(r.size, budget / r.size)
    res = minimize(value, start, method="SLSQP", bounds=[(0.0, None)] * r.size,
                   constraints=[{"type": "eq", "fun": lambda x: x.sum() - budget}],
                   options={"ftol": 1e-15, "maxiter": 1000})
    assert res.success
    assert sol.mi == pytest.approx(res.fun, rel=1e-6)
    assert sol.mi <= res.fun + 1e-12


def test_blind_gaussian_edge_cases():
    rng = np.random.default_rng(21)
    A = rng.normal(size=(3, 2))
    # no noise and no budget: the observation reveals the signal
    sol = oracles.blind_gaussian(A, 0.0, 1.0, 0.0)
    assert sol is not None and sol.mi == np.inf and sol.dual == np.inf
    # no budget with noise: the clean information, and the best channel's slope at sigma = 0
    r = np.linalg.eigvalsh(A @ A.T)
    r = r[r > 1e-12]
    sol = oracles.blind_gaussian(A, 0.0, 1.0, 0.5)
    assert sol is not None
    assert sol.mi == pytest.approx(np.sum(0.5 * np.log1p(r / 0.5)), rel=1e-12)
    assert sol.dual == pytest.approx(np.max(r / (2 * 0.5 * (0.5 + r))), rel=1e-12)
    assert not np.any(sol.attack_cov)
    # noiseless channels with a budget: finite, and the budget binds
    sol = oracles.blind_gaussian(A, 0.3, 1.0, 0.0)
    assert sol is not None and np.isfinite(sol.mi) and sol.mi == pytest.approx(channel_value(r, 0 * r, 0.3))
    # huge and tiny budgets: still positive, still spent
    for budget in (1e-12, 1e12):
        sol = oracles.blind_gaussian(A, budget, 1.0, 0.2)
        assert sol is not None and sol.mi > 0 and np.trace(sol.attack_cov) == pytest.approx(budget, rel=1e-12)
        assert sol.mi == pytest.approx(channel_value(r, np.full(r.size, 0.2), budget), rel=1e-8)
    # no signal reaches X: nothing to do
    sol = oracles.blind_gaussian(np.zeros((2, 2)), 1.0, 1.0, 1.0)
    assert sol is not None and sol.mi == 0.0 and sol.dual == 0.0 and not np.any(sol.attack_cov)
    # noise that does not commute with A SY A^T: no closed form
    assert oracles.blind_gaussian(np.diag([1.0, 2.0]), 1.0, 1.0, [[1.0, 0.5], [0.5, 1.0]]) is None


@pytest.mark.parametrize(("kwargs", "argument"), [
    ({"A": [[1.0]], "budget": -1.0}, "budget"),
    ({"A": [[1.0]], "budget": np.nan}, "budget"),
    ({"A": [[np.inf]], "budget": 1.0}, "A"),
    ({"A": [[1.0]], "budget": 1.0, "signal_cov": 0.0}, "signal_cov"),
    ({"A": [[1.0]], "budget": 1.0, "noise_cov": -1.0}, "noise_cov"),
    ({"A": [[1.0, 0.0]], "budget": 1.0, "noise_cov": np.eye(2)}, "noise_cov"),
])
def test_blind_gaussian_rejects_bad_input(kwargs, argument):
    with pytest.raises(InvalidInputError) as err:
        oracles.blind_gaussian(**kwargs)
    assert err.value.argument == argument


# ---------------------------------------------------------------- stealth (section 9)

STEALTH_CASES = [  # (seed, m, n, weight)
    (31, 3, 2, 0.1), (32, 2, 3, 0.5), (33, 3, 3, 1.0), (34, 4, 2, 2.0), (35, 2, 2, 10.0), (36, 3, 1, 0.3),
]


def stealth_instance(seed, m, n):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(m, n))
    return A, random_pd(rng, n), random_pd(rng, m) * 10.0 ** rng.uniform(-1, 1)


@pytest.mark.parametrize("case", STEALTH_CASES)
def test_stealth_matches_the_sdp(case):
    seed, m, n, weight = case
    A, sy, sn = stealth_instance(seed, m, n)
    sol = oracles.stealth_blind_gaussian(A, weight, sy, sn)
    ref = sdp_stealth(A, sy, sn, weight)
    assert mi_cvx.relative_error(sol.objective, ref) <= 1e-5, (sol.objective, ref)
    # the attack achieves the value: I and KL re-evaluated here from their definitions
    S = sol.attack_cov
    sx = A @ sy @ A.T + sn
    mi, kl = blind_mi(A, sy, sn, S), naive_gaussian_kl(sx + S, sx)
    assert sol.mi == pytest.approx(mi, rel=1e-9, abs=1e-13)
    assert sol.kl == pytest.approx(kl, rel=1e-9, abs=1e-13)
    assert sol.objective == pytest.approx(mi + weight * kl, rel=1e-9)
    assert np.linalg.eigvalsh(S).min() >= -1e-12 * np.abs(S).max()
    assert sol.objective > 0.0


@pytest.mark.parametrize("seed", [41, 42, 43])
def test_stealth_is_stationary(seed):
    """No PSD perturbation direction lowers the objective (checked on the definition, by finite steps)."""
    rng = np.random.default_rng(seed)
    A, sy, sn = stealth_instance(seed, 3, 2)
    weight = float(10.0 ** rng.uniform(-1, 1))
    sol = oracles.stealth_blind_gaussian(A, weight, sy, sn)
    sx = A @ sy @ A.T + sn

    def objective(S):
        return blind_mi(A, sy, sn, S) + weight * naive_gaussian_kl(sx + S, sx)

    base = objective(sol.attack_cov)
    assert base == pytest.approx(sol.objective, rel=1e-10)
    for _ in range(20):
        v = rng.normal(size=3)
        step = 1e-3 * np.outer(v, v)
        assert objective(sol.attack_cov + step) >= base - 1e-12
    # (a negative step stays PSD only inside the range of S*: scale it instead)
    for factor in (0.999, 1.001):
        assert objective(factor * sol.attack_cov) >= base - 1e-12


@pytest.mark.parametrize("seed", [51, 52, 53])
def test_stealth_weight_one_is_the_signal_covariance(seed):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(3, 2))
    sy = random_pd(rng, 2)
    R = A @ sy @ A.T
    for noise in (float(10.0 ** rng.uniform(-2, 2)), random_pd(rng, 3)):
        sol = oracles.stealth_blind_gaussian(A, 1.0, sy, noise)
        np.testing.assert_allclose(sol.attack_cov, R, rtol=0, atol=1e-12 * np.abs(R).max())


@pytest.mark.parametrize("seed", [61, 62])
def test_stealth_isotropic_noise_eigenvalue_formula(seed):
    """For SN = s2 I: the eigenvalues of S* are a_i = (-s2 + sqrt(s2^2 + 4 g_i (g_i - s2) / weight)) / 2."""
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(3, 3))
    sy = random_pd(rng, 3)
    s2 = float(10.0 ** rng.uniform(-1, 1))
    g, V = np.linalg.eigh(A @ sy @ A.T + s2 * np.eye(3))
    for weight in (0.1, 0.7, 4.0):
        a = (-s2 + np.sqrt(s2 ** 2 + 4 * g * (g - s2) / weight)) / 2
        sol = oracles.stealth_blind_gaussian(A, weight, sy, s2)
        np.testing.assert_allclose(sol.attack_cov, (V * a) @ V.T, rtol=0, atol=1e-10 * a.max())


def test_stealth_rejects_bad_input():
    for kwargs, argument in [
        ({"weight": 0.0}, "weight"), ({"weight": -1.0}, "weight"), ({"weight": np.inf}, "weight"),
        ({"weight": 1.0, "noise_cov": 0.0}, "noise_cov"), ({"weight": 1.0, "noise_cov": np.diag([1.0, 0.0])},
                                                           "noise_cov"),
        ({"weight": 1.0, "signal_cov": -1.0}, "signal_cov"),
    ]:
        with pytest.raises(InvalidInputError) as err:
            oracles.stealth_blind_gaussian(np.eye(2), **kwargs)
        assert err.value.argument == argument


# ---------------------------------------------------------------- discrete blind attacker


def mi_of_joint(joint: np.ndarray) -> float:
    """I from entropies (scipy.stats.entropy): H(A) + H(B) - H(A, B)."""
    h = scipy.stats.entropy
    return float(h(joint.sum(1)) + h(joint.sum(0)) - h(joint.ravel()))


def shifted_joint(p_xy: np.ndarray, w: np.ndarray) -> np.ndarray:
    """joint[y, xhat] of (Y, X + W mod k) by explicit enumeration."""
    k, ny = p_xy.shape
    joint = np.zeros((ny, k))
    for x in range(k):
        for y in range(ny):
            for shift in range(k):
                joint[y, (x + shift) % k] += p_xy[x, y] * w[shift]
    return joint


def random_pmf(rng, shape):
    p = rng.dirichlet(np.ones(int(np.prod(shape))))
    return p.reshape(shape)


@pytest.mark.parametrize("seed", range(8))
def test_binary_blind_matches_brute_force(seed):
    rng = np.random.default_rng(100 + seed)
    p = random_pmf(rng, (2, 2))
    budget = float(rng.uniform(0.0, 0.7))
    sol = oracles.binary_blind(p, budget)

    def value(q):
        return mi_of_joint(shifted_joint(p, np.array([1 - q, q])))

    def values(qs):  # the same, vectorised over a grid of q: joint[q, y, xhat]
        flip = np.stack([np.stack([1 - qs, qs], -1), np.stack([qs, 1 - qs], -1)], 1)  # [q, x, xhat]
        joint = np.einsum("xy,qxz->qyz", p, flip)
        h = scipy.special.entr
        return h(joint.sum(2)).sum(1) + h(joint.sum(1)).sum(1) - h(joint).sum((1, 2))

    top = min(budget, 1.0)  # every feasible flip probability, beyond 1/2 too
    grid = np.linspace(0.0, top, 2001)
    grid_values = values(grid)
    assert grid_values[::400] == pytest.approx([value(q) for q in grid[::400]], abs=1e-14)
    best = grid[np.argmin(grid_values)]
    width = top / 2000
    res = minimize_scalar(value, bounds=(max(best - width, 0.0), min(best + width, top)), method="bounded",
                          options={"xatol": 1e-12})
    ref = min(float(res.fun), value(best))
    assert sol.mi == pytest.approx(ref, rel=1e-7, abs=1e-12)
    assert sol.mi <= ref + 1e-12
    assert sol.q == pytest.approx(min(budget, 0.5))
    assert value(sol.q) == pytest.approx(sol.mi, rel=1e-10, abs=1e-15)
    if budget < 0.5:
        h = 1e-6
        fd = -(value(budget + h) - value(budget - h)) / (2 * h)
        assert sol.dual == pytest.approx(fd, rel=1e-5, abs=1e-9)
    else:
        assert sol.mi == 0.0 and sol.dual == 0.0


@pytest.mark.parametrize("seed", range(10))
def test_blind_is_never_better_than_the_papers_attacker(seed):
    rng = np.random.default_rng(200 + seed)
    p = random_pmf(rng, (2, 2))
    for budget in rng.uniform(0.0, 0.6, 5):
        assert oracles.binary_oracle(p, budget).mi <= oracles.binary_blind(p, budget).mi + 1e-12


def test_binary_blind_special_cases():
    # X = Y uniform: I(q) = log 2 - H(q)
    for q in (0.0, 0.1, 0.3):
        sol = oracles.binary_blind([[0.5, 0.0], [0.0, 0.5]], q)
        assert sol.mi == pytest.approx(np.log(2) - info.binary_entropy(q), abs=1e-14)
        expected = np.inf if q == 0 else np.log((1 - q) / q)  # -d/dq (log 2 - H(q)) = log((1 - q) / q)
        assert sol.dual == pytest.approx(expected)
    # independent X and Y: nothing to hide
    sol = oracles.binary_blind(np.outer([0.3, 0.7], [0.6, 0.4]), 0.1)
    assert sol.mi == pytest.approx(0.0, abs=1e-15) and sol.dual == 0.0
    # a class with no mass
    assert oracles.binary_blind([[0.4, 0.0], [0.6, 0.0]], 0.1).mi == 0.0
    with pytest.raises(InvalidInputError) as err:
        oracles.binary_blind([[0.5, 0.5], [0.5, 0.5]], 0.1)
    assert err.value.argument == "p_xy"
    with pytest.raises(InvalidInputError) as err:
        oracles.binary_blind([[0.5, 0.0], [0.0, 0.5]], -0.1)
    assert err.value.argument == "budget"


@pytest.mark.parametrize(("k", "ny"), [(2, 2), (3, 2), (3, 3), (4, 2)])
def test_discrete_blind_value_matches_enumeration(k, ny):
    rng = np.random.default_rng(300 + 10 * k + ny)
    for _ in range(5):
        p = random_pmf(rng, (k, ny))
        w = rng.dirichlet(np.ones(k))
        assert oracles.discrete_blind_value(p, w) == pytest.approx(mi_of_joint(shifted_joint(p, w)), abs=1e-13)
    p = random_pmf(rng, (k, ny))
    point = np.eye(k)[0]
    assert oracles.discrete_blind_value(p, point) == pytest.approx(mi_of_joint(p), abs=1e-13)
    assert oracles.discrete_blind_value(p, np.full(k, 1 / k)) == pytest.approx(0.0, abs=1e-14)


@pytest.mark.parametrize("seed", range(5))
def test_discrete_blind_value_binary_is_binary_blind(seed):
    rng = np.random.default_rng(400 + seed)
    p = random_pmf(rng, (2, 2))
    for q in rng.uniform(0.0, 0.5, 4):
        assert oracles.discrete_blind_value(p, [1 - q, q]) == pytest.approx(oracles.binary_blind(p, q).mi,
                                                                           rel=1e-10, abs=1e-14)


@pytest.mark.parametrize("seed", range(3))
def test_ternary_blind_over_the_simplex(seed):
    """k = 3: the optimum over the noise simplex with Hamming budget 1 - w(0) <= D, by grid and by SLSQP.

    The problem is convex in w (docs/theory.md section 8), so the local solver lands on the grid's
    minimum; and the paper's attacker (R(D) when X = Y) does at least as well as the blind one.
    """
    rng = np.random.default_rng(500 + seed)
    p_src = rng.dirichlet(np.ones(3))
    p = np.diag(p_src)  # X = Y
    budget = float(rng.uniform(0.05, 0.6))

    def value(w12):
        w = np.array([1.0 - w12[0] - w12[1], w12[0], w12[1]])
        return oracles.discrete_blind_value(p, np.clip(w, 0.0, None) / np.clip(w, 0.0, None).sum())

    step = 0.01
    grid = [(a, b) for a in np.arange(0.0, budget + 1e-12, step) for b in np.arange(0.0, budget - a + 1e-12, step)]
    vals = [value(g) for g in grid]
    start = np.array(grid[int(np.argmin(vals))])
    res = minimize(value, start, method="SLSQP", bounds=[(0.0, 1.0)] * 2,
                   constraints=[{"type": "ineq", "fun": lambda x: budget - x[0] - x[1]}],
                   options={"ftol": 1e-14, "maxiter": 500})
    other = minimize(value, np.array([budget / 3, budget / 3]), method="SLSQP", bounds=[(0.0, 1.0)] * 2,
                     constraints=[{"type": "ineq", "fun": lambda x: budget - x[0] - x[1]}],
                     options={"ftol": 1e-14, "maxiter": 500})
    assert res.fun <= min(vals) + 1e-12
    assert other.fun == pytest.approx(res.fun, abs=1e-7)  # convex: one minimum from any start
    assert oracles.rate_distortion_hamming(p_src, budget) <= res.fun + 1e-9
    # convexity in w along random segments
    for _ in range(10):
        u, v = rng.dirichlet(np.ones(3)), rng.dirichlet(np.ones(3))
        mid = oracles.discrete_blind_value(p, 0.5 * (u + v))
        assert mid <= 0.5 * (oracles.discrete_blind_value(p, u) + oracles.discrete_blind_value(p, v)) + 1e-14


def test_discrete_blind_value_rejects_bad_input():
    with pytest.raises(InvalidInputError) as err:
        oracles.discrete_blind_value(np.full((3, 2), 1 / 6), [0.5, 0.5])
    assert err.value.argument == "noise_pmf"
    with pytest.raises(InvalidInputError) as err:
        oracles.discrete_blind_value(np.full(3, 1 / 3), [1.0, 0.0, 0.0])
    assert err.value.argument == "p_xy"


# ---------------------------------------------------------------- KL measures


@pytest.mark.parametrize("seed", range(6))
def test_gaussian_kl_identities(seed):
    rng = np.random.default_rng(600 + seed)
    m = int(rng.integers(1, 6))
    P, Q = random_pd(rng, m, 0.05), random_pd(rng, m, 0.05) * 10.0 ** rng.uniform(-3, 3)
    assert info.gaussian_kl(P, P) == pytest.approx(0.0, abs=1e-12)
    assert info.gaussian_kl(P, Q) == pytest.approx(naive_gaussian_kl(P, Q), rel=1e-9, abs=1e-12)
    assert info.gaussian_kl(P, Q) >= 0.0
    # additivity over independent blocks
    P2, Q2 = random_pd(rng, 2), random_pd(rng, 2)
    block_p = np.block([[P, np.zeros((m, 2))], [np.zeros((2, m)), P2]])
    block_q = np.block([[Q, np.zeros((m, 2))], [np.zeros((2, m)), Q2]])
    assert info.gaussian_kl(block_p, block_q) == pytest.approx(info.gaussian_kl(P, Q) + info.gaussian_kl(P2, Q2),
                                                               rel=1e-10)
    # invariance under a common congruence (change of coordinates)
    T = rng.normal(size=(m, m)) + 3 * np.eye(m)
    assert info.gaussian_kl(T @ P @ T.T, T @ Q @ T.T) == pytest.approx(info.gaussian_kl(P, Q), rel=1e-7, abs=1e-10)


def test_gaussian_kl_scalar_and_singular_cases():
    for p, q in [(2.0, 1.0), (1e-6, 3.0), (5.0, 5.0), (1.0 + 1e-10, 1.0)]:
        ratio = p / q
        expected = 0.5 * (ratio - 1 - np.log(ratio)) if abs(ratio - 1) > 1e-4 else 0.25 * (ratio - 1) ** 2
        assert info.gaussian_kl(p, q) == pytest.approx(expected, rel=1e-6, abs=1e-300)
        assert info.gaussian_kl([[p]], [[q]]) == info.gaussian_kl(p, q)
    assert info.gaussian_kl(np.diag([1.0, 0.0]), np.eye(2)) == np.inf  # P singular, Q not
    assert info.gaussian_kl(np.eye(2), np.diag([1.0, 0.0])) == np.inf  # P outside the range of Q
    # same range: the divergence on that range, whatever the rotation
    rng = np.random.default_rng(7)
    U = random_orthogonal(rng, 3)
    P = (U * [2.0, 0.5, 0.0]) @ U.T
    Q = (U * [1.0, 1.0, 0.0]) @ U.T
    assert info.gaussian_kl(P, Q) == pytest.approx(0.5 * (2 - 1 - np.log(2) + 0.5 - 1 - np.log(0.5)), rel=1e-9)
    assert info.gaussian_kl(np.zeros((2, 2)), np.zeros((2, 2))) == 0.0
    assert info.gaussian_kl(np.zeros((2, 2)), np.eye(2)) == np.inf
    with pytest.raises(InvalidInputError) as err:
        info.gaussian_kl(np.eye(2), np.eye(3))
    assert err.value.argument == "cov_q"
    with pytest.raises(InvalidInputError) as err:
        info.gaussian_kl([[1.0, 2.0], [2.0, 1.0]], np.eye(2))
    assert err.value.argument == "cov_p"


@pytest.mark.parametrize("seed", range(5))
def test_kl_matches_scipy(seed):
    rng = np.random.default_rng(700 + seed)
    k = int(rng.integers(2, 7))
    p, q = rng.dirichlet(np.ones(k)), rng.dirichlet(np.ones(k))
    p[0] = 0.0
    p /= p.sum()
    assert info.kl(p, q) == pytest.approx(scipy.stats.entropy(p, q), rel=1e-12)
    assert info.kl(p, p) == 0.0
    q_zero = q.copy()
    q_zero[1] = 0.0
    q_zero /= q_zero.sum()
    assert info.kl(p, q_zero) == np.inf
    q_zero0 = q.copy()
    q_zero0[0] = 0.0  # only where p = 0 too: finite
    q_zero0 /= q_zero0.sum()
    assert info.kl(p, q_zero0) == pytest.approx(scipy.stats.entropy(p, q_zero0), rel=1e-12)
    joint_p, joint_q = random_pmf(rng, (2, 3)), random_pmf(rng, (2, 3))
    assert info.kl(joint_p, joint_q) == pytest.approx(scipy.stats.entropy(joint_p.ravel(), joint_q.ravel()))
    with pytest.raises(InvalidInputError) as err:
        info.kl(p, np.full(k + 1, 1 / (k + 1)))
    assert err.value.argument == "q"
    with pytest.raises(InvalidInputError) as err:
        info.kl([0.5, 0.6], [0.5, 0.5])
    assert err.value.argument == "p"
