"""Compatibility module: the reproduction of the paper's figures now lives in :mod:`mi_cvx.paper`.

Every name this module used to define is re-exported from there under its old
name; ``Check`` is :class:`mi_cvx.paper.ClaimCheck` (not to be confused with
:class:`mi_cvx.convexity.Check`).  New code should import from
:mod:`mi_cvx.paper`.
"""

# ruff: noqa: F401  (a re-export module: most imports are here only to be importable from it)

from __future__ import annotations

# The names the old module imported from the rest of the package, for code that took them from here.
from . import oracles as _oracles
from . import plotting as _plot
from . import solvers as _solvers
from . import validate as _v
from .core import AttackProblem
from .errors import InvalidInputError
from .gaussian import gaussian_scalar, gaussian_vector
from .info import binary_entropy
from .paper import reproduce
from .paper.checks import (
    ZERO_TOL,
    ClaimCheck,
    _convex_check,
    _curves,
    _fmt,
    _fmt_pct,
    _max_gap,
    _monotone_check,
    _pct,
    _value_at,
    _zero_threshold_check,
)
from .paper.claims import FIGURE_TEXT
from .paper.figures import (
    _FULL,
    _QUICK,
    FIGURES,
    _Config,
    _figure3,
    _figure6,
    _figure45,
    _finish,
    _growth,
    _projection_budgets,
    _projection_checks,
    _projection_frame,
    _redundancy,
    _reference_budget,
    _scale_check,
    _water_levels,
    paper_grid_search,
    projection_matrix,
    projection_problem,
)
from .paper.report import FigureOutcome, ReproduceReport, _cell, _solver_text
from .paper.report import write_markdown as _markdown
from .sweep import sweep, sweep_grid

#: The result of one check; the old name of :class:`mi_cvx.paper.ClaimCheck`.
Check = ClaimCheck

#: The reading printed after the redundancy figure's checks (now ``FIGURE_TEXT["redundancy"].reading``).
_REDUNDANCY_TEXT: str = FIGURE_TEXT["redundancy"].reading

__all__ = ["FIGURES", "Check", "FigureOutcome", "ReproduceReport", "paper_grid_search", "projection_matrix",
           "projection_problem", "reproduce"]
