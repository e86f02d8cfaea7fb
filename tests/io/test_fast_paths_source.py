"""The event source's fast paths give the same values as the per-event conversions they replace.

Real example files (2018 tel 22, 2017 100-event file); every comparison is exact.
"""

import numpy as np
import pytest
from ctapipe.time import time_to_ctao_high_res

from ctapipe_sst1m.io import SST1MEventSource
from ctapipe_sst1m.io.clock import tai_ns_to_time

# (file, number of events): the 100-event file spans several read-ahead chunks
FILES = [("example_SST1M_20180822.fits.fz", 32), ("example_100evts.fits.fz", 100)]


def test_array_conversion_equals_scalar_conversion():
    # ns fractions that are not exact binary fractions, around the 2018 and 2024 clocks
    tai_ns = np.array([1534975237_000000001, 1534975237_123456789, 1709600000_999999999])
    times = tai_ns_to_time(tai_ns)
    for value, element in zip(tai_ns, times, strict=True):
        scalar = tai_ns_to_time(int(value))
        assert element.jd1 == scalar.jd1 and element.jd2 == scalar.jd2
        assert (element.scale, element.format, element.precision) == ("tai", "unix_tai", 9)
        np.testing.assert_array_equal(time_to_ctao_high_res(element), time_to_ctao_high_res(scalar))


@pytest.mark.parametrize(("name", "n_events"), FILES)
def test_chunked_trigger_times_equal_per_event_times(
    protozfits_resources, calibration_config, name, n_events
):
    with SST1MEventSource(protozfits_resources / name, config=calibration_config) as source:
        tel_id = source.tel_id
        events = [(e.trigger.time, e.trigger.tel[tel_id].time, e.sst1m.tel[tel_id]) for e in source]
    assert len(events) == n_events
    for time, tel_time, raw in events:
        expected = tai_ns_to_time(raw.tai_time_ns)  # the former per-event conversion
        assert tel_time is time
        assert time.jd1 == expected.jd1 and time.jd2 == expected.jd2
        assert time.scale == "tai" and time.precision == 9
        seconds, quarter_ns = time_to_ctao_high_res(time)
        assert int(seconds) * 10**9 + int(quarter_ns) // 4 == raw.tai_time_ns


def test_max_events_reads_only_one_chunk(protozfits_resources, calibration_config):
    name = "example_100evts.fits.fz"
    with SST1MEventSource(
        protozfits_resources / name, config=calibration_config, max_events=3
    ) as source:
        ids = [event.index.event_id for event in source]
    with SST1MEventSource(protozfits_resources / name, config=calibration_config) as source:
        all_ids = [event.index.event_id for event in source]
    assert ids == all_ids[:3]
