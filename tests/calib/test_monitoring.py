"""PedestalMonitor: causal rolling pedestal statistics on synthetic DigiCam event streams."""

import astropy.units as u
import numpy as np
import pytest
from astropy.time import Time
from ctapipe.calib import CameraCalibrator
from ctapipe.containers import (
    ArrayEventContainer,
    EventType,
    PixelStatus,
    R0CameraContainer,
    R1CameraContainer,
)
from ctapipe.core import Tool, run_tool
from ctapipe.image.extractor import LocalPeakWindowSum
from ctapipe.io import read_table
from traitlets.config import Config

from ctapipe_sst1m.calib.monitoring import (
    PEDESTAL_CHUNK_GROUP,
    PEDESTAL_HISTOGRAM_GROUP,
    PEDESTAL_MONITORING_GROUP,
    MonitoringTablesOutput,
    PedestalMonitor,
    RollingPixelWindow,
    nsb_rate_label,
)
from ctapipe_sst1m.image import nsb_level_from_monitoring
from ctapipe_sst1m.instrument import N_PIXELS, sst1m_subarray
from ctapipe_sst1m.io import SST1MEventSource

TEL = 22
T0 = Time("2024-03-04T22:00:00", scale="tai")


#: the DL1 charge extraction of the packaged SST-1M configuration
DL1_EXTRACTION = {
    "CameraCalibrator": {
        "image_extractor_type": "LocalPeakWindowSum",
        "invalid_pixel_handler_type": "NeighborAverage",
    },
    "LocalPeakWindowSum": {
        "window_width": 7,
        "window_shift": 3,
        "apply_integration_correction": True,
    },
}


def dl1_config(extra=None):
    """The SST-1M DL1 extraction settings plus ``extra``."""
    config = Config(DL1_EXTRACTION)
    config.merge(Config(extra or {}))
    return config


@pytest.fixture(scope="module")
def subarray():
    return sst1m_subarray()


def make_event(i, noise, pedestal, rng, blob=0.0):
    """One synthetic event: Gaussian sample noise (p.e./sample) and an optional bright blob."""
    event = ArrayEventContainer()
    event.index.event_id = i
    event.trigger.time = T0 + i * 10 * u.ms
    event.trigger.event_type = EventType.SKY_PEDESTAL if pedestal else EventType.SUBARRAY
    waveform = rng.normal(0.0, noise, size=(1, N_PIXELS, 50)).astype(np.float32)
    if blob:
        waveform[0, :40, 20:24] += blob
    event.r1.tel[TEL] = R1CameraContainer(
        waveform=waveform,
        selected_gain_channel=np.zeros(N_PIXELS, np.int8),
        pixel_status=np.zeros(N_PIXELS, np.uint8),
    )
    event.r0.tel[TEL] = R0CameraContainer(waveform=(300 + 8 * waveform).astype(np.uint16))
    # as every source does (ctapipe's CameraCalibrator needs the mask)
    event.monitoring.tel[TEL].camera.coefficients.outlier_mask = np.zeros((1, N_PIXELS), bool)
    return event


def stream(n, step_at, noise_before, noise_after, seed=1, pedestal_every=3):
    rng = np.random.default_rng(seed)
    for i in range(n):
        noise = noise_before if i < step_at else noise_after
        yield make_event(i, noise, pedestal=(i % pedestal_every == 0), rng=rng)


def run(monitor, events):
    levels, containers = [], []
    for event in events:
        monitor(event)
        levels.append(monitor.nsb_level(TEL))
        containers.append(event.monitoring.tel[TEL].camera)
    return np.array(levels, dtype=float), containers


def test_rolling_window_matches_numpy():
    rng = np.random.default_rng(0)
    window = RollingPixelWindow(size=5, n_pixels=4)
    images = rng.normal(size=(12, 4))
    images[3, 1] = np.nan
    for image in images:
        window.add(image)
    last = images[-5:]
    np.testing.assert_allclose(window.mean(), np.nanmean(last, axis=0))
    np.testing.assert_allclose(window.std(), np.nanstd(last, axis=0), rtol=1e-6)
    np.testing.assert_allclose(window.median(), np.nanmedian(last, axis=0))
    assert len(window) == 5 and window.n_added == 12


def test_causal_window_nsb_step(subarray):
    """Levels before the NSB step do not depend on what comes after; after it they rise."""
    config = Config({"PedestalMonitor": {"window_size": 8, "min_events": 4}})
    stepped, _ = run(PedestalMonitor(subarray, config=dl1_config(config)), stream(90, 45, 0.3, 1.2))
    flat, _ = run(PedestalMonitor(subarray, config=dl1_config(config)), stream(90, 45, 0.3, 0.3))
    # identical inputs up to the step: identical (bitwise) statistics, no look-ahead
    np.testing.assert_array_equal(stepped[:45], flat[:45])
    # the first pedestal after the step (event 45) already moves the level
    assert stepped[45] > flat[45]
    # once the window (8 pedestals = 24 events) has turned over, the level is stable and higher
    assert np.all(stepped[45 + 24 :] > 2 * flat[45 + 24 :])
    np.testing.assert_allclose(stepped[-1], stepped[-10], rtol=0.2)


def test_levels_equal_independent_calculation(subarray):
    """The reported level is the camera mean of the last pedestal images up to each event."""
    config = Config(
        {"PedestalMonitor": {"window_size": 5, "min_events": 2, "use_shower_free_events": False}}
    )
    monitor = PedestalMonitor(subarray, config=dl1_config(config))
    extractor = LocalPeakWindowSum(subarray, config=dl1_config())
    seen = []
    for event in stream(40, 20, 0.5, 1.0, seed=3):
        if event.trigger.event_type == EventType.SKY_PEDESTAL:
            r1 = event.r1.tel[TEL]
            seen.append(extractor(r1.waveform, TEL, r1.selected_gain_channel, None).image)
        monitor(event)
        expected = np.mean(np.mean(seen[-5:], axis=0))
        assert monitor.nsb_level(TEL) == pytest.approx(expected, rel=1e-5)
        stats = event.monitoring.tel[TEL].camera.pixel_statistics.pedestal_image
        assert stats.mean.shape == (1, N_PIXELS)
        assert nsb_level_from_monitoring(event.monitoring.tel[TEL].camera) == pytest.approx(
            expected, rel=1e-5
        )
        if len(seen) >= 2:
            np.testing.assert_allclose(stats.std[0], np.std(seen[-5:], axis=0), atol=1e-4)
        else:
            assert stats.std is None
    assert monitor.statistics_source(TEL) == "sky_pedestal"
    assert monitor.n_pedestal_events(TEL) == 14
    # baseline RMS from the raw samples at 8 ADC per p.e.: 7 pedestals with 0.5 p.e. noise
    # (4 ADC) and 7 with 1.0 p.e. (8 ADC) in the 100-event window -> 6 ADC
    assert np.median(monitor.baseline_rms(TEL)) == pytest.approx(6.0, rel=0.05)


def test_shower_free_fallback_without_pedestals(subarray, caplog):
    config = Config({"PedestalMonitor": {"min_events": 3, "shower_free_every": 1}})
    monitor = PedestalMonitor(subarray, config=dl1_config(config))
    rng = np.random.default_rng(5)
    events = [make_event(i, 0.5, pedestal=False, rng=rng, blob=30.0 * (i % 2)) for i in range(8)]
    levels, containers = run(monitor, events)
    # NSB level known from the very first (shower-free) event on
    assert np.all(np.isfinite(levels))
    assert monitor.statistics_source(TEL) == "shower_free"
    assert "estimating them from shower free" in caplog.text
    # events with the 30 p.e. blob are excluded (too many pixels): only the 4 NSB-only events
    assert monitor.summary(TEL)["n_shower_free_events"] == 4
    # compare with a pedestal-fed monitor on the same NSB: same level within 5 %
    reference, _ = run(
        PedestalMonitor(subarray, config=dl1_config()), stream(30, 99, 0.5, 0.5, pedestal_every=1)
    )
    assert levels[-1] == pytest.approx(reference[-1], rel=0.05)
    # a blob-free image has finite mean everywhere; std only once min_events images are in
    stats = containers[-1].pixel_statistics.pedestal_image
    assert stats.std is not None and np.isfinite(stats.mean).all()


def test_nsb_rate_label():
    table = [
        {"mean_charge_bin_low": 2.4287, "nsb_rate": "med"},
        {"mean_charge_bin_low": 0, "nsb_rate": "low"},
    ]
    assert nsb_rate_label(table, 3.19) == "med"
    assert nsb_rate_label(table, 1.0) == "low"
    assert nsb_rate_label(table, None) is None


def test_tables_written_and_reclean(subarray, tmp_path):
    config = Config(
        {
            "PedestalMonitor": {
                "store_pixel_charges": True,
                "table_interval": 2,
                "chunk_duration": 0.2,
                "min_events": 2,
                "use_shower_free_events": False,
            }
        }
    )
    monitor = PedestalMonitor(subarray, config=dl1_config(config))
    run(monitor, stream(60, 30, 0.3, 1.2))
    path = tmp_path / "mon.h5"
    assert monitor.write(path) == path
    rolling = read_table(path, f"{PEDESTAL_MONITORING_GROUP}/tel_{TEL:03d}")
    assert len(rolling) == 11  # 20 pedestal updates, one row every 2, plus the final state
    assert rolling["source"][0] == "sky_pedestal"
    assert rolling["nsb_level"][-1] > 2 * rolling["nsb_level"][0]
    assert rolling["mean"].shape == (11, N_PIXELS)
    chunks = read_table(path, f"{PEDESTAL_CHUNK_GROUP}/tel_{TEL:03d}")
    # 0.6 s of events in windows of 0.2 s (a window closes at the first pedestal beyond it)
    assert len(chunks) == 3
    assert chunks["mean"].shape == (3, 1, N_PIXELS)
    assert chunks["n_events"].sum() == 20
    hist = read_table(path, f"{PEDESTAL_HISTOGRAM_GROUP}/tel_{TEL:03d}")
    assert hist["counts"].sum() == 20 * N_PIXELS

    # re-cleaning: each event gets the statistics of the stored window containing it
    reclean = PedestalMonitor(
        subarray,
        config=dl1_config({"PedestalMonitor": {"reclean_path": str(path), "min_events": 2}}),
    )
    event = make_event(59, 1.2, pedestal=False, rng=np.random.default_rng(9))
    reclean(event)
    expected = np.nanmean(chunks["mean"][-1])
    assert reclean.nsb_level(TEL) == pytest.approx(expected, rel=1e-5)
    early = make_event(0, 1.2, pedestal=False, rng=np.random.default_rng(9))
    reclean(early)
    assert reclean.nsb_level(TEL) == pytest.approx(np.nanmean(chunks["mean"][0]), rel=1e-5)


def test_container_shared_until_window_changes(subarray):
    """Non-pedestal events reuse one read-only container; a pedestal event replaces it."""
    config = Config({"PedestalMonitor": {"use_shower_free_events": False, "min_events": 2}})
    monitor = PedestalMonitor(subarray, config=dl1_config(config))
    rng = np.random.default_rng(7)
    pedestals = []
    stats = []
    for i in range(12):
        is_pedestal = i % 4 == 0
        event = make_event(i, 0.5, pedestal=is_pedestal, rng=rng)
        monitor(event)
        if is_pedestal:
            pedestals.append(monitor._extract(event, TEL))
        stats.append(event.monitoring.tel[TEL].camera.pixel_statistics.pedestal_image)
    for i in range(12):
        if i % 4:
            assert stats[i] is stats[i - 1]  # no new container between pedestals
        else:
            assert i == 0 or stats[i] is not stats[i - 1]
        assert not stats[i].mean.flags.writeable
        assert (stats[i].std is None) == (i < 4)  # std from min_events = 2 pedestals on
        assert i < 4 or not stats[i].std.flags.writeable
    # the last container holds the statistics of the three pedestals seen
    np.testing.assert_allclose(stats[-1].mean[0], np.mean(pedestals, axis=0), rtol=1e-5)
    np.testing.assert_allclose(stats[-1].std[0], np.std(pedestals, axis=0), rtol=1e-3, atol=1e-5)
    assert monitor.nsb_level(TEL) == pytest.approx(float(np.mean(pedestals)), rel=1e-5)


def test_pedestal_and_physics_images_on_the_same_scale(subarray):
    """Same R1 waveforms and coefficients: the pedestal charge equals the DL1 image charge.

    The coefficients carry a window/intensity factor (0.95–1.15) and outlier pixels, as the
    DigiCam R0 corrections fill them; the DL1 image is ctapipe's CameraCalibrator.
    """
    rng = np.random.default_rng(11)
    config = dl1_config({"PedestalMonitor": {"window_size": 1, "min_events": 1}})
    monitor = PedestalMonitor(subarray, config=config)
    factor = rng.uniform(0.95, 1.05, size=(1, N_PIXELS)).astype(np.float32) * 1.1
    outliers = np.zeros((1, N_PIXELS), bool)
    outliers[0, [3, 500, 1200]] = True

    pedestal = make_event(0, 1.0, pedestal=True, rng=rng)
    physics = make_event(1, 1.0, pedestal=False, rng=rng)
    physics.r1.tel[TEL].waveform = pedestal.r1.tel[TEL].waveform.copy()
    for event in (pedestal, physics):
        event.monitoring.tel[TEL].camera.coefficients.factor = factor
        event.monitoring.tel[TEL].camera.coefficients.outlier_mask = outliers

    monitor(pedestal)
    CameraCalibrator(subarray, config=config)(physics)
    image = physics.dl1.tel[TEL].image
    mean = pedestal.monitoring.tel[TEL].camera.pixel_statistics.pedestal_image.mean[0]
    good = ~outliers[0]
    np.testing.assert_allclose(mean[good], image[good], rtol=1e-6)
    assert np.all(np.isnan(mean[outliers[0]]))  # interpolated pixels: no measurement
    # the factor is really applied (the former monitor skipped it)
    raw = LocalPeakWindowSum(subarray, config=config)(
        pedestal.r1.tel[TEL].waveform, TEL, np.zeros(N_PIXELS, np.int8), outliers
    ).image
    np.testing.assert_allclose(mean[good], raw[good] * factor[0, good], rtol=1e-6)
    # the monitor left the event's own DL1 to the tool
    assert TEL not in pedestal.dl1.tel


def test_real_pedestals_on_the_dl1_scale(digicam_2018_file, calibration_config):
    """On the real 2018 file, pedestal charges equal the DL1 charges of the same events."""
    config = dl1_config(calibration_config)
    config.SST1MEventSource.pedestal_monitoring_type = "PedestalMonitor"
    config.PedestalMonitor.window_size = 1
    config.PedestalMonitor.min_events = 1
    n_pedestals = 0
    with SST1MEventSource(digicam_2018_file, config=config) as source:
        calibrator = CameraCalibrator(source.subarray, config=config)
        for event in source:
            if event.trigger.event_type != EventType.SKY_PEDESTAL:
                continue
            n_pedestals += 1
            mean = event.monitoring.tel[22].camera.pixel_statistics.pedestal_image.mean[0]
            coefficients = event.monitoring.tel[22].camera.coefficients
            good = ~coefficients.outlier_mask[0]
            calibrator(event)
            np.testing.assert_allclose(mean[good], event.dl1.tel[22].image[good], rtol=1e-6)
            # real window factors: the correction is not a no-op
            assert np.ptp(coefficients.factor[0]) > 0.05
    assert n_pedestals == 2


def test_public_summary_and_tables(subarray):
    config = dl1_config({"PedestalMonitor": {"min_events": 2, "use_shower_free_events": False}})
    monitor = PedestalMonitor(subarray, config=config)
    assert monitor.telescopes == [] and monitor.summary(TEL) == {}
    assert monitor.tables_output is None  # no tool: the caller writes
    events = list(stream(9, 99, 0.5, 0.5))
    events[4].r1.tel[TEL].pixel_status = np.full(N_PIXELS, PixelStatus.SATURATED, np.uint8)
    run(monitor, events)
    summary = monitor.summary(TEL)
    assert monitor.telescopes == [TEL]
    assert summary["n_events"] == 9 and summary["n_pedestal_events"] == 3
    assert summary["nsb_level"] == pytest.approx(monitor.nsb_level(TEL))
    assert summary["source"] == "sky_pedestal"
    assert summary["n_pixels_saturated"] == N_PIXELS and summary["n_events_saturated"] == 1
    tables = monitor.tables()
    rolling = tables[f"{PEDESTAL_MONITORING_GROUP}/tel_{TEL:03d}"]
    assert rolling.meta["n_pixels_saturated"] == N_PIXELS
    assert rolling["nsb_level"][-1] == pytest.approx(monitor.nsb_level(TEL), rel=1e-6)


def test_tables_written_when_the_tool_exits(subarray, tmp_path):
    """A monitor built inside a Tool writes through Tool.enter_context, once, at exit."""
    path = tmp_path / "out.h5"

    class Host(Tool):
        def setup(self):
            config = dl1_config({"PedestalMonitor": {"output_path": str(path)}})
            self.update_config(config)
            self.monitor = PedestalMonitor(subarray, parent=self)

        def start(self):
            run(self.monitor, stream(6, 99, 0.5, 0.5))
            assert not path.exists()  # nothing before the tool exits

    host = Host()
    assert run_tool(host, [f"--provenance-log={tmp_path / 'p.log'}"], raises=True) == 0
    assert host.monitor.tables_output.written == path
    rolling = read_table(path, f"{PEDESTAL_MONITORING_GROUP}/tel_{TEL:03d}")
    assert rolling["source"][-1] == "sky_pedestal"

    # an output registered early can be attached to a monitor built later
    output = MonitoringTablesOutput(path=tmp_path / "late.h5")
    late = PedestalMonitor(subarray, config=dl1_config())
    with output:
        run(output.attach(late).monitor, stream(3, 99, 0.5, 0.5))
    assert output.written == tmp_path / "late.h5"
    assert len(read_table(output.written, f"{PEDESTAL_MONITORING_GROUP}/tel_{TEL:03d}")) >= 1


def _nsb_levels(path, config):
    """NSB level given to each event of a real file and the monitor's final level."""
    config = dl1_config(config)
    config.SST1MEventSource.pedestal_monitoring_type = "PedestalMonitor"
    levels, types = [], []
    with SST1MEventSource(path, config=config) as source:
        monitor = source.pedestal_monitoring
        for event in source:
            levels.append(monitor.nsb_level(22))
            types.append(event.trigger.event_type)
    return np.array(levels, dtype=float), types, monitor


def test_shower_free_bias_and_seed_from_earlier_run(
    digicam_2018_file, calibration_config, tmp_path, caplog
):
    """Before the first pedestal the shower-free estimate reads high; a seed removes that.

    The 2018 file has 4 physics events before its first sky pedestal. An earlier run of the same
    night is stood in for by a first pass over the same file (its final statistics come from
    the file's 2 pedestals only).
    """
    levels, types, monitor = _nsb_levels(digicam_2018_file, Config(calibration_config))
    first_pedestal = types.index(EventType.SKY_PEDESTAL)
    assert first_pedestal == 4
    final = monitor.nsb_level(22)
    assert final == pytest.approx(3.2, abs=0.1)
    shower_free_bias = levels[:first_pedestal] / final - 1
    # the documented bias of the shower-free estimate: 6-12 % high on this file
    assert np.all((shower_free_bias > 0.06) & (shower_free_bias < 0.12))
    earlier = tmp_path / "earlier_run.dl1.h5"
    assert monitor.write(earlier) == earlier

    config = Config(calibration_config)
    config.PedestalMonitor.seed_path = str(earlier)
    seeded, _, seeded_monitor = _nsb_levels(digicam_2018_file, config)
    seed_bias = seeded[:first_pedestal] / final - 1
    np.testing.assert_allclose(seed_bias, 0.0, atol=1e-6)  # the seed's level exactly
    assert seeded_monitor.summary(22)["n_shower_free_events"] == 0
    # once the run's own pedestals arrive they take over, as without a seed
    np.testing.assert_allclose(seeded[first_pedestal:], levels[first_pedestal:], rtol=1e-9)
    rolling = seeded_monitor.tables()[f"{PEDESTAL_MONITORING_GROUP}/tel_022"]
    assert rolling["source"][0] == "seed"
    assert "earlier_run.dl1.h5" in rolling.meta["seeding"]
    # the stand-in "earlier run" ends after this run starts: the monitor says so
    assert "h after this run; give an earlier run of the same night" in caplog.text


def test_seed_file_without_statistics_is_a_clear_error(subarray, tmp_path):
    empty = tmp_path / "empty.h5"
    PedestalMonitor(subarray, config=dl1_config()).write(empty)  # nothing seen: no file
    assert not empty.exists()
    path = tmp_path / "other.h5"
    config = dl1_config({"PedestalMonitor": {"use_shower_free_events": True, "min_events": 3}})
    other = PedestalMonitor(subarray, config=config)
    rng = np.random.default_rng(2)
    run(other, [make_event(i, 0.5, pedestal=False, rng=rng) for i in range(4)])
    other.write(path)  # only shower-free statistics: no pedestal row to seed from
    with pytest.raises(OSError, match="no rolling pedestal statistics from sky pedestals"):
        PedestalMonitor(subarray, config=dl1_config({"PedestalMonitor": {"seed_path": str(path)}}))
