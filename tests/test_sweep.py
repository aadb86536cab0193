"""Budget sweeps: equal to individual solves and to the oracle; parallel, Dask, resume, fingerprints."""

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
from mi_cvx.sweep import RESULT_COLUMNS, problem_fingerprint, sweep_grid

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


def test_sweep_compiles_once_and_restores_parameters(monkeypatch):
    """A serial sweep re-solves the built problem through its budget Parameter: CVXPY compiles it once."""
    from cvxpy.reductions.solvers.solving_chain import SolvingChain

    compiled, solved = [], []
    chain_apply, problem_data = SolvingChain.apply, cp.Problem.get_problem_data

    def apply(self, problem, *args, **kwargs):  # the whole reduction chain: a compilation
        compiled.append(problem)
        return chain_apply(self, problem, *args, **kwargs)

    def get_problem_data(self, *args, **kwargs):  # every solve, compiled or from CVXPY's cache
        solved.append(self)
        return problem_data(self, *args, **kwargs)

    monkeypatch.setattr(SolvingChain, "apply", apply)
    monkeypatch.setattr(cp.Problem, "get_problem_data", get_problem_data)
    ap = scalar_problem()
    problem = ap.problem
    budgets = [0.2, 0.3, 0.45, 0.6]
    frame = mi_cvx.sweep(ap, budgets, solver="CLARABEL")
    assert frame["ok"].all() and (frame["solver"] == "CLARABEL").all()
    assert len(solved) == len(budgets) and all(p is problem for p in solved)  # every point: a solve of this problem
    assert len(compiled) == 1 and compiled[0] is problem  # ... compiled for the first budget only
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


# ------------------------------------------------- resume: problem fingerprints


def assert_scalar_oracle(frame: pd.DataFrame, signal_var: float, noise_var: float, tol: float = 1e-5):
    """Every row is ok and matches the scalar closed form of (signal_var, noise_var)."""
    assert frame["ok"].all()
    exact = oracles.scalar_gaussian_mi(signal_var, noise_var, frame["budget"].to_numpy(float))
    np.testing.assert_allclose(frame["mi"].to_numpy(float), exact, rtol=0, atol=tol)


def test_resume_with_another_problem_is_refused(tmp_path):
    """Issue: the file was keyed on the budget only, so another problem's rows came back with ok=True."""
    path = tmp_path / "s.csv"
    budgets = [0.2, 0.6]
    first = mi_cvx.sweep(scalar_problem(), budgets, out=path)
    assert_scalar_oracle(first, 1.0, 0.5)
    written = path.read_bytes()
    other = mi_cvx.gaussian_scalar(4.0, 0.5, 0.1)
    with pytest.raises(InvalidInputError, match="another problem") as info:
        mi_cvx.sweep(other, budgets, out=path)
    assert info.value.argument == "out" and "fingerprint" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(InvalidInputError, match="another problem"):  # other budgets: still no mixing
        mi_cvx.sweep(other, [1.5], out=path)
    assert path.read_bytes() == written  # nothing appended, nothing solved
    # the same problem, built again with another initial budget, reuses the rows
    solved = []
    again = mi_cvx.sweep(mi_cvx.gaussian_scalar(1.0, 0.5, 0.9), budgets, out=path, callback=solved.append)
    assert solved == []
    pd.testing.assert_frame_equal(again, first)
    # in another file, the other problem gets its own numbers
    fresh = mi_cvx.sweep(other, budgets, out=tmp_path / "other.csv")
    assert_scalar_oracle(fresh, 4.0, 0.5)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda ap: (ap.with_constraints(cap_first), {}), id="custom-constraints"),
        pytest.param(lambda ap: (mi_cvx.gaussian_scalar(1.0, 0.5, 0.1, knows="x"), {}), id="knows"),
        pytest.param(lambda ap: (ap, {"solver": "SCS"}), id="solver"),
        pytest.param(lambda ap: (ap, {"solver_options": {"max_iter": 80}}), id="solver-options"),
    ],
)
def test_resume_refuses_other_constraints_solver_and_options(tmp_path, change):
    path = tmp_path / "s.csv"
    mi_cvx.sweep(scalar_problem(), [0.3], out=path)
    problem, kwargs = change(scalar_problem())
    with pytest.raises(InvalidInputError, match="holds rows of another problem"):
        mi_cvx.sweep(problem, [0.3], out=path, **kwargs)


def test_out_file_records_fingerprint_and_reads_with_pandas(tmp_path):
    path = tmp_path / "s.csv"
    frame = mi_cvx.sweep(scalar_problem(), [0.1, 0.5], out=path)
    on_disk = pd.read_csv(path)
    assert list(on_disk.columns) == [*frame.columns, "fingerprint"]
    expected = problem_fingerprint(scalar_problem(), exclude=("budget",))
    assert on_disk["fingerprint"].tolist() == [expected] * 2
    np.testing.assert_allclose(on_disk["mi"], frame["mi"], rtol=0, atol=0)
    assert_scalar_oracle(frame, 1.0, 0.5)


def test_file_without_fingerprint_column_is_refused(tmp_path):
    """A file written before fingerprints existed cannot be matched to a problem: refuse, do not guess."""
    path = tmp_path / "old.csv"
    mi_cvx.sweep(scalar_problem(), [0.1], out=path)
    old = pd.read_csv(path).drop(columns=["fingerprint"])
    old.to_csv(path, index=False)
    with pytest.raises(InvalidInputError, match="no 'fingerprint' column"):
        mi_cvx.sweep(scalar_problem(), [0.1], out=path)


def test_fingerprint_equal_for_equal_problems_and_differs_with_data(rng):
    fp = problem_fingerprint
    assert fp(mi_cvx.gaussian_scalar(1.0, 0.5, 0.1)) == fp(mi_cvx.gaussian_scalar(1.0, 0.5, 0.7))
    assert fp(mi_cvx.gaussian_scalar(1.0, 0.5, 0.1)) != fp(mi_cvx.gaussian_scalar(1.0, 0.25, 0.1))
    A = rng.normal(size=(3, 3))
    B = A.copy()
    B[1, 2] += 1e-12
    assert fp(mi_cvx.gaussian_vector(A, 1.0)) == fp(mi_cvx.gaussian_vector(A.copy(), 2.0))
    assert fp(mi_cvx.gaussian_vector(A, 1.0)) != fp(mi_cvx.gaussian_vector(B, 1.0))
    # custom constraints count, given as a list or a function, and so does a parameter they carry
    base = mi_cvx.gaussian_scalar(1.0, 0.5, 0.5)
    assert fp(base.with_constraints(cap_first)) == fp(base.with_constraints(cap_first(base.variables)))
    assert fp(base.with_constraints(cap_first)) != fp(base)
    cap = cp.Parameter(nonneg=True, value=0.2)
    capped = base.with_constraints(functools.partial(cap_with, cap))
    before = fp(capped)
    cap.value = 0.3
    assert fp(capped) != before
    # a parameter of the problem counts by value unless excluded (its values are then the sweep's columns)
    p1, p2 = np.array([[0.4, 0.1], [0.1, 0.4]]), np.array([[0.3, 0.2], [0.1, 0.4]])
    b1, b2 = mi_cvx.binary_channel(p1, 0.1), mi_cvx.binary_channel(p2, 0.2)
    assert fp(b1) != fp(b2)
    assert fp(b1, exclude=("budget", "p_xy")) == fp(b2, exclude=("budget", "p_xy"))


FINGERPRINT_SCRIPT = textwrap.dedent(
    """
    import numpy as np
    import mi_cvx
    from mi_cvx.sweep import problem_fingerprint
    base = mi_cvx.gaussian_scalar(1.0, 0.5, 0.5)
    print(problem_fingerprint(base))
    print(problem_fingerprint(base.with_constraints([base.variables["attack_cov"][0, 0] <= 0.2]), "SCS",
                              {"eps": 1e-9}))
    print(problem_fingerprint(mi_cvx.binary_channel(np.array([[0.4, 0.1], [0.1, 0.4]]), 0.1)))
    """
)


def test_fingerprint_is_stable_across_processes():
    """Built in another interpreter (other CVXPY ids, other hash seed), the fingerprints are the same."""
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", FINGERPRINT_SCRIPT], capture_output=True, text=True, check=True,
                         env=env).stdout.split()
    cp.Variable(7)  # move this process's id counter
    base = mi_cvx.gaussian_scalar(1.0, 0.5, 0.5)
    here = [
        problem_fingerprint(base),
        problem_fingerprint(base.with_constraints([base.variables["attack_cov"][0, 0] <= 0.2]), "SCS",
                            {"eps": 1e-9}),
        problem_fingerprint(mi_cvx.binary_channel(np.array([[0.4, 0.1], [0.1, 0.4]]), 0.1)),
    ]
    assert out == here
    assert len(set(here)) == 3


def test_parameter_grid_resume_reuses_rows_of_the_same_problem(tmp_path):
    """With a grid over a problem parameter the rows are keyed by its value; the fingerprint leaves it out."""
    path = tmp_path / "binary.csv"
    sources = [np.array([[0.4, 0.1], [0.1, 0.4]]), np.array([[0.3, 0.2], [0.1, 0.4]])]
    budgets = [0.0, 0.1]
    frame = mi_cvx.sweep(mi_cvx.binary_channel(sources[0], 0.1), budgets, grid={"p_xy": sources}, out=path)
    solved = []
    # the same problem built at the second source, swept there without a grid: all rows come from the file
    again = mi_cvx.sweep(mi_cvx.binary_channel(sources[1], 0.0), budgets, out=path, callback=solved.append)
    assert solved == []
    pd.testing.assert_frame_equal(again.reset_index(drop=True), frame.iloc[2:].reset_index(drop=True),
                                  check_dtype=False)  # a column can be int in a part, float in the whole
    for row in again.itertuples():
        assert row.ok and row.mi == pytest.approx(oracles.binary_oracle(sources[1], row.budget).mi, abs=1e-6)
    with pytest.raises(InvalidInputError, match="another problem"):
        mi_cvx.sweep(mi_cvx.binary_channel(sources[0], 0.1, formulation="transport"), budgets,
                     grid={"p_xy": sources}, out=path)


def test_sweep_grid_resume_checks_each_point(tmp_path):
    path = tmp_path / "grid.csv"
    budgets = [0.1, 0.4]
    frame = sweep_grid(scalar_factory, {"signal_var": [0.5, 1.0]}, budgets, fixed={"noise_var": 0.1}, out=path)
    for sv in (0.5, 1.0):
        assert_scalar_oracle(frame[frame["signal_var"] == sv], sv, 0.1)
    on_disk = pd.read_csv(path)
    assert on_disk["fingerprint"].nunique() == 2  # one problem per grid point
    # another fixed argument is another problem at the same grid points
    with pytest.raises(InvalidInputError, match="another problem at signal_var=0.5"):
        sweep_grid(scalar_factory, {"signal_var": [0.5, 1.0]}, budgets, fixed={"noise_var": 0.2}, out=path)
    with pytest.raises(InvalidInputError, match="another problem"):
        sweep_grid(scalar_factory, {"signal_var": [1.0]}, budgets, fixed={"noise_var": 0.1}, out=path,
                   solver="SCS")
    # the same sweep, extended: the old points come from the file, only the new one is solved
    solved = []
    more = sweep_grid(scalar_factory, {"signal_var": [1.0, 2.0]}, budgets, fixed={"noise_var": 0.1}, out=path,
                      callback=solved.append)
    assert [(r["signal_var"], r["budget"]) for r in solved] == [(2.0, 0.1), (2.0, 0.4)]
    for sv in (1.0, 2.0):
        assert_scalar_oracle(more[more["signal_var"] == sv], sv, 0.1)
    pd.testing.assert_frame_equal(more.iloc[:2].reset_index(drop=True), frame.iloc[2:].reset_index(drop=True),
                                  check_dtype=False)


def test_sweep_grid_parallel_rows_carry_the_points_fingerprints(tmp_path):
    """Workers fingerprint the problems they build; a serial resume agrees with them."""
    path = tmp_path / "grid.csv"
    grid = {"signal_var": [0.5, 1.0]}
    sweep_grid(scalar_factory, grid, [0.1, 0.4], fixed={"noise_var": 0.1}, out=path, n_jobs=2, chunk_size=1)
    on_disk = pd.read_csv(path)
    for sv, fingerprint in zip(on_disk["signal_var"], on_disk["fingerprint"], strict=True):
        assert fingerprint == problem_fingerprint(scalar_factory(sv, 0.1, 0.1), exclude=("budget", "signal_var"))
    solved = []
    frame = sweep_grid(scalar_factory, grid, [0.1, 0.4], fixed={"noise_var": 0.1}, out=path, callback=solved.append)
    assert solved == []
    for sv in (0.5, 1.0):
        assert_scalar_oracle(frame[frame["signal_var"] == sv], sv, 0.1)


# ------------------------------------------------------------ bad out paths


def refuse_solves(monkeypatch):
    def solve(self, *args, **kwargs):  # pragma: no cover - must not run
        raise AssertionError("solved before the out path was checked")

    monkeypatch.setattr(mi_cvx.AttackProblem, "solve", solve)


@pytest.mark.parametrize("run", ["sweep", "sweep_grid"])
def test_out_in_unwritable_directory_is_a_typed_error_before_solving(tmp_path, monkeypatch, run):
    """Issue: out="/proc/x.csv" raised FileNotFoundError naming a temporary file."""
    if not os.path.isdir("/proc"):
        pytest.skip("no /proc")
    refuse_solves(monkeypatch)
    calls = {
        "sweep": lambda out: mi_cvx.sweep(scalar_problem(), [0.1], out=out),
        "sweep_grid": lambda out: sweep_grid(scalar_factory, {"signal_var": [1.0]}, [0.1],
                                             fixed={"noise_var": 0.1}, out=out),
    }[run]
    with pytest.raises(InvalidInputError, match=r"directory /proc is not writable") as info:
        calls("/proc/x.csv")
    assert info.value.argument == "out" and "\n" not in str(info.value) and ".tmp" not in str(info.value)
    with pytest.raises(InvalidInputError, match="does not exist") as info:
        calls(tmp_path / "missing" / "x.csv")
    assert info.value.argument == "out"
    (tmp_path / "plain").write_text("")
    with pytest.raises(InvalidInputError, match="not a directory"):
        calls(tmp_path / "plain" / "x.csv")
    assert not list(tmp_path.glob("**/*.tmp"))


# ---------------------------------------------------------- sweep_grid keys


def test_sweep_grid_unknown_key_names_it_and_the_valid_ones(monkeypatch):
    """Issue: sweep_grid(f, {"bogus": [1]}, ...) raised TypeError from the factory call."""
    refuse_solves(monkeypatch)
    with pytest.raises(InvalidInputError, match="'bogus'") as info:
        sweep_grid(scalar_factory, {"bogus": [1]}, [0.1])
    assert info.value.argument == "grid"
    assert "signal_var, noise_var" in str(info.value)
    with pytest.raises(InvalidInputError, match="'bogus'") as info:
        sweep_grid(scalar_factory, {"signal_var": [1.0]}, [0.1], fixed={"noise_var": 0.1, "bogus": 2})
    assert info.value.argument == "fixed"
    with pytest.raises(InvalidInputError, match="signal_var, noise_var, knows"):  # through @rebuildable
        sweep_grid(mi_cvx.gaussian_scalar, {"bogus": [1]}, [0.1])
    with pytest.raises(InvalidInputError, match="noise_var"):  # a required argument left out
        sweep_grid(scalar_factory, {"signal_var": [1.0]}, [0.1])


# ------------------------------------------------------- default solve chain


def spy_on_solve(monkeypatch) -> list:
    """Record (solver argument, result) of every AttackProblem.solve; mark the results' solver and note."""
    calls = []
    inside = []
    original = mi_cvx.AttackProblem.solve
    original_pick = mi_cvx.solvers.default_solver

    def solve(self, solver=None, **kwargs):
        inside.append(True)
        try:
            result = original(self, solver, **kwargs)
        finally:
            inside.pop()
        result.solver = f"{result.solver}-seen"  # the row must report what the solve reports
        result.note = f"note {len(calls)}"
        calls.append((solver, kwargs, result))
        return result

    def no_up_front_pick(*args, **kwargs):
        assert inside, "a sweep picked a single default solver up front"
        return original_pick(*args, **kwargs)

    monkeypatch.setattr(mi_cvx.AttackProblem, "solve", solve)
    monkeypatch.setattr(mi_cvx.solvers, "default_solver", no_up_front_pick)
    return calls


def test_default_sweep_uses_the_default_chain_and_reports_its_backend(monkeypatch):
    calls = spy_on_solve(monkeypatch)
    frame = mi_cvx.sweep(scalar_problem(), [0.1, 0.5])
    assert [(solver, kwargs["raise_on_failure"]) for solver, kwargs, _ in calls] == [(None, False)] * 2
    assert frame["solver"].tolist() == [result.solver for *_, result in calls]
    assert frame["note"].tolist() == ["note 0", "note 1"]
    assert_scalar_oracle(frame, 1.0, 0.5)
    calls.clear()
    grid = sweep_grid(scalar_factory, {"signal_var": [0.5]}, [0.2], fixed={"noise_var": 0.1})
    assert [solver for solver, *_ in calls] == [None]
    assert grid["solver"].tolist() == [calls[0][2].solver] and grid["note"].tolist() == ["note 0"]
    calls.clear()
    named = mi_cvx.sweep(scalar_problem(), [0.3], solver="clarabel")
    assert [solver for solver, *_ in calls] == ["CLARABEL"]
    assert named["solver"].tolist() == ["CLARABEL-seen"]


def test_default_sweep_solver_column_in_parallel():
    """Workers run the default chain too; each row names the backend that produced it."""
    budgets = [0.1, 0.5]
    serial = mi_cvx.sweep(scalar_problem(), budgets)
    parallel = mi_cvx.sweep(scalar_problem(), budgets, n_jobs=2, chunk_size=1)
    singles = []
    for budget in budgets:
        ap = scalar_problem()
        ap.parameters["budget"].value = budget
        singles.append(ap.solve())
    assert serial["solver"].tolist() == [r.solver for r in singles] == parallel["solver"].tolist()
    assert serial["note"].tolist() == [r.note for r in singles] == parallel["note"].tolist()
    assert_scalar_oracle(parallel, 1.0, 0.5)


# -------------------------------------------------------------- bad budgets


@pytest.mark.parametrize(
    "budgets",
    [[0.1, float("nan")], np.array([0.2, np.nan]), [0.1, -0.5], [-1e-12], [0.1, float("inf")]],
    ids=["nan", "numpy-nan", "negative", "tiny-negative", "inf"],
)
def test_nan_or_negative_budget_is_refused_naming_budgets(monkeypatch, budgets):
    refuse_solves(monkeypatch)
    with pytest.raises(InvalidInputError) as info:
        mi_cvx.sweep(scalar_problem(), budgets)
    assert info.value.argument == "budgets"
    with pytest.raises(InvalidInputError) as info:
        sweep_grid(scalar_factory, {"signal_var": [1.0]}, budgets, fixed={"noise_var": 0.1})
    assert info.value.argument == "budgets"
