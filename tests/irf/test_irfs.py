"""IRF physics, file format and headers on the toy production (spec §12.1 item 7)."""

from types import SimpleNamespace

import astropy.units as u
import numpy as np
import pytest
import tables
from astropy.io import fits
from ctapipe.core import run_tool
from ctapipe.io import read_table
from pyirf.utils import cone_solid_angle

from ctapipe_sst1m.irf.events import SST1MDL2EventReader
from ctapipe_sst1m.irf.response import IrfAccumulator
from ctapipe_sst1m.irf.tooling import add_weights
from ctapipe_sst1m.tools.make_irfs import MakeIrfsTool


def make_irfs(toy, tmp_path, *args, gamma=("gamma_diffuse", "stereo"), proton=("proton", "stereo")):
    tmp_path.mkdir(parents=True, exist_ok=True)
    bank = tmp_path / "bank"
    argv = [
        f"--gamma={toy.dl2[gamma]}",
        f"--proton={toy.dl2[proton]}",
        f"--output-dir={bank}",
        f"--provenance-log={tmp_path / 'prov.log'}",
        *args,
    ]
    assert run_tool(MakeIrfsTool(), argv=argv, cwd=tmp_path) == 0
    (path,) = bank.glob("*/*/*.fits.gz")
    return path


def test_effective_area_is_thrown_area_times_efficiency(toy):
    """A(E) = π R_max² × N_selected(E) / N_thrown(E), N_thrown from the shower histogram."""
    reader = SST1MDL2EventReader(toy.dl2["gamma_diffuse", "stereo"], "stereo")
    dist = read_table(toy.dl2["gamma_diffuse", "stereo"], "/simulation/service/shower_distribution")
    edges = u.Quantity(dist["bins_energy"][0][::4], u.TeV)
    thrown = dist["histogram"][0].sum(axis=1).reshape(-1, 4).sum(axis=1)
    fov = u.Quantity([0, 1, 2, 3], u.deg)  # inside the 3° view cone
    makers = SimpleNamespace(
        true_energy_bins=edges,
        fov_offset_bins=fov,
        reco_energy_bins=edges,
        migration_bins=[0.2, 5],
        source_offset_bins=u.Quantity([0, 1], u.deg),
    )
    acc = IrfAccumulator(makers, makers, makers, makers, reader.sim_info, point_like=False)
    n_sel = np.zeros(len(edges) - 1)
    for _, events in reader:
        acc.add_gammas(events, events)
        n_sel += np.histogram(events["true_energy"].to_value(u.TeV), edges.value)[0]
    omega = np.diff(cone_solid_angle(fov)).to_value(u.sr)
    area = (acc.aeff.to_value(u.m**2) * omega).sum(axis=1) / omega.sum()
    r_max = reader.sim_info.max_impact.to_value(u.m)
    expected = np.pi * r_max**2 * n_sel / thrown
    good = n_sel >= 20
    assert good.sum() >= 5
    pull = (area[good] - expected[good]) / (expected[good] / np.sqrt(n_sel[good]))
    assert np.all(np.abs(pull) < 3.5), pull
    assert abs(np.mean(pull)) < 1.5


def test_edisp_and_psf_are_normalised(toy, tmp_path):
    path = make_irfs(toy, tmp_path, "--global-gammaness=0.5")
    with fits.open(path) as hdul:
        ed = hdul["ENERGY DISPERSION"].data
        matrix = ed["MATRIX"][0]  # (fov, migra, E)
        dmu = ed["MIGRA_HI"][0] - ed["MIGRA_LO"][0]
        norm = (matrix * dmu[np.newaxis, :, np.newaxis]).sum(axis=1)
        filled = norm > 0
        assert filled.sum() >= 10
        np.testing.assert_allclose(norm[filled], 1.0, rtol=1e-10)
        psf = hdul["PSF"].data
        rpsf = psf["RPSF"][0]  # (rad, fov, E) in sr-1
        assert hdul["PSF"].columns["RPSF"].unit == "sr-1"
        rad = u.Quantity(np.append(psf["RAD_LO"][0], psf["RAD_HI"][0][-1]), u.deg)
        domega = np.diff(cone_solid_angle(rad)).to_value(u.sr)
        integral = (rpsf * domega[:, np.newaxis, np.newaxis]).sum(axis=0)
        filled = integral > 0
        assert filled.sum() >= 10
        np.testing.assert_allclose(integral[filled], 1.0, rtol=1e-10)
        assert len(rad) == 501  # the sst1mpipe binning bug (17 edges) is fixed


def test_background_rate_reproduces_weights(toy, tmp_path):
    path = make_irfs(toy, tmp_path, "--global-gammaness=0.3")
    with fits.open(path) as hdul:
        bkg = hdul["BACKGROUND"]
        rate = bkg.data["BKG"][0].T * u.Unit(bkg.columns["BKG"].unit)  # (E, fov)
        e = u.Quantity(np.append(bkg.data["ENERG_LO"][0], bkg.data["ENERG_HI"][0][-1]), u.TeV)
        fov = u.Quantity(np.append(bkg.data["THETA_LO"][0], bkg.data["THETA_HI"][0][-1]), u.deg)
        t_obs = bkg.header["OBS_TIME"] * u.s
    reader = SST1MDL2EventReader(toy.dl2["proton", "stereo"], "stereo")
    events, _ = reader.read_all()
    events = events[(events["gh_score"] > 0.3) & (events["multiplicity"] >= 2)]
    add_weights(events, reader.sim_info, "DAMPE_P_He_SPECTRUM", t_obs)
    sum_w = np.histogram2d(
        events["reco_energy"].to_value(u.TeV),
        events["reco_source_fov_offset"].to_value(u.deg),
        bins=(e.value, fov.value),
        weights=events["weight"],
    )[0]
    counts = (
        rate * np.diff(e)[:, np.newaxis] * np.diff(cone_solid_angle(fov))[np.newaxis, :] * t_obs
    ).to_value(u.one)
    assert sum_w.sum() > 0
    np.testing.assert_allclose(counts, sum_w, rtol=1e-9, atol=1e-12 * sum_w.max())


def test_gammapy_reads_every_hdu(toy, tmp_path):
    from gammapy.irf import (
        PSF3D,
        Background2D,
        EffectiveAreaTable2D,
        EnergyDispersion2D,
        RadMax2D,
    )

    full = make_irfs(toy, tmp_path / "full", "--global-gammaness=0.5")
    aeff = EffectiveAreaTable2D.read(full, hdu="EFFECTIVE AREA")
    assert aeff.unit == u.m**2
    assert aeff.evaluate(energy_true=5 * u.TeV, offset=0.5 * u.deg) > 1e3 * u.m**2
    edisp = EnergyDispersion2D.read(full, hdu="ENERGY DISPERSION")
    assert edisp.axes.names == ["energy_true", "migra", "offset"]
    psf = PSF3D.read(full, hdu="PSF")
    radius = psf.containment_radius(0.68, energy_true=5 * u.TeV, offset=0.5 * u.deg)
    assert 0.02 * u.deg < radius < 0.8 * u.deg
    bkg = Background2D.read(full, hdu="BACKGROUND")
    assert bkg.unit.is_equivalent("MeV-1 s-1 sr-1")
    point = make_irfs(
        toy, tmp_path / "point", "--global-gammaness=0.5", "--point-like", "--global-theta=0.25 deg"
    )
    rad_max = RadMax2D.read(point, hdu="RAD_MAX")
    np.testing.assert_allclose(rad_max.quantity.to_value(u.deg), 0.25)
    assert EffectiveAreaTable2D.read(point, hdu="EFFECTIVE AREA").is_pointlike


def test_headers(toy, tmp_path):
    path = make_irfs(
        toy,
        tmp_path,
        "--global-gammaness=0.5",
        "--tel-setup=tel_022",
        gamma=("gamma_diffuse", "mono"),
        proton=("proton", "mono"),
    )
    models = read_table(toy.dl2["gamma_diffuse", "mono"], "/dl2/sst1m_models")
    sha = {str(r["kind"]): str(r["sha256"]) for r in models}
    with tables.open_file(toy.dl2["gamma_diffuse", "mono"]) as h5:
        block = h5.root.configuration.observation.observation_block.read()
    zenith = 90 - block["subarray_pointing_lat"].mean()  # stored in deg
    assert path.parent.parent.name == "tel_022"
    with fits.open(path) as hdul:
        for hdu in hdul[1:]:
            h = hdu.header
            assert h["TELESCOP"] == "SST-1M" and h["INSTRUME"] == "SST1M-2"
            assert abs(h["ZEN_PNT"] - zenith) < 1e-5
            assert h["AZ_PNT"] == 0.0
            assert h["NSB"] == "none" and h["EVTCLASS"] == "all"
            assert h["GH_CUT"] == 0.5 and "GH_EFF" not in h
            assert h["E_SHA256"] == sha["energy"] and h["C_SHA256"] == sha["classifier"]
            assert h["D_SHA256"] == sha["disp"]
            assert h["SST1MVER"] and len(h["CFGHASH"]) == 16
        assert hdul["BACKGROUND"].header["OBS_TIME"] == 50 * 3600
        assert [h.name for h in hdul[1:]] == [
            "EFFECTIVE AREA",
            "ENERGY DISPERSION",
            "PSF",
            "BACKGROUND",
        ]


def test_energy_dependent_cuts_in_header_and_hdu(toy, tmp_path):
    from ctapipe_sst1m.tools.optimize_cuts import OptimizeCutsTool

    cuts = tmp_path / "cuts.fits"
    argv = [
        f"--gamma={toy.dl2['gamma_diffuse', 'stereo']}",
        f"--output={cuts}",
        "--method=efficiency",
        "--gamma-efficiency=0.7",
        "--theta=containment",
        "--min-events=40",
        f"--provenance-log={tmp_path / 'p.log'}",
    ]
    assert run_tool(OptimizeCutsTool(), argv=argv, cwd=tmp_path) == 0
    path = make_irfs(toy, tmp_path, f"--cuts={cuts}", "--point-like")
    with fits.open(path) as hdul:
        h = hdul["EFFECTIVE AREA"].header
        assert h["GH_EFF"] == 0.7 and "GH_CUT" not in h
        assert h["TH_CONT"] == 0.68 and "RAD_MAX" not in h
        assert h["HDUCLAS3"] == "POINT-LIKE"
        gh = hdul["GH_CUTS"].data
        assert np.all(np.diff(gh["low"]) > 0) and np.all((gh["cut"] >= 0.1) & (gh["cut"] <= 0.95))
        names = [x.name for x in hdul[1:]]
        assert names == ["EFFECTIVE AREA", "ENERGY DISPERSION", "RAD_MAX", "BACKGROUND", "GH_CUTS"]
    assert "eff0.70_pointlike" in path.name


def test_aligned_read_equals_tableloader(toy):
    """The row-range read of aligned subarray tables gives what ctapipe's TableLoader joins."""
    reader = SST1MDL2EventReader(toy.dl2["gamma_diffuse", "stereo"], "stereo", chunk_size=300)
    fast, n_fast = reader.read_all()
    reader._chunks = reader._loader_chunks  # force the TableLoader path
    joined, n_joined = reader.read_all()
    assert n_fast == n_joined and len(fast) == len(joined) > 100
    for name in fast.colnames:
        np.testing.assert_array_equal(u.Quantity(fast[name]).value, u.Quantity(joined[name]).value)


def test_point_like_gammas_give_one_fov_bin(toy, tmp_path):
    from gammapy.irf import EffectiveAreaTable2D, EnergyDispersion2D

    path = make_irfs(toy, tmp_path, "--global-gammaness=0.5", "--point-like",
                     gamma=("gamma_point", "stereo"))  # fmt: skip
    aeff = EffectiveAreaTable2D.read(path, hdu="EFFECTIVE AREA")
    # the toy source is 0.4° off axis: one bin [max(0, 0.4 - 1), 0.4 + 1]
    np.testing.assert_allclose(aeff.axes["offset"].edges.to_value(u.deg), [0, 1.4], atol=1e-6)
    assert aeff.data.max() > 1e4  # m², filled
    assert EnergyDispersion2D.read(path, hdu="ENERGY DISPERSION").axes["offset"].nbin == 1


def test_bank_of_mc_telescopes_21_22_for_every_setup(chain):
    """``sst1m-simulate --telescopes 21 22`` MC through ``sst1m-make-irfs`` (the shared chain):
    tel_021, tel_022 and stereo files at every node, with the right instrument and pointing."""
    from gammapy.irf import EffectiveAreaTable2D

    from ctapipe_sst1m.irf.bank import list_bank

    bank = list_bank(chain.irf_bank)
    full = bank[bank["type"] == "FULL-ENCLOSURE"]
    instrument = {"tel_021": "SST1M-1", "tel_022": "SST1M-2", "stereo": "SST1M-1,2"}
    for zenith in (20.0, 30.0, 40.0):
        area = {}
        for setup in ("tel_021", "tel_022", "stereo"):
            (row,) = full[(full["tel_setup"] == setup) & (np.round(full["zenith"], 1) == zenith)]
            path = chain.irf_bank / str(row["file"])
            with fits.open(path) as hdul:
                h = hdul["EFFECTIVE AREA"].header
                assert h["INSTRUME"] == instrument[setup] and h["TELSETUP"] == setup
                assert h["ZEN_PNT"] == pytest.approx(zenith, abs=1e-3)
                assert h["EVTCLASS"] == "all"
            aeff = EffectiveAreaTable2D.read(path, hdu="EFFECTIVE AREA")
            area[setup] = aeff.data.sum()
            assert aeff.data.max() > 0
        # the two telescopes are alike (stereo and mono areas are not ordered here: their
        # gammaness models, and so what a 0.6 cut keeps, differ)
        assert 0.7 < area["tel_021"] / area["tel_022"] < 1.4
