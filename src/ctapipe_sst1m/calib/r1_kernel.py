"""Compiled R0→R1 kernel of :class:`~ctapipe_sst1m.calib.DigiCamR0Corrections`.

One pass over the raw samples does what four numpy passes did (float32 conversion, baseline
subtraction, dc→p.e. scaling, saturation test), with the same float32 operations in the same
order, so the R1 waveforms are bit-identical to
``(waveform.astype(float32) - baseline.astype(float32)[:, None]) * scale[:, None]``.
"""

import numpy as np
from numba import njit

__all__ = ["r0_to_r1"]


@njit(cache=True, nogil=True)
def _r0_to_r1(waveform, baseline, scale, threshold, r1, saturated):
    n_pixels, n_samples = waveform.shape
    for pixel in range(n_pixels):
        offset = baseline[pixel]
        factor = scale[pixel]
        hit = False
        for sample in range(n_samples):
            value = waveform[pixel, sample]
            r1[pixel, sample] = (np.float32(value) - offset) * factor
            if value >= threshold:
                hit = True
        saturated[pixel] = hit


def r0_to_r1(waveform, baseline, scale, saturation_threshold):
    """R1 waveforms (p.e. per sample) and saturated pixels from raw DigiCam samples.

    Parameters
    ----------
    waveform : np.ndarray
        Raw ADC samples, shape (n_pixels, n_samples), any integer or float dtype.
    baseline : np.ndarray
        Baseline per pixel (ADC per sample), converted to float32 first.
    scale : np.ndarray
        float32 factor per pixel (p.e. per ADC·sample), shape (n_pixels,).
    saturation_threshold : int
        A pixel with a raw sample at or above this value is saturated.

    Returns
    -------
    r1 : np.ndarray
        float32 (n_pixels, n_samples), ``(float32(waveform) - float32(baseline)) * scale``.
    saturated : np.ndarray
        bool (n_pixels,).
    """
    waveform = np.ascontiguousarray(waveform)
    n_pixels, n_samples = waveform.shape
    baseline = np.ascontiguousarray(baseline, dtype=np.float32)
    scale = np.ascontiguousarray(scale, dtype=np.float32)
    if baseline.shape != (n_pixels,) or scale.shape != (n_pixels,):
        raise ValueError(
            f"baseline {baseline.shape} and scale {scale.shape} must have one value per pixel "
            f"of the waveform {waveform.shape}"
        )
    r1 = np.empty((n_pixels, n_samples), dtype=np.float32)
    saturated = np.empty(n_pixels, dtype=np.bool_)
    _r0_to_r1(waveform, baseline, scale, saturation_threshold, r1, saturated)
    return r1, saturated
