"""The numerics of the data-quality package without configuration or files."""

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import EarthLocation, SkyCoord
from astropy.table import QTable
from astropy.time import Time

from ctapipe_sst1m.quality import QualityCriteria, fit_light_yield, read_dq_table, write_dq_table
from ctapipe_sst1m.quality.cosmic_rate import MCIntensityNode, MCIntensityReference
from ctapipe_sst1m.quality.metrics import elapsed_time, robust_std
from ctapipe_sst1m.quality.moon import moon_geometry
from ctapipe_sst1m.quality.table import build_table
from ctapipe_sst1m.quality.theta2 import li_ma_significance, reflected_positions, theta2_counts

ONDREJOV = EarthLocation(lon=14.782 * u.deg, lat=49.911 * u.deg, height=510 * u.m)


def _power_law_node(n, index, q0, rng, zenith=30.0, rate=10.0):
    """MC node: n intensities from dN/dQ ∝ Q^-index above q0, total rate ``rate`` Hz."""
    q = q0 * (1 - rng.uniform(size=n)) ** (-1 / (index - 1))
    return MCIntensityNode.from_weights(zenith, q, np.full(n, rate / n))


def test_light_yield_fit_recovers_the_scale_and_its_error():
    rng = np.random.default_rng(1)
    node = _power_law_node(200_000, 2.7, 50.0, rng)
    node.smooth(50.0, 1e5)
    edges = np.geomspace(400, 4000, 9)
    pulls = []
    for t in (0.6, 1.0, 1.2):
        for _ in range(20):
            n = rng.poisson(10.0 * 200.0)  # 200 s at 10 Hz above 50 p.e.
            q = t * 50.0 * (1 - rng.uniform(size=n)) ** (-1 / 1.7)
            fit = fit_light_yield(q, 200.0, node.rate, edges)
            assert fit.ok, fit.message
            pulls.append((fit.light_yield - t) / fit.light_yield_error)
        # rate ratio above the threshold = T^(index - 1)
        assert fit.rate_ratio == pytest.approx(t**1.7, rel=0.35)
    pulls = np.array(pulls)
    assert abs(pulls.mean()) < 0.4
    assert 0.7 < pulls.std() < 1.3


def test_light_yield_fit_refuses_too_few_events_and_no_livetime():
    rng = np.random.default_rng(2)
    node = _power_law_node(10_000, 2.7, 50.0, rng)
    edges = np.geomspace(400, 4000, 5)
    fit = fit_light_yield(np.array([500.0, 600.0]), 100.0, node.rate, edges, min_events=10)
    assert not fit.ok and "2 events" in fit.message and np.isnan(fit.light_yield)
    assert not fit_light_yield(np.array([500.0]), 0.0, node.rate, edges).ok


def test_mc_reference_interpolates_in_cos_zenith():
    a = MCIntensityNode.from_weights(20.0, np.array([100.0, 200.0]), np.array([1.0, 1.0]))
    b = MCIntensityNode.from_weights(40.0, np.array([100.0, 200.0]), np.array([2.0, 2.0]))
    ref = MCIntensityReference([b, a])
    c = np.cos(np.deg2rad([20.0, 30.0, 40.0]))
    f = (c[1] - c[0]) / (c[2] - c[0])
    rate, _ = ref.rate(np.array([50.0]), 30.0, 5.0)
    assert rate[0] == pytest.approx(2.0 + 2.0 * f)
    assert ref.rate(np.array([50.0]), 44.0, 5.0)[0][0] == pytest.approx(4.0)
    assert ref.rate(np.array([50.0]), 46.0, 5.0) is None


def test_li_ma_matches_gammapy_and_reflected_regions():
    from gammapy.stats import WStatCountsStatistic

    for n_on, n_off, alpha in ((130, 500, 0.2), (10, 100, 0.2), (0, 5, 0.5), (50, 50, 1.0)):
        expected = WStatCountsStatistic(n_on, n_off, alpha).sqrt_ts
        assert li_ma_significance(n_on, n_off, alpha) == pytest.approx(float(expected), abs=1e-6)
    target = SkyCoord(83.63 * u.deg, 22.01 * u.deg)
    pointing = target.directional_offset_by(0 * u.deg, 0.4 * u.deg)
    offs = reflected_positions(target, pointing, 5)
    assert np.allclose(offs.separation(pointing).deg, 0.4, atol=1e-9)
    assert offs.separation(target).deg.min() > 0.39  # 60° apart at 0.4°: 0.4° away
    counts = theta2_counts(theta_cut=0.2, n_off=5)
    on = target.directional_offset_by(np.linspace(0, 360, 7)[:-1] * u.deg, 0.05 * u.deg)
    counts.add(on.ra.deg, on.dec.deg, target, pointing, 3600.0)
    assert (counts.n_on, counts.n_off, counts.excess) == (6, 0, 6.0)
    assert counts.significance > 0


def test_moon_geometry_offline():
    # full moon 2024-03-25 07:00 UTC, new moon 2024-03-10 09:00, first quarter 2024-03-17 04:11
    times = Time(["2024-03-25T07:00", "2024-03-10T09:00", "2024-03-17T04:11"])
    alt, sep, frac = moon_geometry(times, ONDREJOV, 60 * u.deg, 180 * u.deg)
    assert frac[0] > 0.99 and frac[1] < 0.01 and frac[2] == pytest.approx(0.5, abs=0.02)
    assert np.all((-90 <= alt) & (alt <= 90)) and np.all((0 <= sep) & (sep <= 180))


def test_elapsed_time_and_robust_std():
    assert elapsed_time([0.0, 1.0, 2.0, 30.0, 31.0], max_gap=10.0) == 3.0
    assert elapsed_time([5.0], 10.0) == 0.0
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.normal(0, 5, 10_000), [1e6, -1e6]])
    assert robust_std(values) == pytest.approx(5.0, rel=0.05)


def _rows():
    base = dict(
        tel_setup="tel_021",
        pointing_ra=83.6 * u.deg,
        pointing_dec=22.4 * u.deg,
        zenith=30 * u.deg,
        livetime=600 * u.s,
        dead_time_fraction=0.001,
        ped_survival_fraction=np.nan,
        nsb_level=1.3,
        nsb_level_spread=0.01,
        moon_altitude=-10 * u.deg,
        moon_separation=90 * u.deg,
        wr_dt_spread=np.nan * u.ns,
    )
    rows = [dict(base, obs_id=202401010000 + k) for k in range(1, 7)]
    rows[1].update(zenith=75 * u.deg)
    rows[2].update(nsb_level=2.5)
    rows[3].update(ped_survival_fraction=0.2, pointing_dec=21.6 * u.deg)
    rows[4].update(livetime=6 * u.h, nsb_level=np.nan)
    return rows


def test_criteria_flags_reasons_and_nan(tmp_path):
    table = build_table(_rows(), QualityCriteria())
    flags = dict(zip(np.asarray(table["obs_id"]) % 100, table["flags"], strict=True))
    assert flags[1] == "" and flags[6] == ""
    assert flags[2] == "zenith 75.0 deg > 70 deg"
    assert flags[3].startswith("nsb_level 1.92 x the night median")
    assert flags[4] == "pedestal survival fraction 0.200 > 0.05"
    assert flags[5] == "livetime 21600 s > 18000 s"  # the NaN NSB fails nothing
    assert list(table["good"]) == [f == "" for f in flags.values()]
    assert list(table["wobble"]) == ["W1", "W1", "W1", "W2", "W1", "W1"]
    assert list(table["wobble_obs_id"] % 100) == [1, 1, 1, 4, 5, 5]
    criteria = QualityCriteria(max_zenith=80 * u.deg, max_nsb_level_ratio=None, max_nsb_level=2.0)
    again = build_table(_rows(), criteria)
    assert again["flags"][1] == "" and again["flags"][2] == "nsb_level 2.50 p.e. > 2 p.e."
    for name in ("dq.ecsv", "dq.fits"):
        write_dq_table(table, tmp_path / name)
        back = read_dq_table(tmp_path / name)
        assert list(back["flags"]) == list(table["flags"])
        assert back["zenith"].unit == u.deg
        assert list(back["good"]) == list(table["good"])
    with pytest.raises(ValueError, match="without column"):
        QTable({"obs_id": [1]}).write(tmp_path / "bad.ecsv")
        read_dq_table(tmp_path / "bad.ecsv")
