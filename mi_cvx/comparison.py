"""Solver-backend comparison: one attack problem through every installed conic solver.

:func:`compare_solvers` returns a :class:`pandas.DataFrame` with one row per
solver.  The table is always complete: a solver that lacks a cone the problem
needs, is not installed, raises, or returns an inaccurate point gets a row that
says so (``ok`` False and the reason in ``error``) instead of an exception.
"""

from __future__ import annotations

import copy
import math
import statistics
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import cvxpy as cp
import pandas as pd

from . import solvers as _solvers
from . import validate as _v
from .cases import Case
from .core import AttackProblem, relative_error
from .errors import InvalidInputError, UnsupportedSolverError

#: Columns of the table returned by :func:`compare_solvers`, in order.
COLUMNS: tuple[str, ...] = (
    "solver", "status", "ok", "mi", "oracle", "oracle_gap", "rel_error", "tolerance", "residual",
    "mi_check", "gap", "solve_time", "setup_time", "iterations", "error", "note",
)

#: Relative error the interior-point solvers reach; an SCS row whose error
#: against the oracle exceeds it is marked as approximate in its note.
TIGHT_TOLERANCE: float = min(t["value"] for s, t in _solvers.TOLERANCES.items() if s != "SCS")

#: Solvers whose answers are approximate at default settings (first-order methods).
APPROXIMATE_SOLVERS = frozenset({"SCS"})


def _solver_list(solvers) -> list[str]:
    if solvers is None:
        return _solvers.installed_solvers()
    if isinstance(solvers, str):
        solvers = [solvers]
    try:
        names = list(solvers)
    except TypeError:
        raise InvalidInputError("solvers", f"expected a solver name or a list of names, got {solvers!r}") from None
    if not names:
        raise InvalidInputError("solvers", "is empty; pass None for every installed solver")
    known = set(_solvers.KNOWN_SOLVERS) | set(_solvers.cvxpy_installed()) | set(_solvers.ROUTES)
    out = []
    for name in names:
        if not isinstance(name, str):
            raise InvalidInputError("solvers", f"expected solver names (strings), got {name!r}")
        upper = name.upper()
        if upper not in known:
            try:  # let the solver registry decide whether CVXPY knows the name at all
                _solvers.check_solver(upper, frozenset())
            except InvalidInputError:
                raise InvalidInputError(
                    "solvers", f"unknown solver {name!r}; known backends: {', '.join(_solvers.KNOWN_SOLVERS)}"
                ) from None
            except UnsupportedSolverError:
                pass
        if upper not in out:
            out.append(upper)
    return out


def _options(solver_options, names: list[str]) -> dict[str, dict]:
    if solver_options is None:
        return {}
    if not isinstance(solver_options, Mapping):
        raise InvalidInputError("solver_options", "expected a dict {solver name: {option: value}}")
    out = {}
    for key, opts in solver_options.items():
        if not isinstance(key, str) or key.upper() not in names:
            raise InvalidInputError("solver_options", f"key {key!r} is not one of the compared solvers {names}")
        if not isinstance(opts, Mapping):
            raise InvalidInputError("solver_options", f"options for {key} must be a dict, got {opts!r}")
        out[key.upper()] = dict(opts)
    return out


def _fresh(ap: AttackProblem) -> AttackProblem:
    """A shallow copy of ``ap`` whose cvxpy Problem has its own (empty) compilation cache.

    The variables, parameters and constraints are shared, so values and duals
    land where the readout expects them; only CVXPY's per-solver compiled
    program is new, so the first solve measures a genuine compilation and the
    user's problem keeps its own cache.
    """
    problem = cp.Problem(ap.problem.objective, ap.problem.constraints)  # (builds ap's model if it was not yet)
    clone = copy.copy(ap)
    clone._problem = problem
    return clone


def _fmt_options(opts: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in opts.items())


def _row(solver: str, oracle: float | None) -> dict:
    return {
        "solver": solver, "status": "", "ok": False, "mi": math.nan,
        "oracle": math.nan if oracle is None else float(oracle), "oracle_gap": math.nan, "rel_error": math.nan,
        "tolerance": _solvers.tolerance(solver, "value"), "residual": math.nan, "mi_check": math.nan, "gap": math.nan,
        "solve_time": math.nan, "setup_time": math.nan, "iterations": None, "error": "", "note": "",
    }


def _run_one(ap: AttackProblem, solver: str, repeats: int, opts: dict, oracle: float | None) -> dict:
    row = _row(solver, oracle)
    notes = []
    if opts:
        notes.append(f"options: {_fmt_options(opts)}")
    route = solver in _solvers.ROUTES
    own = tuple(ap.spec.get("routes", ()))
    if route and (solver not in own or ap.custom):
        row["status"] = "unsupported"
        row["error"] = (f"the {solver} route does not solve this problem (its routes: {', '.join(own) or 'none'}"
                        + ("; custom constraints are for conic solvers)" if ap.custom else ")"))
        return row
    if not route:
        try:
            _solvers.check_solver(solver, ap.cones)
        except UnsupportedSolverError as exc:
            row["status"] = "unsupported" if solver in _solvers.cvxpy_installed() else "not_installed"
            row["error"] = str(exc)
            row["note"] = "; ".join(notes)
            return row

    work = copy.copy(ap) if route else _fresh(ap)
    times, result = [], None
    # CVXPY warm-starts re-solves by default (SCS then needs ~0 iterations);
    # repeats should time the same work as the first solve.
    solve_opts = dict(opts) if route else {"warm_start": False, **opts}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # inaccuracy is reported in the row, not as a warning
            for i in range(repeats):
                work.route_state = None  # a route starts cold too
                result = work.solve(solver, raise_on_failure=False, **solve_opts)
                if i == 0:
                    row["setup_time"] = result.setup_time if result.setup_time is not None else math.nan
                if result.solve_time is not None:
                    times.append(result.solve_time)
                if not math.isfinite(result.mi):
                    break  # no point returned: repeating will not help
    except InvalidInputError as exc:  # e.g. options the solver rejects
        row["status"] = "invalid_options" if exc.argument == "options" else "error"
        row["error"] = str(exc)
        row["note"] = "; ".join(notes)
        return row
    except Exception as exc:  # noqa: BLE001 - any failure becomes a row; the table stays complete
        row["status"] = "error"
        row["error"] = f"{type(exc).__name__}: {exc}"
        row["note"] = "; ".join(notes)
        return row

    assert result is not None  # repeats >= 1 (compare_solvers validates it), so the loop solved at least once
    row["status"] = result.status
    if result.tolerance is not None:  # the backend's promise at the options used (tight SCS promises more)
        row["tolerance"] = result.tolerance
    row["mi"] = result.mi
    row["residual"] = result.residual
    row["mi_check"] = math.nan if result.mi_check is None else float(result.mi_check)
    row["iterations"] = result.iterations
    row["gap"] = math.nan if result.gap is None else float(result.gap)
    row["solve_time"] = statistics.median(times) if times else math.nan
    errors = [result.message] if result.message else []
    value = result.objective if result.objective is not None else result.mi  # mi without a stealth weight
    if oracle is not None and math.isfinite(value):
        row["oracle_gap"] = value - oracle
        row["rel_error"] = relative_error(value, oracle)
        if not row["rel_error"] <= row["tolerance"]:
            errors.append(f"relative error {row['rel_error']:.2g} against the oracle exceeds the "
                          f"{solver} tolerance {row['tolerance']:.2g}")
    row["ok"] = bool(result.ok and not errors)
    row["error"] = "; ".join(errors)
    if solver in APPROXIMATE_SOLVERS:
        text = "approximate: SCS is a first-order method"
        if not opts:
            text += " (default eps; tighten eps_abs/eps_rel for accurate values)"
        if math.isfinite(row["rel_error"]) and row["rel_error"] > TIGHT_TOLERANCE:
            text += f"; its error {row['rel_error']:.2g} exceeds the tight tolerance {TIGHT_TOLERANCE:.0e}"
        elif oracle is None:
            text += "; no oracle to measure its error"
        notes.insert(0, text)
    if repeats > 1:
        notes.append(f"solve_time: median of {len(times)} solves")
    row["note"] = "; ".join(notes)
    return row


def compare_solvers(
    attack_problem: AttackProblem | Case,
    solvers: str | Sequence[str] | None = None,
    repeats: int = 1,
    *,
    solver_options: Mapping[str, Mapping[str, Any]] | None = None,
    oracle: float | None = None,
) -> pd.DataFrame:
    """Solve one attack problem with several conic solvers and tabulate how each did.

    Parameters
    ----------
    attack_problem : AttackProblem or Case
        The problem, solved at its current parameter values; or a registry
        :class:`~mi_cvx.cases.Case`, in which case a fresh problem is built and
        the case's independent oracle and solver options are used.
    solvers : str or sequence of str, optional
        Solver names (case-insensitive).  Default: every installed solver among
        :data:`mi_cvx.solvers.KNOWN_SOLVERS`, including those that lack a cone
        the problem needs (their row says which), then the problem's certified
        route where it has one (a name in :data:`mi_cvx.solvers.ROUTES`, e.g.
        ``"TRANSPORT"``).
    repeats : int, default 1
        Solves per solver; ``solve_time`` is the median.  Re-solves reuse
        CVXPY's compiled problem, so ``setup_time`` is the compilation time of
        the first solve only; every solve is cold (``warm_start=False``
        unless ``solver_options`` say otherwise).
    solver_options : dict of str -> dict, optional
        Options per solver, passed to ``cvxpy.Problem.solve`` (e.g.
        ``{"SCS": {"eps_abs": 1e-9, "eps_rel": 1e-9}}``).  Added to (and
        overriding) a case's own options.
    oracle : float, optional
        Known optimal value to measure the gap against.  Default: the
        problem's closed-form :meth:`~AttackProblem.oracle` (or the case's).

    Returns
    -------
    pandas.DataFrame
        One row per solver, in the order asked for, with columns
        :data:`COLUMNS`: ``solver``; ``status`` (CVXPY status, or
        ``"unsupported"`` / ``"not_installed"`` / ``"solver_error"`` /
        ``"invalid_options"`` / ``"error"``); ``ok`` (optimal, residual and
        re-check within the solver's tolerance, and within ``tolerance`` of
        the oracle); ``mi`` (nats); ``oracle``; ``oracle_gap`` (``mi -
        oracle``); ``rel_error`` (``|mi - oracle| / (1 + |oracle|)``);
        ``tolerance`` (the solver's value tolerance,
        :data:`mi_cvx.solvers.TOLERANCES`); ``residual``; ``mi_check`` (the
        returned attack re-evaluated in plain numpy); ``solve_time`` and
        ``setup_time`` (seconds); ``iterations``; ``error`` (why ``ok`` is
        False; empty otherwise); ``note`` (caveats: SCS is approximate,
        options used).  ``df.attrs`` holds the problem description, family,
        oracle, cones and repeats.  The problem's variables hold the last
        solver's point afterwards.

    Raises
    ------
    InvalidInputError
        If ``attack_problem`` is neither an AttackProblem nor a Case, a name in
        ``solvers`` is not a solver CVXPY knows, ``solvers`` is empty,
        ``repeats`` is not an integer >= 1, ``solver_options`` names a solver
        not compared, ``oracle`` is not finite, or a parameter of the problem
        has no value.
    """
    case = None
    if isinstance(attack_problem, Case):
        case = attack_problem
        attack_problem = case.build()
    if not isinstance(attack_problem, AttackProblem):
        raise InvalidInputError("attack_problem", f"expected an AttackProblem or a Case, got "
                                f"{type(attack_problem).__name__}")
    names = _solver_list(solvers)
    if solvers is None and attack_problem.hooks.route is not None and not attack_problem.custom:
        names += [name for name in attack_problem.spec.get("routes", ()) if name not in names]
    repeats = _v.integer("repeats", repeats, low=1)
    opts = {}
    if case is not None:
        opts = {k.upper(): dict(v) for k, v in case.solver_options.items() if k.upper() in names}
    for key, value in _options(solver_options, names).items():
        opts[key] = {**opts.get(key, {}), **value}
    for key, param in attack_problem.parameters.items():
        if param.value is None:
            raise InvalidInputError(key, f"parameter has no value; set parameters[{key!r}].value")
    if oracle is not None:
        oracle = _v.scalar("oracle", oracle)
    elif case is not None:
        oracle = case.oracle
    else:
        oracle = attack_problem.oracle()

    rows = [_run_one(attack_problem, name, repeats, opts.get(name, {}), oracle) for name in names]
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    frame["iterations"] = frame["iterations"].astype("Int64")
    frame.attrs.update({
        "problem": repr(attack_problem),
        "family": attack_problem.family,
        "case": case.name if case is not None else None,
        "oracle": oracle,
        "cones": sorted(attack_problem.cones),
        "repeats": repeats,
    })
    return frame
