"""SST-1M specific event containers, reachable as ``event.sst1m.tel[tel_id]``."""

from functools import partial

import numpy as np
from ctapipe.containers import ArrayEventContainer
from ctapipe.core import Container, Field, Map

from ..calib.containers import DigiCamCalibrationContainer

__all__ = ["SST1MArrayEventContainer", "SST1MCameraContainer", "SST1MContainer"]


class SST1MCameraContainer(Container):
    """DigiCam raw-data fields of one telescope that ctapipe's data model has no place for.

    Per-pixel arrays are in software pixel id order after the module swap (the order of the
    camera geometry and of ``event.r0``/``event.r1``).
    """

    default_prefix = "sst1m"

    telescope_id_in_file = Field(-1, "telescopeID as written by the camera (before mapping)")
    camera_event_number = Field(-1, "Camera event counter (eventNumber)")
    array_event_number = Field(0, "SWAT array event number (arrayEvtNum), 0 if absent")
    camera_event_type = Field(0, "DigiCam trigger-type bit field (see CameraEventType)")
    baseline = Field(None, "DigiCam moving baseline in ADC per sample", dtype=np.float32)
    pixel_flags = Field(None, "DigiCam pixels_flags (0 = pixel not read out)", dtype=np.uint16)
    local_clock_ns = Field(-1, "Camera clock as stored: local_time_sec·10⁹ + local_time_nanosec")
    time_scale = Field("", "Time scale the camera clock was read in ('tai' or 'utc')")
    tai_time_ns = Field(-1, "Trigger time in integer ns since 1970-01-01T00:00:00 TAI")
    white_rabbit_time_ns = Field(
        -1, "White-Rabbit time (= camera clock, ns) for files after the White-Rabbit start, else -1"
    )
    gps_time_ns = Field(0, "Trigger-board time in ns (trig.timeSec/timeNanoSec), 0 if absent")
    trigger_input_traces = Field(
        None, "Trigger patch input traces (432, n_samples), readout patch order, if requested"
    )
    trigger_output_patch7 = Field(
        None, "7-patch cluster trigger bits (432, n_samples), readout order, if requested"
    )
    trigger_output_patch19 = Field(
        None, "19-patch cluster trigger bits (432, n_samples), readout order, if requested"
    )
    calibration = Field(
        default_factory=DigiCamCalibrationContainer,
        description="R0→R1 calibration state applied to this event",
    )


class SST1MContainer(Container):
    """SST-1M specific information of an event."""

    tel = Field(
        default_factory=partial(Map, SST1MCameraContainer),
        description="map of tel_id to SST1MCameraContainer",
    )


class SST1MArrayEventContainer(ArrayEventContainer):
    """ctapipe's ``ArrayEventContainer`` plus ``event.sst1m``."""

    sst1m = Field(default_factory=SST1MContainer, description="SST-1M specific information")
