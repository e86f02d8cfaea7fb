"""The four commands on the toy production: cuts, IRF bank, performance, errors."""

import operator
import shutil

import astropy.units as u
import numpy as np
import pytest
import tables
from astropy.io import fits
from astropy.table import Table
from ctapipe.core import run_tool
from ctapipe.irf import OptimizationResult

from ctapipe_sst1m.irf.cuts import table_cut_mask
from ctapipe_sst1m.irf.events import SST1MDL2EventReader
from ctapipe_sst1m.irf.performance import angular_resolution, energy_bias_resolution
from ctapipe_sst1m.tools.irf_bank import IrfBankTool
from ctapipe_sst1m.tools.make_irfs import MakeIrfsTool
from ctapipe_sst1m.tools.optimize_cuts import OptimizeCutsTool
from ctapipe_sst1m.tools.performance import PerformanceTool


def _prov(tmp_path):
    return f"--provenance-log={tmp_path / 'prov.log'}"


@pytest.mark.parametrize(("mode", "setup"), [("stereo", "stereo"), ("mono", "tel_021")])
def test_efficiency_cuts_keep_fraction(toy, tmp_path, mode, setup):
    cuts = tmp_path / "cuts.fits"
    dl2 = toy.dl2["gamma_diffuse", mode]
    argv = [
        f"--gamma={dl2}",
        f"--output={cuts}",
        "--method=efficiency",
        f"--tel-setup={setup}",
        "--gamma-efficiency=0.7",
        "--min-events=50",
        _prov(tmp_path),
    ]
    assert run_tool(OptimizeCutsTool(), argv=argv, cwd=tmp_path) == 0
    result = OptimizationResult.read(cuts)  # the stock reader
    assert result.clf_prefix == "RandomForestClassifier"
    assert result.gh_cuts.meta["GH_EFF"] == 0.7
    assert (result.multiplicity_cuts is not None) == (setup == "stereo")
    events, _ = SST1MDL2EventReader(dl2, setup).read_all()
    events = events[events["reco_source_fov_offset"] < 4 * u.deg]
    keep = table_cut_mask(events["gh_score"], events["reco_energy"], result.gh_cuts, operator.ge)
    bins = np.append(result.gh_cuts["low"].to_value(u.TeV), result.gh_cuts["high"][-1].value)
    index = np.digitize(events["reco_energy"].to_value(u.TeV), bins) - 1
    checked = 0
    for i in range(len(bins) - 1):
        n = np.count_nonzero(index == i)
        cut = result.gh_cuts["cut"][i]
        if n >= 50 and 0.1 < cut < 0.95:  # populated and not clipped
            frac = keep[index == i].mean()
            assert abs(frac - 0.7) < 3 * np.sqrt(0.21 / n) + 1.0 / n, (i, n, frac)
            checked += 1
    assert checked >= 2


def _node_copy(src, dst, altitude_deg):
    """A copy of a DL2 file whose MC pointing is moved (a second node of the bank)."""
    shutil.copy(src, dst)
    with tables.open_file(dst, "a") as h5:
        node = h5.root.configuration.observation.observation_block
        rows = node.read()
        rows["subarray_pointing_lat"] = altitude_deg
        node.modify_rows(0, len(rows), rows=rows)
    return dst


def test_bank_lists_nodes_from_files(toy, tmp_path, capsys):
    bank = tmp_path / "bank"
    second = _node_copy(toy.dl2["gamma_diffuse", "stereo"], tmp_path / "g40.h5", 50.0)
    # two full-enclosure nodes and one point-like file: only like files are compared
    for gamma, extra in (
        (toy.dl2["gamma_diffuse", "stereo"], []),
        (second, []),
        (second, ["--point-like"]),
    ):
        argv = [
            f"--gamma={gamma}",
            f"--proton={toy.dl2['proton', 'stereo']}",
            "--global-gammaness=0.5",
            f"--output-dir={bank}",
            _prov(tmp_path),
            *extra,
        ]
        assert run_tool(MakeIrfsTool(), argv=argv, cwd=tmp_path) == 0
    capsys.readouterr()
    listing = tmp_path / "bank.ecsv"
    assert (
        run_tool(
            IrfBankTool(), argv=[str(bank), f"--output={listing}", _prov(tmp_path)], cwd=tmp_path
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "stereo FULL-ENCLOSURE 0.5 all: 2 node(s), 2 file(s), axes identical" in out
    assert "stereo POINT-LIKE 0.5 all: 1 node(s), 1 file(s), axes identical" in out
    assert "DIFFER" not in out
    table = Table.read(listing)
    nodes = ["zen20.0_az000.0_nsbnone", "zen40.0_az000.0_nsbnone", "zen40.0_az000.0_nsbnone"]
    assert sorted(table["node"]) == nodes
    np.testing.assert_allclose(sorted(table["zenith"]), [20.0, 40.0, 40.0])
    assert sorted(table["type"]) == ["FULL-ENCLOSURE", "FULL-ENCLOSURE", "POINT-LIKE"]
    # a second run of the same node without --overwrite is refused (exit 2), nothing changes
    argv = [
        f"--gamma={second}",
        f"--proton={toy.dl2['proton', 'stereo']}",
        "--global-gammaness=0.5",
        f"--output-dir={bank}",
        _prov(tmp_path),
    ]
    assert run_tool(MakeIrfsTool(), argv=argv, cwd=tmp_path, raises=False) == 2
    assert len(list(bank.glob("*/*/*"))) == 3


def test_performance_stereo_beats_mono(toy, tmp_path):
    """Above 3 TeV stereo has better energy and angular resolution than one telescope."""
    bins = u.Quantity([3, 100], u.TeV)
    res = {}
    for setup, mode in (("stereo", "stereo"), ("tel_021", "mono"), ("tel_022", "mono")):
        events, _ = SST1MDL2EventReader(toy.dl2["gamma_point", mode], setup).read_all()
        mult = 2 if setup == "stereo" else 1
        events = events[(events["gh_score"] > 0.5) & (events["multiplicity"] >= mult)]
        energy = energy_bias_resolution(events, bins)
        angular = angular_resolution(events, bins)
        assert energy["N_EVENTS"][0] >= 50
        res[setup] = (
            energy["RESOLUTION_BIAS_CORRECTED"][0],
            angular["ANGULAR_RESOLUTION_68"][0].to_value(u.deg),
        )
    for mono in ("tel_021", "tel_022"):
        assert res["stereo"][0] < res[mono][0], res
        assert res["stereo"][1] < res[mono][1], res


def test_performance_tool(toy, tmp_path):
    out = tmp_path / "perf"
    argv = [
        f"--gamma={toy.dl2['gamma_point', 'stereo']}",
        f"--proton={toy.dl2['proton', 'stereo']}",
        f"--output-dir={out}",
        "--global-gammaness=0.3",  # the chain's few protons: keep some for the sensitivity
        "--min-events=3",
        "--min-background-events=2",
        "--SST1MPerformance.background_fov_max=4 deg",
        _prov(tmp_path),
    ]
    assert run_tool(PerformanceTool(), argv=argv, cwd=tmp_path) == 0
    for name in ("energy", "angular", "effective_area", "sensitivity", "roc"):
        assert (out / f"{name}_stereo.png").stat().st_size > 20_000
    with fits.open(out / "performance_stereo.fits.gz") as hdul:
        names = [h.name for h in hdul[1:]]
        assert names[:4] == [
            "ENERGY BIAS RESOLUTION",
            "ANGULAR RESOLUTION",
            "EFFECTIVE AREA",
            "ROC",
        ]
        s50, s5 = hdul["SENSITIVITY"].data, hdul["SENSITIVITY 5H"].data
        energy = hdul["ENERGY BIAS RESOLUTION"].data
        auc = hdul["ROC"].data["AUC"]
    # bins under the minimum count are blank
    assert np.all(np.isnan(energy["RESOLUTION"][energy["N_EVENTS"] < 3]))
    assert np.all(np.isfinite(energy["RESOLUTION"][energy["N_EVENTS"] >= 3]))
    assert np.nanmin(auc) > 0.8
    # sensitivity: blank where gammas < 3 or background MC < 2 (--min-background-events)
    few = (s50["N_SIGNAL_MC"] < 3) | (s50["N_BACKGROUND_MC"] < 2)
    assert np.all(np.isnan(s50["RELATIVE_SENSITIVITY"][few]))
    # sensitivity improves with time: between 1/sqrt(10) (background-limited) and 1/10
    both = np.isfinite(s50["RELATIVE_SENSITIVITY"]) & np.isfinite(s5["RELATIVE_SENSITIVITY"])
    assert both.sum() >= 1
    ratio = s50["RELATIVE_SENSITIVITY"][both] / s5["RELATIVE_SENSITIVITY"][both]
    assert np.all((ratio > 0.1 - 1e-9) & (ratio < 10**-0.5 + 1e-9)), ratio


def test_tools_refuse_bad_input_in_one_line(toy, tmp_path, capsys):
    g, p = toy.dl2["gamma_diffuse", "stereo"], toy.dl2["proton", "stereo"]
    cases = [
        (MakeIrfsTool, [f"--gamma={g}", f"--output-dir={tmp_path}"]),  # no protons
        (MakeIrfsTool, [f"--gamma={g}", f"--proton={p}", f"--output-dir={tmp_path}"]),  # no cut
        (
            OptimizeCutsTool,
            [f"--gamma={g}", f"--output={tmp_path / 'c.fits'}", "--method=significance"],
        ),  # needs protons
        (PerformanceTool, [f"--gamma={g}", f"--output-dir={tmp_path}"]),
        (IrfBankTool, [str(tmp_path)]),  # empty bank
    ]
    for cls, argv in cases:
        assert run_tool(cls(), argv=[*argv, _prov(tmp_path)], cwd=tmp_path, raises=False) == 2, argv
    assert "Traceback" not in capsys.readouterr().err


def test_significance_cuts(toy, tmp_path):
    """ctapipe's point-source optimiser behind --method significance (weighted events)."""
    cuts = tmp_path / "cuts.fits"
    argv = [
        f"--gamma={toy.dl2['gamma_point', 'stereo']}",
        f"--proton={toy.dl2['proton', 'stereo']}",
        f"--output={cuts}",
        "--method=significance",
        _prov(tmp_path),
    ]
    assert run_tool(OptimizeCutsTool(), argv=argv, cwd=tmp_path) == 0
    result = OptimizationResult.read(cuts)
    assert result.gh_cuts.meta["METHOD"] == "significance"
    assert result.spatial_selection_table is not None
    valid = (result.gh_cuts["center"] >= result.valid_energy.min) & (
        result.gh_cuts["center"] <= result.valid_energy.max
    )
    cut = np.asarray(result.gh_cuts["cut"])[valid]
    assert len(cut) >= 3 and np.all((cut > 0) & (cut < 1))
