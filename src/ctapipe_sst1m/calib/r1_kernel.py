"""Compiled R0→R1 kernel of :class:`~ctapipe_sst1m.calib.DigiCamR0Corrections`.

One pass over the raw samples does what four numpy passes did (float32 conversion, baseline
subtraction, dc→p.e. scaling, peak per pixel for the saturation test), with the same float32
operations in the same order, so the R1 waveforms are bit-identical to
``(waveform.astype(float32) - baseline.astype(float32)[:, None]) * scale[:, None]`` and the
peaks to ``waveform.max(axis=1)``.
"""

import numpy as np
from numba import njit

__all__ = ["r0_to_r1"]


@njit(cache=True, nogil=True)
def _r0_to_r1(waveform, baseline, scale, r1, peak):
    n_pixels, n_samples = waveform.shape
    for pixel in range(n_pixels):
        offset = baseline[pixel]
        factor = scale[pixel]
        highest = waveform[pixel, 0]
        for sample in range(n_samples):
            value = waveform[pixel, sample]
            r1[pixel, sample] = (np.float32(value) - offset) * factor
            if value > highest:
                highest = value
        peak[pixel] = highest


def r0_to_r1(waveform, baseline, scale):
    """R1 waveforms (p.e. per sample) and the raw peak of every pixel from DigiCam samples.

    Parameters
    ----------
    waveform : np.ndarray
        Raw ADC samples, shape (n_pixels, n_samples), n_samples >= 1, integer or float dtype.
    baseline : np.ndarray
        Baseline per pixel (ADC per sample), converted to float32 first.
    scale : np.ndarray
        Factor per pixel (p.e. per ADC·sample), converted to float32, shape (n_pixels,).

    Returns
    -------
    r1 : np.ndarray
        float32 (n_pixels, n_samples), ``(float32(waveform) - float32(baseline)) * scale``.
    peak : np.ndarray
        (n_pixels,) largest raw sample of each pixel, dtype of ``waveform``.
    """
    waveform = np.ascontiguousarray(waveform)
    n_pixels, n_samples = waveform.shape
    baseline = np.ascontiguousarray(baseline, dtype=np.float32)
    scale = np.ascontiguousarray(scale, dtype=np.float32)
    if baseline.shape != (n_pixels,) or scale.shape != (n_pixels,) or n_samples == 0:
        raise ValueError(
            f"baseline {baseline.shape} and scale {scale.shape} must have one value per pixel "
            f"of the waveform {waveform.shape} (with at least one sample)"
        )
    r1 = np.empty((n_pixels, n_samples), dtype=np.float32)
    peak = np.empty(n_pixels, dtype=waveform.dtype)
    _r0_to_r1(waveform, baseline, scale, r1, peak)
    return r1, peak
