"""The real chain on real DigiCam files, with the real commands and nothing made by a helper.

R0 (the 2018 tel-22 and the 2017 tel-21 example files) → DL1 with the real calibration files
→ DL2 mono with RA/Dec (models trained on toy MC by the session fixture ``toy``, made with the
real ``sst1m-simulate``/``ctapipe-process``/``sst1m-train-models``), stock
``ctapipe-apply-models`` on the same DL1, and ``sst1m-dl1-stereo`` on the two real DL1 files
(which do not overlap in time: the honest outcome is its one-line refusal).
"""

import subprocess
import sys
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
import tables
from astropy.coordinates import AltAz, SkyCoord
from ctapipe.core import run_tool
from ctapipe.instrument import SubarrayDescription
from ctapipe.io import TableLoader, read_table
from ctapipe.tools.process import ProcessorTool

from ctapipe_sst1m.io.datamodel import (
    DL0_TEL_POINTING_GROUP,
    DL2_SUBARRAY_GEOMETRY_GROUP,
    DL2_SUBARRAY_SKY_GROUP,
    OBSERVATION_BLOCK_TABLE,
    tel_path,
)
from ctapipe_sst1m.tools.dl1_dl2 import DL1ToDL2Tool
from ctapipe_sst1m.tools.dl1_stereo import DL1StereoTool
from ctapipe_sst1m.tools.r0_dl1 import SST1MR0DL1Tool, default_config_path

BIN = Path(sys.executable).parent
#: the Crab, given on the command line (the example files carry no TARGET coordinates)
RA, DEC = 83.633, 22.0145


def _r0_dl1(raw, calibration, out):
    argv = [
        f"-i={raw}",
        f"-o={out}",
        f"--DigiCamR0Corrections.calibration_file={calibration}",
        f"--SST1MEventSource.pointing_ra={RA}",
        f"--SST1MEventSource.pointing_dec={DEC}",
        f"--provenance-log={out.parent / 'r0_dl1.provenance.log'}",
        "--no-summary",
    ]
    assert run_tool(SST1MR0DL1Tool(), argv, cwd=out.parent, raises=True) == 0
    return out


@pytest.fixture(scope="module")
def dl1_22(digicam_2018_file, reference_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("real22") / "tel22.dl1.h5"
    calibration = reference_dir / "averaged_calib_param_v2_2023_2024_tel2.h5"
    return _r0_dl1(digicam_2018_file, calibration, out)


@pytest.fixture(scope="module")
def dl1_21(protozfits_resources, reference_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("real21") / "tel21.dl1.h5"
    calibration = reference_dir / "averaged_calib_param_v2_2023_2024_tel1.h5"
    return _r0_dl1(protozfits_resources / "example_100evts.fits.fz", calibration, out)


def _astropy_altaz(path, tel_id, time):
    location = SubarrayDescription.from_hdf(path).tel_earth_locations[tel_id]
    frame = AltAz(obstime=time, location=location)
    return SkyCoord(ra=RA * u.deg, dec=DEC * u.deg, frame="icrs").transform_to(frame)


@pytest.mark.parametrize(("fixture", "tel_id"), [("dl1_22", 22), ("dl1_21", 21)])
def test_dl1_carries_the_pointing_in_the_ctapipe_data_model(fixture, tel_id, request):
    path = request.getfixturevalue(fixture)
    monitoring = read_table(path, tel_path(DL0_TEL_POINTING_GROUP, tel_id))
    assert {"time", "altitude", "azimuth"} <= set(monitoring.colnames)
    assert monitoring["altitude"].unit == u.rad and monitoring["azimuth"].unit == u.rad
    assert len(monitoring) >= 2  # first and last event at least

    with TableLoader(path, dl1_parameters=True, pointing=True) as loader:
        events = loader.read_telescope_events()
    expected = _astropy_altaz(path, tel_id, events["time"])
    got = SkyCoord(
        alt=events["telescope_pointing_altitude"],
        az=events["telescope_pointing_azimuth"],
        frame=expected.frame,
    )
    assert np.max(got.separation(expected).to_value(u.deg)) < 0.01

    block = read_table(path, OBSERVATION_BLOCK_TABLE)
    assert block["subarray_pointing_lon"].quantity[0].to_value(u.deg) == pytest.approx(RA)
    assert block["subarray_pointing_lat"].quantity[0].to_value(u.deg) == pytest.approx(DEC)
    assert block["subarray_pointing_frame"][0] == 1  # CoordinateFrameType.ICRS


def test_stock_ctapipe_process_writes_the_same_pointing(
    dl1_22, digicam_2018_file, reference_dir, tmp_path
):
    out = tmp_path / "stock.dl1.h5"
    argv = [
        f"-i={digicam_2018_file}",
        f"-o={out}",
        f"--config={default_config_path(is_simulation=False)}",
        f"--DigiCamR0Corrections.calibration_file="
        f"{reference_dir / 'averaged_calib_param_v2_2023_2024_tel2.h5'}",
        f"--SST1MEventSource.pointing_ra={RA}",
        f"--SST1MEventSource.pointing_dec={DEC}",
        f"--provenance-log={tmp_path / 'process.provenance.log'}",
    ]
    assert run_tool(ProcessorTool(), argv, cwd=tmp_path, raises=True) == 0
    node = tel_path(DL0_TEL_POINTING_GROUP, 22)
    stock, ours = read_table(out, node), read_table(dl1_22, node)
    np.testing.assert_array_equal(stock["time"].unix_tai, ours["time"].unix_tai)
    np.testing.assert_allclose(stock["altitude"], ours["altitude"], rtol=0, atol=1e-12)


@pytest.fixture(scope="module")
def dl2_21(dl1_21, toy, tmp_path_factory):
    _, _, models = toy
    out = tmp_path_factory.mktemp("real_dl2") / "tel21.dl2.h5"
    argv = [
        f"-i={dl1_21}",
        f"-m={models}",
        f"-o={out}",
        f"--provenance-log={out.parent / 'dl2.provenance.log'}",
    ]
    assert run_tool(DL1ToDL2Tool(), argv, cwd=out.parent, raises=True) == 0
    return out


def test_mono_dl2_with_radec_on_real_data(dl2_21):
    sky = read_table(dl2_21, f"{DL2_SUBARRAY_SKY_GROUP}/disp")
    valid = np.isfinite(sky["disp_ra"])
    assert valid.sum() >= 50  # 92 images survive cleaning on this file
    direction = SkyCoord(ra=sky["disp_ra"][valid], dec=sky["disp_dec"][valid], frame="icrs")
    separation = direction.separation(SkyCoord(ra=RA * u.deg, dec=DEC * u.deg))
    # toy-MC models on real images: the reconstructed directions scatter around the pointing
    assert np.median(separation.to_value(u.deg)) < 5.0


def test_stock_apply_models_on_real_dl1(dl1_21, dl2_21, toy, tmp_path):
    _, _, models = toy
    out = tmp_path / "stock.dl2.h5"
    cmd = [str(BIN / "ctapipe-apply-models"), f"-i={dl1_21}", f"-o={out}"]
    cmd += [f"-r={models / 'mono' / name}.pkl" for name in ("energy", "disp", "classifier")]
    cmd += [f"--provenance-log={tmp_path / 'apply.provenance.log'}", "--no-progress"]
    subprocess.run(cmd, check=True, capture_output=True, cwd=tmp_path)
    stock = read_table(out, f"{DL2_SUBARRAY_GEOMETRY_GROUP}/disp")
    ours = read_table(dl2_21, f"{DL2_SUBARRAY_GEOMETRY_GROUP}/disp")
    np.testing.assert_array_equal(stock["event_id"], ours["event_id"])
    ok = np.asarray(stock["disp_is_valid"])
    assert ok.sum() >= 50
    np.testing.assert_allclose(stock["disp_alt"][ok], ours["disp_alt"][ok], atol=1e-9)
    np.testing.assert_allclose(stock["disp_az"][ok], ours["disp_az"][ok], atol=1e-9)


def test_stereo_on_two_real_dl1_files_reaches_matching(dl1_21, dl1_22, tmp_path, capsys):
    out = tmp_path / "stereo.h5"
    argv = [
        f"--tel1={dl1_21}",
        f"--tel2={dl1_22}",
        f"-o={out}",
        f"--provenance-log={tmp_path / 'stereo.provenance.log'}",
    ]
    ret = run_tool(DL1StereoTool(), argv, cwd=tmp_path, raises=False)
    assert ret == 2  # one-line ToolConfigurationError
    err = capsys.readouterr().err
    assert "Traceback" not in err
    # both files were read (pointing included) and the matching step found no common time
    messages = [line for line in err.splitlines() if "no common time range" in line]
    assert len(messages) == 1
    assert "2017-10-31" in messages[0] and "tel21.dl1.h5" in messages[0]
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if ".h5" in p.name] == []
    with tables.open_file(dl1_21) as h5:  # the inputs are untouched
        assert tel_path(DL0_TEL_POINTING_GROUP, 21) in h5
