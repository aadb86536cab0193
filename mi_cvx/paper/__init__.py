"""Regenerate the paper's Figures 3-6 (and two it lacks) with the convex solves, and check its claims.

:func:`reproduce` writes, into one directory,

* ``fig3.png`` .. ``fig6.png``: the scalar Gaussian attack (Theorem 3.1), fat
  and tall random projections (Theorem 3.2) and the binary channel
  (Theorem 3.3), each as ``I*`` against the budget ``D``;
* ``redundancy.png``: information against the number of rows ``m / n`` at a
  fixed budget, with the total signal power free (as in the paper) or fixed,
  with and without observation noise;
* ``water_levels.png``: the reverse water-filling ("falling bar") picture of an
  optimal projection attack, read off the SDP solution;
* one CSV per figure with the data behind it, and ``REPORT.md``, which puts
  each figure beside the paper's claim and says whether the numbers bear it out.

Every curve is computed by solving the CVXPY models (log-det SDPs, the
relative-entropy model of the binary channel) through :func:`mi_cvx.sweep`;
the closed-form oracles of :mod:`mi_cvx.oracles` (docs/theory.md) only check
them (the report gives the largest oracle gap per figure).

The subpackage:

* :mod:`~mi_cvx.paper.claims`: the paper's claims as data (:data:`CLAIMS`,
  :class:`Claim`) and the prose around each figure;
* :mod:`~mi_cvx.paper.checks`: the generic checks and their result,
  :class:`ClaimCheck`;
* :mod:`~mi_cvx.paper.figures`: the sweeps, plots and per-figure checks,
  :func:`projection_matrix`, :func:`projection_problem`,
  :func:`paper_grid_search`;
* :mod:`~mi_cvx.paper.report`: :class:`FigureOutcome`,
  :class:`ReproduceReport` and the ``REPORT.md`` writer.

(:mod:`mi_cvx.reproduce` re-exports all of it under its old names.)
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .. import solvers as _solvers
from ..errors import InvalidInputError
from .checks import ZERO_TOL, ClaimCheck
from .claims import CLAIMS, FIGURE_TEXT, Claim, FigureText, claim, claims_for
from .figures import _FULL, _QUICK, FIGURES, make_figures, paper_grid_search, projection_matrix, projection_problem
from .report import FigureOutcome, ReproduceReport, write_markdown

__all__ = ["CLAIMS", "FIGURES", "FIGURE_TEXT", "ZERO_TOL", "Claim", "ClaimCheck", "FigureOutcome", "FigureText",
           "ReproduceReport", "claim", "claims_for", "paper_grid_search", "projection_matrix", "projection_problem",
           "reproduce"]


def reproduce(out: str | os.PathLike[str], *, quick: bool = False, n_jobs: int = 1, solver: str | None = None,
              backend: str = "loky", scheduler: Any = None, progress: bool | None = False,
              figures: Iterable[str] | None = None) -> ReproduceReport:
    """Regenerate the paper's Figures 3-6, the redundancy and water-level figures, and ``REPORT.md``.

    Parameters
    ----------
    out : path
        Output directory (created if missing).
    quick : bool
        Small grids (a few seconds; for tests and smoke runs).  The full run
        takes about a minute or two on two cores.
    n_jobs, backend, scheduler
        Parallel execution of the sweeps (see :func:`mi_cvx.sweep`).
    solver : str, optional
        CVXPY solver for every solve (default: Clarabel when installed).
    progress : bool, optional
        Progress bars for the sweeps.
    figures : iterable of str, optional
        A subset of :data:`FIGURES` (default all).

    Returns
    -------
    ReproduceReport

    Raises
    ------
    InvalidInputError
        Unknown figure name, or ``out`` is an existing file.
    UnsupportedSolverError
        The solver is not installed or lacks a needed cone.
    """
    start = time.perf_counter()
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InvalidInputError("out", f"{out} exists and is not a directory")
    wanted = list(FIGURES) if figures is None else list(figures)
    unknown = [f for f in wanted if f not in FIGURES]
    if unknown:
        raise InvalidInputError("figures", f"unknown figure(s) {unknown}; choose from {', '.join(FIGURES)}")
    out.mkdir(parents=True, exist_ok=True)
    cfg = _QUICK if quick else _FULL
    if solver is None and "CLARABEL" in _solvers.installed_solvers():
        solver = "CLARABEL"
    run = {"solver": solver, "n_jobs": n_jobs, "backend": backend, "scheduler": scheduler, "progress": progress}
    outcomes = make_figures(wanted, cfg, out, run)
    seconds = time.perf_counter() - start
    report = out / "REPORT.md"
    report.write_text(write_markdown(outcomes, quick, solver, seconds), encoding="utf-8")
    return ReproduceReport(out, outcomes, report, seconds, quick)
