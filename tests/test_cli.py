"""The ``mi-cvx`` command: every subcommand's help, machine-readable output, spec files, errors."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from mi_cvx import AttackProblem, cli, oracles

SCALAR = ["gaussian-scalar", "--signal-var", "1", "--noise-var", "0.5", "--budget", "0.3"]
PXY = "[[0.4,0.1],[0.1,0.4]]"


def run(*argv):
    """Run the command in-process: (exit status, stdout)."""
    out = io.StringIO()
    code = cli.main([str(a) for a in argv], stdout=out)
    return code, out.getvalue()


def assert_one_line_error(capsys, code, expected_code=2, contains=""):
    err = capsys.readouterr().err
    assert code == expected_code
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert contains in lines[0]
    return lines[0]


# ------------------------------------------------------------------ help


@pytest.mark.parametrize("command", [[], ["solve"], ["sweep"], ["compare"], ["verify"], ["reproduce"]])
def test_help(command, capsys):
    code, _ = run(*command, "--help")
    out = capsys.readouterr().out
    assert code == 0
    assert "usage: mi-cvx" in out
    if command in (["solve"], ["sweep"], ["compare"], ["verify"]):
        assert "--signal-var" in out and "--p-xy" in out and "--spec" in out


def test_version(capsys):
    code, _ = run("--version")
    assert code == 0 and "mi-cvx" in capsys.readouterr().out


# ----------------------------------------------------------------- solve


def test_solve_text_and_json():
    code, text = run("solve", *SCALAR)
    assert code == 0 and "I*" in text and "optimal" in text
    code, text = run("solve", *SCALAR, "--json")
    data = json.loads(text)
    assert code == 0 and data["ok"] is True
    assert data["mi"] == pytest.approx(oracles.scalar_gaussian_mi(1.0, 0.5, 0.3), abs=1e-6)
    assert "joint_cov" in data["attack"]


def test_solve_every_family_json():
    A = "[[1.0,0.5],[0.2,1.0],[0.3,-0.4]]"
    cases = [
        ["gaussian-vector", "--m", "3", "--n", "4", "--seed", "1", "--budget", "1.5", "--formulation", "compact"],
        ["gaussian-vector", "--A", A, "--noise-cov", "0.1", "--budget", "0.5"],
        ["gaussian-sparse", "--A", A, "--support", "0,2", "--noise-cov", "0.2"],
        ["binary", "--p-xy", PXY, "--budget", "0.1"],
        ["discrete", "--p-xy", "[[0.3,0.05],[0.05,0.3],[0.1,0.2]]", "--budget", "0.1"],
        ["subset", "--signal-cov", "[[1,0.2],[0.2,2]]", "--noise-cov", "0.1", "--k", "1"],
    ]
    for argv in cases:
        code, text = run("solve", *argv, "--json")
        data = json.loads(text)
        assert code == 0, (argv, data)
        assert np.isfinite(data["mi"])
        if argv[0] == "subset":
            assert data["subset"] == [1]
        else:
            assert data["ok"] is True
            if data["oracle"] is not None:
                assert abs(data["oracle_gap"]) < 1e-5


def test_solve_from_spec_files(tmp_path):
    np.save(tmp_path / "A.npy", np.array([[1.0, 0.5], [0.2, 1.0]]))
    np.savetxt(tmp_path / "noise.csv", 0.1 * np.eye(2), delimiter=",")
    toml = tmp_path / "problem.toml"
    toml.write_text('family = "gaussian-vector"\nbudget = 0.4\nA = "A.npy"\nnoise_cov = "noise.csv"\n'
                    "signal_cov = [[1.0, 0.2], [0.2, 0.5]]\n")
    code, text = run("solve", "--spec", toml, "--json")
    data = json.loads(text)
    assert code == 0 and data["ok"] and abs(data["oracle_gap"] or 0) < 1e-5
    spec = tmp_path / "binary.json"
    spec.write_text(json.dumps({"family": "binary", "p_xy": [[0.4, 0.1], [0.1, 0.4]], "budget": 0.1}))
    code, text = run("solve", "--spec", spec, "--json")
    assert code == 0 and json.loads(text)["oracle"] == pytest.approx(json.loads(text)["mi"], abs=1e-6)
    # command-line options override the spec
    code, text = run("solve", "--spec", spec, "--budget", "0.3", "--json")
    assert code == 0 and json.loads(text)["mi"] == pytest.approx(0.0, abs=1e-6)


def test_sweep_from_spec_with_budgets(tmp_path):
    spec = tmp_path / "sweep.toml"
    spec.write_text('family = "binary"\np_xy = [[0.4, 0.1], [0.1, 0.4]]\nbudgets = [0.0, 0.1, 0.3]\n')
    code, text = run("sweep", "--spec", spec, "--json")
    rows = json.loads(text)["rows"]
    assert code == 0 and [r["budget"] for r in rows] == [0.0, 0.1, 0.3]
    assert rows[-1]["mi"] == pytest.approx(0.0, abs=1e-7)
    code, text = run("sweep", "--spec", spec, "--budgets", "0.2", "--json")  # the option wins
    assert code == 0 and [r["budget"] for r in json.loads(text)["rows"]] == [0.2]


@pytest.mark.parametrize(
    ("content", "suffix", "message"),
    [
        ('budget = 1\n', ".toml", "no 'family'"),
        ('family = "gaussian-scalar"\nbudget = 1\ncolour = "red"\n', ".toml", "unknown key(s) colour"),
        ('family = "gaussian-scalar"\nbudget = [1\n', ".toml", "not valid TOML"),
        ('{"family": "binary", "budget": 0.1, "p_xy": "missing.npy"}', ".json", "neither inline JSON nor"),
        ('{"family": "binary", "budget": 0.1, "p_xy": [[0.5, 0.5], [0.5, 0.5]]}', ".json", "sum to 1"),
        ('{"family": "sparkly", "budget": 0.1}', ".json", "unknown family"),
        ('[1, 2]', ".json", "table/object"),
    ],
)
def test_bad_spec_files(tmp_path, capsys, content, suffix, message):
    spec = tmp_path / f"spec{suffix}"
    spec.write_text(content)
    code, _ = run("solve", "--spec", spec)
    assert_one_line_error(capsys, code, contains=message)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["solve", "gaussian-scalar", "--budget", "-1"], "--budget"),
        (["solve", "gaussian-scalar", "--budget", "x"], "invalid float"),
        (["solve", "gaussian-scalar"], "--budget: is required"),
        (["solve", "gaussian-scalar", "--budget", "1", "--p-xy", PXY], "--p-xy: does not apply"),
        (["solve", "nonsense", "--budget", "1"], "unknown family"),
        (["solve"], "give a FAMILY"),
        (["solve", "gaussian-vector", "--budget", "1"], "--A"),
        (["solve", "gaussian-vector", "--A", "[[1,2]", "--budget", "1"], "not valid JSON"),
        (["solve", "gaussian-vector", "--A", "[[1,2]]", "--m", "2", "--budget", "1"], "not both"),
        (["solve", "gaussian-scalar", "--budget", "1", "--solver", "ECOS"], "semidefinite"),
        (["solve", "gaussian-scalar", "--budget", "1", "--solver", "NOPE"], "unknown solver"),
        (["solve", "binary", "--p-xy", "[[0.5,0.6],[0,0]]", "--budget", "0.1"], "--p-xy"),
        (["solve", "gaussian-sparse", "--A", "[[1,0],[0,1]]", "--support", "0,x"], "--support"),
        (["sweep", "gaussian-scalar", "--budgets", "1:2"], "--budgets"),
        (["sweep", "gaussian-scalar"], "--budgets"),
        (["sweep", "subset", "--signal-cov", "1", "--k", "1", "--budgets", "1,2"], "no budget"),
        (["sweep", *SCALAR[:-2], "--budgets", "0,1", "--backend", "spark"], "invalid choice"),
        (["compare", *SCALAR, "--solvers", "NOPE"], "NOPE"),
        (["verify", *SCALAR, "--trials", "0"], "trials"),
        (["reproduce"], "--out"),
        (["reproduce", "--out", "x", "--figures", "fig9"], "fig9"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_exit_2(argv, message, capsys):
    code, _ = run(*argv)
    assert_one_line_error(capsys, code, contains=message)


def test_unwritable_output_is_one_line_exit_1(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _ = run("reproduce", "--out", blocker / "sub", "--quick", "--figures", "water_levels")
    assert_one_line_error(capsys, code, expected_code=1, contains="error")


# ----------------------------------------------------------------- sweep


def test_sweep_json_csv_and_out(tmp_path, capsys):
    argv = ["sweep", "gaussian-scalar", "--signal-var", "1", "--noise-var", "0.1", "--budgets", "0.1:1.1:5"]
    code, text = run(*argv, "--json")
    rows = json.loads(text)["rows"]
    assert code == 0 and len(rows) == 5
    expected = oracles.scalar_gaussian_mi(1.0, 0.1, [r["budget"] for r in rows])
    np.testing.assert_allclose([r["mi"] for r in rows], expected, atol=1e-6)
    code, text = run(*argv, "--csv")
    frame = pd.read_csv(io.StringIO(text))
    assert code == 0 and list(frame["budget"]) == pytest.approx([0.1, 0.35, 0.6, 0.85, 1.1])
    out = tmp_path / "s.csv"
    code, text = run(*argv, "--out", out)
    assert code == 0 and "wrote" in text and len(pd.read_csv(out)) == 5
    code, _ = run(*argv, "--out", out, "--n-jobs", "1", "--no-progress")  # resumes: nothing left to do
    assert code == 0 and len(pd.read_csv(out)) == 5


@pytest.fixture
def failing_solves(monkeypatch):
    """Every solve runs SCS for two iterations: an inaccurate, flagged result."""
    original = AttackProblem.solve

    def solve(self, solver=None, **kwargs):
        kwargs.pop("max_iters", None)
        return original(self, "SCS", max_iters=2, **kwargs)

    monkeypatch.setattr(AttackProblem, "solve", solve)


@pytest.mark.filterwarnings("ignore:Solution may be inaccurate")
def test_failed_solve_and_sweep_exit_1(failing_solves, capsys):
    code, text = run("solve", *SCALAR, "--json")
    assert json.loads(text)["ok"] is False
    assert_one_line_error(capsys, code, expected_code=1, contains="not accurate")
    code, text = run("sweep", *SCALAR[:-2], "--budgets", "0.2,0.4", "--json")
    rows = json.loads(text)["rows"]
    assert len(rows) == 2 and not any(r["ok"] for r in rows) and all(r["error"] for r in rows)
    assert_one_line_error(capsys, code, expected_code=1, contains="2 of 2 points")


def test_sweep_on_a_dask_cluster_by_address(tmp_path):
    distributed = pytest.importorskip("distributed")
    argv = ["sweep", *SCALAR[:-2], "--budgets", "0.1,0.3,0.6", "--json"]
    local = json.loads(run(*argv)[1])["rows"]
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        code, text = run(*argv, "--backend", "dask", "--scheduler", cluster.scheduler_address)
    assert code == 0
    remote = json.loads(text)["rows"]
    np.testing.assert_allclose([r["mi"] for r in remote], [r["mi"] for r in local], atol=1e-7)


# --------------------------------------------------------- compare / verify


def test_compare_table_json_csv(capsys):
    code, text = run("compare", *SCALAR)
    assert code == 0 and "CLARABEL" in text and "solver" in text
    code, text = run("compare", *SCALAR, "--json", "--solvers", "CLARABEL,SCS,ECOS")
    data = json.loads(text)
    assert code == 0 and [r["solver"] for r in data["rows"]] == ["CLARABEL", "SCS", "ECOS"]
    assert data["rows"][0]["ok"] is True and data["rows"][2]["ok"] is False
    code, text = run("compare", "binary", "--p-xy", PXY, "--budget", "0.1", "--csv", "--solvers", "CLARABEL")
    frame = pd.read_csv(io.StringIO(text))
    assert code == 0 and frame["ok"].all()


def test_verify_text_json_csv():
    argv = ["verify", *SCALAR, "--trials", "10"]
    code, text = run(*argv)
    assert code == 0 and "PASSED" in text
    code, text = run(*argv, "--json")
    data = json.loads(text)
    assert code == 0 and data["passed"] is True
    code, text = run(*argv, "--csv")
    frame = pd.read_csv(io.StringIO(text))
    assert code == 0 and {"name", "status", "passed"} <= set(frame.columns)


# ------------------------------------------------------------- reproduce
# (the full `mi-cvx reproduce --quick` run is tested in test_reproduce.py)


# -------------------------------------------------------------- real entry


def test_console_entry_point_subprocess():
    """The real entry point in a fresh interpreter: bad input is one line on stderr, exit 2, no traceback.

    (The success path in a fresh interpreter is covered by the examples' smoke tests.)
    """
    bad = subprocess.run([sys.executable, "-m", "mi_cvx.cli", "solve", "gaussian-scalar", "--budget", "-1"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stdout == ""
    assert len(bad.stderr.strip().splitlines()) == 1 and "Traceback" not in bad.stderr
    assert "--budget" in bad.stderr
