"""Certified optimal attacks on ``X = A Y + N`` with positive-definite noise (docs/theory.md section 7).

The attacker sees ``X`` and ``Y`` and sends ``Z = X + Delta`` with ``E||Delta||^2 <= D``.  By
the conditional-transport reduction the optimum is ``Z | Y ~ N(B Y, K)`` coupled to ``X`` by the
Brenier map, a deterministic linear attack ``Delta = F Y + G N``.  This module finds it in plain
numpy/scipy, with no conic solver, and proves how good it is.

Method
------
Work in the frame where ``Y`` is white and the noise is diagonal (``Y -> chol(SY)^-1 Y``, ``X``
rotated by the eigenvectors of ``SN``: ``SN = diag(s)``; neither changes ``I(Y; Z)`` or the
cost; when ``n > m`` only the row space of ``A`` is kept).  Every optimal attack has the form
``Z = T Z'`` with ``Z' = A' Y + N`` (the same noise) and ``T Z' = E[X | Z']``, so
``I(Y; Z) = 0.5 logdet P`` with ``P = I + A'^T SN^-1 A'`` and the cost is the error of that
estimate, ``tr(P^-1 (A - A')^T (A - A'))``.  For a multiplier ``mu`` the stationarity
conditions of ``I + mu cost`` are the fixed point of

    A' = 2 mu (SN^-1 + 2 mu T)^-1 T A,     T (T - I) = (2 mu)^-1 SN^-1 A' P^-1 A'^T SN^-1

(``T >= I``: the optimal attack amplifies the noise it knows, ``T - I`` has rank ``<= n``).  One
sweep costs three ``n x n`` factorisations and ``O(m n^2)`` products, never an ``m x m``
factorisation.  The sweeps are accelerated by Anderson mixing (restarted when the residual
jumps); where the attack amplifies some noise very strongly they contract slowly far from the
fixed point, and a solve that stalls is redone along a path of multipliers (geometric steps from
the last converged one, halved while a step stalls).  An outer secant search on ``log mu``
brings the cost to the budget, aiming to land on both sides of it.

Certificate
-----------
For any decoder ``r(y | z) = N(y; H z, Sigma)`` and any ``mu >= 0``, Barber-Agakov and weak
duality give ``I* >= h(Y) + E min_z [log r(Y | z) + mu ||X - z||^2] - mu D``
(:func:`transport_lower_bound`).  Every multiplier tried yields two such bounds from the
posterior decoder of its attack: at its own ``mu`` (the dual function, below ``I*`` by
``O(mu D (cost/D - 1)^2)``) and at the ``mu`` where the decoder's best response
``z = W^-1 (mu x - H^T P y / 2)`` spends exactly the budget.  The feasible attacks are that best
response (its gap is the expected Kullback-Leibler divergence from the true posterior to the
decoder, second order but with a large constant when ``W`` is nearly singular), the attack of a
multiplier that underspends, and the mix of the two latest attacks on either side of the budget
(in the convex coordinates ``(Cov(Y, Z), Cov Z)`` through the Brenier map, or of their gains),
which is within ``O(mu D delta_1 delta_2)`` of ``I*``.  The best attack and the best bound are
returned; both are recomputed from ``(F, G)`` and ``(H, Sigma)`` in the user's coordinates.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.linalg as sla

from . import validate as _v
from .errors import InvalidInputError

__all__ = ["TransportSolution", "solve_transport", "transport_lower_bound", "transport_value"]

#: Anderson mixing memory (number of previous sweeps combined).
_MEMORY = 6
#: Sweeps a solve at one multiplier may take (see :func:`_reach`) ...
_STALL = 1500
#: ... unless a window of this many sweeps gains less than 20% on the best residual (then it has stalled).
_WINDOW = 60
#: Internal certificate target as a fraction of ``gap_tol`` (the returned gap is recomputed in the
#: user's coordinates, where rounding differs slightly).
_MARGIN = 0.5
#: Secant steps that polish the reported multiplier once the answer is certified.
_POLISH = 6


@dataclass(frozen=True)
class TransportSolution:
    """The optimal attack on ``X = A Y + N`` (positive-definite noise) and its certificate.

    Attributes
    ----------
    F : ndarray, shape (m, n)
        Gain on the signal: ``Delta = F Y + G N`` (no independent noise).
    G : ndarray, shape (m, m)
        Gain on the noise.  At the optimum ``I + G`` is the Brenier map, symmetric with
        ``G >= 0`` (the attack amplifies the noise it knows); the returned attack is that up to
        the solver's tolerance (it may be a mix of two nearby attacks, see the module notes).
    mi : float
        ``I(Y; Z)`` of the returned attack in nats, recomputed from ``(F, G)`` in plain numpy
        (:func:`transport_value`).
    budget_used : float
        ``E||Delta||^2`` of the returned attack; never above the budget.
    dual : float
        The multiplier ``mu`` of the budget (``-dI*/dD``): the ``mu`` whose Lagrangian fixed point
        spends the budget, to about 1e-7 relative (the certificate's own ``mu`` is only within
        ~sqrt(gap) of it); ``inf`` at a zero budget, ``0`` at or above the zero-information
        threshold ``tr(A SY A^T)``.
    lower_bound : float
        A certified lower bound on the optimal ``I*`` (:func:`transport_lower_bound` at the
        decoder and multiplier the solver ends with, and at least 0).
    gap : float
        ``max(mi - lower_bound, 0)``: the returned attack is within ``gap`` nats of optimal.
    iterations : int
        Fixed-point sweeps spent (over all multipliers tried).
    factorizations : int
        Cholesky, LU, eigen- and singular-value decompositions spent, the final certificate
        in the user's coordinates included (each sweep spends three of size ``min(m, n)``; the
        set-up, the mixes and the final certificate a few of size ``m``).
    state : Any
        Opaque warm-start state: pass it back as ``warm=`` for another budget of the same model.
    """

    F: np.ndarray = field(repr=False)
    G: np.ndarray = field(repr=False)
    mi: float
    budget_used: float
    dual: float
    lower_bound: float
    gap: float
    iterations: int
    factorizations: int
    state: Any = field(default=None, repr=False, compare=False)


# ---------------------------------------------------------------- the frame


class _Count:
    """Counts the factorizations spent."""

    def __init__(self) -> None:
        self.n = 0

    def chol(self, mat: np.ndarray) -> np.ndarray:
        """Lower Cholesky factor (raises ``numpy.linalg.LinAlgError`` if not positive definite)."""
        self.n += 1
        return sla.cholesky(mat, lower=True, check_finite=False)

    def try_chol(self, mat: np.ndarray) -> np.ndarray | None:
        try:
            return self.chol(mat)
        except np.linalg.LinAlgError:
            return None

    def eigh(self, mat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.n += 1
        w, V = np.linalg.eigh(mat)
        return w, V


@dataclass(frozen=True)
class _Frame:
    """The model in the solver's frame: ``Y`` white, ``X`` rotated so that the noise is ``diag(s)``.

    ``Ar = rot^T A chol_y @ basis`` (``basis`` keeps the row space of ``A chol_y`` when
    ``n > m``; ``None`` means all of ``R^n``).
    """

    key: str
    A: np.ndarray
    signal_cov: np.ndarray
    noise_cov: np.ndarray
    chol_y: np.ndarray
    rot: np.ndarray
    s: np.ndarray
    basis: np.ndarray | None
    Ar: np.ndarray
    total: float  # tr(A SY A^T), the zero-information threshold


@dataclass(frozen=True)
class _WarmState:
    """What :func:`solve_transport` hands back for the next budget of the same model."""

    frame: _Frame
    mu: float  # 0: no multiplier to start from (only the frame is reused)
    Ap: np.ndarray | None
    slope: float  # d log cost / d log mu, negative
    budget: float


def _key(A: np.ndarray, sy: np.ndarray, sn: np.ndarray) -> str:
    h = hashlib.blake2b(digest_size=16)
    for arr in (A, sy, sn):
        arr = np.ascontiguousarray(arr, dtype=float)
        h.update(str(arr.shape).encode())
        h.update(arr.tobytes())
    return h.hexdigest()


def _arrays(A, signal_cov, noise_cov) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inputs as float arrays (a scalar covariance: that multiple of the identity), unvalidated."""
    A = np.asarray(A, dtype=float)
    if A.ndim == 1:
        A = A.reshape(1, -1)
    m, n = A.shape if A.ndim == 2 else (0, 0)
    sy = np.asarray(signal_cov, dtype=float)
    sn = np.asarray(noise_cov, dtype=float)
    sy = sy * np.eye(n) if sy.ndim == 0 else sy
    sn = sn * np.eye(m) if sn.ndim == 0 else sn
    return A, sy, sn


def _frame(A, signal_cov, noise_cov, count: _Count, warm: Any = None) -> _Frame:
    """Validate the model and build its frame (reused from ``warm`` when the model is the same)."""
    A0, sy0, sn0 = _arrays(A, signal_cov, noise_cov)
    key = _key(A0, sy0, sn0) if A0.ndim == 2 else ""
    if isinstance(warm, _WarmState) and warm.frame.key == key and key:
        return warm.frame
    A, sy, sn = _v.observation_model(A, signal_cov, noise_cov)
    m, n = A.shape
    s, rot = count.eigh(sn)
    if not s.min() > _v.MATRIX_TOL * max(float(s.max()), 0.0):
        raise InvalidInputError(
            "noise_cov", f"must be positive definite for the transport solver (smallest eigenvalue {s.min():.3g}, "
            f"largest {s.max():.3g}); solve the SDP (mi_cvx.gaussian_vector) instead")
    chol_y = count.chol(sy)
    Aw = A @ chol_y
    Ar = rot.T @ Aw
    basis = None
    if n > m:  # only the row space of A chol_y matters: Y-directions A cannot see are left alone
        count.n += 1
        basis, _ = np.linalg.qr(Ar.T)  # n x m, orthonormal columns
        Ar = Ar @ basis
    return _Frame(key, A, sy, sn, chol_y, rot, s, basis, Ar, float(np.sum(Aw * Aw)))


# ---------------------------------------------------------------- the fixed point


class _Sweep:
    """The model in the frame, with the fixed-point sweep and the certificates built on it."""

    def __init__(self, Ar: np.ndarray, s: np.ndarray, count: _Count):
        self.Ar, self.s, self.count = Ar, s, count
        self.sinv = 1.0 / s
        self.root_s = np.sqrt(s)
        self.n = Ar.shape[1]
        self.eye = np.eye(self.n)
        self.eye_m = np.eye(Ar.shape[0])

    def precision(self, Ap: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(SN^-1 A', chol(P))`` with ``P = I + A'^T SN^-1 A'`` (the posterior precision of ``Y``)."""
        Ai = Ap * self.sinv[:, None]
        P = self.eye + Ap.T @ Ai
        return Ai, self.count.chol(0.5 * (P + P.T))

    def step(self, Ai: np.ndarray, L: np.ndarray, mu: float) -> np.ndarray:
        """The next ``A'`` from ``A'`` (given as its ``SN^-1 A'`` and ``chol(P)``)."""
        # T - I = Phi Phi^T = Psi C Psi^T with Psi Psi^T = (2 mu)^-1 SN^-1 A' P^-1 A'^T SN^-1 and
        # C = (sqrt(1/4 + Psi^T Psi) + 1/2)^-1, so that T (T - I) = Psi Psi^T, T >= I
        Psi = sla.solve_triangular(L, Ai.T, lower=True, check_finite=False).T / math.sqrt(2.0 * mu)
        x, V = self.count.eigh(Psi.T @ Psi)
        x = np.maximum(x, 0.0)
        Phi = (Psi @ V) * np.sqrt(1.0 / (np.sqrt(0.25 + x) + 0.5))
        # A'_new = 2 mu (SN^-1 + 2 mu T)^-1 T A, Woodbury on diag(SN^-1 + 2 mu) + 2 mu Phi Phi^T
        dg = self.sinv + 2.0 * mu
        Pd = Phi / dg[:, None]
        cap = self.eye / (2.0 * mu) + Phi.T @ Pd
        Lc = self.count.chol(0.5 * (cap + cap.T))
        rhs = (self.Ar + Phi @ (Phi.T @ self.Ar)) / dg[:, None]
        return 2.0 * mu * (rhs - Pd @ sla.cho_solve((Lc, True), Phi.T @ rhs, check_finite=False))

    def point(self, Ap: np.ndarray, Ai: np.ndarray, L: np.ndarray, mu: float, budget: float) -> _Point:
        """The attack ``Z = E[X | Z'] = T Z'`` of ``A'``, its posterior decoder and the dual bound at ``mu``.

        The decoder is ``N(y; P^-1 Gamma z, P^-1)`` with ``Gamma = P (I + A'^T SN^-1 A)^-1 A'^T SN^-1``,
        kept as ``R = L^-1 Gamma`` (``P = L L^T``).  The attack costs ``tr(P^-1 (A - A')^T (A - A'))``
        and carries ``0.5 logdet P``.
        """
        M = self.eye + Ai.T @ self.Ar
        self.count.n += 1
        try:
            R = L.T @ np.linalg.solve(M, Ai.T)
        except np.linalg.LinAlgError:  # T = E[X | Z'] singular: no decoder from this point
            R = np.full((self.n, self.Ar.shape[0]), np.nan)
        Dp = sla.solve_triangular(L, (self.Ar - Ap).T, lower=True, check_finite=False)
        cost = float(np.sum(Dp * Dp))
        info = float(np.sum(np.log(np.diag(L))))
        return _Point(mu, Ap, L, R, cost, info, self.bound(L, R, mu, budget))

    def residual_factors(self, L: np.ndarray, R: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(M1, M2)`` with ``v = L^T Y - R X = M1 Y - M2 N'`` (``N'`` white): the decoder's residual at ``z = x``."""
        return L.T - R @ self.Ar, R * self.root_s[None, :]

    def bound(self, L: np.ndarray, R: np.ndarray, mu: float, budget: float) -> float:
        """:func:`transport_lower_bound` in the frame: ``0.5 n + logdet L - 0.5 mu tr(Wn^-1 Cov v) - mu D``."""
        if not np.all(np.isfinite(R)):
            return -math.inf
        Wn = mu * self.eye - 0.5 * (R @ R.T)
        Lw = self.count.try_chol(0.5 * (Wn + Wn.T))
        if Lw is None:
            return -math.inf
        M1, M2 = self.residual_factors(L, R)
        X1 = sla.solve_triangular(Lw, M1, lower=True, check_finite=False)
        X2 = sla.solve_triangular(Lw, M2, lower=True, check_finite=False)
        trace = float(np.sum(X1 * X1) + np.sum(X2 * X2))
        return 0.5 * self.n + float(np.sum(np.log(np.diag(L)))) - 0.5 * mu * trace - mu * budget

    def own_attack(self, p: _Point) -> tuple[np.ndarray, np.ndarray]:
        """Gains ``(F, G)`` in the frame of the point's attack ``Z = T Z'``, ``T = I + (A - A') P^-1 A'^T SN^-1``."""
        Dp = self.Ar - p.Ap
        F = -sla.cho_solve((p.L, True), Dp.T, check_finite=False).T  # -(A - A') P^-1
        return F, -F @ (p.Ap * self.sinv[:, None]).T

    def best_response(self, p: _Point, budget: float) -> _Attack | None:
        """The decoder's best response at the multiplier where it spends exactly ``budget``.

        With ``R R^T = V diag(k) V^T`` and ``Wn(mu) = mu I - R R^T / 2`` the best response
        ``Delta = -R^T Wn^-1 v / 2`` spends ``E(mu) = sum_i c_i / (mu - k_i/2)^2``
        (``c_i = k_i (V^T Cov v V)_ii / 4``), decreasing on ``mu > max k / 2``: a one-dimensional
        root.  Its information is ``0.5 logdet(I + A_eff^T SN^-1 A_eff)``, ``A_eff = A - Gamma^T /
        (2 mu)``, and the decoder's bound at that ``mu`` is returned with it.  When the decoder is
        the optimal one this is the optimal attack; the gap is the expected Kullback-Leibler
        divergence from the true posterior to the decoder.
        """
        L, R = p.L, p.R
        if not np.all(np.isfinite(R)):
            return None
        k, V = self.count.eigh(R @ R.T)
        k = np.maximum(k, 0.0)
        M1, M2 = self.residual_factors(L, R)
        VM1, VM2 = V.T @ M1, V.T @ M2
        cvd = np.sum(VM1 * VM1, axis=1) + np.sum(VM2 * VM2, axis=1)  # diag(V^T Cov v V)
        cw = 0.25 * k * cvd
        if not np.any(cw > 0):
            return None
        floor = 0.5 * float(k.max())
        target = budget * (1.0 - 4e-15)  # a hair inside, so that rounding never overspends
        lo, hi = floor, floor + math.sqrt(float(cw.sum()) / target)  # E(hi) <= target
        mu = hi
        for _ in range(200):  # Newton on E^-1/2 (nearly linear in mu), inside the bracket
            t = mu - 0.5 * k
            e, de = float(np.sum(cw / t**2)), float(-2.0 * np.sum(cw / t**3))
            if e > target:
                lo = mu
            else:
                hi = mu
            new = mu - (e**-0.5 - target**-0.5) / (-0.5 * e**-1.5 * de)
            if not lo < new < hi:
                new = 0.5 * (lo + hi)
            if abs(new - mu) <= 1e-15 * mu or hi - lo <= 1e-15 * hi:
                break
            mu = new
        mu = hi  # the feasible end
        t = mu - 0.5 * k
        if not np.all(t > 0):
            return None
        WiR = V @ ((V.T @ R) / t[:, None])  # Wn^-1 R
        F = -0.5 * WiR.T @ M1
        G = 0.5 * R.T @ WiR
        Aeff = self.Ar - (L @ R).T / (2.0 * mu)
        Pz = self.eye + Aeff.T @ (Aeff * self.sinv[:, None])
        Lz = self.count.try_chol(0.5 * (Pz + Pz.T))
        if Lz is None:
            return None
        bound = 0.5 * self.n + float(np.sum(np.log(np.diag(L)))) - 0.5 * mu * float(np.sum(cvd / t)) - mu * budget
        return _Attack(float(np.sum(np.log(np.diag(Lz)))), F, 0.5 * (G + G.T), mu, bound)

    def mixture(self, p1: _Point, p2: _Point, budget: float) -> _Attack | None:
        """The mix of two attacks in the convex coordinates ``(Cov(Y, Z), Cov Z)`` spending ``<= budget``.

        ``p1`` overspends, ``p2`` underspends; the weight ``lam = (D - c2) / (c1 - c2)`` keeps the
        mix within the budget and ``I(mix) <= lam I1 + (1 - lam) I2`` (both convex there).  The mix
        is realised as ``Z | Y ~ N(B Y, K)`` with the Brenier map ``T`` (``T SN T = K``), computed
        from ``K - SN`` by a diagonal Sylvester solve (no cancellation when ``T`` is near ``I``).
        """
        lam = (budget - p2.cost) / (p1.cost - p2.cost)
        if not 0.0 <= lam <= 1.0:
            return None
        s, rs = self.s, self.root_s
        F1, E1 = self.own_attack(p1)
        F2, E2 = self.own_attack(p2)

        def excess(E: np.ndarray) -> np.ndarray:  # T SN T^T - SN for T = I + E
            ES = E * s[None, :]
            return ES + ES.T + (E * rs[None, :]) @ (E * rs[None, :]).T

        dF = F1 - F2
        F = lam * F1 + (1.0 - lam) * F2
        KmS = lam * excess(E1) + (1.0 - lam) * excess(E2) + lam * (1.0 - lam) * (dF @ dF.T)
        KmS = 0.5 * (KmS + KmS.T)
        rhs = rs[:, None] * KmS * rs[None, :]  # SN^1/2 (K - SN) SN^1/2
        w, V = self.count.eigh(np.diag(s * s) + rhs)  # SN^1/2 K SN^1/2
        root_w = np.sqrt(np.maximum(w, 0.0))
        X = V @ ((V.T @ rhs) / (root_w[:, None] + s[None, :]))  # (SN^1/2 K SN^1/2)^1/2 - SN
        G = X / rs[:, None] / rs[None, :]
        best = None
        # The Brenier map is computed from an eigendecomposition whose small eigenvalues lose
        # accuracy when the noise spans many decades; so the mix is evaluated as realised, and
        # so is the plain mix of the gains (cost convex in them; information convex to second
        # order near the optimum), and the better one kept.
        for cand_F, cand_G in ((F, 0.5 * (G + G.T)), (F, lam * E1 + (1.0 - lam) * E2)):
            mi, cost = self.value(cand_F, cand_G)
            if cost <= budget and (best is None or mi < best.mi):
                best = _Attack(mi, cand_F, cand_G, math.nan, -math.inf)
        return best

    def value(self, F: np.ndarray, G: np.ndarray) -> tuple[float, float]:
        """``(I(Y; Z), cost)`` of ``Delta = F Y + G N`` in the frame (``inf`` if ``I + G`` is singular)."""
        C = (self.eye_m + G) * self.root_s[None, :]  # (I + G) SN^1/2
        cost = float(np.sum(F * F) + np.sum((G * self.root_s[None, :]) ** 2))
        Lc = self.count.try_chol(C @ C.T)
        if Lc is None:
            return math.inf, cost
        Kb = sla.solve_triangular(Lc, self.Ar + F, lower=True, check_finite=False)
        Lm = self.count.chol(self.eye + Kb.T @ Kb)
        return float(np.sum(np.log(np.diag(Lm)))), cost


@dataclass
class _Point:
    """A fixed point (or near one) at a multiplier: the attack of ``A'``, its decoder and bound."""

    mu: float
    Ap: np.ndarray
    L: np.ndarray  # chol(P)
    R: np.ndarray  # L^-1 Gamma of the posterior decoder
    cost: float
    info: float  # I(Y; Z) = 0.5 logdet P
    bound: float  # the decoder's certified lower bound on I* at this mu


@dataclass
class _Attack:
    """A feasible attack in the frame (``F``: m x r, ``G``: m x m) and its information."""

    mi: float
    F: np.ndarray
    G: np.ndarray
    mu: float  # the multiplier of its own certificate (nan if none)
    bound: float  # that certificate (-inf if none)


def _channel_start(frame: _Frame, budget: float, count: _Count) -> tuple[float, float, np.ndarray]:
    """``(mu, slope, A')`` of the channel approximation (exact when the noise commutes with ``A SY A^T``).

    The principal directions of the signal ``U`` (singular vectors of ``Ar``) with the noise
    replaced by its diagonal in that basis split into scalar problems (docs/theory.md section 3).
    """
    from .oracles import _channel_split

    Ar, s = frame.Ar, frame.s
    count.n += 1
    U, sig, _ = np.linalg.svd(Ar, full_matrices=False)
    keep = sig > sig.max(initial=0.0) * max(Ar.shape) * np.finfo(float).eps * 10
    U, sig = U[:, keep], sig[keep]
    power = sig**2
    noise = np.einsum("ij,i,ij->j", U, s, U)
    _, _, dual, gain_sig, gain_noise, _ = _channel_split(power, noise, budget, 1e-12)
    mu = float(dual)
    slope = -1.0
    if 0.0 < mu < math.inf:
        h = 1e-3
        other = float(_channel_split(power, noise, budget * (1.0 - h), 1e-12)[2])
        if 0.0 < other < math.inf and other != mu:
            slope = math.log1p(-h) / math.log(other / mu)
    shrink = (1.0 + gain_sig) / (1.0 + gain_noise)  # Z_i = (1 + sig) signal_i + (1 + noise) noise_i
    Ap = U @ (shrink[:, None] * (U.T @ Ar))
    return mu, slope if slope < 0 else -1.0, Ap


# ---------------------------------------------------------------- the solve


def solve_transport(A, signal_cov, noise_cov, budget, *, warm: Any = None, gap_tol: float = 1e-7,
                    max_iter: int = 5000, blas_threads: int | None = 1) -> TransportSolution:
    """Optimal attack ``Delta = F Y + G N`` on ``X = A Y + N`` under ``E||Delta||^2 <= budget``, certified.

    Parameters
    ----------
    A : array_like, shape (m, n)
    signal_cov : float or array_like (n, n)
        Positive definite (a scalar: that multiple of the identity).
    noise_cov : float or array_like (m, m)
        Positive definite, any correlation (a scalar: that multiple of the identity).
    budget : float
        ``D >= 0``.
    warm : optional
        The ``state`` of a previous solution for the same model (typically a neighbouring
        budget of a sweep): reuses the factorised frame and starts from its multiplier and
        attack.  A state of another model is ignored.
    gap_tol : float
        Certified gap to reach, in nats.
    max_iter : int
        Cap on the fixed-point sweeps; if reached, the best certified attack so far is
        returned with its (larger) gap.
    blas_threads : int or None
        Threads the BLAS may use during the solve (1 by default: the work is a long chain of
        small factorisations, which extra threads slow down on a loaded machine); ``None``
        leaves the BLAS alone.

    Returns
    -------
    TransportSolution
        Edge cases: ``budget = 0`` returns no attack, ``mi = I(Y; X)``, ``dual = inf`` and the
        bound ``I(Y; X)`` (Barber-Agakov with the true posterior, exact); ``budget >= tr(A SY
        A^T)`` returns ``Delta = -A Y`` (``F = -A``, ``G = 0``), ``mi = 0``, ``dual = 0`` and the
        bound 0.

    Raises
    ------
    InvalidInputError
        (a ``ValueError``) malformed inputs, or noise that is not positive definite (the
        Brenier map needs it: solve the SDP instead).
    """
    limit: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
    if blas_threads is not None:
        try:  # threadpoolctl ships with scikit-learn (untyped: imported by name)
            limit = importlib.import_module("threadpoolctl").threadpool_limits(limits=int(blas_threads),
                                                                              user_api="blas")
        except ImportError:  # pragma: no cover
            pass
    with limit:
        return _solve(A, signal_cov, noise_cov, budget, warm, float(gap_tol), int(max_iter))


def _solve(A, signal_cov, noise_cov, budget, warm, gap_tol: float, max_iter: int) -> TransportSolution:
    count = _Count()
    frame = _frame(A, signal_cov, noise_cov, count, warm)
    d = _v.budget(budget)
    gap_tol = _v.scalar("gap_tol", gap_tol, positive=True)
    m, n = frame.A.shape
    keep = warm if isinstance(warm, _WarmState) and warm.frame.key == frame.key else _WarmState(
        frame, 0.0, None, -1.0, d)
    if d >= frame.total * (1.0 - 8.0 * np.finfo(float).eps * (m + n)):  # erase the signal (within rounding of
        F = -frame.A.copy()  # the threshold too): Z = N is independent of Y
        return _finish(frame, F, np.zeros((m, m)), 0.0, None, d, 0, count, keep)
    if d == 0.0:  # no attack; the true posterior of Y given X certifies I(Y; X) exactly
        posterior = _posterior(frame.A, frame.signal_cov, frame.noise_cov, frame.A, np.eye(m), count)
        return _finish(frame, np.zeros((m, n)), np.zeros((m, m)), math.inf, posterior, d, 0, count, keep)

    sweep = _Sweep(frame.Ar, frame.s, count)
    if keep.mu > 0 and keep.Ap is not None:
        slope = keep.slope
        mu = keep.mu * math.exp(math.log(d / keep.budget) / slope)
        Ap = keep.Ap.copy()
    else:
        mu, slope, Ap = _channel_start(frame, d, count)
        if not 0.0 < mu < math.inf:
            mu = 1.0 / (2.0 * max(d, 1e-300))
    target = _MARGIN * gap_tol
    upper = _Attack(sweep.value(np.zeros_like(frame.Ar), np.zeros((m, m)))[0], np.zeros_like(frame.Ar),
                    np.zeros((m, m)), math.nan, -math.inf)  # the best feasible attack: at first, none
    lower: tuple[float, float, np.ndarray, np.ndarray] = (-math.inf, math.nan, sweep.eye, sweep.eye)
    over: _Point | None = None  # the latest point spending more than the budget
    under: _Point | None = None  # ... and less
    history: list[tuple[float, float]] = []  # (log mu, log cost)
    lo, hi = -math.inf, math.inf  # bracket of log mu: cost(lo) > d > cost(hi)
    iterations = 0

    def offer(att: _Attack | None) -> None:
        nonlocal upper
        if att is not None and att.mi < upper.mi:
            upper = att

    def visit(p: _Point) -> None:
        """Take a fixed point's bound, its decoder's best response, its own attack and a mixture."""
        nonlocal lower, over, under
        if p.bound > lower[0]:
            lower = (p.bound, p.mu, p.L, p.R)
        reply = sweep.best_response(p, d)
        if reply is not None and reply.bound > lower[0]:
            lower = (reply.bound, reply.mu, p.L, p.R)
        offer(reply)
        if p.cost <= d:
            F, G = sweep.own_attack(p)
            offer(_Attack(p.info, F, G, math.nan, -math.inf))
            under = p
        else:
            over = p
        if over is not None and under is not None and upper.mi - lower[0] > target:
            offer(sweep.mixture(over, under, d))

    anchor: tuple[float, np.ndarray] | None = None  # (mu, A') where a solve converged
    while iterations < max_iter:
        p, spent, anchor = _reach(sweep, anchor, mu, Ap, d, 0.1 * target, max_iter - iterations)
        iterations += spent
        Ap = p.Ap
        visit(p)
        if upper.mi - lower[0] <= target:
            break
        # next multiplier: secant on log cost against log mu (cost decreases in mu); once close,
        # aim a little past the budget so that the latest two points bracket it
        lm, lc, ld = math.log(mu), math.log(max(p.cost, 1e-300)), math.log(d)
        if lc > ld:
            lo = max(lo, lm)
        else:
            hi = min(hi, lm)
        history.append((lm, lc))
        if len(history) >= 2:
            (x0, y0), (x1, y1) = history[-2], history[-1]
            if x1 != x0 and (y1 - y0) / (x1 - x0) < 0:
                slope = (y1 - y0) / (x1 - x0)
        aim = ld
        if over is None or under is None or (lc > ld) == (history[-2][1] > ld if len(history) >= 2 else True):
            aim = ld - 0.25 * (lc - ld)  # cross over to the other side
        step = (aim - lc) / slope
        new = lm + max(-3.0, min(3.0, step))
        if not lo < new < hi:
            new = 0.5 * (lo + hi) if math.isfinite(lo) and math.isfinite(hi) else lm + math.copysign(3.0, step)
        if new == lm:
            break
        mu = math.exp(new)
    # The certificate's mu maximises a concave dual bound only to the gap's accuracy, so it is off by
    # ~sqrt(gap) (1e-5 to 1e-4 relative).  The multiplier reported is the one whose fixed point spends the
    # budget: secant steps on log cost against log mu, each fixed point solved to a Lagrangian gap
    # 1e-4 of the certificate's (cheap from the nearest point), until the cost matches to 1e-7 (the
    # fixed points' own accuracy, about 1e-8 in cost, is the floor): mu then agrees with the SDP to ~1e-7.
    dual = lower[1] if math.isfinite(lower[0]) else mu
    if math.isfinite(lower[0]) and 0.0 < dual < math.inf:
        ld = math.log(d)
        x, start, fits = math.log(dual), Ap, []
        for _ in range(_POLISH):
            if iterations >= max_iter:
                break
            q, spent, _ok = _inner(sweep, start, math.exp(x), d, 1e-4 * 0.1 * target, max_iter - iterations)
            iterations += spent
            visit(q)
            start, r = q.Ap, math.log(max(q.cost, 1e-300)) - ld
            fits.append((x, r))
            dual = q.mu
            if abs(r) <= 1e-7:
                break
            if len(fits) >= 2 and fits[-1][1] != fits[-2][1]:
                s = (fits[-1][1] - fits[-2][1]) / (fits[-1][0] - fits[-2][0])
                slope = s if s < 0 else slope
            x = x - max(-0.5, min(0.5, r / slope))
        else:
            if len(fits) >= 2 and fits[-1][1] != fits[-2][1]:  # out of steps: the secant's root
                (x0, r0), (x1, r1) = fits[-2], fits[-1]
                dual = math.exp(x1 - r1 * (x1 - x0) / (r1 - r0))
    F, G = _to_user(frame, upper.F, upper.G)
    decoder = _decoder_to_user(frame, lower[2], lower[3]) if math.isfinite(lower[0]) else None
    mu = lower[1] if math.isfinite(lower[0]) else mu
    return _finish(frame, F, G, mu, decoder, d, iterations, count, _WarmState(frame, dual, Ap, slope, d), dual=dual)


def _reach(sweep: _Sweep, anchor: tuple[float, np.ndarray] | None, mu: float, start: np.ndarray, budget: float,
           target: float, budget_iter: int) -> tuple[_Point, int, tuple[float, np.ndarray] | None]:
    """The fixed point at ``mu``, following a path in ``mu`` when a direct solve stalls.

    First a direct solve from ``start``.  If it stalls (far from
    the fixed point, the sweeps are slow where the attack amplifies some noise strongly), the
    multiplier is approached from the last converged one (``anchor``) by geometric steps,
    halved while a step stalls; without an anchor the path starts from no attack at a
    multiplier large enough for the sweeps to contract fast.  Returns the point, the sweeps
    spent and the new anchor.
    """
    spent = 0
    p, used, ok = _inner(sweep, start, mu, budget, target, min(_STALL, budget_iter))
    spent += used
    if ok:
        return p, spent, (mu, p.Ap)
    if anchor is None:  # from no attack at a large multiplier, raised until the sweeps converge
        big, x = mu, sweep.Ar
        for _ in range(6):
            if spent >= budget_iter:
                break
            big *= 1e3
            q, used, ok = _inner(sweep, x, big, budget, target, min(_STALL, budget_iter - spent))
            spent += used
            x = q.Ap
            if ok or spent >= budget_iter:
                break
        anchor = (big, x)
    path = [mu]
    best = p
    while path and spent < budget_iter:
        goal = path[-1]
        here, x = anchor
        q, used, ok = _inner(sweep, x, goal, budget, target, min(_STALL, budget_iter - spent))
        spent += used
        if ok or abs(math.log(goal / here)) < 1e-3 or len(path) > 40:
            anchor = (goal, q.Ap)
            path.pop()
            if goal == mu:
                best = q
        else:
            path.append(math.sqrt(here * goal))
    return best, spent, anchor


def _inner(sweep: _Sweep, Ap: np.ndarray, mu: float, budget: float, target: float, budget_iter: int
           ) -> tuple[_Point, int, bool]:
    """Anderson-accelerated sweeps at ``mu`` until the Lagrangian gap of the attack is below ``target``.

    The Lagrangian gap ``I + mu cost - (bound + mu D)`` bounds how far the attack is from
    minimising ``I + mu cost``.  At least two sweeps are made (so that a new ``mu`` moves the
    point).  Returns the point with the smallest Lagrangian gap seen, the sweeps spent and
    whether the target was reached.
    """
    nA = float(np.linalg.norm(sweep.Ar)) or 1.0
    xs: deque[np.ndarray] = deque(maxlen=_MEMORY + 1)
    gs: deque[np.ndarray] = deque(maxlen=_MEMORY + 1)
    prev = math.inf
    plain = 0
    best: tuple[float, _Point] | None = None
    x = Ap
    check_below = 1e-3
    spent = 0
    limit = max(budget_iter, 1)
    before_best = window_best = math.inf  # best residuals before and within the current window
    while True:
        Ai, L = sweep.precision(x)
        if spent % _WINDOW == 0 and spent >= 2 * _WINDOW:  # stalled: the last window gained < 20%
            stalled = window_best > 0.8 * before_best
            before_best, window_best = min(before_best, window_best), math.inf
            if stalled:
                limit = spent
        if spent >= min(2, limit) and (prev <= check_below or spent >= limit):
            p = sweep.point(x, Ai, L, mu, budget)
            gap = p.info + mu * (p.cost - budget) - p.bound
            if best is None or gap < best[0]:
                best = (gap, p)
            if gap <= target or prev < 1e-15 or spent >= limit:
                break
            # the gap falls like the squared residual: check again where that predicts the target
            check_below = prev * min(0.3, 0.7 * math.sqrt(target / gap)) if gap < math.inf else prev * 0.3
        g = sweep.step(Ai, L, mu)
        spent += 1
        res = float(np.linalg.norm(g - x)) / nA
        # safeguarded Anderson mixing: restart with plain sweeps when the residual jumps
        if res > 2.0 * prev:
            xs.clear()
            gs.clear()
            plain = 2
        prev = res
        if spent <= _WINDOW:
            before_best = min(before_best, res)
        else:
            window_best = min(window_best, res)
        xs.append(x.ravel())
        gs.append(g.ravel())
        if plain > 0 or len(xs) < 2:
            plain -= 1
            x = g
            continue
        Xh, Gh = np.array(xs), np.array(gs)
        Fh = Gh - Xh
        dF, dG = np.diff(Fh, axis=0), np.diff(Gh, axis=0)
        scale = np.linalg.norm(dF, axis=1)
        scale[scale == 0] = 1.0
        Mh = dF / scale[:, None]
        H = Mh @ Mh.T
        H += (1e-10 * np.trace(H) / len(H) + 1e-300) * np.eye(len(H))
        gamma = np.linalg.solve(H, Mh @ Fh[-1]) / scale
        x = (Gh[-1] - gamma @ dG).reshape(x.shape)
    return best[1], spent, best[0] <= target


# ---------------------------------------------------------------- back to the user's coordinates


def _to_user(frame: _Frame, Fr: np.ndarray, Gr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gains in the frame to ``(F, G)`` on the original ``Y`` and ``N``."""
    rot = frame.rot
    Fw = Fr if frame.basis is None else Fr @ frame.basis.T  # on the white Y
    F = sla.solve_triangular(frame.chol_y, (rot @ Fw).T, lower=True, trans="T", check_finite=False).T
    return F, rot @ Gr @ rot.T


def _decoder_to_user(frame: _Frame, L: np.ndarray, R: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The frame's decoder ``N(y_r; P^-1 Gamma z_r, P^-1)`` as ``(H, Sigma)`` on the original ``Y``, ``Z``."""
    Hr = sla.solve_triangular(L, R, lower=True, trans="T", check_finite=False)  # P^-1 Gamma = L^-T R
    Li = sla.solve_triangular(L, np.eye(L.shape[0]), lower=True, check_finite=False)
    Sr = Li.T @ Li  # P^-1
    Ly = frame.chol_y
    if frame.basis is None:
        Hw, Sw = Hr, Sr
    else:
        E = frame.basis
        Hw = E @ Hr
        Sw = E @ Sr @ E.T + (np.eye(E.shape[0]) - E @ E.T)  # Y-directions A cannot see: their prior
    H = Ly @ Hw @ frame.rot.T
    Sigma = Ly @ Sw @ Ly.T
    return H, 0.5 * (Sigma + Sigma.T)


def _finish(frame: _Frame, F: np.ndarray, G: np.ndarray, mu: float,
            decoder: tuple[np.ndarray, np.ndarray] | None, budget: float, iterations: int, count: _Count,
            state: Any, dual: float | None = None) -> TransportSolution:
    """Recompute value and cost from ``(F, G)``, repair the budget if rounding overspent it, certify.

    The bound is :func:`transport_lower_bound` at ``mu`` and ``decoder = (H, Sigma)`` in the
    user's coordinates (0 without a decoder: ``I >= 0``); ``dual`` (default ``mu``) is the
    multiplier reported.
    """
    A, sy, sn = frame.A, frame.signal_cov, frame.noise_cov
    mi, used = _value(A, sy, sn, F, G, count)
    for _ in range(8):  # shrink the attack by a hair until the budget holds (rounding only)
        if used <= budget:
            break
        scale = math.sqrt(budget / used) * (1.0 - 1e-15)
        F, G = scale * F, scale * G
        mi, used = _value(A, sy, sn, F, G, count)
    bound = 0.0
    if decoder is not None and mi > 0.0:
        bound = max(_lower_bound(A, sy, sn, budget, mu, decoder[0], decoder[1], count), 0.0)
    return TransportSolution(F, G, float(mi), float(used), float(mu if dual is None else dual), float(bound),
                             max(float(mi) - bound, 0.0),
                             int(iterations), int(count.n), state)


def _posterior(A, sy, sn, B, C, count: _Count) -> tuple[np.ndarray, np.ndarray]:
    """``(H, Sigma)`` of ``Y | Z`` for ``Z = B Y + C N``."""
    cz = B @ sy @ B.T + C @ sn @ C.T
    Lz = count.chol(0.5 * (cz + cz.T))
    H = sla.cho_solve((Lz, True), B @ sy, check_finite=False).T
    K = sla.solve_triangular(Lz, B @ sy, lower=True, check_finite=False)
    Sigma = sy - K.T @ K
    return H, 0.5 * (Sigma + Sigma.T)


# ---------------------------------------------------------------- public evaluators


def transport_value(A, signal_cov, noise_cov, F, G) -> tuple[float, float]:
    """``(I(Y; Z), E||Delta||^2)`` of the linear attack ``Delta = F Y + G N`` on ``X = A Y + N``, in plain numpy.

    ``I = 0.5 logdet(I + Ly^T B^T (C SN C^T)^-1 B Ly)`` with ``B = A + F``, ``C = I + G`` and
    ``SY = Ly Ly^T`` (no difference of two large log-determinants), and
    ``E||Delta||^2 = tr(F SY F^T) + tr(G SN G^T)``.  If ``Cov(Z | Y) = C SN C^T`` is singular,
    the information is infinite when the signal reaches its null space and otherwise
    computed on its range.

    Parameters
    ----------
    A : array_like, shape (m, n)
    signal_cov : float or array_like (n, n)
        Positive definite.
    noise_cov : float or array_like (m, m)
        Positive semidefinite.
    F : array_like, shape (m, n)
    G : array_like, shape (m, m)

    Returns
    -------
    (float, float)
    """
    A, sy, sn = _v.observation_model(A, signal_cov, noise_cov)
    m, n = A.shape
    F = _v.array("F", F, shape=(m, n))
    G = _v.array("G", G, shape=(m, m))
    return _value(A, sy, sn, F, G, _Count())


def _psd_root(mat: np.ndarray, count: _Count) -> np.ndarray:
    """A factor ``Q`` with ``mat = Q Q^T`` (Cholesky, or the eigenvalue square root if singular)."""
    L = count.try_chol(mat)
    if L is not None:
        return L
    w, V = count.eigh(0.5 * (mat + mat.T))
    return V * np.sqrt(np.clip(w, 0.0, None))


def _value(A, sy, sn, F, G, count: _Count) -> tuple[float, float]:
    m, n = A.shape
    Ly = _psd_root(sy, count)
    Ln = _psd_root(sn, count)
    FL, GL = F @ Ly, G @ Ln
    used = float(np.sum(FL * FL) + np.sum(GL * GL))
    BL = (A + F) @ Ly
    CL = Ln + GL  # (I + G) Ln
    noise = CL @ CL.T
    Lc = count.try_chol(0.5 * (noise + noise.T))
    if Lc is not None:
        K = sla.solve_triangular(Lc, BL, lower=True, check_finite=False)
        small = K.T @ K if n <= m else K @ K.T
        Lk = count.chol(np.eye(small.shape[0]) + 0.5 * (small + small.T))
        return max(float(np.sum(np.log(np.diag(Lk)))), 0.0), used
    # singular Cov(Z | Y): work on its range, infinite if the signal reaches the null space
    w, V = count.eigh(0.5 * (noise + noise.T))
    tol = max(float(w.max(initial=0.0)), float(np.abs(BL).max(initial=0.0)) ** 2) * m * 1e-13
    null = V[:, w <= tol]
    if null.size and np.abs(null.T @ BL).max() > math.sqrt(tol):
        return math.inf, used
    rng = V[:, w > tol]
    K = (rng.T @ BL) / np.sqrt(w[w > tol])[:, None]
    small = K.T @ K
    Lk = count.chol(np.eye(n) + 0.5 * (small + small.T))
    return max(float(np.sum(np.log(np.diag(Lk)))), 0.0), used


def transport_lower_bound(A, signal_cov, noise_cov, budget, mu, H, Sigma) -> float:
    """Certified lower bound on the optimal ``I(Y; Z)`` under ``E||X - Z||^2 <= budget``, any attack law.

    For a decoder ``r(y | z) = N(y; H z, Sigma)`` and a multiplier ``mu >= 0`` (Barber-Agakov,
    then weak duality):

        I* >= h(Y) + E_{X,Y} min_z [log r(Y | z) + mu ||X - z||^2] - mu D.

    The inner minimum is a quadratic in ``z`` with Hessian ``W = mu I - H^T P H / 2``
    (``P = Sigma^-1``); the bound is ``-inf`` unless ``W`` is positive definite.  With
    ``Sigma = Ls Ls^T``, ``R = Ls^-1 H``, ``Wn = mu I_n - R R^T / 2`` and ``v = Ls^-1 Y - R X``
    it equals

        0.5 logdet SY - 0.5 logdet Sigma + 0.5 n - 0.5 mu tr(Wn^-1 Cov v) - mu D,

    which is how it is evaluated (sums of squares, no cancelling large terms).  ``mu = inf``
    means ``z = x`` (valid only for ``D = 0``, where it is Barber-Agakov itself).  The bound is
    tight at the optimum with the true posterior decoder and the optimal ``mu``.

    Parameters
    ----------
    A : array_like, shape (m, n)
    signal_cov : float or array_like (n, n)
        Positive definite.
    noise_cov : float or array_like (m, m)
        Positive semidefinite.
    budget : float
    mu : float
        ``>= 0`` or ``inf``.
    H : array_like, shape (n, m)
    Sigma : array_like, shape (n, n)
        Positive definite.

    Returns
    -------
    float
        In nats; ``-inf`` where the bound is vacuous.
    """
    A, sy, sn = _v.observation_model(A, signal_cov, noise_cov)
    m, n = A.shape
    d = _v.budget(budget)
    mu = float(mu)
    if not (mu >= 0.0):
        raise InvalidInputError("mu", f"must be >= 0 (or inf), got {mu!r}")
    H = _v.array("H", H, shape=(n, m))
    Sigma = _v.psd_matrix("Sigma", Sigma, size=n, definite=True)
    return _lower_bound(A, sy, sn, d, mu, H, Sigma, _Count())


def _lower_bound(A, sy, sn, budget: float, mu: float, H, Sigma, count: _Count) -> float:
    n = A.shape[1]
    Ly = count.chol(sy)
    Ln = _psd_root(sn, count)
    Ls = count.try_chol(Sigma)
    if Ls is None:
        return -math.inf
    head = float(np.sum(np.log(np.diag(Ly))) - np.sum(np.log(np.diag(Ls)))) + 0.5 * n
    R = sla.solve_triangular(Ls, H, lower=True, check_finite=False)  # n x m
    M1 = sla.solve_triangular(Ls, Ly, lower=True, check_finite=False) - R @ A @ Ly
    M2 = R @ Ln
    if math.isinf(mu):  # z = x: Barber-Agakov with the decoder, the budget unused
        if budget > 0:
            return -math.inf
        return head - 0.5 * float(np.sum(M1 * M1) + np.sum(M2 * M2))
    Wn = mu * np.eye(n) - 0.5 * (R @ R.T)
    Lw = count.try_chol(0.5 * (Wn + Wn.T))
    if Lw is None or mu == 0.0:
        return -math.inf
    X1 = sla.solve_triangular(Lw, M1, lower=True, check_finite=False)
    X2 = sla.solve_triangular(Lw, M2, lower=True, check_finite=False)
    return head - 0.5 * mu * float(np.sum(X1 * X1) + np.sum(X2 * X2)) - mu * budget
