"""Problems and results pickle (to cache them, send them to workers, save them from a notebook) and round-trip."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import mi_cvx
from mi_cvx.errors import MiCvxError

CASES = mi_cvx.cases()


def _same_dicts(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], dict):
            _same_dicts(a[key], b[key])
        elif key not in ("solve_time", "setup_time"):
            np.testing.assert_equal(a[key], b[key], err_msg=key)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_a_solved_problem_and_its_result_round_trip(case):
    problem = case.build()
    result = problem.solve()
    assert result.ok, result.message

    again = pickle.loads(pickle.dumps(result))
    _same_dicts(result.to_dict(), again.to_dict())
    assert again.problem is not None and again.problem is not problem
    assert again.problem.parameter_values() == problem.parameter_values()
    assert again.problem.family == problem.family == case.family

    copy = pickle.loads(pickle.dumps(problem))
    assert copy.parameter_values() == problem.parameter_values()
    resolved = copy.solve()
    assert resolved.ok and resolved.mi == pytest.approx(result.mi, rel=1e-6, abs=1e-9)


def test_changed_parameter_values_travel_with_the_problem():
    problem = mi_cvx.gaussian_scalar(1.0, 0.5, 0.3)
    problem.parameters["budget"].value = 0.7
    copy = pickle.loads(pickle.dumps(problem))
    assert copy.parameters["budget"].value == 0.7
    assert copy.solve().mi == pytest.approx(float(mi_cvx.oracles.scalar_gaussian_mi(1.0, 0.5, 0.7)), rel=1e-5)


def test_optimality_survives_the_round_trip():
    result = mi_cvx.binary_channel([[0.3, 0.1], [0.15, 0.45]], 0.1).solve()
    again = pickle.loads(pickle.dumps(result))
    before, after = result.optimality(), again.optimality()
    assert after.holds(1e-5) and after.max_residual == pytest.approx(before.max_residual, abs=1e-12)


def _cap_first_row(variables):  # module level, so the constraint pickles with the problem
    return [variables["attack_cov"][0, 0] <= 0.05]


def test_custom_constraints_pickle_when_given_as_a_function():
    A = np.array([[1.0, 0.5], [0.0, 1.0], [0.3, -0.2]])
    problem = mi_cvx.gaussian_vector(A, 0.5, 1.0, 0.1).with_constraints(_cap_first_row)
    result = problem.solve()
    copy = pickle.loads(pickle.dumps(problem))
    assert copy.custom
    again = copy.solve()
    assert again.mi == pytest.approx(result.mi, rel=1e-6)
    assert again.attack["attack_cov"][0, 0] <= 0.05 + 1e-6


def test_a_problem_without_recipe_says_why_it_cannot_pickle_and_its_result_still_does():
    A = np.array([[1.0, 0.5], [0.0, 1.0], [0.3, -0.2]])
    base = mi_cvx.gaussian_vector(A, 0.5, 1.0, 0.1)
    problem = base.with_constraints([base.variables["attack_cov"][0, 0] <= 0.05])
    with pytest.raises(MiCvxError, match="cannot be pickled"):
        pickle.dumps(problem)
    result = problem.solve()
    again = pickle.loads(pickle.dumps(result))
    assert again.problem is None and again.mi == result.mi
    np.testing.assert_array_equal(again.attack["attack_cov"], result.attack["attack_cov"])


def test_subset_results_and_reports_pickle():
    sy, sn = np.diag([4.0, 3.0, 1.0]), np.diag([10.0, 0.1, 0.1])
    found = mi_cvx.subset_attack(sy, sn, 1)
    again = pickle.loads(pickle.dumps(found))
    assert again.subset == found.subset == (1,) and again.mi == found.mi
    report = mi_cvx.verify_convexity(mi_cvx.gaussian_scalar(1.0, 0.5, 0.3), trials=10, value_function=False)
    assert pickle.loads(pickle.dumps(report)).to_dict() == report.to_dict()
