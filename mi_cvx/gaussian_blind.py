"""Certified optimal blind Gaussian attacks under a power budget and a stealth (KL) term.

The model (docs/theory.md sections 8-9): ``Y ~ N(0, SY)`` in ``R^n``, ``X = A Y + N`` with
``N ~ N(0, SN)`` in ``R^m`` (``SN`` positive semidefinite, possibly singular, correlated or
heterogeneous), and the blind attacker adds ``Delta ~ N(0, S)`` independent of everything.
With ``R = A SY A^T`` and ``SX = R + SN``,

    I(S)  = 0.5 logdet(SX + S) - 0.5 logdet(SN + S),
    KL(S) = KL(N(0, SX + S) || N(0, SX)) = 0.5 [tr(SX^-1 S) - logdet(I + SX^-1 S)],

and :func:`solve_blind` minimises ``J(S) = I(S) + w KL(S)`` over ``S >= 0`` with an optional
power budget ``tr S <= D`` and an optional detectability cap ``KL(S) <= c``.  ``J`` is convex.
Every answer carries a certified lower bound on the optimal value.

Method
------
*Closed forms first.*  Without a budget, ``w KL`` (or a cap's Lagrange multiplier) is the only
price of the attack and the optimum is the closed form of docs/theory.md section 9, here
computed from the generalised eigenproblem ``R v = rho SX v`` (it stays valid for a singular
``SN``).  A cap alone is a one-dimensional search over that closed form.

*Newton on the face otherwise.*  With a binding budget the optimum has a rank ``k`` (at most
``rank R``) that is not known in advance and, unless ``SN`` commutes with ``R``, no closed form.
The solver runs a Riemannian Newton method on the manifold of PSD matrices of rank ``k`` and
trace ``D`` -- ``S = U Sigma U^T`` -- adding directions to the face where the Lagrangian
gradient is negative off the face and dropping those whose eigenvalue the step drives to
zero (an active-set method on the eigen-decomposition).  Two structural facts make each
Newton step cheap and the convergence quadratic:

* On the face the Hessian ``0.5 (M1 (x) M1 - (1 - w) M2 (x) M2)`` (``M1 = (SN + S)^-1``,
  ``M2 = (SX + S)^-1``) is *diagonal* in the generalised eigenbasis of the two compressed
  inverses ``(U^T M1 U, U^T M2 U)``: the face block of the Newton system is solved exactly.
* The rotation block (face <-> complement) is dominated by two Kronecker products, the
  curvature ``Lambda B Sigma^-1`` of the rank-``k`` manifold (``Lambda`` the Lagrangian
  gradient on the complement) and ``0.5 Pbar B (K1 - (1 - w) K2)``; both are diagonalised by
  two generalised eigen-decompositions, giving a preconditioner under which conjugate
  gradients needs 5-15 iterations per Newton step on the IEEE 300-bus system.

Off-face directions where the Lagrangian gradient is negative join the face with a negligible
eigenvalue inside the same iteration (the Newton step sizes them; they do not rotate in that
step); directions the step drives through zero are dropped.  When the step is spoilt by the PSD
boundary (the backtracking ends below ``t = 1e-3``) a Frank-Wolfe step is taken instead, so
every iteration decreases ``J``.

Each iteration costs a handful of ``m x m`` products and Cholesky factorisations, one
generalised eigen-decomposition of the complement block and ``O(m^2 k)`` per CG iteration.
The start is the optimum of the commuting problem (``SN`` replaced by its mean variance; exact
when ``SN`` commutes with ``R``), with the directions singular noise leaves uncovered added, or
a warm state.

Certificates
------------
With a budget the feasible set ``{S >= 0, tr S <= D}`` is compact and the Frank-Wolfe gap

    J(S) - J* <= <G, S> - D min(0, lambda_min(G)),    G = grad J(S),

bounds the error of any feasible ``S``; at the optimum ``-min(0, lambda_min(G))`` is the
budget's multiplier.  Without a budget the optimum lies in ``{KL <= kappa}`` with ``kappa =
J(S) / w`` (``w KL(S*) <= J(S*) <= J(S)``; with a cap, ``kappa = c`` also holds every feasible
point), and in whitened coordinates ``X = SX^-1/2 S SX^-1/2`` that set lies in ``{tr X <= m
phi^-1(2 kappa / m)}`` (Jensen on ``KL = 0.5 sum phi(lambda_i(X))``, ``phi(t) = t - log(1 + t)``):
an artificial trace bound that cannot bind, so the same gap, computed with the whitened gradient
(which has no cancellation between terms of size ``1 / lambda_min(SN)``), is a certificate.
A cap is priced by its multiplier ``nu``: ``J* >= min_C [I + (w + nu) KL] - nu c`` for every
``nu >= 0`` and every ``C`` holding the feasible set (weak duality), and ``nu`` is found by a
one-dimensional search so that ``KL(S_nu) = c``; the returned ``S`` always satisfies the cap
(it is shrunk, ``t S`` with ``t < 1``, when the search ends just above it).
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.linalg
import scipy.optimize
from scipy.linalg import lapack

from . import validate as _v
from .errors import InvalidInputError

try:  # OpenBLAS' threaded factorisations are pathologically slow on small shared machines
    from threadpoolctl import threadpool_limits as _threadpool_limits  # type: ignore[import-untyped]
except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn, a dependency
    _threadpool_limits = None

__all__ = ["BlindSolution", "BlindWarmState", "solve_blind"]

#: Eigenvalues of the attack below this fraction of the largest are dropped from the face.
_DROP = 1e-10
#: Off-face directions join the face when the Lagrangian gradient there is below ``-_GROW * mu``.
_GROW = 1e-3
#: Default cap on Newton iterations (each one is a few m x m factorisations).
_MAX_ITER = 200


# ------------------------------------------------------------------ public results


@dataclass(frozen=True)
class BlindWarmState:
    """Warm-start state of :func:`solve_blind` (pass it back as ``warm=``).

    Attributes
    ----------
    attack_cov : ndarray, shape (m, m)
        The attack covariance of the solve that produced it.
    stealth_multiplier : float or None
        The cap's multiplier ``nu`` (None without a cap).
    """

    attack_cov: np.ndarray = field(repr=False)
    stealth_multiplier: float | None = None


@dataclass(frozen=True)
class BlindSolution:
    """A certified blind attack ``Delta ~ N(0, attack_cov)`` (see :func:`solve_blind`).

    Attributes
    ----------
    attack_cov : ndarray, shape (m, m)
        ``S``, symmetric positive semidefinite.
    mi : float
        ``I(S) = 0.5 logdet(SX + S) - 0.5 logdet(SN + S)`` in nats, recomputed from ``S``.
    kl : float or None
        ``KL(N(0, SX + S) || N(0, SX))`` in nats when a stealth term (weight or cap) is present.
    objective : float
        ``mi + stealth_weight * kl`` (``mi`` without a weight).
    budget_used : float
        ``tr S`` (at most the budget).
    dual : float or None
        The budget's multiplier ``-min(0, lambda_min(grad))`` at ``S`` (``-dJ*/dD``); None without a budget.
    dual_stealth : float or None
        The cap's multiplier ``nu >= 0`` (``-dJ*/dc``); None without a cap.
    lower_bound : float
        A certified lower bound on the optimal objective.
    gap : float
        ``objective - lower_bound >= 0``.
    iterations : int
        Newton iterations (summed over the cap's multiplier search).
    factorizations : int
        Dense factorisations (Cholesky, symmetric or generalised eigen-decomposition, QR) of
        matrices of order at least ``m / 2``: the count that dominates the cost.
    state : BlindWarmState
        Warm-start state for a neighbouring problem.
    """

    attack_cov: np.ndarray = field(repr=False)
    mi: float
    kl: float | None
    objective: float
    budget_used: float
    dual: float | None
    dual_stealth: float | None
    lower_bound: float
    gap: float
    iterations: int
    factorizations: int
    state: Any = field(repr=False)


# ------------------------------------------------------------------ the model


class _Counter:
    """Iterations and large factorisations spent."""

    def __init__(self) -> None:
        self.iterations = 0
        self.factorizations = 0


@dataclass
class _Model:
    """The problem reduced to ``range(SX)`` and scaled so that ``tr SX = m``."""

    sx: np.ndarray
    sn: np.ndarray
    r: np.ndarray
    r_factor: np.ndarray  # R = r_factor r_factor^T
    scale: float
    basis: np.ndarray | None  # m_full x m orthonormal basis of range(SX); None if SX is definite
    m_full: int
    count: _Counter
    sx_inv: np.ndarray | None = None
    sn_diag: np.ndarray | None = None  # diag(SN) when SN is diagonal
    logdet_sx: float = 0.0
    sx_chol: np.ndarray | None = None
    sn_white: np.ndarray | None = None  # SX^-1/2 SN SX^-T/2 (Cholesky square root)

    @property
    def m(self) -> int:
        return int(self.sx.shape[0])

    def big(self, order: int) -> None:
        """Count one factorisation of a matrix of the given order if it is at least m / 2."""
        if 2 * order >= self.m:
            self.count.factorizations += 1

    def stealth_terms(self) -> None:
        """Precompute ``SX^-1``, ``logdet SX`` and the whitened noise (stealth terms and their certificates)."""
        if self.sx_inv is None:
            fac = _cholesky(self.sx)
            self.big(self.m)
            if fac is None:  # pragma: no cover - SX is definite on its range by construction
                raise InvalidInputError("noise_cov", "the observation covariance is numerically singular")
            self.sx_chol = fac
            self.sx_inv = _inverse_from_cholesky(fac)
            self.logdet_sx = 2.0 * float(np.sum(np.log(np.diag(fac))))
            self.sn_white = _whiten(fac, self.sn)

    def to_full(self, s: np.ndarray) -> np.ndarray:
        """An attack of the reduced, scaled model in the original coordinates."""
        out = self.scale * s
        if self.basis is not None:
            out = self.basis @ out @ self.basis.T
        return 0.5 * (out + out.T)

    def from_full(self, s: np.ndarray) -> np.ndarray:
        """An attack in the original coordinates, projected on the reduced, scaled model."""
        out = s / self.scale
        if self.basis is not None:
            out = self.basis.T @ out @ self.basis
        return 0.5 * (out + out.T)


def _cholesky(mat: np.ndarray) -> np.ndarray | None:
    """Lower Cholesky factor (upper triangle zeroed), or None if ``mat`` is not positive definite."""
    fac, info = lapack.dpotrf(mat, lower=1, clean=1)
    if info != 0 or not np.all(np.isfinite(np.diag(fac))):
        return None
    return np.asarray(fac)


def _inverse_from_cholesky(fac: np.ndarray) -> np.ndarray:
    """The inverse of ``L L^T`` from its lower Cholesky factor ``L``."""
    inv, info = lapack.dpotri(fac, lower=1)
    if info != 0:  # pragma: no cover - a valid Cholesky factor is invertible
        raise np.linalg.LinAlgError("dpotri failed")
    inv = np.tril(inv)
    return np.asarray(inv + np.tril(inv, -1).T)


def _logdet(fac: np.ndarray) -> float:
    return 2.0 * float(np.sum(np.log(np.diag(fac))))


def _build_model(A, signal_cov, noise_cov, count: _Counter) -> _Model:
    A, sy, sn = _v.observation_model(A, signal_cov, noise_cov)
    m = A.shape[0]
    count.factorizations += 1  # the PSD check of noise_cov
    sy_fac = np.linalg.cholesky(sy)
    r_factor = A @ sy_fac
    r = r_factor @ r_factor.T
    r = 0.5 * (r + r.T)
    sx = r + sn
    scale = float(np.trace(sx)) / m
    if scale <= 0.0:  # A = 0 and no noise: X is the constant 0
        return _Model(np.zeros((0, 0)), np.zeros((0, 0)), np.zeros((0, 0)), np.zeros((0, 0)), 1.0,
                      np.zeros((m, 0)), m, count)
    sx, sn, r, r_factor = sx / scale, sn / scale, r / scale, r_factor / math.sqrt(scale)
    basis = None
    if m > 0:
        count.factorizations += 1
    fac = _cholesky(sx)
    singular = fac is None
    if fac is not None:  # numerically singular even if Cholesky got through: estimate the conditioning
        rcond, info = lapack.dpocon(fac, float(np.abs(sx).sum(axis=0).max()), uplo="L")
        singular = info != 0 or rcond < 1e3 * m * np.finfo(float).eps
    if singular:  # nothing lives outside range(SX) (X is constant there), so work on range(SX)
        lam, vec = np.linalg.eigh(sx)
        count.factorizations += 1
        keep = lam > m * np.finfo(float).eps * max(float(lam[-1]), 0.0) * 16
        basis = vec[:, keep]
        sx = np.diag(lam[keep])
        sn = basis.T @ sn @ basis
        sn = 0.5 * (sn + sn.T)
        r_factor = basis.T @ r_factor
        r = r_factor @ r_factor.T
        r = 0.5 * (r + r.T)
        sx = r + sn
    mod = _Model(sx, sn, r, r_factor, scale, basis, m, count)
    if basis is None and not np.any(sn - np.diag(np.diag(sn))):
        mod.sn_diag = np.diag(sn).copy()
    return mod


# ------------------------------------------------------------------ values, gradients, certificates


@dataclass
class _Point:
    """An attack of the reduced model with its value, gradient and certificate."""

    s: np.ndarray
    mi: float
    kl: float
    value: float  # I + w KL at the weight it was evaluated with
    lam_min: float = math.nan
    gap: float = math.inf
    iterations: int = 0


def _terms(mod: _Model, s: np.ndarray, *, stealth: bool) -> tuple[float, float]:
    """``(I(S), KL(S))`` of the reduced model (``I = inf`` if ``SN + S`` is singular)."""
    if stealth:
        mod.stealth_terms()
    f2 = _cholesky(mod.sx + s)
    f1 = _cholesky(mod.sn + s)
    mod.big(mod.m)
    mod.big(mod.m)
    if f2 is None:  # pragma: no cover - SX + S >= SX > 0
        return math.inf, math.inf
    ld2 = _logdet(f2)
    mi = math.inf if f1 is None else max(0.5 * (ld2 - _logdet(f1)), 0.0)
    kl = 0.0
    if stealth:
        assert mod.sx_inv is not None
        kl = max(0.5 * (float(np.sum(mod.sx_inv * s)) - ld2 + mod.logdet_sx), 0.0)
    return mi, kl


def _evaluate(mod: _Model, s: np.ndarray, w: float, *, stealth: bool, budget: float | None) -> _Point:
    """Value, gradient and Frank-Wolfe certificate of ``I + w KL`` at ``S`` on ``{tr S <= budget}``."""
    m = mod.m
    if stealth:
        mod.stealth_terms()
    f2 = _cholesky(mod.sx + s)
    f1 = _cholesky(mod.sn + s)
    mod.big(m)
    mod.big(m)
    if f1 is None or f2 is None:
        return _Point(s, math.inf, math.inf, math.inf)
    ld1, ld2 = _logdet(f1), _logdet(f2)
    m1, m2 = _inverse_from_cholesky(f1), _inverse_from_cholesky(f2)
    mi = max(0.5 * (ld2 - ld1), 0.0)
    kl = 0.0
    grad = 0.5 * (m2 - m1)
    if stealth:
        assert mod.sx_inv is not None
        kl = max(0.5 * (float(np.sum(mod.sx_inv * s)) - ld2 + mod.logdet_sx), 0.0)
        grad += 0.5 * w * (mod.sx_inv - m2)
    grad = 0.5 * (grad + grad.T)
    lam_min = float(scipy.linalg.eigvalsh(grad, subset_by_index=[0, 0])[0])
    mod.big(m)
    point = _Point(s, mi, kl, mi + w * kl, lam_min)
    if budget is not None:
        point.gap = max(float(np.sum(grad * s)) - budget * min(0.0, lam_min), 0.0)
    return point


def _phi_inverse(y: float) -> float:
    """The ``t >= 0`` with ``t - log(1 + t) = y``."""
    if y <= 0.0:
        return 0.0
    hi = 2.0 * y + 2.0 * math.sqrt(y) + 1.0
    return float(scipy.optimize.brentq(lambda t: t - math.log1p(t) - y, 0.0, hi, xtol=1e-14, rtol=1e-14))


def _whiten(fac: np.ndarray, mat: np.ndarray) -> np.ndarray:
    """``L^-1 mat L^-T`` for the lower Cholesky factor ``L``."""
    half = scipy.linalg.solve_triangular(fac, mat, lower=True, check_finite=False)
    out = scipy.linalg.solve_triangular(fac, half.T, lower=True, check_finite=False)
    return np.asarray(0.5 * (out + out.T))


def _white_certificate(mod: _Model, s: np.ndarray, w: float, kappa: float) -> _Point:
    """Value and Frank-Wolfe certificate of ``I + w KL`` on ``{S >= 0, KL(S) <= kappa}``, in whitened coordinates.

    With ``X = SX^-1/2 S SX^-1/2`` and ``N' = SX^-1/2 SN SX^-1/2``, ``J = 0.5 logdet(I + X) -
    0.5 logdet(N' + X) + (w / 2)(tr X - logdet(I + X))`` and ``KL <= kappa`` confines ``tr X`` to
    ``m phi^-1(2 kappa / m)`` (Jensen on ``phi(t) = t - log(1 + t)``), so ``<G, X> - tr_max
    min(0, lambda_min(G))`` bounds ``J(S) - min``.  The whitened gradient ``G`` has no cancellation
    between terms of size ``1 / lambda_min(SN)``, unlike the gradient in the original coordinates.
    """
    mod.stealth_terms()
    assert mod.sx_chol is not None and mod.sn_white is not None
    m = mod.m
    x = _whiten(mod.sx_chol, s)
    fa = _cholesky(np.eye(m) + x)
    fb = _cholesky(mod.sn_white + x)
    mod.big(m)
    mod.big(m)
    if fa is None or fb is None:  # pragma: no cover - X >= 0 and the closed form covers null(SN)
        return _Point(s, math.inf, math.inf, math.inf)
    lda, ldb = _logdet(fa), _logdet(fb)
    mi = max(0.5 * (lda - ldb), 0.0)
    kl = max(0.5 * (float(np.trace(x)) - lda), 0.0)
    grad = 0.5 * (1.0 - w) * _inverse_from_cholesky(fa) - 0.5 * _inverse_from_cholesky(fb)
    grad[np.diag_indices(m)] += 0.5 * w
    grad = 0.5 * (grad + grad.T)
    lam_min = float(scipy.linalg.eigvalsh(grad, subset_by_index=[0, 0])[0])
    mod.big(m)
    tr_max = max(m * _phi_inverse(2.0 * kappa / m) * (1.0 + 1e-12), float(np.trace(x)))
    gap = max(float(np.sum(grad * x)) - tr_max * min(0.0, lam_min), 0.0)
    return _Point(s, mi, kl, mi + w * kl, math.nan, gap)


# ------------------------------------------------------------------ closed forms


def _commuting_sigma(r: np.ndarray, s: np.ndarray | float, w: float, mu: float) -> np.ndarray:
    """Attack variance of a channel with signal ``r`` and noise ``s`` at the budget level ``mu``.

    The channel minimises ``0.5 log((r + s + sigma) / (s + sigma)) + (w / 2)(sigma / g - log(1 +
    sigma / g)) + mu sigma`` (``g = r + s``); with ``x = s + sigma`` the stationarity condition is
    ``(2 mu g + w) x^2 + (2 mu g r - w s) x - g r = 0``.
    """
    g = r + s
    a = 2.0 * mu * g + w
    b = 2.0 * mu * g * r - w * s
    cc = g * r
    root = np.sqrt(b * b + 4.0 * a * cc)
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.where(b > 0.0, 2.0 * cc / np.where(b > 0.0, b + root, 1.0), (root - b) / (2.0 * a))
    return np.maximum(np.nan_to_num(x, nan=0.0, posinf=0.0) - s, 0.0)


def _commuting_attack(r: np.ndarray, s: np.ndarray | float, w: float, budget: float) -> tuple[np.ndarray, float]:
    """Attack variances of the commuting problem (noise ``s I``) with budget and weight ``w``, and the level ``mu``.

    ``mu >= 0`` is the budget's multiplier: ``sum sigma_i = budget`` (``mu = 0`` if the budget does not bind).
    """
    if budget <= 0.0 or r.size == 0:
        return np.zeros_like(r), math.inf
    if w > 0.0:
        free = _commuting_sigma(r, s, w, 0.0)
        if float(free.sum()) <= budget:
            return free, 0.0
    excess = lambda log_mu: float(np.sum(_commuting_sigma(r, s, w, math.exp(log_mu)))) / budget - 1.0  # noqa: E731
    lo, hi = -20.0, 20.0
    while excess(lo) < 0.0 and lo > -700.0:
        lo -= 20.0
    while excess(hi) > 0.0 and hi < 700.0:
        hi += 20.0
    log_mu = float(scipy.optimize.brentq(excess, lo, hi, xtol=1e-14, rtol=1e-14, maxiter=300))
    out = _commuting_sigma(r, s, w, math.exp(log_mu))
    total = float(out.sum())
    return (out * (budget / total) if total > 0.0 else out), math.exp(log_mu)


def _isotropic_start(mod: _Model, budget: float, w: float) -> np.ndarray:
    """The optimum of the commuting problem, made feasible: a start for Newton.

    When ``SN`` maps every signal channel (eigenvector of ``R``) to itself, the channels' own
    noise variances make it the exact optimum of docs/theory.md section 8 (extended to a
    weight); otherwise the noise is replaced by its mean variance.

    Directions where ``SN + S`` is (nearly) singular -- singular noise the commuting optimum leaves
    uncovered -- get the attack of a noiseless channel with their signal at the same level ``mu``.
    """
    m = mod.m
    u, sv, _ = np.linalg.svd(mod.r_factor, full_matrices=False)
    mod.big(min(mod.r_factor.shape))
    r = sv * sv
    keep = r > 1e-14 * max(float(r.max(initial=0.0)), 1e-300)
    uk = u[:, keep]
    sn_u = mod.sn @ uk
    sn_norm = float(np.linalg.norm(mod.sn))
    commutes = float(np.linalg.norm(sn_u - uk * np.sum(sn_u * uk, axis=0))) <= 1e-9 * max(sn_norm, 1e-300)
    if commutes:  # SN maps each signal channel to itself: the start is the exact optimum (section 8)
        s_bar: np.ndarray | float = np.maximum(np.sum(sn_u * uk, axis=0), 0.0)
    else:
        s_bar = float(np.trace(mod.sn)) / m
    sigma, mu = _commuting_attack(r[keep], s_bar, w, budget)
    s0 = (uk * sigma) @ uk.T
    s0 = 0.5 * (s0 + s0.T)
    binding = float(np.trace(s0)) >= budget * (1.0 - 1e-9) or w == 0.0
    fac = _cholesky(mod.sn + s0)
    mod.big(m)
    if fac is None or float(np.min(np.diag(fac))) < 1e-5 * float(np.max(np.diag(fac))):
        lam, vec = np.linalg.eigh(mod.sn + s0)
        mod.big(m)
        weak = lam < 1e-8 * max(float(lam[-1]), 1e-300)
        extra = vec[:, weak]
        r_weak = np.sum((extra.T @ mod.r_factor) ** 2, axis=1)
        add = _commuting_sigma(r_weak, 0.0, w, mu if math.isfinite(mu) else 0.0)
        add = np.maximum(add, 1e-6 * budget / m)
        s0 = s0 + (extra * add) @ extra.T
        s0 = 0.5 * (s0 + s0.T)
    if binding or float(np.trace(s0)) > budget:
        s0 *= budget / max(float(np.trace(s0)), 1e-300)
    return s0


@dataclass
class _StealthClosedForm:
    """The no-budget optimum of ``I + w KL`` for every ``w > 0`` (docs/theory.md section 9)."""

    rho: np.ndarray  # generalised eigenvalues of (R, SX), in [0, 1]
    nu: np.ndarray  # 1 - rho, computed without cancellation
    basis: np.ndarray  # SX W, so that S = basis diag(t) basis^T

    def t(self, w: float) -> np.ndarray:
        root = np.sqrt(self.nu * self.nu + 4.0 * self.rho / w)
        return (4.0 * self.rho / w) / (2.0 * (self.nu + root) + 1e-300)

    def kl(self, w: float) -> float:
        t = self.t(w)
        return 0.5 * float(np.sum(_x_minus_log1p(t)))

    def attack(self, w: float) -> np.ndarray:
        s = (self.basis * self.t(w)) @ self.basis.T
        return 0.5 * (s + s.T)


def _x_minus_log1p(x: np.ndarray) -> np.ndarray:
    """``x - log(1 + x)`` for ``x >= 0`` without cancellation."""
    x = np.asarray(x, dtype=float)
    small = x < 1e-3
    xs = np.where(small, x, 0.0)
    series = xs * xs * (0.5 - xs * (1 / 3 - xs * (0.25 - xs * (0.2 - xs * (1 / 6 - xs / 7)))))
    return np.where(small, series, x - np.log1p(np.where(small, 0.0, x)))


def _stealth_closed_form(mod: _Model) -> _StealthClosedForm:
    rho, vec = scipy.linalg.eigh(mod.r, mod.sx)
    mod.big(mod.m)
    rho = np.clip(rho, 0.0, 1.0)
    nu_direct = np.clip(np.sum((mod.sn @ vec) * vec, axis=0), 0.0, 1.0)
    nu = np.where(rho < 0.5, 1.0 - rho, nu_direct)
    return _StealthClosedForm(rho, nu, mod.sx @ vec)


# ------------------------------------------------------------------ Newton on the face


class _Face:
    """``S = Q[:, :k] diag(sigma) Q[:, :k]^T`` with ``Q`` orthogonal (the face and its complement)."""

    def __init__(self, q: np.ndarray, sigma: np.ndarray) -> None:
        self.q = q
        self.sigma = sigma

    @property
    def k(self) -> int:
        return int(self.sigma.size)

    def attack(self) -> np.ndarray:
        u = self.q[:, : self.k]
        s = (u * self.sigma) @ u.T
        return 0.5 * (s + s.T)


def _face_of(mod: _Model, s: np.ndarray, budget: float) -> _Face:
    lam, vec = np.linalg.eigh(s)
    mod.big(mod.m)
    lam, vec = lam[::-1], vec[:, ::-1]
    keep = lam > _DROP * max(float(lam[0]), 1e-300)
    sigma = lam[keep]
    return _Face(vec, sigma * (budget / float(sigma.sum())))


def _face_newton(mod: _Model, w: float, budget: float, s0: np.ndarray, tol: float, max_iter: int,
                 *, stealth: bool, accurate: bool = False) -> _Point:
    """Minimise ``I + w KL`` over ``{S >= 0, tr S = budget}`` by Newton's method on the face of ``S``.

    Stops once the certified gap is below ``tol`` (``accurate``: and the last Newton step was at
    rounding level, so that ``S`` itself, not only the value, is converged).
    """
    m = mod.m
    c = 1.0 - w
    face = _face_of(mod, s0, budget)
    sn = mod.sn
    sx_inv = mod.sx_inv if stealth else None
    dec_prev = math.inf
    stalled = 0
    best: _Point | None = None
    it = 0
    for it in range(max_iter):  # noqa: B007 - it is reported
        q, sigma, k = face.q, face.sigma, face.k
        snq = (q.T * mod.sn_diag) @ q if mod.sn_diag is not None else q.T @ sn @ q
        snq = 0.5 * (snq + snq.T)
        rq = q.T @ mod.r_factor
        sxq = snq + rq @ rq.T
        t1 = snq.copy()
        t2 = sxq.copy()
        idx = np.arange(k)
        t1[idx, idx] += sigma
        t2[idx, idx] += sigma
        f1, f2 = _cholesky(t1), _cholesky(t2)
        mod.big(m)
        mod.big(m)
        if f1 is None or f2 is None:  # pragma: no cover - the line search keeps SN + S definite
            break
        ld1, ld2 = _logdet(f1), _logdet(f2)
        m1, m2 = _inverse_from_cholesky(f1), _inverse_from_cholesky(f2)
        mi = max(0.5 * (ld2 - ld1), 0.0)
        kl = 0.0
        grad = 0.5 * c * m2 - 0.5 * m1
        sxiq = None
        if sx_inv is not None:
            sxiq = q.T @ sx_inv @ q
            kl = max(0.5 * (float(np.dot(np.diag(sxiq)[:k], sigma)) - ld2 + mod.logdet_sx), 0.0)
            grad += 0.5 * w * sxiq
        grad = 0.5 * (grad + grad.T)
        value = mi + w * kl
        mu = -float(np.trace(grad[:k, :k])) / k
        # Certificate (Frank-Wolfe gap on {S >= 0, tr S <= budget}) once Newton is close.
        if it == 0 or dec_prev < 1e-6 or m <= 64:
            lam_min = float(scipy.linalg.eigvalsh(grad, subset_by_index=[0, 0])[0])
            mod.big(m)
            gap = max(float(np.dot(np.diag(grad)[:k], sigma)) - budget * min(0.0, lam_min), 0.0)
            point = _Point(face.attack(), mi, kl, value, lam_min, gap, it)
            if best is None or point.gap < best.gap:
                best = point
            if gap <= tol and (not accurate or dec_prev <= 1e-14 * max(1.0, abs(value))):
                best = point  # the latest iterate: the most accurate attack
                break
            if it == 0:  # a warm start may already be close: the gap bounds the error
                dec_prev = min(dec_prev, gap)
        complement = None
        frozen = np.zeros(k, dtype=bool)
        if k < m:
            # Off-face directions where the Lagrangian gradient is negative join the face (with a
            # negligible eigenvalue: the Newton step below sizes them).
            lam = grad[k:, k:] + mu * np.eye(m - k)
            pbar = 0.5 * (m1[k:, k:] + m2[k:, k:])
            ell, y = scipy.linalg.eigh(lam, 0.5 * pbar)
            mod.big(m - k)
            ray = ell / np.einsum("ij,ij->j", y, y)
            threshold = max(_GROW * abs(mu) * min(1.0, dec_prev), 0.05 * tol / budget)
            grow = ray < -threshold
            if np.any(grow):
                j = int(grow.sum())
                mats = [q, m1, m2, grad, snq, sxq] + ([sxiq] if sxiq is not None else [])
                q, m1, m2, grad, snq, sxq, *rest = _rotate_complement(k, y[:, grow], mats)
                sxiq = rest[0] if rest else None
                sigma = np.concatenate([sigma, np.full(j, 1e-9 * float(sigma.max()))])
                face = _Face(q, sigma)
                frozen = np.concatenate([np.zeros(k, dtype=bool), np.ones(j, dtype=bool)])
                k += j
                mu = -float(np.trace(grad[:k, :k])) / k
                if k < m:
                    lam = grad[k:, k:] + mu * np.eye(m - k)
                    ell, y = scipy.linalg.eigh(lam, 0.25 * (m1[k:, k:] + m2[k:, k:]))
                    mod.big(m - k)
            if k < m:
                complement = (lam, ell, y)
        ga = grad[:k, :k] + mu * np.eye(k)
        gb = grad[k:, :k]
        step_a, step_b, dec = _newton_step(k, m, sigma, m1, m2, c, ga, gb, complement, dec_prev, frozen)
        new_face, new_value, t = _line_search(mod, face, step_a, step_b, dec, value, snq, sxq, sxiq, w, budget)
        if np.any(frozen) and (new_face is None or t < 1e-3):
            # the clipped mixing of new and old directions spoilt the step: let the new ones only grow
            step_a, step_b, dec2 = _newton_step(k, m, sigma, m1, m2, c, ga, gb, complement, dec_prev, frozen,
                                                decouple=True)
            retry = _line_search(mod, face, step_a, step_b, dec2, value, snq, sxq, sxiq, w, budget, frozen)
            if retry[0] is not None and (new_face is None or retry[1] < new_value):
                new_face, new_value, t = retry
                dec = dec2
        if (new_face is None or t < 1e-3) and dec > 1e-13 * max(1.0, abs(value)):
            # Newton's model is poor here (the PSD boundary cuts the step): a Frank-Wolfe step instead
            fw = _frank_wolfe_step(mod, face, grad, value, snq, sxq, sxiq, w, budget)
            if fw is not None and (new_face is None or fw[1] < new_value):
                new_face, new_value, t = fw[0], fw[1], 1.0
                dec = math.inf
        if new_face is None:  # no decrease at rounding level: stop
            break
        face = new_face
        dec_prev = dec
        stalled = stalled + 1 if dec <= 1e-13 * max(1.0, abs(value)) else 0
        if stalled >= 3:
            break
    if best is None or best.gap > tol:  # final certificate at the last iterate
        point = _evaluate(mod, face.attack(), w, stealth=stealth, budget=budget)
        point.iterations = it + 1
        if best is None or point.gap < best.gap:
            best = point
    best.iterations = it + 1
    return best


def _trial_value(mod: _Model, s_new: np.ndarray, snq: np.ndarray, sxq: np.ndarray, sxiq: np.ndarray | None,
                 w: float) -> float | None:
    """The objective ``0.5 logdet(SX + S) - 0.5 logdet(SN + S)`` (+ ``w`` KL) at a trial ``S`` of a line search.

    In the coordinates of the face (``sxq``, ``snq``, ``sxiq`` rotated alike); None when either
    matrix is not positive definite (the step left the domain).
    """
    f2, f1 = _cholesky(sxq + s_new), _cholesky(snq + s_new)
    mod.big(mod.m)
    mod.big(mod.m)
    if f1 is None or f2 is None:
        return None
    ld1, ld2 = _logdet(f1), _logdet(f2)
    value = 0.5 * (ld2 - ld1)
    if sxiq is not None:
        value += w * 0.5 * (float(np.sum(sxiq * s_new)) - ld2 + mod.logdet_sx)
    return value


def _frank_wolfe_step(mod: _Model, face: _Face, grad: np.ndarray, value: float, snq: np.ndarray, sxq: np.ndarray,
                      sxiq: np.ndarray | None, w: float, budget: float) -> tuple[_Face, float] | None:
    """``(1 - eta) S + eta budget v v^T`` (``v`` the eigenvector of ``lambda_min(grad)``) with backtracking on ``eta``.

    Everything in the coordinates of ``face.q``; a descent step whenever the Frank-Wolfe gap is positive.
    """
    m, k = mod.m, face.k
    _, vec = scipy.linalg.eigh(grad, subset_by_index=[0, 0])
    mod.big(m)
    v = vec[:, 0]
    s_q = np.zeros((m, m))
    s_q[np.arange(k), np.arange(k)] = face.sigma
    vertex = budget * np.outer(v, v)
    slope = float(np.sum(grad * (vertex - s_q)))
    if slope >= 0.0:
        return None
    eta = 1.0
    for _ in range(50):
        s_new = (1.0 - eta) * s_q + eta * vertex
        new_value = _trial_value(mod, s_new, snq, sxq, sxiq, w)
        if new_value is not None and new_value <= value + 1e-4 * eta * slope:
            return _face_of(mod, face.q @ s_new @ face.q.T, budget), new_value
        eta *= 0.5
    return None


def _rotate_complement(k: int, y: np.ndarray, mats: list[np.ndarray], *, rows_only: bool = False
                       ) -> list[np.ndarray]:
    """Rotate the complement (indices ``k:``) so that its first columns span ``y``.

    ``Z`` is the orthogonal factor of a complete QR of ``y``; ``mats[0]`` (the basis ``Q``)
    becomes ``Q[:, k:] Z`` on the complement and every other matrix ``M`` becomes
    ``blkdiag(I, Z)^T M blkdiag(I, Z)``, all by applying the Householder reflectors
    (``rows_only``: every matrix becomes ``Z^T M``, with ``k = 0``).
    """
    (refl, tau), _ = scipy.linalg.qr(y, mode="raw")

    def apply(side: str, trans: str, block: np.ndarray) -> np.ndarray:
        work = lapack.dormqr(side, trans, refl, tau, block, lwork=-1)[1]
        out, _, info = lapack.dormqr(side, trans, refl, tau, block, lwork=max(int(np.real(work[0])), 1))
        if info != 0:  # pragma: no cover - workspace query above
            raise np.linalg.LinAlgError("dormqr failed")
        return np.asarray(out)

    out = []
    for i, mat in enumerate(mats):
        if rows_only:
            out.append(apply("L", "T", np.ascontiguousarray(mat)))
            continue
        mat = mat.copy()
        mat[:, k:] = apply("R", "N", np.ascontiguousarray(mat[:, k:]))
        if i > 0:
            mat[k:, :] = apply("L", "T", np.ascontiguousarray(mat[k:, :]))
        out.append(mat)
    return out


def _newton_step(k: int, m: int, sigma: np.ndarray, m1: np.ndarray, m2: np.ndarray, c: float, ga: np.ndarray,
                 gb: np.ndarray, complement: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
                 dec_prev: float, frozen: np.ndarray, decouple: bool = False
                 ) -> tuple[np.ndarray, np.ndarray, float]:
    """Preconditioned CG on the Riemannian Newton system of the rank-k, trace-D manifold.

    Face columns marked ``frozen`` (just added, with a negligible eigenvalue) do not rotate towards
    the complement; with ``decouple`` they do not mix with the rest of the face either (a mixing
    ``A_ij`` of an old and a new direction keeps ``Sigma + t A`` positive only for ``t =
    O(sqrt(eps))``, so the retraction clips it): they only grow.
    """
    keep_cols = (~frozen).astype(float)[None, :]
    a_mask = (frozen[:, None] == frozen[None, :]).astype(float) if decouple and np.any(frozen) else None
    k1, k2 = m1[:k, :k], m2[:k, :k]
    a, v = scipy.linalg.eigh(k1, k2)
    h_face = 0.5 * (np.outer(a, a) - c)
    h_face = np.maximum(h_face, 1e-14 * max(float(h_face.max()), 1e-300))
    vtv = v.T @ v
    f1 = vtv / h_face
    f1_norm = float(np.sum(f1 * vtv))

    def face_solve(res: np.ndarray) -> np.ndarray:
        f0 = (v.T @ res @ v) / h_face
        theta = -float(np.sum(f0 * vtv)) / f1_norm
        out = v @ (f0 + theta * f1) @ v.T
        out = 0.5 * (out + out.T)
        return out if a_mask is None else out * a_mask

    n_c = m - k
    lam = np.zeros((n_c, n_c))
    if complement is not None and n_c > 0:
        lam, ell, y = complement
        ell = np.maximum(ell, 0.0)
        kd = k1 - c * k2
        root = np.sqrt(sigma)
        kap, vv = np.linalg.eigh(root[:, None] * kd * root[None, :])
        kap = np.maximum(kap, 0.0)
        v2 = root[:, None] * vv  # v2^T Sigma^-1 v2 = I, v2^T Kd v2 = diag(kap)
        d_b = ell[:, None] + kap[None, :]
        d_b = np.maximum(d_b, 1e-14 * max(float(d_b.max()), 1e-300))

        def rot_solve(res: np.ndarray) -> np.ndarray:
            return np.asarray(y @ ((y.T @ (res * keep_cols) @ v2) / d_b) @ v2.T) * keep_cols
    else:

        def rot_solve(res: np.ndarray) -> np.ndarray:
            return res

    ka1, kb1, kc1 = (np.ascontiguousarray(blk) for blk in (m1[:k, :k], m1[k:, :k], m1[k:, k:]))
    ka2, kb2, kc2 = (np.ascontiguousarray(blk) for blk in (m2[:k, :k], m2[k:, :k], m2[k:, k:]))
    inv_sigma = 1.0 / sigma
    eye_k = np.eye(k)

    def hess(a_blk: np.ndarray, b_blk: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out_a = np.zeros((k, k))
        out_b = np.zeros((n_c, k))
        for ka, kb, kc, coef in ((ka1, kb1, kc1, 0.5), (ka2, kb2, kc2, -0.5 * c)):
            if coef == 0.0:
                continue
            x1 = ka @ a_blk
            x2 = kb @ a_blk
            if n_c:
                x1 = x1 + kb.T @ b_blk
                x2 = x2 + kc @ b_blk
                y1 = b_blk.T @ kb
                out_a += coef * (x1 @ ka + ka @ y1)
                out_b += coef * (x2 @ ka + kb @ y1)
            else:
                out_a += coef * (x1 @ ka)
        out_a = 0.5 * (out_a + out_a.T)
        out_a -= (np.trace(out_a) / k) * eye_k
        if a_mask is not None:
            out_a *= a_mask
        if n_c:
            out_b += (lam @ b_blk) * inv_sigma[None, :]
            out_b *= keep_cols
        return out_a, out_b

    def inner(a1: np.ndarray, b1: np.ndarray, a2: np.ndarray, b2: np.ndarray) -> float:
        return float(np.sum(a1 * a2) + 2.0 * np.sum(b1 * b2))

    r_a = -(ga - (np.trace(ga) / k) * eye_k)
    if a_mask is not None:
        r_a *= a_mask
    r_b = -gb * keep_cols
    x_a, x_b = np.zeros((k, k)), np.zeros((n_c, k))
    z_a, z_b = face_solve(r_a), rot_solve(r_b)
    p_a, p_b = z_a.copy(), z_b.copy()
    rz = inner(r_a, r_b, z_a, z_b)
    rz0 = rz
    eta = min(0.1, math.sqrt(max(dec_prev, 1e-24))) if math.isfinite(dec_prev) else 0.1
    dim = k * (k + 1) // 2 + n_c * k
    for _ in range(min(200, max(dim, 1))):
        h_a, h_b = hess(p_a, p_b)
        curv = inner(p_a, p_b, h_a, h_b)
        if curv <= 0.0 or not math.isfinite(curv):
            if not np.any(x_a) and not np.any(x_b):
                x_a, x_b = p_a, p_b
            break
        alpha = rz / curv
        x_a = x_a + alpha * p_a
        x_b = x_b + alpha * p_b
        r_a = r_a - alpha * h_a
        r_b = r_b - alpha * h_b
        z_a, z_b = face_solve(r_a), rot_solve(r_b)
        rz_new = inner(r_a, r_b, z_a, z_b)
        if rz_new <= (eta * eta) * rz0:
            break
        p_a = z_a + (rz_new / rz) * p_a
        p_b = z_b + (rz_new / rz) * p_b
        rz = rz_new
    dec = -inner(ga, gb, x_a, x_b)
    if dec <= 0.0:  # not a descent direction (rounding): fall back on the preconditioned gradient
        x_a, x_b = face_solve(-ga), rot_solve(-gb)
        dec = -inner(ga, gb, x_a, x_b)
    return x_a, x_b, dec


def _line_search(mod: _Model, face: _Face, step_a: np.ndarray, step_b: np.ndarray, dec: float, value: float,
                 snq: np.ndarray, sxq: np.ndarray, sxiq: np.ndarray | None, w: float,
                 budget: float, keep_new: np.ndarray | None = None) -> tuple[_Face | None, float, float]:
    """Backtracking along ``(U + t B Sigma^-1) (Sigma + t A)_+ (.)^T``, rescaled to trace ``budget``."""
    k, m = face.k, mod.m
    sigma = face.sigma
    rot = step_b / sigma[None, :]
    noise_floor = 1e-13 * max(1.0, abs(value)) + 1e-15 * m
    t = 1.0
    for _ in range(60):
        mid = np.diag(sigma) + t * step_a
        if keep_new is not None and np.any(keep_new):
            # just-added directions (decoupled from the rest of the face) stay, at least at their
            # negligible size: the next step, with them free to rotate, decides
            old, new = ~keep_new, keep_new
            lm_old, pm_old = np.linalg.eigh(mid[np.ix_(old, old)])
            lm_old = np.where(lm_old > _DROP * max(float(lm_old[-1]), 1e-300), lm_old, 0.0)
            lm_new, pm_new = np.linalg.eigh(mid[np.ix_(new, new)])
            lm_new = np.maximum(lm_new, sigma[new].min())
            blk = np.zeros_like(mid)
            blk[np.ix_(old, old)] = (pm_old * lm_old) @ pm_old.T
            blk[np.ix_(new, new)] = (pm_new * lm_new) @ pm_new.T
            lm = np.concatenate([lm_old, lm_new])
            mid = blk
        else:
            lm, pm = np.linalg.eigh(mid)
            lm = np.where(lm > _DROP * max(float(lm[-1]), 1e-300), lm, 0.0)
            mid = (pm * lm) @ pm.T
        if not np.any(lm > 0.0):
            t *= 0.5
            continue
        ut = np.vstack([np.eye(k), t * rot])
        gram = ut.T @ ut
        trace = float(np.sum(mid * gram))
        mid *= budget / trace
        s_new = (ut @ mid) @ ut.T
        s_new = 0.5 * (s_new + s_new.T)
        new_value = _trial_value(mod, s_new, snq, sxq, sxiq, w)
        if new_value is not None and (dec <= noise_floor or new_value <= value - 1e-4 * t * dec):
            return _refactor(mod, face, ut, mid, budget), new_value, t
        t *= 0.5
        if t * dec < 1e-3 * noise_floor:
            break
    return None, value, 0.0


def _refactor(mod: _Model, face: _Face, ut: np.ndarray, mid: np.ndarray, budget: float) -> _Face:
    """The face of ``Q ut mid ut^T Q^T`` (rank <= k) from a QR of ``ut`` and a k x k eigen-decomposition."""
    k, m = face.k, mod.m
    (refl, tau), rf = scipy.linalg.qr(ut, mode="raw")
    work = lapack.dormqr("R", "N", refl, tau, face.q, lwork=-1)[1]
    q_new, _, info = lapack.dormqr("R", "N", refl, tau, face.q, lwork=max(int(np.real(work[0])), 1))
    mod.big(m)
    if info != 0:  # pragma: no cover - workspace query above
        raise np.linalg.LinAlgError("dormqr failed")
    rk = np.triu(rf[:k, :k])
    small = rk @ mid @ rk.T
    lam, vec = np.linalg.eigh(0.5 * (small + small.T))
    lam, vec = lam[::-1], vec[:, ::-1]
    keep = lam > _DROP * max(float(lam[0]), 1e-300)
    top = q_new[:, :k] @ vec
    q = np.hstack([top[:, keep], top[:, ~keep], q_new[:, k:]])
    sigma = lam[keep]
    return _Face(q, sigma * (budget / float(sigma.sum())))


# ------------------------------------------------------------------ the Lagrangian subproblem


def _solve_weighted(mod: _Model, w: float, budget: float | None, start: np.ndarray | None, tol: float,
                    max_iter: int, closed: _StealthClosedForm | None, kappa_cap: float | None,
                    accurate: bool = False) -> _Point:
    """Minimise ``I + w KL`` over ``{S >= 0, tr S <= budget}`` (no budget: ``w > 0``) with a certificate.

    ``kappa_cap`` is the cap (if any): without a budget the certificate is taken on
    ``{tr S <= Dbar}`` with ``Dbar`` from ``KL <= min(cap, J(S) / w)``.
    """
    stealth = w > 0.0 or kappa_cap is not None
    if stealth:
        mod.stealth_terms()
    if w > 0.0:
        assert closed is not None
        s_w = closed.attack(w)
        if budget is None or float(np.trace(s_w)) <= budget:
            # The unconstrained optimum, feasible: certify it on {KL <= min(cap, J / w)}, which holds
            # the optimum (w KL(S*) <= J(S*) <= J(s_w)) and, with a cap, every feasible point.
            mi, kl = _terms(mod, s_w, stealth=True)
            kappa = (mi + w * kl) / w * (1.0 + 1e-12)
            if kappa_cap is not None:
                kappa = min(kappa, kappa_cap)
            point = _white_certificate(mod, s_w, w, kappa)
            if budget is not None:  # also on the budget set; keep the better certificate
                plain = _evaluate(mod, s_w, w, stealth=True, budget=budget)
                point.lam_min = plain.lam_min
                point.gap = min(point.gap, plain.gap)
            return point
    assert budget is not None
    if budget == 0.0:  # the feasible set is {0}: exact
        point = _evaluate(mod, np.zeros((mod.m, mod.m)), w, stealth=stealth, budget=0.0)
        point.gap = 0.0
        return point
    best_start = start if start is not None else _isotropic_start(mod, budget, w)
    return _face_newton(mod, w, budget, best_start, tol, max_iter, stealth=stealth, accurate=accurate)


# ------------------------------------------------------------------ the public solver


def _one_blas_thread() -> contextlib.AbstractContextManager[Any]:
    """BLAS on one thread: threaded OpenBLAS slows down by 10-100x on a small shared machine."""
    if _threadpool_limits is None:  # pragma: no cover
        return contextlib.nullcontext()
    return _threadpool_limits(limits=1, user_api="blas")


def solve_blind(A, signal_cov, noise_cov, budget=None, *, stealth_weight=None, stealth_cap=None,
                warm: BlindWarmState | None = None, gap_tol: float = 1e-7, max_iter: int = _MAX_ITER,
                single_thread: bool = True) -> BlindSolution:
    """Certified optimal blind attack ``Delta ~ N(0, S)`` on ``X = A Y + N``.

    Minimises ``J(S) = I(S) + w KL(S)`` over ``S >= 0`` subject to ``tr S <= budget`` and
    ``KL(S) <= stealth_cap`` (each optional), where ``I(S) = 0.5 logdet(SX + S) - 0.5
    logdet(SN + S)`` and ``KL(S) = KL(N(0, SX + S) || N(0, SX))`` (see the module notes for
    the method and the certificates).

    Parameters
    ----------
    A : array_like, shape (m, n)
    signal_cov : float or array_like (n, n)
        ``SY``, positive definite (a scalar means that multiple of the identity).
    noise_cov : float or array_like (m, m)
        ``SN``, positive semidefinite; may be singular, correlated, heterogeneous.
    budget : float, optional
        ``D >= 0``, the bound on ``tr S``.
    stealth_weight : float, optional
        ``w >= 0``, the price of ``KL`` in the objective.
    stealth_cap : float, optional
        ``c >= 0``, the bound on ``KL``.
    warm : BlindWarmState, optional
        ``state`` of an earlier solution of the same model (another budget, weight or cap).
    gap_tol : float
        Target certified gap in nats.
    max_iter : int
        Cap on Newton iterations per subproblem.
    single_thread : bool
        Run BLAS on one thread (much faster on small shared machines).

    Returns
    -------
    BlindSolution

    Raises
    ------
    InvalidInputError
        (a ``ValueError``) for malformed inputs, or no budget and no stealth term (the attack
        is then unbounded: ``I(S) -> 0`` as ``S`` grows).
    """
    ctx = _one_blas_thread() if single_thread else contextlib.nullcontext()
    with ctx:
        return _solve_blind(A, signal_cov, noise_cov, budget, stealth_weight, stealth_cap, warm, gap_tol, max_iter)


def _solve_blind(A, signal_cov, noise_cov, budget, stealth_weight, stealth_cap, warm, gap_tol, max_iter
                 ) -> BlindSolution:
    d_full = _v.budget(budget, allow_none=True)
    w = 0.0 if stealth_weight is None else _v.scalar("stealth_weight", stealth_weight, nonneg=True)
    cap = None if stealth_cap is None else _v.scalar("stealth_cap", stealth_cap, nonneg=True)
    tol = _v.scalar("gap_tol", gap_tol, positive=True)
    max_iter = _v.integer("max_iter", max_iter, low=1)
    if d_full is None and w == 0.0 and cap is None:
        raise InvalidInputError("budget", "no budget and no stealth term: the attack is unbounded "
                                "(I(S) -> 0 as S grows); give a budget, a stealth_weight or a stealth_cap")
    stealth = stealth_weight is not None or cap is not None
    count = _Counter()
    mod = _build_model(A, signal_cov, noise_cov, count)
    m_full = mod.m_full
    if warm is not None and (not isinstance(warm, BlindWarmState) or warm.attack_cov.shape != (m_full, m_full)):
        raise InvalidInputError("warm", "expected the state of a solution of a model of the same size")
    if mod.m == 0 or not np.any(mod.r):  # no signal reaches X: nothing to hide, nothing spent
        return _trivial(mod, d_full, w, cap, stealth)
    d = None if d_full is None else d_full / mod.scale
    start = None
    if warm is not None and d is not None and d > 0.0:
        start = mod.from_full(warm.attack_cov)
        tr = float(np.trace(start))
        if tr > 0.0 and _cholesky(mod.sn + start * (d / tr)) is not None:
            start = start * (d / tr)
        else:
            start = None
        mod.big(mod.m)
    closed = _stealth_closed_form(mod) if (w > 0.0 or cap is not None) else None
    if cap is not None and cap == 0.0:  # KL(S) = 0 only at S = 0
        point = _evaluate(mod, np.zeros((mod.m, mod.m)), w, stealth=True, budget=0.0)
        point.gap = 0.0
        return _assemble(mod, point, w, d_full, cap, math.inf, stealth, lower=point.value)
    nu = 0.0
    if cap is None:
        point = _solve_weighted(mod, w, d, start, tol, max_iter, closed, None)
        count.iterations += point.iterations
        return _assemble(mod, point, w, d_full, None, None, stealth, lower=point.value - point.gap)
    point, nu, lower = _solve_capped(mod, w, d, cap, start, warm, tol, max_iter, closed)
    return _assemble(mod, point, w, d_full, cap, nu, stealth, lower=lower)


def _solve_capped(mod: _Model, w: float, d: float | None, cap: float, start: np.ndarray | None,
                  warm: BlindWarmState | None, tol: float, max_iter: int,
                  closed: _StealthClosedForm | None) -> tuple[_Point, float, float]:
    """The cap's multiplier by a 1-D search (``KL(S_nu) = cap``); returns the point, ``nu`` and the lower bound."""
    assert closed is not None
    count = mod.count
    cache: dict[float, _Point] = {}

    def solve_at(nu: float) -> _Point:
        if nu in cache:
            return cache[nu]
        near = start
        if d is not None and cache:  # the nearest solution or the commuting start, whichever is better
            key = min(cache, key=lambda x: abs(math.log1p(x) - math.log1p(nu)))
            near = cache[key].s * (d / max(float(np.trace(cache[key].s)), 1e-300))
            fresh = _isotropic_start(mod, d, w + nu)
            values = [mi + (w + nu) * kl for mi, kl in (_terms(mod, x, stealth=True) for x in (near, fresh))]
            near = near if values[0] <= values[1] else fresh
        # KL(S) must be accurate, not only the objective: converge S to rounding level
        p = _solve_weighted(mod, w + nu, d, near, tol, max_iter, closed, cap, accurate=True)
        count.iterations += p.iterations
        cache[nu] = p
        return p

    def finish(nu: float, p: _Point) -> tuple[_Point, float, float, float]:
        """The returned point (shrunk into the cap if needed), the lower bound, the gap and ``nu``.

        Weak duality: ``J* >= min [I + (w + nu) KL] - nu cap >= value_nu - gap_nu - nu cap``.
        """
        lower = p.value - p.gap - nu * cap
        if p.kl > cap:
            final = _shrink_to_cap(mod, p, w, cap)
        else:
            final = _Point(p.s, p.mi, p.kl, p.mi + w * p.kl, p.lam_min, p.gap, p.iterations)
        return final, lower, final.value - lower, nu

    if d is not None or w > 0.0:
        p_zero = solve_at(0.0)
        if p_zero.kl <= cap:  # the cap does not bind
            return p_zero, 0.0, p_zero.value - p_zero.gap
    if d is None:  # closed form: exact 1-D root on the closed-form KL
        f = lambda lg: closed.kl(w + math.exp(lg)) - cap  # noqa: E731
        a, b = -30.0, 30.0
        while f(b) > 0.0 and b < 700.0:
            b += 30.0
        while f(a) < 0.0 and a > -700.0:
            a -= 30.0
        nu = math.exp(float(scipy.optimize.brentq(f, a, b, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=500)))
        point = solve_at(nu)
    else:
        # bracket from a guess (the warm state's multiplier, or the commuting model's), then Illinois
        # on log KL against log(1 + nu): KL(S_nu) decreases in nu
        guess = warm.stealth_multiplier if warm is not None and warm.stealth_multiplier else None
        if not guess or not math.isfinite(guess):
            guess = _commuting_cap_multiplier(mod, w, d, cap)
        g = lambda p: math.log(max(p.kl, 1e-300)) - math.log(cap)  # noqa: E731
        x_lo, g_lo = 0.0, g(p_zero)
        x_hi = math.log1p(guess)
        point = solve_at(guess)
        g_hi = g(point)
        while g_hi > 0.0 and x_hi < 700.0:  # not bracketed yet: secant extrapolation, at most x 16 in nu
            step = -g_hi * (x_hi - x_lo) / (g_hi - g_lo) if g_hi < g_lo else math.log(16.0)
            x_lo, g_lo = x_hi, g_hi
            x_hi = x_hi + min(max(step, 1e-3 * max(1.0, x_hi)), math.log(16.0))
            point = solve_at(math.expm1(x_hi))
            g_hi = g(point)
        nu = math.expm1(x_hi)
        done = finish(nu, point)
        side = 0
        for _ in range(100):
            if done[2] <= tol or abs(x_hi - x_lo) <= 1e-15 * max(1.0, x_hi):
                break
            x = x_hi - g_hi * (x_hi - x_lo) / (g_hi - g_lo) if g_hi != g_lo else 0.5 * (x_lo + x_hi)
            if not x_lo < x < x_hi:
                x = 0.5 * (x_lo + x_hi)
            nu = math.expm1(x)
            point = solve_at(nu)
            candidate = finish(nu, point)
            if candidate[2] < done[2]:
                done = candidate
            gx = g(point)
            if gx > 0.0:
                x_lo, g_lo = x, gx
                if side == -1:
                    g_hi *= 0.5
                side = -1
            else:
                x_hi, g_hi = x, gx
                if side == 1:
                    g_lo *= 0.5
                side = 1
        return done[0], done[3], done[1]
    final, lower, _, nu = finish(nu, point)
    return final, nu, lower


def _commuting_cap_multiplier(mod: _Model, w: float, budget: float, cap: float) -> float:
    """The cap's multiplier in the commuting model (noise replaced by its mean variance): a first guess."""
    u, sv, _ = np.linalg.svd(mod.r_factor, full_matrices=False)
    r = sv * sv
    r = r[r > 1e-14 * max(float(r.max(initial=0.0)), 1e-300)]
    s_bar = float(np.trace(mod.sn)) / mod.m
    g = r + s_bar

    def excess(log_nu: float) -> float:
        sigma, _ = _commuting_attack(r, s_bar, w + math.exp(log_nu), budget)
        return 0.5 * float(np.sum(_x_minus_log1p(sigma / g))) - cap

    lo, hi = -25.0, 25.0
    if excess(lo) <= 0.0 or excess(hi) >= 0.0:
        return 1.0
    return math.exp(float(scipy.optimize.brentq(excess, lo, hi, xtol=1e-6)))


def _shrink_to_cap(mod: _Model, point: _Point, w: float, cap: float) -> _Point:
    """``t S`` with ``KL(t S) = cap`` (``t < 1``): ``KL`` grows along rays."""
    assert mod.sx_inv is not None
    fac = np.linalg.cholesky(mod.sx)
    mod.big(mod.m)
    white = scipy.linalg.solve_triangular(fac, scipy.linalg.solve_triangular(fac, point.s, lower=True).T, lower=True)
    lam = np.maximum(np.linalg.eigvalsh(0.5 * (white + white.T)), 0.0)
    mod.big(mod.m)
    kl = lambda t: 0.5 * float(np.sum(_x_minus_log1p(t * lam))) - cap  # noqa: E731
    t = 1.0
    if kl(1.0) > 0.0:
        t = float(scipy.optimize.brentq(kl, 0.0, 1.0, xtol=1e-16, rtol=4 * np.finfo(float).eps))
    s, mi, klv = point.s, point.mi, point.kl
    for i in range(60):
        s = point.s * t
        mi, klv = _terms(mod, s, stealth=True)
        if klv <= cap:
            break
        t *= 1.0 - 1e-14 * 2.0**i
    return _Point(s, mi, klv, mi + w * klv, math.nan, math.nan, point.iterations)


def _trivial(mod: _Model, d_full: float | None, w: float, cap: float | None, stealth: bool) -> BlindSolution:
    """No signal reaches ``X``: ``I = 0`` for every attack and ``S = 0`` is optimal."""
    m = mod.m_full
    return BlindSolution(np.zeros((m, m)), 0.0, 0.0 if stealth else None, 0.0, 0.0,
                         None if d_full is None else 0.0, None if cap is None else 0.0, 0.0, 0.0, 0,
                         mod.count.factorizations, BlindWarmState(np.zeros((m, m)), None if cap is None else 0.0))


def _assemble(mod: _Model, point: _Point, w: float, d_full: float | None, cap: float | None, nu: float | None,
              stealth: bool, *, lower: float) -> BlindSolution:
    s = mod.to_full(point.s)
    used = float(np.trace(s))
    if d_full is not None and used > d_full:
        s *= d_full / used * (1.0 - 4.0 * np.finfo(float).eps)
        used = float(np.trace(s))
    # I and KL recomputed at the returned S (reduced coordinates, plain Cholesky)
    mi, kl = _terms(mod, mod.from_full(s), stealth=stealth)
    objective = mi + w * kl
    dual = None
    if d_full is not None:
        lam_min = point.lam_min
        if not math.isfinite(lam_min):
            fresh = _evaluate(mod, mod.from_full(s), w + (nu or 0.0), stealth=stealth, budget=d_full / mod.scale)
            lam_min = fresh.lam_min
        dual = max(0.0, -lam_min) / mod.scale if math.isfinite(lam_min) else math.inf
    lower = min(lower, objective)
    gap = objective - lower if math.isfinite(objective) else (0.0 if lower == objective else math.inf)
    return BlindSolution(s, float(mi), float(kl) if stealth else None, float(objective), used, dual,
                         None if cap is None else float(nu if nu is not None else 0.0), float(lower),
                         float(gap), int(mod.count.iterations), int(mod.count.factorizations),
                         BlindWarmState(s, None if cap is None else nu))
