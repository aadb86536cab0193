"""Resource estimates for interior-point solves, read off a problem before it is compiled.

The estimate is deliberately pessimistic (it should err on the high side, within
about 3x): :meth:`mi_cvx.core.AttackProblem.solve` uses it to refuse a problem
that would run past a time limit or exhaust the machine's memory, instead of
letting it run for minutes and then fail.

Cost model
----------
An interior-point method (Clarabel, the default) factorises a KKT system every
iteration.  The two families of problems here stress it differently.

* **Semidefinite cones** (the Gaussian log-det SDPs).  A PSD cone of side ``N``
  has ``s = N (N + 1) / 2`` entries and a dense ``s x s`` scaling block in the
  KKT matrix.  ``log_det`` of an ``N x N`` argument becomes a PSD cone of side
  ``2N`` plus ``N`` exponential cones (CVXPY's canonicalisation).  Measured, both
  time and memory grow like ``S2 = sum s^2`` over the cones (about ``n^4`` for
  ``m = n``); a least-squares fit of ``a S2 + b S3`` (``S3 = sum s^3``, the
  flops of a dense factorisation) gives ``b ~ 0`` in this range, so the cubic
  term below is a safety margin for sizes beyond the calibration, not a fit.
* **Exponential cones and sparse variables** (the discrete channel problems:
  ``rel_entr`` over the output joint).  The KKT matrix is sparse; time and
  memory grow about linearly in
  ``size = scalar variables + constraint rows + 3 * exponential cones``.
  A parametrised (DPP) compilation also needs a workspace of
  ``16 (n + 1)(p + 1)`` bytes (``n`` variables including the epigraphs, ``p``
  parameter entries; see :func:`mi_cvx.discrete.dpp_compile_bytes`), counted up
  to 1 GiB: above that mi_cvx compiles without DPP.

So::

    seconds = T0 + C_PSD2 * S2 + C_PSD3 * S3 + C_SPARSE * size + C_DPP * dpp_bytes
    bytes   = B0 + M_PSD * S2 + M_SPARSE * size + dpp_bytes

Calibration
-----------
Wall time of ``problem.solve(solver="CLARABEL")`` (CVXPY compilation plus the
solve) and peak resident memory of a fresh process (``ru_maxrss``; about 180 MB
after importing mi_cvx), measured once on this project's machine: 2 cores
shared with other jobs (load average 5-8 during the runs, so the times are
inflated by up to 2x; the constants are chosen to stay above them).

``mi_cvx.gaussian_vector(A, 0.3 tr(A A^T), 1.0, noise)``, ``A`` standard normal
``m x m``, full form (PSD cone sides; S2; seconds; extra MB over the base):

====  =====  ============  =======  ======  =====
m     noise  PSD sides     S2       s       MB
====  =====  ============  =======  ======  =====
4     0      8, 8, 8       3.9e3    0.14    6
4     0.5    8, 12, 8      8.7e3    0.29    6
8     0      16, 16, 16    5.6e4    0.30    8
8     0.5    16, 24, 16    1.3e5    0.35    8
12    0      24, 24, 24    2.7e5    0.83    17
12    0.5    24, 36, 24    6.2e5    1.25    22
16    0      32, 32, 32    8.4e5    3.87    41
16    0.5    32, 48, 32    1.9e6    3.43    52
20    0      40, 40, 40    2.0e6    9.76    90
20    0.5    40, 60, 40    4.7e6    11.0    116
24    0      48, 48, 48    4.2e6    20.2    180   (9.0 s in a quieter re-run, 14 iterations)
24    0.5    48, 72, 48    9.7e6    11.6    216   (8.5 s in a quieter re-run, 11 iterations)
35    0.5    70, 105, 70   4.3e7    ~60     --    (earlier measurement)
400   0.5    800, 1200,    7.2e11   > 420   > 7.4 GB, no answer (earlier measurement)
             800
====  =====  ============  =======  ======  =====

Fit: ``seconds ~ 2.0e-6 S2`` (ratios predicted/measured 0.4-2.3, the low ones
the loaded noiseless runs); memory 22-45 bytes per unit of S2 beyond m = 12.

``mi_cvx.discrete_channel(p, 0.1, formulation=...)``, ``p`` Dirichlet(0.5) on
``k x k`` (size as above; seconds; extra MB):

=========  =========  ===  =======  =====  ======  =====================
form       DPP        k    size     s      MB      note
=========  =========  ===  =======  =====  ======  =====================
channel    yes        8    778      0.11   2
channel    yes        16   5138     0.26   20
channel    yes        24   16154    2.95   142     DPP workspace
channel    yes        32   36898    5.35   568     DPP workspace 555 MB
channel    yes        40   70442    18.8   1706    (mi_cvx uses no DPP here)
channel    no         24   16154    0.51   23
channel    no         40   70442    2.72   103
channel    no         72   394058   40.1   584
channel    no         128  2162818  112    ~3200   (earlier measurement)
transport  yes        8    274      0.04   3
transport  yes        16   1058     0.06   5
transport  yes        24   2354     0.52   19
transport  yes        32   4162     0.87   57
transport  yes        40   6482     1.49   135
transport  no         40   6482     0.29   10
transport  no         64   16514    0.69   25
=========  =========  ===  =======  =====  ======  =====================

Fit: about 1.0e-4 s and 1500 bytes per unit of size without DPP (the memory is
strikingly linear: 1400-1480 bytes at k = 24, 40, 72, and 3.2 GB at k = 128).

Constants (rounded up from the fits): ``T0 = 0.5 s``, ``C_PSD2 = 3e-6 s``,
``C_PSD3 = 1e-10 s``, ``C_SPARSE = 1e-4 s``, ``C_DPP = 3e-9 s/byte`` (1.4 s
for the 555 MB workspace at k = 32), ``B0 = 200 MB``, ``M_PSD = 50 bytes``,
``M_SPARSE = 1500 bytes``.  Predicted / measured on the points above: time
0.7-3.6x for the Gaussian problems (below 1 only for the noiseless runs made
under the heaviest load), 0.9-5x for the discrete ones mi_cvx runs (the large
ratios at sub-second times, dominated by ``T0``); memory 1.0-1.7x (Gaussian) and
1.0-4.9x (discrete, counting the capped DPP workspace even where the solve
skipped DPP).  m = n = 35 noisy: 151 s and 2.4 GB (measured ~60 s); m = n = 35
noiseless: 61 s; channel form k = 128: 220 s and 4.5 GB (112 s, 3.2 GB);
m = n = 400 noisy: 4.6e7 s and 36 TB (refused).
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass

import cvxpy as cp
from cvxpy import atoms as _atoms
from cvxpy.constraints import PSD, ExpCone

from .errors import InvalidInputError

#: Default limit (seconds) on the estimated time of a conic solve.
DEFAULT_TIME_LIMIT = 300.0

# Fitted constants (see the module docstring).
T0 = 0.5  # seconds: import-free overhead of a compile and a solve
C_PSD2 = 3e-6  # seconds per unit of sum(svec^2) over the PSD cones
C_PSD3 = 1e-10  # seconds per unit of sum(svec^3): a margin for the dense-factorisation regime
C_SPARSE = 1e-4  # seconds per unit of sparse size
C_DPP = 3e-9  # seconds per byte of DPP-compilation workspace
B0 = 200e6  # bytes: the Python process with mi_cvx imported
M_PSD = 50.0  # bytes per unit of sum(svec^2)
M_SPARSE = 1500.0  # bytes per unit of sparse size
#: Largest DPP workspace counted (bytes): above it mi_cvx compiles without DPP.
DPP_WORKSPACE_CAP = 1 << 30

#: Solvers the constants are calibrated for; others get :data:`UNCALIBRATED_TIME_FACTOR` on the time.
CALIBRATED_SOLVERS = frozenset({"CLARABEL"})
UNCALIBRATED_TIME_FACTOR = 2.0


@dataclass(frozen=True)
class Estimate:
    """Estimated cost of an interior-point solve.

    Attributes
    ----------
    seconds : float
        Wall time (compilation plus solve), seconds.
    bytes : float
        Peak resident memory of the solving process, bytes.
    detail : str
        The sizes the estimate was computed from, for messages.
    """

    seconds: float
    bytes: float
    detail: str


def machine_memory() -> int:
    """Bytes of physical memory of this machine.

    Returns
    -------
    int
        From ``os.sysconf`` (pages times page size), else ``/proc/meminfo``'s
        ``MemTotal``, else 8 GiB.
    """
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        if pages > 0 and size > 0:
            return int(pages * size)
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        pass
    try:  # pragma: no cover - fallback
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:  # pragma: no cover
        pass
    return 8 * 2**30  # pragma: no cover


@dataclass
class Sizes:
    """What an estimate reads: PSD cone sides, exponential cones, scalar variables and constraint rows."""

    psd: list
    exp_cones: int = 0
    variables: int = 0
    eq_rows: int = 0
    ineq_rows: int = 0

    @property
    def svec(self) -> list:
        return [n * (n + 1) // 2 for n in self.psd]

    @property
    def sparse_size(self) -> int:
        return self.variables + self.eq_rows + self.ineq_rows + 3 * self.exp_cones


def _classes(*names: str) -> tuple:
    """The atom classes of these names (some CVXPY atoms are functions of others: skipped)."""
    return tuple(obj for obj in (getattr(_atoms, name, None) for name in names) if isinstance(obj, type))


_ELEMENTWISE_EXP = _classes("entr", "exp", "log", "log1p", "rel_entr", "kl_div", "logistic", "xexp")
_LOG_DET = _classes("log_det")
_EIG = _classes("lambda_max", "lambda_min")
_EIG_SUM = _classes("lambda_sum_largest", "lambda_sum_smallest")
_SINGULAR = _classes("sigma_max", "normNuc")
_MATRIX_FRAC = _classes("matrix_frac")
_LOG_SUM_EXP = _classes("log_sum_exp")


def _walk(expr, sizes: Sizes, seen: set) -> None:
    """Add the cones CVXPY's canonicalisation will create for the atoms of ``expr``."""
    stack = [expr]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, _LOG_DET):
            side = int(node.args[0].shape[0])
            sizes.psd.append(2 * side)
            sizes.exp_cones += side
        elif isinstance(node, _EIG):
            sizes.psd.append(int(node.args[0].shape[0]))
        elif isinstance(node, _EIG_SUM):
            side = int(node.args[0].shape[0])
            sizes.psd.extend([side, side])
        elif isinstance(node, _SINGULAR):
            shape = node.args[0].shape
            sizes.psd.append(int(shape[0]) + int(shape[1] if len(shape) > 1 else 1))
        elif isinstance(node, _MATRIX_FRAC):
            sizes.psd.append(int(node.args[1].shape[0]) + 1)
        elif isinstance(node, _LOG_SUM_EXP):
            sizes.exp_cones += int(node.args[0].size)
        elif isinstance(node, _ELEMENTWISE_EXP):
            sizes.exp_cones += int(node.size) * (2 if type(node).__name__ == "logistic" else 1)
        stack.extend(getattr(node, "args", ()))


def _sizes(problem: cp.Problem) -> Sizes:
    sizes = Sizes(psd=[])
    seen: set = set()
    _walk(problem.objective.expr, sizes, seen)
    for con in problem.constraints:
        if isinstance(con, PSD):
            sizes.psd.append(int(con.args[0].shape[0]))
        elif isinstance(con, ExpCone):
            sizes.exp_cones += int(con.args[0].size)
        for arg in con.args:
            _walk(arg, sizes, seen)
    metrics = problem.size_metrics
    sizes.variables = int(metrics.num_scalar_variables)
    sizes.eq_rows = int(metrics.num_scalar_eq_constr)
    sizes.ineq_rows = int(metrics.num_scalar_leq_constr)
    return sizes


def estimate(problem: cp.Problem, solver: str = "CLARABEL") -> Estimate:
    """Estimate an interior-point solve's wall time and peak memory before compiling it.

    Parameters
    ----------
    problem : cvxpy.Problem
        The problem, not yet compiled (only its expression tree and size
        metrics are read; nothing is canonicalised).
    solver : str
        Solver name.  The constants are calibrated for Clarabel; for other
        solvers the time is doubled (a guess, not a measurement: first-order
        solvers such as SCS need less memory per iteration but many more
        iterations for tight tolerances) and the memory kept.

    Returns
    -------
    Estimate

    Raises
    ------
    InvalidInputError
        If ``problem`` is not a ``cvxpy.Problem``.
    """
    if not isinstance(problem, cp.Problem):
        raise InvalidInputError("problem", f"expected a cvxpy.Problem, got {type(problem).__name__}")
    params = sum(int(p.size) for p in problem.parameters())
    return estimate_sizes(_sizes(problem), solver, parameters=params)


def estimate_sizes(sizes: Sizes, solver: str = "CLARABEL", *, parameters: int = 0) -> Estimate:
    """The estimate of :func:`estimate` from the cone sizes alone (for a problem not built yet).

    Parameters
    ----------
    sizes : Sizes
        PSD cone sides, exponential cones, scalar variables and constraint rows
        the canonicalised problem will have.
    solver : str
    parameters : int
        Scalar parameter entries (for the DPP workspace).

    Returns
    -------
    Estimate
    """
    params = parameters
    svec = sizes.svec
    s2 = float(sum(float(s) ** 2 for s in svec))
    s3 = float(sum(float(s) ** 3 for s in svec))
    sparse = float(sizes.sparse_size)
    dpp = 0.0
    if params:  # CVXPY's DPP workspace (mi_cvx.discrete.dpp_compile_bytes), up to the cap
        dpp = min(16.0 * (sizes.variables + sizes.exp_cones + 1) * (params + 1), float(DPP_WORKSPACE_CAP))
    seconds = T0 + C_PSD2 * s2 + C_PSD3 * s3 + C_SPARSE * sparse + C_DPP * dpp
    nbytes = B0 + M_PSD * s2 + M_SPARSE * sparse + dpp
    if str(solver).upper() not in CALIBRATED_SOLVERS:
        seconds *= UNCALIBRATED_TIME_FACTOR
    psd = ", ".join(str(n) for n in sorted(sizes.psd, reverse=True)[:4])
    if len(sizes.psd) > 4:
        psd += ", ..."
    detail = (f"PSD cones of side [{psd}] (sum of svec^2 {s2:.3g}), {sizes.exp_cones} exponential cones, "
              f"{sizes.variables} scalar variables, {sizes.eq_rows + sizes.ineq_rows} constraint rows"
              + (f", DPP workspace {dpp / 2**20:.3g} MiB" if dpp > 2**26 else ""))
    return Estimate(float(seconds) if math.isfinite(seconds) else math.inf, float(nbytes), detail)


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run the block with one BLAS thread (threadpoolctl).

    The certified routes factorise many small and medium matrices; on a small shared machine
    OpenBLAS' threaded factorisations of such matrices can be tens of times slower than one
    thread (measured here: a 1024 x 1024 Cholesky 2.7 s against 0.04 s).
    """
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    with threadpool_limits(limits=1, user_api="blas"):
        yield
