"""sst1m-data-quality: flags of an injected cloud and moonlight, the cosmic-ray light yield."""

import astropy.units as u
import numpy as np
import pytest
from ctapipe.core import run_tool

from ctapipe_sst1m.quality import good_obs_ids, read_dq_table
from ctapipe_sst1m.tools.data_quality import DataQualityTool

from .conftest import CLOUD_RUN, CLOUD_T, INTENSITY_MIN, MOON_RUN, REDUCTION


def _obs_id(run):
    return 20231110 * 10000 + run


def _run_dq(tmp_path, inputs, *extra, name="dq.ecsv"):
    out = tmp_path / name
    argv = [
        "-i",
        *map(str, inputs),
        f"--output={out}",
        f"--provenance-log={tmp_path / 'prov.log'}",
        *extra,
    ]
    assert run_tool(DataQualityTool(), argv, cwd=tmp_path, raises=False) == 0
    return read_dq_table(out)


@pytest.fixture(scope="module")
def dq_table(dq_night, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dq_table")
    return _run_dq(
        tmp,
        dq_night.dl1,
        f"--mc-reference={dq_night.mc}",
        f"--rate-scale={REDUCTION}",
        f"--CosmicRayRate.intensity_min={INTENSITY_MIN}",
    )


# ---------------------------------------------------------------------- the night
def test_exactly_the_cloud_and_moon_runs_are_flagged(dq_table):
    assert sorted(set(dq_table["tel_setup"])) == ["tel_021", "tel_022"]
    assert len(dq_table) == 10
    for row in dq_table:
        run = int(row["obs_id"]) % 10000
        if run == CLOUD_RUN:
            assert not row["good"]
            assert row["flags"].startswith("light_yield"), row["flags"]
            assert "nsb" not in row["flags"]
        elif run == MOON_RUN:
            assert not row["good"]
            assert row["flags"].startswith("nsb_level"), row["flags"]
            assert "light_yield" not in row["flags"]
        else:
            assert row["good"], row["flags"]
            assert row["flags"] == ""
    clean = [_obs_id(r) for r in (1, 3, 5)]
    assert good_obs_ids(dq_table, "tel_021") == clean
    assert good_obs_ids(dq_table) == clean


def test_light_yield_is_one_for_clean_runs_and_scales_with_transmission(dq_table):
    ly = np.asarray(dq_table["light_yield"])
    err = np.asarray(dq_table["light_yield_error"])
    runs = np.asarray(dq_table["obs_id"]) % 10000
    assert np.all(dq_table["cr_fit_ok"])
    clean = np.isin(runs, (1, 3, 5, MOON_RUN))
    # each clean run: 1 within 3 sigma; all of them together within 3 sigma of the mean
    assert np.all(np.abs(ly[clean] - 1) < 3 * err[clean]), ly[clean]
    w = 1 / err[clean] ** 2
    mean, sigma = np.sum(w * ly[clean]) / w.sum(), 1 / np.sqrt(w.sum())
    assert abs(mean - 1) < 3 * sigma, (mean, sigma)
    assert sigma < 0.06  # the test can tell a 20 % light loss
    cloud = runs == CLOUD_RUN
    assert np.all(np.abs(ly[cloud] - CLOUD_T) < 3 * err[cloud]), ly[cloud]
    # the raw rate ratio falls faster than the light (integral slope > 1)
    assert np.all(dq_table["cr_rate_ratio"][cloud] < ly[cloud])


def test_metric_columns_have_units_and_values(dq_table):
    row = dq_table[0]
    assert row["zenith"].unit == u.deg and 27 < row["zenith"].to_value(u.deg) < 29
    assert row["livetime"].to_value(u.s) == pytest.approx(30.0, rel=0.03)
    # 20 us dead time, ~10 Hz per telescope
    assert 1e-5 < row["dead_time_fraction"] < 1e-3
    assert row["rate_cleaned"].unit == u.Hz
    assert row["rate_above_200pe"] < row["rate_above_50pe"] <= row["rate_cleaned"]
    moon = dq_table[np.asarray(dq_table["obs_id"]) % 10000 == MOON_RUN]
    others = dq_table[np.asarray(dq_table["obs_id"]) % 10000 != MOON_RUN]
    assert np.all(moon["nsb_level"] > 1.5 * np.median(others["nsb_level"]))
    assert np.all(moon["pedestal_std"] > others["pedestal_std"].max())
    # 2023-11-11 01:20 UTC: the Moon (5 % illuminated) is below the horizon at Ondrejov
    assert np.all(dq_table["moon_altitude"] < 0 * u.deg)
    assert np.all((dq_table["moon_illumination"] > 0.02) & (dq_table["moon_illumination"] < 0.1))
    assert list(dq_table["wobble"][:3]) == ["W1", "W2", "W1"]
    assert list(dq_table["wobble_obs_id"][:3]) == [_obs_id(1), _obs_id(2), _obs_id(3)]


def test_rate_scale_scales_the_expectation(dq_night, tmp_path):
    one = dq_night.dl1[0]
    a = _run_dq(tmp_path, [one], f"--mc-reference={dq_night.mc}", "--rate-scale=0.4", name="a.ecsv")
    b = _run_dq(tmp_path, [one], f"--mc-reference={dq_night.mc}", "--rate-scale=0.8", name="b.ecsv")
    assert a["cr_rate_ratio"][0] == pytest.approx(2 * b["cr_rate_ratio"][0], rel=1e-9)
    mc_a, mc_b = (t["cr_mc_rate"][0].to_value(u.Hz) for t in (a, b))
    assert mc_a == pytest.approx(0.5 * mc_b, rel=1e-9)
    # twice the expected rate at the same data: a higher light yield
    assert a["light_yield"][0] > b["light_yield"][0]


def test_without_mc_no_light_yield_columns_and_fits_output(dq_night, tmp_path):
    table = _run_dq(tmp_path, dq_night.dl1[:2], name="dq.fits")
    assert "light_yield" not in table.colnames
    # without the MC reference the cloud is not seen (the NSB of runs 1 and 2 is normal)
    assert list(table["good"]) == [True, True]
    assert list(table["obs_id"]) == [_obs_id(1), _obs_id(2)]
