"""Exact integer-nanosecond conversion of astropy times."""

import numpy as np
from astropy.time import Time
from ctapipe.time import ctao_high_res_to_time, time_to_ctao_high_res

from ctapipe_sst1m.io.clock import tai_ns_to_time
from ctapipe_sst1m.stereo import time_to_ns


def test_round_trip_is_exact_for_every_nanosecond():
    rng = np.random.default_rng(3)
    ns = rng.integers(1_600_000_000 * 10**9, 1_800_000_000 * 10**9, 50_000)
    assert np.array_equal(time_to_ns(tai_ns_to_time(ns)), ns)
    # also through UTC and through ctapipe's stored (ctao_high_res) representation
    assert np.array_equal(time_to_ns(tai_ns_to_time(ns).utc), ns)
    high_res = time_to_ctao_high_res(tai_ns_to_time(ns))
    stored = ctao_high_res_to_time(high_res[:, 0], high_res[:, 1])
    assert np.array_equal(time_to_ns(stored), ns)


def test_known_value_and_scalar():
    t = Time("2024-02-01T00:00:00.000000001", scale="tai")
    expected = (Time("2024-02-01T00:00:00", scale="tai").unix_tai.astype(np.int64)) * 10**9 + 1
    value = time_to_ns(t)
    assert np.ndim(value) == 0
    assert value == expected
    # one ns apart stays one ns apart
    assert time_to_ns(tai_ns_to_time(value + 1)) - value == 1
