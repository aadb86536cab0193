"""A registry of named test cases: small attack problems with known optima.

Each :class:`Case` pairs a *factory call* (building a fresh
:class:`~mi_cvx.core.AttackProblem`) with its optimal value computed
*independently* of the convex model, from the closed forms of
:mod:`mi_cvx.oracles`.  Every family declares its own cases
(:attr:`mi_cvx.family.Family.cases`); this module collects them from the
registry (:func:`mi_cvx.families`).
The collection spans every problem family and is small enough that every case
can be run through every installed solver in the test suite in seconds; this
is how CVXPY tests its own solvers (a problem, its known optimum, and a
per-solver tolerance on ``|v - v*| / (1 + |v*|)``).

Use :func:`cases` to list them (optionally by family) and
:func:`mi_cvx.compare_solvers` to run one through the installed backends.
"""

from __future__ import annotations

from typing import Any

from .errors import InvalidInputError
from .family import Case
from .registry import families, get_family
from .subset import subset_problem

__all__ = ["SCS_TIGHT", "Case", "best_subset_problem", "cases", "get_case"]

#: Options that make SCS (a first-order method) accurate enough to compare
#: with the interior-point solvers at their tolerance (for ``Case.solver_options``
#: of cases of your own; the default chain already tightens SCS when it falls back to it).
SCS_TIGHT: dict[str, Any] = {"eps_abs": 1e-9, "eps_rel": 1e-9, "max_iters": 200_000}


#: Moved to :func:`mi_cvx.subset.subset_problem`; the old name keeps working.
best_subset_problem = subset_problem


def _registry() -> list[Case]:
    out: list[Case] = []
    for fam in families().values():
        if fam.cases is not None:
            out.extend(fam.cases())
    return out


def cases(family: str | None = None) -> list[Case]:
    """The named test cases of every registered family (fresh :class:`Case` objects).

    Parameters
    ----------
    family : str, optional
        Keep only the cases whose :attr:`Case.family` (e.g.
        ``"gaussian_scalar"``, or an alias such as ``"binary"``) or
        :attr:`Case.group` (``"gaussian"``, ``"sparse"``, ``"subset"``,
        ``"discrete"``) equals this.  Default: all.

    Returns
    -------
    list of Case
        In a stable order (the registry's); names are unique.

    Raises
    ------
    InvalidInputError
        If ``family`` matches no case.
    """
    out = _registry()
    if family is None:
        return out
    if not isinstance(family, str):
        raise InvalidInputError("family", f"expected a family name, got {family!r}")
    names = {family}  # a group, or a family by any of its spellings
    try:
        names.add(get_family(family).name)
    except InvalidInputError:
        pass
    chosen = [c for c in out if names & {c.family, c.group}]
    if not chosen:
        known = sorted({c.family for c in out} | {c.group for c in out})
        raise InvalidInputError("family", f"no case of family {family!r}; known: {', '.join(known)}")
    return chosen


def get_case(name: str) -> Case:
    """The case called ``name``.

    Raises
    ------
    InvalidInputError
        If no case has that name.
    """
    registry = _registry()
    for case in registry:
        if case.name == name:
            return case
    raise InvalidInputError("name", f"no case called {name!r}; known: {', '.join(c.name for c in registry)}")
