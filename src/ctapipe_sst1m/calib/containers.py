"""Container with the numbers the DigiCam R0→R1 corrections used for an event."""

import numpy as np
from ctapipe.core import Container, Field

__all__ = ["DigiCamCalibrationContainer"]


class DigiCamCalibrationContainer(Container):
    """R0→R1 calibration state of one DigiCam telescope for one event.

    All per-pixel arrays are in software pixel id order *after* the module swap, i.e. in the
    order of the camera geometry. Arrays are shared between events while the state does not
    change, and are read-only.
    """

    default_prefix = "digicam_calib"

    dc_to_pe = Field(None, "dc→p.e. factor used per pixel (ADC·sample per p.e.)", dtype=np.float64)
    pedestal_rms = Field(
        None,
        "Causal rolling mean of the per-pixel pedestal sample RMS (ADC), None before any "
        "pedestal-like event was seen",
        dtype=np.float64,
    )
    n_pedestal_events = Field(0, "Number of events in the pedestal RMS buffer")
    pedestal_rms_from_physics = Field(
        False, "True while the RMS buffer still holds physics events (no pedestal seen yet)"
    )
    vdrop_variance = Field(
        np.nan, "Pedestal variance (ADC²) fed to the Vdrop model: median, or per pixel"
    )
    baseline_shift = Field(np.nan, "Baseline shift (ADC) from the Vdrop spline")
    vdrop_factor = Field(1.0, "Relative intensity VI (scalar or per pixel); r1 = v/dc_to_pe/VI")
    vdrop_out_of_range = Field(
        False, "True if the variance lay outside the calibrated Vdrop range and was clipped"
    )
    bad_calibration = Field(None, "Pixels whose dark-run fit is flagged bad", dtype=np.bool_)
    dead = Field(None, "Pixels with pedestal RMS below the dead-pixel threshold", dtype=np.bool_)
    unread = Field(None, "Pixels that the camera marked as not read out", dtype=np.bool_)
    configured_bad = Field(None, "Pixels in the configured bad-pixel list", dtype=np.bool_)
    saturated = Field(
        None,
        "Pixels with a sample at or above the raw ADC limit or beyond the linear range",
        dtype=np.bool_,
    )
    n_saturated = Field(0, "Number of saturated pixels in this event")
    reintegrated = Field(
        None,
        "Saturated pixels whose waveform was repaired by the pulse-template fit",
        dtype=np.bool_,
    )
    n_reintegrated = Field(0, "Number of re-integrated (repaired) pixels in this event")
    reintegration_failed = Field(
        None,
        "Saturated pixels the fit could not constrain (charge left as a lower bound)",
        dtype=np.bool_,
    )
    window_factor = Field(None, "Window transmittance factor per pixel (charge is divided by it)")
    swapped_modules = Field(
        default_factory=list, description="Module pairs swapped for this file, [(m1, m2), …]"
    )
