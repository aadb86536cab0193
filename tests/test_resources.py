"""The resource estimate (mi_cvx.resources): monotone in size, refuses what is out of reach (no timing)."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest

import mi_cvx
from mi_cvx import resources


def gaussian(n: int, noise: float) -> cp.Problem:
    A = np.random.default_rng(n).normal(size=(n, n))
    return mi_cvx.gaussian_vector(A, float(n), 1.0, noise).problem


def discrete(k: int, formulation: str) -> cp.Problem:
    p = np.random.default_rng(k).dirichlet(np.full(k * k, 0.5)).reshape(k, k)
    return mi_cvx.discrete_channel(p, 0.1, formulation=formulation).problem


def limits() -> tuple[float, float]:
    return resources.DEFAULT_TIME_LIMIT, float(resources.machine_memory())


def test_machine_memory_and_defaults():
    memory = resources.machine_memory()
    assert isinstance(memory, int) and memory > 2**28
    assert resources.DEFAULT_TIME_LIMIT == 300.0


@pytest.mark.parametrize("noise", [0.0, 0.5])
def test_gaussian_estimate_grows_with_size(noise):
    estimates = [resources.estimate(gaussian(n, noise)) for n in (4, 8, 16, 24, 35)]
    seconds = [e.seconds for e in estimates]
    nbytes = [e.bytes for e in estimates]
    assert all(b > a for a, b in zip(seconds, seconds[1:], strict=False))
    assert all(b > a for a, b in zip(nbytes, nbytes[1:], strict=False))
    assert "PSD" in estimates[-1].detail


def test_small_problems_are_modest():
    time_limit, memory = limits()
    for problem in (gaussian(4, 0.0), gaussian(4, 0.5), discrete(8, "channel"), discrete(8, "transport")):
        est = resources.estimate(problem)
        assert 0 < est.seconds < 5.0
        assert 0 < est.bytes < 2**30 and est.bytes < memory / 4
        assert est.seconds < time_limit


def test_known_large_problems_are_beyond_reach():
    time_limit, memory = limits()
    # 400 x 400 with noise: ran 7 minutes and 7.4 GB without answering
    est = resources.estimate(gaussian(400, 0.5))
    assert est.seconds > 100 * time_limit and est.bytes > 7.4e9
    # m = n = 35 (about 60 s measured): flagged as expensive but within an order of magnitude
    est = resources.estimate(gaussian(35, 0.5))
    assert 60.0 <= est.seconds <= 600.0


def test_discrete_estimate_grows_with_size_and_prefers_the_transport_form():
    channel = [resources.estimate(discrete(k, "channel")) for k in (8, 16, 32, 64)]
    transport = [resources.estimate(discrete(k, "transport")) for k in (8, 16, 32, 64)]
    for series in (channel, transport):
        assert all(b.seconds > a.seconds and b.bytes > a.bytes for a, b in zip(series, series[1:], strict=False))
    assert all(t.seconds < c.seconds and t.bytes < c.bytes for t, c in zip(transport, channel, strict=True))
    assert "exponential cones" in channel[-1].detail


def test_estimate_of_hand_built_problems_and_bad_input():
    X = cp.Variable((30, 30), PSD=True)
    sdp = cp.Problem(cp.Minimize(cp.trace(X)), [X >> np.eye(30)])
    big = cp.Variable((300, 300), PSD=True)
    huge = cp.Problem(cp.Minimize(cp.trace(big)), [big >> np.eye(300)])
    assert resources.estimate(huge).seconds > resources.estimate(sdp).seconds
    assert resources.estimate(huge).seconds > limits()[0]
    x = cp.Variable(10, nonneg=True)
    lp = cp.Problem(cp.Minimize(cp.sum(x)), [x >= 1])
    assert resources.estimate(lp).seconds < 5.0
    # another solver: the same sizes, a safety factor
    assert resources.estimate(sdp, "SCS").seconds >= resources.estimate(sdp).seconds
    with pytest.raises(mi_cvx.InvalidInputError, match="problem"):
        resources.estimate("not a problem")
