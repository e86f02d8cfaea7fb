"""Cut semantics and energy-dependent cut tables (spec §12.1 items 1 and 2)."""

import operator

import astropy.units as u
import numpy as np
import pytest
from astropy.table import QTable, Table

from ctapipe_sst1m.irf.cuts import (
    constant_cut_table,
    containment_theta_cuts,
    efficiency_gh_cuts,
    fill_from_neighbours,
    global_cut_mask,
    table_cut_mask,
)

BINS = np.geomspace(0.1, 100, 7) * u.TeV


def test_global_cut_is_strict():
    g = np.array([0.5, 0.6, 0.60000001, 0.9])
    np.testing.assert_array_equal(global_cut_mask(g, 0.6), [False, False, True, True])


def test_table_cut_is_inclusive_and_rejects_outside_range():
    table = Table({"low": BINS[:-1], "high": BINS[1:], "cut": np.linspace(0.2, 0.7, 6)})
    energy = u.Quantity([0.05, 0.15, 0.15, 50.0, 50.0, 200.0], u.TeV)
    g = np.array([0.99, 0.2, 0.1999, 0.7, 0.6999, 0.99])
    # a plain Table (as read from HDF5/FITS) is accepted: converted to a QTable
    mask = table_cut_mask(g, energy, table, operator.ge)
    np.testing.assert_array_equal(mask, [False, True, False, True, False, False])


def test_theta_table_keeps_below_or_equal():
    table = constant_cut_table(0.2 * u.deg, BINS)
    theta = u.Quantity([0.1, 0.2, 0.2001], u.deg)
    energy = u.Quantity([1, 1, 1], u.TeV)
    np.testing.assert_array_equal(
        table_cut_mask(theta, energy, table, operator.le), [True, True, False]
    )


def test_efficiency_cuts_keep_fraction_per_bin():
    rng = np.random.default_rng(1)
    n = 60_000
    energy = 10 ** rng.uniform(-1, 2, n) * u.TeV
    # gammaness distribution depending on energy: the cut must follow it
    g = rng.beta(2 + np.log10(energy.value + 1) * 3, 1.5)
    table = efficiency_gh_cuts(g, energy, BINS, 0.7, min_events=100, clip=(0.0, 1.0))
    keep = table_cut_mask(g, energy, table, operator.ge)
    index = np.digitize(energy.value, BINS.value) - 1
    for i in range(len(BINS) - 1):
        sel = index == i
        frac = keep[sel].mean()
        sigma = np.sqrt(0.7 * 0.3 / sel.sum())
        assert abs(frac - 0.7) < 4 * sigma + 1 / sel.sum(), (i, frac)
    assert len(np.unique(np.round(table["cut"], 3))) > 3  # energy dependent


def test_sparse_bins_take_neighbours_and_clip():
    rng = np.random.default_rng(2)
    # bins: [0.1, 0.32, 1, 3.2, 10, 32, 100] TeV; populated: 0 and 4, sparse: 2
    energy = np.r_[np.full(500, 0.2), np.full(5, 2.0), np.full(500, 15.0)] * u.TeV
    g = np.r_[rng.uniform(0.0, 0.1, 500), rng.uniform(0, 1, 5), rng.uniform(0.97, 1.0, 500)]
    table = efficiency_gh_cuts(g, energy, BINS, 0.7, min_events=100, clip=(0.1, 0.95))
    cut = np.asarray(table["cut"])
    np.testing.assert_array_equal(
        np.asarray(table["populated"]), [True, False, False, False, True, False]
    )
    assert cut[0] == pytest.approx(0.1)  # clipped from below
    assert cut[4] == pytest.approx(0.95)  # clipped from above
    assert cut[1] == cut[0] and cut[3] == cut[4] and cut[5] == cut[4]  # nearest neighbour
    assert cut[2] == pytest.approx(0.5 * (cut[0] + cut[4]))  # equidistant: the mean


def test_fill_from_neighbours_needs_one_bin():
    with pytest.raises(ValueError, match="no energy bin"):
        fill_from_neighbours([1.0, 2.0], [False, False])


def test_theta_containment():
    rng = np.random.default_rng(3)
    energy = 10 ** rng.uniform(-1, 2, 30_000) * u.TeV
    theta = np.abs(rng.normal(0, 0.1, 30_000)) * u.deg
    table = containment_theta_cuts(theta, energy, BINS, 0.68, clip=(0.01 * u.deg, 1 * u.deg))
    assert table["cut"].unit == u.deg
    # half-normal: 68 % containment at ≈ 0.0994 σ-units × ...
    np.testing.assert_allclose(table["cut"].to_value(u.deg), 0.0994, rtol=0.05)
    assert isinstance(table, QTable)
