"""Unit tests of the DL3 pieces: time system, dead time, grouping, FoV frame, good runs."""

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import AltAz, EarthLocation, SkyCoord
from astropy.table import QTable, Table
from astropy.time import Time

from ctapipe_sst1m.core.errors import SST1MInputError
from ctapipe_sst1m.dl3.events import RunData
from ctapipe_sst1m.dl3.good_runs import GoodRuns, read_good_runs
from ctapipe_sst1m.dl3.livetime import dead_time_estimate, deadc
from ctapipe_sst1m.dl3.observations import group_runs, merge_intervals
from ctapipe_sst1m.dl3.timesys import (
    MJDREF,
    from_dl3_seconds,
    high_res_to_dl3_seconds,
    to_dl3_seconds,
)
from ctapipe_sst1m.dl3.writer import fov_altaz


def test_time_system_round_trip():
    from ctapipe.time import ctao_high_res_to_time, time_to_ctao_high_res

    t = Time("2024-03-05T17:42:00", scale="utc") + np.linspace(0, 3600, 101) * u.s + 123 * u.ns
    raw = time_to_ctao_high_res(t)
    seconds = high_res_to_dl3_seconds(raw)
    back = from_dl3_seconds(seconds)
    tai = ctao_high_res_to_time(raw[:, 0], raw[:, 1])
    assert np.max(np.abs((back - tai).to_value(u.s))) < 1e-6
    np.testing.assert_allclose(to_dl3_seconds(tai), seconds, atol=1e-6, rtol=0)
    # the reference epoch: 2001-01-01 00:00:00 TT
    assert from_dl3_seconds(0.0).tt.isot == "2001-01-01T00:00:00.000"
    assert MJDREF.scale == "tt"


def _poisson_stream(rate, tau, duration, seed):
    rng = np.random.default_rng(seed)
    t, out = 0.0, []
    while True:
        t += rng.exponential(1 / rate)
        if t > duration:
            return np.array(out)
        out.append(t)
        t += tau  # non-paralysable: blind for tau after each recorded event


def test_dead_time_recovered_from_time_differences():
    rate, tau, duration = 2000.0, 50e-6, 20.0
    times = _poisson_stream(rate, tau, duration, 1)
    est, mean, n = dead_time_estimate([times[: len(times) // 2], times[len(times) // 2 :]])
    assert n == len(times) - 2
    assert est == pytest.approx(tau, rel=0.05)
    live, used, _ = deadc([times], max_dead_time=None)
    true_live = 1 - len(times) * tau / duration
    assert live == pytest.approx(true_live, abs=2e-3)
    # a known dead time overrides the estimate; the cap bounds a sparse stream's estimate
    assert deadc([times], dead_time=0.0)[0] == 1.0
    sparse = _poisson_stream(1.0, 20e-6, 60.0, 2)
    live, used, _ = deadc([sparse], max_dead_time=1e-3)
    assert used <= 1e-3 and live > 1 - 1e-3 / np.diff(sparse).mean() - 1e-12


def _run(obs_id, start, ra=83.63, dec=22.41, node="A", setup="stereo", duration=40.0):
    return RunData(
        obs_id=obs_id, tel_setup=setup, path=f"run{obs_id}.h5", tel_ids=[21, 22],
        wobble=SkyCoord(ra * u.deg, dec * u.deg), start=start, stop=start + duration,
        trigger_times=np.array([start, start + duration]), events=QTable(),
        model_node=node, model_hashes={}, location=None,
    )  # fmt: skip


def test_wobble_grouping():
    # pointing A x3 (back to back), gap 1 s, A, gap 5 s, B x2
    runs = [_run(1, 0), _run(2, 40), _run(3, 80), _run(4, 121), _run(5, 166, dec=21.61)]
    runs.append(_run(6, 206, dec=21.61))
    obs = group_runs(runs)
    assert [o.run_ids for o in obs] == [[1, 2, 3, 4], [5, 6]]
    assert [o.obs_id for o in obs] == [1, 5]
    # gaps between runs are not counted: ONTIME = sum of the runs
    assert obs[0].ontime == pytest.approx(160.0)
    assert obs[0].gti.shape == (2, 2)
    # 0.15 deg does not split, 0.25 deg does
    assert len(group_runs([_run(1, 0), _run(2, 40, dec=22.41 + 0.15)])) == 1
    assert len(group_runs([_run(1, 0), _run(2, 40, dec=22.41 + 0.25)])) == 2
    # a gap above max_gap splits, the limit is configurable
    assert len(group_runs([_run(1, 0), _run(2, 45)])) == 2
    assert len(group_runs([_run(1, 0), _run(2, 45)], max_gap=10 * u.s)) == 1
    # a wobble whose runs used different model nodes: distinct observations and OBS_IDs
    split = group_runs([_run(1, 0), _run(2, 40, node="B"), _run(3, 80, node="B")])
    assert [o.obs_id for o in split] == [1, 2] and split[1].run_ids == [2, 3]
    assert [o.obs_id for o in group_runs(runs, granularity="run")] == [1, 2, 3, 4, 5, 6]
    with pytest.raises(SST1MInputError, match="run 1 .* is also in"):
        group_runs([_run(1, 0), _run(1, 0)])


def test_merge_intervals():
    np.testing.assert_array_equal(merge_intervals([(5, 6), (0, 2), (2, 3)]), [[0, 3], [5, 6]])


def test_detx_dety_orientation_against_gammapy():
    from gammapy.utils.coordinates import FoVAltAzFrame

    alt0, az0 = 60.0, 170.0
    # known offsets: 0.5 deg higher -> DETY = +0.5; higher azimuth -> negative DETX (GADF)
    detx, dety = fov_altaz([alt0 + 0.5, alt0], [az0, az0 + 1.0], alt0, az0)
    assert dety[0] == pytest.approx(0.5) and detx[0] == pytest.approx(0.0, abs=1e-12)
    assert detx[1] == pytest.approx(-np.cos(np.deg2rad(alt0)), rel=1e-3) and detx[1] < 0
    location = EarthLocation(lon=14.78 * u.deg, lat=49.91 * u.deg, height=510 * u.m)
    time = Time("2024-03-05T20:00:00")
    rng = np.random.default_rng(3)
    alt = alt0 + rng.uniform(-3, 3, 50)
    az = az0 + rng.uniform(-3, 3, 50)
    origin = AltAz(alt=alt0 * u.deg, az=az0 * u.deg, location=location, obstime=time)
    frame = FoVAltAzFrame(origin=origin, location=location, obstime=time)
    fov = SkyCoord(AltAz(alt=alt * u.deg, az=az * u.deg, location=location, obstime=time))
    fov = fov.transform_to(frame)
    x, y = fov_altaz(alt, az, alt0, az0)
    np.testing.assert_allclose(x, fov.fov_lon.to_value(u.deg), atol=1e-9)
    np.testing.assert_allclose(y, fov.fov_lat.to_value(u.deg), atol=1e-9)


def test_good_runs_table(tmp_path):
    table = Table(
        {
            "obs_id": [1, 2, 2],
            "tel_setup": ["stereo", "stereo", "tel_021"],
            "good": [True, False, False],
            "flags": ["", "clouds; rate", "nsb"],
            "extra": [0, 0, 0],
        }
    )
    table.write(tmp_path / "good.ecsv")
    good = read_good_runs(tmp_path / "good.ecsv")
    assert good.bad_runs([1, 2, 3], "stereo") == {2: "clouds; rate"}
    assert good.bad_runs([1, 3], "stereo") == {}  # run 3 has no row: good
    assert good.bad_runs([1], "tel_021") == {}
    table.write(tmp_path / "good.fits")
    assert read_good_runs(tmp_path / "good.fits").bad_runs([2], "tel_021") == {2: "nsb"}
    with pytest.raises(SST1MInputError, match=r"bad\.ecsv: missing column\(s\) good, flags"):
        table["obs_id", "tel_setup"].write(tmp_path / "bad.ecsv")
        read_good_runs(tmp_path / "bad.ecsv")
    with pytest.raises(SST1MInputError):
        GoodRuns(Table({"obs_id": [1]}))
