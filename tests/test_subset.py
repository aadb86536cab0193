"""Subset (sparse) attacks, Theorem 4.1: selection, closed form and the sparse SDP against theory."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import mi_cvx
from mi_cvx import info, oracles, testing
from mi_cvx.cases import SCS_TIGHT
from mi_cvx.errors import InvalidInputError

from .conftest import SDP_SOLVERS, assert_close_to_oracle, value_tol

# ------------------------------------------------------------------ helpers (independent of mi_cvx.subset)


def random_instance(seed: int, m: int, n: int, *, correlated: bool = False):
    """A random non-identity A, correlated signal covariance and diagonal (or correlated) noise."""
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(m, n))
    G = rng.normal(size=(n, n))
    signal_cov = G @ G.T / n + 0.2 * np.eye(n)
    if correlated:
        H = rng.normal(size=(m, m))
        noise_cov = H @ H.T / m + 0.1 * np.eye(m)
    else:
        noise_cov = np.diag(rng.uniform(0.1, 2.0, size=m))
    return A, signal_cov, noise_cov


def joint_cov(A, signal_cov, noise_cov):
    """Covariance of (Y, X) for X = A Y + N."""
    return np.block([[signal_cov, signal_cov @ A.T], [A @ signal_cov, A @ signal_cov @ A.T + noise_cov]])


def brute_force_mi(A, signal_cov, noise_cov, subset) -> float:
    """I(Y; X_c) from the joint covariance with info.gaussian_mi (inf if the clean rows reveal Y)."""
    m, n = A.shape
    clean = [i for i in range(m) if i not in set(subset)]
    if not clean:
        return 0.0
    return info.gaussian_mi(joint_cov(A, signal_cov, noise_cov), np.arange(n), n + np.array(clean))


def brute_force_best(A, signal_cov, noise_cov, k):
    """(value, subset) minimising I(Y; X_c) over all k-subsets, by itertools."""
    m = A.shape[0]
    return min((brute_force_mi(A, signal_cov, noise_cov, s), s) for s in itertools.combinations(range(m), k))


def naive_greedy(A, signal_cov, noise_cov, k, *, with_ties=False):
    """Greedy by direct re-evaluation: attack, one at a time, the row that leaves the least information.

    With ``with_ties`` also say whether some step had a near-tie (two rows within 1e-9 of the best score),
    where another tie-break may legitimately pick other rows.
    """
    cov_x = A @ signal_cov @ A.T + noise_cov
    m = A.shape[0]

    def left(attacked):  # 2 I(Y; X_c) = logdet Cov(X_c) - logdet Cov(N_c)
        c = [i for i in range(m) if i not in attacked]
        return np.linalg.slogdet(cov_x[np.ix_(c, c)])[1] - np.linalg.slogdet(noise_cov[np.ix_(c, c)])[1]

    attacked: list[int] = []
    tied = False
    for _ in range(k):
        scores = sorted((left(attacked + [j]), j) for j in range(m) if j not in attacked)
        tied |= len(scores) > 1 and scores[1][0] - scores[0][0] <= 1e-9 * (1 + abs(scores[0][0]))
        attacked.append(scores[0][1])
    return (tuple(sorted(attacked)), tied) if with_ties else tuple(sorted(attacked))


sizes = st.integers(2, 8).flatmap(lambda m: st.tuples(st.just(m), st.integers(1, 5), st.integers(0, m)))

#: Seeded and reproducible whatever profile is loaded; the data are drawn by hypothesis itself
#: (mi_cvx.testing), so a failure shrinks to a small counterexample.
SETTINGS = settings(max_examples=25, deadline=None, derandomize=True)


def floats_array(size: int, low: float, high: float):
    """1-d arrays of ``size`` bounded floats."""
    return st.lists(st.floats(low, high), min_size=size, max_size=size).map(np.array)


@st.composite
def instances(draw, correlated=None):
    """The drawn counterpart of random_instance: ``(A, signal_cov, noise_cov, k)``.

    m in [2, 8] sensors, n in [1, 5] signals, k in [0, m]; ``A`` with condition number at most 1e3;
    ``signal_cov`` with condition at most 100; diagonal noise in [0.1, 2] or (``correlated``, drawn
    when None) a correlated noise covariance with eigenvalues in [0.1 / 100, 2].
    """
    m, n, k = draw(sizes)
    if correlated is None:
        correlated = draw(st.booleans())
    A = draw(testing.observation_matrices(m, n, condition=1e3))
    signal_cov = draw(testing.covariances(n))
    if correlated:
        noise_cov = draw(testing.covariances(m, scale=(0.1, 2.0)))
    else:
        noise_cov = np.diag(draw(floats_array(m, 0.1, 2.0)))
    return A, signal_cov, noise_cov, k


# ------------------------------------------------------------------ the closed form


@SETTINGS
@given(instance=instances(), data=st.data())
def test_subset_mi_equals_information_left_in_clean_rows(instance, data):
    A, sy, sn, k = instance
    subset = data.draw(st.permutations(range(A.shape[0])))[:k]
    assert oracles.subset_mi(sy, sn, subset, A=A) == pytest.approx(brute_force_mi(A, sy, sn, subset),
                                                                   rel=1e-9, abs=1e-12)


def test_subset_mi_special_values():
    A, sy, sn = random_instance(0, 5, 3)
    assert oracles.subset_mi(sy, sn, range(5), A=A) == 0.0  # everything attacked
    # nothing attacked: I(Y; X) = 0.5 logdet(Cov X) - 0.5 logdet(noise)
    cov_x = A @ sy @ A.T + sn
    full = 0.5 * (np.linalg.slogdet(cov_x)[1] - np.linalg.slogdet(sn)[1])
    assert oracles.subset_mi(sy, sn, [], A=A) == pytest.approx(full, rel=1e-12)
    # attacking more rows never leaves more information
    assert oracles.subset_mi(sy, sn, [0, 2], A=A) <= oracles.subset_mi(sy, sn, [2], A=A)
    # tiny information stays accurate (log1p form): one weak sensor of a unit signal
    eps = 1e-14
    assert oracles.subset_mi(1.0, np.diag([1.0, 1.0 / eps]), [0], A=np.ones((2, 1))) == pytest.approx(0.5 * eps,
                                                                                                        rel=1e-9)


@pytest.mark.parametrize("kind", ["diagonal", "correlated", "tiny", "badly_scaled"])
def test_subset_module_information_agrees_with_the_oracle(kind):
    """mi_cvx.subset evaluates I*(S) on its own (chain rule, square-root conditioning, not the oracle's
    singular values): the two must agree to 1e-10 relative on every subset of a few random instances."""
    from mi_cvx import subset as sub

    checked = 0
    for seed in range(6):
        rng = np.random.default_rng(1000 + seed)
        m, n = int(rng.integers(2, 8)), int(rng.integers(1, 6))  # both m < n and m > n
        A, sy, sn = random_instance(seed, m, n, correlated=kind == "correlated")
        if kind == "tiny":  # information of order 1e-12 nats: no cancellation allowed
            A = A * 1e-6
        elif kind == "badly_scaled":  # row gains over five decades, noise over nine
            A = A * 10 ** rng.uniform(-2, 3, size=(m, 1))
            sn = np.diag(10 ** rng.uniform(-8, 1, size=m))
        B = A @ np.linalg.cholesky(sy)
        for k in range(m + 1):
            for attacked in itertools.combinations(range(m), k):
                clean = np.setdiff1d(np.arange(m), attacked)
                own = sub._information(sub._whitened(B, sn, clean))
                reference = oracles.subset_mi(sy, sn, list(attacked), A=A)
                assert own == pytest.approx(reference, rel=1e-10, abs=0.0)
                checked += 1
        # and what subset_attack reports is that value at its subset
        result = mi_cvx.subset_attack(sy, sn, m // 2, A=A)
        assert result.mi == pytest.approx(oracles.subset_mi(sy, sn, result.subset, A=A), rel=1e-10)
    assert checked > 50


def test_subset_problem_is_the_sparse_sdp_on_the_chosen_rows():
    from mi_cvx.cases import best_subset_problem
    from mi_cvx.subset import subset_problem

    assert best_subset_problem is subset_problem  # the old name still works
    A, sy, sn = random_instance(4, 5, 2)
    chosen = mi_cvx.subset_attack(sy, sn, 2, A=A)
    problem = subset_problem(sy, sn, 2, A=A)
    assert problem.family == "subset_attack"  # the sparse SDP, as the Theorem 4.1 family's problem
    assert problem.oracle() == pytest.approx(chosen.mi, rel=1e-10)
    # A=None is the identity, sized from whichever covariance is a matrix
    assert subset_problem(1.0, np.diag([0.2, 0.1, 0.3]), 1).oracle() == pytest.approx(
        mi_cvx.subset_attack(1.0, np.diag([0.2, 0.1, 0.3]), 1).mi, rel=1e-10)


# ------------------------------------------------------------------ diagonal theory (Theorem 4.1's statement)


@given(variances=st.lists(st.floats(0.05, 20.0), min_size=2, max_size=9, unique=True),
       noise_var=st.floats(0.05, 3.0), data=st.data())
def test_identity_diagonal_attacks_the_largest_variances(variances, noise_var, data):
    """A = I, diagonal signal, equal noise: I*(S) = sum_{i clean} 0.5 log(1 + s_i / noise), minimised by
    attacking the k largest variances (the paper's remark after Theorem 4.1)."""
    sy = np.diag(variances)
    m = len(variances)
    k = data.draw(st.integers(0, m))
    expected_subset = tuple(sorted(np.argsort(variances)[::-1][:k].tolist()))
    clean = [i for i in range(m) if i not in expected_subset]
    expected_mi = sum(0.5 * math.log1p(variances[i] / noise_var) for i in clean)
    for method in ("exact", "greedy"):
        result = mi_cvx.subset_attack(sy, noise_var, k, method=method)
        assert result.subset == expected_subset
        assert result.mi == pytest.approx(expected_mi, rel=1e-10, abs=1e-13)
        assert result.gap == 0.0


@st.composite
def diagonal_models(draw):
    """``(a, s, noise, k)``: m in [2, 10] independent sensors with gains, signal and noise variances."""
    m = draw(st.integers(2, 10))
    a, s, noise = (draw(floats_array(m, lo, hi)) for lo, hi in ((0.2, 3.0), (0.1, 5.0), (0.05, 4.0)))
    return a, s, noise, draw(st.integers(0, m))


@SETTINGS
@given(model=diagonal_models())
@example(model=(np.full(4, 0.2), np.full(4, 0.1), np.full(4, 0.05), 2))  # all SNRs tied
@example(model=(np.array([1.0, 2.0, 1.0]), np.ones(3), np.array([1.0, 4.0, 1.0]), 1))  # three-way tie
def test_diagonal_model_with_unequal_noise_attacks_the_largest_snr(model):
    """A, signal_cov and noise_cov all diagonal: the sensors are independent channels with
    I = sum_{i clean} 0.5 log(1 + snr_i), snr_i = a_i^2 s_i / noise_i, so the best S is the k largest
    SNRs (not the largest variances of X once the noise differs), and greedy is exact."""
    a, s, noise, k = model
    m = a.size
    snr = a * a * s / noise
    expected_subset = tuple(sorted(np.argsort(snr)[::-1][:k].tolist()))
    expected_mi = float(sum(0.5 * np.log1p(snr[i]) for i in range(m) if i not in expected_subset))
    ranked = np.sort(snr)[::-1]
    unique = k in (0, m) or ranked[k] < ranked[k - 1] * (1 - 1e-9)  # the k-th and (k+1)-th largest differ
    exact = mi_cvx.subset_attack(np.diag(s), np.diag(noise), k, A=np.diag(a), method="exact")
    greedy = mi_cvx.subset_attack(np.diag(s), np.diag(noise), k, A=np.diag(a), method="greedy")
    for result in (exact, greedy):
        if unique:
            assert result.subset == expected_subset
        else:  # tied SNRs: any k rows with the k largest SNRs
            np.testing.assert_allclose(np.sort(snr[list(result.subset)])[::-1], ranked[:k], rtol=1e-12)
        assert result.mi == pytest.approx(expected_mi, rel=1e-10, abs=1e-13)
    assert greedy.gap == pytest.approx(0.0, abs=1e-12 * (1 + expected_mi)) and greedy.optimal


def test_largest_variance_is_not_the_rule_with_unequal_noise():
    # Row 0: variance 4 + 4 = 8 but SNR 1; row 1: variance 1 + 0.1 = 1.1 but SNR 10.
    sy, sn = np.diag([4.0, 1.0]), np.diag([4.0, 0.1])
    result = mi_cvx.subset_attack(sy, sn, 1)
    assert result.subset == (1,)
    assert result.mi == pytest.approx(0.5 * math.log(2.0), rel=1e-12)
    assert oracles.subset_mi(sy, sn, [0]) == pytest.approx(0.5 * math.log(11.0), rel=1e-12)


# ------------------------------------------------------------------ exact and greedy vs brute force


@SETTINGS
@given(instance=instances())
def test_exact_equals_brute_force(instance):
    A, sy, sn, k = instance
    m = A.shape[0]
    best_value, _ = brute_force_best(A, sy, sn, k)
    result = mi_cvx.subset_attack(sy, sn, k, A=A, method="exact")
    assert result.method == "exact" and result.gap == 0.0 and result.optimal
    assert result.evaluated == math.comb(m, k)
    assert len(result.subset) == k
    assert result.mi == pytest.approx(best_value, rel=1e-9, abs=1e-12)
    # the reported value is the value of the reported set
    assert brute_force_mi(A, sy, sn, result.subset) == pytest.approx(result.mi, rel=1e-9, abs=1e-12)


@SETTINGS
@given(mnk=sizes, data=st.data())
def test_badly_scaled_sensors_match_brute_force(mnk, data):
    """Row gains over five decades and noise over nine: strong sensors with tiny noise are not 'noiseless'.

    Cov(X) is too ill-conditioned here for info.gaussian_mi (pinv-based) to be accurate to 1e-8, so
    the reference scores every subset with the closed form (itself checked against 50-digit
    arithmetic on such an instance while writing this test)."""
    m, n, k = mnk
    gains = data.draw(floats_array(m, -2.0, 3.0))
    A = data.draw(testing.observation_matrices(m, n)) * 10 ** gains[:, None]
    sy, sn = np.eye(n), np.diag(10 ** data.draw(floats_array(m, -8.0, 1.0)))
    best_value = min(oracles.subset_mi(sy, sn, s, A=A) for s in itertools.combinations(range(m), k))
    for method in ("exact", "greedy"):
        result = mi_cvx.subset_attack(sy, sn, k, A=A, method=method)
        assert result.forced == ()
        assert (result.mi if method == "exact" else result.exact_mi) == pytest.approx(best_value, rel=1e-8)


@pytest.mark.parametrize(("m", "n", "k", "correlated", "form"), [
    (9, 1, 4, False, "signal"),      # n x n form, G - W_S^T W_S over the attacked rows
    (10, 1, 7, False, "signal"),     # n x n form, W_c^T W_c over the clean rows
    (12, 2, 6, False, "signal"),
    (9, 7, 2, False, "attacked"),    # k x k blocks of Cov(X)^-1 (complementary minors)
    (9, 7, 7, False, "clean"),       # (m-k) x (m-k) blocks of Cov(X)
    (9, 3, 3, True, "attacked"),     # correlated noise: both log-determinants
    (9, 3, 6, True, "clean"),
])
def test_every_scoring_form_equals_brute_force(m, n, k, correlated, form):
    for seed in range(3):
        A, sy, sn = random_instance(100 + seed, m, n, correlated=correlated)
        result = mi_cvx.subset_attack(sy, sn, k, A=A, method="exact")
        assert result.form == form
        best_value, best_subset = brute_force_best(A, sy, sn, k)
        assert result.mi == pytest.approx(best_value, rel=1e-9, abs=1e-12)
        assert result.subset == best_subset


@SETTINGS
@given(instance=instances())
@example(instance=(np.eye(4, 2), np.eye(2), 0.5 * np.eye(4), 2))  # rows 0 and 1 tie, rows 2 and 3 see nothing
def test_greedy_is_never_better_than_exact_and_reports_its_gap(instance):
    A, sy, sn, k = instance
    m = A.shape[0]
    exact = mi_cvx.subset_attack(sy, sn, k, A=A, method="exact")
    greedy = mi_cvx.subset_attack(sy, sn, k, A=A, method="greedy")
    assert greedy.method == "greedy"
    assert greedy.mi >= exact.mi - 1e-12 * (1 + exact.mi)
    assert greedy.exact_mi == pytest.approx(exact.mi, rel=1e-12, abs=1e-14)
    assert greedy.gap >= 0.0
    assert greedy.gap == pytest.approx(greedy.mi - exact.mi, abs=1e-12 * (1 + exact.mi))
    assert greedy.mi == pytest.approx(brute_force_mi(A, sy, sn, greedy.subset), rel=1e-9, abs=1e-12)
    # the rank-one/Schur updates pick the same rows as re-evaluating every candidate directly
    # (where the pick is unique: tied rows may be broken either way)
    naive, tied = naive_greedy(A, sy, sn, k, with_ties=True)
    if not tied:
        assert greedy.subset == naive
    # one score per clean row at each of the k steps
    assert greedy.evaluated == (sum(m - t for t in range(k)) if 0 < k < m else 1)


def test_greedy_can_be_strictly_suboptimal_and_says_so():
    # search small correlated instances until greedy misses; the gap must then be reported
    for seed in range(400):
        A, sy, sn = random_instance(seed, 7, 3)
        greedy = mi_cvx.subset_attack(sy, sn, 3, A=A, method="greedy")
        if greedy.gap > 1e-6:
            best_value, best_subset = brute_force_best(A, sy, sn, 3)
            assert greedy.exact_mi == pytest.approx(best_value, rel=1e-9)
            assert greedy.exact_subset == best_subset
            assert greedy.gap == pytest.approx(greedy.mi - best_value, rel=1e-9)
            assert greedy.optimal is False
            return
    pytest.fail("greedy was optimal on all 400 instances; the gap bookkeeping was not exercised")


def test_auto_switches_to_greedy_beyond_max_exact():
    A, sy, sn = random_instance(7, 10, 4)
    count = math.comb(10, 4)
    auto_exact = mi_cvx.subset_attack(sy, sn, 4, A=A, max_exact=count)
    assert auto_exact.method == "exact" and auto_exact.evaluated == count
    auto_greedy = mi_cvx.subset_attack(sy, sn, 4, A=A, max_exact=count - 1)
    assert auto_greedy.method == "greedy"
    assert auto_greedy.gap is None and auto_greedy.exact_mi is None and auto_greedy.optimal is None
    assert auto_greedy.mi >= auto_exact.mi - 1e-12
    # greedy with exact affordable reports the gap; with max_exact=0 it does not
    assert mi_cvx.subset_attack(sy, sn, 4, A=A, method="greedy", max_exact=0).gap is None


def test_large_greedy_matches_direct_evaluation():
    m, n, k = 120, 15, 12
    A, sy, sn = random_instance(11, m, n)
    result = mi_cvx.subset_attack(sy, sn, k, A=A)
    assert result.method == "greedy" and result.gap is None  # C(120, 12) is far beyond max_exact
    assert result.mi == pytest.approx(oracles.subset_mi(sy, sn, result.subset, A=A), rel=1e-12)
    assert result.subset == naive_greedy(A, sy, sn, k)
    assert result.mi_unattacked == pytest.approx(oracles.subset_mi(sy, sn, [], A=A), rel=1e-12)


def test_noiseless_sensors_are_attacked_first_and_dead_ones_never():
    rng = np.random.default_rng(5)
    m, n = 7, 3
    A = rng.normal(size=(m, n))
    A[6] = 0.0                                  # row 6 sees nothing
    sy = np.eye(n) + 0.3
    noise = np.diag([0.5, 0.0, 1.0, 0.0, 2.0, 0.7, 0.0])  # rows 1, 3 noiseless with signal; 6 dead
    for k in (2, 3, 4):
        best_value, _ = brute_force_best(A, sy, noise, k)  # inf for every set leaving row 1 or 3 clean
        for method in ("exact", "greedy"):
            result = mi_cvx.subset_attack(sy, noise, k, A=A, method=method)
            assert {1, 3} <= set(result.subset) and 6 not in result.subset
            assert result.forced == (1, 3)
            assert math.isinf(result.mi_unattacked)
            if method == "exact":
                assert result.mi == pytest.approx(best_value, rel=1e-9)
    # every row with noise attacked: the remaining slot goes to the dead row, information 0
    result = mi_cvx.subset_attack(sy, noise, 7, A=A)
    assert result.subset == tuple(range(7)) and result.mi == 0.0


def test_k_zero_and_k_all_rows():
    A, sy, sn = random_instance(3, 6, 2)
    none = mi_cvx.subset_attack(sy, sn, 0, A=A)
    assert none.subset == () and none.mi == pytest.approx(brute_force_mi(A, sy, sn, ()), rel=1e-12)
    assert none.mi == pytest.approx(none.mi_unattacked, rel=1e-12)
    full = mi_cvx.subset_attack(sy, sn, 6, A=A)
    assert full.subset == tuple(range(6)) and full.mi == 0.0 and full.clean == ()


def test_result_fields_json_and_repr():
    A, sy, sn = random_instance(2, 8, 3)
    result = mi_cvx.subset_attack(sy, sn, 3, A=A, method="greedy")
    assert result.mi_bits == pytest.approx(result.mi / math.log(2))
    assert set(result.subset) | set(result.clean) == set(range(8)) and not set(result.subset) & set(result.clean)
    data = json.loads(json.dumps(result.to_dict()))
    assert data["subset"] == list(result.subset) and data["method"] == "greedy"
    assert data["mi"] == pytest.approx(result.mi) and data["gap"] == pytest.approx(result.gap)
    assert data["evaluated"] == result.evaluated
    text = repr(result)
    assert "greedy" in text and str(list(result.subset))[1:-1] in text and "nats" in text and "bits" in text
    noiseless = mi_cvx.subset_attack(1.0, np.diag([0.0, 1.0, 1.0]), 1, A=np.ones((3, 1)))
    assert json.loads(json.dumps(noiseless.to_dict()))["mi_unattacked"] is None  # inf is not JSON


# ------------------------------------------------------------------ the sparse SDP (gaussian_sparse)


@pytest.mark.parametrize("solver", SDP_SOLVERS)
@pytest.mark.parametrize(("seed", "m", "n", "subset", "correlated"), [
    (1, 4, 2, [1], False),
    (2, 5, 3, [0, 3], False),
    (3, 5, 2, [2, 4], True),
    (4, 3, 3, [], False),
])
def test_sparse_sdp_without_budget_equals_closed_form(solver, seed, m, n, subset, correlated):
    A, sy, sn = random_instance(seed, m, n, correlated=correlated)
    problem = mi_cvx.gaussian_sparse(A, subset, None, sy, sn)
    closed = oracles.subset_mi(sy, sn, subset, A=A)
    assert problem.oracle() == pytest.approx(closed, rel=1e-12)
    result = problem.solve(solver, **(SCS_TIGHT if solver == "SCS" else {}))
    assert result.ok
    assert_close_to_oracle(result.mi, closed, solver)
    # the returned attack, re-evaluated in plain numpy, leaves that information
    assert result.mi_check == pytest.approx(closed, abs=10 * value_tol(solver) * (1 + closed))


def test_sparse_sdp_at_the_selected_subset_reproduces_subset_attack():
    A, sy, sn = random_instance(9, 6, 3)
    choice = mi_cvx.subset_attack(sy, sn, 2, A=A)
    result = mi_cvx.gaussian_sparse(A, choice.subset, None, sy, sn).solve("CLARABEL")
    assert_close_to_oracle(result.mi, choice.mi, "CLARABEL")


@pytest.mark.parametrize("solver", SDP_SOLVERS)
@pytest.mark.parametrize("noise_var", [0.0, 0.4])
def test_sparse_sdp_on_every_row_is_theorem_3_2(solver, noise_var):
    A, sy, _ = random_instance(21, 4, 3)
    budget = 0.6
    problem = mi_cvx.gaussian_sparse(A, range(4), budget, sy, noise_var)
    exact = oracles.isotropic_gaussian(A, budget, sy, noise_var).mi
    assert problem.oracle() == pytest.approx(exact, rel=1e-12)
    result = problem.solve(solver, **(SCS_TIGHT if solver == "SCS" else {}))
    assert_close_to_oracle(result.mi, exact, solver)
    vector = mi_cvx.gaussian_vector(A, budget, sy, noise_var).solve(solver, **(SCS_TIGHT if solver == "SCS" else {}))
    assert_close_to_oracle(result.mi, vector.mi, solver, factor=2)


def test_budgeted_sparse_sdp_spans_theorem_3_2_to_theorem_4_1():
    A, sy, sn = random_instance(13, 5, 3)
    subset = [0, 3]
    limit = oracles.subset_mi(sy, sn, subset, A=A)
    unattacked = oracles.subset_mi(sy, sn, [], A=A)
    full_trace = float(np.trace((A @ sy @ A.T + sn)[np.ix_(subset, subset)]))  # Delta_S = -X_S costs this
    problem = mi_cvx.gaussian_sparse(A, subset, 0.0, sy, sn)
    budgets = [0.0, 0.05, 0.2, 0.5, 1.0, 2.0, 4.0, 8.0, full_trace]
    values = []
    for budget in budgets:
        problem.parameters["budget"].value = budget  # DPP: one compile, many solves
        result = problem.solve("CLARABEL")
        assert result.budget_used <= budget * (1 + 1e-6) + 1e-6
        values.append(result.mi)
    tol = value_tol("CLARABEL")
    assert values[0] == pytest.approx(unattacked, rel=10 * tol)  # no budget: no change
    assert all(b <= a + tol * (1 + a) for a, b in itertools.pairwise(values))  # non-increasing in the budget
    assert all(v >= limit - tol * (1 + limit) for v in values)  # never below Theorem 4.1
    assert values[1] < unattacked - 1e-3 and values[-2] > limit + 1e-6  # strictly between the ends
    gaps = [v - limit for v in values]
    assert gaps[-2] < 0.1 * gaps[1]  # approaches I*(S) as the budget grows
    assert problem.oracle() == pytest.approx(limit, rel=1e-12)  # budget >= trace Cov(X_S): the oracle is I*(S)
    assert_close_to_oracle(values[-1], limit, "CLARABEL")


# ------------------------------------------------------------------ correlated sensors


def test_theorem_4_1_does_not_need_independent_sensors():
    """MATH.md states section 6 for diagonal noise; the bound I(Y; Z) >= I(Y; X_c) is the chain rule and the
    value is reached by Z_S independent of everything, for any noise positive definite on the clean rows.
    Checked three ways: closed form, brute force, and the SDP (which knows nothing about Theorem 4.1)."""
    A, sy, sn = random_instance(17, 5, 3, correlated=True)
    assert np.count_nonzero(sn - np.diag(np.diag(sn)))  # genuinely correlated
    result = mi_cvx.subset_attack(sy, sn, 2, A=A)
    best_value, best_subset = brute_force_best(A, sy, sn, 2)
    assert result.subset == best_subset and result.mi == pytest.approx(best_value, rel=1e-9)
    sdp = mi_cvx.gaussian_sparse(A, result.subset, None, sy, sn).solve("CLARABEL")
    assert_close_to_oracle(sdp.mi, result.mi, "CLARABEL")


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(("kwargs", "argument"), [
    ({"k": 6}, "k"),
    ({"k": -1}, "k"),
    ({"k": 2.5}, "k"),
    ({"method": "annealing"}, "method"),
    ({"method": "exact", "max_exact": 5}, "method"),  # C(5, 2) = 10 subsets > 5
    ({"max_exact": -1}, "max_exact"),
    ({"A": np.ones((5, 3))}, "signal_cov"),  # signal_cov is 2 x 2
    ({"noise_cov": np.eye(4)}, "noise_cov"),  # 5 rows
    ({"A": None}, "noise_cov"),  # A = I is 2 x 2 from signal_cov, noise_cov is 5 x 5
    ({"A": None, "signal_cov": 1.0, "noise_cov": 0.5}, "A"),  # no size anywhere
    ({"signal_cov": np.array([[1.0, 2.0], [2.0, 1.0]])}, "signal_cov"),  # not PSD
    ({"noise_cov": np.diag([0.0, 0.0, 0.0, 1.0, 1.0])}, "noise_cov"),  # 3 noiseless sensors, k = 2
    ({"noise_cov": np.ones((5, 5)) + np.diag([0, 0, 0, 0, 1.0])}, "noise_cov"),  # correlated, singular
])
def test_subset_attack_bad_input(kwargs, argument):
    args = {"signal_cov": np.eye(2), "noise_cov": np.eye(5), "k": 2, "A": np.ones((5, 2)), "method": "auto"}
    args.update(kwargs)
    with pytest.raises(InvalidInputError, match=argument):
        mi_cvx.subset_attack(**args)


@pytest.mark.parametrize(("kwargs", "argument"), [
    ({"subset": [5]}, "subset"),
    ({"subset": [-1]}, "subset"),
    ({"subset": [1, 1]}, "subset"),
    ({"subset": [0.5]}, "subset"),
    ({"subset": [[0, 1]]}, "subset"),
    ({"noise_cov": np.diag([1.0, 0.0, 1.0])}, "noise_cov"),  # row 1 clean and noiseless
    ({"noise_cov": np.array([[1.0, 0, 0], [0, 1.0, 1.0], [0, 1.0, 1.0]])}, "noise_cov"),  # rows 1, 2 singular
    ({"noise_cov": np.eye(4)}, "noise_cov"),
    ({"A": np.ones((3, 4))}, "signal_cov"),
])
def test_subset_mi_bad_input(kwargs, argument):
    args = {"signal_cov": np.eye(2), "noise_cov": np.eye(3), "subset": [0], "A": np.ones((3, 2))}
    args.update(kwargs)
    with pytest.raises(InvalidInputError, match=argument):
        oracles.subset_mi(**args)


def test_noiseless_rows_are_fine_when_attacked():
    noise = np.diag([1.0, 0.0, 1.0])
    value = oracles.subset_mi(np.eye(2), noise, [1], A=np.ones((3, 2)))
    assert value == pytest.approx(brute_force_mi(np.ones((3, 2)), np.eye(2), noise, [1]), rel=1e-12)
    mi_cvx.gaussian_sparse(np.ones((3, 2)), [1], None, np.eye(2), noise)  # builds


@pytest.mark.parametrize(("kwargs", "argument"), [
    ({"noise_cov": np.diag([1.0, 0.0, 1.0])}, "noise_cov"),  # row 1 is clean and noiseless
    ({"noise_cov": np.array([[1.0, 0, 0], [0, 1.0, 1.0], [0, 1.0, 1.0]])}, "noise_cov"),
    ({"support": [3]}, "support"),
    ({"support": [0.5]}, "support"),
    ({"signal_cov": np.eye(3)}, "signal_cov"),
    ({"budget": -1.0}, "budget"),
])
def test_gaussian_sparse_bad_input(kwargs, argument):
    args = {"A": np.ones((3, 2)), "support": [0], "budget": None, "signal_cov": np.eye(2), "noise_cov": np.eye(3)}
    args.update(kwargs)
    with pytest.raises(InvalidInputError, match=argument):
        mi_cvx.gaussian_sparse(**args)


@pytest.mark.parametrize("m, n, scale", [(120, 90, 1.0), (200, 70, 1e-6), (90, 150, 1e3)])
def test_large_sets_information_agrees_with_the_oracle(m, n, scale):
    """Above 64 rows and dimensions the fast path's information comes from a Gram eigendecomposition."""
    from mi_cvx import subset as _subset

    rng = np.random.default_rng(m + n)
    A = scale * rng.normal(size=(m, n))
    noise = np.diag(rng.uniform(0.1, 2.0, size=m))
    attacked = np.arange(0, m, 4)
    clean = np.setdiff1d(np.arange(m), attacked)
    value = _subset._information(_subset._whitened(A, noise, clean))
    reference = mi_cvx.oracles.subset_mi(np.eye(n), noise, list(attacked), A=A)
    assert abs(value - reference) <= 1e-10 * reference
