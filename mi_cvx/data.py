"""Fitting attack models from samples.

The factories take a model: the Gaussian ``X = A Y + N`` (docs/theory.md
section 3) or a joint pmf ``p[x, y]`` on finite alphabets (docs/theory.md
section 5).  With data instead of a model, fit one first:

* :func:`fit_gaussian` estimates ``A``, ``Cov(Y)`` and ``Cov(N)`` (and the
  means the model leaves out) from paired samples, optionally with shrinkage;
* :func:`fit_discrete` estimates the joint pmf from labelled samples, with
  additive (Laplace) smoothing, and keeps the labels for encoding and
  decoding.

Each fit is a frozen dataclass of arrays (it pickles) whose
``attack_problem(budget, **kwargs)`` calls the family's factory and records
the fit on the problem as ``problem.spec["data"]``.
"""

from __future__ import annotations

import math
import numbers
import reprlib
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .core import AttackProblem, rebuildable
from .discrete import binary_channel, discrete_channel
from .errors import InvalidInputError
from .gaussian import gaussian_vector

__all__ = ["DiscreteFit", "GaussianFit", "fit_discrete", "fit_gaussian"]

#: The smallest eigenvalue of the sample *correlation* matrix of ``y`` below which it counts as
#: singular (scale-free: exact linear dependence gives ~1e-16, real data far more).
_SINGULAR_TOL = 1e-12

#: How many unseen labels an error message lists.
_SHOW = 5


# ------------------------------------------------------------------ helpers


def _readonly(array: np.ndarray) -> np.ndarray:
    array = np.array(array, copy=True)
    array.flags.writeable = False
    return array


def _samples(value: Any, name: str) -> np.ndarray:
    """A real ``(N, d)`` float array of finite samples; a 1-D input is one column."""
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(name, f"cannot be read as an array of numbers ({exc})") from None
    if array.dtype.kind == "O":  # e.g. numbers in an object column
        try:
            array = array.astype(float)
        except (TypeError, ValueError):
            raise InvalidInputError(name, "must hold real numbers, got objects that are not numbers") from None
    if array.dtype.kind not in "biuf":
        raise InvalidInputError(name, f"must hold real numbers, got dtype {array.dtype}")
    if array.ndim == 1:
        array = array[:, None]
    elif array.ndim != 2:
        raise InvalidInputError(name, f"must have shape (N, d) or (N,), got shape {array.shape}")
    array = array.astype(float)
    if not np.isfinite(array).all():
        rows = np.flatnonzero(~np.isfinite(array).all(axis=1))
        raise InvalidInputError(name, f"has NaN or infinite values (in {rows.size} sample(s), first at row "
                                      f"{rows[0]})")
    return array


def _check_constant(array: np.ndarray, name: str) -> None:
    constant = np.flatnonzero((array == array[:1]).all(axis=0))
    if constant.size:
        cols = ", ".join(str(c) for c in constant[:_SHOW]) + (", ..." if constant.size > _SHOW else "")
        raise InvalidInputError(name, f"column(s) {cols} are constant (zero variance); drop them, the model "
                                      "needs every feature to vary")


def _check_shrinkage(shrinkage: Any) -> str | float | None:
    if shrinkage is None or (isinstance(shrinkage, str) and shrinkage == "ledoit_wolf"):
        return shrinkage
    if isinstance(shrinkage, bool) or not isinstance(shrinkage, numbers.Real):
        raise InvalidInputError("shrinkage", f"must be None, 'ledoit_wolf' or a number in [0, 1], got {shrinkage!r}")
    value = float(shrinkage)
    if not 0.0 <= value <= 1.0:  # also refuses NaN
        raise InvalidInputError("shrinkage", f"must be None, 'ledoit_wolf' or a number in [0, 1], got {shrinkage!r}")
    return value


def _shrink(cov: np.ndarray, coefficient: float) -> np.ndarray:
    """``(1 - c) cov + c trace(cov)/d I``."""
    d = cov.shape[0]
    target = np.trace(cov) / d * np.eye(d)
    return (1.0 - coefficient) * cov + coefficient * target


def _ledoit_wolf_coefficient(samples: np.ndarray, *, assume_centered: bool) -> float:
    from sklearn.covariance import ledoit_wolf  # type: ignore[import-untyped]

    coefficient = float(ledoit_wolf(samples, assume_centered=assume_centered)[1])
    return min(max(coefficient, 0.0), 1.0)  # sklearn's can come out as -1e-17 (rounding)


def _symmetric(cov: np.ndarray) -> np.ndarray:
    return (cov + cov.T) / 2.0


def _is_singular(cov: np.ndarray) -> bool:
    scale = np.sqrt(np.diag(cov))
    if not (scale > 0).all():
        return True
    correlation = cov / np.outer(scale, scale)
    return bool(np.linalg.eigvalsh(correlation)[0] <= _SINGULAR_TOL)


# ------------------------------------------------------------------ Gaussian


@dataclass(frozen=True, eq=False, repr=False)
class GaussianFit:
    """The Gaussian model ``X = A Y + N`` fitted to samples (docs/theory.md section 3).

    Made by :func:`fit_gaussian`.  The model of section 3 has zero means; the
    fit centres the data, so ``x - mean_x = A (y - mean_y) + N``.

    Attributes
    ----------
    A : ndarray, shape (m, n)
        Observation matrix.
    signal_cov : ndarray, shape (n, n)
        Covariance of ``Y``.
    noise_cov : ndarray, shape (m, m)
        Covariance of the noise ``N``.
    mean_y : ndarray, shape (n,)
    mean_x : ndarray, shape (m,)
        Sample means.
    samples : int
        ``N``, the number of samples fitted.
    shrinkage : None, "ledoit_wolf" or float
        The ``shrinkage`` argument of the fit.
    shrinkage_used : tuple of float
        The shrinkage coefficients applied to ``(signal_cov, noise_cov)``
        (``(0.0, 0.0)`` without shrinkage).
    """

    A: np.ndarray
    signal_cov: np.ndarray
    noise_cov: np.ndarray
    mean_y: np.ndarray
    mean_x: np.ndarray
    samples: int
    shrinkage: str | float | None = None
    shrinkage_used: tuple[float, float] = (0.0, 0.0)

    def attack_problem(self, budget: Any, **kwargs: Any) -> AttackProblem:
        """The attack on the fitted model: :func:`mi_cvx.gaussian_vector` with it.

        Parameters
        ----------
        budget : float or None
            Power budget ``E||Delta||^2 <= budget`` (in the units of ``x``).
        **kwargs
            Passed on to :func:`mi_cvx.gaussian_vector` (``knows``,
            ``formulation``, ``stealth``, ``stealth_weight``).

        Returns
        -------
        AttackProblem
            With ``problem.spec["data"]`` set to this fit (e.g. to centre
            samples before applying the attack); its recipe is
            :func:`fitted_problem`, so a pickled problem keeps the fit.
        """
        return fitted_problem(self, budget, **kwargs)

    def noise(self, y: Any, x: Any) -> np.ndarray:
        """The fitted noise of each sample, ``x - mean_x - (y - mean_y) A^T``.

        Parameters
        ----------
        y : array_like, shape (N, n) or (N,) when n = 1
        x : array_like, shape (N, m) or (N,) when m = 1

        Returns
        -------
        ndarray, shape (N, m)

        Raises
        ------
        InvalidInputError
            Shapes that do not match the fit or each other, NaN or infinite
            values; the message names the argument.
        """
        m, n = self.A.shape
        y_arr, x_arr = _samples(y, "y"), _samples(x, "x")
        if y_arr.shape[1] != n:
            raise InvalidInputError("y", f"has {y_arr.shape[1]} column(s) but the fit has n={n}")
        if x_arr.shape[1] != m:
            raise InvalidInputError("x", f"has {x_arr.shape[1]} column(s) but the fit has m={m}")
        if x_arr.shape[0] != y_arr.shape[0]:
            raise InvalidInputError("x", f"has {x_arr.shape[0]} samples but y has {y_arr.shape[0]}")
        return x_arr - self.mean_x - (y_arr - self.mean_y) @ self.A.T

    def __repr__(self) -> str:
        m, n = self.A.shape
        return f"GaussianFit(m={m}, n={n}, samples={self.samples}, shrinkage={self.shrinkage!r})"


def fit_gaussian(y: Any, x: Any, shrinkage: str | float | None = None) -> GaussianFit:
    """Fit ``X = A Y + N`` (docs/theory.md section 3) to paired samples.

    The data are centred by their sample means; then, with ``S_y`` the
    unbiased sample covariance of ``y`` (divisor ``N - 1``) and ``S_xy`` the
    cross-covariance:

    * ``shrinkage=None``: ``A`` by least squares on the centred data
      (``x_c ~ y_c A^T``), ``signal_cov = S_y``, and ``noise_cov`` the
      covariance of the residuals ``r = x_c - y_c A^T`` with divisor
      ``N - n - 1`` (the residual degrees of freedom: ``n`` slopes and the
      mean), which makes it unbiased.  Needs ``N >= n + 2`` and ``S_y``
      non-singular.
    * ``shrinkage=c`` in ``[0, 1]``: ``signal_cov = (1 - c) S_y + c
      trace(S_y)/n I``; ``A = S_xy signal_cov^{-1}`` (the regression with
      the shrunk covariance: least squares when ``c = 0``); ``noise_cov``
      the residuals' scatter divided by their degrees of freedom
      ``N - 1 - 2 tr(M) + tr(M^2)``, ``M = signal_cov^{-1} S_y`` (as for
      any linear smoother; ``N - n - 1`` when ``c = 0``), shrunk the same
      way towards ``trace/m I``.  Works with ``N <= n`` when ``c > 0``.
    * ``shrinkage="ledoit_wolf"``: as for a number, with the Ledoit-Wolf
      coefficients computed by :func:`sklearn.covariance.ledoit_wolf` on
      ``y`` and on the residuals.  (sklearn's own estimate divides by ``N``;
      here the coefficient is applied to the covariances above, so the
      result is sklearn's times ``N / (N - 1)`` for ``y``.)

    Parameters
    ----------
    y : array_like, shape (N, n) or (N,)
        Samples of the label ``Y`` (a 1-D array is one feature).
    x : array_like, shape (N, m) or (N,)
        The paired observations ``X``.
    shrinkage : None, "ledoit_wolf" or float in [0, 1]
        How to regularise the covariances (see above).

    Returns
    -------
    GaussianFit

    Raises
    ------
    InvalidInputError
        Mismatched lengths (``x``), NaN or infinite samples, too few samples
        (``y``: ``N < n + 2`` without shrinkage, ``N < 2`` with it), a
        singular sample covariance of ``y`` without shrinkage (the message
        says to use ``shrinkage=``), a constant column of ``y`` or ``x``,
        a ``shrinkage`` not in the allowed values.
    """
    shrinkage = _check_shrinkage(shrinkage)
    y_arr, x_arr = _samples(y, "y"), _samples(x, "x")
    N, n = y_arr.shape
    if x_arr.shape[0] != N:
        raise InvalidInputError("x", f"has {x_arr.shape[0]} samples but y has {N}")
    plain = shrinkage is None or shrinkage == 0.0
    if N < 2:
        raise InvalidInputError("y", f"has {N} sample(s); a covariance needs at least 2")
    if plain and N < n + 2:
        hint = "; use shrinkage= ('ledoit_wolf' or a number in (0, 1])"
        raise InvalidInputError("y", f"has {N} samples of n={n} features; fitting A and the noise covariance needs "
                                     f"at least n + 2 = {n + 2}{hint}")
    _check_constant(y_arr, "y")
    _check_constant(x_arr, "x")

    mean_y, mean_x = y_arr.mean(axis=0), x_arr.mean(axis=0)
    y_c, x_c = y_arr - mean_y, x_arr - mean_x
    s_y = _symmetric(y_c.T @ y_c / (N - 1))

    if plain and _is_singular(s_y):
        raise InvalidInputError("y", "the sample covariance of y is singular (linearly dependent features or too "
                                     "few samples); use shrinkage= ('ledoit_wolf' or a number in (0, 1])")

    if shrinkage is None:
        A = np.linalg.lstsq(y_c, x_c, rcond=None)[0].T
        residuals = x_c - y_c @ A.T
        dof = float(N - n - 1)
        return _gaussian_fit(A, s_y, _symmetric(residuals.T @ residuals / dof), mean_y, mean_x, N, None, (0.0, 0.0))

    c_signal = _ledoit_wolf_coefficient(y_arr, assume_centered=False) if shrinkage == "ledoit_wolf" else float(
        shrinkage)
    signal_cov = _symmetric(_shrink(s_y, c_signal))
    if _is_singular(signal_cov):  # e.g. Ledoit-Wolf's coefficient is 0 for two samples
        raise InvalidInputError("y", f"the sample covariance of y stays singular after shrinkage (coefficient "
                                     f"{c_signal:.3g}); use a larger number in (0, 1] as shrinkage= or more samples")
    s_yx = y_c.T @ x_c / (N - 1)
    A = np.linalg.solve(signal_cov, s_yx).T
    residuals = x_c - y_c @ A.T
    # The fit is the linear smoother x_c -> H x_c with H = y_c signal_cov^{-1} y_c^T / (N - 1); its residual
    # degrees of freedom ||C - H||_F^2 (C the centring projector) are N - 1 - 2 tr(M) + tr(M^2) with
    # M = signal_cov^{-1} S_y, and N - n - 1 when M = I (no shrinkage).
    M = np.linalg.solve(signal_cov, s_y)
    dof = (N - 1) - 2.0 * float(np.trace(M)) + float(np.sum(M * M.T))
    if not dof > 1e-8 * N:
        raise InvalidInputError("y", f"has {N} samples of n={n} features: no degrees of freedom are left for the "
                                     "noise covariance; use a larger shrinkage= or more samples")
    noise_raw = _symmetric(residuals.T @ residuals / dof)
    c_noise = _ledoit_wolf_coefficient(residuals, assume_centered=True) if shrinkage == "ledoit_wolf" else float(
        shrinkage)
    noise_cov = _symmetric(_shrink(noise_raw, c_noise))
    return _gaussian_fit(A, signal_cov, noise_cov, mean_y, mean_x, N, shrinkage, (c_signal, c_noise))


def _gaussian_fit(A: np.ndarray, signal_cov: np.ndarray, noise_cov: np.ndarray, mean_y: np.ndarray,
                  mean_x: np.ndarray, N: int, shrinkage: str | float | None, used: tuple[float, float]) -> GaussianFit:
    return GaussianFit(A=_readonly(A), signal_cov=_readonly(signal_cov), noise_cov=_readonly(noise_cov),
                       mean_y=_readonly(mean_y), mean_x=_readonly(mean_x), samples=int(N), shrinkage=shrinkage,
                       shrinkage_used=(float(used[0]), float(used[1])))


# ------------------------------------------------------------------ discrete


def _is_nan(value: Any) -> bool:
    try:
        return bool(value != value)  # NaN (float, numpy float, Decimal NaN) is the one value unequal to itself
    except (TypeError, ValueError):  # e.g. an array element that compares elementwise
        return False


def _labels(value: Any, name: str) -> np.ndarray:
    """A 1-D array of labels (any hashable, mutually comparable values)."""
    if isinstance(value, np.ndarray):
        array = value
    elif isinstance(value, (str, bytes)):
        raise InvalidInputError(name, f"must be a 1-D sequence of labels, got one {type(value).__name__}")
    else:
        try:
            items = list(value)
        except TypeError:
            raise InvalidInputError(name, f"must be a 1-D sequence of labels, got {type(value).__name__}") from None
        array = np.asarray(items) if items else np.asarray(items, dtype=float)
        if array.ndim != 1 or (array.dtype.kind in "US" and not all(isinstance(v, (str, bytes)) for v in items)):
            # tuples as labels: keep each one whole; mixed numbers and strings: do not turn 1 into "1"
            array = np.empty(len(items), dtype=object)
            array[:] = items
    if array.ndim != 1:
        raise InvalidInputError(name, f"must be 1-D, got shape {array.shape}")
    if array.dtype.kind == "f" or array.dtype.kind == "c":
        bad = np.isnan(array)
    elif array.dtype.kind == "O":
        bad = np.fromiter((_is_nan(v) for v in array), dtype=bool, count=array.size)
        for v in array:
            if not isinstance(v, Hashable):
                raise InvalidInputError(name, f"labels must be hashable, got {type(v).__name__}")
    else:
        bad = np.zeros(array.shape, dtype=bool)
    if bad.any():
        raise InvalidInputError(name, f"has NaN label(s) ({int(bad.sum())} of {array.size}, first at index "
                                      f"{int(np.flatnonzero(bad)[0])}); drop or recode them")
    return array


def _unique(array: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        labels, codes = np.unique(array, return_inverse=True)
    except TypeError as exc:
        raise InvalidInputError(name, f"labels must be mutually comparable so they can be sorted ({exc})") from None
    return labels, codes.reshape(-1)


def _encode(labels: np.ndarray, value: Any, name: str) -> Any:
    """Indices of ``value``'s labels in the sorted ``labels``; unseen labels raise."""
    scalar = np.ndim(value) == 0  # one label: a number, a string, a 0-d array
    array = _labels(np.reshape(np.asarray(value), 1) if scalar else value, name)
    kinds = {labels.dtype.kind, array.dtype.kind}
    if kinds <= set("biuf") or kinds <= {"U"} or kinds <= {"S"}:
        pos = np.searchsorted(labels, array).clip(0, labels.size - 1)
        found = labels[pos] == array
        codes = pos
    else:  # objects or mixed kinds: look each label up
        lookup = {label: i for i, label in enumerate(labels.tolist())}
        codes = np.empty(array.size, dtype=np.intp)
        found = np.ones(array.size, dtype=bool)
        for i, label in enumerate(array.tolist()):
            try:
                codes[i] = lookup[label]
            except (KeyError, TypeError):
                codes[i], found[i] = 0, False
    if not found.all():
        unseen = list(dict.fromkeys(array[~found].tolist()))
        shown = ", ".join(reprlib.repr(u) for u in unseen[:_SHOW]) + (", ..." if len(unseen) > _SHOW else "")
        raise InvalidInputError(name, f"{len(unseen)} label(s) not seen at fit time: {shown}")
    codes = np.asarray(codes, dtype=np.intp)
    return int(codes[0]) if scalar else codes


def _decode(labels: np.ndarray, codes: Any, name: str) -> Any:
    array = np.asarray(codes)
    if array.dtype.kind not in "iu" and not (array.dtype.kind == "f" and np.isfinite(array).all()
                                             and (array == np.round(array)).all()):
        raise InvalidInputError("codes", f"must be integer codes, got dtype {array.dtype}")
    array = array.astype(np.intp)
    if array.size and (array.min() < 0 or array.max() >= labels.size):
        raise InvalidInputError("codes", f"must lie in 0..{labels.size - 1} (the {name} alphabet), got "
                                         f"{int(array.min())}..{int(array.max())}")
    return labels[array]


@dataclass(frozen=True, eq=False, repr=False)
class DiscreteFit:
    """A joint pmf ``p[x, y]`` fitted to labelled samples (docs/theory.md section 5).

    Made by :func:`fit_discrete`.  Row ``i`` of :attr:`p_xy` is the label
    ``x_labels[i]``, column ``j`` the label ``y_labels[j]``.

    Attributes
    ----------
    p_xy : ndarray, shape (k, l)
        The joint pmf (rows ``x``, columns ``y``).
    x_labels : ndarray, shape (k,)
    y_labels : ndarray, shape (l,)
        The labels seen, sorted (``np.unique``).
    samples : int
        ``N``, the number of samples fitted.
    smoothing : float
        The additive smoothing used.
    """

    p_xy: np.ndarray
    x_labels: np.ndarray
    y_labels: np.ndarray
    samples: int
    smoothing: float = 0.0

    def encode_x(self, x: Any) -> Any:
        """Row indices of labels of ``x`` (an int for one label).

        Raises
        ------
        InvalidInputError
            ``x`` holds a label not seen at fit time (the message lists a few).
        """
        return _encode(self.x_labels, x, "x")

    def encode_y(self, y: Any) -> Any:
        """Column indices of labels of ``y`` (an int for one label); see :meth:`encode_x`."""
        return _encode(self.y_labels, y, "y")

    def decode_x(self, codes: Any) -> Any:
        """The ``x`` labels of row indices ``codes`` (e.g. an attack's output letters ``xh``).

        Raises
        ------
        InvalidInputError
            ``codes`` not integers in ``0..k-1``.
        """
        return _decode(self.x_labels, codes, "x")

    def decode_y(self, codes: Any) -> Any:
        """The ``y`` labels of column indices ``codes``; see :meth:`decode_x`."""
        return _decode(self.y_labels, codes, "y")

    def attack_problem(self, budget: Any, **kwargs: Any) -> AttackProblem:
        """The attack on the fitted pmf.

        :func:`mi_cvx.binary_channel` when both alphabets have two letters
        and neither ``distortion`` nor ``output_size`` is given (Hamming on a
        2 x 2 pmf is the binary channel, docs/theory.md section 4); otherwise
        :func:`mi_cvx.discrete_channel`.  Letters are the indices of
        :attr:`x_labels` / :attr:`y_labels`; :meth:`decode_x` maps the
        attack's outputs back.

        Parameters
        ----------
        budget : float or None
            Bound on the expected distortion (flips for Hamming).
        **kwargs
            Passed on to the factory (``distortion``, ``output_size``,
            ``knows``, ``formulation``, ``stealth``, ``stealth_weight``).

        Returns
        -------
        AttackProblem
            With ``problem.spec["data"]`` set to this fit; its recipe is
            :func:`fitted_problem`, so a pickled problem keeps the fit.
        """
        return fitted_problem(self, budget, **kwargs)

    def __repr__(self) -> str:
        k, ell = self.p_xy.shape
        return f"DiscreteFit(k={k}, l={ell}, samples={self.samples}, smoothing={self.smoothing:g})"


def fit_discrete(x: Any, y: Any, smoothing: float = 0.0) -> DiscreteFit:
    """Fit the joint pmf ``p[x, y]`` (docs/theory.md section 5) to labelled samples.

    The labels of ``x`` and of ``y`` are sorted (``np.unique``) and become
    the rows and columns; with ``n[i, j]`` the count of samples with labels
    ``(x_labels[i], y_labels[j])``,

    ``p[i, j] = (n[i, j] + smoothing) / (N + smoothing * k * l)``

    (additive, or Laplace, smoothing; ``smoothing=0`` is the empirical pmf).
    Every row and column has a sample, so no row of the fit is all zero.

    Parameters
    ----------
    x : array_like, shape (N,)
        Observations: any hashable, mutually comparable labels (ints,
        strings, ...).
    y : array_like, shape (N,)
        The paired class labels.
    smoothing : float, default 0
        Pseudo-count added to every cell (``>= 0``).

    Returns
    -------
    DiscreteFit

    Raises
    ------
    InvalidInputError
        Mismatched lengths (``y``), no samples, arrays that are not 1-D,
        NaN labels, labels that cannot be sorted, a negative or NaN
        ``smoothing``.
    """
    if isinstance(smoothing, bool) or not isinstance(smoothing, numbers.Real) or not math.isfinite(
            float(smoothing)) or float(smoothing) < 0:
        raise InvalidInputError("smoothing", f"must be a finite number >= 0, got {smoothing!r}")
    x_arr, y_arr = _labels(x, "x"), _labels(y, "y")
    if x_arr.size != y_arr.size:
        raise InvalidInputError("y", f"has {y_arr.size} samples but x has {x_arr.size}")
    if x_arr.size == 0:
        raise InvalidInputError("x", "has no samples")
    x_labels, x_codes = _unique(x_arr, "x")
    y_labels, y_codes = _unique(y_arr, "y")
    k, ell = x_labels.size, y_labels.size
    counts = np.bincount(x_codes * ell + y_codes, minlength=k * ell).reshape(k, ell).astype(float)
    alpha = float(smoothing)
    p_xy = (counts + alpha) / (x_arr.size + alpha * k * ell)
    return DiscreteFit(p_xy=_readonly(p_xy), x_labels=_readonly(x_labels), y_labels=_readonly(y_labels),
                       samples=int(x_arr.size), smoothing=alpha)


@rebuildable
def fitted_problem(fit: GaussianFit | DiscreteFit, budget: Any, **kwargs: Any) -> AttackProblem:
    """The attack problem of a fitted model, with ``problem.spec["data"] = fit``.

    What :meth:`GaussianFit.attack_problem` and :meth:`DiscreteFit.attack_problem`
    return; a module-level factory, so the problem's recipe holds the fit and a
    pickled (or rebuilt) problem keeps it.
    """
    if isinstance(fit, GaussianFit):
        problem = gaussian_vector(fit.A, budget, fit.signal_cov, fit.noise_cov, **kwargs)
    elif isinstance(fit, DiscreteFit):
        k, ell = fit.p_xy.shape
        if k == 2 and ell == 2 and kwargs.get("distortion") is None and kwargs.get("output_size") is None:
            rest = {key: v for key, v in kwargs.items() if key not in ("distortion", "output_size")}
            problem = binary_channel(fit.p_xy, budget, **rest)
        else:
            problem = discrete_channel(fit.p_xy, budget, **kwargs)
    else:
        raise InvalidInputError("fit", f"expected a GaussianFit or a DiscreteFit, got {type(fit).__name__}")
    problem.spec["data"] = fit
    return problem
