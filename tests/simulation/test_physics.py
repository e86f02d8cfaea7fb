"""The toy is physically linked: numbers that follow from the documented relations."""

import astropy.units as u
import numpy as np
import pytest
from traitlets.config import Config

from ctapipe_sst1m.simulation import SST1MToyEventSource
from ctapipe_sst1m.simulation.showers import ThrownShowers


def _source(particle="gamma", **kwargs):
    config = Config({"ShowerGenerator": {"particle": particle}})
    options = dict(n_showers=1, seed=5, telescopes=[1]) | kwargs
    return SST1MToyEventSource(config=config, **options)


def _showers_at(source, energy, core_distance, n, rng):
    """Vertical-ish showers from the pointing direction with cores at a fixed tel distance."""
    tel = source._positions[0]
    phi = rng.uniform(0, 2 * np.pi, n)
    alt = np.full(n, source._pointing_alt)
    az = np.full(n, source._pointing_az)
    h_max = np.full(n, 8000.0)
    return ThrownShowers(
        shower_number=np.arange(1, n + 1),
        reuse_index=np.zeros(n, int),
        energy=np.full(n, energy),
        alt=alt,
        az=az,
        core_x=tel[0] + core_distance * np.cos(phi),
        core_y=tel[1] + core_distance * np.sin(phi),
        h_first_int=np.full(n, 20000.0),
        x_max=np.full(n, 350.0),
        starting_grammage=np.zeros(n),
        h_max=h_max,
    )


def _simulate(source, showers, rng):
    view = source.image_model.view(
        rng,
        showers,
        source._positions,
        source._pointing_alt,
        source._pointing_az,
        source.shower_generator.primary_id,
    )
    s = np.arange(len(showers))
    flat = view.take(s, np.zeros_like(s))
    from ctapipe_sst1m.simulation import render_expected_image, signal_times

    expected = render_expected_image(
        flat, source._pix_lon, source._pix_lat, source._pix_area, source._blur
    )
    times = signal_times(flat, source._pix_lon, source._pix_lat, 80.0)
    true_pe, _, charge, _ = source.camera_noise.measure(rng, expected, times)
    triggered, _ = source.trigger(charge)
    return flat, true_pe, triggered


def test_intensity_linear_in_energy_at_fixed_impact():
    source = _source(zenith=0.0 * u.deg)
    rng = np.random.default_rng(1)
    means = []
    for energy in (2.0, 4.0, 8.0, 16.0):
        _, true_pe, _ = _simulate(source, _showers_at(source, energy, 60.0, 300, rng), rng)
        means.append(true_pe.sum(axis=1).mean())
    ratios = np.array(means[1:]) / np.array(means[:-1])
    np.testing.assert_allclose(ratios, 2.0, rtol=0.06)
    # k = 100 p.e./TeV inside the pool at the reference distance, scaled by (L_ref / L)^2
    assert means[0] / 2.0 == pytest.approx(100 * (8700 / 8000) ** 2, rel=0.1)


def test_trigger_fraction_rises_through_one_tev():
    source = _source(zenith=0.0 * u.deg)
    rng = np.random.default_rng(2)
    fractions = {}
    for energy in (0.2, 0.3, 0.5, 1.0, 3.0):
        _, _, triggered = _simulate(source, _showers_at(source, energy, 50.0, 400, rng), rng)
        fractions[energy] = triggered.mean()
    assert fractions[0.2] < 0.02
    assert fractions[0.3] < 0.05
    assert 0.2 < fractions[0.5] < 0.8
    assert fractions[1.0] > 0.97
    assert fractions[3.0] == 1.0
    values = list(fractions.values())
    assert values == sorted(values)


def test_centroid_displacement_follows_impact():
    source = _source(zenith=0.0 * u.deg)
    rng = np.random.default_rng(3)
    disp = {}
    for distance in (30.0, 100.0, 200.0):
        flat, _, _ = _simulate(source, _showers_at(source, 10.0, distance, 50, rng), rng)
        disp[distance] = np.median(
            np.hypot(flat.cog_lon - flat.source_lon, flat.cog_lat - flat.source_lat)
        )
        # disp = atan(d / L), L the distance to the shower maximum
        expected = np.rad2deg(np.arctan(distance / np.median(flat.distance_to_max)))
        assert disp[distance] == pytest.approx(expected, rel=0.02)
    assert disp[30.0] < disp[100.0] < disp[200.0]


def test_time_gradient_changes_sign_near_100m():
    source = _source(zenith=0.0 * u.deg)
    rng = np.random.default_rng(4)
    near, _, _ = _simulate(source, _showers_at(source, 5.0, 40.0, 20, rng), rng)
    far, _, _ = _simulate(source, _showers_at(source, 5.0, 250.0, 20, rng), rng)
    assert np.all(near.time_slope < 0)
    assert np.all(far.time_slope > 0)


def test_protons_fainter_and_wider_than_gammas():
    rng = np.random.default_rng(5)
    gamma, proton = _source("gamma", zenith=0.0 * u.deg), _source("proton", zenith=0.0 * u.deg)
    g, g_pe, _ = _simulate(gamma, _showers_at(gamma, 10.0, 60.0, 400, rng), rng)
    p, p_pe, _ = _simulate(proton, _showers_at(proton, 10.0, 60.0, 400, rng), rng)
    ratio = np.median(p_pe.sum(axis=1)) / np.median(g_pe.sum(axis=1))
    assert ratio == pytest.approx(0.33, rel=0.15)
    assert np.median(p.width) > 2 * np.median(g.width)


def test_pointing_is_constant_and_time_increasing():
    source = _source("gamma", n_showers=6000)
    events = list(source)
    assert len(events) > 50
    times = np.array([e.trigger.time.unix_tai for e in events])
    assert np.all(np.diff(times) > 0)
    # 50 Hz Poisson: mean interval 20 ms
    assert np.mean(np.diff(times)) == pytest.approx(0.02, rel=0.3)
    alts = np.array([e.monitoring.tel[1].pointing.altitude.to_value(u.deg) for e in events])
    np.testing.assert_allclose(alts, 70.0)


def test_energy_threshold_near_one_tev():
    """Peak of the triggered rate for a Crab-like E^-2.6 spectrum (all impacts, zenith 20)."""
    source = _source("gamma", telescopes=[1, 2])
    energies = []
    for chunk in range(2):
        showers, _, images, _ = source.simulate_chunk(chunk, 20000)
        energies.append(showers.energy[np.unique(images["shower"])])
    energy = np.concatenate(energies)
    bins = np.geomspace(0.2, 30, 19)
    rate, _ = np.histogram(energy, bins, weights=energy**-0.6)
    peak = np.sqrt(bins[1:] * bins[:-1])[np.argmax(rate)]
    assert 0.7 < peak < 1.7
