"""Performance functions on known distributions; model metadata and scikit-learn guard."""

import json

import astropy.units as u
import numpy as np
import pytest
import sklearn
from ctapipe.reco import EnergyRegressor

from ctapipe_sst1m.instrument import sst1m_subarray
from ctapipe_sst1m.reco.metadata import (
    MODELS_JSON,
    IncompatibleModelError,
    load_model,
    model_metadata,
    write_model,
    write_models_json,
)
from ctapipe_sst1m.reco.performance import (
    angular_performance,
    angular_separation,
    energy_bins,
    energy_performance,
    gamma_hadron_auc,
)


def test_energy_performance_recovers_injected_bias_and_resolution():
    rng = np.random.default_rng(1)
    n = 200_000
    true = 10 ** rng.uniform(-0.5, 1.5, n) * u.TeV
    rel = rng.normal(0.1, 0.2, n)  # bias +10 %, resolution 20 %
    reco = true * (1 + rel)
    table = energy_performance(true, reco, energy_bins(-0.5, 1.5, 4))
    np.testing.assert_allclose(table["bias"], 0.1, atol=0.01)
    np.testing.assert_allclose(table["resolution"], 0.2, atol=0.01)
    assert table["n_events"].sum() == n


def test_angular_performance_68_percent_of_rayleigh():
    rng = np.random.default_rng(2)
    n = 100_000
    sigma = 0.15
    theta = np.hypot(rng.normal(0, sigma, n), rng.normal(0, sigma, n)) * u.deg
    table = angular_performance(np.full(n, 1.0) * u.TeV, theta, [0.5, 2] * u.TeV)
    # 68 % containment of a 2D Gaussian: sigma * sqrt(-2 ln(0.32))
    expected = sigma * np.sqrt(-2 * np.log(1 - 0.6827))
    assert table["angular_resolution_68"][0].to_value(u.deg) == pytest.approx(expected, rel=0.02)


def test_angular_separation_and_auc():
    sep = angular_separation(70 * u.deg, 359.5 * u.deg, 70 * u.deg, 0.5 * u.deg)
    assert sep.to_value(u.deg) == pytest.approx(1.0 * np.cos(np.deg2rad(70)), rel=1e-3)
    labels = np.array([1, 1, 1, 0, 0, 0], bool)
    assert gamma_hadron_auc([0.9, 0.8, 0.3, 0.4, 0.1, 0.2], labels) == pytest.approx(8 / 9)
    assert gamma_hadron_auc([0.9, np.nan, 0.7, 0.1, 0.2, 0.3], labels) == 1.0


def _tiny_regressor():
    subarray = sst1m_subarray((1, 2))
    reg = EnergyRegressor(
        subarray, model_cls="RandomForestRegressor", model_config={"n_estimators": 2}
    )
    reg.features = ["a"]
    rng = np.random.default_rng(0)
    from astropy.table import Table

    table = Table({"a": rng.uniform(size=50), "true_energy": rng.uniform(1, 2, 50) * u.TeV})
    reg.fit(subarray.tel[1], table)
    return reg


def test_metadata_written_and_loaded(tmp_path):
    reg = _tiny_regressor()
    meta = model_metadata(config={"x": 1}, node={"zenith_deg": 20.0})
    path = write_model(reg, tmp_path / "energy.pkl", meta)
    write_models_json(tmp_path, meta)
    loaded = load_model(path)
    assert loaded.sst1m_metadata["sklearn_version"] == sklearn.__version__
    assert loaded.sst1m_metadata["config"] == {"x": 1}
    assert set(meta) >= {"ctapipe_sst1m_version", "ctapipe_version", "sklearn_version"}


def test_incompatible_sklearn_from_models_json(tmp_path):
    reg = _tiny_regressor()
    meta = model_metadata()
    path = write_model(reg, tmp_path / "energy.pkl", meta)
    meta["sklearn_version"] = "1.2.2"
    (tmp_path / MODELS_JSON).write_text(json.dumps(meta))
    with pytest.raises(IncompatibleModelError, match="trained with scikit-learn 1.2.2") as err:
        load_model(path)
    assert "\n" not in str(err.value)


def test_incompatible_sklearn_from_pickle(tmp_path, monkeypatch):
    reg = _tiny_regressor()
    # pretend the forest was pickled by another scikit-learn
    import sklearn.base

    monkeypatch.setattr(sklearn.base, "__version__", "1.2.2")
    write_model(reg, tmp_path / "energy.pkl", model_metadata())
    monkeypatch.undo()
    with pytest.raises(IncompatibleModelError, match="pickled with scikit-learn 1.2.2"):
        load_model(tmp_path / "energy.pkl")


def test_model_compression_is_a_choice_and_both_load(tmp_path):
    reg = _tiny_regressor()
    plain = write_model(reg, tmp_path / "plain.pkl", model_metadata())
    packed = write_model(reg, tmp_path / "packed.pkl", model_metadata(), compress=3)
    assert packed.stat().st_size < 0.7 * plain.stat().st_size
    from astropy.table import Table

    passing = {  # the stock default quality query
        "hillas_intensity": [100.0] * 3,
        "hillas_width": [0.1] * 3,
        "morphology_n_pixels": [10] * 3,
        "HillasReconstructor_is_valid": [True] * 3,
    }
    rows = Table({"a": [0.1, 0.5, 0.9], **passing})
    desc = reg.subarray.tel[1]
    predictions = [load_model(path).predict_table(desc, rows) for path in (plain, packed)]
    energies = [next(iter(p.values()))[f"{reg.prefix}_tel_energy"] for p in predictions]
    np.testing.assert_array_equal(energies[0], energies[1])
    assert np.all(np.isfinite(energies[0]))


def test_pickled_forests_do_not_keep_the_training_n_jobs(tmp_path):
    reg = _tiny_regressor()
    forest = reg._models[reg.subarray.tel[1]]
    forest.n_jobs = -1  # the packaged training configs use every core
    path = write_model(reg, tmp_path / "energy.pkl", model_metadata())
    loaded = load_model(path)
    assert loaded._models[loaded.subarray.tel[1]].n_jobs is None
    loaded.n_jobs = 2  # a DL2 run may still ask for threads
    assert loaded._models[loaded.subarray.tel[1]].n_jobs == 2


def test_uncompressed_models_are_plain_pickles_stock_ctapipe_reads(tmp_path):
    import pickle

    import joblib
    from ctapipe.reco import Reconstructor

    from ctapipe_sst1m.reco.metadata import file_sha256

    reg = _tiny_regressor()
    path = write_model(reg, tmp_path / "energy.pkl", model_metadata())
    with open(path, "rb") as f:
        assert isinstance(pickle.load(f), EnergyRegressor)
    assert isinstance(joblib.load(path), EnergyRegressor)
    stock = Reconstructor.read(path)  # what ctapipe-apply-models does
    loaded = load_model(path, expected_sha256=file_sha256(path))
    forests = [r._models[r.subarray.tel[1]] for r in (stock, loaded)]
    X = np.linspace(0, 1, 7, dtype=np.float32)[:, None]
    np.testing.assert_array_equal(forests[0].predict(X), forests[1].predict(X))


@pytest.mark.parametrize("compress", [0, 3, "joblib"])
def test_model_hash_checked_while_loading(tmp_path, compress):
    """Every file format: the right hash loads, any other hash is a one-line error."""
    import joblib

    from ctapipe_sst1m.reco.metadata import file_sha256

    reg = _tiny_regressor()
    path = tmp_path / "energy.pkl"
    if compress == "joblib":  # an uncompressed joblib file, as written by earlier versions
        joblib.dump(reg, path, compress=0)
    else:
        write_model(reg, path, model_metadata(), compress=compress)
    sha = file_sha256(path)
    assert load_model(path, expected_sha256=sha).features == ["a"]
    with pytest.raises(IncompatibleModelError, match="file hash differs") as err:
        load_model(path, expected_sha256="0" * 64)
    assert "\n" not in str(err.value)


def test_truncated_model_file_one_line_error(tmp_path):
    from ctapipe_sst1m.reco.metadata import file_sha256

    path = write_model(_tiny_regressor(), tmp_path / "energy.pkl", model_metadata())
    sha = file_sha256(path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(IncompatibleModelError, match="file hash differs"):
        load_model(path, expected_sha256=sha)
    with pytest.raises(IncompatibleModelError, match="not a readable model file") as err:
        load_model(path)
    assert "\n" not in str(err.value)
    assert str(path) in str(err.value)


def test_bins_under_the_minimum_are_blank_and_others_have_bootstrap_errors():
    rng = np.random.default_rng(3)
    n = 400
    true = np.concatenate([np.full(2, 0.8), np.full(n, 3.0)]) * u.TeV
    rel = np.concatenate([[0.9, 1.1], rng.normal(0.0, 0.2, n)])
    table = energy_performance(
        true, true * (1 + rel), [0.5, 1.0, 10.0] * u.TeV, min_events=20, n_resamples=300
    )
    assert table["n_events"].tolist() == [2, n]
    assert np.isnan(table["bias"][0]) and np.isnan(table["resolution"][0])
    assert np.isnan(table["bias_err"][0])
    # standard error of the median of a Gaussian: sigma * sqrt(pi / 2 / n)
    assert table["bias_err"][1] == pytest.approx(0.2 * np.sqrt(np.pi / 2 / n), rel=0.3)
    assert 0 < table["resolution_err"][1] < 0.05
    theta = np.abs(rng.normal(0, 0.2, n + 2)) * u.deg
    angular = angular_performance(true, theta, [0.5, 1.0, 10.0] * u.TeV, min_events=20)
    assert np.isnan(angular["angular_resolution_68"][0])
    assert np.isfinite(angular["angular_resolution_68"][1])


def test_performance_json_has_nulls_for_sparse_bins():
    from ctapipe_sst1m.reco.evaluation import metrics

    rng = np.random.default_rng(4)
    true = np.concatenate([np.full(3, 0.8), np.full(100, 3.0)]) * u.TeV
    reco = true * rng.normal(1.0, 0.1, len(true))
    theta = np.abs(rng.normal(0, 0.1, len(true))) * u.deg
    result = metrics(true, reco, theta, None, None, bins=[0.5, 1, 10] * u.TeV, min_events=20)
    assert result["n_events_per_bin"] == [3, 100]
    assert result["energy_resolution"][0] is None and result["energy_bias"][0] is None
    assert result["angular_resolution_68_deg"][0] is None
    assert result["energy_resolution"][1] == pytest.approx(0.1, abs=0.03)
    assert result["energy_resolution_err"][1] > 0
    json.dumps(result, allow_nan=False)  # strict JSON: no NaN literals


def test_too_few_events_after_the_cuts_is_one_line_with_the_cut_flow():
    from astropy.table import Table
    from traitlets.config import Config

    from ctapipe_sst1m.reco.training import TooFewEventsError, TrainingSample

    subarray = sst1m_subarray((1, 2))
    criteria = [("bright", "hillas_intensity > 50"), ("wide", "hillas_width > 0")]
    config = Config({"EnergyRegressor": {"QualityQuery": {"quality_criteria": criteria}}})
    reg = EnergyRegressor(
        subarray, model_cls="RandomForestRegressor", features=["hillas_width"], config=config
    )
    table = Table(
        {
            "hillas_intensity": [10.0] * 30 + [100.0] * 4,
            "hillas_width": [0.1] * 34,
            "true_energy": [1.0] * 34 * u.TeV,
        }
    )
    sample = TrainingSample(min_training_events=10)
    with pytest.raises(TooFewEventsError) as err:
        sample.fit_energy(reg, subarray.tel[1], table, what="g.h5: gamma events of tel 1")
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("g.h5: gamma events of tel 1: 4 of 34 training events pass")
    assert "'bright': 4, 'wide': 4" in message and "at least 10 needed" in message
