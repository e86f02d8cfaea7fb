"""θ²: Li & Ma, reflected positions, α, counts on synthetic DL3 with a known source."""

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from gammapy.stats import WStatCountsStatistic
from synthetic_dl3 import TARGET

from ctapipe_sst1m.analysis.theta2 import (
    Theta2Analysis,
    li_ma_significance,
    reflected_positions,
    theta2_counts,
)


def test_li_ma_hand_value():
    # 10 ON, 20 OFF, alpha 0.25: sqrt(2 (10 ln(5 * 10/30) + 20 ln(1.25 * 20/30))) = 1.709868
    assert li_ma_significance(10, 20, 0.25) == pytest.approx(1.709868, abs=1e-6)


@pytest.mark.parametrize(
    ("n_on", "n_off", "alpha"), [(13, 11, 0.5), (200, 500, 0.2), (3, 40, 0.2), (0, 5, 0.2),
                                 (7, 0, 0.2), (1000, 4100, 0.25)]
)  # fmt: skip
def test_li_ma_matches_gammapy(n_on, n_off, alpha):
    expected = WStatCountsStatistic(n_on, n_off, alpha).sqrt_ts
    assert li_ma_significance(n_on, n_off, alpha) == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_li_ma_limits():
    assert li_ma_significance(50, 250, 0.2) == 0
    assert li_ma_significance(30, 250, 0.2) < 0  # deficit is negative
    # large counts: excess / sqrt(alpha (n_on + n_off)) (Li & Ma eq. 9 limit)
    n_off, alpha = 1_000_000, 0.2
    n_on = alpha * n_off + 1000
    approx = 1000 / np.sqrt(alpha * (n_on + n_off))
    assert li_ma_significance(n_on, n_off, alpha) == pytest.approx(approx, rel=2e-3)
    arr = li_ma_significance([10, 20], [20, 20], 0.25)
    assert arr.shape == (2,) and arr[1] > arr[0]


def test_reflected_positions():
    pointing = TARGET.directional_offset_by(0 * u.deg, 0.4 * u.deg)
    for n_off in (1, 3, 5):
        off = reflected_positions(TARGET, pointing, n_off)
        assert len(off) == n_off
        np.testing.assert_allclose(pointing.separation(off).deg, 0.4, atol=1e-9)
        pa = (pointing.position_angle(off) - pointing.position_angle(TARGET)).wrap_at(360 * u.deg)
        np.testing.assert_allclose(pa.deg, np.arange(1, n_off + 1) * 360 / (n_off + 1), atol=1e-6)
    mirror = reflected_positions(TARGET, pointing, 1)[0]
    assert mirror.separation(TARGET).deg == pytest.approx(0.8, abs=1e-6)
    with pytest.raises(ValueError, match="n_off"):
        reflected_positions(TARGET, pointing, 0)


def _isotropic(rng, centre, radius, n):
    """Uniform directions within ``radius`` of ``centre`` (small-angle, flat)."""
    r = radius.to_value(u.deg) * np.sqrt(rng.uniform(size=n))
    return centre.directional_offset_by(rng.uniform(0, 360, n) * u.deg, r * u.deg)


def test_isotropic_background_no_excess():
    """Spec §12.1 item 10: isotropic background: excess ≈ 0 and the significances of many
    fields ~ N(0, 1) with α = 1/n_off; the ring α of the reference is right on average, but
    it is itself a count ratio, so its significances are wider than N(0, 1) (Li & Ma treats α
    as exact)."""
    rng = np.random.default_rng(5)
    pointing = SkyCoord(10 * u.deg, 40 * u.deg)
    target = pointing.directional_offset_by(90 * u.deg, 0.5 * u.deg)
    off = reflected_positions(target, pointing, 3)
    edges = np.linspace(0, 0.5, 11) * u.deg**2
    sig, sig_ring, alphas = [], [], []
    for _ in range(300):
        events = _isotropic(rng, pointing, 2.5 * u.deg, 3000)
        c = theta2_counts(events, target, off, 0.2 * u.deg, edges, ring=(0.5 * u.deg, 0.7 * u.deg))
        alpha = c["norm_on"] / c["norm_off"]
        alphas.append(alpha)
        sig.append(li_ma_significance(c["n_on"], c["n_off_regions"].sum(), 1 / 3))
        sig_ring.append(li_ma_significance(c["n_on"], c["n_off_regions"].sum(), alpha))
    sig, sig_ring = np.array(sig), np.array(sig_ring)
    assert np.mean(alphas) == pytest.approx(1 / 3, rel=0.03)
    assert abs(np.mean(sig)) < 3 / np.sqrt(len(sig))
    assert np.std(sig) == pytest.approx(1.0, abs=0.12)
    assert abs(np.mean(sig_ring)) < 3 * np.std(sig_ring) / np.sqrt(len(sig))
    assert np.std(sig_ring) > np.std(sig)


def test_theta2_on_synthetic_dl3(synthetic_index):
    """The ON excess equals the injected source events inside the cut within Poisson errors,
    and the OFF regions agree with each other (no source leaks into them)."""
    from gammapy.data import DataStore

    store = DataStore.from_dir(synthetic_index)
    analysis = Theta2Analysis(n_off=5)
    result = analysis.start(TARGET)
    truth = 0
    for obs_id in store.obs_table["OBS_ID"]:
        obs = store.obs(obs_id)
        analysis.add(obs)
        ev = obs.events.table
        inside = obs.events.radec.separation(TARGET) < 0.2 * u.deg
        truth += np.count_nonzero(inside & (ev["MC_ID"] == 1))
    s = result.summary()
    assert s["alpha"] == 0.2 and s["n_observations"] == 2
    assert s["excess"] == pytest.approx(truth, abs=3 * s["excess_error"])
    assert s["significance"] > 10
    regions = np.array(s["n_off_regions"])
    chi2 = np.sum((regions - regions.mean()) ** 2 / regions.mean())
    assert chi2 < 20.5  # 4 degrees of freedom, p = 4e-4
    hist = result.histogram_table()
    assert hist["n_on"].sum() > s["n_on"]  # the histogram extends beyond the cut
    assert hist["n_on"][0] > 5 * hist["n_off_scaled"][0]  # the source peaks at θ² = 0
    table = result.observation_table()
    assert list(table["obs_id"]) == list(store.obs_table["OBS_ID"])
    assert table["n_on"].sum() == s["n_on"]
    assert u.isclose(table["livetime"].sum(), s["livetime_h"] * u.h)


def test_theta2_rad_max_cut(synthetic_pointlike):
    from gammapy.data import DataStore

    store = DataStore.from_dir(synthetic_pointlike)
    fixed = Theta2Analysis()
    irf = Theta2Analysis(theta_cut_from_irf=True, theta_cut=0.5 * u.deg)
    r_fixed, r_irf = fixed.start(TARGET), irf.start(TARGET)
    for obs_id in store.obs_table["OBS_ID"]:
        obs = store.obs(obs_id, required_irf="point-like")
        fixed.add(obs)
        irf.add(obs)
    # RAD_MAX of the synthetic files is 0.2 deg: the same counts as the fixed 0.2 deg cut
    assert r_irf.summary()["n_on"] == r_fixed.summary()["n_on"]
    assert r_irf.summary()["theta_cut_deg"] == pytest.approx(0.2)
