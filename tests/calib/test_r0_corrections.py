"""DigiCamR0Corrections: calibration files, Vdrop model and the 2018 run with tel-2 calibration."""

import numpy as np
import pytest
from ctapipe.calib import CameraCalibrator
from ctapipe.containers import EventType, PixelStatus
from traitlets import TraitError
from traitlets.config import Config

from ctapipe_sst1m.calib import (
    DigiCamR0Corrections,
    read_dark_run_calibration,
    read_window_transmittance,
    vdrop_factor,
)
from ctapipe_sst1m.calib.digicam_modules import module_pixels
from ctapipe_sst1m.instrument import sst1m_subarray
from ctapipe_sst1m.io import SST1MEventSource


def test_dark_run_files(reference_dir):
    tel1 = read_dark_run_calibration(reference_dir / "averaged_calib_param_v2_2023_2024_tel1.h5")
    assert np.flatnonzero(~tel1.good).tolist() == [162, 320, 332, 489, 958]
    assert tel1.dc_to_pe[tel1.good].mean() == pytest.approx(23.508, abs=1e-3)
    # bad pixels carry the mean of the good ones, never NaN
    assert tel1.dc_to_pe[489] == pytest.approx(23.508, abs=1e-3)
    tel2 = read_dark_run_calibration(reference_dir / "averaged_calib_param_v2_2023_2024_tel2.h5")
    assert np.count_nonzero(~tel2.good) == 21
    assert tel2.dc_to_pe[tel2.good].mean() == pytest.approx(26.561, abs=1e-3)
    assert np.all(np.isfinite(tel2.dc_to_pe))


def test_window_files(reference_dir):
    first = read_window_transmittance(reference_dir / "corr_factor_1st_wdw.txt")
    second = read_window_transmittance(reference_dir / "corr_factor_2nd_wdw.txt")
    assert first.mean() == pytest.approx(1.0, abs=1e-3)
    assert (first.min(), first.max()) == pytest.approx((0.917, 1.020), abs=1e-3)
    assert (second.min(), second.max()) == pytest.approx((0.950, 1.052), abs=1e-3)


def test_vdrop_model_and_clipping():
    variance = np.array([9.0, 36.0, 64.0])
    np.testing.assert_allclose(vdrop_factor(variance, 21)[0], [0.970, 0.820, 0.562], atol=1e-3)
    np.testing.assert_allclose(vdrop_factor(variance, 22)[0], [0.994, 0.968, 0.940], atol=1e-3)
    # beyond the calibrated tel-21 range the reference gives VI = -5.3 at 100 ADC²
    vi, out_of_range = vdrop_factor(100.0, 21)
    assert out_of_range
    assert vi == pytest.approx(vdrop_factor(74.24242424, 21)[0], abs=1e-6)
    assert vi > 0


def _events(path, config, **kwargs):
    with SST1MEventSource(input_url=path, config=config, **kwargs) as source:
        return list(source)


def test_2018_calibration(digicam_2018_file, calibration_config):
    events = _events(digicam_2018_file, calibration_config)
    pedestals = [e for e in events if e.trigger.event_type == EventType.SKY_PEDESTAL]
    assert len(pedestals) == 2

    last = events[-1].sst1m.tel[22].calibration
    assert last.n_pedestal_events == 2 and not last.pedestal_rms_from_physics
    assert last.vdrop_variance == pytest.approx(64.3, abs=1.0)
    assert last.baseline_shift == pytest.approx(32.7, abs=0.8)
    assert last.vdrop_factor == pytest.approx(0.940, abs=0.003)
    assert np.count_nonzero(last.bad_calibration) == 21
    assert np.count_nonzero(last.dead) == 1
    mask = events[-1].monitoring.tel[22].camera.coefficients.outlier_mask[0]
    np.testing.assert_array_equal(mask, last.bad_calibration | last.dead)

    # baseline-subtracted pedestal samples are centred near 0 (reference: +0.44 ADC)
    for event in pedestals:
        calib = event.sst1m.tel[22].calibration
        r1 = event.r1.tel[22].waveform[0]
        adc = r1 * (calib.dc_to_pe * calib.vdrop_factor)[:, np.newaxis]
        good = ~event.monitoring.tel[22].camera.coefficients.outlier_mask[0]
        assert abs(np.median(adc[good])) < 1.0
        assert np.all(r1[~good] == 0)

    # camera-average extracted pedestal charge ≈ 3.2 p.e. (peak-search bias on NSB)
    config = Config(calibration_config)
    config.CameraCalibrator.image_extractor_type = "LocalPeakWindowSum"
    config.LocalPeakWindowSum.window_width = 7
    config.LocalPeakWindowSum.window_shift = 3
    subarray = sst1m_subarray()
    calibrator = CameraCalibrator(subarray=subarray, config=config)
    charges = []
    for event in pedestals:
        calibrator(event)
        charges.append(event.dl1.tel[22].image.mean())
    assert np.mean(charges) == pytest.approx(3.2, abs=0.25)


def test_physics_events_before_first_pedestal(digicam_2018_file, calibration_config):
    events = _events(digicam_2018_file, calibration_config, max_events=4)
    calib = events[0].sst1m.tel[22].calibration
    assert calib.pedestal_rms_from_physics
    assert 0.9 < calib.vdrop_factor < 1.0
    config = Config(calibration_config)
    config.DigiCamR0Corrections.use_physics_events_before_first_pedestal = False
    first = _events(digicam_2018_file, config, max_events=1)[0]
    assert first.sst1m.tel[22].calibration.vdrop_factor == 1.0
    assert first.sst1m.tel[22].calibration.pedestal_rms is None


def test_module_swap_is_consistent(digicam_2018_file, calibration_config):
    plain = _events(digicam_2018_file, calibration_config, max_events=1)[0]
    config = Config(calibration_config)
    config.DigiCamR0Corrections.module_swaps = [
        {"tel_id": 22, "start": "2018-01-01", "stop": "2019-01-01", "modules": [59, 88]}
    ]
    swapped = _events(digicam_2018_file, config, max_events=1)[0]
    a, b = module_pixels(59), module_pixels(88)
    for get in (
        lambda e: e.r0.tel[22].waveform[0],
        lambda e: e.sst1m.tel[22].baseline,
        lambda e: e.sst1m.tel[22].calibration.dc_to_pe,
        lambda e: e.sst1m.tel[22].calibration.bad_calibration,
    ):
        np.testing.assert_array_equal(get(swapped)[a], get(plain)[b])
        np.testing.assert_array_equal(get(swapped)[b], get(plain)[a])
    # the window factors are physical: not swapped
    np.testing.assert_array_equal(
        swapped.sst1m.tel[22].calibration.window_factor,
        plain.sst1m.tel[22].calibration.window_factor,
    )
    assert swapped.sst1m.tel[22].calibration.swapped_modules == [(59, 88)]
    # calibrated waveforms follow: r1 of swapped pixels equals the plain r1 of their partner
    np.testing.assert_allclose(
        swapped.r1.tel[22].waveform[0][a], plain.r1.tel[22].waveform[0][b], rtol=1e-6
    )


def test_window_and_intensity_in_factor(digicam_2018_file, calibration_config, reference_dir):
    config = Config(calibration_config)
    config.DigiCamR0Corrections.intensity_correction = [("id", 22, 1.1)]
    event = _events(digicam_2018_file, config, max_events=1)[0]
    window = read_window_transmittance(reference_dir / "corr_factor_2nd_wdw.txt")
    factor = event.monitoring.tel[22].camera.coefficients.factor
    assert factor.shape == (1, 1296)
    np.testing.assert_allclose(factor[0], 1.1 / window, rtol=1e-6)


def test_saturation_and_configured_bad_pixels():
    subarray = sst1m_subarray()
    corrections = DigiCamR0Corrections(
        subarray=subarray,
        use_nominal_calibration=True,
        use_physics_events_before_first_pedestal=False,
        bad_pixels=[("id", 21, [7, 8])],
    )
    waveform = np.full((1296, 50), 300, dtype=np.int16)
    waveform[100, 20:26] = 4095
    waveform[200, 25] = 400
    baseline = np.full(1296, 300.0, dtype=np.float32)
    r1, status, outlier, factor, calib = corrections.calibrate(21, waveform, baseline)
    assert calib.n_saturated == 1 and calib.saturated[100]
    assert status[100] & PixelStatus.SATURATED
    assert not status[99] & PixelStatus.SATURATED
    assert np.flatnonzero(outlier[0]).tolist() == [7, 8]
    # nominal calibration of tel 21: 100 ADC above baseline → 100 / 23.508 p.e.
    assert r1[0, 200, 25] == pytest.approx(100 / 23.508, rel=1e-5)
    assert r1[0, 7].max() == 0


def test_configuration_errors(tmp_path):
    subarray = sst1m_subarray()
    with pytest.raises(TraitError, match="not both"):
        DigiCamR0Corrections(subarray=subarray, apply_pixelwise_vdrop_correction=True)
    missing = tmp_path / "nope.h5"
    corrections = DigiCamR0Corrections(
        subarray=subarray, calibration_file=[("id", 22, missing)], calibration_required=True
    )
    with pytest.raises(TraitError, match=f"{missing} does not exist"):
        corrections.check_calibration(22)
    with pytest.raises(TraitError, match="No calibration file for telescope 21"):
        corrections.check_calibration(21)


def test_r1_in_photoelectrons(digicam_2018_file, calibration_config):
    # a 7-sample sum of the calibrated pedestal waveform is O(1) p.e., not O(100) ADC
    event = _events(digicam_2018_file, calibration_config, max_events=1)[0]
    peak_sums = event.r1.tel[22].waveform[0, :, 20:27].sum(axis=1)
    assert 0 < np.median(peak_sums) < 10
