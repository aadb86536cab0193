"""mi_cvx.transport: the certified conditional-transport solver, against independent references.

* The log-det SDP of docs/theory.md section 3, written here in CVXPY and solved with Clarabel at
  tight tolerances (and SCS), on small random models with wide scales and correlated noise: the
  value agrees, the certified lower bound never exceeds the SDP's optimum, the gap is certified.
  The SDP's value is recomputed in plain numpy from its covariance ``S`` (the solvers' own
  objective drifts by 1e-6 on badly scaled instances).
* The closed forms of mi_cvx.oracles: scalar (Theorem 3.1), isotropic and commuting noise.
* The bound itself: weak duality against random feasible attacks (with independent noise too),
  the compact evaluation against the formula as derived, tightness at the solution.
* The multiplier against finite differences of the value, the warm start, the edge cases.

Timings of the large targets are printed by the tests marked timing (``pytest -m timing -s``).
"""

from __future__ import annotations

import time

import cvxpy as cp
import numpy as np
import pytest

from benchmarks.bench_transport import random_model as bench_model
from mi_cvx import oracles
from mi_cvx.gaussian import _model
from mi_cvx.info import gaussian_linear_mi
from mi_cvx.transport import TransportSolution, solve_transport, transport_lower_bound, transport_value

#: Clarabel and SCS warn on the badly scaled instances; their answers are recomputed and compared anyway.
pytestmark = pytest.mark.filterwarnings("ignore:Solution may be inaccurate:UserWarning")

GAP = 1e-7
CLARABEL_TIGHT = {"tol_gap_abs": 1e-12, "tol_gap_rel": 1e-12, "tol_feas": 1e-12, "tol_ktratio": 1e-10,
                  "max_iter": 500}


# ---------------------------------------------------------------- helpers


def random_model(rng, m, n, *, wide=True, spread=1.5):
    """``(A, SY, SN)`` with correlated covariances; ``wide`` scales rows/columns by 10^U(-spread, spread)."""
    A = rng.standard_normal((m, n))
    Q = rng.standard_normal((n, n))
    sy = Q @ Q.T / n + 0.1 * np.eye(n)
    Q = rng.standard_normal((m, m))
    sn = Q @ Q.T / m + 0.1 * np.eye(m)
    if wide:
        A *= 10.0 ** rng.uniform(-spread, spread, (m, 1))
        d = 10.0 ** rng.uniform(-spread, spread, n)
        sy = d[:, None] * sy * d[None, :]
        d = 10.0 ** rng.uniform(-spread, spread, m)
        sn = d[:, None] * sn * d[None, :]
    return A, sy, sn


def total(A, sy) -> float:
    return float(np.trace(A @ sy @ A.T))


class FullSDP:
    """docs/theory.md section 3: ``S = Cov(Y, N, Delta)`` PSD with fixed blocks, ``tr S_DD <= D``,
    maximise ``log_det(K)`` subject to ``[[M_YY - K, M_YZ], [M_ZY, M_ZZ]] >> 0``, ``M = T S T^T``."""

    def __init__(self, A, sy, sn):
        m, n = A.shape
        self.A, self.sy, self.sn, self.m, self.n = A, sy, sn, m, n
        self.D = cp.Parameter(nonneg=True)
        self.S = cp.Variable((n + 2 * m, n + 2 * m), PSD=True)
        K = cp.Variable((n, n), PSD=True)
        T = np.block([[np.eye(n), np.zeros((n, 2 * m))], [A, np.eye(m), np.eye(m)]])
        M = T @ self.S @ T.T
        M = 0.5 * (M + M.T)
        S = self.S
        cons = [S[:n, :n] == sy, S[n:n + m, n:n + m] == sn, S[:n, n:n + m] == 0,
                cp.trace(S[n + m:, n + m:]) <= self.D,
                cp.bmat([[M[:n, :n] - K, M[:n, n:]], [M[n:, :n], M[n:, n:]]]) >> 0]
        self.problem = cp.Problem(cp.Maximize(cp.log_det(K)), cons)

    def solve(self, budget, solver="CLARABEL", **options):
        """``(I of the solver's S recomputed in numpy, tr S_DD)``."""
        self.D.value = budget
        self.problem.solve(solver=solver, **options)
        m, n = self.m, self.n
        S = 0.5 * (self.S.value + self.S.value.T)
        S[:n, :n], S[n:n + m, n:n + m] = self.sy, self.sn
        S[:n, n:n + m], S[n:n + m, :n] = 0.0, 0.0
        to_y = np.hstack([np.eye(n), np.zeros((n, 2 * m))])
        to_z = np.hstack([self.A, np.eye(m), np.eye(m)])
        return gaussian_linear_mi(S, to_y, to_z), float(np.trace(S[n + m:, n + m:]))


def assert_certified(sol: TransportSolution, budget: float, gap=GAP):
    assert sol.budget_used <= budget
    assert 0.0 <= sol.lower_bound <= sol.mi + 1e-12
    assert sol.gap == pytest.approx(max(sol.mi - sol.lower_bound, 0.0), abs=1e-15)
    assert sol.gap <= gap, f"certified gap {sol.gap:.3g} > {gap:g}"


def the_formula(A, sy, sn, budget, mu, H, Sigma):
    """The bound as derived (Barber-Agakov + weak duality), term by term, with ``W^-1 Cov(u)``."""
    m, n = A.shape
    P = np.linalg.inv(Sigma)
    W = mu * np.eye(m) - 0.5 * H.T @ P @ H
    if np.linalg.eigvalsh(W).min() <= 0:
        return -np.inf
    sx = A @ sy @ A.T + sn
    cov_u = H.T @ P @ sy @ P @ H - 2 * mu * (H.T @ P @ sy @ A.T + A @ sy @ P @ H) + 4 * mu**2 * sx
    return (0.5 * np.linalg.slogdet(sy)[1] + 0.5 * n + 0.5 * np.linalg.slogdet(P)[1] - 0.5 * np.trace(P @ sy)
            + mu * np.trace(sx) - 0.25 * np.trace(np.linalg.solve(W, cov_u)) - mu * budget)


def posterior(A, sy, sn, F, G):
    """``(H, Sigma)`` of ``Y | Z`` for ``Z = (A + F) Y + (I + G) N``."""
    B, C = A + F, np.eye(A.shape[0]) + G
    cz = B @ sy @ B.T + C @ sn @ C.T
    H = np.linalg.solve(cz, B @ sy).T
    return H, sy - H @ B @ sy


# ---------------------------------------------------------------- against the SDP


@pytest.mark.parametrize("seed", range(6))
def test_matches_the_sdp_with_wide_scales_and_correlated_noise(seed):
    rng = np.random.default_rng(1000 + seed)
    m, n = (int(k) for k in rng.integers(1, 6, 2))
    A, sy, sn = random_model(rng, m, n, wide=seed % 3 != 0)
    sdp = FullSDP(A, sy, sn)
    for frac in (1e-3, 0.1, 0.5, 0.99):
        budget = frac * total(A, sy)
        sol = solve_transport(A, sy, sn, budget)
        assert_certified(sol, budget)
        ref, spent = sdp.solve(budget, **CLARABEL_TIGHT)
        # the SDP's point is feasible up to its tolerance; credit it what it overspent
        ref_at_budget = ref + sol.dual * max(spent - budget, 0.0)
        assert sol.lower_bound <= ref_at_budget + 1e-7, (frac, sol.lower_bound, ref)
        assert abs(sol.mi - ref) / (1 + abs(ref)) <= 1e-6, (frac, sol.mi, ref)


def test_matches_the_sdp_at_eight_by_six():
    rng = np.random.default_rng(7)
    A, sy, sn = random_model(rng, 8, 6, wide=True, spread=1.0)
    sdp = FullSDP(A, sy, sn)
    for frac in (0.05, 0.4):
        budget = frac * total(A, sy)
        sol = solve_transport(A, sy, sn, budget)
        assert_certified(sol, budget)
        ref, spent = sdp.solve(budget, **CLARABEL_TIGHT)
        assert sol.lower_bound <= ref + sol.dual * max(spent - budget, 0.0) + 1e-7
        assert abs(sol.mi - ref) / (1 + abs(ref)) <= 1e-6


def test_scs_agrees_and_the_bound_holds():
    rng = np.random.default_rng(11)
    A, sy, sn = random_model(rng, 3, 3, wide=False)
    budget = 0.3 * total(A, sy)
    sol = solve_transport(A, sy, sn, budget)
    ref, spent = FullSDP(A, sy, sn).solve(budget, solver="SCS", eps=1e-9, max_iters=200_000)
    assert sol.lower_bound <= ref + sol.dual * max(spent - budget, 0.0) + 1e-7
    assert abs(sol.mi - ref) / (1 + abs(ref)) <= 1e-6


# ---------------------------------------------------------------- against the closed forms


@pytest.mark.parametrize("frac", [1e-4, 0.05, 0.3, 0.8, 0.999])
def test_scalar_matches_theorem_3_1(frac):
    sy2, sn2 = 2.5, 0.4
    budget = frac * sy2
    exact = oracles.scalar_gaussian(sy2, sn2, budget)
    sol = solve_transport([[1.0]], sy2, sn2, budget)
    assert_certified(sol, budget)
    assert sol.mi == pytest.approx(exact.mi, rel=1e-7, abs=1e-10)
    assert sol.F[0, 0] == pytest.approx(exact.signal_gain, rel=1e-4, abs=1e-7)
    assert sol.G[0, 0] == pytest.approx(exact.noise_gain, rel=1e-4, abs=1e-7)
    assert sol.dual == pytest.approx(-exact.slope, rel=1e-6)


@pytest.mark.parametrize("seed", range(3))
def test_isotropic_noise_matches_the_structured_oracle(seed):
    rng = np.random.default_rng(2000 + seed)
    m, n = (int(k) for k in rng.integers(2, 12, 2))
    A, sy, _ = random_model(rng, m, n, wide=False)
    noise = float(rng.uniform(0.05, 2.0))
    for frac in (0.02, 0.3, 0.9):
        budget = frac * total(A, sy)
        exact = oracles.isotropic_gaussian(A, budget, sy, noise)
        sol = solve_transport(A, sy, noise, budget)
        assert_certified(sol, budget)
        assert sol.mi == pytest.approx(exact.mi, rel=1e-7, abs=1e-9)
        assert sol.lower_bound <= exact.mi + 1e-9
        assert sol.dual == pytest.approx(exact.dual, rel=1e-6)


def test_commuting_noise_matches_the_structured_oracle(rng):
    m, n = 7, 5
    A, sy, _ = random_model(rng, m, n, wide=False)
    _, U = np.linalg.eigh(A @ sy @ A.T)
    sn = (U * rng.uniform(0.05, 3.0, m)) @ U.T  # shares the eigenvectors of A SY A^T
    exact_model = oracles.StructuredGaussian(A, sy, sn)
    assert exact_model.commutes
    for frac in (0.01, 0.2, 0.7):
        budget = frac * total(A, sy)
        sol = solve_transport(A, sy, sn, budget)
        assert_certified(sol, budget)
        exact = exact_model.solve(budget)
        assert sol.mi == pytest.approx(exact.mi, rel=1e-7, abs=1e-9)
        assert sol.lower_bound <= exact.mi + 1e-9


# ---------------------------------------------------------------- the bound


def test_weak_duality_against_random_attacks(rng):
    """Any decoder and multiplier bound every feasible attack, independent noise included."""
    checked = 0
    for _ in range(120):
        m, n = (int(k) for k in rng.integers(1, 6, 2))
        A, sy, sn = random_model(rng, m, n, wide=bool(rng.random() < 0.5), spread=1.0)
        model = _model(A, sy, sn)
        F = rng.standard_normal((m, n)) * rng.uniform(0, 1.5)
        G = rng.standard_normal((m, m)) * rng.uniform(0, 1.0)
        Q = rng.standard_normal((m, m)) * rng.uniform(0, 1.0)
        W_cov = Q @ Q.T if rng.random() < 0.5 else np.zeros((m, m))
        joint = model.joint_from_gains(F, G, W_cov)
        budget = float(np.trace(joint[n + m:, n + m:]))  # the attack spends exactly this
        info = model.mi_of_gains(F, G, W_cov)
        H = rng.standard_normal((n, m)) * 10.0 ** rng.uniform(-2, 1)
        R = rng.standard_normal((n, n))
        Sigma = R @ R.T + 0.05 * np.eye(n)
        floor = 0.5 * np.linalg.eigvalsh(H.T @ np.linalg.solve(Sigma, H)).max()
        for mu in (floor * 1.001, floor * rng.uniform(1.01, 3.0), floor + 10.0 ** rng.uniform(-2, 2)):
            bound = transport_lower_bound(A, sy, sn, budget, mu, H, Sigma)
            assert bound <= info + 1e-9 * (1 + abs(info)), (bound, info)
            checked += np.isfinite(bound)
        assert transport_lower_bound(A, sy, sn, budget, 0.5 * floor, H, Sigma) == -np.inf  # W not PD
    assert checked > 300


def test_compact_bound_equals_the_derived_formula(rng):
    for _ in range(40):
        m, n = (int(k) for k in rng.integers(1, 7, 2))
        A, sy, sn = random_model(rng, m, n, wide=False)
        H = rng.standard_normal((n, m))
        R = rng.standard_normal((n, n))
        Sigma = R @ R.T + 0.2 * np.eye(n)
        floor = 0.5 * np.linalg.eigvalsh(H.T @ np.linalg.solve(Sigma, H)).max()
        mu = floor + 10.0 ** rng.uniform(-1, 1)
        budget = float(rng.uniform(0, 2)) * total(A, sy)
        ours = transport_lower_bound(A, sy, sn, budget, mu, H, Sigma)
        assert ours == pytest.approx(the_formula(A, sy, sn, budget, mu, H, Sigma), rel=1e-9, abs=1e-9)


def test_the_bound_is_tight_at_the_solution(rng):
    A, sy, sn = random_model(rng, 6, 4, wide=False)
    budget = 0.25 * total(A, sy)
    sol = solve_transport(A, sy, sn, budget)
    H, Sigma = posterior(A, sy, sn, sol.F, sol.G)
    at_solution = transport_lower_bound(A, sy, sn, budget, sol.dual, H, Sigma)
    assert sol.mi - 1e-6 <= at_solution <= sol.mi + 1e-12
    assert at_solution == pytest.approx(the_formula(A, sy, sn, budget, sol.dual, H, Sigma), rel=1e-9)


def test_the_multiplier_is_minus_the_slope(rng):
    A, sy, sn = random_model(rng, 5, 4, wide=False)
    budget = 0.2 * total(A, sy)
    h = 1e-3 * budget
    sol = solve_transport(A, sy, sn, budget, gap_tol=1e-11)
    up = solve_transport(A, sy, sn, budget + h, gap_tol=1e-11)
    down = solve_transport(A, sy, sn, budget - h, gap_tol=1e-11)
    slope = (up.mi - down.mi) / (2 * h)
    assert sol.dual == pytest.approx(-slope, rel=1e-4)
    assert down.dual > sol.dual > up.dual  # I* is convex: the multiplier falls with the budget


# ---------------------------------------------------------------- the returned attack


def test_value_and_cost_recomputed_by_the_gaussian_model(rng):
    A, sy, sn = random_model(rng, 6, 5, wide=True, spread=1.0)
    budget = 0.15 * total(A, sy)
    sol = solve_transport(A, sy, sn, budget)
    m, n = A.shape
    model = _model(A, sy, sn)
    assert sol.mi == pytest.approx(model.mi_of_gains(sol.F, sol.G, np.zeros((m, m))), rel=1e-9)
    joint = model.joint_from_gains(sol.F, sol.G, np.zeros((m, m)))
    assert sol.budget_used == pytest.approx(np.trace(joint[n + m:, n + m:]), rel=1e-12)
    assert sol.budget_used == pytest.approx(budget, rel=1e-6)  # the budget is spent (to within the gap)
    assert np.allclose(sol.G, sol.G.T) and np.linalg.eigvalsh(sol.G).min() >= -1e-9  # noise amplified
    assert transport_value(A, sy, sn, sol.F, sol.G) == pytest.approx((sol.mi, sol.budget_used), rel=1e-12)


def test_transport_value_matches_the_joint_covariance(rng):
    for _ in range(20):
        m, n = (int(k) for k in rng.integers(1, 6, 2))
        A, sy, sn = random_model(rng, m, n, wide=False)
        F, G = rng.standard_normal((m, n)), rng.standard_normal((m, m))
        model = _model(A, sy, sn)
        joint = model.joint_from_gains(F, G, np.zeros((m, m)))
        value, cost = transport_value(A, sy, sn, F, G)
        assert value == pytest.approx(model.mi_of(joint), rel=1e-8, abs=1e-10)
        assert cost == pytest.approx(np.trace(joint[n + m:, n + m:]), rel=1e-12)


def test_transport_value_with_singular_conditional_noise(rng):
    A = rng.standard_normal((3, 2))
    sn = np.diag([1.0, 0.5, 0.2])
    G = np.diag([-1.0, 0.0, 0.0])  # cancels the first row's noise
    F = np.zeros((3, 2))
    F[0] = -A[0]  # ... and its signal: that row is constant, Z carries what the other two do
    value, _ = transport_value(A, 1.0, sn, F, G)
    rest = A[1:]
    assert value == pytest.approx(0.5 * np.linalg.slogdet(np.eye(2) + rest.T @ np.linalg.solve(sn[1:, 1:], rest))[1],
                                  rel=1e-10)
    F[0] = 0.0  # a noiseless row that still sees the signal: infinite information
    assert transport_value(A, 1.0, sn, F, G)[0] == np.inf


def test_warm_start_cuts_the_iterations(rng):
    A, sy, sn = random_model(rng, 12, 10, wide=False)
    budgets = np.linspace(0.2, 0.3, 4) * total(A, sy)
    cold = [solve_transport(A, sy, sn, b) for b in budgets]
    warm, state = [], None
    for b in budgets:
        sol = solve_transport(A, sy, sn, b, warm=state)
        warm.append(sol)
        state = sol.state
    for c, w, b in zip(cold, warm, budgets, strict=True):
        assert_certified(w, b)
        assert w.mi == pytest.approx(c.mi, abs=2 * GAP)
    assert sum(w.iterations for w in warm[1:]) < 0.7 * sum(c.iterations for c in cold[1:])
    assert sum(w.factorizations for w in warm[1:]) < sum(c.factorizations for c in cold[1:])
    # a state of another model is ignored
    other = solve_transport(A[:, :5], sy[:5, :5], sn, budgets[0], warm=state)
    assert_certified(other, budgets[0])


def test_iteration_cap_still_returns_a_feasible_certified_attack(rng):
    A, sy, sn = random_model(rng, 6, 6, wide=True)
    budget = 0.3 * total(A, sy)
    sol = solve_transport(A, sy, sn, budget, max_iter=2)
    assert sol.budget_used <= budget
    assert sol.iterations <= 2
    assert 0.0 <= sol.lower_bound <= sol.mi and sol.gap == pytest.approx(sol.mi - sol.lower_bound)


# ---------------------------------------------------------------- edge cases


def test_zero_budget_is_no_attack_certified_exactly(rng):
    A, sy, sn = random_model(rng, 4, 3, wide=False)
    sol = solve_transport(A, sy, sn, 0.0)
    sx = A @ sy @ A.T + sn
    no_attack = 0.5 * (np.linalg.slogdet(sx)[1] - np.linalg.slogdet(sn)[1])
    assert np.all(sol.F == 0) and np.all(sol.G == 0)
    assert sol.mi == pytest.approx(no_attack, rel=1e-10)
    assert sol.dual == np.inf and sol.budget_used == 0.0
    assert sol.gap <= 1e-10 and sol.lower_bound <= sol.mi


def test_budget_at_or_above_the_threshold_erases_the_signal(rng):
    A, sy, sn = random_model(rng, 4, 3, wide=False)
    for budget in (total(A, sy), 2 * total(A, sy)):  # at the threshold, up to rounding in either direction
        sol = solve_transport(A, sy, sn, budget)
        assert np.allclose(sol.F, -A, rtol=1e-13, atol=0) and np.all(sol.G == 0)
        assert sol.mi <= 1e-20 and sol.dual == 0.0 and sol.lower_bound == 0.0 and sol.gap <= 1e-20
        assert sol.budget_used <= budget


def test_noise_must_be_positive_definite(rng):
    A = rng.standard_normal((3, 2))
    singular = np.diag([1.0, 0.5, 0.0])
    with pytest.raises(ValueError, match="positive definite"):
        solve_transport(A, 1.0, singular, 0.1)
    with pytest.raises(ValueError, match="positive definite"):
        solve_transport(A, 1.0, 0.0, 0.1)


def test_more_signals_than_observations_and_rank_deficient_A(rng):
    A, sy, sn = random_model(rng, 3, 7, wide=False)  # n > m: only A's row space matters
    sdp = FullSDP(A, sy, sn)
    budget = 0.2 * total(A, sy)
    sol = solve_transport(A, sy, sn, budget)
    assert_certified(sol, budget)
    ref, _ = sdp.solve(budget, **CLARABEL_TIGHT)
    assert abs(sol.mi - ref) / (1 + ref) <= 1e-6
    B = rng.standard_normal((5, 2))
    A = np.hstack([B, B @ rng.standard_normal((2, 2))])  # rank 2, n = 4
    sy, sn = np.eye(4) * 0.7, np.diag(rng.uniform(0.1, 1.0, 5))
    budget = 0.3 * total(A, sy)
    sol = solve_transport(A, sy, sn, budget)
    assert_certified(sol, budget)
    ref, _ = FullSDP(A, sy, sn).solve(budget, **CLARABEL_TIGHT)
    assert abs(sol.mi - ref) / (1 + ref) <= 1e-6


# ---------------------------------------------------------------- timings (printed)


def test_thirty_by_thirty_is_fast():
    A, sy, sn = bench_model(30, 30, 1)
    budget = 0.3 * total(A, sy)
    solve_transport(A, sy, sn, budget)  # warm the imports
    t0 = time.perf_counter()
    sol = solve_transport(A, sy, sn, budget)
    seconds = time.perf_counter() - t0
    print(f"\n30x30: {seconds:.3f} s, gap {sol.gap:.2g}, {sol.iterations} sweeps, {sol.factorizations} factorizations")
    assert_certified(sol, budget)


@pytest.mark.timing
def test_ieee_118_bus_timing():
    from mi_cvx.grids import grid_model

    A, sy, sn = grid_model("case118", injection_noise=4.0)
    budget = 0.1 * total(A, sy)
    t0 = time.perf_counter()
    sol = solve_transport(A, sy, sn, budget)
    seconds = time.perf_counter() - t0
    print(f"\ncase118 {A.shape}: {seconds:.3f} s, gap {sol.gap:.2g}, {sol.iterations} sweeps, "
          f"{sol.factorizations} factorizations")
    assert_certified(sol, budget)


@pytest.mark.timing
@pytest.mark.parametrize("size", [100, 500])
def test_large_random_timing(size):
    A, sy, sn = bench_model(size, size, 2)
    budget = 0.2 * total(A, sy)
    t0 = time.perf_counter()
    sol = solve_transport(A, sy, sn, budget)
    seconds = time.perf_counter() - t0
    print(f"\n{size}x{size}: {seconds:.3f} s, gap {sol.gap:.2g}, {sol.iterations} sweeps, "
          f"{sol.factorizations} factorizations")
    assert_certified(sol, budget)
