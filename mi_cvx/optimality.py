"""Optimality (KKT) conditions of the discrete channel problem, evaluated at a given channel and multiplier.

The discrete attack problem of :mod:`mi_cvx.discrete` in the channel
``c[x, y, xh] = P(Xhat = xh | X = x, Y = y)``: minimise ``I(Y; Xhat)`` over
channels whose rows lie in the simplex, subject to the expected distortion
``sum p_xy[x, y] c[x, y, xh] d[x, xh] <= budget``.  It is convex, so its KKT
conditions are necessary and sufficient.  :func:`optimality_residuals` takes
*any* channel and *any* budget multiplier ``lambda`` (typically a solver's
channel and ``result.dual_budget``) and reports how far they are from
satisfying them:

* stationarity / complementarity per cell ``(x, y)`` -- the channel puts its
  mass only on outputs of least marginal price
  ``log(P(y | xh) / p(y)) + lambda d[x, xh]`` (for a label-blind attacker,
  ``knows="x"``, the ``p(y | x)``-average per input letter);
* complementary slackness of the budget, ``lambda (budget - cost) = 0``;
* primal feasibility (the budget, and for ``knows="x"`` that the channel
  does not depend on ``y``) and dual feasibility ``lambda >= 0``.

For a binary Hamming problem these are Theorem 3.3 (docs/theory.md section 4), and
:attr:`OptimalityResiduals.log_ratio` exposes the theorem's log-ratio test.
``result.optimality()`` of a discrete family runs the check at the solver's
channel (see :mod:`mi_cvx.discrete`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import validate as _v
from .display import Verbatim, html_table, short_repr
from .errors import InvalidInputError

__all__ = ["OptimalityResiduals", "optimality_residuals"]


@dataclass(frozen=True)
class OptimalityResiduals:
    """Residuals of the optimality conditions (Theorem 3.3, generalised).

    Attributes
    ----------
    cells : ndarray
        Per-cell residual in nats, shape ``(k, l)`` (``knows="x_and_y"``) or
        ``(k,)`` (``knows="x"``, one per input letter): for the cell ``(x, y)``,
        ``sum_xh c[x, y, xh] (G[x, y, xh] - min_xh' G[x, y, xh'])`` where
        ``c`` is the channel and ``G = dI/dc + lambda * p_xy[x, y] d[x, xh]``
        the gradient of the Lagrangian.  It is zero exactly when the channel
        puts all its mass on outputs of least marginal price; summed over the
        cells it is the Frank-Wolfe gap of the Lagrangian.  Zero for
        ``p_xy[x, y] = 0``.
    score : ndarray
        Marginal prices ``G / p_xy[x, y] = log(P(y | xh) / p(y)) + lambda d[x, xh]``,
        shape ``(k, l, k')`` (or ``(k, k')`` for ``knows="x"``, the
        ``p(y | x)``-average).  For an unused output (``P(xh) = 0``) the
        one-sided derivative is used: ``-log p(y)`` (``knows="x"``:
        ``KL(p(. | x) || p(.))``).
    dual : float
        The ``lambda`` the conditions were evaluated at.
    budget_slack : float
        Complementary slackness ``lambda * max(budget - cost, 0)`` (``lambda``
        itself when no budget is given).
    infeasibility : float
        ``max(cost - budget, 0)``, plus (``knows="x"``) how far the channel
        depends on ``y``.
    log_ratio : ndarray or None
        Binary Hamming problems only: Theorem 3.3's
        ``log(P(y | Xhat = x) / P(y | Xhat = 1 - x))`` per cell ``[x, y]``,
        which must equal ``lambda`` where ``0 < q < 1``, be ``<= lambda``
        where ``q = 0`` and ``>= lambda`` where ``q = 1``.
    """

    cells: np.ndarray
    score: np.ndarray
    dual: float
    budget_slack: float
    infeasibility: float
    log_ratio: np.ndarray | None = None

    @property
    def max_residual(self) -> float:
        """The largest residual (cells, slackness, infeasibility, negative dual)."""
        worst = float(np.max(self.cells, initial=0.0))
        return max(worst, self.budget_slack, self.infeasibility, max(0.0, -self.dual))

    @property
    def suboptimality_bound(self) -> float:
        """``sum(cells) + budget_slack``, a certificate of near-optimality.

        For a feasible channel whose outputs all have ``P(xh) > 0`` it bounds
        ``I(channel) - I*(budget)`` from above: ``sum(cells)`` is the
        Frank-Wolfe gap of the Lagrangian, and weak duality adds the slack.
        """
        return float(np.sum(self.cells) + self.budget_slack)

    def holds(self, tol: float = 1e-6) -> bool:
        """Whether every residual is at most ``tol`` (nats, or budget units for slackness)."""
        return bool(self.max_residual <= tol)

    def _display_fields(self) -> dict:
        return {
            "holds": self.holds(),
            "max_residual": self.max_residual,
            "suboptimality_bound": Verbatim(f"{self.suboptimality_bound:.6g} nats"),
            "dual": self.dual,
            "budget_slack": self.budget_slack,
            "infeasibility": self.infeasibility,
            "cells": self.cells,
            "score": self.score,
            "log_ratio": self.log_ratio,
        }

    def __repr__(self) -> str:
        return short_repr("OptimalityResiduals", self._display_fields())

    def _repr_html_(self) -> str:
        rows = [(k, v) for k, v in self._display_fields().items() if k != "holds"]
        title = f"OptimalityResiduals (KKT at lambda = {self.dual:.6g}, holds at tol 1e-6)"
        return html_table(title, rows, status_ok=self.holds())


def optimality_residuals(p_xy, channel, lam, distortion=None, *, budget=None, knows: str = "x_and_y",
                         support_tol: float = 0.0) -> OptimalityResiduals:
    """Evaluate the optimality conditions of the discrete attack problem at any channel.

    The problem, in the channel ``c[x, y, xh] = P(xh | x, y)``: minimise
    ``I(Y; Xhat)`` subject to ``c[x, y, .]`` in the simplex and
    ``sum p_xy[x, y] c[x, y, xh] d[x, xh] <= budget``.  With
    ``P(y, xh) = sum_x p_xy c``,

        dI/dc[x, y, xh] = p_xy[x, y] (log(P(y | xh) / p(y)) - 1)

    (the ``-1`` is the same for every ``xh`` and drops out of the conditions
    below, as does the factor ``p_xy[x, y]``).  The KKT conditions with the
    budget's multiplier ``lambda >= 0``: for every cell with
    ``p_xy[x, y] > 0``, the price
    ``log(P(y | xh) / p(y)) + lambda d[x, xh]`` is the same for every ``xh``
    with ``c > 0`` and at least as large for ``xh`` with ``c = 0``; and
    ``lambda (budget - cost) = 0``.  For a binary Hamming problem this is
    Theorem 3.3 (docs/theory.md section 4).  A label-blind attacker
    (``knows="x"``) has one channel row per ``x``; its price is the
    ``p(y | x)``-average of the above.  The problem is convex, so the
    conditions are also sufficient.

    Parameters
    ----------
    p_xy : array_like, shape (k, l)
        Joint pmf.
    channel : array_like, shape (k, l, k')
        ``P(Xhat = xh | X = x, Y = y)``; rows of cells with ``p_xy = 0`` are ignored.
    lam : float
        The budget's multiplier (``result.dual_budget``).
    distortion : array_like, shape (k, k'), optional
        Default: Hamming.
    budget : float, optional
        If given, complementary slackness and feasibility are checked too.
    knows : {"x_and_y", "x"}
        Which problem's conditions to evaluate.
    support_tol : float, default 0
        Outputs with ``P(xh) <= support_tol`` are treated as unused (their
        mass is ignored and their price is the one-sided derivative at zero).
        Use about :data:`mi_cvx.discrete.SOLVER_SUPPORT_TOL` (1e-5) for a solver's
        approximate channel (``result.optimality()`` does).

    Returns
    -------
    OptimalityResiduals

    Raises
    ------
    InvalidInputError
        If ``p_xy`` is not a pmf, ``channel`` has the wrong shape, negative
        entries or rows that do not sum to one, ``distortion`` is malformed,
        or ``lam``, ``budget`` or ``support_tol`` are not finite numbers.
    """
    # discrete.py imports this module, so its validators are imported here, at call time
    from .discrete import KNOWS, _distortion, _p_xy

    p = _p_xy(p_xy)
    k, ell = p.shape
    c = _v.array("channel", channel, ndim=3)
    if c.shape[:2] != (k, ell) or c.shape[2] == 0:
        raise InvalidInputError("channel", f"expected shape ({k}, {ell}, k'), got {c.shape}")
    kp = c.shape[2]
    d, hamming = _distortion(distortion, k, kp)
    lam = _v.scalar("lam", lam)
    knows = _v.choice("knows", knows, KNOWS)
    tol = _v.scalar("support_tol", support_tol, nonneg=True)
    live = p > 0
    if np.any(c[live] < -1e-9):
        raise InvalidInputError("channel", f"entries must be non-negative, smallest is {c[live].min():g}")
    sums = c.sum(axis=2)
    if np.any(np.abs(sums[live] - 1.0) > 1e-6):
        raise InvalidInputError("channel", "each row channel[x, y, :] must sum to 1 where p_xy[x, y] > 0")
    c = np.where(live[:, :, None], np.clip(c, 0.0, None) / np.where(sums > 0, sums, 1.0)[:, :, None], 0.0)

    joint = p[:, :, None] * c
    p_y = p.sum(axis=0)
    p_x = p.sum(axis=1)
    cost = float(np.sum(joint * d[:, None, :]))
    infeasible = 0.0
    if knows == "x":
        row = np.einsum("xy,xyz->xz", p, c) / np.where(p_x > 0, p_x, 1.0)[:, None]
        infeasible = float(np.max(np.abs(c - row[:, None, :]) * live[:, :, None], initial=0.0))
        c = np.where(live[:, :, None], row[:, None, :], 0.0)
        joint = p[:, :, None] * c
    out_joint = joint.sum(axis=0)  # (l, k')
    out = out_joint.sum(axis=0)  # (k',)
    used = out > tol
    if not np.all(used):  # drop the noise on unused outputs
        joint = joint * used
        c = c * used
        out_joint = joint.sum(axis=0)
        out = np.where(used, out_joint.sum(axis=0), 0.0)
    live_y = p_y > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.log(out_joint / (p_y[:, None] * out[None, :]))  # (l, k')
        g_unused = -np.log(p_y)  # one-sided derivative at P(xh) = 0, knows="x_and_y"
    g = np.where(used[None, :], g, g_unused[:, None])
    g = np.where(live_y[:, None], g, 0.0)

    if knows == "x_and_y":
        score = g[None, :, :] + lam * d[:, None, :]
        weight = p
        weights_c = c
    else:
        cond = p / np.where(p_x > 0, p_x, 1.0)[:, None]  # p(y | x)
        with np.errstate(divide="ignore", invalid="ignore"):
            logs = np.log(cond / np.where(live_y, p_y, 1.0)[None, :])
        g_zero = np.sum(np.where(cond > 0, cond * logs, 0.0), axis=1)  # KL(p(.|x) || p(.))
        score = np.where(used[None, :], _weighted_g(cond, g), g_zero[:, None]) + lam * d
        weight = p_x
        weights_c = row * used
    low = np.min(score, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore"):
        gap = np.where(weights_c > 0, weights_c * (score - low), 0.0)
    cells = np.where(weight > 0, weight * gap.sum(axis=-1), 0.0)

    if budget is None:
        slack, over = abs(lam), 0.0
    else:
        b = _v.budget(budget)
        slack, over = max(lam, 0.0) * max(b - cost, 0.0), max(cost - b, 0.0)
    log_ratio = None
    if knows == "x_and_y" and hamming and k == 2 and kp == 2:
        with np.errstate(divide="ignore", invalid="ignore"):
            log_ratio = np.array([[g[y, x] - g[y, 1 - x] for y in range(ell)] for x in range(2)])
    return OptimalityResiduals(cells=cells, score=score, dual=lam, budget_slack=float(slack),
                               infeasibility=float(max(over, infeasible)), log_ratio=log_ratio)


def _weighted_g(cond: np.ndarray, g: np.ndarray) -> np.ndarray:
    """``sum_y p(y | x) g[y, xh]`` skipping terms with ``p(y | x) = 0`` (where ``g`` may be infinite)."""
    out = np.zeros((cond.shape[0], g.shape[1]))
    for x in range(cond.shape[0]):
        ys = cond[x] > 0
        out[x] = cond[x, ys] @ g[ys] if np.any(ys) else 0.0
    return out
