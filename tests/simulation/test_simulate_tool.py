"""sst1m-simulate output: ctapipe layout, bookkeeping, physics seen through ctapipe's DL1."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from ctapipe.core import run_tool
from ctapipe.instrument import SubarrayDescription
from ctapipe.io import TableLoader, read_table

from ctapipe_sst1m.simulation import make_toy_file
from ctapipe_sst1m.tools.simulate import SimulateTool


def _tel_events(path):
    with TableLoader(path) as loader:
        return loader.read_telescope_events()


def test_layout_and_bookkeeping(gamma_file):
    run = read_table(gamma_file, "/configuration/simulation/run")
    assert len(run) == 1
    assert run["n_showers"][0] == 12000 and run["shower_reuse"][0] == 2
    assert run["energy_range_min"].quantity[0] == 0.2 * u.TeV
    assert run["max_scatter_range"].quantity[0] == 800 * u.m
    dist = read_table(gamma_file, "/simulation/service/shower_distribution")
    # every thrown shower is counted, triggered or not
    assert dist["n_entries"].sum() == 12000 * 2
    assert dist["histogram"][0].sum() == 24000

    shower = read_table(gamma_file, "/simulation/event/subarray/shower")
    trigger = read_table(gamma_file, "/dl1/event/subarray/trigger")
    assert len(shower) == len(trigger) > 300
    assert np.all(shower["true_shower_primary_id"] == 0)
    assert set(shower["event_id"] % 100) == {0, 1}
    # mono and stereo events are both present
    n_tel = trigger["tels_with_trigger"].sum(axis=1)
    assert np.any(n_tel == 1) and np.any(n_tel == 2)
    # realistic, strictly increasing trigger times
    assert np.all(np.diff(trigger["time"].unix_tai) > 0)

    impact = read_table(gamma_file, "/simulation/event/telescope/impact/tel_001")
    assert "true_impact_distance" in impact.colnames
    assert np.all(impact["true_impact_distance"] >= 0)

    for tel in ("tel_001", "tel_002"):
        pointing = read_table(gamma_file, f"/configuration/telescope/pointing/{tel}")
        assert pointing["telescope_pointing_altitude"].quantity.to_value(u.deg) == pytest.approx(
            [70.0]
        )
    ob = read_table(gamma_file, "/configuration/observation/observation_block")
    assert ob["subarray_pointing_lat"].quantity.to_value(u.deg) == pytest.approx([70.0])


def test_pyirf_simulated_events_info(gamma_diffuse_file):
    from pyirf.simulations import SimulatedEventsInfo

    run = read_table(gamma_diffuse_file, "/configuration/simulation/run")
    info = SimulatedEventsInfo(
        n_showers=int(np.sum(run["n_showers"] * run["shower_reuse"])),
        energy_min=run["energy_range_min"].quantity[0],
        energy_max=run["energy_range_max"].quantity[0],
        max_impact=run["max_scatter_range"].quantity[0],
        spectral_index=run["spectral_index"][0],
        viewcone_min=run["min_viewcone_radius"].quantity[0],
        viewcone_max=run["max_viewcone_radius"].quantity[0],
    )
    dist = read_table(gamma_diffuse_file, "/simulation/service/shower_distribution")
    assert info.n_showers == dist["n_entries"].sum() == 30000
    # the simulated counts integrate back to every thrown shower
    n = info.calculate_n_showers_per_energy([0.2, 1.0, 300] * u.TeV)
    assert n.sum() == pytest.approx(30000, rel=1e-9)
    # and follow the E^-2 power law: half the showers per factor ~ (E ratio) in log
    assert n[0] / n.sum() == pytest.approx((1 / 0.2 - 1) / (1 / 0.2 - 1 / 300), rel=1e-6)
    hist = np.asarray(dist["histogram"][0])
    below_1tev = dist["bins_energy"].quantity[0][1:] <= 1.0 * u.TeV
    assert hist[below_1tev].sum() == pytest.approx(n[0], rel=0.05)


def test_gamma_and_proton_subarrays_identical(gamma_file, proton_file):
    gamma = SubarrayDescription.from_hdf(gamma_file)
    proton = SubarrayDescription.from_hdf(proton_file)
    assert gamma == proton
    assert gamma.tel_ids.tolist() == [1, 2]
    assert read_table(proton_file, "/simulation/event/subarray/shower")[
        "true_shower_primary_id"
    ].tolist() == [101] * len(read_table(proton_file, "/dl1/event/subarray/trigger"))


def _miss(events):
    """Distance of the true source from the Hillas main axis (deg), with the cog distance."""
    lon = events["hillas_fov_lon"].quantity.to_value(u.deg)
    lat = events["hillas_fov_lat"].quantity.to_value(u.deg)
    psi = events["hillas_psi"].quantity.to_value(u.rad)
    # true source in the telescope frame: the point source sits at +0.4 deg fov_lon
    dx, dy = 0.4 - lon, 0.0 - lat
    miss = np.abs(-dx * np.sin(psi) + dy * np.cos(psi))
    return miss, np.hypot(dx, dy)


def test_gamma_source_on_main_axis_and_disp_grows_with_impact(gamma_file):
    events = _tel_events(gamma_file)
    good = (events["hillas_intensity"] > 100) & (events["leakage_intensity_width_2"] < 0.2)
    good &= events["hillas_width"].quantity.to_value(u.deg) > 0
    events = events[good]
    assert len(events) > 100
    miss, cog_distance = _miss(events)
    assert np.median(miss) < 0.08
    impact = events["true_impact_distance"].quantity.to_value(u.m)
    near = np.median(cog_distance[impact < 80])
    mid = np.median(cog_distance[(impact > 120) & (impact < 180)])
    far = np.median(cog_distance[impact > 220])
    assert near < mid < far
    # disp ≈ atan(d / L) with L ≈ 9 km at 20 deg zenith: ~1 deg at 150 m
    assert mid == pytest.approx(np.rad2deg(np.arctan(150 / 9200)), rel=0.3)


def test_protons_wider_at_equal_intensity(gamma_diffuse_file, proton_file):
    gamma = _tel_events(gamma_diffuse_file)
    proton = _tel_events(proton_file)

    def widths(ev):
        sel = (ev["hillas_intensity"] > 80) & (ev["hillas_intensity"] < 400)
        return ev["hillas_width"].quantity.to_value(u.deg)[sel]

    g, p = widths(gamma), widths(proton)
    assert len(g) > 100 and len(p) > 30
    assert np.median(p) > 1.5 * np.median(g)


def test_reproducible(pair_dl1_file, pair_args, tmp_path):
    n_showers, seed = pair_args
    a = pair_dl1_file
    b = make_toy_file(tmp_path / "b.h5", "gamma", n_showers=n_showers, seed=seed)
    c = make_toy_file(tmp_path / "c.h5", "gamma", n_showers=n_showers, seed=seed + 1)
    for node in (
        "/dl1/event/subarray/trigger",
        "/dl1/event/telescope/parameters/tel_001",
        "/simulation/event/subarray/shower",
    ):
        ta, tb = read_table(a, node), read_table(b, node)
        for col in ta.colnames:
            np.testing.assert_array_equal(np.asarray(ta[col]), np.asarray(tb[col]))
    shower_c = read_table(c, "/simulation/event/subarray/shower")
    shower_a = read_table(a, "/simulation/event/subarray/shower")
    assert len(shower_a) != len(shower_c) or np.any(
        shower_a["true_energy"] != shower_c["true_energy"]
    )


def test_existing_output_refused(tmp_path, capfd):
    out = tmp_path / "exists.h5"
    out.write_text("x")
    argv = ["--n-showers=10", "-o", str(out), f"--provenance-log={tmp_path / 'p.log'}"]
    code = run_tool(SimulateTool(), argv, cwd=tmp_path, raises=False)
    assert code == 2
    assert f"Output path {out} exists" in capfd.readouterr().err
    assert out.read_text() == "x"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exists.h5", "p.log"]


def test_missing_output_directory_refused(tmp_path, capfd):
    out = tmp_path / "missing" / "out.h5"
    argv = ["--n-showers=10", "-o", str(out), f"--provenance-log={tmp_path / 'p.log'}"]
    assert run_tool(SimulateTool(), argv, cwd=tmp_path, raises=False) == 2
    assert "does not exist; create it first" in capfd.readouterr().err
    assert not out.parent.exists()


def test_stereo_geometry_of_sst1m_r0_dl1_is_written(gamma_diffuse_file):
    """The toy DL1 has the shower geometry sst1m-r0-dl1 writes for simulations."""
    geometry = read_table(gamma_diffuse_file, "/dl2/event/subarray/geometry/HillasReconstructor")
    trigger = read_table(gamma_diffuse_file, "/dl1/event/subarray/trigger")
    assert len(geometry) == len(trigger)
    stereo = trigger["tels_with_trigger"].sum(axis=1) >= 2
    valid = np.asarray(geometry["HillasReconstructor_is_valid"])
    # only stereo events can have a geometry; most of them pass the SST-1M quality cuts
    assert not np.any(valid & ~stereo)
    assert valid.sum() > 0.5 * stereo.sum() > 20
    h_max = geometry["HillasReconstructor_h_max"].quantity[valid].to_value(u.km)
    assert 3 < np.median(h_max) < 15
    # the tables the stereo training reads, through ctapipe's TableLoader
    with TableLoader(gamma_diffuse_file, dl2=True) as loader:
        events = loader.read_telescope_events()
    for column in ("HillasReconstructor_h_max", "HillasReconstructor_tel_impact_distance"):
        assert column in events.colnames
    ok = np.asarray(events["HillasReconstructor_is_valid"])
    impact = events["HillasReconstructor_tel_impact_distance"].quantity[ok].to_value(u.m)
    true_impact = events["true_impact_distance"].quantity[ok].to_value(u.m)
    assert np.median(np.abs(impact - true_impact)) < 0.3 * np.median(true_impact)


def test_sigterm_leaves_nothing_behind(tmp_path):
    """SIGTERM in the event loop: exit status 130, one line, no output and no stub left."""
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    command = [
        str(Path(sys.executable).parent / "sst1m-simulate"),
        "--n-showers=2000000",
        "-o",
        str(out_dir / "run.h5"),
        f"--provenance-log={tmp_path / 'p.log'}",
    ]
    proc = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list(out_dir.glob(".*.part.h5")) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert list(out_dir.glob(".*.part.h5")), "the run never started writing"
    time.sleep(2.0)  # well inside the event loop
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert "Traceback" not in stderr and "SystemError" not in stderr
    assert list(out_dir.iterdir()) == []


def test_stock_energy_regressor_trains(gamma_diffuse_file, tmp_path):
    config = tmp_path / "energy.yaml"
    config.write_text(
        """
TrainEnergyRegressor:
  random_seed: 1
EnergyRegressor:
  model_cls: RandomForestRegressor
  model_config: {n_estimators: 10, max_depth: 8, n_jobs: 1}
  log_target: true
  features: [hillas_intensity, hillas_width, hillas_length, hillas_r, timing_slope]
  QualityQuery:
    quality_criteria: [["bright", "hillas_intensity > 50"], ["width", "hillas_width > 0"]]
CrossValidator:
  n_cross_validations: 2
"""
    )
    model = tmp_path / "energy.pkl"
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "ctapipe-train-energy-regressor"),
            "-i",
            str(gamma_diffuse_file),
            "-o",
            str(model),
            "-c",
            str(config),
            "--cv-output",
            str(tmp_path / "cv.h5"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert model.stat().st_size > 1000
    cv = read_table(tmp_path / "cv.h5", "/cv_predictions/SST_1M_DigiCam")
    ratio = cv["RandomForestRegressor_energy"] / cv["true_energy"]
    assert 0.7 < np.median(ratio) < 1.4


def test_r1_variant_with_sst_cleaner_matches_dl1_variant(pair_r1_file, pair_dl1_file):
    """Same seed: the R1 path (LocalPeakWindowSum + ImageCleanerSST) recovers the DL1 images."""
    a = read_table(pair_r1_file, "/dl1/event/telescope/parameters/tel_001")
    b = read_table(pair_dl1_file, "/dl1/event/telescope/parameters/tel_001")
    assert len(a) == len(b) > 30
    np.testing.assert_array_equal(a["event_id"], b["event_id"])
    bright = (b["hillas_intensity"] > 150) & (a["hillas_intensity"] > 0)
    ratio = a["hillas_intensity"][bright] / b["hillas_intensity"][bright]
    assert np.median(ratio) == pytest.approx(1.0, abs=0.15)
    dlon = (a["hillas_fov_lon"] - b["hillas_fov_lon"])[bright]
    assert np.median(np.abs(dlon)) < 0.05


def test_zenith_is_an_angle_with_its_unit(tmp_path, capfd):
    out = tmp_path / "z40.h5"
    log = f"--provenance-log={tmp_path / 'p.log'}"
    argv = ["--n-showers=2000", "--zenith=40 deg", "--azimuth=0.5 rad", "-o", str(out), log]
    assert run_tool(SimulateTool(), argv, cwd=tmp_path) == 0
    pointing = read_table(out, "/configuration/telescope/pointing/tel_001")
    assert pointing["telescope_pointing_altitude"].quantity[0].to_value(u.deg) == pytest.approx(50)
    assert pointing["telescope_pointing_azimuth"].quantity[0].to_value(u.rad) == pytest.approx(0.5)
    capfd.readouterr()
    argv = ["--n-showers=10", "--zenith=75 deg", "-o", str(tmp_path / "z75.h5"), log]
    assert run_tool(SimulateTool(), argv, cwd=tmp_path, raises=False) == 2
    assert "zenith 75.0 deg is outside 0-70 deg" in capfd.readouterr().err
    assert not (tmp_path / "z75.h5").exists()
