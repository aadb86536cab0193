"""Input checks shared by every factory.

Each function takes the argument's *name* first so that the error it raises,
an :class:`~mi_cvx.errors.InvalidInputError`, tells the user which argument is
wrong and why.  They return clean ``float`` / ``numpy`` values.
"""

from __future__ import annotations

from collections.abc import Iterable
from numbers import Integral, Real

import numpy as np

from .errors import InvalidInputError

#: Absolute tolerance on a pmf's total mass.
PMF_TOL = 1e-9
#: Relative tolerance used for symmetry and PSD checks.
MATRIX_TOL = 1e-9


def scalar(name: str, value, *, nonneg: bool = False, positive: bool = False) -> float:
    """Return ``value`` as a finite float, checking its sign if asked."""
    if isinstance(value, bool) or not isinstance(value, (Real, np.number)):
        arr = np.asarray(value) if not isinstance(value, str) else None
        if arr is None or arr.ndim != 0 or not np.issubdtype(arr.dtype, np.number):
            raise InvalidInputError(name, f"expected a real number, got {value!r}")
        value = arr.item()
    value = float(value)
    if not np.isfinite(value):
        raise InvalidInputError(name, f"must be finite, got {value}")
    if positive and value <= 0:
        raise InvalidInputError(name, f"must be positive, got {value}")
    if nonneg and value < 0:
        raise InvalidInputError(name, f"must be non-negative, got {value}")
    return value


def budget(value, name: str = "budget", *, allow_none: bool = False) -> float | None:
    """A non-negative, finite attack budget (``None`` allowed if ``allow_none``)."""
    if value is None:
        if allow_none:
            return None
        raise InvalidInputError(name, "is required (a non-negative number)")
    return scalar(name, value, nonneg=True)


def array(name: str, value, *, ndim: int | None = None, shape=None) -> np.ndarray:
    """A finite float array with the given number of dimensions / shape."""
    try:
        arr = np.array(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(name, f"expected a numeric array ({exc})") from None
    if ndim is not None and arr.ndim != ndim:
        raise InvalidInputError(name, f"expected a {ndim}-d array, got shape {arr.shape}")
    if shape is not None and arr.shape != tuple(shape):
        raise InvalidInputError(name, f"expected shape {tuple(shape)}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise InvalidInputError(name, "contains NaN or infinite entries")
    return arr


def nonneg_vector(name: str, value, size: int | None = None) -> np.ndarray:
    """A finite, non-negative 1-d array (of length ``size`` if given)."""
    arr = array(name, value, ndim=1, shape=None if size is None else (size,))
    if np.any(arr < 0):
        raise InvalidInputError(name, f"must be non-negative, smallest entry is {arr.min():g}")
    return arr


def psd_matrix(name: str, value, *, size: int | None = None, definite: bool = False) -> np.ndarray:
    """A symmetric positive semidefinite (or definite) matrix.

    The matrix is symmetrised after the check so that later eigen-decompositions
    are exact.
    """
    mat = array(name, value, ndim=2)
    if mat.shape[0] != mat.shape[1]:
        raise InvalidInputError(name, f"must be square, got shape {mat.shape}")
    if size is not None and mat.shape[0] != size:
        raise InvalidInputError(name, f"expected shape ({size}, {size}), got {mat.shape}")
    scale = max(1.0, float(np.abs(mat).max(initial=0.0)))
    if not np.allclose(mat, mat.T, atol=MATRIX_TOL * scale, rtol=0):
        raise InvalidInputError(name, "must be symmetric")
    mat = 0.5 * (mat + mat.T)
    eig_min = float(np.linalg.eigvalsh(mat).min()) if mat.size else 0.0
    if definite and eig_min <= MATRIX_TOL * scale:
        raise InvalidInputError(name, f"must be positive definite, smallest eigenvalue is {eig_min:.3g}")
    if eig_min < -MATRIX_TOL * scale:
        raise InvalidInputError(name, f"must be positive semidefinite, smallest eigenvalue is {eig_min:.3g}")
    return mat


def covariance(name: str, value, size: int, *, definite: bool = False) -> np.ndarray:
    """A covariance given as a scalar (a multiple of the identity) or a matrix."""
    arr = np.asarray(value) if not np.isscalar(value) else None
    if arr is None or arr.ndim == 0:
        var = scalar(name, value, positive=definite, nonneg=True)
        return var * np.eye(size)
    return psd_matrix(name, value, size=size, definite=definite)


def observation_model(A, signal_cov, noise_cov=0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(A, signal_cov, noise_cov)`` of ``X = A Y + N`` as arrays, checked against each other.

    ``A`` is ``(m, n)`` (a 1-d array is one row); ``signal_cov`` must be positive
    definite and ``noise_cov`` positive semidefinite; a scalar covariance means
    that multiple of the identity.
    """
    A = array("A", A)
    if A.ndim == 1:
        A = A.reshape(1, -1)
    if A.ndim != 2 or A.size == 0:
        raise InvalidInputError("A", f"expected a non-empty (m, n) matrix, got shape {A.shape}")
    m, n = A.shape
    return A, covariance("signal_cov", signal_cov, n, definite=True), covariance("noise_cov", noise_cov, m)


def pmf(name: str, value, *, ndim: int | None = None, shape=None) -> np.ndarray:
    """A probability mass function: non-negative entries summing to one."""
    arr = array(name, value, ndim=ndim, shape=shape)
    if arr.size == 0:
        raise InvalidInputError(name, "must not be empty")
    if np.any(arr < 0):
        raise InvalidInputError(name, f"entries must be non-negative, smallest is {arr.min():g}")
    total = float(arr.sum())
    if abs(total - 1.0) > PMF_TOL:
        raise InvalidInputError(name, f"entries must sum to 1 (within {PMF_TOL:g}), they sum to {total!r}")
    return arr / total


def choice(name: str, value, options: Iterable[str]) -> str:
    """One of a fixed set of strings."""
    options = tuple(options)
    if value not in options:
        raise InvalidInputError(name, f"must be one of {', '.join(map(repr, options))}; got {value!r}")
    return value


def integer(name: str, value, *, low: int | None = None, high: int | None = None) -> int:
    """An integer in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, (Integral, np.integer)):
        raise InvalidInputError(name, f"expected an integer, got {value!r}")
    value = int(value)
    if low is not None and value < low:
        raise InvalidInputError(name, f"must be at least {low}, got {value}")
    if high is not None and value > high:
        raise InvalidInputError(name, f"must be at most {high}, got {value}")
    return value
