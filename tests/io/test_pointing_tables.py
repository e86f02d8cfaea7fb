"""The pointing recorder, writer and the one pointing reader of DL1 files."""

import astropy.units as u
import numpy as np
import pytest
import tables
from astropy.table import Table
from astropy.time import Time
from ctapipe.io import TableLoader, write_table

from ctapipe_sst1m.io.pointing_tables import (
    PointingRecorder,
    read_telescope_pointing,
    telescopes_with_pointing,
)
from ctapipe_sst1m.reco.model_bank import file_pointing

T0 = Time("2024-03-04T22:00:00", scale="tai").unix_tai


def _track(t):
    """A slow smooth track (rad): 0.004 deg/s in altitude, 0.01 deg/s in azimuth."""
    return np.deg2rad(40 + 0.004 * t), np.deg2rad((359.9 + 0.01 * t) % 360)


def test_recorder_keeps_bounded_rows_and_the_last_event():
    recorder = PointingRecorder(interval=10 * u.s)
    times = np.arange(0, 61, 0.5)  # 2 events per second for a minute
    for t in times:
        recorder(22, T0 + t, *_track(t))
    recorder(22, T0 + 61, np.nan, np.nan)  # unknown pointing: ignored
    table = recorder.to_tables()[22]
    got = table["time"].unix_tai - T0
    # one row per 10 s, and the last event (60.5 s) so that every event time is covered
    np.testing.assert_allclose(got, [0, 10, 20, 30, 40, 50, 60, 60.5], atol=1e-6)
    assert table["altitude"].unit == u.rad

    # a jump of the pointing (a new target) is recorded at once
    recorder(22, T0 + 62, np.deg2rad(60), 0.0)
    assert recorder.to_tables()[22]["time"][-1].unix_tai - T0 == pytest.approx(62)


def test_written_table_is_read_by_ctapipe_and_by_our_reader(tmp_path):
    path = tmp_path / "dl1.h5"
    write_table(Table({"obs_id": [1, 1], "event_id": [1, 2]}), path, "/dummy")
    recorder = PointingRecorder(interval=10 * u.s)
    times = np.arange(0, 100, 1.0)
    for t in times:
        recorder(21, T0 + t, *_track(t))
    recorder.write(path)
    assert telescopes_with_pointing(path) == [21]
    pointing = read_telescope_pointing(path, 21)
    assert pointing.kind == "monitoring"
    # interpolated between rows 10 s apart: exact for this track (linear)
    query = Time(T0 + np.array([3.3, 47.25, 99.0]), format="unix_tai", scale="tai")
    alt, az = pointing.at(query)
    alt_true, az_true = _track(np.array([3.3, 47.25, 99.0]))
    np.testing.assert_allclose(alt.to_value(u.rad), alt_true, atol=1e-9)
    np.testing.assert_allclose(np.cos(az.to_value(u.rad) - az_true), 1, atol=1e-12)
    with pytest.raises(ValueError):  # outside the recorded run, as ctapipe's interpolator
        pointing.at(Time(T0 + np.array([150.0]), format="unix_tai", scale="tai"))
    clipped, _ = pointing.at(
        Time(T0 + np.array([150.0]), format="unix_tai", scale="tai"), clip=True
    )
    assert clipped[0].to_value(u.rad) == pytest.approx(_track(99.0)[0])
    zenith, azimuth = file_pointing(tables.open_file(path))
    assert zenith == pytest.approx(90 - 40 - 0.004 * 49.5, abs=0.01)
    assert azimuth == pytest.approx(0.395, abs=0.01)  # circular mean across 0/360


def test_fixed_pointing_of_simulations(tmp_path):
    from ctapipe_sst1m.simulation import make_toy_file

    path = make_toy_file(tmp_path / "toy.h5", "gamma", n_showers=2000, seed=3, zenith=30.0)
    assert telescopes_with_pointing(path) == [1, 2]
    pointing = read_telescope_pointing(path, 1)
    assert pointing.kind == "fixed"
    with TableLoader(path, dl1_parameters=True, pointing=True) as loader:
        events = loader.read_telescope_events([1])
    alt, az = pointing.at(events["time"], obs_id=np.asarray(events["obs_id"]))
    np.testing.assert_allclose(
        alt.to_value(u.deg), u.Quantity(events["telescope_pointing_altitude"]).to_value(u.deg)
    )
    assert alt[0].to_value(u.deg) == pytest.approx(60.0)
    assert read_telescope_pointing(path, 7) is None
