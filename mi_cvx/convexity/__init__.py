"""Lemma 2.1, checked: the attack problem is convex in the attack *distribution*.

:func:`verify_convexity` collects a symbolic certificate from CVXPY and
numerical evidence computed *without* the CVXPY model, with the plain-numpy
measures of :mod:`mi_cvx.info`, into a :class:`ConvexityReport`:

``dcp``, ``curvature``, ``dpp``
    CVXPY's disciplined-convex certificate of the model, the objective's
    curvature, and whether parameters enter DPP-affinely (informational:
    DPP is about fast re-solves, not convexity).
``jensen``
    ``I(t a + (1 - t) b) <= t I(a) + (1 - t) I(b)`` for random pairs of
    feasible attacks ``a, b`` and random ``t`` (:func:`jensen_test`).
``admissible_set``
    Mixtures of feasible attacks stay feasible (:func:`admissible_set_test`).
``jensen_reduced``, ``admissible_set_reduced``
    The same two tests on the reduced convex form a certified route solves,
    where the family declares one (the paper's Gaussian attacker with the
    conditional-transport route: ``I`` and the least transport cost as
    functions of the covariance of ``(Y, Z)``, docs/theory.md section 7).
``cvxpy_constraints``
    The same on the model's own constraints (including custom ones added with
    :meth:`~mi_cvx.core.AttackProblem.with_constraints`): points obtained by
    solving with random linear objectives are mixed and the constraints'
    violation is evaluated at the mixtures.
``value_function``, ``budget_dual``
    ``I*(D)`` is convex and non-increasing on a budget grid (solved through the
    budget parameter), and the budget's multiplier ``lambda`` is a
    subgradient: ``lambda >= 0`` lies between the neighbouring chord slopes of
    ``-I*``.
``deterministic_witness`` (informational)
    What the lemma does *not* claim: a concrete triple showing that ``I`` is
    not convex in the parameters of a deterministic (or otherwise non-linearly
    parametrised) attack.

The lower-level tests take plain callables, so non-convex variants (an
objective that is not convex, an admissible set that is not convex) can be fed
through the same machinery; the report then names the failing check.
:class:`AttackSpace` bundles "how to sample a feasible attack, mix two and
evaluate the information" for a family; pass a modified one to
:func:`verify_convexity` via ``space=``.
"""

from __future__ import annotations

from .checks import (
    JENSEN_TOL,
    SET_TOL,
    AttackSpace,
    Check,
    admissible_set_test,
    budget_value,
    cvxpy_constraints_test,
    jensen_test,
    nonconvexity_witness,
    value_function_test,
)
from .report import ConvexityReport, attack_space, deterministic_witness, verify_convexity

__all__ = [
    "JENSEN_TOL",
    "SET_TOL",
    "AttackSpace",
    "Check",
    "ConvexityReport",
    "admissible_set_test",
    "attack_space",
    "budget_value",
    "cvxpy_constraints_test",
    "deterministic_witness",
    "jensen_test",
    "nonconvexity_witness",
    "value_function_test",
    "verify_convexity",
]
