"""Translation of sst1mpipe JSON configurations into ctapipe-sst1m (traitlets) configurations.

:func:`read_sst1mpipe_config` reads the JSON file; the rest are pure functions:
:func:`convert_sst1mpipe_config` takes the parsed JSON and returns the
nested traitlets configuration and the report of everything not translated (with the reason);
:func:`render_yaml` writes both as YAML text with the report as a comment header.

Translated: the R0→DL1 part (calibration and window files, Vdrop and bad-pixel options, charge
extraction, cleaning sets, NSB monitoring, ``event_selection`` as telescope-frame quality
criteria) and the stereo event-matching parameters. Sections copied through unchanged
(``CameraCalibrator``, ``ShowerProcessor``, the cleaner sections of ``ImageProcessor``) are
checked key by key against the configurable classes, so that a typo
(``TailcutsImageCleaner_typo``, ``window_widht``) is reported instead of copied. Each report
entry has a kind: ``later-stage`` (belongs to another step), ``changed`` (translated with a
different meaning), ``unsupported`` (no equivalent) and ``unknown`` (a name that sst1mpipe and
ctapipe do not know: most probably a typo).
"""

import difflib
import json
import math
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..core.config import known_configurables
from ..core.errors import SST1MInputError
from ..instrument import EQUIVALENT_FOCAL_LENGTH

__all__ = [
    "FEATURE_NAME_MAP",
    "LATER_STAGE_KEYS",
    "Sst1mpipeConfigError",
    "TranslationNote",
    "convert_sst1mpipe_config",
    "read_sst1mpipe_config",
    "render_yaml",
    "tel_id_from_key",
]

_TRAINING = "RF training (give it to sst1m-train-models with its own configuration)"
#: keys of sst1mpipe configurations that belong to later stages; reported, not translated.
LATER_STAGE_KEYS = {
    "array_center_coords": "instrument: the array centre comes from the subarray description",
    "telescope_coords": "instrument: positions come from the subarray description",
    "random_forest_regressor_args": _TRAINING,
    "random_forest_classifier_args": _TRAINING,
    "energy_regression_features": _TRAINING,
    "particle_classification_features": _TRAINING,
    "disp_method": _TRAINING,
    "disp_regression_features": _TRAINING,
    "disp_classification_features": _TRAINING,
    "misdirection_regression_features_mono": _TRAINING,
    "misdirection_regression_features_stereo": _TRAINING,
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


class Sst1mpipeConfigError(SST1MInputError):
    """The sst1mpipe configuration has a wrong structure (e.g. a section that is a list)."""


@dataclass(frozen=True)
class TranslationNote:
    """One entry of the report: the dotted key, what happened (``kind``) and why."""

    key: str
    kind: str
    reason: str

    def __iter__(self):  # ``key, reason = note`` as for a pair
        return iter((self.key, self.reason))


def tel_id_from_key(key):
    """``"tel_021"`` → 21, ``"tel_001"`` → 1; None if ``key`` is not a telescope key."""
    if not isinstance(key, str) or not key.startswith("tel_"):
        return None
    try:
        return int(key[4:])
    except ValueError:
        return None


def _suggest(name, candidates):
    close = difflib.get_close_matches(str(name), list(candidates), n=1)
    return f" (did you mean {close[0]}?)" if close else ""


class _Translation:
    """State of one translation: the output configuration and the report."""

    def __init__(self, known):
        self.known = known
        self.config = {}
        self.corrections = {}
        self.notes = []

    def note(self, key, kind, reason):
        self.notes.append(TranslationNote(key, kind, reason))

    def section(self, name):
        return self.config.setdefault(name, {})

    def unknown(self, key, candidates, what="key"):
        self.note(key, "unknown", f"unknown {what}{_suggest(key.rsplit('.')[-1], candidates)}")


def _mapping(value, key):
    if not isinstance(value, dict):
        raise Sst1mpipeConfigError(
            f"{key} must be a mapping (a JSON object), not {type(value).__name__}; fix the file"
        )
    return value


def _per_tel(t, mapping, key, convert=lambda v: v, none_reason=None, options=()):
    """``{"tel_021": value, ...}`` → TelescopeParameter patterns ``[["id", 21, v], ...]``.

    Keys in ``options`` are left to the caller; any other non-telescope key is reported.
    """
    patterns = []
    for tel_key, value in _mapping(mapping, key).items():
        tel_id = tel_id_from_key(tel_key)
        if tel_id is None:
            if tel_key not in options:
                t.unknown(f"{key}.{tel_key}", ["tel_021", "tel_022", *options])
            continue
        if value is None and none_reason:
            t.note(f"{key}.{tel_key}", "unsupported", none_reason)
            continue
        patterns.append(["id", tel_id, convert(value)])
    return patterns


def _checked_section(t, class_name, values, key):
    """Copy a ctapipe section, keeping only the traits (and nested sections) its class has."""
    cls = t.known[class_name]
    traits = set(cls.class_trait_names(config=True))
    out = {}
    for name, value in _mapping(values, key).items():
        if name in traits:
            out[name] = value
        elif name in t.known and isinstance(value, dict):
            out[name] = _checked_section(t, name, value, f"{key}.{name}")
        else:
            t.unknown(f"{key}.{name}", traits | set(t.known), f"option of {class_name}")
    return out


def _files(t, value, key, trait, shipped, options=()):
    """Per-telescope file names → the ``DigiCamR0Corrections`` trait (null: not translated)."""
    files = _per_tel(
        t,
        value,
        key,
        convert=str,
        none_reason=f"null meant sst1mpipe's shipped {shipped}: give"
        f" DigiCamR0Corrections.{trait} explicitly",
        options=options,
    )
    if files:
        t.corrections[trait] = files


def _telescope_calibration(t, value, key):
    options = ("bad_calib_px_interpolation", "dynamic_dead_px_interpolation")
    _files(t, value, key, "calibration_file", "averaged file", options)
    if "bad_calib_px_interpolation" in value:
        interpolate = bool(value["bad_calib_px_interpolation"])
        t.corrections["interpolate_bad_calibration_pixels"] = interpolate
    if "dynamic_dead_px_interpolation" in value:
        dynamic = value["dynamic_dead_px_interpolation"]
        t.corrections["dead_pixel_rms_threshold"] = 2.5 if dynamic else 0.0


def _window_transmittance(t, value, key):
    _files(t, value, key, "window_transmittance_file", "window file")


def _analysis(t, analysis, key):
    for name, value in _mapping(analysis, key).items():
        if name == "bad_pixels":
            patterns = _per_tel(t, value, f"{key}.bad_pixels", convert=list)
            if any(p[2] for p in patterns):
                t.corrections["bad_pixels"] = patterns
        elif name == "ped_time_window":
            t.section("PedestalMonitor")["chunk_duration"] = float(value)
        else:
            t.note(f"{key}.{name}", "later-stage", "not translated: used by later stages")


def _event_selection(t, selection, key):
    criteria = []
    for column, bounds in _mapping(selection, key).items():
        if column not in FEATURE_NAME_MAP:
            t.note(f"{key}.{column}", "unsupported", "no telescope-frame equivalent")
            continue
        if not (isinstance(bounds, list | tuple) and len(bounds) == 2):
            raise Sst1mpipeConfigError(
                f"{key}.{column} must be a [low, high] pair, not {bounds!r}; fix the file"
            )
        name, scale = FEATURE_NAME_MAP[column]
        low, high = (float(b) * scale for b in bounds)
        criteria.append(
            [f"{column} in [{bounds[0]}, {bounds[1]}]", f"{low!r} <= {name} <= {high!r}"]
        )
    t.section("MLQualityQuery")["quality_criteria"] = criteria


def _nsb_calibrator(t, nsb, key):
    for name, value in _mapping(nsb, key).items():
        if name == "apply_global_Vdrop_correction":
            t.corrections["apply_global_vdrop_correction"] = bool(value)
        elif name == "apply_pixelwise_Vdrop_correction":
            t.corrections["apply_pixelwise_vdrop_correction"] = bool(value)
        elif name == "intensity_correction":
            t.corrections["intensity_correction"] = _per_tel(
                t, value, f"{key}.{name}", convert=float
            )
            t.note(
                f"{key}.{name}",
                "changed",
                "translated; note it now scales every pixel charge, not only the Hillas intensity",
            )
        else:
            t.note(f"{key}.{name}", "unsupported", "not translated: no equivalent yet")


def _image_processor(t, processor, key):
    out = t.section("ImageProcessor")
    traits = set(t.known["ImageProcessor"].class_trait_names(config=True))
    for name, value in _mapping(processor, key).items():
        if name == "use_telescope_frame":
            out[name] = True
            if not value:
                t.note(
                    f"{key}.{name}",
                    "changed",
                    "set to true: ctapipe-sst1m parametrises in the telescope frame"
                    " (see the feature-name mapping in the docs)",
                )
        elif name in traits:
            out[name] = value
        elif name == "ImageCleanerSST":
            _sst_cleaner(t, value, f"{key}.{name}")
        elif name in t.known:
            t.config[name] = _checked_section(t, name, value, f"{key}.{name}")
        else:
            t.unknown(f"{key}.{name}", traits | set(t.known), "option or section")


def _cleaning_sets(sets):
    """sst1mpipe cleaning sets with ``time_limit_ns`` (ns) written as ``time_limit`` ("8 ns")."""
    converted = []
    for entry in sets:
        entry = dict(entry) if isinstance(entry, dict) else entry
        if isinstance(entry, dict) and "time_limit_ns" in entry and "time_limit" not in entry:
            entry["time_limit"] = f"{float(entry.pop('time_limit_ns'))!r} ns"
        converted.append(entry)
    return converted


def _sst_cleaner(t, cleaner, key):
    for name, value in _mapping(cleaner, key).items():
        if name == "telescope_defaults":
            t.section("ImageCleanerSST")["cleaning_sets"] = _per_tel(
                t, value, f"{key}.{name}", convert=_cleaning_sets
            )
        elif name == "min_number_pedestals":
            t.section("PedestalMonitor")["min_events"] = int(value)
        else:
            t.unknown(f"{key}.{name}", ["telescope_defaults", "min_number_pedestals"])


#: sst1mpipe stereo offset-search keys → SlidingWindow traits (values in seconds)
_OFFSET_SEARCH = {
    "time_start": "offset_start",
    "time_stop": "offset_stop",
    "time_step": "offset_step",
}


def _seconds(value):
    return f"{float(value)!r} s"


def _stereo(t, stereo, key):
    """sst1mpipe ``stereo`` event matching → the ctapipe-sst1m matcher sections."""
    if stereo is None:
        return
    for name, value in _mapping(stereo, key).items():
        where = f"{key}.{name}"
        if name == "event_matching_method":
            t.note(
                where,
                "later-stage",
                f"give --method {value} to sst1m-dl1-stereo (its default 'auto' chooses by date)",
            )
        elif name == "SlidingWindow":
            out = t.section("SlidingWindow")
            for option, v in _mapping(value, where).items():
                if option == "window_half_width":
                    out["window_half_width"] = _seconds(v)
                elif option == "offset_search":
                    for sub, w in _mapping(v, f"{where}.offset_search").items():
                        if sub in _OFFSET_SEARCH:
                            out[_OFFSET_SEARCH[sub]] = _seconds(w)
                        else:
                            t.unknown(f"{where}.offset_search.{sub}", _OFFSET_SEARCH)
                else:
                    t.unknown(f"{where}.{option}", ["window_half_width", "offset_search"])
        elif name == "WhiteRabbitClosest":
            for option, v in _mapping(value, where).items():
                if option == "max_time_diff_ns":
                    t.section("WhiteRabbitClosest")["max_time_diff"] = f"{float(v)!r} ns"
                else:
                    t.unknown(f"{where}.{option}", ["max_time_diff_ns"])
        elif name == "SWATEventIDs":
            for option in _mapping(value, where):
                t.unknown(f"{where}.{option}", [])
        else:
            t.unknown(where, ["event_matching_method", "SlidingWindow", "WhiteRabbitClosest"])


def _mean_charge_to_nsb_rate(t, value, key):
    t.section("PedestalMonitor")["mean_charge_to_nsb_rate"] = _per_tel(t, value, key)


def _allowed_tels(t, value, key):
    if value is not None:
        t.section("EventSource")["allowed_tels"] = list(value)


def _copied(class_name):
    def convert(t, value, key):
        t.config[class_name] = _checked_section(t, class_name, value, key)

    return convert


def _focal_length(t, value, key):
    t.note(key, "unsupported", "not needed: taken from the subarray description (5.6 m)")


_TOP_LEVEL = {
    "allowed_tels": _allowed_tels,
    "telescope_calibration": _telescope_calibration,
    "window_transmittance": _window_transmittance,
    "telescope_equivalent_focal_length": _focal_length,
    "analysis": _analysis,
    "event_selection": _event_selection,
    "CameraCalibrator": _copied("CameraCalibrator"),
    "NsbCalibrator": _nsb_calibrator,
    "ImageProcessor": _image_processor,
    "ShowerProcessor": _copied("ShowerProcessor"),
    "mean_charge_to_nsb_rate": _mean_charge_to_nsb_rate,
    "stereo": _stereo,
}


def convert_sst1mpipe_config(source, known=None):
    """Translate an sst1mpipe configuration (parsed JSON) into a ctapipe-sst1m configuration.

    Parameters
    ----------
    source : dict
        The sst1mpipe configuration (data or MC).
    known : dict or None
        ``{class name: class}`` of the configurable classes; by default
        :func:`ctapipe_sst1m.core.config.known_configurables`.

    Returns
    -------
    config : dict
        Nested traitlets configuration (class name → trait → value), ready for YAML.
    report : list of TranslationNote
        Every key that was not translated or whose meaning changed, with the reason.

    Raises
    ------
    Sst1mpipeConfigError
        If the configuration or one of its sections is not a mapping (one line naming it).
    """
    t = _Translation(known_configurables() if known is None else known)
    for key, value in _mapping(source, "the configuration").items():
        if key in LATER_STAGE_KEYS:
            t.note(key, "later-stage", f"not translated: {LATER_STAGE_KEYS[key]}")
        elif key in _TOP_LEVEL:
            _TOP_LEVEL[key](t, value, key)
        else:
            t.unknown(key, list(_TOP_LEVEL) + list(LATER_STAGE_KEYS), "section")
    if t.corrections:
        t.config["DigiCamR0Corrections"] = t.corrections
    return t.config, t.notes


def read_sst1mpipe_config(path):
    """The parsed JSON of an sst1mpipe configuration file (one-line error if unreadable)."""
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except OSError as err:
        raise Sst1mpipeConfigError(f"{path}: cannot read it ({err.strerror})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise Sst1mpipeConfigError(
            f"{path}: not valid JSON ({err}); give an sst1mpipe .json configuration"
        ) from None


def render_yaml(config, report, source_name):
    """The translated configuration as YAML text, with the report as a comment header."""
    header = (
        f"# ctapipe-sst1m configuration translated from {source_name} by sst1m-convert-config.\n"
    )
    if report:
        header += "# Not translated or changed (see the sst1m-convert-config log):\n"
        header += "".join(f"#   {n.key}: [{n.kind}] {n.reason}\n" for n in report)
    body = yaml.safe_dump(config, sort_keys=False, default_flow_style=None, width=100)
    return header + "\n" + body
