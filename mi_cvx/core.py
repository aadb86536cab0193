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

import copy as _copy
import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import cvxpy as cp
import numpy as np

from . import resources as _resources
from . import solvers as _solvers
from .errors import InvalidInputError, MiCvxError
from .info import NATS_PER_BIT
from .serialize import json_safe

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
    kl : float or None
        ``KL(P_Z || P_X)`` in nats: how far the attack moves the law of what
        the defender receives, recomputed in plain numpy from the returned
        attack (problems built with a ``stealth`` or ``stealth_weight`` term;
        see :func:`mi_cvx.detection_probability` for the defender's test).
    objective : float
        The optimal value of what was minimised: ``mi + stealth_weight * kl``
        with a stealth weight, else ``mi``.
    dual_stealth : float or None
        Multiplier of the stealth cap ``KL <= stealth`` (``-dJ*/d stealth``).
    gap : float or None
        The certificate of a first-order route (``solver`` in
        :data:`mi_cvx.solvers.ROUTES`): a bound, in nats, on how far ``objective``
        is above the optimum, from a dual bound computed at the returned point.
        ``ok`` needs ``gap <= mi_cvx.solvers.GAP_TOLERANCE``.  None for conic
        solves and exact paths.
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
    kl: float | None = None
    objective: float | None = None
    dual_stealth: float | None = None
    gap: float | None = None
    problem: AttackProblem | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.objective is None:  # without a stealth weight the objective is the information
            self.objective = self.mi

    def __getstate__(self) -> dict:
        # A result pickles with its problem when the problem can be rebuilt (it travels as its
        # recipe); otherwise without it (``problem`` is then None and ``optimality()`` unavailable).
        state = self.__dict__.copy()
        if self.problem is not None and self.problem.recipe is None:
            state["problem"] = None
        return state

    def __repr__(self) -> str:
        from .display import attack_result_repr

        return attack_result_repr(self)

    def _repr_html_(self) -> str:
        from .display import attack_result_html

        return attack_result_html(self)

    @property
    def mi_bits(self) -> float:
        """``mi`` in bits."""
        return self.mi / NATS_PER_BIT

    @property
    def oracle_gap(self) -> float | None:
        """Signed gap ``objective - oracle`` in nats (``objective`` is ``mi`` without a stealth weight)."""
        value = self.mi if self.objective is None else self.objective
        if self.oracle is None or not math.isfinite(value):
            return None
        return value - self.oracle

    @property
    def oracle_error(self) -> float | None:
        """Relative error ``|objective - oracle| / (1 + |oracle|)`` (None without an oracle)."""
        value = self.mi if self.objective is None else self.objective
        if self.oracle is None or not math.isfinite(value):
            return None
        return relative_error(value, self.oracle)

    def optimality(self):
        """Check the family's optimality conditions at this result (where the family has them)."""
        if self.problem is None or self.problem.hooks.optimality is None:
            raise NotImplementedError(f"the {self.family or 'this'} family has no optimality check")
        return self.problem.hooks.optimality(self)

    def sample(self, x, y, rng=None):
        """Attacked samples drawn from this attack for data ``(x, y)`` (the family's ``sample`` hook).

        Gaussian families: ``z = x + Delta`` (shape of ``x``, (N, m)); discrete
        families: ``xhat`` per sample (see :mod:`mi_cvx.sampling`).

        Raises
        ------
        InvalidInputError
            Naming ``result`` if the result is not ok, its family has no
            ``sample`` hook, or it has no problem (unpickled without it); naming
            ``x``, ``y`` or ``rng`` for bad data.
        """
        return self._family_hook("sample", "sampled")(self, x, y, rng=rng)

    def consequences(self):
        """What this attack does to the best estimator of the label (the family's ``consequences`` hook).

        Returns
        -------
        mi_cvx.sampling.Consequences
            Gaussian: ``mmse_before``, ``mmse_after`` (``tr Cov(Y | X)``,
            ``tr Cov(Y | Z)``); discrete: ``bayes_error_before``,
            ``bayes_error_after`` and ``fano_bound``.

        Raises
        ------
        InvalidInputError
            Naming ``result``, as :meth:`sample`.
        """
        return self._family_hook("consequences", "assessed")(self)

    def _family_hook(self, name: str, done: str) -> Callable[..., Any]:
        """The family's hook ``name``, after checking that this result can be ``done`` (sampled, ...)."""
        from .registry import families

        if not self.ok:
            why = self.message or f"status {self.status}"
            raise InvalidInputError("result", f"is not ok ({why}): an untrustworthy attack is not {done}; solve again "
                                    "until result.ok")
        fam = families().get(self.family)
        if fam is None:
            raise InvalidInputError("result", f"belongs to no registered family (family={self.family!r}), so nothing "
                                    f"says how its attack is {done}")
        hook = getattr(fam, name, None)
        if hook is None:
            raise InvalidInputError("result", f"the {self.family} family declares no {name} hook: its attack cannot "
                                    f"be {done}")
        if self.problem is None:
            raise InvalidInputError("result", "has no problem (it was unpickled from a problem without a recipe, or "
                                    f"built by hand): the model it was solved for is unknown, so it cannot be {done}; "
                                    "solve the problem again in this process")
        return hook

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
            "kl": self.kl,
            "objective": self.objective,
            "dual_stealth": self.dual_stealth,
            "gap": self.gap,
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
        return json_safe(out)


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


@dataclass(frozen=True)
class Hooks:
    """What a family plugs into an :class:`AttackProblem`: functions of the parameter values or of the problem.

    Every hook but ``readout`` is optional (a builder supplies the readout
    with the model); without the others a problem is still solved and checked
    by the generic rules (status, residual, budget).

    Attributes
    ----------
    readout : callable
        ``problem -> dict`` with keys ``"attack"`` (dict of arrays),
        ``"mi_check"`` (float, the information recomputed in plain numpy from
        the attack) and ``"budget_used"``; optionally ``"mi"`` (when the
        objective is not the information itself), ``"dual_scale"`` (the budget
        multiplier's unit) and ``"repaired"`` (the point was mixed with no
        attack to meet the budget).  Required unless a builder supplies it.
    oracle : callable
        ``values -> float or None``: the closed-form optimum where one applies.
    exact : callable
        ``values -> dict or None``: the exact structured path (keys ``"mi"``,
        ``"attack"``, ``"mi_check"``, ``"budget_used"``, ``"dual_budget"``),
        None where the structure does not apply.
    zero_threshold : callable
        ``values -> float or None``: the least budget at which ``I* = 0``.
    no_attack : callable
        ``values -> float or None``: the information without any attack (no
        optimal attack leaves more).
    sync : callable
        ``problem -> None``: update internal parameters from the user-facing
        ones before a solve.
    optimality : callable
        ``result -> residuals``: the family's optimality conditions at a result.
    size_hint : callable
        ``solver -> Estimate``: time and memory of a conic solve, estimated
        before the model is built.
    route : callable
        ``(values, state, name) -> dict or None``: the family's certified
        first-order route (keys as ``exact`` plus ``"solver"``, the name in
        :data:`mi_cvx.solvers.ROUTES` of the method that answered, ``"gap"``,
        the certificate in nats, ``"iterations"`` and ``"state"``, a warm start
        handed back on the next call); ``name`` is the route asked for (one of
        the problem's ``spec["routes"]``) or None for the family's choice; None
        where the route does not apply.
    """

    readout: Readout | None = None
    oracle: Oracle | None = None
    exact: Exact | None = None
    zero_threshold: Callable[[Mapping[str, Any]], float | None] | None = None
    no_attack: Callable[[Mapping[str, Any]], float | None] | None = None
    sync: Callable[[AttackProblem], None] | None = None
    optimality: Callable[[AttackResult], Any] | None = None
    size_hint: Callable[[str], Any] | None = None
    route: Callable[[Mapping[str, Any], Any, str | None], dict | None] | None = None


_HOOK_NAMES = tuple(Hooks.__dataclass_fields__)


def _rebuild(recipe: Recipe, values: Mapping[str, Any]) -> AttackProblem:
    """Unpickle an :class:`AttackProblem`: build it again from its recipe, with the parameter values it had."""
    problem = recipe.build()
    for key, value in values.items():
        if key in problem.parameters:
            problem.parameters[key].value = value
    return problem


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
    hooks : Hooks
        The family's functions: readout, oracle, exact path, zero-information
        threshold, information without attack, optimality conditions, size
        estimate (see :class:`Hooks`).
    description : str
        One line saying what was built (sizes, attacker model, formulation).
    scale : float
        The problem's magnitude in solver units (residual tolerances are
        multiplied by ``max(1, scale)``).
    units : float
        The budget's unit: the factor by which the family divided the data
        before building the model (the solver sees ``budget / units``; every
        number a result reports is back in the user's units).
    spec : dict
        What the family recorded about the build (``"knows"``,
        ``"formulation"``, its model, ...), read by its own hooks and by
        :func:`mi_cvx.sweep.problem_fingerprint`.
    custom : bool
        True after :meth:`with_constraints`: the closed forms and exact paths
        no longer apply.
    built : bool
        Whether the conic model exists yet (it is built on first use).

    An :class:`AttackProblem` pickles as its :attr:`recipe` and parameter
    values and is built again when unpickled (a problem without a recipe
    cannot be pickled).
    """

    def __init__(
        self,
        *,
        problem: cp.Problem | None = None,
        parameters: Mapping[str, cp.Parameter],
        variables: Mapping[str, cp.Expression] | None = None,
        family: str,
        hooks: Hooks | None = None,
        budget_constraint: cp.Constraint | None = None,
        description: str = "",
        scale: float = 1.0,
        spec: Mapping[str, Any] | None = None,
        custom: bool = False,
        recipe: Recipe | None = None,
        solve_options: Mapping[str, Any] | None = None,
        units: float = 1.0,
        builder: Callable[[], Mapping[str, Any]] | None = None,
        cones: frozenset[str] | None = None,
        **hook_functions: Any,
    ):
        if problem is None and builder is None:
            raise TypeError("AttackProblem needs a problem or a builder")
        unknown = sorted(set(hook_functions) - set(_HOOK_NAMES))
        if unknown:
            raise TypeError(f"AttackProblem got unexpected keyword argument(s) {', '.join(unknown)}")
        # the hooks may also be given one by one (readout=..., oracle=...), as before Hooks existed
        self.hooks = replace(hooks or Hooks(), **{k: v for k, v in hook_functions.items() if v is not None})
        if problem is not None and self.hooks.readout is None:
            raise TypeError("AttackProblem(problem=...) needs a readout hook (how to read the attack back); a "
                            "builder supplies its own")
        self._problem = problem
        self._variables: dict[str, cp.Expression] | None = (
            None if problem is None else dict(variables or {}))  # a builder supplies them on first use
        self._budget_constraint = budget_constraint
        self._builder = builder
        self._cones = cones
        self.parameters = dict(parameters)
        self.family = family
        self.description = description
        self.scale = float(scale)
        self.spec = dict(spec or {})
        self.custom = custom
        self.recipe = recipe
        self.solve_options = dict(solve_options or {})
        self.units = float(units)
        #: The route's warm start: what its last solve handed back (a sweep along the budget
        #: grid re-solves the same problem, so each solve starts from the previous one).
        self.route_state: Any = None

    def with_hooks(self, **hooks: Any) -> None:
        """Set some of the :class:`Hooks` (for factories that add hooks after building)."""
        self.hooks = replace(self.hooks, **hooks)

    def __copy__(self) -> AttackProblem:
        # a shallow copy shares the model, parameters and hooks (pickling, below, rebuilds instead)
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        return clone

    def __reduce__(self):
        # A solved cvxpy.Problem holds the solver's native objects and CVXPY's global expression
        # ids make unpickled expressions unsafe to mix with new ones: a problem travels as its
        # recipe (the factory call) and its parameter values, and is built again on arrival.
        if self.recipe is None:
            raise MiCvxError(f"this {self.family} problem cannot be pickled: it has no recipe (it was not made by "
                             "a factory, or custom constraints were given as a list; pass a function of the "
                             "variables to with_constraints)")
        values = {k: p.value for k, p in self.parameters.items()}
        return _rebuild, (self.recipe, values)

    # ------------------------------------------------------------ the model
    # A family may hand over a *builder* instead of a built model: the conic form is then
    # built on first use, so a problem whose default solve goes to the exact path (the
    # conic form being beyond the machine's reach) never pays for building it.
    def _build(self) -> cp.Problem:
        """Build the model if it is not built yet; the model."""
        if self._problem is None:
            # __init__ requires a problem or a builder, and only with_constraints drops the
            # builder, together with setting a problem.
            assert self._builder is not None
            built = self._builder()
            problem: cp.Problem = built["problem"]
            self._problem = problem
            self._variables = dict(built["variables"])
            self._budget_constraint = built.get("budget_constraint")
            self.hooks = replace(self.hooks, readout=built["readout"])
            return problem
        return self._problem

    @property
    def problem(self) -> cp.Problem:
        """The convex model (``cvxpy.Problem``)."""
        return self._build()

    @property
    def variables(self) -> dict[str, cp.Expression]:
        """Named decision variables (and affine views) for custom constraints."""
        self._build()
        assert self._variables is not None  # set by the constructor (with a problem) or by the builder
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
        if self._problem is None and self.hooks.size_hint is not None:
            return self.hooks.size_hint(solver)
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

    def scalar(self, name: str) -> float | None:
        """The value of the scalar parameter ``name`` as a float (None when the problem has no such value)."""
        param = self.parameters.get(name)
        value = None if param is None else param.value
        return None if value is None else float(np.asarray(value))

    def parameter_values(self) -> dict:
        """Current values of the user-facing parameters (JSON-safe)."""
        return json_safe({k: p.value for k, p in self.parameters.items()})

    def oracle(self) -> float | None:
        """Closed-form optimal information (nats) at the current parameter values.

        None when no closed form is known for this problem, or when custom
        constraints were added (the oracle of the original problem is then only
        a lower bound).
        """
        if self.hooks.oracle is None or self.custom:
            return None
        values = {k: p.value for k, p in self.parameters.items()}
        if any(v is None for v in values.values()):
            return None
        return self.hooks.oracle(values)

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
        copy = _copy.copy(self)  # the same parameters, variables and hooks; the new model and flags
        copy._problem, copy._builder = problem, None
        copy._variables, copy._budget_constraint = self.variables, self.budget_constraint
        copy.description = self.description + " + custom constraints"
        copy.custom, copy.recipe = True, recipe
        copy.spec, copy.solve_options = dict(self.spec), dict(self.solve_options)
        return copy

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
        if self.hooks.zero_threshold is None or self.custom:
            return None
        values = {k: p.value for k, p in self.parameters.items()}
        if any(v is None for v in values.values()):
            return None
        return self.hooks.zero_threshold(values)

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
            valid (finite) value.
        UnsupportedSolverError
            The solver is not installed or lacks a cone the problem needs.
        ResourceLimitError
            The conic route is estimated beyond ``time_limit`` or the machine's
            memory and no exact path applies.
        SolverError
            The solver failed or returned an inaccurate point (unless
            ``raise_on_failure=False``).
        """
        from . import policy

        return policy.solve(self, solver, raise_on_failure=raise_on_failure, time_limit=time_limit, **options)

    def _check_values(self) -> None:
        """Every parameter has a finite value (signs and shapes are checked when a value is set)."""
        for key, param in self.parameters.items():
            if param.value is None:
                raise InvalidInputError(key, f"parameter has no value; set parameters[{key!r}].value")
            if not np.all(np.isfinite(np.asarray(param.value, dtype=float))):
                raise InvalidInputError(key, f"parameter value must be finite, got {_short(param.value)} "
                                        "(NaN or infinite entries)")

    def _exact_result(self) -> AttackResult | None:
        """The exact structured path's answer at the current values, or None where it does not apply."""
        from . import policy

        return policy.exact_answer(self)

    def _solve_with(self, name: str, options: Mapping[str, Any]) -> AttackResult:
        """One solve with backend ``name``; the result is flagged (``ok=False``), never raised."""
        from . import policy

        return policy.solve_once(self, name, options)

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
        """Why ``result`` is not accurate ("" when it is): see :func:`mi_cvx.policy.accuracy_problems`."""
        from . import policy

        return policy.accuracy_problems(self, result, res_tol, repaired=repaired)


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
            # CVXPY's sign check has a tolerance (it lets -1e-12 through to the solver)
            if self.is_nonneg() and bool(np.any(np.asarray(val, dtype=float) < 0)):
                raise InvalidInputError(self.name(), f"value must be non-negative, got {_short(val)}")
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
