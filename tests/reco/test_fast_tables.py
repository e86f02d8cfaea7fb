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


def test_predict_disp_table_equals_stock_disp_reconstructor():
    """Same forests, same rows: our disp path gives stock DispReconstructor's two tables."""
    from ctapipe.reco import DispReconstructor
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    from ctapipe_sst1m.instrument import sst1m_subarray
    from ctapipe_sst1m.reco.disp import has_stock_disp_prediction, predict_disp_table

    subarray = sst1m_subarray((1, 2))
    reco = DispReconstructor(
        subarray,
        features=["hillas_length", "hillas_width"],
        norm_cls="RandomForestRegressor",
        sign_cls="RandomForestClassifier",
    )
    key = subarray.tel[1]
    rng = np.random.default_rng(5)
    n = 400
    train_X = rng.uniform(0.02, 0.3, (n, 2)).astype(np.float32)
    norm = RandomForestRegressor(n_estimators=5, random_state=0)
    norm.fit(train_X, 3 * train_X[:, 0] + 0.1)
    sign = RandomForestClassifier(n_estimators=5, random_state=0)
    sign.fit(train_X, np.where(train_X[:, 1] > 0.15, 1, -1))
    reco._models[key] = (norm, sign)
    reco.unit = u.deg  # set by fit from the training target
    assert has_stock_disp_prediction(reco)

    m = 300
    table = Table(
        {
            "hillas_length": rng.uniform(0.02, 0.3, m) * u.deg,
            "hillas_width": rng.uniform(0.02, 0.3, m) * u.deg,
            "hillas_intensity": rng.uniform(10, 1000, m),
            "morphology_n_pixels": rng.integers(2, 50, m),
            "HillasReconstructor_is_valid": rng.uniform(size=m) > 0.1,
            "hillas_fov_lon": rng.uniform(-4, 4, m) * u.deg,
            "hillas_fov_lat": rng.uniform(-4, 4, m) * u.deg,
            "hillas_psi": rng.uniform(-90, 90, m) * u.deg,
            # from the horizon to the zenith, across the azimuth wrap
            "telescope_pointing_altitude": rng.uniform(5, 89.9, m) * u.deg,
            "telescope_pointing_azimuth": rng.uniform(-180, 360, m) * u.deg,
        }
    )
    table["hillas_width"][:5] = np.nan * u.deg  # passes no quality cut, NaN feature
    stock = reco.predict_table(key, table)
    ours = predict_disp_table(reco, key, table)
    assert stock.keys() == ours.keys()
    for prop, expected in stock.items():
        result = ours[prop]
        assert result.colnames == expected.colnames
        assert result.meta == expected.meta
        for name in expected.colnames:
            assert result[name].unit == expected[name].unit, name
            assert result[name].description == expected[name].description, name
            if name.endswith("_az"):  # compare directions, not the 0/360 wrap
                diff = (np.asarray(result[name]) - np.asarray(expected[name]) + 180) % 360 - 180
                assert np.nanmax(np.abs(diff)) < 1e-10
                np.testing.assert_array_equal(np.isnan(result[name]), np.isnan(expected[name]))
            elif result[name].dtype.kind == "f":
                np.testing.assert_allclose(result[name], expected[name], atol=1e-10, equal_nan=True)
            else:
                np.testing.assert_array_equal(result[name], expected[name])
    valid = ours[next(iter(ours))]["disp_tel_sign_score"]
    assert 100 < np.count_nonzero(np.isfinite(valid)) < m - 5


def test_chunk_reader_columns_equal_ctapipe_read_table(tmp_path):
    import tables
    from astropy.time import Time
    from ctapipe.instrument import SubarrayDescription
    from ctapipe.io import read_table

    from ctapipe_sst1m.reco.apply import DL1ChunkReader
    from ctapipe_sst1m.simulation import make_toy_file

    path = make_toy_file(tmp_path / "toy.h5", "gamma", n_showers=1500, seed=4)
    wanted = {"hillas_intensity", "hillas_psi", "hillas_fov_lon", "morphology_n_pixels"}
    with tables.open_file(path) as f:
        reader = DL1ChunkReader(f, SubarrayDescription.from_hdf(f), columns=wanted)
        for node_path, names in (
            ("/dl1/event/telescope/parameters/tel_001", None),
            ("/dl1/event/subarray/trigger", ["obs_id", "event_id", "time", "tels_with_trigger"]),
        ):
            n_rows = f.get_node(node_path).nrows
            start, stop = 3, n_rows - 2
            ours = reader._read(node_path, start, stop, names=names)
            stock = read_table(f, node_path, start=start, stop=stop)
            expected = names or [c for c in stock.colnames if c in reader.columns | {"tel_id"}]
            assert ours.colnames == expected
            assert len(ours) == stop - start > 10
            if names is None:
                assert ours["hillas_psi"].unit == u.deg
            for name in ours.colnames:
                if isinstance(stock[name], Time):
                    assert isinstance(ours[name], Time)
                    assert np.all(ours[name] == stock[name])
                    continue
                assert ours[name].unit == stock[name].unit, name
                assert ours[name].description == stock[name].description, name
                np.testing.assert_array_equal(np.asarray(ours[name]), np.asarray(stock[name]))
