"""Re-integration of saturated pixels on clipped pulses of known charge (measured pulse shape)."""

import astropy.units as u
import numpy as np
import pytest
from astropy.time import Time
from ctapipe.containers import ArrayEventContainer, EventType, R1CameraContainer
from ctapipe.image.extractor import LocalPeakWindowSum
from traitlets.config import Config

from ctapipe_sst1m.calib import DigiCamR0Corrections, PedestalMonitor
from ctapipe_sst1m.calib.saturation import PulseTemplates, fit_clipped_pulse
from ctapipe_sst1m.instrument import N_PIXELS, sst1m_subarray
from ctapipe_sst1m.io import SST1MEventSource

BASELINE = 300.0
NOMINAL_DC_TO_PE = {21: 23.508, 22: 26.561}
EXTRACTION = Config(
    {
        "CameraCalibrator": {"image_extractor_type": "LocalPeakWindowSum"},
        "LocalPeakWindowSum": {
            "window_width": 7,
            "window_shift": 3,
            "apply_integration_correction": True,
        },
    }
)


@pytest.fixture(scope="module")
def subarray():
    return sst1m_subarray()


def pulse_samples(readout, peak_times_ns, n_samples=50, sample_ns=4.0):
    """Measured pulse of ``readout`` sampled every ``sample_ns``, unit sum of samples per pulse."""
    pulse = readout.reference_pulse_shape[0]
    step = readout.reference_pulse_sample_width.to_value(u.ns)
    t_pulse = np.arange(pulse.size) * step
    t = np.arange(n_samples) * sample_ns
    offsets = t[np.newaxis, :] - np.asarray(peak_times_ns)[:, np.newaxis] + t_pulse[pulse.argmax()]
    shape = np.interp(offsets, t_pulse, pulse, left=0.0, right=0.0)
    return shape * sample_ns / (pulse.sum() * step)


def saturation_charge(readout, tel_id):
    """Charge (p.e.) whose pulse maximum just reaches the 12-bit ADC range above the baseline."""
    pulse = readout.reference_pulse_shape[0]
    step = readout.reference_pulse_sample_width.to_value(u.ns)
    peak_per_pe = NOMINAL_DC_TO_PE[tel_id] * 4.0 * pulse.max() / (pulse.sum() * step)
    return (4095 - BASELINE) / peak_per_pe


def synthesise(readout, tel_id, charge, rng, n_pixels=N_PIXELS):
    """ADC waveforms of ``charge`` p.e. per pixel at random phases, 5 ADC noise.

    Returns the 12-bit (clipped to 0…4095) raw samples and the unclipped analogue samples.
    """
    peak_times = rng.uniform(60.0, 120.0, n_pixels)
    signal = charge * NOMINAL_DC_TO_PE[tel_id] * pulse_samples(readout, peak_times)
    analogue = BASELINE + signal + rng.normal(0.0, 5.0, signal.shape)
    raw = np.clip(np.round(analogue), 0, 4095).astype(np.uint16)
    return raw, analogue


def corrections(subarray, **saturation):
    config = Config({"SaturationReintegration": saturation})
    return DigiCamR0Corrections(
        subarray=subarray,
        config=config,
        use_nominal_calibration=True,
        use_physics_events_before_first_pedestal=False,
        dead_pixel_rms_threshold=0.0,
    )


def extract(subarray, tel_id, r1):
    extractor = LocalPeakWindowSum(subarray, config=EXTRACTION)
    return extractor(r1, tel_id, np.zeros(r1.shape[1], np.int8), None).image


@pytest.mark.parametrize("tel_id", [21, 22])
def test_clipped_pulses_recovered_up_to_8x_saturation(subarray, tel_id):
    """Charges of clipped pulses come back within 5 % of the unclipped charge up to 8×."""
    readout = subarray.tel[tel_id].camera.readout
    q_sat = saturation_charge(readout, tel_id)
    assert 450 < q_sat < 700  # ~570 p.e. for tel 22 at the nominal gain
    calib = corrections(subarray)
    rng = np.random.default_rng(tel_id)
    baseline = np.full(N_PIXELS, BASELINE, np.float32)
    for multiple in (1.5, 2.0, 3.0, 5.0, 8.0):
        charge = multiple * q_sat
        raw, analogue = synthesise(readout, tel_id, charge, rng)
        assert np.all(raw.max(axis=1) == 4095)  # every pixel is clipped
        r1, status, _, _, info = calib.calibrate(tel_id, raw, baseline)
        assert info.n_saturated == info.n_reintegrated == N_PIXELS
        recovered = extract(subarray, tel_id, r1)
        unclipped = extract(
            subarray, tel_id, ((analogue - BASELINE) / NOMINAL_DC_TO_PE[tel_id])[np.newaxis]
        )
        ratio = recovered / unclipped
        assert np.all(np.abs(ratio - 1) < 0.05), (multiple, ratio.min(), ratio.max())
        # on average the true charge (the window's phase dependence averages out)
        assert np.mean(recovered) / charge == pytest.approx(1.0, abs=0.02)
        # the whole repaired pulse, independent of the extractor: within 3 % pixel by pixel
        total = r1[0].sum(axis=1) / charge
        assert np.all(np.abs(total - 1) < 0.03), (multiple, total.min(), total.max())
    counts = calib.saturation_counts(tel_id)
    assert counts["n_events_reintegrated"] == 5
    assert counts["n_pixels_reintegrated"] == 5 * N_PIXELS
    assert counts["n_pixels_not_reintegrated"] == 0


def test_without_reintegration_clipped_charge_is_lost(subarray):
    """The test above can fail: with the step off, 3× saturated pulses keep < 45 % of charge."""
    readout = subarray.tel[22].camera.readout
    charge = 3.0 * saturation_charge(readout, 22)
    raw, _ = synthesise(readout, 22, charge, np.random.default_rng(3), n_pixels=N_PIXELS)
    calib = corrections(subarray, enabled=False)
    r1, _, _, _, info = calib.calibrate(22, raw, np.full(N_PIXELS, BASELINE, np.float32))
    assert info.n_saturated == N_PIXELS and info.n_reintegrated == 0
    assert np.mean(extract(subarray, 22, r1)) / charge < 0.45


def test_unconstrained_pulse_is_left_as_lower_bound(subarray):
    """Far beyond saturation the edges are too short to constrain the pulse: no repair."""
    readout = subarray.tel[22].camera.readout
    charge = 60.0 * saturation_charge(readout, 22)
    raw, _ = synthesise(readout, 22, charge, np.random.default_rng(4))
    calib = corrections(subarray)
    r1, _, _, _, info = calib.calibrate(22, raw, np.full(N_PIXELS, BASELINE, np.float32))
    assert info.n_reintegrated == 0 and info.reintegration_failed.all()
    expected = (raw.astype(np.float32) - BASELINE) / NOMINAL_DC_TO_PE[22]
    np.testing.assert_allclose(r1[0], expected, rtol=1e-6)


def test_bad_pixels_are_not_repaired(subarray):
    """An interpolated (configured bad) pixel keeps R1 = 0 even when saturated."""
    readout = subarray.tel[21].camera.readout
    raw, _ = synthesise(readout, 21, 3.0 * saturation_charge(readout, 21), np.random.default_rng(5))
    calib = DigiCamR0Corrections(
        subarray=subarray,
        use_nominal_calibration=True,
        use_physics_events_before_first_pedestal=False,
        dead_pixel_rms_threshold=0.0,
        bad_pixels=[("id", 21, [10, 11])],
    )
    r1, _, outlier, _, info = calib.calibrate(21, raw, np.full(N_PIXELS, BASELINE, np.float32))
    assert outlier[0, [10, 11]].all()
    assert info.saturated[[10, 11]].all() and not info.reintegrated[[10, 11]].any()
    assert np.all(r1[0, [10, 11]] == 0)
    assert info.n_reintegrated == N_PIXELS - 2


def test_template_follows_the_readout_sampling(subarray):
    """The fit uses the readout's sample width: a 2 ns readout is fitted on a 2 ns grid."""
    readout = subarray.tel[22].camera.readout
    templates = PulseTemplates(
        readout.reference_pulse_shape[0], readout.reference_pulse_sample_width, 2.0 * u.ns, 100
    )
    assert templates.sample_width_ns == 2.0
    pulse = pulse_samples(readout, [101.3], n_samples=100, sample_ns=2.0)[0]
    samples = 20000.0 * pulse / pulse.max()
    saturated = samples > 3000
    clipped = np.where(saturated, 3000.0, samples)
    model, amplitude = fit_clipped_pulse(clipped, saturated, templates, before=8, after=16)
    assert amplitude == pytest.approx(20000.0, rel=0.01)
    np.testing.assert_allclose(model.sum(), samples.sum(), rtol=0.01)
    # with the 4 ns templates of the readout the same samples do not fit
    wrong = PulseTemplates.from_readout(readout)
    _, amplitude_4ns = fit_clipped_pulse(clipped[:50], saturated[:50], wrong, before=8, after=16)
    assert not amplitude_4ns == pytest.approx(20000.0, rel=0.05)


def test_pedestal_charges_are_reintegrated_too(subarray):
    """A saturated pixel in a pedestal event enters the pedestal statistics repaired."""
    readout = subarray.tel[22].camera.readout
    charge = 4.0 * saturation_charge(readout, 22)
    rng = np.random.default_rng(6)
    raw = np.round(BASELINE + rng.normal(0.0, 5.0, (N_PIXELS, 50))).astype(np.uint16)
    raw[77], _ = (a[0] for a in synthesise(readout, 22, charge, rng, n_pixels=1))
    calib = corrections(subarray)
    r1, status, outlier, factor, info = calib.calibrate(
        22, raw, np.full(N_PIXELS, BASELINE, np.float32), is_pedestal=True
    )
    assert info.reintegrated[77] and info.n_reintegrated == 1
    event = ArrayEventContainer()
    event.trigger.event_type = EventType.SKY_PEDESTAL
    event.trigger.time = Time("2024-03-04T22:00:00", scale="tai")
    event.r1.tel[22] = R1CameraContainer(
        waveform=r1, selected_gain_channel=np.zeros(N_PIXELS, np.int8), pixel_status=status
    )
    event.monitoring.tel[22].camera.coefficients.outlier_mask = outlier
    event.monitoring.tel[22].camera.coefficients.factor = factor
    monitor = PedestalMonitor(subarray, config=EXTRACTION)
    monitor(event)
    mean = event.monitoring.tel[22].camera.pixel_statistics.pedestal_image.mean[0]
    assert mean[77] == pytest.approx(charge, rel=0.05)


def test_broken_channels_of_real_data_are_not_repaired(protozfits_resources, calibration_config):
    """The 2017 example's saturated pixels are broken channels (random samples, baseline ~2200):
    the template does not describe them, so they are counted but left unchanged."""
    path = protozfits_resources / "example_10evts.fits.fz"
    config = Config(calibration_config)
    config.merge(EXTRACTION)
    config.SST1MEventSource.pedestal_monitoring_type = "PedestalMonitor"
    with SST1MEventSource(path, config=config) as source:
        events = list(source)
        counts = source.r0_corrections.saturation_counts(21)
        summary = source.pedestal_monitoring.summary(21)
    # the run summary of the monitoring has the same totals
    for key in ("n_pixels_saturated", "n_events_saturated", "n_pixels_not_reintegrated"):
        assert summary[key] == counts[key]
    off = Config(calibration_config)
    off.SaturationReintegration.enabled = False
    with SST1MEventSource(path, config=off) as source:
        plain = list(source)
    assert counts["n_pixels_saturated"] == counts["n_pixels_not_reintegrated"] > 0
    assert counts["n_pixels_reintegrated"] == 0
    for event, reference in zip(events, plain, strict=True):
        np.testing.assert_array_equal(event.r1.tel[21].waveform, reference.r1.tel[21].waveform)
