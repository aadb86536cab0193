"""Test data for mi_cvx problems: hypothesis strategies that draw the numbers, and seeded numpy generators.

Two kinds of generator live here.

*Hypothesis strategies* (:func:`pmfs`, :func:`joint_pmfs`, :func:`channels`,
:func:`covariances`, :func:`observation_matrices`, :func:`budgets`,
:func:`scales` and the factory-argument strategies
:func:`gaussian_scalar_inputs`, :func:`gaussian_vector_inputs`,
:func:`discrete_inputs`).  They draw the numbers of the problem themselves
(bounded floats through ``hypothesis.extra.numpy.arrays`` and
``hypothesis.strategies.floats``), never an integer seed that numpy would turn
into data, so that hypothesis can *shrink* a failing example to a small,
readable one: weights shrink towards zero (the uniform pmf), matrix entries
towards zero (the identity covariance, ``eye(m, n)``), scales and budgets
towards ``1``.  Every strategy's bounds are chosen so that the problems it
makes stay well conditioned enough for an interior-point solver to reach the
relative accuracy ``1e-5`` that :mod:`mi_cvx.solvers` promises (no pmf entry
below ``1e-3`` unless asked, condition numbers at most ``100`` unless asked,
budgets kept away from the degenerate zero-information threshold); each
docstring states them.  Example::

    from hypothesis import given, settings

    import mi_cvx
    from mi_cvx import oracles, testing

    @settings(max_examples=25, deadline=None, derandomize=True)
    @given(testing.gaussian_scalar_inputs())
    def test_scalar(inputs):
        result = mi_cvx.gaussian_scalar(**inputs).solve()
        assert abs(result.mi - oracles.scalar_gaussian_mi(**inputs)) <= 1e-5 * (1 + result.mi)

*Plain numpy generators* (:func:`random_pmf`, :func:`random_joint_pmf`,
:func:`random_covariance`) take a ``numpy.random.Generator`` and need nothing
beyond numpy; benchmarks and scripts share them.

Hypothesis is a test dependency only (``pip install mi-cvx[test]``).
Importing this module does not need it; calling a strategy without it raises
an :class:`ImportError` saying so.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover - typing only
    from hypothesis.strategies import SearchStrategy

__all__ = [
    "budgets",
    "channels",
    "covariances",
    "discrete_inputs",
    "gaussian_scalar_inputs",
    "gaussian_vector_inputs",
    "joint_pmfs",
    "observation_matrices",
    "pmfs",
    "random_covariance",
    "random_joint_pmf",
    "random_pmf",
    "scales",
]

#: Default smallest entry of a drawn pmf: the conic solvers reach their promised
#: accuracy on relative-entropy problems with masses down to about this.
DEFAULT_MIN_MASS = 1e-3
#: Default largest condition number of a drawn covariance or observation matrix.
DEFAULT_CONDITION = 100.0


def _hypothesis():
    """``(strategies, extra.numpy)`` of hypothesis, or an ImportError that says how to install it."""
    try:
        from hypothesis import strategies as st
        from hypothesis.extra import numpy as hnp
    except ImportError as exc:  # pragma: no cover - exercised only without the test extra
        raise ImportError("mi_cvx.testing's strategies need hypothesis, a test dependency of mi_cvx: "
                          "pip install mi-cvx[test]") from exc
    return st, hnp


def _check_size(name: str, value, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name}: expected an integer >= {low}, got {value!r}")
    return int(value)


def _check_range(name: str, bounds, *, positive: bool = True) -> tuple[float, float]:
    try:
        low, high = (float(b) for b in bounds)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a pair (low, high), got {bounds!r}") from None
    if not (math.isfinite(low) and math.isfinite(high)) or low > high or (positive and low <= 0):
        raise ValueError(f"{name}: expected finite {'0 < ' if positive else ''}low <= high, got {bounds!r}")
    return low, high


def _check_condition(condition) -> float:
    condition = float(condition)
    if not (math.isfinite(condition) and condition >= 1):
        raise ValueError(f"condition: expected a finite number >= 1, got {condition!r}")
    return condition


def _unit_floats(st, low: float = 0.0, high: float = 1.0):
    """Bounded, finite, normal floats (no NaN, no infinity, no subnormals)."""
    return st.floats(low, high, allow_nan=False, allow_infinity=False, allow_subnormal=False)


def _float_array(st, hnp, shape, low: float, high: float):
    # fill=nothing(): every entry is drawn (and shrunk) on its own
    return hnp.arrays(np.float64, shape, elements=_unit_floats(st, low, high), fill=st.nothing())


# ------------------------------------------------------------------ shared constructions (pure numpy)


def _pmf_from_weights(weights: np.ndarray, min_mass: float, zeros=()) -> np.ndarray:
    """A pmf of the shape of ``weights`` (entries in [0, 1]): ``min_mass`` plus a share of the rest.

    Entries listed in ``zeros`` (flat indices) are exactly 0; every other entry is at
    least ``min_mass`` (to rounding) and the whole sums to 1.  All-zero weights give
    the uniform pmf on the non-zero entries.
    """
    w = np.array(weights, dtype=float).ravel()
    keep = np.ones(w.size, dtype=bool)
    keep[list(zeros)] = False
    w = np.where(keep, w, 0.0)
    count = int(keep.sum())
    total = float(w.sum())
    share = w / total if total > 0 else keep / count
    p = np.where(keep, min_mass + (1.0 - count * min_mass) * share, 0.0)
    p /= p.sum()
    return p.reshape(np.shape(weights))


def _covariance_from(B: np.ndarray, condition: float, scale: float) -> np.ndarray:
    """Symmetric positive definite ``scale * (B B^T + eps I) / norm`` with eigenvalues in [scale / condition, scale].

    ``eps = lambda_max(B B^T) / (condition - 1)``: the smallest eigenvalue is then at
    least ``lambda_max / condition`` and the largest is exactly ``scale``.  A zero
    ``B`` (or ``condition == 1``) gives ``scale * I``.
    """
    n = B.shape[0]
    peak = float(np.max(np.abs(B))) if B.size else 0.0
    if peak == 0.0 or condition == 1.0:
        return scale * np.eye(n)
    B = B / peak  # entries in [-1, 1], largest 1: lambda_max(B B^T) >= 1, no underflow
    G = B @ B.T
    G = 0.5 * (G + G.T)
    top = float(np.linalg.eigvalsh(G)[-1])
    S = (G + (top / (condition - 1.0)) * np.eye(n)) * ((condition - 1.0) / (top * condition))
    S = 0.5 * (S + S.T)
    return scale * S


def _matrix_from(B: np.ndarray, condition: float, scale: float, rank: int | None) -> np.ndarray:
    """``scale * U diag(s) V^T`` from the SVD of ``B``, singular values clipped to [1 / condition, 1].

    The largest singular value is ``scale``; the others lie in [scale / condition, scale];
    with ``rank`` the singular values past ``rank`` are set to 0.  A zero ``B`` gives
    ``scale * eye(m, n)`` (truncated to ``rank``).
    """
    m, n = B.shape
    peak = float(np.max(np.abs(B))) if B.size else 0.0
    if peak == 0.0:
        U, s, Vt = np.eye(m, min(m, n)), np.ones(min(m, n)), np.eye(min(m, n), n)
    else:
        U, s, Vt = np.linalg.svd(B / peak, full_matrices=False)
        s = np.clip(s / s[0], 1.0 / condition, 1.0)
    if rank is not None:
        s = s.copy()
        s[rank:] = 0.0
    return scale * (U * s) @ Vt


def _log_uniform(st, low: float, high: float):
    """Floats in [low, high] drawn as ``10 ** e`` with ``e`` uniform-ish in [log10 low, log10 high]."""
    if low == high:
        return st.just(low)
    lo, hi = math.log10(low), math.log10(high)
    return _unit_floats(st, lo, hi).map(lambda e: float(min(max(10.0**e, low), high)))


# ------------------------------------------------------------------ hypothesis strategies: building blocks


def pmfs(size: int, *, min_mass: float = DEFAULT_MIN_MASS, max_zeros: int = 0) -> SearchStrategy[np.ndarray]:
    """Probability vectors of length ``size``.

    Draws ``size`` weights in [0, 1] (bounded floats) and a set of at most
    ``max_zeros`` positions that are exactly zero; the other entries are
    ``min_mass`` plus their weight's share of the remaining mass.  So every entry
    is 0 (at a drawn zero) or at least ``min_mass`` (to rounding), and the vector
    sums to 1 to rounding (it is renormalised).  With ``min_mass=0`` a zero weight
    gives a zero entry as well.  Shrinks towards the uniform pmf.

    Parameters
    ----------
    size : int
        Length, at least 1.
    min_mass : float, default 1e-3
        Smallest non-zero entry; ``size * min_mass <= 1``.  The default keeps
        relative-entropy problems well conditioned for an interior-point solver.
    max_zeros : int, default 0
        Most entries set exactly to zero, at most ``size - 1`` (one entry always
        carries mass).
    """
    st, hnp = _hypothesis()
    size = _check_size("size", size)
    max_zeros = _check_size("max_zeros", max_zeros, low=0)
    if max_zeros > size - 1:
        raise ValueError(f"max_zeros: at most size - 1 = {size - 1} entries can be zero, got {max_zeros}")
    min_mass = float(min_mass)
    if not (0.0 <= min_mass and size * min_mass <= 1.0):
        raise ValueError(f"min_mass: expected 0 <= min_mass <= 1 / size = {1 / size:g}, got {min_mass!r}")

    @st.composite
    def draw_pmf(draw) -> np.ndarray:
        weights = draw(_float_array(st, hnp, size, 0.0, 1.0))
        zeros = draw(st.lists(st.integers(0, size - 1), max_size=max_zeros, unique=True)) if max_zeros else []
        return _pmf_from_weights(weights, min_mass, zeros)

    return draw_pmf()


def joint_pmfs(k: int, l: int, *, min_mass: float = DEFAULT_MIN_MASS,  # noqa: E741 (l as in p_xy[x, y], k x l)
               max_zeros: int = 0) -> SearchStrategy[np.ndarray]:
    """Joint pmfs ``p_xy[x, y]`` of shape ``(k, l)``: :func:`pmfs` of size ``k * l``, reshaped.

    Every cell is 0 (at most ``max_zeros`` of them, drawn) or at least
    ``min_mass`` (default 1e-3, ``k * l * min_mass <= 1``); the cells sum to 1.
    With the default ``max_zeros=0`` the pmf is strictly positive.  Note that the
    uniform pmf, to which examples shrink, makes ``X`` and ``Y`` independent (no
    information to hide): tests that need dependence should ``assume`` it.
    """
    k, l = _check_size("k", k), _check_size("l", l)  # noqa: E741
    return pmfs(k * l, min_mass=min_mass, max_zeros=max_zeros).map(lambda p: p.reshape(k, l))


def channels(k: int, l: int, *, min_mass: float = 0.0) -> SearchStrategy[np.ndarray]:  # noqa: E741
    """Row-stochastic matrices ``W[x, z] = P(Z = z | X = x)`` of shape ``(k, l)``.

    Each row is a pmf built as in :func:`pmfs` from ``l`` drawn weights in [0, 1]:
    entries at least ``min_mass`` (default 0, ``l * min_mass <= 1``), rows summing
    to 1 to rounding.  Shrinks towards the uniform (useless) channel.
    """
    st, hnp = _hypothesis()
    k, l = _check_size("k", k), _check_size("l", l)  # noqa: E741
    min_mass = float(min_mass)
    if not (0.0 <= min_mass and l * min_mass <= 1.0):
        raise ValueError(f"min_mass: expected 0 <= min_mass <= 1 / l = {1 / l:g}, got {min_mass!r}")
    return _float_array(st, hnp, (k, l), 0.0, 1.0).map(
        lambda w: np.stack([_pmf_from_weights(row, min_mass) for row in w]))


def scales(low: float = 0.1, high: float = 10.0) -> SearchStrategy[float]:
    """Positive scale factors in ``[low, high]``, log-uniform-ish.

    Draws an exponent ``e`` (a bounded float in ``[log10 low, log10 high]``) and
    returns ``10 ** e`` (clipped to the bounds against rounding), so every decade
    is about equally likely; shrinks towards 1 when 1 is in range.  ``0 < low <= high``.
    """
    st, _ = _hypothesis()
    low, high = _check_range("scales", (low, high))
    return _log_uniform(st, low, high)


def budgets(low: float = 1e-3, high: float = 10.0, *, allow_zero: bool = False) -> SearchStrategy[float]:
    """Positive budgets in ``[low, high]``, log-uniform-ish (as :func:`scales`); ``0 < low <= high``.

    With ``allow_zero`` the budget 0 (no attack) is drawn too.  Most tests draw the
    budget as a *fraction* of the problem's zero-information threshold instead, as
    the ``*_inputs`` strategies do, so that it lands in the interesting range.
    """
    st, _ = _hypothesis()
    low, high = _check_range("budgets", (low, high))
    positive = _log_uniform(st, low, high)
    return st.one_of(st.just(0.0), positive) if allow_zero else positive


def covariances(n: int, *, condition: float = DEFAULT_CONDITION,
                scale: tuple[float, float] = (0.1, 10.0)) -> SearchStrategy[np.ndarray]:
    """Symmetric positive definite ``n x n`` matrices with condition number at most ``condition``.

    Draws ``B`` (``n x n``, bounded floats in [-1, 1]) and a scale ``c``
    (:func:`scales` over ``scale``) and returns ``c (B B^T + eps I) / norm`` with
    ``eps = lambda_max(B B^T) / (condition - 1)``: its eigenvalues lie in
    ``[c / condition, c]`` and the largest is ``c``.  A zero ``B`` (where
    examples shrink) gives ``c I``.  The default ``condition=100`` keeps log-det
    SDPs well within an interior-point solver's ``1e-5`` accuracy.
    """
    st, hnp = _hypothesis()
    n = _check_size("n", n)
    condition = _check_condition(condition)
    low, high = _check_range("scale", scale)
    return st.tuples(_float_array(st, hnp, (n, n), -1.0, 1.0), _log_uniform(st, low, high)).map(
        lambda bc: _covariance_from(bc[0], condition, bc[1]))


def observation_matrices(m: int, n: int, *, condition: float = DEFAULT_CONDITION,
                         scale: tuple[float, float] = (0.3, 3.0),
                         full_rank: bool = True) -> SearchStrategy[np.ndarray]:
    """Observation matrices ``A`` (``m x n``) of ``X = A Y + N`` with bounded singular values.

    Draws ``B`` (``m x n``, bounded floats in [-1, 1]) and a scale ``c``
    (:func:`scales` over ``scale``); returns ``c U diag(s) V^T`` from the SVD of
    ``B`` with ``s`` normalised to a largest value of 1 and clipped below at
    ``1 / condition``: the largest singular value is ``c``, the others lie in
    ``[c / condition, c]``, so ``A`` has full rank ``min(m, n)`` and condition
    number at most ``condition``.  With ``full_rank=False`` a rank ``r`` in
    ``[1, min(m, n)]`` is drawn as well and the singular values past ``r`` are
    zero (rank-deficient ``A``, as a repeated sensor gives).  A zero ``B`` gives
    ``c * eye(m, n)``.
    """
    st, hnp = _hypothesis()
    m, n = _check_size("m", m), _check_size("n", n)
    condition = _check_condition(condition)
    low, high = _check_range("scale", scale)
    full = min(m, n)
    rank = st.just(None) if full_rank else st.integers(1, full).map(lambda r: None if r == full else r)
    return st.tuples(_float_array(st, hnp, (m, n), -1.0, 1.0), _log_uniform(st, low, high), rank).map(
        lambda bcr: _matrix_from(bcr[0], condition, bcr[1], bcr[2]))


# ------------------------------------------------------------------ hypothesis strategies: factory arguments


def _fractions(st, bounds, avoid: float | None = None):
    low, high = _check_range("budget_fraction", bounds, positive=False)
    if low < 0:
        raise ValueError(f"budget_fraction: expected non-negative fractions, got {bounds!r}")
    fractions = _unit_floats(st, low, high)
    if avoid is not None and avoid > 0:
        fractions = fractions.filter(lambda f: abs(f - 1.0) > avoid)
    return fractions


def gaussian_scalar_inputs(*, signal: tuple[float, float] = (0.05, 5.0), noise: tuple[float, float] = (0.01, 5.0),
                           zero_noise: bool = True,
                           budget_fraction: tuple[float, float] = (0.02, 1.5)) -> SearchStrategy[dict[str, Any]]:
    """Arguments ``{"signal_var", "noise_var", "budget"}`` of :func:`mi_cvx.gaussian_scalar`.

    ``signal_var`` in ``signal`` and ``noise_var`` in ``noise`` are log-uniform-ish
    (:func:`scales`); with ``zero_noise`` (the default) ``noise_var = 0`` (the
    noiseless, rate-distortion case) is drawn too.  ``budget = f * signal_var``
    with ``f`` a bounded float in ``budget_fraction``: ``signal_var`` is the
    zero-information threshold, so ``f >= 1`` means ``I* = 0``.  The defaults keep
    ``I*`` below ``0.5 log(1 / 0.02)`` and well conditioned.
    """
    st, _ = _hypothesis()
    s_low, s_high = _check_range("signal", signal)
    n_low, n_high = _check_range("noise", noise)
    noise_var = _log_uniform(st, n_low, n_high)
    if zero_noise:
        noise_var = st.one_of(st.just(0.0), noise_var)
    return st.builds(lambda sy2, sn2, f: {"signal_var": sy2, "noise_var": sn2, "budget": f * sy2},
                     _log_uniform(st, s_low, s_high), noise_var, _fractions(st, budget_fraction))


_NOISE_KINDS = ("zero", "isotropic", "general")
_SIGNAL_KINDS = ("identity", "scalar", "matrix")


def gaussian_vector_inputs(max_m: int = 4, max_n: int = 4, *, min_m: int = 1, min_n: int = 1,
                           noise: str | tuple[str, ...] = "isotropic", signal: str | tuple[str, ...] = "matrix",
                           condition: float = DEFAULT_CONDITION,
                           noise_var: tuple[float, float] = (0.05, 2.0),
                           budget_fraction: tuple[float, float] = (0.05, 1.2),
                           full_rank: bool = True) -> SearchStrategy[dict[str, Any]]:
    """Arguments ``{"A", "budget", "signal_cov", "noise_cov"}`` of :func:`mi_cvx.gaussian_vector`.

    ``m`` in ``[min_m, max_m]`` and ``n`` in ``[min_n, max_n]``; ``A`` from
    :func:`observation_matrices` (condition at most ``condition``, singular values
    in [0.3 / condition, 3]; ``full_rank=False`` allows rank-deficient ``A``).

    ``signal`` (one kind, or a tuple to draw from): ``"identity"`` gives
    ``signal_cov = 1.0``, ``"scalar"`` a float in [0.1, 10], ``"matrix"`` an
    ``n x n`` :func:`covariances` with condition at most ``condition`` and
    eigenvalues in [0.1 / condition, 10].  ``noise``: ``"zero"`` gives
    ``noise_cov = 0.0`` (the noiseless projection, Theorem 3.2), ``"isotropic"`` a
    float in ``noise_var`` (the structured closed form applies), ``"general"`` an
    ``m x m`` :func:`covariances` (no closed form in general).

    ``budget = f * trace(A signal_cov A^T)`` (the zero-information threshold: the
    attack ``-A Y`` costs that much) with ``f`` in ``budget_fraction`` but not within
    ``1e-3`` of 1, where the noiseless SDP loses its interior.
    """
    st, _ = _hypothesis()
    min_m, max_m = _check_size("min_m", min_m), _check_size("max_m", max_m)
    min_n, max_n = _check_size("min_n", min_n), _check_size("max_n", max_n)
    if min_m > max_m or min_n > max_n:
        raise ValueError(f"expected min_m <= max_m and min_n <= max_n, got {min_m, max_m, min_n, max_n}")
    noise_kinds = (noise,) if isinstance(noise, str) else tuple(noise)
    signal_kinds = (signal,) if isinstance(signal, str) else tuple(signal)
    if not noise_kinds or set(noise_kinds) - set(_NOISE_KINDS):
        raise ValueError(f"noise: expected kinds among {_NOISE_KINDS}, got {noise!r}")
    if not signal_kinds or set(signal_kinds) - set(_SIGNAL_KINDS):
        raise ValueError(f"signal: expected kinds among {_SIGNAL_KINDS}, got {signal!r}")
    condition = _check_condition(condition)
    nv_low, nv_high = _check_range("noise_var", noise_var)
    fractions = _fractions(st, budget_fraction, avoid=1e-3)

    @st.composite
    def draw_inputs(draw) -> dict[str, Any]:
        m, n = draw(st.integers(min_m, max_m)), draw(st.integers(min_n, max_n))
        A = draw(observation_matrices(m, n, condition=condition, full_rank=full_rank))
        kind = draw(st.sampled_from(signal_kinds))
        signal_cov: float | np.ndarray
        if kind == "identity":
            signal_cov = 1.0
        elif kind == "scalar":
            signal_cov = draw(_log_uniform(st, 0.1, 10.0))
        else:
            signal_cov = draw(covariances(n, condition=condition))
        kind = draw(st.sampled_from(noise_kinds))
        noise_cov: float | np.ndarray
        if kind == "zero":
            noise_cov = 0.0
        elif kind == "isotropic":
            noise_cov = draw(_log_uniform(st, nv_low, nv_high))
        else:
            noise_cov = draw(covariances(m, condition=condition, scale=(nv_low, nv_high)))
        threshold = float(np.trace(A @ (signal_cov * np.eye(n) if np.ndim(signal_cov) == 0 else signal_cov) @ A.T))
        return {"A": A, "budget": draw(fractions) * threshold, "signal_cov": signal_cov, "noise_cov": noise_cov}

    return draw_inputs()


def discrete_inputs(max_k: int = 4, max_l: int = 4, *, min_k: int = 2, min_l: int = 2,
                    min_mass: float = DEFAULT_MIN_MASS, max_zeros: int = 0, output_size: bool = False,
                    budget_fraction: tuple[float, float] = (0.05, 0.9)) -> SearchStrategy[dict[str, Any]]:
    """Arguments ``{"p_xy", "budget"}`` (and ``"output_size"``) of :func:`mi_cvx.discrete_channel`.

    ``k`` in ``[min_k, max_k]``, ``l`` in ``[min_l, max_l]``; ``p_xy`` from
    :func:`joint_pmfs` (cells 0 at up to ``max_zeros`` drawn places, otherwise at
    least ``min_mass``, default 1e-3).  With ``output_size`` an output alphabet
    size ``k'`` in ``[max(1, k - 1), k + 1]`` is drawn too; the letters ``x >= k'``
    have no counterpart and must move, which costs at least ``least = P(X >= k')``.

    ``budget = least + f * (erase - least)`` with ``f`` in ``budget_fraction``,
    where ``erase = 1 - max_{x < k'} P(X = x)`` is the Hamming cost of the
    constant attack that removes all information; so the budget is feasible and
    the defaults keep it strictly inside the interesting range.  With
    ``min_k = max_k = min_l = max_l = 2`` these are :func:`mi_cvx.binary_channel`'s
    arguments (without ``output_size``).
    """
    st, _ = _hypothesis()
    min_k, max_k = _check_size("min_k", min_k), _check_size("max_k", max_k)
    min_l, max_l = _check_size("min_l", min_l), _check_size("max_l", max_l)
    if min_k > max_k or min_l > max_l:
        raise ValueError(f"expected min_k <= max_k and min_l <= max_l, got {min_k, max_k, min_l, max_l}")
    fractions = _fractions(st, budget_fraction)

    @st.composite
    def draw_inputs(draw) -> dict[str, Any]:
        k, l = draw(st.integers(min_k, max_k)), draw(st.integers(min_l, max_l))  # noqa: E741
        p = draw(joint_pmfs(k, l, min_mass=min_mass, max_zeros=min(max_zeros, k * l - 1)))
        kp = draw(st.integers(max(1, k - 1), k + 1)) if output_size else k
        p_x = p.sum(axis=1)
        least = float(p_x[kp:].sum())
        erase = max(least, 1.0 - float(p_x[:kp].max()))
        out: dict[str, Any] = {"p_xy": p, "budget": least + draw(fractions) * (erase - least)}
        if output_size:
            out["output_size"] = kp
        return out

    return draw_inputs()


# ------------------------------------------------------------------ plain numpy generators


def random_pmf(rng, size, *, concentration: float = 1.0, min_mass: float = 0.0) -> np.ndarray:
    """A random pmf: Dirichlet(``concentration``) weights, floored at ``min_mass``.

    Parameters
    ----------
    rng : numpy.random.Generator
        The source of randomness (a seed is accepted too, through
        ``numpy.random.default_rng``).
    size : int or tuple of int
        Number of entries, or the shape of the returned array (all its entries
        together sum to 1).
    concentration : float, default 1.0
        Dirichlet parameter: below 1 favours a few large masses, above 1 even ones.
    min_mass : float, default 0.0
        Smallest entry (``count * min_mass <= 1``): ``min_mass`` plus a Dirichlet
        share of the rest.

    Returns
    -------
    numpy.ndarray
        Non-negative, summing to 1 to rounding.
    """
    rng = np.random.default_rng(rng)
    shape = (int(size),) if np.ndim(size) == 0 else tuple(int(s) for s in size)
    count = int(np.prod(shape))
    if count < 1:
        raise ValueError(f"size: expected at least one entry, got {size!r}")
    if not (0.0 <= min_mass and count * min_mass <= 1.0):
        raise ValueError(f"min_mass: expected 0 <= min_mass <= 1 / {count}, got {min_mass!r}")
    share = rng.dirichlet(np.full(count, float(concentration)))
    p = min_mass + (1.0 - count * min_mass) * share
    return (p / p.sum()).reshape(shape)


def random_joint_pmf(rng, k: int, l: int, *, concentration: float = 0.8, zeros: int = 0,  # noqa: E741
                     min_mass: float = 0.0) -> np.ndarray:
    """A random joint pmf ``p_xy[x, y]`` of shape ``(k, l)``.

    Dirichlet(``concentration``) over the ``k * l`` cells (floored at
    ``min_mass``), then ``zeros`` cells chosen at random set to exactly 0 and the
    rest renormalised.  ``rng`` is a ``numpy.random.Generator`` (or a seed).
    """
    rng = np.random.default_rng(rng)
    k, l = _check_size("k", k), _check_size("l", l)  # noqa: E741
    zeros = _check_size("zeros", zeros, low=0)
    if zeros > k * l - 1:
        raise ValueError(f"zeros: at most k * l - 1 = {k * l - 1} cells can be zero, got {zeros}")
    p = random_pmf(rng, k * l, concentration=concentration, min_mass=min_mass)
    if zeros:
        p[rng.choice(p.size, size=zeros, replace=False)] = 0.0
        p /= p.sum()
    return p.reshape(k, l)


def random_covariance(rng, n: int, condition: float = DEFAULT_CONDITION, *, scale: float = 1.0) -> np.ndarray:
    """A random symmetric positive definite ``n x n`` matrix with condition number at most ``condition``.

    ``scale (B B^T + eps I) / norm`` with ``B`` standard normal and
    ``eps = lambda_max(B B^T) / (condition - 1)`` (as :func:`covariances`):
    eigenvalues in ``[scale / condition, scale]``, the largest equal to ``scale``.
    ``rng`` is a ``numpy.random.Generator`` (or a seed).
    """
    rng = np.random.default_rng(rng)
    n = _check_size("n", n)
    condition = _check_condition(condition)
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale: expected a positive finite number, got {scale!r}")
    return _covariance_from(rng.normal(size=(n, n)), condition, float(scale))
