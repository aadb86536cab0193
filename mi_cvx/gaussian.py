"""Gaussian attack problems as log-det SDPs (docs/theory.md sections 1-3 and 6).

Model: ``Y ~ N(0, signal_cov)`` in R^n, ``X = A Y + N`` with
``N ~ N(0, noise_cov)`` in R^m independent of ``Y``; the attacker adds
``Delta`` and the system sees ``Z = X + Delta``.  The optimal attack is jointly
Gaussian with ``(Y, N)`` (Theorem 3.1), so the decision variable is the joint
covariance ``S`` of ``(Y, N, Delta)``; ``I(Y; Z)`` is
``0.5 logdet(signal_cov) - 0.5 logdet Cov(Y | Z)`` and ``Cov(Y | Z) >= K`` is a
Schur-complement LMI in ``S``, so maximising ``log_det(K)`` is a DCP problem.

Factories
---------
* :func:`gaussian_scalar` -- Theorem 3.1.
* :func:`gaussian_vector` -- the general model (Theorem 3.2 when noiseless
  with a scalar signal covariance).
* :func:`gaussian_sparse` -- the attack confined to a subset of the rows of
  ``X`` (the budgeted form of Theorem 4.1).

Attack readout (``result.attack``)
----------------------------------
``joint_cov``
    Covariance of ``(Y, N, Delta)``, size ``n + 2m``.
``F``, ``G``, ``W_cov``
    The attack as ``Delta = F Y + G N + W`` with ``W ~ N(0, W_cov)``
    independent of ``(Y, N)``.
``attack_cov``
    ``Cov(Delta)``.
``posterior_cov``
    ``Cov(Y | Z)`` at the optimum (the variable ``K``).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import cvxpy as cp
import numpy as np

from . import oracles as _oracles
from . import resources as _resources
from . import validate as _v
from .convexity.checks import SET_TOL, AttackSpace, Check, budget_value, nonconvexity_witness
from .core import AttackProblem, parameter, rebuildable
from .errors import InvalidInputError
from .family import STEALTH_NAMES, STEALTH_PARAMS, Case, Family, Param, knows_param
from .info import conditional_covariance, gaussian_kl, gaussian_linear_mi
from .sampling import gaussian_consequences, gaussian_sample

#: The attacker models: the paper's (sees X and Y), label-blind (sees X only) and blind
#: (sees nothing: Delta ~ N(0, S) independent of everything, docs/theory.md section 8).
KNOWS = ("x_and_y", "x", "nothing")
#: ``auto`` (the default) picks the exact path, the conic form or the certified route by structure and size;
#: ``full`` the joint-covariance SDP; ``compact`` the noiseless rate-distortion SDP; ``transport`` the
#: conditional-transport route (docs/theory.md section 7; sections 8-9 for the blind attacker).
FORMULATIONS = ("auto", "full", "compact", "transport")


@dataclass(frozen=True)
class GaussianModel:
    """The validated data of a Gaussian attack problem (``X = A Y + N``)."""

    A: np.ndarray
    signal_cov: np.ndarray
    noise_cov: np.ndarray
    support: np.ndarray  # rows of X the attack may touch

    @property
    def n(self) -> int:
        return self.A.shape[1]

    @property
    def m(self) -> int:
        return self.A.shape[0]

    @functools.cached_property
    def structure(self) -> _Structure:
        """The exact structured path of this model (decomposed once, on first use)."""
        return _Structure(self)

    @property
    def x_cov(self) -> np.ndarray:
        """``Cov(X) = A signal_cov A^T + noise_cov``."""
        return self.A @ self.signal_cov @ self.A.T + self.noise_cov

    def joint_map(self) -> tuple[np.ndarray, np.ndarray]:
        """Maps from ``(Y, N, Delta)`` to ``Y`` and to ``Z``."""
        n, m = self.n, self.m
        to_y = np.hstack([np.eye(n), np.zeros((n, 2 * m))])
        to_z = np.hstack([self.A, np.eye(m), np.eye(m)])
        return to_y, to_z

    def mi_of(self, joint_cov: np.ndarray) -> float:
        """``I(Y; Z)`` of a joint covariance of ``(Y, N, Delta)``, in plain numpy."""
        to_y, to_z = self.joint_map()
        return gaussian_linear_mi(joint_cov, to_y, to_z)

    def mi_of_gains(self, F, G, W_cov) -> float:
        """``I(Y; Z)`` for ``Delta = F Y + G N + W``, from ``Z = (A + F) Y + (I + G) N + W``.

        ``0.5 logdet Cov(Z) - 0.5 logdet Cov(Z | Y)`` with both covariances formed from
        the net gains: accurate also when the attack nearly cancels the signal (a tiny
        budget), where the joint covariance of ``(Y, N, Delta)`` loses the difference
        to rounding.  Falls back to :meth:`mi_of` when ``Cov(Z | Y)`` is singular.
        """
        B = self.A + F
        C = np.eye(self.m) + G
        noise = C @ self.noise_cov @ C.T + W_cov
        noise = 0.5 * (noise + noise.T)
        cov_z = B @ self.signal_cov @ B.T + noise
        # Z lives in the range of Cov(Z) (rank-deficient A, no noise on some rows).
        lam, Q = np.linalg.eigh(0.5 * (cov_z + cov_z.T))
        Q = Q[:, lam > lam.max(initial=0.0) * self.m * 1e-13]
        sign_z, logdet_z = np.linalg.slogdet(Q.T @ cov_z @ Q)
        noise = Q.T @ noise @ Q
        sign_n, logdet_n = np.linalg.slogdet(0.5 * (noise + noise.T))
        if Q.shape[1] == 0:
            return 0.0
        if sign_z <= 0 or sign_n <= 0 or np.linalg.cond(noise) > 1e13:
            return self.mi_of(self.joint_from_gains(F, G, W_cov))
        return float(max(0.5 * (logdet_z - logdet_n), 0.0))

    def joint_from_gains(self, F, G, W_cov) -> np.ndarray:
        """Covariance of ``(Y, N, Delta)`` for ``Delta = F Y + G N + W``."""
        sy, sn = self.signal_cov, self.noise_cov
        c_dy, c_dn = F @ sy, G @ sn
        c_dd = F @ sy @ F.T + G @ sn @ G.T + W_cov
        n, m = self.n, self.m
        out = np.zeros((n + 2 * m, n + 2 * m))
        out[:n, :n], out[n:n + m, n:n + m] = sy, sn
        out[n + m:, :n], out[:n, n + m:] = c_dy, c_dy.T
        out[n + m:, n:n + m], out[n:n + m, n + m:] = c_dn, c_dn.T
        out[n + m:, n + m:] = 0.5 * (c_dd + c_dd.T)
        return out


def _model(A, signal_cov, noise_cov, support=None) -> GaussianModel:
    A, sy, sn = _v.observation_model(A, signal_cov, noise_cov)
    m = A.shape[0]
    rows = np.arange(m) if support is None else _v.row_indices("support", support, m)
    return GaussianModel(A, sy, sn, rows)


def _noise_factor(noise_cov: np.ndarray) -> np.ndarray:
    """``L`` with ``noise_cov = L L^T`` and full column rank (shape (m, rank))."""
    w, V = np.linalg.eigh(noise_cov)
    keep = w > max(w.max(initial=0.0), 0.0) * noise_cov.shape[0] * 1e-12
    return V[:, keep] * np.sqrt(w[keep])


@dataclass(frozen=True)
class Units:
    """The scales a Gaussian problem is solved in: ``Y = sqrt(signal) Y'``, ``X = sqrt(observation) X'``.

    The factories solve the model in these units, where ``signal_cov`` has unit
    mean variance and ``Cov(X)`` unit mean variance, so the conic solvers see
    numbers of order one whatever the user's units; every reported quantity is
    scaled back.  ``I(Y; Z)`` does not depend on units.
    """

    signal: float
    observation: float

    @classmethod
    def of(cls, model: GaussianModel) -> Units:
        signal = float(np.trace(model.signal_cov)) / model.n
        observation = float(np.trace(model.x_cov)) / model.m
        return cls(signal, observation if observation > 0 else 1.0)

    def normalise(self, model: GaussianModel) -> GaussianModel:
        return GaussianModel(model.A * np.sqrt(self.signal / self.observation), model.signal_cov / self.signal,
                             model.noise_cov / self.observation, model.support)

    def joint_scale(self, n: int, m: int) -> np.ndarray:
        """Per-coordinate scale of ``(Y, N, Delta)``: user = scale * normalised."""
        return np.concatenate([np.full(n, np.sqrt(self.signal)), np.full(2 * m, np.sqrt(self.observation))])

    def gains(self, F, G, W):
        """``(F, G, W_cov)`` of ``Delta = F Y + G N + W`` from normalised units to the user's."""
        return F * np.sqrt(self.observation / self.signal), G, W * self.observation


@dataclass(frozen=True)
class Stealth:
    """The detectability terms of a problem (docs/theory.md section 9): a cap and/or a weight on the KL."""

    cap: float | None = None
    weight: float | None = None

    @property
    def any(self) -> bool:
        return self.cap is not None or self.weight is not None

    @classmethod
    def of(cls, stealth, stealth_weight) -> Stealth:
        cap = None if stealth is None else _v.scalar("stealth", stealth, nonneg=True)
        weight = None if stealth_weight is None else _v.scalar("stealth_weight", stealth_weight, nonneg=True)
        return cls(cap, weight)

    def parameters(self) -> dict:
        out = {}
        if self.cap is not None:
            out["stealth"] = parameter("stealth", self.cap)
        if self.weight is not None:
            out["stealth_weight"] = parameter("stealth_weight", self.weight)
        return out


def _check_stealth(model: GaussianModel, stealth: Stealth) -> None:
    """A stealth term needs a defender's law with a density: ``Cov(X)`` positive definite."""
    if not stealth.any:
        return
    name = "stealth" if stealth.cap is not None else "stealth_weight"
    cov = model.x_cov
    eig = np.linalg.eigvalsh(0.5 * (cov + cov.T))
    if eig.min() <= _v.MATRIX_TOL * max(float(eig.max()), np.finfo(float).tiny) * model.m:
        raise InvalidInputError(name, "the defender's law of X is degenerate (Cov(X) = A signal_cov A^T + noise_cov "
                                f"is singular, smallest eigenvalue {eig.min():.3g}): KL(P_Z || P_X) is infinite "
                                "for every attack that leaves its support, so a stealth term says nothing; give "
                                "every direction of X some noise")


def _build(model: GaussianModel, budget, knows: str, formulation: str, family: str, description: str,
           oracle, stealth=None, stealth_weight=None) -> AttackProblem:
    knows = _v.choice("knows", knows, KNOWS)
    formulation = _v.choice("formulation", formulation, FORMULATIONS)
    budget = _v.budget(budget, allow_none=True)
    terms = Stealth.of(stealth, stealth_weight)
    _check_stealth(model, terms)
    unbounded = knows == "nothing" and budget is None and not terms.any and model.support.size > 0

    def refuse_unbounded(ap: AttackProblem) -> None:
        # (checked at solve time: constraints of the user's own, added later, may bound the attack)
        if unbounded and not ap.custom:
            raise InvalidInputError("budget", "the blind attacker needs a budget, a stealth term or constraints of "
                                    "your own: without any the information has no minimum (it only tends to 0 as "
                                    "the added noise grows)")
    units = Units.of(model)
    if formulation == "compact":
        if np.any(model.noise_cov):
            raise InvalidInputError("formulation", "'compact' needs noise_cov = 0 (it is the rate-distortion "
                                    "SDP of the noiseless observation); use 'full'")
        if model.support.size != model.m:
            raise InvalidInputError("formulation", "'compact' supports attacks on every row only; use 'full'")
        if knows != "x_and_y" or terms.any:
            raise InvalidInputError("formulation", "'compact' is the paper's attacker without stealth terms; use "
                                    "'full' for other attackers and for stealth")
        problem = _build_compact(model, units, budget, family, description, oracle)
    else:
        route = _route_name(model, knows, terms)
        if formulation == "transport" and route is None:
            raise InvalidInputError("formulation", "'transport' solves the paper's attacker (knows='x_and_y') "
                                    "without stealth terms and the blind attacker (knows='nothing'), with every "
                                    "row attackable; use 'auto' or 'full' for this problem")
        problem = _build_full(model, units, budget, knows, family, description,
                              _attacker_oracle(model, knows, terms, oracle), terms)
        if route is not None and formulation in ("auto", "transport"):
            problem.spec.update(formulation=formulation, route=route, routes=(route,),
                                route_policy="always" if formulation == "transport" else "auto")
            problem.with_hooks(route=_route_path(model, units, knows, terms))
            problem.description += f", {formulation} route"
        elif route is not None:
            problem.spec["route_hint"] = (f"Use formulation='auto' or 'transport': the certified {route} route "
                                          "scales to hundreds of rows (docs/theory.md sections 7-9).")
    problem.with_hooks(exact=_exact_path(model, units, knows, terms), sync=refuse_unbounded,
                       no_attack=lambda values: model.structure.no_attack_mi,
                       zero_threshold=_zero_threshold(model) if knows == "x_and_y" and not terms.any else None)
    return problem


def _route_name(model: GaussianModel, knows: str, terms: Stealth) -> str | None:
    """The certified route of this attacker (``result.solver``), or None where none applies."""
    if model.support.size != model.m or model.m == 0:
        return None
    if knows == "x_and_y" and not terms.any:
        return "TRANSPORT"
    if knows == "nothing":
        return "BLIND_DESCENT"
    return None


def _route_path(model: GaussianModel, units: Units, knows: str, terms: Stealth):
    """The certified first-order route: docs/theory.md section 7 (paper's attacker), 8-9 (blind).

    Solved in the normalised units of :class:`Units`; every number is reported back in the
    user's.  The route's certificate ``gap`` (nats) does not depend on units.  The paper's
    attacker needs positive-definite noise (the Brenier map); otherwise the route declines
    (None) and the conic form answers.
    """
    name = _route_name(model, knows, terms)
    norm = units.normalise(model)
    n, m = model.n, model.m
    pd_noise = _pd_noise(model)

    def route(values, state, asked: str | None = None) -> dict | None:
        budget = values.get("budget")
        scaled = None if budget is None else float(budget) / units.observation
        if name == "TRANSPORT":
            if not pd_noise or scaled is None:
                return None
            from .transport import solve_transport

            sol = solve_transport(norm.A, norm.signal_cov, norm.noise_cov, scaled, warm=state)
            F, G, W = units.gains(sol.F, sol.G, np.zeros((m, m)))
            extra: dict = {}
        else:
            from .gaussian_blind import solve_blind

            cap, weight = values.get("stealth"), values.get("stealth_weight")
            blind = solve_blind(norm.A, norm.signal_cov, norm.noise_cov, scaled,
                                stealth_weight=None if weight is None else float(weight),
                                stealth_cap=None if cap is None else float(cap), warm=state)
            F, G, W = np.zeros((m, n)), np.zeros((m, m)), units.observation * blind.attack_cov
            extra = {"dual_stealth": blind.dual_stealth}
            if terms.weight is not None:
                extra["objective"] = blind.objective
            sol = blind  # type: ignore[assignment]
        joint = model.joint_from_gains(F, G, W)
        out = {"solver": name, "attack": _attack_dict(model, F, G, W, joint), "mi": sol.mi,
               "mi_check": model.mi_of_gains(F, G, W), "budget_used": float(np.trace(joint[n + m:, n + m:])),
               "dual_budget": None if sol.dual is None else float(sol.dual) / units.observation,
               "gap": float(sol.gap), "iterations": int(sol.iterations), "state": sol.state, **extra}
        if terms.any:
            out["kl"] = gaussian_kl(_observed_cov(model, joint), model.x_cov)
        return out

    return route


def _pd_noise(model: GaussianModel) -> bool:
    """Whether the noise is positive definite (section 9's closed form needs it)."""
    eig = np.linalg.eigvalsh(model.noise_cov)
    return bool(eig.min() > _v.MATRIX_TOL * max(float(eig.max()), 0.0))


def _attacker_oracle(model: GaussianModel, knows: str, terms: Stealth, paper_oracle):
    """The closed form of what is minimised, for the attacker and stealth terms at hand (None where unknown)."""
    if knows == "x_and_y":
        return None if terms.any else paper_oracle
    if knows == "x":
        return None
    full_support = model.support.size == model.m
    if not full_support:
        return None
    if not terms.any:  # the blind attacker with a power budget: docs/theory.md section 8
        def blind(values):
            if "budget" not in values:
                return None
            sol = _oracles.blind_gaussian(model.A, float(values["budget"]), model.signal_cov, model.noise_cov)
            return None if sol is None else sol.mi
        return blind
    if terms.cap is None and terms.weight is not None and _pd_noise(model):
        # docs/theory.md section 9, without a power budget (the closed form takes positive-definite noise)
        def stealthy(values):
            if "budget" in values or not float(values["stealth_weight"]) > 0:
                return None
            sol = _oracles.stealth_blind_gaussian(model.A, float(values["stealth_weight"]), model.signal_cov,
                                                  model.noise_cov)
            return sol.objective
        return stealthy
    return None


def _zero_threshold(model: GaussianModel):
    """``D0 = tr(A signal_cov A^T)`` when every row that sees the signal may be attacked (else no threshold).

    ``Delta = -A Y`` leaves ``Z = N``, independent of ``Y``, at cost ``tr(A SY A^T)``; no
    cheaper attack reaches zero information: ``Cov(Z, Y) = 0`` forces
    ``Cov(Delta, Y) = -A SY``, and among such ``Delta`` the projection ``-A Y`` has the
    least power.  A clean row with a non-zero row of ``A`` keeps information for ever.
    """
    clean = np.setdiff1d(np.arange(model.m), model.support)
    if clean.size and np.any(model.A[clean]):
        return None
    threshold = float(np.trace(model.A @ model.signal_cov @ model.A.T))
    return lambda values: threshold if "budget" in values else None


class _Structure:
    """Closed forms of one model, shared by its oracle and its exact path (solutions cached by budget)."""

    def __init__(self, model: GaussianModel):
        self.model = model
        self.units = Units.of(model)
        norm = self.units.normalise(model)
        self.split = _oracles.StructuredGaussian(norm.A, norm.signal_cov, norm.noise_cov)
        self.threshold = float(np.trace(model.A @ model.signal_cov @ model.A.T))
        self._solutions: dict[float, _oracles.IsotropicGaussianSolution] = {}

    @functools.cached_property
    def no_attack_mi(self) -> float | None:
        """``I(Y; X)``, which no optimal attack exceeds (None where it is infinite: noiseless rows)."""
        m, n = self.model.m, self.model.n
        value = self.model.mi_of_gains(np.zeros((m, n)), np.zeros((m, m)), np.zeros((m, m)))
        return value if np.isfinite(value) else None

    def solution(self, budget: float):
        """The exact optimum at ``budget`` (user units) where the noise commutes, else None."""
        if not self.split.commutes:
            return None
        if budget not in self._solutions:
            if len(self._solutions) > 64:
                self._solutions.clear()
            self._solutions[budget] = self.split.solve(budget / self.units.observation)
        return self._solutions[budget]


def _observed_cov(model: GaussianModel, joint: np.ndarray) -> np.ndarray:
    """``Cov(Z)`` of ``Z = A Y + N + Delta`` from the joint covariance of ``(Y, N, Delta)``."""
    _, to_z = model.joint_map()
    cov = to_z @ joint @ to_z.T
    return 0.5 * (cov + cov.T)


def _exact_path(model: GaussianModel, units: Units, knows: str = "x_and_y", terms: Stealth | None = None):
    """The exact answer where the structure gives one (see :meth:`AttackProblem.solve`).

    For every attacker: nothing to attack, or a zero budget (no attack).  For the paper's
    attacker without stealth terms also: Theorem 4.1 without a budget, a budget at or above
    the zero-information threshold, and noise that commutes with ``A signal_cov A^T`` (the
    structured split).  For the blind attacker on every row: the closed form of
    docs/theory.md section 8 (power budget, commuting noise) and of section 9 (a stealth
    weight and no power budget, any positive-definite noise).
    """
    terms = terms or Stealth()
    full_support = model.support.size == model.m
    threshold = _zero_threshold(model)
    n, m = model.n, model.m
    pd_noise = _pd_noise(model)

    def answer(F, G, W, dual):
        joint = model.joint_from_gains(F, G, W)
        out = {"attack": _attack_dict(model, F, G, W, joint), "mi_check": model.mi_of_gains(F, G, W),
               "budget_used": float(np.trace(joint[n + m:, n + m:])), "dual_budget": dual}
        if terms.any:
            out["kl"] = gaussian_kl(_observed_cov(model, joint), model.x_cov)
        return out

    def blind(values):
        budget = values.get("budget")
        zeros = np.zeros((m, n)), np.zeros((m, m))
        if terms.cap is not None and float(values["stealth"]) == 0.0:
            # KL(P_Z || P_X) = 0 forces Cov(X + Delta) = Cov(X): with Delta independent, S = 0 (no attack)
            out = answer(*zeros, np.zeros((m, m)), None)
            out["mi"] = out["mi_check"]
            if terms.weight is not None:
                out["objective"] = out["mi"]
            return out if np.isfinite(out["mi"]) else None
        if not terms.any and budget is not None:
            sol = _oracles.blind_gaussian(model.A, float(budget), model.signal_cov, model.noise_cov)
            if sol is None:
                return None
            out = answer(*zeros, sol.attack_cov, sol.dual)
            out["mi"] = sol.mi
            return out
        if (terms.cap is None and terms.weight is not None and budget is None and values["stealth_weight"] > 0
                and pd_noise):
            stealthy = _oracles.stealth_blind_gaussian(model.A, float(values["stealth_weight"]), model.signal_cov,
                                                       model.noise_cov)
            out = answer(*zeros, stealthy.attack_cov, None)
            out["mi"], out["objective"] = stealthy.mi, stealthy.objective
            return out
        return None

    def exact(values):
        budget = values.get("budget")
        if model.support.size == 0:  # nothing may be attacked: the information left is I(Y; X)
            out = answer(np.zeros((m, n)), np.zeros((m, m)), np.zeros((m, m)), None)
            out["mi"] = _oracles.subset_mi(model.signal_cov, model.noise_cov, [], A=model.A)
            return out
        if budget is not None and float(budget) == 0.0:  # no attack: I(Y; X), where it is finite
            out = answer(np.zeros((m, n)), np.zeros((m, m)), np.zeros((m, m)), None)
            if not np.isfinite(out["mi_check"]):
                return None
            out["mi"] = out["mi_check"]
            if terms.weight is not None:
                out["objective"] = out["mi"]  # no attack moves nothing: KL = 0
            return out
        if knows == "nothing" and full_support:
            return blind(values)
        if knows != "x_and_y" or terms.any:
            return None
        if budget is None:
            # Theorem 4.1 without a budget: Delta_S = -X_S leaves exactly I(Y; X_c) (0 when every
            # row is attacked).
            rows = model.support
            F, G = np.zeros((m, n)), np.zeros((m, m))
            F[rows] = -model.A[rows]
            G[rows, rows] = -1.0
            out = answer(F, G, np.zeros((m, m)), None)
            out["mi"] = _oracles.subset_mi(model.signal_cov, model.noise_cov, model.support, A=model.A)
            return out
        budget = float(budget)
        if threshold is not None and budget >= threshold(values):
            out = answer(-model.A, np.zeros((m, m)), np.zeros((m, m)), 0.0)
            out["mi"] = 0.0
            return out
        sol = model.structure.solution(budget) if full_support else None
        if sol is None:
            return None
        F, G, W = units.gains(sol.F, sol.G, sol.W_cov)
        out = answer(F, G, W, sol.dual / units.observation)
        out["mi"] = sol.mi
        return out

    return exact


def _attack_dict(model: GaussianModel, F, G, W, joint) -> dict:
    n, m = model.n, model.m
    return {"joint_cov": joint, "F": F, "G": G, "W_cov": W, "attack_cov": joint[n + m:, n + m:],
            "posterior_cov": _posterior(joint, n, m, model)}


def _build_full(model: GaussianModel, units: Units, budget, knows, family, description, oracle,
                terms: Stealth | None = None) -> AttackProblem:
    terms = terms or Stealth()
    user_model = model
    model = units.normalise(model)
    n, m = model.n, model.m
    L = _noise_factor(model.noise_cov)
    p = L.shape[1]
    params = {} if budget is None else {"budget": parameter("budget", budget)}
    params.update(terms.parameters())

    def build() -> dict:
        A, sy = model.A, model.signal_cov
        rows = model.support
        s = rows.size
        E = np.eye(m)[:, rows]  # Delta = E @ Delta_s

        # The joint covariance of (Y, xi, Delta_s) with its fixed blocks written as constants:
        # only the cross-covariances and Cov(Delta_s) are variables.  (A PSD variable with
        # equality constraints on its fixed blocks is the same set, but about twice as slow to
        # solve: Clarabel, m = n = 20.)
        K = cp.Variable((n, n), symmetric=True, name="posterior_cov")
        s_yd: cp.Expression
        s_dd: cp.Expression
        cons: list[cp.Constraint]
        if s == 0:  # nothing to attack: the information left is I(Y; X)
            s_yd = cp.Constant(np.zeros((n, 0)))
            s_dd = cp.Constant(np.zeros((0, 0)))
            s_xd = None
            S = cp.Constant(np.block([[sy, np.zeros((n, p))], [np.zeros((p, n)), np.eye(p)]]))
            cons = []
        elif knows == "nothing":
            # The blind attacker (docs/theory.md section 8): Delta_s ~ N(0, S) independent of (Y, xi),
            # so the joint covariance is block diagonal and only Cov(Delta_s) is a variable.
            s_yd = cp.Constant(np.zeros((n, s)))
            s_dd = cp.Variable((s, s), PSD=True, name="attack_cov")
            s_xd = None
            if p:
                S = cp.bmat([[sy, np.zeros((n, p)), np.zeros((n, s))], [np.zeros((p, n)), np.eye(p), np.zeros((p, s))],
                             [np.zeros((s, n)), np.zeros((s, p)), s_dd]])
            else:  # no noise: (Y, Delta_s) only (a zero-width block would not read back)
                S = cp.bmat([[sy, np.zeros((n, s))], [np.zeros((s, n)), s_dd]])
            cons = []
        else:
            s_yd = cp.Variable((n, s), name="attack_signal_cov")  # Cov(Y, Delta_s)
            s_dd = cp.Variable((s, s), symmetric=True, name="attack_cov")  # Cov(Delta_s)
            s_xd = cp.Variable((p, s), name="attack_noise_cov") if p else None  # Cov(xi, Delta_s)
            blocks = [[sy, s_yd], [s_yd.T, s_dd]]
            if s_xd is not None:  # p > 0
                blocks = [[sy, np.zeros((n, p)), s_yd], [np.zeros((p, n)), np.eye(p), s_xd],
                          [s_yd.T, s_xd.T, s_dd]]
            S = cp.bmat(blocks)
            cons = [0.5 * (S + S.T) >> 0]
        # Cov(Y, Z) and Cov(Z) are affine in S (Z = A Y + L xi + E Delta_s).
        m_yz = sy @ A.T + s_yd @ E.T
        m_zz = A @ sy @ A.T + model.noise_cov + A @ s_yd @ E.T + E @ s_yd.T @ A.T + E @ s_dd @ E.T
        if s_xd is not None:  # p > 0 and s > 0
            m_zz = m_zz + L @ s_xd @ E.T + E @ s_xd.T @ L.T
        lmi = cp.bmat([[sy - K, m_yz], [m_yz.T, m_zz]])
        cons.append(0.5 * (lmi + lmi.T) >> 0)

        if knows == "x" and s:
            # Delta independent of Y given X: Cov(Delta, Y) = Cov(Delta, X) Cov(X)^+ Cov(X, Y).
            c_x_pinv = np.linalg.pinv(model.x_cov, rcond=1e-12, hermitian=True)
            s_dx = s_yd.T @ A.T + (s_xd.T @ L.T if s_xd is not None else 0)  # s_xd: p > 0 and s > 0
            cons.append(s_yd.T - s_dx @ c_x_pinv @ (A @ sy) == 0)

        budget_con = None
        if budget is not None:
            # The budget Parameter is in the user's units; the solver sees budget / units.observation.
            budget_con = (cp.trace(s_dd) if s else cp.Constant(0.0)) <= params["budget"] * (1.0 / units.observation)
            cons.append(budget_con)
        logdet_sy = float(np.linalg.slogdet(sy)[1])
        information = 0.5 * logdet_sy - 0.5 * cp.log_det(K)
        objective = information
        stealth_con = None
        if terms.any:
            # KL(P_Z || P_X) of zero-mean Gaussians (docs/theory.md section 9), convex in the attack:
            # Cov(Z) is affine in it.  It does not depend on units.
            x_cov = model.x_cov
            kl = 0.5 * (cp.trace(np.linalg.inv(x_cov) @ m_zz) - m - cp.log_det(0.5 * (m_zz + m_zz.T))
                        + float(np.linalg.slogdet(x_cov)[1]))
            if terms.cap is not None:
                stealth_con = kl <= params["stealth"]
                cons.append(stealth_con)
            if terms.weight is not None:
                objective = information + params["stealth_weight"] * kl
        problem = cp.Problem(cp.Minimize(objective), cons)
        scale = units.joint_scale(n, m)

        def readout(ap: AttackProblem) -> dict:
            Sv = np.asarray(S.value)
            Sv = 0.5 * (Sv + Sv.T)
            repaired = False
            if s:
                # A realisable attack needs Cov(Delta | Y, xi) >= 0; the solver meets the PSD cone only to its
                # tolerance (eigenvalues of -5e-12 on an attack of power 1e-8 were seen), and the information
                # of such a point can sit below the optimum.  Its negative part is dropped (the attack's own
                # noise only grows), so what is read back is an attack that exists.
                fixed, cross = Sv[:n + p, :n + p], Sv[n + p:, :n + p]
                explained = cross @ np.linalg.pinv(fixed, rcond=1e-12, hermitian=True) @ cross.T
                own = Sv[n + p:, n + p:] - 0.5 * (explained + explained.T)
                lam, Q = np.linalg.eigh(0.5 * (own + own.T))
                if lam.min(initial=0.0) < 0.0:
                    Sv[n + p:, n + p:] = 0.5 * (explained + explained.T) + (Q * np.clip(lam, 0.0, None)) @ Q.T
            if budget is not None and s and not ap.custom:
                # Interior-point solvers meet the budget to an absolute feasibility tolerance (~1e-8 in these
                # units), which at a small budget is a relative overspend of 1e-4 or more, and the value then
                # sits below the optimum by more than the solver's tolerance.  Mixing the joint covariance with
                # no attack's (a feasible point: every constraint but the budget is homogeneous in the attack's
                # blocks or convex through 0) meets the budget; by Lemma 2.1 its information is at most the
                # mixture of the two, and the re-check must then agree with the solver's value.
                used = float(np.trace(Sv[n + p:, n + p:]))
                limit = float(np.asarray(params["budget"].value)) / units.observation
                if used > limit:
                    keep = limit / used * (1.0 - 1e-15)
                    Sv[n + p:, :] *= keep
                    Sv[:n + p, n + p:] *= keep
                    repaired = used > limit * (1.0 + 1e-9)  # beyond rounding: the re-check is held to the tolerance
            # Back from (Y, xi, Delta_s) to (Y, N, Delta) with N = L xi, Delta = E Delta_s.
            T = np.zeros((n + 2 * m, n + p + s))
            T[:n, :n] = np.eye(n)
            T[n:n + m, n:n + p] = L
            T[n + m:, n + p:] = E
            joint_norm = T @ Sv @ T.T
            F, G, W = units.gains(*_gains(joint_norm, n, m))
            joint = scale[:, None] * joint_norm * scale[None, :]
            K_value = K.value
            assert K_value is not None  # read after a solve with a point: every variable has a value
            out = {
                "attack": {"joint_cov": joint, "F": F, "G": G, "W_cov": W,
                           "attack_cov": joint[n + m:, n + m:], "posterior_cov": units.signal * K_value},
                "mi_check": user_model.mi_of_gains(F, G, W),
                "budget_used": units.observation * float(np.trace(Sv[n + p:, n + p:])),
                "dual_scale": 1.0 / units.observation,
                "repaired": repaired,
            }
            if terms.any:
                out["kl"] = gaussian_kl(_observed_cov(user_model, joint), user_model.x_cov)
                out["stealth_constraint"] = stealth_con
            if terms.weight is not None:
                out["mi"] = float(information.value)
                out["objective"] = float(problem.value)
            return out

        # Variables in the user's units (affine views of the normalised ones).
        view = np.concatenate([np.full(n, np.sqrt(units.signal)), np.ones(p),
                               np.full(s, np.sqrt(units.observation))])
        variables = {"joint_cov": cp.multiply(np.outer(view, view), S),
                     "attack_cov": units.observation * (E @ s_dd @ E.T),
                     "attack_signal_cov": np.sqrt(units.signal * units.observation) * (E @ s_yd.T),
                     "posterior_cov": units.signal * K}
        return {"problem": problem, "variables": variables, "budget_constraint": budget_con, "readout": readout}

    return AttackProblem(builder=build, parameters=params, family=family, oracle=oracle, cones=_CONES,
                         size_hint=lambda solver: _resources.estimate_sizes(_full_sizes(model, p, knows, terms.any),
                                                                            solver),
                         description=description + f", knows={knows}",
                         scale=_scale(model, None if budget is None else budget / units.observation),
                         units=units.observation,
                         spec={"knows": knows, "formulation": "full", "model": user_model, "units": units,
                               "stealth": terms.any})


#: The cones of every Gaussian conic form (log_det and LMIs).
_CONES = frozenset({"LP", "PSD", "EXP"})


def _full_sizes(model: GaussianModel, p: int, knows: str = "x_and_y", stealthy: bool = False) -> _resources.Sizes:
    """The cones of the full SDP before it is built: the joint covariance, the LMI and log_det(K).

    A blind attacker's joint covariance is block diagonal (only ``Cov(Delta_s)``, an ``s x s``
    cone); a stealth term adds the KL's ``log_det Cov(Z)`` (a ``2m`` cone and ``m`` exponential
    cones, as CVXPY canonicalises ``log_det``).
    """
    n, m, s = model.n, model.m, model.support.size
    if knows == "nothing":
        variables = n * (n + 1) // 2 + s * (s + 1) // 2
        psd = [s] if s else []
    else:
        variables = n * (n + 1) // 2 + n * s + p * s + s * (s + 1) // 2
        psd = [n + p + s] if s else []
    psd += [n + m, 2 * n]
    exp_cones = n
    if stealthy:
        psd.append(2 * m)
        exp_cones += m
        variables += m * (m + 1) // 2
    return _resources.Sizes(psd=psd, exp_cones=exp_cones, variables=variables,
                            eq_rows=n * s if s and knows != "nothing" else 0, ineq_rows=1)


def _build_compact(model: GaussianModel, units: Units, budget, family, description, oracle) -> AttackProblem:
    """Rate-distortion SDP of the noiseless observation ``X = A Y`` (docs/theory.md section 2).

    In the eigenbasis ``Cov(X) = U diag(lam) U^T`` (``lam > 0``): maximise
    ``log_det(K)`` subject to ``0 << K << diag(lam)`` and ``trace(K) <= D``;
    ``K`` is the error covariance ``Cov(X | Z)`` and the optimal attack is
    ``Delta = -K diag(lam)^-1 X' + W`` in the rotated frame.  Solved in the
    normalised units of :class:`Units`.
    """
    user_model = model
    model = units.normalise(model)
    A = model.A
    m = model.m
    lam, U = np.linalg.eigh(model.x_cov)
    keep = lam > lam.max(initial=0.0) * m * 1e-12
    lam, U = lam[keep], U[:, keep]
    r = lam.size
    K = cp.Variable((r, r), symmetric=True, name="error_cov")
    cons = [np.diag(lam) - K >> 0]
    params, budget_con = {}, None
    if budget is not None:
        params["budget"] = parameter("budget", budget)
        budget_con = cp.trace(K) <= params["budget"] * (1.0 / units.observation)
        cons.append(budget_con)
    half_logdet_lam = 0.5 * float(np.sum(np.log(lam)))
    problem = cp.Problem(cp.Minimize(half_logdet_lam - 0.5 * cp.log_det(K)), cons)

    def readout(ap: AttackProblem) -> dict:
        K_value = K.value
        assert K_value is not None  # read after a solve with a point: every variable has a value
        Kv = 0.5 * (K_value + K_value.T)
        H = -(U @ (Kv / lam) @ U.T)  # Delta = H X + W, H = -K C^+ in the original frame
        W = U @ (Kv - (Kv / lam) @ Kv) @ U.T
        F, G, W = units.gains(H @ A, np.zeros((m, m)), 0.5 * (W + W.T))
        joint = user_model.joint_from_gains(F, G, W)
        attack = _attack_dict(user_model, F, G, W, joint)
        attack["error_cov"] = units.observation * (U @ Kv @ U.T)
        return {
            "attack": attack,
            "mi_check": user_model.mi_of_gains(F, G, W),
            "budget_used": units.observation * float(np.trace(Kv)),
            "dual_scale": 1.0 / units.observation,
        }

    variables = {"error_cov": units.observation * K, "attack_cov": units.observation * (U @ K @ U.T)}
    return AttackProblem(problem=problem, parameters=params, variables=variables, family=family,
                         readout=readout, oracle=oracle, budget_constraint=budget_con,
                         description=description + ", compact",
                         scale=_scale(model, None if budget is None else budget / units.observation),
                         units=units.observation,
                         spec={"knows": "x_and_y", "formulation": "compact", "model": user_model, "units": units})


def _posterior(joint, n, m, model):
    to_y, to_z = model.joint_map()
    stacked = np.vstack([to_y, to_z])
    cov = stacked @ joint @ stacked.T
    return conditional_covariance(cov, np.arange(n), np.arange(n, n + m))


def _gains(joint: np.ndarray, n: int, m: int):
    """``Delta = F Y + G N + W`` from the joint covariance of ``(Y, N, Delta)``."""
    yn = slice(0, n + m)
    d = slice(n + m, n + 2 * m)
    c_yn = joint[yn, yn]
    c_dyn = joint[d, yn]
    gain = c_dyn @ np.linalg.pinv(c_yn, rcond=1e-12, hermitian=True)
    W = joint[d, d] - gain @ c_dyn.T
    return gain[:, :n], gain[:, n:], 0.5 * (W + W.T)


def _structured_oracle(model: GaussianModel):
    """Closed form where the structure gives one: zero beyond the threshold, commuting noise below it."""

    def oracle(values):
        if "budget" not in values:
            return None
        budget = float(values["budget"])
        if budget >= model.structure.threshold:
            return 0.0
        sol = model.structure.solution(budget)
        return None if sol is None else sol.mi

    return oracle


def _scale(model: GaussianModel, budget) -> float:
    return float(max(1.0, np.trace(model.x_cov), np.trace(model.signal_cov), budget or 0.0))


# ----------------------------------------------------------------- factories


@rebuildable
def gaussian_scalar(signal_var, noise_var, budget, *, knows: str = "x_and_y", stealth=None,
                    stealth_weight=None) -> AttackProblem:
    """Theorem 3.1: ``Y ~ N(0, signal_var)``, ``X = Y + N``, ``N ~ N(0, noise_var)``.

    Parameters
    ----------
    signal_var : float
        Variance of the label ``Y`` (> 0).
    noise_var : float
        Variance of the observation noise (>= 0; 0 gives the Gaussian
        rate-distortion function ``0.5 log(signal_var / budget)``).
    budget : float or None
        Power budget ``E[Delta^2] <= budget`` (>= 0), or None for no budget
        (add your own with :meth:`AttackProblem.with_constraints`).
    knows : {"x_and_y", "x", "nothing"}
        What the attacker sees: the paper's attacker knows both; a label-blind
        attacker's ``Delta`` is independent of ``Y`` given ``X``; a blind one's
        ``Delta ~ N(0, S)`` is independent of everything (docs/theory.md
        section 8; ``result.attack["attack_cov"]`` is ``S``).
    stealth : float, optional
        Cap ``KL(P_Z || P_X) <= stealth`` (nats) on how far the attack moves the
        law of what the defender receives (docs/theory.md section 9); a
        ``cp.Parameter`` ``parameters["stealth"]``.
    stealth_weight : float, optional
        Minimise ``I(Y; Z) + stealth_weight * KL(P_Z || P_X)`` instead of the
        information alone; ``parameters["stealth_weight"]``.  With either
        term ``budget=None`` is allowed; both need ``Cov(X)`` positive definite.

    Returns
    -------
    AttackProblem
        ``parameters["budget"]`` is a ``cp.Parameter``; ``oracle()`` is the
        closed form of docs/theory.md section 1 (for ``knows="x_and_y"``).

    Raises
    ------
    InvalidInputError
        Non-positive or non-finite ``signal_var``, negative ``noise_var`` or
        ``budget``, unknown ``knows``.
    """
    sy2 = _v.scalar("signal_var", signal_var, positive=True)
    sn2 = _v.scalar("noise_var", noise_var, nonneg=True)
    model = _model(np.ones((1, 1)), sy2, sn2)

    def oracle(values):
        return float(_oracles.scalar_gaussian_mi(sy2, sn2, values["budget"])) if "budget" in values else None

    return _build(model, budget, knows, "full", "gaussian_scalar",
                  f"scalar Gaussian, signal_var={sy2:g}, noise_var={sn2:g}", oracle, stealth, stealth_weight)


@rebuildable
def gaussian_vector(A, budget, signal_cov=1.0, noise_cov=0.0, *, knows: str = "x_and_y",
                    formulation: str = "auto", stealth=None, stealth_weight=None) -> AttackProblem:
    """The general Gaussian model ``X = A Y + N`` (docs/theory.md section 3; Theorem 3.2).

    Parameters
    ----------
    A : array_like, shape (m, n)
        Observation matrix.
    budget : float or None
        Power budget ``E||Delta||^2 <= budget``, or None for no default budget.
    signal_cov : float or array_like (n, n)
        Covariance of ``Y``; a scalar means that multiple of the identity.  Must
        be positive definite.
    noise_cov : float or array_like (m, m)
        Covariance of ``N``; a scalar means that multiple of the identity; may
        be 0 (Theorem 3.2) or singular.
    knows : {"x_and_y", "x", "nothing"}
        The paper's attacker, a label-blind one (``Delta`` independent of
        ``Y`` given ``X``; a linear constraint on the joint covariance), or a
        blind one (``Delta ~ N(0, S)`` independent of everything,
        docs/theory.md section 8: the joint covariance is block diagonal).
    stealth : float, optional
        Cap ``KL(P_Z || P_X) <= stealth`` (nats) on how far the attack moves the
        law of what the defender receives (docs/theory.md section 9); a
        ``cp.Parameter`` ``parameters["stealth"]``.
    stealth_weight : float, optional
        Minimise ``I(Y; Z) + stealth_weight * KL(P_Z || P_X)`` instead of the
        information alone; ``parameters["stealth_weight"]``.  With either
        term ``budget=None`` is allowed; both need ``Cov(X)`` positive definite.
    formulation : {"auto", "full", "compact", "transport"}
        ``"full"``: the joint-covariance SDP (size ``n + rank(noise) + m``).
        ``"compact"``: the rate-distortion SDP of the noiseless observation
        (size ``rank(A)``); needs ``noise_cov = 0``.
        ``"transport"``: the full SDP as the convex model, but a default solve
        goes to the certified route: the conditional-transport reduction of
        docs/theory.md section 7 for the paper's attacker (positive-definite
        noise; singular noise falls back to the SDP), closed forms or a
        Riemannian Newton method on the attack covariance for the blind
        attacker (sections 8-9, stealth terms included, any noise); ``result.solver`` is ``"TRANSPORT"`` or
        ``"BLIND_DESCENT"`` and ``result.gap`` its certificate (a bound in nats
        on the distance from the optimum, ok only when at most 1e-6).  Every
        row must be attackable.
        ``"auto"`` (default): the full SDP, with a default solve choosing the
        route by structure and size: the conic solve when it is estimated to
        take under a second, else the exact structured path where the noise
        commutes with ``A signal_cov A^T``, else the certified route.
        ``result.solver`` and ``result.note`` say which answered.  Naming a
        backend (``solve("CLARABEL")``) or the route (``solve("TRANSPORT")``)
        asks for that one.

    Returns
    -------
    AttackProblem
        Variables with ``formulation="full"``: ``joint_cov`` (the PSD
        covariance of ``(Y, xi, Delta)`` with ``N = L xi``), ``attack_cov``
        (``Cov(Delta)``), ``attack_signal_cov`` (``Cov(Delta, Y)``),
        ``posterior_cov``; with ``formulation="compact"``: ``error_cov`` (the
        reconstruction error's covariance in the row space of ``A``) and
        ``attack_cov``.  ``oracle()``: the exact structured path when the noise
        is isotropic or commutes with ``A signal_cov A^T`` (the falling bar
        when it is zero), for the paper's attacker.

    Raises
    ------
    InvalidInputError
        Wrong shapes, non-symmetric / non-PSD covariances, NaNs, negative budget.
    """
    model = _model(A, signal_cov, noise_cov)
    m, n = model.A.shape
    oracle = _structured_oracle(model)
    return _build(model, budget, knows, formulation, "gaussian_vector",
                  f"Gaussian vector, m={m}, n={n}", oracle, stealth, stealth_weight)


@rebuildable
def gaussian_sparse(A, support, budget=None, signal_cov=1.0, noise_cov=1.0, *,
                    knows: str = "x_and_y", stealth=None, stealth_weight=None) -> AttackProblem:
    """The attack confined to the rows ``support`` of ``X = A Y + N`` (docs/theory.md section 6).

    With ``budget=None`` the attacked rows may be changed arbitrarily, and the
    optimum is Theorem 4.1's ``I*(S)`` (the information left in the clean rows);
    with a budget it spans from Theorem 3.2 (``support`` = every row) to
    Theorem 4.1.

    Parameters
    ----------
    A : array_like (m, n)
    support : sequence of int
        Rows the attacker may perturb.
    budget : float or None
        ``E||Delta_S||^2 <= budget``; None for an unlimited attack on ``support``.
    signal_cov, noise_cov : float or array_like
        As in :func:`gaussian_vector`; ``noise_cov`` must be positive definite
        on the clean rows (outside ``support``).  It may be correlated: the
        bound ``I(Y; Z) >= I(Y; X_c)`` does not need independent sensors.
    knows : {"x_and_y", "x", "nothing"}
        As in :func:`gaussian_vector`.
    stealth, stealth_weight : float, optional
        As in :func:`gaussian_vector`.

    Returns
    -------
    AttackProblem
        ``oracle()`` (for ``knows="x_and_y"``): ``I*(S)`` of
        :func:`mi_cvx.oracles.subset_mi` without a budget, or with a budget of
        at least ``trace Cov(X_S)`` (enough for ``Delta_S = -X_S``); the
        structured isotropic path when ``support`` is every row and the noise
        is isotropic; otherwise None.

    Raises
    ------
    InvalidInputError
        Wrong shapes, non-symmetric / non-PSD covariances, ``support`` not
        integer rows of ``X``, negative budget, unknown ``knows``, or
        ``noise_cov`` not positive definite on the clean rows (a noiseless
        clean sensor would reveal the signal: infinite information).
    """
    model = _model(A, signal_cov, noise_cov, support=support)
    clean = np.setdiff1d(np.arange(model.m), model.support)
    _v.clean_rows_noise(model.noise_cov, clean)
    support_cov_trace = float(np.trace(model.x_cov[np.ix_(model.support, model.support)]))
    structured = _structured_oracle(model) if clean.size == 0 else None

    def oracle(values):
        if "budget" not in values or values["budget"] >= support_cov_trace:
            return _oracles.subset_mi(model.signal_cov, model.noise_cov, model.support, A=model.A)
        return structured(values) if structured is not None else None

    return _build(model, budget, knows, "full", "gaussian_sparse",
                  f"Gaussian sparse attack, m={model.m}, n={model.n}, |S|={model.support.size}", oracle,
                  stealth, stealth_weight)


# ------------------------------------------------------- the family descriptions
# What only the Gaussian families know, declared once for the generic modules:
# how to draw feasible attacks and the deterministic-attack witness (Lemma 2.1's
# checks, mi_cvx.convexity), the named cases with known optima (mi_cvx.cases),
# the parameters the CLI and spec files are generated from (mi_cvx.cli).

def _gaussian_model(ap: AttackProblem):
    model = ap.spec.get("model")
    if model is None:
        raise InvalidInputError("attack_problem", f"the {ap.family} problem does not record its Gaussian model "
                                "(spec['model']); build it with a mi_cvx Gaussian factory")
    return model


def _gaussian_space(ap: AttackProblem) -> AttackSpace:
    """Joint covariances of ``(Y, N, Delta)`` with the fixed blocks and ``trace Cov(Delta) <= D``."""
    model = _gaussian_model(ap)
    knows = ap.spec.get("knows", "x_and_y")
    A, sy, sn = model.A, model.signal_cov, model.noise_cov
    n, m = model.n, model.m
    rows = np.asarray(model.support, dtype=int)
    s = rows.size
    outside = np.setdiff1d(np.arange(m), rows)
    E = np.eye(m)[:, rows]
    x_cov = model.x_cov
    budget = budget_value(ap)
    cap = budget if budget is not None else max(2.0 * float(np.trace(x_cov[np.ix_(rows, rows)])), 1.0)
    noisy = bool(np.any(sn))
    scale = max(1.0, float(np.abs(x_cov).max()), float(np.abs(sy).max()), cap)
    c_x_pinv = np.linalg.pinv(x_cov, rcond=1e-12, hermitian=True)
    iy, i_n, i_d = slice(0, n), slice(n, n + m), slice(n + m, n + 2 * m)

    cap_kl, weight = ap.scalar("stealth"), ap.scalar("stealth_weight")

    def kl_of(joint) -> float:
        return gaussian_kl(_observed_cov(model, joint), x_cov)

    def sample(rng: np.random.Generator) -> np.ndarray:
        if knows == "nothing":  # Delta = W, independent of everything
            F, G = np.zeros((s, n)), np.zeros((s, m))
        elif knows == "x":  # Delta = H X + W: independent of Y given X
            H = rng.normal(size=(s, m))
            F, G = H @ A, H
        else:
            F = rng.normal(size=(s, n))
            G = rng.normal(size=(s, m)) if noisy else np.zeros((s, m))
            if rng.random() < 1 / 3:  # strong attacks near Delta_S = -(A Y)_S, where I is small
                F = 0.2 * F - E.T @ A
        B = rng.normal(size=(s, s)) * rng.uniform(0.05, 1.0)
        W = B @ B.T
        if noisy and rng.random() < 0.25:
            W = np.zeros((s, s))  # a deterministic linear attack
        cost = float(np.trace(F @ sy @ F.T + G @ sn @ G.T + W))
        target = cap * (1.0 if rng.random() < 0.25 else rng.uniform(0.0, 1.0))  # on the boundary, or inside
        alpha = math.sqrt(target / cost) if cost > 0 else 0.0
        joint = model.joint_from_gains(alpha * (E @ F), alpha * (E @ G), alpha**2 * (E @ W @ E.T))
        for _ in range(60):  # shrink towards no attack (KL 0) until the stealth cap holds
            if cap_kl is None or kl_of(joint) <= cap_kl:
                break
            alpha *= 0.5
            joint = model.joint_from_gains(alpha * (E @ F), alpha * (E @ G), alpha**2 * (E @ W @ E.T))
        return joint

    def objective(joint) -> float:
        value = model.mi_of(joint)
        return value + weight * kl_of(joint) if weight is not None else value

    def violation(joint) -> float:
        joint = np.asarray(joint, dtype=float)
        parts = [
            np.abs(joint - joint.T).max(),
            np.abs(joint[iy, iy] - sy).max(),
            np.abs(joint[i_n, i_n] - sn).max(),
            np.abs(joint[iy, i_n]).max(),
            max(0.0, -float(np.linalg.eigvalsh(0.5 * (joint + joint.T)).min())),
        ]
        c_dd = joint[i_d, i_d]
        if budget is not None:
            parts.append(max(0.0, float(np.trace(c_dd)) - budget))
        if outside.size:  # Delta vanishes on rows the attacker may not touch
            parts.append(np.abs(joint[n + m + outside, :]).max())
        if knows == "x":
            c_dy = joint[i_d, iy]
            c_dx = c_dy @ A.T + joint[i_d, i_n]
            parts.append(np.abs(c_dy - c_dx @ c_x_pinv @ (A @ sy)).max())
        if knows == "nothing":  # independent of Y and N
            parts.append(np.abs(joint[i_d, :n + m]).max())
        if cap_kl is not None:
            parts.append(max(0.0, kl_of(joint) - cap_kl))
        return float(max(parts))

    attacker = {"x_and_y": "", "x": " (label-blind: Delta independent of Y given X)",
                "nothing": " (blind: Delta independent of Y and N)"}[knows]
    stealth = ((f", KL(P_Z || P_X) <= {cap_kl:g}" if cap_kl is not None else "")
               + (f"; the objective I + {weight:g} KL(P_Z || P_X)" if weight is not None else ""))
    return AttackSpace(
        description=("joint covariances S of (Y, N, Delta) with Cov(Y), Cov(N) fixed, Y and N independent and "
                     f"trace Cov(Delta) <= budget{attacker}{stealth}; I(Y; Z) evaluated with the Gaussian formula "
                     "(mi_cvx.info.gaussian_linear_mi) at S"),
        sample=sample, mi=objective, violation=violation, tol=SET_TOL * scale)


def _transport_cost(model: GaussianModel, joint_yz: np.ndarray) -> tuple[float, float]:
    """Least ``E||Delta||^2`` reaching the covariance ``joint_yz`` of ``(Y, Z)`` (docs/theory.md section 7).

    ``tr(A SY A^T) - 2 tr(A C) + tr Sz + tr SN - 2 tr (SN^1/2 K SN^1/2)^1/2`` with ``C = Cov(Y, Z)``,
    ``Sz = Cov(Z)`` and ``K = Sz - C^T SY^-1 C``: the class means move at the cost of the mean
    shift, the class noise by the Gaussian transport cost.  Returns ``(cost, psd_violation)``:
    the second is how far ``K`` is from positive semidefinite (0 for a covariance).
    """
    n = model.n
    sy, sn, A = model.signal_cov, model.noise_cov, model.A
    C, Sz = joint_yz[:n, n:], joint_yz[n:, n:]
    K = Sz - C.T @ np.linalg.solve(sy, C)
    K = 0.5 * (K + K.T)
    k_eig = np.linalg.eigvalsh(K)
    lam, U = np.linalg.eigh(0.5 * (sn + sn.T))
    root = (U * np.sqrt(np.clip(lam, 0.0, None))) @ U.T
    mid = np.linalg.eigvalsh(root @ K @ root)
    fidelity = float(np.sum(np.sqrt(np.clip(mid, 0.0, None))))
    cost = float(np.trace(A @ sy @ A.T) - 2.0 * np.trace(A @ C) + np.trace(Sz) + np.trace(sn) - 2.0 * fidelity)
    return cost, max(0.0, -float(k_eig.min(initial=0.0)))


def _reduced_space(ap: AttackProblem) -> AttackSpace | None:
    """The conditional-transport form (docs/theory.md section 7): covariances of ``(Y, Z)`` within the budget.

    Only for problems whose route is ``TRANSPORT`` (the paper's attacker on every row).  A
    point is ``M = Cov(Y, Z)`` with ``Cov(Y)`` fixed; ``I = 0.5 logdet Sz - 0.5 logdet K`` and
    the least transport cost (:func:`_transport_cost`) are both convex in ``M``, which is what
    the route's certificate rests on.  Feasible points come from ``Z | Y ~ N(B Y, T SN T)``,
    whose cost is exactly ``||(B - A) SY^1/2||_F^2 + tr((T - I) SN (T - I))`` for ``T >= 0``.
    """
    if ap.spec.get("route") != "TRANSPORT":
        return None
    model = _gaussian_model(ap)
    A, sy, sn = model.A, model.signal_cov, model.noise_cov
    n, m = model.n, model.m
    budget = budget_value(ap)
    if budget is None:
        return None
    scale = max(1.0, float(np.abs(model.x_cov).max()), float(np.abs(sy).max()), budget)

    def sample(rng: np.random.Generator) -> np.ndarray:
        B0 = rng.normal(size=(m, n)) * rng.uniform(0.0, 1.5)
        if rng.random() < 1 / 3:
            B0 = 0.2 * B0  # strong attacks: the signal nearly removed
        root = rng.normal(size=(m, m)) * rng.uniform(0.0, 1.0)
        T0 = root @ root.T
        if rng.random() < 0.25:
            T0 = np.eye(m)  # the noise left alone
        unit = (float(np.trace((B0 - A) @ sy @ (B0 - A).T)) + float(np.trace((T0 - np.eye(m)) @ sn
                                                                            @ (T0 - np.eye(m)))))
        target = budget * (1.0 if rng.random() < 0.25 else rng.uniform(0.0, 1.0))
        t = min(1.0, math.sqrt(target / unit)) if unit > 0 else 0.0
        B = A + t * (B0 - A)
        T = np.eye(m) + t * (T0 - np.eye(m))
        out = np.zeros((n + m, n + m))
        out[:n, :n] = sy
        out[:n, n:] = sy @ B.T
        out[n:, :n] = B @ sy
        out[n:, n:] = B @ sy @ B.T + T @ sn @ T
        return 0.5 * (out + out.T)

    def objective(joint_yz) -> float:
        joint_yz = 0.5 * (np.asarray(joint_yz, dtype=float) + np.asarray(joint_yz, dtype=float).T)
        C, Sz = joint_yz[:n, n:], joint_yz[n:, n:]
        K = Sz - C.T @ np.linalg.solve(sy, C)
        sign_z, logdet_z = np.linalg.slogdet(Sz)
        sign_k, logdet_k = np.linalg.slogdet(0.5 * (K + K.T))
        if sign_z <= 0 or sign_k <= 0:
            return math.inf
        return float(0.5 * (logdet_z - logdet_k))

    def violation(joint_yz) -> float:
        joint_yz = np.asarray(joint_yz, dtype=float)
        cost, psd = _transport_cost(model, joint_yz)
        return float(max(np.abs(joint_yz[:n, :n] - sy).max(), np.abs(joint_yz - joint_yz.T).max(), psd,
                         max(0.0, cost - budget)))

    return AttackSpace(
        description=("covariances M of (Y, Z) with Cov(Y) fixed and the least transport cost (docs/theory.md "
                     "section 7) within the budget; I(Y; Z) = 0.5 logdet Cov(Z) - 0.5 logdet Cov(Z | Y) at M"),
        sample=sample, mi=objective, violation=violation, tol=SET_TOL * scale)


def _gaussian_witness(ap: AttackProblem) -> Check:
    model = _gaussian_model(ap)
    A, sy = model.A, model.signal_cov
    m = model.m
    rows = np.asarray(model.support, dtype=int)
    P = np.zeros((m, m))
    P[rows, rows] = 1.0
    budget = budget_value(ap)
    noiseless_rows = not np.any(model.noise_cov[np.ix_(rows, rows)])
    gain_power = float(np.trace(P @ A @ sy @ A.T @ P))
    cap = budget if budget is not None else 2.0 * float(np.trace(model.x_cov[np.ix_(rows, rows)]))
    # With no noise on the attacked rows a deterministic attack leaves I infinite
    # unless it cancels the signal: give W a quarter of the budget there.
    w = 0.25 * cap / max(rows.size, 1) if noiseless_rows else 0.0
    W = w * P

    def info_at(f: float) -> float:
        return model.mi_of(model.joint_from_gains(f * (P @ A), np.zeros((m, m)), W))

    f_max = math.sqrt(max(cap - w * rows.size, 0.0) / gain_power) if gain_power > 0 else 1.0
    form = "Delta = f (A Y)_S" + (f" + W, W ~ N(0, {w:.3g} I)" if w else "")
    chk = None
    if f_max > 0:
        chk = nonconvexity_witness(info_at, -f_max, f_max, what="I(f)")
        where = (f"within the budget (|f| <= {f_max:.3g})" if budget is not None
                 else f"for |f| <= {f_max:.3g} (no budget: twice the attacked rows' power)")
    if chk is None or not chk.passed:  # convex on the budget's interval (or no room): look beyond it
        chk = nonconvexity_witness(info_at, -1.0 - 4.0, -1.0 + 4.0, what="I(f)")
        where = ("outside the budget (inside it I(f) happens to be convex)" if f_max > 0
                 else "outside the budget (which allows no gain)")
    chk.detail = f"gain of a deterministic attack {form}, {where}: {chk.detail}"
    chk.data["parametrisation"] = form
    return chk


_A_TALL = np.array([[1.0, 0.5], [0.0, 1.0], [0.3, -0.2]])  # 3 x 2, rank 2
_A_WIDE = np.array([[1.0, 0.2, -0.4], [0.1, 0.8, 0.3]])  # 2 x 3, full row rank
_SY_2 = np.array([[1.0, 0.3], [0.3, 0.6]])
_SY_DIAG3 = np.diag([2.0, 1.0, 0.5])


def _scalar_cases() -> list[Case]:
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
    return out


def _vector_cases() -> list[Case]:
    out = []
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
        reference="oracles.isotropic_gaussian (structured exact path, docs/theory.md section 3)",
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


_KNOWS = knows_param(KNOWS)
_STEALTH_NAMES = STEALTH_NAMES
_STEALTH = STEALTH_PARAMS


def _observed(result) -> tuple[str, np.ndarray, np.ndarray]:
    """The defender's laws: ``Cov(X)`` and ``Cov(Z)`` of zero-mean Gaussians."""
    if result.problem is None:
        raise InvalidInputError("result", "the result has no problem (it was unpickled from a problem without a "
                                "recipe), so the defender's law of X is unknown")
    model = result.problem.spec["model"]
    return "gaussian", model.x_cov, _observed_cov(model, np.asarray(result.attack["joint_cov"], dtype=float))
_SIGNAL_COV = Param("signal_cov", "array", "Cov(Y): a number (times I) or a matrix")
_THEORY = "docs/theory.md"

FAMILIES = (
    Family(
        name="gaussian_scalar",
        summary="Theorem 3.1: Y ~ N(0, signal_var), X = Y + N, E[Delta^2] <= budget",
        factory=gaussian_scalar,
        params=(Param("signal_var", "number", "Var(Y) (default 1)", default=1.0),
                Param("noise_var", "number", "Var(N) (default 0)", default=0.0),
                Param("budget", "budget", "the power budget E[Delta^2] <= budget", required=True,
                      unless=_STEALTH_NAMES),
                _KNOWS, *_STEALTH),
        theory=f"{_THEORY} section 1",
        group="gaussian",
        oracles={"mi": _oracles.scalar_gaussian_mi, "solution": _oracles.scalar_gaussian},
        attack_space=_gaussian_space, witness=_gaussian_witness, observed=_observed,
        sample=gaussian_sample, consequences=gaussian_consequences,
        cases=_scalar_cases,
        attackers=KNOWS,
    ),
    Family(
        name="gaussian_vector",
        summary="X = A Y + N, E||Delta||^2 <= budget (Theorem 3.2 when noiseless)",
        factory=gaussian_vector,
        params=(Param("A", "observation", "the observation matrix (m x n)", required=True),
                Param("budget", "budget", "the power budget E||Delta||^2 <= budget", required=True,
                      unless=_STEALTH_NAMES),
                _SIGNAL_COV,
                Param("noise_cov", "array", "Cov(N): a number (times I) or a matrix (default 0)"),
                _KNOWS,
                Param("formulation", "choice", "auto (default: by structure and size), full (the "
                      "joint-covariance SDP), compact (noiseless) or transport (the certified route)",
                      choices=FORMULATIONS), *_STEALTH),
        theory=f"{_THEORY} sections 2, 3 and 7",
        group="gaussian",
        oracles={"falling_bar": _oracles.falling_bar, "structured": _oracles.structured_gaussian,
                 "isotropic": _oracles.isotropic_gaussian},
        attack_space=_gaussian_space, witness=_gaussian_witness, observed=_observed,
        sample=gaussian_sample, consequences=gaussian_consequences,
        cases=_vector_cases, reduced_space=_reduced_space,
        attackers=KNOWS, formulations=FORMULATIONS,
    ),
    Family(
        name="gaussian_sparse",
        summary="the attack confined to the rows `support` of X = A Y + N (Theorem 4.1 for a given subset)",
        factory=gaussian_sparse,
        params=(Param("A", "observation", "the observation matrix (m x n; default the identity)"),
                Param("support", "indices", "the attacked rows", required=True),
                Param("budget", "budget", "the power budget (default: none, the rows are replaced outright)"),
                _SIGNAL_COV,
                Param("noise_cov", "array", "Cov(N): a number (times I) or a matrix (default 1)"),
                _KNOWS, *_STEALTH),
        theory=f"{_THEORY} section 6",
        group="sparse",
        oracles={"subset_mi": _oracles.subset_mi},
        attack_space=_gaussian_space, witness=_gaussian_witness, observed=_observed,
        sample=gaussian_sample, consequences=gaussian_consequences,
        cases=_sparse_cases,
        attackers=KNOWS,
    ),
)
