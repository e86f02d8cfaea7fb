"""R0→R1 calibration of DigiCam data: :class:`DigiCamR0Corrections`.

For each event of one telescope, in software pixel order (after the module swap):

1. **Baseline subtraction** with the DigiCam moving baseline (ADC per sample).
2. **dc→p.e.** with the dark-run factors of ``calibration_file`` (pixels with a bad fit get the
   mean factor of the good pixels and are flagged).
3. **Vdrop**: division by the relative intensity ``VI`` derived from the causal rolling mean of
   the pedestal sample RMS (global median variance by default, or per pixel), see
   :mod:`ctapipe_sst1m.calib.vdrop`. Until the first pedestal event of a run the RMS is
   estimated from physics events (NSB dominated; switch off with
   ``use_physics_events_before_first_pedestal``); the first pedestal event replaces that
   provisional estimate.
4. **Pixel flags** into ``event.monitoring.tel[t].camera.coefficients.outlier_mask`` (shape
   ``(1, n_pixels)``), so that ctapipe's invalid-pixel handler (``NeighborAverage``) replaces
   their charge: bad dark-run fits, dead pixels (pedestal RMS below ``dead_pixel_rms_threshold``),
   pixels the camera did not read out (``pixels_flags == 0``) and the configured ``bad_pixels``.
   Their R1 waveforms are set to zero.
5. **Window transmittance and intensity correction** go into the per-pixel charge ``factor`` of
   the same coefficients container (``intensity_correction / window_factor``), which ctapipe's
   ``CameraCalibrator`` applies to the extracted charge.
6. **Saturation**: pixels with a raw sample ≥ ``saturation_threshold`` (4095) or more than
   ``SaturationReintegration.max_linear_adc`` (3000) ADC above the baseline get the
   ``SATURATED`` bit of ``r1.pixel_status``; their R1 waveform is *repaired* by a fit of the
   telescope's measured pulse to the unsaturated edges
   (:class:`~ctapipe_sst1m.calib.saturation.SaturationReintegration`, see
   :mod:`ctapipe_sst1m.calib.saturation`), so that the extractor and its integration
   correction see the whole pulse. Outlier pixels are not repaired (they are interpolated).
   Per event the calibration container lists the saturated, re-integrated and not
   re-integrable pixels; :meth:`DigiCamR0Corrections.saturation_counts` gives run totals.

**Cross-cabled modules** (``module_swaps``): the source asks :meth:`pixel_permutation` once per
file and reorders waveforms, baselines and pixel flags with it; the dark-run factors and flags
follow the same permutation (``swap_calibration_with_modules``, because the dark runs were
taken in readout-channel order). Window factors describe the physical window and the
configured bad-pixel list names physical pixels: neither is swapped.
"""

import re
from pathlib import Path as PathlibPath

import numpy as np
from astropy.time import Time
from ctapipe.containers import EventType, PixelStatus
from ctapipe.core import TelescopeComponent
from ctapipe.core.traits import (
    Bool,
    Dict,
    Float,
    FloatTelescopeParameter,
    Int,
    List,
    Path,
    TelescopeParameter,
)
from traitlets import TraitError

from ..instrument import N_PIXELS
from .calibration_files import (
    CalibrationFileError,
    read_dark_run_calibration,
    read_window_transmittance,
)
from .containers import DigiCamCalibrationContainer
from .digicam_modules import module_pixels
from .pedestal_variance import RollingPedestalRMS, sample_rms
from .r1_kernel import r0_to_r1
from .saturation import SaturationReintegration
from .vdrop import VDROP_MODELS

__all__ = ["DigiCamR0Corrections", "DEFAULT_MODULE_SWAPS", "calibration_file_telescope"]

#: cross-cabled module pairs known from the SST-1M logbook (UTC validity intervals)
DEFAULT_MODULE_SWAPS = [
    {
        "tel_id": 22,
        "start": "2023-09-01T00:00:00",
        "stop": "2024-07-18T00:00:00",
        "modules": [59, 88],
    },
    {
        "tel_id": 21,
        "start": "2025-12-17T12:00:00",
        "stop": "2026-01-15T12:00:00",
        "modules": [8, 9],
    },
]

_STORED = np.uint8(PixelStatus.HIGH_GAIN_STORED | PixelStatus.DVR_0)
_SATURATED = np.uint8(PixelStatus.SATURATED)
_NO_PIXELS = np.zeros(N_PIXELS, dtype=bool)
_NO_PIXELS.flags.writeable = False

#: run totals kept per telescope (see DigiCamR0Corrections.saturation_counts)
SATURATION_COUNTS = (
    "n_events",
    "n_events_saturated",
    "n_pixels_saturated",
    "n_events_reintegrated",
    "n_pixels_reintegrated",
    "n_pixels_not_reintegrated",
)


#: SST-1M calibration file names: ``…_tel1.h5``, ``…_Tel2_fitted_parameters.h5`` (camera 1 or 2
#: = telescope 21 or 22, also spelt ``tel21``), ``corr_factor_1st_wdw.txt`` (window of tel 21)
_TEL_IN_NAME = re.compile(r"(?:^|[_.\-])tel(1|2|21|22)(?=[_.\-]|$)", re.IGNORECASE)
_WINDOW_IN_NAME = re.compile(r"(?:^|_)(1st|2nd)_wdw(?=[_.]|$)", re.IGNORECASE)
_CAMERA_TEL_ID = {"1": 21, "2": 22, "21": 21, "22": 22, "1st": 21, "2nd": 22}


def calibration_file_telescope(path):
    """Telescope id a calibration file's name declares (21, 22), or None if it says nothing.

    The files carry no telescope in their content; their names do, by the SST-1M convention
    (``averaged_calib_param_v2_2023_2024_tel2.h5``, ``…_Tel2_fitted_parameters.h5`` and
    ``corr_factor_2nd_wdw.txt`` are all telescope 22).
    """
    name = PathlibPath(path).name
    found = {_CAMERA_TEL_ID[m.lower()] for m in _TEL_IN_NAME.findall(name)}
    found |= {_CAMERA_TEL_ID[m.lower()] for m in _WINDOW_IN_NAME.findall(name)}
    return found.pop() if len(found) == 1 else None


def _frozen(array):
    array.flags.writeable = False
    return array


class _TelescopeState:
    """Calibration inputs and rolling pedestal statistics of one telescope."""

    def __init__(self, dc_to_pe, good, window, max_events):
        self.dc_to_pe_channel = dc_to_pe  # readout-channel (unswapped) order
        self.good_channel = good
        self.window = window
        self.rms = RollingPedestalRMS(max_events)
        self.rms_from_physics = False
        self.perm = None
        self.swapped = []
        self.unread = None
        self.dirty = True
        # derived, refreshed by DigiCamR0Corrections._refresh
        self.scale = None
        self.outlier = None
        self.good_pixels = None
        self.factor = None
        self.info = None
        self.saturation_counts = dict.fromkeys(SATURATION_COUNTS, 0)

    def set_permutation(self, perm, swapped):
        self.perm = perm
        self.swapped = swapped
        self.dirty = True


class DigiCamR0Corrections(TelescopeComponent):
    """DigiCam R0→R1 calibration: baseline, dc→p.e., Vdrop, pixel flags, window factors.

    Used by :class:`~ctapipe_sst1m.io.SST1MEventSource` for every event; it also works alone on
    arrays (:meth:`calibrate`) or on any event carrying ``event.sst1m.tel[tel_id]``
    (:meth:`__call__`).
    """

    calibration_file = TelescopeParameter(
        trait=Path(exists=None, directory_ok=False, allow_none=True),
        default_value=None,
        allow_none=True,
        help=(
            "Dark-run calibration file (SST-1M fit format, e.g. "
            "averaged_calib_param_v2_2023_2024_tel2.h5) per telescope. Required unless "
            "use_nominal_calibration is set."
        ),
    ).tag(config=True)
    window_transmittance_file = TelescopeParameter(
        trait=Path(exists=None, directory_ok=False, allow_none=True),
        default_value=None,
        allow_none=True,
        help=(
            "Per-pixel window transmittance factors (corr_factor_1st_wdw.txt for tel 21, "
            "corr_factor_2nd_wdw.txt for tel 22). If not given, no window correction is applied."
        ),
    ).tag(config=True)
    calibration_required = Bool(
        False,
        help=(
            "Refuse to calibrate a telescope without calibration_file. Without it (the default,"
            " for looking at R0 data) R1 uses the nominal dc→p.e. factors with one warning;"
            " sst1m-r0-dl1 and the packaged data configuration, which write calibrated DL1,"
            " set it."
        ),
    ).tag(config=True)
    check_calibration_telescope = Bool(
        True,
        help=(
            "Refuse a calibration_file / window_transmittance_file whose name says it belongs"
            " to another telescope (…_tel1.h5 / …_Tel1_… and corr_factor_1st_wdw.txt are"
            " telescope 21, …tel2… and 2nd_wdw telescope 22); switch off to force a file."
        ),
    ).tag(config=True)
    use_nominal_calibration = Bool(
        False,
        help=(
            "Use the nominal dc→p.e. factor (nominal_dc_to_pe) for every pixel instead of a "
            "calibration file. Only meant for quick looks and tests; charges are then "
            "approximate."
        ),
    ).tag(config=True)
    nominal_dc_to_pe = FloatTelescopeParameter(
        default_value=[("type", "*", 25.0), ("id", 21, 23.508), ("id", 22, 26.561)],
        help=(
            "Nominal dc→p.e. factor (ADC·sample per p.e.) used with use_nominal_calibration; "
            "defaults are the camera means of the 2023–2024 averaged dark-run calibration."
        ),
    ).tag(config=True)
    apply_global_vdrop_correction = Bool(
        True,
        help="Correct the NSB voltage drop with the camera-median pedestal variance.",
    ).tag(config=True)
    apply_pixelwise_vdrop_correction = Bool(
        False,
        help=(
            "Correct the NSB voltage drop pixel by pixel with each pixel's pedestal variance "
            "(cannot be combined with apply_global_vdrop_correction)."
        ),
    ).tag(config=True)
    n_pedestal_events = Int(
        100,
        min=1,
        help="Number of most recent pedestal events averaged for the pedestal RMS.",
    ).tag(config=True)
    use_physics_events_before_first_pedestal = Bool(
        True,
        help=(
            "Estimate the pedestal RMS from physics events until the first pedestal event of "
            "the run arrives (otherwise no Vdrop correction and no dead-pixel test before it)."
        ),
    ).tag(config=True)
    dead_pixel_rms_threshold = Float(
        2.5,
        min=0,
        help=(
            "Pixels whose pedestal sample RMS (ADC) is below this value are flagged dead and "
            "interpolated; 0 switches the test off."
        ),
    ).tag(config=True)
    interpolate_bad_calibration_pixels = Bool(
        True,
        help="Flag pixels with a bad dark-run fit so that they are interpolated.",
    ).tag(config=True)
    flag_unread_pixels = Bool(
        True,
        help="Flag pixels that the camera reports as not read out (pixels_flags == 0).",
    ).tag(config=True)
    bad_pixels = TelescopeParameter(
        trait=List(Int()),
        default_value=[("type", "*", [])],
        help="Software ids of pixels known to be broken, per telescope; they are interpolated.",
    ).tag(config=True)
    saturation_threshold = Int(
        4095,
        help=(
            "Raw ADC value at or above which a sample counts as saturated (12-bit ADC); samples"
            " more than SaturationReintegration.max_linear_adc above the baseline count too."
        ),
    ).tag(config=True)
    intensity_correction = FloatTelescopeParameter(
        default_value=1.0,
        help=(
            "Per-telescope factor applied to every extracted pixel charge (through the "
            "calibration coefficients), e.g. from MC/data tuning."
        ),
    ).tag(config=True)
    module_swaps = List(
        Dict(),
        default_value=DEFAULT_MODULE_SWAPS,
        help=(
            "Cross-cabled module pairs: list of {tel_id, start, stop (UTC ISO times), "
            "modules: [m1, m2]}. Applied to files whose first event falls in [start, stop)."
        ),
    ).tag(config=True)
    swap_calibration_with_modules = Bool(
        True,
        help=(
            "Swap the dark-run factors and flags together with the waveforms of cross-cabled "
            "modules (they were measured in readout-channel order)."
        ),
    ).tag(config=True)

    def __init__(self, subarray, config=None, parent=None, **kwargs):
        super().__init__(subarray=subarray, config=config, parent=parent, **kwargs)
        if self.apply_global_vdrop_correction and self.apply_pixelwise_vdrop_correction:
            raise TraitError(
                "DigiCamR0Corrections: choose one of apply_global_vdrop_correction and "
                "apply_pixelwise_vdrop_correction, not both"
            )
        self._states = {}
        self.saturation = SaturationReintegration(subarray=subarray, parent=self)

    # ------------------------------------------------------------------ set-up
    @staticmethod
    def _lookup(parameter, tel_id):
        """Per-telescope value, None when the configuration names no value for ``tel_id``."""
        try:
            return parameter.tel[tel_id]
        except KeyError:
            return None

    def _load_state(self, tel_id):
        path = self._lookup(self.calibration_file, tel_id)
        try:
            if self.use_nominal_calibration:
                dc_to_pe = np.full(N_PIXELS, float(self.nominal_dc_to_pe.tel[tel_id]))
                good = np.ones(N_PIXELS, dtype=bool)
                self.log.warning(
                    "tel %d: nominal calibration (%.3f ADC·sample/p.e. for all pixels)",
                    tel_id,
                    dc_to_pe[0],
                )
            elif path is None and self.calibration_required:
                raise TraitError(
                    f"No calibration file for telescope {tel_id}: set "
                    f"DigiCamR0Corrections.calibration_file (e.g. "
                    f"averaged_calib_param_v2_2023_2024_tel{1 if tel_id == 21 else 2}.h5) or "
                    "DigiCamR0Corrections.use_nominal_calibration=True"
                )
            elif path is None:
                dc_to_pe = np.full(N_PIXELS, float(self.nominal_dc_to_pe.tel[tel_id]))
                good = np.ones(N_PIXELS, dtype=bool)
                self.log.warning(
                    "tel %d: no DigiCamR0Corrections.calibration_file; R1 uses the nominal"
                    " %.3f ADC·sample/p.e. for all pixels (fine for looking at R0 data; set"
                    " calibration_file for calibrated DL1)",
                    tel_id,
                    dc_to_pe[0],
                )
            else:
                self._check_file_telescope(path, tel_id, "calibration_file")
                calib = read_dark_run_calibration(path)
                dc_to_pe, good = calib.dc_to_pe, calib.good
                self.log.info(
                    "tel %d: dc→p.e. from %s (%d bad pixels)", tel_id, path, np.sum(~good)
                )
            window_path = self._lookup(self.window_transmittance_file, tel_id)
            window = np.ones(N_PIXELS)
            if window_path is not None:
                self._check_file_telescope(window_path, tel_id, "window_transmittance_file")
                window = read_window_transmittance(window_path)
        except CalibrationFileError as err:
            raise TraitError(
                f"{err}: fix DigiCamR0Corrections.calibration_file / window_transmittance_file"
            ) from None
        return _TelescopeState(dc_to_pe, good, window, self.n_pedestal_events)

    def _check_file_telescope(self, path, tel_id, trait):
        named = calibration_file_telescope(path)
        if self.check_calibration_telescope and named is not None and named != int(tel_id):
            raise TraitError(
                f"{path}: DigiCamR0Corrections.{trait} of telescope {named} given for"
                f" telescope {tel_id}; give the file of telescope {tel_id} (or set"
                " DigiCamR0Corrections.check_calibration_telescope=False to force it)"
            )

    def calibration_inputs(self, tel_id):
        """``{kind: path or None}`` of the calibration inputs used for ``tel_id``."""
        return {
            "calibration_file": self._lookup(self.calibration_file, tel_id),
            "window_transmittance_file": self._lookup(self.window_transmittance_file, tel_id),
        }

    def _state(self, tel_id):
        state = self._states.get(tel_id)
        if state is None:
            state = self._states[tel_id] = self._load_state(tel_id)
        return state

    def check_calibration(self, tel_id):
        """Load the calibration of ``tel_id`` now; raises a one-line ``TraitError`` if missing."""
        self._state(tel_id)

    def swaps_for(self, tel_id, time):
        """Module pairs ``[(m1, m2), …]`` cross-cabled on ``tel_id`` at ``time`` (astropy Time)."""
        pairs = []
        for entry in self.module_swaps:
            try:
                if int(entry["tel_id"]) != int(tel_id):
                    continue
                start = Time(entry["start"], scale="utc")
                stop = Time(entry["stop"], scale="utc")
                m1, m2 = (int(m) for m in entry["modules"])
            except (KeyError, ValueError, TypeError) as err:
                raise TraitError(
                    f"DigiCamR0Corrections.module_swaps entry {entry!r} is malformed ({err}); "
                    "expected {tel_id, start, stop, modules: [m1, m2]}"
                ) from None
            if start <= time < stop:
                pairs.append((m1, m2))
        return pairs

    def pixel_permutation(self, tel_id, time):
        """Pixel permutation undoing the module swaps of ``tel_id`` at ``time``, or None.

        ``physical = software_ordered[perm]``. Also makes the calibration of ``tel_id``
        follow the same permutation from now on.
        """
        pairs = self.swaps_for(tel_id, time)
        perm = None
        if pairs:
            perm = np.arange(N_PIXELS)
            for m1, m2 in pairs:
                p1, p2 = module_pixels(m1), module_pixels(m2)
                perm[p1], perm[p2] = p2, p1
            self.log.info("tel %d: swapping cross-cabled modules %s", tel_id, pairs)
        self._state(tel_id).set_permutation(perm, pairs)
        return perm

    # ------------------------------------------------------------------ per event
    def _vdrop(self, tel_id, rms, usable):
        """Vdrop factor (scalar or per pixel), variance, baseline shift, out-of-range flag."""
        model = VDROP_MODELS.get(int(tel_id))
        use = self.apply_global_vdrop_correction or self.apply_pixelwise_vdrop_correction
        if model is None or rms is None or not use:
            return 1.0, np.nan, np.nan, False
        if self.apply_pixelwise_vdrop_correction:
            variance = rms**2
        else:
            variance = float(np.median(rms[usable] ** 2)) if np.any(usable) else np.nan
            if not np.isfinite(variance):
                return 1.0, np.nan, np.nan, False
        vi, out_of_range = model.vdrop_factor(variance)
        return vi, variance, model.baseline_shift(variance), bool(np.any(out_of_range))

    def _refresh(self, tel_id, state):
        """Recompute the derived per-pixel arrays after a change of inputs."""
        dc_to_pe, good = state.dc_to_pe_channel, state.good_channel
        if state.perm is not None and self.swap_calibration_with_modules:
            dc_to_pe, good = dc_to_pe[state.perm], good[state.perm]

        rms = state.rms.mean
        unread = state.unread if state.unread is not None else np.zeros(N_PIXELS, bool)
        configured = np.zeros(N_PIXELS, dtype=bool)
        configured[np.asarray(self.bad_pixels.tel[tel_id], dtype=int)] = True
        dead = np.zeros(N_PIXELS, dtype=bool)
        if rms is not None and self.dead_pixel_rms_threshold > 0:
            dead = rms < self.dead_pixel_rms_threshold
        bad_calib = ~good
        outlier = dead | unread | configured
        if self.interpolate_bad_calibration_pixels:
            outlier |= bad_calib

        vi, variance, shift, out_of_range = self._vdrop(tel_id, rms, ~(dead | unread | configured))
        if out_of_range:
            self.log.warning(
                "tel %d: pedestal variance %s ADC² beyond the calibrated Vdrop range; "
                "the correction is clipped at its last calibrated value",
                tel_id,
                np.round(np.max(variance), 1),
            )
        scale = (1.0 / (dc_to_pe * vi)).astype(np.float32)
        scale[outlier] = 0.0
        state.scale = _frozen(scale[:, np.newaxis])
        state.outlier = _frozen(outlier[np.newaxis, :].copy())
        factor = self.intensity_correction.tel[tel_id] / state.window
        state.factor = _frozen(factor[np.newaxis, :].astype(np.float32))
        state.info = dict(
            dc_to_pe=_frozen(dc_to_pe.copy()),
            pedestal_rms=None if rms is None else _frozen(rms.copy()),
            n_pedestal_events=len(state.rms),
            pedestal_rms_from_physics=state.rms_from_physics,
            vdrop_variance=variance,
            baseline_shift=shift,
            vdrop_factor=vi,
            vdrop_out_of_range=out_of_range,
            bad_calibration=_frozen(bad_calib),
            dead=_frozen(dead),
            unread=_frozen(unread.copy()),
            configured_bad=_frozen(configured),
            window_factor=state.window,
            swapped_modules=list(state.swapped),
        )
        state.dirty = False

    def _update_pedestal_statistics(self, state, waveform, is_pedestal):
        if is_pedestal:
            if state.rms_from_physics:
                state.rms.reset()
                state.rms_from_physics = False
            state.rms.add(sample_rms(waveform))
            state.dirty = True
        elif self.use_physics_events_before_first_pedestal and (
            len(state.rms) == 0 or state.rms_from_physics
        ):
            state.rms_from_physics = True
            state.rms.add(sample_rms(waveform))
            state.dirty = True

    def calibrate(self, tel_id, waveform, baseline, is_pedestal=False, pixel_flags=None):
        """Calibrate one event of telescope ``tel_id`` (arrays in physical pixel order).

        Parameters
        ----------
        tel_id : int
            Data telescope id.
        waveform : np.ndarray
            Raw ADC samples, shape (n_pixels, n_samples).
        baseline : np.ndarray
            DigiCam baseline per pixel in ADC per sample (already de-scaled).
        is_pedestal : bool
            True for pedestal (random trigger) events; they update the pedestal RMS first.
        pixel_flags : np.ndarray or None
            DigiCam ``pixels_flags``; 0 marks a pixel that was not read out.

        Returns
        -------
        r1 : np.ndarray
            float32 (1, n_pixels, n_samples) in p.e. per sample.
        pixel_status : np.ndarray
            uint8 (n_pixels,) ctapipe ``PixelStatus`` bits.
        outlier_mask : np.ndarray
            bool (1, n_pixels), pixels to interpolate.
        factor : np.ndarray
            float32 (1, n_pixels) charge factor (intensity correction / window factor).
        calibration : DigiCamCalibrationContainer
            The numbers used.
        """
        state = self._state(tel_id)
        self._update_pedestal_statistics(state, waveform, is_pedestal)
        if pixel_flags is not None and self.flag_unread_pixels:
            unread = pixel_flags == 0
            if state.unread is None or not np.array_equal(unread, state.unread):
                state.unread = unread
                state.dirty = True
        if state.dirty:
            self._refresh(tel_id, state)

        # one compiled pass: (float32(raw) - float32(baseline)) * scale, and the raw peaks
        r1, peak = r0_to_r1(waveform, baseline, state.scale.ravel())
        saturated = (peak >= self.saturation_threshold) | (
            peak - baseline > self.saturation.max_linear_adc
        )
        n_saturated = int(np.count_nonzero(saturated))
        pixel_status = np.full(len(baseline), _STORED, dtype=np.uint8)
        reintegrated = failed = _NO_PIXELS
        if n_saturated:
            pixel_status[saturated] |= _SATURATED
            # the re-integration repairs baseline-subtracted ADC: those rows again, unscaled
            unscaled = waveform.astype(np.float32)
            unscaled -= baseline.astype(np.float32)[:, np.newaxis]
            reintegrated, failed = self._reintegrate(
                tel_id, state, waveform, baseline, unscaled, saturated
            )
            r1[saturated] = unscaled[saturated] * state.scale[saturated]

        n_reintegrated = int(np.count_nonzero(reintegrated))
        counts = state.saturation_counts
        counts["n_events"] += 1
        counts["n_events_saturated"] += n_saturated > 0
        counts["n_pixels_saturated"] += n_saturated
        counts["n_events_reintegrated"] += n_reintegrated > 0
        counts["n_pixels_reintegrated"] += n_reintegrated
        counts["n_pixels_not_reintegrated"] += int(np.count_nonzero(failed))
        calibration = DigiCamCalibrationContainer(
            saturated=saturated,
            n_saturated=n_saturated,
            reintegrated=reintegrated,
            n_reintegrated=n_reintegrated,
            reintegration_failed=failed,
            **state.info,
        )
        return r1[np.newaxis], pixel_status, state.outlier, state.factor, calibration

    def _reintegrate(self, tel_id, state, waveform, baseline, r1, saturated):
        """Repair the baseline-subtracted waveforms of the saturated pixels in ``r1``."""
        n_pixels = len(baseline)
        reintegrated = np.zeros(n_pixels, dtype=bool)
        failed = np.zeros(n_pixels, dtype=bool)
        pixels = np.flatnonzero(saturated)
        samples = r1[pixels]
        mask, floor = self.saturation.saturated_samples(
            waveform[pixels], baseline[pixels], self.saturation_threshold
        )
        done, bad = self.saturation(
            tel_id, samples, mask, skip=state.outlier[0][pixels], excluded=floor
        )
        r1[pixels] = samples
        reintegrated[pixels] = done
        failed[pixels] = bad
        return reintegrated, failed

    def saturation_counts(self, tel_id):
        """Run totals of saturated and re-integrated pixels and events of ``tel_id``.

        Returns
        -------
        dict
            ``n_events``, ``n_events_saturated``, ``n_pixels_saturated``,
            ``n_events_reintegrated``, ``n_pixels_reintegrated``, ``n_pixels_not_reintegrated``
            (pixels whose pulse the fit could not constrain); empty before the first event.
        """
        state = self._states.get(tel_id)
        return {} if state is None else dict(state.saturation_counts)

    def __call__(self, event, tel_id):
        """Fill ``event.r1``, the calibration coefficients and ``event.sst1m`` of ``tel_id``.

        Needs ``event.r0.tel[tel_id].waveform`` (1, n_pixels, n_samples) raw ADC and
        ``event.sst1m.tel[tel_id]`` with ``baseline`` and ``pixel_flags`` (as filled by
        :class:`~ctapipe_sst1m.io.SST1MEventSource`).
        """
        raw = event.sst1m.tel[tel_id]
        trigger = event.trigger.tel[tel_id]
        r1, status, outlier, factor, calibration = self.calibrate(
            tel_id,
            event.r0.tel[tel_id].waveform[0],
            raw.baseline,
            is_pedestal=trigger.event_type == EventType.SKY_PEDESTAL,
            pixel_flags=raw.pixel_flags,
        )
        r1_container = event.r1.tel[tel_id]
        r1_container.waveform = r1
        r1_container.pixel_status = status
        r1_container.selected_gain_channel = np.zeros(len(status), dtype=np.int8)
        r1_container.event_type = trigger.event_type
        r1_container.event_time = trigger.time
        coefficients = event.monitoring.tel[tel_id].camera.coefficients
        coefficients.outlier_mask = outlier
        coefficients.factor = factor
        coefficients.is_valid = True
        raw.calibration = calibration
