"""Light curve: runs from GTI rows, nights noon to noon, fluxes per run consistent with the
injected integral flux."""

import astropy.units as u
import numpy as np
import pytest
from astropy.time import Time
from gammapy.data import DataStore
from synthetic_dl3 import TARGET, truth_model

from ctapipe_sst1m.analysis.lightcurve import LightCurveAnalysis, night_intervals, run_intervals
from ctapipe_sst1m.analysis.spectrum import SpectrumAnalysis


def test_run_intervals_merge_small_gaps():
    t = Time("2024-03-05T20:00:00")
    start = t + [0, 40.5, 100, 140.2] * u.s
    stop = t + [40, 80, 140, 180] * u.s
    runs = run_intervals(start, stop, max_gap=1 * u.s)
    assert len(runs) == 2
    assert runs[0][0] == start[0] and runs[0][1] == stop[1]
    assert runs[1][0] == start[2] and runs[1][1] == stop[3]


def test_night_intervals():
    times = Time(["2024-03-05T20:00:00", "2024-03-06T03:00:00", "2024-03-06T21:00:00"])
    nights = night_intervals(times)
    assert len(nights) == 2
    assert nights[0][0].isot.startswith("2024-03-05T12:00")
    for t in times[:2]:
        assert nights[0][0] <= t < nights[0][1]


def test_lightcurve_per_run_and_night(synthetic_index):
    store = DataStore.from_dir(synthetic_index)
    spectrum = SpectrumAnalysis(
        model="logparabola", reference_energy=1 * u.TeV, true_bins_per_decade=10, n_flux_points=2
    )
    result = spectrum.start(TARGET, (1 * u.TeV, 100 * u.TeV), False)
    lc = LightCurveAnalysis(energy_threshold=1 * u.TeV)
    lc.start(spectrum)
    for obs_id in store.obs_table["OBS_ID"]:
        obs = store.obs(obs_id)
        spectrum.add(obs)
        lc.add(obs)
    spectrum.finish()
    per_run, per_night = lc.finish(result.model)
    runs, nights = lc.table(per_run), lc.table(per_night)
    assert len(runs) == 4  # two observations of two GTI rows each
    assert len(nights) == 1
    truth = truth_model().spectral_model.integral(1 * u.TeV, 100 * u.TeV)
    pull = ((runs["flux"] - truth) / runs["flux_err"]).to_value(u.one)
    assert np.all(np.abs(pull) < 3)
    night_pull = ((nights["flux"][0] - truth) / nights["flux_err"][0]).to_value(u.one)
    assert abs(night_pull) < 3
    assert nights["counts"][0] == pytest.approx(runs["counts"].sum())
    assert not np.any(runs["is_ul"])
