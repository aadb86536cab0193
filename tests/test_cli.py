"""The ``mi-cvx`` command: every subcommand's help, machine-readable output, spec files, errors."""

from __future__ import annotations

import importlib
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mi_cvx import AttackProblem, MiCvxError, ResourceLimitError, cli, oracles

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

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
    assert code == 0 and data["ok"]
    # isotropic noise (0.1 I from noise.csv): the structured closed form applies, and must be reported
    closed = oracles.isotropic_gaussian([[1.0, 0.5], [0.2, 1.0]], 0.4, [[1.0, 0.2], [0.2, 0.5]], 0.1).mi
    assert data["oracle"] is not None, "the spec's problem has a closed form: the oracle must be reported"
    assert data["oracle"] == pytest.approx(closed, rel=1e-9)
    assert abs(data["mi"] - closed) <= data["tolerance"] * (1 + closed)
    assert data["oracle_gap"] == pytest.approx(data["mi"] - closed, abs=1e-12)
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
        (["solve", "gaussian-sparse", "--A", "[[1,0],[0,1],[1,1]]", "--support", '["a"]'], "entry 0 is the string"),
        (["solve", "gaussian-sparse", "--A", "[[1,0],[0,1],[1,1]]", "--support", "[null]"], "entry 0 is None"),
        (["solve", "gaussian-sparse", "--A", "[[1,0],[0,1],[1,1]]", "--support", "[true,false]"], "length 3"),
        (["solve", "gaussian-sparse", "--A", "[[1,0],[0,1],[1,1]]", "--support", "0,0"], "repeats a row"),
        (["solve", "gaussian-sparse", "--A", "[[1,0],[0,1],[1,1]]", "--support", "5"], "--support: row indices"),
        (["solve", "gaussian-sparse", "--A", "[[1,0],[0,1],[1,1]]", "--support", "[0.5]"], "must be integers"),
        (["solve", *SCALAR, "--formulation", "sideways"], "invalid choice"),
        (["solve", *SCALAR, "--knows", "y"], "invalid choice"),
        (["solve", "binary", "--p-xy", PXY, "--budget", "0.1", "--formulation", "compact"], "--formulation"),
        (["solve", *SCALAR, "--option", "eps_abs"], "--option: expected KEY=VALUE"),
        (["solve", *SCALAR, "--option", "1x=2"], "--option"),
        (["solve", *SCALAR, "--time-limit", "0"], "--time-limit"),
        (["solve", *SCALAR, "--time-limit", "soon"], "--time-limit"),
        (["solve", "subset", "--signal-cov", "1", "--k", "1", "--option", "eps=1"], "--option: does not apply"),
        (["compare", *SCALAR, "--option", "eps_abs=1e-9"], "SOLVER:KEY=VALUE"),
    ],
)
def test_bad_input_is_one_line_exit_2(argv, message, capsys):
    code, _ = run(*argv)
    assert_one_line_error(capsys, code, contains=message)


BAD_SPECS = {
    "binary file": ("spec.json", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "not UTF-8"),
    "latin-1 toml": ("spec.toml", 'family = "gaussian-scalar"\nbudget = 1\n# caf\xe9\n'.encode("latin-1"),
                     "not UTF-8"),
    "NUL bytes": ("spec.toml", b'family = "gaussian-scalar"\x00\nbudget = 1\n', "binary file"),
    "UTF-16 json": ("spec.json", '{"family": "binary"}'.encode("utf-16"), "not UTF-8"),
    "deep JSON": ("spec.json", b"[" * 100_000, "not valid JSON"),
    "empty JSON": ("spec.json", b"", "not valid JSON"),
    "support string entry": ("spec.json", b'{"family": "gaussian-sparse", "A": [[1, 0], [0, 1]], "support": ["a"]}',
                             "--support: entry 0 is the string 'a'"),
    "support null entry": ("spec.json", b'{"family": "gaussian-sparse", "A": [[1, 0], [0, 1]], "support": [null]}',
                           "--support: entry 0 is None"),
    "support null": ("spec.json", b'{"family": "gaussian-sparse", "A": [[1, 0], [0, 1]], "support": null}',
                     "--support"),
    "support object": ("spec.json", b'{"family": "gaussian-sparse", "A": [[1, 0], [0, 1]], "support": {"a": 1}}',
                       "--support"),
    "support nested": ("spec.json", b'{"family": "gaussian-sparse", "A": [[1, 0], [0, 1]], "support": [[0]]}',
                       "--support"),
    "support short mask": ("spec.json", b'{"family": "gaussian-sparse", "A": [[1, 0], [0, 1]], "support": [true]}',
                           "length 2"),
    "support toml strings": ("spec.toml", b'family = "gaussian-sparse"\nA = [[1.0, 0.0], [0.0, 1.0]]\n'
                             b'support = ["0"]\n', "--support: entry 0 is the string '0'"),
    "budget string": ("spec.json", b'{"family": "gaussian-scalar", "budget": "lots"}', "--budget"),
    "A of strings": ("spec.json", b'{"family": "gaussian-vector", "budget": 1, "A": [["a", "b"]]}', "--A"),
    "A ragged": ("spec.json", b'{"family": "gaussian-vector", "budget": 1, "A": [[1], [1, 2]]}', "--A"),
    "A boolean": ("spec.json", b'{"family": "gaussian-vector", "budget": 1, "A": true}', "--A"),
    "m text": ("spec.json", b'{"family": "gaussian-vector", "budget": 1, "m": "3", "n": 2}', "--m"),
    "k float": ("spec.json", b'{"family": "subset", "signal_cov": [[1, 0], [0, 1]], "k": 1.5}', "--k"),
    "knows list": ("spec.json", b'{"family": "gaussian-scalar", "budget": 1, "knows": ["x"]}', "--knows"),
    "formulation number": ("spec.json", b'{"family": "binary", "budget": 0.1, "p_xy": [[0.5, 0], [0, 0.5]], '
                           b'"formulation": 3}', "--formulation"),
    "solver number": ("spec.json", b'{"family": "gaussian-scalar", "budget": 1, "solver": 3}', "solver"),
    "budgets object": ("spec.json", b'{"family": "gaussian-scalar", "budget": 1, "budgets": {"a": 1}}',
                       "--budgets"),
    "family list": ("spec.json", b'{"family": ["binary"], "budget": 1}', "unknown family"),
}


@pytest.mark.parametrize("case", list(BAD_SPECS))
def test_bad_spec_values_and_encodings_are_one_line_exit_2(tmp_path, capsys, case):
    """Binary or non-UTF-8 files and spec values of the wrong type: one line on stderr, exit 2, never a traceback."""
    name, content, message = BAD_SPECS[case]
    spec = tmp_path / name
    spec.write_bytes(content)
    code, out = run("solve", "--spec", spec)
    assert out == ""
    assert_one_line_error(capsys, code, contains=message)


def test_unreadable_spec_is_one_line_exit_2(tmp_path, capsys, monkeypatch):
    spec = tmp_path / "spec.json"
    spec.write_text('{"family": "gaussian-scalar", "budget": 1}')

    def denied(self):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", denied)
    code, _ = run("solve", "--spec", spec)
    assert_one_line_error(capsys, code, contains="cannot read")


def test_support_mask_means_rows_not_indices(tmp_path):
    """A boolean mask of length m selects rows: [true, false, true] is rows 0 and 2, not the rows 1, 0, 1."""
    A = "[[1.0,0.5],[0.2,1.0],[0.3,-0.4]]"
    base = ["solve", "gaussian-sparse", "--A", A, "--noise-cov", "0.2", "--json"]
    by_rows = json.loads(run(*base, "--support", "0,2")[1])
    code, text = run(*base, "--support", "[true, false, true]")
    by_mask = json.loads(text)
    assert code == 0 and by_mask["ok"]
    assert by_mask["mi"] == pytest.approx(by_rows["mi"], abs=1e-7)
    assert by_mask["mi"] == pytest.approx(oracles.subset_mi(1.0, 0.2 * np.eye(3), [0, 2], A=np.array(json.loads(A))),
                                          abs=1e-6)
    spec = tmp_path / "mask.json"
    spec.write_text(json.dumps({"family": "gaussian-sparse", "A": json.loads(A), "noise_cov": 0.2,
                                "support": [True, False, True]}))
    code, text = run("solve", "--spec", spec, "--json")
    assert code == 0 and json.loads(text)["mi"] == pytest.approx(by_rows["mi"], abs=1e-7)


# ------------------------------------------------------------ resources


@pytest.fixture
def small_machine(monkeypatch):
    """A machine on which a Gaussian model's data may take 8 GiB."""
    monkeypatch.setattr(cli, "_usable_memory", lambda: 8.0 * 2**30)


@pytest.fixture
def no_allocation(monkeypatch):
    """Fail the test if the random projection is drawn (the refusal must come before any allocation)."""

    def rng(*args, **kwargs):
        raise AssertionError("the random A was allocated before the size check")

    monkeypatch.setattr(np.random, "default_rng", rng)


@pytest.mark.parametrize("m", [30000, 100000])
def test_too_large_random_projection_is_refused_before_allocation(small_machine, no_allocation, capsys, m):
    code, out = run("solve", "gaussian-vector", "--m", m, "--n", 30000, "--budget", 1)
    line = assert_one_line_error(capsys, code, contains="--m:")
    assert out == ""
    assert f"m={m}, n=30000" in line and "GiB" in line  # the size and the estimate
    assert "use m <=" in line or "alone is too large" in line  # and what would work
    assert "m = n <=" in line


def test_refusal_suggests_sizes_that_fit(small_machine, capsys):
    code, _ = run("solve", "gaussian-vector", "--m", 30000, "--n", 100, "--budget", 1)
    line = assert_one_line_error(capsys, code, contains="--m:")
    m_max = int(line.split("use m <= ")[1].split(",")[0])
    side = int(line.split("m = n <= ")[1].split()[0])
    data, square = cli._gaussian_bytes(m_max, 100)
    assert data + square <= 8 * 2**30 < sum(cli._gaussian_bytes(m_max + 1, 100))
    assert sum(cli._gaussian_bytes(side, side)) <= 8 * 2**30 < sum(cli._gaussian_bytes(side + 1, side + 1))


def test_refusal_without_monkeypatching_for_a_huge_model(no_allocation, capsys):
    """10^6 x 10^5 is beyond any machine the tests run on (the estimate is about 8 TiB)."""
    code, _ = run("sweep", "gaussian-vector", "--m", 10**6, "--n", 10**5, "--budgets", "1,2")
    assert_one_line_error(capsys, code, contains="--m: gaussian-vector with m=1000000")


def test_too_large_given_matrix_or_covariance_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli, "_usable_memory", lambda: 1e6)  # about 1 MB
    np.save(tmp_path / "A.npy", np.ones((400, 2)))  # 32 * 400^2 bytes for the m x m matrices alone
    code, _ = run("solve", "gaussian-vector", "--A", tmp_path / "A.npy", "--budget", 1)
    assert_one_line_error(capsys, code, contains="--A: gaussian-vector with m=400, n=2")
    code, _ = run("solve", "gaussian-sparse", "--signal-cov", tmp_path / "A.npy", "--support", "0")
    assert_one_line_error(capsys, code, contains="--signal-cov")  # not square: the factory's own message
    np.save(tmp_path / "S.npy", np.eye(400))
    code, _ = run("solve", "gaussian-sparse", "--signal-cov", tmp_path / "S.npy", "--support", "0")
    assert_one_line_error(capsys, code, contains="--signal-cov: gaussian-sparse with m=400, n=400")


@pytest.mark.parametrize(("m", "n", "noise"), [(300, 150, 0.1), (150, 300, 0.0), (200, 200, 0.5)])
def test_size_estimate_bounds_the_measured_peak(m, n, noise):
    """The CLI's estimate bounds the real peak of building the model and solving it (exact path), within 2x."""
    import tracemalloc

    from mi_cvx import gaussian_vector

    A = np.random.default_rng(0).normal(size=(m, n))
    tracemalloc.start()
    try:
        result = gaussian_vector(A, 1.0, noise_cov=noise).solve()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.ok
    estimate = cli._gaussian_bytes(m, n)[1]
    assert estimate / 2 < peak <= estimate


@pytest.mark.parametrize("where", ["build", "solve"])
def test_memory_error_anywhere_is_one_line_exit_2(monkeypatch, capsys, where):
    def out_of_memory(*args, **kwargs):
        raise MemoryError("Unable to allocate 6.71 GiB for an array with shape (30000, 30000) and data type float64")

    monkeypatch.setattr(*((cli, "build_problem") if where == "build" else (AttackProblem, "solve")), out_of_memory)
    code, out = run("solve", *SCALAR)
    line = assert_one_line_error(capsys, code, contains="out of memory")
    assert "6.71 GiB" in line and out == ""


def test_resource_limit_and_other_library_errors_are_one_line(monkeypatch, capsys):
    """A solve refused as beyond reach exits 3; any other MiCvxError exits 1; both one line, documented."""

    def beyond(self, *args, **kwargs):
        raise ResourceLimitError("the problem is beyond this machine's reach with CLARABEL: about 2e+04 s\nand "
                                 "90 GiB", seconds=2e4, bytes=90 * 2**30)

    monkeypatch.setattr(AttackProblem, "solve", beyond)
    code, _ = run("solve", *SCALAR)
    line = assert_one_line_error(capsys, code, expected_code=3, contains="refused")
    assert "beyond this machine's reach" in line and "90 GiB" in line

    def broken(self, *args, **kwargs):
        raise MiCvxError("this problem cannot be rebuilt")

    monkeypatch.setattr(AttackProblem, "solve", broken)
    code, _ = run("solve", *SCALAR)
    assert_one_line_error(capsys, code, expected_code=1, contains="cannot be rebuilt")
    assert cli.EXIT_CODES == {"ok": 0, "failed": 1, "bad_input": 2, "beyond_reach": 3, "interrupted": 130}
    for command in ([], ["solve"], ["sweep"], ["compare"], ["verify"], ["reproduce"]):
        run(*command, "--help")
        text = capsys.readouterr().out
        assert "exit status:" in text and "  3    the solve was refused" in text, command


# ---------------------------------------------------- routes of the API


@pytest.fixture
def captured_solves(monkeypatch):
    """Record the arguments of every AttackProblem.solve (then solve as asked)."""
    calls = []
    original = AttackProblem.solve

    def solve(self, solver=None, **kwargs):
        calls.append({"solver": solver, **kwargs})
        return original(self, solver, **kwargs)

    monkeypatch.setattr(AttackProblem, "solve", solve)
    return calls


def test_solver_and_options_reach_solve(captured_solves):
    code, text = run("solve", *SCALAR, "--solver", "SCS", "--option", "eps_abs=1e-9", "--option", "eps_rel=1e-9",
                     "--option", "max_iters=100000", "--json")
    data = json.loads(text)
    assert code == 0 and data["ok"] and data["solver"] == "SCS"
    assert data["mi"] == pytest.approx(oracles.scalar_gaussian_mi(1.0, 0.5, 0.3), abs=1e-6)
    assert captured_solves[-1] == {"solver": "SCS", "raise_on_failure": False, "eps_abs": 1e-9, "eps_rel": 1e-9,
                                   "max_iters": 100000}
    code, _ = run("solve", *SCALAR, "--time-limit", "60", "--json")
    assert code == 0 and captured_solves[-1]["time_limit"] == 60.0


@pytest.mark.filterwarnings("ignore:Solution may be inaccurate")
def test_options_change_the_solve(capsys):
    """Two SCS iterations cannot be accurate: the option really is passed (exit 1, the solve's own status)."""
    code, text = run("solve", *SCALAR, "--solver", "SCS", "--option", "max_iters=2", "--json")
    assert json.loads(text)["ok"] is False
    assert_one_line_error(capsys, code, expected_code=1, contains="not accurate")


def test_parse_solver_options():
    parse = cli.parse_solver_options
    assert parse(None) == {}
    assert parse(["eps_abs=1e-9", "verbose=false", "method = qdldl", "max_iter=5", "max_iter=7", "x=[1, 2]",
                  "label=\"a=b\""]) == {"eps_abs": 1e-9, "verbose": False, "method": "qdldl", "max_iter": 7,
                                        "x": [1, 2], "label": "a=b"}
    assert parse(["scs:eps_abs=1e-9", "SCS:eps_rel=1e-8", "CLARABEL:max_iter=50"], per_solver=True) == {
        "SCS": {"eps_abs": 1e-9, "eps_rel": 1e-8}, "CLARABEL": {"max_iter": 50}}
    for bad, per_solver in (("eps", False), ("=1", False), ("a b=1", False), ("eps=1", True), (":eps=1", True)):
        with pytest.raises(cli.InvalidInputError) as err:
            parse([bad], per_solver=per_solver)
        assert err.value.argument == "option"


def test_options_reach_sweep_verify_and_compare(monkeypatch):
    seen = {}
    for module_name, name in (("sweep", "sweep"), ("convexity", "verify_convexity"),
                              ("comparison", "compare_solvers")):
        module = importlib.import_module(f"mi_cvx.{module_name}")
        original = getattr(module, name)

        def spy(*args, _name=name, _original=original, **kwargs):
            seen[_name] = kwargs.get("solver_options")
            return _original(*args, **kwargs)

        monkeypatch.setattr(module, name, spy)
    assert run("sweep", *SCALAR[:-2], "--budgets", "0.3", "--solver", "SCS", "--option", "eps_abs=1e-8",
               "--json")[0] == 0
    assert seen["sweep"] == {"eps_abs": 1e-8}
    assert run("verify", *SCALAR, "--trials", "5", "--option", "max_iter=200", "--json")[0] == 0
    assert seen["verify_convexity"] == {"max_iter": 200}
    code, text = run("compare", *SCALAR, "--solvers", "CLARABEL,SCS", "--option", "SCS:eps_abs=1e-9",
                     "--option", "SCS:eps_rel=1e-9", "--json")
    assert code == 0 and seen["compare_solvers"] == {"SCS": {"eps_abs": 1e-9, "eps_rel": 1e-9}}
    rows = {r["solver"]: r for r in json.loads(text)["rows"]}
    assert rows["SCS"]["ok"] and "eps_abs" in rows["SCS"]["note"]


@pytest.mark.parametrize(
    ("family_args", "formulations"),
    [
        (["gaussian-vector", "--A", "[[1.0,0.5],[0.2,1.0],[0.3,-0.4]]", "--budget", "0.5"], ["full", "compact"]),
        (["binary", "--p-xy", PXY, "--budget", "0.1"], ["channel", "transport"]),
        (["discrete", "--p-xy", "[[0.3,0.05],[0.05,0.3],[0.1,0.2]]", "--budget", "0.1"], ["channel", "transport"]),
    ],
)
def test_every_formulation_is_reachable_and_agrees(family_args, formulations):
    values = []
    for formulation in formulations:
        code, text = run("solve", *family_args, "--formulation", formulation, "--json")
        data = json.loads(text)
        assert code == 0 and data["ok"], (formulation, data)
        values.append(data["mi"])
    assert values[1] == pytest.approx(values[0], abs=1e-5)


@pytest.mark.parametrize(
    "family_args",
    [
        SCALAR,
        ["gaussian-vector", "--m", "3", "--n", "2", "--noise-cov", "0.1", "--budget", "0.5"],
        ["gaussian-sparse", "--A", "[[1.0,0.5],[0.2,1.0],[0.3,-0.4]]", "--support", "0,2", "--noise-cov", "0.2",
         "--budget", "0.3"],
        ["binary", "--p-xy", PXY, "--budget", "0.1"],
        ["discrete", "--p-xy", "[[0.3,0.05],[0.05,0.3],[0.1,0.2]]", "--budget", "0.1"],
    ],
)
def test_label_blind_attacker_is_reachable(family_args):
    """--knows x reaches the label-blind attacker, who can hide no more than the paper's attacker."""
    paper = json.loads(run("solve", *family_args, "--knows", "x_and_y", "--json")[1])
    code, text = run("solve", *family_args, "--knows", "x", "--json")
    blind = json.loads(text)
    assert code == 0 and blind["ok"]
    assert blind["mi"] >= paper["mi"] - 1e-6


def test_shipped_example_spec_solves():
    """The spec file the README shows: ``mi-cvx solve --spec examples/spec_vector.json``."""
    spec = EXAMPLES / "spec_vector.json"
    code, text = run("solve", "--spec", spec, "--json")
    data = json.loads(text)
    assert code == 0 and data["ok"] is True
    assert abs(data["oracle_gap"]) < 1e-5  # isotropic noise: the closed form checks it
    code, text = run("solve", "--spec", spec)
    assert code == 0 and "I*" in text and "Gaussian vector, m=3, n=2" in text
    code, text = run("sweep", "--spec", spec, "--json")
    rows = json.loads(text)["rows"]
    assert code == 0 and [r["budget"] for r in rows] == json.loads(spec.read_text())["budgets"]
    assert all(r["ok"] for r in rows) and rows[0]["mi"] > rows[-1]["mi"]


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
