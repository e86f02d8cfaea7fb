"""Event classes (spec irf_dl3_perf.md §5): quantile classes per energy bin, one IRF per class."""

import astropy.units as u
import numpy as np
import pytest
import tables
from astropy.io import fits
from astropy.table import Table
from ctapipe.core import run_tool

from ctapipe_sst1m.core.errors import SST1MInputError
from ctapipe_sst1m.irf.bank import list_bank
from ctapipe_sst1m.irf.event_classes import (
    EventClasses,
    class_edges,
    classify,
    edges_from_hdu,
)
from ctapipe_sst1m.tools.make_irfs import MakeIrfsTool

BINS = u.Quantity([0.1, 1.0, 10.0, 100.0], u.TeV)


def test_quartile_classes_per_energy_bin():
    rng = np.random.default_rng(1)
    energy = 10 ** rng.uniform(-1, 2, 40_000) * u.TeV
    # the variable's scale grows with energy: classes must follow each bin's own quantiles
    x = rng.normal(0, 1, len(energy)) * np.log10(energy.to_value(u.TeV) * 100)
    edges = class_edges(x, energy, BINS, 4)
    assert len(edges) == 3 and np.all(np.isinf(edges["edge_0"])) and np.all(edges["edge_4"] > 0)
    assert np.all(np.diff(np.column_stack([edges[f"edge_{k}"] for k in range(5)]), axis=1) > 0)
    assert edges["edge_1"][2] < edges["edge_1"][0]  # wider distribution at high energy
    classes = classify(x, energy, edges)
    assert set(np.unique(classes)) == {1, 2, 3, 4}
    index = np.digitize(energy.to_value(u.TeV), BINS.value) - 1
    for i in range(3):
        counts = np.bincount(classes[index == i], minlength=5)[1:]
        n = counts.sum()
        assert np.all(np.abs(counts - n / 4) <= 4 * np.sqrt(n / 4 * 3 / 4))
    # boundaries: edge_{j-1} < x <= edge_j; no value or outside the bins: class 0
    e1 = edges["edge_1"][0]
    assert classify([e1, np.nextafter(e1, np.inf)], [0.5, 0.5] * u.TeV, edges).tolist() == [1, 2]
    assert classify([np.nan, 0.0, 0.0], [0.5, 0.05, 200.0] * u.TeV, edges).tolist() == [0, 0, 0]
    # an empty bin has NaN edges and classifies nothing
    empty = class_edges([1.0, 2.0], [0.5, 0.6] * u.TeV, BINS, 4)
    assert np.isnan(empty["edge_2"][1])
    assert classify([1.0], [5.0] * u.TeV, empty).tolist() == [0]


def test_classes_need_a_column():
    with pytest.raises(SST1MInputError, match="needs EventClasses.column"):
        EventClasses(n_classes=4).check()
    EventClasses().check()  # no classes: nothing needed


def _energy_uncert_column(path):
    with tables.open_file(path) as h5:
        (table,) = h5.root.dl2.event.subarray.energy._f_iter_nodes("Table")
        return next(c for c in table.colnames if c.endswith("_energy_uncert"))


def test_make_irfs_writes_one_file_per_class_adding_up_to_all(toy, tmp_path):
    gamma, proton = toy.dl2["gamma_diffuse", "stereo"], toy.dl2["proton", "stereo"]
    column = _energy_uncert_column(gamma)

    def make(bank, *extra):
        argv = [
            f"--gamma={gamma}",
            f"--proton={proton}",
            "--global-gammaness=0.5",
            f"--output-dir={bank}",
            f"--provenance-log={tmp_path / 'prov.log'}",
            *extra,
        ]
        assert run_tool(MakeIrfsTool(), argv=argv, cwd=tmp_path, raises=True) == 0
        return sorted(bank.glob("*/*/*.fits.gz"))

    (all_file,) = make(tmp_path / "all")
    files = make(tmp_path / "classes", "--event-classes=4", f"--event-class-column={column}")
    names = [f.name for f in files]
    assert {f"ec{k}" for k in (1, 2, 3, 4)} <= {n.rsplit("_", 1)[1][:3] for n in names}
    with fits.open(all_file) as hdul:
        aeff_all = hdul["EFFECTIVE AREA"].data["EFFAREA"][0]
        bkg_all = hdul["BACKGROUND"].data["BKG"][0]
        assert "EVENT_CLASSES" not in hdul
    aeff_sum, bkg_sum, classes = np.zeros_like(aeff_all), np.zeros_like(bkg_all), []
    for path in files:
        with fits.open(path) as hdul:
            k = int(hdul["EFFECTIVE AREA"].header["EVTCLASS"])
            assert path.name.endswith(f"_ec{k}.fits.gz")
            classes.append(k)
            aeff_sum += hdul["EFFECTIVE AREA"].data["EFFAREA"][0]
            bkg_sum += hdul["BACKGROUND"].data["BKG"][0]
            edges = edges_from_hdu(hdul["EVENT_CLASSES"])
            assert len(edges) == len(hdul["BACKGROUND"].data["ENERG_LO"][0])
    # selected / thrown and rates add up over the classes (class 0: no variable, out of bins)
    np.testing.assert_allclose(aeff_sum, aeff_all, rtol=1e-6, atol=1e-6 * aeff_all.max())
    np.testing.assert_allclose(bkg_sum, bkg_all, rtol=1e-6, atol=1e-6 * bkg_all.max())
    # the four quantile classes share the gammas about equally
    with fits.open(files[classes.index(1)]) as one, fits.open(files[classes.index(4)]) as four:
        a1, a4 = one["EFFECTIVE AREA"].data["EFFAREA"][0], four["EFFECTIVE AREA"].data["EFFAREA"][0]
    assert 0.5 < a1.sum() / a4.sum() < 2.0
    listed = list_bank(tmp_path / "classes")
    assert sorted(set(listed["evtclass"])) == sorted(str(k) for k in classes)
    assert isinstance(listed, Table)
