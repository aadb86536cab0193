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
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import cvxpy as cp
import numpy as np

from . import resources as _resources
from . import solvers as _solvers
from .errors import InvalidInputError, MiCvxError, ResourceLimitError, SolverError
from .info import NATS_PER_BIT

# A readout maps the solved problem to a dict with keys "attack" (dict of
# arrays), "mi_check" (float) and "budget_used" (float or None); it may also
# override "mi" when the CVXPY objective is not the information itself.
Readout = Callable[["AttackProblem"], dict]
Oracle = Callable[[Mapping[str, Any]], "float | None"]
# An exact path maps the parameter values to a readout-like dict (keys "mi", "attack",
# "mi_check", "budget_used", "dual_budget") or None where the structure does not apply.
Exact = Callable[[Mapping[str, Any]], "dict | None"]

#: Share of the machine's physical memory a solve may be estimated to need before it is refused.
MEMORY_FRACTION = 0.6

#: Overspending the budget by more than this fraction is not accepted as "ok" (at tiny budgets an
#: absolute feasibility tolerance can hide a 30% overspend and an information error of 1e-5).
RELATIVE_OVERSPEND = 1e-3

#: ``result.solver`` of an answer from a family's exact structured path (closed forms).
EXACT = "EXACT"

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
        Backend used, or ``"EXACT"`` for a family's exact structured path.
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
        True when the answer is within ``tolerance`` of the optimum as far as
        can be checked: the status is optimal, the residual is within the
        solver's tolerance, the independent re-check agrees with ``mi``, the
        budget is not overspent, and ``mi`` agrees with the closed form where
        one exists (see :meth:`AttackProblem._accuracy_problems`).
    message : str
        Why ``ok`` is False (empty otherwise).
    note : str
        How the result was obtained when that is worth knowing, e.g. that the
        default chain fell back to another backend or to the exact path.
    tolerance : float or None
        The relative accuracy ``ok`` vouches for: the backend's promise
        (:func:`mi_cvx.solvers.tolerance` at the settings used).
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
    tolerance: float | None = None
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
            "tolerance": self.tolerance,
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
        problem: cp.Problem | None = None,
        parameters: Mapping[str, cp.Parameter],
        variables: Mapping[str, cp.Expression] | None = None,
        family: str,
        readout: Readout | None = None,
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
        exact: Exact | None = None,
        zero_threshold: Callable[[Mapping[str, Any]], float | None] | None = None,
        no_attack: Callable[[Mapping[str, Any]], float | None] | None = None,
        units: float = 1.0,
        builder: Callable[[], Mapping[str, Any]] | None = None,
        size_hint: Callable[[str], Any] | None = None,
        cones: frozenset[str] | None = None,
    ):
        if problem is None and builder is None:
            raise TypeError("AttackProblem needs a problem or a builder")
        self._problem = problem
        self._variables = None if variables is None else dict(variables)
        self._budget_constraint = budget_constraint
        self._builder = builder
        self._size_hint = size_hint
        self._cones = cones
        self.parameters = dict(parameters)
        self.family = family
        self.description = description
        self.scale = float(scale)
        self.spec = dict(spec or {})
        self.custom = custom
        self.recipe = recipe
        self.solve_options = dict(solve_options or {})
        self._readout = readout
        self._oracle = oracle
        self._sync = sync
        self._optimality = optimality
        self._exact = exact
        self._zero_threshold = zero_threshold
        self._no_attack = no_attack
        self.units = float(units)

    # ------------------------------------------------------------ the model
    # A family may hand over a *builder* instead of a built model: the conic form is then
    # built on first use, so a problem whose default solve goes to the exact path (the
    # conic form being beyond the machine's reach) never pays for building it.
    def _build(self) -> None:
        if self._problem is None:
            built = self._builder()
            self._problem = built["problem"]
            self._variables = dict(built["variables"])
            self._budget_constraint = built.get("budget_constraint")
            self._readout = built["readout"]

    @property
    def problem(self) -> cp.Problem:
        """The convex model (``cvxpy.Problem``)."""
        self._build()
        return self._problem

    @property
    def variables(self) -> dict:
        """Named decision variables (and affine views) for custom constraints."""
        self._build()
        return self._variables

    @property
    def budget_constraint(self) -> cp.Constraint | None:
        """The budget constraint (its dual value is the budget's multiplier)."""
        self._build()
        return self._budget_constraint

    @property
    def built(self) -> bool:
        """Whether the conic model has been built (it is built on first use)."""
        return self._problem is not None

    def estimate(self, solver: str = "CLARABEL"):
        """Estimated time and memory of a conic solve with ``solver`` (:func:`mi_cvx.resources.estimate`)."""
        if self._problem is None and self._size_hint is not None:
            return self._size_hint(solver)
        return _resources.estimate(self.problem, solver)

    # ------------------------------------------------------------------ info
    def __repr__(self) -> str:
        params = ", ".join(f"{k}={_short(v.value)}" for k, v in self.parameters.items())
        extra = ", custom" if self.custom else ""
        return f"AttackProblem({self.family}: {self.description}; {params}{extra})"

    @property
    def cones(self) -> frozenset[str]:
        """Cones a solver needs for this problem (``"PSD"``, ``"EXP"``, ...)."""
        if self._cones is not None and self._problem is None:
            return self._cones
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
            units=self.units,
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
    def zero_information_budget(self) -> float | None:
        """The least budget at which ``I* = 0``, where it is known in closed form (else None).

        Known for the paper's attacker on the Gaussian families (``tr(A signal_cov A^T)``
        when every row that sees the signal may be attacked) and for the binary channel
        and diagonal (``X = Y``) Hamming problems; None with custom constraints.
        """
        if self._zero_threshold is None or self.custom:
            return None
        values = {k: p.value for k, p in self.parameters.items()}
        if any(v is None for v in values.values()):
            return None
        return self._zero_threshold(values)

    def solve(self, solver: str | None = None, *, raise_on_failure: bool = True, time_limit: float | None = None,
              **options) -> AttackResult:
        """Solve the problem at the current parameter values.

        Parameters
        ----------
        solver : str, optional
            A CVXPY solver name (``"CLARABEL"``, ``"SCS"``, ``"ECOS"``,
            ``"CVXOPT"``, ``"MOSEK"``): that backend alone, as asked.  Default:
            the *default chain* (:func:`mi_cvx.solvers.default_chain`): the
            installed backends with the needed cones, in order, with fallback
            settings (Clarabel, then Clarabel with tighter settings and no
            equilibration), then the family's exact structured path where the
            structure allows (``result.solver == "EXACT"``), then MOSEK, SCS at
            tight ``eps`` (capped at 5-20 s by size) and ECOS or CVXOPT, until one answer
            is accurate.  A budget of zero or at or above the zero-information
            threshold, or a conic route estimated beyond ``time_limit`` or the
            machine's memory, goes straight to the exact path.  ``result.note``
            says what happened.
        raise_on_failure : bool, default True
            If False, a failed or inaccurate solve returns a result with
            ``ok=False`` and the reason in ``message`` instead of raising.
        time_limit : float, optional
            Refuse (or, on a default solve, route to the exact path) a conic
            solve whose estimated time (:func:`mi_cvx.resources.estimate`)
            exceeds this many seconds; default
            :data:`mi_cvx.resources.DEFAULT_TIME_LIMIT`; ``math.inf`` disables
            the time check (the memory check stays).
        **options
            Passed to ``cvxpy.Problem.solve`` (e.g. ``eps_abs=1e-9`` for SCS), on
            top of :data:`mi_cvx.solvers.DEFAULT_OPTIONS`.  With options, a
            default solve runs only the first backend of the chain, with them
            (no fallback, no exact path).

        Returns
        -------
        AttackResult

        Raises
        ------
        InvalidInputError
            Unknown solver name, bad solver options, or a parameter without a
            valid (finite, non-negative budget) value.
        UnsupportedSolverError
            The solver is not installed or lacks a cone the problem needs.
        ResourceLimitError
            The conic route is estimated beyond ``time_limit`` or the machine's
            memory and no exact path applies.
        SolverError
            The solver failed or returned an inaccurate point (unless
            ``raise_on_failure=False``).
        """
        cones = self.cones
        if solver is None:
            attempts = _solvers.default_chain(cones, self.family)
            if options:  # options are meant for one particular solver
                attempts = [(attempts[0][0], {})]
        else:
            attempts = [(_solvers.check_solver(solver, cones), {})]
        self._check_values()
        if self._sync is not None:
            self._sync(self)
        limit = _resources.DEFAULT_TIME_LIMIT if time_limit is None else float(time_limit)
        if not limit > 0:
            raise InvalidInputError("time_limit", f"must be a positive number of seconds, got {time_limit!r}")

        # naming a solver, or passing solver options, asks for that conic solve and nothing else
        exact_allowed = solver is None and not options and self._exact is not None and not self.custom
        if exact_allowed:
            threshold = self.zero_information_budget()
            budget = self.parameters["budget"].value if "budget" in self.parameters else None
            # The two ends of the budget range where the conic form has no interior: no budget
            # at all, and the zero-information threshold, where the answer is known exactly.
            zero_info = threshold is not None and budget is not None and float(budget) >= threshold
            if zero_info or (budget is not None and float(budget) == 0.0):
                exact = self._exact_result()
                if exact is not None and exact.ok:
                    exact.note = (f"the budget {float(budget):.6g} is at or above the zero-information threshold "
                                  f"{threshold:.6g}" if zero_info else "the budget is zero (no attack)")
                    exact.note += ": answered on the exact path without a conic solve"
                    return self._finish(exact, raise_on_failure)

        failed = []
        result = None
        exact_tried = False
        started = time.perf_counter()
        for name, extra in attempts:
            if exact_allowed and not exact_tried and failed and name in _solvers.EXACT_PATH_BEFORE:
                # The interior-point backends failed: the exact path, where the structure
                # allows, comes before the slower (first-order) and less robust backends.
                exact_tried = True
                exact = self._exact_result()
                if exact is not None and exact.ok:
                    exact.note = ("the conic solves were not accurate (" + "; ".join(failed)
                                  + "): answered on the exact path")
                    return self._finish(exact, raise_on_failure)
            estimate = self.estimate(name)
            if failed and time.perf_counter() - started + estimate.seconds > limit:
                failed.append(f"{name}: not tried, the chain would exceed the time limit of {limit:.3g} s")
                break
            too_big = _beyond_reach(estimate, limit)
            if too_big:
                exact = self._exact_result() if exact_allowed else None
                if exact is not None:
                    exact.note = f"a conic solve with {name} would need {too_big}: answered on the exact path"
                    return self._finish(exact, raise_on_failure)
                raise ResourceLimitError(
                    f"the {self.family} problem ({self.description}) is beyond this machine's reach with {name}: "
                    f"{too_big} ({estimate.detail}). {self._route_hint()}",
                    seconds=estimate.seconds, bytes=estimate.bytes)
            if "time_limit_secs" in extra:  # a first-order fallback's cap, in proportion to the problem
                extra = {**extra, "time_limit_secs": min(extra["time_limit_secs"], max(5.0, 10 * estimate.seconds))}
            result = self._solve_with(name, {**extra, **options})
            if extra:
                result.note = f"{name} with fallback settings {extra}"
            if result.ok:
                break
            failed.append(f"{name}{' (fallback settings)' if extra else ''}: {result.message}")
        if not result.ok and exact_allowed and not exact_tried:
            exact = self._exact_result()
            if exact is not None:
                exact.note = ("the conic solves were not accurate (" + "; ".join(failed)
                              + "): answered on the exact path")
                return self._finish(exact, raise_on_failure)
        if result.ok and failed:
            result.note = "default chain fell back after: " + "; ".join(failed)
        elif not result.ok and len(failed) > 1:
            result.note = "default chain tried: " + "; ".join(failed)
        return self._finish(result, raise_on_failure)

    def _finish(self, result: AttackResult, raise_on_failure: bool) -> AttackResult:
        if not result.ok and raise_on_failure:
            raise SolverError(
                f"the {self.family} attack problem was not solved accurately: {result.message}",
                status=result.status,
                solver=result.solver,
                hint=_hint(result.solver, result.status),
                result=result,
            )
        return result

    def _route_hint(self) -> str:
        hint = self.spec.get("route_hint")
        return hint or "Use a smaller model, or a structure with an exact path (see the factory's docs)."

    def _check_values(self) -> None:
        """Every parameter has a finite value; the budget is non-negative."""
        for key, param in self.parameters.items():
            if param.value is None:
                raise InvalidInputError(key, f"parameter has no value; set parameters[{key!r}].value")
            if not np.all(np.isfinite(np.asarray(param.value, dtype=float))):
                raise InvalidInputError(key, f"parameter value must be finite, got {_short(param.value)} "
                                        "(NaN or infinite entries)")

    def _exact_result(self) -> AttackResult | None:
        """The exact structured path's answer at the current values, or None where it does not apply."""
        if self._exact is None or self.custom:
            return None
        values = {k: p.value for k, p in self.parameters.items()}
        start = time.perf_counter()
        read = self._exact(values)
        if read is None:
            return None
        result = AttackResult(
            mi=float(read["mi"]),
            status=cp.OPTIMAL,
            solver=EXACT,
            solve_time=time.perf_counter() - start,
            setup_time=0.0,
            iterations=None,
            dual_budget=read.get("dual_budget"),
            attack=read.get("attack", {}),
            mi_check=read.get("mi_check"),
            budget_used=read.get("budget_used"),
            residual=0.0,
            family=self.family,
            parameters=self.parameter_values(),
            tolerance=_solvers.tolerance(EXACT, "value"),
            problem=self,
        )
        result.oracle = self.oracle()
        result.message = self._accuracy_problems(result)
        result.ok = not result.message
        return result

    def _solve_with(self, name: str, options: Mapping[str, Any]) -> AttackResult:
        """One solve with backend ``name``; the result is flagged (``ok=False``), never raised."""
        start = time.perf_counter()
        opts = _solvers.solver_options(name, {**self.solve_options, **options})
        try:
            with warnings.catch_warnings():  # an inaccurate solve is reported in the result, not as a warning
                warnings.filterwarnings("ignore", message="Solution may be inaccurate", category=UserWarning)
                self.problem.solve(solver=name, **opts)
            status = self.problem.status
            error = ""
        except cp.error.SolverError as exc:
            status, error = "solver_error", str(exc).strip().splitlines()[0]
        except (TypeError, ValueError, OverflowError) as exc:  # bad solver options
            raise InvalidInputError("options", f"{name} rejected the solver options: {exc}") from None
        except (KeyboardInterrupt, SystemExit, MemoryError):
            raise
        except BaseException as exc:  # noqa: BLE001 - e.g. a Rust panic inside Clarabel (a BaseException)
            status, error = "solver_error", f"{name} crashed: {type(exc).__name__}: {str(exc).strip()[:200]}"
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
            tolerance=_solvers.tolerance(name, "value", opts),
            problem=self,
        )
        result.oracle = self.oracle()

        if status in _USABLE_STATUSES and self.problem.value is not None:
            try:
                read = self._readout(self)
            except (np.linalg.LinAlgError, ValueError, FloatingPointError) as exc:
                result.message = f"the returned point could not be read back ({exc})"
                return result
            result.mi = float(read.get("mi", self.problem.value))
            result.attack = read.get("attack", {})
            result.mi_check = read.get("mi_check")
            result.budget_used = read.get("budget_used")
            result.residual = self.residual()
            dual = self.budget_constraint.dual_value if self.budget_constraint is not None else None
            if dual is not None:
                result.dual_budget = float(np.asarray(dual).sum()) * read.get("dual_scale", 1.0)
            if read.get("repaired"):
                result.note = ("the solver's point overspent the budget; the attack returned is mixed with "
                               "no attack to meet it, and must re-check within the tolerance itself")
            result.message = self._accuracy_problems(result, _solvers.tolerance(name, "residual", opts),
                                                     repaired=bool(read.get("repaired")))
            result.ok = not result.message
        else:
            result.message = error or f"no usable point (status {status})"
        return result

    def residual(self) -> float:
        """Largest constraint violation at the variables' current values."""
        worst = 0.0
        for con in self.problem.constraints:
            if not con.variables():  # a constant constraint (e.g. nothing to attack) has no violation to read
                continue
            try:
                viol = con.violation()
            except (ValueError, TypeError):  # no value (e.g. solver failed)
                return float("nan")
            if viol is None:
                return float("nan")
            worst = max(worst, float(np.max(viol)) if np.size(viol) else 0.0)
        return worst

    def _accuracy_problems(self, result: AttackResult, res_tol: float | None = None, *,
                           repaired: bool = False) -> str:
        """Why ``result`` is not within the solver's promised accuracy ("" when it is).

        The one acceptance rule of mi_cvx (solve, sweeps, comparisons and the CLI all
        use it): the status is optimal; the constraint residual is within the solver's
        tolerance; the information is finite and not negative beyond the tolerance; the
        independent re-check of the returned attack (``mi_check``) agrees with ``mi``;
        the budget is not overspent by more than the tolerance, relative to the budget,
        nor by more than the information tolerance can absorb (an overspend ``e`` buys
        about ``dual_budget * e`` nats); and,
        wherever a closed form exists, ``mi`` is within the solver's tolerance of it.
        """
        problems = []
        val_tol = result.tolerance if result.tolerance is not None else _solvers.tolerance(result.solver, "value")
        if result.status not in _OK_STATUSES:
            problems.append(f"status {result.status}")
        if not math.isfinite(result.mi):
            problems.append(f"the information is not finite ({result.mi})")
            return "; ".join(problems)
        if res_tol is None:
            res_tol = _solvers.tolerance(result.solver, "residual")
        res_tol *= max(1.0, self.scale)
        if not (result.residual <= res_tol):
            problems.append(f"constraint residual {result.residual:.3g} exceeds {res_tol:.3g}")
        if result.mi < -val_tol:
            problems.append(f"negative information {result.mi:.3g} nats")
        if result.mi_check is not None:
            # An independent re-evaluation of the returned attack must give the
            # solver's value.  The re-check is itself sensitive to how accurately
            # the point satisfies the (slightly violated) cone constraints, so it
            # gets ten times the value tolerance.
            # An attack repaired to feasibility leaks at least the optimum and the solver's
            # overspent value is at most about it: both are within the tolerance of the
            # optimum only if they agree to the tolerance itself.
            check_tol = val_tol if repaired else 10 * val_tol
            err = relative_error(result.mi, result.mi_check)
            if not (err <= check_tol):
                problems.append(
                    f"re-evaluating the returned attack gives I = {result.mi_check:.6g} nats, "
                    f"not the solver's {result.mi:.6g} (relative error {err:.2g} > {check_tol:.2g})"
                )
        budget = self.parameters["budget"].value if "budget" in self.parameters else None
        if budget is not None and result.budget_used is not None and not self.custom:
            over = float(result.budget_used) - float(budget)
            price = abs(result.dual_budget) if result.dual_budget is not None else 0.0
            # what the overspend can buy, in information, and the overspend relative to the budget
            # (the multiplier is unreliable at tiny budgets, where the value is steepest: the
            # overspend relative to the budget is checked on its own; a zero budget has only the
            # solver's absolute feasibility tolerance)
            allowed = (max(RELATIVE_OVERSPEND, val_tol) * float(budget) if float(budget) > 0
                       else res_tol * self.units)
            if over > 0 and (price * over > val_tol * (1.0 + abs(result.mi)) or over > allowed):
                problems.append(f"spends {result.budget_used:.6g}, over the budget {float(budget):.6g}")
        if self._no_attack is not None and not self.custom:
            # No optimal attack leaves more than the information without any attack.
            values = {k: p.value for k, p in self.parameters.items()}
            ceiling = self._no_attack(values)
            if ceiling is not None and result.mi > ceiling and relative_error(result.mi, ceiling) > val_tol:
                problems.append(f"{result.mi:.8g} nats exceeds {ceiling:.8g}, the information without any attack")
        if result.oracle is not None:
            err = relative_error(result.mi, result.oracle)
            if not (err <= val_tol):
                problems.append(f"the closed form gives {result.oracle:.8g} nats, the solver {result.mi:.8g} "
                                f"(relative error {err:.2g} > {result.solver}'s tolerance {val_tol:.2g})")
        return "; ".join(problems)


def _beyond_reach(estimate, time_limit: float) -> str:
    """What an estimated solve would exceed ("" when it fits): the time limit or the memory cap."""
    memory = MEMORY_FRACTION * _resources.machine_memory()
    over = []
    if estimate.seconds > time_limit:
        over.append(f"about {estimate.seconds:.3g} s (limit {time_limit:.3g} s)")
    if estimate.bytes > memory:
        over.append(f"about {estimate.bytes / 2**30:.3g} GiB of memory (cap {memory / 2**30:.3g} GiB)")
    return " and ".join(over)


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


class NamedParameter(cp.Parameter):
    """A ``cp.Parameter`` whose bad values raise :class:`InvalidInputError` naming the parameter.

    CVXPY rejects a wrong shape or sign with a ``ValueError`` that does not say
    which parameter; this one also rejects NaN and infinite entries, which CVXPY
    would pass on to the solver.
    """

    def _validate_value(self, val, *args, **kwargs):
        if val is not None:
            try:
                finite = bool(np.all(np.isfinite(np.asarray(val, dtype=float))))
            except (TypeError, ValueError):
                raise InvalidInputError(self.name(), f"expected a number or numeric array, got {val!r}") from None
            if not finite:
                raise InvalidInputError(self.name(), f"value must be finite, got {_short(val)} (NaN or infinite "
                                        "entries)")
        try:
            return super()._validate_value(val, *args, **kwargs)
        except ValueError as exc:
            if isinstance(exc, InvalidInputError):
                raise
            raise InvalidInputError(self.name(), f"{exc} (got {_short(val)})") from None


def parameter(name: str, value, *, shape=(), nonneg: bool = True) -> cp.Parameter:
    """A named ``cp.Parameter`` (a :class:`NamedParameter`) with its value set (helper for factories)."""
    param = NamedParameter(shape, name=name, nonneg=nonneg)
    param.value = value
    return param
