"""The sst1mpipe → ctapipe-sst1m translation as plain functions."""

import json
import re
import tomllib
from pathlib import Path

import astropy.units as u
import pytest
import yaml
from traitlets.config import Config

import ctapipe_sst1m.config.sst1mpipe as sst1mpipe
import ctapipe_sst1m.tools.convert_config as convert_tool
from ctapipe_sst1m.config import (
    Sst1mpipeConfigError,
    convert_sst1mpipe_config,
    render_yaml,
    tel_id_from_key,
)
from ctapipe_sst1m.core import check_config
from ctapipe_sst1m.stereo import SlidingWindow, WhiteRabbitClosest

ROOT = Path(__file__).parents[2]


def _notes(report, kind=None):
    return {n.key: n.reason for n in report if kind is None or n.kind == kind}


def test_tel_id_from_key():
    assert tel_id_from_key("tel_021") == 21 and tel_id_from_key("tel_001") == 1
    assert tel_id_from_key("tel_x") is None and tel_id_from_key(21) is None


def test_nested_typo_is_reported_not_copied():
    source = {
        "ImageProcessor": {
            "image_cleaner_type": "TailcutsImageCleaner",
            "TailcutsImageCleaner": {"picture_threshold_pe": 8},
            "TailcutsImageCleaner_typo": {"picture_threshold_pe": 9},
        },
        "CameraCalibrator": {"LocalPeakWindowSum": {"window_width": 7, "window_widht": 5}},
    }
    config, report = convert_sst1mpipe_config(source)
    assert "TailcutsImageCleaner_typo" not in config
    assert config["TailcutsImageCleaner"] == {"picture_threshold_pe": 8}
    assert config["ImageProcessor"] == {"image_cleaner_type": "TailcutsImageCleaner"}
    assert config["CameraCalibrator"] == {"LocalPeakWindowSum": {"window_width": 7}}
    unknown = _notes(report, "unknown")
    assert (
        "did you mean TailcutsImageCleaner?" in unknown["ImageProcessor.TailcutsImageCleaner_typo"]
    )
    assert (
        "did you mean window_width?" in unknown["CameraCalibrator.LocalPeakWindowSum.window_widht"]
    )
    # what is written is accepted by the configuration check of every tool
    check_config(Config(config))


def test_unknown_sections_and_keys_are_listed_with_a_suggestion():
    source = {
        "ImageProcesor": {"image_cleaner_type": "ImageCleanerSST"},
        "telescope_calibration": {"tel_021": "a.h5", "bad_calib_px_interpolaton": True},
        "NsbCalibrator": {"apply_global_Vdrop_correction": True},
    }
    config, report = convert_sst1mpipe_config(source)
    unknown = _notes(report, "unknown")
    assert "did you mean ImageProcessor?" in unknown["ImageProcesor"]
    assert (
        "bad_calib_px_interpolation" in unknown["telescope_calibration.bad_calib_px_interpolaton"]
    )
    assert config["DigiCamR0Corrections"] == {
        "calibration_file": [["id", 21, "a.h5"]],
        "apply_global_vdrop_correction": True,
    }
    text = render_yaml(config, report, "x.json")
    header = text.split("\n\n")[0]
    assert "#   ImageProcesor: [unknown] unknown section (did you mean ImageProcessor?)" in header
    assert yaml.safe_load(text) == config


@pytest.mark.parametrize(
    "source, key",
    [
        ({"ImageProcessor": ["ImageCleanerSST"]}, "ImageProcessor must be a mapping"),
        ({"CameraCalibrator": "LocalPeakWindowSum"}, "CameraCalibrator must be a mapping"),
        ({"ImageProcessor": {"ImageCleanerSST": 3}}, "ImageProcessor.ImageCleanerSST must be"),
        ({"event_selection": {"camera_frame_hillas_width": 0.1}}, "must be a [low, high] pair"),
        (["not", "a", "mapping"], "the configuration must be a mapping"),
    ],
)
def test_wrong_types_give_one_line(source, key):
    with pytest.raises(Sst1mpipeConfigError) as err:
        convert_sst1mpipe_config(source)
    assert key in str(err.value) and "\n" not in str(err.value)


def test_stereo_matching_parameters_are_translated():
    source = {
        "stereo": {
            "event_matching_method": "SlidingWindow",
            "SlidingWindow": {
                "window_half_width": 0.0002,
                "offset_search": {"time_start": -0.005, "time_stop": 0.005, "time_step": 1e-5},
            },
            "WhiteRabbitClosest": {"max_time_diff_ns": 5000.0},
            "SWATEventIDs": {},
        }
    }
    config, report = convert_sst1mpipe_config(source)
    config = Config(yaml.safe_load(render_yaml(config, report, "x.json")))
    window = SlidingWindow(config=config)
    assert window.window_half_width.to_value(u.us) == pytest.approx(200)
    assert len(window.scan_offsets()) == 1000
    assert WhiteRabbitClosest(config=config).max_time_diff.to_value(u.ns) == 5000
    assert (
        "--method SlidingWindow to sst1m-dl1-stereo"
        in _notes(report)["stereo.event_matching_method"]
    )


def test_reference_configs_have_no_unknown_keys(reference_dir):
    for kind in ("data", "mc"):
        source = json.loads((reference_dir / f"sst1mpipe_{kind}_config.json").read_text())
        config, report = convert_sst1mpipe_config(source)
        assert _notes(report, "unknown") == {}
        check_config(Config(config))


def test_every_command_named_exists(reference_dir):
    scripts = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"])
    texts = [Path(sst1mpipe.__file__).read_text(), Path(convert_tool.__file__).read_text()]
    for kind in ("data", "mc"):
        source = json.loads((reference_dir / f"sst1mpipe_{kind}_config.json").read_text())
        texts.append(render_yaml(*convert_sst1mpipe_config(source), f"{kind}.json"))
    named = {m for text in texts for m in re.findall(r"\bsst1m-[a-z0-9-]*[a-z0-9]", text)}
    assert {"sst1m-convert-config", "sst1m-dl1-stereo", "sst1m-train-models"} <= named
    assert named <= scripts, named - scripts
