"""Large-alphabet solver for the discrete attack problem, with a certificate (pure numpy/scipy).

The problem (docs/theory.md sections 5, 7 and 9): ``(X, Y) ~ p_xy[x, y]`` on
``{0..k-1} x {0..l-1}``; the attacker emits ``Xhat`` in ``{0..k'-1}`` through a
channel, pays ``distortion[x, xh]`` per use, ``E d(X, Xhat) <= budget``, and minimises

    I(Y; Xhat) + w KL(P_Xhat || P_X)        (optionally s.t. KL(P_Xhat || P_X) <= c).

Two attacker models: ``knows="x_and_y"`` picks ``P(xh | x, y)``; ``knows="x"``
picks ``P(xh | x)``, the same for every ``y``.

Methods
-------
``"ba"``: transport-view Blahut-Arimoto (``knows="x_and_y"``, Hamming ``s [x != xh]`` or line ``s |x - xh|``)
    With ``I(Y; Xhat) = min_q sum_y p(y) D(P(.|y) || q)`` (docs/theory.md sections 5 and 7)
    each step projects every class onto the budget at the reference ``q``:
    ``argmin_N D(N || p(y) q) + mu OT_d(p(., y), N)``, with the multiplier ``mu`` re-found
    every step so that the budget is spent exactly (Chen, Wu, Ye et al. 2023, arXiv
    2305.02650; a Newton root with an analytic derivative).  Hamming (``OT`` = total
    variation): ``P(j, y) = clip(p(j, y), t_y q_j, t_y q_j e^mu)`` in closed form, ``t_y`` a
    monotone piecewise-linear root.  Line metric (``OT`` = ``sum_i |CDF_i - CDF'_i|``): the
    projection's dual over the boundaries is smooth with box constraints and is solved by
    primal-dual active-set Newton steps whose free-block Hessian inverts in ``O(k)``.
    Every step is ``O(k l)``.  The outer iteration is quasi-Newton (L-BFGS) on
    ``theta = log q``, where ``G(q) = min_N J(N, q)`` is convex with gradient ``q - P(q)``
    (the Blahut-Arimoto residual; the Blahut-Arimoto step is its preconditioned gradient
    step), finished if needed by SQUAREM-extrapolated Blahut-Arimoto steps.  The channel
    ``[x, y, xh]`` is built once at the end from optimal per-class couplings (Hamming:
    ``min(p, P)`` stays, the excess moves north-west-corner style; line: the monotone
    coupling).  A stealth weight ``w <= 1`` enters through the reference
    ``q^(1 - w) P_X^w`` (the variational form of ``-(1 - w) H(P_Xhat)``).
``"ipm"``: primal-dual interior point (everything else: any distortion, ``knows="x"``, caps)
    On the joint ``r[x, y, xh]`` (``x_and_y``) or ``r[x, xh] = p(x) P(xh | x)`` (``x``):
    Newton steps with the primal-dual Hessian, globalised by an Armijo search on the
    barrier function, the barrier parameter decreased superlinearly.  The Newton systems
    are solved in ``O(l k^2 k' + l k^3)`` (``x_and_y``: the Hessian is block-diagonal per
    class up to a rank-``k'`` coupling through ``P_Xhat``, removed by Woodbury) or
    ``O(k' k^3 + k' k^2 l)`` (``x``: block-diagonal per output letter), with iterative
    refinement against exact Hessian products.

Certificate
-----------
For any channel that meets the budget, any ``mu >= 0``, any decoder ``r(y | xh)``
(columns are pmfs over ``y``) and any potential ``G`` (``+inf`` allowed where ``P_X = 0``),

    I(Y; Xhat) >= H(Y) + E log r(Y | Xhat)
               >= H(Y) + sum_{x,y} p(x,y) min_xh [log r(y|xh) + mu d(x,xh)] - mu D       (x_and_y)
    KL(P || P_X) >= <G, P> - log sum_xh P_X(xh) e^G(xh)                                   (Donsker-Varadhan)

(for ``knows="x"`` the minimum is over ``sum_y p(y|x) log r(y|xh) + mu d(x, xh)`` per
``x``).  Adding ``w G`` to the per-output cost gives a lower bound on the weighted
objective; a cap multiplier ``nu >= 0`` adds ``nu G`` and ``-nu c``.  The bound is
tight at the optimum with ``r`` the optimal posterior ``P(y | xh)``, ``G = log(P/P_X)``
and the optimal multipliers (:func:`lower_bound`).  Every solution reports
``gap = objective - lower_bound >= 0``; the solvers stop on the gap, not on an
iteration count.

Units: the returned ``dual`` is ``mu`` in the user's units (``d(I*)/dD = -mu``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from scipy import optimize, sparse
from scipy.special import xlogy

from . import validate as _v
from .errors import InvalidInputError

__all__ = ["AlphabetSolution", "lower_bound", "solve_alphabet"]

KNOWS = ("x_and_y", "x")
#: Largest ``mu`` (in the solver's units) treated as finite in ``exp(mu)``.
_MU_INF = 700.0
#: Outputs whose reference mass falls below this fraction of the largest leave the quasi-Newton
#: iteration (the certificate extends them exactly).
_DEAD = 1e-12
#: Elements per block when a ``(block, k, k')`` temporary is formed (memory bound).
_BLOCK = 1 << 22
#: Caps on the inverse barrier curvature, relative to the largest entry of r (a proximal floor),
#: tried in turn until the structured Newton solve is accurate.
_PROX = (1e8, 1e6, 1e4, 1e2, 1.0)
#: Least relative slack (of the budget and of the stealth cap) a start of the interior-point method
#: needs; candidates closer to either boundary are used only when nothing better is found.
_MARGIN = 1e-3


# ----------------------------------------------------------------------------- result


@dataclass(frozen=True)
class AlphabetSolution:
    """The result of :func:`solve_alphabet`.

    Attributes
    ----------
    channel : ndarray, shape (k, l, k')
        ``channel[x, y, xh] = P(xh | x, y)``.  For ``knows="x"`` (and whenever the
        channel does not depend on ``y``, e.g. a diagonal ``p_xy``) it is a read-only
        broadcast view of a ``(k, 1, k')`` array.  Rows with ``p(x, y) = 0`` hold the
        cheapest output of ``x`` (``x`` itself when it is free).
    mi : float
        ``I(Y; Xhat)`` of the returned channel, nats.
    kl : float or None
        ``KL(P_Xhat || P_X)`` of the returned channel when a stealth term is given.
    objective : float
        ``mi + w * kl`` (``w`` the stealth weight, 0 without one).
    budget_used : float
        ``E d(X, Xhat)`` of the returned channel (at most the budget).
    dual : float
        The budget's multiplier ``mu`` used by the certificate (user's units; 0 without a budget).
    dual_stealth : float or None
        The cap's multiplier ``nu`` (None without a cap).
    lower_bound : float
        The certificate's value (:func:`lower_bound`); ``objective >= optimum >= lower_bound``.
    gap : float
        ``objective - lower_bound``.
    iterations : int
        Blahut-Arimoto iterations (``"ba"``) or Newton steps (``"ipm"``).
    passes : int
        Sweeps over the ``k l`` (``"ba"``) or ``k l k'`` (``"ipm"``) array spent.
    state : Any
        Warm start for a related problem (pass back as ``warm=``).
    method : str
        ``"ba"``, ``"ipm"`` or ``"exact"`` (nothing to optimise).
    """

    channel: np.ndarray
    mi: float
    kl: float | None
    objective: float
    budget_used: float
    dual: float
    dual_stealth: float | None
    lower_bound: float
    gap: float
    iterations: int
    passes: int
    state: Any = field(repr=False)
    method: str = "ba"


# ----------------------------------------------------------------------------- data


@dataclass
class _Data:
    """Validated inputs and derived quantities (distortion shifted so each row's least cost is 0)."""

    p: np.ndarray  # (k, l)
    d: np.ndarray  # (k, k') user's distortion
    budget: float | None
    knows: str
    weight: float  # stealth weight w (0 without)
    cap: float | None
    stealthy: bool
    px: np.ndarray  # (k,)
    py: np.ndarray  # (l,)
    hy: float
    allowed_cols: np.ndarray  # (k',) letters the attacker may emit (P_X > 0 under stealth)
    dmin: np.ndarray  # (k,) least cost per row over allowed letters
    dt: np.ndarray  # (k, k') shifted distortion d - dmin
    least: float  # sum_x p(x) dmin(x)
    slack: float | None  # budget - least (None without a budget)
    cheap: np.ndarray  # (k,) the no-attack output of each x
    ham_scale: float  # s > 0 when d = s (1 - eye), else 0
    line_scale: float  # s > 0 when d = s |x - xh| (letters on the integer line), else 0

    @property
    def k(self) -> int:
        return self.p.shape[0]

    @property
    def ell(self) -> int:
        return self.p.shape[1]

    @property
    def kp(self) -> int:
        return self.d.shape[1]


def _prepare(p_xy, distortion, budget, knows, stealth_weight, stealth_cap) -> _Data:
    p = _v.pmf("p_xy", p_xy, ndim=2)
    k, ell = p.shape
    if distortion is None:
        d = 1.0 - np.eye(k)
    else:
        d = _v.array("distortion", distortion, ndim=2)
        if d.shape[0] != k:
            raise InvalidInputError("distortion", f"needs one row per letter of X ({k}), got shape {d.shape}")
        if d.shape[1] == 0:
            raise InvalidInputError("distortion", "needs at least one output letter (column)")
        if np.any(d < 0):
            raise InvalidInputError("distortion", f"entries must be non-negative, smallest is {d.min():g}")
    kp = d.shape[1]
    knows = _v.choice("knows", knows, KNOWS)
    weight = 0.0 if stealth_weight is None else _v.scalar("stealth_weight", stealth_weight, nonneg=True)
    cap = None if stealth_cap is None else _v.scalar("stealth_cap", stealth_cap, nonneg=True)
    stealthy = stealth_weight is not None or cap is not None
    if stealthy and kp != k:
        raise InvalidInputError("stealth_cap" if cap is not None else "stealth_weight",
                                f"the defender compares the law of Xhat with that of X, which needs one alphabet: "
                                f"{kp} output letters but k = {k}")
    budget = _v.budget(budget, allow_none=True)
    if budget is None and not stealthy:
        raise InvalidInputError("budget", "is required unless a stealth term (stealth_weight or stealth_cap) is given")
    px, py = p.sum(axis=1), p.sum(axis=0)
    allowed_cols = np.ones(kp, dtype=bool)
    if stealthy and (weight > 0 or cap is not None):
        allowed_cols = px > 0  # KL(P || P_X) is infinite once P puts mass where P_X has none
    dmin = np.where(allowed_cols[None, :], d, np.inf).min(axis=1)
    dt = np.where(allowed_cols[None, :], d - dmin[:, None], 0.0)
    least = float(px @ dmin)
    slack = None
    if budget is not None:
        if budget < least * (1 - 1e-12):
            raise InvalidInputError("budget", f"{budget:g} is below the least achievable expected distortion "
                                    f"{least:g} (every letter x must pay min_xh distortion[x, xh])")
        slack = max(budget - least, 0.0)
    # the no-attack output: the cheapest allowed letter, x itself when it is among the cheapest
    cheap = np.argmin(np.where(allowed_cols[None, :], d, np.inf), axis=1)
    diag = np.arange(min(k, kp))
    own = allowed_cols[diag] & (d[diag, diag] <= dmin[diag])
    cheap[diag[own]] = diag[own]
    s = float(d.max())
    ham = s if s > 0 and np.array_equal(d, s * (1.0 - np.eye(k, kp))) else 0.0
    line = 0.0
    if s > 0 and max(k, kp) > 1:
        grid = np.abs(np.subtract.outer(np.arange(k), np.arange(kp))).astype(float)
        unit = s / float(grid.max())
        if np.allclose(d, unit * grid, rtol=1e-12, atol=0.0):
            line = unit
    hy = float(-np.sum(xlogy(py, py)))
    return _Data(p, d, budget, knows, weight, cap, stealthy, px, py, hy, allowed_cols, dmin, dt, least, slack,
                 cheap, ham, line)


# ----------------------------------------------------------------------------- the certificate


def _cell_costs(dt: np.ndarray, mu: float, rows_ok: np.ndarray | None) -> np.ndarray:
    """``mu dt`` with ``+inf`` where the minimum may not go (``mu = inf``: only ``dt = 0``)."""
    cost = mu * dt if np.isfinite(mu) else np.where(dt > 0, np.inf, 0.0)
    if rows_ok is not None:
        cost = np.where(rows_ok, cost, np.inf)
    return cost


def _mins_xy(p: np.ndarray, V: np.ndarray, cost: np.ndarray, dt: np.ndarray,
             extra: np.ndarray | None) -> tuple[float, float, float]:
    """``sum p(x,y) min_j [V(y,j) + cost(x,j)]`` with ``sum p dt`` and ``sum p extra`` at the minimisers."""
    k, ell = p.shape
    kp = V.shape[1]
    total, dsum, esum = 0.0, 0.0, 0.0
    rows = np.arange(k)[None, :]
    step = max(1, _BLOCK // max(1, k * kp))
    for y0 in range(0, ell, step):
        w = p[:, y0:y0 + step].T  # (b, k)
        live = w > 0
        if not np.any(live):
            continue
        tot = np.where(np.isposinf(cost)[None], np.inf, V[y0:y0 + step, None, :] + np.where(np.isinf(cost), 0.0,
                                                                                             cost)[None])
        arg = np.argmin(tot, axis=2)
        val = np.take_along_axis(tot, arg[:, :, None], axis=2)[:, :, 0]
        total += float(np.sum(w[live] * val[live]))
        dsum += float(np.sum(w[live] * dt[rows, arg][live]))
        if extra is not None:
            esum += float(np.sum(w[live] * extra[arg][live]))
    return total, dsum, esum


def _mins_x(p: np.ndarray, px: np.ndarray, V: np.ndarray, cost: np.ndarray, dt: np.ndarray,
            extra: np.ndarray | None) -> tuple[float, float, float]:
    """Label-blind analogue of :func:`_mins_xy`: ``sum_x p(x) min_j [sum_y p(y|x) V(y,j) + cost(x,j)]``."""
    live = px > 0
    Q = np.zeros_like(p)
    Q[live] = p[live] / px[live, None]
    fin = np.isfinite(V)
    T = Q @ np.where(fin, V, 0.0)
    if not np.all(fin):
        reach = (Q > 0).astype(float)
        T = np.where(reach @ np.isneginf(V).astype(float) > 0, -np.inf, T)
        T = np.where(reach @ np.isposinf(V).astype(float) > 0, np.inf, T)
    tot = np.where(np.isposinf(cost) | np.isposinf(T), np.inf, T + np.where(np.isinf(cost), 0.0, cost))
    idx = np.arange(len(px))
    arg = np.argmin(tot, axis=1)
    value = float(np.sum(px[live] * tot[idx, arg][live]))
    dsum = float(np.sum(px[live] * dt[idx, arg][live]))
    esum = float(np.sum(px[live] * extra[arg][live])) if extra is not None else 0.0
    return value, dsum, esum


def _logsumexp(v: np.ndarray, logw: np.ndarray) -> float:
    """``log sum exp(v + logw)`` over finite entries (``-inf`` if none)."""
    z = v + logw
    z = z[np.isfinite(z)]
    if z.size == 0:
        return -np.inf
    top = float(z.max())
    return top + float(np.log(np.sum(np.exp(z - top))))


def _bound(data: _Data, logr: np.ndarray, G: np.ndarray, mu: float, nu: float,
           rows_ok: np.ndarray | None = None) -> tuple[float, float, float]:
    """The certificate at ``log r`` (l, k'), potential ``G`` (k', finite where allowed), ``mu`` (user's units), ``nu``.

    ``mu = inf`` restricts the minimum to ``dt = 0`` (a budget at the least cost).  Returns
    ``(bound, d bound / d mu, d bound / d nu)`` (supergradients).
    """
    allowed = data.allowed_cols
    V = np.where(allowed[None, :], logr, np.inf)
    wt, norm, extra = 0.0, 0.0, None
    if data.stealthy:
        wt = data.weight + nu
        Gf = np.where(allowed, G, 0.0)
        extra = Gf
        use = allowed & (data.px[:data.kp] > 0)
        with np.errstate(divide="ignore"):
            norm = _logsumexp(Gf[use], np.log(data.px[:data.kp][use]))
        if wt > 0:
            V = V + wt * Gf[None, :]
    cost = _cell_costs(data.dt, mu, rows_ok)
    if data.knows == "x_and_y":
        val, dsum, esum = _mins_xy(data.p, V, cost, data.dt, extra)
    else:
        val, dsum, esum = _mins_x(data.p, data.px, V, cost, data.dt, extra)
    lb = data.hy + val - (wt * norm if wt > 0 else 0.0)
    g_mu = 0.0
    if data.slack is not None and np.isfinite(mu):
        lb -= mu * data.slack
        g_mu = dsum - data.slack
    g_nu = 0.0
    if data.cap is not None:
        lb -= nu * data.cap
        g_nu = esum - norm - data.cap
    return lb, g_mu, g_nu


def _maximise(fun, x0: float, steps: int = 50) -> tuple[float, float, int]:
    """Maximise a concave function on ``[0, inf)`` by bisection on its supergradient.

    ``fun(x) -> (value, supergradient)``.  Returns ``(argmax, max, evaluations)``.
    """
    v0, g0 = fun(x0)
    best_x, best_v, evals = x0, v0, 1
    if g0 == 0.0 or not np.isfinite(v0):
        return best_x, best_v, evals
    if g0 < 0:
        lo, hi = 0.0, x0
        v, g = fun(0.0)
        evals += 1
        if v > best_v:
            best_x, best_v = 0.0, v
        if g <= 0:
            return best_x, best_v, evals
    else:
        lo, hi = x0, max(2.0 * x0, 1e-3)
        for _ in range(60):
            v, g = fun(hi)
            evals += 1
            if v > best_v:
                best_x, best_v = hi, v
            if g <= 0:
                break
            lo, hi = hi, 2.0 * hi
    for _ in range(steps):
        if hi - lo <= 1e-13 * max(1.0, hi):
            break
        mid = 0.5 * (lo + hi)
        v, g = fun(mid)
        evals += 1
        if v > best_v:
            best_x, best_v = mid, v
        if g > 0:
            lo = mid
        else:
            hi = mid
    return best_x, best_v, evals


def lower_bound(p_xy, distortion, budget, decoder, mu: float = 0.0, *, knows: str = "x_and_y",
                stealth_weight: float | None = None, stealth_cap: float | None = None,
                stealth_dual: float = 0.0, potential=None) -> float:
    """The certificate: a lower bound on the optimum of the discrete attack problem.

    For any decoder ``r(y | xh)``, any ``mu >= 0``, ``nu >= 0`` and potential ``G``,

        H(Y) + sum_{x,y} p(x,y) min_xh [log r(y|xh) + (w + nu) G(xh) + mu d(x,xh)] - mu D
             - (w + nu) log sum_xh P_X(xh) e^G(xh) - nu c

    is at most ``I(Y; Xhat) + w KL(P_Xhat || P_X)`` for every channel with
    ``E d <= D`` and ``KL <= c`` (for ``knows="x"`` the minimum is taken per ``x`` over
    ``sum_y p(y|x) log r(y|xh) + ...``).  Under a stealth term the minimum runs over
    the letters with ``P_X > 0`` only.  ``G = log(P0 / P_X)`` for the optimal output
    law ``P0``, the optimal posterior and multipliers make the bound tight.

    Parameters
    ----------
    p_xy : array_like, shape (k, l)
        Joint pmf of ``(X, Y)``.
    distortion : array_like, shape (k, k') or None
        ``d[x, xh] >= 0`` (None: Hamming, ``k' = k``).
    budget : float or None
        ``D`` (None: no budget, only with a stealth term).
    decoder : array_like, shape (l, k')
        ``r[y, xh]``, non-negative; each column is normalised here (a zero column, or a
        zero entry, gives ``log 0 = -inf``).
    mu : float
        Budget multiplier ``>= 0`` (user's units; ignored without a budget).
    knows : {"x_and_y", "x"}
    stealth_weight, stealth_cap : float, optional
        ``w`` and ``c``.
    stealth_dual : float
        The cap's multiplier ``nu >= 0`` (ignored without a cap).
    potential : array_like, shape (k',), optional
        ``G`` (default 0), finite on the letters with ``P_X > 0``.

    Returns
    -------
    float
        The bound in nats (``-inf`` when a reachable cell sees ``log 0``).

    Raises
    ------
    InvalidInputError
        On malformed input, or a budget below the least achievable distortion.
    """
    data = _prepare(p_xy, distortion, budget, knows, stealth_weight, stealth_cap)
    r = _v.array("decoder", decoder, ndim=2, shape=(data.ell, data.kp))
    if np.any(r < 0):
        raise InvalidInputError("decoder", "entries must be non-negative")
    mu = _v.scalar("mu", mu, nonneg=True)
    nu = _v.scalar("stealth_dual", stealth_dual, nonneg=True) if data.cap is not None else 0.0
    cols = r.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        logr = np.log(r) - np.log(np.where(cols > 0, cols, 1.0))[None, :]
    G = np.zeros(data.kp) if potential is None else _v.array("potential", np.where(
        data.allowed_cols, potential, 0.0), ndim=1, shape=(data.kp,))
    with np.errstate(invalid="ignore"):
        lb = _bound(data, logr, G, mu if data.slack is not None else 0.0, nu)[0]
    return -np.inf if np.isnan(lb) else float(lb)


# ----------------------------------------------------------------------------- transport-view Blahut-Arimoto


def _nw_rows(S: np.ndarray, T: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The north-west-corner (monotone) coupling of every row pair ``S[r]``, ``T[r]``, all rows at once.

    ``T[r]`` is rescaled to ``S[r]``'s total (rows with an empty ``S[r]`` give nothing).  Returns
    ``(row, i, j, mass)`` of the non-zero entries: the merged breakpoints of the two cumulative
    sums, sorted per row, cut each row into segments whose ends name their ``i`` and ``j``.
    """
    ts, td = S.sum(axis=1), T.sum(axis=1)
    T = T * np.where(td > 0, ts / np.where(td > 0, td, 1.0), 0.0)[:, None]
    sr, si = np.nonzero(S > 0)
    dr, dj = np.nonzero(T > 0)
    sv, dv = S[sr, si], T[dr, dj]

    def grouped_cumsum(v: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        c = np.cumsum(v)
        first = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]]) if rows.size else np.zeros(0, dtype=int)
        base = np.repeat(np.r_[0.0, c][first], np.diff(np.r_[first, rows.size]))
        out = c - base
        last = np.r_[first[1:] - 1, rows.size - 1] if rows.size else first
        out[last] = ts[rows[last]]  # both sums end exactly at the row's total
        return out, np.searchsorted(rows, np.arange(S.shape[0]))

    if sv.size == 0 or dv.size == 0:
        empty = np.zeros(0, dtype=int)
        return empty, empty, empty, np.zeros(0)
    cs, s_off = grouped_cumsum(sv, sr)
    cd, d_off = grouped_cumsum(dv, dr)
    vals = np.concatenate([cs, cd])
    rows = np.concatenate([sr, dr])
    kind = np.concatenate([np.zeros(cs.size, dtype=int), np.ones(cd.size, dtype=int)])
    order = np.lexsort((kind, vals, rows))
    v, rw, is_src = vals[order], rows[order], kind[order] == 0
    new_row = np.r_[True, rw[1:] != rw[:-1]]
    length = v - np.where(new_row, 0.0, np.r_[0.0, v[:-1]])
    n_src = np.cumsum(is_src) - is_src.astype(int)  # source breakpoints before each one (globally)
    n_dst = np.cumsum(~is_src) - (~is_src).astype(int)
    starts = np.flatnonzero(new_row)
    span = np.diff(np.r_[starts, rw.size])
    loc_src = n_src - np.repeat(n_src[starts], span)
    loc_dst = n_dst - np.repeat(n_dst[starts], span)
    keep = length > 0
    rk = rw[keep]
    i = si[np.minimum(s_off[rk] + loc_src[keep], si.size - 1)]
    j = dj[np.minimum(d_off[rk] + loc_dst[keep], dj.size - 1)]
    return rk, i, j, length[keep]


def _lbfgs(fun, x: np.ndarray, weights, accepted=None, memory: int = 20, max_steps: int = 100_000,
           max_move: float = 4.0) -> None:
    """Minimise a smooth convex function by L-BFGS (two-loop recursion, Armijo backtracking).

    ``fun(x) -> (f, g)`` and ``accepted(x)`` (called after every step) may raise to stop.  The
    initial inverse Hessian is ``gamma diag(1 / w)`` with ``w = weights(x)``: for ``x = log q`` and
    ``g = q - P`` this makes the first step the Blahut-Arimoto step to first order.  Trial steps
    move no coordinate by more than ``max_move``.  Returns when a line search fails (rounding).
    """
    f, g = fun(x)
    pairs: list[tuple[np.ndarray, np.ndarray, float]] = []
    for _ in range(max_steps):
        w = weights(x)
        w = w / w.max()
        inv = 1.0 / np.maximum(w, 1e-300)
        qv = g.copy()
        alphas = []
        for s, y, rho in reversed(pairs):
            a = rho * float(s @ qv)
            alphas.append(a)
            qv -= a * y
        if pairs:
            s, y, _ = pairs[-1]
            gamma = float(s @ y) / float(y @ (inv * y))
        else:
            gamma = 1.0 / max(1.0, float(np.max(np.abs(inv * g))))
        r = gamma * inv * qv
        for (s, y, rho), a in zip(pairs, reversed(alphas), strict=True):
            r += s * (a - rho * float(y @ r))
        d = -r
        slope = float(g @ d)
        if not slope < 0:
            pairs.clear()
            d = -gamma * inv * g
            slope = float(g @ d)
            if not slope < 0:
                return
        t = min(1.0, max_move / max(float(np.max(np.abs(d))), 1e-300))
        for _ in range(30):
            x_new = x + t * d
            f_new, g_new = fun(x_new)
            if f_new <= f + 1e-4 * t * slope:
                break
            t *= 0.5
        else:
            return
        s, y = x_new - x, g_new - g
        sy = float(s @ y)
        if sy > 1e-12 * float(np.linalg.norm(s) * np.linalg.norm(y)):
            pairs.append((s, y, 1.0 / sy))
            if len(pairs) > memory:
                pairs.pop(0)
        x, f, g = x_new, f_new, g_new
        if accepted is not None:
            accepted(x)


class _TransportBA:
    """Blahut-Arimoto on the transport view, for distortions whose per-class projection is cheap.

    With ``I(Y; Xhat) = min_q sum_y p(y) D(P(.|y) || q)`` the iteration alternates
    ``q = P_Xhat`` with, per class ``y``, the projection
    ``argmin_N D(N || p(y) rho) + mu OT_d(p(., y), N)`` (``rho = q``, or
    ``q^(1 - w) P_X^w`` for a stealth weight ``w <= 1``).  ``mu`` is re-found every
    iteration so that the budget is spent exactly (Chen, Wu, Ye et al. 2023).  Subclasses
    give the projection, the transport cost, the lower envelope
    ``min_j [V(y, j) + mu d(x, j)]`` and its transpose (for the certificate) and the coupling.
    Distances are in units of ``self.scale`` (``mu`` here is ``scale`` times the user's).
    """

    scale: float
    budget_units: float  # the budget in the projector's own cost units (see cost())
    zero_slack: bool  # the budget equals the least achievable cost (mu = inf)

    def __init__(self, data: _Data):
        self.data = data
        self.live = data.py > 0
        self.yl = np.flatnonzero(self.live)
        self.pl = np.ascontiguousarray(data.p[:, self.live].T)  # (l_live, k)
        self.py = data.py[self.live]
        self.passes = 0
        self.w = data.weight if data.stealthy else 0.0
        kp = data.kp
        self.log_px = np.zeros(kp)
        if data.stealthy:
            self.log_px = np.where(data.px[:kp] > 0, np.log(np.where(data.px[:kp] > 0, data.px[:kp], 1.0)), -np.inf)

    # -- to be supplied ----------------------------------------------------------------------------

    def project(self, rho: np.ndarray, mu: float, state: Any) -> tuple[np.ndarray, Any]:
        """The projected output joint ``n`` (l_live, k') at reference ``rho`` and multiplier ``mu``."""
        raise NotImplementedError

    def cost(self, n: np.ndarray) -> float:
        """The transport cost of ``n`` in the units of ``budget_units``."""
        raise NotImplementedError

    def envelope(self, V: np.ndarray, mu: float) -> np.ndarray:
        """``min_j [V(y, j) + mu d(x, j)]`` (l_live, k) in ``cost``'s units; ``mu = inf``: least-cost ``j`` only."""
        raise NotImplementedError

    def anti_envelope(self, c: np.ndarray, mu: float) -> np.ndarray:
        """``max_x [c(y, x) - mu d(x, j)]`` (l_live, k')."""
        raise NotImplementedError

    def couple(self, n: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Optimal couplings of every class's input ``p(., y)`` and output ``n(y, .)``: ``(class, x, j, mass)``."""
        raise NotImplementedError

    def mu_slope(self, rho: np.ndarray, mu: float, state: Any) -> float | None:
        """``d cost / d mu`` at fixed active sets, if known in closed form."""
        return None

    # -- shared ------------------------------------------------------------------------------------

    def solve_mu(self, rho: np.ndarray, mu0: float, state: Any) -> tuple[float, np.ndarray, Any]:
        """The multiplier that spends the budget exactly (0 when the budget does not bind) and the projection."""
        D = self.budget_units
        if self.zero_slack:
            n, state = self.project(rho, np.inf, state)
            return np.inf, n, state
        tol = 1e-13 * max(D, 1e-3) + 1e-16
        D = D - tol  # aim just under the budget: rounding then never overspends it
        if not np.isfinite(mu0) or mu0 <= 0.0:
            n, st0 = self.project(rho, 0.0, state)
            c0 = self.cost(n)
            if c0 <= D + tol:
                return 0.0, n, st0
            slope0 = self.mu_slope(rho, 0.0, st0)
            mu0 = (c0 - D) / -slope0 if slope0 is not None and slope0 < 0 else 1.0
            state = st0
        lo, hi = 0.0, np.inf
        mu = min(mu0, 2 * _MU_INF)
        n, state = self.project(rho, mu, state)
        c = self.cost(n)
        prev: tuple[float, float] | None = None
        for _ in range(100):
            if abs(c - D) <= tol:
                break
            if c > D:
                lo = mu
            else:
                hi = mu
            if hi - lo <= 1e-15 * max(1.0, lo):
                break
            slope = self.mu_slope(rho, mu, state)
            if slope is not None and slope < 0:
                new = mu - (c - D) / slope
            elif prev is not None and prev[1] != c:
                new = mu - (c - D) * (mu - prev[0]) / (c - prev[1])
            else:
                new = mu * (1.5 if c > D else 0.7)
            if not (lo < new < hi):
                new = 0.5 * (lo + hi) if np.isfinite(hi) else max(2.0 * mu, mu + 1.0)
            if lo == 0.0 and new < 1e-12 * max(mu, 1.0):  # the budget may not bind
                n0, st0 = self.project(rho, 0.0, state)
                if self.cost(n0) <= D + tol:
                    return 0.0, n0, st0
            prev = (mu, c)
            mu = min(new, 2 * _MU_INF)
            n, state = self.project(rho, mu, state)
            c = self.cost(n)
        if c > D + tol and np.isfinite(hi):  # stalled: take the feasible end of the bracket
            mu = hi
            n, state = self.project(rho, mu, state)
        return mu, n, state

    def objective(self, n: np.ndarray) -> tuple[float, float, np.ndarray]:
        """``(I(Y; Xhat) + w KL, KL, P)`` of the output joint ``n`` (live classes)."""
        P = n.sum(axis=0)
        mi = float(np.sum(xlogy(n, n)) - np.sum(xlogy(P, P)) - np.sum(xlogy(self.py, self.py)))
        kl = 0.0
        if self.data.stealthy:
            pos = P > 0
            kl = float(np.sum(P[pos] * (np.log(P[pos]) - self.log_px[pos])))
        return max(mi, 0.0) + self.w * kl, kl, P

    def certificate(self, n: np.ndarray, mu: float) -> float:
        """The lower bound at the posterior of ``n``, ``G = log(P / P_X)`` and ``mu`` (unused outputs extended)."""
        data = self.data
        P = n.sum(axis=0)
        allowed = data.allowed_cols
        used = (P > 0) & allowed
        G = np.zeros(data.kp)
        if data.stealthy:
            G = np.where(used, np.log(np.where(used, P, 1.0)) - self.log_px, 0.0)
        with np.errstate(divide="ignore"):
            V = np.log(n) - np.log(np.where(used, P, 1.0))[None, :]
        V = np.where(used[None, :], V + self.w * G[None, :], np.inf)
        unused = np.flatnonzero(allowed & ~used)
        norm = 0.0
        if unused.size:
            c = np.where(self.pl > 0, self.envelope(V, mu), -np.inf)
            best = self.anti_envelope(c, mu)[:, unused]  # the best response's log-posterior, unnormalised
            with np.errstate(invalid="ignore"):
                top = np.max(best, axis=0)
                fin = np.isfinite(top)
                tot = np.where(fin, top + np.log(np.sum(np.exp(best - np.where(fin, top, 0.0)[None, :]), axis=0)),
                               -np.inf)
            V[:, unused] = np.where(fin[None, :], best - np.maximum(tot, 0.0)[None, :], np.inf)
            if data.stealthy and self.w > 0:
                norm = math.log(1.0 + float(np.sum(data.px[unused])))
        env = self.envelope(V, mu)
        pos = self.pl > 0
        val = float(np.sum(self.pl[pos] * env[pos]))
        lb = data.hy + val - self.w * norm
        if np.isfinite(mu):
            lb -= mu * self.budget_units
        self.passes += 2
        return lb if not np.isnan(lb) and lb < np.inf else -np.inf

    def channel(self, n: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """The channel ``[x, y, xh]`` built from per-class couplings, its output joint and expected distortion."""
        data = self.data
        k, ell, kp = data.k, data.ell, data.kp
        p = data.p
        cls, ex, ej, em = self.couple(np.clip(n, 0.0, None))
        ey = self.yl[cls]
        out = np.bincount(ey * kp + ej, weights=em, minlength=ell * kp).reshape(ell, kp)
        used = float(np.sum(em * data.d[ex, ej]))
        # merge repeated entries (none expected) and write each once
        lin, inv = np.unique((ex * ell + ey) * kp + ej, return_inverse=True)
        vals = np.bincount(inv, weights=em / p[ex, ey], minlength=lin.size)
        live_rows = (p > 0).sum(axis=1)
        if np.all(live_rows <= 1):  # Y is a function of X: one row per x, broadcast over y
            W = np.zeros((k, kp))
            W[np.arange(k), data.cheap] = 1.0
            W[live_rows == 1] = 0.0
            xs_, js_ = lin // (ell * kp), lin % kp
            W[xs_, js_] = vals
            W /= W.sum(axis=1, keepdims=True)
            return np.broadcast_to(W[:, None, :], (k, ell, kp)), out, used
        chan = np.zeros((k, ell, kp))
        xd, yd = np.nonzero(p <= 0)
        chan[xd, yd, data.cheap[xd]] = 1.0
        chan.reshape(-1)[lin] = vals
        sums = chan.sum(axis=2)
        if np.max(np.abs(sums - 1.0)) > 1e-12:
            chan /= sums[:, :, None]
        return chan, out, used

    def run(self, warm: Any, gap_tol: float, max_iter: int) -> dict:
        data = self.data
        kp, allowed = data.kp, data.allowed_cols
        px_w = None
        if self.w > 0:
            px_w = np.where(allowed, data.px[:kp], 0.0) ** self.w
        key = (type(self).__name__, data.p.shape, kp)
        state: Any = None
        mu = 0.0
        if isinstance(warm, dict) and warm.get("method") == "ba" and warm.get("key") == key:
            q = np.where(allowed, np.asarray(warm["q"], dtype=float), 0.0)
            q = np.where(allowed & (q <= 0), 1e-300, q)
            mu, state = float(warm["mu"]), warm["state"]
        else:
            q = np.bincount(data.cheap, weights=data.px, minlength=kp).astype(float)
            q = np.where(allowed, q + 1e-3 / kp, 0.0)
        q = q / q.sum()

        def reference(q: np.ndarray) -> np.ndarray:
            if px_w is None:
                return q
            rho = q ** (1.0 - self.w) * px_w
            return rho / rho.sum()

        best: dict[str, Any] = {"lb": -np.inf, "mu": 0.0, "obj": np.inf, "n": None, "q": q}
        evals = 0
        log_px = np.where(allowed, self.log_px, 0.0)

        class _Done(Exception):
            pass

        def F(q: np.ndarray) -> tuple[np.ndarray, float, float]:
            """One projection: the new marginal ``P``, the objective of the projection and ``G(q)``."""
            nonlocal mu, state, evals
            mu_try, n, state_try = self.solve_mu(reference(q), mu, state)
            evals += 1
            if not np.all(np.isfinite(n)) or not self.cost(n) <= self.budget_units * (1.0 + 1e-12) + 1e-15:
                # no multiplier meets the budget at this reference (it starves letters whose mass
                # cannot all move): G(q) = +inf, and the previous multiplier is kept
                return q, np.inf, np.inf
            mu, state = mu_try, state_try
            obj, _, P = self.objective(n)
            lb = self.certificate(n, mu)
            if lb > best["lb"]:
                best["lb"], best["mu"] = lb, mu
            if obj < best["obj"]:
                best["obj"], best["n"], best["q"] = obj, n, q
            with np.errstate(divide="ignore", invalid="ignore"):
                lq = np.where(P > 0, np.log(np.where(q > 0, q, 1.0)), 0.0)
            G = (float(np.sum(xlogy(n, n)) - np.sum(xlogy(self.py, self.py)))
                 - float(np.sum(P * ((1.0 - self.w) * lq + self.w * log_px))))
            s = P.sum()
            return (P / s if s > 0 else q), obj, G

        def done() -> bool:
            return best["obj"] - best["lb"] <= gap_tol or evals >= max_iter

        # quasi-Newton on theta = log q: G(q) = min_n J(n, q) is convex and smooth there, with
        # gradient (1 - w)(q - P(q)), the Blahut-Arimoto residual; the certificate stops it
        idx = np.flatnonzero(allowed & (q > 0))

        class _Shrink(Exception):
            pass

        def fun(theta: np.ndarray) -> tuple[float, np.ndarray]:
            z = np.exp(theta - theta.max())
            qq = np.zeros(kp)
            qq[idx] = z / z.sum()
            P, _, G = F(qq)
            if done():
                raise _Done
            return G, (1.0 - self.w) * (qq[idx] - P[idx])

        def accepted(theta: np.ndarray) -> None:
            if np.any(theta < theta.max() + math.log(_DEAD)):
                raise _Shrink

        # letters whose reference mass dies (optimally unused) leave the optimisation: they would
        # drift to theta = -inf and spoil the curvature pairs; the certificate extends them exactly
        while idx.size and not done():
            q = best["q"]
            idx = idx[q[idx] >= _DEAD * q.max()]
            try:
                _lbfgs(fun, np.log(q[idx]), lambda th: np.exp(th - th.max()), accepted)
                break
            except _Done:
                break
            except _Shrink:
                continue
        q = best["q"]
        x0 = q
        while not done():
            # finish with SQUAREM-accelerated Blahut-Arimoto steps (Varadhan and Roland 2008)
            x1 = F(x0)[0]
            if done():
                break
            x2, f2, _ = F(x1)
            if done():
                break
            ok = allowed & (x1 > 0) & (x2 > 0) & (x0 > 0)
            l0, l1, l2 = np.log(x0[ok]), np.log(x1[ok]), np.log(x2[ok])
            r, v = l1 - l0, l2 - 2.0 * l1 + l0
            x0 = x2
            nv = float(np.linalg.norm(v))
            if nv > 0:
                step = min(-1.0, -float(np.linalg.norm(r)) / nv)
                ext = l0 - 2.0 * step * r + step * step * v
                ext = np.exp(ext - ext.max())
                x_ext = np.zeros_like(x0)
                x_ext[ok] = ext / ext.sum()
                x3, f3, _ = F(x_ext)
                if f3 <= f2 + 1e-15 * max(1.0, abs(f2)):
                    x0 = x3
            q = x0
        n = best["n"]
        assert n is not None
        chan, out, used = self.channel(n)
        dual = best["mu"] / self.scale if np.isfinite(best["mu"]) else np.inf
        state_out = {"method": "ba", "key": key, "q": q, "mu": mu, "state": state}
        return {"channel": chan, "out": out, "used": used, "lb": best["lb"], "dual": dual, "nu": None,
                "iterations": evals, "passes": self.passes, "state": state_out, "method": "ba"}


class _HammingBA(_TransportBA):
    """``d = s [x != xh]``: the projection is ``P(j, y) = clip(p(j, y), t q_j, t q_j e^mu)`` in closed form.

    Units: flips (``d / s``), costs shifted so that each row's least cost is 0: rows
    ``x >= k'`` (when ``k > k'``) pay ``s`` whatever they emit, so their mass is "free";
    outputs ``j >= k`` (when ``k' > k``) have no free input.  The class normaliser ``t``
    is the root of a monotone piecewise-linear function (exact Newton steps with a bracket).
    """

    def __init__(self, data: _Data):
        super().__init__(data)
        k, kp = data.k, data.kp
        self.scale = data.ham_scale
        self.m = m = min(k, kp)
        self.a = np.ascontiguousarray(self.pl[:, :m])  # a[y, j] = p(j, y)
        self.free = self.pl[:, m:].sum(axis=1) if k > m else np.zeros(self.pl.shape[0])
        assert data.slack is not None
        self.budget_units = data.slack / self.scale
        self.zero_slack = data.slack <= 0.0

    def project(self, rho, mu, state):
        a, py, m = self.a, self.py, self.m
        E = math.exp(mu) if mu < _MU_INF else np.inf
        rm = rho[:m]
        r_extra = float(rho[m:].sum())
        r_tot = float(rm.sum()) + r_extra
        hi = py / r_tot
        lo = py / (E * r_tot) if np.isfinite(E) else np.zeros_like(py)
        t = np.clip(state, lo, hi) if isinstance(state, np.ndarray) and state.shape == py.shape else \
            (np.sqrt(lo * hi) if np.isfinite(E) else hi.copy())
        tol = 1e-14 * py
        for _ in range(200):
            tr = t[:, None] * rm[None, :]
            if np.isfinite(E):
                trE = tr * E
                n = np.minimum(np.maximum(a, tr), trE)
                slope = E * ((a > trE) @ rm)
            else:
                n = np.maximum(a, tr)
                slope = np.zeros_like(t)
            slope += (a < tr) @ rm + r_extra
            res = n.sum(axis=1) + t * r_extra - py
            self.passes += 1
            done = np.abs(res) <= tol
            if np.all(done):
                break
            lo = np.where(res < 0, t, lo)
            hi = np.where(res > 0, t, hi)
            with np.errstate(divide="ignore", invalid="ignore"):
                tn = t - res / slope
            bad = ~((tn > lo) & (tn < hi))
            mid = np.where(lo > 0, np.sqrt(lo * hi), 0.5 * hi)
            t = np.where(done, t, np.where(bad, mid, tn))
            if np.all(done | (hi - lo <= 1e-15 * hi)):
                break
        out = np.empty((a.shape[0], rho.shape[0]))
        tr = t[:, None] * rm[None, :]
        out[:, :m] = np.minimum(np.maximum(a, tr), tr * E) if np.isfinite(E) else np.maximum(a, tr)
        out[:, m:] = t[:, None] * rho[None, m:]
        return out, t

    def cost(self, n):
        return float(np.sum(np.maximum(self.a - n[:, :self.m], 0.0)))

    def mu_slope(self, rho, mu, state):
        if mu >= _MU_INF:
            return None
        t = state
        rm, m = rho[:self.m], self.m
        E = math.exp(mu)
        tr = t[:, None] * rm[None, :]
        r_low = (self.a > tr * E) @ rm
        S = (self.a < tr) @ rm + float(rho[m:].sum())
        den = E * r_low + S
        with np.errstate(divide="ignore", invalid="ignore"):
            per = np.where(den > 0, r_low * t * E * S / den, 0.0)
        return -float(np.sum(per))

    def envelope(self, V, mu):
        m = self.m
        vmin = V.min(axis=1)
        out = np.empty(self.pl.shape)
        out[:, :m] = np.minimum(V[:, :m], vmin[:, None] + mu) if np.isfinite(mu) else V[:, :m]
        out[:, m:] = vmin[:, None]
        return out

    def anti_envelope(self, c, mu):
        m, kp = self.m, self.data.kp
        cm = c[:, :m]
        cfree = c[:, m:].max(axis=1) if c.shape[1] > m else np.full(c.shape[0], -np.inf)
        arg = np.argmax(cm, axis=1)
        top1 = cm[np.arange(cm.shape[0]), arg]
        rest = cm.copy()
        rest[np.arange(cm.shape[0]), arg] = -np.inf
        top2 = rest.max(axis=1) if m > 1 else np.full(c.shape[0], -np.inf)
        out = np.empty((c.shape[0], kp))
        others = np.where(np.arange(m)[None, :] == arg[:, None], top2[:, None], top1[:, None])
        if np.isfinite(mu):
            out[:, :m] = np.maximum(np.maximum(cm, others - mu), cfree[:, None])
            out[:, m:] = (top1 - mu)[:, None]
        else:
            out[:, :m] = np.maximum(cm, cfree[:, None])
            out[:, m:] = -np.inf
        return out

    def couple(self, n):
        m, a = self.m, self.pl
        stay = np.minimum(a[:, :m], n[:, :m])
        exc = a.copy()
        exc[:, :m] -= stay
        dfc = n.copy()
        dfc[:, :m] -= stay
        exc, dfc = np.clip(exc, 0.0, None), np.clip(dfc, 0.0, None)
        crumbs = (exc.sum(axis=1) > 0) & (dfc.sum(axis=1) <= 0)  # rounding: to the outputs themselves
        dfc[crumbs] = n[crumbs]
        r, x, j, mass = _nw_rows(exc, dfc)
        kr, kx = np.nonzero(stay > 0)
        return np.r_[kr, r], np.r_[kx, x], np.r_[kx, j], np.r_[stay[kr, kx], mass]


class _LineBA(_TransportBA):
    """``d = s |x - xh|`` (letters on the integer line): ``OT_d`` is ``s sum_i |A_i - C_i|`` (CDFs).

    The projection's dual over the boundaries, ``min_u p log sum_j rho_j e^(-U_j) + <u, A>``
    with ``|u_i| <= mu`` and ``U_j = sum_(i >= j) u_i``, is smooth with box constraints;
    projected Newton steps (Bertsekas 1982) solve it for all classes at once, the inverse of
    the free block of the Hessian being bidiagonal-diagonal-bidiagonal plus a rank one, so each
    step is ``O(l k)``.  The optimal coupling is the monotone (north-west-corner) one.
    """

    def __init__(self, data: _Data):
        super().__init__(data)
        k, kp = data.k, data.kp
        self.scale = data.line_scale
        self.K = K = max(k, kp)
        apad = np.zeros((self.pl.shape[0], K))
        apad[:, :k] = self.pl
        self.A = np.cumsum(apad, axis=1)[:, :K - 1]
        fixed = np.zeros(K - 1)
        if k > kp:
            fixed[kp - 1:] = 1.0  # beyond the last output every unit of mass must cross leftwards
        elif kp > k:
            fixed[k - 1:] = -1.0
        self.fixed = fixed
        assert data.budget is not None
        self.budget_units = data.budget / self.scale
        self.zero_slack = data.slack is not None and data.slack <= 0.0
        self.pos = np.arange(K, dtype=float)
        self.nearest = np.minimum(np.arange(k), kp - 1)

    def _revcum(self, u: np.ndarray) -> np.ndarray:
        U = np.zeros((u.shape[0], self.K))
        U[:, :-1] = np.cumsum(u[:, ::-1], axis=1)[:, ::-1]
        return U

    def _f(self, u: np.ndarray, logrho: np.ndarray, py: np.ndarray, A: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        z = logrho[None, :] - self._revcum(u)
        top = z.max(axis=1)
        lse = top + np.log(np.sum(np.exp(z - top[:, None]), axis=1))
        return py * lse + np.sum(u * A, axis=1), z, lse

    @staticmethod
    def _free_solve(g: np.ndarray, CS: np.ndarray, free: np.ndarray, py: np.ndarray) -> np.ndarray:
        """``H_FF^-1 g_F`` (zero off ``F``) for every class, in ``O(K)``.

        On the free boundaries ``i_1 < ... < i_m`` the Hessian is ``p T^T (diag(sig) - sig sig^T) T``
        with ``sig_b`` the mass of the letters in ``(i_(b-1), i_b]`` and ``T`` the upper-triangular
        matrix of ones, so its inverse is a difference, a diagonal plus a rank one, and a difference.
        """
        L, K1 = g.shape
        ar = np.arange(K1)
        idx = np.where(free, ar[None, :], -1)
        cm = np.maximum.accumulate(idx, axis=1)
        prev = np.concatenate([np.full((L, 1), -1), cm[:, :-1]], axis=1)
        pclip = np.maximum(prev, 0)
        CSp = np.where(prev >= 0, np.take_along_axis(CS, pclip, axis=1), 0.0)
        gp = np.where(prev >= 0, np.take_along_axis(g, pclip, axis=1), 0.0)
        sig = CS[:, :K1] - CSp
        last = np.maximum(cm[:, -1], 0)
        has = cm[:, -1] >= 0
        CSl = np.where(has, np.take_along_axis(CS, last[:, None], axis=1)[:, 0], 0.0)
        gl = np.where(has, np.take_along_axis(g, last[:, None], axis=1)[:, 0], 0.0)
        # a block without reference mass leaves f flat along one direction (its two boundaries move in
        # opposite senses); the floor keeps the step finite: zero along an exactly flat direction
        sig = np.maximum(sig, 1e-15)
        tail = np.maximum(1.0 - CSl, 1e-15)
        v = ((g - gp) / sig + (gl / tail)[:, None]) / py[:, None]
        v = np.where(free, v, 0.0)
        idx2 = np.where(free, ar[None, :], K1)
        nm = np.minimum.accumulate(idx2[:, ::-1], axis=1)[:, ::-1]
        nxt = np.concatenate([nm[:, 1:], np.full((L, 1), K1)], axis=1)
        vn = np.where(nxt < K1, np.take_along_axis(v, np.minimum(nxt, K1 - 1), axis=1), 0.0)
        return np.where(free, v - vn, 0.0)

    def _hess_vec(self, x: np.ndarray, s: np.ndarray, py: np.ndarray) -> np.ndarray:
        """``H x`` with ``H = T^T p (diag(s) - s s^T) T``."""
        V = self._revcum(x)
        w = py[:, None] * (s * V - s * np.sum(s * V, axis=1, keepdims=True))
        return np.cumsum(w, axis=1)[:, :-1]

    def project(self, rho, mu, state):
        kp, K, py, A = self.data.kp, self.K, self.py, self.A
        L = py.shape[0]
        if not np.isfinite(mu):  # the least-cost output law: everything stays, or goes to the nearest output
            n = np.zeros((L, kp))
            np.add.at(n.T, self.nearest, self.pl.T)
            return n, state
        # negligible reference masses are snapped to 0: a tiny positive one leaves f nearly flat along
        # a direction (a near-empty block between two free boundaries) and the active set flickers
        rho = np.where(rho < 1e-10 * rho.max(), 0.0, rho)
        with np.errstate(divide="ignore"):
            logrho = np.full(K, -np.inf)
            logrho[:kp] = np.log(rho)
        K1 = K - 1
        lo = np.where(self.fixed == 0, -mu, self.fixed * mu)[None, :]
        hi = np.where(self.fixed == 0, mu, self.fixed * mu)[None, :]
        if isinstance(state, dict) and state["u"].shape == (L, K1):
            u = state["u"] + (mu - state["mu"]) * state["du"]  # first-order prediction along mu
        else:
            u = np.broadcast_to(self.fixed * mu, (L, K1))
        u = np.clip(u, lo, hi)
        f, z, lse = self._f(u, logrho, py, A)
        for _ in range(200):
            s = np.exp(z - lse[:, None])
            CS = np.cumsum(s, axis=1)
            g = A - py[:, None] * CS[:, :K1]
            self.passes += 1
            err = np.abs(u - np.clip(u - g, lo, hi)).max(axis=1)
            todo = np.flatnonzero(err > 1e-15 + 1e-13 * py)
            if todo.size == 0:
                break
            # primal-dual active set step (semismooth Newton): predict the bounds from a diagonally
            # scaled gradient step, move them there, and take the Newton step on the free boundaries
            hdiag = py[:, None] * CS[:, :K1] * (1.0 - CS[:, :K1])
            trial = u - g / np.maximum(hdiag, 1e-300)
            up, down = (trial >= hi) | ((lo == hi) & (self.fixed > 0)), (trial <= lo) | ((lo == hi) & (self.fixed < 0))
            free = ~(up | down)
            target = np.where(up, hi, np.where(down, lo, u))
            delta = target - u
            rhs = g + self._hess_vec(delta, s, py)
            d = delta - self._free_solve(np.where(free, rhs, 0.0), CS, free, py)
            d = np.where(np.isfinite(d), d, np.clip(delta, -4 * mu, 4 * mu))
            # projected Armijo search on the classes not yet solved
            scale = py * np.abs(lse) + np.sum(np.abs(u * A), axis=1) + 1e-300
            alpha = 1.0
            for _ in range(60):
                uu, dd, gg = u[todo], d[todo], g[todo]
                ut = np.clip(uu + alpha * dd, lo, hi)
                ft, zt, lt = self._f(ut, logrho, py[todo], A[todo])
                pred = np.sum(gg * (ut - uu), axis=1)
                sc = scale[todo]
                ok = (ft <= f[todo] + 1e-4 * np.minimum(pred, 0.0)) | (
                    (np.abs(pred) <= 1e-12 * sc) & (ft <= f[todo] + 1e-13 * sc))
                acc = todo[ok]
                u[acc], f[acc], z[acc], lse[acc] = ut[ok], ft[ok], zt[ok], lt[ok]
                todo = todo[~ok]
                if todo.size == 0:
                    break
                alpha *= 0.5
            self.passes += 1
        s = np.exp(z - lse[:, None])
        CS = np.cumsum(s, axis=1)
        n = py[:, None] * s[:, :kp]
        # d u / d mu at fixed active sets: the bound boundaries move with mu, the free ones follow
        if mu > 0:
            bound = (np.abs(u) >= mu * (1.0 - 1e-12)) | (lo == hi)
            x = np.where(bound, np.sign(u), 0.0)
        else:  # the right derivative at 0: every boundary with mass to move is at its bound
            g = A - py[:, None] * CS[:, :K1]
            bound = np.ones(u.shape, dtype=bool)
            x = np.where(self.fixed != 0, self.fixed, -np.sign(g))
        Hx = self._hess_vec(x, s, py)
        zf = self._free_solve(Hx, CS, ~bound, py)
        du = x - zf
        self._slope = -float(np.sum(x * Hx) - np.sum(np.where(bound, 0.0, Hx) * zf))
        return n, {"u": u, "mu": mu, "du": du}

    def mu_slope(self, rho, mu, state):
        return getattr(self, "_slope", None)

    def cost(self, n):
        K, kp = self.K, self.data.kp
        C = np.cumsum(n, axis=1)
        if K > kp:
            C = np.concatenate([C, np.repeat(C[:, -1:], K - kp, axis=1)], axis=1)
        return float(np.sum(np.abs(self.A - C[:, :K - 1])))

    def _transform(self, V: np.ndarray, mu: float) -> np.ndarray:
        """``min_j [V(j) + mu |x - j|]`` for all ``x`` on the line (two running minima)."""
        pos = self.pos
        with np.errstate(invalid="ignore"):
            fw = np.minimum.accumulate(V - mu * pos, axis=1) + mu * pos
            bw = np.minimum.accumulate((V + mu * pos)[:, ::-1], axis=1)[:, ::-1] - mu * pos
        return np.minimum(fw, bw)

    def envelope(self, V, mu):
        k, kp, K = self.data.k, self.data.kp, self.K
        if not np.isfinite(mu):
            return V[:, self.nearest]
        Vp = np.full((V.shape[0], K), np.inf)
        Vp[:, :kp] = V
        return self._transform(Vp, mu)[:, :k]

    def anti_envelope(self, c, mu):
        k, kp, K = self.data.k, self.data.kp, self.K
        if not np.isfinite(mu):
            out = np.full((c.shape[0], kp), -np.inf)
            for x in range(k):
                out[:, self.nearest[x]] = np.maximum(out[:, self.nearest[x]], c[:, x])
            return out
        cp_ = np.full((c.shape[0], K), np.inf)
        cp_[:, :k] = -c
        return -self._transform(cp_, mu)[:, :kp]

    def couple(self, n):
        return _nw_rows(self.pl, n)


def _solve_ba(data: _Data, warm: Any, gap_tol: float, max_iter: int) -> dict:
    solver: _TransportBA = _HammingBA(data) if data.ham_scale > 0 else _LineBA(data)
    return solver.run(warm, gap_tol, max_iter)


# ----------------------------------------------------------------------------- finishing


def _cheap_output(data: _Data) -> np.ndarray:
    """The output joint ``P(y, xh)`` of the no-attack channel (every ``x`` to its cheapest output)."""
    out = np.zeros((data.kp, data.ell))
    np.add.at(out, data.cheap, data.p)
    return out.T.copy()


def _mix_cheap(data: _Data, chan: np.ndarray, theta: float) -> np.ndarray:
    """``(1 - theta) chan + theta * no-attack`` (in place when ``chan`` is writable)."""
    k, ell, kp = data.k, data.ell, data.kp
    if not chan.flags.writeable:  # a broadcast view of a (k, 1, k') array
        W = np.array(chan[:, 0, :])
        W *= 1.0 - theta
        W[np.arange(k), data.cheap] += theta
        return np.broadcast_to(W[:, None, :], (k, ell, kp))
    chan *= 1.0 - theta
    xs = np.repeat(np.arange(k), ell)
    ys = np.tile(np.arange(ell), k)
    chan[xs, ys, data.cheap[xs]] += theta
    return chan


def _finish(data: _Data, res: dict) -> AlphabetSolution:
    """Repair the budget if rounding overspent it, evaluate the channel and the gap."""
    chan, out, used = res["channel"], res["out"], float(res["used"])
    # a budget within rounding of the least cost counts as the least cost itself
    if data.budget is not None and used > max(data.budget, data.least):
        least = data.least
        theta = min(1.0, (used - data.budget) / (used - least)) if used > least else 1.0
        theta = min(1.0, theta * (1.0 + 1e-9) + 1e-15)
        chan = _mix_cheap(data, chan, theta)
        out = (1.0 - theta) * out + theta * _cheap_output(data)
        used = (1.0 - theta) * used + theta * least
        if used > data.budget:  # the no-attack channel alone: at the least cost
            chan = _mix_cheap(data, chan, 1.0)
            out, used = _cheap_output(data), least
    out = np.clip(out, 0.0, None)
    P = out.sum(axis=0)
    py = data.py
    mi = float(np.sum(xlogy(out, out)) - np.sum(xlogy(P, P)) - np.sum(xlogy(py, py)))
    mi = max(mi, 0.0)
    kl = None
    objective = mi
    if data.stealthy:
        pxk = data.px[:data.kp]
        pos = P > 0
        with np.errstate(divide="ignore"):
            kl = float(np.sum(P[pos] * (np.log(P[pos]) - np.log(pxk[pos]))))
        kl = max(kl, 0.0)
        objective = mi + data.weight * kl
    lb = min(float(res["lb"]), objective)  # still a valid bound; removes rounding-level negative gaps
    return AlphabetSolution(channel=chan, mi=mi, kl=kl, objective=objective, budget_used=used,
                            dual=float(res["dual"]), dual_stealth=res["nu"], lower_bound=lb,
                            gap=objective - lb, iterations=int(res["iterations"]), passes=int(res["passes"]),
                            state=res["state"], method=res["method"])


def solve_alphabet(p_xy, distortion, budget, *, knows: str = "x_and_y", hamming: bool | None = None,
                   stealth_weight: float | None = None, stealth_cap: float | None = None, warm: Any = None,
                   gap_tol: float = 1e-7, max_iter: int | None = None, method: str = "auto") -> AlphabetSolution:
    """Solve the discrete attack problem to a certified gap.

    Minimise ``I(Y; Xhat) + w KL(P_Xhat || P_X)`` over the attacker's channel subject to
    ``E d(X, Xhat) <= budget`` (and ``KL(P_Xhat || P_X) <= stealth_cap``).

    Parameters
    ----------
    p_xy : array_like, shape (k, l)
        Joint pmf of ``(X, Y)`` (zero rows and columns allowed).
    distortion : array_like, shape (k, k') or None
        ``d[x, xh] >= 0``; None is the Hamming distortion with ``k' = k``.
    budget : float or None
        ``D >=`` the least achievable distortion; None only with a stealth term.
    knows : {"x_and_y", "x"}
        The attacker sees ``(X, Y)`` (the paper's) or only ``X`` (label-blind).
    hamming : bool, optional
        Whether ``d`` is ``s [x != xh]`` (None: detected).  True insists (an error
        otherwise); False treats ``d`` as a general distortion.
    stealth_weight : float, optional
        ``w >= 0`` (needs ``k' = k``).
    stealth_cap : float, optional
        ``c >= 0``: ``KL(P_Xhat || P_X) <= c`` (needs ``k' = k``).
    warm : optional
        ``state`` of an earlier solution of a problem of the same shape (any budget).
    gap_tol : float
        Stop once ``objective - lower_bound <= gap_tol`` (nats).
    max_iter : int, optional
        Cap on the Blahut-Arimoto steps (default 100000) or interior-point Newton
        steps (default 500); the result then reports the gap reached.
    method : {"auto", "ba", "ipm"}
        ``"ba"`` (transport-view Blahut-Arimoto) needs ``knows="x_and_y"``, a budget,
        no stealth cap, a stealth weight ``<= 1`` and a Hamming ``s [x != xh]`` or line
        ``s |x - xh|`` distortion; ``"ipm"`` handles everything; ``"auto"`` prefers ``"ba"``.

    Returns
    -------
    AlphabetSolution

    Raises
    ------
    InvalidInputError
        On malformed input, a budget below the least achievable distortion,
        ``hamming=True`` with another distortion, or ``method="ba"`` where it does not apply.
    """
    data = _prepare(p_xy, distortion, budget, knows, stealth_weight, stealth_cap)
    gap_tol = _v.scalar("gap_tol", gap_tol, positive=True)
    method = _v.choice("method", method, ("auto", "ba", "ipm"))
    if hamming is not None and not isinstance(hamming, (bool, np.bool_)):
        raise InvalidInputError("hamming", f"expected True, False or None, got {hamming!r}")
    if hamming and not data.ham_scale:
        raise InvalidInputError("hamming", "the distortion is not s * [x != xh] (1 - eye(k, k') times s > 0)")
    if hamming is False:
        data.ham_scale = 0.0
    structured = data.ham_scale > 0 or data.line_scale > 0
    ba_ok = (structured and data.knows == "x_and_y" and data.cap is None and data.weight <= 1.0
             and data.budget is not None)
    if method == "ba" and not ba_ok:
        raise InvalidInputError("method", "'ba' needs knows='x_and_y', a budget, no stealth cap, a stealth weight "
                                "<= 1 and a Hamming s [x != xh] or line s |x - xh| distortion")
    if data.budget is None:
        return _finish(data, _independent(data))
    if method != "ipm" and ba_ok:
        iters = _v.integer("max_iter", max_iter, low=1) if max_iter is not None else 100_000
        return _finish(data, _solve_ba(data, warm, gap_tol, iters))
    iters = _v.integer("max_iter", max_iter, low=1) if max_iter is not None else 500
    return _finish(data, _solve_ipm(data, warm, gap_tol, iters))


def _independent(data: _Data) -> dict:
    """No budget: emit ``Xhat ~ P_X`` independently of everything (``I = 0``, ``KL = 0``: optimal)."""
    k, ell, kp = data.k, data.ell, data.kp
    W = np.broadcast_to(data.px[None, :kp] / data.px[:kp].sum(), (k, kp))
    out = np.outer(data.py, W[0])
    used = float(data.px @ (data.d @ W[0]))
    chan = np.broadcast_to(W[:, None, :], (k, ell, kp))
    return {"channel": chan, "out": out, "used": used, "lb": 0.0, "dual": 0.0,
            "nu": 0.0 if data.cap is not None else None, "iterations": 0, "passes": 0, "state": None,
            "method": "exact"}


# ----------------------------------------------------------------------------- interior point


class _Interior:
    """Primal-dual interior-point method on the joint ``r`` (one subclass per attacker model).

    ``min F(r)`` over ``r >= 0`` with fixed row sums, ``<c, r> <= D`` and ``KL(P) <= c``,
    ``F = I(Y; Xhat) + w KL(P_Xhat || P_X)``.  Mehrotra predictor-corrector steps; the
    primal iterate stays strictly feasible (row sums are restored after every step), so
    every iterate is a valid attack and the certificate decides when to stop.  The Newton
    systems ``(d^2 F + Z / R + rank-ones) dr + A^T dlam = rhs, A dr = 0`` are solved by the
    subclasses' structured factorisations.
    """

    mask: np.ndarray

    def __init__(self, data: _Data):
        self.data = data
        k, kp = data.k, data.kp
        dt = data.dt
        big = dt[np.broadcast_to(data.allowed_cols, dt.shape)]
        self.unit = float(big.max()) if big.size and big.max() > 0 else 1.0
        self.dts = dt / self.unit
        assert data.slack is not None
        self.slack = data.slack / self.unit
        ok = np.broadcast_to(data.allowed_cols[None, :], (k, kp)).copy()
        if self.slack <= 0.0:
            ok &= dt <= 0.0  # a budget at the least cost: only the cheapest outputs
        self.ok = ok
        self.has_budget = self.slack > 0.0 and bool(np.any(self.dts[ok & (data.px[:, None] > 0)] > 0))
        self.has_cap = data.cap is not None
        self.w = data.weight if data.stealthy else 0.0
        self.info = 1.0  # the weight of I(Y; Xhat) in F (0 in the phase-1 problem, min KL)
        self.log_px = np.zeros(kp)
        if data.stealthy:
            self.log_px = np.where(data.allowed_cols & (data.px[:kp] > 0),
                                   np.log(np.where(data.px[:kp] > 0, data.px[:kp], 1.0)), 0.0)
        self.passes = 0

    # -- layout-specific (subclasses) ----------------------------------------------------------

    def outputs(self, r: np.ndarray) -> np.ndarray:
        """The output joint ``n[y, j]``."""
        raise NotImplementedError

    def cost_array(self) -> np.ndarray:
        """The scaled shifted distortion in ``r``'s layout (zero off the mask)."""
        raise NotImplementedError

    def cols(self, v: np.ndarray) -> np.ndarray:
        """A per-output vector broadcast to ``r``'s layout."""
        raise NotImplementedError

    def grad_F(self, n: np.ndarray, P: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def factor(self, r: np.ndarray, n: np.ndarray, P: np.ndarray, Linv: np.ndarray, cap_w: float,
               wb: float, wc: float, vcap: np.ndarray | None):
        """A solver for ``(d2F + cap_w d2KL + diag(1/Linv) + wb c c^T + wc g g^T) dr + A^T lam = rhs, A dr = 0``."""
        raise NotImplementedError

    def hess_vec(self, v: np.ndarray, n: np.ndarray, P: np.ndarray, Linv: np.ndarray, cap_w: float, wb: float,
                 wc: float, vcap: np.ndarray | None) -> np.ndarray:
        """The Newton matrix (without the row constraints) times ``v``."""
        raise NotImplementedError

    def newton(self, r: np.ndarray, n: np.ndarray, P: np.ndarray, Linv: np.ndarray, cap_w: float, wb: float,
               wc: float, vcap: np.ndarray | None, rhs: np.ndarray) -> tuple[np.ndarray, bool]:
        """Solve the Newton system, with iterative refinement against the exact matrix-vector product.

        The structured factorisation loses accuracy as the interior-point method converges
        (Schur complements with entries spread over many orders of magnitude); a few
        refinement steps restore it at ``O(k l k')`` each.  Returns the step and whether the
        refinement converged.
        """
        fac = self.factor(r, n, P, Linv, cap_w, wb, wc, vcap)
        mask = self.mask
        dr = np.where(mask, fac(rhs), 0.0)
        size = float(np.sum(np.abs(dr)))
        for _ in range(4):
            res = np.where(mask, rhs - self.hess_vec(dr, n, P, Linv, cap_w, wb, wc, vcap), 0.0)
            delta = np.where(mask, fac(res), 0.0)
            dr = dr + delta
            self.passes += 2
            change = float(np.sum(np.abs(delta)))
            if not np.isfinite(change):
                return dr, False
            if change <= 1e-10 * size:
                return dr, True
        return dr, change <= 1e-4 * size

    def start(self, W: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def fix_rows(self, r: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def rows_channel(self, r: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def channel(self, r: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    # -- shared ---------------------------------------------------------------------------------

    def evaluate(self, r: np.ndarray) -> dict:
        """Objective parts and slacks at ``r`` (``inside`` false off the strict domain)."""
        n = self.outputs(r)
        P = n.sum(axis=0)
        py = self.data.py
        mi = float(np.sum(xlogy(n, n)) - np.sum(xlogy(P, P)) - np.sum(xlogy(py, py)))
        kl = float(np.sum(xlogy(P, P)) - np.sum(P * self.log_px)) if self.data.stealthy else 0.0
        sb = self.slack - float(np.sum(r * self.cost_array())) if self.has_budget else np.inf
        sc = self.data.cap - kl if self.data.cap is not None else np.inf
        inside = bool(np.all(r[self.mask] > 0)) and sb > 0 and sc > 0
        self.passes += 1
        return {"n": n, "P": P, "mi": mi, "kl": kl, "F": self.info * mi + self.w * kl, "sb": sb, "sc": sc,
                "inside": inside}

    def kl_grad(self, P: np.ndarray) -> np.ndarray:
        return np.log(np.where(P > 0, P, 1.0)) - self.log_px + 1.0

    def certificate(self, ev: dict, mu0: float, nu0: float, full: bool) -> tuple[float, float, float]:
        """``(lower bound, mu in user's units, nu)`` at the posterior decoder of the iterate."""
        data = self.data
        n, P = ev["n"], ev["P"]
        with np.errstate(divide="ignore"):
            logr = np.where(P[None, :] > 0, np.log(n) - np.log(np.where(P > 0, P, 1.0))[None, :], -np.inf)
        G = np.where(data.allowed_cols & (P > 0), np.log(np.where(P > 0, P, 1.0)) - self.log_px, 0.0)
        if self.slack <= 0.0:
            mu0 = np.inf
        elif not self.has_budget:
            mu0 = 0.0

        def at(mu: float, nu: float) -> tuple[float, float, float]:
            self.passes += 1
            with np.errstate(invalid="ignore"):
                return _bound(data, logr, G, mu, nu, None)

        lb = at(mu0, nu0)[0]
        if not full:
            return lb, mu0, nu0
        mu, nu = mu0, nu0
        for _ in range(3 if self.has_cap else 1):
            if self.has_budget:
                mu, lb, _ = _maximise(lambda m, nu=nu: at(m, nu)[:2], mu)
            if self.has_cap:
                nu, lb, _ = _maximise(lambda v, mu=mu: (lambda o: (o[0], o[2]))(at(mu, v)), nu)
        return lb, mu, nu

    def initial(self, warm: Any) -> np.ndarray:
        """A strictly feasible start: a base channel (warm, no-attack or identity) mixed with the uniform one."""
        data = self.data
        k, kp = data.k, data.kp
        U = self.ok / self.ok.sum(axis=1, keepdims=True)
        bases: list[tuple[np.ndarray, tuple[float, ...]]] = []
        if isinstance(warm, dict) and warm.get("method") == "ipm" and warm.get("shape") == data.p.shape + (kp,) \
                and warm.get("knows") == data.knows:
            bases.append((np.asarray(warm["W"], dtype=float), (1e-3, 1e-2, 0.1, 0.5)))
        cheap = np.zeros((k, kp))
        cheap[np.arange(k), data.cheap] = 1.0
        alphas = (0.5, 0.1, 1e-2, 1e-3, 1e-4, 1e-6)
        bases.append((cheap, alphas))
        if k == kp:  # the identity keeps P_Xhat = P_X (KL = 0); its mixtures trade KL for cost
            eye = np.where(self.ok, np.eye(k), 0.0)
            eye[eye.sum(axis=1) == 0] = cheap[eye.sum(axis=1) == 0]
            for beta in (1.0, 0.9, 0.75, 0.5, 0.25, 0.1):
                bases.append((beta * eye + (1.0 - beta) * cheap, alphas))
            if self.has_cap:  # cheapest channels onto output laws between P_X and the no-attack law
                P_cheap = np.bincount(data.cheap, weights=data.px, minlength=kp)
                for t in (0.0, 0.05, 0.15, 0.3, 0.5, 0.7, 0.9):
                    plan = self._cheapest_onto((1.0 - t) * data.px[:kp] + t * P_cheap)
                    if plan is not None:
                        bases.append((plan, alphas))
        # A candidate must keep a relative margin from the budget and the cap, not merely be inside:
        # a mixture can land on a boundary exactly (e.g. Hamming, a budget of alpha (1 - 1/m) with m
        # allowed outputs -- m = 2 for p_xy = [[.3, .1], [0, 0], [.2, .4]] under a stealth term,
        # whose absent letter leaves the uniform channel U two outputs, and budget 0.05 = 0.1 / 2), so
        # that its slack is positive only by rounding (~1e-17).  The barrier then starts with a
        # budget curvature ~tau / slack^2 ~ 1e32, every structured Newton solve fails, and the
        # method stalls at the start with a large (honest) gap.  Near-boundary candidates stay a
        # last resort, the closest-to-centre one first.
        best, best_margin = None, 0.0
        for base, mix in bases:
            for alpha in mix:
                W = (1.0 - alpha) * base + alpha * (U if base.ndim == 2 else U[:, None, :])
                r = self.fix_rows(self.start(W))
                margin = self._margin(self.evaluate(r))
                if margin >= _MARGIN:
                    return r
                if margin > best_margin:
                    best, best_margin = r, margin
        if self.has_cap and self.info > 0:
            # phase 1: minimise KL(P_Xhat || P_X) alone under the budget, stopping inside the cap
            assert data.cap is not None
            cap = data.cap
            phase1 = type(self)(replace(data, weight=1.0, cap=None, stealthy=True))
            phase1.info = 0.0
            phase1.run(None, 0.0, 200, stop=lambda ev: ev["kl"] < cap * (1.0 - _MARGIN))
            self.passes += phase1.passes
            r = phase1.final_r
            margin = self._margin(self.evaluate(r))
            if margin > best_margin:
                best, best_margin = r, margin
        if best is not None:
            return best
        if self.has_cap:
            raise InvalidInputError("stealth_cap", "no strictly feasible channel (the budget and the stealth cap "
                                    "leave no interior: KL(P_Xhat || P_X) cannot go below the cap within the "
                                    "budget; a zero cap needs P_Xhat = P_X exactly)")
        raise InvalidInputError("budget", "no strictly feasible channel found: the budget leaves no interior to "
                                "start from (it is at, or within rounding of, the least cost any channel "
                                "can have)")

    def _cheapest_onto(self, target: np.ndarray) -> np.ndarray | None:
        """``P(xh | x)`` of the least-cost transport of ``P_X`` onto the output law ``target`` (an LP), or None."""
        data = self.data
        px = data.px
        rows = np.flatnonzero(px > 0)
        cols = np.flatnonzero((target > 0) & data.allowed_cols)
        one_r, one_c = sparse.csr_matrix(np.ones((1, cols.size))), sparse.csr_matrix(np.ones((1, rows.size)))
        eq = sparse.vstack([sparse.kron(sparse.identity(rows.size), one_r),
                            sparse.kron(one_c, sparse.identity(cols.size))]).tocsr()
        rhs = np.concatenate([px[rows], target[cols] / target[cols].sum()])
        eq_any: Any = eq  # HiGHS takes sparse constraints (the stubs list dense arrays only)
        res = optimize.linprog(data.d[np.ix_(rows, cols)].ravel(), A_eq=eq_any, b_eq=rhs, bounds=(0, None),
                               method="highs")
        if res.status != 0 or res.x is None:
            return None
        W = np.zeros((data.k, data.kp))
        W[np.arange(data.k), data.cheap] = 1.0
        plan = np.clip(res.x.reshape(rows.size, cols.size), 0.0, None)
        W[rows] = 0.0
        W[np.ix_(rows, cols)] = plan / plan.sum(axis=1, keepdims=True)
        return W

    def _margin(self, ev: dict) -> float:
        """The relative slack ``min(s_b / slack, s_c / cap, 1)`` of an iterate (0 off the strict domain)."""
        if not ev["inside"]:
            return 0.0
        margin = 1.0
        if self.has_budget:
            margin = min(margin, ev["sb"] / self.slack)
        if self.data.cap is not None:
            margin = min(margin, ev["sc"] / self.data.cap)
        return margin

    def _ftb(self, x: np.ndarray, dx: np.ndarray, scalars: list[tuple[float, float]]) -> float:
        """The largest step in ``[0, 1]`` keeping ``x + a dx > 0`` (on the mask) and the scalar pairs positive."""
        neg = self.mask & (dx < 0)
        a = float(np.min(-x[neg] / dx[neg])) if np.any(neg) else np.inf
        for v, dv in scalars:
            if dv < 0:
                a = min(a, -v / dv)
        return min(1.0, a)

    def _barrier(self, r: np.ndarray, ev: dict) -> float:
        """``-sum log r - log s_b - log s_c`` (``inf`` outside the strict domain)."""
        if not ev["inside"]:
            return np.inf
        b = -float(np.sum(np.log(r[self.mask])))
        if self.has_budget:
            b -= math.log(ev["sb"])
        if self.has_cap:
            b -= math.log(ev["sc"])
        return b

    def run(self, warm: Any, gap_tol: float, max_iter: int, stop=None) -> dict:
        """Iterate until the certificate closes the gap (or ``stop(ev)`` holds, or ``max_iter`` steps)."""
        mask = self.mask
        c = self.cost_array()
        r = self.initial(warm)
        ev = self.evaluate(r)
        self.final_r = r
        m = float(np.count_nonzero(mask)) + self.has_budget + self.has_cap
        # the barrier parameter tau; m * tau estimates the duality gap (nats)
        g = min(max(ev["F"], 1e-3), 1.0)
        if isinstance(warm, dict) and warm.get("method") == "ipm" and "gap" in warm:
            g = min(g, max(float(warm["gap"]) * 1e3, 1e-6))
        tau = g / m
        z = np.where(mask, tau / np.where(mask, r, 1.0), 0.0)
        ub = tau / ev["sb"] if self.has_budget else 0.0
        uc = tau / ev["sc"] if self.has_cap else 0.0
        best_lb, best_mu, best_nu = -np.inf, 0.0, 0.0
        it = 0
        stalled = 0
        safe_r = np.where(mask, r, 1.0)
        while True:
            if stop is not None:
                if stop(ev) or it >= max_iter or stalled >= 3:
                    break
            else:
                near = ev["F"] - best_lb <= 1e3 * gap_tol or m * tau <= 10 * gap_tol
                lb, mu, nu = self.certificate(ev, ub / self.unit, uc, full=near)
                if lb > best_lb:
                    best_lb, best_mu, best_nu = lb, mu, nu
                if not near and ev["F"] - best_lb <= 1e3 * gap_tol:
                    lb, mu, nu = self.certificate(ev, ub / self.unit, uc, full=True)
                    if lb > best_lb:
                        best_lb, best_mu, best_nu = lb, mu, nu
                if ev["F"] - best_lb <= gap_tol or it >= max_iter or stalled >= 3:
                    break
            it += 1
            n, P = ev["n"], ev["P"]
            sb, sc = ev["sb"], ev["sc"]
            gk = self.kl_grad(P) if self.has_cap else None
            safe_r = np.where(mask, r, 1.0)
            grad = self.grad_F(n, P) - np.where(mask, tau / safe_r, 0.0)
            if self.has_budget:
                grad = grad + c * (tau / sb)
            if gk is not None:
                grad = grad + self.cols(gk) * (tau / sc)
            grad = np.where(mask, grad, 0.0)
            # the inverse barrier curvature r / z, capped (a proximal floor): F can be flat along
            # directions that rearrange a coupling without changing the output law, and an
            # uncapped r / z (~ r^2 / tau on the support) can make the structured solve lose all
            # accuracy there; the cap tightens only when the solve fails
            ratio = r / np.where(mask, z, 1.0)
            for prox in _PROX:
                Linv = np.where(mask, np.minimum(ratio, prox * float(r.max())), 0.0)
                dr, solved = self.newton(r, n, P, Linv, uc, ub / sb if self.has_budget else 0.0,
                                         uc / sc if self.has_cap else 0.0, gk, -grad)
                if solved and float(np.sum(grad * dr)) < 0:
                    break
            slope = float(np.sum(grad * dr))
            dec = -slope
            dsb = -float(np.sum(c * dr)) if self.has_budget else 0.0
            dsc = -float(np.sum(self.cols(gk) * dr)) if gk is not None else 0.0
            eta = max(0.99, 1.0 - m * tau)
            scal = []
            if self.has_budget:
                scal.append((sb, dsb))
            if gk is not None:
                scal.append((sc, dsc))
            alpha = eta * self._ftb(r, dr, scal)
            phi0 = ev["F"] + tau * self._barrier(r, ev)
            ok = False
            for _ in range(50):
                r_new = self.fix_rows(np.where(mask, r + alpha * dr, 0.0))
                ev_new = self.evaluate(r_new)
                phi = ev_new["F"] + tau * self._barrier(r_new, ev_new)
                if phi <= phi0 + 1e-4 * alpha * slope or (phi <= phi0 and dec <= 1e-12 * max(1.0, abs(phi0))):
                    ok = True
                    break
                alpha *= 0.5
            if ok:
                # dual updates (their own fraction to the boundary), kept within a factor of the centre
                dz = np.where(mask, tau / safe_r - z - z / safe_r * dr, 0.0)
                dub = (tau / sb - ub - ub * dsb / sb) if self.has_budget else 0.0
                duc = (tau / sc - uc - uc * dsc / sc) if gk is not None else 0.0
                dscal = []
                if self.has_budget:
                    dscal.append((ub, dub))
                if gk is not None:
                    dscal.append((uc, duc))
                az = eta * self._ftb(z, dz, dscal)
                r, ev = r_new, ev_new
                rs = np.where(mask, r, 1.0)
                z = np.where(mask, np.clip(z + az * dz, tau / (1e10 * rs), 1e10 * tau / rs), 0.0)
                if self.has_budget:
                    ub = float(np.clip(ub + az * dub, tau / (1e10 * ev["sb"]), 1e10 * tau / ev["sb"]))
                if gk is not None:
                    uc = float(np.clip(uc + az * duc, tau / (1e10 * ev["sc"]), 1e10 * tau / ev["sc"]))
                stalled = 0
            else:
                stalled += 1
            if not ok or dec <= tau:
                # the barrier problem is (nearly) solved: decrease tau superlinearly
                gnew = min(0.2 * m * tau, (m * tau) ** 1.5)
                tau = max(gnew, 1e-3 * gap_tol) / m
                if self.has_budget:
                    ub = max(ub, 1e-300)
        self.final_r = r
        if stop is not None:
            return {}
        used = float(np.sum(r * c)) * self.unit + self.data.least
        state = {"method": "ipm", "shape": self.data.p.shape + (self.data.kp,), "knows": self.data.knows,
                 "W": self.rows_channel(r), "gap": max(ev["F"] - best_lb, gap_tol)}
        return {"channel": self.channel(r), "out": ev["n"], "used": used, "lb": best_lb, "dual": best_mu,
                "nu": best_nu if self.has_cap else None, "iterations": it, "passes": self.passes,
                "state": state, "method": "ipm"}


class _InteriorXY(_Interior):
    """``knows="x_and_y"``: ``r[y, x, j] = p(x, y) P(j | x, y)``.

    The Hessian of ``F`` is block-diagonal per class ``y`` (within a class, one rank-one
    term per output letter) up to the rank-``k'`` coupling ``E_P^T diag(.) E_P`` through
    ``P_Xhat``; the row constraints are eliminated per class (a ``k x k`` Schur complement)
    and the coupling by Woodbury: ``O(l k^2 k' + l k^3)`` per factorisation.
    """

    def __init__(self, data: _Data):
        super().__init__(data)
        self.pt = np.ascontiguousarray(data.p.T)  # (l, k)
        self.mask = (self.pt > 0)[:, :, None] & self.ok[None, :, :]
        self._cost = np.where(self.mask, self.dts[None, :, :], 0.0)

    def outputs(self, r):
        return r.sum(axis=1)

    def cost_array(self):
        return self._cost

    def cols(self, v):
        return np.broadcast_to(v[None, None, :], self.mask.shape)

    def grad_F(self, n, P):
        ln = self.info * np.log(np.where(n > 0, n, 1.0))
        col = (self.w - self.info) * np.log(np.where(P > 0, P, 1.0)) - self.w * self.log_px
        return np.where(self.mask, (ln + col[None, :])[:, None, :], 0.0)

    def hess_vec(self, v, n, P, Linv, cap_w, wb, wc, vcap):
        dn = v.sum(axis=1)
        dP = dn.sum(axis=0)
        gamma = self.w - self.info + cap_w
        col = gamma * np.where(P > 0, dP / np.where(P > 0, P, 1.0), 0.0)
        if vcap is not None:
            col = col + wc * vcap * float(vcap @ dP)
        out = (self.info * np.where(n > 0, dn / np.where(n > 0, n, 1.0), 0.0) + col[None, :])[:, None, :]
        out = out + np.where(self.mask, v / np.where(self.mask & (Linv > 0), Linv, 1.0), 0.0)
        if wb > 0:
            out = out + wb * self._cost * float(np.sum(self._cost * v))
        return out

    def start(self, W):
        Wy = W.transpose(1, 0, 2) if W.ndim == 3 else W[None, :, :]
        return np.where(self.mask, self.pt[:, :, None] * Wy, 0.0)

    def fix_rows(self, r):
        s = r.sum(axis=2)
        return r * np.where(s > 0, self.pt / np.where(s > 0, s, 1.0), 0.0)[:, :, None]

    def channel(self, r):
        data = self.data
        live = self.pt > 0
        rows = r / np.where(live, r.sum(axis=2), 1.0)[:, :, None]
        chan = np.ascontiguousarray(rows.transpose(1, 0, 2))
        xd, yd = np.nonzero(~live.T)
        chan[xd, yd, :] = 0.0
        chan[xd, yd, data.cheap[xd]] = 1.0
        return chan

    def rows_channel(self, r):
        return self.channel(r)

    def factor(self, r, n, P, Linv, cap_w, wb, wc, vcap):
        L = Linv
        c = np.where(n > 0, self.info / np.where(n > 0, n, 1.0), 0.0)  # (l, k'): the rank-one weights of d2F
        sig = L.sum(axis=1)
        den = 1.0 + c * sig
        beta = c / den

        def h0inv(v: np.ndarray) -> np.ndarray:
            lv = L * v
            return lv - L * (beta * lv.sum(axis=1))[:, None, :]

        S = -np.matmul(L * beta[:, None, :], L.transpose(0, 2, 1))
        # the diagonal sum_j L (1 - beta L) without cancellation: 1 - beta L = (1 + c (sig - L)) / (1 + c sig),
        # with sig - L summed over the other rows (each column's largest entry handled explicitly)
        top = np.argmax(L, axis=1)
        rest = L.copy()
        np.put_along_axis(rest, top[:, None, :], 0.0, axis=1)
        is_top = np.arange(L.shape[1])[None, :, None] == top[:, None, :]
        others = np.where(is_top, rest.sum(axis=1)[:, None, :], np.maximum(sig[:, None, :] - L, 0.0))
        del rest, is_top
        diag = np.sum(L * (1.0 + c[:, None, :] * others) / den[:, None, :], axis=2)
        del others
        idx = np.arange(S.shape[1])
        S[:, idx, idx] = np.where(L.sum(axis=2) <= 0, 1.0, diag)
        Sinv = np.linalg.inv(S)
        self.passes += 4
        kp = n.shape[1]
        gamma = self.w - self.info + cap_w  # weight of E_P^T diag(1/P) E_P
        use_cols = gamma != 0.0 or vcap is not None
        nc = kp if use_cols else 0
        budget = self._cost if wb > 0 else None
        size = nc + (budget is not None)
        if size == 0:
            def solve0(rhs: np.ndarray) -> np.ndarray:
                x = np.einsum("yab,yb->ya", Sinv, h0inv(rhs).sum(axis=2))
                return h0inv(rhs - x[:, :, None])
            return solve0
        CP = np.zeros((size, size))
        blocks = []
        if use_cols:
            CP[:nc, :nc] = np.diag(np.where(P > 0, gamma / np.where(P > 0, P, 1.0), 0.0))
            if vcap is not None:
                CP[:nc, :nc] += wc * np.outer(vcap, vcap)
            B = L / den[:, None, :]  # A H0^-1 e_j, per class
            XB = np.matmul(Sinv, B)  # (l, k, k')
            blocks.append(None)
        M = np.zeros((size, size))
        if use_cols:
            M[:nc, :nc] = np.diag((sig / den).sum(axis=0)) - np.einsum("yxj,yxi->ji", B, XB)
        Zb = xb = None
        if budget is not None:
            CP[nc, nc] = wb
            xb = np.einsum("yab,yb->ya", Sinv, h0inv(budget).sum(axis=2))
            Zb = h0inv(budget - xb[:, :, None])
            if use_cols:
                M[:nc, nc] = M[nc, :nc] = Zb.sum(axis=(0, 1))
            M[nc, nc] = float(np.sum(budget * Zb))
        K = np.eye(size) + CP @ M

        def solve(rhs: np.ndarray) -> np.ndarray:
            x = np.einsum("yab,yb->ya", Sinv, h0inv(rhs).sum(axis=2))
            o = h0inv(rhs - x[:, :, None])
            proj = np.zeros(size)
            if use_cols:
                proj[:nc] = o.sum(axis=(0, 1))
            if budget is not None:
                proj[nc] = float(np.sum(budget * o))
            alpha = np.linalg.solve(K, CP @ proj)
            v = np.zeros(L.shape)
            xv = np.zeros(L.shape[:2])
            if use_cols:
                v = v + alpha[None, None, :nc]
                xv = xv + XB @ alpha[:nc]
            if budget is not None:
                assert xb is not None
                v = v + alpha[nc] * budget
                xv = xv + alpha[nc] * xb
            return o - h0inv(v - xv[:, :, None])

        return solve


class _InteriorX(_Interior):
    """``knows="x"``: ``r[x, j] = p(x) P(j | x)``; the Hessian is block-diagonal per output letter.

    ``O(k' k^2 l + k' k^3)`` per factorisation (one ``k x k`` inverse per output letter).
    """

    def __init__(self, data: _Data):
        super().__init__(data)
        live = data.px > 0
        self.Q = np.zeros_like(data.p)
        self.Q[live] = data.p[live] / data.px[live, None]
        self.mask = live[:, None] & self.ok
        self._cost = np.where(self.mask, self.dts, 0.0)

    def outputs(self, r):
        return self.Q.T @ r

    def cost_array(self):
        return self._cost

    def cols(self, v):
        return np.broadcast_to(v[None, :], self.mask.shape)

    def grad_F(self, n, P):
        ln = self.info * np.log(np.where(n > 0, n, 1.0))
        col = (self.w - self.info) * np.log(np.where(P > 0, P, 1.0)) - self.w * self.log_px
        return np.where(self.mask, self.Q @ ln + col[None, :], 0.0)

    def hess_vec(self, v, n, P, Linv, cap_w, wb, wc, vcap):
        dn = self.Q.T @ v
        dP = v.sum(axis=0)
        gamma = self.w - self.info + cap_w
        col = gamma * np.where(P > 0, dP / np.where(P > 0, P, 1.0), 0.0)
        if vcap is not None:
            col = col + wc * vcap * float(vcap @ dP)
        out = self.info * (self.Q @ np.where(n > 0, dn / np.where(n > 0, n, 1.0), 0.0)) + col[None, :]
        out = out + np.where(self.mask, v / np.where(self.mask & (Linv > 0), Linv, 1.0), 0.0)
        if wb > 0:
            out = out + wb * self._cost * float(np.sum(self._cost * v))
        return out

    def start(self, W):
        W2 = W[:, 0, :] if W.ndim == 3 else W
        return np.where(self.mask, self.data.px[:, None] * W2, 0.0)

    def fix_rows(self, r):
        s = r.sum(axis=1)
        return r * np.where(s > 0, self.data.px / np.where(s > 0, s, 1.0), 0.0)[:, None]

    def rows_channel(self, r):
        live = self.data.px > 0
        W = np.zeros_like(r)
        W[np.arange(r.shape[0]), self.data.cheap] = 1.0
        W[live] = r[live] / r[live].sum(axis=1, keepdims=True)
        return W

    def channel(self, r):
        W = self.rows_channel(r)
        return np.broadcast_to(W[:, None, :], (self.data.k, self.data.ell, self.data.kp))

    def factor(self, r, n, P, Linv, cap_w, wb, wc, vcap):
        k = r.shape[0]
        mask = self.mask
        inv_n = np.where(n > 0, 1.0 / np.where(n > 0, n, 1.0), 0.0)  # (l, k')
        # the Hessian of I per output j is Q (diag(1/n_j) - 1 1^T / P_j) Q^T (rows of Q sum to 1):
        # formed as B B^T with B = Q diag(n_j)^-1/2 U, U an orthonormal basis of the complement of
        # s = sqrt(n_j / P_j) (a Householder reflection), so no cancellation near I = 0
        root = np.sqrt(self.info * inv_n.T)  # (k', l)
        s = np.sqrt(np.where(P[:, None] > 0, n.T / np.where(P > 0, P, 1.0)[:, None], 0.0))
        w = s.copy()
        w[:, 0] += 1.0
        w /= np.linalg.norm(w, axis=1, keepdims=True)
        Y = self.Q[None, :, :] * root[:, None, :]  # (k', k, l)
        Y -= 2.0 * np.einsum("jxl,jl->jx", Y, w)[:, :, None] * w[:, None, :]
        B = Y[:, :, 1:]
        H = np.matmul(B, B.transpose(0, 2, 1))  # (k', k, k)
        H += np.where(P > 0, (self.w + cap_w) / np.where(P > 0, P, 1.0), 0.0)[:, None, None]  # I's -1 is in B
        idx = np.arange(k)
        mT = mask.T
        both = mT[:, :, None] & mT[:, None, :]
        H = np.where(both, H, 0.0)
        H[:, idx, idx] += np.where(mT, 1.0 / np.where(mT, Linv.T, 1.0), 1.0)
        Hinv = np.where(both, np.linalg.inv(H), 0.0)
        S = Hinv.sum(axis=0)
        S[idx, idx] += np.where(mask.any(axis=1), 0.0, 1.0)
        Sinv = np.linalg.inv(S)
        self.passes += 4

        def k0(v: np.ndarray) -> np.ndarray:
            Y = np.einsum("jxz,zj->xj", Hinv, v)
            lam = Sinv @ Y.sum(axis=1)
            return Y - np.einsum("jxz,z->xj", Hinv, lam)

        us, ws = [], []
        if vcap is not None:
            us.append(np.where(mask, vcap[None, :], 0.0))
            ws.append(wc)
        if wb > 0:
            us.append(self._cost)
            ws.append(wb)
        if not us:
            return lambda rhs: k0(np.where(mask, rhs, 0.0))
        Zu = [k0(u) for u in us]
        C = np.diag(ws)
        M = np.array([[float(np.sum(a * b)) for b in Zu] for a in us])
        K = np.eye(len(us)) + C @ M

        def solve(rhs: np.ndarray) -> np.ndarray:
            o = k0(np.where(mask, rhs, 0.0))
            alpha = np.linalg.solve(K, C @ np.array([float(np.sum(u * o)) for u in us]))
            for a, zu in zip(alpha, Zu, strict=True):
                o = o - a * zu
            return o

        return solve


def _solve_ipm(data: _Data, warm: Any, gap_tol: float, max_iter: int) -> dict:
    solver: _Interior = _InteriorXY(data) if data.knows == "x_and_y" else _InteriorX(data)
    return solver.run(warm, gap_tol, max_iter)
