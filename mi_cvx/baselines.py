"""Naive attacks at the optimal attack's budget: what the optimum is worth.

Each function takes a solved :class:`~mi_cvx.core.AttackResult` and returns a
:class:`Baseline` that spends the same budget (the problem's ``budget``; the
result's ``budget_used`` for a problem without one) and offers the result's
interface: ``.sample(x, y, rng=None)``, ``.consequences()``, ``.mi`` and
``.budget_used``, with a ``.name``.

:func:`random_noise`
    Noise that ignores everything: isotropic Gaussian noise of power
    ``budget`` on the attacked rows; for a discrete problem the uniform noise
    mod ``k`` mixed with no change, ``Xhat = X + W mod k`` with
    ``W ~ (1 - t) delta_0 + t Uniform{0..k-1}`` and ``t`` chosen to spend the
    budget (for a binary problem with the Hamming distortion: symmetric random
    flips with probability ``min(budget, 1/2)``).  A blind attack, feasible
    for every attacker model: it leaves at least the optimum's information.
:func:`blind`
    The optimal blind attack (``knows="nothing"``) of the same problem,
    re-solved: what seeing the data is worth to the attacker.
:func:`best_direction`
    Gaussian families: the best attack confined to one direction ``u`` of the
    observation, the top eigenvector of ``A signal_cov A^T`` (restricted to
    the attacked rows); see its docstring for the closed form.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .core import AttackResult
from .discrete import DiscreteModel
from .errors import InvalidInputError
from .gaussian import GaussianModel
from .info import channel_mi, conditional_covariance, expected_distortion
from .sampling import (
    Consequences,
    discrete_consequences_of,
    discrete_draw,
    gaussian_consequences_of,
    gaussian_draw,
)


@dataclass(frozen=True, eq=False)
class Baseline:
    """A naive attack at an optimal result's budget, with the result's sampling interface.

    Attributes
    ----------
    name : str
        ``"random_noise"``, ``"blind"`` or ``"best_direction"``.
    description : str
        The attack in one line.
    kind : str
        ``"gaussian"`` or ``"discrete"``.
    mi : float
        ``I(Y; Z)`` it leaves, in nats.
    budget_used : float
        Its expected cost (power or distortion), in the problem's units.
    attack : dict
        As a result's ``attack``: ``F``, ``G``, ``W_cov``, ``joint_cov``,
        ``attack_cov`` (Gaussian); ``channel``, ``joint``, ``output_joint`` and
        ``noise_pmf`` where it is a noise (discrete).
    reference : AttackResult
        The optimal result it is compared with (its problem supplies the model
        and the data fit for sampling).
    result : AttackResult or None
        :func:`blind`: the re-solved blind result (sampling and consequences
        are its own).
    """

    name: str
    description: str
    kind: str
    mi: float
    budget_used: float
    attack: Mapping[str, Any] = field(repr=False)
    reference: AttackResult = field(repr=False)
    result: AttackResult | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return f"Baseline({self.name}: I = {self.mi:.4g} nats at cost {self.budget_used:.4g}; {self.description})"

    def sample(self, x, y, rng=None) -> np.ndarray:
        """Attacked samples for data ``(x, y)``, as :meth:`AttackResult.sample`."""
        if self.result is not None:
            return self.result.sample(x, y, rng=rng)
        problem = _problem(self.reference)
        data = problem.spec.get("data")
        if self.kind == "gaussian":
            return gaussian_draw(problem.spec["model"], data, self.attack, x, y, rng)
        return discrete_draw(self.attack, self.reference.parameters["p_xy"], data, x, y, rng,
                             blind="noise_pmf" in self.attack)

    def consequences(self) -> Consequences:
        """What the baseline does to the best estimator of the label, as :meth:`AttackResult.consequences`."""
        if self.result is not None:
            return self.result.consequences()
        if self.kind == "gaussian":
            return gaussian_consequences_of(_problem(self.reference).spec["model"], self.attack)
        return discrete_consequences_of(self.reference.parameters["p_xy"], self.attack["output_joint"])

    def to_dict(self) -> dict:
        """A JSON-safe description (without the attack's arrays)."""
        from .serialize import json_safe

        return json_safe({"name": self.name, "description": self.description, "kind": self.kind, "mi": self.mi,
                          "budget_used": self.budget_used, "family": self.reference.family})


def _problem(result):
    if not isinstance(result, AttackResult):
        raise InvalidInputError("result", f"expected an AttackResult, got {type(result).__name__}")
    if result.problem is None:
        raise InvalidInputError("result", "has no problem (a result unpickled from a problem without a recipe): the "
                                "model and budget of a baseline are unknown; solve the problem again")
    return result.problem


def _kind(result) -> str:
    model = _problem(result).spec.get("model")
    if isinstance(model, GaussianModel):
        return "gaussian"
    if isinstance(model, DiscreteModel):
        return "discrete"
    raise InvalidInputError("result", f"a {result.family} result has no baselines (Gaussian and discrete families "
                            "only)")


def _budget(result) -> float:
    """The problem's budget; the result's spending when the problem has none."""
    value = result.parameters.get("budget")
    if value is None:
        value = result.budget_used
    if value is None or not np.isfinite(float(value)):
        raise InvalidInputError("result", "has no budget and no budget_used, so a baseline cannot spend the same")
    return float(value)


def _gaussian_attack(model: GaussianModel, F, G, W) -> dict:
    n, m = model.n, model.m
    joint = model.joint_from_gains(F, G, W)
    to_y, to_z = model.joint_map()
    stacked = np.vstack([to_y, to_z])
    posterior = conditional_covariance(stacked @ joint @ stacked.T, np.arange(n), np.arange(n, n + m))
    return {"joint_cov": joint, "F": F, "G": G, "W_cov": W, "attack_cov": joint[n + m:, n + m:],
            "posterior_cov": posterior}


def _gaussian_baseline(name: str, description: str, result, model: GaussianModel, F, G, W) -> Baseline:
    attack = _gaussian_attack(model, F, G, W)
    return Baseline(name=name, description=description, kind="gaussian", mi=float(model.mi_of_gains(F, G, W)),
                    budget_used=float(np.trace(attack["attack_cov"])), attack=attack, reference=result)


def _shift_channel(w: np.ndarray, ell: int) -> np.ndarray:
    """``channel[x, y, (x + j) mod k] = w[j]``: the noise ``Xhat = X + W mod k``."""
    k = w.size
    channel = np.zeros((k, ell, k))
    for j in range(k):
        channel[np.arange(k), :, (np.arange(k) + j) % k] = w[j]
    return channel


def random_noise(result: AttackResult) -> Baseline:
    """Noise that ignores the data, spending the result's budget.

    Gaussian: ``Delta ~ N(0, (budget / s) I)`` on the ``s`` attacked rows
    (power ``budget``).  Discrete: ``Xhat = X + W mod k`` with ``W`` the
    mixture ``(1 - t) delta_0 + t Uniform{0..k-1}``, ``t`` the largest in
    ``[0, 1]`` whose expected distortion is within the budget (spending it
    exactly unless the uniform noise itself is cheaper); for a binary Hamming
    problem that is flipping ``X`` with probability ``min(budget, 1/2)``.

    Raises
    ------
    InvalidInputError
        Naming ``result``: no problem, not a Gaussian or discrete result, no
        budget, or a discrete output alphabet that is not X's (noise mod k
        needs it), or a budget below the cost of no change.
    """
    kind = _kind(result)
    problem = _problem(result)
    budget = _budget(result)
    if kind == "gaussian":
        model: GaussianModel = problem.spec["model"]
        n, m = model.n, model.m
        rows = np.asarray(model.support, dtype=int)
        if rows.size == 0:
            raise InvalidInputError("result", "its problem attacks no row: there is nowhere to add noise")
        W = np.zeros((m, m))
        W[rows, rows] = budget / rows.size
        return _gaussian_baseline("random_noise", f"Delta ~ N(0, {budget / rows.size:.4g} I) on {rows.size} row(s)",
                                  result, model, np.zeros((m, n)), np.zeros((m, m)), W)
    p = np.asarray(result.parameters["p_xy"], dtype=float)
    d = np.asarray(problem.spec["distortion"], dtype=float)
    k, ell = p.shape
    if d.shape[1] != k:
        raise InvalidInputError("result", f"noise mod k needs Xhat in X's alphabet, but output_size is {d.shape[1]} "
                                f"and k = {k}")
    none = np.eye(k)[0]
    uniform = np.full(k, 1.0 / k)
    c0 = expected_distortion(p, _shift_channel(none, ell), d)
    cu = expected_distortion(p, _shift_channel(uniform, ell), d)
    if budget < c0 * (1 - 1e-12):
        raise InvalidInputError("result", f"its budget {budget:g} is below the cost of no change {c0:g}")
    t = 1.0 if cu <= budget else min(max((budget - c0) / (cu - c0), 0.0), 1.0)
    w = (1.0 - t) * none + t * uniform
    channel = _shift_channel(w, ell)
    joint = p[:, :, None] * channel
    binary = k == 2 and bool(problem.spec.get("hamming", False))
    description = (f"symmetric random flips with probability {t / 2:.4g}" if binary
                   else f"Xhat = X + W mod {k}, W ~ {1 - t:.4g} delta_0 + {t:.4g} Uniform")
    return Baseline(name="random_noise", description=description, kind="discrete", mi=channel_mi(p, channel),
                    budget_used=expected_distortion(p, channel, d),
                    attack={"channel": channel, "joint": joint, "output_joint": joint.sum(axis=0), "noise_pmf": w},
                    reference=result)


def blind(result: AttackResult, **solve_options) -> Baseline:
    """The optimal blind attack (``knows="nothing"``) of the result's problem, re-solved.

    The problem is rebuilt from its recipe with ``knows="nothing"`` (and the
    default formulation where the result's, ``compact`` or ``transport``, is
    for the paper's attacker only), given the problem's current parameter
    values and data fit, and solved (``solve_options`` go to
    :meth:`AttackProblem.solve`).  A problem without a budget (nor stealth
    terms) is given the result's ``budget_used`` as its budget: without one
    the blind attacker's information has no minimum.  ``Baseline.result`` is
    the blind result.

    Raises
    ------
    InvalidInputError
        Naming ``result`` if it has no problem or its problem no recipe;
        as the factory for a problem the blind attacker does not take.
    SolverError
        As :meth:`AttackProblem.solve`.
    """
    kind = _kind(result)
    problem = _problem(result)
    if problem.recipe is None:
        raise InvalidInputError("result", "its problem has no recipe (custom constraints given as a list?), so it "
                                "cannot be rebuilt for the blind attacker")
    recipe = problem.recipe
    try:
        bound = inspect.signature(recipe.factory).bind(*recipe.args, **recipe.kwargs)
    except (TypeError, ValueError):
        raise InvalidInputError("result", "its problem's recipe does not match its factory's signature") from None
    call = bound.arguments
    # a factory taking **kwargs (e.g. mi_cvx.data.fitted_problem) passes the factory's options through them
    named = inspect.signature(recipe.factory).parameters
    var_kw = next((n for n, prm in named.items() if prm.kind is inspect.Parameter.VAR_KEYWORD), None)
    options = call.setdefault(var_kw, {}) if var_kw is not None and "knows" not in named else call
    options["knows"] = "nothing"
    if options.get("formulation") in ("compact", "transport"):
        del options["formulation"]
    if "budget" in call and call["budget"] is None and not {"stealth", "stealth_weight"} & set(problem.parameters):
        call["budget"] = _budget(result)  # no budget: the blind attacker gets what the result spent
    fresh = replace(recipe, args=bound.args, kwargs=bound.kwargs).build()
    for key, param in problem.parameters.items():
        if key in fresh.parameters:
            fresh.parameters[key].value = param.value
    if "data" in problem.spec:
        fresh.spec["data"] = problem.spec["data"]
    solved = fresh.solve(**solve_options)
    used = solved.budget_used if solved.budget_used is not None else float("nan")
    return Baseline(name="blind", description="the optimal attack of an attacker who sees neither X nor Y",
                    kind=kind, mi=solved.mi, budget_used=used, attack=solved.attack, reference=result,
                    result=solved)


def best_direction(result: AttackResult) -> Baseline:
    """The best attack confined to one direction of the observation, spending the budget (Gaussian families).

    The direction ``u`` is the top unit eigenvector of ``A signal_cov A^T``
    restricted to the attacked rows (where the observation carries most
    signal power).  The attack moves ``Z`` only along ``u``:
    ``Delta = -c u (u^T X) + sigma xi u`` with ``xi ~ N(0, 1)``, costing
    ``c^2 v + sigma^2`` with ``v = u^T Cov(X) u``.  It leaves ``X``'s other
    components unchanged and ``u^T Z = (1 - c) u^T X + sigma xi``, a degraded
    copy of ``u^T X`` with noise-to-gain ratio ``sigma^2 / (1 - c)^2``, so
    ``I(Y; Z)`` decreases as that ratio grows; spending the budget exactly
    (``sigma^2 = D - c^2 v``), the ratio is largest at the closed form
    ``c = min(1, D / v)`` (the stationary point of ``(1 - c)^2 / (D - c^2 v)``;
    ``c = 1`` erases the component when ``D >= v``): Theorem 3.1's scalar
    attack applied to ``u^T X``.

    The deterministic attacks along ``u`` (``sigma = 0``) are the end point
    ``c = sqrt(D / v)`` of this family: unless ``c = 1`` exactly they are
    invertible and leave ``I(Y; X)`` unchanged.

    The attack uses ``X`` only, so it is feasible for the paper's and the
    label-blind attacker (it leaves at least their optimum's information);
    a blind attacker cannot use it.

    Raises
    ------
    InvalidInputError
        Naming ``result``: no problem, not a Gaussian result, no budget, or no
        attacked row.
    """
    if _kind(result) != "gaussian":
        raise InvalidInputError("result", f"best_direction is for the Gaussian families, not {result.family}")
    model: GaussianModel = _problem(result).spec["model"]
    budget = _budget(result)
    m = model.m
    rows = np.asarray(model.support, dtype=int)
    if rows.size == 0:
        raise InvalidInputError("result", "its problem attacks no row: there is no direction to attack")
    signal = model.A @ model.signal_cov @ model.A.T
    _, U = np.linalg.eigh(signal[np.ix_(rows, rows)])
    u = np.zeros(m)
    u[rows] = U[:, -1]
    v = float(u @ model.x_cov @ u)
    c = min(1.0, budget / v) if v > 0 else 0.0
    sigma2 = max(budget - c * c * v, 0.0)
    P = np.outer(u, u)
    return _gaussian_baseline("best_direction", f"Delta = -{c:.4g} u u^T X + N(0, {sigma2:.4g}) u along the top "
                              "signal direction u", result, model, -c * P @ model.A, -c * P, sigma2 * P)
