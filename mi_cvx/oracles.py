"""Closed forms: cross-check oracles for the convex models, and exact fast paths.

Every function here is plain numpy/scipy.  They are *independent* of the CVXPY
models in :mod:`mi_cvx.gaussian` (and friends): tests compare the two, and the
exact paths scale to sizes a generic SDP cannot reach.

Gaussian oracles (MATH.md sections 1-3)
---------------------------------------
* :func:`scalar_gaussian` -- Theorem 3.1 in closed form.
* :func:`falling_bar` -- Algorithm 1 (reverse water-filling), exact breakpoint search.
* :func:`isotropic_gaussian` -- the structured exact path for ``X = A Y + N`` with
  ``N ~ N(0, noise_var I)`` and any signal covariance.

Subset attacks (MATH.md section 6)
----------------------------------
* :func:`subset_mi` -- Theorem 4.1: ``I*(S)``, the information left in the clean rows.

Discrete attacks (MATH.md sections 4-5)
---------------------------------------
* :func:`binary_oracle` -- Theorem 3.3's problem exactly, as a 1-d total-variation problem.
* :func:`binary_zero_threshold` -- the budget ``D0`` where the information first reaches zero.
* :func:`rate_distortion_hamming` -- ``R(D)`` of a k-ary source with Hamming distortion (``X = Y``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import scipy.linalg
import scipy.optimize

from . import validate as _v
from .errors import InvalidInputError

# ---------------------------------------------------------------- section 1


@dataclass(frozen=True)
class ScalarGaussianSolution:
    """Optimal attack on ``X = Y + N`` (Theorem 3.1).

    The attack is ``Delta = signal_gain * Y + noise_gain * N + W`` with ``W``
    independent of ``(Y, N)`` and of variance ``extra_noise_var`` (non-zero only
    when there is no observation noise to amplify).
    """

    mi: float
    signal_gain: float
    noise_gain: float
    extra_noise_var: float
    budget_used: float
    slope: float  # dI*/dD  (<= 0); -slope is the budget's multiplier


def scalar_gaussian(signal_var: float, noise_var: float, budget: float) -> ScalarGaussianSolution:
    """Theorem 3.1 in closed form (MATH.md section 1).

    Parameters
    ----------
    signal_var : float
        Variance of ``Y`` (> 0).
    noise_var : float
        Variance of the observation noise ``N`` (>= 0).
    budget : float
        Power budget ``D`` on ``E[Delta^2]`` (>= 0).

    Returns
    -------
    ScalarGaussianSolution
    """
    sy2 = _v.scalar("signal_var", signal_var, positive=True)
    sn2 = _v.scalar("noise_var", noise_var, nonneg=True)
    d = _v.budget(budget)
    sig, noise, extra = (float(x) for x in _scalar_gains(sy2, sn2, d))
    return ScalarGaussianSolution(
        mi=float(scalar_gaussian_mi(sy2, sn2, d)),
        signal_gain=sig,
        noise_gain=noise,
        extra_noise_var=extra,
        budget_used=min(d, sy2),
        slope=-float(_scalar_slope(sy2, sn2, d)),
    )


def scalar_gaussian_mi(signal_var, noise_var, budget):
    """Vectorised value of Theorem 3.1: ``I*(D)`` in nats (broadcasts over arrays).

    Uses the angle form of MATH.md's closed form: with ``gamma = atan2(sn, sy)``
    and ``beta = arcsin(sqrt(D / (sy2 + sn2)))``, ``I* = -log sin(gamma + beta)``
    while ``gamma + beta < pi / 2`` (i.e. ``D < sy2``), and 0 beyond.
    """
    sy2, sn2, d = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (signal_var, noise_var, budget)))
    gamma = np.arctan2(np.sqrt(sn2), np.sqrt(sy2))
    with np.errstate(divide="ignore", invalid="ignore"):
        beta = np.arcsin(np.sqrt(np.clip(d / (sy2 + sn2), 0.0, 1.0)))
        phi = np.minimum(gamma + beta, np.pi / 2)
        out = -np.log(np.sin(phi))
    out = np.where(d >= sy2, 0.0, np.maximum(out, 0.0))
    return float(out) if out.ndim == 0 else out


def _scalar_gains(sy2, sn2: float, d):
    """Vectorised gains of Theorem 3.1: ``(signal_gain, noise_gain, extra_noise_var)``."""
    sy2, d = np.broadcast_arrays(np.asarray(sy2, dtype=float), np.asarray(d, dtype=float))
    sy, sn = np.sqrt(sy2), np.sqrt(sn2)
    theta = np.arctan2(sy, sn) - np.arcsin(np.sqrt(np.clip(d / (sy2 + sn2), 0.0, 1.0)))
    u, v = np.sqrt(d) * np.cos(theta), np.sqrt(d) * np.sin(theta)
    full = d >= sy2
    sig = np.where(full, -1.0, -u / sy)
    if sn2 > 0:
        noise, extra = np.where(full, 0.0, v / sn), np.zeros_like(d)
    else:  # nothing to amplify: the same power goes into independent noise
        noise, extra = np.zeros_like(d), np.where(full, 0.0, v * v)
    return sig, noise, extra


def _scalar_slope(sy2, sn2, d):
    """``-dI*/dD`` of the scalar problem (>= 0; +inf at D = 0 when sn2 > 0 or at D = 0, sn2 = 0)."""
    sy2, sn2, d = (np.asarray(a, dtype=float) for a in (sy2, sn2, d))
    r2 = sy2 + sn2
    gamma = np.arctan2(np.sqrt(sn2), np.sqrt(sy2))
    with np.errstate(divide="ignore", invalid="ignore"):
        beta = np.arcsin(np.sqrt(np.clip(d / r2, 0.0, 1.0)))
        phi = gamma + beta
        out = (np.cos(phi) / np.sin(phi)) / (2.0 * np.sqrt(d) * np.sqrt(np.maximum(r2 - d, 0.0)))
    out = np.where(d >= sy2, 0.0, out)
    out = np.where((d <= 0) & (sy2 > 0), np.inf, out)
    return float(out) if out.ndim == 0 else out


# ---------------------------------------------------------------- section 2


@dataclass(frozen=True)
class FallingBarResult:
    """Reverse water-filling: ``allocation[i] = min(level, eigenvalues[i])``.

    ``allocation`` is in the order of the input eigenvalues; ``mi`` is
    ``sum 0.5 log(lam_i / D_i)`` in nats; ``dual`` is ``-dI*/dD = 1 / (2 level)``
    (0 once the budget removes all information).
    """

    level: float
    allocation: np.ndarray
    mi: float
    dual: float


def falling_bar(eigenvalues, budget) -> FallingBarResult:
    """Algorithm 1 of the paper: the exact water level for reverse water-filling.

    Parameters
    ----------
    eigenvalues : array_like
        The non-negative per-channel signal powers ``lam_i`` (e.g.
        ``signal_var * s_i**2`` for singular values ``s_i``); zeros are ignored.
    budget : float
        Total power ``D``.

    Returns
    -------
    FallingBarResult

    Notes
    -----
    Sort ``lam`` descending; the budget used at level ``mu`` is
    ``sum min(mu, lam_i)``, piecewise linear in ``mu`` with breakpoints at the
    ``lam_k``.  The exact level lies in ``[lam_{k+1}, lam_k]`` where
    ``mu = (D - sum_{i>k} lam_i) / k``: one sort and one cumulative sum, no
    bisection tolerance.
    """
    lam = _v.nonneg_vector("eigenvalues", np.ravel(np.asarray(eigenvalues, dtype=float)))
    d = _v.budget(budget)
    total = float(lam.sum())
    if d >= total:
        level = float(lam.max(initial=0.0))
        return FallingBarResult(level, lam.copy(), 0.0, 0.0)
    if d == 0.0:
        return FallingBarResult(0.0, np.zeros_like(lam), float("inf"), float("inf"))
    order = np.argsort(-lam, kind="stable")
    srt = lam[order]
    tail = total - np.cumsum(srt)  # tail[k-1] = sum_{i>k} lam_i  (k = 1..r)
    k = np.arange(1, srt.size + 1)
    mu = (d - tail) / k
    nxt = np.append(srt[1:], 0.0)
    valid = (mu <= srt * (1 + 1e-15)) & (mu >= nxt * (1 - 1e-15)) & (srt > 0)
    idx = int(np.argmax(valid))  # the first (largest-eigenvalue) interval holding the level
    level = float(mu[idx])
    alloc = np.minimum(level, lam)
    pos = lam > 0
    mi = float(0.5 * np.sum(np.log(lam[pos] / alloc[pos])))
    return FallingBarResult(level, alloc, mi, 1.0 / (2.0 * level))


# ---------------------------------------------------------------- section 3


@dataclass(frozen=True)
class IsotropicGaussianSolution:
    """Exact optimum for ``X = A Y + N``, ``N ~ N(0, noise_var I)`` (MATH.md section 3).

    Attributes
    ----------
    mi : float
        Optimal ``I(Y; Z)`` in nats.
    allocation : ndarray
        Budget ``D_i`` per principal channel (singular values of
        ``A signal_cov^(1/2)``, descending).
    channel_power : ndarray
        Signal power ``b_i^2`` of each channel.
    dual : float
        ``-dI*/dD``.
    F, G : ndarray
        Gains of the optimal attack ``Delta = F Y + G N + W``.
    W_cov : ndarray
        Covariance of the independent part ``W``.
    """

    mi: float
    allocation: np.ndarray
    channel_power: np.ndarray
    dual: float
    F: np.ndarray = field(repr=False)
    G: np.ndarray = field(repr=False)
    W_cov: np.ndarray = field(repr=False)


def isotropic_gaussian(A, budget, signal_cov=1.0, noise_var=0.0, *, tol: float = 1e-13) -> IsotropicGaussianSolution:
    """Exact optimal attack on ``X = A Y + N`` with isotropic noise, any signal covariance.

    Whitening ``Y`` and rotating by the singular vectors of
    ``B = A signal_cov^(1/2)`` (the eigenvectors of ``Cov(A Y) = B B^T``) splits
    the problem into independent scalar problems (Theorem 3.1) with signal
    powers ``b_i^2`` and noise ``noise_var``, coupled only by the budget.  The
    allocation equalises the slopes ``dI_i/dD_i = -lambda`` over the channels:
    Brent's method on ``log lambda`` to ``tol``, each channel's ``D_i(lambda)``
    a root found by safeguarded Newton (vectorised over the channels) to
    machine precision.  With ``noise_var = 0`` the falling bar is used (exact).

    Parameters
    ----------
    A : array_like, shape (m, n)
    budget : float
    signal_cov : float or array_like (n, n)
        A scalar means a multiple of the identity; a matrix must be positive definite.
    noise_var : float
        Variance of each of the ``m`` independent noise components (>= 0).

    Returns
    -------
    IsotropicGaussianSolution
    """
    A, sy, _ = _v.observation_model(A, signal_cov)
    m, n = A.shape
    sn2 = _v.scalar("noise_var", noise_var, nonneg=True)
    d = _v.budget(budget)
    # The channels are the eigenvectors of Cov(AY) = B B^T, B = A signal_cov^(1/2);
    # an m x m symmetric eigensolve is cheaper than an SVD of B.
    scalar_signal = np.array_equal(sy, sy[0, 0] * np.eye(n))
    power, U = np.linalg.eigh(sy[0, 0] * (A @ A.T) if scalar_signal else A @ sy @ A.T)
    power, U = power[::-1], U[:, ::-1]
    keep = power > power.max(initial=0.0) * max(m, n) * np.finfo(float).eps * 10
    U, power = U[:, keep], power[keep]
    if sn2 == 0.0:
        fb = falling_bar(power, d)
        alloc, mi, dual = fb.allocation, fb.mi, fb.dual
    else:
        alloc, dual = _isotropic_allocation(power, sn2, d, tol)
        mi = float(np.sum(scalar_gaussian_mi(power, sn2, alloc)))
    sig_gain, noise_gain, extra = _scalar_gains(power, sn2, alloc)
    # Rotate back: the channel signals are U^T A Y (variances b_i^2), the channel noises U^T N.
    F = (U * sig_gain) @ (U.T @ A)
    G = (U * noise_gain) @ U.T if sn2 > 0 else np.zeros((m, m))
    W_cov = (U * extra) @ U.T if np.any(extra) else np.zeros((m, m))
    return IsotropicGaussianSolution(float(mi), alloc, power, float(dual), F, G, W_cov)


def _isotropic_allocation(power: np.ndarray, sn2: float, budget: float, tol: float):
    """Budget split equalising ``-dI_i/dD_i = lambda`` (MATH.md section 3)."""
    if budget >= power.sum():
        return power.copy(), 0.0
    if budget == 0.0:
        return np.zeros_like(power), float("inf")

    # Work in the angle beta_i = arcsin(sqrt(D_i / R_i^2)) in (0, pi/2 - gamma_i), where
    # -dI_i/dD_i = cot(gamma_i + beta_i) / (R_i^2 sin 2 beta_i) decreases from +inf to 0.
    gamma = np.arctan2(np.sqrt(sn2), np.sqrt(power))
    r2 = power + sn2
    top = np.pi / 2 - gamma

    def alloc_at(lam: float) -> np.ndarray:
        # Root of G(beta) = log cot(gamma + beta) - log(R^2 sin 2 beta) - log(lam), which
        # decreases from +inf to -inf: safeguarded Newton, vectorised over the channels.
        lo, hi = np.zeros_like(power), top.copy()
        beta = 0.5 * hi
        log_lam = np.log(lam)
        for _ in range(100):
            phi = gamma + beta
            g = np.log(np.cos(phi) / np.sin(phi)) - np.log(r2 * np.sin(2 * beta)) - log_lam
            lo = np.where(g > 0, beta, lo)
            hi = np.where(g > 0, hi, beta)
            dg = -2.0 / np.sin(2 * phi) - 2.0 / np.tan(2 * beta)
            step = beta - g / dg
            # Newton where it stays in the bracket (the bracket's ends include the current
            # point, so a converged channel keeps its tiny step), bisection elsewhere.
            new = np.where((step >= lo) & (step <= hi), step, 0.5 * (lo + hi))
            done = np.all(np.abs(new - beta) <= 8 * np.finfo(float).eps * top)
            beta = new
            if done:
                break
        return r2 * np.sin(beta) ** 2

    # The total allocation decreases in lambda: bracket log(lambda), then Brent.
    def excess(log_lam: float) -> float:
        return float(alloc_at(np.exp(log_lam)).sum()) - budget

    lo, hi = -1.0, 1.0
    while excess(hi) > 0:
        lo, hi = hi, 2.0 * hi + 1.0
    while excess(lo) < 0:
        lo, hi = 2.0 * lo - 1.0, lo
    lam = float(np.exp(scipy.optimize.brentq(excess, lo, hi, xtol=tol, rtol=4 * np.finfo(float).eps)))
    alloc = alloc_at(lam)
    alloc *= budget / alloc.sum()  # spend the budget exactly (a relative change of order tol)
    return alloc, float(lam)


# ---- section 6 (subset attacks)


def _subset_model(signal_cov, noise_cov, A) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validated ``(A, signal_cov, noise_cov)`` for the subset formulas; ``A=None`` means the identity."""
    if A is None:
        for value in (signal_cov, noise_cov):
            if np.ndim(value) == 2:
                size = np.shape(value)[0]
                break
        else:
            raise InvalidInputError("A", "is None (the identity) but signal_cov and noise_cov are both scalars, "
                                    "so the number of sensors is unknown; pass A or a covariance matrix")
        A = np.eye(size)
    return _v.observation_model(A, signal_cov, noise_cov)


def _subset_rows(name: str, value, m: int) -> np.ndarray:
    """Sorted, distinct row indices in ``[0, m)`` (a sequence of integers, possibly empty)."""
    arr = np.asarray(value)
    if arr.ndim != 1:
        raise InvalidInputError(name, f"expected a 1-d sequence of row indices, got shape {arr.shape}")
    if arr.size == 0:
        return np.array([], dtype=int)
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise InvalidInputError(name, f"must hold integer row indices, got {value!r}")
    if not np.all(np.isfinite(arr)) or not np.array_equal(arr, np.round(arr)):
        raise InvalidInputError(name, f"must hold integer row indices, got {value!r}")
    rows = arr.astype(int)
    if rows.min() < 0 or rows.max() >= m:
        raise InvalidInputError(name, f"row indices must lie in [0, {m - 1}], got {rows.tolist()}")
    if np.unique(rows).size != rows.size:
        raise InvalidInputError(name, f"repeats a row index: {rows.tolist()}")
    return np.sort(rows)


def _check_clean_noise(noise_cov: np.ndarray, clean: np.ndarray) -> None:
    """Raise unless ``noise_cov`` restricted to the ``clean`` rows is positive definite.

    A clean row without noise (or a noiseless combination of clean rows) that
    sees the signal reveals it exactly: ``I(Y; Z)`` would be infinite.
    """
    if clean.size == 0:
        return
    sub = noise_cov[np.ix_(clean, clean)]
    scale = max(float(np.abs(noise_cov).max(initial=0.0)), np.finfo(float).tiny)
    eig_min = float(np.linalg.eigvalsh(sub).min())
    if eig_min <= _v.MATRIX_TOL * scale:
        diag = np.diag(sub)
        bad = clean[diag <= _v.MATRIX_TOL * scale]
        where = (f"rows {bad.tolist()} have no noise" if bad.size
                 else f"its restriction to them is singular (smallest eigenvalue {eig_min:.3g})")
        raise InvalidInputError(
            "noise_cov", f"must be positive definite on the clean (unattacked) rows {clean.tolist()}, but {where}; "
            "a noiseless clean sensor reveals the signal exactly (infinite information). Attack those rows "
            "(add them to the subset/support) or give them positive noise")


def _clean_mi(B: np.ndarray, noise_cov: np.ndarray, clean: np.ndarray) -> float:
    """``I(Y; X_c)`` for ``X = B xi + N``, ``xi ~ N(0, I)``, with ``noise_cov[c, c]`` positive definite.

    Whitens the clean rows by the Cholesky factor ``L`` of ``noise_cov[c, c]`` and
    sums ``0.5 log1p(s_i^2)`` over the singular values ``s_i`` of ``L^-1 B_c``:
    accurate also when the information is tiny (no difference of two large
    log-determinants).
    """
    if clean.size == 0:
        return 0.0
    sub = noise_cov[np.ix_(clean, clean)]
    Bc = B[clean]
    if np.count_nonzero(sub - np.diag(np.diag(sub))) == 0:
        white = Bc / np.sqrt(np.diag(sub))[:, None]
    else:
        white = scipy.linalg.solve_triangular(np.linalg.cholesky(sub), Bc, lower=True)
    s = np.linalg.svd(white, compute_uv=False)
    return float(0.5 * np.sum(np.log1p(s * s)))


def subset_mi(signal_cov, noise_cov, subset, A=None) -> float:
    """Theorem 4.1: ``I*(S)``, the least ``I(Y; Z)`` when the rows ``subset`` of ``X`` are attacked freely.

    ``X = A Y + N`` with ``Y ~ N(0, signal_cov)`` and ``N ~ N(0, noise_cov)``.
    An attacker who may replace the rows ``S = subset`` arbitrarily leaves at
    least ``I(Y; X_c)`` (``c`` the clean rows), and reaches it by making
    ``Z_S`` independent of everything:

        I*(S) = 0.5 logdet(A_c signal_cov A_c^T + noise_cov[c, c]) - 0.5 logdet(noise_cov[c, c]).

    Parameters
    ----------
    signal_cov : float or array_like (n, n)
        Covariance of ``Y`` (positive definite; a scalar means a multiple of
        the identity).
    noise_cov : float or array_like (m, m)
        Covariance of the sensor noise ``N``; a scalar means a multiple of the
        identity.  It needs to be positive definite only on the clean rows; it
        may be correlated (the chain rule ``I(Y; Z) = I(Y; X_c) + I(Y; Z_S | X_c)``
        gives the bound without independent sensors).
    subset : sequence of int
        The attacked rows (distinct, in ``[0, m)``; may be empty).
    A : array_like (m, n), optional
        Observation matrix; None means the identity (``m = n``).

    Returns
    -------
    float
        ``I*(S)`` in nats (0 when every row is attacked).

    Raises
    ------
    InvalidInputError
        Mismatched shapes (``A``, ``signal_cov``, ``noise_cov``), a covariance
        that is not symmetric PSD (``signal_cov`` must be definite), ``subset``
        not distinct integer rows of ``X``, or ``noise_cov`` not positive
        definite on the clean rows.
    """
    A, sy, sn = _subset_model(signal_cov, noise_cov, A)
    m = A.shape[0]
    rows = _subset_rows("subset", subset, m)
    clean = np.setdiff1d(np.arange(m), rows)
    _check_clean_noise(sn, clean)
    return _clean_mi(A @ np.linalg.cholesky(sy), sn, clean)


# ---- sections 4-5 (discrete)


def _logit(t: float) -> float:
    """``log(t / (1 - t))`` with the limits ``-inf`` at 0 and ``+inf`` at 1."""
    if t <= 0.0:
        return -math.inf
    if t >= 1.0:
        return math.inf
    return math.log(t) - math.log1p(-t)


def _bernoulli_kl(t: float, m: float) -> float:
    """``D(Bernoulli(t) || Bernoulli(m))`` in nats (0 log 0 = 0)."""
    out = 0.0
    if t > 0.0:
        out += t * math.log(t / m)
    if t < 1.0:
        out += (1.0 - t) * math.log((1.0 - t) / (1.0 - m))
    return out


@dataclass(frozen=True)
class BinaryChannelSolution:
    """Exact optimum of the binary attack problem (MATH.md section 4).

    Attributes
    ----------
    mi : float
        ``I*(D)`` in nats.
    t : ndarray, shape (2,)
        Optimal ``t_y = P(Xhat = 1 | Y = y)`` (for a class with ``p(y) = 0``:
        ``P(X = 1 | Y = y)`` of the other class, an arbitrary choice).
    flip_prob : ndarray, shape (2, 2)
        An optimal attack ``q[x, y] = P(Xhat != x | X = x, Y = y)`` realising
        ``t`` at total-variation cost (0 where ``p[x, y] = 0``).
    dual : float
        ``lambda = -dI*/dD`` (right derivative; ``inf`` at ``D = 0`` when a
        class sits at ``t = 0`` or ``1``; 0 once ``D >= zero_threshold``).
    zero_threshold : float
        ``D0``: the smallest budget with ``I* = 0``.
    budget_used : float
        Expected flips of ``flip_prob`` (``min(D, D0)``).
    """

    mi: float
    t: np.ndarray
    flip_prob: np.ndarray
    dual: float
    zero_threshold: float
    budget_used: float


def binary_zero_threshold(p_xy) -> float:
    """The zero-information budget ``D0 = min(p(0), p(1)) |a_0 - a_1|`` (MATH.md section 4).

    ``a_y = P(X = 1 | Y = y)``.  ``I*(D) = 0`` exactly when ``D >= D0``: the
    cheapest common ``t`` for both classes is the conditional of the heavier
    class, reached by moving the lighter class all the way.

    Parameters
    ----------
    p_xy : array_like, shape (2, 2)
        Joint pmf ``p[x, y]``.

    Returns
    -------
    float

    Raises
    ------
    InvalidInputError
        If ``p_xy`` is not a 2 x 2 pmf.
    """
    p = _v.pmf("p_xy", p_xy, ndim=2, shape=(2, 2))
    p0, p1 = float(p[0, 0] + p[1, 0]), float(p[0, 1] + p[1, 1])
    if p0 <= 0.0 or p1 <= 0.0:
        return 0.0
    return min(p0, p1) * abs(p[1, 0] / p0 - p[1, 1] / p1)


def binary_oracle(p_xy, budget) -> BinaryChannelSolution:
    """Exact optimal attack on a binary channel: the total-variation oracle of MATH.md section 4.

    Parameters
    ----------
    p_xy : array_like, shape (2, 2)
        Joint pmf ``p[x, y]`` of the observation ``X`` and label ``Y``.
    budget : float
        Bound ``D`` on the expected number of flips, ``E[X != Xhat] <= D``.

    Returns
    -------
    BinaryChannelSolution

    Raises
    ------
    InvalidInputError
        If ``p_xy`` is not a 2 x 2 pmf or ``budget`` is negative or not finite.

    Notes
    -----
    Only ``t_y = P(Xhat = 1 | Y = y)`` enters ``I(Y; Xhat)``, and moving
    ``a_y = P(X = 1 | Y = y)`` to ``t_y`` costs at least (and, flipping in one
    direction only, exactly) ``p(y) |a_y - t_y|`` expected flips.  So

        I*(D) = min_t  sum_y p(y) KL(t_y || tbar),   tbar = sum_y p(y) t_y,
                s.t.   sum_y p(y) |a_y - t_y| <= D,

    a convex problem in ``(t_0, t_1)``.  Reduction to one dimension: label the
    classes so that ``a_0 <= a_1`` (``Delta = a_1 - a_0``) and let
    ``D < D0 = min(p(0), p(1)) Delta`` (otherwise ``I* = 0``).

    1. ``t_0 < t_1`` at the optimum: if ``t_0 >= t_1``, a common value
       ``c`` in ``[t_1, t_0]`` (clipped to ``[a_0, a_1]``) costs no more and
       gives ``I = 0``, impossible for ``D < D0``.
    2. ``dI/dt_y = p(y) (logit t_y - logit tbar)``, negative for ``t_0`` and
       positive for ``t_1`` when ``t_0 < t_1``; so moving ``t_0`` up to
       ``a_0`` (or ``t_1`` down to ``a_1``) lowers both ``I`` and the cost:
       ``a_0 <= t_0 < t_1 <= a_1``.
    3. For the same reason the budget is spent.  With ``s`` the flips spent
       on class 0: ``t_0 = a_0 + s / p(0)``, ``t_1 = a_1 - (D - s) / p(1)``,
       ``s in [0, D]`` (the gap ``t_1 - t_0`` is affine in ``s`` and positive
       at both ends because ``D < D0``).

    ``phi(s) = I(t(s))`` is convex (convex of affine), with
    ``phi'(s) = logit t_0 + logit t_1 - 2 logit tbar``, increasing; the
    optimum is its root in ``(0, D)`` (Brent's method to machine precision) or
    an end point.  ``I`` is evaluated as ``sum_y p(y) KL(t_y || tbar)`` (no
    cancellation).  By the envelope theorem
    ``lambda = -dI*/dD = max(logit t_1 - logit tbar, logit tbar - logit t_0)``
    (the two agree at an interior optimum).
    """
    p = _v.pmf("p_xy", p_xy, ndim=2, shape=(2, 2))
    d = _v.budget(budget)
    py = (float(p[0, 0] + p[1, 0]), float(p[0, 1] + p[1, 1]))
    if py[0] <= 0.0 or py[1] <= 0.0:
        y = 0 if py[0] > 0.0 else 1
        a = float(p[1, y] / py[y])
        return BinaryChannelSolution(0.0, np.array([a, a]), np.zeros((2, 2)), 0.0, 0.0, 0.0)
    a = (float(p[1, 0] / py[0]), float(p[1, 1] / py[1]))
    lo, hi = (0, 1) if a[0] <= a[1] else (1, 0)
    p_lo, p_hi, a_lo, a_hi = py[lo], py[hi], a[lo], a[hi]
    d0 = min(p_lo, p_hi) * (a_hi - a_lo)
    t = [0.0, 0.0]
    if d >= d0:
        # The lighter class moves all the way to the heavier one's conditional.
        c = a_hi if p_lo <= p_hi else a_lo
        t[lo] = t[hi] = c
        mi, dual = 0.0, 0.0
    else:
        abar = p_lo * a_lo + p_hi * a_hi

        def ends(s: float) -> tuple[float, float, float]:
            t_lo = min(a_lo + s / p_lo, 1.0)
            t_hi = max(a_hi - (d - s) / p_hi, 0.0)
            return t_lo, t_hi, min(max(abar - d + 2.0 * s, 0.0), 1.0)

        def slope(s: float) -> float:
            t_lo, t_hi, tbar = ends(s)
            # logits clipped to +-800 (beyond any finite double's) so Brent's
            # interpolation stays finite; the sign is what matters at the ends.
            return (max(_logit(t_lo), -800.0) + min(_logit(t_hi), 800.0) - 2.0 * _logit(tbar))

        f0, f1 = slope(0.0), slope(d)
        if f0 >= 0.0:
            s = 0.0
        elif f1 <= 0.0:
            s = d
        else:
            s = scipy.optimize.brentq(slope, 0.0, d, xtol=1e-300, rtol=4 * np.finfo(float).eps, maxiter=200)
        t_lo, t_hi, tbar = ends(s)
        t[lo], t[hi] = t_lo, t_hi
        mi = p_lo * _bernoulli_kl(t_lo, tbar) + p_hi * _bernoulli_kl(t_hi, tbar)
        dual = max(_logit(t_hi) - _logit(tbar), _logit(tbar) - _logit(t_lo))
    q = np.zeros((2, 2))
    for y in (0, 1):
        if t[y] > a[y]:  # some X = 0 become 1
            q[0, y] = (t[y] - a[y]) / (1.0 - a[y])
        elif t[y] < a[y]:  # some X = 1 become 0
            q[1, y] = (a[y] - t[y]) / a[y]
    used = float(np.sum(p * q))
    return BinaryChannelSolution(float(mi), np.array(t), q, float(dual), float(d0), used)


def rate_distortion_hamming(p, budget) -> float:
    """Rate-distortion function ``R(D)`` of a k-ary source with Hamming distortion, in nats.

    ``R(D) = min I(X; Xhat)`` subject to ``P(X != Xhat) <= D``: the discrete
    attack problem with ``X = Y`` (a diagonal ``p_xy``, MATH.md section 5).

    Parameters
    ----------
    p : array_like, shape (k,)
        Source pmf (zero entries allowed).
    budget : float
        ``D >= 0``.

    Returns
    -------
    float

    Raises
    ------
    InvalidInputError
        If ``p`` is not a pmf or ``budget`` is negative or not finite.

    Notes
    -----
    Closed form for any source (Erokhin, 1958).  Sort ``p`` descending.  The
    optimal output uses the ``m`` likeliest letters ``S`` (``P_out`` is the
    mass outside ``S``) and, with ``theta = exp(-lambda)``,
    ``Z(x) = sum_{xh in S} q(xh) theta^d(x, xh)``, the consistency conditions
    of the optimal test channel ``P(xh | x) = q(xh) theta^d(x, xh) / Z(x)``
    give ``D = 1 - P(S) / (1 + (m - 1) theta)`` and

        R(D) = -sum_{x in S} p(x) log p(x) + P(S) log(1 - D)
               + (D - P_out) log((D - P_out) / ((m - 1)(1 - D))),

    valid while ``p_{m+1} <= (D - P_out) / (m - 1) < p_m`` (so ``m`` falls as
    ``D`` grows), and ``R = 0`` for ``D >= 1 - max p``.  Special cases: the
    uniform source, ``log k - H(D) - D log(k - 1)`` for ``D <= (k - 1) / k``;
    Bernoulli(``p``), ``H(p) - H(D)`` for ``D < min(p, 1 - p)``.  The slope is
    ``dR/dD = log theta = log((D - P_out) / ((m - 1)(1 - D)))``.
    """
    p = _v.pmf("p", p, ndim=1)
    d = _v.budget(budget)
    srt = np.sort(p)[::-1]
    if d >= 1.0 - srt[0]:
        return 0.0
    k = srt.size
    tail = np.concatenate([np.cumsum(srt[::-1])[::-1][1:], [0.0]])  # tail[m-1] = sum_{i > m} p_i
    for m in range(k, 1, -1):
        p_out = float(tail[m - 1])
        level = (d - p_out) / (m - 1)  # theta (1 - D)
        nxt = float(srt[m]) if m < k else 0.0
        # (closed at both ends with a rounding margin: R is continuous across the breakpoints)
        if nxt * (1 - 1e-12) - 1e-15 <= level <= srt[m - 1] * (1 + 1e-12) and level >= -1e-15:
            head = srt[:m][srt[:m] > 0]
            moved = max(d - p_out, 0.0)
            out = -float(np.sum(head * np.log(head))) + (1.0 - p_out) * math.log1p(-d)
            if moved > 0.0:
                out += moved * math.log(moved / ((m - 1) * (1.0 - d)))
            return max(out, 0.0)
    raise AssertionError(f"no letter set found for budget {d!r} and pmf {p!r}")  # pragma: no cover
