"""The one solve-and-accept policy of mi_cvx.

:func:`solve` runs a default solve (the chain of backends with fallback
settings, the family's exact path, the resource checks) or one named backend;
:func:`solve_once` is one backend's solve, read back and checked;
:func:`accuracy_problems` is the ok rule every result passes through.
:meth:`AttackProblem.solve <mi_cvx.core.AttackProblem.solve>`, sweeps,
:func:`mi_cvx.compare_solvers` and the convexity checks all solve through here.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Mapping
from typing import Any

import cvxpy as cp
import numpy as np

from . import resources as _resources
from . import solvers as _solvers
from .core import (
    _OK_STATUSES,
    _USABLE_STATUSES,
    EXACT,
    MEMORY_FRACTION,
    RELATIVE_OVERSPEND,
    AttackProblem,
    AttackResult,
    relative_error,
)
from .errors import InvalidInputError, MiCvxError, ResourceLimitError, SolverError, UnsupportedSolverError

#: With ``formulation="auto"``, a default solve takes the family's certified route (or its
#: exact path) instead of the conic form when the conic solve is estimated to take longer.
AUTO_CONIC_SECONDS = 2.0

#: The re-check ``mi_check`` (the information of the attack as read back: realisable and within the budget)
#: must agree with the solver's value to this multiple of the value tolerance.
RECHECK_FACTOR = 1.0


def solve(problem: AttackProblem, solver: str | None = None, *, raise_on_failure: bool = True,
          time_limit: float | None = None, **options) -> AttackResult:
    """The default chain, or one named backend, and the ok rule: see :meth:`AttackProblem.solve`."""
    if isinstance(solver, str) and solver.upper() in _solvers.ROUTES:
        return _named_route(problem, solver.upper(), raise_on_failure, options)
    cones = problem.cones
    if solver is None:
        attempts = _solvers.default_chain(cones, problem.family)
        if options:  # options are meant for one particular solver
            attempts = [(attempts[0][0], {})]
    else:
        attempts = [(_solvers.check_solver(solver, cones), {})]
    problem._check_values()
    if problem.hooks.sync is not None:
        problem.hooks.sync(problem)
    limit = _resources.DEFAULT_TIME_LIMIT if time_limit is None else float(time_limit)
    if not limit > 0:
        raise InvalidInputError("time_limit", f"must be a positive number of seconds, got {time_limit!r}")

    # naming a solver, or passing solver options, asks for that conic solve and nothing else
    exact_allowed = solver is None and not options and problem.hooks.exact is not None and not problem.custom
    if exact_allowed:
        threshold = problem.zero_information_budget()
        budget = problem.scalar("budget")
        # The two ends of the budget range where the conic form has no interior: no budget
        # at all, and the zero-information threshold, where the answer is known exactly.
        zero_info = threshold is not None and budget is not None and budget >= threshold
        zero_budget = budget == 0.0
        zero_cap = problem.scalar("stealth") == 0.0  # KL = 0: no interior either
        if zero_info or zero_budget or zero_cap:
            exact = problem._exact_result()
            if exact is not None and exact.ok:
                exact.note = (f"the budget {budget:.6g} is at or above the zero-information threshold {threshold:.6g}"
                              if zero_info else "the budget is zero (no attack)" if zero_budget
                              else "the stealth cap is zero")
                exact.note += ": answered on the exact path without a conic solve"
                return finish(problem, exact, raise_on_failure)

    failed: list[str] = []
    result: AttackResult | None = None
    exact_tried = False
    started = time.perf_counter()
    policy = problem.spec.get("route_policy")  # "always" (the formulation names the route), "auto" or None
    if solver is None and not options and policy and problem.hooks.route is not None and not problem.custom:
        estimate = problem.estimate(attempts[0][0])
        conic_reach = not _beyond_reach(estimate, limit)
        if policy == "always" or estimate.seconds > AUTO_CONIC_SECONDS or not conic_reach:
            why = (f"formulation={problem.spec.get('formulation')!r}" if policy == "always" else
                   f"a conic solve with {attempts[0][0]} would take about {estimate.seconds:.2g} s")
            if policy == "auto" and exact_allowed:
                exact = problem._exact_result()
                if exact is not None and exact.ok:
                    exact.note = f"{why}: answered on the exact path"
                    return finish(problem, exact, raise_on_failure)
            routed = route_answer(problem)
            if routed is not None:
                if routed.ok:
                    routed.note = f"{why}: answered by the {routed.solver} route (certified gap {routed.gap:.2g} nats)"
                    return finish(problem, routed, raise_on_failure)
                failed.append(f"{routed.solver}: {routed.message}")
                if not conic_reach:
                    routed.note = f"{why}; the conic route is beyond reach ({_beyond_reach(estimate, limit)})"
                    return finish(problem, routed, raise_on_failure)
    # The certified route as a fallback of a default solve whose conic solves were not accurate (an
    # ill-conditioned model the interior-point backends meet only to their tolerance), where one applies.
    route_open = (solver is None and not options and bool(policy) and problem.hooks.route is not None
                  and not problem.custom and not failed)

    def route_fallback() -> AttackResult | None:
        nonlocal route_open
        route_open = False
        try:
            routed = route_answer(problem)
        except MiCvxError as exc:  # e.g. no strictly feasible start: the chain's own verdict stands
            failed.append(f"the certified route: {exc}")
            return None
        if routed is None:
            return None
        if routed.ok:
            routed.note = ("the conic solves were not accurate (" + "; ".join(failed)
                           + f"): answered by the {routed.solver} route (certified gap {routed.gap:.2g} nats)")
            return routed
        failed.append(f"{routed.solver}: {routed.message}")
        return None

    for name, extra in attempts:
        if exact_allowed and not exact_tried and failed and name in _solvers.EXACT_PATH_BEFORE:
            # The interior-point backends failed: the exact path, where the structure
            # allows, comes before the slower (first-order) and less robust backends.
            exact_tried = True
            exact = problem._exact_result()
            if exact is not None and exact.ok:
                exact.note = ("the conic solves were not accurate (" + "; ".join(failed)
                              + "): answered on the exact path")
                return finish(problem, exact, raise_on_failure)
        if route_open and failed and name in _solvers.EXACT_PATH_BEFORE:
            routed = route_fallback()
            if routed is not None:
                return finish(problem, routed, raise_on_failure)
        estimate = problem.estimate(name)
        if failed and time.perf_counter() - started + estimate.seconds > limit:
            failed.append(f"{name}: not tried, the chain would exceed the time limit of {limit:.3g} s")
            break
        too_big = _beyond_reach(estimate, limit)
        if too_big:
            exact = problem._exact_result() if exact_allowed else None
            if exact is not None:
                exact.note = f"a conic solve with {name} would need {too_big}: answered on the exact path"
                return finish(problem, exact, raise_on_failure)
            raise ResourceLimitError(
                f"the {problem.family} problem ({problem.description}) is beyond this machine's reach with {name}: "
                f"{too_big} ({estimate.detail}). {route_hint(problem)}",
                seconds=estimate.seconds, bytes=estimate.bytes)
        if "time_limit_secs" in extra:  # a first-order fallback's cap, in proportion to the problem
            extra = {**extra, "time_limit_secs": min(extra["time_limit_secs"], max(5.0, 10 * estimate.seconds))}
        result = problem._solve_with(name, {**extra, **options})
        if extra:
            result.note = f"{name} with fallback settings {extra}"
        if result.ok:
            break
        failed.append(f"{name}{' (fallback settings)' if extra else ''}: {result.message}")
    # The chain is never empty (default_solvers raises rather than return no backend) and its first
    # attempt always solves, returns or raises (the time-limit break needs an earlier failed solve).
    assert result is not None
    if not result.ok and exact_allowed and not exact_tried:
        exact = problem._exact_result()
        if exact is not None:
            exact.note = ("the conic solves were not accurate (" + "; ".join(failed)
                          + "): answered on the exact path")
            return finish(problem, exact, raise_on_failure)
    if not result.ok and route_open:
        routed = route_fallback()
        if routed is not None:
            return finish(problem, routed, raise_on_failure)
    if result.ok and failed:
        result.note = "default chain fell back after: " + "; ".join(failed)
    elif not result.ok and len(failed) > 1:
        result.note = "default chain tried: " + "; ".join(failed)
    return finish(problem, result, raise_on_failure)


def finish(problem: AttackProblem, result: AttackResult, raise_on_failure: bool) -> AttackResult:
    """``result``, or a :class:`~mi_cvx.errors.SolverError` carrying it when it is not ok and failures raise."""
    if not result.ok and raise_on_failure:
        raise SolverError(
            f"the {problem.family} attack problem was not solved accurately: {result.message}",
            status=result.status,
            solver=result.solver,
            hint=_hint(result.solver, result.status),
            result=result,
        )
    return result


def route_hint(problem: AttackProblem) -> str:
    """What to try when a problem is beyond reach: the family's advice, or a general one."""
    hint = problem.spec.get("route_hint")
    return hint or "Use a smaller model, or a structure with an exact path (see the factory's docs)."


def exact_answer(problem: AttackProblem) -> AttackResult | None:
    """The exact structured path's answer at the current values, or None where it does not apply."""
    if problem.hooks.exact is None or problem.custom:
        return None
    values = {k: p.value for k, p in problem.parameters.items()}
    start = time.perf_counter()
    read = problem.hooks.exact(values)
    if read is None:
        return None
    result = _read_result(problem, read, EXACT, cp.OPTIMAL, start)
    result.oracle = problem.oracle()
    result.message = accuracy_problems(problem, result)
    result.ok = not result.message
    return result


def _named_route(problem: AttackProblem, name: str, raise_on_failure: bool, options: Mapping[str, Any]
                 ) -> AttackResult:
    """``solve(solver=name)`` with a route's name: that route alone, or a clear refusal."""
    own = tuple(problem.spec.get("routes", ()))
    if problem.hooks.route is None or name not in own or problem.custom:
        why = ("custom constraints were added (only conic solvers take them)" if problem.custom and name in own
               else f"this problem's routes: {', '.join(own)}" if own else "this problem has no certified route")
        raise UnsupportedSolverError(name, f"the {name} route ({_solvers.ROUTES[name]}) does not solve this "
                                     f"{problem.family} problem ({problem.description}): {why}")
    if options:
        raise InvalidInputError("options", f"the {name} route takes no solver options, got {sorted(options)}")
    problem._check_values()
    if problem.hooks.sync is not None:
        problem.hooks.sync(problem)
    result = route_answer(problem, name)
    if result is None:
        raise UnsupportedSolverError(name, f"the {name} route does not apply to this {problem.family} problem at "
                                     f"these values ({problem.description}); {route_hint(problem)}")
    return finish(problem, result, raise_on_failure)


def route_answer(problem: AttackProblem, name: str | None = None) -> AttackResult | None:
    """The certified route's answer at the current values (warm-started from its last solve), or None.

    ``name`` asks for one of the problem's routes (``spec["routes"]``); None lets the family choose.
    """
    if problem.hooks.route is None or problem.custom:
        return None
    values = {k: p.value for k, p in problem.parameters.items()}
    start = time.perf_counter()
    with _resources.one_blas_thread():  # the route and its read-back: many small factorisations
        read = problem.hooks.route(values, problem.route_state, name)
    if read is None:
        return None
    problem.route_state = read.get("state")
    name = str(read["solver"])
    gap = float(read["gap"])
    result = _read_result(problem, read, name, cp.OPTIMAL if gap <= _solvers.GAP_TOLERANCE else cp.OPTIMAL_INACCURATE,
                          start, iterations=read.get("iterations"), gap=gap)
    result.oracle = problem.oracle()
    result.message = accuracy_problems(problem, result)
    result.ok = not result.message
    return result


def _read_result(problem: AttackProblem, read: Mapping[str, Any], solver: str, status: str, start: float,
                 **extra: Any) -> AttackResult:
    """An exact path's or a route's read-back dict as an :class:`AttackResult` (not yet judged)."""
    return AttackResult(
        mi=float(read["mi"]), status=status, solver=solver, solve_time=time.perf_counter() - start,
        setup_time=0.0, dual_budget=read.get("dual_budget"), attack=read.get("attack", {}),
        mi_check=read.get("mi_check"), budget_used=read.get("budget_used"), residual=0.0,
        family=problem.family, parameters=problem.parameter_values(),
        tolerance=_solvers.tolerance(solver, "value"), kl=read.get("kl"), objective=read.get("objective"),
        dual_stealth=read.get("dual_stealth"), problem=problem, **extra)


def solve_once(problem: AttackProblem, name: str, options: Mapping[str, Any]) -> AttackResult:
    """One solve with backend ``name``; the result is flagged (``ok=False``), never raised."""
    start = time.perf_counter()
    opts = _solvers.solver_options(name, {**problem.solve_options, **options})
    try:
        with warnings.catch_warnings():  # an inaccurate solve is reported in the result, not as a warning
            warnings.filterwarnings("ignore", message="Solution may be inaccurate", category=UserWarning)
            problem.problem.solve(solver=name, **opts)
        status = problem.problem.status
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

    stats = problem.problem.solver_stats if status != "solver_error" else None
    result = AttackResult(
        mi=float("nan"),
        status=status,
        solver=name,
        solve_time=(stats.solve_time if stats is not None and stats.solve_time is not None else wall),
        setup_time=getattr(problem.problem, "compilation_time", None),
        iterations=(stats.num_iters if stats is not None else None),
        family=problem.family,
        parameters=problem.parameter_values(),
        tolerance=_solvers.tolerance(name, "value", opts),
        problem=problem,
    )
    result.oracle = problem.oracle()

    if status in _USABLE_STATUSES and problem.problem.value is not None:
        readout = problem.hooks.readout
        if readout is None:  # required unless a builder supplies it (see Hooks)
            raise TypeError(f"the {problem.family} problem has no readout hook to read the solver's point back")
        try:
            read = readout(problem)
        except (np.linalg.LinAlgError, ValueError, FloatingPointError) as exc:
            result.message = f"the returned point could not be read back ({exc})"
            return result
        result.mi = float(read.get("mi", problem.problem.value))
        result.objective = float(read["objective"]) if read.get("objective") is not None else result.mi
        result.kl = read.get("kl")
        result.attack = read.get("attack", {})
        result.mi_check = read.get("mi_check")
        result.budget_used = read.get("budget_used")
        result.residual = problem.residual()
        dual = problem.budget_constraint.dual_value if problem.budget_constraint is not None else None
        if dual is not None:
            result.dual_budget = float(np.asarray(dual).sum()) * read.get("dual_scale", 1.0)
        stealth = read.get("stealth_constraint")
        if stealth is not None and stealth.dual_value is not None:
            result.dual_stealth = float(np.asarray(stealth.dual_value).sum())
        if read.get("repaired"):
            result.note = ("the solver's point overspent the budget; the attack returned is mixed with "
                           "no attack to meet it, and must re-check within the tolerance itself")
        result.message = accuracy_problems(problem, result, _solvers.tolerance(name, "residual", opts),
                                                 repaired=bool(read.get("repaired")))
        result.ok = not result.message
    else:
        result.message = error or f"no usable point (status {status})"
    return result


def accuracy_problems(problem: AttackProblem, result: AttackResult, res_tol: float | None = None, *,
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
    if result.gap is not None and not (result.gap <= _solvers.GAP_TOLERANCE):
        problems.append(f"the certified gap {result.gap:.3g} nats exceeds {_solvers.GAP_TOLERANCE:g} (the "
                        f"{result.solver} route stopped before it could vouch for its answer)")
    elif result.status not in _OK_STATUSES:
        problems.append(f"status {result.status}")
    if not math.isfinite(result.mi):
        problems.append(f"the information is not finite ({result.mi})")
        return "; ".join(problems)
    if res_tol is None:
        res_tol = _solvers.tolerance(result.solver, "residual")
    res_tol *= max(1.0, problem.scale)
    if not (result.residual <= res_tol):
        problems.append(f"constraint residual {result.residual:.3g} exceeds {res_tol:.3g}")
    if result.mi < -val_tol:
        problems.append(f"negative information {result.mi:.3g} nats")
    if result.mi_check is not None:
        # An independent re-evaluation of the returned attack must give the solver's value, to
        # the value tolerance itself: the attack read back is one that exists (a Gaussian one
        # with Cov(Delta | Y, N) >= 0, a discrete channel with normalised rows) within the
        # budget (an overspent point is mixed with no attack), so its information is what the
        # attacker gets.  (Ten times the tolerance used to be allowed here, and let Clarabel
        # answers 1.6e-5 to 6e-5 off through: blind attacks at budgets ~1e-4 of the threshold.)
        check_tol = val_tol if repaired else RECHECK_FACTOR * val_tol
        err = relative_error(result.mi, result.mi_check)
        if not (err <= check_tol):
            problems.append(
                f"re-evaluating the returned attack gives I = {result.mi_check:.6g} nats, "
                f"not the solver's {result.mi:.6g} (relative error {err:.2g} > {check_tol:.2g})"
            )
    budget = problem.parameters["budget"].value if "budget" in problem.parameters else None
    if budget is not None and result.budget_used is not None and not problem.custom:
        over = float(result.budget_used) - float(budget)
        price = abs(result.dual_budget) if result.dual_budget is not None else 0.0
        # what the overspend can buy, in information, and the overspend relative to the budget
        # (the multiplier is unreliable at tiny budgets, where the value is steepest: the
        # overspend relative to the budget is checked on its own; a zero budget has only the
        # solver's absolute feasibility tolerance)
        allowed = (max(RELATIVE_OVERSPEND, val_tol) * float(budget) if float(budget) > 0
                   else res_tol * problem.units)
        if over > 0 and (price * over > val_tol * (1.0 + abs(result.mi)) or over > allowed):
            problems.append(f"spends {result.budget_used:.6g}, over the budget {float(budget):.6g}")
    cap = problem.scalar("stealth")
    if cap is not None and result.kl is not None and not problem.custom:
        # the stealth cap KL(P_Z || P_X) <= stealth, checked on the attack as returned
        over = float(result.kl) - float(cap)
        if over > max(RELATIVE_OVERSPEND, val_tol) * float(cap) + res_tol:
            problems.append(f"moves the defender's law by KL {result.kl:.6g} nats, over the stealth cap "
                            f"{float(cap):.6g}")
    objective = result.objective if result.objective is not None else result.mi
    if problem.hooks.no_attack is not None and not problem.custom:
        # No optimal attack does worse than no attack at all (which moves nothing: KL = 0).
        values = {k: p.value for k, p in problem.parameters.items()}
        ceiling = problem.hooks.no_attack(values)
        if ceiling is not None and objective > ceiling and relative_error(objective, ceiling) > val_tol:
            problems.append(f"{objective:.8g} nats exceeds {ceiling:.8g}, the information without any attack")
    if result.oracle is not None:  # the closed form of what was minimised (the information without a weight)
        err = relative_error(objective, result.oracle)
        if not (err <= val_tol):
            problems.append(f"the closed form gives {result.oracle:.8g} nats, the solver {objective:.8g} "
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
