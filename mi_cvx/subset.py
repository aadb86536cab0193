"""Subset (sparse) attacks on Gaussian sensors: which rows to attack (MATH.md section 6).

``X = A Y + N`` with ``Y ~ N(0, signal_cov)`` and ``N ~ N(0, noise_cov)``.  An
attacker who may replace ``k`` rows of ``X`` arbitrarily leaves (Theorem 4.1)

    I*(S) = 0.5 logdet(A_c signal_cov A_c^T + noise_cov[c, c]) - 0.5 logdet(noise_cov[c, c]),

with ``c`` the clean rows, and picks ``S`` to minimise it.  That choice is
combinatorial (a log-determinant over principal submatrices):
:func:`subset_attack` scores every ``k``-subset exactly while their number is
affordable, and runs a greedy rank-one-update search beyond, reporting its gap
to the exact optimum whenever the exact one could also be computed.

Write ``C = Cov(X) = A signal_cov A^T + noise_cov`` and ``f(c) = logdet C[c, c]
- logdet noise_cov[c, c] = 2 I*(S)``.  Three equivalent ways to score a set
are used, whichever is cheaper:

* clean-indexed: ``f`` directly on ``(m-k) x (m-k)`` submatrices;
* attacked-indexed (Jacobi's complementary-minor identity
  ``det C[c, c] = det C det (C^-1)[S, S]``): ``k x k`` submatrices of ``C^-1``;
* signal-space (independent sensors only): with ``W = noise^(-1/2) A L``
  (``signal_cov = L L^T``), ``f(c) = logdet(I_n + W_c^T W_c)``, a sum of
  rank-one terms over the clean rows (or ``G - W_S^T W_S`` with
  ``G = W^T W``), on ``n x n`` matrices.

Batched log-determinants (``numpy.linalg.slogdet`` on stacked arrays) run over
chunks of subsets to bound memory; the best few candidates are re-scored with
the accurate closed form :func:`mi_cvx.oracles.subset_mi` before one is chosen.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass, field

import numpy as np

from . import validate as _v
from .core import _json_safe
from .errors import InvalidInputError
from .info import NATS_PER_BIT
from .oracles import _clean_mi, _subset_model

METHODS = ("auto", "exact", "greedy")
#: Default limit on the number of subsets scored by exact enumeration
#: (``method="auto"`` switches to greedy beyond it; greedy computes its gap to
#: the exact optimum when the count stays within it).
DEFAULT_MAX_EXACT = 200_000
#: Candidates re-scored with the accurate closed form after a batched enumeration.
_POLISH = 32
#: Memory per chunk of stacked submatrices, in float64 entries (16 MB).
_CHUNK_ENTRIES = 2_000_000
#: Relative gap below which greedy counts as optimal (round-off between equal sets).
_OPTIMAL_RTOL = 1e-9


@dataclass(frozen=True, repr=False)
class SubsetAttackResult:
    """The best rows to attack and the information they leave (Theorem 4.1).

    Attributes
    ----------
    subset : tuple of int
        The attacked rows of ``X`` (sorted, ``k`` of them).
    mi : float
        ``I*(subset)`` in nats: the information left in the clean rows.
    method : str
        ``"exact"`` or ``"greedy"`` (what ran; ``"auto"`` resolves to one).
    evaluated : int
        How many candidate sets the method scored.
    k, m, n : int
        Attack size, number of sensors (rows of ``A``), signal dimension.
    gap : float or None
        ``mi - exact_mi`` in nats (>= 0): 0 for exact, greedy's excess where the
        exact optimum was affordable, None otherwise.
    exact_mi : float or None
        The exact optimum, when it was computed.
    exact_subset : tuple of int or None
        A subset attaining ``exact_mi``.
    mi_unattacked : float
        ``I(Y; X)`` without attack (inf if some sensor is noiseless).
    forced : tuple of int
        Noiseless rows that carry signal: every finite-information attack
        must include them, so they are in ``subset`` by construction.
    form : str
        How sets were scored: ``"clean"``, ``"attacked"`` or ``"signal"``
        (see the module docs) for exact, ``"rank-one"`` for greedy.
    seconds : float
        Wall time of the selection.
    """

    subset: tuple[int, ...]
    mi: float
    method: str
    evaluated: int
    k: int
    m: int
    n: int
    gap: float | None = None
    exact_mi: float | None = None
    exact_subset: tuple[int, ...] | None = None
    mi_unattacked: float = float("nan")
    forced: tuple[int, ...] = ()
    form: str = ""
    seconds: float = float("nan")
    max_exact: int = field(default=DEFAULT_MAX_EXACT, repr=False)

    @property
    def mi_bits(self) -> float:
        """``mi`` in bits."""
        return self.mi / NATS_PER_BIT

    @property
    def clean(self) -> tuple[int, ...]:
        """The rows left untouched (the complement of ``subset``)."""
        attacked = set(self.subset)
        return tuple(i for i in range(self.m) if i not in attacked)

    @property
    def optimal(self) -> bool | None:
        """True if ``subset`` is known optimal, False if known not, None if unknown."""
        if self.gap is None:
            return None
        return self.gap <= _OPTIMAL_RTOL * (1.0 + abs(self.mi))

    def to_dict(self) -> dict:
        """A JSON-safe dict of the result (infinities and NaN as None)."""
        return _json_safe({
            "subset": list(self.subset),
            "clean": list(self.clean),
            "mi": self.mi,
            "mi_bits": self.mi_bits,
            "method": self.method,
            "evaluated": self.evaluated,
            "k": self.k,
            "m": self.m,
            "n": self.n,
            "gap": self.gap,
            "optimal": self.optimal,
            "exact_mi": self.exact_mi,
            "exact_subset": None if self.exact_subset is None else list(self.exact_subset),
            "mi_unattacked": self.mi_unattacked,
            "forced": list(self.forced),
            "form": self.form,
            "seconds": self.seconds,
            "max_exact": self.max_exact,
        })

    def __repr__(self) -> str:
        rows = list(self.subset)
        shown = ", ".join(map(str, rows[:12])) + (", ..." if len(rows) > 12 else "")
        gap = "n/a (exact not affordable)" if self.gap is None else f"{self.gap:.3g} nats"
        return (f"SubsetAttackResult(method={self.method!r}, k={self.k} of m={self.m}, "
                f"mi={self.mi:.6g} nats ({self.mi_bits:.6g} bits), subset=[{shown}], "
                f"evaluated={self.evaluated}, gap={gap})")


# ------------------------------------------------------------------ helpers


def _is_diagonal(mat: np.ndarray) -> bool:
    return np.count_nonzero(mat - np.diag(np.diag(mat))) == 0


def _inverse_pd(mat: np.ndarray) -> np.ndarray:
    """Inverse of a symmetric positive definite matrix (via Cholesky), symmetrised."""
    L = np.linalg.cholesky(mat)
    Linv = np.linalg.solve(L, np.eye(mat.shape[0]))
    inv = Linv.T @ Linv
    return 0.5 * (inv + inv.T)


def _logdet_pd(mat: np.ndarray) -> float:
    return float(2.0 * np.sum(np.log(np.diag(np.linalg.cholesky(mat)))))


def _combination_chunks(r: int, s: int, chunk: int):
    """Arrays of shape (<= chunk, s) holding all s-subsets of range(r) in lexicographic order."""
    it = itertools.combinations(range(r), s)
    if s == 0:
        yield np.zeros((1, 0), dtype=np.intp)
        return
    while True:
        block = np.fromiter(itertools.chain.from_iterable(itertools.islice(it, chunk)), dtype=np.intp)
        if block.size == 0:
            return
        yield block.reshape(-1, s)


class _Reduced:
    """The selection problem on the rows with positive noise (the only ones that may stay clean)."""

    def __init__(self, A, signal_cov, noise_cov, k):
        self.m, self.n = A.shape
        B = A @ np.linalg.cholesky(signal_cov)  # Cov(A Y) = B B^T
        self.B_full, self.noise_full = B, noise_cov
        self.diag = _is_diagonal(noise_cov)
        signal_power = np.einsum("ij,ij->i", B, B)
        # Same threshold as the clean-row check of oracles.subset_mi (relative to the noise scale).
        scale = max(float(np.abs(noise_cov).max(initial=0.0)), np.finfo(float).tiny)
        if self.diag:
            sn = np.diag(noise_cov)
            noiseless = sn <= _v.MATRIX_TOL * scale
            # A noiseless row that sees no signal is the constant 0: no information, never worth a slot.
            dead = noiseless & (signal_power <= _v.MATRIX_TOL * float(signal_power.max(initial=0.0)))
            self.forced = np.flatnonzero(noiseless & ~dead)
            self.dead = np.flatnonzero(dead)
            self.rows = np.flatnonzero(~noiseless)
        else:
            if float(np.linalg.eigvalsh(noise_cov).min()) <= _v.MATRIX_TOL * scale:
                raise InvalidInputError(
                    "noise_cov", "correlated (non-diagonal) noise must be positive definite for subset selection: "
                    "any row may end up clean, and a noiseless combination of clean rows reveals the signal "
                    "(infinite information). With independent sensors (diagonal noise_cov) noiseless rows are "
                    "allowed: they are attacked first")
            self.forced = np.array([], dtype=int)
            self.dead = np.array([], dtype=int)
            self.rows = np.arange(self.m)
        if self.forced.size > k:
            raise InvalidInputError(
                "noise_cov", f"rows {self.forced.tolist()} have no noise, so each must be attacked (a noiseless "
                f"clean sensor reveals the signal: infinite information), but k={k} < {self.forced.size}; "
                "raise k or give them positive noise")
        rows = self.rows
        self.r = rows.size
        self.k = min(k - self.forced.size, self.r)  # attacked among the rows with noise
        self.fill = k - self.forced.size - self.k  # extra slots go to dead rows
        self.B = B[rows]
        self.noise = noise_cov[np.ix_(rows, rows)]
        self.x_cov = self.B @ self.B.T + self.noise

    def count(self) -> int:
        return math.comb(self.r, self.k)

    def mi_of(self, attacked_local) -> float:
        """Accurate ``I*(S)`` for a set of attacked local rows."""
        clean = np.setdiff1d(np.arange(self.r), attacked_local)
        return _clean_mi(self.B, self.noise, clean)

    def to_global(self, attacked_local) -> tuple[int, ...]:
        chosen = self.rows[np.asarray(attacked_local, dtype=int)]
        extra = self.dead[: self.fill]
        return tuple(sorted(int(i) for i in np.concatenate([self.forced, chosen, extra])))

    # ---------------------------------------------------------- exact
    def exact(self, chunk_entries: int = _CHUNK_ENTRIES):
        """Score every k-subset; returns (attacked_local, mi, evaluated, form)."""
        r, k = self.r, self.k
        if k == 0 or k == r:
            attacked = np.arange(r) if k == r else np.array([], dtype=int)
            return attacked, self.mi_of(attacked), 1, "trivial"
        by_attacked = k <= r - k
        s = k if by_attacked else r - k
        n = self.n
        cost_m = (s ** 3 / 3.0 + s * s) * (1 if self.diag else 2)
        cost_n = n ** 3 / 3.0 + s * n * n + s * n if self.diag else math.inf
        form = "signal" if cost_n < cost_m else ("attacked" if by_attacked else "clean")
        per = s * s if form != "signal" else n * n + s * n
        chunk = max(256, chunk_entries // max(per, 1))

        if form == "signal":
            W = self.B / np.sqrt(np.diag(self.noise))[:, None]
            base = np.eye(n) + (W.T @ W if by_attacked else 0.0)
            sign = -1.0 if by_attacked else 1.0
        elif form == "attacked":
            P = _inverse_pd(self.x_cov)
            const = _logdet_pd(self.x_cov) - _logdet_pd(self.noise)
            if self.diag:
                log_sn = np.log(np.diag(self.noise))
            else:
                Q = _inverse_pd(self.noise)
        else:
            C = self.x_cov
            if self.diag:
                log_sn = np.log(np.diag(self.noise))
            else:
                N = self.noise

        best_vals = np.empty(0)
        best_sets = np.empty((0, s), dtype=np.intp)
        evaluated = 0
        for idx in _combination_chunks(r, s, chunk):
            evaluated += idx.shape[0]
            if form == "signal":
                Ws = W[idx]  # (b, s, n)
                M = base + sign * (np.swapaxes(Ws, 1, 2) @ Ws)
                vals = np.linalg.slogdet(M)[1]
            elif form == "attacked":
                sub = P[idx[:, :, None], idx[:, None, :]]
                vals = const + np.linalg.slogdet(sub)[1]
                if self.diag:  # logdet noise[c, c] = logdet noise - sum_S log sn
                    vals += log_sn[idx].sum(axis=1)
                else:
                    vals -= np.linalg.slogdet(Q[idx[:, :, None], idx[:, None, :]])[1]
            else:
                vals = np.linalg.slogdet(C[idx[:, :, None], idx[:, None, :]])[1]
                if self.diag:
                    vals -= log_sn[idx].sum(axis=1)
                else:
                    vals -= np.linalg.slogdet(N[idx[:, :, None], idx[:, None, :]])[1]
            vals = np.where(np.isfinite(vals), vals, np.inf)
            # Keep the _POLISH smallest seen so far (ties: earliest, i.e. lexicographic).
            if vals.size > _POLISH:
                keep = np.argpartition(vals, _POLISH)[:_POLISH]
                vals, idx = vals[keep], idx[keep]
            best_vals = np.concatenate([best_vals, vals])
            best_sets = np.concatenate([best_sets, idx])
            if best_vals.size > _POLISH:
                keep = np.argsort(best_vals, kind="stable")[:_POLISH]
                best_vals, best_sets = best_vals[keep], best_sets[keep]

        # Re-score the best candidates accurately; the batched values only rank them.
        candidates = []
        for row in best_sets:
            attacked = row if by_attacked else np.setdiff1d(np.arange(r), row)
            candidates.append((self.mi_of(attacked), tuple(int(i) for i in attacked)))
        mi, attacked = min(candidates)
        return np.array(attacked, dtype=int), mi, evaluated, form

    # --------------------------------------------------------- greedy
    def greedy(self):
        """Attack one row at a time, each time the one whose removal from the clean set lowers I most.

        Removing row ``j`` from the clean set changes ``f = 2 I`` by
        ``log (C_c^-1)_jj - log (N_c^-1)_jj`` (Schur complements); both inverses
        are downdated by a rank-one update after each step: O(m^3 + k m^2).
        """
        r, k = self.r, self.k
        if k == 0 or k == r:
            attacked = np.arange(r) if k == r else np.array([], dtype=int)
            return attacked, self.mi_of(attacked), 1
        P = _inverse_pd(self.x_cov)
        Q = None if self.diag else _inverse_pd(self.noise)
        log_q = None if not self.diag else -np.log(np.diag(self.noise))
        alive = np.ones(r, dtype=bool)
        tiny = np.finfo(float).tiny
        order, evaluated = [], 0
        for _ in range(k):
            qd = log_q if self.diag else np.log(np.maximum(np.diag(Q), tiny))
            score = np.log(np.maximum(np.diag(P), tiny)) - qd
            score[~alive] = np.inf
            j = int(np.argmin(score))
            evaluated += int(alive.sum())
            alive[j] = False
            order.append(j)
            for mat in (P,) if Q is None else (P, Q):
                col = mat[:, j].copy()
                mat -= np.outer(col, col / col[j])
                mat[j, :] = 0.0
                mat[:, j] = 0.0
        attacked = np.sort(np.array(order, dtype=int))
        return attacked, self.mi_of(attacked), evaluated


# --------------------------------------------------------------- public API


def subset_attack(signal_cov, noise_cov, k: int, A=None, method: str = "auto", *,
                  max_exact: int = DEFAULT_MAX_EXACT) -> SubsetAttackResult:
    """The ``k`` sensors to attack so as to leave the least information (Theorem 4.1).

    Minimises ``I*(S) = 0.5 logdet(A_c signal_cov A_c^T + noise_cov[c, c])
    - 0.5 logdet(noise_cov[c, c])`` over the sets ``S`` of ``k`` rows of
    ``X = A Y + N`` (``c`` the clean rows); see :func:`mi_cvx.oracles.subset_mi`.
    Attacking more rows never helps less, so "at most ``k``" is "exactly ``k``".

    Parameters
    ----------
    signal_cov : float or array_like (n, n)
        Covariance of ``Y`` (positive definite; a scalar means a multiple of
        the identity).
    noise_cov : float or array_like (m, m)
        Covariance of the sensor noise.  Independent sensors (diagonal) may
        include noiseless rows: those that see the signal must be attacked
        (they are put in the subset first), those that see nothing are left
        alone.  Correlated noise must be positive definite.
    k : int
        Number of rows the attacker may replace, ``0 <= k <= m``.
    A : array_like (m, n), optional
        Observation matrix; None means the identity (``A = I``, the paper's
        case; then ``m = n`` is read off a covariance matrix).
    method : {"auto", "exact", "greedy"}
        ``"exact"``: score all ``C(m, k)`` subsets with batched
        log-determinants.  ``"greedy"``: attack one row at a time, each time
        the one that lowers ``I`` most (rank-one updates, O(m^3 + k m^2)); if
        ``C(m, k) <= max_exact`` the exact optimum is computed too and
        ``gap`` reported.  ``"auto"``: exact when ``C(m, k) <= max_exact``,
        greedy beyond.
    max_exact : int, default 200000
        The largest number of subsets exact enumeration may score (about
        0.3-0.6 s per 10^5 subsets of 10 rows on 2 cores).  Noiseless rows
        that must be attacked are not counted: the count is ``C(r, k - f)``
        over the ``r`` rows with noise and the ``f`` forced ones.

    Returns
    -------
    SubsetAttackResult
        ``subset``, ``mi`` / ``mi_bits`` (``I*(subset)``), ``method``,
        ``evaluated``, ``gap`` (greedy's excess over exact where exact was
        affordable, 0 for exact), ``to_dict()``.

    Raises
    ------
    InvalidInputError
        ``k`` not an integer in ``[0, m]``; unknown ``method``; ``max_exact``
        negative or too small for ``method="exact"`` (the message names
        ``method``); mismatched shapes of ``A``, ``signal_cov``,
        ``noise_cov``; covariances not symmetric PSD (``signal_cov`` must be
        definite); correlated ``noise_cov`` that is singular, or more than
        ``k`` noiseless sensors that see the signal (``noise_cov``).
    """
    start = time.perf_counter()
    method = _v.choice("method", method, METHODS)
    max_exact = _v.integer("max_exact", max_exact, low=0)
    A, sy, sn = _subset_model(signal_cov, noise_cov, A)
    m, n = A.shape
    k = _v.integer("k", k, low=0, high=m)
    red = _Reduced(A, sy, sn, k)
    count = red.count()
    affordable = count <= max_exact
    if method == "exact" and not affordable:
        raise InvalidInputError(
            "method", f"'exact' would score C({red.r}, {red.k}) = {count} subsets, more than max_exact={max_exact}; "
            "use method='greedy' or 'auto', or raise max_exact")
    use = "exact" if method == "exact" or (method == "auto" and affordable) else "greedy"

    exact_mi = exact_subset = None
    if use == "exact" or affordable:
        ex_att, ex_mi, ex_count, form = red.exact()
        exact_mi, exact_subset = ex_mi, red.to_global(ex_att)
    if use == "exact":
        subset, mi, evaluated, gap = exact_subset, exact_mi, ex_count, 0.0
    else:
        g_att, mi, evaluated = red.greedy()
        subset, form = red.to_global(g_att), "rank-one"
        gap = None
        if exact_mi is not None:
            if mi <= exact_mi:  # the same set, or a tie within round-off: greedy is optimal
                exact_mi, exact_subset = mi, subset
            gap = mi - exact_mi

    if red.forced.size:
        mi_unattacked = math.inf
    else:
        mi_unattacked = _clean_mi(red.B_full[red.rows], red.noise_full[np.ix_(red.rows, red.rows)],
                                  np.arange(red.rows.size))
    return SubsetAttackResult(
        subset=subset, mi=float(mi), method=use, evaluated=int(evaluated), k=k, m=m, n=n,
        gap=gap, exact_mi=exact_mi, exact_subset=exact_subset, mi_unattacked=float(mi_unattacked),
        forced=tuple(int(i) for i in red.forced), form=form, seconds=time.perf_counter() - start,
        max_exact=max_exact,
    )
