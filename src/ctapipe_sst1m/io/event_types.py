"""DigiCam trigger types and their mapping to ctapipe ``EventType``."""

from enum import IntFlag

from ctapipe.containers import EventType

__all__ = ["CameraEventType", "PEDESTAL_CAMERA_EVENT_TYPE", "ctapipe_event_type"]


class CameraEventType(IntFlag):
    """Bit field of the DigiCam ``event_type`` (trigger algorithms and camera-server tags)."""

    UNKNOWN = 0
    PATCH7 = 0x1
    PATCH19 = 0x2
    MUON_TRIGGER = 0x4
    INTERNAL = 0x8
    EXTMSTR = 0x10
    BIT5 = 0x20
    BIT6 = 0x40
    CONTINUOUS = 0x80
    MUON_DETECT = 0x10000
    HILLAS = 0x20000


#: random ("internal") triggers taken as sky pedestals: exactly this value, no other bit
PEDESTAL_CAMERA_EVENT_TYPE = int(CameraEventType.INTERNAL)


def ctapipe_event_type(camera_event_type):
    """ctapipe ``EventType`` of a DigiCam trigger-type value.

    ``INTERNAL`` alone (8) is an interleaved sky pedestal (``SKY_PEDESTAL``); ``UNKNOWN`` (0) is
    ``UNKNOWN``; everything else is a camera trigger on light (``SUBARRAY``, ctapipe's type for
    physics triggers).
    """
    value = int(camera_event_type or 0)
    if value == PEDESTAL_CAMERA_EVENT_TYPE:
        return EventType.SKY_PEDESTAL
    if value == 0:
        return EventType.UNKNOWN
    return EventType.SUBARRAY
