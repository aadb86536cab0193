"""Budget sweeps: the value function ``I*(D)`` over a grid of budgets (and of other parameters).

:func:`sweep` re-solves one built problem through its Parameters;
:func:`sweep_grid` builds one problem per point of a grid over a factory's
arguments.  Both return a :class:`pandas.DataFrame` with one row per point,
run serially, on local processes or on a Dask cluster, and can write every
row to a resumable CSV file (see :mod:`mi_cvx.sweep.api` for the details).

Modules, each importing only the ones after it:

- :mod:`~mi_cvx.sweep.api`: :func:`sweep`, :func:`sweep_grid` and their argument checks;
- :mod:`~mi_cvx.sweep.executors`: running the tasks (this process, joblib/loky, Dask);
- :mod:`~mi_cvx.sweep.store`: the rows, the resumable CSV store and :func:`problem_fingerprint`.

Note that ``mi_cvx.sweep`` as an *attribute* of :mod:`mi_cvx` is the function
:func:`sweep`; ``from mi_cvx.sweep import ...`` imports from this package.
"""

from __future__ import annotations

# The public API, and every other name the single-module mi_cvx.sweep had, so that
# ``from mi_cvx.sweep import X`` keeps working.  Patch a private name in the submodule
# that uses it (e.g. ``mi_cvx.sweep.executors._stderr_is_tty``), not here.
from .api import (  # noqa: F401 - re-exported
    _as_values,
    _check_budgets,
    _check_param_grid,
    _check_solver,
    _grid_points,
    sweep,
    sweep_grid,
)
from .executors import (  # noqa: F401 - re-exported
    _WORKER_LOCK,
    BACKENDS,
    _dask_client,
    _FactorySource,
    _failed_row,
    _id_floor,
    _LocalProblem,
    _make_tasks,
    _n_workers,
    _raise_id_floor,
    _RecipeSource,
    _result_row,
    _row_from_result,
    _run,
    _run_dask,
    _run_joblib,
    _run_task,
    _solve_task,
    _Source,
    _stderr_is_tty,
    _Task,
)
from .store import (  # noqa: F401 - re-exported
    _ADDRESS,
    _FINGERPRINT_VERSION,
    FINGERPRINT_COLUMN,
    RESULT_COLUMNS,
    _attributes,
    _cell,
    _check_fingerprints,
    _CsvAppender,
    _FingerprintSpec,
    _frame,
    _Hasher,
    _line,
    _Plan,
    _row_cells,
    problem_fingerprint,
)

__all__ = ["RESULT_COLUMNS", "problem_fingerprint", "sweep", "sweep_grid"]
