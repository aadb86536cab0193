"""Input checks shared by every factory.

Each function takes the argument's *name* first so that the error it raises,
an :class:`~mi_cvx.errors.InvalidInputError`, tells the user which argument is
wrong and why.  They return clean ``float`` / ``numpy`` values.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from numbers import Integral, Real
from typing import Literal, overload

import numpy as np

from .errors import InvalidInputError

#: Absolute tolerance on a pmf's total mass.
PMF_TOL = 1e-9
#: Relative tolerance used for symmetry and PSD checks.
MATRIX_TOL = 1e-9


def scalar(name: str, value, *, nonneg: bool = False, positive: bool = False) -> float:
    """Return ``value`` as a finite float, checking its sign if asked."""
    if isinstance(value, bool) or not isinstance(value, (Real, np.number)):
        try:
            arr = np.asarray(value) if not isinstance(value, str) else None
        except (TypeError, ValueError):  # e.g. a ragged nested list
            arr = None
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


@overload
def budget(value, name: str = "budget", *, allow_none: Literal[False] = False) -> float: ...


@overload
def budget(value, name: str = "budget", *, allow_none: bool) -> float | None: ...


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
    # Tolerances relative to the matrix's own size: the same matrix in other units passes
    # or fails alike (an absolute floor refused well-conditioned covariances of size 1e-10).
    scale = float(np.abs(mat).max(initial=0.0))
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
    try:
        arr = np.asarray(value) if not np.isscalar(value) else None
    except (TypeError, ValueError):  # e.g. a ragged nested list: psd_matrix says what is wrong
        return psd_matrix(name, value, size=size, definite=definite)
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


def row_indices(name: str, value, m: int) -> np.ndarray:
    """Sorted, distinct row indices in ``[0, m)`` from integer indices or a boolean mask.

    Parameters
    ----------
    name : str
        The argument's name, for the error message.
    value : sequence of int, or sequence of bool of length ``m``
        Row indices (integral floats such as ``2.0`` are accepted, as JSON may
        give them), or a boolean mask with one entry per row:
        ``[True, False, True]`` means rows 0 and 2.  An empty sequence means no
        rows.
    m : int
        Number of rows.

    Returns
    -------
    numpy.ndarray
        The rows as a sorted 1-d integer array without repeats.

    Raises
    ------
    InvalidInputError
        If ``value`` is not a 1-d sequence (a string, None, a scalar, a
        mapping, a nested list); holds None, NaN, infinite, string or
        non-integer entries, or mixes booleans with integers; is a boolean mask
        whose length is not ``m``; or holds an index outside ``[0, m)`` or the
        same index twice.
    """
    m = integer("m", m, low=0)
    if value is None:
        raise InvalidInputError(name, "expected row indices or a boolean mask, got None")
    if isinstance(value, (str, bytes)):
        raise InvalidInputError(name, f"expected a sequence of integer row indices, got the string {value!r}")
    if isinstance(value, Mapping):
        raise InvalidInputError(name, f"expected a sequence of integer row indices, got a mapping {value!r}")
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        if value.ndim != 1:
            raise InvalidInputError(name, f"expected a 1-d sequence of row indices, got shape {value.shape}")
        arr = value
    else:
        if isinstance(value, np.ndarray):
            items = value.tolist() if value.ndim == 1 else None
        else:
            try:
                items = list(value)
            except TypeError:
                items = None
        if items is None:
            shape = f"shape {value.shape}" if isinstance(value, np.ndarray) else repr(value)
            raise InvalidInputError(name, f"expected a 1-d sequence of row indices or a boolean mask, got {shape}")
        arr = _index_entries(name, items)
    if arr.size == 0:
        return np.array([], dtype=int)
    if arr.dtype == bool:
        if arr.size != m:
            raise InvalidInputError(name, f"a boolean mask needs one entry per row (length {m}), got length "
                                    f"{arr.size}; give integer row indices instead of a partial mask")
        return np.flatnonzero(arr)
    if arr.dtype.kind == "f":
        bad = np.flatnonzero(~np.isfinite(arr) | (arr != np.round(arr)))
        if bad.size:
            i = int(bad[0])
            raise InvalidInputError(name, f"row indices must be integers; entry {i} is {float(arr[i])!r}")
    out = (arr < 0) | (arr >= m)
    if np.any(out):
        shown = [int(v) for v in arr[out][:10]]
        if m == 0:
            raise InvalidInputError(name, f"there are no rows to index, got row indices {shown}")
        raise InvalidInputError(name, f"row indices must lie in [0, {m - 1}] (there are {m} rows); "
                                f"out of range: {shown}")
    rows = arr.astype(np.int64)
    uniq, counts = np.unique(rows, return_counts=True)
    if uniq.size != rows.size:
        raise InvalidInputError(name, f"repeats a row index: {uniq[counts > 1].tolist()[:10]} "
                                "(each row may be listed once)")
    return uniq


def _index_entries(name: str, items: list) -> np.ndarray:
    """The entries of a row-index list as a bool, int or float array, rejecting anything else by position."""
    kinds = set()
    for i, v in enumerate(items):
        if isinstance(v, (bool, np.bool_)):
            kinds.add("bool")
        elif isinstance(v, (Integral, np.integer)):
            kinds.add("int")
        elif isinstance(v, (Real, np.floating)):
            if math.isnan(v):  # (np.isnan refuses a Real such as Fraction)
                raise InvalidInputError(name, f"entry {i} is NaN; row indices must be integers")
            kinds.add("float")
        elif v is None:
            raise InvalidInputError(name, f"entry {i} is None; row indices must be integers")
        elif isinstance(v, (str, bytes)):
            raise InvalidInputError(name, f"entry {i} is the string {v!r}; row indices must be integers")
        else:
            raise InvalidInputError(name, f"entry {i} is {v!r}; expected a 1-d sequence of integer row indices "
                                    "or a boolean mask")
    if "bool" in kinds and kinds != {"bool"}:
        raise InvalidInputError(name, "mixes booleans and numbers; give either integer row indices or a boolean "
                                "mask with one entry per row")
    if not items:
        return np.array([], dtype=int)
    if kinds == {"bool"}:
        return np.array(items, dtype=bool)
    if kinds == {"int"}:
        try:
            return np.array(items, dtype=np.int64)
        except OverflowError:
            raise InvalidInputError(name, f"row index out of range: {max(items, key=abs)}") from None
    return np.array(items, dtype=float)


def clean_rows_noise(noise_cov: np.ndarray, clean: np.ndarray) -> None:
    """Raise unless ``noise_cov`` restricted to the ``clean`` rows is positive definite.

    The input check of every subset/sparse model (Theorem 4.1), shared by the
    factories, the subset search and the closed form.

    A clean row without noise (or a noiseless combination of clean rows) that
    sees the signal reveals it exactly: ``I(Y; Z)`` would be infinite.
    """
    if clean.size == 0:
        return
    sub = noise_cov[np.ix_(clean, clean)]
    scale = max(float(np.abs(noise_cov).max(initial=0.0)), np.finfo(float).tiny)
    eig_min = float(np.linalg.eigvalsh(sub).min())
    if eig_min <= MATRIX_TOL * scale:
        diag = np.diag(sub)
        bad = clean[diag <= MATRIX_TOL * scale]
        where = (f"rows {bad.tolist()} have no noise" if bad.size
                 else f"its restriction to them is singular (smallest eigenvalue {eig_min:.3g})")
        raise InvalidInputError(
            "noise_cov", f"must be positive definite on the clean (unattacked) rows {clean.tolist()}, but {where}; "
            "a noiseless clean sensor reveals the signal exactly (infinite information). Attack those rows "
            "(add them to the subset/support) or give them positive noise")
