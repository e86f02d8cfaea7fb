"""Thrown-shower distributions and bookkeeping of ShowerGenerator."""

import numpy as np
import pytest

from ctapipe_sst1m.simulation import ShowerGenerator
from ctapipe_sst1m.simulation.showers import power_law_energies


def test_power_law_index_recovered():
    rng = np.random.default_rng(1)
    energy = power_law_energies(rng, 200_000, 0.2, 300.0, -2.0)
    assert energy.min() >= 0.2 and energy.max() <= 300.0
    # maximum-likelihood index of an untruncated power law above e_min (upper cut negligible)
    index = -1 - len(energy) / np.sum(np.log(energy / 0.2))
    assert index == pytest.approx(-2.0, abs=0.02)


def test_cores_uniform_in_disk_and_directions_in_viewcone():
    gen = ShowerGenerator(particle="proton")
    showers = gen.generate(np.random.default_rng(2), 50_000, np.deg2rad(70), 0.0)
    r = np.hypot(showers.core_x, showers.core_y)
    assert r.max() <= 1200.0
    # uniform in area: half the cores inside R / sqrt(2)
    assert np.mean(r < 1200 / np.sqrt(2)) == pytest.approx(0.5, abs=0.01)
    # angular distance to the pointing never exceeds the 10 deg view cone
    cos_sep = np.sin(showers.alt) * np.sin(np.deg2rad(70)) + np.cos(showers.alt) * np.cos(
        np.deg2rad(70)
    ) * np.cos(showers.az)
    sep = np.rad2deg(np.arccos(np.clip(cos_sep, -1, 1)))
    assert sep.max() <= 10.0 + 1e-9
    assert np.median(sep) == pytest.approx(10 / np.sqrt(2), abs=0.2)


def test_point_source_at_wobble_offset():
    gen = ShowerGenerator(particle="gamma", source_offset=0.4)
    showers = gen.generate(np.random.default_rng(3), 100, np.deg2rad(60), np.deg2rad(30))
    assert np.ptp(showers.alt) == 0 and np.ptp(showers.az) == 0
    cos_sep = np.sin(showers.alt[0]) * np.sin(np.deg2rad(60)) + np.cos(showers.alt[0]) * np.cos(
        np.deg2rad(60)
    ) * np.cos(showers.az[0] - np.deg2rad(30))
    assert np.rad2deg(np.arccos(cos_sep)) == pytest.approx(0.4, abs=1e-6)


def test_xmax_elongation_and_proton_shift():
    rng = np.random.default_rng(4)
    gamma = ShowerGenerator(particle="gamma-diffuse", energy_min=0.999, energy_max=1.001)
    proton = ShowerGenerator(particle="proton", energy_min=0.999, energy_max=1.001)
    g = gamma.generate(rng, 20000, np.pi / 2, 0.0)
    p = proton.generate(rng, 20000, np.pi / 2, 0.0)
    # X0 ln(E/Ec) = 36.7 ln(1 TeV / 83 MeV) = 345 g/cm2
    assert np.mean(g.x_max) == pytest.approx(36.7 * np.log(1 / 83e-6), abs=1.0)
    assert np.std(g.x_max) == pytest.approx(25, rel=0.05)
    # 100 g/cm2 shallower, minus a few because X_max is kept 20 g/cm2 below the first interaction
    shift = np.mean(g.x_max) - np.mean(p.x_max)
    assert 90 < shift <= 100
    # heights: maximum below first interaction, and a vertical 1 TeV gamma peaks ~8.7 km a.g.l.
    assert np.all(g.h_max < g.h_first_int)
    assert np.median(g.h_max) == pytest.approx(8400 * np.log(1030 / 345), rel=0.02)


def test_reuse_and_histogram_count_all_thrown():
    gen = ShowerGenerator(particle="gamma-diffuse", shower_reuse=5)
    showers = gen.generate(np.random.default_rng(5), 1000, np.deg2rad(70), 0.0)
    assert len(showers) == 5000
    assert np.all(np.bincount(showers.shower_number)[1:] == 5)
    hist = gen.histogram(showers)
    dist = gen.shower_distribution(hist, obs_id=7)
    assert dist.n_entries == 5000
    assert hist.shape == (gen.n_energy_bins, gen.n_core_bins)
    config = gen.simulation_config(1000, np.deg2rad(70), 0.0)
    assert config.n_showers * config.shower_reuse == dist.n_entries
    assert config.diffuse and config.max_viewcone_radius.to_value("deg") == 6.0


def test_invalid_energy_range_is_a_clear_error():
    gen = ShowerGenerator(particle="gamma", energy_min=5.0, energy_max=1.0)
    with pytest.raises(ValueError, match="energy_min"):
        gen.validate()
