"""Conic answers against the certified routes on random models over wide scales (a seeded fuzz).

The route's certificate is a lower bound on the optimum computed from a dual bound at its own point,
by an algorithm that shares nothing with the conic forms; a conic result marked ok must then sit within
its tolerance of the route's value, and the attack it reads back (realisable and within the budget)
can never beat the certified bound.  The generator is the one that found a Clarabel answer marked ok
but 2.5e-5 off (faint signal beside ill-conditioned noise): scales over 1e-6..1e6, budgets 1e-4..1.25
of the zero-information threshold, the paper's and the blind attacker.
"""

from __future__ import annotations

import numpy as np
import pytest

import mi_cvx as mc


def wide_gaussian_model(rng: np.random.Generator, max_size: int = 6):
    """``(A, SY, SN, knows, budget)``: sizes 1..max_size, scales over 1e-6..1e6, faint signals possible."""
    m, n = int(rng.integers(1, max_size + 1)), int(rng.integers(1, max_size + 1))
    A = rng.normal(size=(m, n)) * 10.0 ** rng.uniform(-3, 3)
    if rng.random() < 0.3:
        A *= 10.0 ** rng.uniform(-2, 2, (m, 1))
    L = rng.normal(size=(n, n))
    sy = (L @ L.T / n + 10.0 ** rng.uniform(-3, 0) * np.eye(n)) * 10.0 ** rng.uniform(-3, 3)
    M = rng.normal(size=(m, m))
    sn = (M @ M.T / m + 10.0 ** rng.uniform(-4, 0) * np.eye(m)) * 10.0 ** rng.uniform(-4, 3)
    knows = str(rng.choice(["x_and_y", "nothing"]))
    budget = float(10.0 ** rng.uniform(-4, 0.1)) * float(np.trace(A @ sy @ A.T))
    return A, sy, sn, knows, budget


def _model(seed: int):
    return wide_gaussian_model(np.random.default_rng([20261127, seed]))


@pytest.mark.parametrize("seed", range(24))
def test_conic_answers_agree_with_the_certified_route(seed):
    A, sy, sn, knows, budget = _model(seed)
    route = "TRANSPORT" if knows == "x_and_y" else "BLIND_DESCENT"
    routed = mc.gaussian_vector(A, budget, sy, sn, knows=knows).solve(route)
    assert routed.ok and routed.gap <= 1e-6
    bound = routed.mi - routed.gap
    default = mc.gaussian_vector(A, budget, sy, sn, knows=knows).solve()  # answers (conic, exact or route)
    assert abs(default.mi - routed.mi) <= max(default.tolerance, 1e-6) * (1 + routed.mi)
    conic = mc.gaussian_vector(A, budget, sy, sn, knows=knows, formulation="full").solve(
        "CLARABEL", raise_on_failure=False)
    assert conic.budget_used <= budget
    W = conic.attack["W_cov"]  # realisable: PSD up to the rounding of the way back to the user's units
    assert np.linalg.eigvalsh(W).min() >= -1e-12 * max(np.abs(conic.attack["attack_cov"]).max(), 1e-300)
    if knows == "x_and_y":  # the blind attack has no W: its covariance is the attack itself
        assert conic.mi_check >= bound - 1e-9 * (1 + bound)
    if conic.ok:
        assert abs(conic.mi - routed.mi) <= conic.tolerance * (1 + routed.mi) + routed.gap
