"""Fitting attack models from samples (mi_cvx.data): estimators, shrinkage, labels, errors."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.covariance import ledoit_wolf

import mi_cvx
from mi_cvx.data import DiscreteFit, GaussianFit, fit_discrete, fit_gaussian

# ---------------------------------------------------------------- a known Gaussian model

A_TRUE = np.array([[1.0, 0.5, 0.0], [0.0, 1.0, -0.3]])
SIGNAL = np.array([[1.0, 0.3, 0.0], [0.3, 2.0, 0.1], [0.0, 0.1, 0.5]])
NOISE = np.array([[0.4, 0.1], [0.1, 0.3]])
MEAN_Y = np.array([1.0, -2.0, 3.0])
OFFSET_X = np.array([5.0, -1.0])
N_LARGE = 100_000


def _draw(N: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.multivariate_normal(MEAN_Y, SIGNAL, size=N)
    x = y @ A_TRUE.T + OFFSET_X + rng.multivariate_normal(np.zeros(2), NOISE, size=N)
    return y, x


@pytest.fixture(scope="module")
def samples() -> tuple[np.ndarray, np.ndarray]:
    return _draw(N_LARGE, 20261126)


@pytest.fixture(scope="module")
def fit(samples) -> GaussianFit:
    return fit_gaussian(*samples)


def _cov_se(cov: np.ndarray, N: int) -> np.ndarray:
    """Standard errors of a Gaussian sample covariance's entries: sqrt((s_ii s_jj + s_ij^2) / N)."""
    d = np.diag(cov)
    return np.sqrt((np.outer(d, d) + cov**2) / N)


def test_fit_recovers_the_model_within_sampling_error(fit):
    N = fit.samples
    assert N == N_LARGE
    assert fit.A.shape == (2, 3) and fit.signal_cov.shape == (3, 3) and fit.noise_cov.shape == (2, 2)
    # least squares: Var(A_hat[i, j]) ~ noise_cov[i, i] * inv(signal_cov)[j, j] / N
    se_A = np.sqrt(np.outer(np.diag(fit.noise_cov), np.diag(np.linalg.inv(fit.signal_cov))) / N)
    assert np.all(np.abs(fit.A - A_TRUE) <= 5 * se_A)
    assert np.all(np.abs(fit.signal_cov - SIGNAL) <= 5 * _cov_se(SIGNAL, N))
    assert np.all(np.abs(fit.noise_cov - NOISE) <= 5 * _cov_se(NOISE, N))
    np.testing.assert_allclose(fit.signal_cov, SIGNAL, rtol=0.03, atol=0.01)
    np.testing.assert_allclose(fit.noise_cov, NOISE, rtol=0.03, atol=0.01)
    assert np.all(np.abs(fit.mean_y - MEAN_Y) <= 5 * np.sqrt(np.diag(SIGNAL) / N))
    cov_x = A_TRUE @ SIGNAL @ A_TRUE.T + NOISE
    assert np.all(np.abs(fit.mean_x - (A_TRUE @ MEAN_Y + OFFSET_X)) <= 5 * np.sqrt(np.diag(cov_x) / N))
    # symmetric, as the factory wants them
    np.testing.assert_array_equal(fit.signal_cov, fit.signal_cov.T)
    np.testing.assert_array_equal(fit.noise_cov, fit.noise_cov.T)
    assert fit.shrinkage is None and fit.shrinkage_used == (0.0, 0.0)


def test_plain_estimates_are_the_textbook_formulas(samples, fit):
    y, x = samples
    y_c, x_c = y - y.mean(axis=0), x - x.mean(axis=0)
    A_T = np.linalg.lstsq(y_c, x_c, rcond=None)[0]
    np.testing.assert_allclose(fit.A, A_T.T, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(fit.signal_cov, np.cov(y, rowvar=False), rtol=1e-10)
    r = x_c - y_c @ A_T
    np.testing.assert_allclose(fit.noise_cov, r.T @ r / (len(y) - 3 - 1), rtol=1e-10)


def test_covariances_are_unbiased_at_small_N():
    # averaged over many small fits: the residual divisor N - n - 1 (n slopes and the mean) is
    # unbiased; N - n would be off by a factor 3/4 here, N - 1 by 3/7
    rng = np.random.default_rng(7)
    n, N, reps = 4, 8, 4000
    A = rng.normal(size=(2, n))
    sd = np.array([1.0, 2.0])
    noise_sum, signal_sum = np.zeros((2, 2)), np.zeros((n, n))
    for _ in range(reps):
        y = rng.normal(size=(N, n))
        x = y @ A.T + rng.normal(size=(N, 2)) * sd
        f = fit_gaussian(y, x)
        noise_sum += f.noise_cov
        signal_sum += f.signal_cov
    np.testing.assert_allclose(np.diag(noise_sum / reps), sd**2, rtol=0.07)
    np.testing.assert_allclose(np.diag(signal_sum / reps), np.ones(n), rtol=0.07)


def test_one_dimensional_inputs():
    rng = np.random.default_rng(1)
    y = rng.normal(size=5000)
    x = 2.0 * y + 0.5 + rng.normal(scale=0.5, size=5000)
    f = fit_gaussian(y, x)
    assert f.A.shape == (1, 1) and f.signal_cov.shape == (1, 1) and f.noise_cov.shape == (1, 1)
    assert f.mean_y.shape == (1,) and f.mean_x.shape == (1,)
    assert f.A[0, 0] == pytest.approx(2.0, abs=0.05)
    assert f.noise_cov[0, 0] == pytest.approx(0.25, rel=0.1)
    assert f.noise(y, x).shape == (5000, 1)


# ---------------------------------------------------------------- shrinkage


@pytest.mark.parametrize("shrinkage", ["ledoit_wolf", 0.0, 1e-3])
def test_shrinkage_stays_close_when_N_is_large(samples, fit, shrinkage):
    shrunk = fit_gaussian(*samples, shrinkage=shrinkage)
    assert shrunk.shrinkage == shrinkage
    np.testing.assert_allclose(shrunk.A, fit.A, atol=0.01)
    np.testing.assert_allclose(shrunk.signal_cov, fit.signal_cov, rtol=0.01, atol=1e-3)
    np.testing.assert_allclose(shrunk.noise_cov, fit.noise_cov, rtol=0.01, atol=1e-3)
    np.testing.assert_array_equal(shrunk.mean_y, fit.mean_y)


def test_zero_shrinkage_is_the_plain_fit(samples, fit):
    zero = fit_gaussian(*samples, shrinkage=0.0)
    np.testing.assert_allclose(zero.A, fit.A, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(zero.signal_cov, fit.signal_cov, rtol=1e-12)
    np.testing.assert_allclose(zero.noise_cov, fit.noise_cov, rtol=1e-8)


def test_numeric_shrinkage_is_the_convex_combination(samples, fit):
    y, x = samples
    c = 0.3
    shrunk = fit_gaussian(y, x, shrinkage=c)
    expected = (1 - c) * fit.signal_cov + c * np.trace(fit.signal_cov) / 3 * np.eye(3)
    np.testing.assert_allclose(shrunk.signal_cov, expected, rtol=1e-12)
    # A is the regression with the shrunk covariance: Cov(x, y) signal_cov^{-1}
    s_xy = (x - x.mean(axis=0)).T @ (y - y.mean(axis=0)) / (len(y) - 1)
    np.testing.assert_allclose(shrunk.A, s_xy @ np.linalg.inv(shrunk.signal_cov), rtol=1e-9)
    # the noise covariance is shrunk towards trace/m I too: its eigenvalues move together
    eig = np.linalg.eigvalsh(shrunk.noise_cov)
    assert eig[0] / eig[-1] > np.linalg.eigvalsh(fit.noise_cov)[0] / np.linalg.eigvalsh(fit.noise_cov)[-1]
    assert shrunk.shrinkage_used == (c, c)
    # full shrinkage: a multiple of the identity
    full = fit_gaussian(y, x, shrinkage=1)
    np.testing.assert_allclose(full.signal_cov, np.trace(fit.signal_cov) / 3 * np.eye(3), rtol=1e-12)


def test_ledoit_wolf_uses_sklearns_coefficient(samples):
    y, x = samples
    N = len(y)
    shrunk = fit_gaussian(y[:200], x[:200], shrinkage="ledoit_wolf")
    lw_cov, lw_coef = ledoit_wolf(y[:200])
    assert shrunk.shrinkage_used[0] == pytest.approx(lw_coef, rel=1e-12)
    # sklearn divides by N; the fit applies the same combination to the unbiased (N - 1) covariance
    np.testing.assert_allclose(shrunk.signal_cov, lw_cov * 200 / 199, rtol=1e-10)
    residuals = (x[:200] - x[:200].mean(axis=0)) - (y[:200] - y[:200].mean(axis=0)) @ shrunk.A.T
    assert shrunk.shrinkage_used[1] == pytest.approx(ledoit_wolf(residuals, assume_centered=True)[1], rel=1e-9)
    assert N == N_LARGE


@pytest.mark.parametrize("shrinkage", ["ledoit_wolf", 0.2])
def test_shrinkage_is_well_conditioned_when_N_is_smaller_than_n(shrinkage):
    rng = np.random.default_rng(3)
    n, m, N = 12, 3, 8
    A = rng.normal(size=(m, n))
    y = rng.normal(size=(N, n))
    x = y @ A.T + rng.normal(scale=0.5, size=(N, m))
    with pytest.raises(mi_cvx.InvalidInputError, match="shrinkage=") as excinfo:
        fit_gaussian(y, x)
    assert excinfo.value.argument == "y"
    shrunk = fit_gaussian(y, x, shrinkage=shrinkage)
    assert np.all(np.isfinite(shrunk.A))
    for cov in (shrunk.signal_cov, shrunk.noise_cov):
        eig = np.linalg.eigvalsh(cov)
        assert eig[0] > 0 and eig[-1] / eig[0] < 1e3
    assert shrunk.attack_problem(0.5).solve().ok


def test_collinear_y_needs_shrinkage():
    rng = np.random.default_rng(4)
    y = rng.normal(size=(500, 3))
    y[:, 2] = y[:, 0] - 2 * y[:, 1]
    x = y @ np.ones((3, 1)) + rng.normal(size=(500, 1))
    with pytest.raises(mi_cvx.InvalidInputError, match="singular.*shrinkage=") as excinfo:
        fit_gaussian(y, x)
    assert excinfo.value.argument == "y"
    with pytest.raises(mi_cvx.InvalidInputError, match="shrinkage=") as excinfo:
        fit_gaussian(y, x, shrinkage=0.0)
    assert excinfo.value.argument == "y"
    assert np.linalg.eigvalsh(fit_gaussian(y, x, shrinkage="ledoit_wolf").signal_cov)[0] > 0


# ---------------------------------------------------------------- the attack on a fit


def test_attack_problem_solves_and_records_the_fit(fit):
    problem = fit.attack_problem(1.0)
    assert problem.spec["data"] is fit
    assert problem.family == "gaussian_vector"
    result = problem.solve()
    assert result.ok
    direct = mi_cvx.gaussian_vector(fit.A, 1.0, fit.signal_cov, fit.noise_cov).solve()
    assert result.mi == pytest.approx(direct.mi, rel=1e-6, abs=1e-8)


def test_attack_problem_passes_every_option_through(fit):
    blind = fit.attack_problem(1.0, knows="nothing")
    assert blind.spec["knows"] == "nothing" and blind.spec["data"] is fit
    assert blind.solve().ok
    weighted = fit.attack_problem(1.0, stealth_weight=0.5)
    assert weighted.parameters["stealth_weight"].value == pytest.approx(0.5)
    assert weighted.spec["data"] is fit
    assert weighted.solve().ok
    capped = fit.attack_problem(1.0, stealth=0.1, knows="x")
    assert capped.spec["knows"] == "x" and capped.parameters["stealth"].value == pytest.approx(0.1)
    with pytest.raises(mi_cvx.InvalidInputError) as excinfo:
        fit.attack_problem(1.0, knows="everything")
    assert excinfo.value.argument == "knows"


def test_noise_of_samples(samples, fit):
    y, x = samples
    noise = fit.noise(y[:10], x[:10])
    assert noise.shape == (10, 2)
    np.testing.assert_allclose(noise, x[:10] - fit.mean_x - (y[:10] - fit.mean_y) @ fit.A.T)
    # over the whole sample the fitted noise has mean ~0 and the fitted covariance (up to the divisor)
    everything = fit.noise(y, x)
    np.testing.assert_allclose(everything.mean(axis=0), 0.0, atol=1e-10)
    np.testing.assert_allclose(np.cov(everything, rowvar=False) * (N_LARGE - 1) / (N_LARGE - 4), fit.noise_cov)
    for args, argument in [((y[:5, :2], x[:5]), "y"), ((y[:5], x[:5, :1]), "x"), ((y[:5], x[:4]), "x"),
                           ((y[:5], np.full((5, 2), np.nan)), "x")]:
        with pytest.raises(mi_cvx.InvalidInputError) as excinfo:
            fit.noise(*args)
        assert excinfo.value.argument == argument


def test_gaussian_fit_pickles_and_is_frozen(fit):
    clone = pickle.loads(pickle.dumps(fit))
    assert isinstance(clone, GaussianFit)
    for name in ("A", "signal_cov", "noise_cov", "mean_y", "mean_x"):
        np.testing.assert_array_equal(getattr(clone, name), getattr(fit, name))
    assert (clone.samples, clone.shrinkage, clone.shrinkage_used) == (fit.samples, fit.shrinkage, fit.shrinkage_used)
    with pytest.raises(AttributeError):
        fit.samples = 3  # type: ignore[misc]
    with pytest.raises(ValueError):
        fit.A[0, 0] = 0.0  # the arrays are read-only too
    text = repr(fit)
    assert len(text) < 200 and "m=2" in text and "n=3" in text and str(N_LARGE) in text


# ---------------------------------------------------------------- Gaussian bad input


def _bad_gaussian_cases():
    y, x = _draw(50, 5)
    constant_y = y.copy()
    constant_y[:, 1] = 4.0
    constant_x = x.copy()
    constant_x[:, 0] = -1.0
    nan_y = y.copy()
    nan_y[7, 2] = np.nan
    inf_x = x.copy()
    inf_x[3, 0] = np.inf
    return [
        ("lengths", (y, x[:-1]), {}, "x", "49 samples but y has 50"),
        ("nan", (nan_y, x), {}, "y", "NaN"),
        ("inf", (y, inf_x), {}, "x", "infinite"),
        ("too few", (y[:4], x[:4]), {}, "y", "at least n \\+ 2"),
        ("one sample", (y[:1], x[:1]), {"shrinkage": 0.5}, "y", "at least 2"),
        ("two samples, ledoit_wolf", (y[:2], x[:2]), {"shrinkage": "ledoit_wolf"}, "y", "singular after shrinkage"),
        ("zero shrinkage", (y[:4], x[:4]), {"shrinkage": 0.0}, "y", "use shrinkage="),
        ("constant y", (constant_y, x), {}, "y", "column\\(s\\) 1 are constant"),
        ("constant y, shrunk", (constant_y, x), {"shrinkage": "ledoit_wolf"}, "y", "column\\(s\\) 1"),
        ("constant x", (y, constant_x), {}, "x", "column\\(s\\) 0 are constant"),
        ("strings", (np.array(["a"] * 50), x), {}, "y", "real numbers"),
        ("3-D", (y.reshape(50, 3, 1), x), {}, "y", "shape"),
        ("shrinkage < 0", (y, x), {"shrinkage": -0.1}, "shrinkage", "\\[0, 1\\]"),
        ("shrinkage > 1", (y, x), {"shrinkage": 1.5}, "shrinkage", "\\[0, 1\\]"),
        ("shrinkage nan", (y, x), {"shrinkage": float("nan")}, "shrinkage", "\\[0, 1\\]"),
        ("shrinkage name", (y, x), {"shrinkage": "oas"}, "shrinkage", "ledoit_wolf"),
        ("shrinkage bool", (y, x), {"shrinkage": True}, "shrinkage", "\\[0, 1\\]"),
    ]


@pytest.mark.parametrize(("args", "kwargs", "argument", "match"),
                         [case[1:] for case in _bad_gaussian_cases()], ids=[c[0] for c in _bad_gaussian_cases()])
def test_fit_gaussian_bad_input(args, kwargs, argument, match):
    with pytest.raises(mi_cvx.InvalidInputError, match=match) as excinfo:
        fit_gaussian(*args, **kwargs)
    assert excinfo.value.argument == argument


# ---------------------------------------------------------------- discrete

P_TRUE = np.array([[0.10, 0.05, 0.15, 0.00],
                   [0.20, 0.02, 0.03, 0.05],
                   [0.05, 0.10, 0.05, 0.20]])


def test_fit_discrete_recovers_a_known_pmf():
    rng = np.random.default_rng(11)
    N = 100_000
    cells = rng.choice(P_TRUE.size, size=N, p=P_TRUE.ravel())
    x_names, y_names = np.array(["lo", "mid", "hi"]), np.array([10, 20, 30, 40])
    x, y = x_names[cells // 4], y_names[cells % 4]
    f = fit_discrete(x, y)
    assert f.samples == N and f.smoothing == 0.0
    np.testing.assert_array_equal(f.x_labels, ["hi", "lo", "mid"])  # sorted
    np.testing.assert_array_equal(f.y_labels, [10, 20, 30, 40])
    expected = P_TRUE[[2, 0, 1]]  # rows in sorted label order
    assert f.p_xy.sum() == pytest.approx(1.0)
    se = np.sqrt(expected * (1 - expected) / N)
    assert np.all(np.abs(f.p_xy - expected) <= 5 * se + 1e-12)
    assert np.all(f.p_xy[f.encode_x("lo"), f.encode_y(40)] == 0.0)  # a zero cell stays zero without smoothing


def test_smoothing_formula_on_a_hand_example():
    x = ["a", "a", "b"]
    y = [0, 1, 1]
    f = fit_discrete(x, y, smoothing=0.5)
    # counts [[1, 1], [0, 1]]; (n + 0.5) / (3 + 0.5 * 4)
    np.testing.assert_allclose(f.p_xy, np.array([[1.5, 1.5], [0.5, 1.5]]) / 5.0, rtol=0, atol=1e-15)
    plain = fit_discrete(x, y)
    np.testing.assert_allclose(plain.p_xy, np.array([[1, 1], [0, 1]]) / 3.0, rtol=0, atol=1e-15)
    assert f.smoothing == 0.5 and f.samples == 3


def test_string_labels_encode_decode_round_trip():
    x = ["cat", "dog", "bird", "dog", "cat", "cat"]
    y = ["indoor", "outdoor", "outdoor", "indoor", "indoor", "outdoor"]
    f = fit_discrete(x, y)
    np.testing.assert_array_equal(f.x_labels, ["bird", "cat", "dog"])
    codes = f.encode_x(x)
    assert codes.dtype.kind == "i"
    np.testing.assert_array_equal(codes, [1, 2, 0, 2, 1, 1])
    np.testing.assert_array_equal(f.decode_x(codes), x)
    np.testing.assert_array_equal(f.decode_y(f.encode_y(y)), y)
    assert f.encode_x("dog") == 2 and isinstance(f.encode_x("dog"), int)
    assert f.encode_y(np.array(["outdoor"]))[0] == 1
    # the pmf's cells are the encoded pairs
    counts = np.zeros((3, 2))
    np.add.at(counts, (f.encode_x(x), f.encode_y(y)), 1)
    np.testing.assert_allclose(f.p_xy, counts / 6)


def test_other_label_kinds():
    ints = fit_discrete(np.array([3, 1, 3, 2]), np.array([0, 0, 1, 1]))
    np.testing.assert_array_equal(ints.x_labels, [1, 2, 3])
    np.testing.assert_array_equal(ints.encode_x([3, 1.0]), [2, 0])
    tuples = fit_discrete([(0, 1), (0, 1), (2, 2)], [True, False, True])
    assert tuples.x_labels.tolist() == [(0, 1), (2, 2)]
    assert tuples.encode_x([(2, 2)]).tolist() == [1]
    assert tuples.decode_x([0])[0] == (0, 1)


def test_unseen_labels_name_the_argument():
    f = fit_discrete(["a", "b", "a"], [1, 2, 2])
    with pytest.raises(mi_cvx.InvalidInputError, match="2 label\\(s\\) not seen.*'z'.*'q'") as excinfo:
        f.encode_x(["a", "z", "q", "z"])
    assert excinfo.value.argument == "x"
    with pytest.raises(mi_cvx.InvalidInputError, match="not seen.*7") as excinfo:
        f.encode_y([1, 7])
    assert excinfo.value.argument == "y"
    with pytest.raises(mi_cvx.InvalidInputError, match="not seen") as excinfo:
        f.encode_y(["1"])  # a string is not the integer label
    assert excinfo.value.argument == "y"
    many = [f"u{i}" for i in range(20)]
    with pytest.raises(mi_cvx.InvalidInputError, match="20 label\\(s\\).*, \\.\\.\\.") as excinfo:
        f.encode_x(many)
    assert len(str(excinfo.value)) < 200
    for codes in ([0, 2], [-1], [0.5]):
        with pytest.raises(mi_cvx.InvalidInputError) as excinfo:
            f.decode_x(codes)
        assert excinfo.value.argument == "codes"


def test_discrete_attack_problem():
    rng = np.random.default_rng(12)
    x = rng.integers(0, 3, size=400)
    y = (x + (rng.random(400) < 0.2)) % 2
    f = fit_discrete(x, y, smoothing=1.0)
    problem = f.attack_problem(0.1)
    assert problem.family == "discrete_channel" and problem.spec["data"] is f
    result = problem.solve()
    assert result.ok
    direct = mi_cvx.discrete_channel(f.p_xy, 0.1).solve()
    assert result.mi == pytest.approx(direct.mi, rel=1e-6, abs=1e-8)
    label_blind = f.attack_problem(0.1, knows="x", distortion=1.0 - np.eye(3))
    assert label_blind.spec["knows"] == "x" and label_blind.solve().ok


def test_two_by_two_uses_the_binary_channel():
    f = fit_discrete(["no", "yes", "yes", "no", "yes"], ["b", "b", "a", "a", "a"])
    problem = f.attack_problem(0.1)
    assert problem.family == "binary_channel" and problem.spec["data"] is f
    assert problem.solve().ok
    weighted = f.attack_problem(None, stealth_weight=2.0)
    assert weighted.family == "binary_channel" and weighted.parameters["stealth_weight"].value == pytest.approx(2.0)
    for kwargs in ({"output_size": 3}, {"distortion": np.array([[0.0, 2.0], [1.0, 0.0]])}):
        general = f.attack_problem(0.1, **kwargs)
        assert general.family == "discrete_channel" and general.spec["data"] is f
        assert general.solve().ok


def test_discrete_fit_pickles():
    f = fit_discrete(["x", "y", "y"], [0, 1, 1], smoothing=0.25)
    clone = pickle.loads(pickle.dumps(f))
    assert isinstance(clone, DiscreteFit)
    np.testing.assert_array_equal(clone.p_xy, f.p_xy)
    np.testing.assert_array_equal(clone.x_labels, f.x_labels)
    np.testing.assert_array_equal(clone.y_labels, f.y_labels)
    assert (clone.samples, clone.smoothing) == (3, 0.25)
    assert clone.encode_x("y") == 1
    text = repr(f)
    assert len(text) < 200 and "k=2" in text and "samples=3" in text


@pytest.mark.parametrize(("x", "y", "kwargs", "argument", "match"), [
    ([1, 2, 3], [0, 1], {}, "y", "2 samples but x has 3"),
    ([], [], {}, "x", "no samples"),
    (np.array([1.0, np.nan, 2.0]), [0, 1, 0], {}, "x", "NaN"),
    (["a", "b"], [0, float("nan")], {}, "y", "NaN"),
    (np.zeros((2, 2)), [0, 1], {}, "x", "1-D"),
    ("abc", [0, 1, 2], {}, "x", "sequence"),
    ([1, "a"], [0, 1], {}, "x", "comparable"),
    ([[1], [2]], [0, 1], {}, "x", "hashable"),
    ([0, 1], [0, 1], {"smoothing": -1.0}, "smoothing", ">= 0"),
    ([0, 1], [0, 1], {"smoothing": float("nan")}, "smoothing", ">= 0"),
    ([0, 1], [0, 1], {"smoothing": float("inf")}, "smoothing", ">= 0"),
    ([0, 1], [0, 1], {"smoothing": True}, "smoothing", ">= 0"),
    ([0, 1], [0, 1], {"smoothing": "1"}, "smoothing", ">= 0"),
], ids=["lengths", "empty", "nan x", "nan y", "2-D", "string", "mixed", "unhashable", "negative", "nan smoothing",
        "inf smoothing", "bool smoothing", "str smoothing"])
def test_fit_discrete_bad_input(x, y, kwargs, argument, match):
    with pytest.raises(mi_cvx.InvalidInputError, match=match) as excinfo:
        fit_discrete(x, y, **kwargs)
    assert excinfo.value.argument == argument
