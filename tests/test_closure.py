"""Closure test of the whole chain on a toy night with a known truth.

toy night (``sst1m-simulate-night``: Crab log-parabola × 40, two wobbles, 8 runs of 40 s spread
over the night so that the zenith grows from 28° to about 40°) → ``sst1m-dl1-stereo`` →
``sst1m-dl1-dl2`` (forests trained on toy MC) — all from the shared ``chain`` fixture, which also
provides the IRF bank at 20°, 30°, 40° — then, here, ``sst1m-dl2-dl3`` (IRFs interpolated
linearly in cos zenith, stereo and tel 21 mono) → ``sst1m-high-level``; the results are
compared with ``truth.json`` and ``truth_events.fits`` (DL3 events are matched to the injected
showers by their trigger time, within 1 µs):

* the sky-map peak lies within the 68 % containment radius of the PSF from the target;
* the θ² excess equals the number of injected gammas in the ON region after the cuts, within
  its Poisson error, and the OFF regions hold no excess (homogeneous, and α·N_off agrees with
  the true background in the ON region);
* the log-parabola fit recovers the injected amplitude and α within 2σ (reference 1 TeV), and
  the flux points agree with the injected curve (χ²);
* the per-run light curve is consistent with the constant injected flux;
* mono (tel 21) and stereo agree within their errors.

Sizes and what was reduced for the suite budget: the chain's night is 8 × 40 s (320 s of
livetime, ~180 stereo events after the IRF's gammaness cut 0.6, ~140 of them from the source);
the IRF MC is 10⁴ diffuse gammas per node, so the high-energy IRF bins are empty — the analysis
range is 1–20 TeV and the safe masks leave out edisp-bias (on the sparse energy dispersion it
masks everything below 25 TeV); 10 true-energy bins per decade (reference 41), 5 flux points
(reference 12), a 3° sky map with 0.05° pixels (reference 5°, 0.02°); θ² with n_off = 3,
because at a 0.4° wobble with a 0.2° cut the 5 reflected regions of the reference touch the
ON region (source events leak into them). The bias over several seeds ("no bias > 1σ on
average") is NOT tested: each seed needs a new night through stereo and DL2, too slow for the
suite, and no benchmark runs it yet.

What the toy cannot test here: the night has essentially no background after the cuts (every
DL3 event of the ON and OFF regions is a gamma), so the sky map's significances outside the
exclusion region are in the Poisson regime, not N(0, 1); the test asserts that no pixel
outside 0.5° of the source exceeds 5σ and that the distribution is not wider than N(0, 1).
The N(0, 1) test with a background-dominated field is ``tests/analysis/test_skymap.py``.
"""

import json

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.table import Table
from astropy.time import Time
from ctapipe.core import run_tool

pytestmark = pytest.mark.slow

CONFIG = """
SpectrumAnalysis:
  reference_energy: 1 TeV
  true_bins_per_decade: 10
  n_flux_points: 5
  safe_mask_methods: [aeff-max]
SkyMapAnalysis:
  safe_mask_methods: [offset-max, aeff-max]
  width: 3 deg
  pixel_size: 0.05 deg
  n_energy_bins: 4
"""


def _dl3(chain, inputs, setup, out, tmp):
    from ctapipe_sst1m.tools.dl2_dl3 import DL2ToDL3Tool

    files = [w for f in inputs for w in ("-i", f)]  # sst1m-dl2-dl3 takes -i once per file
    argv = [*files, "--irfs", chain.irf_bank, "--output-dir", out, "--target", "Crab",
            f"--tel-setup={setup}", f"--provenance-log={tmp / 'dl3.provenance.log'}"]  # fmt: skip
    assert run_tool(DL2ToDL3Tool(), argv=[str(a) for a in argv], cwd=tmp, raises=True) == 0
    return out


def _high_level(index, out, tmp, analyses):
    from ctapipe_sst1m.tools.high_level import HighLevelTool

    config = tmp / "closure.yaml"
    config.write_text(CONFIG)
    argv = ["-i", index, "--target", "Crab", "--output-dir", out, "--model", "logparabola",
            "--energy-range", "1", "20", "--n-off", "3", "--analyses", analyses, "-c", config,
            f"--provenance-log={tmp / 'hl.provenance.log'}"]  # fmt: skip
    assert run_tool(HighLevelTool(), argv=[str(a) for a in argv], cwd=tmp, raises=True) == 0
    return json.loads((out / "summary.json").read_text())


@pytest.fixture(scope="module")
def closure(chain, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("closure")
    stereo = _dl3(chain, [chain.stereo_dl2], "stereo", tmp / "dl3_stereo", tmp)
    mono = _dl3(chain, chain.mono_dl2(21), "tel_021", tmp / "dl3_tel021", tmp)
    return {
        "tmp": tmp,
        "stereo_index": stereo,
        "stereo": _high_level(stereo, tmp / "hl_stereo", tmp, "theta2,skymap,spectrum,lightcurve"),
        "mono": _high_level(mono, tmp / "hl_tel021", tmp, "theta2,spectrum"),
        "truth": chain.truth,
        "truth_events": Table.read(chain.night / "truth_events.fits"),
    }


def _primaries(index, truth_events, tel_id=21):
    """Per observation: DL3 events with the primary of the injected shower (time match)."""
    from gammapy.data import DataStore

    truth = truth_events[truth_events["tel_id"] == tel_id]
    order = np.argsort(truth["time_ns"])
    t_ns = np.asarray(truth["time_ns"])[order]
    primary = np.asarray(truth["shower_primary_id"])[order]
    store = DataStore.from_dir(index)
    for obs_id in store.obs_table["OBS_ID"]:
        obs = store.obs(obs_id)
        times = obs.events.time.tai
        ns = np.round((times.unix_tai - Time(0, format="unix_tai").unix_tai) * 1e9)
        j = np.clip(np.searchsorted(t_ns, ns), 1, len(t_ns) - 1)
        j = np.where(np.abs(t_ns[j - 1] - ns) < np.abs(t_ns[j] - ns), j - 1, j)
        assert np.all(np.abs(t_ns[j] - ns) < 1e3), "DL3 event without an injected shower"
        yield obs, primary[j]


def _target(summary):
    return SkyCoord(summary["target"]["ra_deg"], summary["target"]["dec_deg"], unit="deg")


def test_theta2_excess_is_the_injected_gamma_count(closure):
    from ctapipe_sst1m.analysis.theta2 import reflected_positions

    s = closure["stereo"]["theta2"]
    target = _target(closure["stereo"])
    cut = s["theta_cut_deg"] * u.deg
    gamma_on, bkg_on, gamma_off = 0, 0, 0
    for obs, primary in _primaries(closure["stereo_index"], closure["truth_events"]):
        on = obs.events.radec.separation(target) < cut
        gamma_on += np.count_nonzero(on & (primary == 0))
        bkg_on += np.count_nonzero(on & (primary != 0))
        pointing = obs.get_pointing_icrs(obs.tmid)
        for centre in reflected_positions(target, pointing, len(s["n_off_regions"])):
            off = obs.events.radec.separation(centre) < cut
            gamma_off += np.count_nonzero(off & (primary == 0))
    assert gamma_on > 50
    assert s["excess"] == pytest.approx(gamma_on, abs=2 * s["excess_error"])
    # OFF regions: no source excess (the OFF counts agree with the true background ON) ...
    assert s["alpha"] * s["n_off"] == pytest.approx(bkg_on, abs=2 * np.sqrt(bkg_on + 1) + 1)
    assert gamma_off <= 0.05 * gamma_on
    # ... and agree with each other
    regions = np.array(s["n_off_regions"])
    mean = max(regions.mean(), 1.0)
    assert np.sum((regions - mean) ** 2 / mean) < 13.8  # 2 dof, p = 0.001
    assert s["significance"] > 5


def test_source_position_within_psf(closure):
    from gammapy.data import DataStore
    from gammapy.maps import Map

    summary = closure["stereo"]
    target = _target(summary)
    significance = Map.read(closure["tmp"] / "hl_stereo" / "skymap_significance.fits")
    data = np.nan_to_num(significance.data[0], nan=-np.inf)
    iy, ix = np.unravel_index(np.argmax(data), data.shape)
    lon, lat = significance.geom.pix_to_coord((ix, iy, 0))[:2]
    peak = SkyCoord(lon, lat, unit="deg", frame="icrs")
    store = DataStore.from_dir(closure["stereo_index"])
    obs = store.obs(store.obs_table["OBS_ID"][0])
    r68 = obs.psf.containment_radius(0.68, energy_true=2 * u.TeV, offset=0.4 * u.deg)
    assert peak.separation(target) < r68
    # no other source: nothing above 5 sigma outside 0.5 deg, not wider than N(0, 1)
    far = significance.geom.separation(target)[np.newaxis] > 0.5 * u.deg
    assert np.nanmax(significance.data[far]) < 5
    off = summary["skymap"]["off_distribution"]
    assert off["sigma"] < 1 + 3 * off["sigma_error"]
    assert abs(off["mean"]) < 3 * off["mean_error"] + 0.1


def _injected(truth):
    from chain import injected_spectrum

    return injected_spectrum(truth)


def test_spectrum_recovers_injected(closure):
    injected = _injected(closure["truth"])
    fit = closure["stereo"]["spectrum"]
    pars = fit["parameters"]
    assert fit["fit"]["success"]
    assert pars["reference"]["value"] == pytest.approx(1.0)
    amplitude = injected(1 * u.TeV).to_value("TeV-1 cm-2 s-1")
    assert pars["amplitude"]["value"] == pytest.approx(
        amplitude, abs=2 * pars["amplitude"]["error"]
    )
    assert pars["alpha"]["value"] == pytest.approx(
        injected.alpha.value, abs=2 * pars["alpha"]["error"]
    )
    assert fit["detection"]["significance"] > 5


@pytest.mark.xfail(
    strict=True,
    reason="open: the lowest flux point (1.0-1.8 TeV, at the toy's energy threshold) lies 3.8 "
    "sigma below the injected curve (2026-12-02, chain now deterministic; the others within 2.1 "
    "sigma); cause not found yet (candidates: the interpolated IRFs at threshold, energy bias of "
    "the toy forests)",
)
def test_flux_points_follow_injected(closure):
    injected = _injected(closure["truth"])
    table = Table.read(closure["tmp"] / "hl_stereo" / "flux_points.fits", hdu=1)
    ok = np.isfinite(table["dnde_err"]) & (table["sqrt_ts"] > 2) & ~table["is_ul"]
    assert ok.sum() >= 3
    pull = ((table["dnde"][ok] - injected(table["e_ref"][ok])) / table["dnde_err"][ok]).to_value("")
    assert np.sum(pull**2) < ok.sum() + 3 * np.sqrt(2 * ok.sum())


def test_lightcurve_constant(closure):
    injected = _injected(closure["truth"])
    truth_flux = injected.integral(1 * u.TeV, 20 * u.TeV).to_value("cm-2 s-1")
    runs = closure["stereo"]["lightcurve"]["runs"]
    runs = [r for r in runs if not r["is_ul"] and r["flux"] is not None and r["flux_err"]]
    assert len(runs) >= 4
    pull = np.array([(r["flux"] - truth_flux) / r["flux_err"] for r in runs])
    assert np.sum(pull**2) < len(runs) + 3 * np.sqrt(2 * len(runs))


def test_mono_agrees_with_stereo(closure):
    mono, stereo = closure["mono"], closure["stereo"]
    a_m, a_s = (
        mono["spectrum"]["parameters"]["amplitude"],
        stereo["spectrum"]["parameters"]["amplitude"],
    )
    assert mono["spectrum"]["fit"]["success"]
    assert abs(a_m["value"] - a_s["value"]) < 2 * np.hypot(a_m["error"], a_s["error"])
    i_m, i_s = mono["spectrum"]["parameters"]["alpha"], stereo["spectrum"]["parameters"]["alpha"]
    assert abs(i_m["value"] - i_s["value"]) < 2 * np.hypot(i_m["error"], i_s["error"])
    assert mono["theta2"]["significance"] > 5
