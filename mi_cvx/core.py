"""The two objects every family shares: :class:`AttackProblem` and :class:`AttackResult`.

A *factory* (``gaussian_scalar``, ``gaussian_vector``, ``binary_channel``, ...)
validates its input, builds one disciplined-convex ``cp.Problem`` whose
objective is the attacked mutual information ``I(Y; Z)`` in nats, and wraps it
in an :class:`AttackProblem` together with

* the ``cp.Parameter`` objects a user may change between solves (at least
  ``"budget"``), so a new value re-solves without re-canonicalising;
* the named decision variables, so users can add constraints of their own;
* a *readout* that turns the variables' values into the attack and re-checks
  the information with the plain-numpy measures of :mod:`mi_cvx.info`;
* an *oracle*: the closed-form optimum where one is known.

:meth:`AttackProblem.solve` returns an :class:`AttackResult`, which always says
how far to trust it (status, residual, oracle gap, independent re-check).
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import cvxpy as cp
import numpy as np

from . import solvers as _solvers
from .errors import InvalidInputError, MiCvxError, SolverError
from .info import NATS_PER_BIT

# A readout maps the solved problem to a dict with keys "attack" (dict of
# arrays), "mi_check" (float) and "budget_used" (float or None); it may also
# override "mi" when the CVXPY objective is not the information itself.
Readout = Callable[["AttackProblem"], dict]
Oracle = Callable[[Mapping[str, Any]], "float | None"]

_OK_STATUSES = (cp.OPTIMAL,)
_USABLE_STATUSES = (cp.OPTIMAL, cp.OPTIMAL_INACCURATE)


def _json_safe(value):
    """Recursively convert numpy values to JSON-safe Python values (NaN -> None)."""
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return _json_safe(value.tolist())
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    return value


def relative_error(value: float, reference: float) -> float:
    """The error measure used against oracles: ``|v - v*| / (1 + |v*|)``."""
    return abs(value - reference) / (1.0 + abs(reference))


@dataclass
class AttackResult:
    """The outcome of one solve.

    Attributes
    ----------
    mi : float
        Optimal mutual information ``I(Y; Z)`` in nats reported by the solver
        (NaN when no point was returned).
    status : str
        CVXPY status, or ``"solver_error"`` when the solver raised.
    solver : str
        Backend used.
    solve_time, setup_time : float or None
        Seconds spent in the solver, and compiling (CVXPY canonicalisation).
    iterations : int or None
        Solver iterations.
    dual_budget : float or None
        Multiplier of the budget constraint, ``lambda = -dI*/dD >= 0``.
    attack : dict
        The optimal attack as arrays (family-specific; see the factory docs).
    oracle : float or None
        Closed-form optimum where one is known.
    residual : float
        Largest constraint violation at the returned point.
    mi_check : float or None
        ``I(Y; Z)`` re-computed in plain numpy from the returned attack.
    budget_used : float or None
        The attack's expected cost at the returned point.
    ok : bool
        True when the status is optimal, the residual is within the solver's
        tolerance and the independent re-check agrees with ``mi``.
    message : str
        Why ``ok`` is False (empty otherwise).
    note : str
        How the result was obtained when that is worth knowing, e.g. that the
        family's preferred default solver failed and the next one was used.
    """

    mi: float
    status: str
    solver: str
    solve_time: float | None = None
    setup_time: float | None = None
    iterations: int | None = None
    dual_budget: float | None = None
    attack: dict = field(default_factory=dict)
    oracle: float | None = None
    residual: float = float("nan")
    mi_check: float | None = None
    budget_used: float | None = None
    family: str = ""
    parameters: dict = field(default_factory=dict)
    ok: bool = False
    message: str = ""
    note: str = ""
    problem: AttackProblem | None = field(default=None, repr=False, compare=False)

    @property
    def mi_bits(self) -> float:
        """``mi`` in bits."""
        return self.mi / NATS_PER_BIT

    @property
    def oracle_gap(self) -> float | None:
        """Signed gap ``mi - oracle`` in nats (None without an oracle)."""
        if self.oracle is None or not math.isfinite(self.mi):
            return None
        return self.mi - self.oracle

    @property
    def oracle_error(self) -> float | None:
        """Relative error ``|mi - oracle| / (1 + |oracle|)`` (None without an oracle)."""
        if self.oracle is None or not math.isfinite(self.mi):
            return None
        return relative_error(self.mi, self.oracle)

    def optimality(self):
        """Check the family's optimality conditions at this result (where the family has them)."""
        if self.problem is None or self.problem._optimality is None:
            raise NotImplementedError(f"the {self.family or 'this'} family has no optimality check")
        return self.problem._optimality(self)

    def to_dict(self, include_attack: bool = True) -> dict:
        """A JSON-safe dict of the result (arrays as nested lists, NaN as None)."""
        out = {
            "family": self.family,
            "mi": self.mi,
            "mi_bits": self.mi_bits,
            "status": self.status,
            "solver": self.solver,
            "ok": self.ok,
            "message": self.message,
            "note": self.note,
            "solve_time": self.solve_time,
            "setup_time": self.setup_time,
            "iterations": self.iterations,
            "dual_budget": self.dual_budget,
            "oracle": self.oracle,
            "oracle_gap": self.oracle_gap,
            "residual": self.residual,
            "mi_check": self.mi_check,
            "budget_used": self.budget_used,
            "parameters": self.parameters,
        }
        if include_attack:
            out["attack"] = self.attack
        return _json_safe(out)


@dataclass(frozen=True)
class Recipe:
    """How to build an :class:`AttackProblem` again, e.g. in another process.

    A built ``cvxpy.Problem`` does not pickle once solved (the solver's cache
    holds native objects), and CVXPY's global expression ids make unpickled
    expressions unsafe to mix with new ones anyway.  A recipe is the factory
    call instead: a module-level factory, its arguments, and the constraint
    functions later passed to :meth:`AttackProblem.with_constraints`.  It
    pickles whenever its arguments do.

    Attributes
    ----------
    factory : callable
        The factory (as decorated by :func:`rebuildable`).
    args : tuple
        Positional arguments of the factory call.
    kwargs : dict
        Keyword arguments of the factory call.
    constraints : tuple of callables
        Functions ``variables -> list of constraints``, applied in order.
    """

    factory: Callable[..., AttackProblem]
    args: tuple = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    constraints: tuple = ()

    def build(self) -> AttackProblem:
        """Call the factory and re-apply the custom constraints.

        Returns
        -------
        AttackProblem
            A new, independent problem.

        Raises
        ------
        InvalidInputError
            If the factory rejects its arguments.
        """
        problem = self.factory(*self.args, **dict(self.kwargs))
        for constraints in self.constraints:
            problem = problem.with_constraints(constraints)
        return problem


def rebuildable(factory: Callable[..., AttackProblem]) -> Callable[..., AttackProblem]:
    """Decorator for factories: record the call as the result's :class:`Recipe`.

    The outermost decorated call wins, so a factory that delegates to another
    records the call the user made.
    """

    @functools.wraps(factory)
    def wrapper(*args, **kwargs):
        problem = factory(*args, **kwargs)
        if isinstance(problem, AttackProblem):
            problem.recipe = Recipe(wrapper, tuple(args), dict(kwargs))
        return problem

    return wrapper


class AttackProblem:
    """A built, disciplined-convex attack problem.

    Users get these from the factories; the constructor is for family authors.

    Attributes
    ----------
    problem : cvxpy.Problem
        The convex model.  Its objective is ``I(Y; Z)`` in nats unless the
        family documents otherwise; it is DCP and DPP.
    parameters : dict of str -> cvxpy.Parameter
        What may change between solves (``"budget"`` at least, unless the
        problem was built with ``budget=None``).  Set ``.value`` and call
        :meth:`solve` again: the compiled problem is reused.
    variables : dict of str -> cvxpy.Expression
        Named decision variables (and affine views of them) for custom
        constraints; see :meth:`with_constraints`.
    family : str
        Which problem family built it.
    recipe : Recipe or None
        How to build the problem again (set by factories decorated with
        :func:`rebuildable`); None when it cannot be rebuilt, e.g. after
        :meth:`with_constraints` with a list of constraints.
    solve_options : dict
        Options the family passes to ``cvxpy.Problem.solve`` by default (the
        caller's own options override them), e.g. ``ignore_dpp=True`` where a
        DPP compilation would cost more than it saves.
    """

    def __init__(
        self,
        *,
        problem: cp.Problem,
        parameters: Mapping[str, cp.Parameter],
        variables: Mapping[str, cp.Expression],
        family: str,
        readout: Readout,
        oracle: Oracle | None = None,
        budget_constraint: cp.Constraint | None = None,
        description: str = "",
        scale: float = 1.0,
        sync: Callable[[AttackProblem], None] | None = None,
        optimality: Callable[[AttackResult], Any] | None = None,
        spec: Mapping[str, Any] | None = None,
        custom: bool = False,
        recipe: Recipe | None = None,
        solve_options: Mapping[str, Any] | None = None,
    ):
        self.problem = problem
        self.parameters = dict(parameters)
        self.variables = dict(variables)
        self.family = family
        self.description = description
        self.budget_constraint = budget_constraint
        self.scale = float(scale)
        self.spec = dict(spec or {})
        self.custom = custom
        self.recipe = recipe
        self.solve_options = dict(solve_options or {})
        self._readout = readout
        self._oracle = oracle
        self._sync = sync
        self._optimality = optimality

    # ------------------------------------------------------------------ info
    def __repr__(self) -> str:
        params = ", ".join(f"{k}={_short(v.value)}" for k, v in self.parameters.items())
        extra = ", custom" if self.custom else ""
        return f"AttackProblem({self.family}: {self.description}; {params}{extra})"

    @property
    def cones(self) -> frozenset[str]:
        """Cones a solver needs for this problem (``"PSD"``, ``"EXP"``, ...)."""
        return _solvers.required_cones(self.problem)

    def parameter_values(self) -> dict:
        """Current values of the user-facing parameters (JSON-safe)."""
        return _json_safe({k: p.value for k, p in self.parameters.items()})

    def oracle(self) -> float | None:
        """Closed-form optimal information (nats) at the current parameter values.

        None when no closed form is known for this problem, or when custom
        constraints were added (the oracle of the original problem is then only
        a lower bound).
        """
        if self._oracle is None or self.custom:
            return None
        values = {k: p.value for k, p in self.parameters.items()}
        if any(v is None for v in values.values()):
            return None
        return self._oracle(values)

    # ------------------------------------------------------------ customise
    def with_constraints(self, constraints) -> AttackProblem:
        """A new problem with the user's extra constraints.

        Parameters
        ----------
        constraints : list of cvxpy.Constraint, or callable
            Constraints written in terms of :attr:`variables` (and of
            :attr:`parameters` or new ``cp.Parameter`` objects), or a function
            ``variables -> list of constraints``.

        Returns
        -------
        AttackProblem
            Shares variables and parameters with this one; its :meth:`oracle`
            returns None.  It keeps a :attr:`recipe` (and so can be rebuilt in
            worker processes) when ``constraints`` is a callable and this
            problem has one.

        Raises
        ------
        InvalidInputError
            If ``constraints`` are not CVXPY constraints or make the problem
            non-DCP.
        """
        recipe = None
        if callable(constraints):
            if self.recipe is not None:
                recipe = replace(self.recipe, constraints=self.recipe.constraints + (constraints,))
            constraints = constraints(self.variables)
        if isinstance(constraints, cp.Constraint):
            constraints = [constraints]
        try:
            constraints = list(constraints)
        except TypeError:
            raise InvalidInputError("constraints", "expected a list of cvxpy constraints or a callable") from None
        for i, con in enumerate(constraints):
            if not isinstance(con, cp.Constraint):
                raise InvalidInputError("constraints", f"item {i} is {type(con).__name__}, not a cvxpy constraint")
            if not con.is_dcp():
                raise InvalidInputError("constraints",
                                        f"item {i} ({con}) is not DCP, so the problem would not be convex")
        problem = cp.Problem(self.problem.objective, list(self.problem.constraints) + constraints)
        if not problem.is_dpp():
            raise InvalidInputError("constraints", "the problem is no longer DPP; write parameters affinely")
        return AttackProblem(
            problem=problem,
            parameters=self.parameters,
            variables=self.variables,
            family=self.family,
            readout=self._readout,
            oracle=self._oracle,
            budget_constraint=self.budget_constraint,
            description=self.description + " + custom constraints",
            scale=self.scale,
            sync=self._sync,
            optimality=self._optimality,
            spec=self.spec,
            custom=True,
            recipe=recipe,
            solve_options=self.solve_options,
        )

    def rebuild(self) -> AttackProblem:
        """A fresh copy built from :attr:`recipe`, with the current parameter values.

        Returns
        -------
        AttackProblem

        Raises
        ------
        MiCvxError
            If the problem has no recipe.
        """
        if self.recipe is None:
            raise MiCvxError(
                f"this {self.family} problem cannot be rebuilt: it has no recipe (it was not made by a "
                "factory, or custom constraints were given as a list; pass a function to with_constraints)"
            )
        fresh = self.recipe.build()
        for key, param in self.parameters.items():
            if key in fresh.parameters:
                fresh.parameters[key].value = param.value
        return fresh

    # ----------------------------------------------------------------- solve
    def solve(self, solver: str | None = None, *, raise_on_failure: bool = True, **options) -> AttackResult:
        """Solve the problem at the current parameter values.

        Parameters
        ----------
        solver : str, optional
            A CVXPY solver name (``"CLARABEL"``, ``"SCS"``, ``"ECOS"``,
            ``"CVXOPT"``, ``"MOSEK"``).  Default: the family's preferred
            backends in :data:`mi_cvx.solvers.FAMILY_PREFERENCE` (trying the
            next when one fails, unless solver ``options`` were given), else
            the first installed one that has every cone the problem needs
            (Clarabel when present).
        raise_on_failure : bool, default True
            If False, a failed or inaccurate solve returns a result with
            ``ok=False`` and the reason in ``message`` instead of raising.
        **options
            Passed to ``cvxpy.Problem.solve`` (e.g. ``eps_abs=1e-9`` for SCS), on
            top of :data:`mi_cvx.solvers.DEFAULT_OPTIONS`.

        Returns
        -------
        AttackResult

        Raises
        ------
        InvalidInputError
            Unknown solver name, or a parameter without a valid value.
        UnsupportedSolverError
            The solver is not installed or lacks a cone the problem needs.
        SolverError
            The solver failed or returned an inaccurate point (unless
            ``raise_on_failure=False``).
        """
        cones = self.cones
        if solver is None:
            # The family's preferred backends in order; fall back only when the caller passed
            # no solver options (those are meant for one particular solver).
            names = _solvers.default_solvers(cones, self.family)
            names = names if not options else names[:1]
        else:
            names = [_solvers.check_solver(solver, cones)]
        for key, param in self.parameters.items():
            if param.value is None:
                raise InvalidInputError(key, f"parameter has no value; set parameters[{key!r}].value")
        if "budget" in self.parameters and float(self.parameters["budget"].value) < 0:
            raise InvalidInputError("budget", f"must be non-negative, got {self.parameters['budget'].value}")
        if self._sync is not None:
            self._sync(self)

        failed = []
        for name in names:
            result = self._solve_with(name, options)
            if result.ok:
                break
            failed.append(f"{name} ({result.message})")
        if result.ok and failed:
            result.note = "default solver fell back after: " + "; ".join(failed)
        if not result.ok and raise_on_failure:
            raise SolverError(
                f"the {self.family} attack problem was not solved accurately: {result.message}",
                status=result.status,
                solver=result.solver,
                hint=_hint(result.solver, result.status),
                result=result,
            )
        return result

    def _solve_with(self, name: str, options: Mapping[str, Any]) -> AttackResult:
        """One solve with backend ``name``; the result is flagged (``ok=False``), never raised."""
        start = time.perf_counter()
        try:
            self.problem.solve(solver=name, **_solvers.solver_options(name, {**self.solve_options, **options}))
            status = self.problem.status
            error = ""
        except cp.error.SolverError as exc:
            status, error = "solver_error", str(exc).strip().splitlines()[0]
        except (TypeError, ValueError) as exc:  # bad solver options
            raise InvalidInputError("options", f"{name} rejected the solver options: {exc}") from None
        wall = time.perf_counter() - start

        stats = self.problem.solver_stats if status != "solver_error" else None
        result = AttackResult(
            mi=float("nan"),
            status=status,
            solver=name,
            solve_time=(stats.solve_time if stats is not None and stats.solve_time is not None else wall),
            setup_time=getattr(self.problem, "compilation_time", None),
            iterations=(stats.num_iters if stats is not None else None),
            family=self.family,
            parameters=self.parameter_values(),
            problem=self,
        )
        result.oracle = self.oracle()

        if status in _USABLE_STATUSES and self.problem.value is not None:
            read = self._readout(self)
            result.mi = float(read.get("mi", self.problem.value))
            result.attack = read.get("attack", {})
            result.mi_check = read.get("mi_check")
            result.budget_used = read.get("budget_used")
            result.residual = self.residual()
            dual = self.budget_constraint.dual_value if self.budget_constraint is not None else None
            if dual is not None:
                result.dual_budget = float(np.asarray(dual).sum()) * read.get("dual_scale", 1.0)
            result.message = self._accuracy_problems(result)
            result.ok = not result.message
        else:
            result.message = error or f"no usable point (status {status})"
        return result

    def residual(self) -> float:
        """Largest constraint violation at the variables' current values."""
        worst = 0.0
        for con in self.problem.constraints:
            try:
                viol = con.violation()
            except (ValueError, TypeError):  # no value (e.g. solver failed)
                return float("nan")
            if viol is None:
                return float("nan")
            worst = max(worst, float(np.max(viol)) if np.size(viol) else 0.0)
        return worst

    def _accuracy_problems(self, result: AttackResult) -> str:
        problems = []
        if result.status not in _OK_STATUSES:
            problems.append(f"status {result.status}")
        res_tol = _solvers.tolerance(result.solver, "residual") * max(1.0, self.scale)
        if not (result.residual <= res_tol):
            problems.append(f"constraint residual {result.residual:.3g} exceeds {res_tol:.3g}")
        if result.mi_check is not None:
            # An independent re-evaluation of the returned attack must give the
            # solver's value.  The re-check is itself sensitive to how accurately
            # the point satisfies the (slightly violated) cone constraints, so it
            # gets ten times the value tolerance.
            val_tol = 10 * _solvers.tolerance(result.solver, "value")
            err = relative_error(result.mi, result.mi_check)
            if not (err <= val_tol):
                problems.append(
                    f"re-evaluating the returned attack gives I = {result.mi_check:.6g} nats, "
                    f"not the solver's {result.mi:.6g} (relative error {err:.2g} > {val_tol:.2g})"
                )
        return "; ".join(problems)


def _hint(solver: str, status: str) -> str:
    if solver == "SCS":
        return "SCS is a first-order method; tighten eps_abs/eps_rel (e.g. eps_abs=1e-9, eps_rel=1e-9) or use CLARABEL"
    if status in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE):
        return "check that your custom constraints leave a feasible attack (budget >= 0)"
    if status in (cp.UNBOUNDED, cp.UNBOUNDED_INACCURATE):
        return "the problem is unbounded; a custom constraint may have removed a needed bound"
    return "try another solver (e.g. SCS or MOSEK) or rescale the problem data"


def _short(value) -> str:
    if value is None:
        return "None"
    arr = np.asarray(value)
    if arr.ndim == 0:
        return f"{float(arr):g}"
    return f"array{arr.shape}"


def parameter(name: str, value, *, shape=(), nonneg: bool = True) -> cp.Parameter:
    """A named ``cp.Parameter`` with its value set (helper for factories)."""
    param = cp.Parameter(shape, name=name, nonneg=nonneg)
    param.value = value
    return param
