"""Charge images made exactly like the DL1 images, for the pedestal monitoring.

DL1 images are made by ctapipe's `~ctapipe.calib.CameraCalibrator` from the R1 waveforms
(``sst1m-r0-dl1`` and stock ``ctapipe-process`` alike): the configured extractor (SST-1M:
``LocalPeakWindowSum``, 7 samples, shift 3, with the integration correction of the measured
pulse), the per-pixel charge ``factor`` of the camera coefficients (``intensity_correction /
window transmittance`` for data, ``1 / VI`` of the PDE drop for simulations), and the invalid
pixel handler (``NeighborAverage``) for the pixels of the ``outlier_mask``. The R1 waveforms
already carry the dc→p.e. calibration, the Vdrop correction and the re-integration of saturated
pixels (:mod:`ctapipe_sst1m.calib.saturation`).

`calibrated_image` runs the *same* calibrator code on one telescope of an event, on a scratch
event, so that the event's own ``dl0``/``dl1`` are left to the tool. Pedestal charges made with
it are therefore on exactly the scale of the images they are compared with.
"""

import numpy as np
from ctapipe.calib import CameraCalibrator
from ctapipe.containers import ArrayEventContainer
from ctapipe.image.extractor import ImageExtractor

__all__ = ["calibrated_image", "make_charge_calibrator"]


def make_charge_calibrator(subarray, parent, image_extractor_type=None):
    """A `~ctapipe.calib.CameraCalibrator` configured like the DL1 one.

    Parameters
    ----------
    subarray : ctapipe.instrument.SubarrayDescription
    parent : ctapipe.core.Component
        Configuration parent; the ``CameraCalibrator`` section (and the extractor's section)
        of the configuration apply, as for the DL1 calibrator.
    image_extractor_type : str or None
        Use this extractor instead of ``CameraCalibrator.image_extractor_type``.
    """
    extractor = None
    if image_extractor_type is not None:
        extractor = ImageExtractor.from_name(image_extractor_type, subarray=subarray, parent=parent)
    return CameraCalibrator(subarray=subarray, parent=parent, image_extractor=extractor)


def calibrated_image(calibrator, event, tel_id, scratch=None):
    """Charge image (p.e.) of ``tel_id`` as ``calibrator`` makes DL1 images, event untouched.

    Parameters
    ----------
    calibrator : ctapipe.calib.CameraCalibrator
    event : ctapipe.containers.ArrayEventContainer
        Event with ``r1.tel[tel_id]`` and ``monitoring.tel[tel_id].camera.coefficients``.
    tel_id : int
    scratch : ArrayEventContainer or None
        Reusable scratch event (saves building one per call).

    Returns
    -------
    image : np.ndarray
        float32 ``(n_pixels,)`` charges after extraction, ``factor`` and the invalid-pixel
        handler; a new array owned by the caller.
    """
    if scratch is None:
        scratch = ArrayEventContainer()
    for level in (scratch.r1, scratch.dl0, scratch.dl1, scratch.monitoring):
        level.tel.clear()
    scratch.r1.tel[tel_id] = event.r1.tel[tel_id]
    scratch.monitoring.tel[tel_id] = event.monitoring.tel[tel_id]
    calibrator(scratch)
    image = np.array(scratch.dl1.tel[tel_id].image, dtype=np.float32).reshape(-1)
    for level in (scratch.r1, scratch.dl0, scratch.dl1, scratch.monitoring):
        level.tel.clear()
    return image
