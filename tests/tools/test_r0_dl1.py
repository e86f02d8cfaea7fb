"""sst1m-r0-dl1 and stock ctapipe-process with the SST-1M components on the real 2018 file."""

import hashlib
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import tables
from ctapipe.core import run_tool
from ctapipe.io import EventSource, TableLoader, read_table
from ctapipe.tools.process import ProcessorTool
from traitlets import TraitError

from ctapipe_sst1m.calib.monitoring import PEDESTAL_CHUNK_GROUP, PEDESTAL_MONITORING_GROUP
from ctapipe_sst1m.io.datamodel import CALIBRATION_FILES_TABLE, DL2_SUBARRAY_GEOMETRY_GROUP
from ctapipe_sst1m.tools.r0_dl1 import SST1MR0DL1Tool, default_config_path

BIN = Path(sys.executable).parent

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
    summary = tool.bookkeeping.summary_text(tool.name, out, tool.monitor)
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
    assert not list(tmp_path.glob(".*.part.h5")) and not missing_dir.exists()


# ---------------------------------------------------------------- bad input and faults (#13 §4)
def _error_lines(capsys):
    """The messages of the ERROR/CRITICAL lines the tool logged to stderr."""
    err = capsys.readouterr().err
    return [line.split("): ", 1)[1] for line in err.splitlines() if "ERROR" in line]


def _left_on_disk(directory):
    return sorted(p.name for p in directory.iterdir() if ".h5" in p.name)


@pytest.mark.parametrize("kind", ["empty", "random", "text", "header_cut", "data_cut"])
@pytest.mark.parametrize("named_like_raw", [True, False])
def test_unreadable_raw_files_give_one_line(
    kind, named_like_raw, tmp_path, digicam_2018_file, protozfits_resources, capsys
):
    name = "SST1M1_20171031_0001.fits.fz" if named_like_raw else f"{kind}.fits.fz"
    bad = tmp_path / name
    original = (protozfits_resources / "example_100evts.fits.fz").read_bytes()
    content = {
        "empty": b"",
        "random": np.random.default_rng(1).bytes(100_000),
        "text": b"run 12 of the night, see logbook\n" * 100,
        "header_cut": original[:5_000],
        "data_cut": original[:4_000_000],  # the one tile of events cut: no intact event
    }[kind]
    bad.write_bytes(content)
    out = tmp_path / "out.h5"
    argv = [f"-i={bad}", f"-o={out}", f"--provenance-log={tmp_path / 'p.log'}"]
    assert run_tool(SST1MR0DL1Tool(), argv, cwd=tmp_path, raises=False) == 2
    errors = _error_lines(capsys)
    assert "Could not find compatible EventSource" not in " ".join(errors)
    assert str(bad) in errors[0] and "\n" not in errors[0]
    assert "give" in errors[0]  # names the fix
    assert _left_on_disk(tmp_path) == []
    if named_like_raw:  # opening it with ctapipe's EventSource: the same one-line error
        with pytest.raises(TraitError) as err:
            EventSource(bad)
        assert str(bad) in str(err.value) and "\n" not in str(err.value)


def test_missing_calibration_is_refused_in_one_line(digicam_2018_file, tmp_path, capsys):
    out = tmp_path / "out.h5"
    argv = [f"-i={digicam_2018_file}", f"-o={out}", f"--provenance-log={tmp_path / 'p.log'}"]
    assert run_tool(SST1MR0DL1Tool(), argv, cwd=tmp_path, raises=False) == 2
    assert "No calibration file for telescope 22" in _error_lines(capsys)[0]
    assert _left_on_disk(tmp_path) == []


def test_wrong_telescope_calibration(digicam_2018_file, reference_dir, tmp_path, capsys):
    tel1 = reference_dir / "averaged_calib_param_v2_2023_2024_tel1.h5"
    out = tmp_path / "out.h5"
    argv = [
        f"-i={digicam_2018_file}",
        f"-o={out}",
        f"--DigiCamR0Corrections.calibration_file={tel1}",
        f"--provenance-log={tmp_path / 'p.log'}",
        "--no-summary",
    ]
    assert run_tool(SST1MR0DL1Tool(), argv, cwd=tmp_path, raises=False) == 2
    message = _error_lines(capsys)[0]
    assert str(tel1) in message and "telescope 21 given for telescope 22" in message
    assert _left_on_disk(tmp_path) == []
    # the explicit override runs, and the file records which calibration made it
    argv.append("--DigiCamR0Corrections.check_calibration_telescope=False")
    assert run_tool(SST1MR0DL1Tool(), argv, cwd=tmp_path, raises=False) == 0
    record = read_table(out, CALIBRATION_FILES_TABLE)
    assert list(record["tel_id"]) == [22] and list(record["kind"]) == ["calibration_file"]
    assert record["path"][0] == str(tel1)
    assert record["sha256"][0] == hashlib.sha256(tel1.read_bytes()).hexdigest()


def test_calibration_record_of_a_normal_run(sst1m_dl1, reference_dir):
    record = read_table(sst1m_dl1[0], CALIBRATION_FILES_TABLE)
    tel2 = reference_dir / "averaged_calib_param_v2_2023_2024_tel2.h5"
    assert record["path"][0] == str(tel2)
    assert record["sha256"][0] == hashlib.sha256(tel2.read_bytes()).hexdigest()


@pytest.fixture
def small_disk(tmp_path):
    """A 150 kB tmpfs: the DL1 of the 100-event file (about 200 kB) does not fit."""
    mount = tmp_path / "small"
    mount.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=150k", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({result.stderr.decode().strip()})")
    yield mount
    subprocess.run(["umount", str(mount)], check=False)


def test_full_disk_fails_the_run(small_disk, protozfits_resources, reference_dir, capsys):
    out = small_disk / "out.h5"
    argv = [
        f"-i={protozfits_resources / 'example_100evts.fits.fz'}",
        f"-o={out}",
        "--DigiCamR0Corrections.calibration_file="
        f"{reference_dir / 'averaged_calib_param_v2_2023_2024_tel1.h5'}",
        f"--provenance-log={small_disk.parent / 'p.log'}",
        "--no-summary",
    ]
    assert run_tool(SST1MR0DL1Tool(), argv, cwd=small_disk.parent, raises=False) == 2
    message = _error_lines(capsys)[0]
    assert str(out) in message and "no space left on the device" in message
    assert list(small_disk.iterdir()) == []  # not committed, no temporary file left


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_during_the_loop_leaves_nothing(
    signum, tmp_path, protozfits_resources, reference_dir
):
    out = tmp_path / "out.h5"
    cmd = [
        str(BIN / "sst1m-r0-dl1"),
        f"-i={protozfits_resources / 'example_100evts.fits.fz'}",
        f"-o={out}",
        "--DigiCamR0Corrections.calibration_file="
        f"{reference_dir / 'averaged_calib_param_v2_2023_2024_tel1.h5'}",
        f"--provenance-log={tmp_path / 'p.log'}",
        "--progress",
    ]
    proc = subprocess.Popen(cmd, cwd=tmp_path, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    seen = bytearray()

    def read_stderr():
        for chunk in iter(lambda: proc.stderr.read1(4096), b""):
            seen.extend(chunk)

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    deadline = time.monotonic() + 120
    while not re.search(rb"sst1m-r0-dl1: [1-9]\d*ev", bytes(seen)):  # the loop is running
        assert proc.poll() is None, bytes(seen).decode(errors="replace")
        assert time.monotonic() < deadline
        time.sleep(0.02)
    proc.send_signal(signum)
    assert proc.wait(timeout=60) == 130
    reader.join(timeout=10)
    text = bytes(seen).decode(errors="replace")
    assert "SystemError" not in text and "Traceback" not in text
    assert _left_on_disk(tmp_path) == []  # no .part.h5 stub, nothing under the final name


def test_read_only_output_or_working_directory(digicam_2018_file, tmp_path, capsys):
    read_only = tmp_path / "ro"
    read_only.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(read_only)],
        capture_output=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a read-only tmpfs here ({result.stderr.decode().strip()})")
    try:
        argv = [f"-i={digicam_2018_file}", f"-o={read_only / 'out.h5'}"]
        argv.append(f"--provenance-log={tmp_path / 'p.log'}")
        assert run_tool(SST1MR0DL1Tool(), argv, cwd=tmp_path, raises=False) == 2
        assert f"output directory {read_only} is not writable" in _error_lines(capsys)[0]
        # the working directory read-only: the default provenance log cannot be written
        argv = [f"-i={digicam_2018_file}", f"-o={tmp_path / 'out.h5'}"]
        assert run_tool(SST1MR0DL1Tool(), argv, cwd=read_only, raises=False) == 2
        assert "provenance log" in _error_lines(capsys)[0]
        assert _left_on_disk(tmp_path) == []
    finally:
        subprocess.run(["umount", str(read_only)], check=False)


def test_inherited_options_are_honoured(sst1m_dl1, digicam_2018_file, calibration_option, tmp_path):
    # --write-showers reaches the DataWriter (mono data: the stereo geometry is invalid)
    out = tmp_path / "showers.h5"
    argv = [f"-i={digicam_2018_file}", f"-o={out}", calibration_option, "--write-showers"]
    argv += ["--no-summary", f"--provenance-log={tmp_path / 'p.log'}"]
    assert run_tool(SST1MR0DL1Tool(), argv, cwd=tmp_path, raises=True) == 0
    geometry = read_table(out, f"{DL2_SUBARRAY_GEOMETRY_GROUP}/HillasReconstructor")
    assert len(geometry) == 30 and not np.any(geometry["HillasReconstructor_is_valid"])


def test_help_examples_are_indented_consistently(capsys):
    with pytest.raises(SystemExit):
        SST1MR0DL1Tool().run(["--help"])
    text = capsys.readouterr().out
    examples = text.split("Examples\n--------\n")[1].split("\n\n")[0].splitlines()
    commands = [line for line in examples if "sst1m-r0-dl1" in line]
    assert len(commands) == 4
    assert {len(line) - len(line.lstrip()) for line in commands} == {4}
