"""The certified large-alphabet solver (mi_cvx.alphabet) against independent references.

References written here, not taken from the package: a CVXPY conic model of the joint
``r[x, y, xh]`` (CLARABEL at tight tolerances, ECOS and SCS on a few instances) and the
rate-distortion closed forms.  Every solution must match the reference to 1e-6 relative,
report a lower bound that does not exceed it (validity), spend at most the budget, respect a
stealth cap and certify a gap <= 1e-7.  Timings of the large targets are printed by the tests
marked timing (pytest -m timing -s).
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
import time
import zlib

import cvxpy as cp
import numpy as np
import pytest
from scipy.special import rel_entr, xlogy

import mi_cvx
from mi_cvx import alphabet
from mi_cvx.alphabet import lower_bound, solve_alphabet
from mi_cvx.errors import InvalidInputError
from mi_cvx.info import channel_mi, expected_distortion

GAP = 1e-7
REL = 1e-6


# ----------------------------------------------------------------------------- references


def conic_reference(p, d, budget, knows="x_and_y", weight=None, cap=None, solver="CLARABEL", **opts):
    """The attack problem as a relative-entropy program in the joint ``r[x, y, xh]`` (or ``P(xh | x)``)."""
    k, ell = p.shape
    kp = d.shape[1]
    py, px = p.sum(axis=0), p.sum(axis=1)
    if knows == "x_and_y":
        R = cp.Variable((k * ell, kp), nonneg=True)
        cons = [cp.sum(R, axis=1) == p.reshape(-1)]
    else:
        C = cp.Variable((k, kp), nonneg=True)
        cons = [cp.sum(C, axis=1) == 1]
        expand = np.repeat(np.eye(k), ell, axis=0)  # row x*l + y -> x
        R = cp.multiply(np.repeat(p.reshape(-1, 1), kp, axis=1), expand @ C)
    sel = np.kron(np.ones((1, k)), np.eye(ell))  # sums the rows x*l + y over x
    out = sel @ R  # P(y, xh)
    P = cp.sum(out, axis=0)
    live = py > 0
    objective = cp.sum(cp.rel_entr(out[live, :], cp.outer(py[live], P)))
    cons.append(cp.sum(cp.multiply(R, np.repeat(d, ell, axis=0))) <= budget)
    if weight is not None or cap is not None:
        pos = px > 0
        kl = cp.sum(cp.rel_entr(P[pos], px[pos]))
        if np.any(~pos) and ((weight or 0) > 0 or cap is not None):
            cons.append(P[~pos] == 0)
        if weight:
            objective = objective + weight * kl
        if cap is not None:
            cons.append(kl <= cap)
    problem = cp.Problem(cp.Minimize(objective), cons)
    if solver != "CLARABEL" or opts:
        problem.solve(solver=solver, **opts)
    else:  # as tight as Clarabel reliably gets
        for tol in (1e-10, 1e-9):
            problem.solve(solver=solver, tol_gap_abs=tol, tol_gap_rel=tol, tol_feas=tol, max_iter=500)
            if problem.status == "optimal":
                break
    assert problem.status == "optimal", problem.status
    return float(problem.value)


def objective_of(p, channel, weight=0.0):
    """``I(Y; Xhat) + w KL(P_Xhat || P_X)`` of a channel, computed from scratch."""
    joint = np.einsum("xy,xyz->yz", p, channel)
    P, py = joint.sum(axis=0), p.sum(axis=0)
    mi = float(np.sum(rel_entr(joint, np.outer(py, P))))
    kl = float(np.sum(rel_entr(P, p.sum(axis=1)))) if weight else 0.0
    return mi + weight * kl


def binary_entropy(t):
    return -xlogy(t, t) - xlogy(1 - t, 1 - t)


def ordinal(k, kp=None):
    kp = k if kp is None else kp
    return np.abs(np.subtract.outer(np.arange(k), np.arange(kp))).astype(float)


def check(sol, p, d, budget, ref=None, knows="x_and_y", weight=None, cap=None):
    """The properties every solution must have (and agreement with ``ref``)."""
    k, ell = p.shape
    kp = d.shape[1]
    chan = np.asarray(sol.channel)
    assert chan.shape == (k, ell, kp)
    assert np.all(chan >= 0) and np.allclose(chan.sum(axis=2), 1.0, atol=1e-12)
    if knows == "x":
        assert np.allclose(chan, chan[:, :1, :])
    assert sol.budget_used <= budget
    assert sol.budget_used == pytest.approx(expected_distortion(p, chan, d), abs=1e-10)
    assert sol.mi == pytest.approx(channel_mi(p, chan), abs=1e-10)
    assert sol.objective == pytest.approx(objective_of(p, chan, weight or 0.0), abs=1e-10)
    if cap is not None:
        assert sol.kl <= cap
    assert 0.0 <= sol.gap <= GAP
    assert sol.lower_bound == pytest.approx(sol.objective - sol.gap, abs=1e-15)
    if ref is not None:
        assert abs(sol.objective - ref) / (1 + abs(ref)) <= REL, (sol.objective, ref)
        assert sol.lower_bound <= ref + GAP


# ----------------------------------------------------------------------------- against the conic form


def _instance(seed):
    """A small random instance: joint pmf with zero rows/columns, one of several distortions, a budget."""
    rng = np.random.default_rng(seed)
    k, ell = int(rng.integers(2, 6)), int(rng.integers(2, 6))
    p = rng.random((k, ell)) ** 3
    if rng.random() < 0.3:
        p[rng.integers(k)] = 0.0
    if rng.random() < 0.3:
        p[:, rng.integers(ell)] = 0.0
    if p.sum() == 0:
        p[0, 0] = 1.0
    p /= p.sum()
    kind = ["hamming", "random", "hamming_kp", "random_kp", "line"][seed % 5]
    kp = int(rng.integers(2, 6))
    d = {"hamming": 1 - np.eye(k), "random": 2 * rng.random((k, k)) * (1 - np.eye(k)), "line": ordinal(k),
         "hamming_kp": 1 - np.eye(k, kp), "random_kp": 2 * rng.random((k, kp))}[kind]
    least, most = float(p.sum(axis=1) @ d.min(axis=1)), float(p.sum(axis=1) @ d.max(axis=1))
    budget = least + rng.random() * (most - least) * [0.05, 0.3, 1.0][seed % 3]
    return p, d, budget


@pytest.mark.parametrize("knows", ["x_and_y", "x"])
@pytest.mark.parametrize("seed", range(15))
def test_random_instances_match_conic(seed, knows):
    p, d, budget = _instance(seed)
    sol = solve_alphabet(p, d, budget, knows=knows)
    check(sol, p, d, budget, conic_reference(p, d, budget, knows), knows)


CASES = {
    # name: (k, l, distortion, knows, weight, cap, budget fraction)
    "hamming x_and_y": (5, 4, "hamming", "x_and_y", None, None, 0.3),
    "hamming x": (5, 4, "hamming", "x", None, None, 0.3),
    "hamming k' > k": (3, 4, "hamming_wide", "x_and_y", None, None, 0.4),
    "hamming k' < k": (5, 3, "hamming_narrow", "x_and_y", None, None, 0.4),
    "hamming k' < k, label-blind": (5, 3, "hamming_narrow", "x", None, None, 0.4),
    "line": (5, 5, "line", "x_and_y", None, None, 0.2),
    "line k' > k": (3, 4, "line_wide", "x_and_y", None, None, 0.3),
    "line k' < k": (5, 4, "line_narrow", "x_and_y", None, None, 0.3),
    "random distortion k' != k": (4, 5, "random_kp", "x_and_y", None, None, 0.3),
    "stealth weight <= 1 (BA)": (5, 4, "hamming", "x_and_y", 0.5, None, 0.3),
    "stealth weight 1 (BA)": (4, 4, "line", "x_and_y", 1.0, None, 0.3),
    "stealth weight > 1": (5, 4, "hamming", "x_and_y", 2.5, None, 0.3),
    "stealth weight, label-blind": (4, 5, "random", "x", 0.7, None, 0.3),
    "stealth cap": (5, 4, "hamming", "x_and_y", None, 0.02, 0.5),
    "stealth cap, label-blind": (4, 4, "random", "x", None, 0.05, 0.5),
    "stealth weight and cap": (4, 5, "line", "x_and_y", 0.3, 0.01, 0.6),
    "tiny budget": (4, 4, "hamming", "x_and_y", None, None, 1e-3),
    "budget beyond the zero-information threshold": (4, 3, "hamming", "x_and_y", None, None, 1.0),
}


def _case(name):
    k, ell, kind, knows, weight, cap, frac = CASES[name]
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    p = rng.random((k, ell)) ** 2
    p[0] = 0.0  # a letter that never occurs
    if ell > 2:
        p[:, -1] = 0.0  # a class that never occurs
    p /= p.sum()
    d = {"hamming": 1 - np.eye(k), "hamming_wide": 1 - np.eye(k, k + 1), "hamming_narrow": 1 - np.eye(k, k - 2),
         "line": ordinal(k), "line_wide": ordinal(k, k + 1), "line_narrow": ordinal(k, k - 1),
         "random": 2 * rng.random((k, k)) * (1 - np.eye(k)), "random_kp": 2 * rng.random((k, k + 1))}[kind]
    least, most = float(p.sum(axis=1) @ d.min(axis=1)), float(p.sum(axis=1) @ d.max(axis=1))
    return p, d, least + frac * (most - least), knows, weight, cap


@pytest.mark.parametrize("name", list(CASES))
def test_features_match_conic(name):
    p, d, budget, knows, weight, cap = _case(name)
    sol = solve_alphabet(p, d, budget, knows=knows, stealth_weight=weight, stealth_cap=cap)
    check(sol, p, d, budget, conic_reference(p, d, budget, knows, weight, cap), knows, weight, cap)
    if cap is not None:
        assert sol.dual_stealth is not None and sol.dual_stealth >= 0
    if name.startswith("stealth weight <= 1") or name.startswith("line") or name.startswith("hamming k"):
        assert sol.method == "ba" if knows == "x_and_y" else sol.method == "ipm"


@pytest.mark.parametrize("name", ["hamming x_and_y", "stealth weight > 1", "line k' < k"])
def test_both_methods_agree(name):
    p, d, budget, knows, weight, cap = _case(name)
    ba = solve_alphabet(p, d, budget, knows=knows, stealth_weight=weight, stealth_cap=cap)
    ipm = solve_alphabet(p, d, budget, knows=knows, stealth_weight=weight, stealth_cap=cap, method="ipm")
    assert ipm.method == "ipm"
    assert abs(ba.objective - ipm.objective) <= 2 * GAP
    assert max(ba.lower_bound, ipm.lower_bound) <= min(ba.objective, ipm.objective) + 1e-12


@pytest.mark.parametrize("solver", ["ECOS", "SCS"])
@pytest.mark.parametrize("knows", ["x_and_y", "x"])
def test_other_conic_solvers(solver, knows):
    if solver not in cp.installed_solvers():
        pytest.skip(f"{solver} not installed")
    p, d, budget = _instance(3)
    opts = {"abstol": 1e-10, "reltol": 1e-10, "feastol": 1e-10, "max_iters": 500} if solver == "ECOS" else \
        {"eps_abs": 1e-10, "eps_rel": 1e-10, "max_iters": 200_000}
    ref = conic_reference(p, d, budget, knows, solver=solver, **opts)
    sol = solve_alphabet(p, d, budget, knows=knows)
    tol = REL if solver == "ECOS" else 1e-5  # SCS: first-order, looser
    assert abs(sol.objective - ref) / (1 + abs(ref)) <= tol
    assert sol.lower_bound <= ref + (GAP if solver == "ECOS" else 1e-5)


# ----------------------------------------------------------------------------- closed forms


@pytest.mark.parametrize(("method", "knows"), [("ba", "x_and_y"), ("ipm", "x_and_y"), ("ipm", "x")])
@pytest.mark.parametrize("budget", [0.01, 0.2, 0.5, 0.8])
def test_uniform_source_rate_distortion(budget, knows, method):
    k = 6 if method == "ipm" else 40
    p = np.eye(k) / k
    sol = solve_alphabet(p, None, budget, knows=knows, method=method)
    closed = math.log(k) - binary_entropy(budget) - budget * math.log(k - 1) if budget <= (k - 1) / k else 0.0
    assert abs(sol.mi - closed) / (1 + closed) <= REL
    assert sol.lower_bound <= closed + GAP and sol.gap <= GAP
    # -dR/dD = log((1 - D)(k - 1) / D)
    assert sol.dual == pytest.approx(math.log((1 - budget) * (k - 1) / budget), rel=1e-3)


@pytest.mark.parametrize("method", ["ba", "ipm"])
def test_small_distortion_rate_distortion(method):
    rng = np.random.default_rng(4)
    k = 5
    px = rng.dirichlet(np.ones(k)) * 0.5 + 0.5 / k
    p = np.diag(px)
    for budget in [0.02, 0.5 * (k - 1) * px.min(), (k - 1) * px.min()]:
        sol = solve_alphabet(p, None, budget, method=method)
        closed = float(-np.sum(xlogy(px, px))) - binary_entropy(budget) - budget * math.log(k - 1)
        assert abs(sol.mi - closed) / (1 + closed) <= REL
        assert sol.lower_bound <= closed + GAP and sol.gap <= GAP


def test_matches_erokhin_oracle():
    from mi_cvx.oracles import rate_distortion_hamming

    rng = np.random.default_rng(8)
    px = rng.dirichlet(np.ones(12))
    for budget in [0.05, 0.3, 0.6, 0.95]:
        sol = solve_alphabet(np.diag(px), None, budget)
        exact = rate_distortion_hamming(px, budget)
        assert abs(sol.mi - exact) / (1 + exact) <= REL and sol.lower_bound <= exact + GAP


# ----------------------------------------------------------------------------- the certificate's validity


def _random_feasible_channel(rng, p, d, budget, knows):
    """A random channel mixed with the no-attack channel until it meets the budget."""
    k, ell = p.shape
    kp = d.shape[1]
    W = rng.dirichlet(np.ones(kp) * 0.3, size=(k, 1 if knows == "x" else ell))
    W = np.broadcast_to(W, (k, ell, kp)).copy()
    cheap = np.zeros((k, ell, kp))
    cheap[np.arange(k), :, d.argmin(axis=1)] = 1.0
    cost, least = expected_distortion(p, W, d), expected_distortion(p, cheap, d)
    if cost > budget:
        t = (cost - budget) / (cost - least)
        W = (1 - t) * W + t * cheap
    return W


@pytest.mark.parametrize("knows", ["x_and_y", "x"])
@pytest.mark.parametrize("stealth", [False, True])
def test_bound_below_every_feasible_channel(knows, stealth):
    rng = np.random.default_rng(11 if stealth else 12)
    for _ in range(30):
        k, ell = int(rng.integers(2, 6)), int(rng.integers(2, 6))
        p = rng.dirichlet(np.ones(k * ell) * 0.5).reshape(k, ell)
        kp = k if stealth else int(rng.integers(2, 6))
        d = rng.random((k, kp)) * 2
        budget = float(p.sum(axis=1) @ d.min(axis=1)) + rng.random() * 0.5
        weight = float(rng.random() * 2) if stealth else None
        cap = 10.0 if stealth else None  # generous: most random channels meet it
        W = _random_feasible_channel(rng, p, d, budget, knows)
        value = objective_of(p, W, weight or 0.0)
        P = np.einsum("xy,xyz->z", p, W)
        kl = float(np.sum(rel_entr(P, p.sum(axis=1)))) if stealth else 0.0
        for _ in range(10):
            decoder = rng.dirichlet(np.ones(ell), size=kp).T
            mu = float(rng.exponential(2.0))
            nu = float(rng.exponential(0.5)) if stealth else 0.0
            G = rng.normal(size=kp) if stealth else None
            lb = lower_bound(p, d, budget, decoder, mu, knows=knows, stealth_weight=weight, stealth_cap=cap,
                             stealth_dual=nu, potential=G)
            if stealth and kl > cap:
                continue
            assert lb <= value + 1e-12


def test_bound_is_tight_at_the_solution():
    p, d, budget, knows, weight, cap = _case("stealth weight <= 1 (BA)")
    sol = solve_alphabet(p, d, budget, stealth_weight=weight)
    joint = np.einsum("xy,xyz->yz", p, sol.channel)
    P = joint.sum(axis=0)
    px = p.sum(axis=1)
    G = np.where(P > 0, np.log(np.where(P > 0, P, 1.0) / np.where(px > 0, px, 1.0)), 0.0)
    lb = lower_bound(p, d, budget, joint, sol.dual, stealth_weight=weight, potential=G)
    assert sol.objective - GAP <= lb <= sol.objective + 1e-12


def test_bound_handles_zero_decoder_entries():
    p = np.array([[0.3, 0.2], [0.1, 0.4]])
    decoder = np.array([[1.0, 0.0], [0.0, 1.0]])  # log 0 on reachable cells
    assert lower_bound(p, None, 0.1, decoder, 1.0) == -np.inf
    assert lower_bound(p, None, 0.1, np.full((2, 2), 0.5), 0.0) == pytest.approx(
        float(-np.sum(xlogy(p.sum(axis=0), p.sum(axis=0)))) + math.log(0.5))


# ----------------------------------------------------------------------------- edge cases


def test_budget_at_the_least_cost():
    p = np.array([[0.3, 0.1], [0.05, 0.25], [0.2, 0.1]])
    for knows in ["x_and_y", "x"]:
        sol = solve_alphabet(p, None, 0.0, knows=knows)  # nothing may change
        assert np.allclose(sol.channel, np.eye(3)[:, None, :])
        assert sol.mi == pytest.approx(channel_mi(p, np.broadcast_to(np.eye(3)[:, None, :], (3, 2, 3))))
        assert sol.gap <= GAP
    # k > k': the last letter pays 1 whatever it emits, and is free to go anywhere at the least cost
    d = 1 - np.eye(3, 2)
    least = float(p.sum(axis=1) @ d.min(axis=1))
    sol = solve_alphabet(p, d, least)
    check(sol, p, d, least, conic_reference(p, d, least))
    assert solve_alphabet(p, d, 0.3).objective == pytest.approx(sol.objective, abs=1e-12)  # 0.3 = least - 1 ulp
    assert np.allclose(sol.channel[:2], np.eye(3, 2)[:2, None, :])


def test_no_budget_with_a_stealth_term():
    p = np.array([[0.3, 0.1], [0.05, 0.25], [0.2, 0.1]])
    sol = solve_alphabet(p, None, None, stealth_weight=0.5)
    assert sol.objective == pytest.approx(0.0, abs=1e-15) and sol.gap <= GAP and sol.method == "exact"
    assert sol.kl == pytest.approx(0.0, abs=1e-15)


def test_scaled_hamming_and_units():
    p = np.random.default_rng(2).dirichlet(np.ones(20)).reshape(4, 5)
    a = solve_alphabet(p, None, 0.2)
    b = solve_alphabet(p, 3.0 * (1 - np.eye(4)), 0.6)
    assert b.method == "ba" and a.objective == pytest.approx(b.objective, abs=2 * GAP)
    assert b.dual == pytest.approx(a.dual / 3.0, rel=1e-4)


def test_dead_rows_hold_the_cheapest_output():
    p = np.array([[0.0, 0.0], [0.5, 0.2], [0.1, 0.2]])
    d = np.array([[2.0, 1.0, 3.0], [0.0, 1.0, 1.0], [1.0, 1.0, 0.0]])
    for knows in ["x_and_y", "x"]:
        sol = solve_alphabet(p, d, 0.2, knows=knows)
        assert np.allclose(sol.channel[0], [0.0, 1.0, 0.0])


def test_thin_cap_needs_a_phase_one():
    # no diagonal is free and the cap is tight: mixtures of simple channels are all infeasible,
    # the start comes from minimising KL(P_Xhat || P_X) under the budget
    p = np.array([[0.017636, 0.289851, 0.13919], [0.067283, 0.102104, 0.222433],
                  [0.142537, 0.005129, 0.013835], [0.0, 0.0, 0.0]])
    p /= p.sum()
    d = np.array([[0.433392, 0.650894, 1.117813, 0.744871], [1.355048, 0.862595, 1.028656, 1.903775],
                  [0.084463, 1.273679, 1.472406, 0.360236], [1.721012, 0.245683, 1.617552, 0.385421]])
    budget, cap = 0.5641818625, 0.05
    sol = solve_alphabet(p, d, budget, stealth_cap=cap)
    check(sol, p, d, budget, conic_reference(p, d, budget, cap=cap), cap=cap)
    with pytest.raises(InvalidInputError, match="stealth_cap"):
        solve_alphabet(p, d, 0.55, stealth_cap=1e-3)  # no channel is that cheap and that stealthy (CLARABEL agrees)


def _absent_pmf(name):
    """A pmf with letters of X that never occur (zero rows)."""
    if name == "3x2":
        return np.array([[0.3, 0.1], [0.0, 0.0], [0.2, 0.4]])
    p = np.random.default_rng(11).random((6, 3))
    p[[1, 4]] = 0.0
    return p / p.sum()


STEALTH_TERMS = {"cap": {"stealth": 0.05}, "weight": {"stealth_weight": 0.5},
                 "cap and weight": {"stealth": 0.05, "stealth_weight": 0.5}}


def _check_against_reduced(p, d, budget, knows, terms):
    """The route on ``p`` against the same problem without the absent letters (an equivalent problem:
    under a stealth term ``Xhat`` may never emit a letter with ``P_X = 0``, as the KL would be infinite)."""
    keep = p.sum(axis=1) > 0
    res = mi_cvx.discrete_channel(p, budget, distortion=d, knows=knows, **terms).solve("INTERIOR_POINT")
    ref = mi_cvx.discrete_channel(p[keep], budget, distortion=None if d is None else d[np.ix_(keep, keep)],
                                  knows=knows, **terms).solve("INTERIOR_POINT")
    assert res.ok and ref.ok and res.solver == ref.solver == "INTERIOR_POINT"
    assert 0.0 <= res.gap <= 1e-6 and res.budget_used <= budget
    assert res.kl is not None and np.isfinite(res.kl)
    if "stealth" in terms:
        assert res.kl <= terms["stealth"]
    assert np.all(np.asarray(res.attack["output_joint"])[:, ~keep] == 0.0)  # absent letters are never emitted
    assert abs(res.objective - ref.objective) <= 1e-6, (res.objective, ref.objective)
    assert res.objective - res.gap <= ref.objective + ref.gap  # the certificate stays a valid lower bound
    # and an independent conic reference of the reduced problem
    dr = 1.0 - np.eye(int(keep.sum())) if d is None else d[np.ix_(keep, keep)]
    conic = conic_reference(p[keep], dr, budget, knows, terms.get("stealth_weight"), terms.get("stealth"))
    assert abs(res.objective - conic) <= 1e-6, (res.objective, conic)
    return res


@pytest.mark.parametrize("terms", list(STEALTH_TERMS))
@pytest.mark.parametrize("budget", [0.05, 0.2])
@pytest.mark.parametrize("knows", ["x_and_y", "x"])
@pytest.mark.parametrize("name", ["3x2", "6x3"])
def test_absent_letters_with_stealth(name, knows, budget, terms):
    # regression: for the 3x2 pmf, the cap and budget 0.05 (x_and_y) the interior-point start sat on the
    # budget boundary (the uniform channel over the two allowed letters, mixed in at 0.1, costs exactly
    # 0.05): the route stalled with gap 0.026 and objective 0.0688 instead of 0.0462
    _check_against_reduced(_absent_pmf(name), None, budget, knows, STEALTH_TERMS[terms])


@pytest.mark.parametrize("knows", ["x_and_y", "x"])
def test_absent_letters_with_stealth_custom_distortion(knows):
    p = _absent_pmf("6x3")
    rng = np.random.default_rng(12)
    d = 2.0 * rng.random((6, 6)) * (1.0 - np.eye(6))
    d[:, 1] = 0.02  # the absent letter 1 is the cheapest output of every letter, yet may not be emitted
    for budget in (0.05, 0.2):
        _check_against_reduced(p, d, budget, knows, STEALTH_TERMS["cap and weight"])


def _tie_pmf(seed, k):
    if seed is None:  # the reduced problem of test_absent_letters_with_stealth
        return np.array([[0.3, 0.1], [0.2, 0.4]])
    rng = np.random.default_rng(seed)
    for size in (2, 3, 4):  # the draws of the search that found these instances
        p = rng.random((size, 3))
        if size == k:
            return p / p.sum()
    raise AssertionError(k)


@pytest.mark.parametrize(("seed", "k", "alpha", "knows", "cap"),
                         [(2, 3, 0.5, "x", None), (2, 3, 0.5, "x", 0.05), (4, 3, 0.1, "x_and_y", None),
                          (None, 2, 0.1, "x_and_y", 0.05), (None, 2, 0.1, "x", 0.05)])
def test_start_off_the_budget_boundary(seed, k, alpha, knows, cap):
    # Hamming with budget alpha (1 - 1/k) is exactly the cost of the no-attack channel mixed with the
    # uniform one at alpha, a candidate start; it must not be taken (its slack is positive only by
    # rounding), or the first three instances stall with gaps 4e-3 to 0.6
    p = _tie_pmf(seed, k)
    d = 1.0 - np.eye(k)
    budget = alpha * (1 - 1 / k)
    sol = solve_alphabet(p, d, budget, knows=knows, stealth_cap=cap, method="ipm")
    check(sol, p, d, budget, conic_reference(p, d, budget, knows, None, cap), knows, None, cap)


# ----------------------------------------------------------------------------- warm starts


@pytest.mark.parametrize("method", ["ba", "ipm"])
def test_warm_start_cuts_iterations(method):
    rng = np.random.default_rng(5)
    p = rng.dirichlet(np.ones(400) * 0.5).reshape(20, 20)
    d = None if method == "ba" else ordinal(20)
    budgets = [0.2, 0.21] if method == "ba" else [1.0, 1.02]
    first = solve_alphabet(p, d, budgets[0], method=method)
    cold = solve_alphabet(p, d, budgets[1], method=method)
    warm = solve_alphabet(p, d, budgets[1], method=method, warm=first.state)
    assert warm.gap <= GAP and abs(warm.objective - cold.objective) <= 2 * GAP
    assert warm.iterations < cold.iterations, (warm.iterations, cold.iterations)


def test_warm_start_of_another_shape_is_ignored():
    p = np.full((3, 3), 1 / 9)
    state = solve_alphabet(p, None, 0.1).state
    q = np.random.default_rng(1).dirichlet(np.ones(8)).reshape(4, 2)
    assert solve_alphabet(q, None, 0.1, warm=state).gap <= GAP


# ----------------------------------------------------------------------------- errors


def test_errors():
    p = np.array([[0.5, 0.0], [0.25, 0.25]])
    with pytest.raises(InvalidInputError, match="budget"):
        solve_alphabet(p, None, None)
    with pytest.raises(InvalidInputError, match="budget"):
        solve_alphabet(p, np.ones((2, 2)), 0.5)  # every letter costs 1
    with pytest.raises(InvalidInputError, match="stealth_weight"):
        solve_alphabet(p, np.ones((2, 3)), 1.0, stealth_weight=1.0)
    with pytest.raises(InvalidInputError, match="hamming"):
        solve_alphabet(p, np.array([[0.0, 1.0], [2.0, 0.0]]), 0.5, hamming=True)
    with pytest.raises(InvalidInputError, match="method"):
        solve_alphabet(p, None, 0.1, knows="x", method="ba")
    with pytest.raises(InvalidInputError, match="knows"):
        solve_alphabet(p, None, 0.1, knows="nothing")
    with pytest.raises(InvalidInputError, match="p_xy"):
        solve_alphabet(p * 2, None, 0.1)
    with pytest.raises(InvalidInputError, match="distortion"):
        solve_alphabet(p, -np.eye(2), 0.1)


# ----------------------------------------------------------------------------- timings (printed)


def _random_pmf(k, ell, seed):
    return np.random.default_rng(seed).dirichlet(np.ones(k * ell)).reshape(k, ell)


def _report(label, seconds, sol, extra=""):
    print(f"\n[alphabet] {label}: {seconds:.2f} s, method {sol.method}, gap {sol.gap:.2e}, "
          f"{sol.iterations} iterations, {sol.passes} passes {extra}")


@pytest.mark.timing
def test_timing_uniform_1024():
    k, budget = 1024, 0.3
    t0 = time.perf_counter()
    sol = solve_alphabet(np.eye(k) / k, None, budget)
    seconds = time.perf_counter() - t0
    closed = math.log(k) - binary_entropy(budget) - budget * math.log(k - 1)
    error = abs(sol.mi - closed) / (1 + closed)
    _report("uniform 1024-ary source, Hamming, D = 0.3", seconds, sol, f"rel. error vs closed form {error:.1e}")
    assert error <= 1e-6 and sol.gap <= GAP


@pytest.mark.timing
@pytest.mark.parametrize("budget", [0.05, 0.2])
def test_timing_random_256(budget):
    p = _random_pmf(256, 256, 3)
    t0 = time.perf_counter()
    sol = solve_alphabet(p, None, budget)
    _report(f"random 256 x 256, Hamming, D = {budget}", time.perf_counter() - t0, sol)
    assert sol.gap <= 1e-6


_FRESH = """
import resource, time, numpy as np
from mi_cvx.alphabet import solve_alphabet
p = np.random.default_rng(512).dirichlet(np.ones(512 * 512)).reshape(512, 512)
t0 = time.perf_counter()
sol = solve_alphabet(p, None, 0.2)
seconds = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(seconds, sol.gap, sol.iterations, sol.passes, peak)
"""


@pytest.mark.timing
def test_timing_random_512_fresh_process():
    env = dict(os.environ, OMP_NUM_THREADS="2")
    run = subprocess.run([sys.executable, "-c", textwrap.dedent(_FRESH)], capture_output=True, text=True,
                         timeout=600, env=env, check=True)
    seconds, gap, iterations, passes, peak = (float(v) for v in run.stdout.split())
    print(f"\n[alphabet] random 512 x 512, Hamming, D = 0.2 (fresh process): {seconds:.2f} s, gap {gap:.2e}, "
          f"{iterations:.0f} iterations, {passes:.0f} passes, peak memory {peak:.0f} MB")
    assert gap <= 1e-6


@pytest.mark.timing
def test_timing_ordinal_128():
    p = _random_pmf(128, 128, 5)
    t0 = time.perf_counter()
    sol = solve_alphabet(p, ordinal(128), 2.0)
    _report("random 128 x 128, |x - xh|, D = 2", time.perf_counter() - t0, sol)
    assert sol.gap <= GAP


@pytest.mark.timing
def test_timing_against_conic_transport_64():
    import mi_cvx

    p = _random_pmf(64, 64, 7)
    t0 = time.perf_counter()
    conic = mi_cvx.discrete_channel(p, 0.2, formulation="transport").solve("CLARABEL")
    t_conic = time.perf_counter() - t0
    t0 = time.perf_counter()
    sol = solve_alphabet(p, None, 0.2)
    t_ours = time.perf_counter() - t0
    _report("random 64 x 64, Hamming, D = 0.2", t_ours, sol,
            f"(conic transport form {t_conic:.2f} s: {t_conic / t_ours:.0f}x)")
    assert abs(sol.mi - conic.mi_check) <= 1e-5 * (1 + conic.mi_check) and sol.gap <= GAP


@pytest.mark.timing
def test_timing_general_distortion_and_label_blind():
    rng = np.random.default_rng(9)
    p = _random_pmf(32, 32, 9)
    d = rng.random((32, 32)) * (1 - np.eye(32))
    for knows in ["x_and_y", "x"]:
        t0 = time.perf_counter()
        sol = solve_alphabet(p, d, 0.1, knows=knows)
        _report(f"random 32 x 32, random distortion, knows={knows}", time.perf_counter() - t0, sol)
        assert sol.gap <= GAP


def test_module_has_no_cvxpy():
    assert "cvxpy" not in open(alphabet.__file__).read()
