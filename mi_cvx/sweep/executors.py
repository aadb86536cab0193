"""Running a sweep's tasks: in this process, on local processes (joblib/loky), or on a Dask cluster.

A built CVXPY problem does not pickle, so a worker receives a *source* (a
:class:`_RecipeSource` or :class:`_FactorySource`, which rebuild the problem)
and a :class:`_Task`: one grid point and a chunk of its budgets.  The worker
builds the problem once and re-solves it through its budget Parameter
(:func:`_solve_task`); in this process the user's own problem is re-solved
(:class:`_LocalProblem`).  Each point becomes a row (:func:`_result_row`): a
failed solve is a flagged row, never a lost point.

:func:`_run` skips the points already in an ``out`` file, hands out the
tasks, writes every row as it comes back (:mod:`mi_cvx.sweep.store`) and
returns the frame.
"""

from __future__ import annotations

import inspect
import math
import os
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .. import validate as _v
from ..core import AttackProblem, AttackResult, Recipe
from ..errors import InvalidInputError, MiCvxError, UnsupportedSolverError
from ..info import NATS_PER_BIT
from .store import RESULT_COLUMNS, _check_fingerprints, _CsvAppender, _FingerprintSpec, _frame, _Plan, _row_cells

#: The parallel backends: local processes through joblib, or a ``dask.distributed`` cluster.
BACKENDS = ("loky", "dask")

_WORKER_LOCK = threading.Lock()


# ------------------------------------------------------------------- sources


class _Source:
    """Builds (or reuses) the problem for a grid point."""

    def build(self, point: dict) -> AttackProblem:  # pragma: no cover - interface
        raise NotImplementedError

    def problem_for(self, index: int, point: dict) -> AttackProblem:
        """The problem of grid point ``index`` in this process; a source that caches reuses it."""
        return self.build(point)


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

    def __init__(self, factory: Callable[..., AttackProblem], fixed: dict, first_budget: float):
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

    def __getstate__(self) -> dict[str, Any]:
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


# --------------------------------------------------------------------- tasks


@dataclass
class _Task:
    point_index: int
    point: dict
    budgets: list[float]
    fingerprint: _FingerprintSpec | None = None  # fingerprint the problem built for this point


def _solve_task(source: _Source, task: _Task, solver: str | None, options: dict,
                reuse: bool = False) -> Iterator[dict]:
    """Solve one chunk: build once, then re-solve through the budget Parameter."""
    problem = source.problem_for(task.point_index, task.point) if reuse else source.build(task.point)
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
        "kl": result.kl,
        "objective": result.objective,
        "dual_stealth": result.dual_stealth,
        "gap": result.gap,
    }


def _failed_row(point_index: int, budget: float, solver: str, error: str) -> dict:
    row = dict.fromkeys(RESULT_COLUMNS)
    row.update({"_point": point_index, "budget": float(budget), "mi": float("nan"), "mi_bits": float("nan"),
                "ok": False, "status": "error", "error": error, "solver": solver, "note": ""})
    return row


# --------------------------------------------------------------- running


def _run(plan: _Plan, source: _Source, workers: int, backend: str, scheduler: Any, writer: _CsvAppender | None,
         progress: bool | None, chunk_size: int | None, callback: Callable[[dict], None] | None,
         local: bool) -> pd.DataFrame:
    """Solve the plan's points not already in ``writer``'s file, write each row, return the frame in plan order."""
    columns = plan.columns
    requested = [(i, b) for i in range(len(plan.points)) for b in plan.budgets]
    keys = [plan.key(i, b) for i, b in requested]
    done: dict[tuple, list[str]] = {}
    if writer is not None:
        try:
            found = writer.existing(columns, len(plan.key_columns))
            _check_fingerprints(plan, source.problem_for, writer.path, found)
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


def _run_joblib(tasks: list[_Task], source: _Source, plan: _Plan, workers: int,
                accept: Callable[[dict], None]) -> None:
    from joblib import Parallel, delayed

    parallel = Parallel(n_jobs=workers, backend="loky", return_as="generator_unordered")
    for rows in parallel(delayed(_run_task)(source, task, plan.solver, plan.options) for task in tasks):
        for row in rows:
            accept(row)


def _run_dask(tasks: list[_Task], source: _Source, plan: _Plan, workers: int, scheduler: Any,
              accept: Callable[[dict], None]) -> None:
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


def _dask_client(scheduler: Any) -> tuple[Any, bool]:
    """The ``distributed.Client`` for ``scheduler``, and whether this call opened it (and must close it)."""
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


def _n_workers(n_jobs: int, backend: str, scheduler: Any) -> int:
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


def _stderr_is_tty() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False
