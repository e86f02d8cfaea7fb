"""sst1m-convert-config on the two sst1mpipe reference configurations."""

import json

import pytest
import yaml
from ctapipe.core import run_tool
from ctapipe.io import read_table
from traitlets.config import Config

from ctapipe_sst1m.calib import PedestalMonitor
from ctapipe_sst1m.image import CleaningSet, ImageCleanerSST
from ctapipe_sst1m.instrument import sst1m_subarray
from ctapipe_sst1m.tools.convert_config import ConvertConfigTool, tel_id_from_key
from ctapipe_sst1m.tools.r0_dl1 import SST1MR0DL1Tool


@pytest.mark.parametrize("kind", ["data", "mc"])
def test_round_trip(kind, reference_dir, tmp_path):
    source_path = reference_dir / f"sst1mpipe_{kind}_config.json"
    source = json.loads(source_path.read_text())
    out = tmp_path / f"{kind}.yaml"
    tool = ConvertConfigTool()
    assert run_tool(tool, [f"-i={source_path}", f"-o={out}"], cwd=tmp_path) == 0
    config = Config(yaml.safe_load(out.read_text()))
    reported = {key for key, _ in tool.report}
    assert {"random_forest_regressor_args", "telescope_coords"} <= reported
    assert "NsbCalibrator.mc_correction_for_PDE" in reported or kind == "data"
    # the YAML header lists the same keys
    assert "random_forest_regressor_args" in out.read_text().split("\n\n")[0]

    tel_ids = (21, 22) if kind == "data" else (1, 2)
    subarray = sst1m_subarray(tel_ids=tel_ids)
    cleaner = ImageCleanerSST(subarray, config=config)
    for key, sets in source["ImageProcessor"]["ImageCleanerSST"]["telescope_defaults"].items():
        tel_id = tel_id_from_key(key)
        expected = sorted((CleaningSet.from_dict(s) for s in sets), key=lambda s: s.min_nsb_level)
        got = [CleaningSet.from_dict(s) for s in cleaner.cleaning_sets.tel[tel_id]]
        assert got == expected
    lpws = source["CameraCalibrator"]["LocalPeakWindowSum"]
    assert config.CameraCalibrator.LocalPeakWindowSum.window_width == lpws["window_width"]
    if kind == "data":
        monitor = PedestalMonitor(subarray, config=config)
        assert (
            monitor.min_events
            == source["ImageProcessor"]["ImageCleanerSST"]["min_number_pedestals"]
        )
        assert monitor.nsb_rate(22, 3.19) == "med" and monitor.nsb_rate(21, 2.0) == "low"
        assert monitor.chunk_duration == source["analysis"]["ped_time_window"]


def test_converted_config_runs(reference_dir, digicam_2018_file, tmp_path):
    yaml_path = tmp_path / "data.yaml"
    source = reference_dir / "sst1mpipe_data_config.json"
    assert run_tool(ConvertConfigTool(), [f"-i={source}", f"-o={yaml_path}"]) == 0
    out = tmp_path / "dl1.h5"
    calib = reference_dir / "averaged_calib_param_v2_2023_2024_tel2.h5"
    argv = [
        f"-i={digicam_2018_file}",
        f"-o={out}",
        f"-c={yaml_path}",
        f"--DigiCamR0Corrections.calibration_file={calib}",
        "--no-summary",
    ]
    assert run_tool(SST1MR0DL1Tool(), argv, cwd=tmp_path, raises=True) == 0
    assert len(read_table(out, "/dl1/event/telescope/parameters/tel_022")) == 30


def test_errors(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert (
        run_tool(ConvertConfigTool(), [f"-i={bad}", f"-o={tmp_path / 'x.yaml'}"], raises=False) != 0
    )
    assert not (tmp_path / "x.yaml").exists()
