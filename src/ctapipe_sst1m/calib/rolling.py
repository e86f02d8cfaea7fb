"""Rolling per-pixel statistics over the last images: `RollingPixelWindow`.

The building block of the pedestal monitoring (:mod:`ctapipe_sst1m.calib.monitoring`): a window
of the most recent per-pixel images (NaN meaning "no data for this pixel") with incremental
mean and standard deviation, and on-demand median and clipped mean.
"""

import warnings
from collections import deque

import numpy as np

__all__ = ["RollingPixelWindow"]


class RollingPixelWindow:
    """Per-pixel running mean and std over the last ``size`` images, NaN meaning "no data".

    Sums, sums of squares and counts are updated incrementally, so adding an image costs
    O(n_pixels) whatever the window size.
    """

    def __init__(self, size, n_pixels):
        self.size = int(size)
        self.images = deque()
        self.times = deque()
        self.event_ids = deque()
        self.sum = np.zeros(n_pixels)
        self.sum2 = np.zeros(n_pixels)
        self.count = np.zeros(n_pixels, dtype=np.int64)
        self.n_added = 0

    def __len__(self):
        return len(self.images)

    def add(self, image, time=None, event_id=None):
        """Append one image (NaN entries are ignored), dropping the oldest beyond ``size``."""
        image = np.asarray(image, dtype=np.float32)
        valid = np.isfinite(image)
        values = np.where(valid, image, 0.0).astype(np.float64)
        self.images.append(image)
        self.times.append(time)
        self.event_ids.append(event_id)
        self.sum += values
        self.sum2 += values**2
        self.count += valid
        self.n_added += 1
        while len(self.images) > self.size:
            old = self.images.popleft()
            self.times.popleft()
            self.event_ids.popleft()
            old_valid = np.isfinite(old)
            old_values = np.where(old_valid, old, 0.0).astype(np.float64)
            self.sum -= old_values
            self.sum2 -= old_values**2
            self.count -= old_valid

    def mean(self):
        """Per-pixel mean (NaN where the pixel has no data)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.count > 0, self.sum / self.count, np.nan)

    def std(self):
        """Per-pixel population standard deviation (NaN where the pixel has no data)."""
        mean = self.mean()
        with np.errstate(invalid="ignore", divide="ignore"):
            var = np.where(self.count > 0, self.sum2 / self.count, np.nan) - mean**2
        return np.sqrt(np.clip(var, 0.0, None))

    def median(self):
        """Per-pixel median over the window (NaN where the pixel has no data)."""
        if not self.images:
            return np.full(self.sum.shape, np.nan)
        stacked = np.stack(self.images)
        if np.all(np.isnan(stacked)):
            return np.full(self.sum.shape, np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # pixels without any data
            return (
                np.nanmedian(stacked, axis=0)
                if np.isnan(stacked).any()
                else np.median(stacked, axis=0)
            )
