"""Turn a view of showers from the telescopes into measured, triggered camera images.

Both toy generators (the MC event source and the observation nights) do the same steps for
every (shower, telescope) pair that can trigger at all: render the expected image on the
pixels, draw arrival times, measure (Poisson light, noise, extraction) and apply the trigger.
Pairs are processed in batches so memory stays bounded whatever the number of showers.
"""

from dataclasses import dataclass

import numpy as np

from .image_model import render_expected_image, signal_times

__all__ = ["CameraPixels", "measured_images"]

#: (shower, telescope) pairs rendered together
RENDER_BATCH = 1000


@dataclass(frozen=True)
class CameraPixels:
    """Pixel positions (telescope frame), areas, blur and radius used to render images."""

    lon: np.ndarray
    lat: np.ndarray
    area: np.ndarray
    blur: float
    radius: float


def measured_images(view, pixels, camera_noise, trigger, noise_rng, batch=RENDER_BATCH):
    """Yield one batch at a time of measured images of the pairs that can trigger.

    Yields
    ------
    shower, tel : np.ndarray
        Indices of the pairs in the batch.
    measured : tuple
        ``(true_pe, signal, charge, peak_time)`` from ``camera_noise.measure``.
    triggered, n_patches : np.ndarray
        The trigger decision and number of triggered patches of each pair.
    """
    candidate = trigger.can_trigger(view.intensity, camera_noise.pixel_noise_variance)
    candidate &= view.reaches_camera(pixels.radius, pixels.blur)
    shower_idx, tel_idx = np.nonzero(candidate)
    for start in range(0, len(shower_idx), batch):
        s = shower_idx[start : start + batch]
        t = tel_idx[start : start + batch]
        flat = view.take(s, t)
        expected = render_expected_image(flat, pixels.lon, pixels.lat, pixels.area, pixels.blur)
        times = signal_times(flat, pixels.lon, pixels.lat, camera_noise.ns("signal_time"))
        measured = camera_noise.measure(noise_rng, expected, times)
        triggered, n_patches = trigger(measured[2])
        yield s, t, measured, triggered, n_patches
