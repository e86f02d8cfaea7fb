"""sst1m-dump-config: complete, stamped, accepted unchanged, and the same as the defaults."""

import numpy as np
import pytest
import yaml
from ctapipe.core import run_tool
from ctapipe.io import read_table
from ctapipe.tools.process import ProcessorTool

from ctapipe_sst1m.config.dump import STAGE_ORDER, stage_tools
from ctapipe_sst1m.config.schema import compare_configs, flatten_config
from ctapipe_sst1m.core import check_config, packaged_config_path, read_config_file
from ctapipe_sst1m.tools.convert_config import ConvertConfigTool
from ctapipe_sst1m.tools.dump_config import DumpConfigTool
from ctapipe_sst1m.tools.r0_dl1 import SST1MR0DL1Tool
from ctapipe_sst1m.version import __version__


def _dump(tmp_path, kind, stage="r0_dl1", name=None):
    out = tmp_path / (name or f"{stage}_{kind}.yaml")
    argv = [f"--{kind}", f"--stage={stage}", f"-o={out}", f"--provenance-log={tmp_path / 'p.log'}"]
    assert run_tool(DumpConfigTool(), argv, cwd=tmp_path, raises=True) == 0
    return out


def _params(path, tel_id):
    return read_table(path, f"/dl1/event/telescope/parameters/tel_{tel_id:03d}")


@pytest.mark.parametrize("kind", ["mc", "data"])
@pytest.mark.parametrize("stage", [*STAGE_ORDER, "all"])
def test_every_tool_of_the_stage_accepts_the_dump(stage, kind, tmp_path):
    path = _dump(tmp_path, kind, stage)
    text = path.read_text()
    assert text.startswith(f"# ctapipe-sst1m {__version__} standard configuration")
    config = read_config_file(path)
    check_config(config, source=str(path))
    stages = STAGE_ORDER if stage == "all" else [stage]
    tools = [t for s in stages for t in stage_tools(s, kind)]
    assert tools or stage == "dl3"  # dl3 lands with its issue
    for cls in tools:
        default, loaded = cls(), cls()
        default.initialize(argv=[])
        loaded.initialize(argv=[f"--config={path}"])  # SST1MTool refuses unknown keys
        for name in cls.class_own_traits(config=True):
            if name not in ("mono_config", "stereo_config"):
                assert getattr(loaded, name) == getattr(default, name), (cls.__name__, name)
    if "train" in stages:  # the mode files the dump names hold the packaged training configs
        for mode in ("mono", "stereo"):
            dumped = read_config_file(path.with_name(f"{path.stem}.train_{mode}.yaml"))
            packaged = read_config_file(packaged_config_path(f"train_{mode}.yaml"))
            only_packaged, _, differing = compare_configs(packaged, dumped)
            assert only_packaged == [] and differing == []
            assert config["TrainModelsTool"][f"{mode}_config"].endswith(f"train_{mode}.yaml")


def test_dump_is_complete_and_commented(tmp_path):
    path = _dump(tmp_path, "mc")
    text = path.read_text()
    flat = flatten_config(read_config_file(path))
    # every option of the selected extractor and of the cleaner, with its help as comment
    assert {"LocalPeakWindowSum.window_width", "LocalPeakWindowSum.window_shift"} <= set(flat)
    assert "ImageCleanerSST.cleaning_sets" in flat and "PedestalMonitor.window_size" in flat
    assert "# Number of most recent pedestal images in the rolling charge window." in text
    # alternatives that the configuration does not select are left out
    sections = {line[:-1] for line in text.splitlines() if line.endswith(":") and line[0] != " "}
    assert "LocalPeakWindowSum" in sections
    assert not {"TailcutsImageCleaner", "TwoPassWindowSum", "SST1MEventSource"} & sections
    # the packaged values win over the class defaults
    assert flat["ProcessorTool.force_recompute_dl1"] is True
    assert flat["ImageProcessor.image_cleaner_type"] == "ImageCleanerSST"


def test_data_dump_gives_the_default_dl1(
    digicam_dl1, digicam_2018_file, reference_dir, crab_pointing, tmp_path
):
    dump = _dump(tmp_path, "data")
    out = tmp_path / "dumped.dl1.h5"
    calibration = reference_dir / "averaged_calib_param_v2_2023_2024_tel2.h5"
    argv = [
        f"-i={digicam_2018_file}",
        f"-o={out}",
        f"-c={dump}",
        f"--DigiCamR0Corrections.calibration_file={calibration}",
        *crab_pointing,
        f"--provenance-log={tmp_path / 'p.log'}",
    ]
    assert run_tool(SST1MR0DL1Tool(), argv, cwd=tmp_path, raises=True) == 0
    a, b = _params(digicam_dl1, 22), _params(out, 22)
    assert len(a) == len(b) == 30
    for column in ("hillas_intensity", "hillas_width", "morphology_n_pixels"):
        np.testing.assert_array_equal(np.asarray(a[column]), np.asarray(b[column]))


def test_mc_dump_in_sst1m_r0_dl1_and_stock_ctapipe_process(mc_r1, tmp_path):
    dump = _dump(tmp_path, "mc")
    log = f"--provenance-log={tmp_path / 'p.log'}"
    runs = {
        "stock_packaged": (ProcessorTool, [f"-c={packaged_config_path('r0_dl1_mc.yaml')}"]),
        "stock_dump": (ProcessorTool, [f"-c={dump}"]),
        "sst1m_default": (SST1MR0DL1Tool, []),
        "sst1m_dump": (SST1MR0DL1Tool, [f"-c={dump}"]),
    }
    out = {}
    for name, (cls, extra) in runs.items():
        out[name] = tmp_path / f"{name}.h5"
        argv = [f"-i={mc_r1}", f"-o={out[name]}", "--max-events=20", log, *extra]
        assert run_tool(cls(), argv, cwd=tmp_path, raises=True) == 0
    for a, b in (("stock_packaged", "stock_dump"), ("sst1m_default", "sst1m_dump")):
        x, y = _params(out[a], 1), _params(out[b], 1)
        assert len(x) == len(y) > 5
        np.testing.assert_array_equal(np.asarray(x["hillas_intensity"]), y["hillas_intensity"])


@pytest.mark.parametrize(
    ("kind", "changed", "not_dumped"),
    [
        # ours: 10 pedestals before the std is used (sst1mpipe 100); the cached neighbour
        # average gives the same images faster
        ("data", {"CameraCalibrator.invalid_pixel_handler_type", "PedestalMonitor.min_events"},
         {"TailcutsImageCleaner"}),
        ("mc", set(), {"TailcutsImageCleaner", "DigiCamR0Corrections"}),  # data-only class
    ],
)  # fmt: skip
def test_converted_reference_and_dump_share_one_schema(
    kind, changed, not_dumped, reference_dir, tmp_path
):  # noqa: E501
    converted = tmp_path / f"converted_{kind}.yaml"
    argv = [
        f"-i={reference_dir / f'sst1mpipe_{kind}_config.json'}",
        f"-o={converted}",
        f"--provenance-log={tmp_path / 'p.log'}",
    ]
    assert run_tool(ConvertConfigTool(), argv, cwd=tmp_path, raises=True) == 0
    dumped = _dump(tmp_path, kind, "all")
    a, b = read_config_file(converted), read_config_file(dumped)
    check_config(a), check_config(b)
    only_converted, _, differing = compare_configs(a, b)
    assert {key.split(".")[0] for key in only_converted} == not_dumped
    assert set(differing) == changed
    assert len(flatten_config(a)) - len(only_converted) >= 10  # the comparison compared
    assert yaml.safe_load(converted.read_text())  # the YAML round trip of the JSON
