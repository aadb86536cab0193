"""Information measures in plain numpy: the ground truth everything is checked against.

Nothing here imports CVXPY.  Natural logarithms (nats) throughout; divide by
``log(2)`` (or use :data:`NATS_PER_BIT`) for bits.
"""

from __future__ import annotations

import numpy as np
from scipy.special import xlogy

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
