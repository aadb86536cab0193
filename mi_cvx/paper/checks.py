"""Checking a claim of :mod:`mi_cvx.paper.claims` against a figure's numbers.

A check takes the frame of a sweep (one row per solved point, with columns
``budget`` and ``mi``) and a :class:`~mi_cvx.paper.claims.Claim`, and returns
a :class:`ClaimCheck`: the claim's statement, its source, the verdict and the
numbers behind it.  The tolerances come from the claim's ``params``.

The checks here are the generic ones (a curve is monotone, convex, zero from
a threshold on); the ones about a single figure live with it in
:mod:`mi_cvx.paper.figures`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .claims import ZERO_TOL, Claim

__all__ = ["ZERO_TOL", "ClaimCheck"]


@dataclass
class ClaimCheck:
    """One claim checked against the numbers.

    (Called ``Check`` in :mod:`mi_cvx.reproduce`, which still exports that
    name; not to be confused with :class:`mi_cvx.convexity.Check`.)

    Attributes
    ----------
    claim : str
        The claim in words.
    source : str
        ``"paper"`` for the paper's own claim, ``"added"`` for a check this
        package adds (a theorem the figure should obey).
    passed : bool or None
        None when the grid does not contain the points the claim is about.
    detail : str
        The numbers behind the verdict.
    id : str
        The id of the :class:`~mi_cvx.paper.claims.Claim` checked (empty for
        a check made from a bare sentence).
    """

    claim: str
    source: str
    passed: bool | None
    detail: str
    id: str = ""

    def __post_init__(self) -> None:
        if self.passed is not None:
            self.passed = bool(self.passed)  # numpy booleans are not ``True``

    @classmethod
    def of(cls, claim: Claim, passed: Any, detail: str, **fields: Any) -> ClaimCheck:
        """The check of ``claim``; ``fields`` fill in the statement's format fields."""
        return cls(claim.text(**fields), claim.source, passed, detail, claim.id)

    @property
    def verdict(self) -> str:
        return {True: "yes", False: "**no**", None: "n/a"}[self.passed]


# ------------------------------------------------------------------ helpers


def _curves(frame: pd.DataFrame, keys: list[str]) -> Iterator[tuple[tuple[Any, ...], pd.DataFrame]]:
    """The curves ``I(D)`` of ``frame``, one per value of ``keys``, each sorted by budget."""
    for key, g in frame.groupby(keys, sort=False):
        yield (key if isinstance(key, tuple) else (key,)), g.sort_values("budget")


def _max_gap(frame: pd.DataFrame) -> float | None:
    """The largest ``|oracle_gap|`` of the frame, None without an oracle."""
    gaps = frame["oracle_gap"].abs() if "oracle_gap" in frame else pd.Series(dtype=float)
    return float(gaps.max()) if gaps.notna().any() else None


def _value_at(frame: pd.DataFrame, **where: float) -> float | None:
    """``mi`` at the first row whose columns equal ``where`` (to rounding), None if there is none."""
    mask = np.ones(len(frame), bool)
    for col, val in where.items():
        mask &= np.isclose(frame[col].to_numpy(float), val, rtol=1e-9, atol=1e-12)
    rows = frame.loc[mask, "mi"]
    return float(rows.iloc[0]) if len(rows) else None


def _fmt(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}g}"


def _pct(lo: float | None, hi: float | None) -> float | None:
    """The growth from ``lo`` to ``hi`` in percent (None when undefined)."""
    return None if lo is None or hi is None or lo <= 0 else 100.0 * (hi - lo) / lo


def _fmt_pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.0f}%"


def _largest_drop(values: np.ndarray) -> float:
    """The largest decrease between neighbours of ``values`` (0 when it never decreases)."""
    return float(np.max(-np.diff(values), initial=0.0))


# ------------------------------------------------------------------- checks


def _monotone_check(frame: pd.DataFrame, keys: list[str], claim: Claim) -> ClaimCheck:
    """Every curve ``I(D)`` is non-increasing (to ``claim.params["tol"]``)."""
    worst = 0.0
    for _, g in _curves(frame, keys):
        worst = max(worst, float(np.max(np.diff(g["mi"].to_numpy()), initial=0.0)))
    return ClaimCheck.of(claim, worst <= claim.params["tol"],
                         f"largest increase between neighbouring budgets: {worst:.1e} nats")


def _convex_check(frame: pd.DataFrame, keys: list[str], claim: Claim) -> ClaimCheck:
    """Every curve ``I(D)`` is convex: its slopes never decrease by more than ``claim.params["tol"]``."""
    worst = 0.0
    for _, g in _curves(frame, keys):
        d, v = g["budget"].to_numpy(), g["mi"].to_numpy()
        if d.size < 3:
            continue
        slopes = np.diff(v) / np.diff(d)
        worst = max(worst, float(np.max(-(np.diff(slopes)), initial=0.0)))
    return ClaimCheck.of(claim, worst <= claim.params["tol"],
                         f"largest decrease of the slope between neighbouring intervals: {worst:.1e}")


def _zero_threshold_check(frame: pd.DataFrame, keys: list[str], threshold: Callable[[tuple[Any, ...]], float],
                          claim: Claim) -> ClaimCheck:
    """``I = 0`` from the threshold ``threshold(curve key)`` on and ``I > 0`` below it, on every curve.

    ``claim.params``: ``"threshold"``, the threshold's name in the detail;
    ``"tol"``, what counts as zero information.
    """
    name, tol = claim.params["threshold"], claim.params["tol"]
    above, below = 0.0, math.inf
    for key, g in _curves(frame, keys):
        d0 = threshold(key)
        hi = g.loc[g["budget"] >= d0 * (1 + 1e-9), "mi"]
        lo = g.loc[g["budget"] < d0 * (1 - 1e-3), "mi"]
        if len(hi):
            above = max(above, float(hi.abs().max()))
        if len(lo) and d0 > 0:
            below = min(below, float(lo.min()))
    passed = above <= tol and (below == math.inf or below > tol)
    low_text = "no point below" if below == math.inf else f"smallest I below {name}: {below:.2e}"
    return ClaimCheck.of(claim, passed, f"largest |I| at D >= {name}: {above:.1e} nats; {low_text} nats")


def _solved_check(claim: Claim, failed: int, points: int) -> ClaimCheck:
    """Every point of the figure solved (``failed`` of ``points`` were flagged)."""
    return ClaimCheck.of(claim, failed == 0, f"{failed} of {points} points flagged (see the error column of the CSV)")
