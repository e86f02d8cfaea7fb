"""Input/output: the SST-1M DigiCam event source (ctapipe ``ctapipe_io`` plugin).

This module is the target of the ``ctapipe_io`` entry point. Importing it also imports
:mod:`ctapipe_sst1m.image`, so that stock ``ctapipe-process`` accepts
``ImageProcessor.image_cleaner_type: ImageCleanerSST``, and :mod:`ctapipe_sst1m.calib`, so that
its components are configurable.
"""

from .. import calib as _calib  # noqa: F401 - registers the calibration components
from .. import image as _image  # noqa: F401 - registers ImageCleanerSST for ctapipe-process
from ..version import __version__
from .containers import SST1MArrayEventContainer, SST1MCameraContainer, SST1MContainer
from .event_types import CameraEventType, ctapipe_event_type
from .nsb_waveforms import SST1MNSBWaveformSource  # read by ctapipe's WaveformModifier
from .pointing import AltAzTrack, TargetInfo, parse_target
from .sst1m_event_source import SST1MEventSource, detect_baseline_scale, obs_id_from_filename

__all__ = [
    "__version__",
    "AltAzTrack",
    "CameraEventType",
    "SST1MArrayEventContainer",
    "SST1MCameraContainer",
    "SST1MContainer",
    "SST1MEventSource",
    "SST1MNSBWaveformSource",
    "TargetInfo",
    "ctapipe_event_type",
    "detect_baseline_scale",
    "obs_id_from_filename",
    "parse_target",
]
