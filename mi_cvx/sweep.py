"""Budget sweeps: the value function ``I*(D)`` over a grid of budgets (and of other parameters).

:func:`sweep` re-solves one built :class:`~mi_cvx.core.AttackProblem` through
its ``cp.Parameter`` objects (the problem compiles once); :func:`sweep_grid`
builds one problem per point of a grid over a factory's arguments (noise
variance, source distribution, the shape of a projection matrix, ...) and
sweeps the budgets inside each.

Both return a :class:`pandas.DataFrame` with one row per point.  A failed or
inaccurate solve is a row with ``ok=False`` and the reason in ``error``; it is
never dropped and never passed off as a result.

Execution
---------
``n_jobs=1`` runs in this process.  ``n_jobs > 1`` (or ``-1`` for every core)
runs on local processes with joblib (``backend="loky"``); ``backend="dask"``
runs on a ``dask.distributed`` cluster (``scheduler="tcp://host:port"`` or a
``distributed.Client``).  A built CVXPY problem does not pickle, so workers
receive a *recipe* (the factory call recorded by
:func:`mi_cvx.core.rebuildable`, or the factory given to :func:`sweep_grid`)
and a chunk of budgets: each worker builds its problem once and re-solves it
through the budget Parameter.

Output files
------------
With ``out=PATH`` every finished point is appended to a CSV file as one whole
line, written with a single ``write`` call and ``fsync``-ed, so the file parses
after any interruption (even ``SIGKILL``).  Running the same sweep again skips
the points already in the file and solves only the rest.  In parallel runs the
points of a chunk are written when the chunk comes back (``chunk_size`` sets
the granularity; the default is about four chunks per worker).

Every line also records, in a last ``fingerprint`` column, the
:func:`problem_fingerprint` of the problem that produced it (its family, the
CVXPY model with its data and custom constraints, the values of parameters
that are not columns of the file, the solver and the solver options).  A
resumed sweep reuses a line only when the fingerprints agree, and refuses with
:class:`~mi_cvx.errors.InvalidInputError` a file holding lines of another
problem: the points of different problems are never mixed.
"""

from __future__ import annotations

import csv
import hashlib
import inspect
import io
import itertools
import json
import math
import os
import re
import sys
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cvxpy as cp
import numpy as np
import pandas as pd
import scipy.sparse as sp

from . import solvers as _solvers
from . import validate as _v
from .core import AttackProblem, AttackResult, Recipe
from .errors import InvalidInputError, MiCvxError, UnsupportedSolverError
from .info import NATS_PER_BIT

__all__ = ["RESULT_COLUMNS", "problem_fingerprint", "sweep", "sweep_grid"]

#: Columns every sweep frame has after its key columns (grid keys, problem
#: parameters and ``budget``).  ``solver`` is the backend that produced the row
#: (with the default chain, the one that succeeded, or ``"EXACT"`` for a
#: family's exact path) and ``note`` says how, e.g. after which fallbacks.
RESULT_COLUMNS: tuple[str, ...] = (
    "mi",
    "mi_bits",
    "ok",
    "status",
    "error",
    "solver",
    "note",
    "solve_time",
    "setup_time",
    "iterations",
    "oracle",
    "oracle_gap",
    "residual",
    "mi_check",
    "budget_used",
    "dual_budget",
)

#: Last column of an ``out`` file: the :func:`problem_fingerprint` of the row's problem.
FINGERPRINT_COLUMN = "fingerprint"

#: Bumped whenever what :func:`problem_fingerprint` hashes changes.
_FINGERPRINT_VERSION = "mi_cvx.sweep fingerprint v1"

BACKENDS = ("loky", "dask")

_WORKER_LOCK = threading.Lock()


# --------------------------------------------------------------------- public


def sweep(
    attack_problem: AttackProblem,
    budgets: Iterable[float],
    solver: str | None = None,
    n_jobs: int = 1,
    backend: str = "loky",
    out: str | os.PathLike | None = None,
    *,
    grid: Mapping[str, Sequence[Any]] | None = None,
    scheduler: Any = None,
    progress: bool | None = None,
    chunk_size: int | None = None,
    solver_options: Mapping[str, Any] | None = None,
    callback: Callable[[dict], None] | None = None,
) -> pd.DataFrame:
    """Solve ``attack_problem`` at every budget, re-solving through its Parameters.

    Parameters
    ----------
    attack_problem : AttackProblem
        A problem with a ``"budget"`` parameter (built with a budget).
    budgets : iterable of float
        Non-negative, distinct budgets, solved in this order.
    solver : str, optional
        CVXPY solver name.  Default: every point is solved by the default
        chain of :meth:`AttackProblem.solve` (its fallbacks included), and the
        ``solver`` column names the backend that produced each row.
    n_jobs : int, default 1
        Worker processes (``-1``: all cores).  With ``backend="dask"`` the
        cluster's threads set the parallelism and ``n_jobs`` is ignored.
    backend : {"loky", "dask"}
        Local processes through joblib, or a ``dask.distributed`` cluster.
    out : path, optional
        CSV file; each finished point is appended atomically, and points
        already in the file are not solved again (resume).  The file must
        hold rows of this problem only (see :func:`problem_fingerprint`).
    grid : dict of str -> list, optional
        Values for other Parameters of the problem (e.g. ``{"p_xy": [...]}``);
        every combination is swept over ``budgets``, still without rebuilding.
    scheduler : str or distributed.Client, optional
        The Dask scheduler address (``"tcp://host:8786"``) or client, for
        ``backend="dask"``; default the active client.
    progress : bool, optional
        Show a tqdm progress bar on stderr; default on when stderr is a
        terminal and there are at least 10 points to solve.
    chunk_size : int, optional
        Budgets per parallel task (each task builds the problem once);
        default: about four tasks per worker.
    solver_options : dict, optional
        Passed to :meth:`AttackProblem.solve` (e.g. ``{"eps": 1e-9}`` for SCS).
    callback : callable, optional
        Called with each finished row (a dict) after it has been written.

    Returns
    -------
    pandas.DataFrame
        One row per (grid point, budget), in request order.  Columns: one per
        non-budget problem parameter (scalars as numbers, arrays as JSON
        text), ``budget``, then :data:`RESULT_COLUMNS` (``mi`` and ``oracle``
        in nats; ``oracle_gap = mi - oracle``; ``ok`` False with ``error`` for
        a failed or inaccurate point).

    Raises
    ------
    InvalidInputError
        No budget parameter, bad budgets (NaN, infinite, negative, duplicate),
        unknown grid key or bad grid value, unknown backend, a Dask backend
        without a scheduler, an ``out`` path in a missing or unwritable
        directory, or an ``out`` file whose columns do not match this sweep or
        that holds rows of another problem (another fingerprint).
    UnsupportedSolverError
        The solver is not installed or lacks a cone the problem needs.

    Notes
    -----
    A problem built with :meth:`AttackProblem.with_constraints` from a list of
    constraints has no recipe and cannot be rebuilt in a worker: it is then
    swept in this process, with a warning.
    """
    if not isinstance(attack_problem, AttackProblem):
        raise InvalidInputError("attack_problem", f"expected an AttackProblem, got {type(attack_problem).__name__}")
    if "budget" not in attack_problem.parameters:
        raise InvalidInputError("attack_problem", "has no 'budget' parameter; build it with a budget to sweep it")
    budgets = _check_budgets(budgets)
    solver = _check_solver(solver, attack_problem)
    backend = _v.choice("backend", backend, BACKENDS)
    grid = _check_param_grid(grid, attack_problem)
    writer = _CsvAppender.for_path(out)
    options = dict(solver_options or {})
    params = [k for k in attack_problem.parameters if k != "budget"]
    points = _grid_points(grid) if grid else [{}]
    saved = {k: p.value for k, p in attack_problem.parameters.items()}

    # Columns for the problem's other parameters: their grid values, or their fixed value.
    base = {k: attack_problem.parameters[k].value for k in params}
    point_values = [{**base, **pt} for pt in points]
    workers = _n_workers(n_jobs, backend, scheduler)
    local = workers == 1 and backend != "dask"
    if not local and attack_problem.recipe is None:
        warnings.warn(
            "this problem has no recipe (custom constraints given as a list, or not built by a factory), so it "
            "cannot be rebuilt in worker processes; sweeping in this process instead",
            UserWarning,
            stacklevel=2,
        )
        local = True
    source: _Source = _LocalProblem(attack_problem) if local else _RecipeSource(attack_problem.recipe, base)
    # Every parameter's value is a column of the file, so the fingerprint leaves the values out.
    fingerprint = None
    if writer is not None:
        fingerprint = problem_fingerprint(attack_problem, solver, options, exclude=attack_problem.parameters)
    plan = _Plan(
        key_columns=[*params, "budget"],
        points=point_values,
        point_args=points,
        budgets=budgets,
        solver=solver,
        options=options,
        fingerprint=fingerprint,
    )
    try:
        return _run(plan, source, workers, backend, scheduler, writer, progress, chunk_size, callback, local)
    finally:
        if local:
            for key, value in saved.items():
                attack_problem.parameters[key].value = value


def sweep_grid(
    factory: Callable[..., AttackProblem],
    grid: Mapping[str, Sequence[Any]],
    budgets: Iterable[float],
    *,
    fixed: Mapping[str, Any] | None = None,
    solver: str | None = None,
    n_jobs: int = 1,
    backend: str = "loky",
    scheduler: Any = None,
    out: str | os.PathLike | None = None,
    progress: bool | None = None,
    chunk_size: int | None = None,
    solver_options: Mapping[str, Any] | None = None,
    callback: Callable[[dict], None] | None = None,
) -> pd.DataFrame:
    """Sweep the budgets of one problem per point of a grid over a factory's arguments.

    For every combination of ``grid`` values, ``factory(**fixed, **point)``
    builds a problem (passing ``budget=budgets[0]`` too when the factory takes
    a ``budget`` argument that is not given), and the budgets are swept
    through its budget Parameter.

    Parameters
    ----------
    factory : callable
        Returns an :class:`AttackProblem` with a ``"budget"`` parameter.  For
        parallel runs it must pickle (a module-level function; loky and Dask
        also ship lambdas and closures with cloudpickle).
    grid : dict of str -> list
        Keyword arguments to vary; the frame gets one column per key (in this
        order), scalars as numbers and arrays as JSON text.
    budgets : iterable of float
        Non-negative, distinct budgets.
    fixed : dict, optional
        Keyword arguments passed unchanged at every grid point.
    solver, n_jobs, backend, scheduler, out, progress, chunk_size, solver_options, callback
        As in :func:`sweep`.

    Returns
    -------
    pandas.DataFrame
        Grid-key columns, ``budget``, then :data:`RESULT_COLUMNS`; one row per
        (grid point, budget) in request order.

    Raises
    ------
    InvalidInputError
        Empty or malformed grid, a grid or fixed key the factory does not
        take, bad budgets, a factory that does not return an AttackProblem
        with a budget parameter (or rejects its arguments), unknown backend, an
        ``out`` path in a missing or unwritable directory, or an ``out`` file
        with other columns or with rows of another problem at one of this
        grid's points.

    Notes
    -----
    Each row of an ``out`` file records the fingerprint of the problem built
    at its grid point (the ``fixed`` arguments included).  Resuming checks the
    rows of every grid point of this sweep against a problem built there;
    rows of grid points this sweep does not ask for are left alone.
    UnsupportedSolverError
        The solver is not installed or lacks a cone the problem needs.

    Examples
    --------
    >>> frame = sweep_grid(gaussian_scalar, {"signal_var": [0.5, 1.0], "noise_var": [0.1]},
    ...                    budgets=[0.0, 0.25, 0.5])                       # doctest: +SKIP
    """
    if not callable(factory):
        raise InvalidInputError("factory", f"expected a callable returning an AttackProblem, got {factory!r}")
    if not isinstance(grid, Mapping) or not grid:
        raise InvalidInputError("grid", "expected a non-empty dict of argument name -> list of values")
    grid = {str(k): _as_values(str(k), v) for k, v in grid.items()}
    fixed = dict(fixed or {})
    clash = set(grid) & set(fixed)
    if clash:
        raise InvalidInputError("fixed", f"keys {sorted(clash)} are also grid keys")
    if "budget" in grid:
        raise InvalidInputError("grid", "'budget' is swept by the budgets argument; remove it from the grid")
    budgets = _check_budgets(budgets)
    backend = _v.choice("backend", backend, BACKENDS)
    writer = _CsvAppender.for_path(out)
    options = dict(solver_options or {})
    points = _grid_points(grid)
    source = _FactorySource(factory, fixed, budgets[0])
    source.check_arguments(grid)
    first = source.build(points[0])  # fail fast on a bad factory or grid, and learn the cones
    solver = _check_solver(solver, first)
    workers = _n_workers(n_jobs, backend, scheduler)
    local = workers == 1 and backend != "dask"
    source.cache = (0, first)  # dropped when the source is pickled for workers
    plan = _Plan(
        key_columns=[*grid, "budget"],
        points=points,
        point_args=points,
        budgets=budgets,
        solver=solver,
        options=options,
        # Each point is its own problem: fingerprinted where it is built, grid values left out (they are columns).
        fingerprint_spec=_FingerprintSpec(solver, options, ("budget", *grid)) if writer is not None else None,
    )
    return _run(plan, source, workers, backend, scheduler, writer, progress, chunk_size, callback, local)


# -------------------------------------------------------------- the machinery


@dataclass(frozen=True)
class _FingerprintSpec:
    """How a worker fingerprints the problem it built (see :func:`problem_fingerprint`)."""

    solver: str | None
    options: dict
    exclude: tuple[str, ...]

    def of(self, problem: AttackProblem) -> str:
        return problem_fingerprint(problem, self.solver, self.options, exclude=self.exclude)


@dataclass
class _Plan:
    key_columns: list[str]
    points: list[dict]  # the key values written for each point (without budget)
    point_args: list[dict]  # what the source needs to build / set each point
    budgets: list[float]
    solver: str | None  # None: the default chain of AttackProblem.solve
    options: dict = field(default_factory=dict)
    fingerprint: str | None = None  # one problem for every point (sweep)
    fingerprint_spec: _FingerprintSpec | None = None  # one problem per point, fingerprinted where built (sweep_grid)

    @property
    def columns(self) -> list[str]:
        return [*self.key_columns, *RESULT_COLUMNS]

    def key(self, point_index: int, budget: float) -> tuple[str, ...]:
        values = self.points[point_index]
        return tuple(_cell(values[c]) for c in self.key_columns[:-1]) + (_cell(float(budget)),)


class _Source:
    """Builds (or reuses) the problem for a grid point."""

    def build(self, point: dict) -> AttackProblem:  # pragma: no cover - interface
        raise NotImplementedError


class _LocalProblem(_Source):
    """The user's own problem, re-solved in this process (parameters set per point)."""

    def __init__(self, problem: AttackProblem):
        self.problem = problem

    def build(self, point: dict) -> AttackProblem:
        for key, value in point.items():
            self.problem.parameters[key].value = value
        return self.problem


def _id_floor() -> int | None:
    """CVXPY's next expression id in this process (None if CVXPY's internals moved)."""
    try:
        from cvxpy.lin_ops import lin_utils

        return int(lin_utils.ID_COUNTER.count)
    except (ImportError, AttributeError):  # pragma: no cover - other CVXPY versions
        return None


def _raise_id_floor(floor: int | None) -> None:
    """Make new CVXPY ids in a worker start above every id shipped from the parent.

    A recipe's arguments or constraint functions may carry CVXPY objects (a
    ``cp.Parameter`` in a closure); unpickled, they keep the parent's ids, and
    a worker whose own counter is lower could hand the same id to a new
    expression.  Starting the worker's counter at the parent's rules that out.
    """
    if floor is None:
        return
    try:
        from cvxpy.lin_ops import lin_utils

        if lin_utils.ID_COUNTER.count < floor:
            lin_utils.ID_COUNTER.count = floor
    except (ImportError, AttributeError):  # pragma: no cover
        pass


class _RecipeSource(_Source):
    """Rebuilds the problem from its recipe (in a worker), then sets the point's parameters."""

    def __init__(self, recipe: Recipe, base: dict):
        self.recipe = recipe
        self.base = base
        self.id_floor = _id_floor()

    def build(self, point: dict) -> AttackProblem:
        _raise_id_floor(self.id_floor)
        problem = self.recipe.build()
        for key, value in {**self.base, **point}.items():
            problem.parameters[key].value = value
        return problem


class _FactorySource(_Source):
    """Calls ``factory(**fixed, **point)``; caches the last problem built in this process."""

    def __init__(self, factory, fixed: dict, first_budget: float):
        self.factory = factory
        self.fixed = fixed
        self.first_budget = first_budget
        self.cache: tuple[int, AttackProblem] | None = None
        self.id_floor = _id_floor()
        try:
            sig = inspect.signature(factory)
            self.pass_budget = "budget" in sig.parameters or any(
                p.kind is inspect.Parameter.VAR_KEYWORD for p in sig.parameters.values()
            )
        except (TypeError, ValueError):
            self.pass_budget = False

    def __getstate__(self):
        state = dict(self.__dict__)
        state["cache"] = None  # built problems do not pickle
        return state

    def build(self, point: dict) -> AttackProblem:
        _raise_id_floor(self.id_floor)
        kwargs = {**self.fixed, **point}
        if self.pass_budget and "budget" not in kwargs:
            kwargs["budget"] = self.first_budget
        problem = self.factory(**kwargs)
        if not isinstance(problem, AttackProblem):
            raise InvalidInputError("factory", f"returned {type(problem).__name__}, not an AttackProblem")
        if "budget" not in problem.parameters:
            raise InvalidInputError("factory", "returned a problem without a 'budget' parameter")
        return problem

    def check_arguments(self, grid: Mapping[str, Any]) -> None:
        """Refuse grid or fixed keys the factory does not take, naming the valid ones.

        Raises
        ------
        InvalidInputError
            Naming ``grid`` (or ``fixed``), the unknown key and the factory's
            keyword arguments.
        """
        try:
            sig = inspect.signature(self.factory)
        except (TypeError, ValueError):
            return  # nothing to check against: the factory's own errors will tell
        params = sig.parameters.values()
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
            return
        valid = [p.name for p in params if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                                      inspect.Parameter.KEYWORD_ONLY)]
        name = getattr(self.factory, "__name__", type(self.factory).__name__)
        for argument, keys in (("grid", grid), ("fixed", self.fixed)):
            unknown = [k for k in keys if k not in valid]
            if unknown:
                listed = ", ".join(k for k in valid if k != "budget") or "(none)"
                raise InvalidInputError(
                    argument, f"{name}() takes no argument {unknown[0]!r}; valid {argument} keys: {listed}"
                    + (" (the budget is swept by the budgets argument)" if "budget" in valid else ""))
        kwargs = {**self.fixed, **grid}
        if self.pass_budget:
            kwargs.setdefault("budget", self.first_budget)
        try:
            sig.bind(**kwargs)
        except TypeError as exc:
            raise InvalidInputError("grid", f"{name}() cannot be called with the grid and fixed arguments: {exc}; "
                                    "give the missing ones in fixed") from None

    def problem_for(self, index: int, point: dict) -> AttackProblem:
        if self.cache is not None and self.cache[0] == index:
            return self.cache[1]
        problem = self.build(point)
        self.cache = (index, problem)
        return problem


@dataclass
class _Task:
    point_index: int
    point: dict
    budgets: list[float]
    fingerprint: _FingerprintSpec | None = None  # fingerprint the problem built for this point


def _solve_task(source: _Source, task: _Task, solver: str | None, options: dict,
                reuse: bool = False) -> Iterator[dict]:
    """Solve one chunk: build once, then re-solve through the budget Parameter."""
    if reuse and isinstance(source, _FactorySource):
        problem = source.problem_for(task.point_index, task.point)
    else:
        problem = source.build(task.point)
    fingerprint = task.fingerprint.of(problem) if task.fingerprint is not None else None
    for budget in task.budgets:
        problem.parameters["budget"].value = budget
        row = _result_row(problem, solver, options, task.point_index, budget)
        if fingerprint is not None:
            row["_fingerprint"] = fingerprint
        yield row


def _run_task(source: _Source, task: _Task, solver: str | None, options: dict) -> list[dict]:
    """Worker entry point (joblib / Dask): the rows of a whole chunk.

    CVXPY's expression-id counter is not thread-safe, so tasks sharing a
    process (a threaded Dask worker) run one at a time.
    """
    with _WORKER_LOCK:
        return list(_solve_task(source, task, solver, options))


def _result_row(problem: AttackProblem, solver: str | None, options: dict, point_index: int,
                budget: float) -> dict:
    """One point: ``problem.solve(solver)``; ``solver=None`` is the default chain with its fallbacks."""
    try:
        result = problem.solve(solver, raise_on_failure=False, **options)
    except (InvalidInputError, UnsupportedSolverError):
        raise  # the user's mistake: fail, do not flag
    except Exception as exc:  # noqa: BLE001 - any other failure is a flagged row, never a lost point
        return _failed_row(point_index, budget, solver or "", f"{type(exc).__name__}: {exc}")
    return _row_from_result(result, point_index, budget)


def _row_from_result(result: AttackResult, point_index: int, budget: float) -> dict:
    error = "" if result.ok else (result.message or f"status {result.status}")
    return {
        "_point": point_index,
        "budget": float(budget),
        "mi": result.mi,
        "mi_bits": result.mi / NATS_PER_BIT,
        "ok": bool(result.ok),
        "status": result.status,
        "error": error,
        "solver": result.solver,
        "note": result.note,
        "solve_time": result.solve_time,
        "setup_time": result.setup_time,
        "iterations": result.iterations,
        "oracle": result.oracle,
        "oracle_gap": result.oracle_gap,
        "residual": result.residual,
        "mi_check": result.mi_check,
        "budget_used": result.budget_used,
        "dual_budget": result.dual_budget,
    }


def _failed_row(point_index: int, budget: float, solver: str, error: str) -> dict:
    row = dict.fromkeys(RESULT_COLUMNS)
    row.update({"_point": point_index, "budget": float(budget), "mi": float("nan"), "mi_bits": float("nan"),
                "ok": False, "status": "error", "error": error, "solver": solver, "note": ""})
    return row


def _run(plan: _Plan, source: _Source, workers: int, backend: str, scheduler, writer: _CsvAppender | None,
         progress, chunk_size, callback, local: bool) -> pd.DataFrame:
    columns = plan.columns
    requested = [(i, b) for i in range(len(plan.points)) for b in plan.budgets]
    keys = [plan.key(i, b) for i, b in requested]
    done: dict[tuple, list[str]] = {}
    if writer is not None:
        try:
            found = writer.existing(columns, len(plan.key_columns))
            _check_fingerprints(plan, source, writer.path, found)
        except BaseException:
            writer.close()
            raise
        done = {key: cells[:-1] for key, cells in found.items()}
    todo: dict[int, list[float]] = {}
    for (i, b), key in zip(requested, keys, strict=True):
        if key not in done:
            todo.setdefault(i, []).append(b)
    n_todo = sum(len(v) for v in todo.values())
    if progress is None:
        progress = _stderr_is_tty() and n_todo >= 10
    tasks = _make_tasks(plan, todo, 1 if local else workers, chunk_size)
    if writer is None:
        for task in tasks:
            task.fingerprint = None

    from tqdm.auto import tqdm

    bar = tqdm(total=n_todo, disable=not progress, desc="sweep", unit="point", file=sys.stderr, leave=False)

    def accept(row: dict) -> None:
        cells = _row_cells(plan, row)
        done[tuple(cells[: len(plan.key_columns)])] = cells
        if writer is not None:
            writer.append([*cells, row.get("_fingerprint") or plan.fingerprint or ""])
        bar.update(1)
        if callback is not None:
            callback({c: row.get(c, plan.points[row["_point"]].get(c)) for c in columns})

    try:
        if not tasks:
            pass
        elif local:
            for task in tasks:
                for row in _solve_task(source, task, plan.solver, plan.options, reuse=True):
                    accept(row)
        elif backend == "dask":
            _run_dask(tasks, source, plan, workers, scheduler, accept)
        else:
            _run_joblib(tasks, source, plan, workers, accept)
    finally:
        bar.close()
        if writer is not None:
            writer.close()
    missing = [k for k in keys if k not in done]
    if missing:  # pragma: no cover - a bug, not a user error
        raise MiCvxError(f"sweep lost {len(missing)} points")
    return _frame(columns, [done[k] for k in keys])


def _make_tasks(plan: _Plan, todo: dict[int, list[float]], workers: int, chunk_size: int | None) -> list[_Task]:
    if not todo:
        return []
    if chunk_size is None:
        if workers <= 1:
            chunk_size = max(len(v) for v in todo.values())
        else:
            chunks_per_point = max(1, math.ceil(4 * workers / len(todo)))
            chunk_size = max(1, max(math.ceil(len(v) / chunks_per_point) for v in todo.values()))
    else:
        chunk_size = _v.integer("chunk_size", chunk_size, low=1)
    tasks = []
    for i, budgets in todo.items():
        for start in range(0, len(budgets), chunk_size):
            tasks.append(_Task(i, plan.point_args[i], budgets[start:start + chunk_size], plan.fingerprint_spec))
    return tasks


def _check_fingerprints(plan: _Plan, source: _Source, path: Path, found: dict[tuple, list[str]]) -> None:
    """Refuse an ``out`` file holding rows of another problem than the one this sweep solves.

    With one problem (:func:`sweep`) every row of the file must carry its
    fingerprint.  With one problem per grid point (:func:`sweep_grid`) the
    rows of each of this sweep's points must carry the fingerprint of the
    problem built at that point.

    Raises
    ------
    InvalidInputError
        Naming ``out``, the file and both fingerprints.
    """
    if not found:
        return

    def refuse(theirs: str, ours: str, where: str = "") -> None:
        raise InvalidInputError(
            "out", f"{path} holds rows of another problem{where} (fingerprint {theirs or 'missing'}, this sweep's "
            f"is {ours}); use another file or delete it")

    if plan.fingerprint is not None:
        for cells in found.values():
            if cells[-1] != plan.fingerprint:
                refuse(cells[-1], plan.fingerprint)
        return
    spec = plan.fingerprint_spec
    if spec is None:  # pragma: no cover - a writer always comes with a fingerprint
        raise MiCvxError("sweep: an output file without a fingerprint")
    by_point: dict[tuple, set[str]] = {}
    for key, cells in found.items():
        by_point.setdefault(key[:-1], set()).add(cells[-1])
    for i, values in enumerate(plan.points):
        prefix = tuple(_cell(values[c]) for c in plan.key_columns[:-1])
        theirs = by_point.get(prefix)
        if not theirs:
            continue
        point = plan.point_args[i]
        problem = source.problem_for(i, point) if isinstance(source, _FactorySource) else source.build(point)
        ours = spec.of(problem)
        for fingerprint in sorted(theirs):
            if fingerprint != ours:
                where = " at " + ", ".join(f"{c}={values[c]!r}" for c in plan.key_columns[:-1])
                refuse(fingerprint, ours, where)


def _run_joblib(tasks, source, plan, workers, accept) -> None:
    from joblib import Parallel, delayed

    parallel = Parallel(n_jobs=workers, backend="loky", return_as="generator_unordered")
    for rows in parallel(delayed(_run_task)(source, task, plan.solver, plan.options) for task in tasks):
        for row in rows:
            accept(row)


def _run_dask(tasks, source, plan, workers, scheduler, accept) -> None:
    client, owned = _dask_client(scheduler)
    from distributed import as_completed

    futures = []
    try:
        futures = [client.submit(_run_task, source, task, plan.solver, plan.options, pure=False) for task in tasks]
        for _future, rows in as_completed(futures, with_results=True, loop=client.loop):
            for row in rows:
                accept(row)
    finally:
        if futures:
            client.cancel(futures)
        if owned:
            client.close()


def _dask_client(scheduler):
    try:
        import distributed
    except ImportError:  # pragma: no cover - dask is a test dependency
        raise InvalidInputError("backend", "backend='dask' needs dask.distributed: "
                                "pip install 'mi-cvx[dask]'") from None
    if scheduler is None:
        try:
            return distributed.get_client(), False
        except ValueError:
            raise InvalidInputError(
                "scheduler", "backend='dask' needs scheduler='tcp://host:port', a distributed.Client, or an active "
                "client") from None
    if isinstance(scheduler, distributed.Client):
        return scheduler, False
    if isinstance(scheduler, str):
        try:
            return distributed.Client(scheduler, set_as_default=False, timeout="10s"), True
        except (OSError, TimeoutError, ValueError) as exc:
            raise InvalidInputError("scheduler", f"cannot connect to the Dask scheduler {scheduler!r}: {exc}") from None
    raise InvalidInputError("scheduler", f"expected an address string or a distributed.Client, got {scheduler!r}")


def _n_workers(n_jobs, backend: str, scheduler) -> int:
    if backend == "dask":
        client, owned = _dask_client(scheduler)
        try:
            return max(1, sum(client.nthreads().values()))
        finally:
            if owned:
                client.close()
    n_jobs = _v.integer("n_jobs", n_jobs)
    if n_jobs == 0:
        raise InvalidInputError("n_jobs", "must be a positive number of workers or -1 (all cores), not 0")
    if n_jobs < 0:
        n_jobs = max(1, (os.cpu_count() or 1) + 1 + n_jobs)
    return n_jobs


# ------------------------------------------------------------ validation etc.


def _check_budgets(budgets) -> list[float]:
    if isinstance(budgets, (str, bytes)):
        raise InvalidInputError("budgets", f"expected a list of numbers, got {budgets!r}")
    try:
        values = [_v.budget(b, "budgets") for b in np.ravel(np.asarray(list(budgets), dtype=object))]
    except TypeError:
        raise InvalidInputError("budgets", f"expected a list of numbers, got {budgets!r}") from None
    if not values:
        raise InvalidInputError("budgets", "is empty")
    if len(set(values)) != len(values):
        raise InvalidInputError("budgets", "contains duplicates")
    return values


def _check_solver(solver, problem: AttackProblem) -> str | None:
    """The canonical solver name, or None for the default chain of :meth:`AttackProblem.solve`.

    No backend is picked up front for ``solver=None``: each point goes through
    the default chain (its fallbacks and exact paths included) and its row
    reports the backend that produced it.
    """
    return None if solver is None else _solvers.check_solver(solver, problem.cones)


def _as_values(name: str, values) -> list:
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise InvalidInputError(name, f"grid values must be a list, got {values!r}")
    values = list(values)
    if not values:
        raise InvalidInputError(name, "grid has no values")
    return values


def _check_param_grid(grid, problem: AttackProblem) -> dict:
    if grid is None:
        return {}
    if not isinstance(grid, Mapping):
        raise InvalidInputError("grid", "expected a dict of parameter name -> list of values")
    out = {}
    for key, values in grid.items():
        if key == "budget":
            raise InvalidInputError("grid", "'budget' is swept by the budgets argument")
        if key not in problem.parameters:
            raise InvalidInputError("grid", f"unknown parameter {key!r}; the problem's parameters are "
                                    f"{sorted(problem.parameters)}")
        values = _as_values(key, values)
        param = problem.parameters[key]
        saved = param.value
        try:
            for value in values:  # CVXPY's own checks: shape and sign
                try:
                    param.value = np.asarray(value, dtype=float) if np.ndim(value) else value
                except (TypeError, ValueError) as exc:
                    raise InvalidInputError(key, f"bad grid value {value!r}: {exc}") from None
        finally:
            param.value = saved
        out[key] = values
    return out


def _grid_points(grid: Mapping[str, list]) -> list[dict]:
    keys = list(grid)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(grid[k] for k in keys))]


def _stderr_is_tty() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


# --------------------------------------------------------------- fingerprints


def problem_fingerprint(
    attack_problem: AttackProblem,
    solver: str | None = None,
    solver_options: Mapping[str, Any] | None = None,
    *,
    exclude: Iterable[str] = ("budget",),
) -> str:
    """A stable hash of what a sweep row depends on besides its key columns.

    It covers the problem's family, its scalar ``spec`` entries (``knows``,
    ``formulation``, ...), the whole CVXPY model -- every atom, the shapes and
    attributes of the variables, every constant by dtype, shape and bytes, the
    custom constraints -- the values of the problem's parameters not in
    ``exclude``, the values of any other ``cp.Parameter`` in the model (e.g.
    carried in by a custom constraint), the family's default solve options,
    and ``solver`` and ``solver_options``.  Parameters in ``exclude`` enter by
    name and shape only: their values are the sweep's columns.

    Variables enter by their order of appearance, not by CVXPY's ids or names,
    so equal problems built twice, in any process or session, have equal
    fingerprints; the initial value of an excluded parameter (the budget a
    problem was built with) does not matter.  Data derived in floating point
    (an eigendecomposition, say) can differ in its last bits between machines
    or library versions; the fingerprint then differs too, which refuses a
    resume rather than mixing rows.

    Parameters
    ----------
    attack_problem : AttackProblem
    solver : str, optional
        The solver the rows are solved with (None: the default chain).
    solver_options : dict, optional
        Options passed to :meth:`AttackProblem.solve`.
    exclude : iterable of str, default ("budget",)
        Parameters whose values are not part of the fingerprint.

    Returns
    -------
    str
        20 hexadecimal digits (the start of a SHA-256 digest).
    """
    hasher = _Hasher()
    excluded = set(exclude)
    public = {id(param): name for name, param in attack_problem.parameters.items()}
    hasher.feed(_FINGERPRINT_VERSION)
    hasher.feed(("family", attack_problem.family, "custom", bool(attack_problem.custom)))
    spec = {k: v for k, v in attack_problem.spec.items()
            if isinstance(v, (str, bool, int, float, np.integer, np.floating)) and k not in attack_problem.parameters}
    hasher.feed(("spec", sorted(spec.items())))
    values = {k: p.value for k, p in attack_problem.parameters.items() if k not in excluded}
    hasher.feed(("parameters", sorted(attack_problem.parameters), "values", sorted(values.items(), key=str)))
    hasher.feed(("solver", "default chain" if solver is None else str(solver).upper()))
    hasher.feed(("options", sorted({**attack_problem.solve_options, **(solver_options or {})}.items(), key=str)))
    hasher.model(attack_problem.problem, public)
    return hasher.hexdigest()[:20]


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


class _Hasher:
    """Feeds values into SHA-256 as a tagged, length-prefixed stream (no ambiguity, no ``hash()``)."""

    def __init__(self):
        self._sha = hashlib.sha256()
        self._seen: dict[int, int] = {}  # id(cvxpy object) -> order of first appearance
        self._keep: list[Any] = []  # keeps visited objects alive, so their ids stay theirs
        self._public: dict[int, str] = {}

    def hexdigest(self) -> str:
        return self._sha.hexdigest()

    def _put(self, tag: str, payload: bytes = b"") -> None:
        self._sha.update(f"{tag}:{len(payload)}:".encode())
        self._sha.update(payload)

    def model(self, problem: cp.Problem, public: dict[int, str]) -> None:
        self._public = public
        self._put("objective", type(problem.objective).__name__.encode())
        self.feed(problem.objective.args[0])
        self._put("constraints", str(len(problem.constraints)).encode())
        for con in problem.constraints:
            self.feed(con)

    def feed(self, value: Any) -> None:
        """Hash ``value`` (walked depth-first without recursion: CVXPY trees can be deep)."""
        stack = [value]
        while stack:
            stack.extend(reversed(self._one(stack.pop())))

    def _one(self, value: Any) -> list:  # noqa: C901 - one branch per kind of value
        """Hash ``value`` itself; return its children, to be fed next in order."""
        if value is None or isinstance(value, (bool, np.bool_)):
            self._put("atom", repr(None if value is None else bool(value)).encode())
        elif isinstance(value, (int, np.integer)):
            self._put("int", str(int(value)).encode())
        elif isinstance(value, (float, np.floating)):
            self._put("float", repr(float(value)).encode())
        elif isinstance(value, str):
            self._put("str", value.encode())
        elif isinstance(value, (slice, type(Ellipsis))):
            self._put("slice", repr(value).encode())
        elif isinstance(value, (cp.Expression, cp.Constraint)):
            return self._node(value)
        elif isinstance(value, (np.ndarray, np.generic)):
            arr = np.asarray(value)
            if arr.dtype == object:
                self._put("objects", repr(arr.shape).encode())
                return list(arr.ravel())
            arr = np.ascontiguousarray(arr)
            self._put("array", repr((arr.shape, arr.dtype.str)).encode())
            self._put("buffer", arr.tobytes())
        elif sp.issparse(value):
            mat = sp.csr_matrix(value, copy=True)
            mat.sum_duplicates()
            mat.sort_indices()
            self._put("sparse", repr((mat.shape, mat.data.dtype.str)).encode())
            for part in (mat.data, mat.indices.astype(np.int64), mat.indptr.astype(np.int64)):
                self._put("buffer", np.ascontiguousarray(part).tobytes())
        elif isinstance(value, Mapping):
            self._put("dict", str(len(value)).encode())
            return [item for key in sorted(value, key=str) for item in (str(key), value[key])]
        elif isinstance(value, (list, tuple)):
            self._put(type(value).__name__, str(len(value)).encode())
            return list(value)
        else:  # e.g. a Fraction; an address in a repr would not be stable across processes
            self._put("object", f"{type(value).__module__}.{type(value).__qualname__}:".encode()
                      + _ADDRESS.sub("", repr(value)).encode())
        return []

    def _node(self, node: cp.Expression | cp.Constraint) -> list:
        """A CVXPY expression or constraint, by structure; shared sub-expressions by back-reference."""
        seen = self._seen.get(id(node))
        if seen is not None:
            self._put("ref", str(seen).encode())
            return []
        self._seen[id(node)] = len(self._seen)
        self._keep.append(node)
        kind = type(node).__name__
        shape = repr(tuple(getattr(node, "shape", ())))
        if isinstance(node, cp.Variable):
            self._put("variable", shape.encode())
            return [_attributes(node)]
        if isinstance(node, cp.Parameter):
            name = self._public.get(id(node))
            if name is not None:  # the problem's own parameter: by name (its value is fed separately)
                self._put("parameter", f"{name}{shape}".encode())
                return [_attributes(node)]
            self._put("parameter*", shape.encode())  # any other parameter is data: by value
            return [_attributes(node), node.value]
        if isinstance(node, cp.Constant):
            self._put("constant", shape.encode())
            return [node.value]
        if isinstance(node, cp.Constraint):
            data = list(node.get_data() or [])
            if data and isinstance(data[-1], int) and data[-1] == node.id:
                data = data[:-1]  # CVXPY's constraint data ends with the id
            self._put("constraint", kind.encode())
            return [data, list(node.args)]
        self._put("expression", f"{kind}{shape}".encode())
        return [node.get_data(), list(node.args)]


def _attributes(leaf) -> dict:
    """A leaf's CVXPY attributes (nonneg, symmetric, bounds, ...) that are set."""
    attributes = getattr(leaf, "attributes", {}) or {}
    return {k: v for k, v in attributes.items() if v is not None and v is not False}


# ------------------------------------------------------------------- CSV I/O


def _cell(value) -> str:
    """One CSV cell: exact round-trip text (repr for floats, JSON for arrays)."""
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "True" if value else "False"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return repr(value) if math.isfinite(value) else ("" if math.isnan(value) else repr(value))
    if isinstance(value, str):
        return value
    arr = np.asarray(value)
    if arr.ndim == 0:
        return _cell(arr.item())
    return json.dumps(arr.tolist(), separators=(",", ":"))


def _row_cells(plan: _Plan, row: dict) -> list[str]:
    values = plan.points[row["_point"]]
    cells = [_cell(values[c]) for c in plan.key_columns[:-1]]
    cells.append(_cell(float(row["budget"])))
    cells.extend(_cell(row.get(c)) for c in RESULT_COLUMNS)
    return cells


def _line(cells: list[str]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(cells)
    return buf.getvalue().encode("utf-8")


def _frame(columns: list[str], rows: list[list[str]]) -> pd.DataFrame:
    """Parse rows of cells exactly as a resumed file is parsed, so both paths agree."""
    text = b"".join([_line(columns), *(_line(r) for r in rows)]).decode("utf-8")
    text_columns = {"status": str, "error": str, "solver": str, "note": str}
    frame = pd.read_csv(io.StringIO(text), keep_default_na=False, na_values=[""], dtype=text_columns)
    for col in text_columns:
        frame[col] = frame[col].fillna("")
    frame["ok"] = frame["ok"].astype(str).eq("True")
    return frame


class _CsvAppender:
    """Append whole CSV lines with one ``os.write`` each, fsync-ed; resume from what is there.

    The file's columns are the sweep's columns and, last, :data:`FINGERPRINT_COLUMN`.
    """

    def __init__(self, path: Path):
        self.path = path
        self.columns: list[str] = []
        self.fd: int | None = None
        self._check_writable()

    @classmethod
    def for_path(cls, out: str | os.PathLike | None) -> _CsvAppender | None:
        """An appender for ``out`` (None for None), checked before anything is built or solved.

        Raises
        ------
        InvalidInputError
            Naming ``out``: not a path, a directory, a missing or unwritable
            directory, or a file that cannot be opened for appending.
        """
        if out is None:
            return None
        try:
            path = Path(out)
        except TypeError:
            raise InvalidInputError("out", f"expected a file path, got {out!r}") from None
        return cls(path)

    @property
    def parent(self) -> Path:
        return self.path.parent if str(self.path.parent) else Path(".")

    def _check_writable(self) -> None:
        path, parent = self.path, self.parent
        if path.is_dir():
            raise InvalidInputError("out", f"{path} is a directory, expected a CSV file path")
        if not parent.exists():
            raise InvalidInputError("out", f"directory {parent} does not exist")
        if not parent.is_dir():
            raise InvalidInputError("out", f"{parent} is not a directory")
        try:
            if path.exists():
                os.close(os.open(path, os.O_WRONLY | os.O_APPEND))
            else:  # what existing() will do: create a file in the directory
                fd, probe = tempfile.mkstemp(dir=parent, prefix=f".{path.name}.", suffix=".tmp")
                os.close(fd)
                os.unlink(probe)
        except OSError as exc:
            reason = (exc.strerror or str(exc) or type(exc).__name__).splitlines()[0]
            what = (f"file {path} is not writable (opening it to append failed: {reason})" if path.exists() else
                    f"directory {parent} is not writable (creating a file there failed: {reason})")
            raise InvalidInputError("out", f"{what}; choose another path") from None

    def existing(self, columns: list[str], n_keys: int) -> dict[tuple, list[str]]:
        """The rows already in the file (key -> cells, fingerprint last); creates it with the header if absent.

        Raises
        ------
        InvalidInputError
            The file has other columns (another sweep, or no fingerprint
            column), a malformed line, or cannot be read or written.
        """
        self.columns = [*columns, FINGERPRINT_COLUMN]
        try:
            return self._existing(n_keys)
        except OSError as exc:
            raise InvalidInputError("out", f"cannot use {self.path}: {exc.strerror or exc}") from None

    def _existing(self, n_keys: int) -> dict[tuple, list[str]]:
        header = _line(self.columns)
        if not self.path.exists() or self.path.stat().st_size == 0:
            # Create with the header by write-then-rename: the file never exists half-written.
            fd, tmp = tempfile.mkstemp(dir=self.parent, prefix=f".{self.path.name}.", suffix=".tmp")
            try:
                os.write(fd, header)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
            self._open()
            return {}
        data = self.path.read_bytes()
        if not data.endswith(b"\n"):
            # A partial last line (only possible if something else wrote it): drop it.
            cut = data.rfind(b"\n") + 1
            with open(self.path, "r+b") as fh:
                fh.truncate(cut)
                fh.flush()
                os.fsync(fh.fileno())
            data = data[:cut]
        reader = csv.reader(io.StringIO(data.decode("utf-8")))
        try:
            found = next(reader)
        except StopIteration:
            found = []
        if found != self.columns:
            if found and FINGERPRINT_COLUMN not in found:
                raise InvalidInputError(
                    "out", f"{self.path} has no {FINGERPRINT_COLUMN!r} column (written by an older mi_cvx), so "
                    "its rows cannot be matched to this problem; use another file or delete it")
            raise InvalidInputError(
                "out", f"{self.path} holds another sweep (columns {found}); expected {self.columns}. "
                "Use a new file name.")
        done: dict[tuple, list[str]] = {}
        for lineno, cells in enumerate(reader, start=2):
            if len(cells) != len(self.columns):
                raise InvalidInputError("out", f"{self.path} line {lineno} has {len(cells)} fields, "
                                        f"expected {len(self.columns)}")
            done[tuple(cells[:n_keys])] = cells
        self._open()
        return done

    def _open(self) -> None:
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)

    def append(self, cells: list[str]) -> None:
        line = _line(cells)
        written = os.write(self.fd, line)
        if written != len(line):  # pragma: no cover - regular files write whole small buffers
            raise OSError(f"short write to {self.path}")
        os.fsync(self.fd)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
