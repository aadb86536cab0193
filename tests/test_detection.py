"""The defender's Neyman-Pearson test (mi_cvx.detection) against independent references.

References are written here without the module's machinery: closed forms for
scalar and two-dimensional Gaussians (chi-square and hypoexponential laws), a
Monte Carlo of the likelihood-ratio test, and brute-force enumeration of all
outcome sequences with the NP test built by sorting likelihood ratios.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import stats

from mi_cvx import detection, registry
from mi_cvx.detection import Detection, detection_probability, discrete_detection, gaussian_detection
from mi_cvx.errors import InvalidInputError

ALPHAS = (0.01, 0.05, 0.3)


def spd(rng, d, floor=0.2):
    a = rng.normal(size=(d, d))
    return a @ a.T + floor * np.eye(d)


# --------------------------------------------------------------------------- scalar Gaussian, by hand


@pytest.mark.parametrize("alpha", ALPHAS)
@pytest.mark.parametrize("n", [1, 3])
def test_scalar_variance_increase(alpha, n):
    # v0 < v1: the LLR grows with sum x^2, the test rejects when sum x^2 > c, c = v0 chi2_n^{-1}(1 - alpha).
    v0, v1 = 1.5, 4.0
    c = v0 * stats.chi2.isf(alpha, n)
    expected = stats.chi2.sf(c / v1, n)
    res = gaussian_detection(v0, v1, alpha, n)
    assert res.method == "exact" and res.stderr == 0.0
    assert res.power == pytest.approx(expected, abs=1e-12)
    # The threshold is the LLR at sum x^2 = c.
    llr_at_c = 0.5 * c * (1 / v0 - 1 / v1) + 0.5 * n * math.log(v0 / v1)
    assert res.threshold == pytest.approx(llr_at_c, rel=1e-10)


@pytest.mark.parametrize("alpha", ALPHAS)
@pytest.mark.parametrize("n", [1, 4])
def test_scalar_variance_decrease(alpha, n):
    # v0 > v1: the test rejects when sum x^2 is small, sum x^2 < c, c = v0 chi2_n^{-1}(alpha).
    v0, v1 = 3.0, 0.7
    c = v0 * stats.chi2.ppf(alpha, n)
    expected = stats.chi2.cdf(c / v1, n)
    res = gaussian_detection([[v0]], [[v1]], false_alarm=alpha, samples=n)
    assert res.power == pytest.approx(expected, abs=1e-12)
    assert res.power > alpha


def test_isotropic_is_scaled_chi_square():
    # C1 = s C0 for a full matrix: every generalised variance is s, chi-square with n d degrees of freedom.
    rng = np.random.default_rng(3)
    c0 = spd(rng, 3)
    res = gaussian_detection(c0, 2.5 * c0, 0.05, samples=2)
    expected = stats.chi2.sf(stats.chi2.isf(0.05, 6) / 2.5, 6)
    assert res.power == pytest.approx(expected, abs=1e-12)


# --------------------------------------------------------------------------- two-dimensional Gaussian, closed form


def hypoexponential_sf(x, t1, t2):
    """P(t1 E1 + t2 E2 > x) for independent standard exponentials, t1 != t2 non-zero."""
    if t1 > 0 and t2 > 0:
        return (t1 * math.exp(-x / t1) - t2 * math.exp(-x / t2)) / (t1 - t2) if x > 0 else 1.0
    if t1 < 0 and t2 < 0:
        return 1.0 - hypoexponential_sf(-x, -t1, -t2)
    a, b = max(t1, t2), -min(t1, t2)
    return a / (a + b) * math.exp(-x / a) if x >= 0 else 1.0 - b / (a + b) * math.exp(x / b)


@pytest.mark.parametrize("mu", [(2.0, 3.5), (0.5, 3.0), (0.3, 0.6), (1.8, 0.2)])
@pytest.mark.parametrize("alpha", [0.05, 0.2])
def test_two_dim_two_samples_against_hypoexponential(mu, alpha):
    # C0 = L L^T, C1 = L diag(mu) L^T: the generalised variances are mu.  With n = 2 draws each weight has two
    # degrees of freedom, chi2_2 = 2 Exp(1): T = a1 chi2_2 + a2 chi2_2 under H0, a_i = (1 - 1/mu_i)/2, and
    # b_i = (mu_i - 1)/2 under H1 -- hypoexponential (or Laplace-like for mixed signs) closed forms.
    rng = np.random.default_rng(11)
    L = rng.normal(size=(2, 2)) + 2 * np.eye(2)
    c0, c1 = L @ L.T, L @ np.diag(mu) @ L.T
    n = 2
    res = gaussian_detection(c0, c1, alpha, n)
    assert res.method == "exact"
    offset = 0.5 * n * (np.linalg.slogdet(c0)[1] - np.linalg.slogdet(c1)[1])
    t = res.threshold - offset  # threshold on T
    a = [(1 - 1 / m) / 2 for m in mu]
    b = [(m - 1) / 2 for m in mu]
    assert hypoexponential_sf(t, 2 * a[0], 2 * a[1]) == pytest.approx(alpha, abs=1e-9)
    assert res.power == pytest.approx(hypoexponential_sf(t, 2 * b[0], 2 * b[1]), abs=1e-9)


def test_imhof_against_hypoexponential_grid():
    # The exact numerical CDF itself, on a grid, including both tails and mixed signs.
    worst = 0.0
    for w in [(1.0, 0.3), (0.5, -0.2), (-1.0, -3.0), (2.0, -2.5), (1.0, 1e-3)]:
        for x in np.linspace(-15, 25, 11):
            got = detection._chi2_mix_sf(float(x), np.array(w), np.array([2.0, 2.0]))
            worst = max(worst, abs(got - hypoexponential_sf(float(x), 2 * w[0], 2 * w[1])))
    assert worst < 1e-9


# --------------------------------------------------------------------------- multivariate Gaussian, Monte Carlo


def test_multivariate_against_monte_carlo_of_the_llr_test():
    rng = np.random.default_rng(2026)
    d, n, alpha, draws = 3, 2, 0.05, 1_000_000
    c0, c1 = spd(rng, d), spd(rng, d, floor=0.5)
    res = gaussian_detection(c0, c1, alpha, n)
    assert res.method == "exact"

    # log N(x; 0, C1) - log N(x; 0, C0) = x^T (C0^-1 - C1^-1) x / 2 + log(det C0 / det C1) / 2, summed over the draws.
    gap = (np.linalg.inv(c0) - np.linalg.inv(c1)) / 2
    const = n * (np.linalg.slogdet(c0)[1] - np.linalg.slogdet(c1)[1]) / 2

    def llr(cov):  # the LLR of n i.i.d. draws from N(0, cov)
        x = rng.standard_normal((draws * n, d)) @ np.linalg.cholesky(cov).T
        return np.einsum("ij,jk,ik->i", x, gap, x, optimize=True).reshape(draws, n).sum(axis=1) + const

    for sample_cov, target in ((c1, res.power), (c0, alpha)):
        rate = float(np.mean(llr(sample_cov) > res.threshold))
        se = math.sqrt(target * (1 - target) / draws)
        assert abs(rate - target) <= 4 * se, (rate, target, se)


def test_identical_covariances_give_the_false_alarm_rate():
    rng = np.random.default_rng(5)
    c = spd(rng, 4)
    for alpha in ALPHAS:
        for n in (1, 7):
            res = gaussian_detection(c, c.copy(), alpha, n)
            assert res.power == alpha and res.method == "exact"
    assert gaussian_detection(np.zeros((2, 2)), np.zeros((2, 2)), 0.1).power == 0.1


def test_power_increases_with_samples_and_is_a_probability():
    rng = np.random.default_rng(8)
    for _ in range(2):
        c0, c1 = spd(rng, 3), spd(rng, 3)
        powers = [gaussian_detection(c0, c1, 0.05, n).power for n in (1, 2, 4, 8)]
        assert all(0.05 <= p <= 1.0 for p in powers)
        assert all(p2 > p1 or p2 == 1.0 for p1, p2 in zip(powers, powers[1:], strict=False))


def test_singular_covariances():
    # The attacked law puts mass outside the clean support: flagged with probability 1.
    res = gaussian_detection(np.diag([1.0, 0.0]), np.eye(2), 0.05)
    assert res.power == 1.0 and res.threshold == math.inf and res.method == "exact"
    # The clean law puts mass where the attacked law has none: mutually singular, power 1 too.
    assert gaussian_detection(np.eye(2), np.diag([1.0, 0.0]), 0.05).power == 1.0
    # A shared degenerate direction: the test works in the common range, the scalar case.
    u = np.array([[1.0], [2.0]]) / math.sqrt(5)
    res = gaussian_detection(1.0 * u @ u.T, 3.0 * u @ u.T, 0.05, samples=2)
    assert res.power == pytest.approx(stats.chi2.sf(stats.chi2.isf(0.05, 2) / 3.0, 2), abs=1e-12)


def test_monte_carlo_fallback_when_the_integral_fails(monkeypatch):
    rng = np.random.default_rng(21)
    c0, c1 = spd(rng, 3), spd(rng, 3)
    exact = gaussian_detection(c0, c1, 0.05, 2)
    assert exact.method == "exact"

    def fails(x, weights, dofs):
        if len(weights) > 1:
            raise detection._NumericalFailure("forced")
        return 0.0

    monkeypatch.setattr(detection, "_chi2_mix_sf", fails)
    mc = gaussian_detection(c0, c1, 0.05, 2, mc_draws=200_000, seed=4)
    assert mc.method == "monte_carlo" and mc.stderr > 0
    assert abs(mc.power - exact.power) <= 4 * mc.stderr
    assert mc == gaussian_detection(c0, c1, 0.05, 2, mc_draws=200_000, seed=4)  # seeded


# --------------------------------------------------------------------------- discrete, brute force


def brute_force(p0, p1, alpha, n):
    """NP power and threshold by enumerating all n-sequences and sorting them by likelihood ratio."""
    groups: dict[float, list[float]] = {}
    for seq in itertools.product(range(len(p0)), repeat=n):
        a = math.prod(p0[i] for i in seq)
        b = math.prod(p1[i] for i in seq)
        if a == 0 and b == 0:
            continue
        llr = math.inf if a == 0 else (-math.inf if b == 0 else math.log(b / a))
        key = llr if not math.isfinite(llr) else round(llr, 9)
        mass = groups.setdefault(key, [0.0, 0.0])
        mass[0] += a
        mass[1] += b
    left, power = alpha, 0.0
    for key in sorted(groups, reverse=True):
        a, b = groups[key]
        if a <= left:
            left -= a
            power += b
        else:
            return power + b * left / a, key
    return power, -math.inf


def random_pmf(rng, m, zeros=()):
    p = rng.dirichlet(np.ones(m))
    p[list(zeros)] = 0.0
    return p / p.sum()


@pytest.mark.parametrize("n", [1, 2])
@pytest.mark.parametrize("alpha", ALPHAS)
def test_discrete_against_brute_force(n, alpha):
    rng = np.random.default_rng(100 + n)
    for zeros0, zeros1 in [((), ()), ((3,), ()), ((), (0,)), ((2,), (0, 1))]:
        p0, p1 = random_pmf(rng, 5, zeros0), random_pmf(rng, 5, zeros1)
        power, threshold = brute_force(p0, p1, alpha, n)
        res = discrete_detection(p0, p1, alpha, n)
        assert res.method == "exact"
        assert res.power == pytest.approx(power, abs=1e-12)
        assert res.threshold == pytest.approx(threshold, abs=1e-8)


@pytest.mark.parametrize(("m", "n"), [(3, 8), (4, 6)])
def test_discrete_convolution_against_brute_force(m, n):
    rng = np.random.default_rng(7 * m + n)
    p0, p1 = random_pmf(rng, m), random_pmf(rng, m)
    for alpha in ALPHAS:
        assert discrete_detection(p0, p1, alpha, n).power == pytest.approx(brute_force(p0, p1, alpha, n)[0], abs=1e-12)


def test_discrete_one_draw_at_a_time_convolution(monkeypatch):
    # Force the sequential convolution (the binary exponentiation refuses) and check it against brute force.
    # n = 6 from 4 outcomes: squaring needs 10 x 35 = 350 pairs at its last product, one draw at a time 56 x 4.
    monkeypatch.setattr(detection, "MAX_PAIRS", 300)
    rng = np.random.default_rng(9)
    p0, p1 = random_pmf(rng, 4), random_pmf(rng, 4)
    res = discrete_detection(p0, p1, 0.05, 6)
    assert res.method == "exact"
    assert res.power == pytest.approx(brute_force(p0, p1, 0.05, 6)[0], abs=1e-12)


def test_discrete_false_alarm_is_exact():
    # From the reported threshold, P0(LLR > t) < alpha <= P0(LLR >= t), so a gamma in [0, 1] makes the false-alarm
    # rate alpha exactly; the power of that randomised test is the reported power.
    rng = np.random.default_rng(31)
    p0, p1 = random_pmf(rng, 4), random_pmf(rng, 4)
    for alpha in ALPHAS:
        res = discrete_detection(p0, p1, alpha, 2)
        above0 = at0 = above1 = at1 = 0.0
        for seq in itertools.product(range(4), repeat=2):
            a, b = p0[seq[0]] * p0[seq[1]], p1[seq[0]] * p1[seq[1]]
            llr = math.log(b / a)
            if abs(llr - res.threshold) < 1e-9:
                at0, at1 = at0 + a, at1 + b
            elif llr > res.threshold:
                above0, above1 = above0 + a, above1 + b
        assert above0 < alpha <= above0 + at0 + 1e-15
        gamma = (alpha - above0) / at0
        assert res.false_alarm == alpha
        assert res.power == pytest.approx(above1 + gamma * at1, abs=1e-12)


def test_discrete_ties_by_hand():
    # Likelihood ratios 0.4, 0.4, 1.6, 1.6: at alpha = 0.3 the top pair (P0 = 0.5) is flagged with gamma = 0.6.
    res = discrete_detection([0.25] * 4, [0.1, 0.1, 0.4, 0.4], 0.3)
    assert res.power == pytest.approx(0.8 * 0.6, abs=1e-14)
    assert res.threshold == pytest.approx(math.log(1.6), abs=1e-12)


def test_discrete_support_change():
    # The attacked law puts 0.2 where the clean law has none: always flagged; alpha randomises the rest.
    res = discrete_detection([0.5, 0.5, 0.0], [0.4, 0.4, 0.2], 0.05)
    assert res.power == pytest.approx(0.2 + 0.05 * 0.8, abs=1e-14)
    for n in (2, 3):
        # P1(some draw in the new outcome) = 1 - 0.8^n, plus alpha of the rest.
        expected = 1 - 0.8**n + 0.05 * 0.8**n
        assert discrete_detection([0.5, 0.5, 0.0], [0.4, 0.4, 0.2], 0.05, n).power == pytest.approx(expected, abs=1e-12)
    # Disjoint supports: power 1.
    assert discrete_detection([1.0, 0.0], [0.0, 1.0], 0.01).power == 1.0
    # The clean law puts mass where the attacked law has none, and alpha exceeds the rest: everything else flagged.
    res = discrete_detection([0.5, 0.3, 0.2], [0.6, 0.4, 0.0], 0.9)
    assert res.power == pytest.approx(1.0, abs=1e-14) and res.threshold == -math.inf


def test_discrete_binary_many_samples_against_binomial():
    # Two outcomes: the LLR is increasing in the count k of outcome 1 (q1 > p1), so the NP test flags large k.
    p, q, n, alpha = 0.3, 0.4, 60, 0.05
    res = discrete_detection([1 - p, p], [1 - q, q], alpha, n)
    k = int(stats.binom.isf(alpha, n, p))  # P0(K > k) <= alpha < P0(K >= k)
    gamma = (alpha - stats.binom.sf(k, n, p)) / stats.binom.pmf(k, n, p)
    expected = stats.binom.sf(k, n, q) + gamma * stats.binom.pmf(k, n, q)
    assert res.method == "exact"
    assert res.power == pytest.approx(expected, abs=1e-12)


def test_discrete_identical_and_monotone():
    rng = np.random.default_rng(13)
    p0, p1 = random_pmf(rng, 4), random_pmf(rng, 4)
    assert discrete_detection(p0, p0.copy(), 0.05, 3).power == pytest.approx(0.05, abs=1e-14)
    powers = [discrete_detection(p0, p1, 0.05, n).power for n in (1, 2, 4, 8)]
    assert all(0.05 <= x <= 1 for x in powers)
    assert powers == sorted(powers)


def test_discrete_monte_carlo_fallback(monkeypatch):
    rng = np.random.default_rng(17)
    p0, p1 = random_pmf(rng, 5, (4,)), random_pmf(rng, 5, (0,))
    exact = discrete_detection(p0, p1, 0.05, 3)
    for name in ("MAX_ATOMS", "MAX_PAIRS", "MAX_WORK"):
        monkeypatch.setattr(detection, name, 3)
    mc = discrete_detection(p0, p1, 0.05, 3, mc_draws=200_000, seed=1)
    assert exact.method == "exact" and mc.method == "monte_carlo" and mc.stderr > 0
    assert abs(mc.power - exact.power) <= 4 * mc.stderr
    many = discrete_detection(p0, p1, 0.05, 12, mc_draws=50_000, seed=2)  # drawn outcome by outcome
    assert many.method == "monte_carlo" and 0.05 <= many.power <= 1


# --------------------------------------------------------------------------- attack results


@pytest.fixture
def fake_registry(monkeypatch):
    c0, c1 = np.eye(2), np.diag([2.0, 0.5])
    p0, p1 = np.array([0.5, 0.5]), np.array([0.3, 0.7])
    table = dict(registry.families())
    table["fake_gaussian"] = SimpleNamespace(name="fake_gaussian", observed=lambda r: ("gaussian", c0, c1))
    table["fake_discrete"] = SimpleNamespace(name="fake_discrete", observed=lambda r: ("discrete", p0, p1))
    table["fake_plain"] = SimpleNamespace(name="fake_plain")
    table["fake_odd"] = SimpleNamespace(name="fake_odd", observed=lambda r: ("poisson", p0, p1))
    monkeypatch.setattr(registry, "families", lambda: table)
    return (c0, c1), (p0, p1)


def test_detection_probability_dispatches(fake_registry):
    (c0, c1), (p0, p1) = fake_registry
    res = detection_probability(SimpleNamespace(family="fake_gaussian", ok=True), 0.1, 3)
    assert res == gaussian_detection(c0, c1, 0.1, 3)
    res = detection_probability(SimpleNamespace(family="fake_discrete", ok=True), 0.1, samples=4, seed=3)
    assert res == discrete_detection(p0, p1, 0.1, 4)


@pytest.mark.parametrize(
    ("result", "words"),
    [
        (SimpleNamespace(family="fake_gaussian", ok=False, message="budget overspent"), "budget overspent"),
        (SimpleNamespace(family="fake_plain", ok=True), "observed"),
        (SimpleNamespace(family="no_such_family", ok=True), "no registered family"),
        (SimpleNamespace(family="fake_odd", ok=True), "poisson"),
        (42, "AttackResult"),
    ],
)
def test_detection_probability_refuses(fake_registry, result, words):
    with pytest.raises(InvalidInputError, match=words) as info:
        detection_probability(result)
    assert info.value.argument == "result"


# --------------------------------------------------------------------------- bad input and the result type


@pytest.mark.parametrize("alpha", [0, 1, -0.1, 1.5, math.nan, "0.05", None])
def test_bad_false_alarm(alpha):
    for call in (lambda: gaussian_detection(1, 2, alpha), lambda: discrete_detection([0.5, 0.5], [0.4, 0.6], alpha)):
        with pytest.raises(InvalidInputError) as info:
            call()
        assert info.value.argument == "false_alarm"


@pytest.mark.parametrize("n", [0, -2, 1.5, True, "3", None])
def test_bad_samples(n):
    for call in (
        lambda: gaussian_detection(1, 2, 0.05, n),
        lambda: discrete_detection([0.5, 0.5], [0.4, 0.6], 0.05, n),
    ):
        with pytest.raises(InvalidInputError) as info:
            call()
        assert info.value.argument == "samples"


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"clean_cov": [[1, 0], [0, -1]], "attacked_cov": np.eye(2)}, "clean_cov"),
        ({"clean_cov": np.eye(2), "attacked_cov": [[1, 2], [0, 1]]}, "attacked_cov"),
        ({"clean_cov": np.eye(2), "attacked_cov": np.eye(3)}, "attacked_cov"),
        ({"clean_cov": -1.0, "attacked_cov": 1.0}, "clean_cov"),
        ({"clean_cov": [[np.nan]], "attacked_cov": 1.0}, "clean_cov"),
        ({"clean_cov": np.eye(2), "attacked_cov": np.eye(2), "mc_draws": 0}, "mc_draws"),
        ({"clean_cov": np.eye(2), "attacked_cov": np.eye(2), "seed": -1}, "seed"),
    ],
)
def test_bad_gaussian_input(kwargs, argument):
    with pytest.raises(InvalidInputError) as info:
        gaussian_detection(**kwargs)
    assert info.value.argument == argument


@pytest.mark.parametrize(
    ("clean", "attacked", "argument"),
    [
        ([0.5, 0.6], [0.5, 0.5], "clean_pmf"),
        ([1.2, -0.2], [0.5, 0.5], "clean_pmf"),
        ([0.5, 0.5], [0.5, 0.5, 0.0], "attacked_pmf"),
        ([0.5, 0.5], [np.inf, 0.0], "attacked_pmf"),
        ([0.5, 0.5], [], "attacked_pmf"),
    ],
)
def test_bad_discrete_input(clean, attacked, argument):
    with pytest.raises(InvalidInputError) as info:
        discrete_detection(clean, attacked)
    assert info.value.argument == argument


def test_detection_is_frozen_and_short():
    res = gaussian_detection(1.0, 2.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.power = 0.5  # type: ignore[misc]
    text = repr(res)
    assert text.startswith("Detection(power=0.165776") and "exact" in text and len(text) < 100
    assert isinstance(res, Detection) and res.samples == 1 and res.false_alarm == 0.05
