"""mi_cvx: information-theoretically optimal adversarial attacks by convex optimisation.

An attacker who knows an observation ``X`` and the label ``Y`` perturbs ``X``
to minimise ``I(Y; X + Delta)`` under a budget.  Each problem family is a
disciplined-convex CVXPY problem built by a factory; closed forms in
:mod:`mi_cvx.oracles` cross-check the conic solves and give exact fast paths.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from . import baselines, data, grids, info, oracles, solvers, validate
from .cases import Case, cases
from .comparison import compare_solvers
from .convexity import ConvexityReport, verify_convexity
from .core import AttackProblem, AttackResult, relative_error
from .detection import Detection, detection_probability
from .discrete import binary_channel, discrete_channel
from .errors import InvalidInputError, MiCvxError, ResourceLimitError, SolverError, UnsupportedSolverError
from .family import Family, Param
from .gaussian import gaussian_scalar, gaussian_sparse, gaussian_vector
from .registry import families, get_family
from .solvers import installed_solvers
from .subset import SubsetAttackResult, subset_attack, subset_problem
from .sweep import sweep, sweep_grid

try:
    __version__ = version("mi-cvx")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"

__all__ = [
    "AttackProblem",
    "AttackResult",
    "Case",
    "ConvexityReport",
    "Detection",
    "Family",
    "InvalidInputError",
    "MiCvxError",
    "Param",
    "ResourceLimitError",
    "SolverError",
    "SubsetAttackResult",
    "UnsupportedSolverError",
    "binary_channel",
    "cases",
    "compare_solvers",
    "detection_probability",
    "discrete_channel",
    "families",
    "gaussian_scalar",
    "gaussian_sparse",
    "gaussian_vector",
    "get_family",
    "info",
    "installed_solvers",
    "oracles",
    "relative_error",
    "solvers",
    "subset_attack",
    "subset_problem",
    "sweep",
    "sweep_grid",
    "validate",
    "verify_convexity",
    "__version__",
    "baselines",
    "data",
    "grids",
]
