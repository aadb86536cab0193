"""``mi-cvx ... --grid CASE``: an IEEE power-grid model (mi_cvx.grids.grid_model) as the observation matrix."""

from __future__ import annotations

import io
import json

import pytest

import mi_cvx
from mi_cvx import cli
from mi_cvx.grids import CASES, grid_model


def solve_model(budget, case="case30", **options):
    """The library's own answer: ``gaussian_vector(A, budget, signal_cov, noise_cov)`` of ``grid_model``."""
    A, signal_cov, noise_cov = grid_model(case, **options)
    return mi_cvx.gaussian_vector(A, budget, signal_cov, noise_cov).solve()


def run(*argv):
    """Run the command in-process: (exit status, stdout)."""
    out = io.StringIO()
    code = cli.main([str(a) for a in argv], stdout=out)
    return code, out.getvalue()


def one_line_error(capsys, code, contains):
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err
    assert len(lines) == 1 and "Traceback" not in err, err
    assert contains in lines[0], lines[0]
    return lines[0]


#: Every command-line route through the grid keys below solves on the exact path or a small compact SDP.
COMPACT = ["--formulation", "compact", "--noise-cov", "0"]


@pytest.mark.parametrize("command", ["solve", "sweep", "compare", "verify"])
def test_help_lists_the_grid_options(command, capsys):
    code, _ = run(command, "--help")
    out = capsys.readouterr().out
    assert code == 0
    for flag in ("--grid", "--grid-correlation", "--grid-snr", "--grid-injection-noise"):
        assert flag in out
    assert all(case in out for case in CASES)


def test_solve_case30_matches_the_library(capsys):
    code, out = run("solve", "gaussian-vector", "--grid", "case30", "--budget", 100, "--json")
    assert code == 0, capsys.readouterr().err
    data = json.loads(out)
    assert data["ok"] and "m=71, n=29" in data["description"]
    expected = solve_model(100.0)
    assert data["mi"] == pytest.approx(expected.mi, rel=1e-9)


def test_grid_correlation_and_snr_are_passed_on(capsys):
    code, out = run("solve", "gaussian-vector", "--grid", "case30", "--grid-correlation", 0.8, "--grid-snr", 3,
                    "--budget", 100, "--json")
    assert code == 0, capsys.readouterr().err
    expected = solve_model(100.0, correlation=0.8, snr=3.0)
    assert json.loads(out)["mi"] == pytest.approx(expected.mi, rel=1e-9)
    default = solve_model(100.0)
    assert expected.mi != pytest.approx(default.mi, rel=1e-3)  # the options changed the model


def test_given_covariances_override_the_grids(capsys):
    code, out = run("solve", "gaussian-vector", "--grid", "case14", "--budget", 50, *COMPACT, "--json")
    assert code == 0, capsys.readouterr().err
    A, signal_cov, _ = grid_model("case14")
    expected = mi_cvx.gaussian_vector(A, 50.0, signal_cov, 0.0, formulation="compact").solve()
    data = json.loads(out)
    assert data["ok"] and "compact" in data["description"]
    assert data["mi"] == pytest.approx(expected.mi, rel=1e-6)
    code, out = run("solve", "gaussian-vector", "--grid", "case30", "--signal-cov", 2.0, "--noise-cov", 0.5,
                    "--budget", 100, "--json")
    assert code == 0, capsys.readouterr().err
    expected = mi_cvx.gaussian_vector(grid_model("case30")[0], 100.0, 2.0, 0.5).solve()
    assert json.loads(out)["mi"] == pytest.approx(expected.mi, rel=1e-9)


def test_sweep(capsys):
    code, out = run("sweep", "gaussian-vector", "--grid", "case30", "--budgets", "0,100,400", "--json")
    assert code == 0, capsys.readouterr().err
    rows = json.loads(out)["rows"]
    assert [r["budget"] for r in rows] == [0, 100, 400]
    assert all(r["ok"] for r in rows)
    mis = [r["mi"] for r in rows]
    assert mis[0] > mis[1] > mis[2] > 0


def test_compare_and_verify(capsys):
    code, out = run("compare", "gaussian-vector", "--grid", "case14", "--budget", 50, *COMPACT,
                    "--solvers", "CLARABEL", "--json")
    assert code == 0, capsys.readouterr().err
    rows = json.loads(out)["rows"]
    assert [r["solver"] for r in rows] == ["CLARABEL"] and rows[0]["ok"]
    code, out = run("verify", "gaussian-vector", "--grid", "case14", "--budget", 50, *COMPACT, "--trials", 3,
                    "--json")
    assert code == 0, capsys.readouterr().err
    assert json.loads(out)["passed"]


def test_other_observation_families_take_a_grid(capsys):
    """subset-attack needs signal_cov, which the grid gives; its rows are the grid's measurements."""
    code, out = run("solve", "subset-attack", "--grid", "case14", "--k", 1, "--json")
    assert code == 0, capsys.readouterr().err
    A, signal_cov, noise_cov = grid_model("case14")
    expected = mi_cvx.subset_attack(signal_cov, noise_cov, 1, A=A)
    assert json.loads(out)["mi"] == pytest.approx(expected.mi, rel=1e-9)


@pytest.mark.parametrize("suffix", [".json", ".toml"])
def test_spec_file_takes_the_grid_keys(tmp_path, capsys, suffix):
    spec = tmp_path / f"grid{suffix}"
    if suffix == ".json":
        spec.write_text(json.dumps({"family": "gaussian-vector", "grid": "case30", "grid_snr": 3, "budget": 100}))
    else:
        spec.write_text('family = "gaussian-vector"\ngrid = "case30"\ngrid_snr = 3\nbudget = 100\n')
    code, out = run("solve", "--spec", spec, "--json")
    assert code == 0, capsys.readouterr().err
    expected = solve_model(100.0, snr=3.0)
    assert json.loads(out)["mi"] == pytest.approx(expected.mi, rel=1e-9)


@pytest.mark.parametrize("argv, contains", [
    (["--grid", "case14", "--m", 3, "--n", 2], "--grid:"),
    (["--grid", "case14", "--seed", 1], "--grid:"),
    (["--grid", "case14", "--A", "[[1, 0], [0, 1]]"], "--grid:"),
    (["--grid-snr", 3], "--grid-snr:"),
    (["--grid-correlation", 0.3, "--m", 3, "--n", 2], "--grid-correlation:"),
    (["--grid", "case14", "--grid-correlation", 1], "--grid-correlation:"),
    (["--grid", "case14", "--grid-correlation", -0.5], "--grid-correlation:"),
    (["--grid", "case14", "--grid-snr", 0], "--grid-snr:"),
    (["--grid", "case14", "--grid-snr", "nan"], "--grid-snr:"),
    (["--grid", "case15"], "--grid: invalid choice"),
])
def test_bad_grid_options_are_one_line_exit_2(argv, contains, capsys):
    code, _ = run("solve", "gaussian-vector", "--budget", 1, *argv)
    one_line_error(capsys, code, contains)


def test_grid_does_not_apply_without_an_observation_matrix(capsys):
    code, _ = run("solve", "gaussian-scalar", "--grid", "case14", "--budget", 1)
    one_line_error(capsys, code, "--grid: does not apply to gaussian-scalar")


@pytest.mark.parametrize("value, contains", [('"case15"', "--grid: unknown test system"), ("14", "--grid:"),
                                             ('"case14", "m": 3', "--grid: give either")])
def test_bad_grid_in_a_spec_is_one_line_exit_2(tmp_path, capsys, value, contains):
    spec = tmp_path / "grid.json"
    spec.write_text(f'{{"family": "gaussian-vector", "budget": 1, "grid": {value}}}')
    code, _ = run("solve", "--spec", spec)
    line = one_line_error(capsys, code, contains)
    if "unknown" in contains:
        assert all(case in line for case in CASES)


def test_grid_injection_noise_reaches_the_model_and_the_blind_route():
    code, out = run("solve", "gaussian-vector", "--grid", "case14", "--grid-injection-noise", "4", "--knows",
                    "nothing", "--budget", "2", "--formulation", "transport", "--json")
    assert code == 0
    data = json.loads(out)
    A, signal_cov, noise_cov = grid_model("case14", injection_noise=4.0)
    reference = mi_cvx.gaussian_vector(A, 2.0, signal_cov, noise_cov, knows="nothing", formulation="full")
    expected = reference.solve("CLARABEL")
    assert data["solver"] == "BLIND_DESCENT" and data["ok"] and data["gap"] <= mi_cvx.solvers.GAP_TOLERANCE
    assert abs(data["mi"] - expected.mi) <= 1e-5 * (1 + expected.mi)
