"""1-D spectrum on synthetic DL3: the injected log-parabola is recovered (full-enclosure with
containment correction, and point-like with RAD_MAX), the detection TS, flux points, and
gammapy's own ``Analysis`` run from the exported config gives the same counts."""

import astropy.units as u
import numpy as np
import pytest
from gammapy.data import DataStore
from synthetic_dl3 import TARGET, TRUTH, truth_model

from ctapipe_sst1m.analysis.config import spectrum_config
from ctapipe_sst1m.analysis.spectrum import (
    SpectrumAnalysis,
    detection_significance,
    max_wobble_regions,
)

ENERGY = (1 * u.TeV, 100 * u.TeV)


#: smaller than the reference's 41 true-energy bins per decade and 12 flux points: test speed
FAST = {"true_bins_per_decade": 10, "n_flux_points": 6}


def _run(index, point_like, **traits):
    store = DataStore.from_dir(index)
    analysis = SpectrumAnalysis(model="logparabola", reference_energy=1 * u.TeV, **FAST, **traits)
    analysis.start(TARGET, ENERGY, point_like)
    irf = "point-like" if point_like else "full-enclosure"
    for obs_id in store.obs_table["OBS_ID"]:
        analysis.add(store.obs(obs_id, required_irf=irf))
    return analysis.finish()


def test_detection_significance():
    # TS 25 with one degree of freedom is 5 sigma exactly
    assert detection_significance(25.0, 1)[0] == pytest.approx(5.0)
    assert detection_significance(0.0, 2) == (0.0, 1.0)


def test_max_wobble_regions():
    assert max_wobble_regions(0.4 * u.deg, 0.2 * u.deg) == 4  # 5 would touch
    assert max_wobble_regions(0.4 * u.deg, 0.1 * u.deg) == 11  # 2 arcsin(1/4) = 29°
    assert max_wobble_regions(0.4 * u.deg, 0.5 * u.deg) == 0


def _check_recovered(result):
    pars = result.fit["parameters"]
    amplitude, alpha = pars["amplitude"], pars["alpha"]
    assert result.fit["fit"]["success"]
    assert amplitude["value"] == pytest.approx(TRUTH["amplitude"], abs=2 * amplitude["error"])
    assert alpha["value"] == pytest.approx(TRUTH["alpha"], abs=2 * alpha["error"])
    assert result.fit["detection"]["significance"] > 10
    cov = np.array(result.fit["covariance"]["matrix"])
    assert cov.shape == (3, 3)
    assert np.sqrt(cov[0, 0]) == pytest.approx(amplitude["error"], rel=1e-6)
    # flux points agree with the injected spectrum
    table = result.flux_points.to_table(sed_type="dnde")
    ok = np.isfinite(table["dnde_err"]) & (table["sqrt_ts"] > 3)
    assert ok.sum() >= 3
    expected = truth_model().spectral_model(table["e_ref"][ok])
    pull = (table["dnde"][ok] - expected) / table["dnde_err"][ok]
    assert np.sum(pull.to_value(u.one) ** 2) < ok.sum() + 3 * np.sqrt(2 * ok.sum())


@pytest.fixture(scope="module")
def full_enclosure(synthetic_index):
    return _run(synthetic_index, point_like=False)


def test_full_enclosure_recovers_truth(full_enclosure):
    _check_recovered(full_enclosure)


def test_point_like_recovers_truth(synthetic_pointlike):
    _check_recovered(_run(synthetic_pointlike, point_like=True))


def test_gammapy_analysis_from_exported_config(synthetic_index, full_enclosure):
    """The exported AnalysisConfig reproduces the ON/OFF counts per observation."""
    from gammapy.analysis import Analysis

    result = full_enclosure
    ids = [int(d.name.split("_")[1]) for d in result.datasets]
    config = spectrum_config(synthetic_index, TARGET, ids, SpectrumAnalysis(**FAST), ENERGY)
    analysis = Analysis(config)
    analysis.get_observations()
    analysis.get_datasets()
    ours = result.cumulative_table()
    theirs = analysis.datasets.info_table(cumulative=True)
    np.testing.assert_allclose(theirs["counts"], ours["counts"])
    np.testing.assert_allclose(theirs["excess"], ours["excess"])
