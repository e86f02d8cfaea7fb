"""Re-integration of saturated DigiCam pixels by a fit of the measured pulse template.

Why
---
DigiCam digitises each pixel with a 12-bit ADC (0–4095) at 250 MHz; its front end is treated
as linear up to ``max_linear_adc`` = 3000 ADC above the baseline (the saturation criterion of
the reference pipeline). A bright pixel (above ~570 p.e. for tel 22 at the nominal gain) is
*clipped*: the samples around the pulse maximum stop at the ADC range, and
any sum of samples — the 7-sample ``LocalPeakWindowSum`` as well as a wider sum — loses the
clipped part. Bright showers, the events that matter above 10 TeV, then lose charge in their
core pixels.

Method
------
The shape of a DigiCam pulse does not depend on its amplitude in the linear range, so a clipped
pulse is known up to two numbers, its amplitude ``A`` and its arrival time ``τ``. In ADC above
the baseline, ``w_s = A · p((s·Δt − τ))`` with ``p`` the camera's measured reference pulse
(peak-normalised, from the telescope's ``CameraReadout``) and ``Δt`` the readout's sample width
(1 / sampling rate, 4 ns). For each saturated pixel:

1. *Saturated samples* are those at or above the raw ADC limit (``saturation_threshold``,
   4095) or more than ``max_linear_adc`` (3000) above the baseline. They are lower bounds.
2. The *fit samples* are the other samples from ``fit_samples_before`` before the first to
   ``fit_samples_after`` after the last saturated sample: the unclipped rising and falling
   edges of the pulse. Samples at the ADC floor (raw 0, where the 2–3 % undershoot of a pulse
   beyond ~5× saturation is clipped) are left out.
3. For each arrival time on a grid of the reference pulse's own step (0.1 ns, then refined
   to 0.01 ns around the best one) that puts the pulse maximum within one sample of the
   saturated samples, the amplitude is the linear
   least-squares value on the fit samples; the arrival time minimises the squared residuals of
   the fit samples plus the squared shortfall of the model below the saturated samples (which
   only bound it from below).
4. The saturated samples are replaced by ``max(measured, A·p)`` — the waveform is *repaired* —
   and the pixel is counted as re-integrated. If fewer than ``min_fit_samples`` (1) fit samples
   carry at least 2 % of the pulse maximum, the pulse cannot be constrained: the waveform is
   left as it is (its charge stays a lower bound) and the pixel is counted as failed; so is a
   waveform that the template does not describe (RMS of the residuals above
   ``max_fit_residual`` = 5 % of the fitted maximum, e.g. a broken channel).

Because the repair happens on the R1 waveform (it is applied by
:class:`~ctapipe_sst1m.calib.DigiCamR0Corrections` between the baseline subtraction and the
dc→p.e. scaling), *every* later step treats the pixel like an unsaturated one: the
``CameraCalibrator``'s extractor sums its window and applies the integration correction for the
part of the pulse outside it, the window/intensity ``factor`` follows, peak times come from the
repaired pulse, and the pedestal monitor (which calibrates R1 like the images) sees the same
charges. Pixels of the outlier mask are not repaired: their R1 is zero and ctapipe's
``NeighborAverage`` replaces their charge.

Differences from the reference pipeline (sst1mpipe ``saturated_charge_correction``), whose
quirks are fixed here: it summed the samples from the first one above 20 % of the maximum to the
first one below it after the maximum, without integration correction (so the pulse fraction
outside that range was lost, and the sub-threshold stop sample was included); it overwrote the
neighbour-average charge of bad pixels with the sum of their zeroed waveform; it used a
hard-coded 4 ns sample width; and it crashed in its pedestal pre-load. Its sum of samples also
keeps the clipped part out: charges above the clipping level were lower bounds there too.

Limitation: the method assumes a linear front end up to ``max_linear_adc`` and a pulse shape
independent of amplitude. A non-linear pre-amplifier regime (pulse broadening) beyond that
level is not modelled; tune ``max_linear_adc`` if the camera's linear range is known better.
"""

import astropy.units as u
import numpy as np
from ctapipe.core import TelescopeComponent
from ctapipe.core.traits import Bool, Float, Int
from numba import njit

__all__ = [
    "PulseTemplates",
    "SaturationReintegration",
    "fit_clipped_pulse",
    "repair_saturated_waveforms",
]

#: fit samples must carry at least this fraction of the pulse maximum to count as constraining
EDGE_FRACTION = 0.02


class PulseTemplates:
    """A peak-normalised reference pulse sampled at the readout rate for a grid of arrival times.

    ``values[k, s]`` is the pulse at sample ``s`` when the pulse maximum is at time
    ``peak_times[k]`` (ns from the first sample).

    Parameters
    ----------
    pulse : np.ndarray
        Reference pulse, 1-D, tabulated every ``pulse_sample_width``.
    pulse_sample_width, sample_width : astropy.units.Quantity
        Step of the tabulated pulse and of the readout (1 / sampling rate).
    n_samples : int
        Samples per waveform.
    """

    def __init__(self, pulse, pulse_sample_width, sample_width, n_samples):
        pulse = np.asarray(pulse, dtype=np.float64).reshape(-1)
        step = pulse_sample_width.to_value(u.ns)
        self.sample_width_ns = float(sample_width.to_value(u.ns))
        self.n_samples = int(n_samples)
        peak = int(np.argmax(pulse))
        shape = pulse / pulse[peak]
        t_pulse = np.arange(pulse.size) * step
        peak_time = t_pulse[peak]
        # peak anywhere from one sample before the first to one after the last sample
        self.peak_times = np.arange(
            -self.sample_width_ns, (self.n_samples + 1) * self.sample_width_ns, step
        )
        self._t_pulse, self._shape, self._peak_time = t_pulse, shape, peak_time
        self.step_ns = step
        self.values = self.sample(self.peak_times)

    def sample(self, peak_times):
        """Template rows ``(len(peak_times), n_samples)`` for arbitrary peak times (ns)."""
        t_samples = np.arange(self.n_samples) * self.sample_width_ns
        offsets = t_samples[np.newaxis, :] - (
            np.asarray(peak_times)[:, np.newaxis] - self._peak_time
        )
        return np.interp(offsets, self._t_pulse, self._shape, left=0.0, right=0.0)

    @classmethod
    def from_readout(cls, readout):
        """Templates of a ctapipe ``CameraReadout`` (first gain channel)."""
        return cls(
            readout.reference_pulse_shape[0],
            readout.reference_pulse_sample_width,
            (1 / readout.sampling_rate).to(u.ns),
            readout.n_samples,
        )

    def candidates(self, first, last):
        """Slice of grid rows whose maximum is within one sample of samples first..last."""
        lo = (first - 1) * self.sample_width_ns
        hi = (last + 1) * self.sample_width_ns
        start = int(np.searchsorted(self.peak_times, lo, side="left"))
        stop = int(np.searchsorted(self.peak_times, hi, side="right"))
        return slice(start, max(stop, start + 1))


def fit_clipped_pulse(
    samples,
    saturated,
    templates,
    before=4,
    after=8,
    min_fit_samples=1,
    excluded=None,
    max_residual=0.05,
):
    """Fit the pulse template to the unsaturated samples of one clipped waveform.

    Parameters
    ----------
    samples : np.ndarray
        Baseline-subtracted samples (ADC), shape ``(n_samples,)``.
    saturated : np.ndarray
        bool ``(n_samples,)``: samples that are lower bounds only.
    templates : PulseTemplates
    before, after : int
        Samples used before the first / after the last saturated sample.
    min_fit_samples : int
        Minimum number of fit samples with at least 2 % of the pulse maximum.
    excluded : np.ndarray or None
        bool ``(n_samples,)``: samples not used at all (e.g. clipped at the ADC floor by the
        undershoot of a very bright pulse).
    max_residual : float
        Largest RMS of the fit residuals (including the shortfall below the saturated
        samples), as a fraction of the fitted amplitude, for the waveform to count as a pulse.

    Returns
    -------
    model : np.ndarray or None
        The fitted pulse ``A·p`` at every sample, or None if the pulse is not constrained.
    amplitude : float
        Fitted pulse maximum in ADC (NaN if not constrained).
    """
    index = np.flatnonzero(saturated)
    first, last = int(index[0]), int(index[-1])
    window = np.zeros(samples.size, dtype=bool)
    window[max(first - before, 0) : min(last + after + 1, samples.size)] = True
    fit = window & ~saturated
    if excluded is not None:
        fit &= ~excluded
    w_fit = samples[fit]
    candidates = templates.candidates(first, last)
    # coarse: the grid of the tabulated pulse; fine: a tenth of it around the coarse minimum
    rows = templates.values[candidates]
    amplitude, chi2 = _scan(rows, fit, saturated, w_fit, samples[saturated])
    best = int(np.argmin(chi2))
    if not np.isfinite(chi2[best]):
        return None, np.nan
    coarse = templates.peak_times[candidates][best]
    fine_times = coarse + np.linspace(-1.0, 1.0, 21) * templates.step_ns
    rows = templates.sample(fine_times)
    amplitude, chi2 = _scan(rows, fit, saturated, w_fit, samples[saturated])
    best = int(np.argmin(chi2))
    if np.count_nonzero(rows[best, fit] >= EDGE_FRACTION) < min_fit_samples:
        return None, np.nan
    n_terms = w_fit.size + np.count_nonzero(saturated)
    if np.sqrt(chi2[best] / n_terms) > max_residual * abs(amplitude[best]):
        return None, np.nan  # not the shape of a pulse (e.g. a broken channel)
    return amplitude[best] * rows[best], float(amplitude[best])


def _scan(rows, fit, saturated, w_fit, w_saturated):
    """Least-squares amplitude and cost of each template row (see `fit_clipped_pulse`)."""
    return _scan_kernel(
        rows,
        np.flatnonzero(fit),
        np.flatnonzero(saturated),
        np.asarray(w_fit, dtype=np.float64),
        np.asarray(w_saturated, dtype=np.float64),
    )


@njit(cache=True)
def _scan_kernel(rows, fit_index, saturated_index, w_fit, w_saturated):
    n_rows = rows.shape[0]
    amplitude = np.full(n_rows, np.nan)
    chi2 = np.full(n_rows, np.inf)
    for k in range(n_rows):
        norm = 0.0
        dot = 0.0
        for i in range(fit_index.size):
            t = rows[k, fit_index[i]]
            norm += t * t
            dot += t * w_fit[i]
        if norm <= 0.0:
            continue
        a = dot / norm
        cost = 0.0
        for i in range(fit_index.size):
            r = w_fit[i] - a * rows[k, fit_index[i]]
            cost += r * r
        for i in range(saturated_index.size):
            r = w_saturated[i] - a * rows[k, saturated_index[i]]
            if r > 0.0:
                cost += r * r
        amplitude[k] = a
        chi2[k] = cost
    return amplitude, chi2


def repair_saturated_waveforms(
    samples,
    saturated,
    templates,
    skip=None,
    before=4,
    after=8,
    min_fit_samples=1,
    excluded=None,
    max_residual=0.05,
):
    """Replace the saturated samples of every saturated pixel by the fitted pulse, in place.

    Parameters
    ----------
    samples : np.ndarray
        float ``(n_pixels, n_samples)`` baseline-subtracted ADC; modified in place.
    saturated : np.ndarray
        bool ``(n_pixels, n_samples)``, the samples that are lower bounds.
    templates : PulseTemplates
    skip : np.ndarray or None
        bool ``(n_pixels,)``: pixels never repaired (the outliers that are interpolated).
    before, after, min_fit_samples, max_residual :
        See :func:`fit_clipped_pulse`.
    excluded : np.ndarray or None
        bool ``(n_pixels, n_samples)``: samples left out of the fit (see `fit_clipped_pulse`).

    Returns
    -------
    repaired, failed : np.ndarray
        bool ``(n_pixels,)``: pixels whose waveform was repaired / could not be constrained.
    """
    n_pixels = samples.shape[0]
    repaired = np.zeros(n_pixels, dtype=bool)
    failed = np.zeros(n_pixels, dtype=bool)
    pixels = np.flatnonzero(saturated.any(axis=1))
    if skip is not None:
        pixels = pixels[~skip[pixels]]
    for pixel in pixels:
        mask = saturated[pixel]
        model, _ = fit_clipped_pulse(
            samples[pixel],
            mask,
            templates,
            before,
            after,
            min_fit_samples,
            None if excluded is None else excluded[pixel],
            max_residual,
        )
        if model is None:
            failed[pixel] = True
            continue
        samples[pixel, mask] = np.maximum(samples[pixel, mask], model[mask])
        repaired[pixel] = True
    return repaired, failed


class SaturationReintegration(TelescopeComponent):
    """Re-integrate saturated DigiCam pixels by fitting the measured pulse to their edges.

    A sub-component of :class:`~ctapipe_sst1m.calib.DigiCamR0Corrections` (configure it as
    ``SaturationReintegration.*``); see the module documentation for the method. The pulse
    template and the sample width come from each telescope's ``CameraReadout``.
    """

    enabled = Bool(
        True,
        help=(
            "Repair the waveforms of saturated pixels with a fit of the reference pulse, so that"
            " their charge is not cut at the ADC range."
        ),
    ).tag(config=True)
    max_linear_adc = Int(
        3000,
        min=1,
        help=(
            "Largest sample value above the baseline (ADC) in the linear range of the DigiCam"
            " front end; samples above it are saturated (lower bounds), as are samples at or"
            " above DigiCamR0Corrections.saturation_threshold (raw ADC)."
        ),
    ).tag(config=True)
    fit_samples_before = Int(
        4, min=0, help="Unsaturated samples before the first saturated one used by the fit."
    ).tag(config=True)
    fit_samples_after = Int(
        8, min=0, help="Unsaturated samples after the last saturated one used by the fit."
    ).tag(config=True)
    min_fit_samples = Int(
        1,
        min=1,
        help=(
            "Minimum number of fit samples carrying at least 2 % of the pulse maximum; with"
            " fewer the pixel is not repaired (its charge stays a lower bound)."
        ),
    ).tag(config=True)

    max_fit_residual = Float(
        0.05,
        min=0.0,
        help=(
            "Largest RMS of the fit residuals as a fraction of the fitted pulse maximum; a worse"
            " fit (a waveform that is not a clipped pulse, e.g. a broken channel) is not"
            " repaired and counted as not re-integrable."
        ),
    ).tag(config=True)

    def __init__(self, subarray, config=None, parent=None, **kwargs):
        super().__init__(subarray=subarray, config=config, parent=parent, **kwargs)
        self._templates = {}

    def templates(self, tel_id):
        """`PulseTemplates` of ``tel_id`` (from its camera readout), built once."""
        templates = self._templates.get(tel_id)
        if templates is None:
            readout = self.subarray.tel[tel_id].camera.readout
            templates = self._templates[tel_id] = PulseTemplates.from_readout(readout)
        return templates

    def saturated_samples(self, raw, baseline, raw_limit):
        """Masks ``(n_pixels, n_samples)`` of the lower-bound and of the unusable samples.

        Lower bounds: samples at or above ``raw_limit`` or more than ``max_linear_adc`` above
        the baseline. Unusable: samples at the ADC floor (raw 0), where the undershoot of a
        very bright pulse is clipped.
        """
        above = raw.astype(np.float32) - baseline.astype(np.float32)[:, np.newaxis]
        return (raw >= raw_limit) | (above > self.max_linear_adc), raw <= 0

    def __call__(self, tel_id, samples, saturated, skip=None, excluded=None):
        """Repair ``samples`` (baseline-subtracted ADC) in place; see `repair_saturated_waveforms`.

        Returns
        -------
        repaired, failed : np.ndarray
            bool ``(n_pixels,)``; all False when the component is disabled.
        """
        if not self.enabled:
            none = np.zeros(samples.shape[0], dtype=bool)
            return none, none.copy()
        return repair_saturated_waveforms(
            samples,
            saturated,
            self.templates(tel_id),
            skip=skip,
            before=self.fit_samples_before,
            after=self.fit_samples_after,
            min_fit_samples=self.min_fit_samples,
            excluded=excluded,
            max_residual=self.max_fit_residual,
        )
