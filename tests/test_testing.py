"""mi_cvx.testing: the strategies draw what their docstrings promise, within the promised bounds."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

import mi_cvx
from mi_cvx import testing, validate

SETTINGS = settings(max_examples=50, deadline=None, derandomize=True)


def condition_number(S: np.ndarray) -> float:
    lam = np.linalg.eigvalsh(S)
    return float(lam[-1] / lam[0])


# ------------------------------------------------------------------ pmfs, joint pmfs, channels


@SETTINGS
@given(data=st.data(), size=st.integers(1, 12), min_mass=st.sampled_from([0.0, 1e-6, 1e-3, 0.05]))
def test_pmfs_sum_to_one_with_the_promised_floor(data, size, min_mass):
    max_zeros = data.draw(st.integers(0, size - 1))
    min_mass = min(min_mass, 1.0 / size)
    p = data.draw(testing.pmfs(size, min_mass=min_mass, max_zeros=max_zeros))
    assert p.shape == (size,) and p.dtype == np.float64
    assert np.all(np.isfinite(p)) and np.all(p >= 0)
    assert p.sum() == pytest.approx(1.0, abs=1e-14)
    if min_mass > 0:  # (with no floor a zero weight gives a zero entry too)
        assert np.count_nonzero(p == 0) <= max_zeros
    assert np.all(p[p > 0] >= min_mass * (1 - 1e-12))
    np.testing.assert_allclose(validate.pmf("p", p), p, rtol=1e-14, atol=0)  # mi_cvx accepts it as it is


@SETTINGS
@given(data=st.data(), k=st.integers(1, 5), ell=st.integers(1, 5))
def test_joint_pmfs_are_positive_joint_distributions(data, k, ell):
    p = data.draw(testing.joint_pmfs(k, ell))
    assert p.shape == (k, ell)
    assert p.sum() == pytest.approx(1.0, abs=1e-14)
    assert np.all(p >= testing.DEFAULT_MIN_MASS * (1 - 1e-12))  # strictly positive by default
    with_zeros = data.draw(testing.joint_pmfs(k, ell, min_mass=0.0, max_zeros=k * ell - 1))
    assert with_zeros.sum() == pytest.approx(1.0, abs=1e-14) and np.all(with_zeros >= 0)
    assert np.any(with_zeros > 0)


@SETTINGS
@given(data=st.data(), k=st.integers(1, 5), ell=st.integers(1, 6))
def test_channels_are_row_stochastic(data, k, ell):
    floor = data.draw(st.sampled_from([0.0, 0.01, 1.0 / ell]))
    W = data.draw(testing.channels(k, ell, min_mass=floor))
    assert W.shape == (k, ell)
    np.testing.assert_allclose(W.sum(axis=1), 1.0, rtol=0, atol=1e-14)
    assert np.all(W >= floor * (1 - 1e-12))


# ------------------------------------------------------------------ covariances, observation matrices


@SETTINGS
@given(data=st.data(), n=st.integers(1, 6), condition=st.sampled_from([1.0, 2.0, 10.0, 100.0, 1e4]))
def test_covariances_are_pd_with_the_condition_bound(data, n, condition):
    S = data.draw(testing.covariances(n, condition=condition, scale=(0.5, 4.0)))
    assert S.shape == (n, n)
    np.testing.assert_array_equal(S, S.T)  # exactly symmetric
    lam = np.linalg.eigvalsh(S)
    assert lam[0] > 0
    assert lam[-1] == pytest.approx(np.clip(lam[-1], 0.5, 4.0), rel=1e-12)  # the largest is the drawn scale
    assert condition_number(S) <= condition * (1 + 1e-9)
    np.testing.assert_array_equal(validate.psd_matrix("signal_cov", S), S)


@SETTINGS
@given(data=st.data(), m=st.integers(1, 6), n=st.integers(1, 6), full_rank=st.booleans())
def test_observation_matrices_have_bounded_singular_values(data, m, n, full_rank):
    A = data.draw(testing.observation_matrices(m, n, condition=50.0, full_rank=full_rank))
    assert A.shape == (m, n) and np.all(np.isfinite(A))
    s = np.linalg.svd(A, compute_uv=False)
    assert 0.3 * (1 - 1e-12) <= s[0] <= 3.0 * (1 + 1e-12)
    kept = s[s > s[0] * 1e-12]
    assert kept[-1] >= s[0] / 50.0 * (1 - 1e-9)
    if full_rank:
        assert kept.size == min(m, n)
    else:
        assert 1 <= kept.size <= min(m, n)


@SETTINGS
@given(data=st.data())
def test_budgets_and_scales_stay_in_their_ranges(data):
    low = data.draw(st.sampled_from([1e-4, 0.1, 1.0]))
    high = low * data.draw(st.sampled_from([1.0, 10.0, 1e6]))
    for value in (data.draw(testing.scales(low, high)), data.draw(testing.budgets(low, high))):
        assert isinstance(value, float) and low <= value <= high
    zero_or_in_range = data.draw(testing.budgets(low, high, allow_zero=True))
    assert zero_or_in_range == 0.0 or low <= zero_or_in_range <= high


def test_scales_reach_every_decade():
    # log-uniform-ish: over six decades, both end decades are drawn (and shrink to the bounds)
    quick = settings(database=None, derandomize=True, max_examples=100)
    assert find(testing.scales(1e-3, 1e3), lambda x: x < 1e-2, settings=quick) == 1e-3
    assert find(testing.budgets(1e-3, 1e3), lambda x: x > 1e2, settings=quick) == 1e3


# ------------------------------------------------------------------ factory arguments


@SETTINGS
@given(inputs=testing.gaussian_scalar_inputs())
def test_gaussian_scalar_inputs_build(inputs):
    assert set(inputs) == {"signal_var", "noise_var", "budget"}
    assert 0.05 <= inputs["signal_var"] <= 5.0
    assert inputs["noise_var"] == 0.0 or 0.01 <= inputs["noise_var"] <= 5.0
    assert 0.02 * (1 - 1e-12) <= inputs["budget"] / inputs["signal_var"] <= 1.5 * (1 + 1e-12)
    assert mi_cvx.gaussian_scalar(**inputs).family == "gaussian_scalar"


@SETTINGS
@given(inputs=testing.gaussian_vector_inputs(3, 3, noise=("zero", "isotropic", "general"),
                                             signal=("identity", "scalar", "matrix")))
def test_gaussian_vector_inputs_build(inputs):
    A = inputs["A"]
    m, n = A.shape
    assert 1 <= m <= 3 and 1 <= n <= 3
    signal_cov = inputs["signal_cov"] * np.eye(n) if np.ndim(inputs["signal_cov"]) == 0 else inputs["signal_cov"]
    assert signal_cov.shape == (n, n) and condition_number(signal_cov) <= 100 * (1 + 1e-9)
    noise_cov = inputs["noise_cov"]
    assert np.ndim(noise_cov) == 0 and (noise_cov == 0.0 or 0.05 <= noise_cov <= 2.0) or noise_cov.shape == (m, m)
    fraction = inputs["budget"] / np.trace(A @ signal_cov @ A.T)
    assert 0.05 * (1 - 1e-12) <= fraction <= 1.2 * (1 + 1e-12) and abs(fraction - 1) > 1e-3 * (1 - 1e-9)
    assert mi_cvx.gaussian_vector(**inputs).family == "gaussian_vector"


@SETTINGS
@given(inputs=testing.discrete_inputs(4, 3, output_size=True, max_zeros=1))
def test_discrete_inputs_build_and_are_reachable(inputs):
    p, kp = inputs["p_xy"], inputs["output_size"]
    k = p.shape[0]
    assert 2 <= k <= 4 and 2 <= p.shape[1] <= 3 and max(1, k - 1) <= kp <= k + 1
    least = p.sum(axis=1)[kp:].sum()
    assert least - 1e-15 <= inputs["budget"] <= 1.0
    assert mi_cvx.discrete_channel(**inputs).family == "discrete_channel"  # validates p_xy and reachability


@SETTINGS
@given(inputs=testing.discrete_inputs(2, 2, min_k=2, min_l=2))
def test_binary_inputs_build(inputs):
    assert set(inputs) == {"p_xy", "budget"}
    assert mi_cvx.binary_channel(**inputs).family == "binary_channel"


# ------------------------------------------------------------------ shrinking


def test_examples_shrink_to_simple_data():
    """What a failing example shrinks towards (so that counterexamples are readable)."""
    quick = settings(database=None, derandomize=True, max_examples=50)
    np.testing.assert_allclose(find(testing.pmfs(4), lambda p: True, settings=quick), 0.25)
    np.testing.assert_array_equal(find(testing.covariances(3), lambda S: True, settings=quick), np.eye(3))
    np.testing.assert_array_equal(find(testing.observation_matrices(2, 3), lambda A: True, settings=quick),
                                  np.eye(2, 3))
    assert find(testing.scales(), lambda x: True, settings=quick) == 1.0
    # and a property that needs a skewed pmf finds a small one
    p = find(testing.pmfs(3, min_mass=0.0), lambda p: p.max() > 0.9, settings=quick)
    assert p.max() > 0.9 and p.sum() == pytest.approx(1.0)


# ------------------------------------------------------------------ plain numpy generators


def test_random_pmf_and_joint_pmf():
    rng = np.random.default_rng(0)
    p = testing.random_pmf(rng, 6)
    assert p.shape == (6,) and p.sum() == pytest.approx(1.0, abs=1e-14) and np.all(p >= 0)
    q = testing.random_pmf(rng, (2, 3), min_mass=0.1)
    assert q.shape == (2, 3) and q.sum() == pytest.approx(1.0, abs=1e-14) and np.all(q >= 0.1 * (1 - 1e-12))
    joint = testing.random_joint_pmf(rng, 3, 4, zeros=5)
    assert joint.shape == (3, 4) and np.count_nonzero(joint == 0) == 5
    assert joint.sum() == pytest.approx(1.0, abs=1e-14)
    # seeded: the same generator state gives the same draw
    np.testing.assert_array_equal(testing.random_joint_pmf(np.random.default_rng(7), 2, 2),
                                  testing.random_joint_pmf(np.random.default_rng(7), 2, 2))


@pytest.mark.parametrize("condition", [1.0, 3.0, 100.0, 1e6])
def test_random_covariance_condition_bound(condition):
    rng = np.random.default_rng(1)
    for n in (1, 2, 5, 12):
        S = testing.random_covariance(rng, n, condition, scale=2.5)
        np.testing.assert_array_equal(S, S.T)
        lam = np.linalg.eigvalsh(S)
        assert lam[0] > 0 and lam[-1] == pytest.approx(2.5, rel=1e-12)
        assert condition_number(S) <= condition * (1 + 1e-9)


@pytest.mark.parametrize(("call", "match"), [
    (lambda: testing.pmfs(3, min_mass=0.5), "min_mass"),
    (lambda: testing.pmfs(0), "size"),
    (lambda: testing.pmfs(3, max_zeros=3), "max_zeros"),
    (lambda: testing.channels(2, 4, min_mass=0.3), "min_mass"),
    (lambda: testing.covariances(3, condition=0.5), "condition"),
    (lambda: testing.scales(0.0, 1.0), "scales"),
    (lambda: testing.budgets(2.0, 1.0), "budgets"),
    (lambda: testing.gaussian_vector_inputs(noise="loud"), "noise"),
    (lambda: testing.gaussian_vector_inputs(min_m=3, max_m=2), "min_m"),
    (lambda: testing.discrete_inputs(budget_fraction=(-0.1, 0.5)), "budget_fraction"),
    (lambda: testing.random_pmf(0, 2, min_mass=0.6), "min_mass"),
    (lambda: testing.random_joint_pmf(0, 2, 2, zeros=4), "zeros"),
    (lambda: testing.random_covariance(0, 2, scale=-1.0), "scale"),
])
def test_bad_arguments_are_refused(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_missing_hypothesis_says_how_to_install_it(monkeypatch):
    for name in ("hypothesis", "hypothesis.strategies", "hypothesis.extra", "hypothesis.extra.numpy"):
        monkeypatch.setitem(sys.modules, name, None)  # makes ``import hypothesis...`` fail
    with pytest.raises(ImportError, match=r"pip install mi-cvx\[test\]"):
        testing.pmfs(3)
    # the numpy generators do not need it
    assert testing.random_pmf(np.random.default_rng(0), 3).sum() == pytest.approx(1.0)
