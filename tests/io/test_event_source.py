"""SST1MEventSource on the real DigiCam files shipped with protozfits."""

import shutil
import warnings
from collections import Counter

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import AltAz, SkyCoord
from astropy.io import fits
from astropy.utils.exceptions import AstropyUserWarning
from ctapipe.containers import EventType
from ctapipe.io import EventSource
from ctapipe.time import time_to_ctao_high_res
from traitlets import TraitError
from traitlets.config import Config

from ctapipe_sst1m.io import SST1MEventSource, obs_id_from_filename, parse_target


def read_all(path, config, **kwargs):
    with SST1MEventSource(input_url=path, config=config, **kwargs) as source:
        events = list(source)
    return source, events


def test_is_compatible(protozfits_resources, tmp_path):
    for name in ["example_SST1M_20180822", "example_10evts", "example_100evts"]:
        assert SST1MEventSource.is_compatible(protozfits_resources / f"{name}.fits.fz")
    # other cameras' zfits files, text, missing files: False, never an exception
    assert not SST1MEventSource.is_compatible(
        protozfits_resources / "example_LST_R1_10_evts.fits.fz"
    )
    assert not SST1MEventSource.is_compatible(
        protozfits_resources / "example_9evts_NectarCAM.fits.fz"
    )
    text = tmp_path / "notes.fits.fz"
    text.write_text("hello")
    assert not SST1MEventSource.is_compatible(text)
    assert not SST1MEventSource.is_compatible(tmp_path / "missing.fits.fz")


def test_2018_file(digicam_2018_file, calibration_config):
    source, events = read_all(digicam_2018_file, calibration_config)
    assert type(EventSource(digicam_2018_file, config=calibration_config)) is SST1MEventSource
    assert source.tel_id == 22
    assert source.baseline_scale == 16
    assert source.time_scale == "utc"
    assert len(events) == 32
    types = Counter(e.trigger.event_type for e in events)
    assert types == {EventType.SUBARRAY: 30, EventType.SKY_PEDESTAL: 2}

    first = events[0]
    raw = first.sst1m.tel[22]
    assert raw.local_clock_ns == 1534982401673508228
    # clock read as UTC: TAI = UTC + 37 s, nanoseconds untouched
    assert raw.tai_time_ns == 1534982438673508228
    high_res = time_to_ctao_high_res(first.trigger.time)
    assert high_res[0] == 1534982438
    assert high_res[1] == 673508228 * 4
    assert first.index.event_id == 1027888
    assert first.index.obs_id == 201808230000
    assert raw.camera_event_type == 1
    assert first.r0.tel[22].waveform.shape == (1, 1296, 50)
    assert int(first.r0.tel[22].waveform.sum(dtype=np.int64)) == 21338298
    # baselines de-scaled: median ≈ 326.6 ADC (raw median 5225 / 16)
    assert np.median(raw.baseline) == pytest.approx(326.6, abs=0.5)
    r1 = first.r1.tel[22]
    assert r1.waveform.shape == (1, 1296, 50)
    assert r1.waveform.dtype == np.float32
    np.testing.assert_array_equal(r1.selected_gain_channel, np.zeros(1296))
    assert r1.pixel_status.shape == (1296,)
    mask = first.monitoring.tel[22].camera.coefficients.outlier_mask
    assert mask.shape == (1, 1296) and mask.dtype == bool
    # no TARGET header: NaN pointing, no exit
    assert np.isnan(first.monitoring.tel[22].pointing.altitude.value)


@pytest.mark.parametrize(
    ("name", "n_events", "n_pedestals"), [("example_10evts", 10, 1), ("example_100evts", 100, 8)]
)
def test_2017_files(protozfits_resources, calibration_config, name, n_events, n_pedestals):
    source, events = read_all(protozfits_resources / f"{name}.fits.fz", calibration_config)
    assert source.tel_id == 21
    assert events[0].sst1m.tel[21].telescope_id_in_file == 1
    assert source.baseline_scale == 1  # unscaled 2017 firmware
    assert len(events) == n_events
    types = Counter(e.trigger.event_type for e in events)
    assert types[EventType.SKY_PEDESTAL] == n_pedestals
    assert types[EventType.SUBARRAY] == n_events - n_pedestals
    assert events[0].sst1m.tel[21].local_clock_ns == 1509415494406789700
    assert np.median(events[0].sst1m.tel[21].baseline) == pytest.approx(235, abs=2)


def test_merge_files_in_time_order(protozfits_resources, calibration_config):
    # the 100-event file repeats the 10-event file: duplicates are skipped, not overwritten
    source, events = read_all(
        protozfits_resources / "example_10evts.fits.fz",
        calibration_config,
        input_urls=[protozfits_resources / "example_100evts.fits.fz"],
    )
    ids = [e.index.event_id for e in events]
    assert len(ids) == 100 and len(set(ids)) == 100
    clocks = [e.sst1m.tel[21].local_clock_ns for e in events]
    assert clocks == sorted(clocks)


def test_pointing_override(digicam_2018_file, calibration_config):
    source, events = read_all(
        digicam_2018_file, calibration_config, pointing_ra=83.633, pointing_dec=22.014
    )
    event = events[10]
    pointing = event.monitoring.tel[22].pointing
    location = source.subarray.tel_earth_locations[22]
    expected = SkyCoord(ra=83.633 * u.deg, dec=22.014 * u.deg).transform_to(
        AltAz(obstime=event.trigger.time, location=location)
    )
    assert u.isclose(pointing.altitude, expected.alt, atol=1e-4 * u.deg)
    assert u.isclose(pointing.azimuth, expected.az, atol=1e-4 * u.deg)
    assert event.monitoring.pointing.array_ra.to_value(u.deg) == pytest.approx(83.633)


def test_parse_target():
    assert parse_target("Crab,W1,83.63,22.01") == parse_target("Crab_W1_83.63_22.01")
    info = parse_target("Crab_W2_83.63_22.01")
    assert (info.name, info.wobble, info.ra_deg, info.dec_deg) == ("Crab", "W2", 83.63, 22.01)
    info = parse_target("Mrk421,166.1,38.2")
    assert (info.wobble, info.ra_deg, info.dec_deg) == ("UNDEF", 166.1, 38.2)
    assert not parse_target("transition").has_coordinates
    assert not parse_target(None).has_coordinates


def test_obs_id_from_filename():
    assert obs_id_from_filename("/data/SST1M1_20240304_0012.fits.fz") == 202403040012
    assert obs_id_from_filename("example_SST1M_20180822.fits.fz") is None


def test_bad_inputs(tmp_path, digicam_2018_file, calibration_config):
    empty = tmp_path / "SST1M2_20240304_0001.fits.fz"
    empty.touch()
    assert SST1MEventSource.is_compatible(empty)
    with pytest.raises(TraitError, match="empty"):
        SST1MEventSource(input_url=empty, config=calibration_config)

    not_zfits = tmp_path / "SST1M2_20240304_0002.fits.fz"
    fits.HDUList(
        [fits.PrimaryHDU(), fits.BinTableHDU.from_columns([fits.Column("a", "J", array=[1])])]
    ).writeto(not_zfits)
    with pytest.raises(TraitError, match="not a DigiCam zfits file") as err:
        SST1MEventSource(input_url=not_zfits, config=calibration_config)
    assert str(not_zfits) in str(err.value)

    with pytest.raises(TraitError, match="unknown telescopeID 22.*telescope_id_map"):
        SST1MEventSource(
            input_url=digicam_2018_file, config=calibration_config, telescope_id_map={1: 21}
        )


def test_open_without_calibration(digicam_2018_file, caplog):
    # inspecting R0 (notebooks, ctapipe-fileinfo, event displays) needs no calibration file
    with EventSource(digicam_2018_file) as source:
        assert isinstance(source, SST1MEventSource)
        events = list(source)
    assert len(events) == 32
    waveform = events[0].r0.tel[22].waveform
    assert waveform.shape == (1, 1296, 50) and waveform.dtype == np.int16
    assert np.median(waveform) > 100  # raw ADC around the baseline
    # R1 with the nominal factor: NSB-dominated samples are a fraction of a p.e.
    r1 = events[0].r1.tel[22].waveform
    assert abs(np.median(r1)) < 1
    nominal = [r for r in caplog.records if "R1 uses the nominal" in r.getMessage()]
    assert len(nominal) == 1 and nominal[0].levelname == "WARNING"
    assert "26.561" in nominal[0].getMessage()


def test_calibration_of_another_telescope_is_refused(digicam_2018_file, reference_dir):
    tel1_file = reference_dir / "averaged_calib_param_v2_2023_2024_tel1.h5"
    config = Config({"DigiCamR0Corrections": {"calibration_file": str(tel1_file)}})
    with pytest.raises(TraitError, match="of telescope 21 given for telescope 22") as err:
        SST1MEventSource(input_url=digicam_2018_file, config=config)
    assert "\n" not in str(err.value) and "check_calibration_telescope" in str(err.value)
    # forcing it is explicit
    config.DigiCamR0Corrections.check_calibration_telescope = False
    with SST1MEventSource(input_url=digicam_2018_file, config=config, max_events=1) as source:
        assert len(list(source)) == 1


def test_truncated_file(tmp_path, protozfits_resources, calibration_config, caplog):
    # the example file holds all 100 events in ONE compressed tile: cut inside the data, no
    # event is intact, which must be a clear error, not a crash of the C++ reader
    original = protozfits_resources / "example_100evts.fits.fz"
    truncated = tmp_path / "SST1M1_20171031_0001.fits.fz"
    data = original.read_bytes()
    truncated.write_bytes(data[:4_000_000])
    with pytest.raises(TraitError, match="truncated and holds no intact event"):
        SST1MEventSource(input_url=truncated, config=calibration_config)
    assert "is truncated: recovered 0 of 100 events" in caplog.text

    # only the FITS padding missing: every event is intact and read without a warning
    padding_cut = tmp_path / "SST1M1_20171031_0002.fits.fz"
    padding_cut.write_bytes(data[: len(data) - 600])
    caplog.clear()
    with warnings.catch_warnings():  # nor astropy's "File may have been truncated"
        warnings.simplefilter("error", AstropyUserWarning)
        _, events = read_all(padding_cut, calibration_config)
    assert len(events) == 100
    assert "truncated" not in caplog.text


def test_copy_keeps_reading(tmp_path, digicam_2018_file, calibration_config):
    # a file named like real data gets its obs_id from the name
    copy = tmp_path / "SST1M2_20180822_0042.fits.fz"
    shutil.copy(digicam_2018_file, copy)
    _, events = read_all(copy, calibration_config, max_events=3)
    assert [e.index.obs_id for e in events] == [201808220042] * 3
