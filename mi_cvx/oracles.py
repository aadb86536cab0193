"""Closed forms: cross-check oracles for the convex models, and exact fast paths.

Every function here is plain numpy/scipy.  They are *independent* of the CVXPY
models in :mod:`mi_cvx.gaussian` (and friends): tests compare the two, and the
exact paths scale to sizes a generic SDP cannot reach.

Gaussian oracles (docs/theory.md sections 1-3)
---------------------------------------
* :func:`scalar_gaussian` -- Theorem 3.1 in closed form.
* :func:`falling_bar` -- Algorithm 1 (reverse water-filling), exact breakpoint search.
* :func:`isotropic_gaussian` -- the structured exact path for ``X = A Y + N`` with
  ``N ~ N(0, noise_var I)`` and any signal covariance.
* :func:`structured_gaussian` -- the same for any noise covariance that commutes with
  ``A signal_cov A^T`` (per-channel noise, docs/theory.md section 7); :func:`noise_commutes` tests it.

Subset attacks (docs/theory.md section 6)
----------------------------------
* :func:`subset_mi` -- Theorem 4.1: ``I*(S)``, the information left in the clean rows.

Discrete attacks (docs/theory.md sections 4-5)
---------------------------------------
* :func:`binary_oracle` -- Theorem 3.3's problem exactly, as a 1-d total-variation problem.
* :func:`binary_zero_threshold` -- the budget ``D0`` where the information first reaches zero.
* :func:`rate_distortion_hamming` -- ``R(D)`` of a k-ary source with Hamming distortion (``X = Y``).
* :func:`rate_distortion_channel` -- its optimal test channel ``P(xh | x)`` and dual (Erokhin).

The blind attacker and stealth (docs/theory.md sections 8-9)
-------------------------------------------------------------
* :func:`blind_gaussian` -- ``Delta ~ N(0, S)`` independent of everything, ``tr S <= D`` (commuting noise).
* :func:`stealth_blind_gaussian` -- the blind attack minimising ``I(Y; Z) + weight KL(P_Z || P_X)``.
* :func:`binary_blind` -- ``Xhat = X xor Bern(q)``: ``q* = min(D, 1/2)``.
* :func:`discrete_blind_value` -- ``I(Y; X + W mod k)`` for a given noise pmf.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import scipy.linalg
import scipy.optimize

from . import validate as _v
from .errors import InvalidInputError
from .info import entropy as info_entropy
from .info import gaussian_kl as info_gaussian_kl
from .info import mutual_information as info_mutual_information

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
    """Theorem 3.1 in closed form (docs/theory.md section 1).

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

    Uses the angle form of the closed form of docs/theory.md section 1: with ``gamma = atan2(sn, sy)``
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


def _scalar_gains(sy2, sn2, d):
    """Vectorised gains of Theorem 3.1: ``(signal_gain, noise_gain, extra_noise_var)``; broadcasts ``sn2`` too."""
    sy2, sn2, d = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (sy2, sn2, d)))
    sy, sn = np.sqrt(sy2), np.sqrt(sn2)
    theta = np.arctan2(sy, sn) - np.arcsin(np.sqrt(np.clip(d / (sy2 + sn2), 0.0, 1.0)))
    u, v = np.sqrt(d) * np.cos(theta), np.sqrt(d) * np.sin(theta)
    full = d >= sy2
    sig = np.where(full, -1.0, -u / sy)
    noisy = sn2 > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        noise = np.where(full | ~noisy, 0.0, v / sn)
    # nothing to amplify on a noiseless channel: the same power goes into independent noise
    extra = np.where(full | noisy, 0.0, v * v)
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
    # tail[k-1] = sum_{i>k} lam_i (k = 1..r), summed from the small end: exactly 0 for k = r
    # (total - cumsum would leave rounding there, wrong for budgets below total's last digit)
    tail = np.concatenate([np.cumsum(srt[::-1])[::-1][1:], [0.0]])
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
    """Exact optimum for ``X = A Y + N`` when the problem splits into channels (docs/theory.md sections 3 and 7).

    Attributes
    ----------
    mi : float
        Optimal ``I(Y; Z)`` in nats.
    allocation : ndarray
        Budget ``D_i`` per principal channel (the eigenvectors of
        ``A signal_cov A^T`` that carry signal, by descending signal power).
    channel_power : ndarray
        Signal power ``r_i`` (``b_i^2``) of each channel.
    dual : float
        ``-dI*/dD``.
    F, G : ndarray
        Gains of the optimal attack ``Delta = F Y + G N + W``.
    W_cov : ndarray
        Covariance of the independent part ``W``.
    channel_noise : ndarray or None
        Noise power ``s_i`` of each channel (``noise_var`` for every channel of
        :func:`isotropic_gaussian`).
    """

    mi: float
    allocation: np.ndarray
    channel_power: np.ndarray
    dual: float
    F: np.ndarray = field(repr=False)
    G: np.ndarray = field(repr=False)
    W_cov: np.ndarray = field(repr=False)
    channel_noise: np.ndarray | None = field(default=None, repr=False)


def isotropic_gaussian(A, budget, signal_cov=1.0, noise_var=0.0, *, tol: float = 1e-13) -> IsotropicGaussianSolution:
    """Exact optimal attack on ``X = A Y + N`` with isotropic noise, any signal covariance.

    Whitening ``Y`` and rotating by the singular vectors of
    ``B = A signal_cov^(1/2)`` (the eigenvectors of ``Cov(A Y) = B B^T``) splits
    the problem into independent scalar problems (Theorem 3.1) with signal
    powers ``b_i^2`` and noise ``noise_var``, coupled only by the budget.  The
    allocation equalises the slopes ``dI_i/dD_i = -lambda`` over the channels
    (see :func:`structured_gaussian`, which this is the isotropic case of).
    With ``noise_var = 0`` the falling bar is used (exact).

    Parameters
    ----------
    A : array_like, shape (m, n)
    budget : float
    signal_cov : float or array_like (n, n)
        A scalar means a multiple of the identity; a matrix must be positive definite.
    noise_var : float
        Variance of each of the ``m`` independent noise components (>= 0).
    tol : float
        Tolerance of the 1-d search on ``log lambda``.

    Returns
    -------
    IsotropicGaussianSolution
    """
    A, sy, _ = _v.observation_model(A, signal_cov)
    sn2 = _v.scalar("noise_var", noise_var, nonneg=True)
    d = _v.budget(budget)
    U, power = _signal_channels(A, sy)
    return _split_solution(A, U, power, np.full(power.size, sn2), d, tol, noisy_frame=sn2 > 0)


def _signal_channels(A: np.ndarray, sy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvectors of ``Cov(A Y)`` that carry signal, by descending power, and their powers."""
    m, n = A.shape
    # An m x m symmetric eigensolve is cheaper than an SVD of B = A signal_cov^(1/2).
    scalar_signal = np.array_equal(sy, sy[0, 0] * np.eye(n))
    power, U = np.linalg.eigh(sy[0, 0] * (A @ A.T) if scalar_signal else A @ sy @ A.T)
    power, U = power[::-1], U[:, ::-1]
    keep = power > power.max(initial=0.0) * max(m, n) * np.finfo(float).eps * 10
    return U[:, keep], power[keep]


def noise_commutes(A, signal_cov=1.0, noise_cov=0.0, *, rtol: float = 1e-8) -> bool:
    """Whether ``noise_cov`` commutes with ``R = A signal_cov A^T`` (so the exact split applies).

    Parameters
    ----------
    A : array_like, shape (m, n)
    signal_cov : float or array_like (n, n)
    noise_cov : float or array_like (m, m)
        A scalar (a multiple of the identity) always commutes.
    rtol : float
        Relative tolerance: ``||R SN - SN R||_F <= rtol ||R||_F ||SN||_F``.

    Returns
    -------
    bool

    Raises
    ------
    InvalidInputError
        Malformed or mismatched ``A``, ``signal_cov``, ``noise_cov``.
    """
    A, sy, sn = _v.observation_model(A, signal_cov, noise_cov)
    return _commutes(A @ sy @ A.T, sn, rtol)


def _unit_max(M: np.ndarray) -> tuple[np.ndarray, float]:
    """``(M / max|M|, max|M|)`` (``M`` itself when it is 0): norms of a matrix of entries ~1e-193 underflow."""
    big = float(np.max(np.abs(M), initial=0.0))
    return (M / big if big > 0 else M), big


def _commutes(R: np.ndarray, sn: np.ndarray, rtol: float) -> bool:
    (R, big_r), (sn, big_n) = _unit_max(R), _unit_max(sn)
    if big_r == 0.0 or big_n == 0.0 or np.array_equal(sn, sn[0, 0] * np.eye(sn.shape[0])):
        return True
    return bool(np.linalg.norm(R @ sn - sn @ R) <= rtol * np.linalg.norm(R) * np.linalg.norm(sn))


def _common_basis(R: np.ndarray, sn: np.ndarray, rtol: float) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """An orthonormal ``U`` diagonalising both ``R`` and ``sn`` (or None), with the two diagonals.

    The eigenvectors of ``R + t sn`` for a generic ``t`` diagonalise both when
    they commute (a shared eigenvalue of the sum only mixes directions on which
    both are, to rounding, equal).  Three values of ``t`` are tried and the
    basis with the smallest off-diagonal residual kept.
    """
    m = R.shape[0]
    # work at unit scale (a noise of 1e-193 has a Frobenius norm of 0 in doubles) and scale the diagonals back
    (R, big_r), (sn, big_n) = _unit_max(0.5 * (R + R.T)), _unit_max(sn)
    if big_n == 0.0 or np.array_equal(sn, sn[0, 0] * np.eye(m)):
        r, U = np.linalg.eigh(R)
        return U, r * big_r, np.full(m, float(sn[0, 0]) * big_n)
    if big_r == 0.0:
        s, U = np.linalg.eigh(sn)
        return U, np.zeros(m), s * big_n
    norm_r, norm_n = np.linalg.norm(R), np.linalg.norm(sn)
    if not _commutes(R, sn, rtol):
        return None
    candidates = []
    for t in (0.6180339887498949, 1.3247179572447460, 2.2360679774997897):
        _, U = np.linalg.eigh(R + (t * norm_r / norm_n) * sn)
        rr, ss = U.T @ R @ U, U.T @ sn @ U
        resid = max(np.linalg.norm(rr - np.diag(np.diag(rr))) / norm_r,
                    np.linalg.norm(ss - np.diag(np.diag(ss))) / norm_n)
        candidates.append((resid, U, np.diag(rr).copy(), np.diag(ss).copy()))
    # the first of the smallest residual (min keeps the first on ties, as a strict "<" scan does)
    resid, U, r, s = min(candidates, key=lambda c: c[0])
    if resid > max(np.sqrt(rtol), 1e3 * m * np.finfo(float).eps):
        return None
    return U, r * big_r, s * big_n


def structured_gaussian(A, budget, signal_cov=1.0, noise_cov=0.0, *, tol: float = 1e-13,
                        rtol: float = 1e-8) -> IsotropicGaussianSolution:
    """Exact optimal attack on ``X = A Y + N`` when ``noise_cov`` commutes with ``R = A signal_cov A^T``.

    In a common eigenbasis ``U`` of ``R`` and ``noise_cov`` (eigenvalues ``r_i``
    and ``s_i``) the channels ``U_i^T X = U_i^T A Y + U_i^T N`` are independent
    scalar problems of docs/theory.md section 1 with signal power ``r_i`` and noise
    ``s_i``, coupled only by the budget (docs/theory.md sections 3 and 7):

        I* = min { sum_i g(r_i, s_i, D_i) : D_i >= 0, sum D_i <= D }.

    The split equalises the slopes ``-dg/dD_i = lambda`` over the active
    channels: Brent's method on ``log lambda``, each channel's ``D_i(lambda)``
    a safeguarded Newton root in the smaller of the two angles of the closed
    form (accurate at both ends: tiny budgets and budgets within rounding of
    the zero-information threshold ``trace(R)``); noiseless channels in closed
    form (``D_i = min(r_i, 1 / (2 lambda))``); all noiseless is the falling bar.
    Channels with ``r_i = 0`` (noise only) get no budget.

    Parameters
    ----------
    A : array_like, shape (m, n)
    budget : float
    signal_cov : float or array_like (n, n)
        Positive definite; a scalar means that multiple of the identity.
    noise_cov : float or array_like (m, m)
        PSD, commuting with ``A signal_cov A^T``; a scalar means that multiple
        of the identity (0: no noise).
    tol : float
        Tolerance of the search on ``log lambda``.
    rtol : float
        Relative tolerance of the commutation test (:func:`noise_commutes`).

    Returns
    -------
    IsotropicGaussianSolution
        ``F``, ``G``, ``W_cov`` in the original frame: ``Delta = F Y + G N + W``
        (per channel ``Delta_i = g_sig_i (U_i^T A Y) + g_noise_i (U_i^T N) + W_i``,
        ``W_i`` only on noiseless channels).

    Raises
    ------
    InvalidInputError
        Malformed inputs, or ``noise_cov`` that does not commute with ``A signal_cov A^T``.
    """
    return StructuredGaussian(A, signal_cov, noise_cov, rtol=rtol).solve(budget, tol=tol)


#: ``(U, power, noise, noisy_frame)``: the channels of an exact split (see :class:`StructuredGaussian`).
_Channels = tuple[np.ndarray, np.ndarray, np.ndarray, bool]


class StructuredGaussian:
    """The exact split of ``X = A Y + N`` into scalar channels, decomposed once and solved for any budget.

    :func:`structured_gaussian` for many budgets of one model: the common
    eigenbasis of ``R = A signal_cov A^T`` and ``noise_cov`` is computed once
    (on first use), each budget's allocation is a one-dimensional search.

    Parameters
    ----------
    A, signal_cov, noise_cov
        As in :func:`structured_gaussian`.
    rtol : float
        Relative tolerance of the commutation test.

    Attributes
    ----------
    commutes : bool
        Whether the noise commutes with ``R`` (the split applies).
    """

    def __init__(self, A, signal_cov=1.0, noise_cov=0.0, *, rtol: float = 1e-8):
        self.A, self.signal_cov, self.noise_cov = _v.observation_model(A, signal_cov, noise_cov)
        self.rtol = rtol
        self._channels: _Channels | Literal[False] | None = None

    def _decompose(self) -> _Channels | Literal[False]:
        """``(U, power, noise, noisy_frame)`` of the split (computed once), or False if the noise does not commute."""
        if self._channels is None:
            A, sy, sn = self.A, self.signal_cov, self.noise_cov
            m, n = A.shape
            if not np.any(sn) or np.array_equal(sn, sn[0, 0] * np.eye(m)):
                U, power = _signal_channels(A, sy)
                noise_var = float(sn[0, 0])
                self._channels = (U, power, np.full(power.size, noise_var), noise_var > 0)
            else:
                basis = _common_basis(A @ sy @ A.T, sn, self.rtol)
                if basis is None:
                    self._channels = False
                else:
                    U, r, s = basis
                    eps = np.finfo(float).eps
                    keep = r > float(np.max(np.abs(r), initial=0.0)) * max(m, n) * eps * 10
                    s = np.where(s > float(np.max(np.abs(s), initial=0.0)) * m * eps * 10, s, 0.0)
                    order = np.argsort(-r[keep], kind="stable")
                    self._channels = (U[:, keep][:, order], r[keep][order], s[keep][order], True)
        return self._channels

    @property
    def commutes(self) -> bool:
        return self._decompose() is not False

    def solve(self, budget, *, tol: float = 1e-13) -> IsotropicGaussianSolution:
        """The exact optimum at ``budget`` (see :func:`structured_gaussian`).

        Raises
        ------
        InvalidInputError
            A negative or non-finite ``budget``, or noise that does not commute.
        """
        d = _v.budget(budget)
        channels = self._decompose()
        if channels is False:
            R = self.A @ self.signal_cov @ self.A.T
            comm = np.linalg.norm(R @ self.noise_cov - self.noise_cov @ R)
            raise InvalidInputError(
                "noise_cov", f"does not commute with A signal_cov A^T (relative commutator "
                f"{comm / (np.linalg.norm(R) * np.linalg.norm(self.noise_cov)):.3g} > rtol={self.rtol:g}), so the "
                "problem does not split into independent channels; solve the SDP (mi_cvx.gaussian_vector) instead")
        U, power, noise, noisy = channels
        return _split_solution(self.A, U, power, noise, d, tol, noisy_frame=noisy)


def _split_solution(A: np.ndarray, U: np.ndarray, power: np.ndarray, noise: np.ndarray, budget: float, tol: float,
                    *, noisy_frame: bool) -> IsotropicGaussianSolution:
    """Solve the channels and rotate the attack back to the original frame."""
    m = A.shape[0]
    alloc, mi, dual, sig, noise_gain, extra = _channel_split(power, noise, budget, tol)
    # The channel signals are U^T A Y (variances r_i), the channel noises U^T N (variances s_i).
    # Erasing everything is Delta = -A Y exactly: -U U^T A would leave a rounding residue of signal that
    # noise of 1e-20 turns into 1e-12 nats
    F = -A.copy() if np.all(sig == -1.0) else (U * sig) @ (U.T @ A)
    G = (U * noise_gain) @ U.T if noisy_frame else np.zeros((m, m))
    W_cov = (U * extra) @ U.T if np.any(extra) else np.zeros((m, m))
    return IsotropicGaussianSolution(float(mi), alloc, power, float(dual), F, G, W_cov, noise.copy())


def _isotropic_allocation(power: np.ndarray, sn2, budget: float, tol: float = 1e-13):
    """Budget split equalising ``-dI_i/dD_i = lambda``: ``(allocation, lambda)``; ``sn2`` scalar or per channel."""
    noise = np.broadcast_to(np.asarray(sn2, dtype=float), power.shape).copy()
    alloc, _, dual, _, _, _ = _channel_split(power, noise, budget, tol)
    return alloc, dual


def _channel_split(power: np.ndarray, noise: np.ndarray, budget: float, tol: float):
    """The exact split over channels ``(r_i, s_i)``: ``(alloc, mi, dual, sig_gain, noise_gain, extra_var)``.

    Every ``r_i > 0``.  ``sig_gain`` multiplies the channel's signal, ``noise_gain`` its
    noise (``s_i > 0``), ``extra_var`` is the variance of independent noise (``s_i = 0``).
    """
    r = np.asarray(power, dtype=float)
    s = np.asarray(noise, dtype=float)
    zeros = np.zeros_like(r)
    noisy = s > 0
    total = float(r.sum())
    if r.size == 0 or budget >= total:  # Delta = - (signal part): zero information
        return r.copy(), 0.0, 0.0, np.full_like(r, -1.0), zeros, zeros.copy()
    if budget == 0.0:
        with np.errstate(divide="ignore"):
            mi = float(np.sum(0.5 * np.log1p(r / s)))
        return zeros, mi, math.inf, zeros.copy(), zeros.copy(), zeros.copy()
    if not np.any(noisy):  # reverse water-filling, exact
        fb = falling_bar(r, budget)
        alloc = fb.allocation
        return alloc, fb.mi, fb.dual, -alloc / r, zeros, alloc * (r - alloc) / r

    # Scale so that trace(R) = 1 (lambda scales inversely), then work with the two angles of
    # the closed form: beta_i = arcsin(sqrt(D_i / (r_i + s_i))) and psi_i = top_i - beta_i with
    # top_i = atan2(sqrt r_i, sqrt s_i); psi_i is the channel's distance to zero information
    # (I_i = -log cos psi_i) and -dI_i/dD_i = tan psi_i / ((r_i + s_i) sin 2 beta_i).
    scale = total
    rn, sn, bn = r / scale, s / scale, budget / scale
    need = (total - budget) / scale  # the budget still missing to erase everything
    r2 = rn + sn
    top = np.arctan2(np.sqrt(rn), np.sqrt(sn))
    sin_top, cos_top = np.sqrt(rn / r2), np.sqrt(sn / r2)
    quiet = ~noisy
    tp, rr2 = top[noisy], r2[noisy]
    # pi/2 - top, accurate when the noise is tiny (tp itself then rounds to pi/2, and sin 2 beta = sin 2 (tp - x)
    # loses everything below its ulp: a spurious root near x ~ 1e-16 made the split wrong for noise ~1e-100)
    co = np.arctan2(np.sqrt(sn[noisy]), np.sqrt(rn[noisy]))
    half = 0.5 * tp
    tiny = np.finfo(float).tiny

    def angles(log_lam: float) -> tuple[np.ndarray, np.ndarray]:
        with np.errstate(all="ignore"):  # infinities at the ends of the brackets are expected
            return _angles(log_lam)

    def _angles(log_lam: float) -> tuple[np.ndarray, np.ndarray]:
        beta, psi = np.empty_like(rn), np.empty_like(rn)
        if np.any(quiet):  # D = min(r, 1 / (2 lambda)): sin^2 beta = 1 / (2 lambda r)
            root = np.sqrt(np.maximum(2.0 * np.exp(log_lam) * rn[quiet] - 1.0, 0.0))
            beta[quiet], psi[quiet] = np.arctan2(1.0, root), np.arctan2(root, 1.0)
        # Root of log tan psi - log(r2 sin 2 beta) = log lambda, in the smaller angle x (psi when
        # the root lies past the midpoint, beta otherwise), by safeguarded Newton on log x.
        side = np.log(np.tan(half)) - np.log(rr2 * np.sin(tp)) - log_lam > 0  # True: solve in psi
        sign = np.where(side, 1.0, -1.0)
        guess = np.where(side, np.exp(log_lam) * rr2 * np.sin(2 * co),
                         np.sqrt(rn[noisy] / sn[noisy]) * np.exp(-log_lam) / (2.0 * rr2))
        hi = np.log(half)
        lo = np.full_like(hi, -745.0)
        u = np.clip(np.log(np.clip(guess, tiny, None)), lo, hi)
        for _ in range(200):
            x = np.exp(u)
            # with w = co + x the far angle is pi/2 - w: tan(top - x) = 1 / tan w, sin 2 (top - x) = sin 2w
            # and tan 2 (top - x) = -tan 2w, all without the cancellation of tp - x
            w = co + x
            near, far = np.where(side, x, w), np.where(side, w, x)  # the angles whose tan p, sin 2b are read
            log_tan_p = sign * np.log(np.tan(near))
            sin_2b = np.sin(2 * far)
            f = sign * (log_tan_p - np.log(rr2 * sin_2b) - log_lam)
            df = x * (2.0 / np.sin(2 * near) - sign * 2.0 / np.tan(2 * far))
            step = u - f / df
            below = f < 0
            lo, hi = np.where(below, u, lo), np.where(below, hi, u)
            new = np.where(np.isfinite(step) & (step >= lo) & (step <= hi), step, 0.5 * (lo + hi))
            done = bool(np.all(np.abs(new - u) <= 4 * np.finfo(float).eps * np.maximum(1.0, np.abs(u))))
            u = new
            if done:
                break
        x = np.exp(u)
        beta[noisy], psi[noisy] = np.where(side, tp - x, x), np.where(side, x, tp - x)
        return beta, psi

    def deficits(beta: np.ndarray, psi: np.ndarray) -> np.ndarray:
        # r - D = r2 (sin top - sin beta)(sin top + sin beta), without cancellation
        return r2 * 2.0 * np.sin(0.5 * psi) * (cos_top * np.cos(0.5 * psi) + sin_top * np.sin(0.5 * psi)) \
            * (sin_top + np.sin(beta))

    use_deficit = need < bn  # near the threshold, match the (small) missing budget instead

    def excess(log_lam: float) -> float:  # increasing in log lambda
        beta, psi = angles(log_lam)
        if use_deficit:
            return float(deficits(beta, psi).sum()) - need
        return bn - float(np.sum(r2 * np.sin(beta) ** 2))

    # Bracket log lambda (bounded: 12 doublings reach |log lambda| ~ 4000, far beyond any double).
    start = math.log(r.size / (2.0 * bn))
    lo = hi = start
    f_lo = f_hi = excess(start)
    step = 1.0
    for _ in range(12):
        if f_lo < 0:
            break
        hi, f_hi, lo = lo, f_lo, lo - step
        f_lo, step = excess(lo), 2.0 * step
    step = 1.0
    for _ in range(12):
        if f_hi > 0:
            break
        lo, f_lo, hi = hi, f_hi, hi + step
        f_hi, step = excess(hi), 2.0 * step
    if f_lo >= 0:  # within rounding of lambda = 0: the closest allocation
        log_lam = ends = lo
    elif f_hi <= 0:
        log_lam = ends = hi
    else:
        log_lam = scipy.optimize.brentq(excess, lo, hi, xtol=tol, rtol=4 * np.finfo(float).eps, maxiter=500)
        ends = None
    # The root lies within Brent's final bracket, +-2 (xtol + rtol |x|) around log_lam.  Across it the
    # split may jump (a noiseless channel switches on at lambda = 1 / (2 r_i), faster than one ulp of
    # lambda can resolve when the budget is within rounding of trace R): interpolate between the two
    # ends, on the budget scale that is matched (deficits near the threshold, allocations otherwise).
    width = 2.0 * (tol + 4 * np.finfo(float).eps * abs(log_lam))
    sides = (ends, ends) if ends is not None else (log_lam - width, log_lam + width)
    (b1, p1), (b2, p2) = angles(sides[0]), angles(sides[1])
    g1, g2 = deficits(b1, p1), deficits(b2, p2)
    a1, a2 = r2 * np.sin(b1) ** 2, r2 * np.sin(b2) ** 2
    t1, t2, target = (g1.sum(), g2.sum(), need) if use_deficit else (a1.sum(), a2.sum(), bn)
    frac = min(max((target - t1) / (t2 - t1), 0.0), 1.0) if t2 != t1 else 0.0
    gap, alloc = g1 + frac * (g2 - g1), a1 + frac * (a2 - a1)
    beta, psi = b1 + frac * (b2 - b1), p1 + frac * (p2 - p1)
    if use_deficit:
        if gap.sum() > 0 and abs(need / gap.sum() - 1.0) < 1e-6:
            gap *= need / gap.sum()  # spend the budget exactly (a relative change of order tol)
        alloc = np.clip(rn - gap, 0.0, rn)
    else:
        if abs(bn / alloc.sum() - 1.0) < 1e-6:
            alloc *= bn / alloc.sum()
        alloc = np.minimum(alloc, rn)
        gap = np.maximum(rn - alloc, 0.0)
    if np.any(quiet):  # noiseless channels: the angles of the interpolated split, exactly
        beta[quiet] = np.arctan2(np.sqrt(alloc[quiet]), np.sqrt(gap[quiet]))
        psi[quiet] = np.arctan2(np.sqrt(gap[quiet]), np.sqrt(alloc[quiet]))
    sin_psi = np.sin(psi)
    # I_i = -log cos psi_i: from sin psi when psi is small (tiny information), else from
    # cos(top - beta) = cos top cos beta + sin top sin beta (no cancellation when beta is tiny)
    with np.errstate(divide="ignore"):
        mi_i = np.where(psi < np.pi / 4, -0.5 * np.log1p(-np.minimum(sin_psi * sin_psi, 0.5)),
                        -np.log(cos_top * np.cos(beta) + sin_top * np.sin(beta)))
    mi = float(np.sum(mi_i))
    root_d = np.sqrt(r2) * np.sin(beta)  # sqrt(D), normalised
    u_part, v_part = root_d * np.cos(psi), root_d * sin_psi
    sig = -u_part / np.sqrt(rn)
    with np.errstate(divide="ignore", invalid="ignore"):
        noise_gain = np.where(noisy, v_part / np.sqrt(sn), 0.0)
    extra = np.where(noisy, 0.0, v_part * v_part * scale)
    return alloc * scale, max(mi, 0.0), math.exp(log_lam) / scale, sig, noise_gain, extra


# ---- section 6 (subset attacks)


def _subset_model(signal_cov, noise_cov, A) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validated ``(A, signal_cov, noise_cov)`` for the subset formulas; ``A=None`` means the identity."""
    if A is None:
        for value in (signal_cov, noise_cov):
            try:
                ndim = np.ndim(value)
            except ValueError:  # ragged nested lists
                raise InvalidInputError("signal_cov" if value is signal_cov else "noise_cov",
                                        "expected a number or a square matrix (rows of equal length)") from None
            if ndim == 2:
                size = np.shape(value)[0]
                break
        else:
            raise InvalidInputError("A", "is None (the identity) but signal_cov and noise_cov are both scalars, "
                                    "so the number of sensors is unknown; pass A or a covariance matrix")
        A = np.eye(size)
    return _v.observation_model(A, signal_cov, noise_cov)


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
    subset : sequence of int, or sequence of bool of length m
        The attacked rows (distinct, in ``[0, m)``; may be empty), or a
        boolean mask with one entry per row, as for the ``support`` of
        :func:`mi_cvx.gaussian_sparse` (:func:`mi_cvx.validate.row_indices`).
        A repeated row is refused: it is almost certainly a mistake.
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
        not distinct integer rows of ``X`` (nor a mask with one entry per
        row; the message names ``subset``), or ``noise_cov`` not positive
        definite on the clean rows.
    """
    A, sy, sn = _subset_model(signal_cov, noise_cov, A)
    m = A.shape[0]
    rows = _v.row_indices("subset", subset, m)
    clean = np.setdiff1d(np.arange(m), rows)
    _v.clean_rows_noise(sn, clean)
    return _clean_mi(A @ np.linalg.cholesky(sy), sn, clean)


# ---- sections 4-5 (discrete)


def _bernoulli_kl(t: float, m: float, t_c: float | None = None, m_c: float | None = None) -> float:
    """``D(Bernoulli(t) || Bernoulli(m))`` in nats (0 log 0 = 0; 0 when ``t == m``).

    ``t_c`` and ``m_c`` are the complements ``1 - t`` and ``1 - m`` when they are
    known more accurately than by subtraction (values near 1).  The divergence
    is ``+inf`` only where ``m`` (or ``1 - m``) is 0 and ``t`` (or ``1 - t``) is not.
    """
    t_c = 1.0 - t if t_c is None else t_c
    m_c = 1.0 - m if m_c is None else m_c
    if t == m and t_c == m_c:
        return 0.0
    out = 0.0
    if t > 0.0:
        out += t * (math.log(t) - math.log(m)) if m > 0.0 else math.inf
    if t_c > 0.0:
        out += t_c * (math.log(t_c) - math.log(m_c)) if m_c > 0.0 else math.inf
    return out


def _logit_c(t: float, t_c: float) -> float:
    """``log(t / (1 - t))`` from ``t`` and its complement ``t_c`` (limits ``-inf`` and ``+inf``)."""
    if t <= 0.0:
        return -math.inf
    if t_c <= 0.0:
        return math.inf
    return math.log(t) - math.log(t_c)


@dataclass(frozen=True)
class BinaryChannelSolution:
    """Exact optimum of the binary attack problem (docs/theory.md section 4).

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
    """The zero-information budget ``D0 = min(p(0), p(1)) |a_0 - a_1|`` (docs/theory.md section 4).

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
    """Exact optimal attack on a binary channel: the total-variation oracle of docs/theory.md section 4.

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
        a_y = float(p[1, y] / py[y])
        return BinaryChannelSolution(0.0, np.array([a_y, a_y]), np.zeros((2, 2)), 0.0, 0.0, 0.0)
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
        def ends(s: float) -> tuple[float, float, float, float, float, float]:
            # t_y and their complements 1 - t_y, each computed directly (accurate near 0 and near 1),
            # and tbar = sum_y p(y) t_y (strictly between t_lo and t_hi unless they are equal).
            t_lo = min(max(a_lo + s / p_lo, 0.0), 1.0)
            c_lo = min(max((1.0 - a_lo) - s / p_lo, 0.0), 1.0)
            t_hi = min(max(a_hi - (d - s) / p_hi, 0.0), 1.0)
            c_hi = min(max((1.0 - a_hi) + (d - s) / p_hi, 0.0), 1.0)
            tbar, c_bar = p_lo * t_lo + p_hi * t_hi, p_lo * c_lo + p_hi * c_hi
            return t_lo, c_lo, t_hi, c_hi, tbar, c_bar

        def clipped(t: float, t_c: float) -> float:
            # logits clipped to +-800 (beyond any finite double's) so Brent's
            # interpolation stays finite; the sign is what matters at the ends.
            return min(max(_logit_c(t, t_c), -800.0), 800.0)

        def slope(s: float) -> float:
            t_lo, c_lo, t_hi, c_hi, tbar, c_bar = ends(s)
            return clipped(t_lo, c_lo) + clipped(t_hi, c_hi) - 2.0 * clipped(tbar, c_bar)

        f0, f1 = slope(0.0), slope(d)
        if f0 >= 0.0:
            s = 0.0
        elif f1 <= 0.0:
            s = d
        else:
            s = scipy.optimize.brentq(slope, 0.0, d, xtol=1e-300, rtol=4 * np.finfo(float).eps, maxiter=200)
        t_lo, c_lo, t_hi, c_hi, tbar, c_bar = ends(s)
        t[lo], t[hi] = t_lo, t_hi
        mi = p_lo * _bernoulli_kl(t_lo, tbar, c_lo, c_bar) + p_hi * _bernoulli_kl(t_hi, tbar, c_hi, c_bar)
        # (at a budget within rounding of D0 the three values may coincide: I* = 0 to rounding)
        mi = min(max(mi, 0.0), float(info_entropy(py))) if math.isfinite(mi) else 0.0
        l_lo, l_hi, l_bar = _logit_c(t_lo, c_lo), _logit_c(t_hi, c_hi), _logit_c(tbar, c_bar)
        with np.errstate(invalid="ignore"):
            dual = float(np.nanmax([l_hi - l_bar, l_bar - l_lo, 0.0]))
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
    attack problem with ``X = Y`` (a diagonal ``p_xy``, docs/theory.md section 5).

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
    if d >= _hamming_zero(srt):
        return 0.0
    m, p_out, _ = _hamming_letter_set(srt, d)
    head = srt[:m][srt[:m] > 0]
    moved = max(d - p_out, 0.0)
    out = -float(np.sum(head * np.log(head))) + (1.0 - p_out) * math.log1p(-d)
    if moved > 0.0:
        out += moved * math.log(moved / ((m - 1) * (1.0 - d)))
    return max(out, 0.0)


def _hamming_zero(srt: np.ndarray) -> float:
    """The zero-information budget ``1 - max p`` of a descending pmf (also as the tail sum, for rounding)."""
    return min(1.0 - float(srt[0]), float(np.sum(srt[:0:-1])))


def _hamming_letter_set(srt: np.ndarray, d: float) -> tuple[int, float, float]:
    """Erokhin's output set for a descending pmf ``srt`` and ``d < 1 - srt[0]``: ``(m, P_out, level)``.

    ``level = theta (1 - D) = (D - P_out) / (m - 1)`` lies in ``[p_{m+1}, p_m]``.
    """
    k = srt.size
    tail = np.concatenate([np.cumsum(srt[::-1])[::-1][1:], [0.0]])  # tail[m-1] = sum_{i > m} p_i
    for m in range(k, 1, -1):
        p_out = float(tail[m - 1])
        level = (d - p_out) / (m - 1)  # theta (1 - D)
        nxt = float(srt[m]) if m < k else 0.0
        # (closed at both ends with a rounding margin: R is continuous across the breakpoints)
        if nxt * (1 - 1e-12) - 1e-15 <= level <= srt[m - 1] * (1 + 1e-12) and level >= -1e-15:
            return m, p_out, level
    raise AssertionError(f"no letter set found for budget {d!r} and pmf {srt!r}")  # pragma: no cover


def rate_distortion_channel(p, budget) -> tuple[float, np.ndarray, float]:
    """The optimal test channel of a k-ary source with Hamming distortion (Erokhin's solution).

    The discrete attack problem with ``X = Y`` (a diagonal ``p_xy``, docs/theory.md
    section 5): ``min I(X; Xhat)`` subject to ``P(X != Xhat) <= D``.

    Parameters
    ----------
    p : array_like, shape (k,)
        Source pmf (zero entries allowed).
    budget : float
        ``D >= 0``.

    Returns
    -------
    mi : float
        ``R(D)`` in nats (:func:`rate_distortion_hamming`).
    channel : ndarray, shape (k, k)
        ``channel[x, xh] = P(xh | x)``, an optimal test channel; its expected
        distortion is ``min(D, 1 - max p)`` and its ``I(X; Xhat)`` is ``mi``.
    dual : float
        ``-dR/dD = -log theta`` (``inf`` at ``D = 0``, 0 once ``D >= 1 - max p``).

    Raises
    ------
    InvalidInputError
        If ``p`` is not a pmf or ``budget`` is negative or not finite.

    Notes
    -----
    With the output set ``S`` (the ``m`` likeliest letters), ``P_out = P(S^c)``
    and ``level = theta (1 - D) = (D - P_out) / (m - 1)`` as in
    :func:`rate_distortion_hamming`, the consistency conditions
    ``sum_x p(x) theta^[x != xh] / Z(x) = 1`` (``xh in S``) force
    ``Z(x) = p(x) / (1 - D)`` on ``S`` and give the output pmf in closed form,

        q(xh) = (p(xh) - level) / (1 - D - level)   on S,  0 elsewhere,

    so that ``P(xh | x) = q(xh) theta^[x != xh] (1 - D) / p(x)`` for ``x in S``
    and ``P(xh | x) = q(xh)`` for a letter outside ``S`` (it is always
    changed).  Letters with ``p(x) = 0`` are left unchanged (any row would do).
    ``D = 0`` gives the identity; ``D >= 1 - max p`` the constant output
    ``argmax p`` (zero information).
    """
    p = _v.pmf("p", p, ndim=1)
    d = _v.budget(budget)
    k = p.size
    order = np.argsort(-p, kind="stable")
    srt = p[order]
    channel = np.zeros((k, k))
    if d >= _hamming_zero(srt):
        channel[:, order[0]] = 1.0
        return 0.0, channel, 0.0
    mi = rate_distortion_hamming(p, d)
    m, _, level = _hamming_letter_set(srt, d)
    level = min(max(level, 0.0), float(srt[m - 1]))
    theta = level / (1.0 - d)
    S = order[:m]
    q = np.zeros(k)
    q[S] = np.maximum(p[S] - level, 0.0) / (1.0 - d - level)
    q /= q.sum()
    for x in range(k):
        if p[x] <= 0.0:
            channel[x, x] = 1.0
        elif q[x] > 0.0 or x in S:
            row = q * theta * (1.0 - d) / p[x]
            row[x] = q[x] * (1.0 - d) / p[x]
            channel[x] = row / row.sum()
        else:
            channel[x] = q
    dual = -math.log(theta) if theta > 0.0 else math.inf
    return mi, channel, dual


# ---- sections 8-9 (the blind attacker and stealth)


@dataclass(frozen=True)
class BlindGaussianSolution:
    """Optimal blind attack ``Delta ~ N(0, attack_cov)`` independent of ``(Y, N)`` (docs/theory.md section 8).

    Attributes
    ----------
    mi : float
        ``I*(D)`` in nats (``inf`` only at ``D = 0`` with a noiseless channel that carries signal).
    attack_cov : ndarray, shape (m, m)
        The optimal ``S*``; its trace is the budget (which always binds while
        ``A signal_cov A^T != 0``).
    sigma : ndarray
        Attack variance ``sigma_i`` on each channel that carries signal (the
        eigenvectors of ``R = A signal_cov A^T``, by descending ``r_i``).
    level : float
        The level ``nu`` of ``sigma_i = max(0, w_i(nu) - s_i)`` (a variance;
        ``inf`` when no channel carries signal).
    dual : float
        ``-dI*/dD = 1 / (2 nu)``, the common slope of the active channels
        (``inf`` at ``D = 0`` with a noiseless signal channel; 0 when no channel
        carries signal).
    channel_power, channel_noise : ndarray
        ``r_i`` and ``s_i`` of those channels.
    """

    mi: float
    attack_cov: np.ndarray = field(repr=False)
    sigma: np.ndarray
    level: float
    dual: float
    channel_power: np.ndarray = field(repr=False)
    channel_noise: np.ndarray = field(repr=False)


def _blind_sigma(r: np.ndarray, s: np.ndarray, nu: float) -> np.ndarray:
    """``max(0, w_i(nu) - s_i)`` written without cancellation: ``2 r (nu - nu0_i)_+ / (sqrt(r^2 + 4 nu r) + r + 2 s)``.

    ``nu0_i = s_i (s_i + r_i) / r_i`` is the level at which channel ``i`` switches on.
    """
    nu0 = s * (s + r) / r
    return 2.0 * r * np.maximum(nu - nu0, 0.0) / (np.sqrt(r * r + 4.0 * nu * r) + r + 2.0 * s)


def blind_gaussian(A, budget, signal_cov=1.0, noise_cov=0.0, *, rtol: float = 1e-8) -> BlindGaussianSolution | None:
    """Closed-form optimal blind attack on ``X = A Y + N`` (docs/theory.md section 8).

    The attacker sees nothing and adds ``Delta ~ N(0, S)`` independent of
    ``(Y, N)`` with ``tr S <= D``, minimising

        I(S) = 0.5 logdet(SX + S) - 0.5 logdet(SN + S),    SX = R + SN,  R = A SY A^T.

    When ``SN`` commutes with ``R`` (always when it is a multiple of the
    identity), in a common eigenbasis ``U`` (eigenvalues ``r_i``, ``s_i``) the
    optimum is ``S* = U diag(sigma) U^T`` (``I`` is convex and invariant under
    the sign flips of the columns of ``U``, so averaging over them makes any
    ``S`` diagonal without raising ``I``), with

        sigma_i = max(0, w_i(nu) - s_i),   w_i(nu) = (sqrt(r_i^2 + 4 nu r_i) - r_i) / 2,

    the stationarity condition ``-dI_i/dsigma_i = r_i / (2 w (w + r_i)) = 1 / (2 nu)``
    (``w = s_i + sigma_i``) on the active channels.  The level ``nu`` solves
    ``sum sigma_i(nu) = D`` (increasing in ``nu``; Brent's method on ``log nu``
    inside an explicit bracket, at most 300 iterations), and

        I* = sum_i 0.5 log(1 + r_i / (s_i + sigma_i)),   -dI*/dD = 1 / (2 nu)

    (envelope theorem: the multiplier of the budget is the common slope).
    Channels with ``r_i = 0`` get no attack.  Every channel's slope is
    positive, so the budget binds and ``I* > 0`` for every finite ``D`` (when
    ``R != 0``): there is no zero-information budget.

    Parameters
    ----------
    A : array_like, shape (m, n)
    budget : float
        ``D >= 0``, the bound on ``tr S = E |Delta|^2``.
    signal_cov : float or array_like (n, n)
        Positive definite; a scalar means that multiple of the identity.
    noise_cov : float or array_like (m, m)
        PSD; a scalar means that multiple of the identity (0: no noise).
    rtol : float
        Relative tolerance of the commutation test (:func:`noise_commutes`).

    Returns
    -------
    BlindGaussianSolution or None
        None when ``noise_cov`` does not commute with ``A signal_cov A^T`` (no
        closed form; solve the SDP of docs/theory.md section 8).  At ``D = 0``
        with a noiseless channel that carries signal, ``mi`` and ``dual`` are
        ``inf`` and ``level`` is 0.

    Raises
    ------
    InvalidInputError
        Malformed or mismatched ``A``, ``signal_cov``, ``noise_cov``, or a
        negative or non-finite ``budget``.
    """
    channels = StructuredGaussian(A, signal_cov, noise_cov, rtol=rtol)._decompose()
    d = _v.budget(budget)
    if channels is False:
        return None
    U, r, s, _ = channels
    m = U.shape[0]
    r = np.asarray(r, dtype=float)
    s = np.maximum(np.asarray(s, dtype=float), 0.0)
    if r.size == 0:  # no signal reaches X: nothing to hide, nothing spent
        return BlindGaussianSolution(0.0, np.zeros((m, m)), r.copy(), math.inf, 0.0, r.copy(), s.copy())
    nu0 = s * (s + r) / r  # the level at which each channel switches on
    if d == 0.0:
        sigma = np.zeros_like(r)
        if np.any(s == 0.0):
            return BlindGaussianSolution(math.inf, np.zeros((m, m)), sigma, 0.0, math.inf, r.copy(), s.copy())
        nu = float(nu0.min())
    else:
        k = r.size

        def excess(log_nu: float) -> float:  # increasing; sum sigma(nu) / D - 1
            return float(np.sum(_blind_sigma(r, s, math.exp(log_nu)))) / d - 1.0

        # Bracket: w_i(nu) < nu, so sum sigma < k nu and nu = D / (2k) spends less than D (as does any
        # nu below every switch-on level); channel i alone spends D at nu = (D + s_i)(D + s_i + r_i) / r_i.
        lo = math.log(max(d / (2.0 * k), float(nu0.min())))
        hi = math.log(float(np.min((d + s) / r * (d + s + r))))
        f_lo, f_hi = excess(lo), excess(hi)
        if f_lo >= 0.0:
            log_nu = lo
        elif f_hi <= 0.0:
            log_nu = hi
        else:
            log_nu, _info = scipy.optimize.brentq(excess, lo, hi, xtol=1e-300, rtol=4 * np.finfo(float).eps,
                                                  maxiter=300, full_output=True, disp=False)
        nu = math.exp(log_nu)
        sigma = _blind_sigma(r, s, nu)
        total = float(sigma.sum())
        if total > 0.0:
            sigma *= d / total  # spend the budget exactly (a change of the order of rounding)
    with np.errstate(divide="ignore"):
        mi = float(np.sum(0.5 * np.log1p(r / (s + sigma))))
    attack_cov = (U * sigma) @ U.T
    return BlindGaussianSolution(mi, 0.5 * (attack_cov + attack_cov.T), sigma, nu, 0.5 / nu, r.copy(), s.copy())


@dataclass(frozen=True)
class StealthGaussianSolution:
    """Optimal blind attack against ``I(Y; Z) + weight KL(P_Z || P_X)`` (docs/theory.md section 9).

    Attributes
    ----------
    objective : float
        ``J* = I + weight KL`` in nats, from the closed form.
    mi : float
        ``I(Y; Z) = 0.5 logdet(SX + S*) - 0.5 logdet(SN + S*)``, re-evaluated from ``attack_cov``.
    kl : float
        ``KL(N(0, SX + S*) || N(0, SX))``, re-evaluated from ``attack_cov`` (:func:`mi_cvx.info.gaussian_kl`).
    attack_cov : ndarray, shape (m, m)
        ``S*``, the covariance of ``Delta ~ N(0, S*)`` independent of ``(Y, N)``.
    t : ndarray, shape (m,)
        Eigenvalues of the whitened attack ``SX^-1/2 S* SX^-1/2``, paired with ``nu``.
    nu : ndarray, shape (m,)
        Eigenvalues ``nu_i`` in ``(0, 1]`` of the whitened noise ``SX^-1/2 SN SX^-1/2``.
    """

    objective: float
    mi: float
    kl: float
    attack_cov: np.ndarray = field(repr=False)
    t: np.ndarray
    nu: np.ndarray = field(repr=False)


def _x_minus_log1p(x: np.ndarray) -> np.ndarray:
    """``x - log(1 + x)`` for ``x >= 0``, without cancellation for small ``x``."""
    x = np.asarray(x, dtype=float)
    small = x < 1e-3
    xs = np.where(small, x, 0.0)
    series = xs * xs * (0.5 - xs * (1 / 3 - xs * (0.25 - xs * (0.2 - xs * (1 / 6 - xs / 7)))))
    with np.errstate(invalid="ignore"):
        return np.where(small, series, x - np.log1p(np.where(small, 0.0, x)))


def _logdet_pd(mat: np.ndarray) -> float:
    """``logdet`` of a positive definite matrix by Cholesky (``-inf`` if it is not positive definite)."""
    try:
        chol = np.linalg.cholesky(0.5 * (mat + mat.T))
    except np.linalg.LinAlgError:
        return -math.inf
    return 2.0 * float(np.sum(np.log(np.diag(chol))))


def stealth_blind_gaussian(A, weight, signal_cov=1.0, noise_cov=1.0) -> StealthGaussianSolution:
    """Closed-form blind attack minimising ``I(Y; Z) + weight KL(P_Z || P_X)`` (docs/theory.md section 9).

    The attacker adds ``Delta ~ N(0, S)`` independent of ``(Y, N)``, with no
    power budget; the defender's detection exponent ``KL(N(0, SX + S) || N(0, SX))``
    is priced at ``weight``.  In the whitened variable
    ``S' = SX^-1/2 S SX^-1/2`` and with
    ``N' = SX^-1/2 SN SX^-1/2 = V diag(nu) V^T`` (``nu_i`` in ``(0, 1]``) the
    objective is

        J(S') = 0.5 logdet(I + S') - 0.5 logdet(N' + S') + (weight / 2) (tr S' - logdet(I + S')),

    convex and invariant under the sign flips of the columns of ``V``, so the
    optimum is ``S' = V diag(t) V^T``, and each ``t_i >= 0`` is the root of the
    stationarity condition ``weight t (nu_i + t) = 1 - nu_i``:

        t_i = (-nu_i + sqrt(nu_i^2 + 4 (1 - nu_i) / weight)) / 2,   S* = SX^1/2 V diag(t) V^T SX^1/2,
        J*  = sum_i 0.5 log((1 + t_i) / (nu_i + t_i)) + (weight / 2) (t_i - log(1 + t_i)).

    At ``weight = 1``, ``t_i = 1 - nu_i`` and ``S* = A SY A^T`` exactly.

    Computed from the generalised eigenproblem ``R w = rho SX w`` (``R = A SY A^T``,
    ``W^T SX W = I``, ``1 - nu_i = rho_i``), so that ``S* = (SX W) diag(t) (SX W)^T``
    and small ``1 - nu_i`` (channels that carry little signal) lose no precision.

    Parameters
    ----------
    A : array_like, shape (m, n)
    weight : float
        The price ``lambda > 0`` of detectability.
    signal_cov : float or array_like (n, n)
        Positive definite; a scalar means that multiple of the identity.
    noise_cov : float or array_like (m, m)
        Positive definite; a scalar means that multiple of the identity (default: unit noise).

    Returns
    -------
    StealthGaussianSolution
        ``objective`` from the closed form; ``mi`` and ``kl`` re-evaluated from
        ``attack_cov`` (their weighted sum agrees with ``objective`` to rounding).

    Raises
    ------
    InvalidInputError
        Malformed or mismatched ``A``, ``signal_cov``, ``noise_cov`` (which must be
        positive definite), or a ``weight`` that is not positive and finite.
    """
    A, sy, _ = _v.observation_model(A, signal_cov, noise_cov)
    m = A.shape[0]
    sn = _v.covariance("noise_cov", noise_cov, m, definite=True)
    lam = _v.scalar("weight", weight, positive=True)
    R = A @ sy @ A.T
    R = 0.5 * (R + R.T)
    sx = R + sn
    rho, W = scipy.linalg.eigh(R, sx)  # W^T SX W = I, W^T R W = diag(rho)
    rho = np.clip(rho, 0.0, 1.0)
    nu = np.clip(np.einsum("ij,ik,kj->j", W, sn, W), np.finfo(float).tiny, 1.0)  # diag(W^T SN W) = 1 - rho
    root = np.sqrt(nu * nu + 4.0 * rho / lam)
    t = (4.0 * rho / lam) / (2.0 * (nu + root))  # (-nu + root) / 2 without cancellation
    # log((1 + t) / (nu + t)), with nu + t = 1 + (t - rho) when rho is small (nu near 1)
    gap = np.where(rho < 0.5, np.log1p(t) - np.log1p(t - np.where(rho < 0.5, rho, 0.0)),
                   np.log1p(t) - np.log(nu + t))
    objective = float(np.sum(0.5 * gap + 0.5 * lam * _x_minus_log1p(t)))
    B = sx @ W
    attack_cov = (B * t) @ B.T
    attack_cov = 0.5 * (attack_cov + attack_cov.T)
    sz = sx + attack_cov
    mi = max(0.5 * (_logdet_pd(sz) - _logdet_pd(sn + attack_cov)), 0.0)
    kl = info_gaussian_kl(sz, sx)
    return StealthGaussianSolution(objective, float(mi), float(kl), attack_cov, t, nu)


@dataclass(frozen=True)
class BinaryBlindSolution:
    """Optimal blind attack on a binary channel, ``Xhat = X xor Bern(q)`` (docs/theory.md section 8).

    Attributes
    ----------
    mi : float
        ``I(Y; Xhat)`` at ``q`` in nats.
    q : float
        The optimal flip probability ``min(D, 1/2)``; also the expected number of flips (the cost).
    dual : float
        ``-dI*/dD`` (``inf`` at ``D = 0`` when some ``P(X = 1 | Y = y)`` is 0 or 1
        and ``I(Y; X) > 0``; 0 once ``D >= 1/2``).
    t : ndarray, shape (2,)
        ``t_y = P(Xhat = 1 | Y = y) = q + (1 - 2 q) P(X = 1 | Y = y)``.
    """

    mi: float
    q: float
    dual: float
    t: np.ndarray


def binary_blind(p_xy, budget) -> BinaryBlindSolution:
    """The blind attacker on a binary channel: flip ``X`` with probability ``q`` independently of everything.

    With ``a_y = P(X = 1 | Y = y)``, ``t_y = P(Xhat = 1 | Y = y) = 1/2 + c (a_y - 1/2)``
    with ``c = 1 - 2 q``: ``I(Y; Xhat)`` is convex in ``(t_0, t_1)`` for fixed
    ``p(y)`` (docs/theory.md section 8), hence convex in ``c``; it is even in
    ``c`` (relabelling ``Xhat``) and 0 at ``c = 0``, so it does not increase
    as ``q`` goes from 0 to 1/2 (strictly decreasing when ``I(Y; X) > 0``).
    The cost is ``E[X != Xhat] = q``, so ``q* = min(D, 1/2)`` and

        I* = sum_y p(y) KL(t_y || tbar),    tbar = sum_y p(y) t_y,
        -dI*/dD = -sum_y p(y) (1 - 2 a_y) (logit t_y - logit tbar)    (D < 1/2; 0 beyond),

    using ``dI/dt_y = p(y) (logit t_y - logit tbar)`` and ``dt_y/dq = 1 - 2 a_y``.

    Parameters
    ----------
    p_xy : array_like, shape (2, 2)
        Joint pmf ``p[x, y]``.
    budget : float
        Bound ``D`` on the expected number of flips.

    Returns
    -------
    BinaryBlindSolution

    Raises
    ------
    InvalidInputError
        If ``p_xy`` is not a 2 x 2 pmf or ``budget`` is negative or not finite.
    """
    p = _v.pmf("p_xy", p_xy, ndim=2, shape=(2, 2))
    d = _v.budget(budget)
    q = min(d, 0.5)
    py = (float(p[0, 0] + p[1, 0]), float(p[0, 1] + p[1, 1]))
    a = [float(p[1, y] / py[y]) if py[y] > 0.0 else 0.5 for y in (0, 1)]
    ac = [float(p[0, y] / py[y]) if py[y] > 0.0 else 0.5 for y in (0, 1)]
    # t_y and 1 - t_y, each computed directly (accurate near 0 and 1)
    t = [q + (1.0 - 2.0 * q) * a[y] for y in (0, 1)]
    tc = [q + (1.0 - 2.0 * q) * ac[y] for y in (0, 1)]
    if py[0] <= 0.0 or py[1] <= 0.0 or a[0] == a[1] or q == 0.5:
        return BinaryBlindSolution(0.0, q, 0.0, np.array(t))
    tbar, tbar_c = py[0] * t[0] + py[1] * t[1], py[0] * tc[0] + py[1] * tc[1]
    mi = sum(py[y] * _bernoulli_kl(t[y], tbar, tc[y], tbar_c) for y in (0, 1))
    mi = min(max(mi, 0.0), float(info_entropy(py)))
    l_bar = _logit_c(tbar, tbar_c)
    slope = 0.0
    for y in (0, 1):
        gain = 1.0 - 2.0 * a[y]
        if gain != 0.0:
            slope += py[y] * gain * (_logit_c(t[y], tc[y]) - l_bar)
    dual = max(-slope, 0.0) if not math.isnan(slope) else math.inf
    return BinaryBlindSolution(float(mi), q, float(dual), np.array(t))


def discrete_blind_value(p_xy, noise_pmf) -> float:
    """``I(Y; X + W mod k)`` for ``W ~ noise_pmf`` independent of ``(X, Y)`` (docs/theory.md section 8).

    ``P(xhat, y) = sum_x p(x, y) w((xhat - x) mod k)`` is linear in ``w``, and
    ``I(Y; Xhat)`` is convex in ``w``.  The expected Hamming cost of the attack
    is ``1 - w(0)``.

    Parameters
    ----------
    p_xy : array_like, shape (k, ny)
        Joint pmf ``p[x, y]``; ``X`` takes the values ``0 .. k-1``.
    noise_pmf : array_like, shape (k,)
        The pmf ``w`` of the shift ``W``.

    Returns
    -------
    float
        In nats.

    Raises
    ------
    InvalidInputError
        If ``p_xy`` is not a 2-d pmf or ``noise_pmf`` not a pmf of length ``k``.
    """
    p = _v.pmf("p_xy", p_xy, ndim=2)
    k = p.shape[0]
    w = _v.pmf("noise_pmf", noise_pmf, ndim=1, shape=(k,))
    idx = np.arange(k)
    shift = w[(idx[None, :] - idx[:, None]) % k]  # shift[x, xhat] = w(xhat - x mod k)
    return info_mutual_information(p.T @ shift)
