"""The compiled R0→R1 pass equals the numpy formula it replaces, bit for bit, on real data."""

import numpy as np
import pytest

from ctapipe_sst1m.calib import DigiCamR0Corrections
from ctapipe_sst1m.calib.r1_kernel import r0_to_r1
from ctapipe_sst1m.instrument import sst1m_subarray
from ctapipe_sst1m.io import SST1MEventSource

FILES = ["example_SST1M_20180822.fits.fz", "example_100evts.fits.fz"]


def _numpy_r1(waveform, baseline, scale):
    """The former numpy implementation of DigiCamR0Corrections.calibrate."""
    r1 = waveform.astype(np.float32)
    r1 -= baseline.astype(np.float32)[:, np.newaxis]
    r1 *= scale.astype(np.float32)[:, np.newaxis]
    return r1, waveform.max(axis=1)


def _events(path, config):
    with SST1MEventSource(input_url=path, config=config) as source:
        return source.tel_id, source.r0_corrections.saturation.max_linear_adc, list(source)


@pytest.mark.parametrize("name", FILES)
def test_source_r1_equals_numpy_formula(protozfits_resources, calibration_config, name):
    tel_id, max_linear_adc, events = _events(protozfits_resources / name, calibration_config)
    for event in events:
        raw = event.sst1m.tel[tel_id]
        calib = raw.calibration
        outlier = event.monitoring.tel[tel_id].camera.coefficients.outlier_mask[0]
        scale = (1.0 / (calib.dc_to_pe * calib.vdrop_factor)).astype(np.float32)
        scale[outlier] = 0.0
        r0 = event.r0.tel[tel_id].waveform[0]
        expected, peak = _numpy_r1(r0, raw.baseline, scale)
        saturated = (peak >= 4095) | (peak - raw.baseline > max_linear_adc)
        np.testing.assert_array_equal(calib.saturated, saturated)
        kept = ~calib.reintegrated  # re-integrated pixels are repaired after this step
        np.testing.assert_array_equal(
            event.r1.tel[tel_id].waveform[0][kept], expected[kept], strict=True
        )
    assert np.any(scale != 0)


def test_kernel_on_real_waveforms(protozfits_resources, calibration_config):
    tel_id, _, events = _events(protozfits_resources / FILES[0], calibration_config)
    rng = np.random.default_rng(1)
    for event in events[:5]:
        waveform = event.r0.tel[tel_id].waveform[0].copy()
        waveform[rng.integers(0, 1296, 20), rng.integers(0, 50, 20)] = 4095
        waveform.flags.writeable = False
        baseline = event.sst1m.tel[tel_id].baseline.astype(np.float64) + rng.normal(0, 0.3, 1296)
        scale = rng.uniform(0.01, 0.1, 1296).astype(np.float32)
        r1, peak = r0_to_r1(waveform, baseline, scale)
        expected, expected_peak = _numpy_r1(waveform, baseline, scale)
        np.testing.assert_array_equal(r1, expected, strict=True)
        np.testing.assert_array_equal(peak, expected_peak, strict=True)
        assert 0 < np.count_nonzero(peak == 4095) <= 20


def test_kernel_rejects_mismatched_shapes():
    waveform = np.zeros((4, 3), np.int16)
    with pytest.raises(ValueError, match="one value per pixel"):
        r0_to_r1(waveform, np.zeros(3), np.ones(4, np.float32))
    with pytest.raises(ValueError, match="at least one sample"):
        r0_to_r1(np.zeros((4, 0), np.int16), np.zeros(4), np.ones(4, np.float32))


def test_saturated_events_equal_numpy_path():
    """Events with clipped pulses: re-integrated rows are rescaled exactly as before."""
    corrections = DigiCamR0Corrections(
        subarray=sst1m_subarray(),
        use_nominal_calibration=True,
        use_physics_events_before_first_pedestal=False,
    )
    rng = np.random.default_rng(5)
    samples = np.arange(50)
    n_reintegrated = 0
    for _ in range(3):
        waveform = rng.normal(300, 5, (1296, 50)).astype(np.int16)
        for pixel in rng.integers(0, 1296, 30):
            pulse = 300 + rng.uniform(2000, 9000) * np.exp(-0.5 * ((samples - 22) / 2.5) ** 2)
            waveform[pixel] = np.clip(pulse, 0, 4095).astype(np.int16)
        baseline = (300 + rng.normal(0, 0.2, 1296)).astype(np.float32)
        r1, _, _, _, calib = corrections.calibrate(21, waveform, baseline)
        # the former numpy path: subtract, saturation test, re-integrate, scale everything
        state = corrections._state(21)
        expected = waveform.astype(np.float32)
        expected -= baseline.astype(np.float32)[:, np.newaxis]
        peak = waveform.max(axis=1)
        saturated = (peak >= corrections.saturation_threshold) | (
            peak - baseline > corrections.saturation.max_linear_adc
        )
        corrections._reintegrate(21, state, waveform, baseline, expected, saturated)
        expected *= state.scale
        np.testing.assert_array_equal(calib.saturated, saturated)
        np.testing.assert_array_equal(r1[0], expected, strict=True)
        n_reintegrated += calib.n_reintegrated
    assert n_reintegrated > 0
