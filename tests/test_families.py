"""The family registry: one description per family, read by every cross-cutting module."""

from __future__ import annotations

import ast
import json
import sys
import types
from pathlib import Path

import cvxpy as cp
import numpy as np
import pytest

import mi_cvx
from mi_cvx import cli, registry
from mi_cvx.convexity import AttackSpace, Check
from mi_cvx.core import AttackProblem, parameter
from mi_cvx.errors import InvalidInputError
from mi_cvx.family import PARAM_KINDS, Case, Family, Param

FAMILIES = mi_cvx.families()
PACKAGE = Path(mi_cvx.__file__).parent


def test_every_family_is_declared_once_with_what_the_generic_modules_read():
    assert list(FAMILIES) == ["gaussian_scalar", "gaussian_vector", "gaussian_sparse", "subset_attack",
                              "binary_channel", "discrete_channel"]
    for name, fam in FAMILIES.items():
        assert fam.name == name and fam.cli_name == name.replace("_", "-")
        assert callable(fam.factory) and fam.summary and fam.theory.startswith("docs/theory.md section")
        assert {p.kind for p in fam.params} <= set(PARAM_KINDS)
        assert fam.required, f"{name} declares no required parameter"
        assert fam.attack_space is not None and fam.witness is not None
        assert fam.cases is not None and fam.cases(), f"{name} has no case"
        assert all(callable(f) for f in fam.oracles.values()) and fam.oracles


def test_family_modules_declare_their_own_families():
    for module in registry.MODULES:
        declared = sys.modules[module].FAMILIES
        assert declared and all(isinstance(f, Family) for f in declared)
        for fam in declared:
            # the factory lives in the module that declares the family
            assert fam.factory.__module__ == module, (fam.name, fam.factory.__module__)


def test_every_case_builds_a_problem_of_its_family():
    for fam in FAMILIES.values():
        for case in fam.cases():
            assert case.family == fam.name
            problem = case.build()
            assert problem.family == fam.name
            assert mi_cvx.registry.family_of(problem) is fam


@pytest.mark.parametrize("name, expected", [
    ("gaussian_scalar", "gaussian_scalar"), ("gaussian-scalar", "gaussian_scalar"), ("binary", "binary_channel"),
    ("Binary-Channel", "binary_channel"), ("discrete", "discrete_channel"), ("subset", "subset_attack"),
])
def test_names_aliases_and_cli_spellings_resolve(name, expected):
    assert mi_cvx.get_family(name).name == expected
    # "discrete" is also the group of both discrete families, and keeps meaning the group
    assert expected in {c.family for c in mi_cvx.cases(name)}


@pytest.mark.parametrize("bad", ["sparkly", 3, None, ["binary"]])
def test_unknown_family_is_a_typed_error_naming_the_argument(bad):
    with pytest.raises(InvalidInputError, match="unknown family") as info:
        mi_cvx.get_family(bad)
    assert info.value.argument == "family"


def test_the_cli_options_are_generated_from_the_schemas():
    text = cli.build_parser().format_help()
    for fam in FAMILIES.values():
        assert fam.cli_name in text
    sub = cli.build_parser()._subparsers._group_actions[0].choices["solve"]
    flags = {s for a in sub._actions for s in a.option_strings}
    for fam in FAMILIES.values():
        for param in fam.params:
            assert "--" + param.name.replace("_", "-") in flags, (fam.name, param.name)
        for param in fam.params:
            if param.choices:
                action = next(a for a in sub._actions if a.dest == param.name)
                assert set(param.choices) <= set(action.choices)


def test_spec_keys_follow_the_schema(tmp_path):
    spec = tmp_path / "s.json"
    spec.write_text('{"family": "binary-channel", "p_xy": [[0.4, 0.1], [0.1, 0.4]], "budget": 0.1, "k": 2}')
    with pytest.raises(InvalidInputError, match="unknown key"):
        cli.load_spec(spec)
    spec.write_text('{"family": "binary-channel", "p_xy": [[0.4, 0.1], [0.1, 0.4]], "budget": 0.1}')
    problem = cli.build_problem(cli.load_spec(spec))
    assert problem.family == "binary_channel"
    assert problem.solve().mi == pytest.approx(mi_cvx.oracles.binary_oracle([[0.4, 0.1], [0.1, 0.4]], 0.1).mi,
                                               rel=1e-5)


def _dispatches_on_family_names(tree: ast.AST) -> list[str]:
    """``x.family == "..."``, ``family.startswith(...)`` and friends: code that asks a family its name."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            parts = [node.left, *node.comparators]
            names = [p for p in parts if isinstance(p, ast.Attribute) and p.attr == "family"]
            names += [p for p in parts if isinstance(p, ast.Name) and p.id == "family"]
            literals = [p for p in parts if isinstance(p, ast.Constant) and isinstance(p.value, str)]
            if names and literals:
                found.append(ast.unparse(node))
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "startswith"
                and "family" in ast.unparse(node.func.value)):
            found.append(ast.unparse(node))
    return found


def test_no_module_dispatches_on_family_name_strings():
    offenders = {}
    for path in PACKAGE.rglob("*.py"):
        hits = _dispatches_on_family_names(ast.parse(path.read_text(encoding="utf-8")))
        if hits:
            offenders[str(path.relative_to(PACKAGE))] = hits
    assert not offenders, offenders


# ------------------------------------------------------------------ a new family, in its own module only


def _toy_factory(budget):
    """``min (x - 1)^2`` style toy: a 'family' whose information is ``(1 - x)^2`` with ``x <= budget``."""
    b = parameter("budget", budget)
    x = cp.Variable(nonneg=True)
    con = x <= b
    problem = cp.Problem(cp.Minimize(cp.square(1 - x)), [con])

    def readout(ap):
        return {"attack": {"x": np.array(x.value)}, "mi_check": float((1 - x.value) ** 2),
                "budget_used": float(x.value)}

    return AttackProblem(problem=problem, parameters={"budget": b}, variables={"x": x}, family="toy",
                         readout=readout, oracle=lambda v: max(0.0, 1 - float(v["budget"])) ** 2,
                         budget_constraint=con, description="toy")


def _toy_space(ap):
    budget = float(ap.parameters["budget"].value)
    return AttackSpace("x in [0, budget]", sample=lambda rng: rng.uniform(0, budget),
                       mi=lambda x: float((1 - x) ** 2), violation=lambda x: max(0.0, float(x) - budget, -float(x)))


def _toy_witness(ap):
    return Check("deterministic_witness", None, detail="none for the toy", informational=True)


@pytest.fixture
def toy_family(monkeypatch):
    module = types.ModuleType("toy_family_module")
    module.FAMILIES = (Family(
        name="toy", summary="a toy family registered in one line", factory=_toy_factory,
        params=(Param("budget", "budget", "how far x may move", required=True),), theory="docs/theory.md section 0",
        group="toy", attack_space=_toy_space, witness=_toy_witness,
        cases=lambda: [Case(name="toy_half", family="toy", group="toy", factory=lambda: _toy_factory(0.5),
                            oracle=0.25, reference="(1 - 0.5)^2")]),)
    monkeypatch.setitem(sys.modules, "toy_family_module", module)
    monkeypatch.setattr(registry, "MODULES", (*registry.MODULES, "toy_family_module"))
    registry.families.cache_clear()
    yield module.FAMILIES[0]
    registry.families.cache_clear()


def test_a_new_family_reaches_cases_convexity_cli_and_comparison_through_one_registry_line(toy_family, capsys):
    assert "toy" in mi_cvx.families()
    case = mi_cvx.cases("toy")[0]
    problem = case.build()
    assert problem.solve().mi == pytest.approx(case.oracle, rel=1e-5)
    report = mi_cvx.verify_convexity(problem, trials=20, value_function=False)
    assert report.check("jensen").passed and report.check("admissible_set").passed
    assert report.check("deterministic_witness").detail == "none for the toy"
    frame = mi_cvx.compare_solvers(case, ["CLARABEL"])
    assert bool(frame["ok"].iloc[0])
    capsys.readouterr()
    assert cli.main(["solve", "toy", "--budget", "0.5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["family"] == "toy" and out["ok"] and out["mi"] == pytest.approx(0.25, rel=1e-5)


def test_the_old_cli_table_still_answers_with_a_deprecation_warning():
    with pytest.warns(DeprecationWarning, match="mi_cvx.families"):
        table = cli.FAMILIES
    assert table["binary-channel"] is mi_cvx.families()["binary_channel"]
