"""Solver discovery, cone support and per-solver tolerances.

CVXPY knows many solvers; mi_cvx compares the conic ones that can handle its
problems: Clarabel, SCS, ECOS, CVXOPT and MOSEK (where installed).  A problem
needs a set of cones (``"PSD"`` for log-det covariances, ``"EXP"`` for
log-det and relative entropy, ``"SOC"``...); a solver that lacks one of them is
refused with :class:`~mi_cvx.errors.UnsupportedSolverError` before any solve.
"""

from __future__ import annotations

import functools

import cvxpy as cp
import cvxpy.atoms as _atoms
from cvxpy.constraints import PSD, SOC, ExpCone, PowCone3D, PowConeND
from cvxpy.reductions.solvers.defines import SOLVER_MAP_CONIC, SOLVER_MAP_QP

from .errors import InvalidInputError, UnsupportedSolverError

#: The backends mi_cvx compares, in order of preference for the default pick.
KNOWN_SOLVERS: tuple[str, ...] = ("CLARABEL", "MOSEK", "SCS", "ECOS", "CVXOPT")

# Cones each backend accepts through CVXPY (read off CVXPY's solver interfaces;
# MOSEK's exponential cone is handled inside its interface).
SOLVER_CONES: dict[str, frozenset[str]] = {
    "CLARABEL": frozenset({"LP", "SOC", "EXP", "PSD", "POW"}),
    "MOSEK": frozenset({"LP", "SOC", "EXP", "PSD", "POW"}),
    "SCS": frozenset({"LP", "SOC", "EXP", "PSD", "POW"}),
    "ECOS": frozenset({"LP", "SOC", "EXP"}),
    "CVXOPT": frozenset({"LP", "SOC", "PSD"}),
}

CONE_NAMES = {
    "LP": "linear",
    "SOC": "second-order",
    "EXP": "exponential",
    "PSD": "semidefinite",
    "POW": "power",
}

#: Per-solver tolerances.  ``value``: relative error ``|v - v*| / (1 + |v*|)``
#: a correct solve reaches against an exact oracle at default settings;
#: ``residual``: largest constraint violation accepted before a result is
#: flagged inaccurate.  SCS is a first-order method: its answers are
#: approximate unless its ``eps`` settings are tightened.
TOLERANCES: dict[str, dict[str, float]] = {
    "CLARABEL": {"value": 1e-5, "residual": 1e-6},
    "MOSEK": {"value": 1e-5, "residual": 1e-6},
    "ECOS": {"value": 1e-5, "residual": 1e-6},
    "CVXOPT": {"value": 1e-4, "residual": 1e-6},
    "SCS": {"value": 5e-2, "residual": 1e-3},
}
_DEFAULT_TOL = {"value": 1e-4, "residual": 1e-5}

#: Tolerances promised when a first-order solver runs with tightened settings
#: (SCS with ``eps_abs`` and ``eps_rel`` at most 1e-8, as the default chain runs it);
#: ``EXACT_TOLERANCE``: by the exact structured paths (``solver == "EXACT"``: closed
#: forms and one-dimensional root finding, accurate to rounding).
TIGHT_TOLERANCES: dict[str, dict[str, float]] = {
    "SCS": {"value": 1e-5, "residual": 1e-6},
}
EXACT_TOLERANCE = {"value": 1e-8, "residual": 1e-9}

#: The certified first-order routes (mi_cvx's own solvers, not CVXPY backends), by the
#: name ``result.solver`` gives them.  Each returns an exactly feasible attack and a
#: certificate ``result.gap``: a bound, in nats, on its distance from the optimum (from a
#: dual bound); an answer is ok only when ``gap <= GAP_TOLERANCE``.
ROUTES: dict[str, str] = {
    "TRANSPORT": "Gaussian, the paper's attacker: the conditional-transport reduction (docs/theory.md section 7)",
    "BLIND_DESCENT": "Gaussian, the blind attacker: closed forms where they apply, else a Riemannian Newton "
                     "method on the attack covariance's face (sections 8-9)",
    "BLAHUT_ARIMOTO": "finite alphabets, the paper's attacker with a Hamming or |x - xh| distortion: "
                      "constrained Blahut-Arimoto (section 5)",
    "INTERIOR_POINT": "finite alphabets, any distortion, the paper's or the label-blind attacker, stealth terms: "
                      "a structured barrier method on the channel (section 5)",
    "BLIND_SIMPLEX": "finite alphabets, the blind attacker: a primal-dual interior-point method on the noise pmf "
                     "(section 8)",
}

#: Largest certified gap (nats) of an ok answer from a route.
GAP_TOLERANCE = 1e-6

#: What a route's answer promises when its gap is within :data:`GAP_TOLERANCE`.
ROUTE_TOLERANCE = {"value": 1e-6, "residual": 1e-9}

#: Fallback settings the default chain tries after a backend's defaults fail or are
#: inaccurate (``solve()`` without a solver).  Clarabel: tighter gaps, more
#: iterations and no equilibration, which lets it finish log-det problems whose
#: optimum erases a channel (no interior near the optimum), where the defaults can
#: stop with "InsufficientProgress".  SCS only ever runs at tight ``eps`` in the
#: chain (at its defaults it is a few percent off), with a time cap so it cannot hang (20 s, cut to
#: ten times the estimated interior-point time, at least 5 s, on small problems).
CHAIN_SETTINGS: dict[str, tuple[dict, ...]] = {
    "CLARABEL": ({}, {"tol_gap_abs": 1e-9, "tol_gap_rel": 1e-9, "tol_feas": 1e-9, "max_iter": 500,
                      "equilibrate_enable": False}),
    "MOSEK": ({},),
    "SCS": ({"eps_abs": 1e-9, "eps_rel": 1e-9, "max_iters": 200_000, "time_limit_secs": 20.0},),
    "ECOS": ({},),
    "CVXOPT": ({},),
}

#: Solver options mi_cvx passes unless the caller overrides them.  Clarabel's own
#: duality-gap tolerances (1e-8) are a hundred times tighter than mi_cvx's accuracy
#: contract above, and on log-det problems whose optimum erases a channel exactly (no
#: interior near the optimum) it sometimes stalls at a gap just above 1e-8 and reports
#: "AlmostSolved" (optimal_inaccurate) with an error of ~1e-8.  On 60 random Gaussian
#: instances 1e-7 removed every such stall (3 of 60 with the defaults) with a largest
#: oracle error of 4e-8, still far inside the 1e-5 promised.
DEFAULT_OPTIONS: dict[str, dict] = {
    "CLARABEL": {"tol_gap_abs": 1e-7, "tol_gap_rel": 1e-7},
}


#: In a default solve that has failed so far, the family's exact structured path is tried
#: before these backends (first-order, or less robust on log-det and exponential cones).
EXACT_PATH_BEFORE: frozenset[str] = frozenset({"SCS", "ECOS", "CVXOPT"})


def solver_options(solver: str, options: dict | None = None) -> dict:
    """``DEFAULT_OPTIONS`` for ``solver`` updated with the caller's ``options``."""
    return {**DEFAULT_OPTIONS.get(solver.upper(), {}), **(options or {})}


def tolerance(solver: str, kind: str = "value", options: dict | None = None) -> float:
    """The tolerance of ``kind`` (``"value"`` or ``"residual"``) promised by ``solver``.

    ``options`` are the solver options of the solve: a first-order solver run with
    tightened settings (see :data:`TIGHT_TOLERANCES`) promises more.  ``"EXACT"``
    (an exact structured path) promises :data:`EXACT_TOLERANCE`.
    """
    name = solver.upper()
    if name == "EXACT":
        return EXACT_TOLERANCE[kind]
    if name in ROUTES:
        return ROUTE_TOLERANCE[kind]
    if name in TIGHT_TOLERANCES and options and _tight(options):
        return TIGHT_TOLERANCES[name][kind]
    return TOLERANCES.get(name, _DEFAULT_TOL)[kind]


def _tight(options: dict) -> bool:
    eps = [options.get(key) for key in ("eps_abs", "eps_rel")]
    return all(isinstance(e, (int, float)) and e <= 1e-8 for e in eps)


def required_cones(problem: cp.Problem) -> frozenset[str]:
    """The cones a CVXPY problem needs once canonicalised."""
    atoms = set(problem.atoms())
    cones = {"LP"}
    if atoms & set(_atoms.PSD_ATOMS):
        cones.add("PSD")
    if atoms & set(_atoms.EXP_ATOMS):
        cones.add("EXP")
    if atoms & set(_atoms.SOC_ATOMS):
        cones.add("SOC")
    for con in problem.constraints:
        if isinstance(con, PSD):
            cones.add("PSD")
        elif isinstance(con, ExpCone):
            cones.add("EXP")
        elif isinstance(con, SOC):
            cones.add("SOC")
        elif isinstance(con, (PowCone3D, PowConeND)):
            cones.add("POW")
    return frozenset(cones)


@functools.lru_cache(maxsize=1)
def cvxpy_installed() -> frozenset[str]:
    """Every solver CVXPY finds installed (``cvxpy.installed_solvers()``, cached: it costs ~10 ms per call)."""
    return frozenset(cp.installed_solvers())


def installed_solvers(cones: frozenset[str] | None = None) -> list[str]:
    """The known backends that are installed (and support ``cones`` if given)."""
    available = cvxpy_installed()
    names = [s for s in KNOWN_SOLVERS if s in available]
    if cones is not None:
        names = [s for s in names if cones <= SOLVER_CONES[s]]
    return names


def missing_cones(solver: str, cones: frozenset[str]) -> frozenset[str]:
    """Cones in ``cones`` that ``solver`` does not support."""
    return frozenset(cones - SOLVER_CONES.get(solver.upper(), frozenset()))


def describe_cones(cones) -> str:
    """Human-readable list of cone names."""
    return ", ".join(CONE_NAMES.get(c, c) for c in sorted(cones))


def check_solver(solver, cones: frozenset[str]) -> str:
    """Validate a solver name against what is installed and the cones needed.

    Returns the canonical (upper-case) name.

    Raises
    ------
    InvalidInputError
        If ``solver`` is not a string or names no solver CVXPY knows.
    UnsupportedSolverError
        If the solver is not installed or lacks one of ``cones``.
    """
    if not isinstance(solver, str):
        raise InvalidInputError("solver", f"expected a solver name such as 'CLARABEL', got {solver!r}")
    name = solver.upper()
    known_to_cvxpy = set(SOLVER_MAP_CONIC) | set(SOLVER_MAP_QP)
    if name not in SOLVER_CONES and name not in known_to_cvxpy:
        raise InvalidInputError(
            "solver", f"unknown solver {solver!r}; installed backends: {', '.join(installed_solvers())}"
        )
    if name not in cvxpy_installed():
        raise UnsupportedSolverError(name, f"solver {name} is not installed (pip install it, or pick one of "
                                     f"{', '.join(installed_solvers(cones))})")
    if name not in SOLVER_CONES:
        raise UnsupportedSolverError(name, f"solver {name} is not one of the conic backends mi_cvx supports: "
                                     f"{', '.join(KNOWN_SOLVERS)}")
    missing = missing_cones(name, cones)
    if missing:
        raise UnsupportedSolverError(
            name,
            f"solver {name} has no {describe_cones(missing)} cone, which this problem needs; "
            f"use one of {', '.join(installed_solvers(cones)) or 'CLARABEL, SCS, MOSEK'}",
            missing=missing,
        )
    return name


#: Overrides of the families' backend preference (:attr:`mi_cvx.family.Family.solvers`),
#: by family name, fastest accurate first.  A default solve tries them in order and
#: falls back to the next when one fails or is inaccurate.  No family declares a
#: preference today: :data:`KNOWN_SOLVERS` order (Clarabel first) is what the
#: benchmarks find fastest, or tied within 5%, for every family (on the binary
#: channel ECOS and Clarabel are within 4-15% of each other from run to run, and
#: ECOS's exponential-cone line search fails on some instances, ecos issue 177).
FAMILY_PREFERENCE: dict[str, tuple[str, ...]] = {}


def family_preference(family: str | None) -> tuple[str, ...]:
    """The backends ``family`` prefers: :data:`FAMILY_PREFERENCE` if set there, else what the family declares."""
    if not family:
        return ()
    if family in FAMILY_PREFERENCE:
        return tuple(FAMILY_PREFERENCE[family])
    from .registry import families

    declared = families().get(family)
    return declared.solvers if declared is not None else ()


def default_solvers(cones: frozenset[str], family: str | None = None) -> list[str]:
    """The backends a default solve tries, in order: the family's preference, then the general default."""
    candidates = installed_solvers(cones)
    if not candidates:
        raise UnsupportedSolverError(
            "", f"no installed solver supports the {describe_cones(cones)} cones; install clarabel or scs"
        )
    chain = [name for name in family_preference(family) if name in candidates]
    if candidates[0] not in chain:
        chain.append(candidates[0])
    return chain


def default_chain(cones: frozenset[str], family: str | None = None) -> list[tuple[str, dict]]:
    """The (backend, settings) pairs a default solve tries, in order.

    The family's preference and the general default first (:func:`default_solvers`),
    then every other installed backend with the needed cones in
    :data:`KNOWN_SOLVERS` order; each with its :data:`CHAIN_SETTINGS` in turn.
    A default solve tries the family's exact structured path, where one applies, after
    the interior-point entries and before the first of :data:`EXACT_PATH_BEFORE` (see
    :meth:`mi_cvx.AttackProblem.solve`).
    """
    names = default_solvers(cones, family)
    names += [name for name in installed_solvers(cones) if name not in names]
    return [(name, dict(settings)) for name in names for settings in CHAIN_SETTINGS.get(name, ({},))]


def default_solver(cones: frozenset[str], family: str | None = None) -> str:
    """The preferred installed backend that supports ``cones`` (for ``family`` if given)."""
    return default_solvers(cones, family)[0]
