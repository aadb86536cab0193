"""IEEE power-grid test systems as Gaussian attack models (DC state estimation).

A power grid's state estimator observes ``X = A Y + N``: ``Y`` the bus voltage
angles, ``A`` the DC measurement matrix (branch power flows and bus power
injections as linear functions of the angles), ``N`` the measurement noise.
An attacker who perturbs the measurements to ``X + Delta`` so as to minimise
``I(Y; X + Delta)`` is the general Gaussian model of docs/theory.md section 3,
built by :func:`mi_cvx.gaussian_vector`.  The literature (Sun, Esnaola, Perlaza
and Poor, "Stealth attacks on the smart grid", IEEE Trans. Smart Grid, 2020)
evaluates such attacks on the IEEE 14-, 30- and 118-bus systems.

The case data are those shipped in the ``pypower`` wheel (``pypower.case14``,
``case30``, ``case57``, ``case118``, ``case300``); nothing is fetched at run
time.

Conventions
-----------
Per unit, in radians.  The DC model is linear and has no voltage magnitudes, so
the system's ``baseMVA`` only scales powers to MW and plays no part here: a
branch flow is ``(theta_i - theta_j) / (x_ij * tap)`` per unit with ``x_ij``
the branch reactance in per unit on the system base.

Rows of ``A``: every in-service branch's active power flow at its from end, in
the order of the case's branch table (parallel branches are separate rows),
followed by every bus's active power injection, in the order of the case's
bus table.  Columns: the angles of the buses in bus-table order with the
reference (slack, bus type 3) bus removed, its angle being the zero datum.
In all five cases every branch is in service, so ``A`` has ``branches + buses``
rows and ``buses - 1`` columns: 34 x 13, 71 x 29, 137 x 56, 304 x 117 and
711 x 299.

Example
-------
>>> import numpy as np
>>> import mi_cvx
>>> from mi_cvx.grids import grid_model
>>> A, signal_cov, noise_cov = grid_model("case14", correlation=0.5, snr=10.0)
>>> problem = mi_cvx.gaussian_vector(A, 0.1 * float(np.trace(A @ signal_cov @ A.T)), signal_cov, noise_cov)
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import validate as _v
from .errors import InvalidInputError

__all__ = ["CASES", "DEFAULT_CORRELATION", "DEFAULT_SNR", "grid_model", "measurement_matrix", "state_covariance"]

#: The IEEE test systems available (the names of their ``pypower`` case functions).
CASES = ("case14", "case30", "case57", "case118", "case300")
#: :func:`grid_model`'s default spatial correlation of the angles.
DEFAULT_CORRELATION = 0.5
#: :func:`grid_model`'s default signal-to-noise ratio per measurement.
DEFAULT_SNR = 10.0

_REFERENCE_BUS_TYPE = 3  # pypower's bus type of the reference (slack) bus


@dataclass(frozen=True)
class _Grid:
    """The in-service topology of a case: what the measurement matrix and the covariance model need."""

    incidence: np.ndarray  # (branches, buses): +1 at the from bus, -1 at the to bus
    susceptance: np.ndarray  # (branches,): 1 / (x * tap) per unit
    reference: int  # position of the reference bus in the bus table


def _pypower(module: str) -> Any:
    try:
        return importlib.import_module(f"pypower.{module}")
    except ImportError as exc:
        raise ImportError("mi_cvx.grids needs the pypower package, whose wheel ships the IEEE test cases: "
                          "pip install 'pypower>=5.1'") from exc


def _case_name(case: Any) -> str:
    name = case.strip().lower() if isinstance(case, str) else None
    if name not in CASES:
        raise InvalidInputError("case", f"unknown test system {case!r}; known: {', '.join(CASES)}")
    return name


def _grid(case: Any) -> _Grid:
    """Read ``case`` from pypower: incidence, susceptances and reference bus of the in-service branches."""
    name = _case_name(case)
    ppc = getattr(_pypower(name), name)()
    brch, bus_idx = _pypower("idx_brch"), _pypower("idx_bus")
    bus = np.asarray(ppc["bus"], dtype=float)
    branch = np.asarray(ppc["branch"], dtype=float)
    branch = branch[branch[:, brch.BR_STATUS] != 0]
    numbers = bus[:, bus_idx.BUS_I].astype(int)  # bus numbers need not be consecutive (case300)
    position = {int(num): k for k, num in enumerate(numbers)}
    frm = np.array([position[int(b)] for b in branch[:, brch.F_BUS]], dtype=int)
    to = np.array([position[int(b)] for b in branch[:, brch.T_BUS]], dtype=int)
    refs = np.flatnonzero(bus[:, bus_idx.BUS_TYPE] == _REFERENCE_BUS_TYPE)
    if refs.size != 1 or np.any(frm == to) or np.any(branch[:, brch.BR_X] == 0):  # pragma: no cover - data check
        raise InvalidInputError("case", f"{name}: expected one reference bus, no self-loops and non-zero "
                                "reactances")
    tap = branch[:, brch.TAP]
    tap = np.where(tap == 0, 1.0, tap)  # 0 means a line (no transformer): ratio 1
    rows = np.arange(branch.shape[0])
    incidence = np.zeros((branch.shape[0], bus.shape[0]))
    incidence[rows, frm] = 1.0
    incidence[rows, to] = -1.0
    return _Grid(incidence=incidence, susceptance=1.0 / (branch[:, brch.BR_X] * tap), reference=int(refs[0]))


def measurement_matrix(case: str) -> np.ndarray:
    """The DC state-estimation measurement matrix of an IEEE test system.

    Parameters
    ----------
    case : {"case14", "case30", "case57", "case118", "case300"}
        The test system (a ``pypower`` case).

    Returns
    -------
    numpy.ndarray of float, shape (branches + buses, buses - 1)
        ``A = [diag(b) C_r; C^T diag(b) C_r]``: the first rows are the active
        power flows of the in-service branches at their from ends, in the
        order of the case's branch table, ``P_ij = (theta_i - theta_j) /
        (x_ij * tap)`` (``tap`` the off-nominal ratio, 0 read as 1; phase
        shifts are constant offsets and are ignored); the last rows the bus
        injections ``P = B_bus theta`` with ``B_bus = C^T diag(b) C``, in the
        order of the bus table.  ``C`` is the branch-bus incidence matrix
        (``+1`` at the from bus, ``-1`` at the to bus), ``b = 1 / (x * tap)``
        and ``C_r`` is ``C`` without the reference bus's column: the columns
        are the angles of the other buses, in bus-table order.  Per unit and
        radians; ``baseMVA`` plays no part in a DC model.

    Raises
    ------
    InvalidInputError
        If ``case`` is not one of :data:`CASES` (argument ``"case"``).
    ImportError
        If pypower is not installed.

    Notes
    -----
    The injection rows are the incidence-transposed flow rows,
    ``P_inj = C^T P_flow``.  ``A`` has full column rank (the network is
    observable) because every case's network is connected.
    """
    grid = _grid(case)
    keep = np.arange(grid.incidence.shape[1]) != grid.reference
    flows = grid.susceptance[:, None] * grid.incidence[:, keep]
    injections = grid.incidence.T @ flows
    return np.vstack([flows, injections])


def _correlation(value: Any) -> float:
    rho = _v.scalar("correlation", value)
    if not 0.0 <= rho < 1.0:
        raise InvalidInputError("correlation", f"must be in [0, 1), got {rho}")
    return rho


def state_covariance(case: str, correlation: float = DEFAULT_CORRELATION) -> np.ndarray:
    """The covariance of the bus angles (the reference bus's excluded): a proper CAR model on the grid's graph.

    The angles form a conditional autoregressive (CAR) Gaussian field on the
    bus graph (buses joined when an in-service branch joins them; parallel
    branches count once), with precision ``Q = D - rho W``: ``W`` the 0/1
    adjacency, ``D`` the diagonal of bus degrees, ``rho = correlation``.  The
    reference angle is the zero datum, so the states are the field given it:
    their precision is ``Q`` without the reference's row and column, ``Q_r``.
    The covariance is ``Q_r^{-1}`` scaled to a unit diagonal,
    ``Sigma_Y = S^{-1/2} Q_r^{-1} S^{-1/2}`` with ``S = diag(Q_r^{-1})``.

    Parameters
    ----------
    case : {"case14", "case30", "case57", "case118", "case300"}
        The test system.
    correlation : float in [0, 1), default 0.5
        The CAR dependence parameter ``rho``: 0 gives independent angles
        (``Sigma_Y = I``); larger values, stronger correlation between nearby
        buses.

    Returns
    -------
    numpy.ndarray, shape (buses - 1, buses - 1)
        Symmetric positive definite with unit diagonal, in the column order
        of :func:`measurement_matrix`.

    Raises
    ------
    InvalidInputError
        Unknown ``case``, or ``correlation`` not a finite number in [0, 1).

    Notes
    -----
    *Why not* ``correlation ** hops(i, j)``: an exponential kernel of the
    shortest-path (hop) metric is positive definite only for metrics of
    negative type, which these graphs' are not: its smallest eigenvalue is
    negative on every one of the five cases from ``correlation`` of 0.7 or
    0.8 up (for case300 already at 0.7).

    *Why this is positive definite for every* ``rho`` *in [0, 1)*: each
    row ``i`` of ``Q_r`` has the diagonal entry ``d_i >= 1`` (a connected
    grid has no isolated bus; an isolated one would be given ``d_i = 1``) and
    off-diagonal entries summing in absolute value to at most ``rho d_i <
    d_i``.  A symmetric, strictly diagonally dominant matrix with a positive
    diagonal is positive definite (Gershgorin), hence so is its inverse, and
    so is the congruent ``S^{-1/2} Q_r^{-1} S^{-1/2}``.

    *How the correlation decays*: by the Neumann series ``Q^{-1} =
    sum_k rho^k (D^{-1} W)^k D^{-1}``, whose ``k``-th term vanishes between
    buses more than ``k`` hops apart, the covariance of buses ``h`` hops
    apart is ``O(rho^h)``: the decay of the exponential kernel, but with a
    guarantee.
    """
    rho = _correlation(correlation)
    grid = _grid(case)
    n = grid.incidence.shape[1]
    adjacency = np.zeros((n, n))
    frm = np.argmax(grid.incidence > 0, axis=1)
    to = np.argmax(grid.incidence < 0, axis=1)
    adjacency[frm, to] = adjacency[to, frm] = 1.0
    degree = np.maximum(adjacency.sum(axis=1), 1.0)
    precision = np.diag(degree) - rho * adjacency
    keep = np.arange(n) != grid.reference
    cov = np.linalg.inv(precision[np.ix_(keep, keep)])
    scale = 1.0 / np.sqrt(np.diag(cov))
    cov = scale[:, None] * cov * scale[None, :]
    cov = 0.5 * (cov + cov.T)
    np.fill_diagonal(cov, 1.0)
    return cov


def grid_model(case: str, *, correlation: float = DEFAULT_CORRELATION, snr: float = DEFAULT_SNR,
               injection_noise: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(A, signal_cov, noise_cov)`` of an IEEE test system, ready for :func:`mi_cvx.gaussian_vector`.

    The Gaussian model of docs/theory.md section 3, ``X = A Y + N``: ``A`` the
    DC measurement matrix (:func:`measurement_matrix`), ``Y ~ N(0, Sigma_Y)``
    the bus angles with the CAR covariance of :func:`state_covariance` (unit
    variances, positive definite), ``N`` independent measurement noise whose
    total variance sets the signal-to-noise ratio,
    ``snr = tr(A Sigma_Y A^T) / tr(noise_cov)``: white (``sigma^2 I_m``) by
    default, or with injection meters ``injection_noise`` times as noisy (in
    variance) as flow meters, as in state estimators that trust the branch
    flow meters more than the bus injection meters.

    Parameters
    ----------
    case : {"case14", "case30", "case57", "case118", "case300"}
        The test system.
    correlation : float in [0, 1), default 0.5
        The spatial dependence of the angles (see :func:`state_covariance`).
    snr : float > 0, default 10
        The average signal-to-noise ratio of the ``m`` measurements.
    injection_noise : float > 0, default 1
        Noise variance of a bus injection meter relative to a branch flow
        meter (1: white noise).

    Returns
    -------
    A : numpy.ndarray, shape (m, n)
        ``m`` = branches + buses, ``n`` = buses - 1.
    signal_cov : numpy.ndarray, shape (n, n)
    noise_cov : numpy.ndarray, shape (m, m)
        Diagonal: ``sigma^2`` on the flow rows, ``injection_noise * sigma^2`` on
        the injection rows.

    Raises
    ------
    InvalidInputError
        Unknown ``case``; ``correlation`` not a finite number in [0, 1);
        ``snr`` or ``injection_noise`` not a positive finite number.  The error
        names the argument.
    ImportError
        If pypower is not installed.

    Examples
    --------
    >>> import numpy as np, mi_cvx
    >>> A, SY, SN = grid_model("case14")
    >>> result = mi_cvx.gaussian_vector(A, 0.1 * np.trace(A @ SY @ A.T), SY, SN).solve()
    """
    name = _case_name(case)
    _correlation(correlation)
    ratio = _v.scalar("snr", snr, positive=True)
    relative = _v.scalar("injection_noise", injection_noise, positive=True)
    A = measurement_matrix(name)
    signal_cov = state_covariance(name, correlation)
    power = float(np.sum((A @ signal_cov) * A))  # tr(A Sigma_Y A^T)
    buses = A.shape[1] + 1  # the last `buses` rows are the injections
    weights = np.ones(A.shape[0])
    weights[-buses:] = relative
    noise_var = power / (ratio * float(weights.sum()))
    return A, signal_cov, np.diag(noise_var * weights)
