"""The convexity report: :func:`verify_convexity` runs every check on one problem."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .. import solvers as _solvers
from .. import validate as _v
from ..core import AttackProblem
from ..errors import InvalidInputError
from ..registry import family_of
from ..serialize import json_safe
from .checks import (
    AttackSpace,
    Check,
    _budget_grid,
    _symbolic_checks,
    _trials,
    admissible_set_test,
    cvxpy_constraints_test,
    jensen_test,
    value_function_test,
)


@dataclass
class ConvexityReport:
    """The outcome of :func:`verify_convexity`.

    Attributes
    ----------
    problem : str
        Description of the problem checked.
    family : str
        Its family.
    checks : list of Check
        Every check, in the order run.
    trials : int
        Random pairs per numerical test.
    seed : int
        Seed of the random generator (the report is reproducible).
    """

    problem: str
    family: str
    checks: list[Check]
    trials: int
    seed: int

    @property
    def passed(self) -> bool:
        """True when no deciding check failed and at least one numerical convexity test ran and passed."""
        deciding = [c for c in self.checks if not c.informational]
        if any(c.passed is False for c in deciding):
            return False
        return any(c.passed is True and c.name in ("jensen", "admissible_set", "cvxpy_constraints", "value_function")
                   for c in deciding)

    @property
    def failed(self) -> list[str]:
        """Names of the deciding checks that failed."""
        return [c.name for c in self.checks if not c.informational and c.passed is False]

    def check(self, name: str) -> Check:
        """The check called ``name``.

        Raises
        ------
        KeyError
            If the report has no such check.
        """
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(f"no check {name!r}; checks: {', '.join(c.name for c in self.checks)}")

    def __getitem__(self, name: str) -> Check:
        return self.check(name)

    def summary(self) -> str:
        """A readable, multi-line summary."""
        counts = {s: sum(c.status == s for c in self.checks) for s in ("passed", "failed", "skipped", "info")}
        verdict = "PASSED" if self.passed else "FAILED"
        lines = [
            f"Convexity report (Lemma 2.1) for {self.problem}",
            f"{verdict}: {counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped, "
            f"{counts['info']} informational ({self.trials} random trials, seed {self.seed})",
        ]
        width = max(len(c.name) for c in self.checks) if self.checks else 0
        for c in self.checks:
            lines.append(f"  [{c.status:7s}] {c.name:{width}s}  {c.detail}")
        if self.failed:
            lines.append(f"failed: {', '.join(self.failed)}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        from ..display import convexity_report_repr

        return convexity_report_repr(self)

    def _repr_html_(self) -> str:
        from ..display import convexity_report_html

        return convexity_report_html(self)

    def to_dict(self) -> dict:
        """A JSON-safe dict of the report."""
        return json_safe({
            "problem": self.problem, "family": self.family, "passed": self.passed, "failed": self.failed,
            "trials": self.trials, "seed": self.seed, "checks": [c.to_dict() for c in self.checks],
        })

    def to_frame(self) -> pd.DataFrame:
        """One row per check: ``name, status, passed, figure, tolerance, informational, detail``."""
        cols = ["name", "status", "passed", "figure", "tolerance", "informational", "detail"]
        rows = [{k: c.to_dict()[k] for k in cols} for c in self.checks]
        return pd.DataFrame(rows, columns=cols)


def attack_space(attack_problem: AttackProblem) -> AttackSpace:
    """The default :class:`AttackSpace` of a problem's family.

    Gaussian families (``gaussian_scalar``, ``gaussian_vector``,
    ``gaussian_sparse``): a point is the joint covariance ``S`` of
    ``(Y, N, Delta)`` (the SDP's variable, up to the factorisation of the
    noise).  Feasible points are drawn as ``Delta = F Y + G N + W`` with
    random gains (or ``Delta = H X + W`` for a label-blind attacker) and a
    random ``W``, scaled into the budget; they are mixed by mixing ``S``; and
    ``I`` is the Gaussian mutual information at ``S``,
    ``0.5 logdet Cov(Y) - 0.5 logdet(M_YY - M_YZ M_ZZ^+ M_ZY)`` with
    ``M = T S T^T`` the covariance of ``(Y, Z)``.

    What the Gaussian Jensen test therefore checks is the convexity of
    ``S -> -logdet`` of the Schur complement of ``T S T^T`` (concave in ``S``,
    composed with the decreasing convex ``-logdet``) on the affine slice of
    feasible ``S``.  That is exactly the function the log-det SDP minimises:
    by Theorem 3.1 the optimal attack is jointly Gaussian, so the model
    optimises over Gaussian attacks parametrised by ``S``, and a convex
    combination of two feasible ``S`` is what the solver's iterates form.  It
    is *not* the information of the Gaussian mixture ``t P_a + (1 - t) P_b``
    (which is not Gaussian); Lemma 2.1 for those mixtures follows from the
    discrete statement and is checked on the discrete families.

    Discrete families (``binary_channel``, ``discrete_channel``): a point is
    an attack channel ``P(xh | x, y)``; feasible ones are random channels
    mixed with the least-distortion map to meet the budget; ``I(Y; Xhat)`` is
    computed with :func:`mi_cvx.info.channel_mi`, which is linear-then-convex
    in the channel exactly as in the lemma.

    Parameters
    ----------
    attack_problem : AttackProblem

    Returns
    -------
    AttackSpace

    Raises
    ------
    InvalidInputError
        If the problem's family has no attack space (pass ``space=`` to
        :func:`verify_convexity` for families of your own).
    """
    if not isinstance(attack_problem, AttackProblem):
        raise InvalidInputError("attack_problem", f"expected an AttackProblem, got {type(attack_problem).__name__}")
    fam = family_of(attack_problem)
    if fam is None or fam.attack_space is None:
        raise InvalidInputError("attack_problem", f"no attack space is known for the family "
                                f"{attack_problem.family!r}; pass space=AttackSpace(...) to verify_convexity")
    return fam.attack_space(attack_problem)


def _reduced_space(attack_problem: AttackProblem) -> AttackSpace | None:
    """The family's reduced convex form of this problem (the form its certified route solves), if any."""
    from ..registry import families

    fam = families().get(attack_problem.family)
    if fam is None or fam.reduced_space is None or attack_problem.custom:
        return None
    return fam.reduced_space(attack_problem)


def deterministic_witness(attack_problem: AttackProblem) -> Check:
    """A concrete witness that ``I`` is not convex in a deterministic attack's parameters.

    Gaussian families: ``Delta = f (A Y)_S`` (the gain of the paper's example,
    on the attacked rows ``S``; plus a fixed independent ``W`` when those rows
    are noiseless, since a deterministic attack would otherwise leave
    ``I = inf``), searched within the budget first.  For the scalar model
    ``I(f) = 0.5 log(1 + (1 + f)^2 sy2 / sn2)``, concave where
    ``(1 + f)^2 sy2 > sn2``.  Discrete families: the attack channel written
    through a logit ``s`` -- ``P = (1 - sigmoid(s)) P_0 + sigmoid(s) P_1``
    between the least-distortion map ``P_0`` and a feasible channel ``P_1``;
    ``I`` is convex in the channel but a bounded, non-constant function of
    ``s`` cannot be convex.

    The check is informational: it illustrates what Lemma 2.1 does not claim.

    Parameters
    ----------
    attack_problem : AttackProblem

    Returns
    -------
    Check

    Raises
    ------
    InvalidInputError
        If the family has no witness construction.
    """
    fam = family_of(attack_problem)
    if fam is None or fam.witness is None:
        raise InvalidInputError("attack_problem", f"no deterministic-attack witness for the family "
                                f"{attack_problem.family!r}")
    return fam.witness(attack_problem)


# ------------------------------------------------------------------ the API


def verify_convexity(
    attack_problem: AttackProblem,
    trials: int = 200,
    seed: int = 0,
    *,
    space: AttackSpace | None = None,
    budgets: Sequence[float] | None = None,
    solver: str | None = None,
    solver_options: Mapping[str, Any] | None = None,
    value_function: bool = True,
    cvxpy_points: int = 6,
) -> ConvexityReport:
    """Check Lemma 2.1 on an attack problem: symbolically and numerically.

    Runs the checks listed in :mod:`mi_cvx.convexity` (``dcp``, ``curvature``,
    ``dpp``, ``jensen``, ``admissible_set``, ``jensen_reduced`` and
    ``admissible_set_reduced`` where the family has a reduced form, ``cvxpy_constraints``,
    ``value_function``, ``budget_dual``, ``deterministic_witness``).  The
    numerical Jensen and admissible-set tests use the family's
    :class:`AttackSpace` (see :func:`attack_space` for exactly what is tested,
    notably for the Gaussian families: the information at the *mixed joint
    covariance*, i.e. the convexity of ``-logdet`` of a Schur complement in
    the covariance, which is the function the log-det SDP minimises), with
    ``I`` computed by :mod:`mi_cvx.info`, never by the CVXPY expression.

    Parameters
    ----------
    attack_problem : AttackProblem
        Any problem from a factory, possibly with custom constraints.  Its
        parameter values (and variables' values) are left as they were.
    trials : int, default 200
        Random pairs for the Jensen and admissible-set tests.
    seed : int, default 0
        Seed: the report is reproducible.
    space : AttackSpace, optional
        Override the family's attack space, e.g. to test a variant whose
        objective or admissible set is not convex; required for families
        without a default space.
    budgets : sequence of float, optional
        Budget grid for the value-function check.
    solver : str, optional
        Solver for the model solves (default: the problem's default).
    solver_options : dict, optional
        Options for those solves.
    value_function : bool, default True
        Run the budget sweep (``value_function`` and ``budget_dual``).
    cvxpy_points : int, default 6
        Feasible points for ``cvxpy_constraints`` (0 to skip that check).

    Returns
    -------
    ConvexityReport
        ``.passed`` is True when no deciding check failed; ``str(report)`` is
        a readable summary; ``.to_dict()`` / ``.to_frame()`` for JSON / tables.

    Raises
    ------
    InvalidInputError
        If ``attack_problem`` is not an AttackProblem, ``trials`` < 1,
        ``seed`` is not a non-negative integer, ``cvxpy_points`` is negative
        or 1, ``budgets`` is malformed, or the solver is unknown.
    UnsupportedSolverError
        If ``solver`` lacks a cone the problem needs.
    """
    if not isinstance(attack_problem, AttackProblem):
        raise InvalidInputError("attack_problem", f"expected an AttackProblem, got {type(attack_problem).__name__}")
    trials = _trials(trials)
    seed = _v.integer("seed", seed, low=0)
    cvxpy_points = _v.integer("cvxpy_points", cvxpy_points, low=0)
    if cvxpy_points == 1:
        raise InvalidInputError("cvxpy_points", "needs at least 2 points to mix (or 0 to skip)")
    if space is not None and not isinstance(space, AttackSpace):
        raise InvalidInputError("space", f"expected an AttackSpace, got {type(space).__name__}")
    options = dict(solver_options or {})
    if budgets is not None:
        _budget_grid(budgets)
    if solver is not None:
        solver = _solvers.check_solver(solver, attack_problem.cones)

    checks = _symbolic_checks(attack_problem)
    if space is None:
        try:
            space = attack_space(attack_problem)
        except InvalidInputError as exc:
            space = None
            why = f"no attack space: {exc}"
            checks += [Check("jensen", None, detail=why), Check("admissible_set", None, detail=why)]
    if space is not None:
        jensen = jensen_test(space.mi, space.sample, trials=trials, seed=np.random.default_rng([seed, 1]),
                             mix=space.mix, what="I")
        jensen.data["space"] = space.description
        checks.append(jensen)
        checks.append(admissible_set_test(space.violation, space.sample, trials=trials,
                                          seed=np.random.default_rng([seed, 2]), tol=space.tol, mix=space.mix))
    reduced = _reduced_space(attack_problem)
    if reduced is not None:
        jensen = jensen_test(reduced.mi, reduced.sample, trials=trials, seed=np.random.default_rng([seed, 4]),
                             mix=reduced.mix, what="I", name="jensen_reduced")
        jensen.data["space"] = reduced.description
        checks.append(jensen)
        checks.append(admissible_set_test(reduced.violation, reduced.sample, trials=trials,
                                          seed=np.random.default_rng([seed, 5]), tol=reduced.tol, mix=reduced.mix,
                                          name="admissible_set_reduced"))
    if cvxpy_points:
        cvx_solver = solver if solver is not None else None
        checks.append(cvxpy_constraints_test(attack_problem, points=cvxpy_points, trials=max(trials // 4, 10),
                                             seed=np.random.default_rng([seed, 3]), solver=cvx_solver,
                                             **(options if cvx_solver else {})))
    if value_function:
        checks += value_function_test(attack_problem, budgets, solver=solver, **options)
    try:
        checks.append(deterministic_witness(attack_problem))
    except InvalidInputError as exc:
        checks.append(Check("deterministic_witness", None, detail=str(exc), informational=True))
    return ConvexityReport(problem=repr(attack_problem), family=attack_problem.family, checks=checks,
                           trials=trials, seed=seed)
