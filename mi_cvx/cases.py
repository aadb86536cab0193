"""A registry of named test cases: small attack problems with known optima.

Each :class:`Case` pairs a *factory call* (building a fresh
:class:`~mi_cvx.core.AttackProblem`) with its optimal value computed
*independently* of the convex model, from the closed forms of
:mod:`mi_cvx.oracles`.
The registry spans every problem family and is small enough that every case
can be run through every installed solver in the test suite in seconds; this
is how CVXPY tests its own solvers (a problem, its known optimum, and a
per-solver tolerance on ``|v - v*| / (1 + |v*|)``).

Use :func:`cases` to list them (optionally by family) and
:func:`mi_cvx.compare_solvers` to run one through the installed backends.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import oracles as _oracles
from .core import AttackProblem, _json_safe
from .errors import InvalidInputError
from .gaussian import gaussian_scalar, gaussian_sparse, gaussian_vector

#: Options that make SCS (a first-order method) accurate enough to compare
#: with the interior-point solvers at their tolerance.  Cases list them in
#: ``solver_options`` where SCS's defaults are not enough.
SCS_TIGHT: dict[str, Any] = {"eps_abs": 1e-9, "eps_rel": 1e-9, "max_iters": 200_000}


@dataclass(frozen=True)
class Case:
    """One named attack problem with an independently known optimum.

    Attributes
    ----------
    name : str
        Unique, stable identifier (used in test ids and on the command line).
    family : str
        The :attr:`AttackProblem.family` its factory builds
        (``"gaussian_scalar"``, ``"binary_channel"``, ...).
    group : str
        Coarser grouping: ``"gaussian"``, ``"sparse"``, ``"subset"`` or
        ``"discrete"``.
    factory : callable
        ``factory()`` builds a fresh :class:`AttackProblem` (a
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
        Per-solver options the case should be solved with (e.g. tightened
        ``eps`` for SCS); :func:`mi_cvx.compare_solvers` uses them when given a
        case.
    """

    name: str
    family: str
    group: str
    factory: Callable[[], AttackProblem] = field(repr=False)
    parameters: Mapping[str, Any] = field(default_factory=dict, repr=False)
    oracle: float = float("nan")
    reference: str = ""
    note: str = ""
    solver_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, repr=False)

    def build(self) -> AttackProblem:
        """A fresh :class:`AttackProblem` for this case."""
        return self.factory()

    def options_for(self, solver: str) -> dict:
        """The solver options this case asks for with ``solver`` (may be empty)."""
        return dict(self.solver_options.get(solver.upper(), {}))

    def to_dict(self) -> dict:
        """A JSON-safe description of the case (without the factory)."""
        return _json_safe({
            "name": self.name,
            "family": self.family,
            "group": self.group,
            "parameters": dict(self.parameters),
            "oracle": self.oracle,
            "reference": self.reference,
            "note": self.note,
            "solver_options": {k: dict(v) for k, v in self.solver_options.items()},
        })


# ------------------------------------------------------------------ registry

_A_TALL = np.array([[1.0, 0.5], [0.0, 1.0], [0.3, -0.2]])  # 3 x 2, rank 2
_A_WIDE = np.array([[1.0, 0.2, -0.4], [0.1, 0.8, 0.3]])  # 2 x 3, full row rank
_SY_2 = np.array([[1.0, 0.3], [0.3, 0.6]])
_SY_DIAG3 = np.diag([2.0, 1.0, 0.5])


def _gaussian_cases() -> list[Case]:
    out = []
    for name, sy2, sn2, d, note in [
        ("gaussian_scalar_noisy", 1.0, 0.5, 0.3, "Theorem 3.1, budget below the signal variance"),
        ("gaussian_scalar_low_snr", 0.5, 2.0, 0.1, "Theorem 3.1 with noise stronger than the signal"),
        ("gaussian_scalar_noiseless", 2.0, 0.0, 0.5,
         "zero noise: the Gaussian rate-distortion function 0.5 log(signal_var / budget)"),
        ("gaussian_scalar_budget_exceeds", 1.0, 0.4, 1.5,
         "budget >= signal variance: Delta = -Y removes all information (I* = 0)"),
    ]:
        out.append(Case(
            name=name, family="gaussian_scalar", group="gaussian",
            factory=functools.partial(gaussian_scalar, sy2, sn2, d),
            parameters={"signal_var": sy2, "noise_var": sn2, "budget": d},
            oracle=float(_oracles.scalar_gaussian_mi(sy2, sn2, d)),
            reference="oracles.scalar_gaussian_mi (Theorem 3.1 closed form)", note=note))

    svals = np.linalg.svd(_A_TALL, compute_uv=False)
    d = 0.6
    out.append(Case(
        name="gaussian_vector_noiseless", family="gaussian_vector", group="gaussian",
        factory=functools.partial(gaussian_vector, _A_TALL, d, 1.0, 0.0),
        parameters={"A": _A_TALL, "budget": d, "signal_cov": 1.0, "noise_cov": 0.0},
        oracle=_oracles.falling_bar(svals**2, d).mi,
        reference="oracles.falling_bar (Theorem 3.2, Algorithm 1)",
        note="full joint-covariance SDP of the noiseless projection"))

    d = 0.5
    out.append(Case(
        name="gaussian_vector_isotropic", family="gaussian_vector", group="gaussian",
        factory=functools.partial(gaussian_vector, _A_TALL, d, _SY_2, 0.3),
        parameters={"A": _A_TALL, "budget": d, "signal_cov": _SY_2, "noise_cov": 0.3},
        oracle=_oracles.isotropic_gaussian(_A_TALL, d, _SY_2, 0.3).mi,
        reference="oracles.isotropic_gaussian (structured exact path, MATH.md section 3)",
        note="correlated signal, isotropic noise"))

    svals = np.linalg.svd(_A_WIDE, compute_uv=False)
    d = 0.4
    out.append(Case(
        name="gaussian_vector_compact", family="gaussian_vector", group="gaussian",
        factory=functools.partial(gaussian_vector, _A_WIDE, d, 1.0, 0.0, formulation="compact"),
        parameters={"A": _A_WIDE, "budget": d, "signal_cov": 1.0, "noise_cov": 0.0, "formulation": "compact"},
        oracle=_oracles.falling_bar(svals**2, d).mi,
        reference="oracles.falling_bar (Theorem 3.2)",
        note="compact rate-distortion SDP in X-space"))
    return out


def _sparse_cases() -> list[Case]:
    out = []
    for name, support, note in [
        ("gaussian_sparse_one_row", [0], "Theorem 4.1: the strongest sensor attacked without a budget"),
        ("gaussian_sparse_two_rows", [1, 2], "Theorem 4.1: two of three sensors attacked without a budget"),
    ]:
        out.append(Case(
            name=name, family="gaussian_sparse", group="sparse",
            factory=functools.partial(gaussian_sparse, np.eye(3), support, None, _SY_DIAG3, 0.1),
            parameters={"A": np.eye(3), "support": support, "budget": None, "signal_cov": _SY_DIAG3,
                        "noise_cov": 0.1},
            oracle=_oracles.subset_mi(_SY_DIAG3, 0.1, support, A=np.eye(3)),
            reference="oracles.subset_mi (Theorem 4.1 closed form I*(S))", note=note))
    return out


def best_subset_problem(signal_cov, noise_cov, k: int, A=None, method: str = "auto") -> AttackProblem:
    """The unbudgeted sparse SDP on the rows :func:`mi_cvx.subset_attack` picks.

    Builds :func:`~mi_cvx.gaussian.gaussian_sparse` (``budget=None``) on the
    subset chosen by :func:`~mi_cvx.subset.subset_attack`; its optimum is
    Theorem 4.1's ``I*`` (the minimum over all ``k``-subsets) exactly when the
    subset search is right.

    Parameters
    ----------
    signal_cov, noise_cov, k, A, method
        As in :func:`mi_cvx.subset_attack`.

    Returns
    -------
    AttackProblem

    Raises
    ------
    InvalidInputError
        As :func:`mi_cvx.subset_attack` and :func:`mi_cvx.gaussian_sparse`.
    """
    from .subset import subset_attack

    chosen = subset_attack(signal_cov, noise_cov, k, A=A, method=method)
    A = np.eye(np.shape(signal_cov)[0]) if A is None else A
    return gaussian_sparse(A, list(chosen.subset), None, signal_cov, noise_cov)


def _brute_force_subset_mi(signal_cov, noise_cov, k, A) -> float:
    """``min over |S| = k`` of :func:`mi_cvx.oracles.subset_mi`, by enumeration."""
    m = np.shape(A)[0]
    return min(_oracles.subset_mi(signal_cov, noise_cov, list(S), A=A) for S in itertools.combinations(range(m), k))


_A_SUBSET = np.array([[1.0, 0.2, 0.0], [0.4, 1.0, -0.3], [0.0, 0.5, 1.0], [0.6, -0.4, 0.8]])
_SY_SUBSET = np.array([[1.0, 0.4, 0.1], [0.4, 0.8, 0.2], [0.1, 0.2, 0.5]])
_SN_SUBSET = np.diag([0.2, 0.1, 0.3, 0.15])


def _subset_cases() -> list[Case]:
    k = 2
    return [Case(
        name="subset_best_pair", family="gaussian_sparse", group="subset",
        factory=functools.partial(best_subset_problem, _SY_SUBSET, _SN_SUBSET, k, _A_SUBSET),
        parameters={"A": _A_SUBSET, "signal_cov": _SY_SUBSET, "noise_cov": _SN_SUBSET, "k": k},
        oracle=_brute_force_subset_mi(_SY_SUBSET, _SN_SUBSET, k, _A_SUBSET),
        reference="min over all 2-subsets of oracles.subset_mi (Theorem 4.1, brute force)",
        note="subset chosen by subset_attack, then the unbudgeted sparse SDP on it")]


_P_BINARY = np.array([[0.3, 0.1], [0.15, 0.45]])  # p_xy[x, y]; zero-information budget D0 = 0.218
_P_SOURCE = np.array([0.5, 0.3, 0.2])


def _discrete_cases() -> list[Case]:
    from .discrete import binary_channel, discrete_channel

    out = []
    for name, budget, formulation, note in [
        ("binary_channel_flip", 0.1, "channel", "Theorem 3.3: budget below the zero-information threshold"),
        ("binary_channel_zero_information", 0.25, "channel",
         "budget above D0 = min(p(0), p(1)) |a_0 - a_1|: all information removed (I* = 0)"),
        ("binary_channel_transport", 0.05, "transport", "Theorem 3.3 in the total-variation (transport) form"),
    ]:
        out.append(Case(
            name=name, family="binary_channel", group="discrete",
            factory=functools.partial(binary_channel, _P_BINARY, budget, formulation=formulation),
            parameters={"p_xy": _P_BINARY, "budget": budget, "formulation": formulation},
            oracle=_oracles.binary_oracle(_P_BINARY, budget).mi,
            reference="oracles.binary_oracle (total-variation oracle, MATH.md section 4)", note=note))
    out.append(Case(
        name="discrete_binary_general", family="discrete_channel", group="discrete",
        factory=functools.partial(discrete_channel, _P_BINARY, 0.1),
        parameters={"p_xy": _P_BINARY, "budget": 0.1},
        oracle=_oracles.binary_oracle(_P_BINARY, 0.1).mi,
        reference="oracles.binary_oracle (the general factory on a binary Hamming problem)",
        note="discrete_channel with k = l = 2 and the default Hamming distortion"))
    p_diag = np.diag(_P_SOURCE)
    for name, formulation in [("discrete_hamming_rate_distortion", "channel"),
                              ("discrete_hamming_transport", "transport")]:
        out.append(Case(
            name=name, family="discrete_channel", group="discrete",
            factory=functools.partial(discrete_channel, p_diag, 0.15, formulation=formulation),
            parameters={"p_xy": p_diag, "budget": 0.15, "formulation": formulation},
            oracle=_oracles.rate_distortion_hamming(_P_SOURCE, 0.15),
            reference="oracles.rate_distortion_hamming (X = Y: the rate-distortion function, MATH.md section 5)",
            note=f"diagonal p_xy (X = Y), Hamming distortion, {formulation} form"))
    return out


def _registry() -> list[Case]:
    return _gaussian_cases() + _sparse_cases() + _subset_cases() + _discrete_cases()


def cases(family: str | None = None) -> list[Case]:
    """The registry of named test cases (fresh :class:`Case` objects).

    Parameters
    ----------
    family : str, optional
        Keep only the cases whose :attr:`Case.family` (e.g.
        ``"gaussian_scalar"``) or :attr:`Case.group` (``"gaussian"``,
        ``"sparse"``, ``"subset"``, ``"discrete"``) equals this.  Default: all.

    Returns
    -------
    list of Case
        In a stable order; names are unique.

    Raises
    ------
    InvalidInputError
        If ``family`` matches no case.
    """
    out = _registry()
    if family is None:
        return out
    if not isinstance(family, str):
        raise InvalidInputError("family", f"expected a family name, got {family!r}")
    chosen = [c for c in out if family in (c.family, c.group)]
    if not chosen:
        names = sorted({c.family for c in out} | {c.group for c in out})
        raise InvalidInputError("family", f"no case of family {family!r}; known: {', '.join(names)}")
    return chosen


def get_case(name: str) -> Case:
    """The case called ``name``.

    Raises
    ------
    InvalidInputError
        If no case has that name.
    """
    for case in _registry():
        if case.name == name:
            return case
    raise InvalidInputError("name", f"no case called {name!r}; known: {', '.join(c.name for c in _registry())}")
