"""Smoke test: every script in examples/ runs to completion and prints what it promises."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mi_cvx import oracles, solvers

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

#: Key output of each script (scripts not listed here only need to exit 0).
EXPECTED = {
    "discrete_family.py": ["binary, D = 0.1: I* = ", "D0 = 0.3000", "label-blind attacker", "3-ary source"],
    "subset_family.py": ["attack rows", "gap to exact", "sparse SDP on those rows"],
    "custom_budget.py": ["with caps", "weighted budget", "budget_used"],
    "compare_solvers.py": ["CLARABEL", "SCS with eps 1e-9", "PASSED"],
    "sweep_and_plot.py": ["28 points, 0 flagged", "wrote"],
    "power_grid.py": ["case118", "conic objective", "(ok=True)", "paper's attacker at KL"],
    "real_data.py": ["diabetes: 442 patients", "blind optimal", "breast cancer: 569 patients", "wrote"],
}

SCRIPTS = sorted(p.name for p in EXAMPLES.glob("*.py"))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Run every example at once (they are independent), each in its own directory."""
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONWARNINGS": "ignore::DeprecationWarning"}
    procs = {}
    for name in SCRIPTS:
        cwd = tmp_path_factory.mktemp(name.removesuffix(".py"))
        args = [sys.executable, str(EXAMPLES / name)]
        if name == "sweep_and_plot.py":
            args.append(str(cwd))
        procs[name] = subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       text=True)
    results = {}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=600)
        results[name] = (proc.returncode, out, err)
    return results


def test_expected_scripts_exist():
    assert set(EXPECTED) <= set(SCRIPTS)


@pytest.mark.parametrize("name", SCRIPTS)
def test_example_runs(runs, name):
    code, out, err = runs[name]
    assert code == 0, f"{name} failed:\n{err[-3000:]}"
    assert "Traceback" not in err
    for text in EXPECTED.get(name, []):
        assert text in out, f"{name}: expected {text!r} in its output:\n{out}"


def test_discrete_example_value_is_the_closed_form(runs):
    """The binary value discrete_family.py prints, against Theorem 3.3's closed form (not pinned digits).

    The script solves on the default chain, whose backends all promise a relative error of at most
    solvers.tolerance("CLARABEL") = 1e-5 (``|v - v*| / (1 + |v*|)``; the exact path is tighter); it prints
    six decimals, which adds at most 5e-7.
    """
    code, out, err = runs["discrete_family.py"]
    assert code == 0, err[-3000:]
    found = re.search(r"binary, D = 0\.1: I\* = (-?[0-9.]+) nats \(oracle (-?[0-9.]+)", out)
    assert found, out
    printed, printed_oracle = float(found[1]), float(found[2])
    exact = oracles.binary_oracle(np.array([[0.4, 0.1], [0.1, 0.4]]), 0.1).mi
    assert abs(printed_oracle - exact) <= 5e-7
    assert abs(printed - exact) <= solvers.tolerance("CLARABEL") * (1 + exact) + 5e-7
