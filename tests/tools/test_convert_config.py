"""sst1m-convert-config on the two sst1mpipe reference configurations."""

import json

import pytest
import yaml
from ctapipe.core import run_tool
from ctapipe.io import read_table
from traitlets.config import Config

from ctapipe_sst1m.calib import PedestalMonitor
from ctapipe_sst1m.config import tel_id_from_key
from ctapipe_sst1m.image import CleaningSet, ImageCleanerSST
from ctapipe_sst1m.instrument import sst1m_subarray
from ctapipe_sst1m.tools.convert_config import ConvertConfigTool
from ctapipe_sst1m.tools.dl1_stereo import DL1StereoTool
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
    # sst1mpipe's time_limit_ns (ns) is written as the duration time_limit
    assert "time_limit_ns" not in out.read_text()
    assert "time_limit: 8.0 ns" in out.read_text()
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
    assert run_tool(ConvertConfigTool(), [f"-i={source}", f"-o={yaml_path}"], cwd=tmp_path) == 0
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
        run_tool(
            ConvertConfigTool(),
            [f"-i={bad}", f"-o={tmp_path / 'x.yaml'}"],
            cwd=tmp_path,
            raises=False,
        )
        != 0
    )
    assert not (tmp_path / "x.yaml").exists()


def _convert(tmp_path, source, *extra):
    path = tmp_path / "in.json"
    path.write_text(json.dumps(source))
    out = tmp_path / "out.yaml"
    argv = [f"-i={path}", f"-o={out}", f"--provenance-log={tmp_path / 'p.log'}", *extra]
    return run_tool(ConvertConfigTool(), argv, cwd=tmp_path, raises=False), out


TYPO = {
    "ImageProcessor": {
        "TailcutsImageCleaner": {"picture_threshold_pe": 8},
        "TailcutsImageCleaner_typo": {"picture_threshold_pe": 9},
    }
}


def test_typos_are_reported_or_refused_with_strict(tmp_path, capsys):
    status, out = _convert(tmp_path, TYPO)
    assert status == 0
    written = yaml.safe_load(out.read_text())
    assert "TailcutsImageCleaner_typo" not in written
    assert written["TailcutsImageCleaner"] == {"picture_threshold_pe": 8}
    header = out.read_text().split("\n\n")[0]
    assert "ImageProcessor.TailcutsImageCleaner_typo: [unknown]" in header
    captured = capsys.readouterr()
    assert "ImageProcessor.TailcutsImageCleaner_typo" in captured.err
    assert "1 of them unknown" in captured.out

    out.unlink()
    status, out = _convert(tmp_path, TYPO, "--strict")
    assert status == 2
    assert "unknown keys ImageProcessor.TailcutsImageCleaner_typo" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.json", "p.log"]


@pytest.mark.parametrize("section", [["ImageCleanerSST"], "ImageCleanerSST"])
def test_wrong_typed_section_is_one_line(tmp_path, capsys, section):
    status, out = _convert(tmp_path, {"ImageProcessor": section})
    assert status == 2
    err = capsys.readouterr().err
    assert "ImageProcessor must be a mapping" in err and "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize("tool_class", [ConvertConfigTool, DL1StereoTool])
def test_help_examples_are_aligned(tool_class, capsys):
    with pytest.raises(SystemExit):
        tool_class().run(["--help"])
    help_text = capsys.readouterr().out
    examples = help_text.split("Examples\n--------\n")[1].split("To see all")[0]
    lines = [line for line in examples.splitlines() if line.strip()]
    assert lines and lines[0].startswith("    sst1m-")
    for previous, line in zip(lines, lines[1:], strict=False):
        continued = previous.rstrip().endswith("\\")
        # every command at the block's indentation, continuation lines indented further
        assert line.startswith("        " if continued else "    sst1m-"), line
