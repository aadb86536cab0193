"""The discrete closed forms (MATH.md sections 4-5), checked against independent numerics (no CVXPY here)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

from mi_cvx import InvalidInputError, info, oracles, testing
from mi_cvx.discrete import optimality_residuals

#: Seeded and reproducible whatever profile is loaded; the data are drawn by hypothesis itself
#: (mi_cvx.testing), so a failure shrinks to a small counterexample.
SETTINGS = {"deadline": None, "derandomize": True}

#: Strictly positive 2 x 2 joint pmfs, every cell at least 1e-3.
PMFS_2X2 = testing.joint_pmfs(2, 2)

# ------------------------------------------------------------------ helpers


def pmf_2x2(seed: int, zeros: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.full(4, 0.8))
    if zeros:
        p[rng.choice(4, size=zeros, replace=False)] = 0.0
        p /= p.sum()
    return p.reshape(2, 2)


def flip_channel(q: np.ndarray) -> np.ndarray:
    """``channel[x, y, xh]`` of the flip probabilities ``q[x, y]``."""
    ch = np.zeros((2, 2, 2))
    for x in range(2):
        ch[x, :, 1 - x] = q[x]
        ch[x, :, x] = 1 - q[x]
    return ch


def direct_binary(p: np.ndarray, budget: float, starts: int = 8) -> float:
    """min over the four flip probabilities (not over t) of I(Y; Xhat), by multi-start SLSQP."""
    rng = np.random.default_rng(0)

    def mi(q):
        return info.channel_mi(p, flip_channel(np.clip(q, 0, 1).reshape(2, 2)))

    cons = [{"type": "ineq", "fun": lambda q: budget - float(np.sum(p * q.reshape(2, 2)))}]
    best = math.inf
    for _ in range(starts):
        res = minimize(mi, rng.random(4) * min(1.0, budget), method="SLSQP", bounds=[(0, 1)] * 4,
                       constraints=cons, options={"ftol": 1e-15, "maxiter": 1000})
        q = np.clip(res.x, 0, 1)
        used = float(np.sum(p * q.reshape(2, 2)))
        if used > budget:  # SLSQP's tolerance: scale back into the budget so the point is feasible
            q = q * (budget / used)
        best = min(best, mi(q))
    return best


def blahut_arimoto_hamming(p: np.ndarray, beta: float, iters: int = 500_000) -> tuple[float, float]:
    """A point ``(D, R(D))`` of the Hamming rate-distortion curve at slope ``-beta`` (Blahut-Arimoto).

    Iterated to a fixed point: near the zero-rate end (small ``beta``) the iteration converges
    slowly, and 5,000 fixed iterations left the point 1e-8 nats off the curve (a case hypothesis
    found: p = [0.5094, 0.2790, 0.2115], beta = 1).
    """
    k = p.size
    d = 1.0 - np.eye(k)
    q = np.full(k, 1.0 / k)
    weights = np.exp(-beta * d)
    for _ in range(iters):
        w = q * weights
        w /= w.sum(axis=1, keepdims=True)
        q, previous = p @ w, q
        if np.max(np.abs(q - previous)) < 1e-16:
            break
    joint = p[:, None] * w
    return float(np.sum(joint * d)), info.mutual_information(joint)


budgets_frac = st.floats(0.0, 0.999)


# ---------------------------------------------------------- binary oracle


@settings(max_examples=25, **SETTINGS)
@given(p=PMFS_2X2, frac=budgets_frac)
def test_binary_oracle_is_certified_by_the_optimality_conditions(p, frac):
    # The oracle's channel meets the budget, gives the oracle's value, and satisfies the
    # KKT conditions with lambda = dual: by convexity that proves it optimal, to the bound.
    d0 = oracles.binary_zero_threshold(p)
    budget = frac * d0
    sol = oracles.binary_oracle(p, budget)
    channel = flip_channel(sol.flip_prob)
    assert info.channel_mi(p, channel) == pytest.approx(sol.mi, rel=1e-12, abs=1e-15)
    assert info.expected_distortion(p, channel, 1 - np.eye(2)) == pytest.approx(budget, rel=1e-12, abs=1e-15)
    assert sol.budget_used == pytest.approx(budget, rel=1e-12, abs=1e-15)
    if budget > 0:
        res = optimality_residuals(p, channel, sol.dual, budget=budget)
        assert res.suboptimality_bound <= 1e-10
        assert res.holds(1e-10)


@settings(max_examples=10, **SETTINGS)
@given(p=PMFS_2X2, frac=st.floats(0.02, 0.98))
def test_binary_oracle_against_direct_search_over_flip_probabilities(p, frac):
    budget = frac * oracles.binary_zero_threshold(p)
    value = oracles.binary_oracle(p, budget).mi
    direct = direct_binary(p, budget)
    assert value <= direct + 1e-12  # a true minimum is never above a feasible point
    assert direct - value <= 1e-7 * (1 + value)


@settings(max_examples=25, **SETTINGS)
@given(p=PMFS_2X2, frac=budgets_frac, q=st.lists(st.floats(0, 1), min_size=4, max_size=4))
def test_binary_oracle_lower_bounds_every_feasible_attack(p, frac, q):
    budget = frac * oracles.binary_zero_threshold(p)
    q = np.array(q).reshape(2, 2)
    used = float(np.sum(p * q))
    if used > budget:  # scale into the budget
        q = q * (budget / used)
    assert info.channel_mi(p, flip_channel(q)) >= oracles.binary_oracle(p, budget).mi - 1e-13


def test_binary_oracle_by_hand():
    # a_0 = 0, a_1 = 1, p(y) = 1/2: X = Y, the rate-distortion function of a fair bit.
    p = np.array([[0.5, 0.0], [0.0, 0.5]])
    assert oracles.binary_zero_threshold(p) == 0.5
    for budget in (0.0, 0.1, 0.3, 0.49):
        assert oracles.binary_oracle(p, budget).mi == pytest.approx(math.log(2) - info.binary_entropy(budget),
                                                                    rel=1e-12)
    sol = oracles.binary_oracle(p, 0.1)
    # symmetric: each class spends half the flips, dual = log((1 - D) / D)
    assert sol.flip_prob[0, 0] == pytest.approx(0.1) and sol.flip_prob[1, 1] == pytest.approx(0.1)
    assert sol.dual == pytest.approx(math.log(0.9 / 0.1), rel=1e-10)


def test_binary_zero_threshold_is_where_information_vanishes():
    for seed in range(20):
        p = pmf_2x2(seed)
        p_y = p.sum(axis=0)
        a = p[1] / p_y
        d0 = oracles.binary_zero_threshold(p)
        assert d0 == pytest.approx(min(p_y) * abs(a[0] - a[1]), rel=1e-14)
        assert oracles.binary_oracle(p, d0).mi == 0.0
        assert oracles.binary_oracle(p, 2 * d0).mi == 0.0
        assert oracles.binary_oracle(p, d0).dual == 0.0
        below = oracles.binary_oracle(p, d0 * (1 - 1e-3))
        assert below.mi > 0
        if seed < 4:  # and I* really is positive below D0: no feasible flip channel reaches zero
            assert direct_binary(p, d0 * 0.9) > 1e-9


@settings(max_examples=25, **SETTINGS)
@given(p=PMFS_2X2)
def test_binary_value_function_is_non_increasing_and_convex(p):
    grid = np.linspace(0.0, 1.2 * oracles.binary_zero_threshold(p), 41)
    values = np.array([oracles.binary_oracle(p, b).mi for b in grid])
    assert np.all(np.diff(values) <= 1e-15)
    assert np.all(values[:-2] - 2 * values[1:-1] + values[2:] >= -1e-13)


@settings(max_examples=25, **SETTINGS)
@given(p=PMFS_2X2, frac=st.floats(0.05, 0.95))
def test_binary_dual_is_minus_the_slope(p, frac):
    assume(oracles.binary_zero_threshold(p) > 0)  # independent X, Y (the uniform pmf): no budget range
    budget = frac * oracles.binary_zero_threshold(p)
    h = 1e-6 * budget
    slope = (oracles.binary_oracle(p, budget + h).mi - oracles.binary_oracle(p, budget - h).mi) / (2 * h)
    assert oracles.binary_oracle(p, budget).dual == pytest.approx(-slope, rel=1e-5, abs=1e-9)


def test_binary_oracle_degenerate_inputs():
    # independent X and Y
    p = np.outer([0.3, 0.7], [0.4, 0.6])
    assert oracles.binary_zero_threshold(p) == pytest.approx(0.0, abs=1e-16)
    assert oracles.binary_oracle(p, 0.0).mi == pytest.approx(0.0, abs=1e-15)
    # a class with p(y) = 0
    p = np.array([[0.25, 0.0], [0.75, 0.0]])
    sol = oracles.binary_oracle(p, 0.0)
    assert sol.mi == 0.0 and sol.zero_threshold == 0.0
    # zero cells: a_0 = 0 (the derivative of I in t_0 is -inf there, so class 0 always moves)
    p = np.array([[0.4, 0.2], [0.0, 0.4]])
    sol = oracles.binary_oracle(p, 0.01)
    assert sol.flip_prob[0, 0] > 0
    assert sol.dual > 0 and math.isfinite(sol.dual)
    assert oracles.binary_oracle(p, 0.0).dual == math.inf
    assert sol.mi == pytest.approx(direct_binary(p, 0.01), rel=1e-7)


@pytest.mark.parametrize("bad, match", [
    (np.array([[0.5, -0.1], [0.3, 0.3]]), "p_xy"),
    (np.array([[0.5, np.nan], [0.3, 0.2]]), "p_xy"),
    (np.array([[0.5, 0.1], [0.3, 0.2]]), "p_xy"),  # sums to 1.1
    (np.full((2, 3), 1 / 6), "p_xy"),
    (np.full(4, 0.25), "p_xy"),
])
def test_binary_oracle_rejects_bad_pmfs(bad, match):
    with pytest.raises(InvalidInputError, match=match):
        oracles.binary_oracle(bad, 0.1)
    with pytest.raises(InvalidInputError, match=match):
        oracles.binary_zero_threshold(bad)


def test_binary_oracle_rejects_bad_budgets():
    p = pmf_2x2(1)
    for bad in (-0.1, np.nan, np.inf, "a lot"):
        with pytest.raises(InvalidInputError, match="budget"):
            oracles.binary_oracle(p, bad)


# ------------------------------------------------------- rate distortion


@pytest.mark.parametrize("k", [2, 3, 4, 7])
def test_rate_distortion_uniform_closed_form(k):
    p = np.full(k, 1.0 / k)
    for budget in np.linspace(0, (k - 1) / k, 9)[:-1]:
        expected = math.log(k) - info.binary_entropy(budget) - budget * math.log(k - 1)
        assert oracles.rate_distortion_hamming(p, budget) == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert oracles.rate_distortion_hamming(p, (k - 1) / k) == pytest.approx(0.0, abs=1e-15)
    assert oracles.rate_distortion_hamming(p, 1.0) == 0.0


@given(p=st.floats(0.01, 0.99), frac=st.floats(0.0, 1.5))
def test_rate_distortion_bernoulli_closed_form(p, frac):
    budget = frac * min(p, 1 - p)
    expected = max(0.0, info.binary_entropy(p) - info.binary_entropy(budget)) if frac < 1 else 0.0
    assert oracles.rate_distortion_hamming([p, 1 - p], budget) == pytest.approx(expected, rel=1e-11, abs=1e-14)


@settings(max_examples=12, **SETTINGS)
@given(p=st.integers(2, 6).flatmap(testing.pmfs), beta=st.floats(0.3, 8.0))
@example(p=np.array([0.50943028, 0.27904781, 0.21152191]), beta=1.0)  # the reference converges slowly here
def test_rate_distortion_any_source_against_blahut_arimoto(p, beta):
    budget, rate = blahut_arimoto_hamming(p, beta)
    assert oracles.rate_distortion_hamming(p, budget) == pytest.approx(rate, rel=1e-7, abs=1e-9)


def test_rate_distortion_edge_cases():
    p = np.array([0.5, 0.3, 0.2, 0.0])  # a letter that never occurs
    assert oracles.rate_distortion_hamming(p, 0.0) == pytest.approx(info.entropy(p), rel=1e-14)
    assert oracles.rate_distortion_hamming(p, 0.5) == 0.0  # 1 - max p
    # the binary oracle on a diagonal joint is the same function
    q = np.array([[0.3, 0.0], [0.0, 0.7]])
    for budget in (0.0, 0.1, 0.29, 0.5):
        assert oracles.binary_oracle(q, budget).mi == pytest.approx(
            oracles.rate_distortion_hamming([0.3, 0.7], budget), rel=1e-10, abs=1e-14)
    with pytest.raises(InvalidInputError, match="p"):
        oracles.rate_distortion_hamming([0.5, 0.6], 0.1)
    with pytest.raises(InvalidInputError, match="budget"):
        oracles.rate_distortion_hamming([0.5, 0.5], -0.1)


# ------------------------------------------------ binary oracle at the zero-information threshold


def test_binary_oracle_a_few_ulps_below_the_threshold():
    # tbar used to round to 1 here (ZeroDivisionError in the Bernoulli divergence)
    p = [[0.17798547974016912, 0.0], [0.0, 0.8220145202598309]]
    sol = oracles.binary_oracle(p, 0.1779854797401691)
    assert 0.0 <= sol.mi <= 1e-15
    assert math.isfinite(sol.dual) and sol.dual >= 0  # (a few ulps from D0 its digits are rounding)
    # X = Y: the rate-distortion function H(P) - H(D), whose slope tends to log(Q / P) at D0 = P
    near = oracles.binary_oracle(p, 0.17798547974016912 * (1 - 1e-7))
    assert near.dual == pytest.approx(math.log(0.8220145202598309 / 0.17798547974016912), rel=1e-5)
    assert oracles.binary_oracle(p, oracles.binary_zero_threshold(p)).mi == 0.0


def tiny_pmf_2x2(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.full(4, 0.5))
    p[rng.random(4) < 0.4] = 1e-12
    return (p / p.sum()).reshape(2, 2)


@pytest.mark.parametrize("seed", range(40))
def test_binary_oracle_sweep_around_the_threshold_with_tiny_entries(seed):
    p = tiny_pmf_2x2(seed)
    d0 = oracles.binary_zero_threshold(p)
    ceiling = info.entropy(p.sum(axis=0))
    eps = np.finfo(float).eps
    for k in range(-60, 61, 3):
        for budget in (d0 * (1 + k * eps), d0 + k * 1e-18, d0 * (1 + k * 1e-9)):
            sol = oracles.binary_oracle(p, max(budget, 0.0))
            assert 0.0 <= sol.mi <= ceiling
            assert sol.dual >= 0 and not math.isnan(sol.dual)
            if budget >= d0:
                assert sol.mi == 0.0
            elif d0 - budget <= 60 * eps * d0 + 1e-16:
                # I* is Lipschitz below D0 (slope = the dual there): a few ulps cost next to nothing
                assert sol.mi <= 1e-12
    # the Bernoulli divergence itself: 0 log 0 = 0, zero at t == m, infinite only off the support
    assert oracles._bernoulli_kl(0.0, 0.0) == 0.0 and oracles._bernoulli_kl(1.0, 1.0) == 0.0
    assert oracles._bernoulli_kl(0.3, 0.3) == 0.0
    assert oracles._bernoulli_kl(0.0, 0.5) == pytest.approx(math.log(2))
    assert oracles._bernoulli_kl(0.5, 1.0) == math.inf


# ------------------------------------------------------- rate-distortion test channel


def rd_check(p: np.ndarray, budget: float):
    mi, channel, dual = oracles.rate_distortion_channel(p, budget)
    k = p.size
    assert channel.shape == (k, k) and np.all(channel >= 0)
    np.testing.assert_allclose(channel.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    joint = p[:, None] * channel
    assert mi == pytest.approx(oracles.rate_distortion_hamming(p, budget), rel=1e-14, abs=1e-300)
    assert info.mutual_information(joint) == pytest.approx(mi, rel=0, abs=1e-10)
    # X = Y: the same value through channel_mi with a diagonal joint
    assert info.channel_mi(np.diag(p), np.repeat(channel[:, None, :], k, axis=1)) == pytest.approx(mi, abs=1e-10)
    distortion = float(np.sum(joint * (1 - np.eye(k))))
    assert distortion == pytest.approx(min(budget, 1 - p.max()), rel=1e-10, abs=1e-13)
    assert dual >= 0
    return mi, channel, dual


def random_source(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 9))
    p = rng.dirichlet(np.full(k, 0.6))
    if seed % 3 == 0:
        p[rng.random(k) < 0.3] = 1e-12
    if seed % 4 == 1:
        p[rng.random(k) < 0.3] = 0.0
    if p.sum() == 0:
        p[0] = 1.0
    return p / p.sum()


@st.composite
def sources(draw) -> np.ndarray:
    """The drawn counterpart of random_source: 2 to 8 letters, some exactly 0, some 1e-12."""
    k = draw(st.integers(2, 8))
    p = draw(testing.pmfs(k, min_mass=0.0, max_zeros=k - 1))
    tiny = draw(st.lists(st.integers(0, k - 1), max_size=k - 1, unique=True))
    p[[i for i in tiny if p[i] > 0]] = 1e-12
    return p / p.sum()


def breakpoints(p: np.ndarray) -> list:
    """The budgets where Erokhin's output set changes: D = (m - 1) p_m + sum_{i > m} p_i."""
    srt = np.sort(p)[::-1]
    return [float((m - 1) * srt[m - 1] + srt[m:].sum()) for m in range(1, srt.size + 1)]


@settings(max_examples=40, **SETTINGS)
@given(p=sources(), frac=st.floats(0.0, 1.2))
def test_rate_distortion_channel_is_consistent(p, frac):
    rd_check(p, frac * (1 - p.max()))


@pytest.mark.parametrize("seed", range(30))
def test_rate_distortion_channel_at_the_breakpoints(seed):
    p = random_source(seed)
    for point in breakpoints(p):
        for budget in (point * (1 - 1e-12), point, point * (1 + 1e-12), point + 1e-15):
            rd_check(p, max(budget, 0.0))


@settings(max_examples=20, **SETTINGS)
@given(p=st.integers(2, 6).flatmap(testing.pmfs), frac=st.floats(0.05, 0.95))
def test_rate_distortion_channel_dual_is_minus_the_slope(p, frac):
    budget = frac * (1 - p.max())
    if min(abs(budget - b) for b in breakpoints(p)) < 1e-4:  # the slope is continuous, but not smooth there
        return
    h = 1e-7
    slope = (oracles.rate_distortion_hamming(p, budget + h) - oracles.rate_distortion_hamming(p, budget - h)) / (2 * h)
    assert oracles.rate_distortion_channel(p, budget)[2] == pytest.approx(-slope, rel=1e-5)


def test_rate_distortion_channel_edge_cases():
    p = np.array([0.5, 0.3, 0.2, 0.0])
    mi, channel, dual = rd_check(p, 0.0)
    np.testing.assert_array_equal(channel, np.eye(4))  # D = 0: the identity
    assert dual == math.inf and mi == pytest.approx(info.entropy(p))
    for budget in (0.5, 0.7, 1.0):  # D >= 1 - max p: the constant output argmax p
        mi, channel, dual = rd_check(p, budget)
        assert mi == 0.0 and dual == 0.0
        np.testing.assert_array_equal(channel[:, 0], 1.0)
    # the uniform source: dual = log((k - 1)(1 - D) / D)
    k, budget = 5, 0.3
    _, channel, dual = rd_check(np.full(k, 1 / k), budget)
    assert dual == pytest.approx(math.log((k - 1) * (1 - budget) / budget), rel=1e-12)
    np.testing.assert_allclose(np.diag(channel), 1 - budget, rtol=1e-12)
    # Bernoulli: the backward test channel of H(p) - H(D)
    _, channel, dual = rd_check(np.array([0.3, 0.7]), 0.1)
    assert dual == pytest.approx(math.log(0.9 / 0.1), rel=1e-12)
    # a single letter: nothing to hide
    mi, channel, dual = oracles.rate_distortion_channel([1.0], 0.0)
    assert mi == 0.0 and channel.tolist() == [[1.0]]
    with pytest.raises(InvalidInputError, match="p"):
        oracles.rate_distortion_channel([0.5, 0.6], 0.1)
    with pytest.raises(InvalidInputError, match="budget"):
        oracles.rate_distortion_channel([0.5, 0.5], -0.1)
