"""DigiCam readout: 250 MHz sampling, 50 samples, one gain channel, analytic pulse shape.

The DigiCam pulse (SiPM + pre-amplifier + shaper) is modelled by the response of an
``n``-th order shaper, a gamma-distribution shape

.. math::  f(t) = \\left(\\frac{t - t_0}{n\\,\\tau}\\right)^n
           \\exp\\left(n - \\frac{t - t_0}{\\tau}\\right),\\quad t > t_0,

normalised to a peak of 1 at ``t_0 + n·τ``. Its parameters were fitted to the measured
reference pulses of the two cameras (the pulses of tel 21 and tel 22 differ slightly): peak at
28 ns, FWHM ≈ 15 ns. The model has no undershoot; the measured pulses have a 2–3 % one, which
matters neither for charge extraction nor for the integration correction (< 0.5 % in area).
"""

from dataclasses import dataclass

import astropy.units as u
import numpy as np
from ctapipe.instrument import CameraReadout

__all__ = [
    "SAMPLING_RATE",
    "N_SAMPLES",
    "N_CHANNELS",
    "PulseShapeParameters",
    "PULSE_SHAPES",
    "digicam_pulse_shape",
    "digicam_readout",
]

SAMPLING_RATE = 250 * u.MHz
N_SAMPLES = 50
N_CHANNELS = 1
#: sample width and length of the tabulated reference pulse stored in the readout
REFERENCE_PULSE_SAMPLE_WIDTH = 0.1 * u.ns
REFERENCE_PULSE_LENGTH = 152 * u.ns


@dataclass(frozen=True)
class PulseShapeParameters:
    """Parameters of the analytic DigiCam pulse (times in ns)."""

    t0_ns: float
    tau_ns: float
    order: float

    @property
    def peak_time(self):
        """Time of the pulse maximum."""
        return (self.t0_ns + self.order * self.tau_ns) * u.ns


#: fits to the measured reference pulses of the two cameras (data ids; MC ids 1, 2 map to them)
PULSE_SHAPES = {
    21: PulseShapeParameters(t0_ns=0.4731, tau_ns=1.4654, order=18.7187),
    22: PulseShapeParameters(t0_ns=-3.1180, tau_ns=1.2908, order=24.1055),
}


def digicam_pulse_shape(time, parameters=PULSE_SHAPES[21]):
    """Analytic DigiCam pulse, peak-normalised, at the given times.

    Parameters
    ----------
    time : astropy.units.Quantity
        Times after the start of the pulse template.
    parameters : PulseShapeParameters
        Shape parameters (see :data:`PULSE_SHAPES`).
    """
    t = np.asanyarray(time.to_value(u.ns), dtype=float)
    x = np.clip((t - parameters.t0_ns) / parameters.tau_ns, 0.0, None)
    n = parameters.order
    with np.errstate(divide="ignore"):
        log_shape = n * np.log(x / n) + n - x
    return np.where(x > 0, np.exp(log_shape), 0.0)


def digicam_readout(parameters=PULSE_SHAPES[21]):
    """The DigiCam ``CameraReadout`` with a tabulated analytic reference pulse."""
    n_ref = int(round((REFERENCE_PULSE_LENGTH / REFERENCE_PULSE_SAMPLE_WIDTH).to_value(u.one)))
    t = np.arange(n_ref) * REFERENCE_PULSE_SAMPLE_WIDTH
    pulse = digicam_pulse_shape(t, parameters)[np.newaxis, :]
    return CameraReadout(
        name="DigiCam",
        sampling_rate=SAMPLING_RATE.to(u.GHz),
        reference_pulse_shape=pulse,
        reference_pulse_sample_width=REFERENCE_PULSE_SAMPLE_WIDTH,
        n_channels=N_CHANNELS,
        n_pixels=1296,
        n_samples=N_SAMPLES,
    )
