"""``reproduce``: the quick run writes every PNG, CSV and the report, and its checks hold."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mi_cvx import InvalidInputError, cli, oracles
from mi_cvx.reproduce import FIGURES, paper_grid_search, projection_matrix, projection_problem, reproduce


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """``mi-cvx reproduce --out DIR --quick --json``, run in-process."""
    out = tmp_path_factory.mktemp("figures")
    buffer = io.StringIO()
    code = cli.main(["reproduce", "--out", str(out), "--quick", "--json"], stdout=buffer)
    assert code == 0
    return out, json.loads(buffer.getvalue())


def test_quick_run_writes_every_figure_csv_and_report(quick):
    out, data = quick
    assert data["passed"] is True and data["quick"] is True
    assert [f["key"] for f in data["figures"]] == list(FIGURES)
    for fig in data["figures"]:
        assert fig["png"] is not None, fig["note"]
        png, csv = Path(fig["png"]), Path(fig["csv"])
        assert png.parent == out and png.read_bytes()[:4] == b"\x89PNG"
        frame = pd.read_csv(csv)
        assert len(frame) >= fig["points"] > 0  # water_levels: one solve, a row per channel
        assert fig["failed"] == 0
        assert fig["checks"] and all(c["passed"] is not False for c in fig["checks"]), fig["checks"]
        if fig["max_oracle_gap"] is not None:
            assert fig["max_oracle_gap"] < 1e-5
    report = (out / "REPORT.md").read_text()
    for fig in data["figures"]:
        assert f"]({Path(fig['png']).name})" in report  # embedded image
        assert Path(fig["csv"]).name in report
    assert "The paper's claim" in report and "Quick mode" in report


def test_quick_run_numbers_agree_with_the_oracles(quick):
    out = quick[0]
    fig3 = pd.read_csv(out / "fig3.csv")
    exact = oracles.scalar_gaussian_mi(fig3["signal_var"], fig3["noise_var"], fig3["budget"])
    np.testing.assert_allclose(fig3["mi"], exact, atol=1e-5)
    fig6 = pd.read_csv(out / "fig6.csv")
    assert (fig6["paper_grid_mi"] >= fig6["mi"] - 1e-6).all()  # the grid search is never better
    water = pd.read_csv(out / "water_levels.csv")
    np.testing.assert_allclose(water["allocation_sdp"], water["allocation_oracle"], atol=1e-4 * water["lambda"].max())


def test_projection_matrices_nested_and_normalised():
    a6 = projection_matrix(6, 4, seed=3)
    a9 = projection_matrix(9, 4, seed=3)
    np.testing.assert_array_equal(a9[:6], a6)  # nested: more rows add to the same matrix
    fixed = projection_matrix(9, 4, seed=3, setting="fixed_power")
    assert np.sum(fixed**2) == pytest.approx(4.0)
    copies = projection_matrix(8, 4, seed=3, setting="copies")
    np.testing.assert_allclose(copies[4:], copies[:4])
    with pytest.raises(InvalidInputError, match="setting"):
        projection_matrix(3, 4, seed=0, setting="other")
    ap = projection_problem(3, 1.0, 2.0, n=4, seed=3)
    assert ap.solve().oracle_gap == pytest.approx(0.0, abs=1e-6)


def test_paper_grid_search_bounds_the_oracle():
    p = np.array([[0.4, 0.1], [0.1, 0.4]])
    budgets = [0.0, 0.1, 0.2, 0.35]
    grid = paper_grid_search(p, budgets, points=11)
    exact = [oracles.binary_oracle(p, d).mi for d in budgets]
    assert np.all(grid >= np.array(exact) - 1e-12)
    assert grid[0] == pytest.approx(exact[0], abs=1e-12)  # D = 0: q = 0 is on the grid
    assert grid[-1] == pytest.approx(0.0, abs=1e-12)


def test_report_object_api(tmp_path):
    report = reproduce(tmp_path, quick=True, figures=["water_levels"])
    assert report.passed and [f.key for f in report.figures] == ["water_levels"]
    assert "water_levels" in str(report) and report.to_dict()["figures"][0]["passed"] is True
    assert report.figures[0].checks[0].verdict == "yes"


def test_reproduce_rejects_bad_arguments(tmp_path):
    with pytest.raises(InvalidInputError, match="fig9"):
        reproduce(tmp_path, figures=["fig9"])
    file = tmp_path / "file.txt"
    file.write_text("x")
    with pytest.raises(InvalidInputError, match="not a directory"):
        reproduce(file, quick=True)
