"""The fast paths of ImageCleanerSST give the same masks as the plain computation.

* `time_delta_clean` (compiled loop over neighbour lists) against a simple reference written
  here and against ctapipe's ``apply_time_delta_cleaning``;
* the per-telescope threshold cache of `ImageCleanerSST` against uncached `sst1m_clean` over a
  stream whose pedestal statistics change (new read-only arrays) or are edited in place
  (writeable arrays, never cached).
"""

import numpy as np
import pytest
from ctapipe.containers import CameraMonitoringContainer, StatisticsContainer
from ctapipe.image.cleaning import apply_time_delta_cleaning

from ctapipe_sst1m.image import (
    ImageCleanerSST,
    nsb_level_from_monitoring,
    sst1m_clean,
    time_delta_clean,
)
from ctapipe_sst1m.instrument import N_PIXELS, sst1m_subarray

TEL = 22


@pytest.fixture(scope="module")
def subarray():
    return sst1m_subarray()


@pytest.fixture(scope="module")
def geom(subarray):
    return subarray.tel[TEL].camera.geometry


def reference_time_delta(geom, mask, times, min_neighbors, time_limit):
    """Pixel by pixel: keep a selected pixel with enough selected neighbours close in time."""
    keep = mask.copy()
    for pixel in np.flatnonzero(mask):
        close = [
            neighbor
            for neighbor in geom.neighbors[pixel]
            if mask[neighbor] and abs(times[pixel] - times[neighbor]) < time_limit
        ]
        keep[pixel] = len(close) >= min_neighbors
    return keep


@pytest.mark.parametrize("seed", range(6))
def test_time_delta_clean_equals_reference(geom, seed):
    rng = np.random.default_rng(seed)
    mask = rng.random(N_PIXELS) < rng.uniform(0.05, 0.9)
    times = rng.normal(20.0, rng.uniform(1.0, 10.0), N_PIXELS)
    min_neighbors = int(rng.integers(0, 4))
    time_limit = float(rng.uniform(1.0, 10.0))
    fast = time_delta_clean(geom, mask, times, min_neighbors, time_limit)
    expected = reference_time_delta(geom, mask, times, min_neighbors, time_limit)
    np.testing.assert_array_equal(fast, expected)
    np.testing.assert_array_equal(
        fast, apply_time_delta_cleaning(geom, mask, times, min_neighbors, time_limit)
    )
    # the pixels removed are only those selected before, and some are removed and some kept
    assert not np.any(fast & ~mask)
    if min_neighbors > 0:
        assert np.count_nonzero(mask & ~fast) > 0


def test_time_delta_clean_empty_and_input_untouched(geom):
    mask = np.zeros(N_PIXELS, bool)
    assert not time_delta_clean(geom, mask, np.zeros(N_PIXELS), 1, 5.0).any()
    mask[geom.neighbors[0]] = True
    mask[0] = True
    before = mask.copy()
    times = np.zeros(N_PIXELS)
    times[0] = 100.0
    kept = time_delta_clean(geom, mask, times, 1, 5.0)
    assert not kept[0] and kept[geom.neighbors[0]].all()
    np.testing.assert_array_equal(mask, before)


def shower_image(geom, rng, center_pixel, amplitude):
    """Gaussian blob on NSB noise, with a smooth time gradient and noisy times."""
    x, y = geom.pix_x.value, geom.pix_y.value
    d = np.hypot(x - x[center_pixel], y - y[center_pixel])
    image = rng.normal(2.5, 1.5, N_PIXELS) + amplitude * np.exp(-0.5 * (d / 0.05) ** 2)
    times = 20.0 + 30.0 * (x - x[center_pixel]) + rng.normal(0.0, 3.0, N_PIXELS)
    return image, times


def statistics(rng, level, frozen):
    mean = rng.normal(level, 0.3, (1, N_PIXELS))
    std = rng.gamma(4.0, 0.4, (1, N_PIXELS))
    mean[0, rng.integers(0, N_PIXELS, 20)] = np.nan  # invalid pixels keep the nominal value
    for array in (mean, std):
        array.setflags(write=not frozen)
    monitoring = CameraMonitoringContainer()
    monitoring.pixel_statistics.pedestal_image = StatisticsContainer(mean=mean, std=std)
    return monitoring


def uncached_mask(cleaner, geom, image, times, monitoring):
    stats = monitoring.pixel_statistics.pedestal_image
    level = nsb_level_from_monitoring(monitoring)
    cleaning_set = cleaner.cleaning_set_for(TEL, level)
    return sst1m_clean(geom, image, times, cleaning_set, stats.mean[0], stats.std[0])


def test_cached_thresholds_equal_uncached_on_a_stream(subarray, geom):
    """Statistics change every 7 events (low, then above the 2.4287 p.e. 'med' edge)."""
    rng = np.random.default_rng(42)
    cleaner = ImageCleanerSST(subarray)
    cleaner.cleaning_sets = [
        {"min_nsb_level": 0.0, "picture_threshold_pe": 8.0, "stdev_scaling": 2.5},
        {"min_nsb_level": 2.4287, "picture_threshold_pe": 12.0, "boundary_threshold_pe": 6.0},
    ]
    n_sets_seen, n_differ = set(), 0
    monitoring = None
    for i in range(60):
        if i % 7 == 0:
            monitoring = statistics(rng, level=1.5 if i < 30 else 3.5, frozen=True)
        image, times = shower_image(geom, rng, int(rng.integers(0, N_PIXELS)), 40.0)
        mask = cleaner(TEL, image, times, monitoring=monitoring)
        expected = uncached_mask(cleaner, geom, image, times, monitoring)
        np.testing.assert_array_equal(mask, expected)
        n_sets_seen.add(cleaner.thresholds_for(TEL, image, monitoring)[0].picture_threshold_pe)
        # the raised thresholds matter: the nominal set alone gives another mask
        nominal = sst1m_clean(geom, image, times, cleaner.cleaning_set_for(TEL, 0.0))
        n_differ += not np.array_equal(mask, nominal)
    assert n_sets_seen == {8.0, 12.0}
    assert n_differ > 10


def test_writeable_statistics_edited_in_place_are_seen(subarray, geom):
    rng = np.random.default_rng(3)
    cleaner = ImageCleanerSST(subarray)
    monitoring = statistics(rng, level=1.0, frozen=False)
    image, times = shower_image(geom, rng, 600, 40.0)
    first = cleaner(TEL, image, times, monitoring=monitoring)
    # a producer raising the pedestal in place: the thresholds must follow
    stats = monitoring.pixel_statistics.pedestal_image
    stats.mean[...] = 30.0
    second = cleaner(TEL, image, times, monitoring=monitoring)
    np.testing.assert_array_equal(second, uncached_mask(cleaner, geom, image, times, monitoring))
    assert first.sum() > 0 and second.sum() < first.sum()


def test_cache_follows_config_change(subarray, geom):
    rng = np.random.default_rng(5)
    cleaner = ImageCleanerSST(subarray)
    monitoring = statistics(rng, level=1.0, frozen=True)
    image, times = shower_image(geom, rng, 600, 40.0)
    loose = cleaner(TEL, image, times, monitoring=monitoring)
    cleaner.cleaning_sets = [{"min_nsb_level": 0.0, "picture_threshold_pe": 30.0}]
    strict = cleaner(TEL, image, times, monitoring=monitoring)
    np.testing.assert_array_equal(strict, uncached_mask(cleaner, geom, image, times, monitoring))
    assert strict.sum() < loose.sum()
