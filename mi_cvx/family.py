"""What a problem family declares about itself, once, in its own module.

A family (``gaussian_scalar``, ``gaussian_vector``, ``binary_channel``, ...)
knows things no generic module should guess from its name: the factory and its
parameters, the closed forms that check it, how to draw feasible attacks for
the convexity checks and how to show that deterministic attacks are not
convex, its named test cases, its preferred backends.  Each family module
declares a :class:`Family` with those facts; :func:`mi_cvx.families` returns
them all, and the cross-cutting modules (:mod:`mi_cvx.convexity`,
:mod:`mi_cvx.cases`, :mod:`mi_cvx.cli`, :mod:`mi_cvx.comparison`,
:mod:`mi_cvx.sweep`, :mod:`mi_cvx.paper`) read the declarations instead of
asking a problem for its family's name.

Adding a family means writing its module (factory, oracles, and a
``FAMILIES = (Family(...),)`` tuple) and adding the module's name to
:data:`mi_cvx.registry.MODULES`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - imports for annotations only
    from .convexity.checks import AttackSpace, Check
    from .core import AttackProblem, AttackResult

#: Kinds of parameter a family's schema may declare, and what the CLI and spec files accept for each.
PARAM_KINDS = {
    "number": "a real number",
    "integer": "an integer",
    "budget": "a non-negative number (the attack budget)",
    "nonneg": "a non-negative number",
    "array": "a number (times the identity) or an array: inline JSON, or a .npy/.csv/.txt/.json file",
    "observation": "the observation matrix A (m x n): inline JSON or a file; or a random one from m, n and seed",
    "indices": "row indices such as 0,2 or [0, 2], or a boolean mask such as [true, false, true]",
    "choice": "one of a fixed set of names",
}


@dataclass(frozen=True)
class Param:
    """One argument of a family's factory, as the CLI and spec files see it.

    Attributes
    ----------
    name : str
        The factory's keyword (``--name-with-dashes`` on the command line).
    kind : str
        One of :data:`PARAM_KINDS`: how the value is read from text or a spec
        file (the factory validates it).
    help : str
        One line for ``--help``.
    required : bool
        Whether the family needs it.
    choices : tuple of str
        Allowed values for ``kind="choice"``.
    default : object
        The value the command line passes when the option is not given
        (None: pass nothing, so the factory's own default applies).
    unless : tuple of str
        A required parameter may be left out when one of these is given; it
        is then passed as None (a power budget is optional with a stealth term).
    """

    name: str
    kind: str
    help: str
    required: bool = False
    choices: tuple[str, ...] = ()
    default: Any = None
    unless: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in PARAM_KINDS:
            raise ValueError(f"unknown parameter kind {self.kind!r}; choose one of {', '.join(PARAM_KINDS)}")


def knows_param(choices: tuple[str, ...]) -> Param:
    """The attacker-model parameter ``knows`` every family with attacker models declares."""
    return Param("knows", "choice", "what the attacker sees: x_and_y (the paper's attacker), x (label-blind) or "
                 "nothing (blind)", choices=choices)


#: The detectability terms of docs/theory.md section 9, as the families declare them.
STEALTH_NAMES = ("stealth", "stealth_weight")
STEALTH_PARAMS = (Param("stealth", "nonneg", "cap on KL(P_Z || P_X), the defender's view of the attack (nats)"),
                  Param("stealth_weight", "nonneg", "minimise I + stealth_weight * KL(P_Z || P_X)"))


@dataclass(frozen=True)
class Case:
    """One named attack problem with an independently known optimum.

    Attributes
    ----------
    name : str
        Unique, stable identifier (used in test ids and on the command line).
    family : str
        The name of the :class:`Family` it belongs to (``"gaussian_scalar"``,
        ``"binary_channel"``, ``"subset_attack"``, ...).
    group : str
        Coarser grouping: ``"gaussian"``, ``"sparse"``, ``"subset"`` or
        ``"discrete"``.
    factory : callable
        ``factory()`` builds a fresh :class:`~mi_cvx.core.AttackProblem` (a
        ``functools.partial`` of a public factory, so it pickles).
    parameters : dict
        The factory's arguments (JSON-safe), for display.
    oracle : float
        The optimal information in nats, computed without the convex model.
    reference : str
        Where ``oracle`` comes from (theorem / oracle function).
    note : str
        Anything worth knowing about the case (e.g. solver caveats).
    solver_options : dict of str -> dict
        Per-solver options the case should be solved with;
        :func:`mi_cvx.compare_solvers` uses them when given a case.  No case
        of the registry needs any today (the default chain and the per-solver
        tolerances cover them); the field is for cases of users' own.
    """

    name: str
    family: str
    group: str
    factory: Callable[[], AttackProblem] = field(repr=False)
    parameters: Mapping[str, Any] = field(default_factory=dict, repr=False)
    oracle: float = math.nan
    reference: str = ""
    note: str = ""
    solver_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, repr=False)

    def build(self) -> AttackProblem:
        """A fresh :class:`~mi_cvx.core.AttackProblem` for this case."""
        return self.factory()

    def options_for(self, solver: str) -> dict:
        """The solver options this case asks for with ``solver`` (may be empty)."""
        return dict(self.solver_options.get(solver.upper(), {}))

    def to_dict(self) -> dict:
        """A JSON-safe description of the case (without the factory)."""
        from .serialize import json_safe

        return json_safe({
            "name": self.name,
            "family": self.family,
            "group": self.group,
            "parameters": dict(self.parameters),
            "oracle": self.oracle,
            "reference": self.reference,
            "note": self.note,
            "solver_options": {k: dict(v) for k, v in self.solver_options.items()},
        })


@dataclass(frozen=True)
class Family:
    """The declaration of one problem family: everything only the family knows.

    Attributes
    ----------
    name : str
        The family's one name: :attr:`AttackProblem.family`, :attr:`Case.family`,
        the sweep files' fingerprints, the reports; the CLI spells it with
        dashes (``gaussian-scalar``).
    summary : str
        One line: the model and the theorem.
    factory : callable
        The public factory building an :class:`~mi_cvx.core.AttackProblem`.
    params : tuple of Param
        The factory's arguments, from which the CLI's options and the spec
        files' keys are generated.
    theory : str
        Where ``docs/theory.md`` states the family's mathematics.
    group : str
        The coarser group of its cases (``"gaussian"``, ``"sparse"``,
        ``"subset"``, ``"discrete"``).
    aliases : tuple of str
        Older names still accepted (the CLI's ``binary``, ``discrete``, ``subset``).
    oracles : dict of str -> callable
        The closed forms that check the family (public functions of
        :mod:`mi_cvx.oracles`), by what they compute.
    attack_space : callable, optional
        ``problem -> AttackSpace``: how to draw feasible attacks, mix them and
        evaluate the information in plain numpy (Lemma 2.1's numerical checks).
    witness : callable, optional
        ``problem -> Check``: a parametrisation of deterministic attacks in
        which the information is *not* convex (what the lemma does not claim).
    least_budget : callable, optional
        ``problem -> float``: the least feasible budget (0 for power budgets;
        the least-cost map's expected distortion for discrete families).
    cases : callable, optional
        ``() -> list of Case``: the family's named cases with known optima.
    solvers : tuple of str
        Backends a default solve prefers for this family, fastest accurate first
        (measured by ``benchmarks``); the general default order follows.
    attackers : tuple of str
        The attacker models (``knows=`` values) the factory accepts.
    formulations : tuple of str
        The convex forms the factory can build (``formulation=``), default first.
    budgeted : bool
        Whether the family has a budget a sweep can vary.
    search : callable, optional
        For a family answered by a combinatorial search rather than one conic
        problem (Theorem 4.1's subsets): ``search(**params)`` returns its result
        (with ``to_dict()`` and ``text()``), which the CLI's ``solve`` prints.
    sample : callable, optional
        ``(result, x, y, rng=None) -> ndarray``: attacked samples drawn from a
        result's attack for data ``(x, y)`` (:func:`mi_cvx.sampling.gaussian_sample`,
        :func:`mi_cvx.sampling.discrete_sample`); :meth:`AttackResult.sample` calls it.
    consequences : callable, optional
        ``result -> Consequences``: what the attack does to the best estimator
        of the label (least squared error, Bayes error, Fano's bound; see
        :mod:`mi_cvx.sampling`); :meth:`AttackResult.consequences` calls it.
    reduced_space : callable, optional
        ``problem -> AttackSpace or None``: the convex reduced form a certified
        route solves (e.g. the conditional-transport form of docs/theory.md
        section 7), tested by :func:`mi_cvx.verify_convexity` as
        ``jensen_reduced`` and ``admissible_set_reduced``.
    observed : callable, optional
        ``result -> (kind, clean, attacked)``: the laws of what the defender
        receives without and with the attack, ``kind`` ``"gaussian"``
        (zero-mean covariances) or ``"discrete"`` (pmfs); read by
        :func:`mi_cvx.detection_probability`.
    """

    name: str
    summary: str
    factory: Callable[..., AttackProblem]
    params: tuple[Param, ...]
    theory: str
    group: str
    aliases: tuple[str, ...] = ()
    oracles: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    attack_space: Callable[[AttackProblem], AttackSpace] | None = None
    witness: Callable[[AttackProblem], Check] | None = None
    least_budget: Callable[[AttackProblem], float] | None = None
    cases: Callable[[], list[Case]] | None = None
    solvers: tuple[str, ...] = ()
    attackers: tuple[str, ...] = ("x_and_y", "x")
    formulations: tuple[str, ...] = ()
    budgeted: bool = True
    search: Callable[..., Any] | None = None
    sample: Callable[..., Any] | None = None
    consequences: Callable[[AttackResult], Any] | None = None
    observed: Callable[[AttackResult], tuple[str, Any, Any]] | None = None
    reduced_space: Callable[..., Any] | None = None

    @property
    def cli_name(self) -> str:
        """The name as the command line spells it (dashes)."""
        return self.name.replace("_", "-")

    @property
    def required(self) -> tuple[str, ...]:
        """Names of the parameters the family needs."""
        return tuple(p.name for p in self.params if p.required)
