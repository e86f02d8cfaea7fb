"""Readout (analytic toy pulse) and optics against the reference array file."""

import astropy.units as u
import numpy as np
import pytest
from ctapipe.instrument import SubarrayDescription

from ctapipe_sst1m.instrument import (
    PULSE_SHAPES,
    digicam_pulse_shape,
    digicam_readout,
    sst1m_optics,
)


@pytest.fixture(scope="module")
def reference_subarray(reference_dir):
    return SubarrayDescription.from_hdf(reference_dir / "sst1m_array.h5")


def _peak_and_fwhm(pulse, width_ns):
    t = np.arange(pulse.size) * width_ns
    above = np.flatnonzero(pulse >= pulse.max() / 2)
    return t[np.argmax(pulse)], t[above[-1]] - t[above[0]]


@pytest.mark.parametrize("tel_id", [21, 22])
def test_analytic_pulse_approximates_reference(reference_subarray, tel_id):
    """The analytic toy pulse stays a fair approximation of the measured one."""
    ref = reference_subarray.tel[tel_id].camera.readout
    ours = digicam_readout(tel_id, analytic_shape=PULSE_SHAPES[tel_id])
    width = ref.reference_pulse_sample_width.to_value(u.ns)
    assert u.isclose(ours.reference_pulse_sample_width, ref.reference_pulse_sample_width)

    p_ref = ref.reference_pulse_shape[0] / ref.reference_pulse_shape[0].max()
    p_ours = ours.reference_pulse_shape[0]
    assert p_ours.max() == pytest.approx(1.0, abs=1e-3)

    peak_ref, fwhm_ref = _peak_and_fwhm(p_ref, width)
    peak_ours, fwhm_ours = _peak_and_fwhm(p_ours, width)
    assert peak_ours == pytest.approx(peak_ref, abs=0.3)
    assert fwhm_ours == pytest.approx(fwhm_ref, rel=0.05)

    n = min(p_ref.size, p_ours.size)
    # normalised shapes agree point by point to a few percent of the peak
    assert np.abs(p_ours[:n] - p_ref[:n]).max() < 0.06
    # and the areas to 1 %
    assert p_ours[:n].sum() == pytest.approx(p_ref[:n].sum(), rel=0.01)


def test_readout_constants(reference_subarray):
    ours = digicam_readout()
    ref = reference_subarray.tel[21].camera.readout
    assert u.isclose(ours.sampling_rate, ref.sampling_rate)
    assert ours.n_samples == ref.n_samples == 50
    assert ours.n_channels == ref.n_channels == 1
    assert ours.n_pixels == 1296


def test_pulse_is_zero_before_start():
    t = np.array([-5.0, 0.0, 0.2]) * u.ns
    assert np.all(digicam_pulse_shape(t)[:2] == 0)


def test_optics_equal_to_reference(reference_subarray):
    optics = sst1m_optics()
    ref = reference_subarray.tel[21].optics
    assert optics == ref
    assert u.isclose(optics.equivalent_focal_length, 5.6 * u.m, rtol=1e-6)
    assert u.isclose(optics.mirror_area, 9.418 * u.m**2, rtol=1e-4)
    assert optics.n_mirror_tiles == 18
