"""Discrete attack problems as relative-entropy-cone programs (docs/theory.md sections 4 and 5).

Model: ``(X, Y)`` with a joint pmf ``p_xy[x, y]`` on ``{0..k-1} x {0..l-1}``; the
attacker sees ``(X, Y)`` (or only ``X``) and emits ``Xhat`` in ``{0..k'-1}``
through a channel ``P(Xhat = xh | X = x, Y = y)``, paying ``distortion[x, xh]``
per use, ``E d(X, Xhat) <= budget``.  The decision variable is the joint pmf
``r[x, y, xh]`` of ``(X, Y, Xhat)`` (linear in the channel, with
``sum_xh r[x, y, xh] = p_xy[x, y]``), and the objective is

    I(Y; Xhat) = sum_{y, xh} rel_entr(P(y, xh), p(y) P(xh))

with ``P(y, xh) = sum_x r``, ``P(xh) = sum_{x, y} r`` and ``p(y) = sum_x p_xy``.
The model minimises the equivalent variational form
``min_q sum_{y, xh} rel_entr(P(y, xh), p(y) q(xh))`` jointly over the attack
and a free pmf ``q`` (the minimising ``q`` is ``P(xh)``, as in Blahut-Arimoto):
the same optimum, with every exponential cone local to one ``(y, xh)``, which
keeps the interior-point factorisations sparse.  ``p_xy`` and ``budget`` are
``cp.Parameter`` objects and the problem is DPP, so new values re-solve
without re-compiling.

Factories
---------
* :func:`binary_channel` -- Theorem 3.3: ``k = l = 2``, budget on expected flips.
* :func:`discrete_channel` -- any finite alphabets and distortion.

Formulations
------------
``"channel"`` (default)
    The joint ``r[x, y, xh]``: ``k l k'`` variables, any distortion.
``"transport"``
    Hamming distortion only: the output joint ``P(y, xh)`` (``l k'``
    variables) with the cost ``sum_y sum_x max(0, p_xy[x, y] - P(y, x))``, the
    total-variation distance each class's conditional is moved (docs/theory.md
    section 5).  An optimal channel is rebuilt from an optimal coupling per
    class.

Attack readout (``result.attack``)
----------------------------------
``channel``
    ``P(Xhat = xh | X = x, Y = y)`` as an array ``[x, y, xh]``.  Where
    ``p_xy[x, y] = 0`` the channel is undefined; the identity (no change,
    ``xh = x``; the cheapest output ``argmin_xh distortion[x, xh]`` when
    ``x`` itself is not among the cheapest outputs for ``x``, e.g.
    ``x >= k'``) is returned there.  For a label-blind
    attacker (``knows="x"``) the common row ``P(xh | x)`` is returned for every
    ``y`` of a letter ``x`` with ``p(x) > 0``.
``joint``
    ``r[x, y, xh] = p_xy[x, y] * channel[x, y, xh]``.
``output_joint``
    ``P(Y = y, Xhat = xh)``, shape ``(l, k')``.
``flip_prob`` (binary family only)
    ``q[x, y] = P(Xhat != x | X = x, Y = y)``.

Reported values
---------------
``result.mi`` is the solver's objective at its point (the variational form
above, in nats); ``result.mi_check`` is ``I(Y; Xhat)`` of the returned channel
computed by :func:`mi_cvx.info.channel_mi`, and ``result.budget_used`` its
expected distortion by :func:`mi_cvx.info.expected_distortion`.

Optimality (Theorem 3.3 and its generalisation)
-----------------------------------------------
:func:`optimality_residuals` evaluates the KKT conditions of the channel form
at any channel; ``result.optimality()`` runs it at the solver's channel with
``lambda = result.dual_budget``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import cvxpy as cp
import numpy as np
import scipy.sparse as sp
from scipy.special import rel_entr

from . import oracles as _oracles
from . import resources as _resources
from . import validate as _v
from .convexity.checks import AttackSpace, Check, budget_value, nonconvexity_witness
from .core import AttackProblem, AttackResult, parameter, rebuildable
from .errors import InvalidInputError
from .family import STEALTH_NAMES, STEALTH_PARAMS, Case, Family, Param, knows_param
from .info import channel_mi, expected_distortion
from .info import kl as _kl
from .optimality import OptimalityResiduals, optimality_residuals
from .sampling import discrete_consequences, discrete_sample

#: The attacker models: the paper's (sees X and Y), label-blind (sees X only) and blind
#: (sees nothing: Xhat = X + W mod k with W ~ noise_pmf independent of everything,
#: docs/theory.md section 8).
KNOWS = ("x_and_y", "x", "nothing")
#: ``auto`` (the default) picks the exact path, the conic channel form or the certified iterative
#: route by structure and size; ``channel`` the joint ``r[x, y, xh]``; ``transport`` the compact
#: total-variation form (Hamming, paper's attacker); ``iterative`` the certified route
#: (constrained Blahut-Arimoto; a descent on the noise pmf for the blind attacker).
FORMULATIONS = ("auto", "channel", "transport", "iterative")

#: Above this many entries ``result.attack`` leaves out ``joint`` (``p_xy[:, :, None] * channel``, 8 GB at
#: k = l = k' = 1024); ``channel`` and ``output_joint`` are always there.
JOINT_ENTRIES = 20_000_000

#: The certified routes of each attacker model (``result.solver`` names the one that answered):
#: constrained Blahut-Arimoto where it applies (the paper's attacker, a Hamming or ``|x - xh|``
#: distortion, a budget, no stealth cap, a stealth weight at most 1), else the barrier method;
#: an interior-point method on the noise pmf for the blind attacker.
ROUTE_NAMES = {"x_and_y": ("BLAHUT_ARIMOTO", "INTERIOR_POINT"), "x": ("INTERIOR_POINT",),
               "nothing": ("BLIND_SIMPLEX",)}
_METHODS = {"BLAHUT_ARIMOTO": "ba", "INTERIOR_POINT": "ipm", None: "auto"}

#: Outputs whose total probability ``P(xh)`` is at most this are treated as
#: unused when ``result.optimality()`` checks a solver's channel.  Interior-point
#: solvers leave mass of order ``mu / gap`` (up to ~1e-6 when an unused
#: output's price is close to the best one) on outputs the exact optimum does
#: not use, and the conditional ``P(y | xh)`` of that noise is meaningless.
#: Treating an output as unused only makes the check more lenient: its price
#: becomes the one-sided derivative at zero, the largest price it can have.
SOLVER_SUPPORT_TOL = 1e-5

#: Above this estimated DPP-compilation memory (bytes, see :func:`dpp_compile_bytes`)
#: a problem solves with ``ignore_dpp=True`` by default: each solve compiles afresh
#: (0.3 s at ``k = l = 48``) instead of compiling once through a multi-gigabyte
#: parametrised program.  ``solve(ignore_dpp=False)`` forces DPP.
DPP_MEMORY_LIMIT = 1 << 30


def hamming_distortion(k: int, output_size: int | None = None) -> np.ndarray:
    """The Hamming distortion ``d[x, xh] = [x != xh]`` as a ``k x output_size`` matrix.

    Parameters
    ----------
    k : int
        Input alphabet size (>= 1).
    output_size : int, optional
        Output alphabet size (default ``k``).

    Returns
    -------
    ndarray, shape (k, output_size)

    Raises
    ------
    InvalidInputError
        If a size is not a positive integer.
    """
    k = _v.integer("k", k, low=1)
    kp = k if output_size is None else _v.integer("output_size", output_size, low=1)
    return 1.0 - np.eye(k, kp)


@dataclass(frozen=True)
class DiscreteModel:
    """The validated data of a discrete attack problem (at build time)."""

    p_xy: np.ndarray
    distortion: np.ndarray
    hamming: bool

    @property
    def k(self) -> int:
        return self.p_xy.shape[0]

    @property
    def ell(self) -> int:
        """Size ``l`` of the label alphabet."""
        return self.p_xy.shape[1]

    @property
    def output_size(self) -> int:
        return self.distortion.shape[1]

    def identity_outputs(self) -> np.ndarray:
        """The no-change output of every input letter (the cheapest one; ``x`` itself when it is free)."""
        d = self.distortion
        out = np.argmin(d, axis=1)
        for x in range(min(self.k, self.output_size)):
            if d[x, x] <= d[x, out[x]]:
                out[x] = x
        return out


def _p_xy(value, shape=None) -> np.ndarray:
    return _v.pmf("p_xy", value, ndim=2, shape=shape)


def _distortion(distortion, k: int, output_size) -> tuple[np.ndarray, bool]:
    if output_size is not None:
        # an output alphabet whose distortion matrix alone would not fit in memory is an input error
        output_size = _v.integer("output_size", output_size, low=1, high=max(1, (1 << 34) // (8 * k)))
    if distortion is None:
        d = hamming_distortion(k, output_size)
        return d, True
    d = _v.array("distortion", distortion, ndim=2)
    if d.shape[0] != k:
        raise InvalidInputError("distortion", f"needs one row per letter of X ({k}), got shape {d.shape}")
    if d.shape[1] == 0:
        raise InvalidInputError("distortion", "needs at least one output letter (column)")
    if output_size is not None and d.shape[1] != output_size:
        raise InvalidInputError("distortion", f"has {d.shape[1]} columns but output_size is {output_size}")
    if np.any(d < 0):
        raise InvalidInputError("distortion", f"entries must be non-negative, smallest is {d.min():g}")
    return d, bool(np.array_equal(d, hamming_distortion(k, d.shape[1])))


def _model(p_xy, distortion=None, output_size=None, shape=None) -> DiscreteModel:
    p = _p_xy(p_xy, shape)
    d, ham = _distortion(distortion, p.shape[0], output_size)
    return DiscreteModel(p, d, ham)


# ------------------------------------------------------------------ builders


def _shift_costs(p: np.ndarray, distortion: np.ndarray) -> np.ndarray:
    """The expected distortion of each shift ``x -> x + j mod k`` (the blind attacker's deterministic maps)."""
    k = distortion.shape[0]
    px = p.sum(axis=1)
    return np.array([px @ distortion[np.arange(k), (np.arange(k) + j) % k] for j in range(k)])


def _check_reachable(p: np.ndarray, distortion: np.ndarray, budget: float, knows: str = "x_and_y") -> None:
    """Raise if even the cheapest channel costs more than ``budget`` (the problem would be infeasible)."""
    if knows == "nothing":  # the noise pmf's cost is linear: its least is the cheapest shift
        least = float(_shift_costs(p, distortion).min())
        why = "the blind attacker's cheapest shift x -> x + j mod k"
    else:
        least = float(p.sum(axis=1) @ distortion.min(axis=1))
        why = "every letter x must pay min_xh distortion[x, xh]"
    if budget < least * (1 - 1e-12):
        raise InvalidInputError("budget", f"{budget:g} is below the least achievable expected distortion "
                                f"{least:g} ({why})")


def _selector(k: int, ell: int) -> sp.csr_matrix:
    """``S`` with ``S[y, x*l + y] = 1``: sums the flattened rows ``x*l + y`` over ``x``."""
    return sp.kron(np.ones((1, k)), sp.eye(ell)).tocsr()


def _build(model: DiscreteModel, budget, knows: str, formulation: str, family: str, description: str,
           binary: bool = False, stealth=None, stealth_weight=None) -> AttackProblem:
    knows = _v.choice("knows", knows, KNOWS)
    formulation = _v.choice("formulation", formulation, FORMULATIONS)
    budget = _v.budget(budget, allow_none=True)
    cap = None if stealth is None else _v.scalar("stealth", stealth, nonneg=True)
    weight = None if stealth_weight is None else _v.scalar("stealth_weight", stealth_weight, nonneg=True)
    stealthy = cap is not None or weight is not None
    if knows == "nothing" and model.output_size != model.k:
        raise InvalidInputError("knows", f"'nothing' adds noise modulo the alphabet (Xhat = X + W mod k), so Xhat "
                                f"needs X's alphabet: output_size {model.output_size} != k = {model.k}")
    if stealthy and model.output_size != model.k:
        raise InvalidInputError("stealth" if cap is not None else "stealth_weight",
                                f"the defender compares the law of Xhat with that of X, which needs one alphabet: "
                                f"output_size {model.output_size} != k = {model.k}")
    if budget is not None:
        _check_reachable(model.p_xy, model.distortion, budget, knows)
    if formulation == "transport":
        if not model.hamming:
            raise InvalidInputError("formulation", "'transport' needs the Hamming distortion (its cost is the "
                                    "total-variation distance); use 'channel' for other distortions")
        if knows != "x_and_y":
            raise InvalidInputError("formulation", "'transport' moves each class's conditional separately, so it "
                                    "needs knows='x_and_y'; use 'channel' for a label-blind attacker")
    k, ell, kp = model.k, model.ell, model.output_size
    P = parameter("p_xy", model.p_xy, shape=(k, ell))
    params = {"p_xy": P}
    # Units: the solver sees the distortion and the budget divided by the largest
    # distortion, so costs are of order one whatever the user's units.
    unit = float(model.distortion.max()) if np.any(model.distortion) else 1.0
    solver_model = DiscreteModel(model.p_xy, model.distortion / unit, model.hamming)
    if budget is not None:
        params["budget"] = parameter("budget", budget)
    if cap is not None:
        params["stealth"] = parameter("stealth", cap)
    if weight is not None:
        params["stealth_weight"] = parameter("stealth_weight", weight)
    identity = model.identity_outputs()
    d = model.distortion
    # Letters of X with probability 0 must stay at 0 in Xhat for KL(P_Xhat || P_X) to be finite.  The conic form
    # gets that as a bound P_Xhat <= 1 - absent (absent: 1 on those letters, a parameter that sync keeps in step
    # with p_xy) and a reference of 1 there: left to the relative-entropy cone alone, its boundary at P_X = 0 made
    # every backend stop with an infinite KL or optimal_inaccurate (tests/test_attackers.py, absent letters).
    absent = cp.Parameter(k, nonneg=True, name="absent_letters", value=(model.p_xy.sum(axis=1) <= 0).astype(float))

    def weight_value() -> float:
        """The stealth weight's current value (0 without one)."""
        return float(np.asarray(params["stealth_weight"].value)) if "stealth_weight" in params else 0.0

    def build() -> dict:
        p_y = cp.sum(P, axis=0)
        if formulation != "transport":  # auto and iterative build the channel form as their convex model
            variables, cons, out_joint, cell_cost, class_cost = _channel_form(solver_model, P, knows)
        else:
            variables, cons, out_joint, cell_cost, class_cost = _transport_form(solver_model, P)
        # I(Y; Xhat) = min over pmfs q of D(P(y, xh) || p(y) q(xh)), attained at q = P(xh)
        # (the variational form behind Blahut-Arimoto).  Minimising jointly over the attack
        # and a free reference q keeps every cone local: tying q to sum_x r couples all
        # cones of an output and makes the KKT factorisation several times slower
        # (k = l = 24: 8 s with the coupling, 0.9 s without, Clarabel).
        ref = cp.Variable(kp, nonneg=True, name="reference")
        cons.append(cp.sum(ref) == 1)
        cost = cp.sum(class_cost)
        budget_con = None
        if budget is not None:
            budget_con = cost <= params["budget"] * (1.0 / unit)
            cons.append(budget_con)
        # p(y) is parameter-affine and q parameter-free, so the product is DPP.
        information = cp.sum(cp.rel_entr(out_joint, cp.outer(p_y, ref)))
        objective = information
        stealth_con = None
        if stealthy:
            # KL(P_Xhat || P_X) (docs/theory.md section 9): a rel_entr of a linear map of the attack.
            # (the reference is P_X + absent: 1 on the absent letters, where P_Xhat is held at 0, so their
            # terms are 0 log(0 / 1) = 0 and no cone sits on its boundary)
            kl = cp.sum(cp.rel_entr(cp.sum(out_joint, axis=0), cp.sum(P, axis=1) + absent))
            cons.append(cp.sum(out_joint, axis=0) <= 1.0 - absent)
            if cap is not None:
                stealth_con = kl <= params["stealth"]
                cons.append(stealth_con)
            if weight is not None:
                # an epigraph keeps the weight (a parameter) off the parameter-dependent KL: DPP
                kl_bound = cp.Variable(nonneg=True, name="kl")
                cons.append(kl <= kl_bound)
                objective = information + params["stealth_weight"] * kl_bound
        problem = cp.Problem(cp.Minimize(objective), cons)
        # costs in the user's units (affine views)
        variables.update({"output_joint": out_joint, "output": cp.sum(out_joint, axis=0), "reference": ref,
                          "class_cost": unit * class_cost, "cost": unit * cost})
        if cell_cost is not None:
            cell_cost = unit * cell_cost
            variables["cell_cost"] = cell_cost
            if model.hamming:
                variables["flips"] = cell_cost


        def readout(ap: AttackProblem) -> dict:
            p = np.asarray(P.value, dtype=float)
            if formulation != "transport":
                channel = _channel_from_joint(p, variables["joint_flat"].value.reshape(k, ell, kp), identity,
                                              "x" if knows == "nothing" else knows, variables.get("channel"))
            else:
                channel = _channel_from_output(p, out_joint.value, identity)
            if stealthy:
                channel = _keep_absent(p, channel, knows)
            budget_value = params["budget"].value if "budget" in params else None
            repaired = False
            if budget_value is not None and not ap.custom:
                fixed = _repair(p, channel, cheapest_shift(p) if knows == "nothing" else no_change, d,
                                float(budget_value))
                repaired, channel = fixed is not channel, fixed
            joint = p[:, :, None] * channel
            attack = {"channel": channel, "joint": joint, "output_joint": joint.sum(axis=0)}
            # The solver's objective at its point, evaluated without sign noise: CVXPY's own
            # value is inf when a class with p(y) = 0 keeps ~1e-10 of (infeasible) mass.
            pyx = np.clip(np.asarray(out_joint.value, dtype=float), 0.0, None)
            live = p.sum(axis=0) > 0
            pyx = pyx[live]
            q = np.clip(np.asarray(ref.value, dtype=float), 0.0, None)
            mi = float(np.sum(rel_entr(pyx, p.sum(axis=0)[live, None] * q[None, :])))
            if not np.isfinite(mi):  # the reference lost an output's last 1e-16: use its minimiser, P(xh)
                mi = float(np.sum(rel_entr(pyx, p.sum(axis=0)[live, None] * pyx.sum(axis=0)[None, :])))
            if binary:
                attack["flip_prob"] = np.array([[channel[x, y, 1 - x] for y in range(ell)] for x in range(k)])
            if knows == "nothing":
                attack["noise_pmf"] = _noise_pmf(p, channel)
            out = {"attack": attack, "mi": mi, "mi_check": channel_mi(p, channel),
                   "budget_used": expected_distortion(p, channel, d), "dual_scale": 1.0 / unit,
                   "repaired": repaired}
            if stealthy:
                kl_value = _kl(joint.sum(axis=(0, 1)), p.sum(axis=1))
                out["kl"], out["stealth_constraint"] = kl_value, stealth_con
                if weight is not None:
                    out["objective"] = mi + weight_value() * kl_value
            return out
        return {"problem": problem, "variables": variables, "budget_constraint": budget_con, "readout": readout}

    binary_structure = model.hamming and knows == "x_and_y" and (k, ell, kp) == (2, 2, 2) and not stealthy
    diagonal_structure = model.hamming and knows == "x_and_y" and k == ell and kp >= k and not stealthy
    blind_binary = model.hamming and knows == "nothing" and (k, ell, kp) == (2, 2, 2) and not stealthy

    def diagonal(p: np.ndarray) -> bool:
        return diagonal_structure and not np.any(p - np.diag(np.diag(p)))

    def oracle(values) -> float | None:
        if "budget" not in values:
            return None
        p = np.asarray(values["p_xy"], dtype=float)
        if binary_structure:
            return _oracles.binary_oracle(p, values["budget"]).mi
        if blind_binary:  # X xor Bern(q), q* = min(D, 1/2) (docs/theory.md section 8)
            return _oracles.binary_blind(p, values["budget"]).mi
        if diagonal(p):
            # X = Y: the rate-distortion function (knowing Y adds nothing).
            return _oracles.rate_distortion_hamming(np.diag(p), values["budget"])
        return None

    def zero_threshold(values) -> float | None:
        p = np.asarray(values["p_xy"], dtype=float)
        if binary_structure:
            return _oracles.binary_zero_threshold(p)
        if diagonal(p):
            return 1.0 - float(np.diag(p).max())
        return None

    # The no-attack channel: every letter to its cheapest output (itself when that is free).
    # (read-only views that do not depend on y: a dense k x l x k' array is 8 GB at k = l = k' = 1024)
    no_change_row = np.zeros((k, 1, kp))
    no_change_row[np.arange(k), 0, identity] = 1.0
    no_change = np.broadcast_to(no_change_row, (k, ell, kp))
    unique_cheapest = np.sum(d == d.min(axis=1, keepdims=True), axis=1) == 1

    def cheapest_shift(p: np.ndarray) -> np.ndarray:
        """The blind attacker's least-cost deterministic map, x -> x + j mod k (what a repair mixes with)."""
        j = int(np.argmin(_shift_costs(p, d)))
        chan = np.zeros((k, ell, kp))
        chan[np.arange(k), :, (np.arange(k) + j) % k] = 1.0
        return chan

    # The blind attacker's own "no attack" is the shift j = 0, Xhat = X (the cheapest per-letter map
    # need not be a shift when the distortion has a non-zero diagonal).
    identity_row = np.zeros((k, 1, kp))
    identity_row[np.arange(k), 0, np.arange(k) % kp] = 1.0
    identity_channel = np.broadcast_to(identity_row, (k, ell, kp))
    unmoved = identity_channel if knows == "nothing" else no_change

    def no_attack(values) -> float | None:
        """I(Y; X) through the no-attack channel, which no optimal attack exceeds when it is affordable."""
        p = np.asarray(values["p_xy"], dtype=float)
        if "budget" in values and expected_distortion(p, unmoved, d) > float(values["budget"]):
            return None
        return channel_mi(p, unmoved)

    def exact(values) -> dict | None:
        p = np.asarray(values["p_xy"], dtype=float)
        if knows == "nothing" and cap is not None and float(np.asarray(values["stealth"])) == 0.0:
            # KL = 0 forces P_Xhat = P_X, the circular convolution p_x * w = p_x: where no Fourier
            # coefficient of p_x vanishes, w = delta_0 is its only solution (no attack).
            affordable = "budget" not in values or expected_distortion(p, identity_channel, d) <= values["budget"]
            if not (affordable and np.all(np.abs(np.fft.fft(p.sum(axis=1))) > 1e-9)):
                return None
            channel, dual, mi = identity_channel.copy(), None, channel_mi(p, identity_channel)
            return finish(p, channel, mi, dual)
        if "budget" not in values:
            return None
        budget = float(values["budget"])
        least = float(p.sum(axis=1) @ d.min(axis=1))
        if (budget <= least and np.all(unique_cheapest[p.sum(axis=1) > 0])
                and (knows != "nothing" or np.array_equal(no_change, identity_channel))):
            # nothing to spend beyond the least cost, which one channel attains: no attack
            channel, dual = no_change.copy(), None
            mi = channel_mi(p, channel)
        elif binary_structure:
            sol = _oracles.binary_oracle(p, budget)
            channel = np.zeros((2, 2, 2))
            for x in range(2):
                channel[x, :, 1 - x] = sol.flip_prob[x]
                channel[x, :, x] = 1.0 - sol.flip_prob[x]
            mi, dual = sol.mi, sol.dual
        elif blind_binary:
            blind = _oracles.binary_blind(p, budget)
            channel = np.zeros((2, 2, 2))
            for x in range(2):
                channel[x, :, 1 - x], channel[x, :, x] = blind.q, 1.0 - blind.q
            mi, dual = blind.mi, blind.dual
        elif diagonal(p):
            mi, row, dual = _oracles.rate_distortion_channel(np.diag(p), budget)
            channel = np.zeros((k, ell, kp))
            channel[np.arange(k), :, identity] = 1.0
            channel[np.arange(k), np.arange(k), :k] = row
        else:
            return None
        return finish(p, channel, mi, dual)

    def finish(p: np.ndarray, channel: np.ndarray, mi: float, dual) -> dict:
        output_joint = np.einsum("xy,xyz->yz", p, channel)  # no k l k' temporary
        attack = {"channel": channel, "output_joint": output_joint}
        if channel.size <= JOINT_ENTRIES:  # r[x, y, xh] is p_xy[:, :, None] * channel: left out when huge
            attack["joint"] = p[:, :, None] * channel
        if binary:
            attack["flip_prob"] = np.array([[channel[x, y, 1 - x] for y in range(ell)] for x in range(k)])
        if knows == "nothing":
            attack["noise_pmf"] = _noise_pmf(p, channel)
        out = {"mi": mi, "attack": attack, "mi_check": channel_mi(p, channel),
               "budget_used": expected_distortion(p, channel, d), "dual_budget": dual}
        if stealthy:  # the exact path's answers with stealth terms move nothing; the route sets its own
            kl_value = _kl(output_joint.sum(axis=0), p.sum(axis=1))
            out["kl"] = kl_value
            if weight is not None:
                out["objective"] = mi + weight_value() * kl_value
        return out

    def sync(ap: AttackProblem) -> None:
        p = _p_xy(P.value, (k, ell))  # a new value must still be a pmf
        absent.value = (p.sum(axis=1) <= 0).astype(float)
        if "budget" in params:
            budget = params["budget"].value
            assert budget is not None  # sync runs after AttackProblem._check_values, which rejects None
            _check_reachable(p, model.distortion, float(budget), knows)

    def optimality(result: AttackResult) -> OptimalityResiduals:
        if knows == "nothing" or stealthy:
            raise NotImplementedError("the conditions of Theorem 3.3 are those of the paper's and the label-blind "
                                      "attackers without stealth terms; this problem has others")
        if result.problem is not None and result.problem.custom:
            raise NotImplementedError("custom constraints bring multipliers of their own; the conditions of "
                                      "Theorem 3.3 (budget multiplier only) do not characterise this optimum")
        lam = result.dual_budget if result.dual_budget is not None else 0.0
        return optimality_residuals(np.asarray(result.parameters["p_xy"], dtype=float), result.attack["channel"],
                                    lam, d, budget=result.parameters.get("budget"), knows=knows,
                                    support_tol=SOLVER_SUPPORT_TOL)

    def route(values, state, asked: str | None = None) -> dict | None:
        """The certified iterative route (docs/theory.md sections 5, 8 and 9), in units of the largest distortion.

        ``asked`` names the method (one of ``ROUTE_NAMES[knows]``), None lets the solver choose; a
        method that does not apply at these values declines (None).
        """
        p = np.asarray(values["p_xy"], dtype=float)
        budget = values.get("budget")
        scaled = None if budget is None else float(budget) / unit
        cap_value = values.get("stealth")
        weight_now = values.get("stealth_weight")
        common = {"stealth_weight": None if weight_now is None else float(weight_now),
                  "stealth_cap": None if cap_value is None else float(cap_value), "warm": state}
        sol: Any
        if knows == "nothing":
            from .alphabet_blind import solve_alphabet_blind

            sol = solve_alphabet_blind(p, solver_model.distortion, scaled, **common)
            name = "BLIND_SIMPLEX"
        else:
            from .alphabet import solve_alphabet

            try:
                sol = solve_alphabet(p, solver_model.distortion, scaled, knows=knows, method=_METHODS[asked],
                                     **common)
            except InvalidInputError as exc:
                if exc.argument == "method":  # the asked-for method does not apply at these values
                    return None
                raise
            name = "INTERIOR_POINT" if sol.method == "ipm" else asked or ROUTE_NAMES[knows][0]
        channel = np.asarray(sol.channel, dtype=float)
        out = finish(p, channel, float(sol.mi), None if sol.dual is None else float(sol.dual) / unit)
        out.update(solver=name, gap=float(sol.gap), iterations=int(sol.iterations), state=sol.state,
                   dual_stealth=sol.dual_stealth)
        if stealthy:
            out["kl"] = _kl(out["attack"]["output_joint"].sum(axis=0), p.sum(axis=1))
            if weight is not None:
                out["objective"] = float(sol.objective)
        return out

    # The DPP compilation's workspace (see dpp_compile_bytes), from the sizes before building:
    # the variables, one epigraph per rel_entr (and per pos() of the transport form).
    sizes = _form_sizes(model, knows, formulation)
    n_params = k * ell + len(params) - 1
    workspace = int(16 * (sizes.variables + sizes.exp_cones + 1) * (n_params + 1))
    routed = formulation in ("auto", "iterative")
    route_spec = ({"route": ROUTE_NAMES[knows][0], "routes": ROUTE_NAMES[knows],
                   "route_policy": "always" if formulation == "iterative" else "auto"} if routed else {})
    return AttackProblem(builder=build, parameters=params, family=family, cones=_CONES,
                         route=route if routed else None,
                         size_hint=lambda solver: _resources.estimate_sizes(sizes, solver, parameters=n_params),
                         oracle=oracle,
                         description=f"{description}, knows={knows}, {formulation} form", scale=1.0,
                         sync=sync, optimality=optimality, exact=exact, zero_threshold=zero_threshold,
                         no_attack=no_attack, units=unit,
                         spec={"knows": knows, "formulation": formulation, "model": model,
                               "distortion": d, "output_size": kp, "hamming": model.hamming,
                               "dpp_compile_bytes": workspace,
                               "route_hint": ("Use formulation='transport' (O(k l) variables for the Hamming "
                                              "distortion) or 'iterative' (the certified large-alphabet route)."
                                              if model.hamming and knows == "x_and_y" and formulation == "channel"
                                              else "Use formulation='iterative' (the certified large-alphabet "
                                              "route)." if formulation in ("channel", "transport") else ""),
                               **route_spec},
                         solve_options={"ignore_dpp": True} if workspace > DPP_MEMORY_LIMIT else None)


#: The cones of every discrete conic form (rel_entr).
_CONES = frozenset({"LP", "EXP"})


def _form_sizes(model: DiscreteModel, knows: str, formulation: str) -> _resources.Sizes:
    """The size of a conic form before it is built (scalar variables, exponential cones, rows)."""
    k, ell, kp = model.k, model.ell, model.output_size
    cones = ell * kp  # one rel_entr per entry of the output joint
    if formulation == "transport":
        moved = ell * min(k, kp)  # pos() epigraphs
        return _resources.Sizes(psd=[], exp_cones=cones, variables=ell * kp + kp + moved,
                                eq_rows=ell + 1, ineq_rows=moved + 1)
    attack = k * ell * kp if knows == "x_and_y" else k * kp
    return _resources.Sizes(psd=[], exp_cones=cones, variables=attack + kp,
                            eq_rows=(k * ell if knows == "x_and_y" else k) + 1, ineq_rows=attack + 1)


def dpp_compile_bytes(problem: cp.Problem, epigraphs: int = 0) -> int:
    """Estimated peak memory (bytes) of CVXPY's DPP compilation of ``problem``.

    CVXPY 1.9 restructures the exponential-cone rows of the parametrised
    program with a sparse product whose result has ``(n + 1)(p + 1)`` columns
    (``n`` variables after canonicalisation, ``p`` parameter entries), and
    SciPy's sparse product allocates two dense work arrays of that length:
    ``16 (n + 1)(p + 1)`` bytes.  Measured here: 0.54 GB at ``k = l = 32``
    (channel form) and 17 GB at ``k = l = 64``, where the non-DPP compilation
    needs 0.2 GB (see CVXPY issue 1332 on the cost of DPP compilation).

    Parameters
    ----------
    problem : cvxpy.Problem
    epigraphs : int
        Variables canonicalisation adds (one per entry of ``rel_entr`` and ``pos``).

    Returns
    -------
    int
    """
    n = sum(v.size for v in problem.variables()) + epigraphs
    p = sum(q.size for q in problem.parameters())
    return int(16 * (n + 1) * (p + 1))


def _channel_form(model: DiscreteModel, P: cp.Parameter, knows: str):
    """The joint ``r`` (flattened to rows ``x*l + y``) and its linear views."""
    k, ell, kp = model.k, model.ell, model.output_size
    cons = []
    variables: dict[str, cp.Expression] = {}
    p_rows = cp.reshape(P, (k * ell, 1), order="C")
    R: cp.Expression
    C: cp.Expression
    if knows == "x_and_y":
        R = cp.Variable((k * ell, kp), nonneg=True, name="joint")
        cons.append(cp.sum(R, axis=1) == cp.reshape(P, (k * ell,), order="C"))
    elif knows == "nothing":
        # Xhat = X + W mod k with W ~ w independent of everything (docs/theory.md section 8): the
        # channel C[x, xh] = w[(xh - x) mod k] is linear in w, and r = p_xy * C as for a label-blind one.
        w = cp.Variable(k, nonneg=True, name="noise_pmf")
        cons.append(cp.sum(w) == 1)
        shift = np.zeros((k * kp, k))
        rows, outs = np.divmod(np.arange(k * kp), kp)
        shift[np.arange(k * kp), (outs - rows) % k] = 1.0
        C = cp.reshape(shift @ w, (k, kp), order="C")
        E = np.repeat(np.eye(k), ell, axis=0)  # row x*l + y -> x
        R = cp.multiply(p_rows @ np.ones((1, kp)), E @ C)
        variables["channel"] = C
        variables["noise_pmf"] = w
    else:
        # P(xh | x, y) = C[x, xh] for every y: r = p_xy * C, parameter times variable (DPP).
        C = cp.Variable((k, kp), nonneg=True, name="channel")
        cons.append(cp.sum(C, axis=1) == 1)
        E = np.repeat(np.eye(k), ell, axis=0)  # row x*l + y -> x
        R = cp.multiply(p_rows @ np.ones((1, kp)), E @ C)
        variables["channel"] = C
    out_joint = _selector(k, ell) @ R  # (l, k')
    cell_cost = cp.reshape(cp.sum(cp.multiply(R, np.repeat(model.distortion, ell, axis=0)), axis=1), (k, ell),
                           order="C")
    class_cost = cp.sum(cell_cost, axis=0)
    variables["joint_flat"] = R
    # A 3-D view for custom constraints; using it makes CVXPY canonicalise with its SciPy backend.
    variables["joint"] = cp.reshape(R, (k, ell, kp), order="C")
    return variables, cons, out_joint, cell_cost, class_cost


def _transport_form(model: DiscreteModel, P: cp.Parameter):
    """The output joint ``P(y, xh)`` with the total-variation cost (Hamming only)."""
    k, ell, kp = model.k, model.ell, model.output_size
    Q = cp.Variable((ell, kp), nonneg=True, name="output_joint")
    cons = [cp.sum(Q, axis=1) == cp.sum(P, axis=0)]
    m = min(k, kp)
    # Mass each class must move: sum_x max(0, p(x, y) - P(y, x)); letters x >= k' move entirely.
    moved = cp.pos(P[:m, :].T - Q[:, :m])
    class_cost = cp.sum(moved, axis=1)
    if k > kp:
        class_cost = class_cost + cp.sum(P[kp:, :], axis=0)
    return {"output_joint": Q, "moved": moved}, cons, Q, None, class_cost


def _repair(p: np.ndarray, channel: np.ndarray, no_change: np.ndarray, distortion: np.ndarray,
            budget: float) -> np.ndarray:
    """The channel mixed with the no-attack channel just enough to spend no more than ``budget``.

    Interior-point solvers meet the budget only to an absolute feasibility tolerance
    (~1e-9), which at a tiny budget is an overspend of orders of magnitude.  The mixture
    ``(1 - t) channel + t no_change`` is a feasible attack (both are channels, the cost is
    linear), label-blind when the channel is, and leaks at most ``(1 - t) I(channel) +
    t I(no_change)`` (``I`` is convex in the channel), so its re-checked information
    certifies the answer for the budget asked.
    """
    cost = expected_distortion(p, channel, distortion)
    least = expected_distortion(p, no_change, distortion)
    if cost <= budget or cost <= least:
        return channel
    t = min(1.0, (cost - budget) / (cost - least))
    return (1.0 - t) * channel + t * no_change


def _keep_absent(p: np.ndarray, channel: np.ndarray, knows: str) -> np.ndarray:
    """The channel with no mass on the letters of ``X`` of probability 0 (where a finite KL needs none).

    A solver holds those outputs at 0 only to its feasibility tolerance (~1e-10), and a re-checked
    ``KL(P_Xhat || P_X)`` is then infinite.  The mass is dropped and the rows renormalised; for the blind
    attacker the shifts that reach such a letter are dropped from the noise pmf, so the channel stays a
    shift channel.  Nothing changes when every letter occurs.
    """
    present = p.sum(axis=1) > 0
    if present.all():
        return channel
    k, ell, kp = channel.shape
    if knows == "nothing":
        w = _noise_pmf(p, channel)
        # shift j reaches an absent letter from some present x: (x + j) mod k absent
        hits = np.zeros(k, dtype=bool)
        for x in np.flatnonzero(present):
            hits |= ~present[(x + np.arange(k)) % k]
        if w[~hits].sum() <= 0:
            return channel
        w = np.where(hits, 0.0, w) / w[~hits].sum()
        shift = (np.arange(k)[None, :] - np.arange(k)[:, None]) % k  # [x, xh] -> j
        return np.broadcast_to(w[shift][:, None, :], channel.shape).copy()
    out = channel.copy()
    rows = out[present][:, :, :k]
    rows[:, :, ~present] = 0.0
    sums = rows.sum(axis=2, keepdims=True)
    fine = sums[..., 0] > 0
    block = out[present]
    block[fine] = rows[fine] / sums[fine]
    out[present] = block
    return out


def _noise_pmf(p: np.ndarray, channel: np.ndarray) -> np.ndarray:
    """The blind attacker's noise pmf ``w[j] = P(Xhat = x + j mod k | x)``, read on a letter that occurs."""
    k = channel.shape[0]
    x = int(np.argmax(p.sum(axis=1)))
    return channel[x, 0, (x + np.arange(k)) % k].copy()


def _channel_from_joint(p: np.ndarray, r: np.ndarray, identity: np.ndarray, knows: str, C) -> np.ndarray:
    """``r / p`` on cells with ``p > 0``; the identity elsewhere."""
    k, ell, kp = r.shape
    channel = np.zeros((k, ell, kp))
    channel[np.arange(k), :, identity] = 1.0
    if knows == "x":
        row = np.clip(np.asarray(C.value, dtype=float), 0.0, None)
        row = row / np.where(row.sum(axis=1, keepdims=True) > 0, row.sum(axis=1, keepdims=True), 1.0)
        has = p.sum(axis=1) > 0
        channel[has] = row[has][:, None, :]
        return channel
    r = np.clip(r, 0.0, None)
    sums = r.sum(axis=2)
    live = (p > 0) & (sums > 0)
    channel[live] = r[live] / sums[live][:, None]
    return channel


def _channel_from_output(p: np.ndarray, q_joint: np.ndarray, identity: np.ndarray) -> np.ndarray:
    """An optimal Hamming coupling per class: keep ``min(p, q)`` in place, move the excess greedily.

    Any coupling of ``p(. | y)`` and ``q(. | y)`` that keeps the common mass
    in place moves exactly their total-variation distance, which is the
    least expected Hamming distortion.
    """
    k, ell = p.shape
    kp = q_joint.shape[1]
    channel = np.zeros((k, ell, kp))
    channel[np.arange(k), :, identity] = 1.0
    q_joint = np.clip(np.asarray(q_joint, dtype=float), 0.0, None)
    for y in range(ell):
        mass = p[:, y].sum()
        if mass <= 0:
            continue
        q = q_joint[y] * (mass / q_joint[y].sum()) if q_joint[y].sum() > 0 else np.zeros(kp)
        m = min(k, kp)
        coupling = np.zeros((k, kp))
        stay = np.minimum(p[:m, y], q[:m])
        coupling[np.arange(m), np.arange(m)] = stay
        excess = p[:, y].copy()
        excess[:m] -= stay
        deficit = q.copy()
        deficit[:m] -= stay
        j = 0
        for x in range(k):
            while excess[x] > 0 and j < kp:
                step = min(excess[x], deficit[j])
                coupling[x, j] += step
                excess[x] -= step
                deficit[j] -= step
                if deficit[j] <= 0:
                    j += 1
            if excess[x] > 0:  # rounding crumbs: onto the output with the largest target mass q
                coupling[x, int(np.argmax(q))] += excess[x]
        live = p[:, y] > 0
        channel[live, y] = coupling[live] / p[live, y][:, None]
    return channel


# ----------------------------------------------------------------- factories


@rebuildable
def binary_channel(p_xy, budget, *, knows: str = "x_and_y", formulation: str = "auto", stealth=None,
                   stealth_weight=None) -> AttackProblem:
    """Theorem 3.3: flip a binary observation to hide a binary label.

    ``X, Y in {0, 1}`` with joint pmf ``p_xy[x, y]``; the attacker outputs
    ``Xhat = X xor Delta`` with flip probabilities ``q[x, y]`` and an expected
    number of flips ``sum p_xy q <= budget``, minimising ``I(Y; Xhat)``.

    Parameters
    ----------
    p_xy : array_like, shape (2, 2)
        Joint pmf of ``(X, Y)`` (zero cells and classes with ``p(y) = 0`` allowed).
    budget : float or None
        Bound on the expected flips (>= 0), or None for no budget (add your
        own with :meth:`AttackProblem.with_constraints`).
    knows : {"x_and_y", "x", "nothing"}
        The paper's attacker sees ``(X, Y)``; a label-blind one sees only ``X``
        (its flip probabilities do not depend on ``y``; never better); a blind
        one flips independently of everything, ``Xhat = X xor Bern(q)``
        (``result.attack["noise_pmf"]`` is ``[1 - q, q]``).
    stealth : float, optional
        Cap ``KL(P_Xhat || P_X) <= stealth`` (nats) on how far the attack moves
        the law the defender receives (docs/theory.md section 9);
        ``parameters["stealth"]``.  Needs ``Xhat`` on ``X``'s alphabet.
    stealth_weight : float, optional
        Minimise ``I(Y; Xhat) + stealth_weight * KL(P_Xhat || P_X)``;
        ``parameters["stealth_weight"]``.  With either term ``budget=None`` is
        allowed.
    formulation : {"auto", "channel", "transport", "iterative"}
        ``"channel"``: the joint ``r[x, y, xh]``; ``"transport"``: the compact
        total-variation form over ``P(y, xh)`` (``knows="x_and_y"`` only);
        ``"iterative"`` and ``"auto"``: see :func:`discrete_channel`.

    Returns
    -------
    AttackProblem
        ``parameters["p_xy"]`` and ``parameters["budget"]`` are
        ``cp.Parameter`` objects (DPP: set ``.value`` and re-solve).
        Variables (channel form): ``joint`` (``r[x, y, xh]``, a 3-D view),
        ``joint_flat`` (rows ``x*l + y``), ``flips`` / ``cell_cost``
        (``[x, y]``), ``class_cost`` (expected flips of each class ``[y]``),
        ``cost``, ``output_joint`` (``P(y, xh)``), ``output`` (``P(xh)``),
        ``reference`` (the free pmf ``q`` of the objective
        ``D(P(y, xh) || p(y) q(xh))``, equal to ``P(xh)`` at the optimum), and
        ``channel`` (``P(xh | x)``) when ``knows="x"``.  Transport form:
        ``output_joint``, ``output``, ``reference``, ``moved`` (``[y, x]``),
        ``class_cost``, ``cost``.
        ``oracle()`` is :func:`mi_cvx.oracles.binary_oracle` (``knows="x_and_y"``).
        ``result.attack`` holds ``channel`` (``[x, y, xh]``; the identity where
        ``p_xy[x, y] = 0``, where it is undefined), ``flip_prob`` (``q[x, y]``),
        ``joint`` and ``output_joint``.  ``result.optimality()`` evaluates
        Theorem 3.3 at the solution (see :func:`optimality_residuals`).

    Raises
    ------
    InvalidInputError
        If ``p_xy`` is not a 2 x 2 pmf (negative, NaN, not summing to 1 within
        1e-9), ``budget`` is negative or not finite, or ``knows`` /
        ``formulation`` is unknown or the combination is unsupported.
    """
    model = _model(p_xy, shape=(2, 2))
    return _build(model, budget, knows, formulation, "binary_channel", "binary channel", binary=True,
                  stealth=stealth, stealth_weight=stealth_weight)


@rebuildable
def discrete_channel(p_xy, budget, distortion=None, output_size=None, *, knows: str = "x_and_y",
                     formulation: str = "auto", stealth=None, stealth_weight=None) -> AttackProblem:
    """Finite alphabets with any distortion (docs/theory.md section 5).

    ``X in {0..k-1}``, ``Y in {0..l-1}`` with joint pmf ``p_xy[x, y]``; the
    attacker outputs ``Xhat in {0..k'-1}`` with ``E distortion[X, Xhat] <= budget``,
    minimising ``I(Y; Xhat)``.

    Parameters
    ----------
    p_xy : array_like, shape (k, l)
        Joint pmf of ``(X, Y)`` (zero cells and classes allowed).
    budget : float or None
        Bound on the expected distortion (>= 0), or None for no budget.
    distortion : array_like, shape (k, k'), optional
        Non-negative cost ``d[x, xh]``.  Default: Hamming, ``[x != xh]``.
    output_size : int, optional
        ``k'``; default ``k``, or the number of columns of ``distortion``.
    knows : {"x_and_y", "x", "nothing"}
        The paper's attacker, a label-blind one (``P(xh | x, y)`` the same
        for every ``y``: the joint is ``p_xy[x, y] * channel[x, xh]``, still
        DPP and convex; never better for the attacker), or a blind one
        (``Xhat = X + W mod k`` with ``W ~ w`` independent of everything,
        docs/theory.md section 8: the channel is linear in ``w``, the cost
        ``E d(X, Xhat)`` too; ``result.attack["noise_pmf"]`` is ``w``; needs
        ``output_size == k``).
    stealth : float, optional
        Cap ``KL(P_Xhat || P_X) <= stealth`` (nats) on how far the attack moves
        the law the defender receives (docs/theory.md section 9);
        ``parameters["stealth"]``.  Needs ``Xhat`` on ``X``'s alphabet.
    stealth_weight : float, optional
        Minimise ``I(Y; Xhat) + stealth_weight * KL(P_Xhat || P_X)``;
        ``parameters["stealth_weight"]``.  With either term ``budget=None`` is
        allowed.
    formulation : {"auto", "channel", "transport", "iterative"}
        ``"channel"``: the joint ``r[x, y, xh]`` (``k l k'`` variables).
        ``"transport"``: Hamming only, the output joint ``P(y, xh)`` with the
        total-variation cost (``l k'`` variables); the two agree.
        ``"iterative"``: the channel form as the convex model, but a default
        solve goes to the certified large-alphabet route (docs/theory.md
        section 5), stealth terms included: constrained Blahut-Arimoto
        (``result.solver == "BLAHUT_ARIMOTO"``) for the paper's attacker with
        a Hamming or ``|x - xh|`` distortion (no stealth cap, a stealth weight
        at most 1), a structured barrier method (``"INTERIOR_POINT"``, in
        numpy, no CVXPY) for any other distortion, the label-blind attacker
        and stealth caps, and a primal-dual interior-point method on the noise
        pmf (``"BLIND_SIMPLEX"``, section 8) for the blind attacker.
        ``result.gap`` is the certificate (a bound in nats from a dual bound;
        ok only when at most 1e-6) and ``result.optimality()`` works as for
        conic solves.
        ``"auto"`` (default): the channel form, with a default solve choosing
        by structure and size: the conic solve when it is estimated under a
        second, else the exact path where one applies (binary, ``X = Y``),
        else the certified route.  ``result.solver`` and ``result.note`` say
        which answered; ``solve("CLARABEL")``, ``solve("BLAHUT_ARIMOTO")`` or
        ``solve("INTERIOR_POINT")`` asks for one.

    Returns
    -------
    AttackProblem
        ``parameters["p_xy"]``, ``parameters["budget"]``: ``cp.Parameter``
        objects (DPP).  Variables as in :func:`binary_channel` (``flips`` only
        for Hamming).  ``oracle()``: for a 2 x 2 Hamming problem the binary
        oracle; for ``X = Y`` (diagonal ``p_xy``) with Hamming distortion the
        rate-distortion function :func:`mi_cvx.oracles.rate_distortion_hamming`;
        otherwise None.  ``result.attack["channel"]`` is ``P(xh | x, y)``
        (the identity where ``p_xy[x, y] = 0``, where it is undefined);
        ``result.attack["joint"]`` (``p_xy[:, :, None] * channel``) is left out
        above :data:`JOINT_ENTRIES` entries.
        Large channel forms (a DPP compilation estimated above
        :data:`DPP_MEMORY_LIMIT`, about ``k = l = k' >= 40``) solve with
        ``ignore_dpp=True`` by default (:attr:`AttackProblem.solve_options`).

    Raises
    ------
    InvalidInputError
        If ``p_xy`` is not a 2-d pmf, ``distortion`` is not a non-negative
        finite ``k x k'`` matrix (or disagrees with ``output_size``),
        ``output_size`` is not a positive integer, ``budget`` is negative or
        not finite, or ``knows`` / ``formulation`` is unknown or unsupported
        (``"transport"`` needs Hamming distortion and ``knows="x_and_y"``).
    """
    model = _model(p_xy, distortion, output_size)
    k, ell = model.p_xy.shape
    return _build(model, budget, knows, formulation, "discrete_channel",
                  f"discrete channel, k={k}, l={ell}, k'={model.output_size}"
                  + ("" if model.hamming else ", custom distortion"), stealth=stealth, stealth_weight=stealth_weight)


# ------------------------------------------------------- the family descriptions
# What only the discrete families know, declared once for the generic modules:
# how to draw feasible attack channels and the logit witness (Lemma 2.1's checks),
# the least feasible budget, the named cases, the parameters of the CLI and spec files.

def _discrete_data(ap: AttackProblem):
    """``(p_xy, distortion, knows, base)`` of a discrete problem; ``base`` is the least-cost map."""
    if "p_xy" not in ap.parameters or "distortion" not in ap.spec:
        raise InvalidInputError("attack_problem", f"the {ap.family} problem does not record p_xy and its "
                                "distortion; build it with a mi_cvx discrete factory")
    p = np.asarray(ap.parameters["p_xy"].value, dtype=float)
    d = np.asarray(ap.spec["distortion"], dtype=float)
    knows = ap.spec.get("knows", "x_and_y")
    model = ap.spec.get("model")
    outputs = model.identity_outputs() if model is not None else np.argmin(d, axis=1)
    k, ell = p.shape
    base = np.zeros((k, ell, d.shape[1]))
    if knows == "nothing":  # the least-cost shift x -> x + j mod k
        px = p.sum(axis=1)
        j = int(np.argmin([px @ d[np.arange(k), (np.arange(k) + j) % k] for j in range(k)]))
        outputs = (np.arange(k) + j) % k
    base[np.arange(k), :, outputs] = 1.0
    return p, d, knows, base


def _discrete_space(ap: AttackProblem) -> AttackSpace:
    """Attack channels ``P(xh | x, y)`` meeting ``E d(X, Xhat) <= D``."""
    p, d, knows, base = _discrete_data(ap)
    k, ell = p.shape
    kp = d.shape[1]
    budget = budget_value(ap)
    least = expected_distortion(p, base, d)
    cap_kl, weight = ap.scalar("stealth"), ap.scalar("stealth_weight")
    p_x = p.sum(axis=1)

    def kl_of(chan) -> float:
        return _kl((p[:, :, None] * chan).sum(axis=(0, 1)), p_x)

    def sample(rng: np.random.Generator) -> np.ndarray:
        if knows == "nothing":  # Xhat = X + W mod k: a noise pmf, deterministic a quarter of the time
            w = (np.eye(k)[rng.integers(k)] if rng.random() < 0.25
                 else rng.dirichlet(np.full(k, rng.uniform(0.2, 2.0))))
            chan = np.zeros((k, ell, kp))
            for j in range(k):
                chan[np.arange(k), :, (np.arange(k) + j) % k] = w[j]
        else:
            rows = ell if knows == "x_and_y" else 1
            if rng.random() < 0.25:  # a deterministic map
                chan = np.zeros((k, rows, kp))
                chan[np.arange(k)[:, None], np.arange(rows)[None, :], rng.integers(kp, size=(k, rows))] = 1.0
            else:
                chan = rng.dirichlet(np.full(kp, rng.uniform(0.2, 2.0)), size=(k, rows))
            chan = np.broadcast_to(chan, (k, ell, kp)).copy()
        if budget is not None:
            cost = expected_distortion(p, chan, d)
            target = least + (budget - least) * (1.0 if rng.random() < 0.25 else rng.uniform(0.0, 1.0))
            if cost > target:  # mix with the least-cost map until the budget is met (cost is linear)
                a = (target - least) / (cost - least)
                chan = (1.0 - a) * base + a * chan
        for _ in range(60):  # shrink towards the least-cost map until the stealth cap holds
            if cap_kl is None or kl_of(chan) <= cap_kl:
                break
            chan = 0.5 * (base + chan)
        return chan

    def mi(chan) -> float:
        value = channel_mi(p, chan)
        return value + weight * kl_of(chan) if weight is not None else value

    def violation(chan) -> float:
        chan = np.asarray(chan, dtype=float)
        parts = [max(0.0, -float(chan.min())), float(np.abs(chan.sum(axis=2) - 1.0).max())]
        if budget is not None:
            parts.append(max(0.0, expected_distortion(p, chan, d) - budget))
        if knows in ("x", "nothing"):  # a label-blind channel does not depend on y
            parts.append(float(np.abs(chan - chan[:, :1, :]).max()))
        if knows == "nothing":  # ... nor on x but through x + W mod k
            shifted = np.stack([chan[np.arange(k), 0, (np.arange(k) + j) % k] for j in range(k)], axis=1)
            parts.append(float(np.abs(shifted - shifted[:1, :]).max()))
        if cap_kl is not None:
            parts.append(max(0.0, kl_of(chan) - cap_kl))
        return float(max(parts))

    return AttackSpace(
        description=("attack channels P(xh | x, y) (rows on the simplex"
                     + {"x_and_y": "", "x": ", independent of y", "nothing": ", Xhat = X + W mod k"}[knows]
                     + ") with E d(X, Xhat) <= budget"
                     + (f", KL(P_Xhat || P_X) <= {cap_kl:g}" if cap_kl is not None else "")
                     + "; I(Y; Xhat) evaluated with mi_cvx.info.channel_mi"
                     + (f", plus {weight:g} KL(P_Xhat || P_X)" if weight is not None else "")),
        sample=sample, mi=mi, violation=violation)


def _discrete_witness(ap: AttackProblem, seed: int = 0) -> Check:
    p, d, knows, base = _discrete_data(ap)
    space = _discrete_space(ap)
    rng = np.random.default_rng(seed)
    # A feasible target channel that moves I: the best of a few samples on the budget's boundary.
    candidates = [space.sample(rng) for _ in range(16)]
    target = max(candidates, key=lambda c: abs(space.mi(c) - space.mi(base)))

    def info_at(s: float) -> float:
        w = 1.0 / (1.0 + math.exp(-s))
        return channel_mi(p, (1.0 - w) * base + w * target)

    chk = nonconvexity_witness(info_at, -8.0, 8.0, what="I(s)")
    form = "P(s) = (1 - sigmoid(s)) P_0 + sigmoid(s) P_1 (logit s; P_0 the least-distortion map, P_1 feasible)"
    within = "every P(s) is within the budget, and " if budget_value(ap) is not None else ""
    chk.detail = f"logit of the attack channel, {form}; {within}I is convex in P but not in s: {chk.detail}"
    chk.data["parametrisation"] = form
    return chk


def _least_budget(ap: AttackProblem) -> float:
    """The least feasible budget: the expected distortion of the least-cost map."""
    p, d, _, base = _discrete_data(ap)
    return expected_distortion(p, base, d)


_P_BINARY = np.array([[0.3, 0.1], [0.15, 0.45]])  # p_xy[x, y]; zero-information budget D0 = 0.218
_P_SOURCE = np.array([0.5, 0.3, 0.2])


def _binary_cases() -> list[Case]:
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
            reference="oracles.binary_oracle (total-variation oracle, docs/theory.md section 4)", note=note))
    return out


def _general_cases() -> list[Case]:
    out = []
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
            reference="oracles.rate_distortion_hamming (X = Y: the rate-distortion function, docs/theory.md section 5)",
            note=f"diagonal p_xy (X = Y), Hamming distortion, {formulation} form"))
    return out


_KNOWS = knows_param(KNOWS)
_STEALTH_NAMES = STEALTH_NAMES
_STEALTH = STEALTH_PARAMS


def _observed(result) -> tuple[str, np.ndarray, np.ndarray]:
    """The defender's laws: the pmfs of ``X`` and of ``Xhat``."""
    clean = np.asarray(result.parameters["p_xy"], dtype=float).sum(axis=1)
    attacked = np.asarray(result.attack["output_joint"], dtype=float).sum(axis=0)
    if attacked.size != clean.size:
        raise InvalidInputError("result", f"Xhat has {attacked.size} letters and X {clean.size}: the defender "
                                "compares laws on one alphabet")
    return "discrete", clean, attacked
_FORMULATION = Param("formulation", "choice", "auto (default: by structure and size), channel (the attack "
                     "channel), transport (the total-variation form) or iterative (the certified route)",
                     choices=FORMULATIONS)
_P_XY = Param("p_xy", "array", "the joint pmf p[x, y]", required=True)

FAMILIES = (
    Family(
        name="binary_channel",
        summary="Theorem 3.3: X, Y binary, Xhat = X xor Delta, expected flips <= budget",
        factory=binary_channel,
        params=(_P_XY, Param("budget", "budget", "the expected number of flips", required=True,
                             unless=_STEALTH_NAMES), _KNOWS, _FORMULATION,
                *_STEALTH),
        theory="docs/theory.md section 4",
        group="discrete",
        aliases=("binary",),
        oracles={"solution": _oracles.binary_oracle, "zero_threshold": _oracles.binary_zero_threshold},
        attack_space=_discrete_space, witness=_discrete_witness, least_budget=_least_budget, observed=_observed,
        sample=discrete_sample, consequences=discrete_consequences,
        cases=_binary_cases,
        attackers=KNOWS, formulations=FORMULATIONS,
    ),
    Family(
        name="discrete_channel",
        summary="finite alphabets: E d(X, Xhat) <= budget, any distortion",
        factory=discrete_channel,
        params=(_P_XY, Param("budget", "budget", "the expected distortion E d(X, Xhat)", required=True,
                             unless=_STEALTH_NAMES),
                Param("distortion", "array", "the distortion matrix d[x, xhat] (default Hamming)"),
                Param("output_size", "integer", "the size of Xhat's alphabet (default: that of X)"),
                _KNOWS, _FORMULATION, *_STEALTH),
        theory="docs/theory.md section 5",
        group="discrete",
        aliases=("discrete",),
        oracles={"binary": _oracles.binary_oracle, "rate_distortion_hamming": _oracles.rate_distortion_hamming,
                 "rate_distortion_channel": _oracles.rate_distortion_channel},
        attack_space=_discrete_space, witness=_discrete_witness, least_budget=_least_budget, observed=_observed,
        sample=discrete_sample, consequences=discrete_consequences,
        cases=_general_cases,
        attackers=KNOWS, formulations=FORMULATIONS,
    ),
)
