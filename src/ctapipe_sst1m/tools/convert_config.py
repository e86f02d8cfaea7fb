"""``sst1m-convert-config``: translate an sst1mpipe JSON configuration into ctapipe-sst1m YAML.

Users of sst1mpipe keep their tuned JSON configurations; this tool writes the equivalent
traitlets configuration of the ctapipe-sst1m components (R0→DL1 part: calibration, extraction,
cleaning, NSB monitoring, quality cuts) and lists every key it cannot translate, with the
reason, so that nothing is dropped silently. The translation itself is the plain function
`convert_sst1mpipe_config`.
"""

import json
import math

import yaml
from ctapipe.core import Provenance, Tool, ToolConfigurationError
from ctapipe.core.traits import Bool, flag
from ctapipe.core.traits import Path as PathTrait

from ..core import atomic_output, reject_extra_arguments
from ..instrument import EQUIVALENT_FOCAL_LENGTH

__all__ = ["ConvertConfigTool", "convert_sst1mpipe_config", "main", "tel_id_from_key"]

#: keys of sst1mpipe configurations that belong to later stages (stereo, RF, IRF, DL3); they are
#: reported, not translated, because those stages have their own ctapipe-sst1m configurations.
LATER_STAGE_KEYS = {
    "array_center_coords": "instrument: the array centre comes from the subarray description",
    "telescope_coords": "instrument: positions come from the subarray description",
    "stereo": "stereo event matching (sst1m-stereo configuration)",
    "random_forest_regressor_args": "RF training (sst1m-train configuration)",
    "random_forest_classifier_args": "RF training (sst1m-train configuration)",
    "energy_regression_features": "RF training (sst1m-train configuration)",
    "particle_classification_features": "RF training (sst1m-train configuration)",
    "disp_method": "RF training (sst1m-train configuration)",
    "disp_regression_features": "RF training (sst1m-train configuration)",
    "disp_classification_features": "RF training (sst1m-train configuration)",
    "misdirection_regression_features_mono": "RF training (sst1m-train configuration)",
    "misdirection_regression_features_stereo": "RF training (sst1m-train configuration)",
}

#: sst1mpipe camera-frame DL1 column → (ctapipe telescope-frame column, conversion of bounds)
_M_TO_DEG = math.degrees(1.0 / EQUIVALENT_FOCAL_LENGTH.to_value("m"))
FEATURE_NAME_MAP = {
    "camera_frame_hillas_intensity": ("hillas_intensity", 1.0),
    "camera_frame_hillas_width": ("hillas_width", _M_TO_DEG),
    "camera_frame_hillas_length": ("hillas_length", _M_TO_DEG),
    "camera_frame_hillas_x": ("hillas_fov_lat", _M_TO_DEG),
    "camera_frame_hillas_y": ("hillas_fov_lon", _M_TO_DEG),
    "camera_frame_hillas_r": ("hillas_r", _M_TO_DEG),
    "camera_frame_hillas_skewness": ("hillas_skewness", 1.0),
    "camera_frame_hillas_kurtosis": ("hillas_kurtosis", 1.0),
    "camera_frame_timing_slope": ("timing_slope", 1.0 / _M_TO_DEG),
    "leakage_intensity_width_1": ("leakage_intensity_width_1", 1.0),
    "leakage_intensity_width_2": ("leakage_intensity_width_2", 1.0),
}


def tel_id_from_key(key):
    """``"tel_021"`` → 21, ``"tel_001"`` → 1; None if ``key`` is not a telescope key."""
    if not isinstance(key, str) or not key.startswith("tel_"):
        return None
    try:
        return int(key[4:])
    except ValueError:
        return None


def _per_tel(mapping, path, report, convert=lambda v: v, skip_none_reason=None):
    """Turn ``{"tel_021": value, ...}`` into TelescopeParameter patterns ``[["id", 21, v]]``."""
    patterns = []
    for key, value in mapping.items():
        tel_id = tel_id_from_key(key)
        if tel_id is None:
            continue
        if value is None and skip_none_reason:
            report.append((f"{path}.{key}", skip_none_reason))
            continue
        patterns.append(["id", tel_id, convert(value)])
    return patterns


def _quality_criteria(selection, report):
    """sst1mpipe ``event_selection`` {column: [low, high]} → ctapipe quality criteria."""
    criteria = []
    for column, bounds in selection.items():
        if column not in FEATURE_NAME_MAP or FEATURE_NAME_MAP[column][1] is None:
            report.append((f"event_selection.{column}", "no telescope-frame equivalent"))
            continue
        name, scale = FEATURE_NAME_MAP[column]
        low, high = (float(b) * scale for b in bounds)
        criteria.append(
            [f"{column} in [{bounds[0]}, {bounds[1]}]", f"{low!r} <= {name} <= {high!r}"]
        )
    return criteria


def convert_sst1mpipe_config(source):
    """Translate an sst1mpipe configuration (parsed JSON) into a ctapipe-sst1m configuration.

    Parameters
    ----------
    source : dict
        The sst1mpipe configuration (data or MC).

    Returns
    -------
    config : dict
        Nested traitlets configuration (class name → trait → value), ready for YAML.
    report : list of (str, str)
        ``(dotted key, reason)`` for every key that was not translated or whose meaning changed.
    """
    report = []
    config = {}
    corrections = {}

    def section(name):
        return config.setdefault(name, {})

    for key, value in source.items():
        if key in LATER_STAGE_KEYS:
            report.append((key, f"not translated: {LATER_STAGE_KEYS[key]}"))
        elif key == "allowed_tels":
            if value is not None:
                section("EventSource")["allowed_tels"] = list(value)
        elif key == "telescope_calibration":
            files = _per_tel(
                value,
                key,
                report,
                convert=str,
                skip_none_reason="null meant sst1mpipe's shipped averaged file: give"
                " DigiCamR0Corrections.calibration_file explicitly",
            )
            if files:
                corrections["calibration_file"] = files
            if "bad_calib_px_interpolation" in value:
                corrections["interpolate_bad_calibration_pixels"] = bool(
                    value["bad_calib_px_interpolation"]
                )
            if "dynamic_dead_px_interpolation" in value:
                corrections["dead_pixel_rms_threshold"] = (
                    2.5 if value["dynamic_dead_px_interpolation"] else 0.0
                )
        elif key == "window_transmittance":
            files = _per_tel(
                value,
                key,
                report,
                convert=str,
                skip_none_reason="null meant sst1mpipe's shipped window file: give"
                " DigiCamR0Corrections.window_transmittance_file explicitly",
            )
            if files:
                corrections["window_transmittance_file"] = files
        elif key == "telescope_equivalent_focal_length":
            report.append((key, "not needed: taken from the subarray description (5.6 m)"))
        elif key == "analysis":
            _convert_analysis(value, corrections, section, report)
        elif key == "event_selection":
            section("MLQualityQuery")["quality_criteria"] = _quality_criteria(value, report)
        elif key == "CameraCalibrator":
            config["CameraCalibrator"] = value
        elif key == "NsbCalibrator":
            _convert_nsb_calibrator(value, corrections, report)
        elif key == "ImageProcessor":
            _convert_image_processor(value, config, section, report)
        elif key == "ShowerProcessor":
            config["ShowerProcessor"] = value
        elif key == "mean_charge_to_nsb_rate":
            section("PedestalMonitor")["mean_charge_to_nsb_rate"] = _per_tel(value, key, report)
        else:
            report.append((key, "unknown key: not translated"))
    if corrections:
        config["DigiCamR0Corrections"] = corrections
    return config, report


def _convert_analysis(analysis, corrections, section, report):
    for key, value in analysis.items():
        if key == "bad_pixels":
            patterns = _per_tel(value, "analysis.bad_pixels", report, convert=list)
            if any(p[2] for p in patterns):
                corrections["bad_pixels"] = patterns
        elif key == "ped_time_window":
            section("PedestalMonitor")["chunk_duration"] = float(value)
        else:
            report.append((f"analysis.{key}", "not translated: used by later stages"))


def _convert_nsb_calibrator(nsb, corrections, report):
    for key, value in nsb.items():
        if key == "apply_global_Vdrop_correction":
            corrections["apply_global_vdrop_correction"] = bool(value)
        elif key == "apply_pixelwise_Vdrop_correction":
            corrections["apply_pixelwise_vdrop_correction"] = bool(value)
        elif key == "intensity_correction":
            corrections["intensity_correction"] = _per_tel(
                value, "NsbCalibrator.intensity_correction", report, convert=float
            )
            report.append(
                (
                    "NsbCalibrator.intensity_correction",
                    "translated; note it now scales every pixel charge, not only the Hillas"
                    " intensity",
                )
            )
        else:
            report.append((f"NsbCalibrator.{key}", "not translated: no equivalent yet"))


def _convert_image_processor(processor, config, section, report):
    out = section("ImageProcessor")
    for key, value in processor.items():
        if key == "image_cleaner_type":
            out[key] = value
        elif key == "use_telescope_frame":
            out[key] = True
            if not value:
                report.append(
                    (
                        "ImageProcessor.use_telescope_frame",
                        "set to true: ctapipe-sst1m parametrises in the telescope frame"
                        " (see the feature-name mapping in the docs)",
                    )
                )
        elif key == "ImageCleanerSST":
            _convert_sst_cleaner(value, section, report)
        elif isinstance(value, dict):
            config[key] = value  # e.g. TailcutsImageCleaner: same traits in ctapipe
        else:
            report.append((f"ImageProcessor.{key}", "unknown key: not translated"))


def _convert_sst_cleaner(cleaner, section, report):
    for key, value in cleaner.items():
        if key == "telescope_defaults":
            section("ImageCleanerSST")["cleaning_sets"] = _per_tel(
                value, "ImageProcessor.ImageCleanerSST.telescope_defaults", report, convert=list
            )
        elif key == "min_number_pedestals":
            section("PedestalMonitor")["min_events"] = int(value)
        else:
            report.append((f"ImageProcessor.ImageCleanerSST.{key}", "unknown key"))


def write_yaml_atomic(data, path, header=""):
    """Write ``data`` as YAML to ``path`` through a temporary file in the same directory."""
    with atomic_output(path, overwrite=True) as tmp, open(tmp, "w") as stream:
        stream.write(header)
        yaml.safe_dump(data, stream, sort_keys=False, default_flow_style=None, width=100)


class ConvertConfigTool(Tool):
    """Translate an sst1mpipe JSON configuration into a ctapipe-sst1m YAML configuration."""

    name = "sst1m-convert-config"
    description = __doc__
    examples = """
    sst1m-convert-config -i sst1mpipe_data_config.json -o sst1m_data.yaml
    sst1m-r0-dl1 -i SST1M2_20240304_0012.fits.fz -o dl1.h5 -c sst1m_data.yaml
    """

    input_path = PathTrait(
        default_value=None,
        exists=True,
        directory_ok=False,
        allow_none=True,
        help="sst1mpipe JSON configuration file to translate.",
    ).tag(config=True)
    output_path = PathTrait(
        default_value=None, directory_ok=False, allow_none=True, help="YAML file to write."
    ).tag(config=True)
    overwrite = Bool(False, help="Replace the output file if it exists.").tag(config=True)

    aliases = {
        ("i", "input"): "ConvertConfigTool.input_path",
        ("o", "output"): "ConvertConfigTool.output_path",
    }
    flags = {
        **flag(
            "overwrite",
            "ConvertConfigTool.overwrite",
            "Replace the output file if it exists.",
            "Keep an existing output file.",
        )
    }

    def setup(self):
        reject_extra_arguments(self)
        if self.input_path is None or self.output_path is None:
            raise ToolConfigurationError(
                "sst1m-convert-config needs -i/--input JSON and -o/--output YAML"
            )
        if self.output_path.exists() and not self.overwrite:
            raise ToolConfigurationError(
                f"{self.output_path} exists; use --overwrite or choose another output"
            )
        try:
            self.source = json.loads(self.input_path.read_text())
        except json.JSONDecodeError as err:
            raise ToolConfigurationError(
                f"{self.input_path} is not valid JSON ({err}); give an sst1mpipe .json config"
            ) from None
        Provenance().add_input_file(str(self.input_path), role="sst1mpipe configuration")

    def start(self):
        self.config_out, self.report = convert_sst1mpipe_config(self.source)
        header = (
            f"# ctapipe-sst1m configuration translated from {self.input_path.name}"
            " by sst1m-convert-config.\n"
        )
        if self.report:
            header += "# Not translated or changed (see sst1m-convert-config output):\n"
            header += "".join(f"#   {key}: {reason}\n" for key, reason in self.report)
        write_yaml_atomic(self.config_out, self.output_path, header)
        Provenance().add_output_file(str(self.output_path), role="ctapipe-sst1m configuration")

    def finish(self):
        for key, reason in self.report:
            self.log.warning("%s: %s", key, reason)
        print(
            f"wrote {self.output_path}: {len(self.config_out)} sections translated,"
            f" {len(self.report)} keys not translated or changed (listed above and in the"
            " file header)"
        )


def main():
    """Run ``sst1m-convert-config``."""
    ConvertConfigTool().run()
