"""The SST-1M instrument (DigiCam camera, optics, array layout), available offline."""

from .camera import (
    CAMERA_NAME,
    N_PIXELS,
    PIXEL_PITCH,
    digicam_geometry,
    digicam_pixel_positions_engineering,
)
from .optics import EFFECTIVE_FOCAL_LENGTH, EQUIVALENT_FOCAL_LENGTH, sst1m_optics
from .readout import (
    PULSE_SHAPES,
    digicam_pulse_shape,
    digicam_readout,
    measured_reference_pulse,
)
from .subarray import (
    DATA_TEL_IDS,
    MC_TEL_IDS,
    MC_TO_DATA_TEL_ID,
    SST1MArrayLayout,
    sst1m_subarray,
    sst1m_telescope_description,
    telescope_types_by_id,
)

__all__ = [
    "CAMERA_NAME",
    "N_PIXELS",
    "PIXEL_PITCH",
    "EFFECTIVE_FOCAL_LENGTH",
    "EQUIVALENT_FOCAL_LENGTH",
    "PULSE_SHAPES",
    "DATA_TEL_IDS",
    "MC_TEL_IDS",
    "MC_TO_DATA_TEL_ID",
    "SST1MArrayLayout",
    "digicam_geometry",
    "digicam_pixel_positions_engineering",
    "digicam_pulse_shape",
    "digicam_readout",
    "measured_reference_pulse",
    "sst1m_optics",
    "sst1m_subarray",
    "sst1m_telescope_description",
    "telescope_types_by_id",
]
