"""The stock ``ctapipe-process`` command reads DigiCam raw files through the plugin."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tables

from ctapipe_sst1m.core.config import packaged_config_path

CTAPIPE_PROCESS = str(Path(sys.executable).with_name("ctapipe-process"))


@pytest.fixture(scope="module")
def calibration_yaml(tmp_path_factory, reference_dir):
    path = tmp_path_factory.mktemp("cfg") / "calibration.yaml"
    path.write_text(
        "DigiCamR0Corrections:\n"
        "  calibration_file:\n"
        f"    - [id, 21, {reference_dir / 'averaged_calib_param_v2_2023_2024_tel1.h5'}]\n"
        f"    - [id, 22, {reference_dir / 'averaged_calib_param_v2_2023_2024_tel2.h5'}]\n"
        "  window_transmittance_file:\n"
        f"    - [id, 21, {reference_dir / 'corr_factor_1st_wdw.txt'}]\n"
        f"    - [id, 22, {reference_dir / 'corr_factor_2nd_wdw.txt'}]\n"
    )
    return path


@pytest.mark.parametrize(
    ("name", "tel_id", "n_events"),
    [("example_SST1M_20180822", 22, 32), ("example_10evts", 21, 10), ("example_100evts", 21, 100)],
)
def test_ctapipe_process(tmp_path, protozfits_resources, calibration_yaml, name, tel_id, n_events):
    output = tmp_path / f"{name}.dl1.h5"
    result = subprocess.run(
        [
            CTAPIPE_PROCESS,
            f"--EventSource.input_url={protozfits_resources / (name + '.fits.fz')}",
            f"--output={output}",
            f"--config={calibration_yaml}",
            "--write-images",
            "--ImageProcessor.image_cleaner_type=TailcutsImageCleaner",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    with tables.open_file(output) as h5:
        parameters = h5.root.dl1.event.telescope.parameters[f"tel_{tel_id:03d}"]
        images = h5.root.dl1.event.telescope.images[f"tel_{tel_id:03d}"]
        trigger = h5.root.dl1.event.subarray.trigger
        assert parameters.nrows == n_events
        assert images.nrows == n_events
        image = images.col("image")
        assert image.shape == (n_events, 1296)
        assert np.all(np.isfinite(image))
        # NSB-dominated pixels: a few p.e. on average, not ADC counts
        assert 0 < np.median(image) < 5
        assert np.std(image) > 0.5
        time = trigger.col("time")
        assert np.all(np.diff(time[:, 0].astype(np.int64) * 4_000_000_000 + time[:, 1]) >= 0)


def test_ctapipe_process_missing_calibration(tmp_path, digicam_2018_file):
    # with the packaged data configuration (calibrated DL1) a calibration file is required
    out = tmp_path / "x.h5"
    cmd = [CTAPIPE_PROCESS, "-i", str(digicam_2018_file), "-o", str(out)]
    cmd += [f"--provenance-log={tmp_path / 'p.log'}"]
    result = subprocess.run(
        [*cmd, f"--config={packaged_config_path('r0_dl1_data.yaml')}"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    output = result.stdout + result.stderr
    errors = [line for line in output.splitlines() if "ERROR" in line]
    assert "No calibration file for telescope 22" in errors[0]
    assert "Traceback" not in output
    assert not out.exists()

    # without it (a quick look), R1 uses the nominal factors, with one warning
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert output.count("R1 uses the nominal") == 1
    with tables.open_file(out) as h5:
        assert h5.root.dl1.event.subarray.trigger.nrows == 32
