"""Plain-numpy information measures and input validation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mi_cvx import InvalidInputError, info, validate


def test_entropy_and_binary_entropy():
    assert info.entropy([0.5, 0.5]) == pytest.approx(np.log(2))
    assert info.entropy([1.0, 0.0]) == 0.0
    assert info.binary_entropy(0.5) == pytest.approx(np.log(2))
    assert info.binary_entropy(0.0) == 0.0 and info.binary_entropy(1.0) == 0.0
    np.testing.assert_allclose(info.binary_entropy([0.1, 0.9]), 2 * [-(0.1 * np.log(0.1) + 0.9 * np.log(0.9))])
    assert info.to_bits(np.log(2)) == pytest.approx(1.0)


@given(st.lists(st.floats(0.0, 1.0), min_size=4, max_size=4).filter(lambda v: sum(v) > 1e-3))
def test_mutual_information_identities(cells):
    p = np.array(cells).reshape(2, 2) / sum(cells)
    mi = info.mutual_information(p)
    h_a, h_b, h_ab = info.entropy(p.sum(1)), info.entropy(p.sum(0)), info.entropy(p)
    assert mi == pytest.approx(h_a + h_b - h_ab, abs=1e-12)
    assert -1e-12 <= mi <= min(h_a, h_b) + 1e-12


def test_independent_and_identical_variables():
    assert info.mutual_information(np.outer([0.3, 0.7], [0.6, 0.4])) == pytest.approx(0.0, abs=1e-15)
    assert info.mutual_information(np.diag([0.2, 0.3, 0.5])) == pytest.approx(info.entropy([0.2, 0.3, 0.5]))


def test_channel_mi_and_distortion():
    p_xy = np.array([[0.4, 0.1], [0.1, 0.4]])
    identity = np.zeros((2, 2, 2))
    identity[0, :, 0] = identity[1, :, 1] = 1.0
    assert info.channel_mi(p_xy, identity) == pytest.approx(info.mutual_information(p_xy))
    assert info.expected_distortion(p_xy, identity, 1 - np.eye(2)) == 0.0
    flip = identity[::-1]  # always flip: a relabelling keeps the information
    assert info.channel_mi(p_xy, flip) == pytest.approx(info.mutual_information(p_xy))
    assert info.expected_distortion(p_xy, flip, 1 - np.eye(2)) == pytest.approx(1.0)


def test_gaussian_mi_matches_the_scalar_formula_and_singular_outputs():
    sy2, sn2 = 2.0, 0.5
    cov = np.array([[sy2, sy2], [sy2, sy2 + sn2]])  # (Y, Y + N)
    assert info.gaussian_mi(cov, [0], [1]) == pytest.approx(0.5 * np.log1p(sy2 / sn2))
    # a deterministic zero output carries no information (singular Cov(Z))
    assert info.gaussian_mi(np.diag([1.0, 0.0]), [0], [1]) == pytest.approx(0.0)
    # linear maps: I(Y; A Y + N) = 0.5 logdet(I + A A^T / sn2) for Y ~ N(0, I)
    A = np.array([[1.0, 0.5], [0.2, -1.0], [0.3, 0.3]])
    joint = np.eye(5)
    joint[2:, 2:] *= sn2
    value = info.gaussian_linear_mi(joint, np.hstack([np.eye(2), np.zeros((2, 3))]), np.hstack([A, np.eye(3)]))
    assert value == pytest.approx(0.5 * np.linalg.slogdet(np.eye(3) + A @ A.T / sn2)[1])


@pytest.mark.parametrize(
    ("func", "args", "message"),
    [
        (validate.scalar, ("x", float("nan")), "finite"),
        (validate.scalar, ("x", "abc"), "real number"),
        (validate.scalar, ("x", True), "real number"),
        (validate.scalar, ("x", [1.0, 2.0]), "real number"),
        (validate.scalar, ("x", [[1, 2], [3]]), "real number"),  # ragged: no numpy ValueError
        (validate.covariance, ("c", [[1, 2], [3]], 2), "numeric array"),
        (validate.budget, (None,), "required"),
        (validate.pmf, ("p", [0.5, 0.6]), "sum to 1"),
        (validate.pmf, ("p", [-0.1, 1.1]), "non-negative"),
        (validate.pmf, ("p", []), "empty"),
        (validate.psd_matrix, ("S", [[1.0, 0.0]]), "square"),
        (validate.choice, ("mode", "c", ("a", "b")), "one of"),
        (validate.integer, ("k", 2.5), "integer"),
        (validate.integer, ("k", -1), "at least 0"),
    ],
)
def test_validation_errors_name_the_argument(func, args, message):
    kwargs = {"low": 0} if func is validate.integer else {}
    with pytest.raises(InvalidInputError, match=message) as err:
        func(*args, **kwargs)
    assert str(err.value).startswith(err.value.argument + ":")


def test_validation_accepts_and_cleans():
    assert validate.scalar("x", np.float32(2.5)) == 2.5
    assert validate.scalar("x", np.array(3.0)) == 3.0
    assert validate.budget(None, allow_none=True) is None
    np.testing.assert_allclose(validate.covariance("c", 2.0, 3), 2 * np.eye(3))
    sym = validate.psd_matrix("S", [[2.0, 1.0], [1.0 + 1e-12, 2.0]])
    assert np.array_equal(sym, sym.T)
    assert validate.pmf("p", [0.25, 0.75]).sum() == 1.0


# ------------------------------------------------------------ row_indices


@pytest.mark.parametrize(
    ("value", "rows"),
    [
        ([True, False, True], [0, 2]),  # a mask of length m, not the rows 1, 0, 1
        (np.array([False, True, True]), [1, 2]),
        ([False, False, False], []),
        ([2, 0], [0, 2]),
        ((1,), [1]),
        (np.array([2, 1], dtype=np.int32), [1, 2]),
        ([2.0, 0.0], [0, 2]),  # integral floats, as JSON may give them
        (np.array([1.0]), [1]),
        (range(3), [0, 1, 2]),
        ([np.int64(1), 2], [1, 2]),
        ([], []),
        (np.array([], dtype=int), []),
    ],
)
def test_row_indices_accepts_indices_and_masks(value, rows):
    out = validate.row_indices("support", value, 3)
    assert out.dtype.kind == "i" and out.tolist() == rows


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([True, False], "length 3"),
        ([True, False, True, False], "length 3"),
        ([1.5], "entry 0 is 1.5"),
        (np.array([0.0, 0.5]), "entry 1"),
        (["a"], "entry 0 is the string 'a'"),
        ([0, "1"], "entry 1 is the string '1'"),
        ("0,1", "string"),
        (b"\x00", "string"),
        (None, "got None"),
        ([None], "entry 0 is None"),
        ([0, None], "entry 1 is None"),
        ([float("nan")], "entry 0 is NaN"),
        (np.array([np.nan]), "entry 0"),
        ([float("inf")], "integers"),
        ([3], r"\[0, 2\]"),
        ([-1, 0], r"out of range: \[-1\]"),
        ([10**30], "out of range"),
        ([1e300], "out of range"),
        ([1, 1], r"repeats a row index: \[1\]"),
        ([True, 1, 0], "mixes booleans"),
        ([[0, 1]], "entry 0"),
        (np.array([[0, 1]]), "1-d"),
        (2, "1-d"),
        ({0: True}, "mapping"),
        ([{"row": 0}], "entry 0"),
    ],
)
def test_row_indices_rejects_and_names_the_problem(value, message):
    with pytest.raises(InvalidInputError, match=message) as err:
        validate.row_indices("support", value, 3)
    assert err.value.argument == "support"
    assert str(err.value).startswith("support:")


def test_row_indices_without_rows_and_with_bad_m():
    assert validate.row_indices("rows", [], 0).tolist() == []
    with pytest.raises(InvalidInputError, match="no rows"):
        validate.row_indices("rows", [0], 0)
    with pytest.raises(InvalidInputError, match="m"):
        validate.row_indices("rows", [0], -1)


@given(st.lists(st.booleans(), min_size=1, max_size=12))
def test_row_indices_mask_round_trip(mask):
    rows = validate.row_indices("support", mask, len(mask))
    assert rows.tolist() == [i for i, keep in enumerate(mask) if keep]
    # and the rows themselves read back as the same rows
    assert validate.row_indices("support", rows, len(mask)).tolist() == rows.tolist()
