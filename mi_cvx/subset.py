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
chunks of subsets to bound memory; the best few candidates are re-scored
accurately before one is chosen, by this module's own evaluation of
``I*(S) = I(Y; X_c)``: the chain rule over the clean rows, one whitened row at
a time, ``I = sum_i 0.5 log1p(w_i^T P_i w_i)`` with ``P_i`` the covariance of the
signal given the rows before it, kept as a square root (see
:func:`_information`).  It is written independently of the closed form
:func:`mi_cvx.oracles.subset_mi` (singular values of the whitened rows), which
checks it in the tests.

:func:`subset_problem` builds the unbudgeted sparse SDP on the chosen rows (the
conic cross-check of the search).
"""

from __future__ import annotations

import functools
import itertools
import math
import time
from dataclasses import dataclass, field

import numpy as np

from . import validate as _v
from .core import AttackProblem, rebuildable
from .display import Verbatim, html_table, short_repr
from .errors import InvalidInputError
from .family import Case, Family, Param
from .info import NATS_PER_BIT
from .oracles import subset_mi
from .serialize import json_safe

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
        return json_safe({
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

    def text(self) -> str:
        """A few readable lines (what ``mi-cvx solve subset-attack`` prints)."""
        gap = "n/a (the exact search is not affordable)" if self.gap is None else f"{self.gap:.6g} nats"
        return (f"family      subset_attack (Theorem 4.1)\n"
                f"subset      {list(self.subset)}  (attacked rows, k = {self.k} of m = {self.m})\n"
                f"I*          {self.mi:.6g} nats = {self.mi_bits:.6g} bits\n"
                f"method      {self.method} ({self.evaluated} sets scored)\n"
                f"gap         {gap} (to the exact optimum)")

    def _rows_text(self, rows: tuple[int, ...], shown: int = 12) -> Verbatim:
        text = ", ".join(map(str, rows[:shown]))
        return Verbatim(f"[{text}{f', ... (+{len(rows) - shown})' if len(rows) > shown else ''}]")

    def _display_fields(self) -> dict:
        gap = Verbatim("n/a (exact not affordable)" if self.gap is None else f"{self.gap:.3g} nats")
        return {
            "method": self.method,
            "k": Verbatim(f"{self.k} of m={self.m}"),
            "mi": Verbatim(f"{self.mi:.6g} nats ({self.mi_bits:.6g} bits)"),
            "subset": self._rows_text(self.subset),
            "evaluated": self.evaluated,
            "gap": gap,
        }

    def __repr__(self) -> str:
        return short_repr("SubsetAttackResult", self._display_fields())

    def _repr_html_(self) -> str:
        rows = list(self._display_fields().items())
        rows.insert(2, ("n", self.n))
        rows += [("optimal", self.optimal), ("form", self.form),
                 ("mi_unattacked", Verbatim(f"{self.mi_unattacked:.6g} nats")),
                 ("forced", self._rows_text(self.forced)), ("seconds", self.seconds)]
        if self.exact_mi is not None and self.gap:
            rows += [("exact_mi", Verbatim(f"{self.exact_mi:.6g} nats")),
                     ("exact_subset", self._rows_text(self.exact_subset or ()))]
        title = f"SubsetAttackResult: {self.k} of {self.m} sensors ({self.method})"
        return html_table(title, rows, status_ok=self.optimal)


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


def _observation(signal_cov, noise_cov, A) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validated ``(A, signal_cov, noise_cov)``; ``A=None`` is the identity, sized by a covariance matrix."""
    if A is None:
        size = None
        for name, value in (("signal_cov", signal_cov), ("noise_cov", noise_cov)):
            try:
                shape = np.shape(value)
            except ValueError:  # ragged nested lists
                raise InvalidInputError(name, "expected a number or a square matrix (rows of equal length)") from None
            if len(shape) == 2:
                size = shape[0]
                break
        if size is None:
            raise InvalidInputError("A", "is None (the identity) but signal_cov and noise_cov are both scalars, "
                                    "so the number of sensors is unknown; pass A or a covariance matrix")
        A = np.eye(size)
    return _v.observation_model(A, signal_cov, noise_cov)


def _whitened(B: np.ndarray, noise: np.ndarray, clean: np.ndarray) -> np.ndarray:
    """Rows ``w_i`` with ``X_c = W xi + e`` up to an invertible map, ``e ~ N(0, I)`` (``noise[c, c]`` definite).

    Independent sensors are divided by their noise's standard deviation;
    correlated ones are rotated onto the noise's eigenvectors first
    (``U^T X_c``, whose noise has the covariance ``diag(eigenvalues)``).
    """
    rows, sub = B[clean], noise[np.ix_(clean, clean)]
    if _is_diagonal(sub):
        return rows / np.sqrt(np.diag(sub))[:, None]
    values, vectors = np.linalg.eigh(sub)
    return (vectors.T @ rows) / np.sqrt(values)[:, None]


def _information(W: np.ndarray) -> float:
    """``I(xi; W xi + e)`` in nats for ``xi ~ N(0, I_n)`` and ``e ~ N(0, I)`` (one row of ``W`` per sensor).

    The chain rule over the rows, ``I = sum_i I(xi; z_i | z_1..z_{i-1})``: given
    the earlier rows ``xi`` has covariance ``P = S S^T``, so row ``i`` adds
    ``0.5 log1p(|S^T w_i|^2)``, and conditioning on it updates ``S`` by
    Potter's square-root step ``S <- S (I - g a a^T)``, ``a = S^T w_i``,
    ``g = 1 / (r (1 + r))``, ``r = sqrt(1 + |a|^2)`` (then
    ``(I - g a a^T)^2 = I - a a^T / (1 + |a|^2)``, the Kalman update).  Each
    term is computed as a ``log1p``, so tiny information keeps its relative
    accuracy.  With fewer rows than signal dimensions, ``xi`` is first rotated
    onto the rows' span (``W -> R^T`` from ``W^T = Q R``; the information
    depends only on ``W W^T``).  Rows go weakest first.
    """
    count, dim = W.shape
    if count == 0:
        return 0.0
    if min(count, dim) > _CHAIN_RULE_MAX:
        # Large sets: the same information from the eigenvalues of the smaller Gram matrix,
        # 0.5 sum log1p(eig) (one LAPACK call instead of a Python loop over the rows; each
        # eigenvalue's absolute error is ~eps ||W||^2, small against the total, which is at
        # least 0.5 log1p of the largest).
        gram = W.T @ W if dim <= count else W @ W.T
        return 0.5 * float(np.sum(np.log1p(np.clip(np.linalg.eigvalsh(gram), 0.0, None))))
    if count < dim:
        W = np.linalg.qr(W.T)[1].T
        dim = count
    S = np.eye(dim)
    total = 0.0
    for w in W[np.argsort(np.einsum("ij,ij->i", W, W), kind="stable")]:
        a = S.T @ w
        s = float(a @ a)
        total += math.log1p(s)
        r = math.sqrt(1.0 + s)
        S -= np.outer(S @ a, a / (r * (1.0 + r)))
    return 0.5 * total


#: Above this many rows (and signal dimensions), :func:`_information` uses an eigenvalue decomposition
#: instead of the row-by-row chain rule (which is a Python loop: 8x slower at m = n = 800).
_CHAIN_RULE_MAX = 64


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
        """Accurate ``I*(S)`` for a set of attacked local rows (see :func:`_information`)."""
        clean = np.setdiff1d(np.arange(self.r), attacked_local)
        return _information(_whitened(self.B, self.noise, clean))

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
        mi, best = min(candidates)
        return np.array(best, dtype=int), mi, evaluated, form

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
    A, sy, sn = _observation(signal_cov, noise_cov, A)
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

    exact_mi: float | None = None
    exact_subset: tuple[int, ...] | None = None
    gap: float | None
    if use == "exact" or affordable:
        ex_att, ex_mi, ex_count, form = red.exact()
        exact_mi, exact_subset = ex_mi, red.to_global(ex_att)
    if use == "exact":
        subset, mi, evaluated, gap = red.to_global(ex_att), ex_mi, ex_count, 0.0
    else:
        g_att, mi, evaluated = red.greedy()
        subset, form = red.to_global(g_att), "rank-one"
        gap = None
        if exact_mi is not None:
            if mi <= exact_mi:  # the same set, or a tie within round-off: greedy is optimal
                exact_mi, exact_subset = mi, subset
            gap = mi - exact_mi

    # every row with noise clean (noiseless rows that see nothing add nothing)
    mi_unattacked = math.inf if red.forced.size else red.mi_of(np.array([], dtype=int))
    return SubsetAttackResult(
        subset=subset, mi=float(mi), method=use, evaluated=int(evaluated), k=k, m=m, n=n,
        gap=gap, exact_mi=exact_mi, exact_subset=exact_subset, mi_unattacked=float(mi_unattacked),
        forced=tuple(int(i) for i in red.forced), form=form, seconds=time.perf_counter() - start,
        max_exact=max_exact,
    )


@rebuildable
def subset_problem(signal_cov, noise_cov, k: int, A=None, method: str = "auto") -> AttackProblem:
    """The unbudgeted sparse SDP on the rows :func:`subset_attack` picks.

    Builds :func:`~mi_cvx.gaussian.gaussian_sparse` (``budget=None``) on the
    subset chosen by :func:`subset_attack`; its optimum is Theorem 4.1's
    ``I*`` (the minimum over all ``k``-subsets) exactly when the subset
    search is right, so solving it cross-checks the search with a conic
    solver.  (Formerly ``mi_cvx.cases.best_subset_problem``, still available
    under that name.)

    Parameters
    ----------
    signal_cov, noise_cov, k, A, method
        As in :func:`subset_attack` (``A=None``: the identity, ``m = n``).

    Returns
    -------
    AttackProblem

    Raises
    ------
    InvalidInputError
        As :func:`subset_attack` and :func:`mi_cvx.gaussian_sparse`.
    """
    from .gaussian import gaussian_sparse  # gaussian's module graph stays out of this module's import

    chosen = subset_attack(signal_cov, noise_cov, k, A=A, method=method)
    A = np.eye(chosen.m) if A is None else A
    problem = gaussian_sparse(A, list(chosen.subset), None, signal_cov, noise_cov)
    problem.family = "subset_attack"
    problem.description = f"Theorem 4.1, the best {k} of {chosen.m} rows: {problem.description}"
    return problem


# ------------------------------------------------------- the family description
# Theorem 4.1 is answered by a search over subsets in closed form (subset_attack); its conic
# cross-check is the unbudgeted sparse SDP on the chosen rows (subset_problem), whose
# convexity facts are the Gaussian ones.

def _brute_force_subset_mi(signal_cov, noise_cov, k, A) -> float:
    """``min over |S| = k`` of :func:`mi_cvx.oracles.subset_mi`, by enumeration."""
    m = np.shape(A)[0]
    return min(subset_mi(signal_cov, noise_cov, list(S), A=A) for S in itertools.combinations(range(m), k))


_A_SUBSET = np.array([[1.0, 0.2, 0.0], [0.4, 1.0, -0.3], [0.0, 0.5, 1.0], [0.6, -0.4, 0.8]])
_SY_SUBSET = np.array([[1.0, 0.4, 0.1], [0.4, 0.8, 0.2], [0.1, 0.2, 0.5]])
_SN_SUBSET = np.diag([0.2, 0.1, 0.3, 0.15])


def _subset_cases() -> list[Case]:
    k = 2
    return [Case(
        name="subset_best_pair", family="subset_attack", group="subset",
        factory=functools.partial(subset_problem, _SY_SUBSET, _SN_SUBSET, k, _A_SUBSET),
        parameters={"A": _A_SUBSET, "signal_cov": _SY_SUBSET, "noise_cov": _SN_SUBSET, "k": k},
        oracle=_brute_force_subset_mi(_SY_SUBSET, _SN_SUBSET, k, _A_SUBSET),
        reference="min over all 2-subsets of oracles.subset_mi (Theorem 4.1, brute force)",
        note="subset chosen by subset_attack, then the unbudgeted sparse SDP on it")]


def _attack_space(problem: AttackProblem):
    from .gaussian import _gaussian_space

    return _gaussian_space(problem)


def _witness(problem: AttackProblem):
    from .gaussian import _gaussian_witness

    return _gaussian_witness(problem)


FAMILIES = (
    Family(
        name="subset_attack",
        summary="Theorem 4.1: the k sensors to replace so as to leave the least information",
        factory=subset_problem,
        params=(Param("signal_cov", "array", "Cov(Y): a number (times I) or a matrix", required=True),
                Param("noise_cov", "array", "Cov(N): a number (times I) or a matrix (default 0)", default=0.0),
                Param("k", "integer", "the number of rows the attacker replaces", required=True),
                Param("A", "observation", "the observation matrix (m x n; default the identity)"),
                Param("method", "choice", "the subset search: auto, exact or greedy", choices=METHODS)),
        theory="docs/theory.md section 6",
        group="subset",
        aliases=("subset",),
        oracles={"subset_mi": subset_mi},
        attack_space=_attack_space, witness=_witness,
        cases=_subset_cases,
        attackers=("x_and_y",),
        budgeted=False,
        search=subset_attack,
    ),
)
