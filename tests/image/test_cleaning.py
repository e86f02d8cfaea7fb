"""ImageCleanerSST on synthetic DigiCam images with known answers."""

import astropy.units as u
import numpy as np
import pytest
from ctapipe.containers import CameraMonitoringContainer, StatisticsContainer
from ctapipe.image import ImageCleaner
from traitlets import TraitError
from traitlets.config import Config

from ctapipe_sst1m.image import (
    CleaningSet,
    ImageCleanerSST,
    nsb_level_from_monitoring,
    pedestal_picture_thresholds,
    select_cleaning_set,
    sst1m_clean,
)
from ctapipe_sst1m.instrument import N_PIXELS, sst1m_subarray


@pytest.fixture(scope="module")
def subarray():
    return sst1m_subarray()


@pytest.fixture(scope="module")
def geom(subarray):
    return subarray.tel[22].camera.geometry


def central_blob(geom, n_rings=2, charge=20.0):
    """Pixel 0's neighbourhood (n_rings rings) filled with `charge`; returns image, mask."""
    center = int(np.argmin(np.hypot(geom.pix_x.value, geom.pix_y.value)))
    mask = np.zeros(geom.n_pixels, bool)
    mask[center] = True
    for _ in range(n_rings):
        mask |= (geom.neighbor_matrix[mask]).any(axis=0)
    image = np.where(mask, charge, 0.0)
    return image, mask


def monitoring(mean, std):
    mon = CameraMonitoringContainer()
    mon.pixel_statistics.pedestal_image = StatisticsContainer(
        mean=np.asarray(mean, float)[np.newaxis], std=np.asarray(std, float)[np.newaxis]
    )
    return mon


def test_select_cleaning_set_order_independent():
    low, med, high = (
        CleaningSet(min_nsb_level=x, picture_threshold_pe=p)
        for x, p in [(0.0, 8), (2.4, 9), (5.0, 12)]
    )
    for order in ([low, med, high], [high, low, med], [med, high, low]):
        assert select_cleaning_set(order, 3.2).picture_threshold_pe == 9
        assert select_cleaning_set(order, 2.4).picture_threshold_pe == 9
        assert select_cleaning_set(order, 2.39).picture_threshold_pe == 8
        assert select_cleaning_set(order, 7.0).picture_threshold_pe == 12
        # unknown or below every edge: lowest set
        assert select_cleaning_set(order, None).picture_threshold_pe == 8
        assert select_cleaning_set(order, -1.0).picture_threshold_pe == 8


def test_cleaning_set_validation():
    with pytest.raises(TraitError, match="unknown cleaning-set key"):
        CleaningSet.from_dict({"picture_thresh": 8})
    with pytest.raises(TraitError, match="must be true or false"):
        CleaningSet.from_dict({"keep_isolated": 1})
    with pytest.raises(TraitError, match="integer"):
        CleaningSet.from_dict({"min_picture_neighbors": 2.5})
    # missing keys take the sst1mpipe defaults
    s = CleaningSet.from_dict({"min_nsb_level": 1})
    assert (s.picture_threshold_pe, s.boundary_threshold_pe, s.time_limit_ns) == (8.0, 4.0, 8.0)
    assert s.time_limit == 8 * u.ns


def test_cleaning_set_time_limit_is_a_duration_and_reads_the_sst1mpipe_name():
    assert CleaningSet.from_dict({"time_limit": "6 ns"}).time_limit_ns == 6.0
    assert CleaningSet.from_dict({"time_limit": 0.005 * u.us}).time_limit_ns == pytest.approx(5)
    legacy = CleaningSet.from_dict({"time_limit_ns": 7})  # sst1mpipe JSON
    assert legacy.time_limit == 7 * u.ns
    assert legacy.to_dict()["time_limit"] == "7.0 ns"
    assert "time_limit_ns" not in legacy.to_dict()
    assert CleaningSet.from_dict(legacy.to_dict()) == legacy
    with pytest.raises(TraitError, match="duration with its unit"):
        CleaningSet.from_dict({"time_limit": 8})  # a bare number is refused
    with pytest.raises(TraitError, match="duration with its unit"):
        CleaningSet.from_dict({"time_limit": "8 m"})
    with pytest.raises(TraitError, match="keep one"):
        CleaningSet.from_dict({"time_limit": "8 ns", "time_limit_ns": 8})


def test_config_order_independent_and_per_telescope(subarray):
    sets = [
        {"min_nsb_level": 3.0, "picture_threshold_pe": 11},
        {"min_nsb_level": 0.0, "picture_threshold_pe": 7},
    ]
    per_tel = [["type", "*", sets], ["id", 21, [{"min_nsb_level": 0, "picture_threshold_pe": 5}]]]
    a = ImageCleanerSST(subarray, config=Config({"ImageCleanerSST": {"cleaning_sets": per_tel}}))
    b = ImageCleanerSST(
        subarray,
        config=Config(
            {"ImageCleanerSST": {"cleaning_sets": [per_tel[0][:2] + [sets[::-1]], per_tel[1]]}}
        ),
    )
    for cleaner in (a, b):
        assert cleaner.cleaning_set_for(22, 3.5).picture_threshold_pe == 11
        assert cleaner.cleaning_set_for(22, 2.9).picture_threshold_pe == 7
        assert cleaner.cleaning_set_for(21, 3.5).picture_threshold_pe == 5
    # a bare list of sets applies to every telescope
    c = ImageCleanerSST(subarray, config=Config({"ImageCleanerSST": {"cleaning_sets": sets}}))
    assert c.cleaning_set_for(21, 3.5).picture_threshold_pe == 11
    with pytest.raises(TraitError, match="share the same min_nsb_level"):
        ImageCleanerSST(
            subarray,
            config=Config({"ImageCleanerSST": {"cleaning_sets": [{"min_nsb_level": 0}] * 2}}),
        )


def test_defaults_match_sst1mpipe_bins(subarray):
    cleaner = ImageCleanerSST(subarray)
    assert cleaner.cleaning_set_for(22, 3.19).min_nsb_level == pytest.approx(2.4287)
    assert cleaner.cleaning_set_for(22, 2.40).min_nsb_level == 0.0
    assert cleaner.cleaning_set_for(21, 2.36).min_nsb_level == pytest.approx(2.3554)
    # registered with ctapipe by name, as ImageProcessor looks it up
    assert ImageCleaner.non_abstract_subclasses()["ImageCleanerSST"] is ImageCleanerSST


def test_nsb_set_selection_changes_mask(subarray, geom):
    """A 10 p.e. blob survives the low-NSB set (picture 8) but not the high-NSB one (12)."""
    config = Config(
        {
            "ImageCleanerSST": {
                "cleaning_sets": [
                    {"min_nsb_level": 0, "picture_threshold_pe": 8, "stdev_scaling": 0},
                    {"min_nsb_level": 4, "picture_threshold_pe": 12, "stdev_scaling": 0},
                ]
            }
        }
    )
    cleaner = ImageCleanerSST(subarray, config=config)
    image, blob = central_blob(geom, charge=10.0)
    times = np.full(N_PIXELS, 20.0)
    zeros = np.zeros(N_PIXELS)
    low = cleaner(22, image, times, monitoring=monitoring(zeros + 2.0, zeros))
    high = cleaner(22, image, times, monitoring=monitoring(zeros + 5.0, zeros))
    np.testing.assert_array_equal(low, blob)
    assert not high.any()
    assert nsb_level_from_monitoring(monitoring(zeros + 5.0, zeros)) == 5.0


def test_raised_thresholds(geom):
    """Pixels whose pedestal mean + 2.5 std exceeds the picture threshold need more charge."""
    image, blob = central_blob(geom, n_rings=1, charge=10.0)
    mean = np.full(N_PIXELS, 3.0)
    std = np.full(N_PIXELS, 1.0)  # 3 + 2.5 = 5.5 < 8: not raised
    star = np.flatnonzero(blob)
    std[star] = 4.0  # 3 + 10 = 13 > 10: the whole blob can no longer be picture pixels
    thresholds = pedestal_picture_thresholds(8.0, 2.5, mean, std)
    assert thresholds[star[0]] == pytest.approx(13.0)
    assert thresholds[~blob][0] == pytest.approx(8.0)
    cset = CleaningSet()
    assert sst1m_clean(geom, image, None, cset).sum() == blob.sum()
    assert not sst1m_clean(geom, image, None, cset, mean, std).any()
    # pixels without statistics keep the nominal threshold
    std[star] = np.nan
    assert sst1m_clean(geom, image, None, cset, mean, std).sum() == blob.sum()


def test_time_cleaning_removes_late_pixel(geom):
    image, blob = central_blob(geom, n_rings=1, charge=20.0)
    times = np.full(N_PIXELS, 30.0)
    late = np.flatnonzero(blob)[-1]
    times[late] = 60.0  # 30 ns off, > 8 ns limit from every neighbour
    cset = CleaningSet(time_limit=8.0 * u.ns, min_time_neighbors=1)
    mask = sst1m_clean(geom, image, times, cset)
    assert not mask[late]
    assert mask.sum() == blob.sum() - 1
    # time cleaning off: pixel stays
    assert sst1m_clean(geom, image, times, CleaningSet(min_time_neighbors=0))[late]


def test_only_main_island(geom):
    big, big_mask = central_blob(geom, n_rings=2, charge=20.0)
    # a second, smaller island far away: an edge pixel and its neighbours
    edge = int(np.argmax(geom.pix_x.value))
    small_mask = np.zeros(N_PIXELS, bool)
    small_mask[edge] = True
    small_mask |= geom.neighbor_matrix[edge]
    image = big + np.where(small_mask, 30.0, 0.0)
    both = sst1m_clean(geom, image, None, CleaningSet(only_main_island=False))
    main = sst1m_clean(geom, image, None, CleaningSet(only_main_island=True))
    assert both.sum() == big_mask.sum() + small_mask.sum()
    # the main island is the one with most pixels, even though the small one is brighter
    np.testing.assert_array_equal(main, big_mask)


def test_without_monitoring_uses_default_nsb_level(subarray, geom):
    config = Config(
        {
            "ImageCleanerSST": {
                "cleaning_sets": [
                    {"min_nsb_level": 0, "picture_threshold_pe": 8},
                    {"min_nsb_level": 2, "picture_threshold_pe": 15},
                ],
                "default_nsb_level": [["type", "*", None], ["id", 2, 2.5], ["id", 22, 2.5]],
            }
        }
    )
    cleaner = ImageCleanerSST(subarray, config=config)
    image, blob = central_blob(geom, charge=10.0)
    # no pedestal statistics: default_nsb_level 2.5 picks the 15 p.e. set
    assert not cleaner(22, image, None, monitoring=CameraMonitoringContainer()).any()
    # tel 21 has no default NSB level: lowest set
    np.testing.assert_array_equal(cleaner(21, image, None, monitoring=None), blob)
