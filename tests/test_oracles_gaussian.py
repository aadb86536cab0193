"""The Gaussian closed forms, checked against independent numerics (no CVXPY here)."""

from __future__ import annotations

import contextlib
import signal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

import mi_cvx
from mi_cvx import oracles, testing

#: Seeded and reproducible whatever profile is loaded; the data are drawn by hypothesis itself
#: (mi_cvx.testing), so a failure shrinks to a small counterexample.
SETTINGS = {"deadline": None, "derandomize": True}


def brute_force_scalar(sy2, sn2, budget):
    """min over Delta = f Y + g N + W of I(Y; Z), by a direct numerical search.

    I = 0.5 log(Var Z / Var(Z | Y)) with Var Z = (1+f)^2 sy2 + (1+g)^2 sn2 + w and
    Var(Z | Y) = (1+g)^2 sn2 + w; the budget is f^2 sy2 + g^2 sn2 + w <= D.  I* is
    decreasing in D, so the budget is spent: (f sy, g sn, sqrt(w)) lies on the sphere of
    radius sqrt(D), searched over its two angles (a dense grid, then Nelder-Mead).
    """
    sy, sn, r = np.sqrt(sy2), np.sqrt(sn2), np.sqrt(budget)

    def mi(angles):
        alpha, beta = angles
        a, b, c = r * np.cos(alpha), r * np.sin(alpha) * np.cos(beta), r * np.sin(alpha) * np.sin(beta)
        cond = (sn + b) ** 2 + c * c  # Var(Z | Y), with g sn = b, w = c^2
        return 0.5 * np.log((cond + (sy + a) ** 2) / cond)

    grid = [(al, be) for al in np.linspace(0, np.pi, 181) for be in np.linspace(0, np.pi, 181)]
    start = min(grid, key=mi)
    best = minimize(mi, start, method="Nelder-Mead", options={"xatol": 1e-13, "fatol": 1e-16, "maxiter": 20000})
    return float(best.fun)


@given(sy2=st.floats(0.1, 4.0), sn2=st.floats(0.05, 4.0), frac=st.floats(0.05, 0.95))
def test_scalar_closed_form_matches_direct_search(sy2, sn2, frac):
    budget = frac * sy2
    assert oracles.scalar_gaussian(sy2, sn2, budget).mi == pytest.approx(brute_force_scalar(sy2, sn2, budget),
                                                                          rel=1e-6, abs=1e-9)


@given(sy2=st.floats(0.1, 4.0), sn2=st.one_of(st.just(0.0), st.floats(1e-6, 4.0)), frac=st.floats(0.05, 0.95))
def test_scalar_closed_form_gains_achieve_the_value(sy2, sn2, frac):
    budget = frac * sy2
    sol = oracles.scalar_gaussian(sy2, sn2, budget)
    f, g, w = sol.signal_gain, sol.noise_gain, sol.extra_noise_var
    cond = (1 + g) ** 2 * sn2 + w
    assert 0.5 * np.log((cond + (1 + f) ** 2 * sy2) / cond) == pytest.approx(sol.mi, rel=1e-10)
    assert f * f * sy2 + g * g * sn2 + w == pytest.approx(budget, rel=1e-10)  # the budget is spent


def test_scalar_closed_form_special_cases():
    assert oracles.scalar_gaussian_mi(2.0, 0.0, 0.5) == pytest.approx(0.5 * np.log(4.0))
    assert oracles.scalar_gaussian_mi(2.0, 0.7, 2.0) == 0.0
    assert oracles.scalar_gaussian_mi(2.0, 0.7, 0.0) == pytest.approx(0.5 * np.log1p(2.0 / 0.7))
    # MATH.md's explicit formula and the angle form agree
    sy2, sn2, d = 1.3, 0.4, 0.5
    sy, sn = np.sqrt(sy2), np.sqrt(sn2)
    theta = np.arctan2(sy, sn) - np.arcsin(np.sqrt(d / (sy2 + sn2)))
    u, v = np.sqrt(d) * np.cos(theta), np.sqrt(d) * np.sin(theta)
    assert oracles.scalar_gaussian_mi(sy2, sn2, d) == pytest.approx(0.5 * np.log1p(((sy - u) / (sn + v)) ** 2))


@given(sy2=st.floats(0.1, 4.0), sn2=st.one_of(st.just(0.0), st.floats(1e-6, 4.0)), frac=st.floats(0.05, 0.95))
def test_scalar_slope_is_the_derivative(sy2, sn2, frac):
    d = frac * sy2
    h = 1e-6 * sy2
    fd = (oracles.scalar_gaussian_mi(sy2, sn2, d + h) - oracles.scalar_gaussian_mi(sy2, sn2, d - h)) / (2 * h)
    assert oracles.scalar_gaussian(sy2, sn2, d).slope == pytest.approx(fd, rel=1e-5)


def test_scalar_value_is_convex_and_decreasing():
    d = np.linspace(0.0, 1.5, 301)
    values = oracles.scalar_gaussian_mi(1.0, 0.3, d)
    assert np.all(np.diff(values) <= 0)
    assert np.all(values[2:] - 2 * values[1:-1] + values[:-2] >= -1e-12)


# ---------------------------------------------------------------- falling bar


def bisection_level(lam, budget):
    lo, hi = 0.0, lam.max()
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if np.minimum(mid, lam).sum() < budget else (lo, mid)
    return 0.5 * (lo + hi)


@given(lam=st.lists(st.floats(0.01, 10.0), min_size=1, max_size=30), frac=st.floats(0.01, 0.999))
def test_falling_bar_level_is_exact(lam, frac):
    lam = np.array(lam)
    budget = frac * lam.sum()
    fb = oracles.falling_bar(lam, budget)
    assert fb.allocation.sum() == pytest.approx(budget, rel=1e-12)
    assert np.all(fb.allocation <= lam + 1e-15)
    assert fb.level == pytest.approx(bisection_level(lam, budget), rel=1e-9)
    assert fb.mi == pytest.approx(0.5 * np.sum(np.log(lam / np.minimum(fb.level, lam))), rel=1e-12)
    h = 1e-7 * budget
    fd = (oracles.falling_bar(lam, budget - h).mi - oracles.falling_bar(lam, budget + h).mi) / (2 * h)
    assert fb.dual == pytest.approx(fd, rel=1e-5)


def test_falling_bar_edge_cases():
    fb = oracles.falling_bar([3.0, 2.0, 1.0, 0.5], 2.0)
    assert fb.level == pytest.approx(0.5) and fb.mi == pytest.approx(0.5 * np.log(3 * 2 * 1 / 0.125))
    full = oracles.falling_bar([3.0, 1.0], 4.0)
    assert full.mi == 0.0 and np.allclose(full.allocation, [3.0, 1.0])
    tie = oracles.falling_bar([1.0, 1.0, 1.0], 1.5)
    assert tie.level == pytest.approx(0.5)
    zeros = oracles.falling_bar([2.0, 0.0, 0.0], 1.0)  # rank-deficient projection
    assert zeros.mi == pytest.approx(0.5 * np.log(2.0))
    assert oracles.falling_bar([2.0, 1.0], 0.0).mi == np.inf
    with pytest.raises(mi_cvx.InvalidInputError, match="eigenvalues"):
        oracles.falling_bar([1.0, -1.0], 0.5)
    with pytest.raises(mi_cvx.InvalidInputError, match="budget"):
        oracles.falling_bar([1.0], -0.5)


# ---------------------------------------------------------------- structured path


@settings(max_examples=25, **SETTINGS)
@given(A=st.tuples(st.integers(1, 6), st.integers(1, 6)).flatmap(
           lambda mn: testing.observation_matrices(*mn, condition=1e3)),
       frac=st.floats(0.02, 1.1))
def test_structured_path_with_zero_noise_is_the_falling_bar(A, frac):
    lam = 0.8 * np.linalg.svd(A, compute_uv=False) ** 2
    budget = frac * lam.sum()
    assert oracles.isotropic_gaussian(A, budget, 0.8, 0.0).mi == pytest.approx(oracles.falling_bar(lam, budget).mi,
                                                                              rel=1e-9, abs=1e-12)


@settings(max_examples=25, **SETTINGS)
@given(power=st.lists(st.floats(0.2, 3.0), min_size=1, max_size=5).map(np.array), sn2=st.floats(0.05, 3.0),
       frac=st.floats(0.05, 0.95))
def test_structured_allocation_is_optimal(power, sn2, frac):
    """Against a generic constrained minimiser of sum_i g(b_i^2, sn2, D_i) (SLSQP)."""
    r = power.size
    A = np.diag(np.sqrt(power))
    budget = frac * power.sum()
    exact = oracles.isotropic_gaussian(A, budget, 1.0, sn2)
    assert exact.allocation.sum() == pytest.approx(budget, rel=1e-9)

    def total(d):
        return float(np.sum(oracles.scalar_gaussian_mi(power, sn2, np.clip(d, 0, None))))

    best = minimize(total, np.full(r, budget / r), method="SLSQP", bounds=[(0, p) for p in power],
                    constraints=[{"type": "ineq", "fun": lambda d: budget - d.sum()}],
                    options={"ftol": 1e-14, "maxiter": 1000})
    assert exact.mi <= best.fun + 1e-9
    assert exact.mi == pytest.approx(best.fun, rel=1e-5, abs=1e-8)
    # equal slopes on every channel the budget does not erase
    np.testing.assert_allclose(exact.channel_power, np.sort(power)[::-1], rtol=1e-10)  # channels, descending
    active = exact.allocation < exact.channel_power * (1 - 1e-9)
    slopes = -np.array([oracles.scalar_gaussian(p, sn2, d).slope
                        for p, d in zip(exact.channel_power, exact.allocation, strict=True)])
    np.testing.assert_allclose(slopes[active], exact.dual, rtol=1e-6)


def test_structured_path_handles_large_problems_and_rank_deficiency():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(300, 40))  # tall, rank 40
    exact = oracles.isotropic_gaussian(A, 50.0, 1.0, 0.5)
    assert exact.allocation.size == 40 and exact.allocation.sum() == pytest.approx(50.0)
    assert exact.F.shape == (300, 40) and exact.G.shape == (300, 300)
    with pytest.raises(mi_cvx.InvalidInputError, match="signal_cov"):
        oracles.isotropic_gaussian(A, 1.0, np.eye(3), 0.5)
    with pytest.raises(mi_cvx.InvalidInputError, match="noise_var"):
        oracles.isotropic_gaussian(A, 1.0, 1.0, -0.5)


# ---------------------------------------------------------------- near the zero-information threshold


@contextlib.contextmanager
def deadline(seconds: int):
    """Fail (instead of hanging) if the block runs longer than ``seconds``."""

    def expired(signum, frame):
        raise TimeoutError(f"did not return within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_isotropic_path_returns_at_a_budget_within_rounding_of_the_threshold():
    with deadline(20):
        sol = oracles.isotropic_gaussian([[1.0]], 1.9999999999999998, 2.0, 1.0)
    assert 0.0 <= sol.mi <= 1e-25 and 0.0 <= sol.dual <= 1e-14
    assert sol.allocation.sum() == pytest.approx(1.9999999999999998, rel=1e-15)
    # the 1 x 4 gaussian_vector instance of the bug report
    A = [[1.3112593392418637, -1.6487481285445371, -1.484527508204453, 0.2620243786710133]]
    with deadline(20):
        sol = oracles.isotropic_gaussian(A, 6.67584914089547, 0.9948733650565493, 0.734684345482352)
        again = oracles.structured_gaussian(A, 6.67584914089547, 0.9948733650565493, 0.734684345482352)
    assert 0.0 <= sol.mi <= 1e-20 and again.mi == sol.mi


@pytest.mark.parametrize("seed", range(6))
def test_isotropic_path_just_below_the_threshold_is_tiny_and_non_negative(seed):
    rng = np.random.default_rng(seed)
    m, n = int(rng.integers(1, 5)), int(rng.integers(1, 5))
    A = rng.normal(size=(m, n))
    sy, sn2 = float(rng.uniform(0.2, 2.0)), float(rng.uniform(0.01, 2.0))
    power = np.linalg.eigvalsh(sy * A @ A.T)
    total = float(power[power > power.max() * 1e-12].sum())
    eps = np.finfo(float).eps
    values = []
    with deadline(60):
        for k in range(51):
            sol = oracles.isotropic_gaussian(A, total * (1 - k * eps), sy, sn2)
            assert 0.0 <= sol.mi <= 1e-20
            assert 0.0 <= sol.dual <= 1e-12
            assert np.all(sol.allocation >= 0) and np.all(sol.allocation <= sol.channel_power * (1 + 1e-15))
            values.append(sol.mi)
    # and still exact a little further down: the value of a budget 1e-6 below matches the closed form
    below = oracles.isotropic_gaussian(A, total * (1 - 1e-6), sy, sn2)
    direct = float(np.sum(oracles.scalar_gaussian_mi(below.channel_power, sn2, below.allocation)))
    assert below.mi == pytest.approx(direct, rel=1e-4)
    assert 0 < below.mi < 1e-9


# ---------------------------------------------------------------- commuting noise


def g_closed_form(sy2, sn2, d):
    """MATH.md section 1, written out (independently of mi_cvx.oracles)."""
    if d >= sy2:
        return 0.0
    sy, sn = np.sqrt(sy2), np.sqrt(sn2)
    theta = np.arctan2(sy, sn) - np.arcsin(np.sqrt(d / (sy2 + sn2)))
    u, v = np.sqrt(d) * np.cos(theta), np.sqrt(d) * np.sin(theta)
    if sn2 == 0.0:
        return 0.5 * np.log(sy2 / d) if d > 0 else np.inf
    return 0.5 * np.log1p(((sy - u) / (sn + v)) ** 2)


def reference_split(r, s, budget):
    """min sum_i g(r_i, s_i, D_i) over {0 <= D_i <= r_i, sum D_i <= budget}, by SLSQP (multi-start).

    The search runs on the fractions ``t_i = D_i / r_i`` in [0, 1]: in ``D`` itself a channel of power 1e-6
    beside one of power 1 has a gradient 1e6 times steeper, and SLSQP stalls at its start (a factor-2 error
    that a fresh CI draw found: test_reference_split_is_scale_free).
    """
    active = r > r.max() * 1e-12  # (rounding-level eigenvalues of a rank-deficient R are zeros)
    r, s = r[active], s[active]
    if budget >= r.sum():
        return 0.0

    def total(t):
        return float(sum(g_closed_form(ri, si, max(ri * ti, 1e-300)) for ri, si, ti in zip(r, s, t, strict=True)))

    best = np.inf
    starts = [np.full(r.size, budget / r.sum()), np.minimum(budget / r.size / r, 1.0)]
    for t0 in starts:
        res = minimize(total, t0, method="SLSQP", bounds=[(0.0, 1.0)] * r.size,
                       constraints=[{"type": "ineq", "fun": lambda t: budget - r @ t, "jac": lambda t: -r}],
                       options={"ftol": 1e-15, "maxiter": 2000})
        t = np.clip(res.x, 0, 1)
        if r @ t > budget:
            t *= budget / (r @ t)
        best = min(best, total(t))
    return best


def commuting_instance(seed: int):
    """Random ``(A, SY, SN, r, s)`` with ``SN = U diag(s) U^T``, ``U`` the eigenvectors of ``R = A SY A^T``."""
    rng = np.random.default_rng(seed)
    m, n = int(rng.integers(1, 6)), int(rng.integers(1, 6))
    A = rng.normal(size=(m, n))
    if m > 1 and rng.random() < 0.3:  # rank-deficient: a repeated row
        A[-1] = A[0]
    L = rng.normal(size=(n, n))
    SY = L @ L.T / n + 0.3 * np.eye(n)
    R = A @ SY @ A.T
    r, U = np.linalg.eigh(0.5 * (R + R.T))
    s = rng.uniform(0.0, 2.0, size=m)
    s[rng.random(m) < 0.35] = 0.0
    SN = U @ np.diag(s) @ U.T
    return A, SY, 0.5 * (SN + SN.T), np.clip(r, 0, None), s


@st.composite
def commuting_instances(draw):
    """The drawn counterpart of commuting_instance: ``(A, SY, SN, r, s)`` with ``SN = U diag(s) U^T``.

    ``A`` is m x n (1 to 5 each), possibly rank-deficient; ``SY`` a covariance with condition at most 100;
    the noise powers ``s`` are in [0, 2], some exactly 0 (noiseless channels).
    """
    m, n = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    A = draw(testing.observation_matrices(m, n, condition=1e3, full_rank=False))
    SY = draw(testing.covariances(n))
    R = A @ SY @ A.T
    r, U = np.linalg.eigh(0.5 * (R + R.T))
    # noise powers 0 or in [1e-6, 2] times a common scale, 1 or down to 1e-300 (where the angle of the closed form
    # rounds to pi/2).  Within an instance the nonzero powers stay within 1e6 of each other: a power 1e-15 times
    # the largest is below the rounding of SN's eigenvalues (eps ||SN||), and I* moves like its square root.
    scale = draw(st.one_of(st.just(1.0), st.floats(-300.0, -6.0).map(lambda e: 10.0 ** e)))
    s = scale * np.array(draw(st.lists(st.one_of(st.just(0.0), st.floats(1e-6, 2.0)), min_size=m, max_size=m)))
    SN = U @ np.diag(s) @ U.T
    return A, SY, 0.5 * (SN + SN.T), np.clip(r, 0, None), s


def joint_mi(A, SY, SN, F, G, W):
    """I(Y; Z) and E||Delta||^2 of Delta = F Y + G N + W (independent W ~ N(0, W)), from the model alone.

    Z = B Y + E with B = A + F and E = (I + G) N + W independent of Y, so I = 0.5 sum log1p(sigma_i^2) over
    the singular values of K^-1/2 B SY^1/2 (K = Cov E), infinite when signal reaches a null direction of K.
    Not the difference of two log-dets: with a noise of 1e-13 beside signals of 1e-2 that difference loses
    2.7e-7 nats (a drawn case), while this form stays at rounding.
    """
    m = SN.shape[0]
    B = A + F
    E = np.eye(m) + G
    K = E @ SN @ E.T + W
    k, V = np.linalg.eigh(0.5 * (K + K.T))
    w, Q = np.linalg.eigh(SY)
    S = V.T @ B @ (Q * np.sqrt(np.clip(w, 0, None)))  # the signal in K's eigenbasis
    null = k <= max(k.max(), 0.0) * m * 1e-15
    scale = max(np.abs(S).max(), np.abs(A @ (Q * np.sqrt(np.clip(w, 0, None)))).max())
    if np.any(np.abs(S[null]) > 1e-9 * scale):
        mi = np.inf
    else:
        sig = np.linalg.svd(S[~null] / np.sqrt(k[~null])[:, None], compute_uv=False)
        mi = float(0.5 * np.sum(np.log1p(sig * sig)))
    power = float(np.trace(F @ SY @ F.T + G @ SN @ G.T + W))
    return mi, power


def scale_of(values) -> float:
    return float(np.max(np.abs(values), initial=0.0))


@settings(max_examples=30, **SETTINGS)
@given(instance=commuting_instances(), frac=st.floats(0.03, 1.1))
def test_structured_gaussian_matches_an_independent_reference(instance, frac):
    A, SY, SN, r, s = instance
    assert oracles.noise_commutes(A, SY, SN)
    r_kept = r > r.max() * 1e-12
    budget = frac * float(r[r_kept].sum())
    sol = oracles.structured_gaussian(A, budget, SY, SN)
    # the attack it returns has the information and the power it claims
    mi, power = joint_mi(A, SY, SN, sol.F, sol.G, sol.W_cov)
    assert mi == pytest.approx(sol.mi, rel=1e-8, abs=1e-12)
    assert power <= budget * (1 + 1e-9) + 1e-12
    if frac < 1:
        assert power == pytest.approx(budget, rel=1e-9)
    # and the value is the minimum of the split problem
    ref = reference_split(r, s, budget)
    assert sol.mi <= ref + 1e-9
    assert sol.mi == pytest.approx(ref, rel=1e-5, abs=1e-8)
    # the channels are R's: powers and noises paired as in the construction (channels of equal power may come
    # in either order, so the pairing is checked through sums that only a different pairing would change)
    power, noise = r[r_kept], s[r_kept]
    np.testing.assert_allclose(sol.channel_power, np.sort(power)[::-1], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(np.sort(sol.channel_noise), np.sort(noise), rtol=1e-8, atol=1e-12 * scale_of(noise))
    for k in (1, 2):
        assert np.sum(sol.channel_power**k * sol.channel_noise) == pytest.approx(np.sum(power**k * noise), rel=1e-8)


@pytest.mark.parametrize("noise", [7.8e-193, 1e-100, 1e-60, 1e-30])
@pytest.mark.parametrize("budget", [0.3, 0.75, 1.3, 1.35, 1.45])
def test_structured_gaussian_tiny_noise_is_the_falling_bar(noise, budget):
    # A channel with noise 1e-100 is noiseless to double precision.  Its closed-form angle rounded to pi/2 and
    # the split's root search found a spurious root at ~1e-16 (a draw of noise 7.8e-193): I 14% low at
    # budget 1.35, multiplier wrong; the value must be the falling bar's, the multiplier its slope.
    A = np.diag([1.0, np.sqrt(0.5)])
    bar = oracles.falling_bar(np.array([1.0, 0.5]), budget)
    for SN in (np.diag([noise, 0.0]), np.diag([noise, noise])):
        sol = oracles.structured_gaussian(A, budget, 1.0, SN)
        assert sol.mi == pytest.approx(bar.mi, rel=1e-12)
        assert sol.dual == pytest.approx(bar.dual, rel=1e-12)
        mi, power = joint_mi(A, np.eye(2), SN, sol.F, sol.G, sol.W_cov)
        assert mi == pytest.approx(bar.mi, rel=1e-9) and power == pytest.approx(budget, rel=1e-12)


def test_reference_split_is_scale_free():
    # the draw that broke the unscaled reference: noiseless channels of powers 1 and 1e-6, half the budget;
    # the small channel is zeroed (D = 1e-6) and the large one gets the rest: I = 0.5 log(1 / 0.4999995)
    A = np.array([[1e-3, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 1.0]])
    r, s = np.array([0.0, 0.0, 1e-6, 1.0]), np.zeros(4)
    budget = 0.5 * (1 + 1e-6)
    exact = 0.5 * np.log(1.0 / (budget - 1e-6))
    assert reference_split(r, s, budget) == pytest.approx(exact, rel=1e-9)
    assert oracles.structured_gaussian(A, budget, np.eye(2), np.zeros((4, 4))).mi == pytest.approx(exact, rel=1e-12)


@settings(max_examples=15, **SETTINGS)
@given(instance=commuting_instances(), frac=st.floats(0.05, 0.9))
def test_structured_gaussian_dual_is_minus_the_slope(instance, frac):
    A, SY, SN, r, _ = instance
    budget = frac * float(r.sum())
    h = 1e-6 * budget
    lo, hi = (oracles.structured_gaussian(A, b, SY, SN).mi for b in (budget - h, budget + h))
    assert oracles.structured_gaussian(A, budget, SY, SN).dual == pytest.approx((lo - hi) / (2 * h), rel=1e-5)


def test_structured_gaussian_special_cases():
    rng = np.random.default_rng(7)
    A = rng.normal(size=(4, 3))
    SY = np.diag([1.0, 0.5, 2.0])
    lam = np.linalg.eigvalsh(A @ SY @ A.T)
    for budget in (0.1, 2.0, 100.0):
        iso = oracles.isotropic_gaussian(A, budget, SY, 0.3)
        for noise in (0.3, 0.3 * np.eye(4)):  # isotropic: exactly the isotropic path
            same = oracles.structured_gaussian(A, budget, SY, noise)
            assert same.mi == iso.mi and same.dual == iso.dual
            np.testing.assert_array_equal(same.G, iso.G)
        assert oracles.structured_gaussian(A, budget, SY, 0.0).mi == pytest.approx(
            oracles.falling_bar(np.clip(lam, 0, None), budget).mi, rel=1e-12)
    # budget 0: the information of the clean observation
    _, _, SN, _, _ = commuting_instance(3)
    A, SY, SN, r, s = commuting_instance(11)
    sol = oracles.structured_gaussian(A, 0.0, SY, SN)
    expected = np.inf if np.any((s == 0) & (r > 1e-12)) else 0.5 * np.sum(np.log1p(r[r > 1e-12] / s[r > 1e-12]))
    assert sol.mi == pytest.approx(expected)
    # at and beyond the threshold: zero information, Delta = -A Y
    R = A @ SY @ A.T
    sol = oracles.structured_gaussian(A, float(np.trace(R)) * 1.5, SY, SN)
    assert sol.mi == 0.0 and sol.dual == 0.0
    np.testing.assert_allclose(sol.F, -A, atol=1e-10)


def test_structured_gaussian_noise_only_channels_get_no_budget():
    # A has rank 1 in R^3; the noise lives also on the two directions that carry no signal
    A = np.array([[1.0], [2.0], [0.0]])
    SN = np.diag([0.0, 0.0, 0.7]) + 0.4 * np.outer([2.0, -1.0, 0.0], [2.0, -1.0, 0.0]) / 5
    assert oracles.noise_commutes(A, 1.0, SN)
    sol = oracles.structured_gaussian(A, 2.0, 1.0, SN)
    assert sol.allocation.size == 1 and sol.channel_power == pytest.approx([5.0])
    assert sol.mi == pytest.approx(0.5 * np.log(5.0 / 2.0))  # the signal channel is noiseless: falling bar
    mi, power = joint_mi(A, np.eye(1), SN, sol.F, sol.G, sol.W_cov)
    assert mi == pytest.approx(sol.mi, rel=1e-10) and power == pytest.approx(2.0)
    np.testing.assert_allclose(sol.G, 0.0, atol=1e-15)  # nothing is spent on the noise-only directions


def test_structured_gaussian_rejects_non_commuting_noise():
    A = np.array([[1.0, 0.0], [0.0, 2.0]])
    SN = np.array([[1.0, 0.5], [0.5, 1.0]])
    assert not oracles.noise_commutes(A, 1.0, SN)
    with pytest.raises(mi_cvx.InvalidInputError, match="noise_cov.*commute"):
        oracles.structured_gaussian(A, 1.0, 1.0, SN)
    assert oracles.noise_commutes(A, 1.0, 0.5) and oracles.noise_commutes(A, 1.0, np.zeros((2, 2)))
    assert oracles.noise_commutes(A, 1.0, np.diag([0.2, 3.0]))  # diagonal commutes with diagonal R
    with pytest.raises(mi_cvx.InvalidInputError, match="noise_cov"):
        oracles.noise_commutes(A, 1.0, np.eye(3))
    with pytest.raises(mi_cvx.InvalidInputError, match="budget"):
        oracles.structured_gaussian(A, -1.0, 1.0, 0.5)
