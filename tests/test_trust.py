"""A result marked ok is right at any scale and on every input, and nothing hangs.

Every reproducer of the trust issue is here; numbers are checked against closed forms
recomputed in this file (not the package's oracles) where that is cheap.
"""

from __future__ import annotations

import json
import math
import multiprocessing as mp
from pathlib import Path

import numpy as np
import pytest

import mi_cvx as mc
from mi_cvx import solvers
from mi_cvx.core import EXACT

SHARED_CASES = Path(__file__).resolve().parents[2] / "shared" / "cases"


def scalar_truth(sy2: float, sn2: float, d: float) -> float:
    """Theorem 3.1 recomputed from the statement of the closed form (not the package's angle form)."""
    if d >= sy2:
        return 0.0
    sy, sn = math.sqrt(sy2), math.sqrt(sn2)
    theta = math.atan2(sy, sn) - math.asin(math.sqrt(d / (sy2 + sn2)))
    u, v = math.sqrt(d) * math.cos(theta), math.sqrt(d) * math.sin(theta)
    return 0.5 * math.log1p(((sy - u) / (sn + v)) ** 2)


def rel(a: float, b: float) -> float:
    return abs(a - b) / (1.0 + abs(b))


# ------------------------------------------------------------------ units


@pytest.mark.parametrize("scale", [1e-8, 1e-4, 1.0, 1e4, 1e8])
def test_scalar_units_do_not_matter(scale):
    truth = scalar_truth(1.0, 0.5, 0.3)
    base = mc.gaussian_scalar(1.0, 0.5, 0.3).solve()
    result = mc.gaussian_scalar(scale, 0.5 * scale, 0.3 * scale).solve()
    assert result.ok
    assert rel(result.mi, truth) <= 1e-6
    # every reported quantity carries the user's units
    assert result.budget_used == pytest.approx(base.budget_used * scale, rel=1e-5)
    assert result.dual_budget == pytest.approx(base.dual_budget / scale, rel=1e-4)
    assert result.attack["attack_cov"][0, 0] == pytest.approx(base.attack["attack_cov"][0, 0] * scale, rel=1e-5)
    assert result.attack["F"][0, 0] == pytest.approx(base.attack["F"][0, 0], rel=1e-4, abs=1e-6)
    assert result.attack["W_cov"][0, 0] == pytest.approx(base.attack["W_cov"][0, 0] * scale, abs=1e-6 * scale)


def test_vector_units_from_the_issue():
    # A = 1000 I, signal 1, noise 2e5, budget 1e6: three identical scalar channels of
    # signal power 1e6 and noise 2e5 sharing the budget equally.
    truth = 3 * scalar_truth(1e6, 2e5, 1e6 / 3)
    result = mc.gaussian_vector(1000 * np.eye(3), 1e6, 1.0, 2e5).solve()
    assert result.ok and rel(result.mi, truth) <= 1e-6
    assert truth == pytest.approx(0.5660, abs=1e-4)


@pytest.mark.parametrize("signal_scale, noise_scale", [(1e-6, 1e6), (1e6, 1e-6), (1e8, 1e8)])
def test_vector_signal_and_observation_units_separately(signal_scale, noise_scale):
    rng = np.random.default_rng(3)
    A = rng.normal(size=(3, 2))
    base = mc.gaussian_vector(A, 0.7, np.diag([1.0, 0.3]), 0.4).solve()
    # Y in other units: A absorbs them; X in other units: noise and budget scale.
    a = np.sqrt(noise_scale / signal_scale)
    scaled = mc.gaussian_vector(A * a, 0.7 * noise_scale, np.diag([1.0, 0.3]) * signal_scale,
                                0.4 * noise_scale).solve()
    assert scaled.ok and rel(scaled.mi, base.mi) <= 1e-6


@pytest.mark.parametrize("scale", [1e-6, 1e6])
def test_discrete_distortion_units_do_not_matter(scale):
    p = np.array([[0.3, 0.05, 0.05], [0.05, 0.25, 0.05], [0.05, 0.05, 0.15]])
    d = np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 1.0], [2.0, 1.0, 0.0]])
    base = mc.discrete_channel(p, 0.2, d).solve()
    scaled = mc.discrete_channel(p, 0.2 * scale, d * scale).solve()
    assert scaled.ok and rel(scaled.mi, base.mi) <= 1e-6
    assert scaled.budget_used == pytest.approx(base.budget_used * scale, rel=1e-5)
    assert scaled.dual_budget == pytest.approx(base.dual_budget / scale, rel=1e-4)


# ------------------------------------------------------------------ ok means right


def test_ok_is_withdrawn_when_the_closed_form_disagrees():
    problem = mc.gaussian_scalar(1.0, 0.5, 0.3)
    truth = scalar_truth(1.0, 0.5, 0.3)
    problem.with_hooks(oracle=lambda values: truth + 1e-3)  # a closed form the solver cannot match
    result = problem.solve("CLARABEL", raise_on_failure=False)
    assert not result.ok and "closed form" in result.message
    with pytest.raises(mc.SolverError):
        problem.solve("CLARABEL")


def test_ok_is_withdrawn_on_overspending():
    problem = mc.gaussian_scalar(1.0, 0.5, 0.3)
    result = problem.solve("CLARABEL")
    problem.parameters["budget"].value = 0.3 * (1 - 1e-3)  # pretend the budget was lower
    assert "over the budget" in problem._accuracy_problems(result)


def test_tiny_budget_is_not_overspent():
    # The issue's case: a residual tolerance of 1e-6 let 24,000 times the budget through.
    args = (0.0002804835470218233, 0.018548988081013913, 4.625627321728918e-12)
    result = mc.gaussian_scalar(*args).solve()
    assert result.ok and rel(result.mi, scalar_truth(*args)) <= result.tolerance
    # what an overspend can buy (about dual * overspend nats) is within the tolerance
    over = max(result.budget_used - args[2], 0.0)
    assert result.dual_budget * over <= result.tolerance


def test_scs_at_default_settings_is_not_passed_off():
    # The issue's case: SCS returned -0.154 nats with ok=True.
    args = (0.0017448877346820208, 1386.2908693782456, 0.0006349646585014654)
    result = mc.gaussian_scalar(*args).solve("SCS", raise_on_failure=False)
    truth = scalar_truth(*args)
    assert (not result.ok) or rel(result.mi, truth) <= solvers.tolerance("SCS")
    assert result.mi >= -solvers.tolerance("SCS") or not result.ok


@pytest.mark.parametrize("name", ["hang_0", "hang_5", "silent_3", "silent_4", "silent_13", "hang_12"])
def test_default_chain_failures_answer_correctly(name):
    case = json.loads((SHARED_CASES / "default_chain_failures.json").read_text())[name]
    result = mc.gaussian_vector(case["A"], case["budget"], case["signal_cov"], case["noise_cov"]).solve()
    A = np.atleast_2d(np.array(case["A"], dtype=float))
    SY = np.array(case["signal_cov"], dtype=float) * (np.eye(A.shape[1]) if np.ndim(case["signal_cov"]) == 0 else 1)
    assert np.ndim(case["noise_cov"]) == 0
    lam = np.linalg.eigvalsh(A @ SY @ A.T)
    lam = lam[lam > 1e-12 * lam.max()]
    truth = _isotropic_truth(lam, case["noise_cov"], case["budget"])
    assert result.ok and rel(result.mi, truth) <= 1e-5


def _isotropic_truth(power, noise, budget):
    """Equal slopes of the scalar closed forms by bisection (independent of the package)."""
    if budget >= power.sum():
        return 0.0

    def alloc(slope):  # each channel: the D_i whose finite-difference slope is `slope`
        out = []
        for p in power:
            lo, hi = 0.0, p
            for _ in range(200):
                mid = 0.5 * (lo + hi)
                h = 1e-7 * p
                g = (scalar_truth(p, noise, min(mid + h, p)) - scalar_truth(p, noise, max(mid - h, 0.0))) / (
                    min(mid + h, p) - max(mid - h, 0.0))
                lo, hi = (mid, hi) if -g > slope else (lo, mid)
            out.append(0.5 * (lo + hi))
        return np.array(out)

    lo, hi = -30.0, 30.0
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if alloc(math.exp(mid)).sum() > budget else (lo, mid)
    d = alloc(math.exp(0.5 * (lo + hi)))
    d *= budget / d.sum()
    return float(sum(scalar_truth(p, noise, di) for p, di in zip(power, d, strict=True)))


def test_zero_information_case_that_broke_clarabel():
    data = np.load(SHARED_CASES / "clarabel_zero_information.npz")
    A, SY, SN, D = data["A"], data["SY"], data["SN"], float(data["D"])
    assert D == pytest.approx(1.2 * np.trace(A @ SY @ A.T))
    result = mc.gaussian_vector(A, D, SY, SN).solve()
    assert result.ok and result.mi == 0.0 and result.solver == EXACT
    assert result.mi_check == pytest.approx(0.0, abs=1e-12)
    # the attack Delta = -A Y costs tr(A SY A^T)
    assert result.budget_used == pytest.approx(np.trace(A @ SY @ A.T), rel=1e-12)
    for factor in (0.5, 0.9):  # below the threshold the SDP answers (no closed form: correlated noise)
        below = mc.gaussian_vector(A, factor * D / 1.2, SY, SN).solve()
        assert below.ok and below.mi > 0 and below.oracle is None


# ------------------------------------------------------------------ thresholds


def _solve_in_child(queue, args):
    queue.put(mc.gaussian_vector(*args).solve(raise_on_failure=False).mi)


def test_threshold_reproducer_returns():
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_solve_in_child, args=(queue, ([[1.0]], 1.9999999999999998, 2.0, 1.0)))
    proc.start()
    proc.join(60)
    alive = proc.is_alive()
    if alive:
        proc.terminate()
    assert not alive, "gaussian_vector([[1.0]], 1.9999999999999998, 2.0, 1.0).solve() did not return"
    assert 0.0 <= queue.get(timeout=5) <= 1e-8


def test_scalar_at_the_threshold_is_zero():
    result = mc.gaussian_scalar(27651817.26293249, 53986474.62751351, 27651817.26293249).solve()
    assert result.ok and result.mi == 0.0 and result.solver == EXACT
    assert "zero-information" in result.note


def test_binary_at_the_threshold():
    p = [[0.17798547974016912, 0.0], [0.0, 0.8220145202598309]]
    result = mc.binary_channel(p, 0.1779854797401691).solve()  # one ulp below the threshold
    assert result.ok and 0.0 <= result.mi <= result.tolerance
    assert result.oracle == pytest.approx(0.0, abs=1e-12)
    at = mc.binary_channel(p, 0.17798547974016912).solve()
    assert at.ok and at.mi == 0.0 and at.solver == EXACT


@pytest.mark.parametrize("ulps", [-3, 0, 3])
def test_gaussian_budgets_around_the_threshold(ulps):
    A = np.array([[1.0, 0.5], [0.2, -0.3]])
    threshold = float(np.trace(A @ A.T))
    budget = threshold + ulps * np.spacing(threshold)
    result = mc.gaussian_vector(A, budget, 1.0, 0.3).solve()
    assert result.ok and 0.0 <= result.mi <= 1e-7


def test_zero_budget_keeps_the_information():
    A = np.array([[1.0, 0.5], [0.2, -0.3], [0.0, 1.0]])
    SN = np.array([[1.0, 0.2, 0.0], [0.2, 0.5, 0.1], [0.0, 0.1, 0.7]])
    result = mc.gaussian_vector(A, 0.0, 1.0, SN).solve()
    SX = A @ A.T + SN
    truth = 0.5 * (np.linalg.slogdet(SX)[1] - np.linalg.slogdet(SN)[1])
    assert result.ok and rel(result.mi, truth) <= 1e-12 and result.solver == EXACT
    assert result.budget_used == 0.0


# ------------------------------------------------------------------ nothing hangs


def test_big_isotropic_problem_answers_on_the_exact_path():
    rng = np.random.default_rng(0)
    problem = mc.gaussian_vector(rng.normal(size=(120, 120)), 10.0, 1.0, 0.5)
    result = problem.solve(time_limit=1.0)
    assert result.ok and result.solver == EXACT and "exact path" in result.note
    assert rel(result.mi, result.mi_check) <= 1e-8


def test_big_general_problem_is_refused_at_once():
    rng = np.random.default_rng(0)
    B = rng.normal(size=(60, 60))
    problem = mc.gaussian_vector(rng.normal(size=(60, 60)), 10.0, 1.0, B @ B.T / 60, formulation="full")
    with pytest.raises(mc.ResourceLimitError, match="beyond this machine's reach"):
        problem.solve(time_limit=1.0)
    with pytest.raises(mc.ResourceLimitError):
        problem.solve("CLARABEL", time_limit=1.0)


def test_big_general_problem_is_answered_by_the_certified_route_by_default():
    rng = np.random.default_rng(0)
    B = rng.normal(size=(60, 60))
    problem = mc.gaussian_vector(rng.normal(size=(60, 60)), 10.0, 1.0, B @ B.T / 60)
    result = problem.solve(time_limit=1.0)
    assert result.ok and result.solver == "TRANSPORT" and result.gap <= mc.solvers.GAP_TOLERANCE
    assert "TRANSPORT route" in result.note and not problem.built  # the SDP was never built
    with pytest.raises(mc.ResourceLimitError):
        problem.solve("CLARABEL", time_limit=1.0)


# ------------------------------------------------------------------ inputs


def test_boolean_support_is_a_mask():
    A = np.array([[1.0, 0.0], [0.5, 1.0], [0.0, 1.0]])
    by_mask = mc.gaussian_sparse(A, [True, False, True], 0.5, 1.0, 1.0)
    by_rows = mc.gaussian_sparse(A, [0, 2], 0.5, 1.0, 1.0)
    assert by_mask.spec["model"].support.tolist() == [0, 2]
    assert by_mask.solve().mi == pytest.approx(by_rows.solve().mi, rel=1e-7)


def test_bad_parameter_values_are_named():
    problem = mc.gaussian_scalar(1.0, 0.5, 0.3)
    with pytest.raises(mc.InvalidInputError, match="budget"):
        problem.parameters["budget"].value = float("nan")
    with pytest.raises(mc.InvalidInputError, match="budget"):
        problem.parameters["budget"].value = -1.0
    discrete = mc.binary_channel([[0.4, 0.1], [0.1, 0.4]], 0.1)
    with pytest.raises(mc.InvalidInputError, match="p_xy"):
        discrete.parameters["p_xy"].value = np.array([[np.nan, 0.1], [0.1, 0.4]])


def test_bad_solver_options_are_named():
    with pytest.raises(mc.InvalidInputError, match="options"):
        mc.gaussian_scalar(1.0, 0.5, 0.3).solve("CLARABEL", max_iter=-5)
    with pytest.raises(mc.InvalidInputError, match="time_limit"):
        mc.gaussian_scalar(1.0, 0.5, 0.3).solve(time_limit=-1)


def test_large_channel_form_is_refused_before_it_is_built():
    rng = np.random.default_rng(1)
    p = rng.dirichlet(np.ones(128 * 128)).reshape(128, 128)
    problem = mc.discrete_channel(p, 0.2, formulation="channel")
    with pytest.raises(mc.ResourceLimitError, match="formulation='transport'"):
        problem.solve()
    assert not problem.built  # the 2-million-variable channel form was never built
    routed = mc.discrete_channel(p, 0.2)  # formulation="auto": the certified route answers
    result = routed.solve()
    assert result.ok and result.solver == "BLAHUT_ARIMOTO" and result.gap <= mc.solvers.GAP_TOLERANCE
    assert not routed.built


def test_a_failing_chain_stops_at_the_time_limit(monkeypatch):
    # Every attempt fails after a second; each is estimated at 59.5 s: after the first failure
    # the chain may not start another attempt that would end past the 60 s limit.
    import time as _time

    problem = mc.gaussian_vector(np.array([[1.0, 0.3], [0.2, 1.0]]), 0.5, 1.0, np.array([[1.0, 0.4], [0.4, 1.0]]),
                                 formulation="full")
    monkeypatch.setattr(problem, "estimate", lambda solver: mc.resources.Estimate(59.5, 1e8, "forced"))
    calls = []

    def failing(name, options):
        calls.append(name)
        _time.sleep(1.0)
        return mc.AttackResult(mi=float("nan"), status="solver_error", solver=name, message="forced failure")

    monkeypatch.setattr(problem, "_solve_with", failing)
    result = problem.solve(raise_on_failure=False, time_limit=60.0)
    assert not result.ok and calls == ["CLARABEL"] and "not tried" in result.note


def test_small_but_well_conditioned_covariances_are_accepted():
    # spread 1e6 at size 1e-10: the same matrix as at size 1, in other units
    sy = np.diag([1.0, 1e-6])
    A = np.array([[1.0, 0.5], [0.3, 1.0]])
    base = mc.gaussian_vector(A, 0.2, sy, 0.1).solve()
    small = mc.gaussian_vector(A, 0.2 * 1e-10, sy * 1e-10, 0.1 * 1e-10).solve()
    assert small.ok and rel(small.mi, base.mi) <= 1e-6
    with pytest.raises(mc.InvalidInputError, match="signal_cov"):
        mc.gaussian_vector(A, 0.2, np.diag([1.0, 0.0]) * 1e-10, 0.1)


def test_huge_budget_with_clean_rows_is_answered_or_flagged():
    A = np.array([[1.0, 0.2], [0.3, 1.0]])
    result = mc.gaussian_sparse(A, [0], 1e308, 1.0, 0.5).solve(raise_on_failure=False)
    truth = 0.5 * math.log1p((0.3**2 + 1.0) / 0.5)  # I(Y; X_1), the clean row
    assert (not result.ok) or rel(result.mi, truth) <= result.tolerance


def test_empty_support_keeps_the_information():
    A = np.array([[1.0, 0.2], [0.3, 1.0]])
    result = mc.gaussian_sparse(A, [], 0.5, 1.0, 0.5).solve()
    SX = A @ A.T + 0.5 * np.eye(2)
    truth = 0.5 * (np.linalg.slogdet(SX)[1] - 2 * math.log(0.5))
    assert result.ok and rel(result.mi, truth) <= 1e-9


def test_absurd_sizes_are_input_errors():
    with pytest.raises(mc.InvalidInputError, match="output_size"):
        mc.discrete_channel([[0.5, 0.0], [0.0, 0.5]], 0.1, output_size=2**70)
    with pytest.raises(mc.InvalidInputError, match="signal_cov"):
        mc.subset_attack([[1.0, 0.0], [0.0]], 1.0, 1)


# ------------------------------------------------------------------ fuzz findings


def test_unbudgeted_attack_on_every_row_is_zero():
    # like fuzz sparse #8 (every row attacked, no budget, tiny scale): Clarabel returned -0.43 nats,
    # SCS -2.48; the answer is 0 (Delta = -X)
    result = mc.gaussian_sparse([[0.3, -1.2]], [0], None, np.diag([1.0, 1e-6]) * 1e-7, 4.9e-8).solve()
    assert result.ok and result.mi == 0.0 and result.mi_check == pytest.approx(0.0, abs=1e-12)


def test_label_blind_zero_budget_at_high_snr():
    # fuzz label_blind #70: ok=True 4.6408 where no attack leaves I(Y; X) = 4.640569
    args = (0.7661326992216583, 7.138337759586971e-05, 0.0)
    result = mc.gaussian_scalar(*args, knows="x").solve()
    assert result.ok and rel(result.mi, 0.5 * math.log1p(args[0] / args[1])) <= 1e-9


def test_no_answer_above_the_no_attack_information():
    # fuzz label_blind #572: ok=True above I(Y; X) at a tiny budget; now flagged or right
    sy2, sn2, d = 0.22706274647531216, 2.1568995782173103e-05, 2.2706274647531216e-11
    result = mc.gaussian_scalar(sy2, sn2, d, knows="x").solve(raise_on_failure=False)
    ceiling = 0.5 * math.log1p(sy2 / sn2)
    assert (not result.ok) or result.mi <= ceiling * (1 + result.tolerance)


def test_tiny_budget_overspend_is_not_ok():
    # fuzz correlated #332 (certified reference 0.7677289803): Clarabel's defaults spent 30% over
    # a budget of 3.3e-10 and were 1.4e-5 off; the relative overspend now sends it down the chain.
    case = {"A": [[0.5310868317710544, 1.7084123009323973, -1.1204769380184743, 1.2279790836316073],
                  [-0.8797973098790238, 0.9630273351501583, 0.16650848615440808, 0.8278579570775527],
                  [-0.5728453874021084, 1.5852699937117622, -0.9402428433411252, -0.8706923517711819]],
            "signal_cov": [[0.18498965297854936, -0.1531211010651286, 0.1030730591597307, -0.21687295646702404],
                           [-0.1531211010651286, 0.13675723778077023, -0.08620162020701527, 0.1838719225612552],
                           [0.1030730591597307, -0.08620162020701527, 0.06676134299737026, -0.1223254401424435],
                           [-0.21687295646702404, 0.1838719225612552, -0.1223254401424435, 0.2605779953395544]],
            "noise_cov": [[3.3031539349196244, 0.14383340845592302, 0.1228857228300035],
                          [0.14383340845592302, 0.6266309705530929, -0.13142125595564014],
                          [0.1228857228300035, -0.13142125595564014, 0.5390264282221114]]}
    budget = 3.293110990199666e-10
    problem = mc.gaussian_vector(case["A"], budget, case["signal_cov"], case["noise_cov"])
    result = problem.solve(raise_on_failure=False)
    assert (not result.ok) or rel(result.mi, 0.7677289803) <= result.tolerance
    assert (not result.ok) or result.budget_used <= budget * (1 + 1e-3)


def test_tiny_discrete_budget_gets_a_feasible_attack():
    # fuzz discrete #8-like: every backend overspends a 3e-11 budget by 10-1000x (absolute
    # feasibility ~1e-9); the channel is mixed with no attack to meet the budget exactly, and
    # its re-checked information must agree with the solver's value to the tolerance itself.
    p = np.array([[0.3, 0.05], [0.1, 0.25], [0.2, 0.1]])
    d = np.array([[0.0, 1.0, 3.0], [2.0, 0.0, 1.0], [1.0, 1.5, 0.0]])
    budget = 3e-11
    result = mc.discrete_channel(p, budget, d).solve(raise_on_failure=False)
    if result.ok:
        assert result.budget_used <= budget * (1 + 1e-12)
        assert rel(result.mi, result.mi_check) <= result.tolerance
    no_attack = mc.info.mutual_information(p)
    assert (not result.ok) or result.mi <= no_attack * (1 + 1e-5)
