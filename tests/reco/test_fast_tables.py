"""The numpy fast paths of the DL2 step give what the astropy / ctapipe originals give."""

import logging

import astropy.units as u
import numpy as np
from astropy.table import Column, QTable, Table, vstack
from ctapipe.reco.preprocessing import table_to_X

from ctapipe_sst1m.reco.apply import _concatenate_rows, _take
from ctapipe_sst1m.reco.forests import feature_matrix


def _features_table():
    rng = np.random.default_rng(3)
    n = 50
    table = QTable(
        {
            "width": rng.uniform(0.01, 0.1, n) * u.deg,
            "intensity": rng.uniform(50, 5000, n),
            "n_pixels": rng.integers(3, 100, n),
        }
    )
    table["width"][[4, 17]] = np.nan * u.deg
    table["intensity"][10] = np.nan
    table["intensity"][22] = np.inf
    table["intensity"][23] = -np.inf
    return table


def test_feature_matrix_equals_ctapipe_table_to_x(caplog):
    table = _features_table()
    rows = np.flatnonzero(np.arange(len(table)) % 3 != 0)  # a quality selection
    features = ["intensity", "width", "n_pixels"]
    expected_X, expected_valid = table_to_X(table[rows], features)
    with caplog.at_level(logging.WARNING):
        X, valid = feature_matrix(table, features, rows, logging.getLogger("test"))
    np.testing.assert_array_equal(valid, expected_valid)
    np.testing.assert_array_equal(X, expected_X)
    assert X.dtype == np.float32 and valid.sum() == len(rows) - 3
    assert np.float32(np.finfo(np.float32).max) in X[:, 0]  # +inf -> float32 max, as stock
    assert "width: 2" in caplog.text and "intensity: 1" in caplog.text


def test_take_fills_missing_rows_and_keeps_units():
    table = Table(
        {
            "energy": Column([1.0, 2.0, 3.0], unit=u.TeV, description="reco energy"),
            "is_valid": [True, True, False],
            "n": [5, 6, 7],
            "mask": np.array([[True, False], [False, True], [True, True]]),
        }
    )
    taken = _take(table, np.array([2, -1, 0]))
    np.testing.assert_array_equal(taken["energy"][[0, 2]], [3.0, 1.0])
    assert np.isnan(taken["energy"][1]) and taken["energy"].unit == u.TeV
    assert taken["energy"].description == "reco energy"
    np.testing.assert_array_equal(taken["is_valid"], [False, False, True])
    np.testing.assert_array_equal(taken["n"], [7, 0, 5])
    np.testing.assert_array_equal(taken["mask"], [[True, True], [False, False], [True, False]])
    empty = _take(table[:0], np.array([-1, -1]))
    assert len(empty) == 2 and np.all(np.isnan(empty["energy"]))


def test_concatenate_rows_equals_inner_vstack():
    a = Table({"x": Column([1.0, 2.0], unit=u.m), "y": [1, 2], "only_a": [0, 0]})
    b = Table({"x": Column([3.0], unit=u.m), "y": [3]})
    order = np.array([2, 0, 1])
    expected = vstack([a, b], join_type="inner")[order]
    result = _concatenate_rows([a, b], order)
    assert result.colnames == expected.colnames == ["x", "y"]
    for name in result.colnames:
        np.testing.assert_array_equal(result[name], expected[name])
    assert result["x"].unit == u.m
