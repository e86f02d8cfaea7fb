"""Event matchers on synthetic streams with known truth."""

from datetime import date

import astropy.units as u
import numpy as np
import pytest
from astropy.table import vstack
from traitlets.config import Config

from ctapipe_sst1m.io.clock import tai_ns_to_time
from ctapipe_sst1m.stereo import (
    EventMatcher,
    MatchingInputError,
    SlidingWindow,
    SWATEventIDs,
    WhiteRabbitClosest,
    coincidence_profile,
    matcher_name_for_date,
    nearest_unique_pairs,
    peak_width,
    time_to_ns,
)


def _assert_unique(i1, i2):
    assert len(i1) == len(i2)
    assert len(np.unique(i1)) == len(i1)
    assert len(np.unique(i2)) == len(i2)


@pytest.mark.parametrize("drop", [(0.0, 0.0), (0.1, 0.0), (0.0, 0.2), (0.15, 0.15)])
def test_white_rabbit_drops_and_jitter(streams, score, drop):
    table1, table2 = streams(p_seen_1=1 - drop[0], p_seen_2=1 - drop[1], jitter_ns=200)
    matcher = WhiteRabbitClosest()
    i1, i2 = matcher(table1, table2)
    _assert_unique(i1, i2)
    precision, recall = score(table1, table2, i1, i2)
    assert precision >= 0.999
    assert recall >= 0.999
    diag = matcher.diagnostics
    assert diag.n_pairs == len(i1)
    assert diag.n_unmatched_1 == len(table1) - len(i1)
    assert np.all(np.abs(diag.delta_t_ns) <= 10_000)
    assert abs(np.std(diag.delta_t_ns) - 200) < 20


def test_white_rabbit_uses_the_pair_offset(streams, score):
    table1, table2 = streams(offset_ns=250_000)
    plain = WhiteRabbitClosest()
    i1, _ = plain(table1, table2)
    assert len(i1) < 0.01 * len(table1)  # 250 µs apart: nothing within 10 µs

    config = Config({"WhiteRabbitClosest": {"pair_time_offsets": {"21,22": "250 us"}}})
    matcher = WhiteRabbitClosest(config=config)
    i1, i2 = matcher(table1, table2, tel_ids=(21, 22))
    assert min(score(table1, table2, i1, i2)) >= 0.999
    assert matcher.diagnostics.offset_ns == 250_000
    # reversed pair uses the negated offset
    j2, j1 = matcher(table2, table1, tel_ids=(22, 21))
    assert np.array_equal(np.sort(j1), np.sort(i1))


def test_white_rabbit_duplicated_time_stamps(streams, score):
    table1, table2 = streams(n_showers=5000, jitter_ns=0)
    duplicated = table2[::50]
    table2_dup = vstack([table2, duplicated])
    matcher = WhiteRabbitClosest()
    i1, i2 = matcher(table1, table2_dup)
    _assert_unique(i1, i2)
    precision, recall = score(table1, table2_dup, i1, i2)
    assert precision == 1.0
    assert recall == 1.0
    # every duplicated stamp that has a partner was an exact tie
    n_dup_with_partner = np.isin(duplicated["shower"], table1["shower"]).sum()
    assert matcher.diagnostics.n_ambiguous == n_dup_with_partner
    # deterministic: same answer twice
    k1, k2 = matcher(table1, table2_dup)
    assert np.array_equal(k1, i1) and np.array_equal(k2, i2)


def test_white_rabbit_clock_step_never_pairs_wrongly(streams, score):
    table1, table2 = streams(n_showers=10_000)
    ns = time_to_ns(table2["time"])
    step_at = len(ns) // 2
    ns[step_at:] += 3_000_000  # tel-2 clock jumps by 3 ms
    table2["time"] = tai_ns_to_time(ns)
    i1, i2 = WhiteRabbitClosest()(table1, table2)
    precision, recall = score(table1, table2, i1, i2)
    # before the step every true pair is found
    true_before = np.intersect1d(table1["shower"], table2["shower"][: step_at - 5])
    found = table1["shower"][i1][table1["shower"][i1] == table2["shower"][i2]]
    assert np.all(np.isin(true_before, found))
    assert 0.45 < recall < 0.55
    # after it only accidental coincidences remain: 300 Hz x 20 µs window -> ~0.6 % of events
    n_wrong = np.count_nonzero(table1["shower"][i1] != table2["shower"][i2])
    expected = (len(table2) - step_at) * 300 * 20e-6
    assert n_wrong < 2 * expected + 5


@pytest.mark.parametrize("true_offset", [-7_654_321, 0, 3_456_789])
def test_sliding_window_recovers_offset(streams, score, true_offset):
    table1, table2 = streams(rate_hz=50, offset_ns=true_offset, jitter_ns=1000)
    matcher = SlidingWindow(window_half_width=100 * u.us)
    i1, i2 = matcher(table1, table2)
    _assert_unique(i1, i2)
    diag = matcher.diagnostics
    assert abs(diag.offset_ns - true_offset) < 100
    precision, recall = score(table1, table2, i1, i2)
    # physics limit: accidental coincidences of dropped events (50 Hz x 200 µs window)
    assert precision >= 0.998
    assert recall >= 0.999
    profile = diag.profile_table()
    assert len(profile) == 1000
    peak = profile["offset"][np.argmax(profile["n_pairs"])].to_value("ns")
    assert abs(peak - true_offset) <= 100_000 + 20_000


def test_sliding_window_default_window_and_pre_search(streams, score):
    table1, table2 = streams(rate_hz=20, offset_ns=-2_222_222, jitter_ns=5000)
    full = SlidingWindow()
    i1, i2 = full(table1, table2)
    assert abs(full.diagnostics.offset_ns + 2_222_222) < 1000
    assert min(score(table1, table2, i1, i2)) >= 0.99  # 2 ms window at 20 Hz

    quick = SlidingWindow(pre_search_n_events=200)
    j1, j2 = quick(table1, table2)
    # the pre-search narrows the scan to +-3 half widths (301 offsets instead of 1000)
    assert len(quick.diagnostics.profile_counts) <= 301
    assert np.array_equal(i1, j1) and np.array_equal(i2, j2)


def test_sliding_window_clock_step_takes_the_larger_part(streams, score):
    table1, table2 = streams(rate_hz=50, offset_ns=1_000_000, jitter_ns=500)
    ns = time_to_ns(table2["time"])
    step_at = int(0.7 * len(ns))
    ns[step_at:] += 4_000_000
    table2["time"] = tai_ns_to_time(ns)
    matcher = SlidingWindow(window_half_width=50 * u.us)
    i1, i2 = matcher(table1, table2)
    assert abs(matcher.diagnostics.offset_ns - 1_000_000) < 100
    precision, recall = score(table1, table2, i1, i2)
    assert precision >= 0.998
    assert 0.65 < recall < 0.75


def test_swat_ids_with_counter_reset(streams, score):
    table1, table2 = streams(n_showers=20_000, jitter_ns=300)
    for table in (table1, table2):
        # both counters restart at 0 for the second half of the run
        table["event_id"] = table["swat_id"] % 10_000
    matcher = SWATEventIDs()
    i1, i2 = matcher(table1, table2)
    _assert_unique(i1, i2)
    precision, recall = score(table1, table2, i1, i2)
    assert precision == 1.0
    assert recall == 1.0
    assert np.array_equal(table1["event_id"][i1], table2["event_id"][i2])


def test_swat_reset_of_one_counter_cannot_pair_unrelated_events(streams, score):
    table1, table2 = streams(n_showers=20_000, jitter_ns=300)
    table1["event_id"] = table1["swat_id"]
    ids2 = np.array(table2["swat_id"])
    reset = np.searchsorted(ids2, 12_000)
    ids2[reset:] -= 12_000  # tel-2 counter restarts, now equal to old tel-1 ids
    table2["event_id"] = ids2
    matcher = SWATEventIDs()
    i1, i2 = matcher(table1, table2)
    precision, recall = score(table1, table2, i1, i2)
    assert precision == 1.0
    # id k after the reset only competes where the pre-reset partner was dropped (~10 %)
    assert 400 < matcher.diagnostics.n_rejected < 1000
    assert 0.55 < recall < 0.65


def test_swat_nominal_offset_and_no_common_ids(streams):
    table1, table2 = streams(n_showers=3000, offset_ns=40_000)
    table1["event_id"] = table1["swat_id"]
    table2["event_id"] = table2["swat_id"]
    matcher = SWATEventIDs()
    i1, _ = matcher(table1, table2)
    assert abs(matcher.diagnostics.offset_ns - 40_000) < 200
    assert len(i1) > 0.75 * len(table1)
    table2["event_id"] = table2["swat_id"] + 1_000_000
    i1, i2 = matcher(table1, table2)
    assert len(i1) == len(i2) == 0


def test_nearest_unique_pairs_small_cases():
    # tel-2 event 10 is nearest for both 9 and 12: the closer (9) wins, 12 takes 13
    i1, i2, n_amb = nearest_unique_pairs([9, 12, 100], [10, 13, 1000], max_diff=5)
    assert i1.tolist() == [0, 1] and i2.tolist() == [0, 1] and n_amb == 0
    # exact tie: 10 is 5 away from 5 and 15 -> earlier partner, counted
    i1, i2, n_amb = nearest_unique_pairs([10], [15, 5], max_diff=5)
    assert i2.tolist() == [1] and n_amb == 1
    # the window is inclusive
    assert len(nearest_unique_pairs([0], [6], max_diff=5)[0]) == 0
    assert len(nearest_unique_pairs([0], [5], max_diff=5)[0]) == 1
    # groups: equal time but different group never pair
    i1, _, _ = nearest_unique_pairs([0, 0], [0, 3], 10, group1=[1, 2], group2=[2, 3])
    assert i1.tolist() == [1]


def test_coincidence_profile_matches_brute_force():
    rng = np.random.default_rng(5)
    t1 = np.sort(rng.integers(0, 10**9, 400))
    t2 = np.sort(np.concatenate([t1[::2] + 12_345, rng.integers(0, 10**9, 300)]))
    offsets = np.arange(-50_000, 50_000, 1000)
    counts = coincidence_profile(t1, t2, offsets, 2000, max_pairs_per_chunk=7)
    diff = t2[None, :] - t1[:, None]  # brute force reference, small on purpose
    expected = [np.count_nonzero(np.abs(diff - off) <= 2000) for off in offsets]
    assert counts.tolist() == expected
    assert offsets[np.argmax(counts)] in range(10_345, 14_346)


def test_era_rules():
    assert matcher_name_for_date(date(2023, 9, 24)) == "SlidingWindow"
    assert matcher_name_for_date(date(2023, 9, 25)) == "WhiteRabbitClosest"
    assert matcher_name_for_date(date(2024, 1, 29)) == "WhiteRabbitClosest"
    assert matcher_name_for_date(tai_ns_to_time(1_706_600_000 * 10**9)) == "SWATEventIDs"
    assert set(EventMatcher.non_abstract_subclasses()) >= {
        "SlidingWindow",
        "WhiteRabbitClosest",
        "SWATEventIDs",
    }


def test_bad_input_is_reported(streams):
    table1, table2 = streams(n_showers=100)
    with pytest.raises(MatchingInputError, match="table 2 has no column 'time'"):
        WhiteRabbitClosest()(table1, table2[["event_id"]])
    table2["time"] = np.asarray(table2["swat_id"], dtype=float)
    with pytest.raises(MatchingInputError, match="astropy Time or integer"):
        WhiteRabbitClosest()(table1, table2)
    with pytest.raises(MatchingInputError, match="pre_search_n_events"):
        SlidingWindow(pre_search_n_events=10)(table1[["time", "event_id"]], table1)


def test_sliding_window_default_adapts_the_pairing_window_to_the_clock_jitter(streams, score):
    # pre-WR toy clocks: 2.8 µs jitter of t2 - t1; within a 1 ms pairing window the mono
    # events of the two telescopes (9 % each) pair accidentally: 1800 x 2 ms x 9 Hz = 32
    table1, table2 = streams(rate_hz=100, offset_ns=3_141_592, jitter_ns=2800, seed=3)
    matcher = SlidingWindow()
    i1, i2 = matcher(table1, table2)
    _assert_unique(i1, i2)
    diag = matcher.diagnostics
    assert diag.pair_half_width_ns == pytest.approx(5 * 2800 * (1 + 2.34 / 16200**0.5), rel=0.1)
    assert diag.summary()["pair_half_width_ns"] == diag.pair_half_width_ns
    precision, recall = score(table1, table2, i1, i2)
    n_mono = len(table1) + len(table2) - 2 * len(i1)
    assert 1 - precision < 0.001  # expected 1800 x 28 µs x 9 Hz = 0.5 of 16200 pairs
    assert recall >= 0.999
    assert n_mono > 2000
    # a fixed pairing window is honoured
    fixed = SlidingWindow(pair_half_width=1 * u.ms)
    j1, j2 = fixed(table1, table2)
    assert fixed.diagnostics.pair_half_width_ns == 1_000_000
    assert 1 - score(table1, table2, j1, j2)[0] > 0.001


def test_sliding_window_adaptive_window_follows_a_clock_drift(streams, score):
    # a drift of 40 µs over the stream: the window widens to hold it
    table1, table2 = streams(rate_hz=50, offset_ns=-1_234_567, jitter_ns=500, seed=4)
    ns = time_to_ns(table2["time"])
    drift = np.linspace(-20_000, 20_000, len(ns)).astype(np.int64)
    table2["time"] = tai_ns_to_time(ns + drift)
    matcher = SlidingWindow()
    i1, i2 = matcher(table1, table2)
    assert 20_000 < matcher.diagnostics.pair_half_width_ns < 1_000_000
    precision, recall = score(table1, table2, i1, i2)
    assert recall >= 0.99
    assert precision >= 0.99


def test_peak_width_ignores_a_flat_floor():
    rng = np.random.default_rng(5)
    peak = rng.normal(120, 3000, 5000)
    floor = rng.uniform(-1e6, 1e6, 3000)  # 38 % accidental pairs
    sigma, centre = peak_width(np.concatenate([peak, floor]), 1_000_000)
    assert sigma == pytest.approx(3000, rel=0.05)
    assert centre == pytest.approx(120, abs=200)  # 4 x the median's error of 53 ns
    sigma_floor, _ = peak_width(floor, 1_000_000)
    assert sigma_floor > 4e5  # a floor alone never shrinks the window
