"""The compiled R0→R1 pass equals the numpy formula it replaces, bit for bit, on real data."""

import numpy as np
import pytest

from ctapipe_sst1m.calib.r1_kernel import r0_to_r1
from ctapipe_sst1m.io import SST1MEventSource

FILES = ["example_SST1M_20180822.fits.fz", "example_100evts.fits.fz"]


def _numpy_r1(waveform, baseline, scale, threshold):
    """The former numpy implementation of DigiCamR0Corrections.calibrate."""
    r1 = waveform.astype(np.float32)
    r1 -= baseline.astype(np.float32)[:, np.newaxis]
    r1 *= scale.astype(np.float32)[:, np.newaxis]
    return r1, waveform.max(axis=1) >= threshold


def _events(path, config):
    with SST1MEventSource(input_url=path, config=config) as source:
        tel_id = source.tel_id
        return tel_id, list(source)


@pytest.mark.parametrize("name", FILES)
def test_source_r1_equals_numpy_formula(protozfits_resources, calibration_config, name):
    tel_id, events = _events(protozfits_resources / name, calibration_config)
    for event in events:
        raw = event.sst1m.tel[tel_id]
        calib = raw.calibration
        outlier = event.monitoring.tel[tel_id].camera.coefficients.outlier_mask[0]
        scale = (1.0 / (calib.dc_to_pe * calib.vdrop_factor)).astype(np.float32)
        scale[outlier] = 0.0
        r0 = event.r0.tel[tel_id].waveform[0]
        expected, saturated = _numpy_r1(r0, raw.baseline, scale, 4095)
        np.testing.assert_array_equal(event.r1.tel[tel_id].waveform[0], expected, strict=True)
        np.testing.assert_array_equal(calib.saturated, saturated)
    assert np.any(scale != 0)


def test_kernel_on_real_waveforms_with_saturation(protozfits_resources, calibration_config):
    tel_id, events = _events(protozfits_resources / FILES[0], calibration_config)
    rng = np.random.default_rng(1)
    for event in events[:5]:
        waveform = event.r0.tel[tel_id].waveform[0].copy()
        waveform[rng.integers(0, 1296, 20), rng.integers(0, 50, 20)] = 4095
        waveform.flags.writeable = False
        baseline = event.sst1m.tel[tel_id].baseline.astype(np.float64) + rng.normal(0, 0.3, 1296)
        scale = rng.uniform(0.01, 0.1, 1296).astype(np.float32)
        for threshold in (4095, 400, 5000):
            r1, saturated = r0_to_r1(waveform, baseline, scale, threshold)
            expected, expected_saturated = _numpy_r1(waveform, baseline, scale, threshold)
            np.testing.assert_array_equal(r1, expected, strict=True)
            np.testing.assert_array_equal(saturated, expected_saturated, strict=True)
        assert 0 < np.count_nonzero(r0_to_r1(waveform, baseline, scale, 4095)[1]) <= 20


def test_kernel_rejects_mismatched_shapes():
    waveform = np.zeros((4, 3), np.int16)
    with pytest.raises(ValueError, match="one value per pixel"):
        r0_to_r1(waveform, np.zeros(3), np.ones(4, np.float32), 10)
