"""sst1m-r0-dl1 and stock ctapipe-process with the SST-1M components on the real 2018 file."""

import numpy as np
import pytest
import tables
from ctapipe.core import run_tool
from ctapipe.io import TableLoader, read_table
from ctapipe.tools.process import ProcessorTool

from ctapipe_sst1m.calib.monitoring import PEDESTAL_CHUNK_GROUP, PEDESTAL_MONITORING_GROUP
from ctapipe_sst1m.tools.r0_dl1 import SST1MR0DL1Tool, default_config_path

PARAMS = "/dl1/event/telescope/parameters/tel_022"


@pytest.fixture(scope="module")
def calibration_option(reference_dir):
    path = reference_dir / "averaged_calib_param_v2_2023_2024_tel2.h5"
    return f"--DigiCamR0Corrections.calibration_file={path}"


@pytest.fixture(scope="module")
def sst1m_dl1(digicam_2018_file, calibration_option, tmp_path_factory):
    out = tmp_path_factory.mktemp("r0dl1") / "sst1m_dl1.h5"
    tool = SST1MR0DL1Tool()
    argv = [f"-i={digicam_2018_file}", f"-o={out}", calibration_option, "--px-charges"]
    assert run_tool(tool, argv, cwd=out.parent, raises=True) == 0
    return out, tool


@pytest.fixture(scope="module")
def stock_dl1(digicam_2018_file, calibration_option, tmp_path_factory):
    out = tmp_path_factory.mktemp("stock") / "stock_dl1.h5"
    argv = [
        f"-i={digicam_2018_file}",
        f"-o={out}",
        f"--config={default_config_path(is_simulation=False)}",
        calibration_option,
        "--ImageProcessor.image_cleaner_type=ImageCleanerSST",
    ]
    assert run_tool(ProcessorTool(), argv, cwd=out.parent, raises=True) == 0
    return out


def test_stock_ctapipe_process_writes_monitoring_and_parameters(stock_dl1):
    with tables.open_file(stock_dl1) as f:
        assert f.get_node(PARAMS).nrows == 30  # the 2 pedestal events are monitoring only
        assert f.get_node(f"{PEDESTAL_MONITORING_GROUP}/tel_022").nrows >= 1
    rolling = read_table(stock_dl1, f"{PEDESTAL_MONITORING_GROUP}/tel_022")
    assert rolling["nsb_level"][-1] == pytest.approx(3.2, abs=0.15)


def test_same_parameters_as_stock_process(stock_dl1, sst1m_dl1):
    ours = read_table(sst1m_dl1[0], PARAMS)
    stock = read_table(stock_dl1, PARAMS)
    np.testing.assert_array_equal(ours["event_id"], stock["event_id"])
    for column in ("hillas_intensity", "morphology_n_pixels", "leakage_intensity_width_2"):
        np.testing.assert_array_equal(ours[column], stock[column])
    assert "nsb_level" in ours.colnames and "nsb_level" not in stock.colnames


def test_nsb_level_med_bin_and_table_loader(sst1m_dl1):
    out, tool = sst1m_dl1
    # sst1mpipe's pre-loaded meanQ on this file is 3.19 p.e. -> "med" for tel 22
    assert tool.monitor.nsb_level(22) == pytest.approx(3.2, abs=0.15)
    assert tool.monitor.nsb_rate(22) == "med"
    with TableLoader(out) as loader:
        events = loader.read_telescope_events([22])
    assert len(events) == 30
    nsb = np.asarray(events["nsb_level"])
    # causal: before the first pedestal (raw event 5) only shower-free events are known
    assert np.all(np.isfinite(nsb))
    assert nsb[-1] == pytest.approx(tool.monitor.nsb_level(22), rel=1e-6)
    summary = tool.summary_text()
    assert "SKY_PEDESTAL 2" in summary and "SUBARRAY 30" in summary and "'med'" in summary


def test_px_charges_tables(sst1m_dl1):
    out, _ = sst1m_dl1
    chunks = read_table(out, f"{PEDESTAL_CHUNK_GROUP}/tel_022")
    assert len(chunks) == 1 and chunks["n_events"][0] == 2
    assert np.nanmean(chunks["mean"][0]) == pytest.approx(3.2, abs=0.15)


def test_reclean_uses_stored_windows(sst1m_dl1, digicam_2018_file, calibration_option, tmp_path):
    out = tmp_path / "recleaned.h5"
    argv = [
        f"-i={digicam_2018_file}",
        f"-o={out}",
        calibration_option,
        f"--reclean={sst1m_dl1[0]}",
        "--PedestalMonitor.min_events=1",
    ]
    tool = SST1MR0DL1Tool()
    assert run_tool(tool, argv, cwd=tmp_path, raises=True) == 0
    nsb = read_table(out, PARAMS)["nsb_level"]
    expected = np.nanmean(read_table(sst1m_dl1[0], f"{PEDESTAL_CHUNK_GROUP}/tel_022")["mean"][0])
    np.testing.assert_allclose(nsb, expected, rtol=1e-5)


def test_bad_output_gives_clear_error(digicam_2018_file, tmp_path, sst1m_dl1):
    existing = sst1m_dl1[0]
    assert (
        run_tool(SST1MR0DL1Tool(), [f"-i={digicam_2018_file}", f"-o={existing}"], raises=False) != 0
    )
    missing_dir = tmp_path / "nope" / "x.h5"
    assert (
        run_tool(SST1MR0DL1Tool(), [f"-i={digicam_2018_file}", f"-o={missing_dir}"], raises=False)
        != 0
    )
    # nothing left behind next to the output
    assert not list(tmp_path.glob(".*.tmp.h5"))
