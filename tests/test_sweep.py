"""Budget sweeps: equal to individual solves and to the oracle; parallel, Dask, resume."""

from __future__ import annotations

import functools
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
import warnings

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest

import mi_cvx
from mi_cvx import InvalidInputError, oracles
from mi_cvx.sweep import RESULT_COLUMNS, sweep_grid

BUDGETS = [0.0, 0.15, 0.4, 0.7, 1.0, 1.3]


def scalar_problem():
    return mi_cvx.gaussian_scalar(1.0, 0.5, 0.1)


def scalar_factory(signal_var, noise_var, budget):
    return mi_cvx.gaussian_scalar(signal_var, noise_var, budget)


def assert_same(a: pd.DataFrame, b: pd.DataFrame, cols=("mi",), tol=1e-7):
    assert len(a) == len(b)
    assert a["budget"].tolist() == b["budget"].tolist()
    for col in cols:
        np.testing.assert_allclose(a[col].to_numpy(float), b[col].to_numpy(float), rtol=0, atol=tol)


# ----------------------------------------------------------------- serial


def test_sweep_equals_individual_solves_and_oracle():
    frame = mi_cvx.sweep(scalar_problem(), BUDGETS)
    assert list(frame.columns) == ["budget", *RESULT_COLUMNS]
    assert frame["budget"].tolist() == BUDGETS
    assert frame["ok"].all() and (frame["error"] == "").all()
    for row in frame.itertuples():
        single = mi_cvx.gaussian_scalar(1.0, 0.5, row.budget).solve()
        assert row.mi == pytest.approx(single.mi, abs=1e-7)
        exact = oracles.scalar_gaussian_mi(1.0, 0.5, row.budget)
        assert row.oracle == pytest.approx(exact, abs=1e-12)
        assert mi_cvx.relative_error(row.mi, exact) < 1e-5
        assert row.mi_bits == pytest.approx(row.mi / np.log(2))
    # I*(D) is non-increasing and zero once D >= signal_var
    assert np.all(np.diff(frame["mi"]) <= 1e-7)
    assert frame.loc[frame["budget"] >= 1.0, "mi"].abs().max() < 1e-6


def test_sweep_restores_parameters_and_does_not_rebuild():
    ap = scalar_problem()
    problem = ap.problem
    mi_cvx.sweep(ap, [0.2, 0.3])
    assert ap.parameters["budget"].value == pytest.approx(0.1)
    assert ap.problem is problem


def test_sweep_vector_compact_matches_falling_bar(rng):
    A = rng.normal(size=(3, 4))
    ap = mi_cvx.gaussian_vector(A, 1.0, formulation="compact")
    budgets = [0.5, 2.0, 5.0]
    frame = mi_cvx.sweep(ap, budgets)
    lam = np.linalg.svd(A, compute_uv=False) ** 2
    for row in frame.itertuples():
        assert row.ok
        assert mi_cvx.relative_error(row.mi, oracles.falling_bar(lam, row.budget).mi) < 1e-5


@pytest.mark.filterwarnings("ignore:Solution may be inaccurate")
def test_failed_points_are_flagged_not_dropped():
    frame = mi_cvx.sweep(scalar_problem(), [0.1, 0.3, 0.5], solver="SCS", solver_options={"max_iters": 2})
    assert len(frame) == 3
    assert not frame["ok"].any()
    assert (frame["error"].str.len() > 0).all()


def test_sweep_grid_columns_and_values():
    frame = sweep_grid(scalar_factory, {"signal_var": [0.5, 1.0], "noise_var": [0.1, 1.0]}, [0.0, 0.3])
    assert list(frame.columns[:3]) == ["signal_var", "noise_var", "budget"]
    assert len(frame) == 8
    exact = oracles.scalar_gaussian_mi(frame["signal_var"], frame["noise_var"], frame["budget"])
    np.testing.assert_allclose(frame["mi"], exact, atol=1e-5)
    np.testing.assert_allclose(frame["oracle"], exact, atol=1e-12)


def test_sweep_grid_passes_fixed_and_first_budget():
    seen = []

    def factory(signal_var, noise_var, budget):
        seen.append(budget)
        return mi_cvx.gaussian_scalar(signal_var, noise_var, budget)

    frame = sweep_grid(factory, {"signal_var": [1.0]}, [0.25, 0.5], fixed={"noise_var": 0.2})
    assert seen == [0.25]  # one build per grid point, budgets through the Parameter
    assert frame["ok"].all()


def test_binary_grid_over_p_xy_through_parameters():
    """The DPP parameter p_xy is swept without rebuilding, and matches the binary oracle."""
    sources = [np.array([[0.4, 0.1], [0.1, 0.4]]), np.array([[0.9, 0.02], [0.03, 0.05]])]
    ap = mi_cvx.binary_channel(sources[0], 0.0)
    problem = ap.problem
    frame = mi_cvx.sweep(ap, [0.0, 0.05, 0.2], grid={"p_xy": sources})
    assert ap.problem is problem and list(frame.columns[:2]) == ["p_xy", "budget"]
    assert frame["p_xy"].iloc[0] == "[[0.4,0.1],[0.1,0.4]]"
    for row, (p, d) in zip(frame.itertuples(), [(p, d) for p in sources for d in (0.0, 0.05, 0.2)], strict=True):
        assert row.ok
        assert row.mi == pytest.approx(oracles.binary_oracle(p, d).mi, abs=1e-6)
    np.testing.assert_array_equal(ap.parameters["p_xy"].value, sources[0])


def test_progress_bar_runs(capsys):
    mi_cvx.sweep(scalar_problem(), [0.1, 0.2], progress=True)
    assert "sweep" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"budgets": [0.1, -1.0]}, "budgets"),
        ({"budgets": []}, "budgets"),
        ({"budgets": [0.1, 0.1]}, "duplicates"),
        ({"budgets": "0.1"}, "budgets"),
        ({"budgets": [0.1], "backend": "spark"}, "backend"),
        ({"budgets": [0.1], "n_jobs": 0}, "n_jobs"),
        ({"budgets": [0.1], "grid": {"noise": [1.0]}}, "unknown parameter"),
        ({"budgets": [0.1], "grid": {"budget": [1.0]}}, "budget"),
    ],
)
def test_sweep_rejects_bad_input(kwargs, match):
    with pytest.raises(InvalidInputError, match=match):
        mi_cvx.sweep(scalar_problem(), **kwargs)


def test_sweep_needs_budget_parameter_and_known_solver():
    with pytest.raises(InvalidInputError, match="budget"):
        mi_cvx.sweep(mi_cvx.gaussian_scalar(1.0, 0.5, None), [0.1])
    with pytest.raises(mi_cvx.UnsupportedSolverError):
        mi_cvx.sweep(scalar_problem(), [0.1], solver="ECOS")
    with pytest.raises(InvalidInputError, match="factory"):
        sweep_grid(lambda signal_var: 3, {"signal_var": [1.0]}, [0.1])
    with pytest.raises(InvalidInputError, match="grid"):
        sweep_grid(scalar_factory, {}, [0.1])
    with pytest.raises(InvalidInputError, match="signal_var"):
        sweep_grid(scalar_factory, {"signal_var": [-1.0]}, [0.1], fixed={"noise_var": 0.1})


# ------------------------------------------------------------ rebuild / pickle


def test_recipe_pickles_and_rebuilds_with_current_values():
    ap = scalar_problem()
    ap.solve()  # a solved cvxpy problem no longer pickles; the recipe does
    with pytest.raises(TypeError):
        pickle.dumps(ap.problem)
    clone = pickle.loads(pickle.dumps(ap.recipe)).build()
    ap.parameters["budget"].value = 0.4
    fresh = ap.rebuild()
    assert fresh.parameters["budget"].value == pytest.approx(0.4)
    assert fresh.solve().mi == pytest.approx(ap.solve().mi, abs=1e-8)
    assert clone.parameters["budget"].value == pytest.approx(0.1)


def cap_first(variables):
    return [variables["attack_cov"][0, 0] <= 0.2]


def test_custom_constraints_callable_keeps_recipe_list_does_not():
    base = mi_cvx.gaussian_scalar(1.0, 0.5, 0.5)
    with_fn = base.with_constraints(cap_first)
    assert with_fn.recipe is not None and with_fn.recipe.constraints == (cap_first,)
    assert with_fn.rebuild().solve().mi == pytest.approx(with_fn.solve().mi, abs=1e-7)
    with_list = base.with_constraints(cap_first(base.variables))
    assert with_list.recipe is None
    with pytest.raises(mi_cvx.MiCvxError, match="recipe"):
        with_list.rebuild()
    with pytest.warns(UserWarning, match="no recipe"):
        frame = mi_cvx.sweep(with_list, [0.3, 0.6], n_jobs=2)
    # the cap binds: the attack spends at most 0.2
    assert frame["ok"].all() and (frame["budget_used"] <= 0.2 + 1e-6).all()


# ---------------------------------------------------------------- parallel


def test_loky_parallel_equals_serial():
    serial = mi_cvx.sweep(scalar_problem(), BUDGETS)
    parallel = mi_cvx.sweep(scalar_problem(), BUDGETS, n_jobs=2)
    assert_same(serial, parallel, cols=("mi", "oracle"))
    assert parallel["ok"].all()
    grid = {"signal_var": [0.5, 1.0], "noise_var": [0.2]}
    g1 = sweep_grid(scalar_factory, grid, [0.1, 0.3, 0.6])
    g2 = sweep_grid(scalar_factory, grid, [0.1, 0.3, 0.6], n_jobs=2, chunk_size=1)
    assert_same(g1, g2)
    assert g1["signal_var"].tolist() == g2["signal_var"].tolist()


def test_loky_parallel_binary_grid_equals_serial():
    sources = [np.array([[0.4, 0.1], [0.1, 0.4]]), np.array([[0.3, 0.2], [0.1, 0.4]])]
    budgets = [0.0, 0.1, 0.2]
    serial = mi_cvx.sweep(mi_cvx.binary_channel(sources[0], 0.1), budgets, grid={"p_xy": sources})
    parallel = mi_cvx.sweep(mi_cvx.binary_channel(sources[0], 0.1), budgets, grid={"p_xy": sources}, n_jobs=2)
    assert_same(serial, parallel)
    assert serial["p_xy"].tolist() == parallel["p_xy"].tolist()


def cap_with(cap, variables):
    return [variables["attack_cov"][0, 0] <= cap]


def test_loky_parallel_constraint_carrying_a_parameter():
    """A constraint function may carry its own cp.Parameter into the workers (ids cannot collide there)."""
    cap = cp.Parameter(nonneg=True, value=0.2)
    ap = mi_cvx.gaussian_scalar(1.0, 0.5, 0.5).with_constraints(functools.partial(cap_with, cap))
    budgets = [0.1, 0.3, 0.6]
    serial = mi_cvx.sweep(ap, budgets)
    parallel = mi_cvx.sweep(ap, budgets, n_jobs=2, chunk_size=1)
    assert_same(serial, parallel)
    assert (parallel["budget_used"] <= 0.2 + 1e-6).all()


def test_loky_parallel_custom_constraints_through_recipe():
    ap = mi_cvx.gaussian_scalar(1.0, 0.5, 0.5).with_constraints(cap_first)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        parallel = mi_cvx.sweep(ap, [0.1, 0.3, 0.6], n_jobs=2)
    serial = mi_cvx.sweep(ap, [0.1, 0.3, 0.6])
    assert_same(serial, parallel)


def test_dask_local_cluster_equals_local():
    distributed = pytest.importorskip("distributed")
    local = mi_cvx.sweep(scalar_problem(), BUDGETS)
    grid_local = sweep_grid(scalar_factory, {"signal_var": [0.5, 1.0]}, [0.1, 0.4], fixed={"noise_var": 0.3})
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        by_client = mi_cvx.sweep(scalar_problem(), BUDGETS, backend="dask", scheduler=client)
        by_address = sweep_grid(scalar_factory, {"signal_var": [0.5, 1.0]}, [0.1, 0.4], fixed={"noise_var": 0.3},
                                backend="dask", scheduler=cluster.scheduler_address)
        by_default = mi_cvx.sweep(scalar_problem(), [0.4], backend="dask")  # the active client
    assert_same(local, by_client, cols=("mi", "oracle"))
    assert_same(grid_local, by_address)
    assert by_default["mi"].iloc[0] == pytest.approx(local["mi"].iloc[2], abs=1e-7)


def test_dask_without_scheduler_is_a_clear_error():
    distributed = pytest.importorskip("distributed")
    try:
        distributed.get_client()
        pytest.skip("a Dask client is active")
    except ValueError:
        pass
    with pytest.raises(InvalidInputError, match="scheduler"):
        mi_cvx.sweep(scalar_problem(), [0.1], backend="dask")


# ------------------------------------------------------------------ resume


def check_resumed_file(path, budgets, clean: pd.DataFrame):
    on_disk = pd.read_csv(path)
    assert sorted(on_disk["budget"].tolist()) == sorted(budgets)  # every budget exactly once
    assert on_disk["budget"].is_unique
    merged = on_disk.set_index("budget").loc[budgets]
    np.testing.assert_allclose(merged["mi"].to_numpy(), clean["mi"].to_numpy(), rtol=0, atol=1e-7)


def test_resume_after_keyboard_interrupt(tmp_path):
    path = tmp_path / "sweep.csv"
    clean = mi_cvx.sweep(scalar_problem(), BUDGETS)
    calls = []

    def interrupt(row):
        calls.append(row["budget"])
        if len(calls) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        mi_cvx.sweep(scalar_problem(), BUDGETS, out=path, callback=interrupt)
    partial = pd.read_csv(path)  # parses after the interruption
    assert partial["budget"].tolist() == BUDGETS[:3]
    resolved = []
    frame = mi_cvx.sweep(scalar_problem(), BUDGETS, out=path, callback=lambda r: resolved.append(r["budget"]))
    assert resolved == BUDGETS[3:]  # finished points are skipped
    assert_same(frame, clean, cols=("mi", "oracle"))
    check_resumed_file(path, BUDGETS, clean)
    # a third run solves nothing and returns the same frame
    again = mi_cvx.sweep(scalar_problem(), BUDGETS, out=path, callback=lambda r: resolved.append(r))
    assert len(resolved) == 3
    pd.testing.assert_frame_equal(again, frame)


SCRIPT = textwrap.dedent(
    """
    import sys, time
    import mi_cvx
    budgets = [float(b) for b in sys.argv[2].split(",")]
    problem = mi_cvx.gaussian_scalar(1.0, 0.5, 0.1)
    mi_cvx.sweep(problem, budgets, out=sys.argv[1], n_jobs=int(sys.argv[3]), chunk_size=1,
                 callback=lambda row: time.sleep(0.25))
    """
)


def run_and_kill(path, budgets, n_jobs: int, after_rows: int):
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(path), ",".join(map(repr, budgets)), str(n_jobs)],
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if path.exists() and path.read_bytes().count(b"\n") >= after_rows + 1:
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the sweep finished before it could be killed"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the script and any workers it started
        proc.wait()


def test_resume_after_sigkill(tmp_path):
    budgets = [round(0.1 * i, 2) for i in range(12)]
    path = tmp_path / "killed.csv"
    run_and_kill(path, budgets, n_jobs=1, after_rows=3)
    partial = pd.read_csv(path)
    assert 3 <= len(partial) < len(budgets)
    clean = mi_cvx.sweep(scalar_problem(), budgets)
    frame = mi_cvx.sweep(scalar_problem(), budgets, out=path)
    assert_same(frame, clean)
    check_resumed_file(path, budgets, clean)


@pytest.mark.slow
def test_resume_after_sigkill_parallel(tmp_path):
    budgets = [round(0.05 * i, 2) for i in range(24)]
    path = tmp_path / "killed_parallel.csv"
    run_and_kill(path, budgets, n_jobs=2, after_rows=4)
    clean = mi_cvx.sweep(scalar_problem(), budgets)
    frame = mi_cvx.sweep(scalar_problem(), budgets, out=path, n_jobs=2)
    assert_same(frame, clean)
    check_resumed_file(path, budgets, clean)


def test_partial_last_line_is_dropped_on_resume(tmp_path):
    path = tmp_path / "torn.csv"
    clean = mi_cvx.sweep(scalar_problem(), BUDGETS, out=path)
    data = path.read_bytes()
    path.write_bytes(data[: data.rfind(b"\n", 0, len(data) - 1) + 10])  # tear the last line
    frame = mi_cvx.sweep(scalar_problem(), BUDGETS, out=path)
    assert_same(frame, clean)
    check_resumed_file(path, BUDGETS, clean)


def test_out_file_of_another_sweep_is_refused(tmp_path):
    path = tmp_path / "other.csv"
    sweep_grid(scalar_factory, {"signal_var": [1.0]}, [0.1], fixed={"noise_var": 0.1}, out=path)
    with pytest.raises(InvalidInputError, match="another sweep"):
        mi_cvx.sweep(scalar_problem(), [0.1], out=path)
    with pytest.raises(InvalidInputError, match="does not exist"):
        mi_cvx.sweep(scalar_problem(), [0.1], out=tmp_path / "missing" / "x.csv")


def test_grid_over_problem_parameters():
    """A grid over a non-budget Parameter is swept without rebuilding (DPP)."""
    budget = cp.Parameter(nonneg=True, value=0.5)
    noise = cp.Parameter(nonneg=True, value=1.0)
    x = cp.Variable(nonneg=True)
    problem = cp.Problem(cp.Minimize(cp.square(x - noise) + x), [x <= budget])
    ap = mi_cvx.AttackProblem(
        problem=problem, parameters={"budget": budget, "noise": noise}, variables={"x": x}, family="toy",
        readout=lambda p: {"mi": float(p.problem.value)},
    )
    frame = mi_cvx.sweep(ap, [0.0, 0.2], grid={"noise": [1.0, 2.0]})
    assert list(frame.columns[:2]) == ["noise", "budget"]
    assert frame["noise"].tolist() == [1.0, 1.0, 2.0, 2.0]
    expected = [(0 - n) ** 2 + 0 if b == 0 else (b - n) ** 2 + b for n in (1.0, 2.0) for b in (0.0, 0.2)]
    np.testing.assert_allclose(frame["mi"], expected, atol=1e-6)
    assert noise.value == 1.0
    with pytest.raises(InvalidInputError, match="noise"):
        mi_cvx.sweep(ap, [0.1], grid={"noise": [-1.0]})
