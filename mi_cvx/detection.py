"""The defender's side: the most powerful test of "clean" against "attacked".

A defender receives ``samples`` i.i.d. observations and tests

* H0: they come from the clean law of ``X``, against
* H1: they come from the attacked law of ``Z = X + Delta`` (or ``Xhat``).

By the Neyman-Pearson lemma the most powerful test at false-alarm rate
``alpha`` flags the observations when their log-likelihood ratio (LLR)
``log p1 / p0`` exceeds a threshold ``t``, and flags them with probability
``gamma`` when it equals ``t`` (needed for discrete laws, where the LLR has
atoms), with ``t`` and ``gamma`` chosen so that the false-alarm rate is exactly
``alpha``.  Its power ``P1(flag)`` is the detection probability that the
smart-grid literature plots against the stealth weight of an attack.

* :func:`gaussian_detection`: zero-mean Gaussian laws given by covariances.
  The LLR is a quadratic form, a weighted sum of independent chi-square(1)
  variables under either hypothesis; its law is computed exactly (scaled
  chi-square, or Imhof's integral), with a Monte Carlo fallback.
* :func:`discrete_detection`: laws given by pmfs.  The LLR of ``n`` draws is the
  sum of ``n`` per-draw LLRs; its law under both hypotheses is computed exactly
  by convolution, with a Monte Carlo fallback when it has too many atoms.
* :func:`detection_probability`: the same for an :class:`~mi_cvx.AttackResult`,
  whose family says (through its ``observed`` hook) what the defender sees.

All three return a :class:`Detection`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import integrate, optimize, stats

from . import validate
from .errors import InvalidInputError

__all__ = ["Detection", "detection_probability", "discrete_detection", "gaussian_detection"]

#: Largest number of atoms the exact discrete computation keeps (more: Monte Carlo).
MAX_ATOMS = 1_000_000
#: Largest number of atom pairs one convolution step may form (bounds memory to ~100 MB).
MAX_PAIRS = 4_000_000
#: Largest total number of atom pairs formed by the one-draw-at-a-time convolution.
MAX_WORK = 30_000_000
#: Relative tolerance under which two LLR values are the same atom.
LLR_TOL = 1e-9
#: Generalised variances ``mu`` with ``|mu - 1| <= SAME_TOL`` are directions where the laws agree.
SAME_TOL = 1e-10
#: Rank tolerance, relative to the larger covariance's largest entry.
RANK_TOL = 1e-9
#: Largest error estimate accepted from the numerical integral (in probability).
IMHOF_TOL = 1e-9
#: Elements per Monte Carlo chunk (bounds memory).
_CHUNK = 4_000_000


@dataclass(frozen=True, repr=False)
class Detection:
    """The power of the defender's most powerful (Neyman-Pearson) test.

    Attributes
    ----------
    power : float
        Detection probability: the probability that the test flags ``samples``
        attacked observations.  At least ``false_alarm`` (the test can always
        ignore the data) and at most 1.
    false_alarm : float
        The test's false-alarm rate ``alpha``: the probability that it flags
        ``samples`` clean observations.
    samples : int
        Number of i.i.d. observations the test sees.
    method : str
        ``"exact"`` (closed form or a numerical method accurate to about
        ``1e-9``) or ``"monte_carlo"`` (then ``stderr`` is its standard error).
    stderr : float
        Standard error of ``power`` (0 for ``"exact"``).  For Monte Carlo it
        combines the error of the power at the estimated threshold with the
        threshold's own sampling error (delta method: the likelihood ratio at
        the threshold times the error of an empirical ``1 - alpha`` quantile).
    threshold : float
        The threshold ``t`` on the log-likelihood ratio ``sum_k log p1(x_k) /
        p0(x_k)`` of all ``samples`` observations (natural log): the test flags
        when the LLR exceeds ``t`` and, for discrete laws, with a probability
        chosen so the false-alarm rate is exactly ``alpha`` when it equals
        ``t``.  ``inf`` when the laws are mutually singular (only outcomes the
        clean law cannot produce are flagged, plus a randomisation up to
        ``alpha``); ``-inf`` when every outcome the attacked law can produce is
        flagged.
    """

    power: float
    false_alarm: float
    samples: int
    method: str
    stderr: float
    threshold: float

    def __repr__(self) -> str:
        err = f" +/- {self.stderr:.2g}" if self.method == "monte_carlo" else ""
        return (
            f"Detection(power={self.power:.6g}{err}, false_alarm={self.false_alarm:g}, "
            f"samples={self.samples}, method={self.method!r})"
        )


# --------------------------------------------------------------------------- input checks


def _false_alarm(value) -> float:
    alpha = validate.scalar("false_alarm", value)
    if not 0.0 < alpha < 1.0:
        raise InvalidInputError("false_alarm", f"must lie strictly between 0 and 1, got {alpha!r}")
    return alpha


def _common(false_alarm, samples, mc_draws, seed) -> tuple[float, int, int, np.random.Generator]:
    alpha = _false_alarm(false_alarm)
    n = validate.integer("samples", samples, low=1)
    draws = validate.integer("mc_draws", mc_draws, low=2)
    if seed is not None:
        seed = validate.integer("seed", seed, low=0)
    return alpha, n, draws, np.random.default_rng(seed)


def _covariance(name: str, value) -> np.ndarray:
    if np.ndim(value) == 0 and not isinstance(value, str):
        value = [[validate.scalar(name, value, nonneg=True)]]
    mat = validate.psd_matrix(name, value)
    if mat.size == 0:
        raise InvalidInputError(name, "must not be empty")
    return mat


# --------------------------------------------------------------------------- Monte Carlo error


def _mc_stderr(variance: float, threshold: float, alpha: float, draws: int) -> float:
    """Standard error of a Monte Carlo power: the H1 draws' own, plus the estimated threshold's.

    The threshold is an empirical quantile of ``draws`` H0 draws, so the test's
    true false-alarm rate is off by about ``sqrt(alpha (1 - alpha) / draws)``;
    the power moves by the likelihood ratio ``exp(threshold)`` times that (the
    slope ``dP1 / dP0`` of the NP curve at the threshold, delta method).
    """
    slope = math.exp(min(threshold, 700.0)) if threshold > -math.inf else 0.0
    return math.sqrt((variance + slope * slope * alpha * (1.0 - alpha)) / draws)


# --------------------------------------------------------------------------- Gaussian laws


class _NumericalFailure(Exception):
    """The exact numerical method did not reach its accuracy; Monte Carlo takes over."""


def _chi2_mix_sf(x: float, weights: np.ndarray, dofs: np.ndarray) -> float:
    """``P(Q > x)`` for ``Q = sum_j weights[j] * chi2(dofs[j])``, independent terms.

    One weight: the scaled chi-square law.  Several: Imhof's (1961) inversion
    formula ``P(Q > x) = 1/2 + (1/pi) int_0^inf sin(theta(u)) / (u rho(u)) du``
    with ``theta(u) = sum_j dofs[j]/2 arctan(w_j u) - x u / 2`` and ``rho(u) =
    prod_j (1 + w_j^2 u^2)^(dofs[j]/4)``, integrated with QUADPACK: adaptive
    Gauss-Kronrod (QAGS) up to ``u0`` and, past it, the Fourier-integral rule
    QAWF (``sin theta = sin(beta) cos(x u/2) - cos(beta) sin(x u/2)`` with the
    slowly varying ``beta(u) = sum_j dofs[j]/2 arctan(w_j u)``).  Raises
    :class:`_NumericalFailure` when QUADPACK warns or its error estimate
    exceeds :data:`IMHOF_TOL`.
    """
    weights = np.asarray(weights, dtype=float)
    dofs = np.asarray(dofs, dtype=float)
    if weights.size == 1:
        w1, k1 = float(weights[0]), float(dofs[0])
        return float(stats.chi2.sf(x / w1, k1)) if w1 > 0 else float(stats.chi2.cdf(x / w1, k1))
    scale = float(np.abs(weights).max())
    w = weights / scale
    x = x / scale
    half_k = 0.5 * dofs
    quarter_k = 0.25 * dofs
    w2 = w * w
    omega = 0.5 * x
    total_k = float(dofs.sum())

    if w.size <= 16:  # plain floats: a few microseconds per evaluation instead of numpy's overhead
        terms = list(zip(w.tolist(), half_k.tolist(), quarter_k.tolist(), strict=True))

        def beta_and_log_rho(u: float) -> tuple[float, float]:
            angle = size = 0.0
            for wj, hj, qj in terms:
                angle += hj * math.atan(wj * u)
                size += qj * math.log1p(wj * wj * u * u)
            return angle, size

    else:

        def beta_and_log_rho(u: float) -> tuple[float, float]:
            return float(half_k @ np.arctan(w * u)), float(quarter_k @ np.log1p(w2 * (u * u)))

    def integrand(u: float) -> float:
        if u == 0.0:
            return float(half_k @ w) - omega
        angle, size = beta_and_log_rho(u)
        return math.sin(angle - omega * u) * math.exp(-size) / u

    # Imhof's truncation bound: rho(u) >= prod_j (|w_j| u)^(k_j/2),
    # so |int_U^inf| <= 2 / (K U^(K/2) prod_j |w_j|^(k_j/2)).
    # Where that is below 1e-13 by u = 1, integrate [0, U] only; otherwise [0, 1] and the Fourier tail.
    log_u_cut = (math.log(2.0 / total_k) - float(half_k @ np.log(np.abs(w))) + 13.0 * math.log(10.0)) / (0.5 * total_k)
    rest = log_u_cut > 0.0
    u0 = 1.0 if rest else math.exp(log_u_cut)
    pieces: list[tuple[float, float]] = []
    with warnings.catch_warnings():
        warnings.simplefilter("error", integrate.IntegrationWarning)
        try:
            pieces.append(integrate.quad(integrand, 0.0, u0, epsabs=1e-12, epsrel=0.0, limit=500)[:2])
            if rest:
                if abs(omega) > 1e-9:
                    sign = 1.0 if omega > 0 else -1.0

                    def f_cos(u: float) -> float:
                        angle, size = beta_and_log_rho(u)
                        return math.sin(angle) * math.exp(-size) / u

                    def f_sin(u: float) -> float:
                        angle, size = beta_and_log_rho(u)
                        return -sign * math.cos(angle) * math.exp(-size) / u

                    wvar = abs(omega)
                    pieces.append(integrate.quad(f_cos, u0, np.inf, weight="cos", wvar=wvar, epsabs=1e-12, limlst=200))
                    pieces.append(integrate.quad(f_sin, u0, np.inf, weight="sin", wvar=wvar, epsabs=1e-12, limlst=200))
                else:
                    pieces.append(integrate.quad(integrand, u0, np.inf, epsabs=1e-12, epsrel=0.0, limit=500)[:2])
        except (integrate.IntegrationWarning, ArithmeticError, ValueError) as exc:
            raise _NumericalFailure(str(exc)) from None
    value = sum(p[0] for p in pieces)
    error = sum(p[1] for p in pieces) / math.pi
    prob = 0.5 + value / math.pi
    if not (math.isfinite(prob) and error <= IMHOF_TOL and -IMHOF_TOL <= prob <= 1.0 + IMHOF_TOL):
        raise _NumericalFailure(f"Imhof integral: value {prob!r}, error estimate {error:.2g}")
    return min(1.0, max(0.0, prob))


def _chi2_mix_isf(alpha: float, weights: np.ndarray, dofs: np.ndarray) -> float:
    """The ``x`` with ``P(Q > x) = alpha`` (see :func:`_chi2_mix_sf`)."""
    if weights.size == 1:
        w, k = float(weights[0]), float(dofs[0])
        return w * float(stats.chi2.isf(alpha, k)) if w > 0 else w * float(stats.chi2.ppf(alpha, k))
    mean = float(weights @ dofs)
    sd = math.sqrt(2.0 * float((weights * weights) @ dofs))

    def gap(x: float) -> float:
        return _chi2_mix_sf(x, weights, dofs) - alpha

    lo = 0.0 if np.all(weights > 0) else mean - 4.0 * sd
    step = 4.0 * sd
    for _ in range(60):
        if gap(lo) > 0:
            break
        step *= 2.0
        lo = mean - step
    else:
        raise _NumericalFailure("no lower bracket for the threshold")
    hi = 0.0 if np.all(weights < 0) else mean + 4.0 * sd
    step = 4.0 * sd
    for _ in range(60):
        if gap(hi) < 0:
            break
        step *= 2.0
        hi = mean + step
    else:
        raise _NumericalFailure("no upper bracket for the threshold")
    root = optimize.brentq(gap, lo, hi, xtol=1e-11 * sd, rtol=1e-13, maxiter=200)
    return float(root)


def _chi2_mix_draws(weights: np.ndarray, dofs: np.ndarray, draws: int, rng: np.random.Generator) -> np.ndarray:
    out = np.zeros(draws)
    for w, k in zip(weights, dofs, strict=True):
        out += w * rng.chisquare(k, size=draws)
    return out


def _group(values: np.ndarray, multiplicity: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values (equal within a relative 1e-12) and their multiplicities times ``multiplicity``."""
    values = np.sort(values)
    starts = np.flatnonzero(np.r_[True, np.diff(values) > 1e-12 * np.abs(values[1:]).clip(min=1e-300)])
    counts = np.diff(np.r_[starts, values.size])
    return values[starts], counts.astype(float) * multiplicity


def gaussian_detection(
    clean_cov,
    attacked_cov,
    false_alarm: float = 0.05,
    samples: int = 1,
    *,
    mc_draws: int = 200_000,
    seed: int | None = 0,
) -> Detection:
    """Power of the most powerful test of ``N(0, clean_cov)`` against ``N(0, attacked_cov)``.

    The LLR of ``n`` i.i.d. draws is ``T + c`` with ``T = sum_k x_k^T (C0^-1 -
    C1^-1) x_k / 2`` and ``c = n/2 log(det C0 / det C1)``.  In the basis of the
    generalised eigenvectors of ``(C1, C0)`` (generalised variances ``mu_i``),
    ``T = sum_i a_i chi2(n)`` under H0 with ``a_i = (1 - 1/mu_i)/2`` and ``T =
    sum_i b_i chi2(n)`` under H1 with ``b_i = (mu_i - 1)/2``.  The threshold
    solves ``P0(T > t) = alpha`` and the power is ``P1(T > t)``:

    * all ``mu_i`` equal: scaled chi-square laws with ``n * d`` degrees of
      freedom (:mod:`scipy.stats.chi2`), exact;
    * otherwise: Imhof's inversion integral for weighted sums of chi-squares,
      evaluated with QUADPACK (QAGS + QAWF) to an error estimate below
      ``1e-9``, and the threshold by Brent's method on it;
    * if that integral does not converge (QUADPACK warns, or its error
      estimate exceeds ``1e-9``): Monte Carlo with ``mc_draws`` draws of ``T``
      under each hypothesis (``method="monte_carlo"``, with ``stderr``).

    Parameters
    ----------
    clean_cov, attacked_cov : array_like
        Covariances ``C0`` (H0) and ``C1`` (H1) of the ``d``-dimensional
        observation, symmetric positive semidefinite, same shape (a scalar is a
        variance, ``d = 1``).  They may be singular: if their ranges differ the
        laws are mutually singular (one puts all its mass on a set the other
        gives probability 0, e.g. the attacked law puts mass outside the clean
        support) and the power is 1 with ``threshold = inf``; if the ranges
        agree the test works inside the common range.  Ranks are taken with a
        relative tolerance ``1e-9`` of the larger matrix's largest entry.
    false_alarm : float
        The false-alarm rate ``alpha`` in ``(0, 1)``.
    samples : int
        Number ``n >= 1`` of i.i.d. observations.
    mc_draws : int
        Draws per hypothesis if Monte Carlo is needed.
    seed : int or None
        Seed of the Monte Carlo generator.

    Returns
    -------
    Detection
        Identical covariances (generalised variances within ``1e-10`` of 1 in
        every direction) give ``power == false_alarm`` and ``threshold = 0``.

    Raises
    ------
    InvalidInputError
        If a covariance is not symmetric PSD or the shapes differ (naming
        ``clean_cov`` or ``attacked_cov``), ``false_alarm`` is not in ``(0, 1)``,
        or ``samples``, ``mc_draws`` or ``seed`` is not a valid integer.
    """
    c0 = _covariance("clean_cov", clean_cov)
    c1 = _covariance("attacked_cov", attacked_cov)
    if c1.shape != c0.shape:
        raise InvalidInputError("attacked_cov", f"has shape {c1.shape}, clean_cov has shape {c0.shape}")
    alpha, n, draws, rng = _common(false_alarm, samples, mc_draws, seed)

    def done(power: float, threshold: float, method: str = "exact", stderr: float = 0.0) -> Detection:
        return Detection(float(power), alpha, n, method, float(stderr), float(threshold))

    scale = max(float(np.abs(c0).max()), float(np.abs(c1).max()))
    if scale == 0.0:
        return done(alpha, 0.0)
    tol = RANK_TOL * scale
    e0, v0 = np.linalg.eigh(c0)
    e1, v1 = np.linalg.eigh(c1)
    null0, null1 = v0[:, e0 <= tol], v1[:, e1 <= tol]
    # Mass of one law outside the other's support: its variance along the other's null space.
    outside1 = null0.shape[1] and float(np.abs(null0.T @ c1 @ null0).max()) > tol
    outside0 = null1.shape[1] and float(np.abs(null1.T @ c0 @ null1).max()) > tol
    if outside1 or outside0:
        return done(1.0, math.inf)
    keep = e0 > tol
    if not np.any(keep):
        return done(alpha, 0.0)
    whiten = v0[:, keep] / np.sqrt(e0[keep])
    mu = np.linalg.eigvalsh(whiten.T @ c1 @ whiten)
    if np.any(mu <= 0):  # the ranges agree, so this is roundoff on a near-singular pair
        return done(1.0, math.inf)
    offset = -0.5 * n * float(np.log(mu).sum())
    mu = mu[np.abs(mu - 1.0) > SAME_TOL]
    if mu.size == 0:
        return done(alpha, 0.0)
    mu_values, dofs = _group(mu, n)
    a = 0.5 * (1.0 - 1.0 / mu_values)  # weights of T under H0
    b = 0.5 * (mu_values - 1.0)  # and under H1
    if mu_values.size == 1:  # T is a scaled chi-square under both hypotheses
        k = float(dofs[0])
        if mu_values[0] > 1:
            q = float(stats.chi2.isf(alpha, k))
            return done(stats.chi2.sf(q / mu_values[0], k), a[0] * q + offset)
        q = float(stats.chi2.ppf(alpha, k))
        return done(stats.chi2.cdf(q / mu_values[0], k), a[0] * q + offset)
    try:
        t = _chi2_mix_isf(alpha, a, dofs)
        return done(_chi2_mix_sf(t, b, dofs), t + offset)
    except _NumericalFailure:
        t0 = _chi2_mix_draws(a, dofs, draws, rng)
        t = float(np.quantile(t0, 1.0 - alpha))
        hits = _chi2_mix_draws(b, dofs, draws, rng) > t
        power = float(hits.mean())
        return done(power, t + offset, "monte_carlo", _mc_stderr(power * (1.0 - power), t + offset, alpha, draws))


# --------------------------------------------------------------------------- discrete laws


class _TooManyAtoms(Exception):
    """The exact distribution of the summed LLR is too large; Monte Carlo takes over."""


def _merge(values: np.ndarray, masses: list[np.ndarray], tol: float) -> tuple[np.ndarray, list[np.ndarray]]:
    """Sort atoms by value and merge those within ``tol`` of the previous one (masses add)."""
    if values.size == 0:
        return values, masses
    order = np.argsort(values, kind="stable")
    values = values[order]
    starts = np.flatnonzero(np.r_[True, np.diff(values) > tol])
    return values[starts], [np.add.reduceat(m[order], starts) for m in masses]


def _convolve(a: tuple[np.ndarray, np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray, np.ndarray], tol: float):
    va, pa, qa = a
    vb, pb, qb = b
    if va.size * vb.size > MAX_PAIRS:
        raise _TooManyAtoms
    values, (p, q) = _merge(
        np.add.outer(va, vb).ravel(), [np.multiply.outer(pa, pb).ravel(), np.multiply.outer(qa, qb).ravel()], tol
    )
    if values.size > MAX_ATOMS:
        raise _TooManyAtoms
    return values, p, q


def _sum_law(values: np.ndarray, p: np.ndarray, q: np.ndarray, n: int, tol: float):
    """Atoms of the sum of ``n`` i.i.d. per-draw LLRs: values and (sub-)masses under H0 and H1."""
    if values.size <= 2:  # the sum depends on one count: a binomial law
        if values.size == 1:
            return values * n, p**n, q**n
        count = np.arange(n + 1)
        a0, a1 = float(p.sum()), float(q.sum())
        sums = count * values[1] + (n - count) * values[0]
        mass0 = a0**n * stats.binom.pmf(count, n, p[1] / a0)
        mass1 = a1**n * stats.binom.pmf(count, n, q[1] / a1)
        merged, (mass0, mass1) = _merge(sums, [mass0, mass1], tol)
        return merged, mass0, mass1
    base = (values, p, q)
    try:  # binary exponentiation: few, large products (best when the sums fall on a lattice)
        result = None
        power = base
        m = n
        while True:
            if m & 1:
                result = power if result is None else _convolve(result, power, tol)
            m >>= 1
            if not m:
                break
            power = _convolve(power, power, tol)
        assert result is not None
        return result
    except _TooManyAtoms:
        pass
    # One draw at a time: many small products (best for generic LLRs).  The sum of k draws has at most
    # C(k + m - 1, m - 1) atoms (one per type); skip when even that bound on the work is over budget.
    m_atoms = values.size
    bound = 0
    for k in range(1, n):
        bound += min(math.comb(k + m_atoms - 1, m_atoms - 1), MAX_ATOMS) * m_atoms
        if bound > MAX_WORK:
            raise _TooManyAtoms
    result, work = base, 0
    for _ in range(n - 1):
        work += result[0].size * values.size
        if work > MAX_WORK:
            raise _TooManyAtoms
        result = _convolve(result, base, tol)
    return result


def _np_test(values, p, q, minus0: float, plus1: float, alpha: float) -> tuple[float, float, float, float]:
    """The randomised NP test on atoms: ``(threshold, gamma, power, E1[phi^2])``.

    ``values`` are finite LLR atoms (sorted ascending) with masses ``p`` under
    H0 and ``q`` under H1; H0 also puts ``minus0`` on ``-inf`` and H1 ``plus1``
    on ``+inf`` (always flagged).
    """
    p_desc, q_desc = p[::-1], q[::-1]
    cum0 = np.cumsum(p_desc)
    k = int(np.searchsorted(cum0, alpha, side="left"))
    if k == values.size:  # every finite atom fits below alpha: randomise on the -inf atom
        above0 = float(cum0[-1]) if values.size else 0.0
        gamma = min(1.0, max(0.0, (alpha - above0) / minus0)) if minus0 > 0 else 1.0
        total1 = plus1 + float(q.sum())
        return -math.inf, gamma, total1, total1
    above0 = float(cum0[k] - p_desc[k])
    gamma = min(1.0, max(0.0, (alpha - above0) / float(p_desc[k])))
    above1 = plus1 + float(q_desc[:k].sum())
    at1 = float(q_desc[k])
    return float(values[::-1][k]), gamma, above1 + gamma * at1, above1 + gamma * gamma * at1


def _llr_draws(pmf: np.ndarray, llr: np.ndarray, n: int, draws: int, rng: np.random.Generator) -> np.ndarray:
    """``draws`` sums of ``n`` per-draw LLRs of i.i.d. outcomes from ``pmf`` (``llr`` may hold +-inf)."""
    support = np.flatnonzero(pmf > 0)
    pmf, llr = pmf[support] / pmf[support].sum(), llr[support]
    out = np.empty(draws)
    if support.size <= n:  # multinomial counts are cheaper than the outcomes themselves
        chunk = max(1, _CHUNK // support.size)
        for start in range(0, draws, chunk):
            counts = rng.multinomial(n, pmf, size=min(chunk, draws - start))
            with np.errstate(invalid="ignore"):  # 0 * inf, discarded by the where
                out[start : start + counts.shape[0]] = np.where(counts > 0, counts * llr, 0.0).sum(axis=1)
    else:
        chunk = max(1, _CHUNK // n)
        for start in range(0, draws, chunk):
            idx = rng.choice(support.size, size=(min(chunk, draws - start), n), p=pmf)
            out[start : start + idx.shape[0]] = llr[idx].sum(axis=1)
    return out


def discrete_detection(
    clean_pmf,
    attacked_pmf,
    false_alarm: float = 0.05,
    samples: int = 1,
    *,
    mc_draws: int = 200_000,
    seed: int | None = 0,
) -> Detection:
    """Power of the most powerful randomised test of ``clean_pmf`` against ``attacked_pmf``.

    The per-draw LLR ``l(z) = log p1(z) / p0(z)`` is ``+inf`` where only the
    attacked law puts mass (those outcomes are always flagged) and ``-inf``
    where only the clean law does.  The LLR of ``n`` i.i.d. draws is the sum
    of their ``l``; its law under both hypotheses is computed **exactly** as
    atoms (value, H0 mass, H1 mass) by convolving the per-draw law ``n`` times
    (binary exponentiation, a binomial law when ``l`` takes at most two finite
    values), merging values within a relative ``1e-9``.  The test flags when
    the LLR exceeds the threshold atom ``t`` and with probability ``gamma`` at
    it, so that the false-alarm rate is exactly ``alpha``.

    When the exact law would need more than :data:`MAX_ATOMS` (``1e6``) atoms,
    or one convolution more than :data:`MAX_PAIRS` (``4e6``) atom pairs, it is
    replaced by the empirical laws of ``mc_draws`` simulated LLR sums under
    each hypothesis (``method="monte_carlo"``, ``stderr`` from the H1 draws).

    Parameters
    ----------
    clean_pmf, attacked_pmf : array_like
        The pmfs of one observation under H0 and H1 (non-negative, summing to
        1, same shape; a multi-dimensional array is a joint pmf over its cells).
    false_alarm : float
        The false-alarm rate ``alpha`` in ``(0, 1)``.
    samples : int
        Number ``n >= 1`` of i.i.d. observations.
    mc_draws : int
        Draws per hypothesis if Monte Carlo is needed.
    seed : int or None
        Seed of the Monte Carlo generator.

    Returns
    -------
    Detection
        ``threshold`` is the LLR value of the randomisation atom (``-inf`` if
        every outcome the attacked law can produce is flagged).

    Raises
    ------
    InvalidInputError
        If a pmf is invalid or the shapes differ (naming ``clean_pmf`` or
        ``attacked_pmf``), ``false_alarm`` is not in ``(0, 1)``, or
        ``samples``, ``mc_draws`` or ``seed`` is not a valid integer.
    """
    p0 = validate.pmf("clean_pmf", clean_pmf)
    p1 = validate.pmf("attacked_pmf", attacked_pmf)
    if p1.shape != p0.shape:
        raise InvalidInputError("attacked_pmf", f"has shape {p1.shape}, clean_pmf has shape {p0.shape}")
    p0, p1 = p0.ravel(), p1.ravel()
    alpha, n, draws, rng = _common(false_alarm, samples, mc_draws, seed)
    both = (p0 > 0) & (p1 > 0)
    llr = np.zeros(p0.size)
    llr[both] = np.log(p1[both]) - np.log(p0[both])
    llr[(p0 == 0) & (p1 > 0)] = math.inf
    llr[(p0 > 0) & (p1 == 0)] = -math.inf
    scale = max(1.0, float(np.abs(llr[both]).max(initial=0.0)))
    # Probability that all n draws fall where both laws put mass; otherwise the LLR is -inf (H0) / +inf (H1).
    minus0 = -math.expm1(n * math.log(float(p0[both].sum()))) if np.any(both) else 1.0
    plus1 = -math.expm1(n * math.log(float(p1[both].sum()))) if np.any(both) else 1.0
    try:
        values, (m0, m1) = _merge(llr[both], [p0[both], p1[both]], LLR_TOL * scale)
        if values.size:
            values, m0, m1 = _sum_law(values, m0, m1, n, LLR_TOL * scale * n)
        t, _, power, _ = _np_test(values, m0, m1, minus0, plus1, alpha)
        return Detection(min(1.0, max(alpha, power)), alpha, n, "exact", 0.0, t)
    except _TooManyAtoms:
        pass
    sums0 = _llr_draws(p0, llr, n, draws, rng)
    sums1 = _llr_draws(p1, llr, n, draws, rng)
    finite0, finite1 = sums0[np.isfinite(sums0)], sums1[np.isfinite(sums1)]
    pooled = np.r_[finite0, finite1]
    ones0 = np.r_[np.full(finite0.size, 1.0 / draws), np.zeros(finite1.size)]
    ones1 = np.r_[np.zeros(finite0.size), np.full(finite1.size, 1.0 / draws)]
    values, (m0, m1) = _merge(pooled, [ones0, ones1], LLR_TOL * scale * n)
    t, _, power, second = _np_test(
        values, m0, m1, float(np.mean(sums0 == -math.inf)), float(np.mean(sums1 == math.inf)), alpha
    )
    stderr = _mc_stderr(max(0.0, second - power * power), t, alpha, draws)
    return Detection(min(1.0, power), alpha, n, "monte_carlo", stderr, t)


# --------------------------------------------------------------------------- attack results


def detection_probability(result, false_alarm: float = 0.05, samples: int = 1, **kwargs: Any) -> Detection:
    """Power of the defender's most powerful test against the attack in ``result``.

    The result's family says what the defender observes: its ``observed`` hook
    returns ``(kind, clean, attacked)``, with ``kind == "gaussian"`` (zero-mean
    Gaussian laws given by covariance matrices) or ``"discrete"`` (pmfs).  The
    power is then :func:`gaussian_detection` or :func:`discrete_detection` of
    those laws.

    Parameters
    ----------
    result : AttackResult
        A successful solve (``result.ok``) of a family that declares ``observed``.
    false_alarm : float
        The false-alarm rate ``alpha`` in ``(0, 1)``.
    samples : int
        Number of i.i.d. observations the defender tests.
    **kwargs
        ``mc_draws`` and ``seed``, passed on.

    Returns
    -------
    Detection

    Raises
    ------
    InvalidInputError
        Naming ``result`` if it is not ok, its family is unknown or has no
        ``observed`` hook, or the hook returns an unknown kind; otherwise as
        the function it delegates to.
    """
    from . import registry

    name = getattr(result, "family", None)
    if not hasattr(result, "ok"):
        raise InvalidInputError("result", f"expected an AttackResult, got {type(result).__name__}")
    if not result.ok:
        why = getattr(result, "message", "") or getattr(result, "status", "") or "no reason given"
        raise InvalidInputError("result", f"is not a trustworthy solve (ok is False: {why}); detection needs one")
    fam = registry.families().get(name) if isinstance(name, str) else None
    if fam is None:
        raise InvalidInputError("result", f"belongs to no registered family (family={name!r})")
    observed: Callable[..., tuple[str, Any, Any]] | None = getattr(fam, "observed", None)
    if observed is None:
        raise InvalidInputError("result", f"family {name!r} does not say what the defender observes (no observed hook)")
    kind, clean, attacked = observed(result)
    if kind == "gaussian":
        return gaussian_detection(clean, attacked, false_alarm, samples, **kwargs)
    if kind == "discrete":
        return discrete_detection(clean, attacked, false_alarm, samples, **kwargs)
    raise InvalidInputError("result", f"family {name!r} observes an unknown kind of law {kind!r}")
