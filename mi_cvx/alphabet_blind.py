"""A fast solver for the blind discrete attacker on large alphabets (docs/theory.md sections 5, 8 and 9).

The blind attacker adds noise modulo the alphabet, ``Xhat = X + W mod k`` with
``W ~ w`` independent of ``(X, Y)``.  The conic model
(:func:`mi_cvx.discrete_channel` with ``knows="nothing"``) has ``k^2 l`` cone
entries; here the problem is solved directly in the ``k`` unknowns ``w``:

    minimise    I(Y; Xhat) + s KL(P_Xhat || P_X)
    subject to  w in the simplex,   sum_j w_j c_j <= D,   KL(P_Xhat || P_X) <= cap,

with ``c_j = sum_x p(x) d(x, x + j mod k)`` the cost of the shift ``j``.  Both
``P(xhat | y) = sum_x p(x | y) w(xhat - x mod k)`` and ``P_Xhat`` are circular
convolutions of ``w`` (one FFT pass over the ``k x l`` table), and both terms
of the objective are convex functions of them, hence of ``w``.

Method
------
A primal-dual interior-point method on ``w`` (Newton steps on the perturbed
optimality conditions ``z_j w_j = mu``, ``lam (D - c.w) = mu``; the equality
``sum w = 1`` by a Schur complement; fraction-to-the-boundary steps, Armijo on
the primal barrier function; ``mu`` a tenth of the mean complementarity).  It
takes 10-40 Newton steps whatever ``k`` (first-order methods -- exponentiated
gradient, Frank-Wolfe -- converge sublinearly, too slowly for a ``1e-7`` certified gap).  The exact
Hessian is dense but cheap: each class contributes ``B_y' diag(1 / P(y, .)) B_y``
with ``B_y`` circulant, and ``H[i, i + delta] = sum_u a(u) a(u - delta) d(u + i)``
is, for every lag ``delta``, a cross-correlation of a fixed sequence with ``d``:
one contraction of precomputed spectra with ``rfft(d)`` and one ``k x k``
inverse real FFT, ``O(l k^2 + k^2 log k)`` (no ``k^3`` products).  The Newton
system is one Jacobi-scaled ``k x k`` Cholesky factorisation.

FFT rounding is absolute, so convolution entries far below their row's largest
are recomputed by direct sums, and Hessian weights far above their mean are
added exactly rather than through the FFT; small alphabets (``k <= 64``) use
dense products throughout.

Certificate
-----------
The feasible set is a compact polytope and ``F`` is convex, so at any feasible
``w`` with gradient ``g``, ``F* >= F(w) - (g.w - min_v g.v)`` (the Frank-Wolfe
gap).  The linear programme ``min g.v`` over ``{simplex, c.v <= D}`` has an
optimal vertex with at most two non-zeros (one shift with ``c_j <= D``, or a pair
``c_i <= D < c_j`` mixed to cost ``D``), found exactly; its dual is the budget
multiplier.  The solver stops once ``objective - lower_bound <= gap_tol``.

A cap on ``KL`` is handled by its Lagrangian: for every ``nu >= 0``,
``min over the budget set of [I + (s + nu) KL] - nu cap`` bounds the capped optimum
from below (each inner minimum certified by its own Frank-Wolfe gap), and the
minimiser's ``KL`` falls as ``nu`` grows; a 1-d search on ``nu`` (Newton on the
dual function, safeguarded by a bracket, warm-started inner solves) closes in on
the ``nu`` where it crosses the cap.  The answer is the best cap-feasible point met (an
inner minimiser under the cap, a mixture of two across it, or one over it
mixed with the zero shift, whose KL is 0).
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.fft
import scipy.linalg
from scipy.special import rel_entr

from . import validate as _v
from .errors import InvalidInputError
from .info import mutual_information

try:  # OpenBLAS' threaded Cholesky is pathologically slow on small shared machines (seconds at k = 1024)
    from threadpoolctl import threadpool_limits as _threadpool_limits  # type: ignore[import-untyped]
except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn, a dependency
    _threadpool_limits = None

__all__ = ["BlindAlphabetSolution", "solve_alphabet_blind"]

#: Alphabets up to this size use exact dense products instead of FFTs (cheaper there, and exact).
_DIRECT_MAX_K = 64
#: FFT convolution entries below this fraction of their row's largest are recomputed exactly.
_SMALL_ENTRY = 1e-6
#: Hessian weights ``1 / R`` above this multiple of their mean ``k / p(y)`` are added exactly (not by FFT).
_BIG_WEIGHT = 1e6
#: Largest precomputed table of lag spectra (bytes); beyond it they are recomputed at each Hessian.
_SPECTRA_BYTES = 256 * 2**20
#: The barrier parameter is this fraction of the mean complementarity.
_SIGMA = 0.1
#: A warm start is mixed with this much of the uniform pmf (every shift strictly positive).
_WARM_MIX = 1e-9
#: Multipliers are kept within this factor of their central values ``mu / w``.
_KAPPA = 1e10
#: Damping added to the unit diagonal of the Jacobi-scaled Newton matrix (raised 100-fold, up to 1,
#: after a failed line search).
_REG = 1e-4
#: Steps stop this fraction of the way to the boundary of the positive orthant.
_TO_BOUNDARY = 0.99


@dataclass(frozen=True)
class BlindAlphabetSolution:
    """An optimal blind attack ``Xhat = X + W mod k`` with its certificate.

    Attributes
    ----------
    noise_pmf : ndarray, shape (k,)
        The pmf ``w`` of the shift ``W``.
    channel : ndarray, shape (k, l, k)
        ``channel[x, y, xh] = w[(xh - x) mod k]`` (the same for every ``y``; a
        read-only broadcast view).
    mi : float
        ``I(Y; Xhat)`` in nats, recomputed in plain numpy from ``w``.
    kl : float or None
        ``KL(P_Xhat || P_X)`` in nats (None without a stealth weight or cap).
    objective : float
        ``mi + stealth_weight * kl``.
    budget_used : float
        ``sum_j w_j c_j``, the expected distortion.
    dual : float or None
        The budget multiplier (``-d objective / d budget``), from the dual of the
        certificate's linear programme (0 when the budget does not bind; at a
        budget only the cheapest shifts meet, the one-sided price of moving to a
        dearer shift, ``inf`` when infinite); None without a budget.
    dual_stealth : float or None
        The multiplier ``nu`` of the cap ``KL <= cap`` whose Lagrangian bound is
        ``lower_bound`` (0 when the cap does not bind); None without a cap.
    lower_bound : float
        A certified lower bound on the optimal objective.
    gap : float
        ``objective - lower_bound >= 0``.
    iterations : int
        Newton steps taken.
    passes : int
        Evaluations of the ``k x l`` convolution or of its adjoint (one FFT
        pass each; a Newton step also builds one dense Hessian).
    state : Any
        Pass as ``warm=`` to a later solve of a nearby problem.
    """

    noise_pmf: np.ndarray
    channel: np.ndarray
    mi: float
    kl: float | None
    objective: float
    budget_used: float
    dual: float | None
    dual_stealth: float | None
    lower_bound: float
    gap: float
    iterations: int
    passes: int
    state: Any


# ------------------------------------------------------------------ the model


class _Blind:
    """The data of one problem and its convolution oracles, on the shifts ``J`` the solver may use."""

    def __init__(self, p: np.ndarray, cost: np.ndarray, index: np.ndarray):
        k = p.shape[0]
        self.k = k
        self.p = p  # (k, l), live classes only
        self.pT = np.ascontiguousarray(p.T)  # (l, k)
        self.py = p.sum(axis=0)
        self.px = p.sum(axis=1)
        self.log_py = np.log(self.py)
        self.log_px = np.where(self.px > 0, np.log(np.where(self.px > 0, self.px, 1.0)), -np.inf)
        self.cost = cost
        self.J = index
        self.n = index.size
        self.direct = k <= _DIRECT_MAX_K
        self.passes = 0
        ar = np.arange(k)
        if self.direct:
            self.shift_idx = (ar[None, :] - ar[:, None]) % k  # [x, z] -> z - x
            self.corr_idx = (ar[:, None] + ar[None, :]) % k  # [x, j] -> x + j
            self.circ_idx = (ar[:, None] - ar[None, :]) % k  # [z, j] -> z - j
        else:
            self.p_hat = scipy.fft.rfft(self.pT, axis=1)
            self.px_hat = scipy.fft.rfft(self.px)
            self.lag_idx = ((ar[None, :] - ar[:, None]) % k).astype(np.intp)  # [delta, u] -> u - delta
            self._spectra: np.ndarray | None = None  # the lag spectra of the classes and of p_x, built on demand
            self._take: np.ndarray | None = None  # flat indices of H[J, J] in the lagged table

    # ---- evaluations

    def full(self, wJ: np.ndarray) -> np.ndarray:
        w = np.zeros(self.k)
        w[self.J] = wJ
        return w

    def conv(self, wJ: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``R[y, z] = P(y, Xhat = z)`` and ``P[z] = P(Xhat = z)``."""
        self.passes += 1
        w = self.full(wJ)
        if self.direct:
            R = self.pT @ w[self.shift_idx]
        else:
            R = scipy.fft.irfft(self.p_hat * scipy.fft.rfft(w)[None, :], n=self.k, axis=1)
            small = R < _SMALL_ENTRY * R.max(axis=1, keepdims=True)
            if np.any(small):
                ys, zs = np.nonzero(small)
                R[ys, zs] = self._exact_entries(w, ys, zs)
        return R, R.sum(axis=0)

    def _exact_entries(self, w: np.ndarray, ys: np.ndarray, zs: np.ndarray) -> np.ndarray:
        """``sum_x p(x, y) w(z - x)`` for the listed cells, summed directly (FFT rounding is absolute)."""
        k = self.k
        ar = np.arange(k)
        out = np.empty(ys.size)
        step = max(1, (1 << 20) // k)
        for s in range(0, ys.size, step):
            y, z = ys[s:s + step], zs[s:s + step]
            out[s:s + step] = np.einsum("ij,ij->i", self.pT[y], w[(z[:, None] - ar[None, :]) % k])
        return out

    def values(self, R: np.ndarray, P: np.ndarray, need_kl: bool) -> tuple[float, float]:
        """``(I(Y; Xhat), KL(P_Xhat || P_X))`` (the KL 0 when not needed)."""
        pos = R > 0
        logP = np.log(np.where(P > 0, P, 1.0))
        terms = np.where(pos, R * (np.log(np.where(pos, R, 1.0)) - self.log_py[:, None] - logP[None, :]), 0.0)
        mi = float(terms.sum())
        if not need_kl:
            return mi, 0.0
        if np.any((P > 0) & (self.px <= 0)):
            return mi, math.inf
        kl = float(np.sum(np.where(P > 0, P * (logP - np.where(self.px > 0, self.log_px, 0.0)), 0.0)))
        return mi, kl

    def gradients(self, R: np.ndarray, P: np.ndarray, need_kl: bool) -> tuple[np.ndarray, np.ndarray]:
        """Gradients of ``I`` and ``KL`` with respect to ``w`` on ``J`` (adjoint convolutions)."""
        self.passes += 1
        pos = R > 0
        logP = np.log(np.where(P > 0, P, 1.0))
        G = np.where(pos, np.log(np.where(pos, R, 1.0)) - self.log_py[:, None] - logP[None, :], 0.0)
        GK = np.where((P > 0) & (self.px > 0), logP - np.where(self.px > 0, self.log_px, 0.0) + 1.0, 0.0)
        if self.direct:
            gI = (self.p @ G)[np.arange(self.k)[:, None], self.corr_idx].sum(axis=0)
            gK = np.outer(self.px, GK)[np.arange(self.k)[:, None], self.corr_idx].sum(axis=0) if need_kl else None
        else:
            spec = np.sum(np.conj(self.p_hat) * scipy.fft.rfft(G, axis=1), axis=0)
            if need_kl:
                both = scipy.fft.irfft(np.stack([spec, np.conj(self.px_hat) * scipy.fft.rfft(GK)]), n=self.k, axis=1)
                gI, gK = both[0], both[1]
            else:
                gI, gK = scipy.fft.irfft(spec, n=self.k), None
        return gI[self.J], (gK[self.J] if gK is not None else np.zeros(self.n))

    def hessian(self, R: np.ndarray, P: np.ndarray, coef_R: float, coef_P: float) -> np.ndarray:
        """``coef_R sum_y B_y' diag(1/R_y) B_y + coef_P B' diag(1/P) B`` on ``J`` (``B_y[z, j] = p(z - j, y)``)."""
        dR = np.where(R > 0, 1.0 / np.where(R > 0, R, 1.0), 0.0)
        dP = np.where(P > 0, 1.0 / np.where(P > 0, P, 1.0), 0.0)
        J = self.J
        if self.direct:
            H = np.zeros((self.n, self.n))
            if coef_R:
                B = self.pT[:, self.circ_idx[:, J]]  # (l, k, n)
                H += coef_R * np.einsum("yzi,yz,yzj->ij", B, dR, B)
            if coef_P:
                Bx = self.px[self.circ_idx[:, J]]
                H += coef_P * (Bx.T * dP[None, :]) @ Bx
            return 0.5 * (H + H.T)
        terms = [(y, dR[y], coef_R, _BIG_WEIGHT * self.k / self.py[y]) for y in range(self.pT.shape[0])] if coef_R \
            else []
        if coef_P:
            terms.append((-1, dP, coef_P, _BIG_WEIGHT * self.k))
        return self._lag_hessian(terms)

    def _row(self, which: int) -> np.ndarray:
        return self.px if which < 0 else self.pT[which]

    def _lag_spectrum(self, a: np.ndarray) -> np.ndarray:
        """``conj(rfft_u(a(u) a(u - delta)))`` for every lag ``delta``, frequency-major: ``(k // 2 + 1, k)``."""
        return np.conj(scipy.fft.rfft(a[None, :] * a[self.lag_idx], axis=1)).T

    def _lag_hessian(self, terms: list[tuple[int, np.ndarray, float, float]]) -> np.ndarray:
        """``sum coef B_a' diag(d) B_a`` on ``J`` for circulant ``B_a[z, j] = a(z - j)``, in ``O(k^2)`` per term.

        With ``u = z - i`` and ``delta = j - i``,
        ``H[i, i + delta] = sum_u a(u) a(u - delta) d(u + i)``: for each lag a cross-correlation
        of the fixed sequence ``a(u) a(u - delta)`` with ``d``, so one ``k x k`` inverse real FFT
        after a contraction of precomputed spectra with ``rfft(d)``.  Weights above their
        ``cap`` are clipped there and their excess added exactly (FFT rounding is absolute).
        """
        k, J = self.k, self.J
        ell = self.pT.shape[0]
        if self._spectra is None and (ell + 1) * k * (k // 2 + 1) * 16 <= _SPECTRA_BYTES:
            # (frequency, row, lag): row 0 is p_x, row y + 1 class y
            self._spectra = np.ascontiguousarray(
                np.stack([self._lag_spectrum(self._row(y)) for y in range(-1, ell)], axis=1))
        if self._take is None:
            self._take = (J[:, None] * k + (J[None, :] - J[:, None]) % k).astype(np.intp)
        exact: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        weights = np.zeros((k // 2 + 1, ell + 1), dtype=complex)
        for which, d, coef, cap in terms:
            big = d > cap
            if np.any(big):
                z = np.flatnonzero(big)
                exact.append((self._row(which), z, coef * (d[z] - cap)))
                d = np.minimum(d, cap)
            weights[:, which + 1] = coef * scipy.fft.rfft(d)
        if self._spectra is not None:
            spec = np.matmul(weights[:, None, :], self._spectra)[:, 0, :]  # (frequency, lag)
        else:
            spec = np.zeros((k // 2 + 1, k), dtype=complex)
            for which, _, _, _ in terms:
                spec += weights[:, which + 1, None] * self._lag_spectrum(self._row(which))
        lagged = scipy.fft.irfft(spec, n=k, axis=0)  # lagged[i, delta] = H[i, i + delta]
        H = np.take(lagged, self._take)
        for a, z, extra in exact:  # rows B[z, J] = a(z - J)
            rows = a[(z[:, None] - J[None, :]) % k]
            H += (rows.T * extra[None, :]) @ rows
        return 0.5 * (H + H.T)


# ------------------------------------------------------------------ the certificate


def _lp_min(g: np.ndarray, c: np.ndarray, budget: float | None) -> tuple[float, float]:
    """``min g.v`` over ``{v >= 0, sum v = 1, c.v <= budget}`` and the budget's multiplier.

    An optimal vertex has one non-zero (``c_j <= budget``) or two (``c_i <= budget < c_j``,
    mixed to cost ``budget``); the pairs are searched exactly, in chunks.
    """
    if budget is None:
        return float(g.min()), 0.0
    low = c <= budget
    best = float(g[low].min())
    lam = 0.0
    high = ~low & (g < best)
    if not np.any(high):
        return best, lam
    gl, cl = g[low], c[low]
    gh, ch = g[high], c[high]
    step = max(1, (1 << 20) // gh.size)
    for s in range(0, gl.size, step):
        gi, ci = gl[s:s + step, None], cl[s:s + step, None]
        t = (budget - ci) / (ch[None, :] - ci)  # weight on the expensive shift j
        val = gi + t * (gh[None, :] - gi)
        flat = int(np.argmin(val))
        i, j = np.unravel_index(flat, val.shape)
        if val[i, j] < best:
            best = float(val[i, j])
            lam = float((gi[i, 0] - gh[j]) / (ch[j] - ci[i, 0]))
    return best, max(lam, 0.0)


@dataclass
class _Point:
    """An iterate with its values and gradients."""

    w: np.ndarray
    R: np.ndarray
    P: np.ndarray
    mi: float
    kl: float
    gI: np.ndarray
    gK: np.ndarray


@dataclass
class _Duals:
    """Multipliers of ``w >= 0`` and of the budget, with the last barrier parameter."""

    z: np.ndarray
    lam: float
    mu: float


class _Solver:
    """Primal-dual interior-point method for ``wI I + wK KL`` over ``{w on J, sum w = 1, c.w <= D}``."""

    def __init__(self, model: _Blind, wI: float, wK: float, budget: float | None):
        self.m = model
        self.wI, self.wK = wI, wK
        self.budget = budget
        self.need_kl = wK != 0.0
        self.cJ = model.cost[model.J]

    def point(self, w: np.ndarray) -> _Point:
        R, P = self.m.conv(w)
        mi, kl = self.m.values(R, P, True)
        gI, gK = self.m.gradients(R, P, self.need_kl)
        return _Point(w, R, P, mi, kl, gI, gK)

    def objective(self, pt: _Point) -> float:
        return self.wI * pt.mi + (self.wK * pt.kl if self.wK else 0.0)

    def bound(self, pt: _Point) -> tuple[float, float]:
        """The Frank-Wolfe lower bound ``F(w) - (g.w - min_v g.v)`` and the budget multiplier of the LP."""
        g = self.wI * pt.gI + self.wK * pt.gK if self.wK else self.wI * pt.gI
        lp, lam = _lp_min(g, self.cJ, self.budget)
        return self.objective(pt) - (float(g @ pt.w) - lp), lam

    def slack(self, w: np.ndarray) -> float:
        return self.budget - float(self.cJ @ w) if self.budget is not None else math.inf

    def barrier_value(self, w: np.ndarray, mi: float, kl: float, mu: float, s: float) -> float:
        if s <= 0 or np.any(w <= 0):
            return math.inf
        val = self.wI * mi + (self.wK * kl if self.wK else 0.0) - mu * float(np.sum(np.log(w)))
        return val - mu * math.log(s) if self.budget is not None else val

    def kl_slope(self, w: np.ndarray, duals: _Duals) -> float:
        """``d KL / d wK`` along the minimisers at ``w`` (negative): ``gK' dw`` with ``H dw = -gK`` on the
        tangent space of the constraints (``H`` with the barrier curvature of the final multipliers)."""
        pt = self.point(w)
        H = self.m.hessian(pt.R, pt.P, self.wI, self.wK - self.wI)
        H[np.diag_indices_from(H)] += duals.z / w
        s = self.slack(w)
        if self.budget is not None and s > 0:
            d = _newton_direction(H, pt.gK, self.cJ, duals.lam / s, _REG)
        else:
            d = _newton_direction(H, pt.gK, reg=_REG)
        return float(pt.gK @ (d - w * d.sum()))

    def run(self, w0: np.ndarray, tol: float, max_iter: int,
            duals: tuple[np.ndarray, float] | None = None) -> tuple[_Point, float, float, _Duals, int]:
        """Iterate from the interior point ``w0`` until the certified gap is at most ``tol``.

        The budget gets a slack variable ``s`` (``c.w + s = D``, kept by the Newton steps; its
        own updates keep it accurate where ``D - c.w`` would cancel).  The multipliers ``z`` of
        ``w >= 0`` and ``lam`` of ``s >= 0`` are iterated with the primal point: Newton on the
        perturbed conditions ``z w = mu``, ``lam s = mu`` (the ``k x k`` system's curvature from
        the multipliers, its right-hand side the gradient of the primal barrier function, which
        is the merit function of the line search), ``mu`` a tenth of the mean complementarity
        (never increasing), the multipliers kept within a factor ``1e10`` of ``mu / w``, ``mu / s``.
        Returns the last point, its lower bound and LP budget multiplier, the multipliers and the
        number of Newton steps.
        """
        pt = self.point(w0)
        n = self.m.n
        lower, lp_lam = self.bound(pt)
        budget = self.budget is not None
        s = self.slack(pt.w) if budget else 1.0
        if duals is not None and duals[0].shape == (n,) and np.all(duals[0] > 0):
            z, lam = duals[0].copy(), max(duals[1], 1e-300)
        else:
            mu0 = max(self.objective(pt) - lower, 1e-12) / (n + 1)
            z, lam = mu0 / pt.w, mu0 / s
        if not budget:
            lam = 0.0
        n_cons = n + budget
        mu = math.inf
        mu_floor = 0.01 * tol / n_cons
        reg = _REG
        it = 0
        while it < max_iter and self.objective(pt) - lower > tol:
            w = pt.w
            compl = float(z @ w) + lam * s
            mu = max(min(mu, _SIGMA * compl / n_cons), mu_floor)
            H = self.m.hessian(pt.R, pt.P, self.wI, self.wK - self.wI)
            H[np.diag_indices_from(H)] += z / w
            grad = self.wI * pt.gI + self.wK * pt.gK - mu / w if self.wK else self.wI * pt.gI - mu / w
            if budget:
                resid = float(self.cJ @ w) + s - float(self.budget or 0.0)  # rounding only: Newton keeps c.w + s = D
                grad_b = grad + ((mu + lam * resid) / s) * self.cJ
                dw = _newton_direction(H, grad_b, self.cJ, lam / s, reg)
            else:
                dw = _newton_direction(H, grad, reg=reg)
            dw -= w * dw.sum()  # sum dw = 0 exactly (a multiple of w keeps the small entries' scale)
            ds = -resid - float(self.cJ @ dw) if budget else 0.0
            slope = float(grad @ dw) - (mu / s) * ds if budget else float(grad @ dw)
            dz = mu / w - z - (z / w) * dw
            dlam = (mu - lam * s - lam * ds) / s if budget else 0.0
            # primal step: fraction to the boundary, then Armijo on the barrier function
            alpha = 1.0
            neg = dw < 0
            if np.any(neg):
                alpha = min(alpha, _TO_BOUNDARY * float(np.min(-w[neg] / dw[neg])))
            if ds < 0:
                alpha = min(alpha, _TO_BOUNDARY * s / -ds)
            phi = self.barrier_value(w, pt.mi, pt.kl, mu, s)
            accepted = None
            for _ in range(40):
                w_new = np.maximum(w + alpha * dw, 0.0)
                w_new /= w_new.sum()
                s_new = s + alpha * ds
                R, P = self.m.conv(w_new)
                mi, kl = self.m.values(R, P, True)
                phi_new = self.barrier_value(w_new, mi, kl, mu, s_new)
                tiny = abs(alpha * slope) <= 1e-13 * (1.0 + abs(phi))
                if phi_new <= phi + 1e-4 * alpha * slope or (tiny and math.isfinite(phi_new)):
                    accepted = (w_new, s_new, R, P, mi, kl)
                    break
                alpha *= 0.5
            it += 1
            if accepted is None:
                if reg >= 1.0:
                    break  # no progress possible at this precision
                reg *= 100.0  # a shorter, steeper step
                continue
            reg = _REG
            # dual step: fraction to the boundary, then the safeguard around mu / w and mu / s
            beta = 1.0
            negz = dz < 0
            if np.any(negz):
                beta = min(beta, _TO_BOUNDARY * float(np.min(-z[negz] / dz[negz])))
            if dlam < 0:
                beta = min(beta, _TO_BOUNDARY * lam / -dlam)
            w_new, s, R, P, mi, kl = accepted
            z = np.clip(z + beta * dz, mu / (_KAPPA * w_new), _KAPPA * mu / w_new)
            if budget:
                lam = min(max(lam + beta * dlam, mu / (_KAPPA * s)), _KAPPA * mu / s)
            gI, gK = self.m.gradients(R, P, self.need_kl)
            pt = _Point(w_new, R, P, mi, kl, gI, gK)
            lower, lp_lam = self.bound(pt)
        return pt, lower, lp_lam, _Duals(z, lam, mu), it


def _newton_direction(H: np.ndarray, grad: np.ndarray, c: np.ndarray | None = None, rho: float = 0.0,
                      reg: float = 0.0) -> np.ndarray:
    """``dw`` solving ``(H + rho c c') dw + eta 1 = -grad``, ``sum dw = 0``.

    A Jacobi-scaled Cholesky factorisation of ``H`` alone, damped by ``reg`` on the unit
    diagonal (Levenberg-Marquardt: ``I(Y; Xhat)`` is flat along every noise law the classes
    cannot tell apart, e.g. the high frequencies of ``w`` when ``p(x | y)`` is smooth, so ``H``
    can be numerically singular, and an undamped step there is rounding noise; a shorter step
    along those directions changes nothing).  The rank-one budget term (``rho =
    lam / slack`` grows without bound as the budget binds) and the equality enter through a
    2 x 2 Schur complement, ``t = rho c.dw`` eliminated as ``c.dw - t / rho = 0``, with ``c``
    first made ``H^-1``-orthogonal to ``1`` (adding a multiple of ``1`` changes nothing on
    ``sum dw = 0``, and keeps the 2 x 2 system well conditioned, e.g. for Hamming's ``c = 1 - e_0``).
    """
    scale = 1.0 / np.sqrt(np.maximum(np.diag(H), np.finfo(float).tiny))
    Hs = H * scale[:, None] * scale[None, :]
    Hs[np.diag_indices_from(Hs)] += reg
    ones = np.ones_like(grad)
    if c is None or rho <= 0.0:
        sol = _psd_solve(Hs, np.stack([-grad * scale, scale], axis=1))
        d1, u = sol[:, 0] * scale, sol[:, 1] * scale
        return d1 - (d1.sum() / u.sum()) * u
    sol = _psd_solve(Hs, np.stack([-grad * scale, c * scale, scale], axis=1)) * scale[:, None]
    x0, xc, x1 = sol[:, 0], sol[:, 1], sol[:, 2]
    gamma = float(ones @ xc) / float(ones @ x1)
    c = c - gamma
    xc = xc - gamma * x1
    # dw = x0 - t xc - eta x1 with c.dw = t / rho and 1.dw = 0
    a = np.array([[float(c @ xc) + 1.0 / rho, float(c @ x1)], [float(ones @ xc), float(ones @ x1)]])
    b = np.array([float(c @ x0), float(ones @ x0)])
    t, eta = np.linalg.solve(a, b)
    return x0 - t * xc - eta * x1


def _psd_solve(H: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solve ``H x = rhs`` for a (numerically) positive definite ``H``, regularising if Cholesky fails."""
    reg = 0.0
    eye = np.eye(H.shape[0])
    for _ in range(12):
        try:
            fac = scipy.linalg.cho_factor(H + reg * eye if reg else H, check_finite=False)
            return scipy.linalg.cho_solve(fac, rhs, check_finite=False)
        except np.linalg.LinAlgError:
            reg = 1e-12 if reg == 0.0 else reg * 100.0
    return np.linalg.lstsq(H, rhs, rcond=None)[0]


def _one_blas_thread() -> contextlib.AbstractContextManager[Any]:
    """BLAS on one thread: the products here are small, and threaded OpenBLAS (its Cholesky above all)
    slows down by 10-100x on a small machine shared with other processes."""
    if _threadpool_limits is None:  # pragma: no cover
        return contextlib.nullcontext()
    return _threadpool_limits(limits=1, user_api="blas")


# ------------------------------------------------------------------ the public solver


def _allowed_shifts(px: np.ndarray) -> np.ndarray:
    """Shifts ``j`` that keep the support of ``p_x`` in itself (others make ``KL(P_Xhat || P_X)`` infinite)."""
    k = px.size
    xs = np.flatnonzero(px > 0)
    ok = (px > 0)[(xs[None, :] + np.arange(k)[:, None]) % k].all(axis=1)
    return np.flatnonzero(ok)


def _shift_costs(px: np.ndarray, d: np.ndarray) -> np.ndarray:
    """``c_j = sum_x p(x) d(x, x + j mod k)``."""
    k = px.size
    ar = np.arange(k)
    return d[ar[None, :], (ar[None, :] + ar[:, None]) % k] @ px


def _plain_values(p: np.ndarray, w: np.ndarray, need_kl: bool) -> tuple[float, float | None]:
    """``I(Y; Xhat)`` and ``KL(P_Xhat || P_X)`` from ``w`` by the definition (a dense circulant product)."""
    k = w.size
    ar = np.arange(k)
    shift = w[(ar[None, :] - ar[:, None]) % k]  # shift[x, xh] = w(xh - x)
    joint = p.T @ shift
    mi = mutual_information(joint)
    if not need_kl:
        return mi, None
    px = p.sum(axis=1)
    return mi, max(float(np.sum(rel_entr(joint.sum(axis=0), px))), 0.0)


def solve_alphabet_blind(p_xy, distortion, budget, *, stealth_weight=None, stealth_cap=None, warm=None,
                         gap_tol: float = 1e-7, max_iter: int = 500) -> BlindAlphabetSolution:
    """The optimal blind attack ``Xhat = X + W mod k`` on a large alphabet, with a certified gap.

    Minimises ``I(Y; Xhat) + stealth_weight * KL(P_Xhat || P_X)`` over the pmf
    ``w`` of ``W`` (independent of ``(X, Y)``) subject to the expected
    distortion ``sum_j w_j c_j <= budget`` (``c_j = sum_x p(x) d(x, x + j mod
    k)``) and ``KL(P_Xhat || P_X) <= stealth_cap`` (docs/theory.md sections 8-9).
    The same problem as :func:`mi_cvx.discrete_channel` with ``knows="nothing"``,
    in ``k`` unknowns instead of ``k^2 l`` (see the module docstring for the method).

    Parameters
    ----------
    p_xy : array_like, shape (k, l)
        Joint pmf ``p[x, y]`` (zero cells, rows and classes allowed).
    distortion : array_like, shape (k, k), or None
        Non-negative cost ``d[x, xh]``; None for Hamming.
    budget : float or None
        Bound ``D`` on the expected distortion; None (no budget) only with a
        stealth weight or cap.
    stealth_weight : float, optional
        ``s >= 0``, the weight of ``KL(P_Xhat || P_X)`` in the objective.
    stealth_cap : float, optional
        Cap on ``KL(P_Xhat || P_X)`` in nats.
    warm : Any, optional
        ``state`` of an earlier solution (same ``k``): the solve starts there.
    gap_tol : float
        Stop once the certified gap ``objective - lower_bound`` is at most this (nats).
    max_iter : int
        Most Newton steps; the solution's ``gap`` says how far it got.

    Returns
    -------
    BlindAlphabetSolution

    Raises
    ------
    InvalidInputError
        If ``p_xy`` is not a 2-d pmf, ``distortion`` not a non-negative finite
        ``k x k`` matrix, ``budget`` negative or below the cheapest shift's cost,
        ``budget`` None without a stealth term, the weight or cap negative,
        ``gap_tol`` not positive, or the budget and the cap cannot both hold.

    Notes
    -----
    With a stealth weight or cap, shifts that move ``X``'s support outside
    itself make ``KL`` infinite and are excluded (as in the conic model).  A cap
    of 0 asks for ``P_Xhat = P_X``: the noise laws that keep it are exactly those
    on the shifts that leave ``p_x`` invariant (``p_x * w = p_x`` forces
    ``w^(m) = 1`` wherever ``p_x^(m) != 0``), which the solver then uses.

    Examples
    --------
    >>> import numpy as np
    >>> p = np.array([[0.4, 0.1], [0.1, 0.4]])
    >>> sol = solve_alphabet_blind(p, None, 0.1)
    >>> round(float(sol.noise_pmf[1]), 6), sol.gap <= 1e-7
    (0.1, True)
    """
    p = _v.pmf("p_xy", p_xy, ndim=2)
    k = p.shape[0]
    if distortion is None:
        d = 1.0 - np.eye(k)
    else:
        d = _v.array("distortion", distortion, ndim=2, shape=(k, k))
        if np.any(d < 0):
            raise InvalidInputError("distortion", f"entries must be non-negative, smallest is {d.min():g}")
    D = _v.budget(budget, allow_none=True)
    s = None if stealth_weight is None else _v.scalar("stealth_weight", stealth_weight, nonneg=True)
    cap = None if stealth_cap is None else _v.scalar("stealth_cap", stealth_cap, nonneg=True)
    tol = _v.scalar("gap_tol", gap_tol, positive=True)
    max_iter = _v.integer("max_iter", max_iter, low=0)
    stealthy = s is not None or cap is not None
    if D is None and not stealthy:
        raise InvalidInputError("budget", "is required without a stealth weight or cap (a non-negative number)")
    with _one_blas_thread():
        return _solve(p, d, D, s, cap, warm, tol, max_iter)


def _solve(p: np.ndarray, d: np.ndarray, D: float | None, s: float | None, cap: float | None, warm: Any,
           tol: float, max_iter: int) -> BlindAlphabetSolution:
    """:func:`solve_alphabet_blind` on checked inputs."""
    k = p.shape[0]
    stealthy = s is not None or cap is not None
    weight = s if s is not None else 0.0

    px = p.sum(axis=1)
    cost = _shift_costs(px, d)
    candidates = _allowed_shifts(px) if stealthy else np.arange(k)
    if cap == 0.0:
        # KL = 0 means P_Xhat = P_X: the shifts under which p_x is invariant (their mixtures keep it)
        candidates = np.array([j for j in candidates if np.array_equal(px, np.roll(px, j))], dtype=np.intp)
    index, budget_eff, degenerate = _budget_face(candidates, cost, D, stealthy)
    live = p.sum(axis=0) > 0
    model = _Blind(p[:, live], cost, index)
    warm_w, warm_duals = _warm(warm, model)

    if cap is None or cap == 0.0:
        run = _free(model, weight, budget_eff, warm_w, warm_duals, tol, max_iter)
    else:
        warm_nu = warm.get("nu") if isinstance(warm, dict) and warm_w is not None else None
        run = _capped(model, weight, budget_eff, cap, warm_w, warm_duals,
                      float(warm_nu) if isinstance(warm_nu, (int, float)) and math.isfinite(warm_nu) else None,
                      tol, max_iter)
    w = model.full(run.w)
    mi, kl = _plain_values(p, w, stealthy)
    objective = mi + (weight * kl if kl is not None else 0.0)
    lower = min(run.lower, objective)
    used = float(cost @ w)
    if D is not None and used > D and (np.all(cost[model.J] <= D) or (degenerate and used <= D * (1 + 1e-12))):
        used = D  # a convex combination of costs <= D (to the rounding of the costs): the excess is rounding
    if D is None:
        dual = None
    elif degenerate:
        dual = _edge_price(p[:, live], w, cost, candidates, D, (weight + run.nu) if stealthy else 0.0)
    else:
        dual = run.lam if budget_eff is not None else 0.0
    ar = np.arange(k)
    channel = np.broadcast_to(w[(ar[None, :] - ar[:, None]) % k][:, None, :], (k, int(live.size), k))
    return BlindAlphabetSolution(
        noise_pmf=w,
        channel=channel,
        mi=float(mi),
        kl=None if kl is None else float(kl),
        objective=float(objective),
        budget_used=used,
        dual=dual,
        dual_stealth=None if cap is None else float(run.nu),
        lower_bound=float(lower),
        gap=float(max(objective - lower, 0.0)),
        iterations=int(run.iterations),
        passes=int(model.passes),
        state={"k": k, "w": w.copy(), "z": model.full(run.duals.z), "lam": run.duals.lam, "nu": run.nu},
    )


def _edge_price(p: np.ndarray, w: np.ndarray, cost: np.ndarray, candidates: np.ndarray, D: float,
                weight: float) -> float:
    """The budget's price when only the cheapest shifts are affordable: ``max_j -F'(w; e_j - w) / (c_j - D)``.

    The one-sided derivatives toward each dearer shift ``j``, exactly (``-inf`` when the shift
    puts mass on an output some class reaches with probability 0 while others do not, so the
    price is ``inf``; a wholly new output contributes its own finite rate).  Exact whenever the
    objective is differentiable along the dearer shifts (no output of zero probability at ``w``).
    """
    k = w.size
    dear = candidates[cost[candidates] > D]
    if dear.size == 0:
        return 0.0
    ar = np.arange(k)
    R = p.T @ w[(ar[None, :] - ar[:, None]) % k]  # (l, k): P(y, xh)
    P = R.sum(axis=0)
    py, px = p.sum(axis=0), p.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        G = np.where(R > 0, np.log(R / (py[:, None] * P[None, :])), 0.0)
        GK = np.where(P > 0, np.log(P / np.where(px > 0, px, 1.0)) + 1.0, 0.0)
    base = float(np.sum(R * G)) + weight * float(P @ GK)
    price = 0.0
    for j in dear:
        dR = p.T[:, (ar - j) % k]  # the shift j alone: P(y, xh) = p(xh - j, y)
        dP = dR.sum(axis=0)
        if np.any((dR > 0) & (R <= 0) & (P[None, :] > 0)) or (weight and np.any((dP > 0) & (P <= 0) & (px > 0))):
            return math.inf
        rate = float(np.sum(dR * G)) + weight * float(dP @ GK) - base
        new = (dP > 0) & (P <= 0)
        if np.any(new):  # outputs w never reaches: their information grows linearly along the shift
            dRn, dPn = dR[:, new], dP[new]
            with np.errstate(divide="ignore", invalid="ignore"):
                rate += float(np.sum(np.where(dRn > 0, dRn * np.log(dRn / (py[:, None] * dPn[None, :])), 0.0)))
        price = max(price, -rate / float(cost[j] - D))
    return price


@dataclass
class _Run:
    """What a solve hands back: the point on ``J``, the certificate and the work done."""

    w: np.ndarray
    lower: float
    lam: float
    nu: float
    duals: _Duals
    iterations: int


def _free(model: _Blind, weight: float, budget: float | None, warm_w: np.ndarray | None,
          warm_duals: tuple[np.ndarray, float] | None, tol: float, max_iter: int) -> _Run:
    """Minimise ``I + weight KL`` over the budget set (no cap)."""
    solver = _Solver(model, 1.0, weight, budget)
    if model.n == 1:
        pt = solver.point(np.ones(1))
        lower, lam = solver.bound(pt)
        return _Run(pt.w, lower, lam, 0.0, _Duals(np.zeros(1), 0.0, 0.0), 0)
    w0 = _start(model, solver, warm_w)
    pt, lower, lam, duals, it = solver.run(w0, tol, max_iter, duals=warm_duals)
    if budget is not None and float(solver.cJ @ pt.w) > budget:
        # the slack variable kept c.w + s = D up to rounding: pull the last ulps back with the cheapest shift
        base = int(np.argmin(solver.cJ))
        over = float(solver.cJ @ pt.w) - budget
        t = min(1.0, 2.0 * over / max(float(solver.cJ @ pt.w) - float(solver.cJ[base]), np.finfo(float).tiny))
        wJ = (1.0 - t) * pt.w
        wJ[base] += t
        pt = solver.point(wJ)
        lower, lam = solver.bound(pt)
    return _Run(pt.w, lower, lam, 0.0, duals, it)


def _capped(model: _Blind, weight: float, budget: float | None, cap: float, warm_w: np.ndarray | None,
            warm_duals: tuple[np.ndarray, float] | None, warm_nu: float | None, tol: float, max_iter: int) -> _Run:
    """Minimise ``I + weight KL`` over the budget set with ``KL <= cap``: a 1-d search on the cap's multiplier.

    For ``nu >= 0``, ``min {I + (weight + nu) KL} - nu cap`` (over the budget set) is a lower
    bound (weak duality) and the minimiser's KL falls as ``nu`` grows.  The search is Newton's
    method on this dual function (derivative ``KL - cap``, curvature ``d KL / d nu`` from one
    more Newton system at the inner solution), safeguarded by a bracket of the ``nu`` where
    KL crosses the cap; every inner solve's certified bound counts, and the answer is the best
    cap-feasible point met: an inner minimiser under the cap, or a mixture of two across it, or
    one over it mixed with the zero shift (``KL`` is convex, and 0 there).
    """
    evals: list[tuple[float, _Run, float]] = []  # (nu, run, KL of its point)
    best_w: np.ndarray | None = None
    best_obj = math.inf
    best_low, best_nu = -math.inf, 0.0
    iterations = 0
    inner_tol = 0.25 * tol
    probe = _Solver(model, 1.0, weight, budget)
    zero = np.flatnonzero(model.J == 0)
    zero_ok = bool(zero.size) and (budget is None or probe.cJ[zero[0]] <= budget)

    def consider(w: np.ndarray) -> None:
        nonlocal best_w, best_obj
        pt = probe.point(w)
        if pt.kl <= cap and probe.objective(pt) < best_obj:
            best_w, best_obj = w, probe.objective(pt)

    def solve(nu: float) -> tuple[float, _Run]:
        nonlocal iterations, best_low, best_nu
        start_w, start_duals = warm_w, warm_duals
        if evals:  # warm from the nearest multiplier when it is close (a far one starts worse than cold)
            near_nu, near, _ = min(evals, key=lambda e: abs(math.log((weight + e[0] + 1e-12) / (weight + nu + 1e-12))))
            close = 0.5 <= (weight + nu + 1e-12) / (weight + near_nu + 1e-12) <= 2.0
            start_w, start_duals = (model.full(near.w), (near.duals.z, near.duals.lam)) if close else (None, None)
        run = _free(model, weight + nu, budget, start_w, start_duals, inner_tol, max(max_iter - iterations, 1))
        iterations += run.iterations
        kl = probe.point(run.w).kl
        low = run.lower - nu * cap
        if low > best_low:
            best_low, best_nu = low, nu
        evals.append((nu, run, kl))
        if kl <= cap:
            consider(run.w)
        elif zero_ok and math.isfinite(kl):
            mixed = (cap / kl) * run.w
            mixed[zero[0]] += 1.0 - cap / kl
            consider(mixed)
        # the best mixture of an over-cap and an under-cap minimiser that meets the cap
        over = [(e[2], e[1].w) for e in evals if e[2] > cap and math.isfinite(e[2])]
        under = [(e[2], e[1].w) for e in evals if e[2] <= cap]
        if over and under:
            ko, wo = min(over, key=lambda e: e[0])
            ku, wu = max(under, key=lambda e: e[0])
            theta = (cap - ku) / (ko - ku) if ko > ku else 0.0
            consider(theta * wo + (1.0 - theta) * wu)
        return kl - cap, run

    def done() -> bool:
        return best_obj - best_low <= tol or iterations >= max_iter

    # Newton on the dual (its derivative KL - cap, its curvature d KL / d nu along the minimisers),
    # safeguarded by the bracket lo < nu* <= hi (KL over the cap at lo, under it at hi)
    lo, hi = -1.0, math.inf
    nu = warm_nu if warm_nu is not None and warm_nu > 0 else 0.0
    while True:
        h, run = solve(nu)
        if h > 0:
            lo = max(lo, nu)
        else:
            hi = min(hi, nu)
        if done() or hi == 0.0 or (math.isfinite(hi) and hi - max(lo, 0.0) <= 1e-14 * hi):
            break  # certified, or under the cap without it (it does not bind), or the bracket is closed
        if h > 0 and nu > 1e12 * (1.0 + weight):
            raise InvalidInputError("stealth_cap", f"{cap:g} cannot hold within the budget (KL(P_Xhat || P_X) "
                                    f"stays above it for every multiplier up to {nu:g})")
        slope = _Solver(model, 1.0, weight + nu, budget).kl_slope(run.w, run.duals)
        kl = h + cap
        if slope >= 0 or kl <= 0:
            step = math.nan
        elif nu > 0:  # Newton on log KL against log nu: exact for a power law, no undershoot from the left
            step = nu * math.exp(min(-math.log(kl / cap) / (nu * slope / kl), 50.0))
        else:
            step = -h / slope
        if lo < step < hi and math.isfinite(step):
            nu = max(step, 0.0)
        elif math.isinf(hi):
            nu = max(8.0 * nu, 1.0 + weight)
        elif lo > 0:
            nu = math.sqrt(lo * hi)
        else:
            nu = hi / 8.0 if hi / 8.0 > 1e-9 * (1.0 + weight) else 0.0
    if best_w is None:
        raise InvalidInputError("stealth_cap", f"{cap:g} cannot hold within the budget: no attack found with "
                                "KL(P_Xhat || P_X) under it")
    last = evals[-1][1]
    nearest = min(evals, key=lambda e: abs(e[0] - best_nu))[1]
    return _Run(best_w, best_low, nearest.lam, best_nu, last.duals, iterations)


def _budget_face(candidates: np.ndarray, cost: np.ndarray, D: float | None,
                 stealthy: bool) -> tuple[np.ndarray, float | None, bool]:
    """The shifts the solver uses, the budget it must enforce (None: cannot bind) and whether it is degenerate.

    When no usable shift costs strictly less than ``D`` the budget set has no interior: it is
    the face of the cheapest shifts, and the budget is dropped.
    """
    if D is None:
        return candidates, None, False
    c = cost[candidates]
    least = float(c.min())
    if D < least * (1 - 1e-12):
        raise InvalidInputError("budget", f"{D:g} is below the least achievable expected distortion {least:g} "
                                "(the blind attacker's cheapest shift x -> x + j mod k"
                                + (" that keeps X's support)" if stealthy else ")"))
    if not np.any(c < D):
        return candidates[c <= max(D, least)], None, True
    if np.all(c <= D):
        return candidates, None, False
    return candidates, D, False


def _warm(warm: Any, model: _Blind) -> tuple[np.ndarray | None, tuple[np.ndarray, float] | None]:
    """The warm point (length ``k``) and multipliers (on ``J``) from an earlier solution's ``state``."""
    if not isinstance(warm, dict) or warm.get("k") != model.k:
        return None, None
    w = np.asarray(warm.get("w", np.zeros(0)), dtype=float)
    if w.shape != (model.k,) or not np.all(np.isfinite(w)) or np.clip(w, 0.0, None)[model.J].sum() <= 0:
        return None, None
    z = np.asarray(warm.get("z", np.zeros(0)), dtype=float)
    if z.shape == (model.k,) and np.all(np.isfinite(z)) and np.all(z[model.J] > 0):
        return w, (z[model.J], float(warm.get("lam", 0.0)))
    return w, None


def _start(model: _Blind, solver: _Solver, warm_w: np.ndarray | None) -> np.ndarray:
    """A strictly feasible interior start on ``J``: a warm point pulled inside, or near the cheapest shift."""
    n = model.n
    cJ = solver.cJ
    zero = np.flatnonzero(model.J == 0)
    # the base point: the zero shift when it is affordable (KL 0), else the cheapest shift
    if zero.size and (solver.budget is None or cJ[zero[0]] < solver.budget):
        base = int(zero[0])
    else:
        base = int(np.argmin(cJ))
    uniform = np.full(n, 1.0 / n)
    target, theta = uniform, 0.5
    if warm_w is not None:
        wf = np.clip(warm_w, 0.0, None)[model.J]
        wf = wf / wf.sum()
        target, theta = (wf if np.all(wf > 0) else (1.0 - _WARM_MIX) * wf + _WARM_MIX * uniform), 1.0 - 1e-6
    t = 1.0
    if solver.budget is not None:
        cb, ct = float(cJ[base]), float(cJ @ target)
        if ct >= solver.budget:
            t = theta * (solver.budget - cb) / (ct - cb)
    w = t * target
    w[base] += 1.0 - t
    w = np.maximum(w, np.finfo(float).tiny)
    return w / w.sum()
