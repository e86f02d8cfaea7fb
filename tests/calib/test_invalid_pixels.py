"""CachedNeighborAverage gives ctapipe's NeighborAverage results bit for bit on real images."""

import numpy as np
import pytest
from ctapipe.calib import CameraCalibrator
from ctapipe.image.invalid_pixels import NeighborAverage

from ctapipe_sst1m.calib import CachedNeighborAverage
from ctapipe_sst1m.core.config import read_config_file
from ctapipe_sst1m.io import SST1MEventSource
from ctapipe_sst1m.tools.r0_dl1 import default_config_path


@pytest.mark.parametrize("name", ["example_SST1M_20180822.fits.fz", "example_100evts.fits.fz"])
def test_same_as_neighbor_average(protozfits_resources, calibration_config, name):
    config = read_config_file(default_config_path(is_simulation=False))
    config.merge(calibration_config)
    config.CameraCalibrator.invalid_pixel_handler_type = None  # raw extracted images
    rng = np.random.default_rng(7)
    with SST1MEventSource(protozfits_resources / name, config=config) as source:
        subarray, tel_id = source.subarray, source.tel_id
        calibrate = CameraCalibrator(subarray=subarray, config=config)
        stock = NeighborAverage(subarray=subarray)
        cached = CachedNeighborAverage(subarray=subarray)
        n_flagged = []
        for i, event in enumerate(source):
            calibrate(event)
            dl1 = event.dl1.tel[tel_id]
            mask = event.monitoring.tel[tel_id].camera.coefficients.outlier_mask
            if i % 7 == 3:  # a changed mask, then the run's mask again on the next event
                mask = mask | (rng.uniform(size=mask.shape) < 0.02)
            n_flagged.append(np.count_nonzero(mask))
            expected = stock(tel_id, dl1.image.copy(), dl1.peak_time.copy(), mask)
            result = cached(tel_id, dl1.image.copy(), dl1.peak_time.copy(), mask)
            for ours, theirs in zip(result, expected, strict=True):
                np.testing.assert_array_equal(ours, theirs, strict=True)
            # 2-D images (n_channels, n_pixels) and no peak time
            image_2d = dl1.image[np.newaxis].copy()
            np.testing.assert_array_equal(
                cached(tel_id, image_2d.copy(), None, mask)[0],
                stock(tel_id, image_2d.copy(), None, mask)[0],
                strict=True,
            )
    assert min(n_flagged) > 0 and len(set(n_flagged)) > 1
