"""mi-cvx attack: fit a model from a CSV file, attack its samples, write them, print the consequence."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

from mi_cvx import cli, data


def _run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return cli.main(list(argv), stdout=out), out.getvalue()


@pytest.fixture
def gaussian_csv(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.normal(size=3000)
    x = np.outer(y, [1.0, 0.5, -0.3]) + 0.4 * rng.normal(size=(3000, 3))
    frame = pd.DataFrame(x, columns=["a", "b", "c"]).assign(label=y)
    path = tmp_path / "gauss.csv"
    frame.to_csv(path, index=False)
    return path, x, y


def test_attack_writes_samples_and_predicts_the_retrained_error(gaussian_csv, tmp_path):
    path, x, y = gaussian_csv
    out = tmp_path / "attacked.csv"
    code, text = _run("attack", "--data", str(path), "--target", "label", "--budget", "0.5", "--out", str(out),
                      "--json")
    assert code == 0
    summary = json.loads(text)
    attacked = pd.read_csv(out)
    assert list(attacked.columns) == ["a", "b", "c", "label"]
    np.testing.assert_array_equal(attacked["label"], y)  # the target is untouched
    z = attacked[["a", "b", "c"]].to_numpy()
    assert np.mean(np.sum((z - x) ** 2, axis=1)) == pytest.approx(0.5, rel=0.1)  # the budget is spent
    # the least-squares regression retrained on the attacked features errs as the model predicts
    design = np.column_stack([z, np.ones(len(y))])
    residual = y - design @ np.linalg.lstsq(design, y, rcond=None)[0]
    assert np.mean(residual**2) == pytest.approx(summary["mmse_after"], rel=0.1)
    fit = data.fit_gaussian(y, x)
    assert summary["mmse_before"] == pytest.approx(fit.attack_problem(0.5).solve().consequences().mmse_before)


def test_attack_on_a_categorical_feature(tmp_path):
    rng = np.random.default_rng(1)
    label = rng.integers(0, 2, size=4000)
    level = np.where(rng.random(4000) < 0.8, label * 2, rng.integers(0, 3, size=4000))  # 0 or 2 mostly
    path = tmp_path / "cat.csv"
    pd.DataFrame({"level": np.array(["low", "mid", "high"])[level], "y": label}).to_csv(path, index=False)
    code, text = _run("attack", "--data", str(path), "--target", "y", "--features", "level", "--discrete",
                      "--budget", "0.1", "--out", str(tmp_path / "out.csv"), "--json")
    assert code == 0
    summary = json.loads(text)
    assert summary["bayes_error_after"] > summary["bayes_error_before"]
    assert summary["fano_bound"] <= summary["bayes_error_after"] + 1e-9
    attacked = pd.read_csv(tmp_path / "out.csv")
    assert set(attacked["level"]) <= {"low", "mid", "high"}  # decoded back to the labels
    assert np.mean(attacked["level"].to_numpy() != np.array(["low", "mid", "high"])[level]) <= 0.1 + 0.02


@pytest.mark.parametrize("argv, argument", [
    (["--target", "nope", "--budget", "1"], "--target"),
    (["--target", "label", "--budget", "1", "--features", "a,zz"], "--features"),
    (["--target", "label", "--budget", "-1"], "--budget"),
    (["--target", "label", "--budget", "1", "--discrete"], "--features"),
])
def test_attack_bad_input_is_one_line_naming_the_option(gaussian_csv, capsys, argv, argument):
    path, _, _ = gaussian_csv
    code, _ = _run("attack", "--data", str(path), *argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and argument in err[0], err


def test_attack_missing_file_names_data(capsys, tmp_path):
    code, _ = _run("attack", "--data", str(tmp_path / "none.csv"), "--target", "y", "--budget", "1")
    assert code == 2 and "--data" in capsys.readouterr().err
