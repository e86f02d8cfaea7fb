"""Simulated-event bookkeeping of SST-1M productions."""

import astropy.units as u
import numpy as np
import pytest
from astropy.table import Table

from ctapipe_sst1m.core.errors import SST1MInputError
from ctapipe_sst1m.irf.spectra import TARGET_SPECTRA, n_thrown_per_run, simulation_info


def _runs(n=(1000, 2000), reuse=(20, 20), e_min=(0.2, 0.2)):
    k = len(n)
    return Table(
        {
            "obs_id": np.arange(1, k + 1),
            "n_showers": n,
            "shower_reuse": reuse,
            "energy_range_min": u.Quantity(e_min, u.TeV),
            "energy_range_max": u.Quantity([300.0] * k, u.TeV),
            "spectral_index": [-2.0] * k,
            "max_scatter_range": u.Quantity([800.0] * k, u.m),
            "min_viewcone_radius": u.Quantity([0.0] * k, u.deg),
            "max_viewcone_radius": u.Quantity([6.0] * k, u.deg),
        }
    )


def test_shower_reuse_taken_from_histogram():
    runs = _runs()
    # CORSIKA CSCAT > 20 stored reuse 20; the histogram counted 25 reuses of run 2
    dist = Table({"obs_id": [2, 1], "n_entries": [2000 * 25, 1000 * 20]})
    np.testing.assert_array_equal(n_thrown_per_run(runs, dist), [20_000, 50_000])
    assert simulation_info(runs, dist).n_showers == 70_000
    assert simulation_info(runs, None).n_showers == 60_000


def test_energy_floor_renormalises_lower_runs():
    runs = _runs(n=(1000, 1000), reuse=(1, 1), e_min=(0.1, 0.4))
    info = simulation_info(runs, None, energy_floor=0.4 * u.TeV)
    # index -2: fraction above 0.4 TeV of a run thrown from 0.1 TeV
    frac = (1 / 0.4 - 1 / 300) / (1 / 0.1 - 1 / 300)
    assert info.n_showers == round(1000 * frac + 1000)
    assert info.energy_min == 0.4 * u.TeV
    assert info.viewcone_max == 6 * u.deg


def test_inconsistent_runs_refused():
    runs = _runs()
    runs["max_scatter_range"][1] = 1000
    with pytest.raises(SST1MInputError, match="max_scatter_range"):
        simulation_info(runs, None, source="p.h5")


def test_dampe_spectrum_available():
    flux = TARGET_SPECTRA["DAMPE_P_He_SPECTRUM"](1 * u.TeV)
    assert flux.unit.is_equivalent("TeV-1 m-2 s-1 sr-1")
    assert 0.05 < flux.to_value("TeV-1 m-2 s-1 sr-1") < 0.2
