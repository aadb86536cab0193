"""The Gaussian closed forms, checked against independent numerics (no CVXPY here)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import minimize

import mi_cvx
from mi_cvx import oracles


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


@given(seed=st.integers(0, 10_000), m=st.integers(1, 6), n=st.integers(1, 6), frac=st.floats(0.02, 1.1))
def test_structured_path_with_zero_noise_is_the_falling_bar(seed, m, n, frac):
    A = np.random.default_rng(seed).normal(size=(m, n))
    lam = 0.8 * np.linalg.svd(A, compute_uv=False) ** 2
    budget = frac * lam.sum()
    assert oracles.isotropic_gaussian(A, budget, 0.8, 0.0).mi == pytest.approx(oracles.falling_bar(lam, budget).mi,
                                                                              rel=1e-9, abs=1e-12)


@given(seed=st.integers(0, 10_000), r=st.integers(1, 5), sn2=st.floats(0.05, 3.0), frac=st.floats(0.05, 0.95))
def test_structured_allocation_is_optimal(seed, r, sn2, frac):
    """Against a generic constrained minimiser of sum_i g(b_i^2, sn2, D_i) (SLSQP)."""
    power = np.random.default_rng(seed).uniform(0.2, 3.0, size=r)
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
