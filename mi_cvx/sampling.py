"""Attacked samples from a solved attack, and what the attack does to the best estimator of the label.

A result says how the attack is drawn, not only how much information it
leaves; the functions here turn it into data and into consequences a defender
can read.  The families declare them as their ``sample`` and ``consequences``
hooks (:class:`~mi_cvx.family.Family`), which :meth:`AttackResult.sample` and
:meth:`AttackResult.consequences` call.

Gaussian families (``Z = X + Delta``)
    :func:`gaussian_sample` draws ``Delta = F (y - mean_y) + G n + W`` per
    sample, with ``n`` the sample's noise (``x - y A^T`` without a data fit; the
    fit's ``noise(y, x)`` with one) and ``W ~ N(0, W_cov)`` independent;
    :func:`gaussian_consequences` gives the least mean squared error of
    estimating ``Y`` before and after the attack (``tr Cov(Y | X)``,
    ``tr Cov(Y | Z)``: what a retrained linear regression reaches).

Discrete families (``Xhat ~ channel[x, y, :]``)
    :func:`discrete_sample` draws ``Xhat`` per sample (the blind attacker's
    ``Xhat = X + W mod k`` with ``W ~ noise_pmf``, independent of ``y`` by
    construction); :func:`discrete_consequences` gives the Bayes error of
    classifying ``Y`` from ``X`` and from ``Xhat`` and Fano's lower bound on
    the latter (:func:`fano_bound`).

Without a data fit (``problem.spec`` has no ``"data"``) the means are 0 and the
discrete labels are the integer indices ``0..k-1`` and ``0..l-1``.  With one
(``mi_cvx.data``), the fit supplies the means, the noise of each sample, and
the encoding of the labels (``encode_x``, ``encode_y``, ``decode_x``).

This module imports nothing of the family modules (they import it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import InvalidInputError
from .info import binary_entropy, conditional_covariance, entropy, mutual_information

if TYPE_CHECKING:  # pragma: no cover - imports for annotations only
    from .core import AttackProblem, AttackResult


# ---------------------------------------------------------------- consequences


@dataclass(frozen=True, eq=False)
class Consequences:
    """What an attack does to the best estimator of the label ``Y``.

    Every field not of the result's kind is None.

    Attributes
    ----------
    kind : str
        ``"gaussian"`` or ``"discrete"``.
    mi_before, mi_after : float
        ``I(Y; X)`` and ``I(Y; Z)`` in nats (``inf`` for a noiseless observation
        that determines ``Y``).
    mmse_before, mmse_after : float or None
        Gaussian: ``tr Cov(Y | X)`` and ``tr Cov(Y | Z)``, the least mean squared
        error of estimating ``Y`` (reached by the linear regression of ``Y`` on
        the observation).
    error_cov_before, error_cov_after : ndarray or None
        Gaussian: ``Cov(Y | X)`` and ``Cov(Y | Z)`` (n x n).
    bayes_error_before, bayes_error_after : float or None
        Discrete: ``1 - sum_x max_y p(x, y)`` and ``1 - sum_xh max_y P(xh, y)``,
        the error of the MAP classifier of ``Y`` from ``X`` and from ``Xhat``.
    fano_bound : float or None
        Discrete: the least error any classifier of ``Y`` from ``Xhat`` can
        have by Fano's inequality (:func:`fano_bound` of ``H(Y | Xhat)``); at
        most ``bayes_error_after``.
    """

    kind: str
    mi_before: float
    mi_after: float
    mmse_before: float | None = None
    mmse_after: float | None = None
    error_cov_before: np.ndarray | None = None
    error_cov_after: np.ndarray | None = None
    bayes_error_before: float | None = None
    bayes_error_after: float | None = None
    fano_bound: float | None = None

    def __repr__(self) -> str:
        info = f"I {self.mi_before:.4g} -> {self.mi_after:.4g} nats"
        if self.kind == "gaussian":
            return f"Consequences(gaussian: MMSE {self.mmse_before:.4g} -> {self.mmse_after:.4g}, {info})"
        return (f"Consequences(discrete: Bayes error {self.bayes_error_before:.4g} -> {self.bayes_error_after:.4g} "
                f"(Fano >= {self.fano_bound:.4g}), {info})")

    def to_dict(self) -> dict:
        """A JSON-safe dict of the fields (arrays as nested lists, infinities and NaN as None; None fields left out)."""
        from .serialize import json_safe

        return json_safe({f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None})


def fano_bound(conditional_entropy: float, labels: int) -> float:
    """The least error probability Fano's inequality allows a classifier of ``Y`` with ``H(Y | Z)`` left.

    Fano: ``h(Pe) + Pe log(labels - 1) >= H(Y | Z)`` for every classifier's
    error ``Pe``.  The left side increases from 0 to ``log(labels)`` on
    ``[0, 1 - 1/labels]``, so the bound is its root there, found by a bounded
    root search (Brent's method).

    Parameters
    ----------
    conditional_entropy : float
        ``H(Y | Z)`` in nats (non-negative).
    labels : int
        The number of labels ``Y`` may take (with positive probability).

    Returns
    -------
    float
        In ``[0, 1 - 1/labels]``; 0 when ``H(Y | Z) = 0`` or there is one label.
    """
    from scipy.optimize import brentq

    h = float(conditional_entropy)
    if not math.isfinite(h) or h < -1e-12:
        raise InvalidInputError("conditional_entropy", f"must be a finite non-negative number, got {h!r}")
    labels = int(labels)
    if labels < 1:
        raise InvalidInputError("labels", f"must be a positive integer, got {labels}")
    if labels == 1 or h <= 1e-15:
        return 0.0
    top = 1.0 - 1.0 / labels
    log_rest = math.log(labels - 1)

    def gap(pe: float) -> float:
        return float(binary_entropy(pe)) + pe * log_rest - h

    if gap(top) <= 0.0:  # H(Y | Z) = log(labels) (to rounding): no better than guessing
        return top
    return float(brentq(gap, 0.0, top, xtol=1e-15, rtol=4 * np.finfo(float).eps))


def _gaussian_model(problem: AttackProblem):
    model = problem.spec.get("model")
    if model is None or not hasattr(model, "joint_from_gains"):
        raise InvalidInputError("result", f"its {problem.family} problem records no Gaussian model (spec['model']); "
                                "build it with a mi_cvx Gaussian factory")
    return model


def _gains(attack: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    missing = [key for key in ("F", "G", "W_cov") if key not in attack]
    if missing:
        raise InvalidInputError("result", f"its attack has no {', '.join(missing)} (not a Gaussian attack readout)")
    return (np.asarray(attack["F"], dtype=float), np.asarray(attack["G"], dtype=float),
            np.asarray(attack["W_cov"], dtype=float))


def gaussian_consequences_of(model, attack: Mapping[str, Any]) -> Consequences:
    """:class:`Consequences` of the Gaussian attack ``attack`` (keys ``F``, ``G``, ``W_cov``) on ``model``.

    Uses ``attack["joint_cov"]`` (the covariance of ``(Y, N, Delta)``) when
    given, else the joint the gains imply; the errors are
    :func:`mi_cvx.info.conditional_covariance` of ``Y`` given ``X = A Y + N``
    and given ``Z = X + Delta``.
    """
    F, G, W = _gains(attack)
    joint = (np.asarray(attack["joint_cov"], dtype=float) if "joint_cov" in attack
             else model.joint_from_gains(F, G, W))
    n, m = model.n, model.m
    to_y, to_z = model.joint_map()
    to_x = np.hstack([model.A, np.eye(m), np.zeros((m, m))])
    ys, obs = np.arange(n), np.arange(n, n + m)
    errors = []
    for to_obs in (to_x, to_z):
        stacked = np.vstack([to_y, to_obs])
        cov = stacked @ joint @ stacked.T
        errors.append(conditional_covariance(0.5 * (cov + cov.T), ys, obs))
    zeros = np.zeros((m, n)), np.zeros((m, m)), np.zeros((m, m))
    scale = float(np.linalg.eigvalsh(model.signal_cov).max())

    def info(error: np.ndarray, gains) -> float:
        # Y determined by the observation along some direction: the information is infinite
        # (the closed form would return the logarithm of a rounding error instead).
        if float(np.linalg.eigvalsh(error).min(initial=np.inf)) <= 1e-12 * scale:
            return math.inf
        return float(model.mi_of_gains(*gains))

    return Consequences(kind="gaussian", mi_before=info(errors[0], zeros), mi_after=info(errors[1], (F, G, W)),
                        mmse_before=float(np.trace(errors[0])), mmse_after=float(np.trace(errors[1])),
                        error_cov_before=errors[0], error_cov_after=errors[1])


def discrete_consequences_of(p_xy, output_joint) -> Consequences:
    """:class:`Consequences` of a discrete attack from ``p_xy[x, y]`` and ``output_joint[y, xh] = P(y, xh)``."""
    p = np.asarray(p_xy, dtype=float)
    out = np.asarray(output_joint, dtype=float)
    if out.ndim != 2 or out.shape[0] != p.shape[1]:
        raise InvalidInputError("output_joint", f"expected shape ({p.shape[1]}, k'), got {out.shape}")
    out = np.clip(out, 0.0, None)
    mi_after = mutual_information(out)
    p_y = p.sum(axis=0)
    left = max(float(entropy(p_y)) - mi_after, 0.0)  # H(Y | Xhat) = H(Y) - I(Y; Xhat)
    return Consequences(kind="discrete", mi_before=mutual_information(p), mi_after=mi_after,
                        bayes_error_before=max(1.0 - float(p.max(axis=1).sum()), 0.0),
                        bayes_error_after=max(1.0 - float(out.max(axis=0).sum()), 0.0),
                        fano_bound=fano_bound(left, int(np.count_nonzero(p_y > 0))))


def _problem(result: AttackResult) -> AttackProblem:
    problem = getattr(result, "problem", None)
    if problem is None:
        raise InvalidInputError("result", "has no problem (a result unpickled from a problem without a recipe): the "
                                "model it was solved for is unknown, so it cannot be sampled; solve the problem again")
    return problem


def gaussian_consequences(result: AttackResult) -> Consequences:
    """What a Gaussian result's attack does to the least-squares estimate of ``Y`` (the families' hook).

    Returns
    -------
    Consequences
        ``mmse_before = tr Cov(Y | X)``, ``mmse_after = tr Cov(Y | Z)``, the
        error covariances and ``I(Y; X)``, ``I(Y; Z)``.

    Raises
    ------
    InvalidInputError
        Naming ``result`` if it has no problem or is not a Gaussian result.
    """
    return gaussian_consequences_of(_gaussian_model(_problem(result)), result.attack)


def discrete_consequences(result: AttackResult) -> Consequences:
    """What a discrete result's attack does to the best classifier of ``Y`` (the families' hook).

    Returns
    -------
    Consequences
        ``bayes_error_before``, ``bayes_error_after``, ``fano_bound`` and
        ``I(Y; X)``, ``I(Y; Xhat)``.

    Raises
    ------
    InvalidInputError
        Naming ``result`` if it has no problem or is not a discrete result.
    """
    _problem(result)
    if "p_xy" not in result.parameters or "output_joint" not in result.attack:
        raise InvalidInputError("result", "is not a discrete result (no p_xy or output_joint)")
    return discrete_consequences_of(result.parameters["p_xy"], result.attack["output_joint"])


# ---------------------------------------------------------------------- sampling


def _generator(rng) -> np.random.Generator:
    try:
        return np.random.default_rng(rng)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError("rng", f"expected None, a seed or a numpy Generator, got {rng!r} ({exc})") from None


def _samples(name: str, value, columns: int) -> tuple[np.ndarray, bool]:
    """``value`` as a finite ``(N, columns)`` float array; whether it was given as a vector (one column)."""
    try:
        arr = np.array(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(name, f"expected a numeric array ({exc})") from None
    flat = arr.ndim == 1 and columns == 1
    if flat:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[1] != columns:
        shape = f"(N, {columns})" + (" or (N,)" if columns == 1 else "")
        raise InvalidInputError(name, f"expected shape {shape}, one row per sample, got {arr.shape}")
    if arr.shape[0] == 0:
        raise InvalidInputError(name, "has no samples")
    if not np.all(np.isfinite(arr)):
        raise InvalidInputError(name, "contains NaN or infinite entries")
    return arr, flat


def _same_length(x_len: int, y_len: int) -> None:
    if y_len != x_len:
        raise InvalidInputError("y", f"has {y_len} samples but x has {x_len} (one label per sample)")


def gaussian_draw(model, data, attack: Mapping[str, Any], x, y, rng=None) -> np.ndarray:
    """``z = x + F (y - mean_y) + G n + W`` for the Gaussian attack ``attack`` (keys ``F``, ``G``, ``W_cov``).

    ``model`` is the problem's Gaussian model; ``data`` its data fit (or None:
    means 0 and ``n = x - y A^T``).  See :func:`gaussian_sample`.
    """
    F, G, W_cov = _gains(attack)
    n, m = model.n, model.m
    x2, flat = _samples("x", x, m)
    y2, _ = _samples("y", y, n)
    _same_length(x2.shape[0], y2.shape[0])
    gen = _generator(rng)
    count = x2.shape[0]
    if data is None:
        centred_y = y2
        noise = x2 - y2 @ model.A.T
    else:
        centred_y = y2 - np.asarray(data.mean_y, dtype=float).reshape(1, n)
        noise = np.asarray(data.noise(y2, x2), dtype=float).reshape(count, m)
    lam, U = np.linalg.eigh(0.5 * (W_cov + W_cov.T))
    factor = U * np.sqrt(np.clip(lam, 0.0, None))
    delta = centred_y @ F.T + noise @ G.T + gen.standard_normal((count, m)) @ factor.T
    z = x2 + delta
    return z[:, 0] if flat else z


def gaussian_sample(result: AttackResult, x, y, rng=None) -> np.ndarray:
    """Attacked observations ``z = x + Delta`` drawn from a Gaussian result's attack (the families' hook).

    ``Delta = F (y - mean_y) + G n + W`` per sample with ``F``, ``G``,
    ``W_cov`` of ``result.attack``, ``n`` the sample's noise (``x - y A^T``,
    or the data fit's ``noise(y, x)``) and ``W ~ N(0, W_cov)`` independent of
    the data.  For every attacker model: the label-blind attacker's ``F Y + G N``
    is a function of ``X``; the blind attacker's ``F = G = 0``.

    Parameters
    ----------
    result : AttackResult
        A Gaussian result with its problem.
    x : array_like, shape (N, m)
        Observations (shape (N,) when m = 1).
    y : array_like, shape (N, n)
        Their labels (shape (N,) when n = 1).
    rng : None, int or numpy.random.Generator
        Seeds the draws of ``W``.

    Returns
    -------
    ndarray
        ``z``, shaped like ``x``.

    Raises
    ------
    InvalidInputError
        Naming ``x``, ``y`` or ``rng`` (shape, length, NaN) or ``result`` (no problem).
    """
    problem = _problem(result)
    return gaussian_draw(_gaussian_model(problem), problem.spec.get("data"), result.attack, x, y, rng)


def _labels(name: str, value, size: int, encode=None) -> tuple[np.ndarray, tuple[int, ...]]:
    """``value`` as integer label indices in ``0..size-1`` (through the fit's ``encode`` when given); its shape."""
    if encode is not None:
        column = isinstance(value, np.ndarray) and value.ndim == 2 and value.shape[1] == 1
        try:
            raw = np.asarray(encode(value[:, 0] if column else value))
        except InvalidInputError as exc:
            detail = str(exc).split(": ", 1)[-1]
            raise InvalidInputError(name, f"labels the data fit cannot encode: {detail}") from None
        except (KeyError, ValueError, IndexError, TypeError) as exc:
            raise InvalidInputError(name, f"labels the data fit cannot encode: {exc!r}") from None
        shape = value.shape if isinstance(value, np.ndarray) else raw.shape
    else:
        raw = np.asarray(value)
        shape = raw.shape
        if raw.ndim == 2 and raw.shape[1] == 1:
            raw = raw[:, 0]
    if raw.ndim != 1:
        raise InvalidInputError(name, f"expected one label per sample, shape (N,), got {shape}")
    if raw.shape[0] == 0:
        raise InvalidInputError(name, "has no samples")
    if raw.dtype.kind not in "biuf":
        raise InvalidInputError(name, f"labels must be integer indices 0..{size - 1} (no data fit records other "
                                f"labels), got dtype {raw.dtype}")
    values = raw.astype(float)
    if not np.all(np.isfinite(values)):
        raise InvalidInputError(name, "contains NaN or infinite entries")
    if np.any(values != np.round(values)):
        bad = values[values != np.round(values)][0]
        raise InvalidInputError(name, f"labels must be integer indices 0..{size - 1}, got {bad:g}")
    out = values.astype(np.int64)
    wrong = (out < 0) | (out >= size)
    if np.any(wrong):
        raise InvalidInputError(name, f"label {out[wrong][0]} is out of range 0..{size - 1}"
                                + (" (the data fit's encoding)" if encode is not None else ""))
    return out, tuple(shape)


def _draw_rows(probs: np.ndarray, gen: np.random.Generator) -> np.ndarray:
    """One index per row of ``probs`` (rows of pmfs), by cumulative sums and uniform draws."""
    cdf = np.cumsum(np.clip(probs, 0.0, None), axis=1)
    cdf /= cdf[:, -1:]
    u = gen.random((probs.shape[0], 1))
    return np.minimum((cdf <= u).sum(axis=1), probs.shape[1] - 1)


def discrete_draw(attack: Mapping[str, Any], p_xy, data, x, y, rng=None, *, blind: bool = False) -> np.ndarray:
    """``Xhat`` per sample for the discrete attack ``attack`` (``channel``, and ``noise_pmf`` when ``blind``).

    See :func:`discrete_sample`; ``data`` is the problem's data fit or None.
    """
    if "channel" not in attack:
        raise InvalidInputError("result", "its attack has no channel (not a discrete attack readout)")
    channel = np.asarray(attack["channel"], dtype=float)
    k, ell = np.shape(p_xy)
    kp = channel.shape[2]
    xi, shape = _labels("x", x, k, None if data is None else data.encode_x)
    yi, _ = _labels("y", y, ell, None if data is None else data.encode_y)
    _same_length(xi.size, yi.size)
    gen = _generator(rng)
    noise = attack.get("noise_pmf")
    if blind and noise is not None:  # Xhat = X + W mod k, W ~ noise_pmf: independent of y by construction
        w = np.asarray(noise, dtype=float)
        xh = (xi + _draw_rows(np.broadcast_to(w, (xi.size, w.size)), gen)) % k
    else:
        xh = _draw_rows(channel[xi, yi, :], gen)
    if data is not None and kp == k:
        return np.asarray(data.decode_x(xh)).reshape(shape)
    return xh.reshape(shape)


def discrete_sample(result: AttackResult, x, y, rng=None) -> np.ndarray:
    """Attacked letters ``xhat ~ channel[x, y, :]`` drawn from a discrete result's attack (the families' hook).

    Drawn for all samples at once (cumulative sums of the channel's rows and
    one uniform draw each).  The blind attacker's ``xhat = x + W mod k`` with
    ``W ~ result.attack["noise_pmf"]`` does not look at ``y``.

    Parameters
    ----------
    result : AttackResult
        A discrete result with its problem.
    x, y : array_like, shape (N,)
        The letters and labels: integer indices ``0..k-1`` and ``0..l-1``, or,
        when the problem was built from a data fit, labels the fit saw.
    rng : None, int or numpy.random.Generator
        Seeds the draws.

    Returns
    -------
    ndarray
        ``xhat`` shaped like ``x``: indices, or decoded to the fit's labels of
        ``X`` (when the output alphabet is X's).

    Raises
    ------
    InvalidInputError
        Naming ``x``, ``y`` (shape, length, NaN, labels out of range or
        unseen), ``rng`` or ``result`` (no problem).
    """
    problem = _problem(result)
    if "p_xy" not in result.parameters:
        raise InvalidInputError("result", "is not a discrete result (no p_xy)")
    return discrete_draw(result.attack, result.parameters["p_xy"], problem.spec.get("data"), x, y, rng,
                         blind=problem.spec.get("knows") == "nothing")
