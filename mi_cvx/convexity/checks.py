"""The generic checks of Lemma 2.1, for any problem whose family declares an attack space.

:func:`jensen_test`, :func:`admissible_set_test` and :func:`nonconvexity_witness`
take plain callables; :func:`cvxpy_constraints_test` and :func:`value_function_test`
take an :class:`~mi_cvx.core.AttackProblem`.  What is family-specific (how to
draw feasible attacks, the least budget, the deterministic-attack witness) is
declared by each family (:class:`mi_cvx.family.Family`) and read from the
registry.  The report that runs them all is :func:`mi_cvx.convexity.verify_convexity`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import cvxpy as cp
import numpy as np

from .. import solvers as _solvers
from .. import validate as _v
from ..core import AttackProblem
from ..errors import InvalidInputError
from ..serialize import json_safe

#: Relative tolerance of the numerical Jensen test (plain-numpy log-dets and
#: entropies are accurate to ~1e-13 on the small problems it is meant for).
JENSEN_TOL = 1e-9
#: Absolute tolerance (times the problem's scale) of the admissible-set tests.
SET_TOL = 1e-9


@dataclass
class Check:
    """One check of a :class:`ConvexityReport`.

    Attributes
    ----------
    name : str
        Stable identifier (``"jensen"``, ``"value_function"``, ...).
    passed : bool or None
        None when the check could not be run (the reason is in ``detail``).
    figure : float or None
        The number behind the verdict (e.g. the largest violation found).
    tolerance : float or None
        The threshold ``figure`` is compared with.
    detail : str
        One readable sentence: what was tested and what was found.
    informational : bool
        True for checks that do not decide :attr:`ConvexityReport.passed`.
    data : dict
        Specifics (worst pair, grid values...), JSON-safe.
    """

    name: str
    passed: bool | None
    figure: float | None = None
    tolerance: float | None = None
    detail: str = ""
    informational: bool = False
    data: dict = field(default_factory=dict)

    def __post_init__(self):
        # plain Python types, so `check.passed is True` and JSON work as expected
        if self.passed is not None:
            self.passed = bool(self.passed)
        for name in ("figure", "tolerance"):
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, float(value))

    @property
    def status(self) -> str:
        """``"passed"``, ``"failed"``, ``"skipped"`` or ``"info"``."""
        if self.informational:
            return "info"
        if self.passed is None:
            return "skipped"
        return "passed" if self.passed else "failed"

    def to_dict(self) -> dict:
        """A JSON-safe dict of the check."""
        return json_safe({
            "name": self.name, "status": self.status, "passed": self.passed, "figure": self.figure,
            "tolerance": self.tolerance, "informational": self.informational, "detail": self.detail,
            "data": self.data,
        })


# ------------------------------------------------------------ building blocks


def _linear_mix(a, b, t: float):
    return t * np.asarray(a, dtype=float) + (1.0 - t) * np.asarray(b, dtype=float)


def _rng(seed) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(_v.integer("seed", seed, low=0))


def _trials(trials) -> int:
    return _v.integer("trials", trials, low=1)


def jensen_test(
    mi_fn: Callable[[Any], float],
    sample_fn: Callable[[np.random.Generator], Any],
    *,
    trials: int = 200,
    seed: int | np.random.Generator = 0,
    tol: float = JENSEN_TOL,
    mix: Callable[[Any, Any, float], Any] | None = None,
    name: str = "jensen",
    what: str = "I",
) -> Check:
    """Numerical Jensen test of a function along random segments of a set.

    For ``trials`` random pairs ``a, b = sample_fn(rng), sample_fn(rng)`` and
    random ``t`` in (0, 1), evaluates the relative violation

        (f(mix(a, b, t)) - t f(a) - (1 - t) f(b)) / (1 + |t f(a) + (1 - t) f(b)|)

    and passes when the largest one is at most ``tol``.  Pairs where a value
    is not finite are skipped (the inequality holds trivially there).

    Parameters
    ----------
    mi_fn : callable
        The function to test (``point -> float``), e.g. the information of an
        attack computed with :mod:`mi_cvx.info`.
    sample_fn : callable
        ``rng -> point``: a random point of the (convex) domain.
    trials : int, default 200
        Number of random pairs (one ``t`` each).
    seed : int or numpy Generator, default 0
    tol : float
        Largest relative violation accepted (round-off).
    mix : callable, optional
        ``(a, b, t) -> point``; default ``t a + (1 - t) b`` on arrays.
    name, what : str
        Name of the resulting check, and of the function in its detail text.

    Returns
    -------
    Check
        ``figure`` is the largest relative violation (negative when ``f`` was
        strictly below every chord); ``data`` holds the worst pair's ``t``
        and values.

    Raises
    ------
    InvalidInputError
        If ``trials`` < 1, ``seed`` is not a non-negative integer or ``tol`` is
        negative.
    """
    trials = _trials(trials)
    rng = _rng(seed)
    tol = _v.scalar("tol", tol, nonneg=True)
    mix = mix or _linear_mix
    worst, worst_data, used = -math.inf, {}, 0
    for _ in range(trials):
        a, b = sample_fn(rng), sample_fn(rng)
        t = float(rng.uniform(0.02, 0.98))
        fa, fb = float(mi_fn(a)), float(mi_fn(b))
        fm = float(mi_fn(mix(a, b, t)))
        if not (math.isfinite(fa) and math.isfinite(fb) and math.isfinite(fm)):
            continue
        used += 1
        chord = t * fa + (1.0 - t) * fb
        viol = (fm - chord) / (1.0 + abs(chord))
        if viol > worst:
            worst, worst_data = viol, {"t": t, "f_a": fa, "f_b": fb, "f_mix": fm, "chord": chord}
    if used == 0:
        return Check(name, None, None, tol, f"no pair with finite {what} among {trials} samples", data={"used": 0})
    passed = worst <= tol
    verdict = "convex along every segment tried" if passed else "NOT convex: a mixture lies above the chord"
    detail = (f"{what}(t a + (1-t) b) - [t {what}(a) + (1-t) {what}(b)] over {used} random pairs: largest "
              f"relative value {worst:.3g} (tolerance {tol:.1g}); {verdict}")
    if not passed:
        w = worst_data
        detail += (f" (t={w['t']:.3f}: {what}(a)={w['f_a']:.6g}, {what}(b)={w['f_b']:.6g}, "
                   f"{what}(mix)={w['f_mix']:.6g} > chord {w['chord']:.6g})")
    return Check(name, passed, worst, tol, detail, data={**worst_data, "used": used})


def admissible_set_test(
    violation_fn: Callable[[Any], float],
    sample_fn: Callable[[np.random.Generator], Any],
    *,
    trials: int = 200,
    seed: int | np.random.Generator = 0,
    tol: float = SET_TOL,
    mix: Callable[[Any, Any, float], Any] | None = None,
    name: str = "admissible_set",
) -> Check:
    """Numerical convexity test of a set given by a violation function.

    ``violation_fn(x)`` is 0 on the set and positive outside (e.g. the largest
    constraint violation).  For ``trials`` random pairs of sampled points and
    random ``t``, the mixture must satisfy
    ``violation(mix) <= max(violation(a), violation(b)) + tol``.  Sampled
    points that are themselves infeasible (violation > ``tol``) are counted
    and skipped.

    Parameters
    ----------
    violation_fn : callable
        ``point -> float >= 0``.
    sample_fn : callable
        ``rng -> point`` in the set.
    trials : int, default 200
    seed : int or numpy Generator, default 0
    tol : float
        Absolute tolerance on the violation.
    mix : callable, optional
        ``(a, b, t) -> point``; default ``t a + (1 - t) b``.
    name : str
        Name of the resulting check.

    Returns
    -------
    Check
        ``figure`` is the largest excess violation of a mixture.

    Raises
    ------
    InvalidInputError
        If ``trials`` < 1, ``seed`` is not a non-negative integer or ``tol`` is
        negative.
    """
    trials = _trials(trials)
    rng = _rng(seed)
    tol = _v.scalar("tol", tol, nonneg=True)
    mix = mix or _linear_mix
    worst, worst_data, used, bad_samples = -math.inf, {}, 0, 0
    for _ in range(trials):
        a, b = sample_fn(rng), sample_fn(rng)
        va, vb = float(violation_fn(a)), float(violation_fn(b))
        if not (va <= tol and vb <= tol):
            bad_samples += 1
            continue
        t = float(rng.uniform(0.02, 0.98))
        vm = float(violation_fn(mix(a, b, t)))
        used += 1
        excess = vm - max(va, vb) if math.isfinite(vm) else math.inf
        if excess > worst:
            worst, worst_data = excess, {"t": t, "violation_a": va, "violation_b": vb, "violation_mix": vm}
    data = {**worst_data, "used": used, "infeasible_samples": bad_samples}
    if used == 0:
        return Check(name, None, None, tol, f"the sampler gave no feasible pair in {trials} tries", data=data)
    passed = worst <= tol
    verdict = ("mixtures of feasible points stay feasible" if passed
               else "NOT convex: a mixture of feasible points is infeasible")
    detail = (f"largest constraint violation of a mixture of feasible points over {used} random pairs: "
              f"{max(worst, 0.0):.3g} (tolerance {tol:.1g}); {verdict}")
    if not passed:
        detail += f" (t={worst_data['t']:.3f}, violation {worst_data['violation_mix']:.3g})"
    if bad_samples:
        detail += f"; {bad_samples} sampled pairs were not feasible and were skipped"
    return Check(name, passed, max(worst, 0.0), tol, detail, data=data)


def nonconvexity_witness(
    fn: Callable[[float], float],
    lo: float,
    hi: float,
    *,
    num: int = 241,
    tol: float = 1e-9,
    name: str = "deterministic_witness",
    what: str = "I(f)",
) -> Check:
    """Search ``[lo, hi]`` for a triple ``x1 < x2 < x3`` where ``fn`` lies above its chord.

    Evaluates ``fn`` on a grid and, for every grid point and several
    spacings, the midpoint violation ``fn(x2) - (fn(x1) + fn(x3)) / 2``; the
    worst triple is re-evaluated directly.  The resulting check is
    *informational*: it records that a function is not convex, which does not
    contradict Lemma 2.1 when the variable is not the attack distribution.

    Parameters
    ----------
    fn : callable
        A real function of one real variable.
    lo, hi : float
        Search interval (``lo < hi``).
    num : int
        Grid size.
    tol : float
        Relative violation needed to call a triple a witness.
    name, what : str
        Name of the check, and of the function in its detail.

    Returns
    -------
    Check
        ``passed`` is True when a witness was found; ``figure`` is its relative
        violation; ``data`` holds the triple and values.

    Raises
    ------
    InvalidInputError
        If the interval is empty or ``num`` < 3.
    """
    lo, hi = _v.scalar("lo", lo), _v.scalar("hi", hi)
    if not lo < hi:
        raise InvalidInputError("hi", f"must exceed lo={lo}, got {hi}")
    num = _v.integer("num", num, low=3)
    xs = np.linspace(lo, hi, num)
    ys = np.array([float(fn(x)) for x in xs])
    best, triple = -math.inf, None
    h = 1
    while 2 * h < num:
        mid = ys[h:num - h]
        chord = 0.5 * (ys[:num - 2 * h] + ys[2 * h:])
        with np.errstate(invalid="ignore"):
            viol = (mid - chord) / (1.0 + np.abs(chord))
        viol = np.where(np.isfinite(viol), viol, -np.inf)
        i = int(np.argmax(viol))
        if viol[i] > best:
            best, triple = float(viol[i]), (float(xs[i]), float(xs[i + h]), float(xs[i + 2 * h]))
        h *= 2
    if triple is None:
        return Check(name, None, None, tol, "no finite values to compare", informational=True)
    x1, x2, x3 = triple
    f1, f2, f3 = float(fn(x1)), float(fn(x2)), float(fn(x3))  # verify the triple directly
    chord = 0.5 * (f1 + f3)
    viol = (f2 - chord) / (1.0 + abs(chord))
    found = viol > tol
    data = {"x": [x1, x2, x3], "f": [f1, f2, f3], "chord": chord, "interval": [lo, hi]}
    if found:
        detail = (f"{what} is not convex: at x = {x1:.4g}, {x2:.4g}, {x3:.4g}, {what} = {f1:.6g}, {f2:.6g}, "
                  f"{f3:.6g}, and the midpoint lies {f2 - chord:.3g} nats above the chord")
    else:
        detail = f"no non-convexity of {what} found on [{lo:.4g}, {hi:.4g}] (largest midpoint excess {viol:.3g})"
    return Check(name, found, viol, tol, detail, informational=True, data=data)

# ------------------------------------------------------------- attack spaces


@dataclass(frozen=True)
class AttackSpace:
    """The attack distributions of a problem, for the numerical tests (plain numpy).

    Attributes
    ----------
    description : str
        What a point is and how ``mi`` is computed.
    sample : callable
        ``rng -> point``: a random *feasible* attack.
    mi : callable
        ``point -> float``: ``I(Y; Z)`` in nats, computed with :mod:`mi_cvx.info`.
    violation : callable
        ``point -> float``: 0 for an admissible attack, else how far it is
        from admissible (budget excess, negative probabilities, ...).
    mix : callable
        ``(a, b, t) -> point``: the mixture the convex model forms.
    tol : float
        Absolute tolerance for ``violation``.

    Build one with :func:`attack_space`, or modify one with
    :func:`dataclasses.replace` to test a variant (e.g. a non-convex
    objective or admissible set).
    """

    description: str
    sample: Callable[[np.random.Generator], Any]
    mi: Callable[[Any], float]
    violation: Callable[[Any], float]
    mix: Callable[[Any, Any, float], Any] = _linear_mix
    tol: float = SET_TOL

def budget_value(ap: AttackProblem) -> float | None:
    """The problem's current budget (None when it has no budget or no value)."""
    param = ap.parameters.get("budget")
    if param is None or param.value is None:
        return None
    return float(param.value)


# -------------------------------------------------------------- model checks


def _symbolic_checks(ap: AttackProblem) -> list[Check]:
    prob = ap.problem
    dcp = bool(prob.is_dcp())
    curvature = prob.objective.expr.curvature
    sense = "minimize" if isinstance(prob.objective, cp.Minimize) else "maximize"
    want = ("CONVEX", "AFFINE", "CONSTANT") if sense == "minimize" else ("CONCAVE", "AFFINE", "CONSTANT")
    curv_ok = curvature in want
    dpp = bool(prob.is_dpp())
    nonconvex = [str(c) for c in prob.constraints if not c.is_dcp()]
    out = [
        Check("dcp", dcp, None, None,
              "CVXPY certifies the model as disciplined convex (DCP)" if dcp
              else f"the model is NOT DCP ({len(nonconvex)} non-DCP constraints, objective DCP: "
                   f"{prob.objective.is_dcp()})",
              data={"nonconvex_constraints": nonconvex[:5]}),
        Check("curvature", curv_ok, None, None,
              f"objective ({sense}) has curvature {curvature}" + ("" if curv_ok else f", not one of {want}"),
              data={"curvature": curvature, "sense": sense}),
        Check("dpp", dpp, None, None,
              "parameters enter DPP-affinely: budget changes re-solve without recompiling" if dpp
              else "the model is not DPP: each parameter change recompiles (convexity is unaffected)",
              informational=True),
    ]
    return out


def _leaf_violation(var: cp.Variable, value: np.ndarray) -> float:
    """How far ``value`` is from ``var``'s domain (PSD, nonneg, symmetric... attributes)."""
    try:
        projected = var.project(value)
    except Exception:  # noqa: BLE001 - attributes without a projection
        return 0.0
    return float(np.max(np.abs(np.asarray(value) - np.asarray(projected)))) if np.size(value) else 0.0


def _constraint_violation(ap: AttackProblem, variables: Sequence[cp.Variable]) -> float:
    worst = 0.0
    for var in variables:
        value = var.value
        assert value is not None  # called after a solve with a point, or after setting every variable
        worst = max(worst, _leaf_violation(var, value))
    for con in ap.problem.constraints:
        viol = con.violation()
        worst = max(worst, float(np.max(viol)) if np.size(viol) else 0.0)
    return worst


def cvxpy_constraints_test(
    attack_problem: AttackProblem,
    *,
    points: int = 6,
    trials: int = 60,
    seed: int | np.random.Generator = 0,
    solver: str | None = None,
    tol: float | None = None,
    **options,
) -> Check:
    """Convexity of the model's own feasible set, numerically.

    Solves ``points`` auxiliary problems ``minimize <C, x>`` over the model's
    constraints (and the variables' attributes), with random ``C`` and a norm
    ball on each variable so the problems are bounded; then mixes random pairs
    of the resulting points and evaluates every CVXPY constraint's violation
    at the mixture: it must not exceed the larger of the two endpoints'
    violations by more than ``tol``.  Custom constraints added with
    :meth:`AttackProblem.with_constraints` are included.  The variables'
    values are restored afterwards.

    Parameters
    ----------
    attack_problem : AttackProblem
    points : int, default 6
        Feasible points to compute (one conic solve each, compiled once).
    trials : int, default 60
        Random mixtures to evaluate.
    seed : int or numpy Generator
    solver : str, optional
        Solver for the auxiliary problems (default: the problem's default).
    tol : float, optional
        Absolute tolerance; default the solver's residual tolerance times the
        problem's scale.
    **options
        Passed to the solver.

    Returns
    -------
    Check

    Raises
    ------
    InvalidInputError
        Bad ``points``/``trials``/``seed``, or an unknown solver.
    UnsupportedSolverError
        If the solver lacks a cone the constraints need.
    """
    points = _v.integer("points", points, low=2)
    trials = _trials(trials)
    rng = _rng(seed)
    prob = attack_problem.problem
    if not all(con.is_dcp() for con in prob.constraints):
        return Check("cvxpy_constraints", None, detail="some constraints are not DCP, so no solver can find "
                     "feasible points to mix (see the dcp check)")
    variables = prob.variables()
    cones = _solvers.required_cones(cp.Problem(cp.Minimize(0), prob.constraints)) | {"SOC"}
    if solver is None:  # the default chain's backends and settings, in order, for every point
        chain = [(n, _solvers.solver_options(n, {**s, **options}))
                 for n, s in _solvers.default_chain(cones, attack_problem.family)]
    else:
        chain = [(_solvers.check_solver(solver, cones), _solvers.solver_options(solver.upper(), options))]
    name = chain[0][0]
    scale = max(1.0, attack_problem.scale)
    if tol is None:
        tol = 10 * _solvers.tolerance(name, "residual") * scale
    saved = {v: None if v.value is None else np.array(v.value) for v in variables}
    weights = [cp.Parameter(v.shape, name=f"direction_{i}") for i, v in enumerate(variables)]
    radius = 4.0 * scale
    aux = cp.Problem(
        cp.Minimize(sum(cp.sum(cp.multiply(w, v)) for w, v in zip(weights, variables, strict=True))),
        list(prob.constraints) + [cp.norm(cp.vec(v, order="F"), 2) <= radius * math.sqrt(max(v.size, 1))
                                  for v in variables],
    )
    found, statuses = [], []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _ in range(points):
                for w in weights:
                    w.value = rng.normal(size=w.shape)
                solved = False
                for backend, opts in chain:
                    try:
                        aux.solve(solver=backend, **opts)
                    except cp.error.SolverError as exc:
                        statuses.append(f"{backend}: solver_error ({exc})")
                        continue
                    statuses.append(aux.status)
                    solved = aux.status in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE)
                    if solved:
                        break
                if not solved:
                    continue
                point = [np.array(v.value) for v in variables]
                found.append((point, _constraint_violation(attack_problem, variables)))
        if len(found) < 2:
            return Check("cvxpy_constraints", None, None, tol,
                         f"fewer than two feasible points found (statuses: {', '.join(map(str, statuses))})")
        worst, worst_data = -math.inf, {}
        for _ in range(trials):
            i, j = rng.choice(len(found), size=2, replace=False)
            t = float(rng.uniform(0.02, 0.98))
            (pa, va), (pb, vb) = found[i], found[j]
            for var, xa, xb in zip(variables, pa, pb, strict=True):
                var.save_value(t * xa + (1.0 - t) * xb)
            vm = _constraint_violation(attack_problem, variables)
            excess = vm - max(va, vb)
            if excess > worst:
                worst, worst_data = excess, {"t": t, "violation_a": va, "violation_b": vb, "violation_mix": vm}
    finally:
        for var, value in saved.items():
            var.save_value(value)
    passed = worst <= tol
    n_con = len(prob.constraints)
    detail = (f"{len(found)} feasible points of the model's {n_con} constraints"
              f"{' (with custom ones)' if attack_problem.custom else ''} (random linear objectives, {name}); "
              f"largest extra violation at {trials} mixtures {max(worst, 0.0):.3g} (tolerance {tol:.1g}): "
              + ("the feasible set is convex along every segment tried" if passed
                 else "NOT convex: a mixture of feasible points violates a constraint"))
    return Check("cvxpy_constraints", passed, max(worst, 0.0), tol, detail,
                 data={**worst_data, "points": len(found), "solver": name})

def _least_budget(ap: AttackProblem) -> float:
    """The smallest feasible budget, as the problem's family declares it (0 for power budgets)."""
    from ..registry import family_of

    fam = family_of(ap)
    if fam is None or fam.least_budget is None:
        return 0.0
    try:
        return float(fam.least_budget(ap))
    except InvalidInputError:
        return 0.0


def _default_budgets(ap: AttackProblem, d0: float) -> np.ndarray:
    least = _least_budget(ap)
    if d0 > least:
        return least + (d0 - least) * np.linspace(0.25, 2.0, 8)
    return least + ap.units * max(1.0, ap.scale) * np.linspace(0.05, 1.0, 8)


def _budget_grid(budgets) -> np.ndarray:
    try:
        arr = np.ravel(np.asarray(budgets, dtype=float))
    except (TypeError, ValueError):
        raise InvalidInputError("budgets", f"expected a sequence of numbers, got {budgets!r}") from None
    grid = np.unique(_v.nonneg_vector("budgets", arr))
    if grid.size < 3:
        raise InvalidInputError("budgets", f"needs at least three distinct budgets, got {grid.size}")
    return grid


def value_function_test(
    attack_problem: AttackProblem,
    budgets: Sequence[float] | None = None,
    *,
    solver: str | None = None,
    **options,
) -> list[Check]:
    """``I*(D)`` convex and non-increasing, and the budget's multiplier a subgradient.

    Re-solves the problem through its ``"budget"`` parameter on a grid
    (default: 8 budgets from a quarter to twice the current one), then checks

    * ``value_function``: ``I*(D_{k+1}) <= I*(D_k)`` and, at every interior
      grid point, ``I*(D_k)`` at most the chord through its neighbours (both
      up to twice the solver's value tolerance times ``1 + |I*|``);
    * ``budget_dual``: the multiplier ``lambda_k >= 0`` and ``-lambda_k`` lies
      between the chord slopes on either side of ``D_k`` (for a convex
      ``I*`` every subgradient does), up to the same tolerance over the grid
      spacing.

    The original budget value and the variables' values are restored
    afterwards.

    Parameters
    ----------
    attack_problem : AttackProblem
    budgets : sequence of float, optional
        At least three distinct non-negative budgets.
    solver : str, optional
    **options
        Passed to :meth:`AttackProblem.solve`.

    Returns
    -------
    list of Check
        Both checks are skipped (``passed`` None) when the problem has no
        budget parameter or a solve fails.

    Raises
    ------
    InvalidInputError
        If ``budgets`` has fewer than three distinct values or a negative one.
    """
    if budgets is not None:
        _budget_grid(budgets)
    param = attack_problem.parameters.get("budget")
    if param is None:
        why = "the problem has no budget parameter (built with budget=None)"
        return [Check("value_function", None, detail=why), Check("budget_dual", None, detail=why)]
    if not attack_problem.problem.is_dcp():
        why = "the model is not DCP, so it cannot be solved (see the dcp check)"
        return [Check("value_function", None, detail=why), Check("budget_dual", None, detail=why)]
    if param.value is None:
        why = "the budget parameter has no value (set parameters['budget'].value)"
        return [Check("value_function", None, detail=why), Check("budget_dual", None, detail=why)]
    d0 = float(param.value)
    grid = _default_budgets(attack_problem, d0) if budgets is None else _budget_grid(budgets)
    variables = attack_problem.problem.variables()
    saved = {v: None if v.value is None else np.array(v.value) for v in variables}
    mis: list[float] = []
    multipliers: list[float] = []
    name: str | None = None
    failures: list[str] = []
    kept: list[float] = []
    refused: list[float] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for d in grid:
                param.value = float(d)
                try:
                    res = attack_problem.solve(solver, raise_on_failure=False, **options)
                except InvalidInputError as exc:
                    if exc.argument != "budget":
                        raise
                    refused.append(float(d))  # e.g. below the least achievable distortion
                    continue
                name = res.solver
                if not res.ok:
                    failures.append(f"D={d:.4g}: {res.message}")
                kept.append(float(d))
                # the value minimised: I, or I + weight * KL with a stealth weight (the budget's
                # multiplier is a subgradient of that, not of I alone)
                mis.append(res.objective if res.objective is not None else res.mi)
                multipliers.append(math.nan if res.dual_budget is None else res.dual_budget)
    finally:
        param.value = d0
        for var, value in saved.items():
            var.save_value(value)
    grid, values, duals = np.array(kept), np.array(mis), np.array(multipliers)
    data = {"budgets": grid, "values": values, "duals": duals, "solver": name, "refused_budgets": refused}
    if failures:
        why = f"solves failed, so the curve is not trustworthy: {'; '.join(failures[:3])}"
        return [Check("value_function", None, detail=why, data=data), Check("budget_dual", None, detail=why)]
    if grid.size < 3:
        why = f"fewer than three feasible budgets on the grid (refused: {refused})"
        return [Check("value_function", None, detail=why, data=data), Check("budget_dual", None, detail=why)]
    assert name is not None  # set by every kept solve, and at least three were kept

    eps = 2 * _solvers.tolerance(name, "value") * (1.0 + float(np.max(np.abs(values))))
    rise = float(np.max(np.diff(values)))
    lam = (grid[2:] - grid[1:-1]) / (grid[2:] - grid[:-2])
    chord = lam * values[:-2] + (1 - lam) * values[2:]
    bulge = float(np.max(values[1:-1] - chord))
    figure = max(rise, bulge)
    passed = figure <= eps
    detail = (f"I*(D) at {grid.size} budgets in [{grid[0]:.3g}, {grid[-1]:.3g}] ({name}): largest rise "
              f"{rise:.3g}, largest excess over a chord {bulge:.3g} (tolerance {eps:.1g}); "
              + ("non-increasing and convex" if passed
                 else ("NOT non-increasing" if rise > eps else "") + (" NOT convex" if bulge > eps else "")))
    checks = [Check("value_function", passed, figure, eps, detail.strip(), data=data)]

    if np.all(np.isnan(duals)):
        checks.append(Check("budget_dual", None, detail="the problem reports no budget multiplier"))
        return checks
    slopes = np.diff(values) / np.diff(grid)
    gaps = np.diff(grid)
    worst = -math.inf
    for k in range(grid.size):
        lk = duals[k]
        if not math.isfinite(lk):
            continue
        worst = max(worst, -lk)  # lambda >= 0
        if k > 0:  # chord slope on the left <= -lambda
            worst = max(worst, slopes[k - 1] - (-lk) - 2 * eps / gaps[k - 1])
        if k < grid.size - 1:  # -lambda <= chord slope on the right
            worst = max(worst, (-lk) - slopes[k] - 2 * eps / gaps[k])
    tol_dual = 10 * _solvers.tolerance(name, "value") * (1.0 + float(np.nanmax(np.abs(duals))))
    passed = worst <= tol_dual
    checks.append(Check(
        "budget_dual", passed, max(worst, 0.0), tol_dual,
        f"budget multiplier lambda >= 0 and -lambda between the neighbouring chord slopes of I*(D) at every "
        f"budget: largest violation {max(worst, 0.0):.3g} (tolerance {tol_dual:.1g})"
        + ("" if passed else ": the multiplier is NOT a subgradient of -I*"),
        data={"duals": duals, "chord_slopes": slopes}))
    return checks
