"""DigiCam response of the toy: photo-electron statistics, night-sky background, noise,
signal times, optional R1 waveforms, and a trigger on compact pixel clusters.

:class:`CameraNoiseModel` turns an expected image (p.e. per pixel) into what an ideal charge
extraction would measure: Poisson photo-electrons smeared by the excess-noise factor, plus the
baseline-subtracted fluctuation of the night-sky background integrated over the extraction
window, plus electronic noise. It also draws peak times (signal time with a jitter shrinking
with charge; uniform within the readout window for pixels without signal) and can synthesise
R1 waveforms with the DigiCam pulse template (ctapipe's ``WaveformModel``).

:class:`ClusterTrigger` sums every pixel with its six neighbours (a compact 7-pixel patch) and
triggers the telescope when the brightest patch exceeds a threshold in p.e.
"""

import astropy.units as u
import numpy as np
from ctapipe.core import Component
from ctapipe.core.traits import Float, Int
from ctapipe.image.toymodel import WaveformModel
from scipy.sparse import csr_matrix, identity

from .quantities import UnitQuantity

__all__ = ["CameraNoiseModel", "ClusterTrigger"]


class CameraNoiseModel(Component):
    """Per-pixel photo-electron statistics, background and electronic noise of DigiCam."""

    nsb_rate = UnitQuantity(
        default_value=0.1 * u.GHz,
        physical_type=u.GHz,
        help=(
            "Night-sky background rate per pixel (p.e. per time; a bare number is in GHz, "
            "p.e. per ns); dark-sky SST-1M values are 0.08-0.3 GHz."
        ),
    ).tag(config=True)
    integration_window = UnitQuantity(
        default_value=28.0 * u.ns,
        physical_type=u.ns,
        help="Charge integration window over which the NSB accumulates (a bare number: ns).",
    ).tag(config=True)
    electronic_noise = Float(
        0.5, min=0.0, help="Electronic noise (std) of the integrated charge in p.e."
    ).tag(config=True)
    excess_noise = Float(
        0.1, min=0.0, help="Relative single-p.e. gain spread (the excess-noise factor term)."
    ).tag(config=True)
    signal_time = UnitQuantity(
        default_value=80.0 * u.ns,
        physical_type=u.ns,
        help="Mean arrival time of the signal in the readout window (a bare number: ns).",
    ).tag(config=True)
    readout_window = UnitQuantity(
        default_value=200.0 * u.ns,
        physical_type=u.ns,
        help="Length of the readout window (a bare number: ns).",
    ).tag(config=True)
    time_jitter_single_pe = UnitQuantity(
        default_value=4.0 * u.ns,
        physical_type=u.ns,
        help="Time resolution for one p.e., scaling as 1/sqrt(p.e.) (a bare number: ns).",
    ).tag(config=True)
    time_jitter_floor = UnitQuantity(
        default_value=0.5 * u.ns,
        physical_type=u.ns,
        help="Time resolution floor for bright pixels (a bare number: ns).",
    ).tag(config=True)

    def ns(self, name):
        """The duration trait ``name`` as a float in ns (for the numerics)."""
        return float(getattr(self, name).to_value(u.ns))

    @property
    def nsb_rate_ghz(self):
        """``nsb_rate`` as a float in GHz (p.e. per ns)."""
        return float(self.nsb_rate.to_value(u.GHz))

    @property
    def nsb_mean(self):
        """Mean NSB p.e. per pixel integrated over the window."""
        return self.nsb_rate_ghz * self.ns("integration_window")

    @property
    def pixel_noise_variance(self):
        """Variance (p.e.²) of a pixel without signal after baseline subtraction."""
        return self.nsb_mean + self.electronic_noise**2

    def measure(self, rng, expected, times):
        """Draw true p.e., measured charges and peak times.

        Parameters
        ----------
        rng : numpy.random.Generator
            Source of randomness.
        expected : array, shape (M, n_pixels)
            Expected p.e. per pixel.
        times : array, shape (M, n_pixels)
            Signal arrival times [ns].

        Returns
        -------
        true_pe : int32 array
        signal : float array, the true p.e. smeared by the gain spread
        charge : float32 array, the measured charge [p.e.]
        peak_time : float32 array [ns]
        """
        true_pe = rng.poisson(expected).astype(np.int32)
        signal = true_pe + self.excess_noise * np.sqrt(true_pe) * rng.standard_normal(true_pe.shape)
        nsb = rng.poisson(self.nsb_mean, size=true_pe.shape) - self.nsb_mean
        charge = signal + nsb + self.electronic_noise * rng.standard_normal(true_pe.shape)

        floor, single = self.ns("time_jitter_floor"), self.ns("time_jitter_single_pe")
        jitter = np.sqrt(floor**2 + single**2 / np.maximum(true_pe, 1))
        peak_time = times + jitter * rng.standard_normal(true_pe.shape)
        readout_window = self.ns("readout_window")
        random_time = rng.uniform(0.0, readout_window, size=true_pe.shape)
        peak_time = np.where(true_pe > 0, peak_time, random_time)
        peak_time = np.clip(peak_time, 0.0, readout_window)
        return true_pe, signal, charge.astype(np.float32), peak_time.astype(np.float32)

    def waveforms(self, rng, readout, signal, peak_time):
        """R1 waveforms (1, n_pixels, n_samples) in p.e. per sample for one image.

        The signal is the DigiCam pulse template (ctapipe ``WaveformModel``) scaled to the
        smeared p.e.; each sample carries Gaussian noise whose sum over the integration
        window has the variance of the NSB and electronic noise.
        """
        model = WaveformModel.from_camera_readout(readout)
        n_samples = readout.n_samples
        sample_ns = 1.0 / readout.sampling_rate.to_value("GHz")
        wf = model.get_waveform(
            np.asarray(signal, dtype=float).copy(), np.asarray(peak_time, float).copy(), n_samples
        )
        window_samples = max(self.ns("integration_window") / sample_ns, 1.0)
        sigma = np.sqrt(self.pixel_noise_variance / window_samples)
        wf = wf + sigma * rng.standard_normal(wf.shape)
        return wf.astype(np.float32)


class ClusterTrigger(Component):
    """Telescope trigger on the brightest compact cluster (a pixel and its neighbours)."""

    threshold = Float(
        55.0,
        help=(
            "Trigger threshold in p.e. on the charge summed over a pixel and its neighbours "
            "(7-pixel patch); 55 p.e. gives a threshold near 1 TeV."
        ),
    ).tag(config=True)
    min_patches = Int(
        1, min=1, help="Number of patches that must exceed the threshold for a trigger."
    ).tag(config=True)

    def __init__(self, geometry, config=None, parent=None, **kwargs):
        super().__init__(config=config, parent=parent, **kwargs)
        neighbors = csr_matrix(geometry.neighbor_matrix_sparse, dtype=np.float32)
        self._patch_matrix = (neighbors + identity(geometry.n_pixels, format="csr")).tocsr()
        self.n_pixels_per_patch = int(self._patch_matrix.sum(axis=1).max())

    def patch_sums(self, charge):
        """Charge summed over every 7-pixel patch, shape (M, n_pixels)."""
        return np.asarray(self._patch_matrix @ np.asarray(charge, dtype=np.float32).T).T

    def __call__(self, charge):
        """Return (triggered bool (M,), number of patches above threshold (M,))."""
        n_above = (self.patch_sums(charge) > self.threshold).sum(axis=1)
        return n_above >= self.min_patches, n_above

    def can_trigger(self, total_expected, noise_variance, n_sigma=6.0):
        """Conservative pre-selection: False when even all light in one patch cannot trigger.

        A patch never holds more than the whole image, so an image whose total expected p.e.
        plus ``n_sigma`` standard deviations of Poisson and patch noise stays below the
        threshold cannot trigger; rendering it is skipped.
        """
        patch_var = self.n_pixels_per_patch * noise_variance
        upper = total_expected + n_sigma * np.sqrt(total_expected * 1.02 + patch_var)
        return upper >= self.threshold
