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

import itertools
import os
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .. import solvers as _solvers
from .. import validate as _v
from ..core import AttackProblem
from ..errors import InvalidInputError
from .executors import BACKENDS, _FactorySource, _LocalProblem, _n_workers, _RecipeSource, _run, _Source
from .store import _CsvAppender, _FingerprintSpec, _Plan, problem_fingerprint

__all__ = ["sweep", "sweep_grid"]


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
    recipe = attack_problem.recipe
    if not local and recipe is None:
        warnings.warn(
            "this problem has no recipe (custom constraints given as a list, or not built by a factory), so it "
            "cannot be rebuilt in worker processes; sweeping in this process instead",
            UserWarning,
            stacklevel=2,
        )
        local = True
    source: _Source = _RecipeSource(recipe, base) if not local and recipe is not None else _LocalProblem(attack_problem)
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


# ------------------------------------------------------------ validation etc.


def _check_budgets(budgets: Iterable[float]) -> list[float]:
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


def _check_solver(solver: str | None, problem: AttackProblem) -> str | None:
    """The canonical solver name, or None for the default chain of :meth:`AttackProblem.solve`.

    No backend is picked up front for ``solver=None``: each point goes through
    the default chain (its fallbacks and exact paths included) and its row
    reports the backend that produced it.
    """
    if isinstance(solver, str) and solver.upper() in _solvers.ROUTES:  # a certified route: checked at solve time
        return solver.upper()
    return None if solver is None else _solvers.check_solver(solver, problem.cones)


def _as_values(name: str, values: Any) -> list[Any]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise InvalidInputError(name, f"grid values must be a list, got {values!r}")
    values = list(values)
    if not values:
        raise InvalidInputError(name, "grid has no values")
    return values


def _check_param_grid(grid: Mapping[str, Sequence[Any]] | None, problem: AttackProblem) -> dict[str, list[Any]]:
    if grid is None:
        return {}
    if not isinstance(grid, Mapping):
        raise InvalidInputError("grid", "expected a dict of parameter name -> list of values")
    out: dict[str, list[Any]] = {}
    for key, given in grid.items():
        if key == "budget":
            raise InvalidInputError("grid", "'budget' is swept by the budgets argument")
        if key not in problem.parameters:
            raise InvalidInputError("grid", f"unknown parameter {key!r}; the problem's parameters are "
                                    f"{sorted(problem.parameters)}")
        values = _as_values(key, given)
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


def _grid_points(grid: Mapping[str, Sequence[Any]]) -> list[dict]:
    keys = list(grid)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(grid[k] for k in keys))]
