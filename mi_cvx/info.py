"""Information measures in plain numpy: the ground truth everything is checked against.

Nothing here imports CVXPY.  Natural logarithms (nats) throughout; divide by
``log(2)`` (or use :data:`NATS_PER_BIT`) for bits.
"""

from __future__ import annotations

import numpy as np
from scipy.special import rel_entr, xlogy

from . import validate as _v
from .errors import InvalidInputError

NATS_PER_BIT = float(np.log(2.0))


def to_bits(nats):
    """Convert nats to bits."""
    return np.asarray(nats, dtype=float) / NATS_PER_BIT if np.ndim(nats) else float(nats) / NATS_PER_BIT


def entropy(p, axis=None) -> float | np.ndarray:
    """Shannon entropy ``-sum p log p`` of a pmf (zero cells contribute zero)."""
    p = np.asarray(p, dtype=float)
    return -np.sum(xlogy(p, p), axis=axis)


def binary_entropy(t) -> float | np.ndarray:
    """Binary entropy ``H(t) = -t log t - (1 - t) log(1 - t)`` in nats."""
    t = np.clip(np.asarray(t, dtype=float), 0.0, 1.0)
    out = -xlogy(t, t) - xlogy(1.0 - t, 1.0 - t)
    return float(out) if out.ndim == 0 else out


def mutual_information(p_ab) -> float:
    """``I(A; B)`` of a joint pmf ``p_ab[a, b]`` (any non-negative array summing to 1)."""
    p_ab = np.asarray(p_ab, dtype=float)
    p_a = np.broadcast_to(p_ab.sum(axis=1, keepdims=True), p_ab.shape)
    p_b = np.broadcast_to(p_ab.sum(axis=0, keepdims=True), p_ab.shape)
    pos = p_ab > 0
    # log-space so that p_a * p_b cannot underflow to 0 while p_ab > 0
    terms = p_ab[pos] * (np.log(p_ab[pos]) - np.log(p_a[pos]) - np.log(p_b[pos]))
    return max(float(np.sum(terms)), 0.0)


def channel_output_joint(p_xy, channel) -> np.ndarray:
    """Joint pmf of ``(Y, Xhat)`` from ``p_xy[x, y]`` and ``channel[x, y, xh] = P(xh | x, y)``."""
    p_xy = np.asarray(p_xy, dtype=float)
    channel = np.asarray(channel, dtype=float)
    return np.einsum("xy,xyz->yz", p_xy, channel)


def channel_mi(p_xy, channel) -> float:
    """``I(Y; Xhat)`` when ``(X, Y) ~ p_xy`` and ``Xhat ~ channel[x, y, :]``."""
    return mutual_information(channel_output_joint(p_xy, channel))


def expected_distortion(p_xy, channel, distortion) -> float:
    """``E d(X, Xhat)`` for ``channel[x, y, xh]`` and ``distortion[x, xh]``."""
    p_xy = np.asarray(p_xy, dtype=float)
    return float(np.einsum("xy,xyz,xz->", p_xy, np.asarray(channel, float), np.asarray(distortion, float)))


def _logdet_psd(mat: np.ndarray) -> float:
    sign, logdet = np.linalg.slogdet(mat)
    if sign <= 0:
        return -np.inf
    return float(logdet)


def conditional_covariance(cov, a, b) -> np.ndarray:
    """``Cov(V_a | V_b)`` for a Gaussian vector ``V ~ N(0, cov)`` (pseudo-inverse if singular)."""
    cov = np.asarray(cov, dtype=float)
    a = np.asarray(a, dtype=int)
    b = np.asarray(b, dtype=int)
    s_aa = cov[np.ix_(a, a)]
    if b.size == 0:
        return s_aa
    s_ab = cov[np.ix_(a, b)]
    s_bb = cov[np.ix_(b, b)]
    cond = s_aa - s_ab @ np.linalg.pinv(s_bb, rcond=1e-12, hermitian=True) @ s_ab.T
    return 0.5 * (cond + cond.T)


def gaussian_mi(cov, a, b) -> float:
    """``I(V_a; V_b)`` for a Gaussian vector ``V ~ N(0, cov)`` with ``Cov(V_a)`` non-singular.

    Computed as ``0.5 logdet Cov(V_a) - 0.5 logdet Cov(V_a | V_b)``, which stays
    finite when ``Cov(V_b)`` is singular (a deterministic or degenerate output).
    """
    cov = np.asarray(cov, dtype=float)
    s_aa = cov[np.ix_(a, a)]
    return 0.5 * (_logdet_psd(s_aa) - _logdet_psd(conditional_covariance(cov, a, b)))


def gaussian_linear_mi(cov, map_y, map_z) -> float:
    """``I(Y; Z)`` where ``Y = map_y V``, ``Z = map_z V`` and ``V ~ N(0, cov)``."""
    map_y = np.atleast_2d(np.asarray(map_y, dtype=float))
    map_z = np.atleast_2d(np.asarray(map_z, dtype=float))
    stacked = np.vstack([map_y, map_z])
    joint = stacked @ np.asarray(cov, dtype=float) @ stacked.T
    n = map_y.shape[0]
    return gaussian_mi(joint, np.arange(n), np.arange(n, joint.shape[0]))


def kl(p, q) -> float:
    """``KL(p || q) = sum p log(p / q)`` of two pmfs of the same shape, in nats.

    Cells with ``p = 0`` contribute 0; the divergence is ``inf`` when some cell
    has ``q = 0 < p`` (``p`` is not absolutely continuous with respect to ``q``).

    Parameters
    ----------
    p, q : array_like
        Pmfs of the same shape (any number of dimensions; non-negative, summing to 1).

    Returns
    -------
    float

    Raises
    ------
    InvalidInputError
        If ``p`` or ``q`` is not a pmf, or their shapes differ.
    """
    p = _v.pmf("p", p)
    q = _v.pmf("q", q)
    if p.shape != q.shape:
        raise InvalidInputError("q", f"expected the shape of p {p.shape}, got {q.shape}")
    return max(float(np.sum(rel_entr(p, q))), 0.0)


def _kl_terms(mu: np.ndarray) -> float:
    """``sum (mu - 1 - log mu)`` without cancellation near ``mu = 1`` (``inf`` if some ``mu <= 0``)."""
    if mu.size == 0:
        return 0.0
    if np.any(mu <= 0.0):
        return np.inf
    x = mu - 1.0
    small = np.abs(x) < 1e-3
    xs = x[small]
    # x - log(1 + x) = x^2/2 - x^3/3 + x^4/4 - ...  (|x| < 1e-3: six terms reach rounding)
    series = xs * xs * (0.5 - xs * (1 / 3 - xs * (0.25 - xs * (0.2 - xs * (1 / 6 - xs / 7)))))
    return float(np.sum(series) + np.sum(x[~small] - np.log(mu[~small])))


def gaussian_kl(cov_p, cov_q) -> float:
    """``KL(N(0, cov_p) || N(0, cov_q))`` in nats.

    For non-singular covariances ``P`` and ``Q`` of size ``m``,

        KL = 0.5 [tr(Q^-1 P) - m - logdet P + logdet Q]  (docs/theory.md section 9).

    It is evaluated as ``0.5 sum_i (mu_i - 1 - log mu_i)`` over the eigenvalues
    ``mu_i`` of the whitened ``Q^-1/2 P Q^-1/2`` (every term is non-negative and
    computed without cancellation near ``mu_i = 1``), so the result is never
    negative and ``KL(P || P)`` is 0 to rounding.

    Singular covariances (degenerate Gaussians living on the range of their
    covariance):

    * the divergence is finite exactly when ``P`` and ``Q`` have the same range;
      it is then the formula above on that common range;
    * it is ``inf`` when ``P`` has mass outside the range of ``Q``, or ``P`` is
      singular on the range of ``Q`` (in particular when ``P`` is singular and
      ``Q`` is not).

    Each matrix's rank is decided relative to its own size: an eigenvalue at
    most ``100 m eps`` times the matrix's largest one counts as zero (so
    ``P = 1e-20 Q`` is fine, but a matrix within rounding of a singular one is
    treated as that singular one).

    Parameters
    ----------
    cov_p, cov_q : float or array_like (m, m)
        Symmetric positive semidefinite covariances; a scalar is a variance (``m = 1``).

    Returns
    -------
    float

    Raises
    ------
    InvalidInputError
        If either is not a symmetric PSD matrix, or their sizes differ.
    """
    P = _v.psd_matrix("cov_p", [[cov_p]] if np.ndim(cov_p) == 0 else cov_p)
    Q = _v.psd_matrix("cov_q", [[cov_q]] if np.ndim(cov_q) == 0 else cov_q, size=P.shape[0])
    m = P.shape[0]
    eps = np.finfo(float).eps
    q_eig, U = np.linalg.eigh(Q)
    top_p = float(np.linalg.eigvalsh(P).max()) if m else 0.0
    top_q = float(q_eig.max()) if m else 0.0
    if top_q <= 0.0:  # Q is the point mass at 0
        return 0.0 if top_p <= 0.0 else np.inf
    tol_p, tol_q = 100.0 * m * eps * top_p, 100.0 * m * eps * top_q
    keep = q_eig > tol_q
    if not np.all(keep):
        null = U[:, ~keep]
        if float(np.linalg.eigvalsh(null.T @ P @ null).max()) > tol_p:
            return np.inf  # P puts mass where Q has none
        U, q_eig = U[:, keep], q_eig[keep]
    P_r = U.T @ P @ U  # P on the range of Q
    P_r = 0.5 * (P_r + P_r.T)
    if top_p <= 0.0 or float(np.linalg.eigvalsh(P_r).min()) <= tol_p:
        return np.inf  # P is singular on the range of Q
    root = 1.0 / np.sqrt(q_eig)
    M = P_r * root[:, None] * root[None, :]  # diag(q)^-1/2 U^T P U diag(q)^-1/2
    return 0.5 * _kl_terms(np.linalg.eigvalsh(0.5 * (M + M.T)))
