"""Sky maps on synthetic DL3: the source stands out at its position, the significances of an
empty field are N(0, 1), excluded pixels are NaN and never enter the fit."""

import astropy.units as u
import numpy as np
import pytest
from gammapy.data import DataStore
from synthetic_dl3 import PSF_SIGMA, TARGET

from ctapipe_sst1m.analysis.skymap import (
    SkyMapAnalysis,
    background_coverage,
    radial_acceptance,
    significance_distribution,
)


def _run(index, **traits):
    store = DataStore.from_dir(index)
    analysis = SkyMapAnalysis(width=3 * u.deg, pixel_size=0.04 * u.deg, n_energy_bins=5, **traits)
    analysis.start(TARGET, (0.3 * u.TeV, 100 * u.TeV))
    for obs_id in store.obs_table["OBS_ID"]:
        analysis.add(store.obs(obs_id))
    return analysis.finish()


def test_significance_distribution_function():
    rng = np.random.default_rng(1)
    values = rng.normal(0.3, 1.2, 20000)
    mask = np.ones(values.size, bool)
    mask[:1000] = False
    values[:1000] = np.nan  # excluded / undefined pixels are NaN and ignored
    fit = significance_distribution(values, mask, n_correlated=4)
    assert fit["n_pixels"] == 19000
    assert fit["mean"] == pytest.approx(0.3, abs=3 * fit["mean_error"])
    assert fit["sigma"] == pytest.approx(1.2, abs=3 * fit["sigma_error"])
    assert fit["n_independent"] == pytest.approx(19000 / 4)


@pytest.mark.parametrize("method", ["ring", "fov"])
def test_source_detected_at_its_position(synthetic_index, method):
    result = _run(synthetic_index, background_method=method)
    sig = result.significance_map()
    data = np.nan_to_num(sig.data[0], nan=-np.inf)
    iy, ix = np.unravel_index(np.argmax(data), data.shape)
    peak = sig.geom.pix_to_coord((ix, iy, 0))
    position = type(TARGET)(peak[0], peak[1], unit="deg", frame="icrs")
    assert position.separation(TARGET) < 1.5 * PSF_SIGMA  # the 68 % radius of a 2-D Gaussian
    assert np.nanmax(sig.data) > 8
    excess = result.maps["npred_excess"]
    assert np.nanmax(excess.data) > 20


def test_empty_field_is_normal(synthetic_empty_field):
    result = _run(synthetic_empty_field, background_method="ring")
    fit = result.off_distribution()
    assert fit["n_pixels"] > 3000
    assert fit["mean"] == pytest.approx(0, abs=max(3 * fit["mean_error"], 0.05))
    assert fit["sigma"] == pytest.approx(1, abs=max(3 * fit["sigma_error"], 0.1))
    masked = result.masked_significance()
    inside = ~result.exclusion.data
    assert inside.sum() > 50
    assert np.all(np.isnan(masked[inside]))  # excluded pixels NaN, not zeros (quirk 42)
    assert np.isfinite(masked[~inside]).sum() == fit["n_pixels"]


def test_radial_acceptance_follows_the_background_not_the_source():
    rng = np.random.default_rng(3)
    ny = nx = 101
    y, x = np.mgrid[:ny, :nx]
    offset = 0.02 * np.hypot(x - 50, y - 50)  # deg from the pointing at the centre
    truth = 20.0 * np.exp(-0.5 * (offset / 0.8) ** 2)  # background falling off radially
    spectrum = np.array([0.7, 0.3])
    counts = rng.poisson(spectrum[:, None, None] * truth).astype(float)
    source = np.hypot(x - 70, y - 50) < 5  # a bright source 0.4 deg off the pointing
    counts[:, source] += 200
    outside = np.hypot(x - 70, y - 50) >= 10
    acceptance = radial_acceptance(counts, offset, outside, 0.1)
    assert acceptance.shape == counts.shape
    # normalised to the counts outside the exclusions, split over energy by their spectrum
    assert acceptance[:, outside].sum() == pytest.approx(counts[:, outside].sum())
    assert acceptance[0].sum() / acceptance.sum() == pytest.approx(0.7, abs=0.01)
    # at the source the template is the ring's background, not the source's counts
    ring = (np.abs(offset - 0.4) < 0.05) & outside
    assert acceptance.sum(axis=0)[source].mean() == pytest.approx(truth[ring].mean(), rel=0.1)
    # it follows the radial fall-off
    assert acceptance.sum(axis=0)[50, 50] > 2 * acceptance.sum(axis=0)[50, 100]


def test_background_coverage_tells_a_smooth_irf_from_spikes_and_leftovers():
    y, x = np.mgrid[:61, :61]
    offset = 0.05 * np.hypot(x - 30, y - 30)
    smooth = np.stack([np.exp(-0.5 * (offset / 1.0) ** 2)] * 3) * 1e-3
    assert background_coverage(smooth, offset, 1.2) == 1.0
    spikes = np.zeros_like(smooth)  # three surviving protons
    spikes[1, [10, 30, 40], [20, 31, 45]] = 1e-9
    assert background_coverage(spikes, offset, 1.2) == pytest.approx(3 / np.sum(offset <= 1.2))
    # interpolated between a node with and one without background: ~1e-82 everywhere
    assert background_coverage(smooth * 1e-80, offset, 1.2) == 0.0
    # pixels beyond offset_max do not count
    far = np.where(offset > 1.2, 0.0, smooth)
    assert background_coverage(far, offset, 1.2) == 1.0
