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

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import cvxpy as cp
import numpy as np
import pandas as pd

from . import info as _info
from . import solvers as _solvers
from . import validate as _v
from .core import AttackProblem, _json_safe
from .errors import InvalidInputError

#: Relative tolerance of the numerical Jensen test (plain-numpy log-dets and
#: entropies are accurate to ~1e-13 on the small problems it is meant for).
JENSEN_TOL = 1e-9
#: Absolute tolerance (times the problem's scale) of the admissible-set tests.
SET_TOL = 1e-9


# ------------------------------------------------------------------ report


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
        return _json_safe({
            "name": self.name, "status": self.status, "passed": self.passed, "figure": self.figure,
            "tolerance": self.tolerance, "informational": self.informational, "detail": self.detail,
            "data": self.data,
        })


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

    def to_dict(self) -> dict:
        """A JSON-safe dict of the report."""
        return _json_safe({
            "problem": self.problem, "family": self.family, "passed": self.passed, "failed": self.failed,
            "trials": self.trials, "seed": self.seed, "checks": [c.to_dict() for c in self.checks],
        })

    def to_frame(self) -> pd.DataFrame:
        """One row per check: ``name, status, passed, figure, tolerance, informational, detail``."""
        cols = ["name", "status", "passed", "figure", "tolerance", "informational", "detail"]
        rows = [{k: c.to_dict()[k] for k in cols} for c in self.checks]
        return pd.DataFrame(rows, columns=cols)


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


def _budget_value(ap: AttackProblem) -> float | None:
    param = ap.parameters.get("budget")
    if param is None or param.value is None:
        return None
    return float(param.value)


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
    budget = _budget_value(ap)
    cap = budget if budget is not None else max(2.0 * float(np.trace(x_cov[np.ix_(rows, rows)])), 1.0)
    noisy = bool(np.any(sn))
    scale = max(1.0, float(np.abs(x_cov).max()), float(np.abs(sy).max()), cap)
    c_x_pinv = np.linalg.pinv(x_cov, rcond=1e-12, hermitian=True)
    iy, i_n, i_d = slice(0, n), slice(n, n + m), slice(n + m, n + 2 * m)

    def sample(rng: np.random.Generator) -> np.ndarray:
        if knows == "x":  # Delta = H X + W: independent of Y given X
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
        return model.joint_from_gains(alpha * (E @ F), alpha * (E @ G), alpha**2 * (E @ W @ E.T))

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
        return float(max(parts))

    return AttackSpace(
        description=("joint covariances S of (Y, N, Delta) with Cov(Y), Cov(N) fixed, Y and N independent and "
                     "trace Cov(Delta) <= budget; I(Y; Z) evaluated with the Gaussian formula "
                     "(mi_cvx.info.gaussian_linear_mi) at S"),
        sample=sample, mi=model.mi_of, violation=violation, tol=SET_TOL * scale)


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
    family = attack_problem.family
    if family.startswith("gaussian"):
        return _gaussian_space(attack_problem)
    if family in _DISCRETE_FAMILIES:
        return _discrete_space(attack_problem)
    raise InvalidInputError("attack_problem", f"no attack space is known for the family {family!r}; "
                            "pass space=AttackSpace(...) to verify_convexity")


_DISCRETE_FAMILIES = ("binary_channel", "discrete_channel")


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
    base[np.arange(k), :, outputs] = 1.0
    return p, d, knows, base


def _discrete_space(ap: AttackProblem) -> AttackSpace:
    """Attack channels ``P(xh | x, y)`` meeting ``E d(X, Xhat) <= D``."""
    p, d, knows, base = _discrete_data(ap)
    k, ell = p.shape
    kp = d.shape[1]
    budget = _budget_value(ap)
    least = _info.expected_distortion(p, base, d)

    def sample(rng: np.random.Generator) -> np.ndarray:
        rows = ell if knows == "x_and_y" else 1
        if rng.random() < 0.25:  # a deterministic map
            chan = np.zeros((k, rows, kp))
            chan[np.arange(k)[:, None], np.arange(rows)[None, :], rng.integers(kp, size=(k, rows))] = 1.0
        else:
            chan = rng.dirichlet(np.full(kp, rng.uniform(0.2, 2.0)), size=(k, rows))
        chan = np.broadcast_to(chan, (k, ell, kp)).copy()
        if budget is not None:
            cost = _info.expected_distortion(p, chan, d)
            target = least + (budget - least) * (1.0 if rng.random() < 0.25 else rng.uniform(0.0, 1.0))
            if cost > target:  # mix with the least-cost map until the budget is met (cost is linear)
                a = (target - least) / (cost - least)
                chan = (1.0 - a) * base + a * chan
        return chan

    def mi(chan) -> float:
        return _info.channel_mi(p, chan)

    def violation(chan) -> float:
        chan = np.asarray(chan, dtype=float)
        parts = [max(0.0, -float(chan.min())), float(np.abs(chan.sum(axis=2) - 1.0).max())]
        if budget is not None:
            parts.append(max(0.0, _info.expected_distortion(p, chan, d) - budget))
        if knows == "x":  # a label-blind channel does not depend on y
            parts.append(float(np.abs(chan - chan[:, :1, :]).max()))
        return float(max(parts))

    return AttackSpace(
        description=("attack channels P(xh | x, y) (rows on the simplex"
                     + (", independent of y" if knows == "x" else "")
                     + ") with E d(X, Xhat) <= budget; I(Y; Xhat) evaluated with mi_cvx.info.channel_mi"),
        sample=sample, mi=mi, violation=violation)


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
        worst = max(worst, _leaf_violation(var, var.value))
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
    """The smallest feasible budget (the least-cost map's expected distortion; 0 for power budgets)."""
    if ap.family in _DISCRETE_FAMILIES:
        try:
            p, d, _, base = _discrete_data(ap)
        except InvalidInputError:
            return 0.0
        return _info.expected_distortion(p, base, d)
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
    d0 = float(param.value)
    grid = _default_budgets(attack_problem, d0) if budgets is None else _budget_grid(budgets)
    variables = attack_problem.problem.variables()
    saved = {v: None if v.value is None else np.array(v.value) for v in variables}
    values, duals, name, failures, kept, refused = [], [], None, [], [], []
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
                values.append(res.mi)
                duals.append(math.nan if res.dual_budget is None else res.dual_budget)
    finally:
        param.value = d0
        for var, value in saved.items():
            var.save_value(value)
    grid, values, duals = np.array(kept), np.array(values), np.array(duals)
    data = {"budgets": grid, "values": values, "duals": duals, "solver": name, "refused_budgets": refused}
    if failures:
        why = f"solves failed, so the curve is not trustworthy: {'; '.join(failures[:3])}"
        return [Check("value_function", None, detail=why, data=data), Check("budget_dual", None, detail=why)]
    if grid.size < 3:
        why = f"fewer than three feasible budgets on the grid (refused: {refused})"
        return [Check("value_function", None, detail=why, data=data), Check("budget_dual", None, detail=why)]

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


# --------------------------------------------------------------- witnesses


def _gaussian_witness(ap: AttackProblem) -> Check:
    model = _gaussian_model(ap)
    A, sy = model.A, model.signal_cov
    m = model.m
    rows = np.asarray(model.support, dtype=int)
    P = np.zeros((m, m))
    P[rows, rows] = 1.0
    budget = _budget_value(ap)
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
    family = attack_problem.family
    if family.startswith("gaussian"):
        return _gaussian_witness(attack_problem)
    if family in _DISCRETE_FAMILIES:
        return _discrete_witness(attack_problem)
    raise InvalidInputError("attack_problem", f"no deterministic-attack witness for the family {family!r}")


def _discrete_witness(ap: AttackProblem, seed: int = 0) -> Check:
    p, d, knows, base = _discrete_data(ap)
    space = _discrete_space(ap)
    rng = np.random.default_rng(seed)
    # A feasible target channel that moves I: the best of a few samples on the budget's boundary.
    candidates = [space.sample(rng) for _ in range(16)]
    target = max(candidates, key=lambda c: abs(space.mi(c) - space.mi(base)))

    def info_at(s: float) -> float:
        w = 1.0 / (1.0 + math.exp(-s))
        return _info.channel_mi(p, (1.0 - w) * base + w * target)

    chk = nonconvexity_witness(info_at, -8.0, 8.0, what="I(s)")
    form = "P(s) = (1 - sigmoid(s)) P_0 + sigmoid(s) P_1 (logit s; P_0 the least-distortion map, P_1 feasible)"
    within = "every P(s) is within the budget, and " if _budget_value(ap) is not None else ""
    chk.detail = f"logit of the attack channel, {form}; {within}I is convex in P but not in s: {chk.detail}"
    chk.data["parametrisation"] = form
    return chk


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
    ``dpp``, ``jensen``, ``admissible_set``, ``cvxpy_constraints``,
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
