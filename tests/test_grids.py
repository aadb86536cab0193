"""The IEEE power-grid test systems (mi_cvx.grids): DC measurement matrices and the Gaussian state model."""

from __future__ import annotations

import importlib
import math
import sys

import numpy as np
import pytest
from pypower import api as pypower_api
from pypower.idx_brch import BR_STATUS, BR_X, F_BUS, T_BUS, TAP
from pypower.idx_bus import BUS_I, BUS_TYPE
from scipy.sparse.csgraph import shortest_path

import mi_cvx
from mi_cvx import grids
from mi_cvx.errors import InvalidInputError

#: (rows, columns) = (branches + buses, buses - 1) of each case's measurement matrix.
SHAPES = {"case14": (34, 13), "case30": (71, 29), "case57": (137, 56), "case118": (304, 117), "case300": (711, 299)}
CASES = tuple(SHAPES)


def _ppc(case):
    return getattr(importlib.import_module(f"pypower.{case}"), case)()


def _branches(case):
    """Number of branches of ``case`` (every one in service)."""
    return _ppc(case)["branch"].shape[0]


def _incidence(case):
    """The branch-bus incidence matrix (+1 from, -1 to) and the reference bus's position, read independently."""
    ppc = _ppc(case)
    numbers = ppc["bus"][:, BUS_I]
    order = np.argsort(numbers)
    pos = lambda col: order[np.searchsorted(numbers[order], ppc["branch"][:, col])]  # noqa: E731
    C = np.zeros((ppc["branch"].shape[0], numbers.size))
    rows = np.arange(C.shape[0])
    C[rows, pos(F_BUS)] += 1.0
    C[rows, pos(T_BUS)] -= 1.0
    ref = int(np.flatnonzero(ppc["bus"][:, BUS_TYPE] == 3)[0])
    return C, ref


def _hops(case):
    C, ref = _incidence(case)
    adjacency = (np.abs(C.T @ C) > 0).astype(float)
    np.fill_diagonal(adjacency, 0.0)
    return np.delete(np.delete(shortest_path(adjacency, unweighted=True), ref, 0), ref, 1)


@pytest.fixture(scope="module")
def matrices():
    return {case: grids.measurement_matrix(case) for case in CASES}


# ------------------------------------------------------------ measurement matrix


def test_cases_are_the_five_ieee_systems():
    assert grids.CASES == CASES


@pytest.mark.parametrize("case", CASES)
def test_shape_is_branches_plus_buses_by_buses_minus_one(case, matrices):
    A = matrices[case]
    assert A.shape == SHAPES[case]
    assert A.dtype == np.float64
    ppc = _ppc(case)
    assert np.all(ppc["branch"][:, BR_STATUS] == 1)  # every branch in service: all or in-service rows agree
    assert A.shape == (ppc["branch"].shape[0] + ppc["bus"].shape[0], ppc["bus"].shape[0] - 1)


@pytest.mark.parametrize("case", CASES)
def test_flow_rows_have_two_opposite_entries_or_one_at_the_reference(case, matrices):
    A = matrices[case]
    C, ref = _incidence(case)
    flows = A[: C.shape[0]]
    touches_ref = C[:, ref] != 0
    nonzeros = (flows != 0).sum(axis=1)
    assert np.all(nonzeros[touches_ref] == 1)
    assert np.all(nonzeros[~touches_ref] == 2)
    two = flows[~touches_ref]
    assert np.all(two.max(axis=1) == -two.min(axis=1))  # opposite signs, equal magnitude
    # the magnitude is 1 / (x * tap), tap 0 read as 1 (case14 has transformers with off-nominal taps)
    branch = _ppc(case)["branch"]
    tap = np.where(branch[:, TAP] == 0, 1.0, branch[:, TAP])
    np.testing.assert_allclose(np.abs(flows).max(axis=1), np.abs(1.0 / (branch[:, BR_X] * tap)), rtol=1e-12)


@pytest.mark.parametrize("case", CASES)
def test_injections_are_incidence_transposed_flows(case, matrices):
    A = matrices[case]
    C, ref = _incidence(case)
    flows, injections = A[: C.shape[0]], A[C.shape[0]:]
    np.testing.assert_allclose(injections, C.T @ flows, atol=1e-9)
    # and the flow signs follow the incidence: from bus +, to bus - (reference column removed)
    np.testing.assert_array_equal(np.sign(flows) * np.sign(1.0 / _ppc(case)["branch"][:, [BR_X]]),
                                  np.delete(C, ref, axis=1))


@pytest.mark.parametrize("case", CASES)
def test_matches_pypowers_own_dc_matrices(case, matrices):
    """pypower's makeBdc (after ext2int's renumbering) gives the same [Bf; Bbus] without the reference column."""
    ppc = pypower_api.ext2int(_ppc(case))
    Bbus, Bf, _, _ = pypower_api.makeBdc(ppc["baseMVA"], ppc["bus"], ppc["branch"])
    ref = int(np.flatnonzero(ppc["bus"][:, BUS_TYPE] == 3)[0])
    expected = np.delete(np.vstack([Bf.toarray(), Bbus.toarray()]), ref, axis=1)
    np.testing.assert_allclose(matrices[case], expected, rtol=1e-12, atol=1e-9)


def test_case300_bus_numbers_are_not_consecutive():
    numbers = _ppc("case300")["bus"][:, BUS_I]
    assert not np.array_equal(numbers, np.arange(1, numbers.size + 1))  # the mapping to positions matters


@pytest.mark.parametrize("case", CASES)
def test_full_column_rank_the_grid_is_observable(case, matrices):
    A = matrices[case]
    assert np.linalg.matrix_rank(A) == A.shape[1]
    assert np.linalg.matrix_rank(A[: _branches(case)]) == A.shape[1]  # the flows alone already observe it


# ------------------------------------------------------------ state covariance


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("correlation", [0.0, 0.3, 0.5, 0.8, 0.9, 0.99, 1 - 1e-9])
def test_state_covariance_is_symmetric_pd_with_unit_diagonal(case, correlation):
    cov = grids.state_covariance(case, correlation)
    n = SHAPES[case][1]
    assert cov.shape == (n, n)
    np.testing.assert_array_equal(cov, cov.T)
    np.testing.assert_array_equal(np.diag(cov), np.ones(n))
    assert np.linalg.eigvalsh(cov).min() > 1e-3  # bounded away from singular even as correlation -> 1
    np.linalg.cholesky(cov)
    if correlation == 0.0:
        np.testing.assert_array_equal(cov, np.eye(n))
    else:
        assert cov.min() > 0  # the field is connected: every pair of buses is positively correlated


@pytest.mark.parametrize("case", ["case14", "case118"])
def test_covariance_decays_with_hop_distance(case):
    cov, hops = grids.state_covariance(case, 0.9), _hops(case)
    means = [cov[hops == h].mean() for h in range(1, 5)]
    assert all(a > b for a, b in zip(means, means[1:], strict=False))


@pytest.mark.parametrize("case", CASES)
def test_exponential_hop_kernel_is_not_pd_which_is_why_car_is_used(case):
    """``correlation ** hops`` has a negative eigenvalue on every case at 0.9 (documented in state_covariance)."""
    assert np.linalg.eigvalsh(0.9 ** _hops(case)).min() < 0


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("snr", [0.1, 10.0, 1e4])
def test_grid_model_has_the_snr_asked_for(case, snr):
    A, signal_cov, noise_cov = grids.grid_model(case, correlation=0.5, snr=snr)
    m = A.shape[0]
    np.testing.assert_array_equal(A, grids.measurement_matrix(case))
    np.testing.assert_array_equal(signal_cov, grids.state_covariance(case, 0.5))
    sigma2 = noise_cov[0, 0]
    np.testing.assert_array_equal(noise_cov, sigma2 * np.eye(m))
    assert np.trace(A @ signal_cov @ A.T) / (m * sigma2) == pytest.approx(snr, rel=1e-12)


def test_grid_model_defaults():
    A, signal_cov, noise_cov = grids.grid_model("case14")
    np.testing.assert_array_equal(signal_cov, grids.state_covariance("case14", grids.DEFAULT_CORRELATION))
    assert np.trace(A @ signal_cov @ A.T) / (A.shape[0] * noise_cov[0, 0]) == pytest.approx(grids.DEFAULT_SNR)
    assert (grids.DEFAULT_CORRELATION, grids.DEFAULT_SNR) == (0.5, 10.0)


@pytest.mark.parametrize("case", ["case14", "case118"])
def test_injection_meters_can_be_noisier_than_flow_meters(case):
    A, signal_cov, noise_cov = grids.grid_model(case, snr=5.0, injection_noise=4.0)
    buses = A.shape[1] + 1
    variances = np.diag(noise_cov)
    np.testing.assert_array_equal(noise_cov, np.diag(variances))  # independent meters
    flows, injections = variances[:-buses], variances[-buses:]
    assert np.all(flows == flows[0]) and np.all(injections == injections[0])
    assert injections[0] / flows[0] == pytest.approx(4.0, rel=1e-12)
    assert np.trace(A @ signal_cov @ A.T) / variances.sum() == pytest.approx(5.0, rel=1e-12)
    # the injection rows are the last `buses` rows of A: they are C^T times the flow rows
    np.testing.assert_allclose(A[-buses:].sum(axis=0), 0.0, atol=1e-9)


@pytest.mark.parametrize("ratio", [0.0, -1.0, math.nan, "4", None])
def test_bad_injection_noise(ratio):
    with pytest.raises(InvalidInputError) as info:
        grids.grid_model("case14", injection_noise=ratio)
    assert info.value.argument == "injection_noise"


def test_case14_attack_solves():
    A, signal_cov, noise_cov = grids.grid_model("case14")
    power = float(np.trace(A @ signal_cov @ A.T))
    problem = mi_cvx.gaussian_vector(A, 0.1 * power, signal_cov, noise_cov)
    result = problem.solve()
    assert result.ok, result.message
    unattacked = 0.5 * (np.linalg.slogdet(A @ signal_cov @ A.T + noise_cov)[1] - np.linalg.slogdet(noise_cov)[1])
    assert 0 < result.mi < unattacked
    assert result.mi == pytest.approx(result.oracle, rel=1e-5)  # the isotropic-noise exact path
    assert problem.zero_information_budget() == pytest.approx(power)


# ------------------------------------------------------------ bad inputs


@pytest.mark.parametrize("case", ["case15", "IEEE14", "", 14, None, ["case14"]])
@pytest.mark.parametrize("function", [grids.measurement_matrix, grids.state_covariance, grids.grid_model])
def test_unknown_case_names_the_argument_and_the_known_cases(function, case):
    with pytest.raises(InvalidInputError, match="case300") as info:
        function(case)
    assert info.value.argument == "case"


def test_case_names_are_case_insensitive():
    np.testing.assert_array_equal(grids.measurement_matrix(" CASE14 "), grids.measurement_matrix("case14"))


@pytest.mark.parametrize("correlation", [-0.1, 1.0, 1.5, math.nan, math.inf, "0.5", True, None, [0.5]])
def test_bad_correlation(correlation):
    for call in (lambda: grids.grid_model("case14", correlation=correlation),
                 lambda: grids.state_covariance("case14", correlation)):
        with pytest.raises(InvalidInputError) as info:
            call()
        assert info.value.argument == "correlation"


@pytest.mark.parametrize("snr", [0.0, -1.0, math.nan, math.inf, "10", False, None])
def test_bad_snr(snr):
    with pytest.raises(InvalidInputError) as info:
        grids.grid_model("case14", snr=snr)
    assert info.value.argument == "snr"


def test_missing_pypower_is_a_clear_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "pypower.case14", None)  # import pypower.case14 now fails
    with pytest.raises(ImportError, match=r"pip install 'pypower>=5.1'"):
        grids.measurement_matrix("case14")
